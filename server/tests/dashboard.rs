//! What the browser dashboard needs of a node, over real HTTP on a loopback port: the
//! built dashboard served at `/` (`--dashboard`), the open reads (`--open-reads`), CORS,
//! and the watch with the whole state (`/v1/watch?state=true`), replayed with the core's
//! `Fsm` to the same results and the same later state.

mod common;

use common::{Http, PATIENCE, claim_body};
use futures_util::StreamExt;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::HeaderMap;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use leasehold::{Batch, Fsm, Op, Outcome, Snapshot};
use leasehold_server::daemon::{self, NodeOptions, Running};
use leasehold_server::types::OpError;
use leasehold_server::wire::{Lease, WatchBatch};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;
use tempfile::TempDir;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};

const TOKEN: &str = "dashboard-token";

const INDEX: &str = "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<title>leasehold</title>\n<link rel=\"stylesheet\" href=\"/style-0123abcd.css\">\n</head>\n<body><script type=\"module\" src=\"/leasehold-web-0123abcd.js\"></script></body>\n</html>\n";
const WASM: &[u8] = b"\0asm\x01\0\0\0 not really";

/// A built dashboard as Trunk leaves it, in `root/dist`, with a secret file beside it.
fn dist(root: &Path) -> std::path::PathBuf {
    let dist = root.join("dist");
    std::fs::create_dir_all(dist.join("assets")).unwrap();
    std::fs::write(dist.join("index.html"), INDEX).unwrap();
    std::fs::write(
        dist.join("leasehold-web-0123abcd.js"),
        "export default 1;\n",
    )
    .unwrap();
    std::fs::write(dist.join("leasehold-web-0123abcd_bg.wasm"), WASM).unwrap();
    std::fs::write(dist.join("style-0123abcd.css"), "body { margin: 0 }\n").unwrap();
    std::fs::write(dist.join("assets/logo.svg"), "<svg/>").unwrap();
    std::fs::write(dist.join("assets/scenario.json"), "{}").unwrap();
    std::fs::write(dist.join("LICENSE"), "MIT").unwrap();
    std::fs::write(root.join("secret.txt"), "do not serve").unwrap();
    dist
}

/// A one-node service with a token, configured by `f`, serving.
async fn node(dir: &Path, f: impl FnOnce(&mut NodeOptions)) -> Running {
    common::serving_node(&dir.join("data"), TOKEN, f).await
}

