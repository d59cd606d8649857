//! The last batches cut: operations, bytes, how long their requests waited. Click one
//! to see its operations and the answer each got.

use crate::hooks::use_dispatch;
use crate::model::scene::BatchesScene;
use crate::state::Action;
use crate::state::timeline::TimelineAction;
use std::rc::Rc;
use yew::prelude::*;

/// The list's properties.
#[derive(Properties, PartialEq)]
pub struct BatchListProps {
    /// The last batches.
    pub batches: Rc<BatchesScene>,
    /// The batch whose detail is open.
    pub open: Option<u64>,
}

/// The batch list.
#[component]
pub fn BatchList(props: &BatchListProps) -> Html {
    let dispatch = use_dispatch();
    let broken = props.batches.broken;
    let items = props.batches.items.iter().map(|item| {
        let s = &item.summary;
        let seq = s.seq;
        let onclick = {
            let d = dispatch.clone();
            Callback::from(move |_: MouseEvent| {
                d.dispatch(Action::Timeline(TimelineAction::OpenBatch(Some(seq))));
            })
        };
        let (requests, wait) = item.report.map_or((String::from("—"), String::from("—")), |(r, w)| {
            (r.to_string(), format!("{w} ms"))
        });
        html! {
            <li key={seq} data-testid="batch-item" data-seq={seq.to_string()} data-ops={s.ops.to_string()}
                data-bytes={s.bytes.to_string()}
                class={classes!("batch", (props.open == Some(seq)).then_some("open"),
                    (broken == Some(seq)).then_some("broken"))}
                onclick={onclick} title="click for its operations and answers">
                <span class="seq">{ format!("#{seq}") }</span>
                <span class="num">{ s.ops }</span>
                <span class="num">{ requests }</span>
                <span class="num">{ s.bytes }</span>
                <span class="num">{ wait }</span>
                <span class="num">{ format!("{:.1} s", s.time.as_millis() as f64 / 1000.0) }</span>
            </li>
        }
    });
    html! {
        <div class="batches">
            <h2>{ "Batches" }</h2>
            <div class="batch head">
                <span>{ "batch" }</span><span class="num">{ "ops" }</span><span class="num">{ "requests" }</span>
                <span class="num">{ "bytes" }</span><span class="num">{ "max wait" }</span><span class="num">{ "log time" }</span>
            </div>
            <ul class="batch-list">{ for items }</ul>
            if props.batches.items.is_empty() {
                <p class="hint">{ "No batch committed yet." }</p>
            }
        </div>
    }
}
