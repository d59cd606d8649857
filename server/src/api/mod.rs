//! The node's HTTP interfaces on one listener (axum):
//!
//! - `POST /v1/{claim,extend,revoke,pin,unpin,handover}`, `GET /v1/leases`,
//!   `GET /v1/status`, `POST /v1/members/{add,remove}`: JSON ([`json`]);
//! - `GET /v1/stream`: the binary stream ([`stream`], frames in [`crate::wire`]);
//! - `GET /v1/watch[?from=INDEX]`: committed batches as JSON text messages ([`watch`]);
//! - `GET /metrics`: Prometheus text;
//! - `GET /raft`: the Raft RPCs between nodes ([`crate::network`]);
//! - `POST /debug/{clock,disk}`: fault injection, only when enabled ([`router_with`]);
//!   404 otherwise.
//!
//! **Safe by default.** With a token configured, every route needs
//! `Authorization: Bearer TOKEN` (WebSockets from a browser may pass `?token=TOKEN`),
//! or answers 401. Bodies over [`MAX_BODY_BYTES`] are answered 413. At most
//! [`MAX_IN_FLIGHT`] HTTP requests are served at once and [`MAX_SOCKETS`] WebSockets are
//! open at once; beyond that, 503 with `Retry-After`.

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
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use json::KINDS;

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
    let app = App {
        service,
        requests: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
        sockets: Arc::new(Semaphore::new(MAX_SOCKETS)),
    };
    let mut v1 = Router::new();
    for kind in KINDS {
        v1 = v1.route(
            &format!("/v1/{kind}"),
            post(move |state, body| json::operation(state, kind, body)),
        );
    }
    if fault_injection {
        v1 = v1.merge(debug::routes());
    }
    v1.route("/v1/leases", get(json::leases))
        .route("/v1/status", get(json::status))
        .route("/v1/members/add", post(json::add_member))
        .route("/v1/members/remove", post(json::remove_member))
        .route("/v1/stream", get(stream::upgrade))
        .route("/v1/watch", get(watch::upgrade))
        .route("/metrics", get(metrics))
        .route(network::RAFT_PATH, get(raft))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(app.clone(), limit))
        .layer(middleware::from_fn_with_state(app.clone(), authorize))
        .with_state(app)
}

/// Refuses requests without the configured token.
async fn authorize(State(app): State<App>, request: Request, next: Next) -> Response {
    let Some(token) = app.service.token() else {
        return next.run(request).await;
    };
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