/// A response with its headers.
struct Raw {
    status: u16,
    headers: HeaderMap,
    body: Bytes,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

/// Sends `method path` with `token` (if any) and `body`, raw.
async fn raw(addr: &str, method: &str, path: &str, token: Option<&str>, body: &str) -> Raw {
    let client = Client::builder(TokioExecutor::new()).build_http();
    let mut request = hyper::Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"));
    if !body.is_empty() {
        request = request.header("content-type", "application/json");
    }
    if let Some(t) = token {
        request = request.header("authorization", format!("Bearer {t}"));
    }
    let request = request
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap();
    let response = tokio::time::timeout(PATIENCE, client.request(request))
        .await
        .expect("the request timed out")
        .expect("the request failed");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Raw {
        status,
        headers,
        body,
    }
}

/// Opens a WebSocket at `path`, with `token` if any.
async fn socket(
    addr: &str,
    path: &str,
    token: Option<&str>,
) -> Result<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    tungstenite::Error,
> {
    let mut request = format!("ws://{addr}{path}").into_client_request().unwrap();
    if let Some(t) = token {
        request
            .headers_mut()
            .insert("authorization", format!("Bearer {t}").parse().unwrap());
    }
    tokio_tungstenite::connect_async(request)
        .await
        .map(|(s, _)| s)
}

/// The HTTP status a refused WebSocket handshake was answered with.
fn refused_status(e: &tungstenite::Error) -> u16 {
    match e {
        tungstenite::Error::Http(response) => response.status().as_u16(),
        other => panic!("not refused with an HTTP status: {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_is_served_without_the_token_and_nothing_else_is() {
    let dir = TempDir::new().unwrap();
    let dist = dist(dir.path());
    let running = node(dir.path(), |o| o.dashboard = Some(dist.clone())).await;
    let addr = running.addr.to_string();

    // The page, at / and /index.html, with the attach meta right before </head>.
    let expected = INDEX.replace(
        "</head>",
        "<meta name=\"leasehold-attach\" content=\"self\"></head>",
    );
    for path in ["/", "/index.html"] {
        let r = raw(&addr, "GET", path, None, "").await;
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(
            r.header("content-type"),
            Some("text/html; charset=utf-8"),
            "{path}"
        );
        assert_eq!(r.header("cache-control"), Some("no-cache"), "{path}");
        assert_eq!(std::str::from_utf8(&r.body).unwrap(), expected, "{path}");
    }

    // Every other file as it is, its content type from its extension.
    for (path, content_type, bytes) in [
        (
            "/leasehold-web-0123abcd.js",
            "text/javascript",
            &b"export default 1;\n"[..],
        ),
        ("/leasehold-web-0123abcd_bg.wasm", "application/wasm", WASM),
        ("/style-0123abcd.css", "text/css", b"body { margin: 0 }\n"),
        ("/assets/logo.svg", "image/svg+xml", b"<svg/>"),
        ("/assets/scenario.json", "application/json", b"{}"),
        ("/LICENSE", "application/octet-stream", b"MIT"),
    ] {
        let r = raw(&addr, "GET", path, None, "").await;
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("content-type"), Some(content_type), "{path}");
        assert_eq!(&r.body[..], bytes, "{path}");
        assert_eq!(r.header("cache-control"), None, "{path}");
    }

    // Nothing else: unknown names, and no way out of the directory.
    for path in [
        "/missing.js",
        "/assets",
        "/assets/",
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/..%2fsecret.txt",
        "/assets/../../secret.txt",
        "/assets/%2e%2e/%2e%2e/secret.txt",
        "//etc/passwd",
        "/%2fetc%2fpasswd",
    ] {
        let r = raw(&addr, "GET", path, None, "").await;
        assert_eq!(r.status, 404, "{path}: {:?}", r.body);
    }

    // The API still needs the token (no --open-reads).
    for path in ["/v1/status", "/v1/leases", "/metrics"] {
        assert_eq!(
            raw(&addr, "GET", path, None, "").await.status,
            401,
            "{path}"
        );
        assert_eq!(raw(&addr, "GET", path, Some(TOKEN), "").await.status, 200);
    }
    let claim = claim_body("db", "a", 10_000).to_string();
    assert_eq!(
        raw(&addr, "POST", "/v1/claim", None, &claim).await.status,
        401
    );
    assert_eq!(
        raw(&addr, "GET", "/v1/nothing", Some(TOKEN), "")
            .await
            .status,
        404
    );
    let e = socket(&addr, "/v1/watch", None).await.unwrap_err();
    assert_eq!(refused_status(&e), 401);
    running.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_dashboard_option_nothing_is_served_at_the_root() {
    let dir = TempDir::new().unwrap();
    let running = node(dir.path(), |_| {}).await;
    let addr = running.addr.to_string();
    for path in ["/", "/index.html"] {
        let r = raw(&addr, "GET", path, Some(TOKEN), "").await;
        assert_eq!(r.status, 404, "{path}");
    }
    running.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_dashboard_refuses_to_start_naming_its_directory() {
    let dir = TempDir::new().unwrap();
    let missing = dir.path().join("nowhere");
    let mut options = NodeOptions::new(1, "127.0.0.1:0".parse().unwrap(), dir.path().join("d"));
    options.dashboard = Some(missing.clone());
    let e = daemon::start(options.clone()).await.unwrap_err();
    let message = e.to_string();
    assert!(
        message.contains(&missing.display().to_string()) && message.contains("./scripts/web.sh"),
        "{message}"
    );

    // A directory without index.html: refused too.
    std::fs::create_dir_all(&missing).unwrap();
    std::fs::write(missing.join("app.js"), "1").unwrap();
    let e = daemon::start(options).await.unwrap_err();
    let message = e.to_string();
    assert!(
        message.contains("index.html") && message.contains("./scripts/web.sh"),
        "{message}"
    );

    // leaseholdd says so and exits non-zero; its help documents the flags.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_leaseholdd"))
        .args(["--id", "1", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.path().join("d2"))
        .arg("--dashboard")
        .arg("--dashboard-dir")
        .arg(dir.path().join("gone"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&dir.path().join("gone").display().to_string())
            && stderr.contains("./scripts/web.sh"),
        "{stderr}"
    );
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_leaseholdd"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for flag in ["--dashboard ", "--dashboard-dir <DIR>", "--open-reads"] {
        assert!(help.contains(flag), "{flag} missing from --help:\n{help}");
    }
    assert!(help.contains("www/dist"), "{help}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_reads_need_no_token_and_everything_else_still_does() {
    let dir = TempDir::new().unwrap();
    let running = node(dir.path(), |o| {
        o.open_reads = true;
        o.fault_injection = true;
    })
    .await;
    let addr = running.addr.to_string();

    // The reads, without a token.
    for path in [
        "/v1/status",
        "/v1/leases",
        "/v1/leases?namespace=app",
        "/metrics",
    ] {
        let r = raw(&addr, "GET", path, None, "").await;
        assert_eq!(r.status, 200, "{path}: {:?}", r.body);
    }
    let mut watch = socket(&addr, "/v1/watch", None).await.unwrap();
    let first = next_text(&mut watch).await;
    assert_eq!(first["kind"], "snapshot", "{first}");

    // Everything else, not.
    let claim = claim_body("db", "a", 10_000).to_string();
    for (method, path, body) in [
        ("POST", "/v1/claim", claim.as_str()),
        ("POST", "/v1/revoke", "{}"),
        (
            "POST",
            "/v1/members/add",
            r#"{"id": 2, "addr": "127.0.0.1:1"}"#,
        ),
        ("POST", "/v1/members/remove", r#"{"id": 2}"#),
        ("POST", "/debug/clock", r#"{"skewMs": 1000}"#),
        ("POST", "/debug/disk", r#"{"fail": true}"#),
        ("GET", "/v1/stream", ""),
        ("GET", "/raft", ""),
        ("POST", "/v1/status", ""),
    ] {
        let r = raw(&addr, method, path, None, body).await;
        assert_eq!(r.status, 401, "{method} {path}: {:?}", r.body);
    }
    for path in ["/v1/stream", "/raft"] {
        let e = socket(&addr, path, None).await.unwrap_err();
        assert_eq!(refused_status(&e), 401, "{path}");
    }
    // With the token, a write goes through (and the open watch sees it).
    let r = raw(&addr, "POST", "/v1/claim", Some(TOKEN), &claim).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let batch = next_text(&mut watch).await;
    assert_eq!(batch["kind"], "batch", "{batch}");
    running.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_answers_preflights_and_marks_the_api_responses() {
    let dir = TempDir::new().unwrap();
    let dist = dist(dir.path());
    let running = node(dir.path(), |o| o.dashboard = Some(dist.clone())).await;
    let addr = running.addr.to_string();

    // Preflights on any path, without a token: 204 with the CORS headers.
    for path in [
        "/v1/claim",
        "/v1/status",
        "/v1/members/add",
        "/metrics",
        "/v1/nothing",
        "/",
    ] {
        let r = raw(&addr, "OPTIONS", path, None, "").await;
        assert_eq!(r.status, 204, "{path}");
        assert_eq!(r.header("access-control-allow-origin"), Some("*"), "{path}");
        assert_eq!(
            r.header("access-control-allow-methods"),
            Some("GET, POST, OPTIONS"),
            "{path}"
        );
        assert_eq!(
            r.header("access-control-allow-headers"),
            Some("authorization, content-type"),
            "{path}"
        );
        assert_eq!(r.header("access-control-max-age"), Some("600"), "{path}");
        assert!(r.body.is_empty(), "{path}");
    }

    // Every answer of the API carries the origin header: successes, refusals, 401s, 404s.
    let claim = claim_body("db", "a", 10_000).to_string();
    let held = claim_body("db", "b", 10_000).to_string();
    for (method, path, token, body, status) in [
        ("GET", "/v1/status", Some(TOKEN), "", 200),
        ("GET", "/v1/leases", Some(TOKEN), "", 200),
        ("GET", "/metrics", Some(TOKEN), "", 200),
        ("POST", "/v1/claim", Some(TOKEN), claim.as_str(), 200),
        ("POST", "/v1/claim", Some(TOKEN), held.as_str(), 409),
        ("POST", "/v1/claim", Some(TOKEN), "{", 400),
        ("GET", "/v1/status", None, "", 401),
        ("GET", "/metrics", None, "", 401),
        ("POST", "/v1/claim", None, claim.as_str(), 401),
        ("GET", "/v1/status", Some("wrong"), "", 401),
    ] {
        let r = raw(&addr, method, path, token, body).await;
        assert_eq!(r.status, status, "{method} {path}: {:?}", r.body);
        assert_eq!(
            r.header("access-control-allow-origin"),
            Some("*"),
            "{method} {path}"
        );
    }
    running.shutdown().await.unwrap();
}

/// The next text message of a watch, as JSON (binary messages are a failure here).
async fn next_text<S>(watch: &mut S) -> Value
where
    S: futures_util::Stream<Item = Result<Message, tungstenite::Error>> + Unpin,
{
    match next_data(watch).await {
        Message::Text(text) => serde_json::from_str(&text).unwrap(),
        _ => panic!("an unexpected binary message"),
    }
}

/// The next binary message of a watch.
async fn next_binary<S>(watch: &mut S) -> Bytes
where
    S: futures_util::Stream<Item = Result<Message, tungstenite::Error>> + Unpin,
{
    match next_data(watch).await {
        Message::Binary(bytes) => bytes,
        Message::Text(text) => panic!("a text message where a binary one belongs: {text}"),
        _ => unreachable!("next_data returns text or binary"),
    }
}

/// The next text or binary message of a watch (pings and the like skipped).
async fn next_data<S>(watch: &mut S) -> Message
where
    S: futures_util::Stream<Item = Result<Message, tungstenite::Error>> + Unpin,
{
    loop {
        let message = tokio::time::timeout(PATIENCE, watch.next())
            .await
            .expect("the watch timed out")
            .expect("the watch ended")
            .expect("the watch failed");
        if matches!(message, Message::Text(_) | Message::Binary(_)) {
            return message;
        }
    }
}

/// The leases of `fsm` as the watch's snapshot message writes them.
fn leases_json(fsm: &Fsm) -> Value {
    let leases: Vec<Lease> = fsm
        .leases(fsm.global_time())
        .iter()
        .map(Lease::from)
        .collect();
    serde_json::to_value(leases).unwrap()
}

/// Applies one batch message to `fsm`, checking that it gives the message's results and
/// events.
fn apply_message(fsm: &mut Fsm, message: &Value) {
    assert_eq!(message["kind"], "batch", "{message}");
    let ops: Vec<Op> = serde_json::from_value(message["ops"].clone()).unwrap();
    let batch = Batch::new(message["seq"].as_u64().unwrap(), ops);
    let mut events = Vec::new();
    let results: Vec<Value> = fsm
        .apply_batch(&batch)
        .into_iter()
        .map(|r| {
            let r = match r {
                Ok(applied) => {
                    events.extend(applied.events);
                    Ok(applied.token)
                }
                // As the service keeps an error (types::OpError).
                Err(e) => Err(OpError::from(&e).to_lease_error()),
            };
            serde_json::to_value(Outcome::Applied(r)).unwrap()
        })
        .collect();
    assert_eq!(Value::from(results), message["results"], "{message}");
    assert_eq!(
        serde_json::to_value(&events).unwrap(),
        message["events"],
        "{message}"
    );
}

/// Opens a watch with `state=true`: its snapshot message and the state it carries.
async fn watch_with_state(
    addr: &str,
    query: &str,
) -> (
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    Value,
    Snapshot,
) {
    let mut watch = socket(addr, &format!("/v1/watch?{query}"), Some(TOKEN))
        .await
        .unwrap();
    let first = next_text(&mut watch).await;
    assert_eq!(first["kind"], "snapshot", "{first}");
    assert_eq!(first["state"], true, "{first}");
    let bytes = next_binary(&mut watch).await;
    let snapshot = Snapshot::decode(&bytes).unwrap();
    (watch, first, snapshot)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_with_the_state_replays_to_the_same_results_and_state() {
    let dir = TempDir::new().unwrap();
    let running = node(dir.path(), |o| {
        o.engine.clock_interval = Duration::from_millis(200);
    })
    .await;
    let addr = running.addr.to_string();
    let http = Http::new(&addr, Some(TOKEN));

    // Some state: leases of two models, a pin.
    for (lease, holder) in [("db", "db/0"), ("cache", "cache/1"), ("queue", "q/2")] {
        let r = http
            .post("/v1/claim", &claim_body(lease, holder, 60_000))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let other = json!({"namespace": "app", "model": "other", "lease": "x", "holder": "h", "durationMs": 30_000});
    assert_eq!(http.post("/v1/claim", &other).await.status, 200);
    let pin = json!({"namespace": "app", "model": "m", "lease": "db", "entity": "machine-0", "reason": "upgrade"});
    assert_eq!(http.post("/v1/pin", &pin).await.status, 200);

    // Without state=true: no state, nothing binary.
    let mut plain = socket(&addr, "/v1/watch", Some(TOKEN)).await.unwrap();
    let first = next_text(&mut plain).await;
    assert_eq!(first["kind"], "snapshot");
    assert!(first.get("state").is_none(), "{first}");

    // With it: the snapshot message, then the state at exactly its index.
    let (mut watch, first, snapshot) = watch_with_state(&addr, "state=true").await;
    let index = first["index"].as_u64().unwrap();
    let mut fsm = Fsm::restore(snapshot);
    assert_eq!(
        fsm.global_time().as_millis(),
        first["globalTimeMs"].as_u64().unwrap()
    );
    assert_eq!(leases_json(&fsm), first["leases"], "{first}");
    assert_eq!(first["leases"].as_array().unwrap().len(), 4, "{first}");
    let db = first["leases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["lease"] == "db")
        .unwrap();
    assert_eq!(db["pinnedBy"], json!(["machine-0"]), "{first}");

    // More requests of every kind; each batch replays to the same results and events.
    let requests = [
        ("/v1/claim", claim_body("db", "db/1", 60_000)),
        ("/v1/extend", claim_body("cache", "cache/1", 90_000)),
        ("/v1/extend", claim_body("cache", "cache/9", 90_000)),
        ("/v1/claim", claim_body("new", "n/0", 5_000)),
        (
            "/v1/revoke",
            json!({"namespace": "app", "model": "m", "lease": "queue", "holder": "q/2"}),
        ),
        (
            "/v1/unpin",
            json!({"namespace": "app", "model": "m", "lease": "db", "entity": "machine-0"}),
        ),
        (
            "/v1/handover",
            json!({"namespace": "app", "model": "m", "lease": "db", "from": "db/0", "to": "db/1", "durationMs": 30_000}),
        ),
    ];
    let mut answered = Vec::new();
    for (path, body) in &requests {
        answered.push(http.post(path, body).await.status);
    }
    assert_eq!(answered, [409, 200, 409, 200, 200, 200, 200]);

    // A later watch's state is the one the first watch's batches replay to: read the
    // first watch past the later one's index (one more request makes a batch past it).
    let (_later, later_first, later_state) = watch_with_state(&addr, "state=true").await;
    let later = later_first["index"].as_u64().unwrap();
    assert!(later > index);
    let r = http
        .post("/v1/claim", &claim_body("marker", "m/0", 1_000))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // The state watch sends each batch as one binary `WatchBatch`; the plain watch, the
    // same batch as JSON. Both replay to the same results (and the JSON's events).
    let mut last = index;
    let mut results = Vec::new();
    loop {
        let frame: WatchBatch = postcard::from_bytes(&next_binary(&mut watch).await).unwrap();
        let at = frame.index;
        assert!(at > last, "batches in log order: {at} after {last}");
        last = at;
        if at > later {
            break;
        }
        let batch = Batch::decode(&frame.batch).unwrap();
        let message = loop {
            let m = next_text(&mut plain).await;
            if m["kind"] == "batch" && m["index"].as_u64().unwrap() >= at {
                break m;
            }
        };
        assert_eq!(message["index"].as_u64(), Some(at), "{message}");
        assert_eq!(message["seq"].as_u64(), Some(batch.seq), "{message}");
        assert_eq!(message["epoch"].as_u64(), Some(frame.epoch), "{message}");
        let ops: Vec<Op> = serde_json::from_value(message["ops"].clone()).unwrap();
        assert_eq!(ops, batch.ops);
        apply_message(&mut fsm, &message);
        let json = message["results"].as_array().unwrap();
        assert_eq!(frame.results.len(), json.len());
        for (binary, json) in frame.results.iter().zip(json) {
            match binary {
                Ok(token) => {
                    assert_eq!(json["ok"], true, "{json}");
                    assert_eq!(json.get("token").and_then(Value::as_u64), *token, "{json}");
                }
                Err(e) => {
                    assert_eq!(json["ok"], false, "{json}");
                    assert_eq!(json["message"].as_str(), Some(e.as_str()), "{json}");
                }
            }
        }
        results.extend(json.iter().cloned());
    }
    // The refusals reached the log, and replayed as refusals.
    let refusals = results
        .iter()
        .filter(|r| r.to_string().contains("held"))
        .count();
    assert!(refusals >= 1, "{results:?}");
    assert_eq!(fsm.snapshot(), later_state);
    assert_eq!(leases_json(&fsm), later_first["leases"]);

    // A watch resumed from an index (a replay) sends no state, even when asked.
    let mut resumed = socket(
        &addr,
        &format!("/v1/watch?from={}&state=true", index + 1),
        Some(TOKEN),
    )
    .await
    .unwrap();
    let first: WatchBatch = postcard::from_bytes(&next_binary(&mut resumed).await).unwrap();
    assert_eq!(first.index, index + 1, "the replay starts where asked");
    let second: WatchBatch = postcard::from_bytes(&next_binary(&mut resumed).await).unwrap();
    assert!(second.index > first.index);
    running.shutdown().await.unwrap();
}
