//! Three in-process nodes, each with its own store directory: batches written through
//! the leader reach every node's state machine identically, and survive the leader being
//! cut off.

use leasehold::{Batch, Key, Op, Time};
use leasehold_server::testing::Router;
use leasehold_server::{BatchEntry, LogStore, OpResult, Raft, Response, StateMachine};
use openraft::async_runtime::WatchReceiver;
use openraft::errors::{ClientWriteError, ForwardReason, RaftError};
use openraft::{BasicNode, Config, SnapshotPolicy};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// How long any wait may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(10);

/// One running node.
struct Node {
    id: u64,
    raft: Raft,
    sm: StateMachine,
    _dir: TempDir,
}

async fn start(router: &Router, id: u64, config: &Arc<Config>) -> Node {
    let dir = TempDir::new().unwrap();
    let log = LogStore::open(dir.path()).unwrap();
    let sm = StateMachine::open(dir.path()).unwrap();
    let raft = Raft::new(id, Arc::clone(config), router.network(id), log, sm.clone())
        .await
        .unwrap();
    router.add(id, raft.clone());
    Node {
        id,
        raft,
        sm,
        _dir: dir,
    }
}

fn key(n: u64) -> Key {
    Key::new("jobs", "worker", format!("lease-{n}"))
}

/// A batch claiming `key(n)` for `holder`, as the leader's engine would write it.
fn claim(epoch: u64, seq: u64, n: u64, holder: &str) -> BatchEntry {
    let ops = vec![Op::claim(key(n), holder, Duration::from_secs(60))];
    BatchEntry {
        epoch,
        batch: Batch::new(seq, ops).encode().unwrap(),
        tags: Vec::new(),
    }
}

/// Writes `entry` through `leader`; returns the per-operation results and the log index.
/// A leader refuses writes (`ForwardToLeader`, the entry not proposed) until its lease
/// holds, which a just-elected one may not yet: that is retried.
async fn write(leader: &Raft, entry: BatchEntry) -> (Vec<OpResult>, u64) {
    let give_up = Instant::now() + PATIENCE;
    let written = loop {
        match leader.client_write(entry.clone()).await {
            Ok(written) => break written,
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f)))
                if Instant::now() < give_up =>
            {
                assert_eq!(f.reason, ForwardReason::LeaseExpired, "{f:?}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("write failed: {e}"),
        }
    };
    match written.data {
        Response::Applied(results) => (results, written.log_id.index),
        other => panic!("expected applied results, got {other:?}"),
    }
}

/// Waits until every node in `nodes` applied up to `index`; returns their state bytes.
async fn applied_everywhere(nodes: &[&Node], index: u64) -> Vec<Vec<u8>> {
    let mut states = Vec::new();
    for node in nodes {
        node.raft
            .wait(Some(PATIENCE))
            .applied_index_at_least(Some(index), format!("node {} applied", node.id))
            .await
            .unwrap();
        states.push(node.sm.snapshot_bytes().unwrap());
    }
    states
}

/// The id of the leader every node in `nodes` agrees on, other than `not`.
async fn leader_among(nodes: &[&Node], not: Option<u64>) -> u64 {
    let mut leader = None;
    for node in nodes {
        let m = node
            .raft
            .wait(Some(PATIENCE))
            .metrics(
                |m| m.current_leader.is_some_and(|l| Some(l) != not),
                format!("node {} knows a leader", node.id),
            )
            .await
            .unwrap();
        let l = m.current_leader.unwrap();
        assert!(
            leader.is_none_or(|seen| seen == l),
            "nodes disagree on the leader"
        );
        leader = Some(l);
    }
    leader.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_agree_survive_losing_the_leader_and_rejoin() {
    let config = Arc::new(
        Config {
            heartbeat_interval: 50,
            election_timeout_min: 200,
            election_timeout_max: 400,
            // Snapshot and purge often, so a node that was cut off catches up by snapshot.
            snapshot_policy: SnapshotPolicy::LogsSinceLast(3),
            max_in_snapshot_log_to_keep: 0,
            ..Config::default()
        }
        .validate()
        .unwrap(),
    );
    let router = Router::new();
    let mut nodes = Vec::new();
    for id in 1..=3 {
        nodes.push(start(&router, id, &config).await);
    }
    let members: BTreeMap<u64, BasicNode> = (1..=3)
        .map(|id| (id, BasicNode::new(format!("node-{id}"))))
        .collect();
    nodes[0].raft.initialize(members).await.unwrap();

    // Phase 1: five batches through the first leader.
    let all: Vec<&Node> = nodes.iter().collect();
    let first = leader_among(&all, None).await;
    let leader = &nodes[usize::try_from(first - 1).unwrap()].raft;
    let mut tokens = BTreeMap::new();
    let mut last = 0;
    for n in 1..=5 {
        let (results, index) = write(leader, claim(1, n, n, "holder-a")).await;
        assert_eq!(results.len(), 1);
        tokens.insert(
            n,
            results[0].clone().unwrap().expect("a claim grants a token"),
        );
        last = index;
    }
    let states = applied_everywhere(&all, last).await;
    assert!(states.iter().all(|s| *s == states[0]), "replicas differ");

    let cut_at = last;

    // Phase 2: cut the leader off; the other two elect a new one and go on.
    router.cut_off(first);
    let survivors: Vec<&Node> = nodes.iter().filter(|n| n.id != first).collect();
    let second = leader_among(&survivors, Some(first)).await;
    assert_ne!(second, first);
    let leader = &nodes[usize::try_from(second - 1).unwrap()].raft;
    for n in 6..=8 {
        let (results, index) = write(leader, claim(2, n - 5, n, "holder-b")).await;
        assert!(
            matches!(results[..], [Ok(Some(_))]),
            "claim {n}: {results:?}"
        );
        last = index;
    }
    // A claim on a lease still held by another holder is refused, on every replica alike.
    let (results, index) = write(leader, claim(2, 4, 1, "holder-b")).await;
    assert!(matches!(results[..], [Err(_)]), "{results:?}");
    last = last.max(index);

    let states = applied_everywhere(&survivors, last).await;
    assert_eq!(states[0], states[1], "survivors differ");
    for node in &survivors {
        for (n, token) in &tokens {
            let lease = node
                .sm
                .read(|fsm| fsm.lease(&key(*n), Time::ZERO))
                .unwrap()
                .expect("an earlier claim is still held");
            assert_eq!(&*lease.holder, "holder-a");
            assert_eq!(lease.token, *token);
        }
    }

    // Phase 3: once the new leader purged its log past what the old one holds, the old
    // leader comes back and can only catch up by installing a snapshot.
    nodes[usize::try_from(second - 1).unwrap()]
        .raft
        .wait(Some(PATIENCE))
        .metrics(
            |m| m.purged.is_some_and(|p| p.index > cut_at),
            "the new leader purged past the old one's log",
        )
        .await
        .unwrap();
    router.reconnect(first);
    let states = applied_everywhere(&all, last).await;
    assert!(
        states.iter().all(|s| *s == states[0]),
        "replicas differ after rejoining"
    );
    let rejoined = &nodes[usize::try_from(first - 1).unwrap()].raft;
    let snapshot = rejoined.metrics().borrow_watched().snapshot;
    assert!(snapshot.is_some_and(|s| s.index > cut_at), "{snapshot:?}");

    for node in &nodes {
        node.raft.shutdown().await.unwrap();
    }
}
