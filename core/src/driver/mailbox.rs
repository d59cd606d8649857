//! The engine thread's mailbox: the requests every handle posts and the reports of the
//! log thread, which the engine thread takes in bulk.
//!
//! Posting is a lock-free push onto a channel (no lock a preempted poster could hold up
//! the others with, on a machine with more busy threads than cores), and a wake-up only
//! when the engine thread is asleep on the mailbox. Taking moves everything posted so
//! far into the engine thread's lists, so each time the engine thread wakes (one clock
//! reading) it serves every request posted since it last looked, however many client
//! threads posted them.

use crossbeam_channel::{Receiver, Sender, TryRecvError, select};
use std::time::Duration;

/// The most requests taken at once, so that the log's reports and the clock are looked
/// at between bursts however fast requests come.
const MAX_TAKE: usize = 8_192;

/// A new mailbox: the side that posts (cloneable) and the engine thread's.
pub(super) fn mailbox<R, D>() -> (Posts<R, D>, Inbox<R, D>) {
    let (requests_tx, requests_rx) = crossbeam_channel::unbounded();
    let (reports_tx, reports_rx) = crossbeam_channel::unbounded();
    (
        Posts {
            requests: requests_tx,
            reports: reports_tx,
        },
        Inbox {
            requests: Some(requests_rx),
            reports: reports_rx,
        },
    )
}

/// Where requests (`R`) and reports (`D`) are posted.
pub(super) struct Posts<R, D> {
    requests: Sender<R>,
    reports: Sender<D>,
}

impl<R, D> Clone for Posts<R, D> {
    fn clone(&self) -> Posts<R, D> {
        Posts {
            requests: self.requests.clone(),
            reports: self.reports.clone(),
        }
    }
}

impl<R, D> Posts<R, D> {
    /// Posts a request.
    ///
    /// # Errors
    ///
    /// The request, when the mailbox is closed (the engine thread is stopping or gone).
    pub(super) fn post(&self, request: R) -> Result<(), R> {
        self.requests.send(request).map_err(|e| e.0)
    }

    /// Posts a report; reports are taken even while stopping. A report the engine
    /// thread can no longer take (it has ended) is dropped.
    pub(super) fn report(&self, report: D) {
        let _ = self.reports.send(report);
    }
}

/// The engine thread's side of the mailbox.
pub(super) struct Inbox<R, D> {
    /// `None` once closed.
    requests: Option<Receiver<R>>,
    reports: Receiver<D>,
}

impl<R, D> Inbox<R, D> {
    /// Moves what was posted into `requests` and `reports` (which must be empty; at most
    /// [`MAX_TAKE`] requests), waiting for something first if nothing is there: up to
    /// `timeout`, or without a limit for `None`. Both come back empty when the wait timed
    /// out.
    pub(super) fn take(
        &mut self,
        requests: &mut Vec<R>,
        reports: &mut Vec<D>,
        timeout: Option<Duration>,
    ) {
        self.take_ready(requests, reports);
        if !(requests.is_empty() && reports.is_empty()) {
            return;
        }
        let never = crossbeam_channel::never();
        let posted = self.requests.as_ref().unwrap_or(&never);
        // Without a limit, an hour at a time: the caller looks again.
        let timeout = timeout.unwrap_or(Duration::from_secs(3_600));
        select! {
            recv(posted) -> request => match request {
                Ok(request) => requests.push(request),
                // Every poster is gone: nothing more will come.
                Err(_) => self.requests = None,
            },
            recv(self.reports) -> report => reports.extend(report),
            default(timeout) => return,
        }
        self.take_ready(requests, reports);
    }

    /// Moves what is already posted, without waiting.
    fn take_ready(&mut self, requests: &mut Vec<R>, reports: &mut Vec<D>) {
        reports.extend(self.reports.try_iter());
        if let Some(posted) = &self.requests {
            while requests.len() < MAX_TAKE {
                match posted.try_recv() {
                    Ok(request) => requests.push(request),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        self.requests = None;
                        break;
                    }
                }
            }
        }
    }

    /// Refuses requests from now on, dropping those posted but not taken.
    pub(super) fn close(&mut self) {
        self.requests = None;
    }
}
