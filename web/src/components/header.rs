//! The top bar: the name, the mode, what is running, the guided chapters, the scenario
//! picker, the connect control and the log's import and export.

use super::attach_form::AttachForm;
use super::learn_menu::LearnMenu;
use super::log_io::LogIo;
use super::mode_badge::ModeBadge;
use super::scenario_picker::ScenarioPicker;
use crate::model::scene::{Mode, SourceScene};
use std::rc::Rc;
use yew::prelude::*;

/// The header's properties.
#[derive(Properties, PartialEq)]
pub struct HeaderProps {
    /// What is running.
    pub source: Rc<SourceScene>,
    /// The chapter being read, if any.
    #[prop_or_default]
    pub chapter: Option<usize>,
}

/// The top bar.
#[component]
pub fn Header(props: &HeaderProps) -> Html {
    let source = &props.source;
    let mode = match source.mode {
        Mode::Simulation => "live",
        Mode::Replay => "replay",
        Mode::Live => "cluster",
    };
    let attached = (source.mode == Mode::Live).then(|| source.label.clone());
    html! {
        <header class="header">
            <h1>{ "leasehold" }<span class="sub">{ " dashboard" }</span></h1>
            <ModeBadge mode={source.mode} />
            <span class={classes!("source", mode)} data-testid="run-source" data-mode={mode}>
                <b>{ mode }</b>{ " " }{ &source.label }
            </span>
            <LearnMenu current={props.chapter} />
            <ScenarioPicker spec={source.spec.clone()} />
            <AttachForm current={attached} />
            <LogIo batches={source.batches} />
        </header>
    }
}
