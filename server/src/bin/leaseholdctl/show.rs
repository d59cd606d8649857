//! What the service's answers look like to a reader: answer lines, the leases table, the
//! status, and one line per watched message.

use crate::json;
use hyper::StatusCode;
use leasehold_server::wire::{Leases, Status};
use serde::Deserialize;
use serde_json::Value;

/// An operation's answer: `{ok, reachedLog, token?, expiresMs?, error?, message?,
/// holder?}` (`reachedLog` is left to `--json`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Answer {
    /// Whether it succeeded.
    pub ok: bool,
    /// The holder's fencing token.
    pub token: Option<u64>,
    /// When the grant expires, in log time (ms).
    pub expires_ms: Option<u64>,
    /// Why it failed: `held`, `invalid`, `shed`, `rejected`, ...
    pub error: Option<String>,
    /// What was wrong, in words.
    pub message: Option<String>,
    /// Who holds the lease, when it is held by another.
    pub holder: Option<String>,
}

/// Milliseconds of log time as seconds: `61.250s`.
pub fn log_time(ms: u64) -> String {
    format!("{}.{:03}s", ms / 1000, ms % 1000)
}

/// One line for an answer: `ok  token 7  expires at 60.000s (log time)`, `held  by
/// unit/1`, `rejected  durationMs must be ...`.
pub fn answer(a: &Answer) -> String {
    let mut parts = Vec::new();
    if a.ok {
        parts.push("ok".to_string());
        parts.extend(a.token.map(|t| format!("token {t}")));
        parts.extend(
            a.expires_ms
                .map(|e| format!("expires at {} (log time)", log_time(e))),
        );
        return parts.join("  ");
    }
    let error = a.error.as_deref().unwrap_or("failed");
    parts.push(error.to_string());
    match (&a.holder, &a.message) {
        (Some(holder), _) => parts.push(format!("by {holder}")),
        (None, Some(message)) => parts.push(message.clone()),
        (None, None) => parts.extend(advice(error).map(String::from)),
    }
    parts.join("  ")
}

/// A refusal: its status, then its answer's line, or the body's text (JSON on one line).
pub fn refusal(status: StatusCode, body: &[u8]) -> String {
    let text = match serde_json::from_slice::<Answer>(body) {
        Ok(a) if !a.ok => answer(&a),
        _ => json::compact(body).unwrap_or_else(|| String::from_utf8_lossy(body).trim().into()),
    };
    if text.is_empty() {
        status.to_string()
    } else {
        format!("{status}: {text}")
    }
}

/// What to make of a refusal that did not reach the log.
fn advice(error: &str) -> Option<&'static str> {
    match error {
        "shed" | "deadline-exceeded" => Some("not applied; safe to retry"),
        "aborted" => Some("not applied; read the lease before acting"),
        _ => None,
    }
}

/// The leases as a table, then `N leases at log time X.XXXs`.
pub fn leases(l: &Leases) -> String {
    let header = [
        "NAMESPACE",
        "MODEL",
        "LEASE",
        "HOLDER",
        "TOKEN",
        "EXPIRES",
        "PINNED",
    ];
    let rows: Vec<Vec<String>> = l
        .leases
        .iter()
        .map(|lease| {
            vec![
                lease.namespace.clone(),
                lease.model.clone(),
                lease.lease.clone(),
                lease.holder.clone(),
                lease.token.to_string(),
                log_time(lease.expires_ms),
                pinned(&lease.pinned_by),
            ]
        })
        .collect();
    let noun = if l.leases.len() == 1 {
        "lease"
    } else {
        "leases"
    };
    let summary = format!(
        "{} {noun} at log time {}",
        l.leases.len(),
        log_time(l.global_time_ms)
    );
    format!("{}{summary}", table(&header, &rows))
}

/// Who pins a lease: comma-separated, or `-`.
fn pinned(by: &[String]) -> String {
    if by.is_empty() {
        "-".into()
    } else {
        by.join(",")
    }
}

