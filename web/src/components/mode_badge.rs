//! Which mode the page is in: a live cluster, a simulation, or a replayed log.

use crate::model::scene::Mode;
use yew::prelude::*;

/// The badge's properties.
#[derive(Properties, PartialEq)]
pub struct ModeBadgeProps {
    /// The mode.
    pub mode: Mode,
}

/// The mode badge.
#[component]
pub fn ModeBadge(props: &ModeBadgeProps) -> Html {
    let name = props.mode.name();
    let title = match props.mode {
        Mode::Live => "attached to a running lease service: what its log commits, as it commits it",
        Mode::Simulation => "a simulation running in this page",
        Mode::Replay => "a log file, replayed",
    };
    html! {
        <span class={classes!("mode-badge", name)} data-testid="mode-badge" data-mode={name} title={title}>
            { name }
        </span>
    }
}
