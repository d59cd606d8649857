//! `GET /v1/stream`: the binary stream's server side (the protocol is in
//! [`crate::wire`]). Requests are submitted as they arrive, many in flight; answers that
//! are ready together leave in one frame.

use super::{App, too_many_sockets};
use crate::node::RequestError;
use crate::wire::{self, ClientFrame, ServerFrame, WireOutcome};
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use futures_util::future::BoxFuture;
use futures_util::stream::FuturesUnordered;
use futures_util::{FutureExt, StreamExt};
use leasehold::Batch;
use std::time::Duration;

/// The most requests of one stream in flight; beyond it, the stream is not read until
/// answers go out.
pub const MAX_IN_FLIGHT_PER_STREAM: usize = 262_144;

/// How long a node may wait for the epoch of lost requests to be decided.
const RESOLVE_PATIENCE: Duration = Duration::from_secs(5);

/// The most answers in one frame.
const MAX_ANSWERS_PER_FRAME: usize = 16_384;

/// `GET /v1/stream`.
pub(crate) async fn upgrade(State(app): State<App>, ws: WebSocketUpgrade) -> Response {
    let Some(permit) = app.socket_permit() else {
        return too_many_sockets();
    };
    ws.max_message_size(wire::MAX_FRAME_BYTES)
        .max_frame_size(wire::MAX_FRAME_BYTES)
        .on_upgrade(move |socket| async move {
            serve(&app, socket).await;
            drop(permit);
        })
}

/// What a piece of work of the stream produced.
enum Done {
    /// The answer to request `n`; `None` when it has none to give here (the node
    /// stopped: the client resolves it elsewhere).
    Answer(u64, Option<WireOutcome>),
    /// A whole frame.
    Frame(ServerFrame),
}

async fn send(socket: &mut WebSocket, frame: &ServerFrame) -> bool {
    match wire::encode(frame) {
        Ok(bytes) => socket.send(Message::Binary(bytes.into())).await.is_ok(),
        Err(_) => false,
    }
}

/// The next binary message, `None` when the stream ended.
async fn receive(socket: &mut WebSocket) -> Option<Vec<u8>> {
    loop {
        match socket.recv().await? {
            Ok(Message::Binary(bytes)) => return Some(bytes.to_vec()),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

async fn refuse(socket: &mut WebSocket, message: String) {
    let _ = send(socket, &ServerFrame::Error { message }).await;
    let _ = socket.send(Message::Close(None)).await;
}

async fn serve(app: &App, mut socket: WebSocket) {
    let Some(first) = receive(&mut socket).await else {
        return;
    };
    let client = match wire::decode::<ClientFrame>(&first, "client frame") {
        Ok(ClientFrame::Hello { client }) => client,
        Ok(_) => return refuse(&mut socket, "the first frame must be a hello".into()).await,
        Err(e) => return refuse(&mut socket, e).await,
    };
    let node = app.service.node();
    let epoch = node.serving_epoch();
    let status = app.service.status();
    let hello = ServerFrame::Hello {
        node: node.id(),
        epoch,
        leader: status.leader,
        applied: status.applied_index,
        members: status.members,
    };
    if !send(&mut socket, &hello).await {
        return;
    }
    let mut work: FuturesUnordered<BoxFuture<'_, Done>> = FuturesUnordered::new();
    loop {
        tokio::select! {
            message = receive(&mut socket), if work.len() < MAX_IN_FLIGHT_PER_STREAM => {
                let Some(bytes) = message else { return };
                let frame = match wire::decode::<ClientFrame>(&bytes, "client frame") {
                    Ok(frame) => frame,
                    Err(e) => return refuse(&mut socket, e).await,
                };
                if let Err(e) = take(app, client, epoch, frame, &mut work) {
                    return refuse(&mut socket, e).await;
                }
            }
            Some(done) = work.next(), if !work.is_empty() => {
                let mut answers = Vec::new();
                let mut frames = Vec::new();
                let mut next = Some(done);
                while let Some(done) = next.take() {
                    match done {
                        Done::Answer(n, Some(outcome)) => answers.push((n, outcome)),
                        Done::Answer(_, None) => {}
                        Done::Frame(frame) => frames.push(frame),
                    }
                    if answers.len() < MAX_ANSWERS_PER_FRAME {
                        next = work.next().now_or_never().flatten();
                    }
                }
                if !answers.is_empty() {
                    let applied = app.service.status().applied_index;
                    frames.push(ServerFrame::Answers { applied, answers });
                }
                for frame in &frames {
                    if !send(&mut socket, frame).await {
                        return;
                    }
                }
            }
        }
    }
}

/// Starts the work one client frame asks for.
fn take<'a>(
    app: &'a App,
    client: u64,
    epoch: Option<u64>,
    frame: ClientFrame,
    work: &mut FuturesUnordered<BoxFuture<'a, Done>>,
) -> Result<(), String> {
    let service = &app.service;
    match frame {
        ClientFrame::Hello { .. } => return Err("a second hello".into()),
        ClientFrame::Ops { first, batch } => {
            let batch = Batch::decode(&batch)
                .map_err(|e| format!("a malformed batch of operations: {e}"))?;
            for (n, op) in (first..).zip(batch.ops) {
                work.push(
                    async move {
                        let answer = match epoch {
                            None => Some(WireOutcome::NotLeader(service.status().leader)),
                            Some(_) => match service
                                .node()
                                .request_named(op, Some((client, n)), epoch)
                                .await
                            {
                                Ok(outcome) => Some(WireOutcome::from(&outcome)),
                                Err(RequestError::NotLeader { leader }) => {
                                    Some(WireOutcome::NotLeader(leader))
                                }
                                Err(RequestError::Stopped | RequestError::Unresolved(_)) => None,
                            },
                        };
                        Done::Answer(n, answer)
                    }
                    .boxed(),
                );
            }
        }
        ClientFrame::Leases {
            id,
            namespace,
            model,
        } => work.push(
            async move {
                let leases = service
                    .leases(namespace.as_deref(), model.as_deref())
                    .await
                    .map_err(|e| e.to_string());
                Done::Frame(ServerFrame::Leases { id, leases })
            }
            .boxed(),
        ),
        ClientFrame::Status { id } => {
            let status = service.status();
            work.push(async move { Done::Frame(ServerFrame::Status { id, status }) }.boxed());
        }
        ClientFrame::Resolve {
            id,
            client,
            requests,
            epoch,
            from,
        } => work.push(
            async move {
                let outcomes = service
                    .node()
                    .resolve(client, &requests, epoch, from, RESOLVE_PATIENCE)
                    .await
                    .map(|found| {
                        found
                            .iter()
                            .map(|(n, o)| (*n, WireOutcome::from(o)))
                            .collect()
                    })
                    .map_err(|e| e.to_string());
                Done::Frame(ServerFrame::Resolved { id, outcomes })
            }
            .boxed(),
        ),
    }
    Ok(())
}
