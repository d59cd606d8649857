//! One request's answer on its way from the engine thread to the caller: the [`Reply`]
//! the engine thread fills once and the [`Pending`] the caller waits on.
//!
//! Both hold one slot (an answer behind a mutex, and a condition variable), allocated
//! once per request: filling it takes the lock once and wakes the caller only if it is
//! already asleep on it, so a batch's answers cost the engine thread no system call
//! for a caller that is busy elsewhere (a pipelining caller waits on one request at a
//! time, and finds the others answered). [`Reply::send`] hands the wake-up back
//! ([`Wake`]) so that the engine thread can fill every answer of a batch before it
//! wakes anyone: a caller woken early would run (on a busy machine, in the engine
//! thread's place), find its next answer not yet filled and sleep again. A reply
//! dropped unfilled (the driver stopped before taking the request) tells the caller so.

use super::error::RequestError;
use crate::outcome::Outcome;
use std::fmt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// What a slot holds.
enum State {
    /// No answer yet; `asleep` while the caller waits on the condition variable.
    Empty { asleep: bool },
    /// The answer, not yet taken.
    Answered(Outcome),
    /// No answer will come: the request was dropped (the driver had stopped), or the
    /// answer was taken.
    Closed,
}

/// The place one answer goes.
struct Slot {
    state: Mutex<State>,
    filled: Condvar,
}

impl Slot {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding the lock; a poisoned one still holds a state.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A new slot: the engine thread's side and the caller's.
pub(super) fn slot() -> (Reply, Pending) {
    let slot = Arc::new(Slot {
        state: Mutex::new(State::Empty { asleep: false }),
        filled: Condvar::new(),
    });
    (
        Reply {
            slot: Some(Arc::clone(&slot)),
        },
        Pending { slot },
    )
}

/// The engine thread's side: filled once with the answer, or dropped unfilled.
pub(super) struct Reply {
    /// `None` once filled.
    slot: Option<Arc<Slot>>,
}

impl Reply {
    /// Delivers the answer (the caller may have dropped its [`Pending`], which is its
    /// choice), and returns the wake-up the caller needs if it is asleep on it.
    #[must_use = "a caller asleep on its answer sleeps until woken"]
    pub(super) fn send(mut self, outcome: Outcome) -> Option<Wake> {
        self.fill(State::Answered(outcome))
    }

    fn fill(&mut self, filled: State) -> Option<Wake> {
        let slot = self.slot.take()?;
        let mut state = slot.lock();
        let asleep = matches!(*state, State::Empty { asleep: true });
        *state = filled;
        drop(state);
        asleep.then_some(Wake(slot))
    }
}

impl Drop for Reply {
    fn drop(&mut self) {
        if let Some(wake) = self.fill(State::Closed) {
            wake.wake();
        }
    }
}

/// A caller asleep on an answer that has been filled.
pub(super) struct Wake(Arc<Slot>);

impl Wake {
    /// Wakes the caller.
    pub(super) fn wake(self) {
        self.0.filled.notify_one();
    }
}

/// A request submitted with [`Driver::submit`](super::Driver::submit); its answer
/// arrives exactly once.
#[must_use = "a request's answer arrives through its Pending"]
pub struct Pending {
    slot: Arc<Slot>,
}

impl fmt::Debug for Pending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let answered = matches!(*self.slot.lock(), State::Answered(_));
        f.debug_struct("Pending")
            .field("answered", &answered)
            .finish()
    }
}

/// How a wait ended.
enum Waited {
    Answered(Outcome),
    /// The request was dropped: the driver had stopped before taking it.
    Stopped,
    TimedOut,
}

impl Pending {
    /// Blocks until the request's answer arrives.
    ///
    /// A request the driver never took because it had shut down is answered
    /// [`Outcome::Shed`] (not applied, safe to retry); use [`Pending::result`] to tell
    /// that case apart.
    pub fn wait(self) -> Outcome {
        match self.wait_until(None) {
            Waited::Answered(outcome) => outcome,
            Waited::Stopped | Waited::TimedOut => Outcome::Shed,
        }
    }

    /// Blocks until the answer arrives or `timeout` passes; on timeout the request is
    /// still pending and comes back to wait on again.
    ///
    /// # Errors
    ///
    /// The same `Pending`, when `timeout` passed first.
    pub fn wait_timeout(self, timeout: Duration) -> Result<Outcome, Pending> {
        // A timeout too long to represent is no timeout.
        match self.wait_until(Instant::now().checked_add(timeout)) {
            Waited::Answered(outcome) => Ok(outcome),
            Waited::Stopped => Ok(Outcome::Shed),
            Waited::TimedOut => Err(self),
        }
    }

    /// Blocks until the answer arrives and turns it into a result: the fencing token on
    /// success.
    ///
    /// # Errors
    ///
    /// Every non-successful [`Outcome`], and [`RequestError::Stopped`] when the driver
    /// had shut down before it took the request.
    pub fn result(self) -> Result<Option<u64>, RequestError> {
        match self.wait_until(None) {
            Waited::Answered(outcome) => RequestError::result_of(outcome),
            Waited::Stopped | Waited::TimedOut => Err(RequestError::Stopped),
        }
    }

    /// Waits for the slot to be filled, until `deadline` if there is one.
    fn wait_until(&self, deadline: Option<Instant>) -> Waited {
        let mut state = self.slot.lock();
        loop {
            match std::mem::replace(&mut *state, State::Closed) {
                State::Answered(outcome) => return Waited::Answered(outcome),
                State::Closed => return Waited::Stopped,
                State::Empty { .. } => {}
            }
            let Some(deadline) = deadline else {
                *state = State::Empty { asleep: true };
                state = self
                    .slot
                    .filled
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            };
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                *state = State::Empty { asleep: false };
                return Waited::TimedOut;
            }
            *state = State::Empty { asleep: true };
            state = self
                .slot
                .filled
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}
