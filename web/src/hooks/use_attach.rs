//! The connections to an attached cluster: the watch (gloo's WebSocket), each member's
//! status every second and the leader's metrics, all handed to the session as
//! [`Inbound`]s every [`TICK_MS`] (one tick: the session applies what arrived, draws
//! the scene, and the tick meter measures it, as a simulation's tick is measured).
//!
//! The watch runs in a loop: the session says where to connect and how long to wait
//! first ([`Session::next_watch`](crate::model::session::Session::next_watch): the
//! same node, or after a failure the next member, with back-off, resuming from the last
//! index applied); every message goes to the inbox; when the socket closes or fails,
//! the loss goes to the inbox too, and once a tick has taken it (in order, after the
//! messages before it) the loop asks again. Everything stops when the
//! attachment ends (a new run, the app unmounted): the loops see the flag and leave,
//! dropping (closing) their socket.

use super::use_session::SessionRef;
use crate::model::attached::{Inbound, UNAUTHORIZED_READS};
use crate::model::session::TICK_MS;
use crate::page;
use crate::state::{Action, Dispatch};
use futures_util::StreamExt;
use gloo::net::http::Request;
use gloo::net::websocket::Message;
use gloo::net::websocket::futures::WebSocket;
use gloo::timers::callback::Interval;
use gloo_timers::future::TimeoutFuture;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use yew::platform::spawn_local;
use yew::prelude::*;

/// How often every member is asked for its status (and the leader for its metrics), ms.
pub const POLL_MS: u32 = 1_000;

/// How long a status or metrics request may take, ms.
const REQUEST_TIMEOUT_MS: u32 = 900;

type Inbox = Rc<RefCell<Vec<Inbound>>>;

/// Keeps the connections to the cluster of attachment `epoch` (none: not attached).
#[hook]
pub fn use_attach(epoch: Option<u64>, session: SessionRef, dispatch: Dispatch) {
    use_effect_with(epoch, move |epoch| {
        let running = Rc::new(Cell::new(epoch.is_some()));
        let interval = epoch.map(|_| {
            let inbox: Inbox = Rc::default();
            spawn_local(watch(session.clone(), inbox.clone(), running.clone()));
            spawn_local(poll(session.clone(), inbox.clone(), running.clone()));
            Interval::new(TICK_MS as u32, move || {
                let arrived = std::mem::take(&mut *inbox.borrow_mut());
                let update = session.borrow_mut().receive(arrived, &page::now_ms);
                dispatch.dispatch(Action::Updated(update));
            })
        });
        move || {
            running.set(false);
            drop(interval);
        }
    });
}

/// The watch loop.
async fn watch(session: SessionRef, inbox: Inbox, running: Rc<Cell<bool>>) {
    while running.get() {
        let Some((url, base, wait)) = session.borrow_mut().next_watch() else {
            return;
        };
        if wait > 0 {
            TimeoutFuture::new(u32::try_from(wait).unwrap_or(u32::MAX)).await;
        }
        if !running.get() {
            return;
        }
        let reason = match WebSocket::open(&url) {
            Ok(socket) => receive(socket, &base, &inbox, &running).await,
            Err(e) => e.to_string(),
        };
        inbox.borrow_mut().push(Inbound::Lost(base, reason));
        // Where to go next depends on the loss: wait until a tick has taken it.
        while running.get()
            && inbox
                .borrow()
                .iter()
                .any(|i| matches!(i, Inbound::Lost(..)))
        {
            TimeoutFuture::new(TICK_MS as u32 / 2).await;
        }
    }
}

/// Reads one watch until it ends; returns why it ended.
async fn receive(
    mut socket: WebSocket,
    base: &str,
    inbox: &Inbox,
    running: &Rc<Cell<bool>>,
) -> String {
    let mut opened = false;
    while let Some(message) = socket.next().await {
        if !running.get() {
            return "detached".to_owned();
        }
        if !opened {
            opened = true;
            inbox.borrow_mut().push(Inbound::Opened(base.to_owned()));
        }
        let item = match message {
            Ok(Message::Text(text)) => Inbound::Text(base.to_owned(), text),
            Ok(Message::Bytes(bytes)) => Inbound::Binary(base.to_owned(), bytes),
            // (gloo's words end in "reason: " when the close gave none.)
            Err(e) => {
                return e
                    .to_string()
                    .trim_end()
                    .trim_end_matches(", reason:")
                    .to_owned();
            }
        };
        inbox.borrow_mut().push(item);
    }
    "the watch closed".to_owned()
}

/// Asks every member for its status, and the leader for its metrics, every
/// [`POLL_MS`].
async fn poll(session: SessionRef, inbox: Inbox, running: Rc<Cell<bool>>) {
    while running.get() {
        let (urls, leader) = {
            let s = session.borrow();
            let Some(a) = s.run().attached() else { return };
            (a.cluster().status_urls(), a.cluster().leader_url())
        };
        for url in urls {
            let inbox = inbox.clone();
            spawn_local(async move {
                let answer = get(&format!("{url}/v1/status")).await;
                inbox.borrow_mut().push(Inbound::Status(url, answer));
            });
        }
        let answer = get(&format!("{leader}/metrics")).await;
        inbox.borrow_mut().push(Inbound::Metrics(leader, answer));
        TimeoutFuture::new(POLL_MS).await;
    }
}

/// The body of `GET url`, or why there is none (within [`REQUEST_TIMEOUT_MS`]).
async fn get(url: &str) -> Result<String, String> {
    let controller = web_sys::AbortController::new().map_err(|_| "no AbortController")?;
    let signal = controller.signal();
    let timeout = gloo::timers::callback::Timeout::new(REQUEST_TIMEOUT_MS, move || {
        controller.abort();
    });
    let response = Request::get(url)
        .abort_signal(Some(&signal))
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    drop(timeout);
    if response.status() == 401 {
        return Err(format!("{url}: {UNAUTHORIZED_READS}"));
    }
    if !response.ok() {
        return Err(format!("{url}: HTTP {}", response.status()));
    }
    response.text().await.map_err(|e| format!("{url}: {e}"))
}
