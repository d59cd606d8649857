//! What a running lease service (`leaseholdd`) sends the dashboard, read: the watch
//! stream's messages, a node's status, the leader's Prometheus metrics, and the answer
//! of an operator's request. Plain parsing, tested natively; a message that does not
//! parse is an error that says what was wrong, never a panic.

use leasehold::{Key, Lane, Time};
use serde::Deserialize;
use std::collections::BTreeMap;

/// The text message that starts a watch (`GET /v1/watch?state=true`): the log index
/// its state is at. The state follows as one binary message, then every batch as one
/// binary message ([`WatchBatch`]).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct WatchStart {
    /// `snapshot`.
    pub kind: String,
    /// The log index the state is at.
    pub index: u64,
    /// Its log time, ms.
    #[serde(rename = "globalTimeMs")]
    pub global_time_ms: u64,
    /// Whether the state machine's snapshot follows (it does when asked for).
    #[serde(default)]
    pub state: bool,
}

impl WatchStart {
    /// Reads one text message.
    ///
    /// # Errors
    ///
    /// What is wrong with it, in serde's words (the field and the position), or that it
    /// is not a snapshot message.
    pub fn parse(text: &str) -> Result<WatchStart, String> {
        let start: WatchStart = serde_json::from_str(text)
            .map_err(|e| format!("a watch message does not parse: {e}"))?;
        if start.kind != "snapshot" {
            return Err(format!(
                "a watch sent a `{}` text message where only a snapshot may come",
                start.kind
            ));
        }
        Ok(start)
    }
}

/// One committed batch as the watch sends it to a replica: a binary message, postcard
/// `(index, epoch, batch, results)` (the service's `WatchBatch`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct WatchBatch {
    /// Its Raft log index.
    pub index: u64,
    /// The epoch of the leader that cut it.
    pub epoch: u64,
    /// The batch, in the log's own encoding.
    pub batch: Vec<u8>,
    /// Each operation's result as the cluster applied it: its token, or why not.
    pub results: Vec<Result<Option<u64>, String>>,
}

impl WatchBatch {
    /// Reads one binary message.
    ///
    /// # Errors
    ///
    /// What is wrong with it.
    pub fn parse(bytes: &[u8]) -> Result<WatchBatch, String> {
        postcard::from_bytes(bytes)
            .map_err(|e| format!("a binary watch message is not a batch: {e}"))
    }
}

/// A member of the cluster, as a node's status names it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MemberInfo {
    /// Its node id.
    pub id: u64,
    /// Its address (`host:port`).
    pub addr: String,
    /// Whether it votes.
    pub voter: bool,
}

/// `GET /v1/status`: a node's view of itself and the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeStatus {
    /// The node's id.
    pub id: u64,
    /// `leader`, `follower`, `candidate` or `learner`.
    pub role: String,
    /// The leader it knows of.
    pub leader: Option<u64>,
    /// Its Raft term.
    pub term: u64,
    /// The members.
    pub members: Vec<MemberInfo>,
    /// The highest log index it knows committed.
    pub commit_index: u64,
    /// The highest it applied.
    pub applied_index: u64,
    /// Its log time, ms.
    pub global_time_ms: u64,
    /// Leases held.
    pub leases: u64,
}

impl NodeStatus {
    /// Reads a status answer.
    ///
    /// # Errors
    ///
    /// What is wrong with it.
    pub fn parse(text: &str) -> Result<NodeStatus, String> {
        serde_json::from_str(text).map_err(|e| format!("a status answer does not parse: {e}"))
    }
}

/// What the dashboard reads from a node's `GET /metrics` (Prometheus text).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Metrics {
    /// Requests waiting in the engine, by lane (in [`Lane::ALL`] order); all zero on a
    /// node that does not lead.
    pub depths: [u64; 4],
    /// Requests answered so far, by outcome (`ok`, `held`, `shed`, ...).
    pub answers: BTreeMap<String, u64>,
    /// The answer latency histogram: (upper bound in seconds, cumulative count).
    pub latency: Vec<(f64, u64)>,
    /// Batches proposed so far.
    pub batches: u64,
}

