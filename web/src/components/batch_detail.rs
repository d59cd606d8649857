//! One batch, decoded: every operation (as the core writes it) and the answer the state
//! machine gave it.

use crate::hooks::use_dispatch;
use crate::model::ledger::OpAnswer;
use crate::model::scene::DetailScene;
use crate::state::Action;
use crate::state::timeline::TimelineAction;
use std::rc::Rc;
use yew::prelude::*;

/// The detail's properties.
#[derive(Properties, PartialEq)]
pub struct BatchDetailProps {
    /// The batch, decoded.
    pub detail: Rc<DetailScene>,
}

/// A word for an answer, and its colour class.
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
    let close = Callback::from(move |_: MouseEvent| {
        dispatch.dispatch(Action::Timeline(TimelineAction::OpenBatch(None)));
    });
    let d = &props.detail;
    if !d.found {
        return html! {
            <aside class="drawer" data-testid="batch-detail">
                <button class="close" onclick={close}>{ "×" }</button>
                <p>{ format!("Batch {} is not in the log.", d.seq) }</p>
            </aside>
        };
    }
    html! {
        <aside class="drawer" data-testid="batch-detail" data-seq={d.seq.to_string()}>
            <button class="close" onclick={close} aria-label="close">{ "×" }</button>
            <h2>{ format!("Batch #{}", d.seq) }</h2>
            <p class="facts">
                { format!("{} operations · {} bytes ({:.1} per operation)", d.total_ops, d.bytes,
                    d.bytes as f64 / d.total_ops.max(1) as f64) }
                if let Some(r) = &d.report {
                    { format!(" · {} requests · waited up to {} ms · cut at {} · settled at {}{}",
                        r.requests, r.max_wait.as_millis(), r.cut_at, r.settled_at,
                        if r.committed { "" } else { " · ABANDONED" }) }
                }
            </p>
            if let Some(what) = &d.broken {
                <p class="broken">{ format!("✗ this batch broke an invariant {what}") }</p>
            }
            <ol class="ops">
                { for d.ops.iter().map(|op| {
                    let (text, class) = op.answer.as_ref().map_or((String::from("?"), "unknown"), answer);
                    html! {
                        <li data-testid="batch-op" data-kind={op.kind}>
                            <span class="op">{ &op.text }</span>
                            <span class={classes!("answer", class)}>{ text }</span>
                        </li>
                    }
                }) }
            </ol>
            if d.total_ops > d.ops.len() {
                <p class="hint">{ format!("… and {} more", d.total_ops - d.ops.len()) }</p>
            }
        </aside>
    }
}