/// The status as `key: value` lines, then the members' table.
pub fn status(s: &Status) -> String {
    let leader = s
        .leader
        .map_or_else(|| "none".to_string(), |l| l.to_string());
    let lines = [
        ("id", s.id.to_string()),
        ("role", s.role.clone()),
        ("leader", leader),
        ("term", s.term.to_string()),
        ("commit index", s.commit_index.to_string()),
        ("applied index", s.applied_index.to_string()),
        ("log time", log_time(s.global_time_ms)),
        ("leases", s.leases.to_string()),
    ];
    let mut out: String = lines.iter().map(|(k, v)| format!("{k}: {v}\n")).collect();
    out.push_str("members:\n");
    let rows: Vec<Vec<String>> = s
        .members
        .iter()
        .map(|m| vec![m.id.to_string(), m.addr.clone(), yes_no(m.voter).into()])
        .collect();
    out.push_str(&table(&["ID", "ADDR", "VOTER"], &rows));
    out
}

/// `yes` or `no`.
fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// Columns padded to their widest cell, two spaces apart; each line ends in `\n`.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    std::iter::once(&header)
        .chain(rows)
        .map(|row| line(row, &widths))
        .collect()
}

/// One row of a table, without trailing spaces.
fn line(row: &[String], widths: &[usize]) -> String {
    let cells: Vec<String> = row
        .iter()
        .zip(widths)
        .map(|(cell, w)| format!("{cell:<w$}"))
        .collect();
    format!("{}\n", cells.join("  ").trim_end())
}

/// One line for a watched message: a snapshot's index, log time and lease count; a
/// batch's index, seq, epoch, operation count and events; anything else as JSON.
pub fn watched(message: &Value) -> String {
    match message.get("kind").and_then(Value::as_str) {
        Some("snapshot") => format!(
            "snapshot  index {}  log time {}  {} leases",
            number(message, "index"),
            message
                .get("globalTimeMs")
                .and_then(Value::as_u64)
                .map_or("?".into(), log_time),
            count(message, "leases"),
        ),
        Some("batch") => batch(message),
        _ => message.to_string(),
    }
}

/// A batch's line: `batch  index 13  seq 5  epoch 2  4 ops  claimed ns/m/db, ...`.
fn batch(message: &Value) -> String {
    let mut text = format!(
        "batch  index {}  seq {}  epoch {}  {} ops",
        number(message, "index"),
        number(message, "seq"),
        number(message, "epoch"),
        count(message, "ops"),
    );
    let events: Vec<String> = message
        .get("events")
        .and_then(Value::as_array)
        .map(|events| events.iter().map(event).collect())
        .unwrap_or_default();
    if !events.is_empty() {
        text.push_str("  ");
        text.push_str(&events.join(", "));
    }
    text
}

/// An event: its name and its lease, `claimed ns/m/db`.
fn event(e: &Value) -> String {
    let part = |name| e.get(name).and_then(Value::as_str).unwrap_or("?");
    let name = part("event");
    format!(
        "{name} {}/{}/{}",
        part("namespace"),
        part("model"),
        part("lease")
    )
}

/// A numeric field, or `?`.
fn number(message: &Value, field: &str) -> String {
    message
        .get(field)
        .and_then(Value::as_u64)
        .map_or_else(|| "?".into(), |n| n.to_string())
}

