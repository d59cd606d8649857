//! The top bar: the name, what is running, the guided chapters, the scenario picker
//! and the log's import and export.

use super::learn_menu::LearnMenu;
use super::log_io::LogIo;
use super::scenario_picker::ScenarioPicker;
use crate::model::run::Source;
use crate::state::RunRef;
use yew::prelude::*;

/// The header's properties.
#[derive(Properties, PartialEq)]
pub struct HeaderProps {
    /// The run.
    pub run: RunRef,
    /// The chapter being read, if any.
    #[prop_or_default]
    pub chapter: Option<usize>,
}

/// The top bar.
#[component]
pub fn Header(props: &HeaderProps) -> Html {
    let run = props.run.borrow();
    let (mode, label) = match run.source() {
        Source::Live(_) => (
            "live",
            format!("{} · seed {}", run.spec.scenario, run.spec.params.seed),
        ),
        Source::Imported { name } => (
            "replay",
            format!("{name} · {} batches", run.head().batches()),
        ),
    };
    html! {
        <header class="header">
            <h1>{ "leasehold" }<span class="sub">{ " dashboard" }</span></h1>
            <span class={classes!("source", mode)} data-testid="run-source" data-mode={mode}>
                <b>{ mode }</b>{ " " }{ label }
            </span>
            <LearnMenu current={props.chapter} />
            <ScenarioPicker spec={run.spec.clone()} />
            <LogIo batches={run.head().batches()} />
        </header>
    }
}
