//! The node's HTTP interfaces on one listener (axum):
//!
//! - `POST /v1/{claim,extend,revoke,pin,unpin,handover}`, `GET /v1/leases`,
//!   `GET /v1/status`, `POST /v1/members/{add,remove}`: JSON ([`json`]);
//! - `GET /v1/stream`: the binary stream ([`stream`], frames in [`crate::wire`]);
//! - `GET /v1/watch[?from=INDEX][&state=true]`: committed batches as JSON text messages;
//!   with `state=true` (a replica's form, the dashboard's), a watch that starts from a
//!   snapshot also sends the whole state (a [`leasehold::Snapshot`]) as one binary
//!   message right after it, and every batch as one binary
//!   [`WatchBatch`](crate::wire::WatchBatch) ([`watch`]);
//! - `GET /metrics`: Prometheus text;
//! - `GET /raft`: the Raft RPCs between nodes ([`crate::network`]);
//! - `POST /debug/{clock,disk}`: fault injection, only when enabled
//!   ([`RouterOptions::fault_injection`]); 404 otherwise;
//! - `GET /`, `GET /index.html`, `GET /NAME`: the built dashboard, only when enabled
//!   (`leaseholdd --dashboard`, [`RouterOptions::dashboard`], [`dashboard`]): its static
//!   files, without the token; 404 otherwise.
//!
//! **Safe by default.** With a token configured, every route needs
//! `Authorization: Bearer TOKEN` (WebSockets from a browser may pass `?token=TOKEN`),
//! or answers 401, except the dashboard's static files, `OPTIONS` preflights and, with
//! [`RouterOptions::open_reads`] (`leaseholdd --open-reads`), the reads `GET /v1/status`,
//! `GET /v1/leases`, `GET /v1/watch` and `GET /metrics` (writes, `/v1/stream`,
//! membership changes, `/debug` and `/raft` still need it). Bodies over
//! [`MAX_BODY_BYTES`] are answered 413. At most [`MAX_IN_FLIGHT`] HTTP requests are
//! served at once and [`MAX_SOCKETS`] WebSockets are open at once; beyond that, 503 with
//! `Retry-After`.
//!
//! **CORS**, so that a dashboard served from another origin can call the API with
//! `fetch`: every response of `/v1/*` and `/metrics` (401s included) carries
//! `Access-Control-Allow-Origin: *`, and `OPTIONS` on any path answers 204 with
//! `Access-Control-Allow-Origin: *`, `Access-Control-Allow-Methods: GET, POST, OPTIONS`,
//! `Access-Control-Allow-Headers: authorization, content-type` and
//! `Access-Control-Max-Age: 600`, without a token. This opens nothing: the service's
//! only credential is the bearer token, which a browser never attaches by itself (no
//! cookies, no HTTP authentication), so a page of another origin can do only what its
//! own code could do with the token it was given — the same as any program that can
//! reach the port. (WebSockets are not subject to CORS in browsers anyway.)

pub mod dashboard;
mod debug;
mod json;
mod proxy;
mod stream;
mod watch;

use crate::network::{self, MAX_RAFT_MESSAGE_BYTES};
use crate::service::Service;
use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use json::KINDS;

pub use dashboard::Dashboard;

/// The largest request body taken.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// The most HTTP requests served at once.
pub const MAX_IN_FLIGHT: usize = 4096;

/// The most WebSockets (streams, watches, Raft connections) open at once.
pub const MAX_SOCKETS: usize = 1024;

/// What every handler shares.
#[derive(Clone)]
pub(crate) struct App {
    pub(crate) service: Arc<Service>,
    requests: Arc<Semaphore>,
    sockets: Arc<Semaphore>,
    /// The reads that need no token ([`RouterOptions::open_reads`]).
    open_reads: bool,
}

/// What a node's router serves beyond the service's API, and how it guards it
/// ([`router_with_options`]).
#[derive(Debug, Clone, Default)]
pub struct RouterOptions {
    /// Serve the fault-injection routes `POST /debug/clock` and `POST /debug/disk`
    /// (behind the token like every route).
    pub fault_injection: bool,
    /// With a token configured, let `GET /v1/status`, `GET /v1/leases`, `GET /v1/watch`
    /// and `GET /metrics` through without it (every other route still needs it).
    pub open_reads: bool,
    /// Serve this built dashboard at `/` (its files need no token).
    pub dashboard: Option<Arc<Dashboard>>,
}

impl App {
    /// A permit for one more WebSocket, or `None` when too many are open.
    pub(crate) fn socket_permit(&self) -> Option<OwnedSemaphorePermit> {
        Arc::clone(&self.sockets).try_acquire_owned().ok()
    }
}

/// A JSON error `{ok: false, reachedLog: false, error, message}` with `status`.
pub(crate) fn error_body(status: StatusCode, error: &str, message: &str) -> Response {
    let body = json!({"ok": false, "reachedLog": false, "error": error, "message": message});
    (status, axum::Json(body)).into_response()
}

