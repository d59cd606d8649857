//! Three nodes in one process talking Raft over WebSockets ([`HttpNetwork`], [`serve`]),
//! each behind its own listener and a bearer-token check: they elect a leader, replicate
//! writes, survive losing the leader, and a node with the wrong token cannot join. Also:
//! every frame round-trips through postcard, and a malformed frame closes the socket.

use axum::extract::ws::WebSocketUpgrade;
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use futures_util::{SinkExt, StreamExt};
use leasehold::{Batch, Key, Op};
use leasehold_server::network::{
    HttpNetwork, MAX_RAFT_MESSAGE_BYTES, RAFT_PATH, RaftReply, RaftRequest, serve,
};
use leasehold_server::{BatchEntry, LogStore, OpResult, Raft, Response, StateMachine};
use openraft::async_runtime::WatchReceiver;
use openraft::entry::RaftEntry;
use openraft::errors::{ClientWriteError, RPCError, RaftError};
use openraft::impls::leader_id_adv::LeaderId;
use openraft::network::{RPCOption, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, TransferLeaderError,
    TransferLeaderRequest, VoteRequest, VoteResponse,
};
use openraft::type_config::alias::{EntryOf, LogIdOf, SnapshotMetaOf, VoteOf};
use openraft::{
    BasicNode, Config, LogId, Membership, RaftNetworkV2, SnapshotPolicy, StoredMembership, Vote,
};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// How long any wait may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(10);

/// The token of the cluster.
const TOKEN: &str = "secret";

/// One running node: its Raft and the listener serving its `/raft`.
struct Node {
    id: u64,
    raft: Raft,
    sm: StateMachine,
    addr: String,
    listener: JoinHandle<()>,
    _dir: TempDir,
}

fn config() -> Arc<Config> {
    Arc::new(
        Config {
            heartbeat_interval: 50,
            election_timeout_min: 200,
            election_timeout_max: 400,
            install_snapshot_timeout: 2000,
            // Snapshot and purge often, so a new learner catches up by snapshot.
            snapshot_policy: SnapshotPolicy::LogsSinceLast(3),
            max_in_snapshot_log_to_keep: 0,
            ..Config::default()
        }
        .validate()
        .unwrap(),
    )
}

/// The router of a node: only `/raft`, refusing (401) a request without `Bearer <token>`.
fn raft_router(raft: Raft, token: &str) -> axum::Router {
    let expected = HeaderValue::from_str(&format!("Bearer {token}")).unwrap();
    axum::Router::new().route(
        RAFT_PATH,
        axum::routing::get(move |headers: HeaderMap, ws: WebSocketUpgrade| {
            let raft = raft.clone();
            let authorized = headers.get(AUTHORIZATION) == Some(&expected);
            async move {
                if !authorized {
                    return StatusCode::UNAUTHORIZED.into_response();
                }
                ws.max_message_size(MAX_RAFT_MESSAGE_BYTES)
                    .max_frame_size(MAX_RAFT_MESSAGE_BYTES)
                    .on_upgrade(move |socket| serve(socket, raft))
                    .into_response()
            }
        }),
    )
}

/// Starts node `id`: it sends `token` and accepts only `token`.
async fn start(id: u64, token: &str, config: &Arc<Config>) -> Node {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let dir = TempDir::new().unwrap();
    let log = LogStore::open(dir.path()).unwrap();
    let sm = StateMachine::open(dir.path()).unwrap();
    let network = HttpNetwork::new(Some(Arc::from(token)));
    let raft = Raft::new(id, Arc::clone(config), network, log, sm.clone())
        .await
        .unwrap();
    let app = raft_router(raft.clone(), token);
    let listener = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Node {
        id,
        raft,
        sm,
        addr,
        listener,
        _dir: dir,
    }
}

