//! One row of the lease table.

use super::expiry_bar::ExpiryBar;
use super::pin_badge::PinBadge;
use crate::model::scene::LeaseRowView;
use leasehold::Key;
use yew::prelude::*;

/// The row's properties.
#[derive(Properties, PartialEq)]
pub struct LeaseRowProps {
    /// The lease.
    pub row: LeaseRowView,
    /// Log time now, ms.
    pub now: u64,
    /// Whether it is the selected lease.
    pub selected: bool,
    /// Selects it.
    pub onselect: Callback<Key>,
}

fn seconds(ms: u64) -> String {
    format!("{:.1} s", ms as f64 / 1000.0)
}

/// A lease row.
#[component]
pub fn LeaseRow(props: &LeaseRowProps) -> Html {
    let r = &props.row;
    let onclick = {
        let (key, cb) = (r.key.clone(), props.onselect.clone());
        Callback::from(move |_: MouseEvent| cb.emit(key.clone()))
    };
    let model: String = r.key.model.chars().take(8).collect();
    let free = r.holder.is_empty();
    html! {
        <div class={classes!("row", props.selected.then_some("selected"), free.then_some("free"),
                (!r.pins.is_empty()).then_some("pinned"))}
            data-testid="lease-row" data-key={r.key.to_string()} data-holder={r.holder.clone()}
            data-token={r.token.to_string()} data-pinned={(!r.pins.is_empty()).to_string()}
            onclick={onclick} role="row" aria-selected={props.selected.to_string()}>
            <span class="c-key" title={r.key.to_string()}>
                <b>{ &*r.key.lease }</b>
                <span class="model">{ format!(" {}…", model) }</span>
                if r.key.is_singular() { <span class="tag singular">{ "singular" }</span> }
            </span>
            <span class={classes!("c-holder", r.holder_down.then_some("down"))}
                title={if r.holder_down { "its process is down" } else { "" }}>
                { if free { "free".to_owned() } else { r.holder.clone() } }
                if r.holder_down { <span class="down-mark">{ " ⚠ down" }</span> }
            </span>
            <span class="c-token num">{ r.token }</span>
            <span class="c-acquired num">{ seconds(r.acquired) }</span>
            <span class="c-renewed num">{ seconds(r.renewed) }</span>
            <span class="c-expiry">
                if !free {
                    <ExpiryBar now={props.now} renewed={r.renewed} expiry={r.expiry} pinned={!r.pins.is_empty()} />
                }
            </span>
            <span class="c-pins">
                { for r.pins.iter().map(|p| html! { <PinBadge pin={p.clone()} now={props.now} /> }) }
            </span>
            <span class="c-transitions num">{ r.transitions }</span>
        </div>
    }
}
