//! `leaseholdctl`: the command line of the lease service, over its HTTP/JSON API.
//!
//! ```text
//! leaseholdctl --endpoint http://127.0.0.1:7401 [--token-file FILE] [--json] <command>
//! ```
//!
//! The six operations (`claim`, `extend`, `revoke`, `pin`, `unpin`, `handover`) print
//! one line for their answer; `leases` a table; `status` and `members` the node's status;
//! `watch` one line per committed batch. `--json` prints the service's bodies instead.
//!
//! Exit status: 0 when the service said yes; 1 when it refused (any non-2xx answer);
//! 2 for usage errors; 3 when it could not be reached.

// The pieces live in `leaseholdctl/` (a binary's root looks beside itself for modules).
#[path = "leaseholdctl/cli.rs"]
mod cli;
#[path = "leaseholdctl/http.rs"]
mod http;
#[path = "leaseholdctl/json.rs"]
mod json;
#[path = "leaseholdctl/show.rs"]
mod show;
#[path = "leaseholdctl/watch.rs"]
mod watch;

use clap::Parser;
use cli::{Cli, Command, Filter, Members};
use http::{Http, NoAnswer, Reply, query};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::io::Write;
use std::process::ExitCode;

/// How the program ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The service said yes.
    Ok = 0,
    /// The service answered with a refusal.
    Refused = 1,
    /// The service could not be reached (or gave no answer in time).
    Unreachable = 3,
}

/// Parses the command line and runs the command on a current-thread runtime.
fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            complain(&format!("cannot start the runtime: {e}"));
            return ExitCode::FAILURE;
        }
    };
    let exit = runtime.block_on(run(cli));
    ExitCode::from(exit as u8)
}

/// Runs one command.
async fn run(cli: Cli) -> Exit {
    let Cli {
        endpoint,
        token_file: token,
        json,
        command,
    } = cli;
    let http = Http::new(endpoint.clone(), token.clone());
    match &command {
        Command::Claim(grant) => operation(&http, "claim", grant, json).await,
        Command::Extend(grant) => operation(&http, "extend", grant, json).await,
        Command::Revoke(release) => operation(&http, "revoke", release, json).await,
        Command::Pin(pin) => operation(&http, "pin", pin, json).await,
        Command::Unpin(unpin) => operation(&http, "unpin", unpin, json).await,
        Command::Handover(handover) => operation(&http, "handover", handover, json).await,
        Command::Leases(filter) => leases(&http, filter, json).await,
        Command::Status => shown(http.get("/v1/status").await, json, show::status),
        Command::Members(Members::Add(member)) => {
            let reply = http.post("/v1/members/add", member).await;
            shown(reply, json, show::status)
        }
        Command::Members(Members::Remove(member)) => {
            let reply = http.post("/v1/members/remove", member).await;
            shown(reply, json, show::status)
        }
        Command::Watch(w) => watch::run(&endpoint, token.as_ref(), w.from, json).await,
    }
}

/// `POST /v1/<name>` with `body`; prints the answer's line (or its JSON).
async fn operation<T: Serialize>(http: &Http, name: &str, body: &T, json: bool) -> Exit {
    let reply = match http.post(&format!("/v1/{name}"), body).await {
        Ok(reply) => reply,
        Err(e) => return unreachable(e),
    };
    if json {
        return raw(&reply);
    }
    match serde_json::from_slice::<show::Answer>(&reply.body) {
        Ok(answer) => {
            say(&show::answer(&answer));
            if answer.ok && reply.status.is_success() {
                Exit::Ok
            } else {
                Exit::Refused
            }
        }
        Err(_) => unexpected(&reply),
    }
}

/// `GET /v1/leases`, filtered; prints the table (or the JSON).
async fn leases(http: &Http, filter: &Filter, json: bool) -> Exit {
    let filter = [
        ("namespace", filter.namespace.as_deref()),
        ("model", filter.model.as_deref()),
    ];
    let reply = http.get(&format!("/v1/leases{}", query(&filter))).await;
    shown(reply, json, show::leases)
}

/// Prints a read's answer through `render` (or as JSON); a refusal as what it says.
fn shown<T: DeserializeOwned>(
    reply: Result<Reply, NoAnswer>,
    json: bool,
    render: fn(&T) -> String,
) -> Exit {
    let reply = match reply {
        Ok(reply) => reply,
        Err(e) => return unreachable(e),
    };
    if json {
        return raw(&reply);
    }
    if !reply.status.is_success() {
        return unexpected(&reply);
    }
    match serde_json::from_slice::<T>(&reply.body) {
        Ok(value) => {
            say(&render(&value));
            Exit::Ok
        }
        Err(_) => unexpected(&reply),
    }
}

/// Prints the body as JSON (pretty), or the status and the text when it is not JSON.
fn raw(reply: &Reply) -> Exit {
    match json::pretty(&reply.body) {
        Some(text) => {
            say(&text);
            status_exit(reply)
        }
        None => unexpected(reply),
    }
}

/// Reports a refusal, or an answer not of the expected shape: its status and its text.
fn unexpected(reply: &Reply) -> Exit {
    if reply.status.is_success() {
        let text = json::compact(&reply.body).unwrap_or_else(|| reply.text());
        complain(&format!("an unexpected answer ({}): {text}", reply.status));
    } else {
        complain(&show::refusal(reply.status, &reply.body));
    }
    Exit::Refused
}

/// 0 for a 2xx answer, 1 for the rest.
fn status_exit(reply: &Reply) -> Exit {
    if reply.status.is_success() {
        Exit::Ok
    } else {
        Exit::Refused
    }
}

/// Says why there was no answer.
fn unreachable(e: NoAnswer) -> Exit {
    complain(&e.0);
    Exit::Unreachable
}

/// Prints `text` on stdout, ending the line; false when stdout is closed.
pub fn say(text: &str) -> bool {
    let mut out = std::io::stdout().lock();
    let newline = if text.ends_with('\n') { "" } else { "\n" };
    write!(out, "{text}{newline}")
        .and_then(|()| out.flush())
        .is_ok()
}

/// Prints `leaseholdctl: <text>` on stderr.
pub fn complain(text: &str) {
    let _ = writeln!(std::io::stderr(), "leaseholdctl: {text}");
}