impl Metrics {
    /// Reads the metrics the dashboard uses from Prometheus text; other lines are
    /// skipped.
    ///
    /// # Errors
    ///
    /// The first line of a metric it uses whose value is not a number.
    pub fn parse(text: &str) -> Result<Metrics, String> {
        let mut m = Metrics::default();
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let Some((series, value)) = line.rsplit_once(' ') else {
                continue;
            };
            let (name, labels) = match series.split_once('{') {
                Some((name, labels)) => (name, labels.trim_end_matches('}')),
                None => (series, ""),
            };
            let label = |key: &str| {
                labels.split(',').find_map(|pair| {
                    let (k, v) = pair.split_once('=')?;
                    (k.trim() == key).then(|| v.trim().trim_matches('"').to_owned())
                })
            };
            let number = || -> Result<f64, String> {
                value
                    .trim()
                    .parse::<f64>()
                    .map_err(|_| format!("metrics: `{line}` has no numeric value"))
            };
            let count = || number().map(|v| v.max(0.0) as u64);
            match name {
                "leasehold_queue_depth" => {
                    let lane = label("lane");
                    if let Some(i) = Lane::ALL
                        .iter()
                        .position(|l| Some(l.name()) == lane.as_deref())
                    {
                        m.depths[i] = count()?;
                    }
                }
                "leasehold_answers_total" => {
                    if let Some(outcome) = label("outcome") {
                        m.answers.insert(outcome, count()?);
                    }
                }
                "leasehold_answer_latency_seconds_bucket" => {
                    let le = label("le").unwrap_or_default();
                    let bound = if le == "+Inf" {
                        f64::INFINITY
                    } else {
                        le.parse()
                            .map_err(|_| format!("metrics: `{line}` has a bad bucket bound"))?
                    };
                    m.latency.push((bound, count()?));
                }
                "leasehold_batches_total" => m.batches = count()?,
                _ => {}
            }
        }
        m.latency.sort_by(|a, b| a.0.total_cmp(&b.0));
        Ok(m)
    }

    /// Requests answered, all outcomes.
    #[must_use]
    pub fn answered(&self) -> u64 {
        self.answers.values().sum()
    }

    /// The latency quantile `q` (0..1) of the answers counted since `earlier`, in ms
    /// (the upper bound of the bucket it falls in); `None` without answers.
    #[must_use]
    pub fn latency_since(&self, earlier: &Metrics, q: f64) -> Option<f64> {
        let before = |bound: f64| {
            earlier
                .latency
                .iter()
                .find(|(b, _)| *b == bound)
                .map_or(0, |(_, c)| *c)
        };
        let deltas: Vec<(f64, u64)> = self
            .latency
            .iter()
            .map(|&(b, c)| (b, c.saturating_sub(before(b))))
            .collect();
        let total = deltas.last()?.1;
        if total == 0 {
            return None;
        }
        let want = (q * total as f64).ceil().max(1.0) as u64;
        let finite = deltas.iter().rev().find(|(b, _)| b.is_finite())?.0;
        deltas
            .iter()
            .find(|(_, c)| *c >= want)
            .map(|(b, _)| if b.is_finite() { *b } else { finite } * 1000.0)
    }
}

/// The answer of an operator's request (`POST /v1/pin`, ...), as the service gives it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallAnswer {
    /// Whether it applied.
    pub ok: bool,
    /// The fencing token, on a grant.
    #[serde(default)]
    pub token: Option<u64>,
    /// Why not: `held`, `invalid`, `shed`, `deadline-exceeded`, `aborted`, `rejected`,
    /// `unauthorized`.
    #[serde(default)]
    pub error: Option<String>,
    /// The service's explanation.
    #[serde(default)]
    pub message: Option<String>,
    /// Who holds the lease, when a claim was refused.
    #[serde(default)]
    pub holder: Option<String>,
}

