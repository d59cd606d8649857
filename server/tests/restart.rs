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

/// The one segment file of a log directory.
fn segment(dir: &std::path::Path) -> std::path::PathBuf {
    let mut segments: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("seg-"))
        .collect();
    assert_eq!(segments.len(), 1, "{segments:?}");
    segments.pop().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_at_every_byte_of_the_last_entry_loses_only_that_entry() {
    let dir = TempDir::new().unwrap();
    {
        let mut log = LogStore::open(dir.path()).unwrap();
        log.blocking_append((0..2).map(|i| batch_entry(1, i, "a")))
            .await
            .unwrap();
    }
    let path = segment(dir.path());
    let before = std::fs::read(&path).unwrap();
    {
        let mut log = LogStore::open(dir.path()).unwrap();
        log.blocking_append([batch_entry(1, 2, "a")]).await.unwrap();
    }
    let full = std::fs::read(&path).unwrap();
    assert!(full.len() > before.len());
    // Cut the file at every byte of the last entry's record: the log opens with the
    // entries before it (the torn tail is cut), and takes the entry again.
    for cut in before.len()..full.len() {
        let copy = TempDir::new().unwrap();
        std::fs::write(copy.path().join(path.file_name().unwrap()), &full[..cut]).unwrap();
        let mut log = LogStore::open(copy.path()).unwrap();
        let entries = log.try_get_log_entries(0..10).await.unwrap();
        let expected: Vec<_> = (0..2).map(|i| batch_entry(1, i, "a")).collect();
        assert_eq!(entries, expected, "cut at byte {cut}");
        log.blocking_append([batch_entry(1, 2, "b")]).await.unwrap();
        drop(log);
        let mut log = LogStore::open(copy.path()).unwrap();
        let last = log.try_get_log_entries(2..3).await.unwrap();
        assert_eq!(last, vec![batch_entry(1, 2, "b")], "cut at byte {cut}");
    }
    // A damaged byte in the middle entry refuses to open, naming the file and offset.
    let middle = before.len() - 5;
    let mut damaged = full.clone();
    damaged[middle] ^= 0x40;
    std::fs::write(&path, &damaged).unwrap();
    let e = LogStore::open(dir.path()).unwrap_err().to_string();
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    assert!(e.contains(&name), "the error names the file: {e}");
    assert!(e.contains("offset"), "the error names the offset: {e}");
}
