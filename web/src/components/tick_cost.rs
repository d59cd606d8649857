//! The page's own cost per 100 ms tick: the main thread's mean over the last ticks,
//! with its run-and-ledger part (the browser tests read it).

use crate::model::scene::Cost;
use yew::prelude::*;

/// The meter's properties.
#[derive(Properties, PartialEq)]
pub struct TickCostProps {
    /// The page's cost per tick.
    pub cost: Cost,
}

/// The tick-cost meter.
#[component]
pub fn TickCost(props: &TickCostProps) -> Html {
    let meter = &props.cost;
    let cost = meter.mean;
    html! {
        <span class="tick-cost" data-testid="tick-cost" data-ms={format!("{cost:.3}")}
            data-overall-ms={format!("{:.3}", meter.overall)}
            data-ticks={meter.ticks.to_string()}
            data-sim-ms={format!("{:.3}", meter.mean_sim)}
            title={format!("the main thread's mean cost per 100 ms tick over the last 50 ticks: \
                {:.1} ms run and ledger, {:.1} ms drawing (Yew, DOM, style, layout; painting aside)",
                meter.mean_sim, cost - meter.mean_sim)}>
            { format!("tick {cost:.1} ms") }
        </span>
    }
}
