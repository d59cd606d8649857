//! Pins the bytes of a Raft log record, for readers that do not link openraft (the
//! dashboard opens a node's segment files): each record of `DATA/seg-*.log` (the core's
//! `Store`, framed by `leasehold::frame`) is one `openraft::Entry<TypeConfig>`,
//! postcard-encoded, which decodes as these plain tuples, in order:
//!
//! ```text
//! (term: u64, node_id: u64, index: u64)   the log id (openraft's default LeaderId:
//!                                         leader_id_adv, term and node id)
//! variant: u32                            0 Blank, 1 Normal, 2 Membership
//! Blank:      nothing
//! Normal:     (epoch: u64, batch: Vec<u8>, tags: Vec<(u64, u64, u32, Option<String>)>)
//!             batch: leasehold::Batch::encode bytes (empty: an epoch's fence);
//!             tags: (client, request, op, rival)
//! Membership: (configs: Vec<Vec<u64>>, nodes: Vec<(u64, String)>)
//!             voter sets (more than one while joint) and every node's address
//! ```
//!
//! (postcard: integers are varints, `u32` variants too; a `Vec` or a map is a varint
//! length then its items; `Option` is a byte 0 or 1 then the value; a `String` is a
//! `Vec<u8>` of UTF-8.) Raft index `i` is the store's record `i + 1`; a node's first
//! segment is `DATA/seg-00000000000000000001.log`, its first record the membership entry
//! at index 0 that initialised the cluster (log id: term 0, the initialising node's id).

mod common;

use common::{Http, claim_body, eventually};
use leasehold::{Batch, Op};
use leasehold_server::daemon::{self, NodeOptions};
use leasehold_server::types::{BatchEntry, Tag, TypeConfig};
use openraft::impls::leader_id_adv::LeaderId;
use openraft::type_config::alias::EntryOf;
use openraft::{BasicNode, Entry, EntryPayload, LogId, Membership};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use tempfile::TempDir;

/// A log id as plain numbers: (term, node id, index).
type PlainLogId = (u64, u64, u64);
/// A tag as plain values: (client, request, op, rival).
type PlainTag = (u64, u64, u32, Option<String>);
/// A normal entry's data as plain values: (epoch, batch, tags).
type PlainNormal = (u64, Vec<u8>, Vec<PlainTag>);
/// A membership as plain values: (voter sets, (node id, address) pairs).
type PlainMembership = (Vec<Vec<u64>>, Vec<(u64, String)>);

/// An entry read with the plain layout.
#[derive(Debug, PartialEq, Eq)]
enum Plain {
    Blank(PlainLogId),
    Normal(PlainLogId, PlainNormal),
    Membership(PlainLogId, PlainMembership),
}

/// Reads one record with the plain layout, step by step as a reader without openraft
/// would, and checks that nothing is left.
fn read_plain(record: &[u8]) -> Plain {
    let (log_id, rest): (PlainLogId, &[u8]) = postcard::take_from_bytes(record).unwrap();
    let (variant, rest): (u32, &[u8]) = postcard::take_from_bytes(rest).unwrap();
    let (plain, rest) = match variant {
        0 => (Plain::Blank(log_id), rest),
        1 => {
            let (normal, rest): (PlainNormal, &[u8]) = postcard::take_from_bytes(rest).unwrap();
            (Plain::Normal(log_id, normal), rest)
        }
        2 => {
            let (m, rest): (PlainMembership, &[u8]) = postcard::take_from_bytes(rest).unwrap();
            (Plain::Membership(log_id, m), rest)
        }
        other => panic!("unknown variant {other}"),
    };
    assert!(rest.is_empty(), "{} bytes left after {plain:?}", rest.len());
    plain
}

/// The same layout written back with serde derives, to compare bytes.
#[derive(Serialize, Deserialize)]
enum PlainPayload {
    Blank,
    Normal(PlainNormal),
    Membership(PlainMembership),
}

