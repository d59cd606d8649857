//! Log time: milliseconds since the log began, carried by the log itself.

use core::fmt;
use core::ops::Add;
use std::time::Duration;

/// A point in log time, in whole milliseconds since the log began.
///
/// `core` never reads a clock: every `Time` comes from the caller or from the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Time(u64);

impl Time {
    /// The start of the log.
    pub const ZERO: Time = Time(0);
    /// The latest representable time.
    pub const MAX: Time = Time(u64::MAX);

    /// A time `ms` milliseconds after the start of the log.
    #[must_use]
    pub const fn from_millis(ms: u64) -> Time {
        Time(ms)
    }

    /// Milliseconds since the start of the log.
    #[must_use]
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// `self + d`, or `None` if that does not fit.
    #[must_use]
    pub fn checked_add(self, d: Duration) -> Option<Time> {
        let ms = u64::try_from(d.as_millis()).ok()?;
        self.0.checked_add(ms).map(Time)
    }

    /// `self + d`, saturating at [`Time::MAX`].
    #[must_use]
    pub fn saturating_add(self, d: Duration) -> Time {
        self.checked_add(d).unwrap_or(Time::MAX)
    }

    /// How long after `earlier` this time is (zero if it is not later).
    #[must_use]
    pub fn saturating_since(self, earlier: Time) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Time {
    type Output = Time;
    /// Saturating addition; see [`Time::checked_add`] for the checked form.
    fn add(self, d: Duration) -> Time {
        self.saturating_add(d)
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03}s", self.0 / 1000, self.0 % 1000)
    }
}

/// Whole milliseconds of a duration, or `None` when it does not fit in a `u64`.
pub(crate) fn duration_millis(d: Duration) -> Option<u64> {
    u64::try_from(d.as_millis()).ok()
}
