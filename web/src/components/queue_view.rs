//! The queue: each lane's depth against its capacity, with its shed and deadline
//! counters, and the batches in flight.

use crate::model::scene::{LaneScene, QueueScene};
use leasehold::Lane;
use std::rc::Rc;
use yew::prelude::*;

/// The queue view's properties.
#[derive(Properties, PartialEq)]
pub struct QueueViewProps {
    /// The engine's queue (`None` for a replayed log).
    pub queue: Option<Rc<QueueScene>>,
}

/// The queue view.
#[component]
pub fn QueueView(props: &QueueViewProps) -> Html {
    let Some(queue) = props.queue.as_deref() else {
        return html! {
            <div class="queue">
                <h2>{ "Queue" }</h2>
                <p class="hint">{ "A replayed log has no queue (only what was committed); a live cluster's shows once its leader's metrics arrive." }</p>
                { for Lane::ALL.iter().map(|l| html! {
                    <span hidden=true data-testid={format!("lane-{}", l.name())} data-depth="0" />
                }) }
            </div>
        };
    };
    let shared: usize = queue
        .lanes
        .iter()
        .filter(|l| l.lane != Lane::Singular)
        .map(|l| l.depth)
        .sum();
    // A live cluster's metrics count outcomes, not lanes: its foot lists them instead.
    let per_lane = queue.answers.is_none();
    let lane = |l: &LaneScene| {
        let (cap, cap_text) = if l.lane == Lane::Singular {
            (
                queue.max_batch_ops.max(1),
                "reserved, never shed".to_owned(),
            )
        } else {
            (queue.capacity, format!("of {} shared", queue.capacity))
        };
        let (name, depth) = (l.lane.name(), l.depth);
        let frac = (depth as f64 / cap as f64).clamp(0.0, 1.0);
        html! {
            <div class={classes!("lane", name)} data-testid={format!("lane-{name}")}
                data-depth={depth.to_string()} data-shed={l.shed.to_string()}
                data-deadline={l.deadline.to_string()}>
                <span class="name">{ name }</span>
                <span class="gauge" title={format!("{depth} waiting, {cap_text}")}>
                    <span class="fill" style={format!("width:{:.1}%", frac * 100.0)} />
                </span>
                <span class="depth num">{ depth }</span>
                if per_lane {
                    <span class="shed num" title="shed (refused for lack of room)">{ l.shed }</span>
                    <span class="deadline num" title="answered DeadlineExceeded">{ l.deadline }</span>
                }
            </div>
        }
    };
    let (in_flight, max_in_flight) = queue.in_flight;
    html! {
        <div class="queue">
            <h2>{ "Queue" }
                if queue.in_past { <span class="hint">{ " now (the timeline shows an earlier moment)" }</span> }
            </h2>
            <div class="lane head">
                <span class="name">{ "lane" }</span><span class="gauge-head">{ "depth / capacity" }</span>
                <span class="num">{ "depth" }</span>
                if per_lane { <span class="num">{ "shed" }</span><span class="num">{ "deadline" }</span> }
            </div>
            { for queue.lanes.iter().map(lane) }
            if let Some(answers) = &queue.answers {
                <p class="queue-foot" data-testid="leader-answers">
                    { format!("the leader's queue, from its metrics · answered so far: {}",
                        answers.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(" · ")) }
                </p>
            } else {
                <p class="queue-foot">
                    { format!("{shared} / {} in the shared lanes · {in_flight} of {max_in_flight} batches in flight · {} coalesced",
                        queue.capacity, queue.coalesced) }
                </p>
            }
        </div>
    }
}
