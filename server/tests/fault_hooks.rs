//! The fault-injection hooks of a node, in this process: the debug routes exist only with
//! fault injection (and stay behind the token), a skewed clock (ahead, then behind) never
//! stops the node nor moves `globalTimeMs` back, a failed disk stops the node without a
//! request answered `ok` after it, and `--dial` reaches a peer through another address.

mod common;

use common::{Http, PATIENCE, claim_body, eventually};
use leasehold_server::daemon::{self, NodeOptions, Running};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const TOKEN: &str = "s3cret-token";

fn options(dir: &TempDir, fault_injection: bool, token: Option<&str>) -> NodeOptions {
    let mut options = NodeOptions::new(1, "127.0.0.1:0".parse().unwrap(), dir.path());
    options.token = token.map(str::to_owned);
    options.fault_injection = fault_injection;
    options.engine.batch_interval = Duration::from_millis(20);
    options.heartbeat_ms = 50;
    options.election_timeout_ms = 200;
    options
}

/// Waits until the node at `http` serves: a harmless revoke is answered from the log.
async fn serving(http: &Http) {
    let probe = json!({"namespace": "app", "model": "m", "lease": "probe", "holder": "nobody"});
    eventually("the node to serve", || {
        let http = http.clone();
        let probe = probe.clone();
        async move {
            let r = http.post("/v1/revoke", &probe).await;
            (r.status != 404 && r.status != 401)
                .then(|| r.json()["reachedLog"].as_bool().filter(|r| *r))
                .flatten()
        }
    })
    .await;
}

async fn node(dir: &TempDir, fault_injection: bool, token: Option<&str>) -> (Running, Http) {
    let running = daemon::start(options(dir, fault_injection, token))
        .await
        .unwrap();
    let http = Http::new(running.addr.to_string(), token);
    serving(&http).await;
    (running, http)
}

