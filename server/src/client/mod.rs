//! The Rust client of the lease service: every operation over the binary stream
//! ([`crate::wire`]), `leases`, `status`, `watch`, and [`Client::track`], which runs the
//! core [`leasehold::Tracker`] for a holder over the network.
//!
//! A [`Client`] keeps one stream connection to the leader (found from any member it is
//! given) and packs concurrent requests into shared frames, so one client carries
//! hundreds of thousands of requests a second. Every request gets one definitive
//! [`Outcome`]: when the leader falls with requests in flight, the client finds their
//! fate in the log through the surviving nodes (applied, with the result, or `aborted`
//! because it never applied); a request refused by a node that does not lead is sent
//! again to the leader. Only when no node can tell within the client's patience does a
//! request end in [`ClientError::Unresolved`].
//!
//! ```no_run
//! # async fn run() -> Result<(), leasehold_server::client::ClientError> {
//! use leasehold::Key;
//! use leasehold_server::client::{Client, ClientOptions, Leadership};
//! use std::time::Duration;
//!
//! let client = Client::connect(&["127.0.0.1:7401"], ClientOptions::default()).await?;
//! let key = Key::new("application-leadership", "model-1", "mysql");
//! let outcome = client.claim(key.clone(), "mysql/0", Duration::from_secs(60)).await?;
//! assert!(outcome.is_ok());
//! let mut tracking = client.track(key, "mysql/1", Duration::from_secs(60));
//! while let Some(change) = tracking.next().await {
//!     match change {
//!         Leadership::Elected { token, .. } => println!("leading with token {token}"),
//!         Leadership::Deposed { .. } => println!("stop acting as leader"),
//!     }
//! }
//! # Ok(()) }
//! ```

mod conn;
mod track;
mod watch;

pub use track::{Leadership, Tracking};
pub use watch::{Watch, WatchMessage};

use crate::wire::{Leases, Status, WireOutcome};
use conn::{Cmd, Conn};
use leasehold::{Key, Op, Outcome, Time};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, oneshot};

/// Why a client call has no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientError {
    /// No member could be reached (nothing was applied).
    Unreachable(String),
    /// The service refused the token.
    Unauthorized,
    /// No leader served the request within the client's patience (it did not apply).
    NoLeader,
    /// The connection closed before the call was sent (it did not apply).
    Disconnected,
    /// A read could not be served: why.
    Unavailable(String),
    /// The request was sent, its answer lost, and no node could tell its fate within
    /// the client's patience: read the lease before acting.
    Unresolved(String),
    /// The node broke the protocol.
    Protocol(String),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Unreachable(why) => write!(f, "no member could be reached: {why}"),
            ClientError::Unauthorized => write!(f, "the service refused the token"),
            ClientError::NoLeader => write!(f, "no leader served the request in time"),
            ClientError::Disconnected => {
                write!(f, "the connection closed before the call was sent")
            }
            ClientError::Unavailable(why) => write!(f, "the read could not be served: {why}"),
            ClientError::Unresolved(why) => write!(f, "the request's fate is unknown: {why}"),
            ClientError::Protocol(why) => write!(f, "protocol error: {why}"),
        }
    }
}

impl std::error::Error for ClientError {}

/// How a [`Client`] connects.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The bearer token, when the service requires one.
    pub token: Option<String>,
    /// How long one connection attempt may take (2 s).
    pub connect_timeout: Duration,
    /// How long a request may wait for a serving leader, or for the fate of a lost
    /// answer to be found, before it fails (30 s).
    pub patience: Duration,
}

impl Default for ClientOptions {
    fn default() -> ClientOptions {
        ClientOptions {
            token: None,
            connect_timeout: Duration::from_secs(2),
            patience: Duration::from_secs(30),
        }
    }
}

/// Where and how a client connects; shared by its connections.
#[derive(Debug)]
pub(crate) struct Endpoint {
    pub(crate) seeds: Vec<String>,
    pub(crate) token: Option<String>,
    pub(crate) connect_timeout: Duration,
    pub(crate) patience: Duration,
}

/// A client of the lease service. Cheap to clone; clones share the connection.
#[derive(Clone)]
pub struct Client {
    endpoint: Arc<Endpoint>,
    conn: Arc<Mutex<Option<Conn>>>,
    base: tokio::time::Instant,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("seeds", &self.endpoint.seeds)
            .finish_non_exhaustive()
    }
}

/// A request's one outcome with the names it was sent under ([`Client::request_traced`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Traced {
    /// The outcome, or why there is none.
    pub outcome: Result<Outcome, ClientError>,
    /// `(client, number)` of each time the request was sent, in order: every one but the
    /// last was refused by a node that did not lead (so never applied); the last one's
    /// batch, if any, records it.
    pub names: Vec<(u64, u64)>,
}

