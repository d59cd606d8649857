//! The charts: requests and successes per second, batch size, latency p50 / p99,
//! shedding and leadership changes, over the last simulated minutes.

use super::chart::{Chart, Line};
use crate::model::attached::ClusterSample;
use crate::model::scene::ChartsScene;
use crate::model::series::{LogSample, Sample};
use std::rc::Rc;
use yew::prelude::*;

/// The charts' properties.
#[derive(Properties, PartialEq)]
pub struct ChartsProps {
    /// The samples of the last simulated (or log) seconds.
    pub charts: Rc<ChartsScene>,
}

/// The chart panel.
#[component]
pub fn Charts(props: &ChartsProps) -> Html {
    match &*props.charts {
        ChartsScene::Live(samples) => live(samples),
        ChartsScene::Cluster(samples) => cluster(samples),
        ChartsScene::Log(samples) => replayed(samples),
    }
}

/// Samples taken over time.
trait Timed {
    /// When, seconds.
    fn t(&self) -> f64;
}

impl Timed for Sample {
    fn t(&self) -> f64 {
        self.t
    }
}

impl Timed for ClusterSample {
    fn t(&self) -> f64 {
        self.t
    }
}

impl Timed for LogSample {
    fn t(&self) -> f64 {
        self.t
    }
}

/// The line of `value` over `samples`.
fn line<S: Timed>(
    samples: &[S],
    label: &'static str,
    colour: &'static str,
    value: fn(&S) -> f64,
) -> Line {
    Line {
        label,
        colour,
        points: samples.iter().map(|s| (s.t(), value(s))).collect(),
    }
}

/// A live run's charts.
fn live(samples: &[Sample]) -> Html {
    html! {
        <div class="charts">
            <h2>{ "Charts" }</h2>
            <Chart title="throughput" testid="chart-throughput" unit="per s" lines={vec![
                line(samples, "requests", "c5", |s| s.requests),
                line(samples, "successes", "c3", |s| s.successes),
            ]} />
            <Chart title="latency" testid="chart-latency" unit="ms" lines={vec![
                line(samples, "p50", "c2", |s| s.p50_ms),
                line(samples, "p99", "c6", |s| s.p99_ms),
            ]} />
            <Chart title="batch size" testid="chart-batch-size" unit="ops per batch" lines={vec![
                line(samples, "ops", "c1", |s| s.batch_size),
            ]} />
            <Chart title="shedding" testid="chart-shed" unit="per s" lines={vec![
                line(samples, "shed", "c6", |s| s.shed),
            ]} />
            <Chart title="leadership changes" testid="chart-leadership" unit="per s" lines={vec![
                line(samples, "changes", "c7", |s| s.leader_changes),
            ]} />
        </div>
    }
}

/// A live cluster's charts, per wall-clock second since attaching.
fn cluster(samples: &[ClusterSample]) -> Html {
    html! {
        <div class="charts">
            <h2>{ "Charts" }<span class="hint">{ " (the cluster, live: per second of wall-clock time)" }</span></h2>
            <Chart title="throughput" testid="chart-throughput" unit="per s" lines={vec![
                line(samples, "answered", "c5", |s| s.answered),
                line(samples, "ops committed", "c3", |s| s.ops),
            ]} />
            <Chart title="latency" testid="chart-latency" unit="ms" lines={vec![
                line(samples, "p50", "c2", |s| s.p50_ms),
                line(samples, "p99", "c6", |s| s.p99_ms),
            ]} />
            <Chart title="batches" testid="chart-batch-size" unit="per s" lines={vec![
                line(samples, "batches", "c1", |s| s.batches),
            ]} />
            <Chart title="shedding" testid="chart-shed" unit="per s" lines={vec![
                line(samples, "shed", "c6", |s| s.shed),
            ]} />
        </div>
    }
}

/// A replayed log's charts: what the log itself shows, per log second.
fn replayed(samples: &[LogSample]) -> Html {
    html! {
        <div class="charts">
            <h2>{ "Charts" }
                <span class="hint">{ " (replayed log: what it committed; requests, latency and shedding are not in a log)" }</span>
            </h2>
            <Chart title="throughput" testid="chart-throughput" unit="per s" lines={vec![
                line(samples, "operations", "c5", |s| s.ops),
                line(samples, "batches", "c3", |s| s.batches),
            ]} />
            <Chart title="latency" testid="chart-latency" unit="ms" lines={Vec::new()} />
            <Chart title="batch size" testid="chart-batch-size" unit="ops per batch" lines={vec![
                line(samples, "ops", "c1", |s| s.batch_size),
            ]} />
            <Chart title="leadership changes" testid="chart-leadership" unit="per s" lines={vec![
                line(samples, "deposed", "c7", |s| s.deposed),
            ]} />
        </div>
    }
}
