//! The engine's latency distribution answers what an HDR histogram of the same
//! resolution (1 ms to 24 h, 2 significant figures) answers, for any recorded values
//! (both count anything beyond 24 hours as 24 hours).
#![cfg(not(target_arch = "wasm32"))]

use hdrhistogram::Histogram;
use leasehold::metrics::Latency;
use proptest::prelude::*;

fn both(values: &[u64]) -> (Latency, Histogram<u64>) {
    let mut ours = Latency::default();
    let mut hdr = Histogram::<u64>::new_with_bounds(1, 24 * 3_600_000, 2).unwrap();
    for &v in values {
        ours.record(v);
        hdr.record(v.clamp(1, 24 * 3_600_000)).unwrap();
    }
    (ours, hdr)
}

const QUANTILES: [f64; 9] = [0.0, 0.01, 0.25, 0.5, 0.9, 0.99, 0.999, 1.0, 1.5];

proptest! {
    #[test]
    fn quantiles_equal_hdrhistogram(
        values in prop::collection::vec(
            prop_oneof![0u64..300, 0u64..20_000, 0u64..200_000_000, Just(u64::MAX)],
            1..400,
        )
    ) {
        let (ours, hdr) = both(&values);
        prop_assert_eq!(ours.len(), hdr.len());
        for q in QUANTILES {
            prop_assert_eq!(ours.quantile(q), hdr.value_at_quantile(q), "q = {}", q);
        }
    }

    #[test]
    fn since_is_what_was_recorded_after(
        first in prop::collection::vec(0u64..100_000, 0..200),
        then in prop::collection::vec(0u64..100_000, 1..200),
    ) {
        let (earlier, _) = both(&first);
        let all: Vec<u64> = first.iter().chain(&then).copied().collect();
        let (now, _) = both(&all);
        let (expected, _) = both(&then);
        prop_assert_eq!(now.since(&earlier), Some(expected));
        if !first.is_empty() {
            prop_assert_eq!(earlier.since(&now), None);
        }
    }
}

#[test]
fn empty_is_zero_and_small_values_are_exact() {
    let mut l = Latency::default();
    assert!(l.is_empty());
    assert_eq!(l.quantile(0.99), 0);
    for v in [3, 7, 255] {
        l.record(v);
    }
    assert_eq!(
        (l.quantile(0.0), l.quantile(0.5), l.quantile(1.0)),
        (3, 7, 255)
    );
    l.record(1_000);
    assert_eq!(
        l.quantile(1.0),
        1_003,
        "two significant digits above 255 ms"
    );
}
