//! The timeline: any earlier moment of the log, by batch. Moving it back pauses and
//! shows the state after that batch; playing from there replays the log up to its head,
//! then the live run continues.

use super::transport::clock;
use crate::hooks::use_dispatch;
use crate::state::{Action, RunRef};
use web_sys::HtmlInputElement;
use yew::prelude::*;

/// The timeline's properties.
#[derive(Properties, PartialEq)]
pub struct TimelineProps {
    /// The run.
    pub run: RunRef,
}

/// The timeline.
#[component]
pub fn Timeline(props: &TimelineProps) -> Html {
    let dispatch = use_dispatch();
    let run = props.run.borrow();
    let end = run.head().batches();
    let pos = run.position();
    let seek = {
        let d = dispatch.clone();
        Callback::from(move |e: Event| {
            let v: usize = e
                .target_unchecked_into::<HtmlInputElement>()
                .value()
                .parse()
                .unwrap_or(0);
            d.dispatch(Action::Seek(v));
        })
    };
    let on = |a: Action| {
        let d = dispatch.clone();
        Callback::from(move |_: MouseEvent| d.dispatch(a.clone()))
    };
    let seq = run
        .shown()
        .summaries()
        .last()
        .map_or(String::from("—"), |s| s.seq.to_string());
    html! {
        <div class={classes!("timeline", run.in_past().then_some("past"))}>
            <button onclick={on(Action::SeekBy(-1))} disabled={pos == 0} title="back one batch (←)">{ "◀" }</button>
            <input data-testid="timeline" type="range" min="0" max={end.to_string()}
                value={pos.to_string()} onchange={seek} aria-label="timeline" />
            <button onclick={on(Action::SeekBy(1))} disabled={pos >= end} title="forward one batch">{ "▶" }</button>
            <span class="where" data-testid="timeline-position" data-pos={pos.to_string()} data-end={end.to_string()}>
                { format!("batch {seq} · {pos} / {end} · log time {}", clock(run.shown().now().as_millis())) }
            </span>
            if run.in_past() {
                <button data-testid="to-head" class="to-head" onclick={on(Action::ToHead)} title="back to the head (End)">
                    { "⇥ head" }
                </button>
            }
        </div>
    }
}
