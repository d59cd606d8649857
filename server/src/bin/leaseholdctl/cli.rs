//! The command line: its arguments, and the parsers of endpoints, token files and
//! durations. The operations' arguments are also their request bodies (serde), so each
//! body's shape sits next to the arguments that fill it.

use clap::{Args, Parser, Subcommand};
use hyper::Uri;
use hyper::header::HeaderValue;
use serde::Serialize;
use std::fmt;

/// What `--help` says the program is.
const ABOUT: &str = "The command line of the leasehold lease service.";

/// What `--help` says of the exit status.
const EXIT_STATUS: &str =
    "Exit status: 0 ok; 1 the service refused; 2 usage error; 3 the service could not be reached.";

/// The command line of the lease service.
#[derive(Debug, Parser)]
#[command(name = "leaseholdctl", version, about = ABOUT, after_help = EXIT_STATUS)]
pub struct Cli {
    /// The service's HTTP address (`http://host:port`; TLS is not supported).
    #[arg(
        long,
        global = true,
        env = "LEASEHOLD_ENDPOINT",
        default_value = "http://127.0.0.1:7401",
        value_parser = endpoint
    )]
    pub endpoint: Endpoint,
    /// A file holding the bearer token sent with every request.
    #[arg(long, global = true, env = "LEASEHOLD_TOKEN_FILE", value_name = "FILE", value_parser = token_file)]
    pub token_file: Option<Token>,
    /// Print the service's JSON answers as they are.
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Claim a lease for a holder (POST /v1/claim).
    Claim(Grant),
    /// Extend the holder's lease (POST /v1/extend).
    Extend(Grant),
    /// Give the holder's lease up (POST /v1/revoke).
    Revoke(Release),
    /// Pin a lease for an entity, so it outlives its expiry (POST /v1/pin).
    Pin(Pin),
    /// Remove an entity's pin (POST /v1/unpin).
    Unpin(Unpin),
    /// Hand a lease from its holder to another (POST /v1/handover).
    Handover(Handover),
    /// List the held leases (GET /v1/leases).
    Leases(Filter),
    /// Show the node's view of itself and the cluster (GET /v1/status).
    Status,
    /// Follow the committed batches (WebSocket /v1/watch) until Ctrl-C or the server
    /// closes.
    Watch(Watch),
    /// Change the cluster's members.
    #[command(subcommand)]
    Members(Members),
}

/// The names of a lease.
#[derive(Debug, Args, Serialize)]
pub struct LeaseKey {
    /// The lease's namespace.
    #[arg(value_name = "NS")]
    pub namespace: String,
    /// Its model.
    #[arg(value_name = "MODEL")]
    pub model: String,
    /// The lease's name.
    #[arg(value_name = "LEASE")]
    pub lease: String,
}

/// A claim or an extension: `{namespace, model, lease, holder, durationMs}`.
#[derive(Debug, Args, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Grant {
    /// The lease.
    #[command(flatten)]
    #[serde(flatten)]
    pub key: LeaseKey,
    /// Who claims or holds it.
    #[arg(value_name = "HOLDER")]
    pub holder: String,
    /// How long the grant lasts (250ms, 60s, 5m, 1h; a bare number is ms).
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    #[serde(rename = "durationMs")]
    pub duration: Millis,
}

/// A revocation: `{namespace, model, lease, holder}`.
#[derive(Debug, Args, Serialize)]
pub struct Release {
    /// The lease.
    #[command(flatten)]
    #[serde(flatten)]
    pub key: LeaseKey,
    /// Who holds it.
    #[arg(value_name = "HOLDER")]
    pub holder: String,
}

/// A pin: `{namespace, model, lease, entity, untilMs?, reason?}`.
#[derive(Debug, Args, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pin {
    /// The lease.
    #[command(flatten)]
    #[serde(flatten)]
    pub key: LeaseKey,
    /// Who pins it.
    #[arg(value_name = "ENTITY")]
    pub entity: String,
    /// How long the pin lasts (250ms, 60s, 5m, 1h); without it, until unpinned.
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    #[serde(rename = "untilMs", skip_serializing_if = "Option::is_none")]
    pub until: Option<Millis>,
    /// Why it is pinned.
    #[arg(long, value_name = "TEXT")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// An unpin: `{namespace, model, lease, entity}`.
#[derive(Debug, Args, Serialize)]
pub struct Unpin {
    /// The lease.
    #[command(flatten)]
    #[serde(flatten)]
    pub key: LeaseKey,
    /// Whose pin to remove.
    #[arg(value_name = "ENTITY")]
    pub entity: String,
}

/// A handover: `{namespace, model, lease, from, to, durationMs}`.
#[derive(Debug, Args, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Handover {
    /// The lease.
    #[command(flatten)]
    #[serde(flatten)]
    pub key: LeaseKey,
    /// Its current holder.
    #[arg(value_name = "FROM")]
    pub from: String,
    /// The new holder.
    #[arg(value_name = "TO")]
    pub to: String,
    /// How long the new holder's grant lasts (250ms, 60s, 5m, 1h).
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    #[serde(rename = "durationMs")]
    pub duration: Millis,
}

/// Which leases to list.
#[derive(Debug, Args)]
pub struct Filter {
    /// Only this namespace.
    #[arg(long, value_name = "NS")]
    pub namespace: Option<String>,
    /// Only this model.
    #[arg(long, value_name = "M")]
    pub model: Option<String>,
}