/// One HTTP/1.1 request on a fresh connection: its status and body, or `None` when the
/// connection failed or closed without an answer.
async fn try_post(addr: &str, path: &str, body: &serde_json::Value) -> Option<(u16, String)> {
    let exchange = async {
        let mut socket = TcpStream::connect(addr).await.ok()?;
        let body = body.to_string();
        let request = format!(
            "POST {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        socket.write_all(request.as_bytes()).await.ok()?;
        let mut reply = Vec::new();
        socket.read_to_end(&mut reply).await.ok()?;
        let reply = String::from_utf8_lossy(&reply).into_owned();
        let status = reply.split(' ').nth(1)?.parse().ok()?;
        let body = reply
            .split_once("\r\n\r\n")
            .map_or(String::new(), |(_, b)| b.to_owned());
        Some((status, body))
    };
    tokio::time::timeout(PATIENCE, exchange)
        .await
        .expect("a request after the failure hung")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_debug_routes_exist_only_with_fault_injection_and_behind_the_token() {
    let dir = TempDir::new().unwrap();
    let (plain, http) = node(&dir, false, None).await;
    for (path, body) in [
        ("/debug/clock", json!({"skewMs": 1000})),
        ("/debug/disk", json!({"fail": true})),
    ] {
        let r = http.post(path, &body).await;
        assert_eq!(r.status, 404, "{path}: {}", r.body);
    }
    // The disk was not failed: the node still serves.
    let r = http.post("/v1/claim", &claim_body("a", "h", 10_000)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    plain.shutdown().await.unwrap();

    let dir = TempDir::new().unwrap();
    let (injectable, http) = node(&dir, true, Some(TOKEN)).await;
    let anonymous = Http::new(http.addr.clone(), None);
    let r = anonymous
        .post("/debug/clock", &json!({"skewMs": 1000}))
        .await;
    assert_eq!(r.status, 401, "{}", r.body);
    let r = anonymous.post("/debug/disk", &json!({"fail": true})).await;
    assert_eq!(r.status, 401, "{}", r.body);
    let r = http.post("/debug/clock", &json!({"skewMs": "soon"})).await;
    assert_eq!(r.status, 400, "{}", r.body);
    let r = http.post("/debug/clock", &json!({"skewMs": 0})).await;
    assert_eq!(
        (r.status, r.json()),
        (200, json!({"ok": true, "skewMs": 0}))
    );
    let r = http.post("/debug/disk", &json!({"fail": false})).await;
    assert_eq!(
        (r.status, r.json()),
        (200, json!({"ok": true, "fail": false}))
    );
    let r = http.post("/v1/claim", &claim_body("a", "h", 10_000)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    injectable.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_skewed_clock_never_stops_the_node_nor_moves_global_time_back() {
    let dir = TempDir::new().unwrap();
    let (running, http) = node(&dir, true, None).await;

    // Samples globalTimeMs all along; it must never go back.
    let last = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (http, last) = (http.clone(), Arc::clone(&last));
        tokio::spawn(async move {
            loop {
                let g = http.status().await["globalTimeMs"].as_u64().unwrap();
                let before = last.swap(g, Ordering::SeqCst);
                assert!(g >= before, "globalTimeMs went back from {before} to {g}");
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        })
    };
    let claim = |n: u32| {
        let http = http.clone();
        async move {
            let r = http
                .post("/v1/claim", &claim_body(&format!("l{n}"), "h", 600_000))
                .await;
            assert_eq!(r.status, 200, "claim {n}: {}", r.body);
            assert_eq!(r.json()["ok"], true, "claim {n}: {}", r.body);
        }
    };
    claim(0).await;
    let g0 = http.status().await["globalTimeMs"].as_u64().unwrap();

    // Ahead by 2 s: log time jumps ahead with the next batch.
    let r = http.post("/debug/clock", &json!({"skewMs": 2000})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    claim(1).await;
    eventually("log time to jump ahead", || {
        let http = http.clone();
        async move {
            let g = http.status().await["globalTimeMs"].as_u64().unwrap();
            (g >= g0 + 2000).then_some(())
        }
    })
    .await;

    // Behind by 1 s (a jump back of 3 s): log time stands still until the clock catches
    // up, and the request is answered then.
    let r = http.post("/debug/clock", &json!({"skewMs": -1000})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    claim(2).await;
    // Far behind (before the node started), briefly: nothing panics.
    let r = http
        .post("/debug/clock", &json!({"skewMs": i64::MIN}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let r = http.post("/debug/clock", &json!({"skewMs": 0})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    claim(3).await;

    let g1 = http.status().await["globalTimeMs"].as_u64().unwrap();
    assert!(g1 >= g0 + 2000, "{g1} < {g0} + 2000");
    assert!(!sampler.is_finished(), "the sampler failed");
    sampler.abort();
    assert!(running.failure().is_none());
    running.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_disk_stops_the_node_and_nothing_is_acknowledged_after_it() {
    let dir = TempDir::new().unwrap();
    let (mut running, http) = node(&dir, true, None).await;
    let addr = running.addr.to_string();
    let r = http
        .post("/v1/claim", &claim_body("before", "h", 60_000))
        .await;
    assert_eq!(r.json()["ok"], true, "{}", r.body);

    let r = http.post("/debug/disk", &json!({"fail": true})).await;
    assert_eq!(r.status, 200, "{}", r.body);

    // Requests from now on, some at once: none is answered ok (they fail, or the node
    // no longer listens).
    let mut requests = Vec::new();
    for n in 0..8 {
        let addr = addr.clone();
        requests.push(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(n * 30)).await;
            try_post(
                &addr,
                "/v1/claim",
                &claim_body(&format!("after{n}"), "h", 60_000),
            )
            .await
        }));
    }
    for request in requests {
        if let Some((status, body)) = request.await.unwrap() {
            assert_ne!(status, 200, "{body}");
            assert!(!body.contains("\"ok\":true"), "{body}");
        }
    }

    // The node reports its failure.
    let ended = tokio::time::timeout(PATIENCE, running.wait())
        .await
        .expect("the node did not stop");
    let error = ended.expect_err("the node stopped without an error");
    assert!(error.to_string().contains("failed"), "{error}");
    let why = running.failure().expect("no failure reported");
    assert!(why.contains("injected disk failure"), "{why}");
    // Nothing more is answered.
    let after = try_post(&addr, "/v1/claim", &claim_body("late", "h", 60_000)).await;
    assert!(
        after.as_ref().is_none_or(|(status, _)| *status != 200),
        "{after:?}"
    );
    let _ = running.shutdown().await;
}

/// A TCP forwarder: connections to the returned address reach `target`; counts them.
async fn forwarder(target: String) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let count = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&count);
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            let target = target.clone();
            tokio::spawn(async move {
                if let Ok(mut outbound) = TcpStream::connect(&target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    (addr, count)
}

fn free_addr() -> String {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dial_override_reaches_the_peer_through_a_forwarder() {
    let addrs: BTreeMap<u64, String> = (1..=3).map(|id| (id, free_addr())).collect();
    let (proxy, through) = forwarder(addrs[&2].clone()).await;
    let dirs: Vec<TempDir> = (0..3).map(|_| TempDir::new().unwrap()).collect();
    let mut nodes = Vec::new();
    for id in 1..=3u64 {
        let dir = &dirs[usize::try_from(id - 1).unwrap()];
        let mut options = options(dir, true, None);
        options.id = id;
        options.listen = addrs[&id].parse().unwrap();
        options.peers = addrs
            .iter()
            .filter(|(p, _)| **p != id)
            .map(|(p, a)| (*p, a.clone()))
            .collect();
        if id == 1 {
            options.dial = BTreeMap::from([(2, proxy.clone())]);
        }
        nodes.push(daemon::start(options).await.unwrap());
    }
    // A leader is elected and serves, with node 1's Raft traffic to node 2 forwarded.
    let http = Http::new(addrs[&1].clone(), None);
    serving(&http).await;
    let r = http
        .post("/v1/claim", &claim_body("dialed", "h", 60_000))
        .await;
    assert_eq!(r.json()["ok"], true, "{}", r.body);
    eventually("node 1 to reach node 2 through the forwarder", || {
        let n = through.load(Ordering::SeqCst);
        async move { (n > 0).then_some(()) }
    })
    .await;
    for node in nodes {
        node.shutdown().await.unwrap();
    }
}
