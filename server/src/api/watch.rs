//! `GET /v1/watch[?from=INDEX][&state=true]`: committed batches as JSON text messages,
//! read from this node's state machine (any node serves it; it is not a linearizable
//! read).
//!
//! The first message is `{kind: "snapshot", index, globalTimeMs, leases}`, then one
//! `{kind: "batch", index, seq, epoch, ops, results, events}` per committed batch. With
//! `from`, the batches from that log index are sent first, without a snapshot, when the
//! node still keeps them ([`crate::feed::RECENT_OPS`]); otherwise it starts with a
//! snapshot. A watcher that falls more than [`crate::feed::LIVE_CAPACITY`] batches behind
//! is closed with a reason naming the index to resume from.
//!
//! **A replica's form** (`state=true`, what the dashboard asks for): when the watch
//! starts with a snapshot message, that message also has `"state": true` and is followed
//! at once by one *binary* message: the state machine's [`leasehold::Snapshot`] at
//! exactly `index` (its [`leasehold::Snapshot::encode`] bytes;
//! [`leasehold::Snapshot::decode`] and [`leasehold::Fsm::restore`] give the state back).
//! Every batch then comes as one binary message too, a postcard [`WatchBatch`]: its index,
//! epoch, the batch in the log's own encoding and each operation's result (applying the
//! batch with [`leasehold::Fsm::apply_batch`] gives the same results). A watch that
//! resumes from `from` (a replay) sends no state, only the batches. Without `state=true`
//! no binary message is ever sent.

use super::{App, too_many_sockets};
use crate::feed::Item;
use crate::state_machine::WatchStart;
use crate::wire::{Lease, WatchBatch};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::Response;
use leasehold::Outcome;
use serde::Deserialize;
use serde_json::{Value, json};

use tokio::sync::broadcast::error::RecvError;

/// The query of `GET /v1/watch`.
#[derive(Debug, Deserialize)]
pub(crate) struct WatchQuery {
    from: Option<u64>,
    /// Send the whole state after the snapshot message.
    #[serde(default)]
    state: bool,
    /// A browser's bearer token (checked by the router).
    #[serde(rename = "token")]
    _token: Option<String>,
}

/// `GET /v1/watch`.
pub(crate) async fn upgrade(
    State(app): State<App>,
    Query(q): Query<WatchQuery>,
    ws: WebSocketUpgrade,
) -> Response {
    let Some(permit) = app.socket_permit() else {
        return too_many_sockets();
    };
    ws.on_upgrade(move |socket| async move {
        watch(&app, socket, q.from, q.state).await;
        drop(permit);
    })
}

/// The message of one committed batch: JSON text, or with `binary` one
/// [`WatchBatch`] (postcard).
fn item_message(item: &Item, binary: bool) -> Message {
    if !binary {
        return Message::Text(batch_message(item).to_string().into());
    }
    let c = &item.committed;
    let frame = WatchBatch {
        index: item.index,
        epoch: c.epoch,
        batch: c.batch.encode().unwrap_or_default(),
        results: c
            .results
            .iter()
            .map(|r| {
                r.as_ref()
                    .copied()
                    .map_err(|e| e.to_lease_error().to_string())
            })
            .collect(),
    };
    Message::Binary(postcard::to_allocvec(&frame).unwrap_or_default().into())
}

/// The JSON message of one committed batch.
pub(crate) fn batch_message(item: &Item) -> Value {
    let c = &item.committed;
    let results: Vec<Value> = c
        .results
        .iter()
        .map(|r| {
            let outcome = Outcome::Applied(r.clone().map_err(|e| e.to_lease_error()));
            serde_json::to_value(&outcome).unwrap_or(Value::Null)
        })
        .collect();
    json!({
        "kind": "batch",
        "index": item.index,
        "seq": c.batch.seq,
        "epoch": c.epoch,
        "ops": c.batch.ops,
        "results": results,
        "events": c.events,
    })
}

async fn send(socket: &mut WebSocket, message: &Value) -> bool {
    socket
        .send(Message::Text(message.to_string().into()))
        .await
        .is_ok()
}

async fn close(socket: &mut WebSocket, reason: String) {
    let frame = CloseFrame {
        code: 1013,
        reason: reason.into(),
    };
    let _ = socket.send(Message::Close(Some(frame))).await;
}

async fn watch(app: &App, mut socket: WebSocket, from: Option<u64>, with_state: bool) {
    let sm = app.service.node().state_machine();
    let (start, mut live) = match sm.watch_with_state(from, with_state) {
        Ok(started) => started,
        Err(e) => return close(&mut socket, e.to_string()).await,
    };
    let mut next = match start {
        WatchStart::State {
            index,
            global_time,
            leases,
            state,
        } => {
            let leases: Vec<Lease> = leases.iter().map(Lease::from).collect();
            let mut message = json!({
                "kind": "snapshot",
                "index": index,
                "globalTimeMs": global_time.as_millis(),
                "leases": leases,
            });
            let state = match state.map(|s| s.encode()).transpose() {
                Ok(state) => state,
                Err(e) => {
                    return close(&mut socket, format!("the state does not encode: {e}")).await;
                }
            };
            if state.is_some() {
                message["state"] = Value::Bool(true);
            }
            if !send(&mut socket, &message).await {
                return;
            }
            if let Some(bytes) = state
                && socket.send(Message::Binary(bytes.into())).await.is_err()
            {
                return;
            }
            index + 1
        }
        WatchStart::Replay(items) => {
            let mut next = from.unwrap_or(0);
            for item in items {
                if socket.send(item_message(&item, with_state)).await.is_err() {
                    return;
                }
                next = item.index + 1;
            }
            next
        }
    };
    loop {
        tokio::select! {
            item = live.recv() => match item {
                Ok(item) => {
                    if item.index < next {
                        continue;
                    }
                    if socket.send(item_message(&item, with_state)).await.is_err() {
                        return;
                    }
                    next = item.index + 1;
                }
                Err(RecvError::Lagged(_)) => {
                    return close(&mut socket, format!("fell behind; resume from={next}")).await;
                }
                Err(RecvError::Closed) => {
                    return close(&mut socket, format!("the state was replaced; resume from={next}")).await;
                }
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
        }
    }
}
