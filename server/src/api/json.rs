//! The HTTP/JSON API: the six operations, `leases`, `status` and membership changes.
//! Field names are the JS API's (camelCase); every answer of an operation is
//! `{ok, reachedLog, token?, expiresMs?, error?, message?, holder?}`.

use super::{App, error_body};
use crate::service::ServiceError;
use crate::wire::Status;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use leasehold::{LeaseError, Op, Outcome};
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;

/// How long a follower waits to have applied a forwarded grant before answering without
/// its expiry.
const EXPIRY_WAIT: Duration = Duration::from_millis(500);

/// The operation kinds of `POST /v1/{kind}`.
pub(crate) const KINDS: [&str; 6] = ["claim", "extend", "revoke", "pin", "unpin", "handover"];

/// Reads an operation of `kind` from a JSON body; the error names what is wrong.
pub(crate) fn parse_op(kind: &str, body: &[u8]) -> Result<Op, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("the body is not valid JSON: {e}"))?;
    let Value::Object(mut fields) = value else {
        return Err("the body must be a JSON object".into());
    };
    if fields.contains_key("kind") {
        return Err(format!(
            "unknown field `kind`: the operation is named by the path (/v1/{kind})"
        ));
    }
    check_types(&fields)?;
    fields.insert("kind".into(), Value::String(kind.into()));
    let op: Op = serde_json::from_value(Value::Object(fields)).map_err(|e| e.to_string())?;
    op.validate().map_err(|e| e.to_string())?;
    Ok(op)
}

/// The text fields and the millisecond fields of the operations.
const TEXT_FIELDS: [&str; 8] = [
    "namespace",
    "model",
    "lease",
    "holder",
    "entity",
    "from",
    "to",
    "reason",
];
const MS_FIELDS: [&str; 2] = ["durationMs", "untilMs"];

/// Checks the type of each known field, naming the first that is wrong (serde's own
/// messages do not name the field).
fn check_types(fields: &serde_json::Map<String, Value>) -> Result<(), String> {
    for (name, value) in fields {
        if TEXT_FIELDS.contains(&name.as_str()) && !value.is_string() {
            return Err(format!("`{name}` must be a string, not {value}"));
        }
        if MS_FIELDS.contains(&name.as_str()) && value.as_u64().is_none() {
            return Err(format!(
                "`{name}` must be a whole number of milliseconds from 0 to 2^53 - 1, not {value}"
            ));
        }
    }
    Ok(())
}

/// The HTTP status of an outcome.
fn status_of(outcome: &Outcome) -> StatusCode {
    match outcome {
        Outcome::Applied(Ok(_)) => StatusCode::OK,
        Outcome::Applied(Err(LeaseError::NotValid(_))) | Outcome::Rejected(_) => {
            StatusCode::BAD_REQUEST
        }
        Outcome::Applied(Err(_)) => StatusCode::CONFLICT,
        Outcome::Shed | Outcome::Aborted => StatusCode::SERVICE_UNAVAILABLE,
        Outcome::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
    }
}

/// The response to an outcome, with the lease's expiry (log time) when it was granted.
pub(crate) fn outcome_response(outcome: &Outcome, expires_ms: Option<u64>) -> Response {
    let mut body = serde_json::to_value(outcome).unwrap_or_else(|_| json!({}));
    if let (Some(ms), Value::Object(fields)) = (expires_ms, &mut body) {
        fields.insert("expiresMs".into(), ms.into());
    }
    let status = status_of(outcome);
    let mut response = (status, Json(body)).into_response();
    if status == StatusCode::SERVICE_UNAVAILABLE {
        retry_after(&mut response);
    }
    response
}

fn retry_after(response: &mut Response) {
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
}

/// A request that got no outcome.
pub(crate) fn service_error(e: &ServiceError) -> Response {
    match e {
        ServiceError::NoLeader(_) => {
            let mut r = error_body(StatusCode::SERVICE_UNAVAILABLE, "aborted", &e.to_string());
            retry_after(&mut r);
            r
        }
        ServiceError::Unresolved(_) | ServiceError::Stopping => error_body(
            StatusCode::INTERNAL_SERVER_ERROR,
            "unresolved",
            &e.to_string(),
        ),
        ServiceError::Failed(_) => {
            let mut r = error_body(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                &e.to_string(),
            );
            retry_after(&mut r);
            r
        }
    }
}

/// `POST /v1/{kind}`.
pub(crate) async fn operation(State(app): State<App>, kind: &'static str, body: Bytes) -> Response {
    let op = match parse_op(kind, &body) {
        Ok(op) => op,
        Err(message) => return error_body(StatusCode::BAD_REQUEST, "rejected", &message),
    };
    let key = op.key().cloned();
    match app.service.request(op).await {
        Ok(outcome) => {
            let expires = match (&outcome, key) {
                (Outcome::Applied(Ok(Some(token))), Some(key)) => expiry(&app, &key, *token).await,
                _ => None,
            };
            outcome_response(&outcome, expires)
        }
        Err(e) => service_error(&e),
    }
}

