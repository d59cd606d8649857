//! One batch, decoded: every operation and the answer the state machine gave it.

use crate::hooks::use_dispatch;
use crate::model::ledger::OpAnswer;
use crate::state::{Action, RunRef};
use leasehold::Op;
use yew::prelude::*;

/// The most operations the detail lists.
pub const LISTED: usize = 400;

/// The detail's properties.
#[derive(Properties, PartialEq)]
pub struct BatchDetailProps {
    /// The run.
    pub run: RunRef,
    /// The batch.
    pub seq: u64,
}

/// A line for an operation.
#[must_use]
pub fn describe(op: &Op) -> String {
    let secs = |d: &std::time::Duration| format!("{:.0} s", d.as_secs_f64());
    match op {
        Op::Claim {
            key,
            holder,
            duration,
        } => format!("claim {} by {holder} for {}", key.lease, secs(duration)),
        Op::Extend {
            key,
            holder,
            duration,
        } => format!("extend {} by {holder} for {}", key.lease, secs(duration)),
        Op::Revoke { key, holder } => format!("revoke {} from {holder}", key.lease),
        Op::Pin {
            key,
            entity,
            until,
            reason,
        } => {
            let mut s = format!("pin {} for {entity}", key.lease);
            if let Some(r) = reason {
                s.push_str(&format!(" ({r})"));
            }
            if let Some(u) = until.filter(|u| u.as_millis() < u64::MAX / 2) {
                s.push_str(&format!(" until {u}"));
            }
            s
        }
        Op::Unpin { key, entity } => format!("unpin {} for {entity}", key.lease),
        Op::SetTime { old, new } => format!("set time {old} → {new}"),
        Op::Handover {
            key,
            from,
            to,
            duration,
        } => {
            format!(
                "hand {} from {from} to {to} for {}",
                key.lease,
                secs(duration)
            )
        }
    }
}

/// A word for an answer.
#[must_use]
pub fn answer(a: &OpAnswer) -> (String, &'static str) {
    match a {
        Ok(Some(token)) => (format!("ok · token {token}"), "ok"),
        Ok(None) => ("ok".to_owned(), "ok"),
        Err(e) => (e.to_string(), "err"),
    }
}

/// The batch detail.
#[component]
pub fn BatchDetail(props: &BatchDetailProps) -> Html {
    let dispatch = use_dispatch();
    let close = Callback::from(move |_: MouseEvent| dispatch.dispatch(Action::OpenBatch(None)));
    let run = props.run.borrow();
    let Some(batch) = run.batch(props.seq) else {
        return html! {
            <aside class="drawer" data-testid="batch-detail">
                <button class="close" onclick={close}>{ "×" }</button>
                <p>{ format!("Batch {} is not in the log.", props.seq) }</p>
            </aside>
        };
    };
    let answers = run.answers(props.seq).unwrap_or_default();
    let report = run.live().and_then(|l| l.report(props.seq));
    let broken = run.violation().filter(|b| b.batch == props.seq);
    let bytes = run.head().batch_bytes(props.seq).map_or(0, <[u8]>::len);
    html! {
        <aside class="drawer" data-testid="batch-detail" data-seq={props.seq.to_string()}>
            <button class="close" onclick={close} aria-label="close">{ "×" }</button>
            <h2>{ format!("Batch #{}", props.seq) }</h2>
            <p class="facts">
                { format!("{} operations · {bytes} bytes ({:.1} per operation)", batch.ops.len(),
                    bytes as f64 / batch.ops.len().max(1) as f64) }
                if let Some(r) = report {
                    { format!(" · {} requests · waited up to {} ms · cut at {} · settled at {}{}",
                        r.requests, r.max_wait.as_millis(), r.cut_at, r.settled_at,
                        if r.committed { "" } else { " · ABANDONED" }) }
                }
            </p>
            if let Some(b) = broken {
                <p class="broken">{ format!("✗ this batch broke an invariant {}", b.what) }</p>
            }
            <ol class="ops">
                { for batch.ops.iter().zip(answers.iter().map(Some).chain(std::iter::repeat(None)))
                    .take(LISTED).map(|(op, a)| {
                    let (text, class) = a.map_or((String::from("?"), "unknown"), answer);
                    html! {
                        <li data-testid="batch-op"><span class="op">{ describe(op) }</span>
                            <span class={classes!("answer", class)}>{ text }</span></li>
                    }
                }) }
            </ol>
            if batch.ops.len() > LISTED {
                <p class="hint">{ format!("… and {} more", batch.ops.len() - LISTED) }</p>
            }
        </aside>
    }
}
