//! The Raft RPCs between nodes: one WebSocket per (source, target) pair, at
//! [`RAFT_PATH`] on the target, carrying the source's bearer token when one is set.
//!
//! Each RPC is one binary message each way: the source sends a postcard-encoded
//! [`RaftRequest`] and waits for the matching postcard-encoded [`RaftReply`]. openraft sends
//! one RPC at a time per connection, so neither frame carries an id: the server
//! ([`serve`]) answers requests in order, one at a time.
//!
//! A node may be told to reach some peers at other addresses than the membership's
//! ([`HttpNetwork::with_dial`], `leaseholdd --dial`), so a fault harness can put a proxy
//! between each pair of nodes.
//!
//! The client ([`HttpNetwork`], [`HttpConnection`]) connects lazily and keeps the socket
//! between RPCs. Any failure (connecting, the handshake refused, I/O, a malformed or
//! unexpected reply, the RPC's hard TTL running out, the remote node answering with an
//! error) drops the socket, so the next RPC reconnects, and reports the target as
//! unreachable, so openraft backs off before retrying. An RPC abandoned half way (its
//! future dropped, or a snapshot cancelled) drops the socket too: a late reply can never
//! be taken for the next request's.
//!
//! Messages may be large (a batch of entries, a whole snapshot): both ends must accept
//! messages and frames of up to [`MAX_RAFT_MESSAGE_BYTES`]. The client is configured so;
//! the router that mounts [`serve`] must set
//! `WebSocketUpgrade::max_message_size(MAX_RAFT_MESSAGE_BYTES)` and
//! `max_frame_size(MAX_RAFT_MESSAGE_BYTES)` (a message is sent as one frame, and
//! tungstenite's default frame limit is 16 MiB), and check the `Authorization` header
//! before upgrading.

use crate::types::{Raft, TypeConfig};
use axum::extract::ws::{self, WebSocket};
use futures_util::{SinkExt, StreamExt};
use openraft::errors::{RPCError, ReplicationClosed, StreamingError, Unreachable};
use openraft::network::{RPCOption, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, TransferLeaderRequest,
    TransferLeaderResponse, VoteRequest, VoteResponse,
};
use openraft::storage::Snapshot;
use openraft::type_config::alias::{SnapshotMetaOf, SnapshotOf, VoteOf};
use openraft::{BasicNode, OptionalSend, RaftNetworkV2};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::header::{AUTHORIZATION, HeaderValue};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The largest Raft message (and frame) either end accepts: 64 MiB. A batch of entries
/// or a snapshot larger than this cannot be sent.
pub const MAX_RAFT_MESSAGE_BYTES: usize = 64 << 20;

/// The path at which a node accepts the Raft WebSocket ([`serve`]).
pub const RAFT_PATH: &str = "/raft";

/// A request from one node to another: one Raft RPC.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum RaftRequest {
    /// Append entries (or a heartbeat): [`Raft::append_entries`].
    Append(AppendEntriesRequest<TypeConfig>),
    /// Request a vote: [`Raft::vote`].
    Vote(VoteRequest<TypeConfig>),
    /// Install a whole snapshot: [`Raft::install_full_snapshot`].
    Snapshot {
        /// The sending leader's vote.
        vote: VoteOf<TypeConfig>,
        /// What the snapshot covers.
        meta: SnapshotMetaOf<TypeConfig>,
        /// The snapshot's bytes, as the state machine builds them.
        data: Vec<u8>,
    },
    /// Take over leadership: [`Raft::handle_transfer_leader`].
    Transfer(TransferLeaderRequest<TypeConfig>),
}

/// The answer to a [`RaftRequest`], of the same kind: the target's response, or its error
/// as text (which the source treats as the target being unreachable).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum RaftReply {
    /// The answer to [`RaftRequest::Append`].
    Append(Result<AppendEntriesResponse<TypeConfig>, String>),
    /// The answer to [`RaftRequest::Vote`].
    Vote(Result<VoteResponse<TypeConfig>, String>),
    /// The answer to [`RaftRequest::Snapshot`].
    Snapshot(Result<SnapshotResponse<TypeConfig>, String>),
    /// The answer to [`RaftRequest::Transfer`].
    Transfer(Result<TransferLeaderResponse<TypeConfig>, String>),
}

/// The network factory of a node: connections over WebSockets, carrying a bearer token
/// when one is set. Cloning is cheap.
#[derive(Clone)]
pub struct HttpNetwork {
    token: Option<Arc<str>>,
    /// Where to reach some peers instead of their membership addresses.
    dial: Arc<BTreeMap<u64, String>>,
}

impl HttpNetwork {
    /// A factory whose connections send `Authorization: Bearer <token>` when `token` is
    /// set (and no `Authorization` header otherwise).
    #[must_use]
    pub fn new(token: Option<Arc<str>>) -> HttpNetwork {
        HttpNetwork {
            token,
            dial: Arc::new(BTreeMap::new()),
        }
    }

