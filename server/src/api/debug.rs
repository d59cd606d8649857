//! The fault-injection routes, mounted only when the node runs with fault injection
//! (`leaseholdd --fault-injection`; without it they are 404), behind the bearer token
//! like every route:
//!
//! - `POST /debug/clock {"skewMs": i64}`: from now on the node's clock
//!   ([`crate::clock::Clock`]) reads `skewMs` ms ahead (positive) or behind (negative) of
//!   the true time; it may jump backwards. Answers `{"ok": true, "skewMs"}`.
//! - `POST /debug/disk {"fail": bool}`: from now on every write of the Raft log store
//!   fails (`true`) with an I/O error "injected disk failure"
//!   ([`crate::LogStore::fail_switch`]). openraft stops the Raft core on the first one
//!   and the node stops ([`crate::daemon`]). `false` clears the switch but restarts
//!   nothing. Answers `{"ok": true, "fail"}`.

use super::{App, error_body};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use serde_json::json;
use std::sync::atomic::Ordering;

/// The body of `POST /debug/clock`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ClockBody {
    skew_ms: i64,
}

/// The body of `POST /debug/disk`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DiskBody {
    fail: bool,
}

/// The fault-injection routes.
pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/debug/clock", post(clock))
        .route("/debug/disk", post(disk))
}

/// Reads a JSON body, or says what is wrong with it.
fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|e| format!("a malformed body: {e}"))
}

/// 400 for a malformed body.
fn invalid(why: &str) -> Response {
    error_body(StatusCode::BAD_REQUEST, "invalid", why)
}

/// `POST /debug/clock`.
async fn clock(State(app): State<App>, body: Bytes) -> Response {
    let body: ClockBody = match parse(&body) {
        Ok(b) => b,
        Err(why) => return invalid(&why),
    };
    let node = app.service.node();
    node.clock().set_skew_ms(body.skew_ms);
    tracing::warn!(
        node = node.id(),
        "fault injection: the clock is skewed by {} ms",
        body.skew_ms
    );
    axum::Json(json!({"ok": true, "skewMs": body.skew_ms})).into_response()
}

/// `POST /debug/disk`.
async fn disk(State(app): State<App>, body: Bytes) -> Response {
    let body: DiskBody = match parse(&body) {
        Ok(b) => b,
        Err(why) => return invalid(&why),
    };
    let node = app.service.node();
    node.log_store()
        .fail_switch()
        .store(body.fail, Ordering::Release);
    tracing::warn!(
        node = node.id(),
        "fault injection: disk writes fail: {}",
        body.fail
    );
    axum::Json(json!({"ok": true, "fail": body.fail})).into_response()
}
