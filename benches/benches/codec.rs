//! Micro benchmarks of the log format: encoding and decoding batches of 1,000 claims and
//! of 1,000 extensions with realistic keys (see `leasehold_benches::workload`).
//!
//! Throughput is reported per operation. Outputs are dropped inside the timed loop. Each
//! benchmark runs for at least a second (`--min-time` overrides it).

use divan::Bencher;
use divan::counter::ItemsCount;
use leasehold::Batch;
use leasehold_benches::workload;
use std::hint::black_box;

/// Operations per batch.
const OPS: usize = 1_000;

fn main() {
    divan::main();
}

fn claims() -> Batch {
    Batch::new(1, workload::claims(OPS))
}

fn extends() -> Batch {
    Batch::new(1, workload::extends(OPS))
}

fn bench_encode(bencher: Bencher, batch: &Batch) {
    bencher.counter(ItemsCount::new(OPS)).bench_local(|| {
        black_box(black_box(batch).encode().ok());
    });
}

fn bench_decode(bencher: Bencher, batch: &Batch) {
    let bytes = batch.encode().expect("a realistic batch encodes");
    assert_eq!(Batch::decode(&bytes).as_ref(), Ok(batch));
    bencher.counter(ItemsCount::new(OPS)).bench_local(|| {
        black_box(Batch::decode(black_box(&bytes)).ok());
    });
}

/// `Batch::encode` of 1,000 operations.
#[divan::bench_group]
mod encode {
    use super::*;

    /// 1,000 claims of leases `mysql-0..mysql-999`.
    #[divan::bench(min_time = 1)]
    fn claims(bencher: Bencher) {
        bench_encode(bencher, &super::claims());
    }

    /// 1,000 extensions of the same leases.
    #[divan::bench(min_time = 1)]
    fn extends(bencher: Bencher) {
        bench_encode(bencher, &super::extends());
    }
}

/// `Batch::decode` of 1,000 operations (untrusted input, every check on).
#[divan::bench_group]
mod decode {
    use super::*;

    /// 1,000 claims of leases `mysql-0..mysql-999`.
    #[divan::bench(min_time = 1)]
    fn claims(bencher: Bencher) {
        bench_decode(bencher, &super::claims());
    }

    /// 1,000 extensions of the same leases.
    #[divan::bench(min_time = 1)]
    fn extends(bencher: Bencher) {
        bench_decode(bencher, &super::extends());
    }
}