    /// This factory, reaching each peer named in `dial` (node id → `HOST:PORT`) at that
    /// address instead of the one in the membership (e.g. through a proxy a fault
    /// harness controls). Other peers are reached at their membership addresses.
    #[must_use]
    pub fn with_dial(mut self, dial: BTreeMap<u64, String>) -> HttpNetwork {
        self.dial = Arc::new(dial);
        self
    }
}

impl RaftNetworkFactory<TypeConfig> for HttpNetwork {
    type Network = HttpConnection;

    async fn new_client(&mut self, target: u64, node: &BasicNode) -> HttpConnection {
        let addr = self.dial.get(&target).unwrap_or(&node.addr);
        HttpConnection {
            target,
            url: format!("ws://{addr}{RAFT_PATH}"),
            token: self.token.clone(),
            socket: None,
        }
    }
}

/// The client end of a WebSocket.
type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// One node's connection to another (`ws://{addr}/raft`), opened on the first RPC and
/// after any failure.
pub struct HttpConnection {
    target: u64,
    url: String,
    token: Option<Arc<str>>,
    /// The open socket, between RPCs. An RPC takes it out while it runs and puts it back
    /// only when it got its reply.
    socket: Option<Socket>,
}

impl HttpConnection {
    /// Opens the socket: the WebSocket handshake, with the bearer token.
    async fn connect(&self) -> Result<Socket, String> {
        let mut request = self
            .url
            .as_str()
            .into_client_request()
            .map_err(|e| format!("the address {}: {e}", self.url))?;
        if let Some(token) = &self.token {
            let value = HeaderValue::from_str(&format!("Bearer {token}"))
                .map_err(|e| format!("the bearer token: {e}"))?;
            request.headers_mut().insert(AUTHORIZATION, value);
        }
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_RAFT_MESSAGE_BYTES))
            .max_frame_size(Some(MAX_RAFT_MESSAGE_BYTES));
        let (socket, _) = tokio_tungstenite::connect_async_with_config(request, Some(config), true)
            .await
            .map_err(|e| match e {
                tungstenite::Error::Http(response) => {
                    format!("{} refused the connection: {}", self.url, response.status())
                }
                e => format!("connecting to {}: {e}", self.url),
            })?;
        Ok(socket)
    }

    /// Sends `request` and waits for the next binary message: the reply. The socket stays
    /// open for the next RPC only when this returns `Ok`.
    async fn exchange(&mut self, request: &RaftRequest) -> Result<RaftReply, String> {
        let frame =
            postcard::to_allocvec(request).map_err(|e| format!("encoding the request: {e}"))?;
        let mut socket = match self.socket.take() {
            Some(socket) => socket,
            None => self.connect().await?,
        };
        socket
            .send(Message::Binary(frame.into()))
            .await
            .map_err(|e| format!("sending to {}: {e}", self.url))?;
        let reply = loop {
            match socket.next().await {
                Some(Ok(Message::Binary(bytes))) => {
                    break postcard::from_bytes::<RaftReply>(&bytes)
                        .map_err(|e| format!("a malformed reply from {}: {e}", self.url))?;
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                Some(Ok(Message::Text(_))) => {
                    return Err(format!("a text message from {}", self.url));
                }
                Some(Ok(Message::Close(frame))) => {
                    return Err(format!("{} closed the connection ({frame:?})", self.url));
                }
                Some(Err(e)) => return Err(format!("receiving from {}: {e}", self.url)),
                None => return Err(format!("{} closed the connection", self.url)),
            }
        };
        self.socket = Some(socket);
        Ok(reply)
    }

    /// One RPC within the option's hard TTL; any failure as unreachable.
    async fn call(
        &mut self,
        request: &RaftRequest,
        option: &RPCOption,
    ) -> Result<RaftReply, Unreachable<TypeConfig>> {
        let ttl = option.hard_ttl();
        match tokio::time::timeout(ttl, self.exchange(request)).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(e)) => Err(self.unreachable(&e)),
            // The abandoned exchange dropped the socket it had taken.
            Err(_) => Err(self.unreachable(&format!("no reply from {} within {ttl:?}", self.url))),
        }
    }

    /// The answer of the expected kind (`pick`) from `reply`. A remote error, or a reply
    /// of another kind, drops the socket (a fresh one may reach a restarted node) and is
    /// reported as unreachable.
    fn answer<T>(
        &mut self,
        reply: RaftReply,
        pick: impl FnOnce(RaftReply) -> Option<Result<T, String>>,
    ) -> Result<T, Unreachable<TypeConfig>> {
        match pick(reply) {
            Some(Ok(answer)) => Ok(answer),
            Some(Err(e)) => {
                self.socket = None;
                Err(self.unreachable(&format!("{} answered with an error: {e}", self.url)))
            }
            None => {
                self.socket = None;
                Err(self.unreachable(&format!("{} answered another request", self.url)))
            }
        }
    }

    fn unreachable(&self, why: &str) -> Unreachable<TypeConfig> {
        tracing::debug!(target = self.target, "raft rpc failed: {why}");
        Unreachable::from_string(format!("node {}: {why}", self.target))
    }
}

