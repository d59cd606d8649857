//! What an operator can do to the selected lease: pin, unpin, revoke, hand over, crash
//! or restart its holder. Only at the head of a live run.

use super::pin_form::PinForm;
use crate::hooks::use_dispatch;
use crate::state::{Action, RunRef};
use leasehold::Key;
use yew::prelude::*;

/// The actions' properties.
#[derive(Properties, PartialEq)]
pub struct LeaseActionsProps {
    /// The run.
    pub run: RunRef,
    /// The selected lease.
    pub selected: Option<Key>,
}

/// The lease actions.
#[component]
pub fn LeaseActions(props: &LeaseActionsProps) -> Html {
    let dispatch = use_dispatch();
    let form_open = use_state(|| false);
    let run = props.run.borrow();
    let Some(key) = props.selected.clone() else {
        return html! {
            <div class="lease-actions idle" data-testid="lease-actions">
                { "Click a lease to select it: then pin, unpin, revoke, hand over, crash or restart its holder." }
            </div>
        };
    };
    let row = run.head().row(&key);
    let holder = row.and_then(|r| r.holder.as_deref()).map(str::to_owned);
    let pinned = !run.head().pins(&key).is_empty();
    let can = run.can_act();
    let on = |a: Action| {
        let d = dispatch.clone();
        Callback::from(move |_: MouseEvent| d.dispatch(a.clone()))
    };
    let toggle_form = {
        let f = form_open.clone();
        Callback::from(move |_: MouseEvent| f.set(!*f))
    };
    let close_form = {
        let f = form_open.clone();
        Callback::from(move |()| f.set(false))
    };
    let why = if can {
        ""
    } else if run.narrated() {
        "the chapter's story holds the controls until its \"try it yourself\" step"
    } else {
        "only at the head of a live run"
    };
    html! {
        <div class="lease-actions" data-testid="lease-actions" data-key={key.to_string()}>
            <div class="selected">
                <b>{ &*key.lease }</b>
                { match &holder {
                    Some(h) => format!(" held by {h}"),
                    None => " free".to_owned(),
                } }
            </div>
            <div class="buttons" title={why}>
                <button data-testid="lease-pin" disabled={!can} onclick={toggle_form}
                    class={classes!((*form_open).then_some("on"))}>{ "⚑ pin…" }</button>
                <button data-testid="lease-unpin" disabled={!can || !pinned} onclick={on(Action::Unpin)}>{ "unpin" }</button>
                <button data-testid="lease-revoke" disabled={!can || holder.is_none()} onclick={on(Action::Revoke)}>{ "revoke" }</button>
                <button data-testid="lease-handover" disabled={!can || holder.is_none()} onclick={on(Action::HandOver)}
                    title="hand the lease to another unit that is up">{ "hand over" }</button>
                <button data-testid="holder-crash" class="danger" disabled={!can || holder.is_none()}
                    onclick={on(Action::Crash)}>{ "✕ crash holder" }</button>
                <button data-testid="holder-partition" disabled={!can || holder.is_none()}
                    onclick={on(Action::Partition)} title="cut the holder off the network for 10 s">{ "cut off 10 s" }</button>
                <button data-testid="holder-restart" disabled={!can} onclick={on(Action::Restart)}
                    title="restart this lease's crashed units">{ "restart units" }</button>
            </div>
            if *form_open && can {
                <PinForm ondone={close_form} />
            }
        </div>
    }
}
