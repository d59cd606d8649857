//! The bar a live cluster shows instead of the transport: the cluster's log time, the
//! watch link, the page's cost per tick. The cluster moves by itself: there is nothing
//! to play, step or speed up.

use super::tick_cost::TickCost;
use super::transport::clock;
use crate::hooks::use_dispatch;
use crate::model::scene::{ClockScene, ClusterScene};
use crate::state::Action;
use std::rc::Rc;
use yew::prelude::*;

/// The bar's properties.
#[derive(Properties, PartialEq)]
pub struct LiveBarProps {
    /// Log time and the page's cost.
    pub clock: Rc<ClockScene>,
    /// The cluster.
    pub cluster: Rc<ClusterScene>,
}

/// The live bar.
#[component]
pub fn LiveBar(props: &LiveBarProps) -> Html {
    let dispatch = use_dispatch();
    let help = Callback::from(move |_: MouseEvent| dispatch.dispatch(Action::ToggleHelp));
    let c = &props.cluster;
    let link = match (c.link, &c.lost_reason) {
        ("open", _) => format!("watching {}", c.watched.0),
        ("lost", Some(reason)) => format!("lost {} ({reason}); reconnecting", c.watched.0),
        _ => format!("connecting to {}", c.watched.0),
    };
    html! {
        <div class="transport live-bar">
            <span class={classes!("link-state", c.link)}>{ link }</span>
            <span class="sim-time" data-testid="log-time" data-ms={props.clock.time_ms.to_string()}
                title="the cluster's log time, as of the last batch seen">
                { "log time " }{ clock(props.clock.time_ms) }
            </span>
            <TickCost cost={props.clock.cost} />
            <button class="help-button" onclick={help} title="keyboard shortcuts (?)">{ "?" }</button>
        </div>
    }
}
