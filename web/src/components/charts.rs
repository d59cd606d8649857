//! The charts: requests and successes per second, batch size, latency p50 / p99,
//! shedding and leadership changes, over the last simulated minutes.

use super::chart::{Chart, Line};
use crate::model::series::{LogSample, Sample, log_samples};
use crate::state::RunRef;
use yew::prelude::*;

/// How many simulated seconds the charts show.
pub const WINDOW_S: usize = 120;

/// The charts' properties.
#[derive(Properties, PartialEq)]
pub struct ChartsProps {
    /// The run.
    pub run: RunRef,
}

/// The chart panel.
#[component]
pub fn Charts(props: &ChartsProps) -> Html {
    let run = props.run.borrow();
    let Some(live) = run.live() else {
        // A replayed log: what the log itself shows, per log second.
        let samples = log_samples(run.shown(), WINDOW_S as u64);
        let line = |label, colour, f: fn(&LogSample) -> f64| Line {
            label,
            colour,
            points: samples.iter().map(|s| (s.t, f(s))).collect(),
        };
        return html! {
            <div class="charts">
                <h2>{ "Charts" }
                    <span class="hint">{ " (replayed log: what it committed; requests, latency and shedding are not in a log)" }</span>
                </h2>
                <Chart title="throughput" testid="chart-throughput" unit="per s" lines={vec![
                    line("operations", "c5", |s| s.ops),
                    line("batches", "c3", |s| s.batches),
                ]} />
                <Chart title="latency" testid="chart-latency" unit="ms" lines={Vec::new()} />
                <Chart title="batch size" testid="chart-batch-size" unit="ops per batch" lines={vec![
                    line("ops", "c1", |s| s.batch_size),
                ]} />
                <Chart title="leadership changes" testid="chart-leadership" unit="per s" lines={vec![
                    line("deposed", "c7", |s| s.deposed),
                ]} />
            </div>
        };
    };
    let samples: Vec<Sample> = {
        let s = live.series().samples();
        let skip = s.len().saturating_sub(WINDOW_S);
        s.skip(skip).copied().collect()
    };
    let line = |label, colour, f: fn(&Sample) -> f64| Line {
        label,
        colour,
        points: samples.iter().map(|s| (s.t, f(s))).collect(),
    };
    html! {
        <div class="charts">
            <h2>{ "Charts" }</h2>
            <Chart title="throughput" testid="chart-throughput" unit="per s" lines={vec![
                line("requests", "c5", |s| s.requests),
                line("successes", "c3", |s| s.successes),
            ]} />
            <Chart title="latency" testid="chart-latency" unit="ms" lines={vec![
                line("p50", "c2", |s| s.p50_ms),
                line("p99", "c6", |s| s.p99_ms),
            ]} />
            <Chart title="batch size" testid="chart-batch-size" unit="ops per batch" lines={vec![
                line("ops", "c1", |s| s.batch_size),
            ]} />
            <Chart title="shedding" testid="chart-shed" unit="per s" lines={vec![
                line("shed", "c6", |s| s.shed),
            ]} />
            <Chart title="leadership changes" testid="chart-leadership" unit="per s" lines={vec![
                line("changes", "c7", |s| s.leader_changes),
            ]} />
        </div>
    }
}
