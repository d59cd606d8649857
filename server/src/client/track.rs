//! [`Client::track`]: the core [`Tracker`] for one holder, driven over the network. The
//! tracker decides (claim, renew at half the duration, retry, back off, give up) and
//! the task performs: each request it asks for goes through the client, its outcome
//! comes back to the tracker, and its `Elected` / `Deposed` reach the caller.

use super::{Client, ClientError};
use leasehold::{Key, Outcome, RequestId, Tracker, TrackerConfig, TrackerOutput};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// A change of leadership reported by a [`Tracking`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Leadership {
    /// The holder leads `key` with fencing `token`: it may act as leader.
    Elected {
        /// The lease.
        key: Key,
        /// The grant's fencing token.
        token: u64,
    },
    /// The holder no longer leads `key` (or can no longer prove it): stop acting.
    Deposed {
        /// The lease.
        key: Key,
    },
}

/// A running [`Client::track`]: its leadership changes, in order. Dropping it stops the
/// tracker (the lease then lapses at its expiry); [`Tracking::stop`] also revokes it.
#[derive(Debug)]
pub struct Tracking {
    changes: mpsc::UnboundedReceiver<Leadership>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Tracking {
    /// The next leadership change, or `None` once the tracker stopped.
    pub async fn next(&mut self) -> Option<Leadership> {
        self.changes.recv().await
    }

    /// Stops tracking: the holder revokes its lease if it holds it, and the tracker ends.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for Tracking {
    fn drop(&mut self) {
        if self.stop.is_some() {
            self.task.abort();
        }
    }
}

/// Starts tracking `key` for `holder`.
pub(super) fn start(client: Client, key: Key, holder: &str, duration: Duration) -> Tracking {
    let (changes_tx, changes) = mpsc::unbounded_channel();
    let (stop, stop_rx) = tokio::sync::oneshot::channel();
    let mut tracker = Tracker::new(holder, TrackerConfig::with_duration(duration));
    tracker.track(client.now(), key.clone());
    let task = tokio::spawn(run(client, tracker, key, changes_tx, stop_rx));
    Tracking {
        changes,
        stop: Some(stop),
        task,
    }
}

/// The outcome the tracker is given for a request the client could not settle. Both
/// cases did not apply, or might not have: the tracker treats `aborted` as "did not
/// reach the log" and retries (an extension) or backs off (a claim).
fn settled(result: Result<Outcome, ClientError>) -> Outcome {
    result.unwrap_or(Outcome::Aborted)
}

async fn run(
    client: Client,
    mut tracker: Tracker,
    key: Key,
    changes: mpsc::UnboundedSender<Leadership>,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    let (answers_tx, mut answers) = mpsc::unbounded_channel::<(RequestId, Outcome)>();
    loop {
        let wake = loop {
            match tracker.poll_output() {
                TrackerOutput::Submit { id, op } => {
                    let (client, tx) = (client.clone(), answers_tx.clone());
                    tokio::spawn(async move {
                        let _ = tx.send((id, settled(client.request(op).await)));
                    });
                }
                TrackerOutput::Elected { key, token } => {
                    let _ = changes.send(Leadership::Elected { key, token });
                }
                TrackerOutput::Deposed { key } => {
                    let _ = changes.send(Leadership::Deposed { key });
                }
                TrackerOutput::Timeout(at) => break at,
            }
        };
        let sleep =
            Duration::from_millis(wake.as_millis().saturating_sub(client.now().as_millis()))
                .min(Duration::from_secs(3600));
        tokio::select! {
            Some((id, outcome)) = answers.recv() => tracker.handle_answer(client.now(), id, &outcome),
            () = tokio::time::sleep(sleep) => tracker.handle_timeout(client.now()),
            _ = &mut stop => break,
        }
    }
    // Stopping: revoke if leading, and report the end of leadership.
    if let Some(_token) = tracker.token(&key) {
        let holder = tracker.holder().to_string();
        let _ = client.revoke(key.clone(), &holder).await;
        let _ = changes.send(Leadership::Deposed { key });
    }
}