fn encode_plain(plain: &Plain) -> Vec<u8> {
    postcard::to_allocvec(&plain.clone_parts()).unwrap()
}

impl Plain {
    fn clone_parts(&self) -> (PlainLogId, PlainPayload) {
        match self {
            Plain::Blank(id) => (*id, PlainPayload::Blank),
            Plain::Normal(id, n) => (*id, PlainPayload::Normal(n.clone())),
            Plain::Membership(id, m) => (*id, PlainPayload::Membership(m.clone())),
        }
    }

    fn index(&self) -> u64 {
        match self {
            Plain::Blank(id) | Plain::Normal(id, _) | Plain::Membership(id, _) => id.2,
        }
    }
}

fn log_id(
    term: u64,
    node_id: u64,
    index: u64,
) -> openraft::type_config::alias::LogIdOf<TypeConfig> {
    LogId::new(LeaderId { term, node_id }, index)
}

#[test]
fn entries_decode_as_plain_tuples() {
    let tags = vec![
        Tag {
            client: 0x1234_5678_9abc,
            request: 7,
            op: 0,
            rival: None,
        },
        Tag {
            client: u64::MAX,
            request: 300,
            op: 70_000,
            rival: Some("mysql/1".into()),
        },
    ];
    let batch = Batch::new(
        42,
        vec![Op::claim(
            leasehold::Key::new("app", "m", "db"),
            "db/0",
            Duration::from_millis(5_000),
        )],
    )
    .encode()
    .unwrap();
    let membership = Membership::new(
        vec![BTreeSet::from([1, 2, 3]), BTreeSet::from([1, 2, 4])],
        BTreeMap::from([
            (1, BasicNode::new("127.0.0.1:7401")),
            (2, BasicNode::new("127.0.0.1:7402")),
            (3, BasicNode::new("127.0.0.1:7403")),
            (4, BasicNode::new("127.0.0.1:7404")),
            (9, BasicNode::new("10.0.0.9:7409")),
        ]),
    )
    .unwrap();
    let epoch = (300u64 << 16) | 65_535;
    let cases: Vec<(EntryOf<TypeConfig>, Plain)> = vec![
        (
            Entry {
                log_id: log_id(300, 65_535, 1 << 40),
                payload: EntryPayload::Blank,
            },
            Plain::Blank((300, 65_535, 1 << 40)),
        ),
        (
            Entry {
                log_id: log_id(300, 65_535, (1 << 40) + 1),
                payload: EntryPayload::Normal(BatchEntry::fence(epoch)),
            },
            Plain::Normal((300, 65_535, (1 << 40) + 1), (epoch, vec![], vec![])),
        ),
        (
            Entry {
                log_id: log_id(300, 65_535, (1 << 40) + 2),
                payload: EntryPayload::Normal(BatchEntry {
                    epoch,
                    batch: batch.clone(),
                    tags,
                }),
            },
            Plain::Normal(
                (300, 65_535, (1 << 40) + 2),
                (
                    epoch,
                    batch.clone(),
                    vec![
                        (0x1234_5678_9abc, 7, 0, None),
                        (u64::MAX, 300, 70_000, Some("mysql/1".into())),
                    ],
                ),
            ),
        ),
        (
            Entry {
                log_id: log_id(0, 0, 0),
                payload: EntryPayload::Membership(membership),
            },
            Plain::Membership(
                (0, 0, 0),
                (
                    vec![vec![1, 2, 3], vec![1, 2, 4]],
                    vec![
                        (1, "127.0.0.1:7401".into()),
                        (2, "127.0.0.1:7402".into()),
                        (3, "127.0.0.1:7403".into()),
                        (4, "127.0.0.1:7404".into()),
                        (9, "10.0.0.9:7409".into()),
                    ],
                ),
            ),
        ),
    ];
    for (entry, plain) in cases {
        // As log_store writes a record.
        let record = postcard::to_allocvec(&entry).unwrap();
        assert_eq!(read_plain(&record), plain, "{entry:?}");
        assert_eq!(
            encode_plain(&plain),
            record,
            "{entry:?}: the same bytes back"
        );
        // And the real type reads the plain bytes.
        let back: EntryOf<TypeConfig> = postcard::from_bytes(&encode_plain(&plain)).unwrap();
        assert_eq!(back, entry);
    }

    // The first bytes, spelled out: term 300 (varint ac 02), node 65535 (ff ff 03),
    // index 5 (05), variant Normal (01), epoch, batch length, ...
    let entry: EntryOf<TypeConfig> = Entry {
        log_id: log_id(300, 65_535, 5),
        payload: EntryPayload::Normal(BatchEntry::fence(1)),
    };
    let record = postcard::to_allocvec(&entry).unwrap();
    assert_eq!(
        record,
        [0xac, 0x02, 0xff, 0xff, 0x03, 0x05, 0x01, 0x01, 0x00, 0x00]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nodes_first_segment_holds_its_entries_in_that_layout() {
    let dir = TempDir::new().unwrap();
    let data = dir.path().join("data");
    let mut options = NodeOptions::new(1, "127.0.0.1:0".parse().unwrap(), &data);
    options.engine.batch_interval = Duration::from_millis(20);
    options.heartbeat_ms = 50;
    options.election_timeout_ms = 200;
    let running = daemon::start(options).await.unwrap();
    let addr = running.addr.to_string();
    let http = Http::new(&addr, None);
    eventually("a claim to be granted", || {
        let http = http.clone();
        async move {
            let r = http
                .post("/v1/claim", &claim_body("db", "db/0", 60_000))
                .await;
            (r.status == 200).then_some(())
        }
    })
    .await;
    running.shutdown().await.unwrap();

    // The segments live directly in the data directory.
    let mut segments: Vec<String> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("seg-"))
        .collect();
    segments.sort();
    assert_eq!(segments, ["seg-00000000000000000001.log"]);
    let bytes = std::fs::read(data.join("seg-00000000000000000001.log")).unwrap();
    let scan = leasehold::frame::scan(&bytes).unwrap();
    assert!(scan.torn.is_none());
    let plain: Vec<Plain> = scan.records.iter().map(|r| read_plain(r)).collect();
    for (record, p) in scan.records.iter().zip(&plain) {
        let entry: EntryOf<TypeConfig> = postcard::from_bytes(record).unwrap();
        assert_eq!(entry.log_id.index, p.index());
    }

    // Record 1 is index 0: the membership that initialised the cluster, with the log id
    // term 0 of the initialising node.
    assert_eq!(
        plain[0],
        Plain::Membership((0, 1, 0), (vec![vec![1]], vec![(1, addr.clone())]))
    );
    // Then consecutive indexes: the leader's blank entry, its fence, its batches.
    for (i, p) in plain.iter().enumerate() {
        assert_eq!(p.index(), i as u64, "{p:?}");
    }
    let Plain::Blank((term, 1, 1)) = plain[1] else {
        panic!("index 1 is the leader's blank entry: {:?}", plain[1]);
    };
    assert!(term >= 1);
    assert_eq!(
        plain[2],
        Plain::Normal((term, 1, 2), ((term << 16) | 1, vec![], vec![])),
        "index 2 is the leader's fence"
    );
    let claimed = plain[3..].iter().any(|p| match p {
        Plain::Normal(_, (epoch, batch, _)) if !batch.is_empty() => {
            assert_eq!(*epoch, (term << 16) | 1);
            let batch = Batch::decode(batch).unwrap();
            batch
                .ops
                .iter()
                .any(|op| serde_json::to_string(op).unwrap().contains("db/0"))
        }
        _ => false,
    });
    assert!(claimed, "the claim's batch is in the log: {plain:?}");
}
