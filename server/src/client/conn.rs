//! One binary-stream connection to one node ([`crate::wire`]): a task that owns the
//! WebSocket, packs the requests waiting to go into one frame, and routes answers back.
//! When the connection is lost with requests unanswered, it finds their fate from the
//! log through any node ([`resolve_lost`]) before answering them: never a guess.

use super::{ClientError, Endpoint};
use crate::wire::{self, ClientFrame, Leases, Member, ServerFrame, Status, WireOutcome};
use futures_util::{SinkExt, StreamExt};
use leasehold::{Batch, Op};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The most requests packed into one frame (with the longest names allowed, their batch
/// still fits in one frame).
const MAX_OPS_PER_FRAME: usize = 4096;

/// How long one node may take to resolve lost requests before the next is asked.
const RESOLVE_ATTEMPT: Duration = Duration::from_secs(5);

/// A WebSocket to a node.
pub(crate) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What a connection is asked.
pub(crate) enum Cmd {
    /// A request; its name (when it was sent) and its wire outcome (or why there is
    /// none) go to the sender.
    Op(Op, oneshot::Sender<Answered>),
    /// A leases read.
    Leases(
        Option<String>,
        Option<String>,
        oneshot::Sender<Result<Leases, ClientError>>,
    ),
    /// A status read.
    Status(oneshot::Sender<Result<Status, ClientError>>),
}

/// A request's name, if it was sent (its client and number), and what became of it.
pub(crate) type Answered = (Option<(u64, u64)>, Result<WireOutcome, ClientError>);

/// What the node said when the connection opened.
#[derive(Debug, Clone)]
pub(crate) struct Hello {
    /// The node's id.
    pub(crate) node: u64,
    /// The epoch it serves as leader.
    pub(crate) epoch: Option<u64>,
    /// The leader it knows of.
    pub(crate) leader: Option<u64>,
    /// Its applied index.
    pub(crate) applied: u64,
    /// The members.
    pub(crate) members: Vec<Member>,
}

/// A running connection: where to send commands, and what the node said.
pub(crate) struct Conn {
    pub(crate) tx: mpsc::UnboundedSender<Cmd>,
    pub(crate) hello: Hello,
}

/// Opens a WebSocket to `path` at `addr` with the endpoint's token.
pub(crate) async fn open(
    endpoint: &Endpoint,
    addr: &str,
    path: &str,
) -> Result<Socket, ClientError> {
    let url = format!("ws://{addr}{path}");
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|e| ClientError::Unreachable(format!("{url}: {e}")))?;
    if let Some(token) = &endpoint.token {
        let value = format!("Bearer {token}")
            .parse()
            .map_err(|_| ClientError::Protocol("the token is not a valid header value".into()))?;
        request.headers_mut().insert("authorization", value);
    }
    let config = WebSocketConfig::default()
        .max_message_size(Some(wire::MAX_FRAME_BYTES))
        .max_frame_size(Some(wire::MAX_FRAME_BYTES));
    let connect = tokio_tungstenite::connect_async_with_config(request, Some(config), true);
    match tokio::time::timeout(endpoint.connect_timeout, connect).await {
        Ok(Ok((socket, _))) => Ok(socket),
        Ok(Err(tokio_tungstenite::tungstenite::Error::Http(r))) if r.status() == 401 => {
            Err(ClientError::Unauthorized)
        }
        Ok(Err(e)) => Err(ClientError::Unreachable(format!("{url}: {e}"))),
        Err(_) => Err(ClientError::Unreachable(format!(
            "{url}: connect timed out"
        ))),
    }
}

async fn send(socket: &mut Socket, frame: &ClientFrame) -> Result<(), ClientError> {
    let bytes = wire::encode(frame).map_err(|e| ClientError::Protocol(e.to_string()))?;
    socket
        .send(Message::Binary(bytes.into()))
        .await
        .map_err(|e| ClientError::Unreachable(e.to_string()))
}

