//! A message for the operator: a refused link parameter, a file that is not a log.

use crate::hooks::use_dispatch;
use crate::state::Action;
use yew::prelude::*;

/// The notice's properties.
#[derive(Properties, PartialEq)]
pub struct NoticeProps {
    /// The message, if any.
    pub notice: Option<String>,
}

/// A dismissible message.
#[component]
pub fn Notice(props: &NoticeProps) -> Html {
    let dispatch = use_dispatch();
    let Some(text) = props.notice.clone() else {
        return html! {};
    };
    let dismiss = Callback::from(move |_: MouseEvent| dispatch.dispatch(Action::Dismiss));
    html! {
        <div class="notice" role="alert" data-testid="notice">
            <span>{ text }</span>
            <button onclick={dismiss} aria-label="dismiss">{ "×" }</button>
        </div>
    }
}