/// The expiry (log time) of `key` under fencing `token`, once this node has applied it.
async fn expiry(app: &App, key: &leasehold::Key, token: u64) -> Option<u64> {
    let give_up = tokio::time::Instant::now() + EXPIRY_WAIT;
    loop {
        let found = app
            .service
            .node()
            .state_machine()
            .read(|fsm| {
                fsm.lease(key, fsm.global_time())
                    .filter(|l| l.token == token)
                    .map(|l| l.expiry.as_millis())
            })
            .ok()
            .flatten();
        if found.is_some() || tokio::time::Instant::now() >= give_up {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The query of `GET /v1/leases`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LeasesQuery {
    namespace: Option<String>,
    model: Option<String>,
}

/// `GET /v1/leases[?namespace=&model=]`: linearizable.
pub(crate) async fn leases(State(app): State<App>, Query(q): Query<LeasesQuery>) -> Response {
    match app
        .service
        .leases(q.namespace.as_deref(), q.model.as_deref())
        .await
    {
        Ok(leases) => Json(leases).into_response(),
        Err(e) => service_error(&e),
    }
}

/// `GET /v1/status`: answered locally.
pub(crate) async fn status(State(app): State<App>) -> Json<Status> {
    Json(app.service.status())
}

/// The body of `POST /v1/members/add`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AddMember {
    id: u64,
    addr: String,
}

/// The body of `POST /v1/members/remove`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RemoveMember {
    id: u64,
}

/// `POST /v1/members/add` `{id, addr}`: adds a learner, waits until it has caught up,
/// promotes it; answers the new status. On a follower, forwarded to the leader.
pub(crate) async fn add_member(State(app): State<App>, body: Bytes) -> Response {
    let m: AddMember = match serde_json::from_slice(&body) {
        Ok(m) => m,
        Err(e) => return error_body(StatusCode::BAD_REQUEST, "rejected", &e.to_string()),
    };
    if let Some(r) = super::proxy::to_leader(&app, "/v1/members/add", &body).await {
        return r;
    }
    match app.service.add_member(m.id, &m.addr).await {
        Ok(()) => Json(app.service.status()).into_response(),
        Err(e) => service_error(&e),
    }
}

/// `POST /v1/members/remove` `{id}`: removes a member; answers the new status. On a
/// follower, forwarded to the leader.
pub(crate) async fn remove_member(State(app): State<App>, body: Bytes) -> Response {
    let m: RemoveMember = match serde_json::from_slice(&body) {
        Ok(m) => m,
        Err(e) => return error_body(StatusCode::BAD_REQUEST, "rejected", &e.to_string()),
    };
    if let Some(r) = super::proxy::to_leader(&app, "/v1/members/remove", &body).await {
        return r;
    }
    match app.service.remove_member(m.id).await {
        Ok(()) => Json(app.service.status()).into_response(),
        Err(e) => service_error(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_operation_is_read_from_its_path_and_body() {
        let body = br#"{"namespace":"n","model":"m","lease":"l","holder":"h","durationMs":60000}"#;
        let op = parse_op("claim", body).unwrap();
        assert_eq!(op.kind(), "claim");
        assert!(
            parse_op("claim", b"{")
                .unwrap_err()
                .contains("not valid JSON")
        );
        assert!(
            parse_op("claim", b"[]")
                .unwrap_err()
                .contains("JSON object")
        );
        let missing = br#"{"namespace":"n","model":"m","lease":"l","durationMs":1}"#;
        assert!(parse_op("claim", missing).unwrap_err().contains("`holder`"));
        let kind = br#"{"kind":"revoke"}"#;
        assert!(parse_op("claim", kind).unwrap_err().contains("`kind`"));
        let empty = br#"{"namespace":"n","model":"m","lease":"l","holder":"","durationMs":1}"#;
        assert!(parse_op("claim", empty).unwrap_err().contains("holder"));
        for bad in ["-5", "1.5", "\"60s\"", "null"] {
            let body = format!(
                r#"{{"namespace":"n","model":"m","lease":"l","holder":"h","durationMs":{bad}}}"#
            );
            let e = parse_op("claim", body.as_bytes()).unwrap_err();
            assert!(e.contains("`durationMs`"), "{bad}: {e}");
        }
        let absurd = br#"{"namespace":"n","model":"m","lease":"l","holder":"h","durationMs":9007199254740991}"#;
        assert!(
            parse_op("claim", absurd)
                .unwrap_err()
                .contains("durationMs")
        );
        let number = br#"{"namespace":7,"model":"m","lease":"l","holder":"h","durationMs":1}"#;
        assert!(
            parse_op("claim", number)
                .unwrap_err()
                .contains("`namespace`")
        );
    }
}