/// 503 for a socket beyond [`MAX_SOCKETS`].
pub(crate) fn too_many_sockets() -> Response {
    let mut r = error_body(
        StatusCode::SERVICE_UNAVAILABLE,
        "shed",
        &format!("too many connections (at most {MAX_SOCKETS} WebSockets)"),
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    r
}

/// The router of a node's service, without the fault-injection routes.
pub fn router(service: Arc<Service>) -> Router {
    router_with(service, false)
}

/// The router of a node's service; with `fault_injection`, also the fault-injection
/// routes `POST /debug/clock` and `POST /debug/disk` (see the `debug` module's routes in
/// this module's documentation), behind the token like every route.
pub fn router_with(service: Arc<Service>, fault_injection: bool) -> Router {
    router_with_options(
        service,
        &RouterOptions {
            fault_injection,
            ..RouterOptions::default()
        },
    )
}

/// The router of a node's service with `options`: the fault-injection routes, the open
/// reads and the dashboard (see this module's documentation).
pub fn router_with_options(service: Arc<Service>, options: &RouterOptions) -> Router {
    let app = App {
        service,
        requests: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
        sockets: Arc::new(Semaphore::new(MAX_SOCKETS)),
        open_reads: options.open_reads,
    };
    let mut v1 = Router::new();
    for kind in KINDS {
        v1 = v1.route(
            &format!("/v1/{kind}"),
            post(move |state, body| json::operation(state, kind, body)),
        );
    }
    if options.fault_injection {
        v1 = v1.merge(debug::routes());
    }
    let mut routes = v1
        .route("/v1/leases", get(json::leases))
        .route("/v1/status", get(json::status))
        .route("/v1/members/add", post(json::add_member))
        .route("/v1/members/remove", post(json::remove_member))
        .route("/v1/stream", get(stream::upgrade))
        .route("/v1/watch", get(watch::upgrade))
        .route("/metrics", get(metrics))
        .route(network::RAFT_PATH, get(raft))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(app.clone(), authorize));
    // Added after the token's layer: the dashboard's files need none. The API's routes
    // above are matched before its catch-all and keep their layers.
    if let Some(d) = &options.dashboard {
        routes = routes.merge(dashboard::routes(Arc::clone(d)));
    }
    routes
        .layer(middleware::from_fn_with_state(app.clone(), limit))
        .layer(middleware::from_fn(cors))
        .with_state(app)
}

/// The reads that [`RouterOptions::open_reads`] lets through without the token.
const OPEN_READS: [&str; 4] = ["/v1/status", "/v1/leases", "/v1/watch", "/metrics"];

/// The headers of a preflight's answer.
const PREFLIGHT: [(header::HeaderName, &str); 4] = [
    (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
    (header::ACCESS_CONTROL_ALLOW_METHODS, "GET, POST, OPTIONS"),
    (
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        "authorization, content-type",
    ),
    (header::ACCESS_CONTROL_MAX_AGE, "600"),
];

/// Answers `OPTIONS` preflights (204, without a token) and adds
/// `Access-Control-Allow-Origin: *` to the responses of `/v1/*` and `/metrics`.
async fn cors(request: Request, next: Next) -> Response {
    if request.method() == Method::OPTIONS {
        let mut r = StatusCode::NO_CONTENT.into_response();
        for (name, value) in PREFLIGHT {
            r.headers_mut()
                .insert(name, HeaderValue::from_static(value));
        }
        return r;
    }
    let path = request.uri().path();
    let allow = path.starts_with("/v1/") || path == "/metrics";
    let mut response = next.run(request).await;
    if allow {
        response.headers_mut().insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
    }
    response
}

/// Refuses requests without the configured token.
///
/// Preflights (`OPTIONS`) and, with [`RouterOptions::open_reads`], the open reads pass
/// without it.
async fn authorize(State(app): State<App>, request: Request, next: Next) -> Response {
    let Some(token) = app.service.token() else {
        return next.run(request).await;
    };
    let method = request.method();
    let open = *method == Method::OPTIONS
        || (app.open_reads
            && (*method == Method::GET || *method == Method::HEAD)
            && OPEN_READS.contains(&request.uri().path()));
    if open {
        return next.run(request).await;
    }
    let header_ok = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| t == token);
    let query_ok = request.uri().query().is_some_and(|q| {
        q.split('&')
            .any(|pair| pair.strip_prefix("token=").is_some_and(|t| t == token))
    });
    if header_ok || query_ok {
        next.run(request).await
    } else {
        error_body(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "this service needs `Authorization: Bearer TOKEN` with the token it was started with",
        )
    }
}

/// Bounds the HTTP requests served at once (WebSockets hold a socket permit instead).
async fn limit(State(app): State<App>, request: Request, next: Next) -> Response {
    let Ok(_permit) = app.requests.try_acquire() else {
        let mut r = error_body(
            StatusCode::SERVICE_UNAVAILABLE,
            "shed",
            &format!("too many requests in flight (at most {MAX_IN_FLIGHT})"),
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return r;
    };
    next.run(request).await
}

/// `GET /metrics`.
async fn metrics(State(app): State<App>) -> Response {
    let node = app.service.node();
    let raft =
        openraft::async_runtime::WatchReceiver::borrow_watched(&node.raft().metrics()).clone();
    let text = node.stats().render(&raft);
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// `GET /raft`: the Raft RPCs from a peer.
async fn raft(State(app): State<App>, ws: WebSocketUpgrade) -> Response {
    let Some(permit) = app.socket_permit() else {
        return too_many_sockets();
    };
    let raft = app.service.node().raft().clone();
    ws.max_message_size(MAX_RAFT_MESSAGE_BYTES)
        .max_frame_size(MAX_RAFT_MESSAGE_BYTES)
        .on_upgrade(move |socket| async move {
            network::serve(socket, raft).await;
            drop(permit);
        })
}
