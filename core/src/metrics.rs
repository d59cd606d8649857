//! What the engine counts: queue depth, shedding and deadlines per lane, batches, latency
//! from request to answer, leadership changes.

use crate::lane::Lane;

/// Counters of one lane.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LaneMetrics {
    /// Requests waiting now.
    pub depth: usize,
    /// Requests accepted into the lane, ever.
    pub accepted: u64,
    /// Requests refused or evicted for lack of room.
    pub shed: u64,
    /// Requests answered `DeadlineExceeded`.
    pub deadline_exceeded: u64,
    /// Requests answered from a batch's result.
    pub applied: u64,
}

/// The engine's running totals. Read with [`Engine::metrics`](crate::Engine::metrics).
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    /// Per lane, in [`Lane::ALL`] order.
    pub lanes: [LaneMetrics; 4],
    /// Batches cut (including time-only batches).
    pub batches: u64,
    /// Operations in those batches (including `set_time`).
    pub batch_ops: u64,
    /// Encoded bytes of those batches.
    pub batch_bytes: u64,
    /// Batches committed.
    pub committed: u64,
    /// Batches abandoned by the log.
    pub abandoned: u64,
    /// Requests answered `Aborted`.
    pub aborted: u64,
    /// Requests refused as malformed.
    pub rejected: u64,
    /// Requests answered by sharing another request's operation.
    pub coalesced: u64,
    /// Holders deposed (lease expired, revoked or handed over).
    pub leadership_changes: u64,
    /// Milliseconds from request to answer, on the caller's clock.
    pub latency_ms: Latency,
}

impl Metrics {
    /// The counters of one lane.
    #[must_use]
    pub fn lane(&self, lane: Lane) -> &LaneMetrics {
        &self.lanes[lane.index()]
    }

    pub(crate) fn lane_mut(&mut self, lane: Lane) -> &mut LaneMetrics {
        &mut self.lanes[lane.index()]
    }

    /// Records one answer's latency.
    pub(crate) fn record_latency(&mut self, ms: u64) {
        self.latency_ms.record(ms);
    }

    /// A latency percentile in milliseconds (0 before any answer).
    #[must_use]
    pub fn latency_percentile(&self, q: f64) -> u64 {
        self.latency_ms.quantile(q)
    }
}

/// The longest latency recorded as itself (24 hours, in ms); longer ones count as this.
const LATENCY_MAX_MS: u64 = 24 * 3_600_000;
/// Values below this are recorded exactly; above, each power of two is split into
/// `SUB_BUCKETS / 2` equal steps: two significant decimal digits, like an HDR histogram
/// with 2 significant figures.
const SUB_BUCKETS: usize = 256;
/// `log2(SUB_BUCKETS / 2)`.
const HALF_MAGNITUDE: u32 = 7;

/// A latency distribution in milliseconds: counts in log-linear buckets with two
/// significant digits of resolution, from 1 ms to 24 hours, in a fixed 21 KiB.
///
/// It answers the same quantiles as an HDR histogram of the same resolution (a test
/// checks that against `hdrhistogram`), without that crate in the engine's dependencies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Latency {
    counts: Vec<u64>,
    total: u64,
}

impl Default for Latency {
    fn default() -> Latency {
        Latency {
            counts: vec![0; Latency::index(LATENCY_MAX_MS) + 1],
            total: 0,
        }
    }
}

impl Latency {
    /// The bucket of `ms`.
    fn index(ms: u64) -> usize {
        // The power of two above what the exact buckets hold (0 for them).
        let bucket = ((SUB_BUCKETS as u64 - 1) | ms).ilog2() - HALF_MAGNITUDE;
        let sub = usize::try_from(ms >> bucket).unwrap_or(usize::MAX);
        ((bucket as usize) << HALF_MAGNITUDE) + sub
    }

    /// The lowest and the highest value bucket `index` holds.
    fn range(index: usize) -> (u64, u64) {
        if index < SUB_BUCKETS {
            return (index as u64, index as u64);
        }
        let bucket = (index >> HALF_MAGNITUDE) - 1;
        let sub = (index & (SUB_BUCKETS / 2 - 1)) + SUB_BUCKETS / 2;
        let lowest = (sub as u64) << bucket;
        (lowest, lowest + (1u64 << bucket) - 1)
    }

    /// Records one latency; 0 counts as 1 ms and anything beyond 24 hours as 24 hours.
    pub fn record(&mut self, ms: u64) {
        self.counts[Latency::index(ms.clamp(1, LATENCY_MAX_MS))] += 1;
        self.total += 1;
    }

    /// How many latencies were recorded.
    #[must_use]
    pub fn len(&self) -> u64 {
        self.total
    }

    /// Whether nothing was recorded.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// The latency at quantile `q` (0.5 for the median, 0.99 for p99): the highest value
    /// of the bucket where the count reaches `q` of the total (the lowest for `q` = 0);
    /// 0 when empty.
    #[must_use]
    pub fn quantile(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((q.min(1.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, &n) in self.counts.iter().enumerate() {
            seen += n;
            if seen >= rank {
                let (lowest, highest) = Latency::range(i);
                return if q == 0.0 { lowest } else { highest };
            }
        }
        0
    }

    /// What was recorded since `earlier`, an older copy of the same distribution; `None`
    /// if `earlier` is not one (it holds a count this one lacks).
    #[must_use]
    pub fn since(&self, earlier: &Latency) -> Option<Latency> {
        let counts = self
            .counts
            .iter()
            .zip(&earlier.counts)
            .map(|(a, b)| a.checked_sub(*b))
            .collect::<Option<Vec<u64>>>()?;
        Some(Latency {
            counts,
            total: self.total.checked_sub(earlier.total)?,
        })
    }
}
