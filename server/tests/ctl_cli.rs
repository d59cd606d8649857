//! `leaseholdctl` as a user meets it, with no service running: its help, its usage
//! errors, an endpoint nobody listens on, a missing token file; then against a stub of
//! the HTTP API (canned answers, served in-process) for its output and exit statuses.

use axum::Router;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

/// Runs `leaseholdctl` with `args`, without the environment's settings of it.
fn ctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_leaseholdctl"))
        .args(args)
        .env_remove("LEASEHOLD_ENDPOINT")
        .env_remove("LEASEHOLD_TOKEN_FILE")
        .output()
        .expect("leaseholdctl runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn help_lists_every_command() {
    let out = ctl(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = stdout(&out);
    let commands = [
        "claim", "extend", "revoke", "pin", "unpin", "handover", "leases", "status", "watch",
        "members",
    ];
    for command in commands {
        assert!(
            help.contains(&format!("\n  {command} ")),
            "{command} missing:\n{help}"
        );
    }
    let members = stdout(&ctl(&["members", "--help"]));
    assert!(
        members.contains("add") && members.contains("remove"),
        "{members}"
    );
}

#[test]
fn a_bad_duration_is_a_usage_error_naming_the_argument() {
    let out = ctl(&["claim", "ns", "m", "db", "db/0", "--duration", "5x"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("--duration") && err.contains("5x"), "{err}");
    let out = ctl(&["pin", "ns", "m", "db", "op/1", "--until", "soon"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--until"), "{}", stderr(&out));
}

#[test]
fn a_missing_duration_is_a_usage_error() {
    let out = ctl(&["handover", "ns", "m", "db", "a", "b"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--duration"), "{}", stderr(&out));
}

#[test]
fn an_unreachable_endpoint_exits_3_naming_it() {
    for command in [
        &["status"][..],
        &["claim", "ns", "m", "db", "db/0", "--duration", "60s"],
    ] {
        let mut args = vec!["--endpoint", "http://127.0.0.1:1"];
        args.extend(command);
        let out = ctl(&args);
        assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("http://127.0.0.1:1"),
            "{}",
            stderr(&out)
        );
    }
    let out = ctl(&["--endpoint", "http://127.0.0.1:1", "watch"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("http://127.0.0.1:1"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_https_endpoint_is_refused() {
    let out = ctl(&["--endpoint", "https://127.0.0.1:7401", "status"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("TLS is not supported"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_missing_token_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-such-token");
    let path = path.to_str().unwrap();
    let out = ctl(&[
        "--token-file",
        path,
        "--endpoint",
        "http://127.0.0.1:1",
        "status",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains(path), "{}", stderr(&out));
}

// ---- against a stub of the API --------------------------------------------------------

/// What the stub was sent: `(path and query, Authorization, body)`.
type Seen = Arc<Mutex<Vec<(String, Option<String>, String)>>>;

/// The stub's answers, keyed by what the request asks.
fn stub(seen: Seen) -> Router {
    Router::new()
        .route("/v1/claim", post(claim))
        .route(
            "/v1/revoke",
            post(|| async { (StatusCode::UNAUTHORIZED, "missing token") }),
        )
        .route("/v1/pin", post(claim))
        .route("/v1/leases", get(leases))
        .route("/v1/status", get(status))
        .route("/v1/watch", get(watch))
        .with_state(seen)
}

/// Records a request.
fn record(seen: &Seen, path: &str, headers: &HeaderMap, body: String) {
    let auth = headers
        .get("authorization")
        .map(|v| v.to_str().unwrap().to_string());
    seen.lock().unwrap().push((path.to_string(), auth, body));
}

/// `holder: "taken"` is held by another; anything else is granted.
async fn claim(State(seen): State<Seen>, headers: HeaderMap, body: String) -> Response {
    record(&seen, "claim", &headers, body.clone());
    if body.contains("\"taken\"") {
        let held = r#"{"ok":false,"reachedLog":true,"error":"held","message":"held by unit/1","holder":"unit/1"}"#;
        return (StatusCode::CONFLICT, held).into_response();
    }
    r#"{"ok":true,"reachedLog":true,"token":7,"expiresMs":60000}"#.into_response()
}

async fn leases(State(seen): State<Seen>, RawQuery(q): RawQuery, headers: HeaderMap) -> Response {
    record(
        &seen,
        &format!("leases?{}", q.unwrap_or_default()),
        &headers,
        String::new(),
    );
    let body = r#"{"globalTimeMs":1500,"leases":[{"namespace":"ns","model":"m","lease":"db",
        "holder":"db/0","token":3,"expiresMs":61250,"pinnedBy":["op/1"]}]}"#;
    body.into_response()
}

async fn status() -> Response {
    let body = r#"{"id":1,"role":"leader","leader":1,"term":2,"members":[{"id":1,
        "addr":"127.0.0.1:7501","voter":true}],"commitIndex":9,"appliedIndex":9,
        "globalTimeMs":1500,"leases":1}"#;
    body.into_response()
}

async fn watch(
    State(seen): State<Seen>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    record(&seen, "watch", &headers, String::new());
    upgrade.on_upgrade(feed)
}

/// A snapshot, a batch, then a normal close.
async fn feed(mut socket: WebSocket) {
    let messages = [
        r#"{"kind":"snapshot","index":4,"globalTimeMs":1500,"leases":[]}"#,
        r#"{"kind":"batch","index":5,"seq":1,"epoch":2,"ops":1,"events":[{"event":"claimed","namespace":"ns","model":"m","lease":"db","holder":"db/0","token":1}]}"#,
    ];
    for m in messages {
        socket.send(Message::Text(m.into())).await.unwrap();
    }
    let close = CloseFrame {
        code: 1000,
        reason: "".into(),
    };
    let _ = socket.send(Message::Close(Some(close))).await;
    while let Some(Ok(_)) = socket.recv().await {}
}

/// Serves the stub on a free port: its endpoint, what it saw, and the runtime (kept
/// alive by the caller).
fn serve() -> (String, Seen, tokio::runtime::Runtime) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let seen = Seen::default();
    let app = stub(Arc::clone(&seen));
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    runtime.spawn(async move { axum::serve(listener, app).await });
    (endpoint, seen, runtime)
}

#[test]
fn operations_print_their_answer_and_exit_by_it() {
    let (endpoint, seen, _runtime) = serve();
    let claim = ["claim", "ns", "m", "db", "db/0", "--duration", "1m"];
    let out = ctl(&[&["--endpoint", &endpoint], &claim[..]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "ok  token 7  expires at 60.000s (log time)\n");
    let body = seen.lock().unwrap()[0].2.clone();
    let expected =
        r#"{"namespace":"ns","model":"m","lease":"db","holder":"db/0","durationMs":60000}"#;
    assert_eq!(body, expected);

    let out = ctl(&[
        "--endpoint",
        &endpoint,
        "claim",
        "ns",
        "m",
        "db",
        "taken",
        "--duration",
        "5s",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "held  by unit/1\n");

    let out = ctl(&[
        "--endpoint",
        &endpoint,
        "--json",
        "claim",
        "ns",
        "m",
        "db",
        "taken",
        "--duration",
        "5s",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).starts_with("{\n  \"ok\": false,\n  \"reachedLog\": true,"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_plain_text_refusal_shows_its_status_and_text() {
    let (endpoint, _seen, _runtime) = serve();
    let out = ctl(&["--endpoint", &endpoint, "revoke", "ns", "m", "db", "db/0"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("401 Unauthorized") && err.contains("missing token"),
        "{err}"
    );
    let elsewhere = format!("{endpoint}/elsewhere");
    for command in ["status", "watch"] {
        let out = ctl(&["--endpoint", &elsewhere, command]);
        assert_eq!(out.status.code(), Some(1), "{command}: {}", stderr(&out));
        assert!(stderr(&out).contains("404 Not Found"), "{}", stderr(&out));
    }
}

#[test]
fn the_token_goes_with_every_request() {
    let (endpoint, seen, _runtime) = serve();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, "  s3cret\n").unwrap();
    let file = file.to_str().unwrap();
    let pin = [
        "pin", "ns", "m", "db", "op/1", "--until", "10m", "--reason", "upgrade",
    ];
    for command in [&pin[..], &["leases", "--namespace", "a b"], &["watch"]] {
        let out = ctl(&[&["--endpoint", &endpoint, "--token-file", file], command].concat());
        assert_eq!(out.status.code(), Some(0), "{command:?}: {}", stderr(&out));
    }
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    for (_, auth, _) in seen.iter() {
        assert_eq!(auth.as_deref(), Some("Bearer s3cret"));
    }
    let pin_body = r#"{"namespace":"ns","model":"m","lease":"db","entity":"op/1","untilMs":600000,"reason":"upgrade"}"#;
    assert_eq!(seen[0].2, pin_body);
    assert_eq!(seen[1].0, "leases?namespace=a%20b");
}

#[test]
fn reads_print_tables_and_lines() {
    let (endpoint, _seen, _runtime) = serve();
    let out = ctl(&["--endpoint", &endpoint, "leases"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let expected = "\
NAMESPACE  MODEL  LEASE  HOLDER  TOKEN  EXPIRES  PINNED
ns         m      db     db/0    3      61.250s  op/1
1 lease at log time 1.500s
";
    assert_eq!(stdout(&out), expected);

    let out = ctl(&["--endpoint", &endpoint, "status"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("role: leader\n") && text.contains("1   127.0.0.1:7501  yes"),
        "{text}"
    );

    let out = ctl(&["--endpoint", &endpoint, "watch", "--from", "4"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let expected = "\
snapshot  index 4  log time 1.500s  0 leases
batch  index 5  seq 1  epoch 2  1 ops  claimed ns/m/db
";
    assert_eq!(stdout(&out), expected);
}
