//! Performs what the reducer asked of the run: after a render whose state queued
//! commands or changed the lens (selection, sort, filters, scroll, open batch), the
//! session performs the commands, draws the scene through the lens and hands it back to
//! the reducer. An export's file is offered here, and an operator's requests to an
//! attached cluster are sent from here, with the token typed into the page.

use super::use_calls::send_calls;
use super::use_session::SessionRef;
use crate::page;
use crate::state::{Action, State};
use yew::prelude::*;

/// Keeps the session in step with `state`'s requests and lens.
#[hook]
pub fn use_requests(session: SessionRef, state: &UseReducerHandle<State>) {
    let dispatch = state.dispatcher();
    let pending = state.requests().pending().to_vec();
    let token = state.token.clone();
    let deps = (state.requests().last(), state.lens());
    use_effect_with(deps, move |(_, lens)| {
        let mut update = {
            let mut session = session.borrow_mut();
            session.look(lens.clone());
            session.perform(&pending, &page::now_ms)
        };
        if let Some(file) = update.outcome.download.take() {
            page::download(&file.name, &file.bytes);
        }
        let calls = std::mem::take(&mut update.outcome.calls);
        if !calls.is_empty() {
            let base = session
                .borrow()
                .run()
                .attached()
                .map(|a| a.cluster().link().url().to_owned())
                .unwrap_or_default();
            send_calls(calls, base, token.clone(), dispatch.clone());
        }
        dispatch.dispatch(Action::Updated(update));
    });
}
