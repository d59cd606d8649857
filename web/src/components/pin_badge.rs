//! One pin of a lease: who pinned it, why, until when.

use crate::model::scene::PinView;
use yew::prelude::*;

/// The badge's properties.
#[derive(Properties, PartialEq)]
pub struct PinBadgeProps {
    /// The pin.
    pub pin: PinView,
    /// Log time now, ms.
    pub now: u64,
}

/// A pin badge.
#[component]
pub fn PinBadge(props: &PinBadgeProps) -> Html {
    let p = &props.pin;
    let deadline = p.until.filter(|&u| u < u64::MAX / 2).map(|u| {
        format!(
            "lapses in {:.0} s",
            u.saturating_sub(props.now) as f64 / 1000.0
        )
    });
    let title = [
        Some(format!("pinned by {}", p.entity)),
        p.reason.clone(),
        deadline.clone(),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" · ");
    html! {
        <span class="pin-badge" data-testid="pin-badge" data-entity={p.entity.clone()} title={title}>
            { "⚑ " }{ &p.entity }
            if let Some(r) = &p.reason { <span class="reason">{ " · " }{ r }</span> }
            if let Some(d) = deadline { <span class="deadline">{ " · " }{ d }</span> }
        </span>
    }
}