impl RaftNetworkV2<TypeConfig> for HttpConnection {
    type SnapshotData = Vec<u8>;

    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<TypeConfig>, RPCError<TypeConfig>> {
        let reply = self.call(&RaftRequest::Append(rpc), &option).await?;
        Ok(self.answer(reply, |r| match r {
            RaftReply::Append(a) => Some(a),
            _ => None,
        })?)
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RPCError<TypeConfig>> {
        let reply = self.call(&RaftRequest::Vote(rpc), &option).await?;
        Ok(self.answer(reply, |r| match r {
            RaftReply::Vote(a) => Some(a),
            _ => None,
        })?)
    }

    async fn full_snapshot(
        &mut self,
        vote: VoteOf<TypeConfig>,
        snapshot: SnapshotOf<TypeConfig, Vec<u8>>,
        cancel: impl Future<Output = ReplicationClosed> + OptionalSend + 'static,
        option: RPCOption,
    ) -> Result<SnapshotResponse<TypeConfig>, StreamingError<TypeConfig>> {
        let request = RaftRequest::Snapshot {
            vote,
            meta: snapshot.meta,
            data: snapshot.snapshot,
        };
        let reply = tokio::select! {
            // Dropping the RPC midway drops the socket it had taken.
            closed = cancel => return Err(StreamingError::Closed(closed)),
            reply = self.call(&request, &option) => reply?,
        };
        Ok(self.answer(reply, |r| match r {
            RaftReply::Snapshot(a) => Some(a),
            _ => None,
        })?)
    }

    async fn transfer_leader(
        &mut self,
        req: TransferLeaderRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<TransferLeaderResponse<TypeConfig>, RPCError<TypeConfig>> {
        let reply = self.call(&RaftRequest::Transfer(req), &option).await?;
        Ok(self.answer(reply, |r| match r {
            RaftReply::Transfer(a) => Some(a),
            _ => None,
        })?)
    }
}

/// Serves the Raft RPCs arriving on `socket` (an upgraded [`RAFT_PATH`] request) on
/// `raft`, one at a time, until the peer closes it. A message that is not a well-formed
/// [`RaftRequest`] closes the socket.
pub async fn serve(mut socket: WebSocket, raft: Raft) {
    while let Some(message) = socket.recv().await {
        let bytes = match message {
            Ok(ws::Message::Binary(bytes)) => bytes,
            Ok(ws::Message::Ping(_) | ws::Message::Pong(_)) => continue,
            Ok(ws::Message::Close(_)) => return,
            Ok(ws::Message::Text(_)) => {
                refuse(socket, "a text message").await;
                return;
            }
            Err(e) => {
                tracing::debug!("raft socket failed: {e}");
                return;
            }
        };
        let request = match postcard::from_bytes::<RaftRequest>(&bytes) {
            Ok(request) => request,
            Err(e) => {
                tracing::warn!("a malformed raft request ({} bytes): {e}", bytes.len());
                refuse(socket, "a malformed request").await;
                return;
            }
        };
        let reply = answer(&raft, request).await;
        let frame = match postcard::to_allocvec(&reply) {
            Ok(frame) => frame,
            Err(e) => {
                tracing::warn!("a raft reply did not encode: {e}");
                refuse(socket, "a reply did not encode").await;
                return;
            }
        };
        if let Err(e) = socket.send(ws::Message::Binary(frame.into())).await {
            tracing::debug!("raft socket failed: {e}");
            return;
        }
    }
}

/// Handles one request on `raft`.
async fn answer(raft: &Raft, request: RaftRequest) -> RaftReply {
    match request {
        RaftRequest::Append(rpc) => {
            RaftReply::Append(raft.append_entries(rpc).await.map_err(|e| e.to_string()))
        }
        RaftRequest::Vote(rpc) => RaftReply::Vote(raft.vote(rpc).await.map_err(|e| e.to_string())),
        RaftRequest::Snapshot { vote, meta, data } => {
            let snapshot = Snapshot {
                meta,
                snapshot: data,
            };
            RaftReply::Snapshot(
                raft.install_full_snapshot(vote, snapshot)
                    .await
                    .map_err(|e| e.to_string()),
            )
        }
        RaftRequest::Transfer(req) => RaftReply::Transfer(
            raft.handle_transfer_leader(req)
                .await
                .map_err(|e| e.to_string()),
        ),
    }
}

/// Closes `socket` as a protocol violation (the reason is short: a close frame's reason
/// must fit in 123 bytes).
async fn refuse(mut socket: WebSocket, why: &'static str) {
    let frame = ws::CloseFrame {
        code: ws::close_code::PROTOCOL,
        reason: why.into(),
    };
    // The socket is closed either way.
    let _ = socket.send(ws::Message::Close(Some(frame))).await;
}
