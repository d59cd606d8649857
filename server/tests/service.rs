//! One node of the service in this process, on a loopback port, with a token: the HTTP
//! API's answers and status codes, bad requests of every kind, the binary stream through
//! the `Client`, the watch, `track`, and the metrics.

mod common;

use common::{Http, PATIENCE, claim_body};
use futures_util::{SinkExt, StreamExt};
use leasehold::{Key, LeaseError, Outcome};
use leasehold_server::client::{Client, ClientError, ClientOptions, Leadership, WatchMessage};
use leasehold_server::daemon::{self, Running};
use leasehold_server::wire::{self, ClientFrame, ServerFrame};
use serde_json::json;
use std::time::Duration;
use tempfile::TempDir;
use tokio_tungstenite::tungstenite::Message;

const TOKEN: &str = "s3cret-token";

async fn node(dir: &TempDir) -> Running {
    common::serving_node(dir.path(), TOKEN, |_| {}).await
}

fn options() -> ClientOptions {
    ClientOptions {
        token: Some(TOKEN.into()),
        ..ClientOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_api_answers_every_request_with_its_status() {
    let dir = TempDir::new().unwrap();
    let running = node(&dir).await;
    let addr = running.addr.to_string();
    let http = Http::new(&addr, Some(TOKEN));

    // A grant: 200 with its token and expiry (log time).
    let r = http
        .post("/v1/claim", &claim_body("mysql", "mysql/0", 60_000))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let granted = r.json();
    assert_eq!(granted["ok"], true);
    assert_eq!(granted["reachedLog"], true);
    let token = granted["token"].as_u64().unwrap();
    let expires = granted["expiresMs"].as_u64().unwrap();
    assert!(expires >= 60_000, "{granted}");

    // Refusals: 409 held (naming the holder) and invalid.
    let r = http
        .post("/v1/claim", &claim_body("mysql", "mysql/1", 60_000))
        .await;
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (409, Some("held")),
        "{}",
        r.body
    );
    assert_eq!(r.json()["holder"], "mysql/0");
    let r = http
        .post("/v1/extend", &claim_body("mysql", "mysql/1", 60_000))
        .await;
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (409, Some("invalid")),
        "{}",
        r.body
    );

    // The other operations.
    let pin = json!({"namespace": "app", "model": "m", "lease": "mysql", "entity": "machine-0", "reason": "upgrade"});
    assert_eq!(http.post("/v1/pin", &pin).await.status, 200);
    let r = http.get("/v1/leases?namespace=app&model=m").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let leases = r.json();
    assert!(leases["globalTimeMs"].as_u64().is_some());
    let lease = &leases["leases"][0];
    assert_eq!(
        (&lease["lease"], &lease["holder"], lease["token"].as_u64()),
        (&json!("mysql"), &json!("mysql/0"), Some(token))
    );
    assert_eq!(lease["pinnedBy"], json!(["machine-0"]));
    let unpin = json!({"namespace": "app", "model": "m", "lease": "mysql", "entity": "machine-0"});
    assert_eq!(http.post("/v1/unpin", &unpin).await.status, 200);
    let handover = json!({"namespace": "app", "model": "m", "lease": "mysql", "from": "mysql/0", "to": "mysql/1", "durationMs": 30_000});
    let r = http.post("/v1/handover", &handover).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.json()["token"].as_u64().unwrap() > token,
        "tokens only grow"
    );
    let revoke = json!({"namespace": "app", "model": "m", "lease": "mysql", "holder": "mysql/1"});
    assert_eq!(http.post("/v1/revoke", &revoke).await.status, 200);
    let r = http.get("/v1/leases?namespace=other").await;
    assert_eq!(r.json()["leases"], json!([]));

    // Status, answered locally.
    let status = http.status().await;
    assert_eq!(status["id"], 1);
    assert_eq!(status["role"], "leader");
    assert_eq!(status["leader"], 1);
    assert_eq!(status["members"][0]["addr"], addr);
    for field in [
        "term",
        "commitIndex",
        "appliedIndex",
        "globalTimeMs",
        "leases",
    ] {
        assert!(status[field].as_u64().is_some(), "{field} in {status}");
    }

    // Metrics, in Prometheus text.
    let r = http.get("/metrics").await;
    assert_eq!(r.status, 200);
    for name in [
        "leasehold_queue_depth{lane=\"claim\"}",
        "leasehold_batches_total",
        "leasehold_ops_per_batch_count",
        "leasehold_answers_total{outcome=\"held\"}",
        "leasehold_answer_latency_seconds_bucket",
        "leasehold_raft_term",
        "leasehold_raft_commit_index",
        "leasehold_raft_applied_index",
    ] {
        assert!(
            r.body.contains(name),
            "{name} missing from the metrics:\n{}",
            r.body
        );
    }
    running.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_answered_and_name_what_is_wrong() {
    let dir = TempDir::new().unwrap();
    let running = node(&dir).await;
    let addr = running.addr.to_string();
    let http = Http::new(&addr, Some(TOKEN));

    // No token, a wrong token: 401, for every route.
    for token in [None, Some("wrong")] {
        let anonymous = Http::new(&addr, token);
        for (method, path) in [
            ("POST", "/v1/claim"),
            ("GET", "/v1/leases"),
            ("GET", "/v1/status"),
            ("GET", "/metrics"),
            ("GET", "/raft"),
        ] {
            let r = anonymous
                .send(method, path, claim_body("a", "b", 1).to_string())
                .await;
            assert_eq!(r.status, 401, "{method} {path} with {token:?}: {}", r.body);
        }
    }

    // Malformed bodies: 400 `rejected`, the message naming the field.
    let cases: [(&str, &str, &str); 9] = [
        ("/v1/claim", "{not json", "not valid JSON"),
        ("/v1/claim", "[1, 2]", "JSON object"),
        (
            "/v1/claim",
            r#"{"namespace":"app","model":"m","lease":"l","durationMs":1000}"#,
            "`holder`",
        ),
        (
            "/v1/claim",
            r#"{"namespace":"app","model":"m","lease":"l","holder":"h","durationMs":-1}"#,
            "`durationMs`",
        ),
        (
            "/v1/claim",
            r#"{"namespace":"app","model":"m","lease":"l","holder":"h","durationMs":"60s"}"#,
            "`durationMs`",
        ),
        (
            "/v1/extend",
            r#"{"namespace":"app","model":"m","lease":"l","holder":"h","durationMs":9007199254740991}"#,
            "durationMs",
        ),
        (
            "/v1/revoke",
            r#"{"namespace":"app","model":"m","lease":"l","holder":"h","color":"red"}"#,
            "`color`",
        ),
        (
            "/v1/pin",
            r#"{"namespace":"app","model":"m","lease":"l","entity":"","reason":"x"}"#,
            "entity",
        ),
        (
            "/v1/handover",
            r#"{"namespace":"app","model":"m","lease":"l","from":"a","to":7,"durationMs":1}"#,
            "`to`",
        ),
    ];
    for (path, body, names) in cases {
        let r = http.send("POST", path, body.to_owned()).await;
        assert_eq!(r.status, 400, "{path} {body}: {}", r.body);
        let answer = r.json();
        assert_eq!(answer["error"], "rejected", "{body}");
        assert_eq!(answer["reachedLog"], false, "{body}");
        let message = answer["message"].as_str().unwrap();
        assert!(
            message.contains(names),
            "{body}: `{message}` does not name {names}"
        );
    }

    // A body over 1 MiB: 413. An unknown path: 404.
    let huge = format!(r#"{{"namespace":"{}"}}"#, "x".repeat(2 << 20));
    assert_eq!(http.send("POST", "/v1/claim", huge).await.status, 413);
    // The server closes a connection whose body it did not read: the next request goes
    // on a new one (a pooled connection may not have seen the close yet).
    let http = Http::new(&addr, Some(TOKEN));
    assert_eq!(http.get("/v1/nothing").await.status, 404);

    // The binary stream: a malformed frame is answered with an error, then closed.
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(format!(
            "ws://{addr}/v1/stream"
        ))
        .unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {TOKEN}").parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    socket
        .send(Message::Binary(vec![0xff, 0xfe, 0x00].into()))
        .await
        .unwrap();
    let Some(Ok(Message::Binary(reply))) = socket.next().await else {
        panic!("no error frame");
    };
    let frame: ServerFrame = wire::decode(&reply, "server frame").unwrap();
    assert!(
        matches!(&frame, ServerFrame::Error { message } if message.contains("client frame")),
        "{frame:?}"
    );

    // A bad batch after a good hello: an error too; the node keeps serving.
    let (mut socket, _) = {
        let mut request =
            tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
                format!("ws://{addr}/v1/stream"),
            )
            .unwrap();
        request
            .headers_mut()
            .insert("authorization", format!("Bearer {TOKEN}").parse().unwrap());
        tokio_tungstenite::connect_async(request).await.unwrap()
    };
    let hello = wire::encode(&ClientFrame::Hello { client: 9 }).unwrap();
    socket.send(Message::Binary(hello.into())).await.unwrap();
    let _hello = socket.next().await.unwrap().unwrap();
    let ops = wire::encode(&ClientFrame::Ops {
        first: 1,
        batch: vec![b'B', 1, 200, 200],
    })
    .unwrap();
    socket.send(Message::Binary(ops.into())).await.unwrap();
    let Some(Ok(Message::Binary(reply))) = socket.next().await else {
        panic!("no error frame");
    };
    let frame: ServerFrame = wire::decode(&reply, "server frame").unwrap();
    assert!(
        matches!(&frame, ServerFrame::Error { message } if message.contains("batch")),
        "{frame:?}"
    );
    let r = http
        .post("/v1/claim", &claim_body("after", "h", 1000))
        .await;
    assert_eq!(r.status, 200, "the node still serves: {}", r.body);

    // Listening beyond loopback needs a token.
    let public = "0.0.0.0:7499".parse().unwrap();
    let e = daemon::check_listen(public, None).unwrap_err();
    assert!(e.to_string().contains("0.0.0.0:7499"), "{e}");
    daemon::check_listen(public, Some("t")).unwrap();
    running.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_runs_operations_watch_and_track_over_the_stream() {
    let dir = TempDir::new().unwrap();
    let running = node(&dir).await;
    let addr = running.addr.to_string();

    let refused = Client::connect(&[addr.as_str()], ClientOptions::default()).await;
    assert_eq!(refused.unwrap_err(), ClientError::Unauthorized);
    let client = Client::connect(&[addr.as_str()], options()).await.unwrap();
    let mut watch = client.watch(None).await.unwrap();
    let Some(Ok(WatchMessage::Snapshot { index, .. })) = watch.next().await else {
        panic!("the watch starts with a snapshot");
    };

    // Many requests at once share frames; each gets its own answer.
    let minute = Duration::from_secs(60);
    let claims = (0..500).map(|i| {
        let client = client.clone();
        async move {
            client
                .claim(
                    Key::new("jobs", "m", format!("job-{i}")),
                    &format!("worker-{i}"),
                    minute,
                )
                .await
        }
    });
    let outcomes = futures_util::future::join_all(claims).await;
    for (i, outcome) in outcomes.iter().enumerate() {
        assert!(
            matches!(outcome, Ok(Outcome::Applied(Ok(Some(_))))),
            "claim {i}: {outcome:?}"
        );
    }
    let key = Key::new("jobs", "m", "job-0");
    let held = client.claim(key.clone(), "intruder", minute).await.unwrap();
    assert_eq!(
        held,
        Outcome::Applied(Err(LeaseError::Held {
            holder: "worker-0".into()
        }))
    );
    assert!(
        client
            .extend(key.clone(), "worker-0", minute)
            .await
            .unwrap()
            .is_ok()
    );
    assert!(
        client
            .pin(key.clone(), "machine-1", None, Some("backup"))
            .await
            .unwrap()
            .is_ok()
    );
    assert!(
        client
            .unpin(key.clone(), "machine-1")
            .await
            .unwrap()
            .is_ok()
    );
    assert!(
        client
            .handover(key.clone(), "worker-0", "worker-x", minute)
            .await
            .unwrap()
            .is_ok()
    );
    assert!(
        client
            .revoke(key.clone(), "worker-x")
            .await
            .unwrap()
            .is_ok()
    );
    let leases = client.leases(Some("jobs"), Some("m")).await.unwrap();
    assert_eq!(leases.leases.len(), 499);
    assert_eq!(client.status().await.unwrap().role, "leader");

    // The watch saw the claims, after the snapshot's index, with their events.
    let mut claimed = 0;
    let mut last = index;
    while claimed < 500 {
        let message = tokio::time::timeout(PATIENCE, watch.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let WatchMessage::Batch {
            index,
            ops,
            results,
            events,
            ..
        } = message
        else {
            panic!("a second snapshot");
        };
        assert!(index > last, "batches in log order");
        last = index;
        assert_eq!(ops.len(), results.len());
        claimed += events.iter().filter(|e| e["event"] == "claimed").count();
    }

    // Resuming from an index replays the batches from there.
    let mut resumed = client.watch(Some(index + 1)).await.unwrap();
    let Some(Ok(WatchMessage::Batch { index: first, .. })) = resumed.next().await else {
        panic!("a resumed watch starts with batches");
    };
    assert_eq!(first, index + 1);

    // Track: elected with a token, deposed after stop (the lease is revoked).
    let tracked = Key::new("application-leadership", "m", "app");
    let mut tracking = client.track(tracked.clone(), "app/0", Duration::from_secs(10));
    let elected = tokio::time::timeout(PATIENCE, tracking.next())
        .await
        .unwrap();
    assert!(
        matches!(elected, Some(Leadership::Elected { ref key, .. }) if *key == tracked),
        "{elected:?}"
    );
    let mut rival = client.track(tracked.clone(), "app/1", Duration::from_secs(10));
    tracking.stop().await;
    let took_over = tokio::time::timeout(PATIENCE, rival.next()).await.unwrap();
    assert!(
        matches!(took_over, Some(Leadership::Elected { .. })),
        "{took_over:?}"
    );
    rival.stop().await;
    running.shutdown().await.unwrap();
}

/// `leasehold_log_fsyncs_total` of the node's metrics.
async fn log_fsyncs(http: &Http) -> u64 {
    let r = http.get("/metrics").await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
        .lines()
        .find_map(|l| l.strip_prefix("leasehold_log_fsyncs_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no leasehold_log_fsyncs_total in the metrics:\n{}", r.body))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_fsyncs_counter_rises_after_a_claim() {
    let dir = TempDir::new().unwrap();
    let running = node(&dir).await;
    let http = Http::new(running.addr.to_string(), Some(TOKEN));
    let before = log_fsyncs(&http).await;
    assert!(before > 0, "starting a node writes its vote and log");
    let r = http
        .post("/v1/claim", &claim_body("fsynced", "a/0", 60_000))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // The claim's batch is one appended entry, fsynced before it was answered.
    let after = log_fsyncs(&http).await;
    assert!(
        after > before,
        "{before} fsyncs before the claim, {after} after"
    );
    running.shutdown().await.unwrap();
}
