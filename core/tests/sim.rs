//! The simulator: determinism (natively and in wasm), the scenarios' claims at a small
//! scale, and the invariant checker catching a break.
#![cfg(feature = "sim")]

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use leasehold::sim::{Action, Checker, Mode, Params, SCENARIOS, Scenario, Simulation, Stats};
use leasehold::{Event, Key, Time};

fn params(name: &str, set: &[(&str, &str)]) -> Params {
    let mut p = Scenario::named(name).expect("a preset").params;
    for (k, v) in set {
        p.set(k, v).expect("a valid override");
    }
    p
}

fn run(name: &str, set: &[(&str, &str)], ms: u64) -> (Stats, Simulation) {
    let mut sim = Simulation::new(name, params(name, set)).expect("a valid simulation");
    sim.run_for(ms);
    (sim.stats(), sim)
}

#[test]
fn the_same_seed_gives_the_same_run_and_another_seed_another() {
    let a = run("ps45", &[("leases", "200"), ("seed", "7")], 90_000).0;
    let b = run("ps45", &[("leases", "200"), ("seed", "7")], 90_000).0;
    let c = run("ps45", &[("leases", "200"), ("seed", "8")], 90_000).0;
    assert_eq!(a, b);
    assert_ne!(
        (a.requests, a.p50_latency_ms, a.log_bytes),
        (c.requests, c.p50_latency_ms, c.log_bytes)
    );
}

#[test]
fn a_seeded_run_reaches_the_golden_totals_on_every_target() {
    let s = run("fencing-race", &[("seed", "3")], 120_000).0;
    let got = (
        s.requests,
        s.ops,
        s.log_bytes,
        s.leader_changes,
        s.stale_writes,
    );
    assert_eq!(
        got, GOLDEN,
        "this target's run differs from the recorded one"
    );
}

/// Recorded from a native run; a wasm32 run must reach exactly the same.
const GOLDEN: (u64, u64, u64, u64, u64) = (363, 701, 6_962, 4, 4);

#[test]
fn every_scenario_runs_a_few_seconds_without_breaking_an_invariant() {
    for name in SCENARIOS {
        let small = [("leases", "300"), ("joinSpreadMs", "1000")];
        let (s, sim) = run(name, &small, 8_000);
        assert_eq!(s.invariant_violations, 0, "{name}: {:?}", s.violation);
        assert!(s.requests > 0, "{name} did nothing");
        assert!(!sim.engine().fsm().is_empty(), "{name} elected nobody");
    }
    assert_eq!(SCENARIOS.len(), 7);
}

#[test]
fn ps45_elects_one_leader_per_lease_and_renews_without_changes() {
    let (s, sim) = run("ps45", &[("leases", "100")], 200_000);
    assert_eq!(
        sim.engine().fsm().len(),
        103,
        "100 leases and 3 singular ones"
    );
    assert_eq!(s.leader_changes, 0);
    assert_eq!(s.extend_failed, 0);
    assert!(
        s.extend_ok >= 103 * 5,
        "renewed every 30 s: {}",
        s.extend_ok
    );
    assert!(s.singular_ok > 0 && s.singular_failed == 0);
}

#[test]
fn batching_writes_a_few_entries_where_per_op_writes_one_per_operation() {
    let set = [("leases", "3000"), ("seconds", "20")];
    let batched = run("claimer-abuse", &set, 20_000).0;
    let per_op = run(
        "claimer-abuse",
        &[set[0], set[1], ("mode", "per-op")],
        20_000,
    )
    .0;
    assert_eq!(batched.mode, "batched");
    assert_eq!(per_op.mode, "per-op");
    assert!(
        batched.entries_per_second <= 11.0,
        "{}",
        batched.entries_per_second
    );
    assert_eq!(batched.spurious_leader_changes, 0);
    assert!(
        batched.extend_success() >= 0.9999,
        "{}",
        batched.extend_success()
    );
    assert!(
        per_op.log_entries > 50 * batched.log_entries,
        "{} vs {}",
        per_op.log_entries,
        batched.log_entries
    );
    assert!(per_op.bytes_per_op > batched.bytes_per_op);
}

#[test]
fn staged_overload_sheds_only_claims_and_keeps_every_leader() {
    // A tenth of the load against a tenth of the log, for the whole 25 minutes.
    let set = [
        ("leases", "1220"),
        ("opsPerSec", "300"),
        ("entriesPerSec", "100"),
        ("maxBatchOps", "100"),
        ("queueCapacity", "1000"),
    ];
    let (s, _) = run("staged-overload", &set, 25 * 60_000);
    assert_eq!(s.invariant_violations, 0, "{:?}", s.violation);
    assert!(
        s.claims_shed + s.deadline_exceeded > 0,
        "the steps overload the log: {s:?}"
    );
    assert_eq!(s.others_shed, 0, "only claims are shed");
    assert!(s.extend_success() >= 0.999, "{}", s.extend_success());
    assert_eq!(s.singular_failed, 0);
    assert_eq!(s.spurious_leader_changes, 0);
    assert!(
        s.recovery_ms.is_some_and(|ms| ms <= 200),
        "back within a batch: {:?}",
        s.recovery_ms
    );
}

#[test]
fn the_restart_herd_keeps_every_leader_and_coalesces_claims() {
    let (s, _) = run("restart-herd", &[("leases", "300")], 90_000);
    assert_eq!(s.leader_changes, 0);
    assert!(
        s.coalesced >= 300,
        "rival claims coalesced: {}",
        s.coalesced
    );
}