fn members(nodes: &[Node]) -> BTreeMap<u64, BasicNode> {
    nodes
        .iter()
        .map(|n| (n.id, BasicNode::new(n.addr.clone())))
        .collect()
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
/// A just-elected leader refuses writes (`ForwardToLeader`) until its lease holds: that
/// is retried.
async fn write(leader: &Raft, entry: BatchEntry) -> (Vec<OpResult>, u64) {
    let give_up = Instant::now() + PATIENCE;
    let written = loop {
        match leader.client_write(entry.clone()).await {
            Ok(written) => break written,
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(_)))
                if Instant::now() < give_up =>
            {
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

/// Waits until every node in `nodes` applied up to `index`; returns what each applied
/// (the last log id and the state's bytes).
async fn applied_everywhere(
    nodes: &[&Node],
    index: u64,
) -> Vec<(Option<LogIdOf<leasehold_server::TypeConfig>>, Vec<u8>)> {
    let mut states = Vec::new();
    for node in nodes {
        node.raft
            .wait(Some(PATIENCE))
            .applied_index_at_least(Some(index), format!("node {} applied", node.id))
            .await
            .unwrap();
        states.push(node.sm.applied_bytes().unwrap());
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

fn node(nodes: &[Node], id: u64) -> &Node {
    nodes.iter().find(|n| n.id == id).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_elect_replicate_and_survive_losing_the_leader() {
    let config = config();
    let mut nodes = Vec::new();
    for id in 1..=3 {
        nodes.push(start(id, TOKEN, &config).await);
    }
    nodes[0].raft.initialize(members(&nodes)).await.unwrap();

    let all: Vec<&Node> = nodes.iter().collect();
    let first = leader_among(&all, None).await;
    let mut last = 0;
    for n in 1..=3 {
        let (results, index) = write(&node(&nodes, first).raft, claim(1, n, n, "a")).await;
        assert!(matches!(results[..], [Ok(Some(_))]), "{results:?}");
        last = index;
    }
    let states = applied_everywhere(&all, last).await;
    assert!(states[0].0.is_some_and(|l| l.index == last));
    assert!(states.iter().all(|s| *s == states[0]), "replicas differ");

    // Stop the leader: its Raft and its listener. The other two elect a new leader.
    let gone = node(&nodes, first);
    gone.raft.shutdown().await.unwrap();
    gone.listener.abort();
    let survivors: Vec<&Node> = nodes.iter().filter(|n| n.id != first).collect();
    let second = leader_among(&survivors, Some(first)).await;
    assert_ne!(second, first);
    let (results, index) = write(&node(&nodes, second).raft, claim(2, 1, 4, "b")).await;
    assert!(matches!(results[..], [Ok(Some(_))]), "{results:?}");
    // A claim on a lease another holder still has is refused, on both alike.
    let (results, last) = write(&node(&nodes, second).raft, claim(2, 2, 1, "b")).await;
    assert!(matches!(results[..], [Err(_)]), "{results:?}");
    assert!(last > index);
    let states = applied_everywhere(&survivors, last).await;
    assert_eq!(states[0], states[1], "survivors differ");

    // Once the leader purged its log, a new learner catches up by a snapshot sent over
    // the socket.
    let leader = &node(&nodes, second).raft;
    leader
        .wait(Some(PATIENCE))
        .metrics(|m| m.purged.is_some(), "the leader purged its log")
        .await
        .unwrap();
    let learner = start(4, TOKEN, &config).await;
    let give_up = Instant::now() + PATIENCE;
    let added = loop {
        match leader
            .add_learner(4, BasicNode::new(learner.addr.clone()), true)
            .await
        {
            Ok(added) => break added,
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(_)))
                if Instant::now() < give_up =>
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("adding a learner failed: {e}"),
        }
    };
    let everyone: Vec<&Node> = survivors.iter().copied().chain([&learner]).collect();
    let states = applied_everywhere(&everyone, added.log_id.index).await;
    assert!(
        states.iter().all(|s| *s == states[0]),
        "the learner differs"
    );
    let installed = learner.raft.metrics().borrow_watched().snapshot;
    assert!(
        installed.is_some(),
        "the learner caught up without a snapshot"
    );

    for node in everyone {
        node.raft.shutdown().await.unwrap();
        node.listener.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_message_larger_than_a_default_frame_crosses() {
    let config = config();
    let target = start(1, TOKEN, &config).await;
    let mut network = HttpNetwork::new(Some(Arc::from(TOKEN)));
    let mut connection = network
        .new_client(1, &BasicNode::new(target.addr.clone()))
        .await;
    // Two entries of 9 MiB (each within the log store's record limit): one message of
    // more than tungstenite's default 16 MiB frame limit.
    let log_id = |index| {
        LogId::new(
            LeaderId {
                term: 1,
                node_id: 2,
            },
            index,
        )
    };
    let big = |epoch| BatchEntry {
        epoch,
        batch: vec![7; 9 << 20],
        tags: Vec::new(),
    };
    let request = AppendEntriesRequest {
        vote: Vote::new_committed(1, 2),
        prev_log_id: None,
        entries: vec![
            RaftEntry::new_normal(log_id(0), big(1)),
            RaftEntry::new_normal(log_id(1), big(2)),
        ],
        leader_commit: None,
    };
    let option = RPCOption::new(PATIENCE);
    let response = connection.append_entries(request, option.clone()).await;
    assert!(
        matches!(response, Ok(AppendEntriesResponse::Success)),
        "{response:?}"
    );
    // The socket stays open for the next RPC.
    let vote = VoteRequest::new(Vote::new(1, 2), Some(log_id(1)));
    let response = connection.vote(vote, option).await;
    assert!(response.is_ok(), "{response:?}");
    target.raft.shutdown().await.unwrap();
    target.listener.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_with_the_wrong_token_cannot_join() {
    let config = config();
    let nodes = vec![
        start(1, TOKEN, &config).await,
        start(2, TOKEN, &config).await,
        // Sends the wrong token, and accepts only it.
        start(3, "wrong", &config).await,
    ];
    let members = members(&nodes);
    // Node 3 knows the membership too, so it campaigns: its votes are refused.
    nodes[0].raft.initialize(members.clone()).await.unwrap();
    nodes[2].raft.initialize(members.clone()).await.unwrap();

    // The handshake is refused without the token or with a wrong one.
    let url = format!("ws://{}{RAFT_PATH}", nodes[0].addr);
    for header in [None, Some("Bearer wrong"), Some(TOKEN)] {
        let mut request = url.as_str().into_client_request().unwrap();
        if let Some(h) = header {
            request
                .headers_mut()
                .insert(AUTHORIZATION, HeaderValue::from_static(h));
        }
        match tokio_tungstenite::connect_async(request).await {
            Err(tungstenite::Error::Http(response)) => {
                assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
            }
            other => panic!("expected 401, got {other:?}"),
        }
    }
    // An RPC with the wrong token reports the target unreachable.
    let mut wrong = HttpNetwork::new(Some(Arc::from("wrong")));
    let mut connection = wrong.new_client(1, &members[&1]).await;
    let vote = VoteRequest::new(Vote::new(1000, 3), None);
    let refused = connection
        .vote(vote, RPCOption::new(Duration::from_secs(2)))
        .await;
    assert!(
        matches!(refused, Err(RPCError::Unreachable(_))),
        "{refused:?}"
    );

    // A malformed frame closes the socket; the node goes on serving.
    let mut request = url.as_str().into_client_request().unwrap();
    request.headers_mut().insert(
        AUTHORIZATION,
        HeaderValue::from_str(&format!("Bearer {TOKEN}")).unwrap(),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    socket
        .send(tungstenite::Message::Binary(vec![0xff; 9].into()))
        .await
        .unwrap();
    loop {
        match tokio::time::timeout(PATIENCE, socket.next()).await.unwrap() {
            Some(Ok(tungstenite::Message::Close(_)) | Err(_)) | None => break,
            Some(Ok(tungstenite::Message::Binary(b))) => panic!("a reply to garbage: {b:?}"),
            Some(Ok(_)) => {}
        }
    }

    // Nodes 1 and 2 elect a leader between them and commit writes; node 3 sees nothing.
    let pair = [&nodes[0], &nodes[1]];
    let leader = leader_among(&pair, None).await;
    assert_ne!(leader, 3);
    let (results, index) = write(&node(&nodes, leader).raft, claim(1, 1, 1, "a")).await;
    assert!(matches!(results[..], [Ok(Some(_))]), "{results:?}");
    let states = applied_everywhere(&pair, index).await;
    assert_eq!(states[0], states[1]);
    let outsider = nodes[2].raft.metrics().borrow_watched().clone();
    assert_eq!(outsider.current_leader, None, "{outsider:?}");
    assert_eq!(outsider.last_applied, None, "{outsider:?}");

    for node in &nodes {
        node.raft.shutdown().await.unwrap();
        node.listener.abort();
    }
}

/// Encodes `frame`, decodes it, and checks that it encodes the same again (the openraft
/// types carry no `PartialEq` throughout); every truncation of it fails to decode.
fn round_trip<T>(frame: &T) -> T
where
    T: serde::Serialize + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let bytes = postcard::to_allocvec(frame).unwrap();
    let back: T = postcard::from_bytes(&bytes).unwrap();
    assert_eq!(postcard::to_allocvec(&back).unwrap(), bytes);
    assert_eq!(format!("{back:?}"), format!("{frame:?}"));
    for cut in 0..bytes.len() {
        assert!(postcard::from_bytes::<T>(&bytes[..cut]).is_err(), "{cut}");
    }
    back
}

#[test]
fn frames_round_trip_through_postcard() {
    type C = leasehold_server::TypeConfig;
    let log_id = |term, node_id, index| LogId::new(LeaderId { term, node_id }, index);
    let vote: VoteOf<C> = Vote::new_committed(3, 2);
    let membership = Membership::new(
        vec![BTreeSet::from([1, 2, 3])],
        (1..=3)
            .map(|id| (id, BasicNode::new(format!("127.0.0.1:{}", 7000 + id))))
            .collect::<BTreeMap<_, _>>(),
    )
    .unwrap();
    let entries: Vec<EntryOf<C>> = vec![
        RaftEntry::new_blank(log_id(1, 1, 1)),
        RaftEntry::new_membership(log_id(1, 1, 2), membership.clone()),
        RaftEntry::new_normal(log_id(3, 2, 3), claim(7, 1, 1, "a")),
        RaftEntry::new_normal(log_id(3, 2, 4), BatchEntry::fence(8)),
    ];
    round_trip(&RaftRequest::Append(AppendEntriesRequest {
        vote,
        prev_log_id: Some(log_id(1, 1, 0)),
        entries,
        leader_commit: Some(log_id(1, 1, 2)),
    }));
    round_trip(&RaftRequest::Append(AppendEntriesRequest {
        vote,
        prev_log_id: None,
        entries: Vec::new(),
        leader_commit: None,
    }));
    let mut request = VoteRequest::new(Vote::new(4, 3), Some(log_id(3, 2, 4)));
    request.leadership_transfer = true;
    round_trip(&RaftRequest::Vote(request));
    let meta = SnapshotMetaOf::<C> {
        last_log_id: Some(log_id(3, 2, 4)),
        last_membership: StoredMembership::new(Some(log_id(1, 1, 2)), membership),
    };
    let RaftRequest::Snapshot { meta: back, .. } = round_trip(&RaftRequest::Snapshot {
        vote,
        meta: meta.clone(),
        data: vec![1, 2, 3, 0, 255],
    }) else {
        panic!("not a snapshot")
    };
    assert_eq!(back, meta);
    round_trip(&RaftRequest::Transfer(TransferLeaderRequest::new(
        vote,
        3,
        Some(log_id(3, 2, 4)),
    )));

    for reply in [
        Ok(AppendEntriesResponse::Success),
        Ok(AppendEntriesResponse::PartialSuccess(Some(log_id(3, 2, 3)))),
        Ok(AppendEntriesResponse::PartialSuccess(None)),
        Ok(AppendEntriesResponse::Conflict),
        Ok(AppendEntriesResponse::HigherVote(Vote::new(5, 1))),
        Err("the node stopped".to_string()),
    ] {
        assert_eq!(
            append_answer(round_trip(&RaftReply::Append(reply.clone()))),
            reply
        );
    }
    round_trip(&RaftReply::Vote(Ok(VoteResponse::new(
        Vote::new(4, 3),
        Some(log_id(3, 2, 4)),
        true,
    ))));
    round_trip(&RaftReply::Vote(Ok(VoteResponse::new(vote, None, false))));
    round_trip(&RaftReply::Snapshot(Ok(SnapshotResponse::new(vote))));
    round_trip(&RaftReply::Snapshot(Err("no".into())));
    for transfer in [
        Ok(()),
        Err(TransferLeaderError::VoteChanged {
            expected: vote,
            actual: Vote::new(9, 1),
        }),
        Err(TransferLeaderError::LogNotFlushed {
            expected: Some(log_id(3, 2, 4)),
            actual: None,
        }),
    ] {
        round_trip(&RaftReply::Transfer(Ok(transfer)));
    }
    round_trip(&RaftReply::Transfer(Err("stopped".into())));

    // Garbage never panics.
    for bytes in [
        &[][..],
        &[0xff; 9],
        &[0, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f],
        &[4],
    ] {
        assert!(postcard::from_bytes::<RaftRequest>(bytes).is_err());
        let _ = postcard::from_bytes::<RaftReply>(bytes);
    }
}

/// The answer of an append reply.
fn append_answer(
    reply: RaftReply,
) -> Result<AppendEntriesResponse<leasehold_server::TypeConfig>, String> {
    match reply {
        RaftReply::Append(a) => a,
        other => panic!("not an append reply: {other:?}"),
    }
}
