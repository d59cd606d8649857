//! Three in-process [`Node`]s running the engine on the leader: requests are answered
//! from the log, and a failover answers every request exactly once, never with a guess.

use leasehold::{Fsm, Key, Op, Outcome, Time};
use leasehold_server::testing::{Faults, Router};
use leasehold_server::{LogStore, Node, Raft, RequestError, StateMachine};
use openraft::async_runtime::WatchReceiver;
use openraft::{BasicNode, Config};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// How long any wait may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(10);

const MINUTE: Duration = Duration::from_secs(60);

struct Cluster {
    router: Router,
    nodes: Vec<Node>,
    _dirs: Vec<TempDir>,
}

async fn cluster() -> Cluster {
    let config = Arc::new(
        Config {
            heartbeat_interval: 50,
            election_timeout_min: 200,
            election_timeout_max: 400,
            ..Config::default()
        }
        .validate()
        .unwrap(),
    );
    let engine = leasehold::Config {
        batch_interval: Duration::from_millis(20),
        clock_interval: Duration::from_millis(200),
        ..leasehold::Config::default()
    };
    let router = Router::new();
    let (mut nodes, mut dirs) = (Vec::new(), Vec::new());
    for id in 1..=3 {
        let dir = TempDir::new().unwrap();
        let log = LogStore::open(dir.path()).unwrap();
        let sm = StateMachine::open(dir.path()).unwrap();
        let raft = Raft::new(
            id,
            Arc::clone(&config),
            router.network(id),
            log.clone(),
            sm.clone(),
        )
        .await
        .unwrap();
        router.add(id, raft.clone());
        nodes.push(Node::new(raft, log.clone(), sm, engine.clone()).unwrap());
        dirs.push(dir);
    }
    let members: BTreeMap<u64, BasicNode> = (1..=3)
        .map(|id| (id, BasicNode::new(format!("node-{id}"))))
        .collect();
    nodes[0].raft().initialize(members).await.unwrap();
    Cluster {
        router,
        nodes,
        _dirs: dirs,
    }
}

impl Cluster {
    fn node(&self, id: u64) -> &Node {
        &self.nodes[usize::try_from(id - 1).unwrap()]
    }

