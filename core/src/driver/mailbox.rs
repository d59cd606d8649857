//! The engine thread's mailbox: the requests every handle posts and the reports of the
//! log thread, in two lists behind one lock, which the engine thread takes whole.
//!
//! Posting is a push under the lock, and a wake-up only when the engine thread is
//! asleep on the mailbox; taking swaps the lists for the engine thread's empty ones,
//! so each wake-up of the engine thread (one lock, one clock read) serves every request
//! posted since the last, however many client threads posted them, and the lists'
//! memory is reused.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// What the mailbox holds.
struct Lists<R, D> {
    requests: Vec<R>,
    reports: Vec<D>,
    /// The engine thread waits on the condition variable.
    asleep: bool,
    /// Requests are refused: the engine thread is stopping.
    closed: bool,
}

/// Requests (`R`) and reports (`D`) for the engine thread.
pub(super) struct Mailbox<R, D> {
    lists: Mutex<Lists<R, D>>,
    posted: Condvar,
}

impl<R, D> Mailbox<R, D> {
    /// An empty, open mailbox.
    pub(super) fn new() -> Mailbox<R, D> {
        Mailbox {
            lists: Mutex::new(Lists {
                requests: Vec::new(),
                reports: Vec::new(),
                asleep: false,
                closed: false,
            }),
            posted: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Lists<R, D>> {
        // Nothing panics while holding the lock; a poisoned one still holds the lists.
        self.lists.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Posts a request.
    ///
    /// # Errors
    ///
    /// The request, when the mailbox is closed (the engine thread is stopping or gone).
    /// The caller drops it, outside the lock.
    pub(super) fn post(&self, request: R) -> Result<(), R> {
        let mut lists = self.lock();
        if lists.closed {
            return Err(request);
        }
        lists.requests.push(request);
        self.wake(lists);
        Ok(())
    }

    /// Posts a report; reports are taken even while stopping.
    pub(super) fn report(&self, report: D) {
        let mut lists = self.lock();
        lists.reports.push(report);
        self.wake(lists);
    }

    fn wake(&self, mut lists: MutexGuard<'_, Lists<R, D>>) {
        if lists.asleep {
            lists.asleep = false;
            drop(lists);
            self.posted.notify_one();
        }
    }

    /// Moves everything posted into `requests` and `reports` (which must be empty),
    /// waiting for something first if nothing is there: up to `timeout`, or without a
    /// limit for `None`. Both come back empty when the wait timed out.
    pub(super) fn take(
        &self,
        requests: &mut Vec<R>,
        reports: &mut Vec<D>,
        timeout: Option<Duration>,
    ) {
        let mut lists = self.lock();
        if lists.requests.is_empty() && lists.reports.is_empty() {
            lists.asleep = true;
            lists = match timeout {
                None => self
                    .posted
                    .wait_while(lists, |l| l.asleep)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(timeout) => {
                    self.posted
                        .wait_timeout_while(lists, timeout, |l| l.asleep)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
            lists.asleep = false;
        }
        std::mem::swap(&mut lists.requests, requests);
        std::mem::swap(&mut lists.reports, reports);
    }

    /// Refuses requests from now on and returns those posted but not taken, for the
    /// caller to drop outside the lock (dropping one may drop a handle, which posts).
    pub(super) fn close(&self) -> Vec<R> {
        let mut lists = self.lock();
        lists.closed = true;
        std::mem::take(&mut lists.requests)
    }
}