/// What to do after one attempt at a request.
enum Attempt {
    Done(Outcome),
    /// It did not apply: try the leader (if known).
    Again(Option<u64>),
}

impl Client {
    /// A client of the cluster whose members include `seeds` (`host:port`), connected
    /// to its leader.
    ///
    /// # Errors
    ///
    /// When no seed can be reached, the token is refused, or no leader is found within
    /// the patience.
    pub async fn connect(seeds: &[&str], options: ClientOptions) -> Result<Client, ClientError> {
        let client = Client {
            endpoint: Arc::new(Endpoint {
                seeds: seeds.iter().map(|s| (*s).to_owned()).collect(),
                token: options.token,
                connect_timeout: options.connect_timeout,
                patience: options.patience,
            }),
            conn: Arc::new(Mutex::new(None)),
            base: tokio::time::Instant::now(),
        };
        client.leader_conn(None).await?;
        Ok(client)
    }

    /// The command channel of a connection to the serving leader, connecting (again)
    /// when there is none, it closed, or it is not to `leader` when one is named.
    async fn leader_conn(
        &self,
        leader: Option<u64>,
    ) -> Result<tokio::sync::mpsc::UnboundedSender<Cmd>, ClientError> {
        let mut slot = self.conn.lock().await;
        if let Some(c) = slot.as_ref()
            && !c.tx.is_closed()
            && c.hello.epoch.is_some()
            && leader.is_none_or(|l| l == c.hello.node)
        {
            return Ok(c.tx.clone());
        }
        let give_up = tokio::time::Instant::now() + self.endpoint.patience;
        let mut hint = leader.or_else(|| slot.as_ref().and_then(|c| c.hello.leader));
        let mut members = slot
            .as_ref()
            .map(|c| c.hello.members.clone())
            .unwrap_or_default();
        let mut last = ClientError::NoLeader;
        *slot = None;
        loop {
            let mut addrs: Vec<String> = Vec::new();
            if let Some(addr) = hint.and_then(|h| members.iter().find(|m| m.id == h)) {
                addrs.push(addr.addr.clone());
            }
            addrs.extend(members.iter().map(|m| m.addr.clone()));
            addrs.extend(self.endpoint.seeds.iter().cloned());
            addrs.dedup();
            for addr in &addrs {
                match conn::connect(Arc::clone(&self.endpoint), addr).await {
                    Ok(c) if c.hello.epoch.is_some() => {
                        let tx = c.tx.clone();
                        *slot = Some(c);
                        return Ok(tx);
                    }
                    Ok(c) => {
                        hint = c.hello.leader;
                        if !c.hello.members.is_empty() {
                            members = c.hello.members.clone();
                        }
                        if hint.is_some() {
                            break;
                        }
                    }
                    Err(ClientError::Unauthorized) => return Err(ClientError::Unauthorized),
                    Err(e) => last = e,
                }
            }
            if tokio::time::Instant::now() >= give_up {
                return Err(match last {
                    ClientError::Unreachable(_) => last,
                    _ => ClientError::NoLeader,
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Submits `op` and waits for its one definitive outcome.
    ///
    /// # Errors
    ///
    /// [`ClientError::NoLeader`] or [`ClientError::Unreachable`] when no leader took it
    /// in time (it did not apply); [`ClientError::Unresolved`] when its answer was lost
    /// and no node could tell its fate in time.
    pub async fn request(&self, op: Op) -> Result<Outcome, ClientError> {
        self.request_traced(op).await.outcome
    }

    /// [`Client::request`], with the names the request was sent under (for a checker
    /// that finds requests in the log by their names).
    pub async fn request_traced(&self, op: Op) -> Traced {
        let give_up = tokio::time::Instant::now() + self.endpoint.patience;
        let mut leader = None;
        let mut names = Vec::new();
        loop {
            match self.attempt(op.clone(), leader, &mut names).await {
                Ok(Attempt::Done(outcome)) => {
                    return Traced {
                        outcome: Ok(outcome),
                        names,
                    };
                }
                Ok(Attempt::Again(l)) => leader = l,
                Err(e) => {
                    return Traced {
                        outcome: Err(e),
                        names,
                    };
                }
            }
            if tokio::time::Instant::now() >= give_up {
                return Traced {
                    outcome: Err(ClientError::NoLeader),
                    names,
                };
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn attempt(
        &self,
        op: Op,
        leader: Option<u64>,
        names: &mut Vec<(u64, u64)>,
    ) -> Result<Attempt, ClientError> {
        let tx = self.leader_conn(leader).await?;
        let (reply, answer) = oneshot::channel();
        if tx.send(Cmd::Op(op, reply)).is_err() {
            return Ok(Attempt::Again(None));
        }
        let answer = answer.await.map(|(name, result)| {
            names.extend(name);
            result
        });
        match answer {
            Ok(Ok(outcome)) => match WireOutcome::into_outcome(outcome) {
                Ok(outcome) => Ok(Attempt::Done(outcome)),
                Err(leader) => {
                    self.forget(&tx).await;
                    Ok(Attempt::Again(leader))
                }
            },
            Ok(Err(ClientError::Disconnected)) | Err(_) => Ok(Attempt::Again(None)),
            Ok(Err(e)) => Err(e),
        }
    }

    /// Drops the current connection if it is the one behind `tx`.
    async fn forget(&self, tx: &tokio::sync::mpsc::UnboundedSender<Cmd>) {
        let mut slot = self.conn.lock().await;
        if slot.as_ref().is_some_and(|c| c.tx.same_channel(tx)) {
            *slot = None;
        }
    }

    /// Claims `key` for `holder` for `duration`.
    ///
    /// # Errors
    ///
    /// As [`Client::request`].
    pub async fn claim(
        &self,
        key: Key,
        holder: &str,
        duration: Duration,
    ) -> Result<Outcome, ClientError> {
        self.request(Op::claim(key, holder, duration)).await
    }

    /// Extends `holder`'s lease on `key` to `duration` from now.
    ///
    /// # Errors
    ///
    /// As [`Client::request`].
    pub async fn extend(
        &self,
        key: Key,
        holder: &str,
        duration: Duration,
    ) -> Result<Outcome, ClientError> {
        self.request(Op::extend(key, holder, duration)).await
    }

    /// Revokes `holder`'s lease on `key`.
    ///
    /// # Errors
    ///
    /// As [`Client::request`].
    pub async fn revoke(&self, key: Key, holder: &str) -> Result<Outcome, ClientError> {
        self.request(Op::revoke(key, holder)).await
    }

    /// Pins `key` for `entity` (until `until` in log time, if given), saying why.
    ///
    /// # Errors
    ///
    /// As [`Client::request`].
    pub async fn pin(
        &self,
        key: Key,
        entity: &str,
        until: Option<Time>,
        reason: Option<&str>,
    ) -> Result<Outcome, ClientError> {
        let op = Op::Pin {
            key,
            entity: entity.into(),
            until,
            reason: reason.map(Into::into),
        };
        self.request(op).await
    }

    /// Removes `entity`'s pin of `key`.
    ///
    /// # Errors
    ///
    /// As [`Client::request`].
    pub async fn unpin(&self, key: Key, entity: &str) -> Result<Outcome, ClientError> {
        self.request(Op::unpin(key, entity)).await
    }

    /// Hands `key` from `from` to `to` for `duration`.
    ///
    /// # Errors
    ///
    /// As [`Client::request`].
    pub async fn handover(
        &self,
        key: Key,
        from: &str,
        to: &str,
        duration: Duration,
    ) -> Result<Outcome, ClientError> {
        self.request(Op::handover(key, from, to, duration)).await
    }

    /// The leases of `namespace`/`model` (either may be left out), read linearizably.
    ///
    /// # Errors
    ///
    /// When no leader could serve the read.
    pub async fn leases(
        &self,
        namespace: Option<&str>,
        model: Option<&str>,
    ) -> Result<Leases, ClientError> {
        let tx = self.leader_conn(None).await?;
        let (reply, answer) = oneshot::channel();
        let cmd = Cmd::Leases(
            namespace.map(str::to_owned),
            model.map(str::to_owned),
            reply,
        );
        tx.send(cmd).map_err(|_| ClientError::Disconnected)?;
        answer.await.map_err(|_| ClientError::Disconnected)?
    }

    /// The status of the node the client is connected to.
    ///
    /// # Errors
    ///
    /// When it cannot be reached.
    pub async fn status(&self) -> Result<Status, ClientError> {
        let tx = self.leader_conn(None).await?;
        let (reply, answer) = oneshot::channel();
        tx.send(Cmd::Status(reply))
            .map_err(|_| ClientError::Disconnected)?;
        answer.await.map_err(|_| ClientError::Disconnected)?
    }

    /// Watches committed batches (from log index `from`, or from the current state).
    ///
    /// # Errors
    ///
    /// When no member can be reached.
    pub async fn watch(&self, from: Option<u64>) -> Result<Watch, ClientError> {
        watch::open(&self.endpoint, from).await
    }

    /// Runs the core [`leasehold::Tracker`] for `holder` on `key` with leases of
    /// `duration` (renewed after half of it): claims, renews, and reports
    /// [`Leadership`] changes until the [`Tracking`] is stopped or dropped.
    #[must_use]
    pub fn track(&self, key: Key, holder: &str, duration: Duration) -> Tracking {
        track::start(self.clone(), key, holder, duration)
    }

    /// Milliseconds since the client was made: the clock its trackers run on.
    fn now(&self) -> Time {
        Time::from_millis(u64::try_from(self.base.elapsed().as_millis()).unwrap_or(u64::MAX))
    }
}