    /// The leader the nodes other than `not` agree on, once it serves requests.
    async fn serving_leader(&self, not: Option<u64>) -> u64 {
        let give_up = Instant::now() + PATIENCE;
        loop {
            assert!(Instant::now() < give_up, "no serving leader");
            let leaders: Vec<Option<u64>> = self
                .nodes
                .iter()
                .filter(|n| Some(n.id()) != not)
                .map(|n| n.raft().metrics().borrow_watched().current_leader)
                .collect();
            if let Some(Some(l)) = leaders.first()
                && Some(*l) != not
                && leaders.iter().all(|x| *x == Some(*l))
            {
                // A read-only probe: revoking a lease nobody holds changes nothing.
                let probe = Op::revoke(key(u64::MAX), "nobody");
                if self.node(*l).request(probe).await.is_ok() {
                    return *l;
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until every node but `not` applied what `leader` applied and all stand at
    /// the same log index (the idle leader keeps writing time batches); returns their
    /// replicated states' bytes. Nodes at the same index must have the same bytes.
    async fn settled(&self, leader: u64, not: Option<u64>) -> Vec<Vec<u8>> {
        let applied = self
            .node(leader)
            .raft()
            .metrics()
            .borrow_watched()
            .last_applied;
        let give_up = Instant::now() + PATIENCE;
        loop {
            assert!(Instant::now() < give_up, "the nodes do not settle");
            let states: Vec<_> = self
                .nodes
                .iter()
                .filter(|n| Some(n.id()) != not)
                .map(|n| n.state_machine().applied_bytes().unwrap())
                .collect();
            for (a, b) in states.iter().zip(&states[1..]) {
                if a.0 == b.0 {
                    assert_eq!(a.1, b.1, "replicas differ at {:?}", a.0);
                }
            }
            if states.iter().all(|s| s.0 == states[0].0 && s.0 >= applied) {
                return states.into_iter().map(|s| s.1).collect();
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    async fn shutdown(&self) {
        for n in &self.nodes {
            n.shutdown().await.unwrap();
        }
    }
}

fn key(n: u64) -> Key {
    Key::new("jobs", "worker", format!("lease-{n}"))
}

fn fsm(node: &Node) -> Fsm {
    node.state_machine().read(Clone::clone).unwrap()
}

/// The holder, token and log-time expiry of `key(n)` in `fsm`.
fn held(fsm: &Fsm, n: u64) -> Option<(String, u64, Time)> {
    fsm.lease(&key(n), fsm.global_time())
        .map(|l| (l.holder.to_string(), l.token, l.expiry))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn requests_through_the_leader_apply_on_every_node_alike() {
    let c = cluster().await;
    let leader = c.serving_leader(None).await;
    let mut tokens = Vec::new();
    for n in 0..10 {
        let outcome = c
            .node(leader)
            .request(Op::claim(key(n), format!("holder-{n}"), MINUTE))
            .await
            .unwrap();
        match outcome {
            Outcome::Applied(Ok(Some(token))) => tokens.push(token),
            other => panic!("claim {n}: {other:?}"),
        }
    }
    // A rival is told who holds the lease.
    let rival = c
        .node(leader)
        .request(Op::claim(key(0), "rival", MINUTE))
        .await
        .unwrap();
    assert_eq!(rival.name(), "held", "{rival:?}");
    // Followers do not serve; they name the leader.
    let follower = (1..=3).find(|id| *id != leader).unwrap();
    let refused = c
        .node(follower)
        .request(Op::claim(key(99), "x", MINUTE))
        .await;
    assert_eq!(
        refused,
        Err(RequestError::NotLeader {
            leader: Some(leader)
        })
    );

    let states = c.settled(leader, None).await;
    assert!(states.iter().all(|s| *s == states[0]), "replicas differ");
    for node in &c.nodes {
        let fsm = fsm(node);
        for (n, token) in (0..).zip(&tokens) {
            let (holder, t, _) = held(&fsm, n).unwrap();
            assert_eq!(
                (holder.as_str(), t),
                (format!("holder-{n}").as_str(), *token)
            );
        }
    }
    c.shutdown().await;
}

/// What one request of the stream got.
#[derive(Debug)]
struct Sent {
    n: u64,
    holder: String,
    answer: Result<Outcome, RequestError>,
}

/// Claims distinct leases (`task * 100_000 + i`) until `stop`, following the leader.
async fn stream(c: Arc<Cluster>, task: u64, stop: Arc<AtomicBool>) -> Vec<Sent> {
    let mut sent = Vec::new();
    let mut target = 1;
    let mut i = 0;
    while !stop.load(Ordering::Acquire) {
        let n = task * 100_000 + i;
        i += 1;
        let holder = format!("holder-{n}");
        let answer = c
            .node(target)
            .request(Op::claim(key(n), &*holder, MINUTE))
            .await;
        if let Err(RequestError::NotLeader { leader }) = &answer {
            target = leader.unwrap_or(target % 3 + 1);
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        sent.push(Sent { n, holder, answer });
    }
    sent
}

/// Checks every answer against the settled `state`: an `ok` claim is held by its holder
/// with its token, any other answer was not applied. Returns the answers by name.
fn check_answers(state: &Fsm, sent: &[Sent]) -> BTreeMap<&'static str, usize> {
    let mut counts = BTreeMap::new();
    for s in sent {
        let name = match &s.answer {
            Ok(outcome) => outcome.name(),
            Err(RequestError::NotLeader { .. }) => "not-leader",
            Err(RequestError::Stopped | RequestError::Unresolved(_)) => "stopped",
        };
        *counts.entry(name).or_insert(0) += 1;
        let now = held(state, s.n);
        match &s.answer {
            Ok(Outcome::Applied(Ok(Some(token)))) => assert!(
                now.as_ref()
                    .is_some_and(|(h, t, _)| *h == s.holder && t == token),
                "claim {} answered token {token}, but the state has {now:?}",
                s.n
            ),
            Ok(Outcome::Applied(result)) => panic!("claim {}: {result:?}", s.n),
            Ok(_) | Err(RequestError::NotLeader { .. }) => {
                assert!(
                    now.is_none_or(|(h, _, _)| h != s.holder),
                    "claim {} was not applied, but is held: {:?}",
                    s.n,
                    s.answer
                );
            }
            Err(e @ (RequestError::Stopped | RequestError::Unresolved(_))) => {
                panic!("claim {}: {e}", s.n)
            }
        }
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failover_answers_every_request_once_and_never_with_a_guess() {
    let c = Arc::new(cluster().await);
    let first = c.serving_leader(None).await;

    // An anchor lease, to watch its expiry across the failover.
    let anchor = 7_777_777;
    let anchored = c
        .node(first)
        .request(Op::claim(key(anchor), "anchor", MINUTE))
        .await
        .unwrap();
    assert!(anchored.is_ok(), "{anchored:?}");

    let stop = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = (1..=4)
        .map(|t| tokio::spawn(stream(Arc::clone(&c), t, Arc::clone(&stop))))
        .collect();
    tokio::time::sleep(Duration::from_millis(400)).await;

    // Cut the leader off mid-stream; read the anchor on a survivor first.
    let survivor = (1..=3).find(|id| *id != first).unwrap();
    let before = fsm(c.node(survivor));
    let (_, anchor_token, expiry_before) = held(&before, anchor).unwrap();
    c.router.cut_off(first);
    let second = c.serving_leader(Some(first)).await;
    assert_ne!(second, first);

    // The new leader's fence is applied (it serves); the anchor's expiry stands.
    let after = fsm(c.node(second));
    assert!(after.global_time() >= before.global_time());
    let (holder, token, expiry_after) = held(&after, anchor).unwrap();
    assert_eq!((holder.as_str(), token), ("anchor", anchor_token));
    assert!(
        expiry_after >= expiry_before,
        "the anchor's expiry moved back"
    );
    tokio::time::sleep(Duration::from_millis(400)).await;

    // Extending the anchor through the new leader moves its expiry on.
    let extended = c
        .node(second)
        .request(Op::claim(key(anchor), "anchor", MINUTE))
        .await
        .unwrap();
    assert!(extended.is_ok(), "{extended:?}");

    // Bring the old leader back so it learns the fate of its batches, then stop.
    c.router.reconnect(first);
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::Release);
    let mut sent = Vec::new();
    for t in tasks {
        sent.extend(tokio::time::timeout(PATIENCE, t).await.unwrap().unwrap());
    }

    let states = c.settled(second, None).await;
    assert!(states.iter().all(|s| *s == states[0]), "replicas differ");
    let state = fsm(c.node(second));
    let (_, _, expiry_extended) = held(&state, anchor).unwrap();
    assert!(expiry_extended > expiry_after);

    let counts = check_answers(&state, &sent);
    eprintln!("answers: {counts:?}");
    assert!(counts.get("ok").copied().unwrap_or(0) > 10, "{counts:?}");
    // Every request got exactly one answer: one record per request sent, with distinct
    // leases.
    let mut ns: Vec<u64> = sent.iter().map(|s| s.n).collect();
    ns.sort_unstable();
    ns.dedup();
    assert_eq!(ns.len(), sent.len());

    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn named_requests_lost_with_their_leader_are_resolved_from_the_log() {
    let c = Arc::new(cluster().await);
    let first = c.serving_leader(None).await;
    let epoch = c.node(first).serving_epoch().unwrap();
    let from = c
        .node(first)
        .state_machine()
        .last_applied()
        .unwrap()
        .map_or(0, |l| l.index);
    let client = 42;
    let count = 300;
    // Named claims, sent in a stream; the leader is cut off while they are in flight.
    let sender = {
        let c = Arc::clone(&c);
        tokio::spawn(async move {
            let mut answers = Vec::new();
            for n in 0..count {
                let c = Arc::clone(&c);
                answers.push(tokio::spawn(async move {
                    let op = Op::claim(key(n), format!("named-{n}"), MINUTE);
                    c.node(first)
                        .request_named(op, Some((client, n)), Some(epoch))
                        .await
                }));
                tokio::time::sleep(Duration::from_micros(300)).await;
            }
            answers
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    c.router.cut_off(first);
    let answers = sender.await.unwrap();
    let second = c.serving_leader(Some(first)).await;

    // A survivor tells each request's fate from its log.
    let requests: Vec<u64> = (0..count).collect();
    let resolved: BTreeMap<u64, Outcome> = c
        .node(second)
        .resolve(client, &requests, epoch, from, PATIENCE)
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(resolved.len(), requests.len());
    let state = fsm(c.node(second));
    let mut applied = 0;
    for (n, outcome) in &resolved {
        let now = held(&state, *n);
        match outcome {
            Outcome::Applied(Ok(Some(token))) => {
                applied += 1;
                assert_eq!(
                    now.map(|(h, t, _)| (h, t)),
                    Some((format!("named-{n}"), *token))
                );
            }
            Outcome::Aborted => assert_eq!(now, None, "request {n} resolved aborted"),
            other => panic!("request {n}: {other:?}"),
        }
    }
    eprintln!(
        "resolved: {applied} applied, {} aborted",
        resolved.len() - applied
    );
    assert!(applied > 0, "some requests applied before the cut");

    // The cut-off leader cannot tell: it still leads its epoch and nothing settles.
    let cut = c
        .node(first)
        .resolve(client, &requests, epoch, from, Duration::from_millis(300))
        .await;
    assert!(matches!(cut, Err(RequestError::Unresolved(_))), "{cut:?}");

    // Back in the cluster, the old leader answers its callers: the same outcomes.
    c.router.reconnect(first);
    for (n, answer) in (0..).zip(answers) {
        let answer = tokio::time::timeout(PATIENCE, answer)
            .await
            .unwrap()
            .unwrap();
        match answer {
            Ok(outcome) => assert_eq!(outcome, resolved[&n], "request {n}"),
            Err(RequestError::NotLeader { .. }) => {
                assert_eq!(resolved[&n], Outcome::Aborted, "request {n} was refused");
            }
            Err(e) => panic!("request {n}: {e}"),
        }
    }
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unreliable_network_with_a_failover_still_answers_every_request_truthfully() {
    let c = Arc::new(cluster().await);
    let first = c.serving_leader(None).await;
    // Every RPC delayed 1–15 ms; one request in ten and one reply in ten lost.
    let faults = Faults {
        drop_request: 0.1,
        drop_reply: 0.1,
        min_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(15),
    };
    c.router.set_faults(faults, 7);
    let stop = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = (1..=4)
        .map(|t| tokio::spawn(stream(Arc::clone(&c), t, Arc::clone(&stop))))
        .collect();
    tokio::time::sleep(Duration::from_millis(800)).await;
    c.router.cut_off(first);
    let second = c.serving_leader(Some(first)).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    c.router.reconnect(first);
    tokio::time::sleep(Duration::from_millis(400)).await;
    stop.store(true, Ordering::Release);
    let mut sent = Vec::new();
    for t in tasks {
        sent.extend(tokio::time::timeout(PATIENCE, t).await.unwrap().unwrap());
    }
    c.router.set_faults(Faults::NONE, 0);
    let leader = c.serving_leader(None).await;
    let states = c.settled(leader, None).await;
    assert!(states.iter().all(|s| *s == states[0]), "replicas differ");
    let counts = check_answers(&fsm(c.node(leader)), &sent);
    eprintln!("answers under faults (leaders {first}, {second}): {counts:?}");
    assert!(counts.get("ok").copied().unwrap_or(0) > 10, "{counts:?}");
    c.shutdown().await;
}
