//! What an operator can do to the selected lease: pin, unpin, revoke, hand over, crash
//! or restart its holder. Only at the head of a live run.

use super::pin_form::PinForm;
use super::selected_lease::SelectedLease;
use crate::hooks::{use_dispatch, use_toggle};
use crate::model::scene::SelectedScene;
use crate::state::Action;
use crate::state::operator::OperatorAction;
use std::rc::Rc;
use yew::prelude::*;

/// The actions' properties.
#[derive(Properties, PartialEq)]
pub struct LeaseActionsProps {
    /// The selected lease, as the head of the log has it.
    pub selected: Option<Rc<SelectedScene>>,
    /// Whether operator actions apply (live, at the head, not narrated).
    pub can_act: bool,
    /// Whether a chapter's narration holds the controls.
    pub narrated: bool,
}

/// The lease actions.
#[component]
pub fn LeaseActions(props: &LeaseActionsProps) -> Html {
    let dispatch = use_dispatch();
    let (form_open, toggle_form, close_form) = use_toggle();
    let Some(selected) = props.selected.clone() else {
        return html! {
            <div class="lease-actions idle" data-testid="lease-actions">
                { "Click a lease to select it: then pin, unpin, revoke, hand over, crash or restart its holder." }
            </div>
        };
    };
    let (key, holder, pinned) = (&selected.key, &selected.holder, selected.pinned);
    let can = props.can_act;
    let on = |a: OperatorAction| {
        let d = dispatch.clone();
        Callback::from(move |_: MouseEvent| d.dispatch(Action::Operator(a.clone())))
    };
    let why = if can {
        ""
    } else if props.narrated {
        "the chapter's story holds the controls until its \"try it yourself\" step"
    } else {
        "only at the head of a live run"
    };
    html! {
        <div class="lease-actions" data-testid="lease-actions" data-key={key.to_string()}>
            <SelectedLease lease={key.clone()} holder={holder.clone()} />
            <div class="buttons" title={why}>
                <button data-testid="lease-pin" disabled={!can} onclick={toggle_form}
                    class={classes!(form_open.then_some("on"))}>{ "⚑ pin…" }</button>
                <button data-testid="lease-unpin" disabled={!can || !pinned} onclick={on(OperatorAction::Unpin)}>{ "unpin" }</button>
                <button data-testid="lease-revoke" disabled={!can || holder.is_none()} onclick={on(OperatorAction::Revoke)}>{ "revoke" }</button>
                <button data-testid="lease-handover" disabled={!can || holder.is_none()} onclick={on(OperatorAction::HandOver)}
                    title="hand the lease to another unit that is up">{ "hand over" }</button>
                <button data-testid="holder-crash" class="danger" disabled={!can || holder.is_none()}
                    onclick={on(OperatorAction::Crash)}>{ "✕ crash holder" }</button>
                <button data-testid="holder-partition" disabled={!can || holder.is_none()}
                    onclick={on(OperatorAction::Partition)} title="cut the holder off the network for 10 s">{ "cut off 10 s" }</button>
                <button data-testid="holder-restart" disabled={!can} onclick={on(OperatorAction::Restart)}
                    title="restart this lease's crashed units">{ "restart units" }</button>
            </div>
            if form_open && can {
                <PinForm ondone={close_form} />
            }
        </div>
    }
}
