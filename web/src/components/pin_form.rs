//! The pin form: who pins the lease, why, and for how long.

use crate::hooks::use_dispatch;
use crate::state::Action;
use crate::state::operator::OperatorAction;
use web_sys::HtmlInputElement;
use yew::prelude::*;

/// The form's properties.
#[derive(Properties, PartialEq)]
pub struct PinFormProps {
    /// Called after the pin is sent (to close the form).
    pub ondone: Callback<()>,
}

/// The pin form.
#[component]
pub fn PinForm(props: &PinFormProps) -> Html {
    let dispatch = use_dispatch();
    let entity = use_node_ref();
    let reason = use_node_ref();
    let until = use_node_ref();
    let submit = {
        let (entity, reason, until, done) = (
            entity.clone(),
            reason.clone(),
            until.clone(),
            props.ondone.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let value = |r: &NodeRef| {
                r.cast::<HtmlInputElement>()
                    .map(|i| i.value())
                    .unwrap_or_default()
            };
            let seconds = value(&until).trim().parse::<u64>().ok().filter(|&s| s > 0);
            dispatch.dispatch(Action::Operator(OperatorAction::Pin {
                entity: value(&entity),
                reason: value(&reason),
                seconds,
            }));
            done.emit(());
        })
    };
    html! {
        <form class="pin-form" onsubmit={submit}>
            <label>{ "entity " }
                <input data-testid="pin-entity" ref={entity} value="machine-0" placeholder="machine-0" />
            </label>
            <label>{ "reason " }
                <input data-testid="pin-reason" ref={reason} value="series upgrade" />
            </label>
            <label title="the pin lapses by itself after this many seconds (blank: never)">{ "deadline (s) " }
                <input data-testid="pin-until" ref={until} class="num" type="number" min="1" placeholder="none" />
            </label>
            <button data-testid="pin-submit" type="submit">{ "pin" }</button>
        </form>
    }
}