impl CallAnswer {
    /// One line for the operator: `pin app/m/x: ok`, `revoke …: held (held by a/1)`.
    #[must_use]
    pub fn describe(what: &str, status: u16, body: &str) -> String {
        match serde_json::from_str::<CallAnswer>(body) {
            Ok(a) if a.ok => match a.token {
                Some(t) => format!("{what}: ok (token {t})"),
                None => format!("{what}: ok"),
            },
            Ok(a) => {
                let error = a.error.unwrap_or_else(|| format!("HTTP {status}"));
                let mut line = format!("{what}: refused, {error}");
                if let Some(h) = a.holder {
                    line.push_str(&format!(" (held by {h})"));
                }
                if let Some(m) = a.message.filter(|m| !m.is_empty()) {
                    line.push_str(&format!(": {m}"));
                }
                line
            }
            Err(_) => format!("{what}: HTTP {status}: {}", body.trim()),
        }
    }
}

/// How long a lease handed over from the dashboard is granted for, ms.
pub const HANDOVER_MS: u64 = 60_000;

/// An operator's request to the service: `POST path` with a JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// What it does, for the notice (`pin app/m/x`).
    pub what: String,
    /// The route (`/v1/pin`).
    pub path: &'static str,
    /// The body.
    pub body: serde_json::Value,
}

impl Call {
    fn of(verb: &str, path: &'static str, key: &Key, mut fields: serde_json::Value) -> Call {
        if let Some(map) = fields.as_object_mut() {
            map.insert("namespace".into(), key.namespace.to_string().into());
            map.insert("model".into(), key.model.to_string().into());
            map.insert("lease".into(), key.lease.to_string().into());
        }
        Call {
            what: format!("{verb} {key}"),
            path,
            body: fields,
        }
    }

    /// Pins `key` for `entity` (until log time `until`, if given), saying why.
    #[must_use]
    pub fn pin(key: &Key, entity: &str, reason: &str, until: Option<Time>) -> Call {
        let mut body = serde_json::json!({ "entity": entity });
        if let Some(t) = until {
            body["untilMs"] = t.as_millis().into();
        }
        if !reason.trim().is_empty() {
            body["reason"] = reason.trim().into();
        }
        Call::of("pin", "/v1/pin", key, body)
    }

    /// Removes `entity`'s pin of `key`.
    #[must_use]
    pub fn unpin(key: &Key, entity: &str) -> Call {
        Call::of(
            "unpin",
            "/v1/unpin",
            key,
            serde_json::json!({ "entity": entity }),
        )
    }

    /// Revokes `key` from `holder`.
    #[must_use]
    pub fn revoke(key: &Key, holder: &str) -> Call {
        Call::of(
            "revoke",
            "/v1/revoke",
            key,
            serde_json::json!({ "holder": holder }),
        )
    }