/// The next frame from the node, or `None` when the connection ended.
async fn receive(socket: &mut Socket) -> Option<Result<ServerFrame, ClientError>> {
    loop {
        match socket.next().await? {
            Ok(Message::Binary(bytes)) => {
                return Some(
                    wire::decode::<ServerFrame>(&bytes, "server frame")
                        .map_err(ClientError::Protocol),
                );
            }
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

/// Opens a stream connection to `addr` as client `client`: the node's hello.
pub(crate) async fn handshake(
    endpoint: &Endpoint,
    addr: &str,
    client: u64,
) -> Result<(Socket, Hello), ClientError> {
    let mut socket = open(endpoint, addr, "/v1/stream").await?;
    send(&mut socket, &ClientFrame::Hello { client }).await?;
    match tokio::time::timeout(endpoint.connect_timeout, receive(&mut socket)).await {
        Ok(Some(Ok(ServerFrame::Hello {
            node,
            epoch,
            leader,
            applied,
            members,
        }))) => Ok((
            socket,
            Hello {
                node,
                epoch,
                leader,
                applied,
                members,
            },
        )),
        Ok(Some(Ok(ServerFrame::Error { message }))) => Err(ClientError::Protocol(message)),
        Ok(Some(Err(e))) => Err(e),
        Ok(_) => Err(ClientError::Unreachable(format!(
            "{addr} closed the stream before its hello"
        ))),
        Err(_) => Err(ClientError::Unreachable(format!("{addr} sent no hello"))),
    }
}

/// Connects to `addr` and starts the connection's task.
pub(crate) async fn connect(endpoint: Arc<Endpoint>, addr: &str) -> Result<Conn, ClientError> {
    let client = rand::random::<u64>();
    let (socket, hello) = handshake(&endpoint, addr, client).await?;
    let (tx, rx) = mpsc::unbounded_channel();
    let task = Task {
        endpoint,
        client,
        epoch: hello.epoch,
        applied: hello.applied,
        members: hello.members.clone(),
        next: 1,
        next_id: 1,
        pending: HashMap::new(),
        reads: HashMap::new(),
    };
    tokio::spawn(task.run(socket, rx));
    Ok(Conn { tx, hello })
}

/// A read waiting for its answer.
enum Read {
    Leases(oneshot::Sender<Result<Leases, ClientError>>),
    Status(oneshot::Sender<Result<Status, ClientError>>),
}

/// The connection's task.
struct Task {
    endpoint: Arc<Endpoint>,
    client: u64,
    epoch: Option<u64>,
    /// The node's applied index as last heard.
    applied: u64,
    members: Vec<Member>,
    /// The next request number.
    next: u64,
    /// The next read id.
    next_id: u64,
    /// Requests sent and unanswered: where the answer goes and the applied index known
    /// when they were sent (their batch is after it).
    pending: HashMap<u64, (oneshot::Sender<Answered>, u64)>,
    reads: HashMap<u64, Read>,
}

impl Task {
    async fn run(mut self, mut socket: Socket, mut rx: mpsc::UnboundedReceiver<Cmd>) {
        loop {
            tokio::select! {
                cmd = rx.recv() => {
                    let Some(cmd) = cmd else { break };
                    let mut cmds = vec![cmd];
                    while cmds.len() < MAX_OPS_PER_FRAME {
                        match rx.try_recv() {
                            Ok(c) => cmds.push(c),
                            Err(_) => break,
                        }
                    }
                    if self.send_all(&mut socket, cmds).await.is_err() {
                        break;
                    }
                }
                frame = receive(&mut socket) => match frame {
                    Some(Ok(frame)) => self.handle(frame),
                    Some(Err(_)) | None => break,
                },
            }
        }
        rx.close();
        // Commands never sent did not apply: their senders learn so and retry.
        while let Ok(cmd) = rx.try_recv() {
            self.refuse(cmd);
        }
        self.lost().await;
    }

    fn refuse(&self, cmd: Cmd) {
        let gone = || ClientError::Disconnected;
        match cmd {
            Cmd::Op(_, reply) => drop(reply.send((None, Err(gone())))),
            Cmd::Leases(_, _, reply) => drop(reply.send(Err(gone()))),
            Cmd::Status(reply) => drop(reply.send(Err(gone()))),
        }
    }

    /// Sends the commands: the operations in one frame, reads one frame each.
    async fn send_all(&mut self, socket: &mut Socket, cmds: Vec<Cmd>) -> Result<(), ClientError> {
        let first = self.next;
        let mut ops = Vec::new();
        for cmd in cmds {
            match cmd {
                Cmd::Op(op, reply) => {
                    if let Err(e) = op.validate() {
                        let problem = e.problem.to_owned();
                        let rejected = WireOutcome::Rejected(e.field.into(), problem);
                        let _ = reply.send((None, Ok(rejected)));
                        continue;
                    }
                    self.pending.insert(self.next, (reply, self.applied));
                    self.next += 1;
                    ops.push(op);
                }
                Cmd::Leases(namespace, model, reply) => {
                    let id = self.read_id(Read::Leases(reply));
                    let frame = ClientFrame::Leases {
                        id,
                        namespace,
                        model,
                    };
                    send(socket, &frame).await?;
                }
                Cmd::Status(reply) => {
                    let id = self.read_id(Read::Status(reply));
                    send(socket, &ClientFrame::Status { id }).await?;
                }
            }
        }
        if ops.is_empty() {
            return Ok(());
        }
        let batch = Batch::new(0, ops)
            .encode()
            .map_err(|e| ClientError::Protocol(e.to_string()));
        let batch = match batch {
            Ok(b) => b,
            Err(e) => {
                // Validated operations always encode; answer rather than lose them.
                for n in first..self.next {
                    if let Some((reply, _)) = self.pending.remove(&n) {
                        let _ = reply.send((None, Err(e.clone())));
                    }
                }
                return Ok(());
            }
        };
        send(socket, &ClientFrame::Ops { first, batch }).await
    }

    fn read_id(&mut self, read: Read) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.reads.insert(id, read);
        id
    }

    fn handle(&mut self, frame: ServerFrame) {
        match frame {
            ServerFrame::Answers { applied, answers } => {
                self.applied = self.applied.max(applied);
                for (n, outcome) in answers {
                    if let Some((reply, _)) = self.pending.remove(&n) {
                        let _ = reply.send((Some((self.client, n)), Ok(outcome)));
                    }
                }
            }
            ServerFrame::Leases { id, leases } => {
                if let Some(Read::Leases(reply)) = self.reads.remove(&id) {
                    let _ = reply.send(leases.map_err(ClientError::Unavailable));
                }
            }
            ServerFrame::Status { id, status } => {
                if let Some(Read::Status(reply)) = self.reads.remove(&id) {
                    let _ = reply.send(Ok(status));
                }
            }
            ServerFrame::Hello { .. }
            | ServerFrame::Resolved { .. }
            | ServerFrame::Error { .. } => {}
        }
    }

    /// The connection is gone: reads fail (they changed nothing), and requests still
    /// unanswered are resolved from the log.
    async fn lost(mut self) {
        for (_, read) in self.reads.drain() {
            match read {
                Read::Leases(reply) => drop(reply.send(Err(ClientError::Disconnected))),
                Read::Status(reply) => drop(reply.send(Err(ClientError::Disconnected))),
            }
        }
        if self.pending.is_empty() {
            return;
        }
        let Some(epoch) = self.epoch else {
            // A node that does not lead answers every request itself, never applying it.
            for (n, (reply, _)) in self.pending.drain() {
                let _ = reply.send((Some((self.client, n)), Ok(WireOutcome::NotLeader(None))));
            }
            return;
        };
        let from = self.pending.values().map(|(_, f)| *f).min().unwrap_or(0);
        let mut requests: Vec<u64> = self.pending.keys().copied().collect();
        requests.sort_unstable();
        let result = resolve_lost(
            &self.endpoint,
            &self.members,
            self.client,
            &requests,
            epoch,
            from,
        )
        .await;
        match result {
            Ok(outcomes) => {
                for (n, outcome) in outcomes {
                    if let Some((reply, _)) = self.pending.remove(&n) {
                        let _ = reply.send((Some((self.client, n)), Ok(outcome)));
                    }
                }
                for (n, (reply, _)) in self.pending.drain() {
                    let _ = reply.send((Some((self.client, n)), Ok(WireOutcome::Aborted)));
                }
            }
            Err(e) => {
                for (n, (reply, _)) in self.pending.drain() {
                    let _ = reply.send((Some((self.client, n)), Err(e.clone())));
                }
            }
        }
    }
}

/// Asks the members, in turn and again, for the fate of `requests` of `client` sent to
/// the leader of `epoch` (their batches after log index `from`), until one can tell or
/// the endpoint's patience runs out.
pub(crate) async fn resolve_lost(
    endpoint: &Endpoint,
    members: &[Member],
    client: u64,
    requests: &[u64],
    epoch: u64,
    from: u64,
) -> Result<Vec<(u64, WireOutcome)>, ClientError> {
    let give_up = tokio::time::Instant::now() + endpoint.patience;
    let mut addrs: Vec<String> = members.iter().map(|m| m.addr.clone()).collect();
    for seed in &endpoint.seeds {
        if !addrs.contains(seed) {
            addrs.push(seed.clone());
        }
    }
    loop {
        for addr in &addrs {
            let why = match resolve_at(endpoint, addr, client, requests, epoch, from).await {
                Ok(Ok(outcomes)) => return Ok(outcomes),
                Ok(Err(why)) | Err(ClientError::Unreachable(why)) => why,
                Err(e) => e.to_string(),
            };
            if tokio::time::Instant::now() >= give_up {
                return Err(ClientError::Unresolved(format!("{addr}: {why}")));
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Asks the node at `addr` once.
async fn resolve_at(
    endpoint: &Endpoint,
    addr: &str,
    client: u64,
    requests: &[u64],
    epoch: u64,
    from: u64,
) -> Result<Result<Vec<(u64, WireOutcome)>, String>, ClientError> {
    let (mut socket, _) = handshake(endpoint, addr, rand::random()).await?;
    let frame = ClientFrame::Resolve {
        id: 1,
        client,
        requests: requests.to_vec(),
        epoch,
        from,
    };
    send(&mut socket, &frame).await?;
    let wait = RESOLVE_ATTEMPT + Duration::from_secs(1);
    loop {
        match tokio::time::timeout(wait, receive(&mut socket)).await {
            Ok(Some(Ok(ServerFrame::Resolved { outcomes, .. }))) => return Ok(outcomes),
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(e))) => return Err(e),
            Ok(None) | Err(_) => {
                return Err(ClientError::Unreachable(format!(
                    "{addr} did not answer the resolve"
                )));
            }
        }
    }
}
