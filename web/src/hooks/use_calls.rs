//! Sends an operator's requests to the attached cluster (`POST /v1/pin`, ...) with the
//! token typed into the page, and hands each answer back as a line for the notice
//! ([`Action::Answered`]). The token goes only into the `Authorization` header.

use crate::model::service::{Call, CallAnswer};
use crate::state::operator::Token;
use crate::state::{Action, Dispatch};
use gloo::net::http::Request;
use yew::platform::spawn_local;

/// Sends `calls` to the node at `base` (any member forwards to the leader).
pub fn send_calls(calls: Vec<Call>, base: String, token: Option<Token>, dispatch: Dispatch) {
    for call in calls {
        let (base, token, dispatch) = (base.clone(), token.clone(), dispatch.clone());
        spawn_local(async move {
            let line = send(&call, &base, token.as_ref()).await;
            dispatch.dispatch(Action::Answered(line));
        });
    }
}

async fn send(call: &Call, base: &str, token: Option<&Token>) -> String {
    let mut request = Request::post(&format!("{base}{}", call.path));
    if let Some(t) = token {
        request = request.header("Authorization", &t.bearer());
    }
    let request = match request.json(&call.body) {
        Ok(r) => r,
        Err(e) => return format!("{}: {e}", call.what),
    };
    match request.send().await {
        Ok(response) => {
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            CallAnswer::describe(&call.what, status, &body)
        }
        Err(e) => format!("{}: {base} did not answer: {e}", call.what),
    }
}
