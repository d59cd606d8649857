//! The node's time source: the monotonic clock since the node started, shifted by a skew
//! that the fault-injection routes can set (`POST /debug/clock`, see [`crate::api`]).
//!
//! The skew may be changed at any moment, so the time read may jump ahead or back. That
//! is safe: the engine never lets its own time go backwards (it keeps the latest time it
//! was given and ignores earlier ones), so after a backward jump the log time stands still
//! until the shifted clock catches up again, and `globalTimeMs` never goes backwards. The
//! clock itself only clamps at zero (a skew further behind than the node's age).

use leasehold::Time;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Instant;

/// A node's clock: milliseconds since it was made, plus a settable skew. Cloning gives
/// another handle to the same clock (and skew).
#[derive(Debug, Clone)]
pub struct Clock {
    base: Instant,
    skew_ms: Arc<AtomicI64>,
}

impl Default for Clock {
    fn default() -> Clock {
        Clock::new()
    }
}

impl Clock {
    /// A clock starting at zero now, without skew.
    #[must_use]
    pub fn new() -> Clock {
        Clock {
            base: Instant::now(),
            skew_ms: Arc::new(AtomicI64::new(0)),
        }
    }

    /// The time now: the milliseconds since the clock was made plus the skew, saturating
    /// at zero and at [`Time::MAX`].
    #[must_use]
    pub fn now(&self) -> Time {
        let elapsed = i64::try_from(self.base.elapsed().as_millis()).unwrap_or(i64::MAX);
        let shifted = elapsed.saturating_add(self.skew_ms());
        Time::from_millis(u64::try_from(shifted).unwrap_or(0))
    }

    /// The skew in ms (positive: ahead; negative: behind).
    #[must_use]
    pub fn skew_ms(&self) -> i64 {
        self.skew_ms.load(Ordering::Acquire)
    }

    /// From now on, the clock reads `skew_ms` ms ahead of (or, negative, behind) the
    /// unskewed time. Replaces any earlier skew; it may move the clock backwards.
    pub fn set_skew_ms(&self, skew_ms: i64) {
        self.skew_ms.store(skew_ms, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_skew_moves_the_clock_either_way_without_panicking() {
        let clock = Clock::new();
        clock.set_skew_ms(10_000);
        assert!(clock.now().as_millis() >= 10_000);
        clock.set_skew_ms(-10_000);
        assert_eq!(clock.now(), Time::ZERO);
        clock.set_skew_ms(i64::MAX);
        assert!(clock.now().as_millis() >= u64::try_from(i64::MAX).unwrap_or(0));
        clock.set_skew_ms(i64::MIN);
        assert_eq!(clock.now(), Time::ZERO);
    }
}
