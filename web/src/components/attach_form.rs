//! The "Connect" control: attach the dashboard to a running lease service by the URL
//! of any of its members.

use crate::hooks::use_dispatch;
use crate::state::Action;
use crate::state::operator::OperatorAction;
use web_sys::HtmlInputElement;
use yew::prelude::*;

/// The form's properties.
#[derive(Properties, PartialEq)]
pub struct AttachFormProps {
    /// The cluster attached to, if any (the field shows it).
    #[prop_or_default]
    pub current: Option<String>,
}

/// The connect form.
#[component]
pub fn AttachForm(props: &AttachFormProps) -> Html {
    let dispatch = use_dispatch();
    let input = use_node_ref();
    let submit = {
        let input = input.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if let Some(i) = input.cast::<HtmlInputElement>() {
                dispatch.dispatch(Action::Operator(OperatorAction::Attach(i.value())));
            }
        })
    };
    html! {
        <form class="attach-form" onsubmit={submit} title="watch a running leaseholdd cluster (any member's address)">
            <input data-testid="attach-url" ref={input} placeholder="http://127.0.0.1:7401"
                value={props.current.clone().unwrap_or_default()} />
            <button data-testid="attach-submit" type="submit">{ "Connect" }</button>
        </form>
    }
}
