//! What an operator can do to a live cluster's lease: pin (entity, reason, deadline),
//! unpin, revoke, hand over to a named holder. Read-only until an operator token is
//! typed in: the token stays in the page's memory and goes only into the requests'
//! `Authorization` header; the answers (`ok`, `held`, `shed`, `rejected`, ...) show in
//! the notice.

use super::pin_form::PinForm;
use super::selected_lease::SelectedLease;
use crate::hooks::{use_dispatch, use_toggle};
use crate::model::scene::SelectedScene;
use crate::state::Action;
use crate::state::operator::OperatorAction;
use std::rc::Rc;
use web_sys::HtmlInputElement;
use yew::prelude::*;

/// The actions' properties.
#[derive(Properties, PartialEq)]
pub struct LiveActionsProps {
    /// The selected lease.
    pub selected: Option<Rc<SelectedScene>>,
    /// Whether an operator token was typed in.
    pub has_token: bool,
}

/// The live lease actions.
#[component]
pub fn LiveActions(props: &LiveActionsProps) -> Html {
    let dispatch = use_dispatch();
    let (form_open, toggle_form, close_form) = use_toggle();
    let to = use_node_ref();
    let on_token = {
        let d = dispatch.clone();
        Callback::from(move |e: InputEvent| {
            let value = e.target_unchecked_into::<HtmlInputElement>().value();
            d.dispatch(Action::Token(value));
        })
    };
    let token = html! {
        <form class="token" onsubmit={Callback::from(|e: SubmitEvent| e.prevent_default())}>
            <label title="the token the cluster was started with (--token-file); kept in this page's memory only">
                { "operator token " }
                <input data-testid="operator-token" type="password" autocomplete="off" oninput={on_token}
                    placeholder="read-only without it" />
            </label>
        </form>
    };
    let Some(selected) = props.selected.clone() else {
        return html! {
            <div class="lease-actions idle" data-testid="lease-actions">
                { token }
                <span>{ " Click a lease to select it: then pin, unpin, revoke or hand it over." }</span>
            </div>
        };
    };
    let (key, holder, pinned) = (&selected.key, &selected.holder, selected.pinned);
    let can = props.has_token;
    let on = |a: OperatorAction| {
        let d = dispatch.clone();
        Callback::from(move |_: MouseEvent| d.dispatch(Action::Operator(a.clone())))
    };
    let hand_over = {
        let (d, to) = (dispatch.clone(), to.clone());
        Callback::from(move |_: MouseEvent| {
            if let Some(i) = to.cast::<HtmlInputElement>() {
                d.dispatch(Action::Operator(OperatorAction::HandOverTo(i.value())));
            }
        })
    };
    let why = if can {
        ""
    } else {
        "read-only: type the operator token to act"
    };
    html! {
        <div class="lease-actions" data-testid="lease-actions" data-key={key.to_string()}>
            { token }
            <SelectedLease lease={key.clone()} holder={holder.clone()} />
            <div class="buttons" title={why}>
                <button data-testid="lease-pin" disabled={!can} onclick={toggle_form}
                    class={classes!(form_open.then_some("on"))}>{ "⚑ pin…" }</button>
                <button data-testid="lease-unpin" disabled={!can || !pinned} onclick={on(OperatorAction::Unpin)}>{ "unpin" }</button>
                <button data-testid="lease-revoke" disabled={!can || holder.is_none()} onclick={on(OperatorAction::Revoke)}>{ "revoke" }</button>
                <input data-testid="handover-to" ref={to} placeholder="new holder" disabled={!can || holder.is_none()} />
                <button data-testid="lease-handover" disabled={!can || holder.is_none()} onclick={hand_over}
                    title="hand the lease to the holder named">{ "hand over" }</button>
            </div>
            if !can { <p class="hint">{ why }</p> }
            if form_open && can {
                <PinForm ondone={close_form} />
            }
        </div>
    }
}