/// A field that is a list or a count: how many, or `?`.
fn count(message: &Value, field: &str) -> String {
    match message.get(field) {
        Some(Value::Array(items)) => items.len().to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => "?".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use leasehold_server::wire::{Lease, Member};

    fn parse(json: &str) -> Answer {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn answers() {
        let ok = parse(r#"{"ok":true,"reachedLog":true,"token":7,"expiresMs":60000}"#);
        assert_eq!(answer(&ok), "ok  token 7  expires at 60.000s (log time)");
        assert_eq!(answer(&parse(r#"{"ok":true,"reachedLog":true}"#)), "ok");
        let held = r#"{"ok":false,"reachedLog":true,"error":"held","message":"held by unit/1","holder":"unit/1"}"#;
        assert_eq!(answer(&parse(held)), "held  by unit/1");
        let rejected = r#"{"ok":false,"reachedLog":false,"error":"rejected","message":"durationMs must be positive"}"#;
        assert_eq!(
            answer(&parse(rejected)),
            "rejected  durationMs must be positive"
        );
        let shed = r#"{"ok":false,"reachedLog":false,"error":"shed"}"#;
        assert_eq!(answer(&parse(shed)), "shed  not applied; safe to retry");
    }

    #[test]
    fn refusals() {
        let body =
            br#"{"ok":false,"reachedLog":false,"error":"unauthorized","message":"needs a token"}"#;
        let text = refusal(StatusCode::UNAUTHORIZED, body);
        assert_eq!(text, "401 Unauthorized: unauthorized  needs a token");
        let text = refusal(StatusCode::PAYLOAD_TOO_LARGE, b"length limit exceeded\n");
        assert_eq!(text, "413 Payload Too Large: length limit exceeded");
        assert_eq!(refusal(StatusCode::NOT_FOUND, b""), "404 Not Found");
        let text = refusal(StatusCode::SERVICE_UNAVAILABLE, br#"{"leader": 2}"#);
        assert_eq!(text, r#"503 Service Unavailable: {"leader":2}"#);
    }

    #[test]
    fn lease_table() {
        let lease = |name: &str, pins: &[&str]| Lease {
            namespace: "ns".into(),
            model: "model".into(),
            lease: name.into(),
            holder: "unit/1".into(),
            token: 7,
            expires_ms: 61_250,
            pinned_by: pins.iter().map(|p| p.to_string()).collect(),
        };
        let l = Leases {
            global_time_ms: 1_500,
            leases: vec![lease("db", &[]), lease("a-longer-name", &["op/1", "op/2"])],
        };
        let expected = "\
NAMESPACE  MODEL  LEASE          HOLDER  TOKEN  EXPIRES  PINNED
ns         model  db             unit/1  7      61.250s  -
ns         model  a-longer-name  unit/1  7      61.250s  op/1,op/2
2 leases at log time 1.500s";
        assert_eq!(leases(&l), expected);
    }

    #[test]
    fn status_lines() {
        let s = Status {
            id: 1,
            role: "leader".into(),
            leader: Some(1),
            term: 3,
            members: vec![Member {
                id: 1,
                addr: "127.0.0.1:7501".into(),
                voter: true,
            }],
            commit_index: 10,
            applied_index: 9,
            global_time_ms: 5,
            leases: 0,
        };
        let text = status(&s);
        assert!(
            text.starts_with("id: 1\nrole: leader\nleader: 1\nterm: 3\n"),
            "{text}"
        );
        assert!(
            text.ends_with("ID  ADDR            VOTER\n1   127.0.0.1:7501  yes\n"),
            "{text}"
        );
    }

    #[test]
    fn watched_lines() {
        let snapshot = r#"{"kind":"snapshot","index":12,"globalTimeMs":61250,"leases":[{},{}]}"#;
        let snapshot: Value = serde_json::from_str(snapshot).unwrap();
        assert_eq!(
            watched(&snapshot),
            "snapshot  index 12  log time 61.250s  2 leases"
        );
        let batch = r#"{"kind":"batch","index":13,"seq":5,"epoch":2,"ops":3,"events":[
            {"event":"claimed","namespace":"ns","model":"m","lease":"db","holder":"u/1"},
            {"event":"expired","namespace":"ns","model":"m","lease":"x"}]}"#;
        let batch: Value = serde_json::from_str(batch).unwrap();
        let expected = "batch  index 13  seq 5  epoch 2  3 ops  claimed ns/m/db, expired ns/m/x";
        assert_eq!(watched(&batch), expected);
    }
}