    /// Hands `key` from `from` to `to`, for [`HANDOVER_MS`].
    #[must_use]
    pub fn handover(key: &Key, from: &str, to: &str) -> Call {
        let body = serde_json::json!({ "from": from, "to": to.trim(), "durationMs": HANDOVER_MS });
        Call::of("hand over", "/v1/handover", key, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watch_messages_parse_and_bad_ones_are_named() {
        let snap = r#"{"kind":"snapshot","index":7,"globalTimeMs":1200,"leases":[],"state":true}"#;
        let start = WatchStart::parse(snap).unwrap();
        assert_eq!(
            (start.index, start.global_time_ms, start.state),
            (7, 1200, true)
        );
        let e = WatchStart::parse(r#"{"kind":"batch","index":9,"globalTimeMs":0}"#).unwrap_err();
        assert!(e.contains("only a snapshot"), "{e}");
        assert!(
            WatchStart::parse("{")
                .unwrap_err()
                .contains("does not parse")
        );
        let frame = (
            9u64,
            2u64,
            vec![1u8, 2],
            vec![Ok::<_, String>(Some(4u64)), Err("held".to_owned())],
        );
        let bytes = postcard::to_allocvec(&frame).unwrap();
        let b = WatchBatch::parse(&bytes).unwrap();
        assert_eq!(
            (b.index, b.epoch, b.batch.as_slice()),
            (9, 2, &[1u8, 2][..])
        );
        assert_eq!(b.results, [Ok(Some(4)), Err("held".to_owned())]);
        assert!(
            WatchBatch::parse(&[0xff])
                .unwrap_err()
                .contains("not a batch")
        );
    }

    #[test]
    fn metrics_give_depths_answers_and_latency_quantiles() {
        let text = "# HELP x\n\
            leasehold_queue_depth{lane=\"singular\"} 1\n\
            leasehold_queue_depth{lane=\"claim\"} 40\n\
            leasehold_answers_total{outcome=\"ok\"} 90\n\
            leasehold_answers_total{outcome=\"shed\"} 10\n\
            leasehold_batches_total 12\n\
            leasehold_answer_latency_seconds_bucket{le=\"0.064\"} 50\n\
            leasehold_answer_latency_seconds_bucket{le=\"0.128\"} 99\n\
            leasehold_answer_latency_seconds_bucket{le=\"+Inf\"} 100\n\
            # EOF\n";
        let m = Metrics::parse(text).unwrap();
        assert_eq!(m.depths, [1, 0, 0, 40]);
        assert_eq!((m.answered(), m.batches), (100, 12));
        let zero = Metrics::default();
        assert_eq!(m.latency_since(&zero, 0.5), Some(64.0));
        assert_eq!(m.latency_since(&zero, 0.99), Some(128.0));
        // Beyond the last finite bucket: that bucket's bound.
        assert_eq!(m.latency_since(&zero, 1.0), Some(128.0));
        assert_eq!(m.latency_since(&m, 0.5), None, "nothing answered since");
        let bad = Metrics::parse("leasehold_batches_total many").unwrap_err();
        assert!(bad.contains("leasehold_batches_total many"), "{bad}");
    }

    #[test]
    fn calls_carry_the_http_api_bodies() {
        let key = Key::new("app", "m", "db");
        let pin = Call::pin(
            &key,
            "machine-0",
            " upgrade ",
            Some(Time::from_millis(9_000)),
        );
        assert_eq!((pin.path, pin.what.as_str()), ("/v1/pin", "pin app/m/db"));
        assert_eq!(
            pin.body,
            serde_json::json!({"namespace": "app", "model": "m", "lease": "db",
                "entity": "machine-0", "untilMs": 9000, "reason": "upgrade"})
        );
        let plain = Call::pin(&key, "e", "", None);
        assert!(plain.body.get("untilMs").is_none() && plain.body.get("reason").is_none());
        assert_eq!(
            Call::handover(&key, "a", "b").body["durationMs"],
            HANDOVER_MS
        );
        assert_eq!(Call::revoke(&key, "a").body["holder"], "a");
        assert_eq!(Call::unpin(&key, "e").path, "/v1/unpin");
    }

    #[test]
    fn status_and_answers_read() {
        let s = NodeStatus::parse(
            r#"{"id":2,"role":"leader","leader":2,"term":3,
                "members":[{"id":1,"addr":"127.0.0.1:7401","voter":true}],
                "commitIndex":10,"appliedIndex":10,"globalTimeMs":5,"leases":1}"#,
        )
        .unwrap();
        assert_eq!(
            (s.id, s.leader, s.members[0].addr.as_str()),
            (2, Some(2), "127.0.0.1:7401")
        );
        assert!(
            NodeStatus::parse("{}")
                .unwrap_err()
                .contains("missing field")
        );
        assert_eq!(
            CallAnswer::describe("pin x", 200, r#"{"ok":true,"reachedLog":true}"#),
            "pin x: ok"
        );
        let refused = CallAnswer::describe(
            "pin x",
            401,
            r#"{"ok":false,"reachedLog":false,"error":"unauthorized","message":"needs a token"}"#,
        );
        assert_eq!(refused, "pin x: refused, unauthorized: needs a token");
        assert_eq!(
            CallAnswer::describe("x", 502, "bad gateway"),
            "x: HTTP 502: bad gateway"
        );
    }
}