#[test]
fn pinned_leases_outlive_their_holders_through_the_upgrade() {
    let (s, sim) = run("series-upgrade", &[], 150_000);
    // Machine 0 is down from 35 s to 155 s; its leaders' leases (60 s) are pinned.
    assert_eq!(s.pinned_leader_changes, 0);
    let pinned = sim.engine().fsm().pinned();
    assert!(!pinned.is_empty());
    for key in pinned.keys() {
        let lease = sim.lease_of(key).unwrap();
        let info = sim
            .engine()
            .fsm()
            .lease(key, Time::ZERO)
            .expect("a pinned lease is still held");
        let unit: usize = info.holder.rsplit_once('/').unwrap().1.parse().unwrap();
        assert!(
            !sim.holder_up(lease, unit),
            "{key}: its holder is down, yet it holds"
        );
    }
}

#[test]
fn fencing_tokens_refuse_every_stale_write_that_a_tokenless_service_accepts() {
    let (s, _) = run("fencing-race", &[], 240_000);
    assert!(s.stale_writes > 0, "{s:?}");
    assert_eq!(s.stale_writes_refused, s.stale_writes);
    assert_eq!(s.stale_writes_accepted_without_tokens, s.stale_writes);
}

#[test]
fn per_op_mode_is_a_real_mode() {
    let p = params("ps45", &[("mode", "per-op")]);
    assert_eq!(p.mode, Mode::PerOp);
    assert!(params("ps45", &[]).set("mode", "sideways").is_err());
    assert!(params("ps45", &[]).set("nonsense", "1").is_err());
    assert!(Simulation::new("no-such-scenario", params("ps45", &[])).is_err());
}

#[test]
fn the_checker_names_the_batch_of_a_double_grant() {
    let mut c = Checker::new(1);
    let key = Key::new("application-leadership", "m", "app-0");
    let claim = |holder: &str, token| Event::Claimed {
        key: key.clone(),
        holder: holder.into(),
        token,
        expiry: Time::from_millis(10_000),
    };
    c.check(1, Time::ZERO, 0, Some(0), &claim("app-0/0", 1))
        .unwrap();
    let v = c
        .check(2, Time::ZERO, 0, Some(1), &claim("app-0/1", 2))
        .unwrap_err();
    assert_eq!(v.batch, 2);
    assert!(v.what.contains("app-0"), "{}", v.what);
    let early = Event::Expired {
        key: key.clone(),
        holder: "app-0/0".into(),
        token: 1,
    };
    let v = c
        .check(3, Time::from_millis(5_000), 0, Some(0), &early)
        .unwrap_err();
    assert!(v.what.contains("before its expiry"), "{}", v.what);
}

/// A small steady run with every leader elected; returns the simulation and the leader
/// unit of lease 0.
fn steady() -> (Simulation, usize) {
    let (_, sim) = run(
        "ps45",
        &[
            ("leases", "20"),
            ("durationMs", "10000"),
            ("renewMs", "5000"),
        ],
        20_000,
    );
    let unit = sim.leader_unit(0).expect("lease 0 has a leader");
    (sim, unit)
}

#[test]
fn a_partitioned_leader_is_deposed_and_replaced_without_a_spurious_change() {
    let (mut sim, unit) = steady();
    let h = sim.holder_index(0, unit);
    sim.inject(Action::Partition(h, 30_000));
    assert!(!sim.holder_up(0, unit));
    sim.run_for(20_000);
    assert_ne!(
        sim.leader_unit(0),
        Some(unit),
        "it can no longer prove its lease"
    );
    let s = sim.stats();
    assert!(s.leader_changes >= 1, "another unit took over");
    assert_eq!(
        s.spurious_leader_changes, 0,
        "the old leader was cut off, not renewing"
    );
    sim.run_for(30_000);
    assert!(sim.holder_up(0, unit), "the partition healed");
    assert_eq!(sim.stats().invariant_violations, 0);
}

#[test]
fn a_hung_holder_loses_its_lease_and_a_crashed_one_rejoins_after_restart() {
    let (mut sim, unit) = steady();
    sim.inject(Action::StopRenewing(sim.holder_index(0, unit)));
    sim.run_for(20_000);
    let key = sim.key(0).unwrap().clone();
    let holder = sim.engine().fsm().holder(&key).map(str::to_owned);
    assert!(
        holder.is_some_and(|h| !h.ends_with(&format!("/{unit}"))),
        "another unit holds it"
    );

    let other = sim.leader_unit(1).expect("lease 1 has a leader");
    sim.crash(1, other);
    assert!(!sim.holder_up(1, other));
    sim.run_for(20_000);
    assert_ne!(sim.leader_unit(1), Some(other));
    sim.restart(1, other);
    assert!(sim.holder_up(1, other));
    sim.run_for(5_000);
    assert_eq!(sim.stats().spurious_leader_changes, 0);
    assert_eq!(sim.stats().invariant_violations, 0);
}

#[test]
fn a_recording_replays_to_the_committed_state_even_across_an_engine_restart() {
    let mut sim =
        Simulation::new("restart-herd", params("restart-herd", &[("leases", "100")])).unwrap();
    sim.record();
    sim.run_for(90_000);
    let mut replica = leasehold::Fsm::new();
    for bytes in sim.recording() {
        replica.apply_encoded(bytes).unwrap();
    }
    assert!(!sim.recording().is_empty());
    assert_eq!(
        replica.snapshot().encode().unwrap(),
        sim.engine().fsm().snapshot().encode().unwrap()
    );
}
