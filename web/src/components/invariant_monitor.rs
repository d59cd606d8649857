//! The invariant monitor: never two holders at one log time, no take-over before
//! expiry or while pinned, tokens only grow. A break shows at once; the dashboard
//! pauses and jumps to the batch that broke it.

use crate::hooks::use_dispatch;
use crate::model::scene::InvariantScene;
use crate::state::Action;
use crate::state::timeline::TimelineAction;
use std::rc::Rc;
use yew::prelude::*;

/// The monitor's properties.
#[derive(Properties, PartialEq)]
pub struct InvariantMonitorProps {
    /// What the checkers found.
    pub invariants: Rc<InvariantScene>,
}

/// The invariant monitor.
#[component]
pub fn InvariantMonitor(props: &InvariantMonitorProps) -> Html {
    let dispatch = use_dispatch();
    let count = props.invariants.violations;
    let checked = props.invariants.checked;
    match props.invariants.broken.clone() {
        None => html! {
            <div class="invariants ok" data-testid="invariant-status" data-violations={count.to_string()}>
                <span class="mark">{ "✓" }</span>
                <span class="text">
                    { format!("invariants hold: one holder per lease, no take-over before expiry or while pinned, \
                        tokens only grow ({checked} batches checked)") }
                </span>
            </div>
        },
        Some((b, pos)) => {
            let seq = b.batch;
            let show = Callback::from(move |_: MouseEvent| {
                dispatch.dispatch(Action::Timeline(TimelineAction::Seek(pos)));
                dispatch.dispatch(Action::Timeline(TimelineAction::OpenBatch(Some(seq))));
            });
            html! {
                <div class="invariants broken" role="alert" data-testid="invariant-status"
                    data-violations={count.to_string()} data-batch={seq.to_string()}>
                    <span class="mark">{ "✗" }</span>
                    { format!(" invariant broken by batch {seq} {} ", b.what) }
                    <button onclick={show}>{ "show the batch" }</button>
                </div>
            }
        }
    }
}
