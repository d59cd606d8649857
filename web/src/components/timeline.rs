//! The timeline: any earlier moment of the log, by batch. Moving it back pauses and
//! shows the state after that batch; playing from there replays the log up to its head,
//! then the live run continues.

use super::transport::clock;
use crate::hooks::use_dispatch;
use crate::model::scene::TimelineScene;
use crate::state::Action;
use crate::state::timeline::TimelineAction;
use std::rc::Rc;
use web_sys::HtmlInputElement;
use yew::prelude::*;

/// The timeline's properties.
#[derive(Properties, PartialEq)]
pub struct TimelineProps {
    /// Where the timeline is.
    pub timeline: Rc<TimelineScene>,
}

/// The timeline.
#[component]
pub fn Timeline(props: &TimelineProps) -> Html {
    let dispatch = use_dispatch();
    let t = &props.timeline;
    let (end, pos) = (t.end, t.pos);
    let seek = {
        let d = dispatch.clone();
        Callback::from(move |e: Event| {
            let v: usize = e
                .target_unchecked_into::<HtmlInputElement>()
                .value()
                .parse()
                .unwrap_or(0);
            d.dispatch(Action::Timeline(TimelineAction::Seek(v)));
        })
    };
    let on = |a: TimelineAction| {
        let d = dispatch.clone();
        Callback::from(move |_: MouseEvent| d.dispatch(Action::Timeline(a.clone())))
    };
    let seq = t.seq.map_or(String::from("—"), |s| s.to_string());
    html! {
        <div class={classes!("timeline", t.in_past.then_some("past"))}>
            <button onclick={on(TimelineAction::SeekBy(-1))} disabled={pos == 0} title="back one batch (←)">{ "◀" }</button>
            <input data-testid="timeline" type="range" min="0" max={end.to_string()}
                value={pos.to_string()} onchange={seek} aria-label="timeline" />
            <button onclick={on(TimelineAction::SeekBy(1))} disabled={pos >= end} title="forward one batch">{ "▶" }</button>
            <span class="where" data-testid="timeline-position" data-pos={pos.to_string()} data-end={end.to_string()}>
                { format!("batch {seq} · {pos} / {end} · log time {}", clock(t.log_ms)) }
            </span>
            if t.in_past {
                <button data-testid="to-head" class="to-head" onclick={on(TimelineAction::ToHead)} title="back to the head (End)">
                    { "⇥ head" }
                </button>
            }
        </div>
    }
}
