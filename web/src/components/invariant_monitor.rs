//! The invariant monitor: never two holders at one log time, no take-over before
//! expiry or while pinned, tokens only grow. A break shows at once; the dashboard
//! pauses and jumps to the batch that broke it.

use crate::hooks::use_dispatch;
use crate::state::{Action, RunRef};
use yew::prelude::*;

/// The monitor's properties.
#[derive(Properties, PartialEq)]
pub struct InvariantMonitorProps {
    /// The run.
    pub run: RunRef,
}

/// The invariant monitor.
#[component]
pub fn InvariantMonitor(props: &InvariantMonitorProps) -> Html {
    let dispatch = use_dispatch();
    let run = props.run.borrow();
    let count = run.violations();
    let checked = run.head().batches();
    match run.violation() {
        None => html! {
            <div class="invariants ok" data-testid="invariant-status" data-violations={count.to_string()}>
                <span class="mark">{ "✓" }</span>
                <span class="text">
                    { format!("invariants hold: one holder per lease, no take-over before expiry or while pinned, \
                        tokens only grow ({checked} batches checked)") }
                </span>
            </div>
        },
        Some(b) => {
            let seq = b.batch;
            let pos = run
                .head()
                .summaries()
                .iter()
                .position(|s| s.seq == seq)
                .map_or(checked, |i| i + 1);
            let show = Callback::from(move |_: MouseEvent| {
                dispatch.dispatch(Action::Seek(pos));
                dispatch.dispatch(Action::OpenBatch(Some(seq)));
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