/// Where to start watching.
#[derive(Debug, Args)]
pub struct Watch {
    /// Resume from this log index (without it: a snapshot, then what follows).
    #[arg(long, value_name = "INDEX")]
    pub from: Option<u64>,
}

/// Membership changes; each answers the new status.
#[derive(Debug, Subcommand)]
pub enum Members {
    /// Add a node (POST /v1/members/add).
    Add(NewMember),
    /// Remove a node (POST /v1/members/remove).
    Remove(OldMember),
}

/// A node to add: `{id, addr}`.
#[derive(Debug, Args, Serialize)]
pub struct NewMember {
    /// Its node id.
    #[arg(value_name = "ID")]
    pub id: u64,
    /// Its address (`host:port`).
    #[arg(value_name = "ADDR")]
    pub addr: String,
}

/// A node to remove: `{id}`.
#[derive(Debug, Args, Serialize)]
pub struct OldMember {
    /// Its node id.
    #[arg(value_name = "ID")]
    pub id: u64,
}

/// A duration in whole milliseconds, as the service takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Millis(pub u64);

/// Parses `250ms`, `60s`, `5m`, `1h` or a bare number of milliseconds.
pub fn duration(text: &str) -> Result<Millis, String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let scale = match unit {
        "" | "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return Err(DURATION_FORM.into()),
    };
    let n: u64 = digits.parse().map_err(|_| String::from(DURATION_FORM))?;
    n.checked_mul(scale)
        .map(Millis)
        .ok_or_else(|| "too long a duration".into())
}

/// How a duration is written, for errors.
const DURATION_FORM: &str = "expected a whole number with a unit: 250ms, 60s, 5m or 1h";

/// The service's address: `http://` and an authority, with an optional path prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `host:port`.
    authority: String,
    /// A path prefix without a trailing `/` (usually empty).
    prefix: String,
}

impl Endpoint {
    /// The HTTP URL of `path` (which starts with `/`).
    pub fn http(&self, path: &str) -> String {
        format!("http://{}{}{path}", self.authority, self.prefix)
    }

    /// The WebSocket URL of `path`.
    pub fn ws(&self, path: &str) -> String {
        format!("ws://{}{}{path}", self.authority, self.prefix)
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}{}", self.authority, self.prefix)
    }
}

/// Parses an `http://host:port[/prefix]` endpoint.
pub fn endpoint(text: &str) -> Result<Endpoint, String> {
    let uri: Uri = text.parse().map_err(|e| format!("not a URL: {e}"))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") => return Err("TLS is not supported: use an http:// endpoint".into()),
        _ => return Err("expected an http:// URL, e.g. http://127.0.0.1:7401".into()),
    }
    let authority = uri.authority().ok_or("the URL names no host")?;
    if uri.query().is_some() {
        return Err("an endpoint takes no query".into());
    }
    Ok(Endpoint {
        authority: authority.to_string(),
        prefix: uri.path().trim_end_matches('/').to_string(),
    })
}

/// A bearer token, read from its file, as the `Authorization` header that carries it.
#[derive(Clone)]
pub struct Token(HeaderValue);

impl Token {
    /// The `Authorization` header's value: `Bearer <token>`.
    pub fn header(&self) -> HeaderValue {
        self.0.clone()
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(..)")
    }
}

/// Reads a token file: its content, trimmed, which must be a header's worth of text.
pub fn token_file(path: &str) -> Result<Token, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let token = text.trim();
    if token.is_empty() {
        return Err(format!("the token file {path} is empty"));
    }
    let mut value = HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|_| format!("the token in {path} has characters a header cannot carry"))?;
    value.set_sensitive(true);
    Ok(Token(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration("250ms"), Ok(Millis(250)));
        assert_eq!(duration("60s"), Ok(Millis(60_000)));
        assert_eq!(duration("5m"), Ok(Millis(300_000)));
        assert_eq!(duration("1h"), Ok(Millis(3_600_000)));
        assert_eq!(duration("1500"), Ok(Millis(1500)));
        for bad in ["", "5x", "s", "-1s", "1.5s", "99999999999999999999h", "5 s"] {
            assert!(duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn endpoints() {
        let e = endpoint("http://127.0.0.1:7401/").unwrap();
        assert_eq!(e.http("/v1/status"), "http://127.0.0.1:7401/v1/status");
        assert_eq!(e.ws("/v1/watch"), "ws://127.0.0.1:7401/v1/watch");
        let e = endpoint("http://host:80/lease").unwrap();
        assert_eq!(e.http("/v1/status"), "http://host:80/lease/v1/status");
        assert!(endpoint("https://host").unwrap_err().contains("TLS"));
        assert!(endpoint("127.0.0.1:7401").is_err());
        assert!(endpoint("http://host/?a=b").is_err());
    }

    #[test]
    fn bodies() {
        let cli = Cli::parse_from(["x", "pin", "ns", "m", "db", "op/1", "--until", "10m"]);
        let Command::Pin(pin) = cli.command else {
            panic!("not a pin")
        };
        let body = serde_json::to_string(&pin).unwrap();
        let expected =
            r#"{"namespace":"ns","model":"m","lease":"db","entity":"op/1","untilMs":600000}"#;
        assert_eq!(body, expected);
    }
}
