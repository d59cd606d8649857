//! What a node finds after a restart: the log (with its purge mark and truncation), the
//! vote, and the state machine's snapshot, all read back from its directory.

use futures_util::stream;
use leasehold::{Batch, Key, Op};
use leasehold_server::{BatchEntry, LogStore, StateMachine, TypeConfig};
use openraft::entry::RaftEntry;
use openraft::storage::{
    LogState, RaftLogReader, RaftLogStorage, RaftLogStorageExt, RaftSnapshotBuilder,
    RaftStateMachine,
};
use openraft::testing::log_id;
use openraft::type_config::alias::{EntryOf, VoteOf};
use std::time::Duration;
use tempfile::TempDir;

/// A normal entry at `index` holding a batch that claims lease `index` for `holder`.
fn batch_entry(term: u64, index: u64, holder: &str) -> EntryOf<TypeConfig> {
    let op = Op::claim(
        Key::new("jobs", "worker", format!("lease-{index}")),
        holder,
        Duration::from_secs(60),
    );
    let batch = Batch::new(index, vec![op]).encode().unwrap();
    EntryOf::<TypeConfig>::new_normal(
        log_id::<TypeConfig>(term, 1, index),
        BatchEntry {
            epoch: term,
            batch,
            tags: Vec::new(),
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_vote_purge_and_truncation_survive_a_restart() {
    let dir = TempDir::new().unwrap();
    let vote = VoteOf::<TypeConfig>::new_committed(2, 1);
    {
        let mut log = LogStore::open(dir.path()).unwrap();
        log.blocking_append((0..10).map(|i| batch_entry(1 + i / 5, i, "a")))
            .await
            .unwrap();
        log.save_vote(&vote).await.unwrap();
        log.purge(log_id::<TypeConfig>(1, 1, 3)).await.unwrap();
        log.truncate_after(Some(log_id::<TypeConfig>(2, 1, 7)))
            .await
            .unwrap();
    }
    let mut log = LogStore::open(dir.path()).unwrap();
    assert_eq!(
        log.get_log_state().await.unwrap(),
        LogState {
            last_purged_log_id: Some(log_id::<TypeConfig>(1, 1, 3)),
            last_log_id: Some(log_id::<TypeConfig>(2, 1, 7)),
        }
    );
    assert_eq!(log.read_vote().await.unwrap(), Some(vote));
    let entries = log.try_get_log_entries(0..100).await.unwrap();
    let expected: Vec<_> = (4..8).map(|i| batch_entry(1 + i / 5, i, "a")).collect();
    assert_eq!(entries, expected);

    // Appends go on after the truncation, and a purge past the end (as after installing a
    // snapshot) lets the log continue after it.
    log.blocking_append([batch_entry(3, 8, "b")]).await.unwrap();
    log.purge(log_id::<TypeConfig>(3, 1, 20)).await.unwrap();
    log.blocking_append([batch_entry(3, 21, "b")])
        .await
        .unwrap();
    drop(log);
    let mut log = LogStore::open(dir.path()).unwrap();
    let entries = log.try_get_log_entries(0..100).await.unwrap();
    assert_eq!(entries, vec![batch_entry(3, 21, "b")]);
    assert_eq!(
        log.get_log_state().await.unwrap().last_purged_log_id,
        Some(log_id::<TypeConfig>(3, 1, 20))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_state_machine_restarts_from_its_snapshot() {
    let dir = TempDir::new().unwrap();
    let (bytes, applied) = {
        let mut sm = StateMachine::open(dir.path()).unwrap();
        let entries: Vec<_> = (0..4).map(|i| Ok((batch_entry(1, i, "a"), None))).collect();
        sm.apply(stream::iter(entries)).await.unwrap();
        let mut builder = sm.get_snapshot_builder().await;
        let snapshot = builder.build_snapshot().await.unwrap();
        assert_eq!(snapshot.snapshot, sm.snapshot_bytes().unwrap());
        (sm.snapshot_bytes().unwrap(), sm.last_applied().unwrap())
    };
    assert_eq!(applied, Some(log_id::<TypeConfig>(1, 1, 3)));
    let mut sm = StateMachine::open(dir.path()).unwrap();
    assert_eq!(sm.snapshot_bytes().unwrap(), bytes);
    assert_eq!(sm.applied_state().await.unwrap().0, applied);
    assert_eq!(sm.read(leasehold::Fsm::len).unwrap(), 4);
    let current = sm.get_current_snapshot().await.unwrap().unwrap();
    assert_eq!(current.meta.last_log_id, applied);
    assert_eq!(current.snapshot, bytes);
}
