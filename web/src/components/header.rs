//! The top bar: the name, what is running, the guided chapters, the scenario picker
//! and the log's import and export.

use super::learn_menu::LearnMenu;
use super::log_io::LogIo;
use super::scenario_picker::ScenarioPicker;
use crate::model::scene::SourceScene;
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
    let mode = if source.live { "live" } else { "replay" };
    html! {
        <header class="header">
            <h1>{ "leasehold" }<span class="sub">{ " dashboard" }</span></h1>
            <span class={classes!("source", mode)} data-testid="run-source" data-mode={mode}>
                <b>{ mode }</b>{ " " }{ &source.label }
            </span>
            <LearnMenu current={props.chapter} />
            <ScenarioPicker spec={source.spec.clone()} />
            <LogIo batches={source.batches} />
        </header>
    }
}
