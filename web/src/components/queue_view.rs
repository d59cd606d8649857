//! The queue: each lane's depth against its capacity, with its shed and deadline
//! counters, and the batches in flight.

use crate::state::RunRef;
use leasehold::Lane;
use yew::prelude::*;

/// The queue view's properties.
#[derive(Properties, PartialEq)]
pub struct QueueViewProps {
    /// The run.
    pub run: RunRef,
}

/// The queue view.
#[component]
pub fn QueueView(props: &QueueViewProps) -> Html {
    let run = props.run.borrow();
    let Some(live) = run.live() else {
        return html! {
            <div class="queue">
                <h2>{ "Queue" }</h2>
                <p class="hint">{ "A replayed log has no queue: only what was committed." }</p>
                { for Lane::ALL.iter().map(|l| html! {
                    <span hidden=true data-testid={format!("lane-{}", l.name())} data-depth="0" />
                }) }
            </div>
        };
    };
    let engine = live.sim().engine();
    let config = engine.config();
    let metrics = engine.metrics();
    let shared: usize = [Lane::Extend, Lane::Admin, Lane::Claim]
        .iter()
        .map(|&l| engine.queue_depth(l))
        .sum();
    let lane = |l: Lane| {
        let depth = engine.queue_depth(l);
        let m = metrics.lane(l);
        let (cap, cap_text) = if l == Lane::Singular {
            (
                config.max_batch_ops.max(1),
                "reserved, never shed".to_owned(),
            )
        } else {
            (
                config.queue_capacity,
                format!("of {} shared", config.queue_capacity),
            )
        };
        let frac = (depth as f64 / cap as f64).clamp(0.0, 1.0);
        html! {
            <div class={classes!("lane", l.name())} data-testid={format!("lane-{}", l.name())}
                data-depth={depth.to_string()} data-shed={m.shed.to_string()}
                data-deadline={m.deadline_exceeded.to_string()}>
                <span class="name">{ l.name() }</span>
                <span class="gauge" title={format!("{depth} waiting, {cap_text}")}>
                    <span class="fill" style={format!("width:{:.1}%", frac * 100.0)} />
                </span>
                <span class="depth num">{ depth }</span>
                <span class="shed num" title="shed (refused for lack of room)">{ m.shed }</span>
                <span class="deadline num" title="answered DeadlineExceeded">{ m.deadline_exceeded }</span>
            </div>
        }
    };
    html! {
        <div class="queue">
            <h2>{ "Queue" }
                if run.in_past() { <span class="hint">{ " now (the timeline shows an earlier moment)" }</span> }
            </h2>
            <div class="lane head">
                <span class="name">{ "lane" }</span><span class="gauge-head">{ "depth / capacity" }</span>
                <span class="num">{ "depth" }</span><span class="num">{ "shed" }</span><span class="num">{ "deadline" }</span>
            </div>
            { for Lane::ALL.into_iter().map(lane) }
            <p class="queue-foot">
                { format!("{shared} / {} in the shared lanes · {} of {} batches in flight · {} coalesced",
                    config.queue_capacity, engine.in_flight(), config.max_in_flight, metrics.coalesced) }
            </p>
        </div>
    }
}
