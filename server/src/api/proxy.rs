//! Forwarding a JSON request to the leader over HTTP (for membership changes, which only
//! the leader can make).

use super::{App, error_body};
use axum::body::{Body, Bytes};
use axum::http::{Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use openraft::ServerState;
use openraft::async_runtime::WatchReceiver;
use std::time::Duration;

/// How long the leader may take (adding a learner waits for it to catch up).
const TIMEOUT: Duration = Duration::from_secs(60);

/// `None` when this node leads (handle it here); otherwise the leader's response to the
/// same request, or an error when there is no leader to ask.
pub(super) async fn to_leader(app: &App, path: &str, body: &Bytes) -> Option<Response> {
    let node = app.service.node();
    if node.raft().metrics().borrow_watched().state == ServerState::Leader {
        return None;
    }
    let Some((_, addr)) = app.service.leader() else {
        return Some(error_body(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "no leader is known; retry",
        ));
    };
    Some(match post(&addr, path, body, app.service.token()).await {
        Ok(r) => r,
        Err(e) => error_body(
            StatusCode::BAD_GATEWAY,
            "unavailable",
            &format!("forwarding to the leader at {addr}: {e}"),
        ),
    })
}

async fn post(
    addr: &str,
    path: &str,
    body: &Bytes,
    token: Option<&str>,
) -> Result<Response, String> {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut request = Request::post(format!("http://{addr}{path}"))
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let request = request
        .body(Full::new(body.clone()))
        .map_err(|e| e.to_string())?;
    let response = tokio::time::timeout(TIMEOUT, client.request(request))
        .await
        .map_err(|_| "timed out".to_owned())?
        .map_err(|e| e.to_string())?;
    let (parts, incoming) = response.into_parts();
    let bytes = incoming
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((parts.status, parts.headers, Body::from(bytes)).into_response())
}
