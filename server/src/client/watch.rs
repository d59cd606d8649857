//! [`Client::watch`]: the watch stream (`GET /v1/watch`), its JSON messages parsed.

use super::conn;
use super::{ClientError, Endpoint};
use crate::wire::Lease;
use futures_util::StreamExt;
use serde::Deserialize;
use tokio_tungstenite::tungstenite::Message;

/// One message of the watch stream.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum WatchMessage {
    /// Where the watch starts: the state at log index `index`.
    Snapshot {
        /// The applied log index.
        index: u64,
        /// The log time (ms).
        global_time_ms: u64,
        /// Every lease.
        leases: Vec<Lease>,
    },
    /// One committed batch.
    Batch {
        /// Its log index.
        index: u64,
        /// Its sequence number.
        seq: u64,
        /// The epoch of the leader that formed it.
        epoch: u64,
        /// Its operations, in the JS API's form.
        ops: Vec<serde_json::Value>,
        /// One result per operation (`{ok, token?, error?, message?, holder?}`).
        results: Vec<serde_json::Value>,
        /// The events it caused, in the JS API's form.
        events: Vec<serde_json::Value>,
    },
}

/// A running watch.
#[derive(Debug)]
pub struct Watch {
    socket: conn::Socket,
}

impl Watch {
    /// The next message, `None` when the node closed the watch (resume from the next
    /// index with [`super::Client::watch`]).
    ///
    /// # Errors
    ///
    /// When a message does not parse.
    pub async fn next(&mut self) -> Option<Result<WatchMessage, ClientError>> {
        loop {
            match self.socket.next().await? {
                Ok(Message::Text(text)) => {
                    return Some(
                        serde_json::from_str(&text)
                            .map_err(|e| ClientError::Protocol(format!("a watch message: {e}"))),
                    );
                }
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }
}

/// Opens a watch on the first seed that answers.
pub(super) async fn open(endpoint: &Endpoint, from: Option<u64>) -> Result<Watch, ClientError> {
    let path = match from {
        Some(from) => format!("/v1/watch?from={from}"),
        None => "/v1/watch".to_owned(),
    };
    let mut last = ClientError::Unreachable("no seed".into());
    for addr in &endpoint.seeds {
        match conn::open(endpoint, addr, &path).await {
            Ok(socket) => return Ok(Watch { socket }),
            Err(e) => last = e,
        }
    }
    Err(last)
}
