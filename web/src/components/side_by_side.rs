//! Two runs of the same load side by side (chapter 2): the main run (the dashboard's
//! views show it) and the one beside it, with other settings.

use leasehold::sim::Stats;
use yew::prelude::*;

/// The comparison's properties.
#[derive(Properties, PartialEq)]
pub struct SideBySideProps {
    /// The totals of the main run and of the one beside it.
    pub runs: [Stats; 2],
}

/// A compact table comparing the two runs, with how many times more the one beside
/// needs.
#[component]
pub fn SideBySide(props: &SideBySideProps) -> Html {
    let [a, b] = &props.runs;
    type Row = (
        &'static str,
        &'static str,
        fn(&Stats) -> f64,
        usize,
        &'static str,
    );
    let rows: [Row; 7] = [
        (
            "entries_per_second",
            "log entries / s",
            |s| s.entries_per_second,
            1,
            "",
        ),
        (
            "log_entries",
            "log entries (fsyncs)",
            |s| s.log_entries as f64,
            0,
            "",
        ),
        (
            "bytes_per_op",
            "bytes / operation",
            |s| s.bytes_per_op,
            1,
            "",
        ),
        ("extend_ok", "extensions ok", |s| s.extend_ok as f64, 0, ""),
        (
            "extend_failed",
            "extensions failed",
            |s| s.extend_failed as f64,
            0,
            "",
        ),
        (
            "p50_latency_ms",
            "latency p50",
            |s| s.p50_latency_ms as f64,
            0,
            " ms",
        ),
        (
            "p99_latency_ms",
            "latency p99",
            |s| s.p99_latency_ms as f64,
            0,
            " ms",
        ),
    ];
    let cell = |v: f64, digits: usize, unit: &str| format!("{v:.digits$}{unit}");
    html! {
        <section class="side-by-side" data-testid="side-by-side">
            <table>
                <caption>{ "the same load, two logs" }</caption>
                <thead>
                    <tr>
                        <th />
                        <th data-testid="side-main" data-mode={a.mode.clone()}>
                            { a.mode.clone() }<span class="when">{ format!("t = {:.1} s", a.sim_seconds) }</span>
                        </th>
                        <th data-testid="side-beside" data-mode={b.mode.clone()}>
                            { b.mode.clone() }<span class="when">{ format!("t = {:.1} s", b.sim_seconds) }</span>
                        </th>
                        <th title="the one on the right ÷ the one on the left">{ "ratio" }</th>
                    </tr>
                </thead>
                <tbody>
                    { for rows.iter().map(|(key, label, get, digits, unit)| {
                        let (x, y) = (get(a), get(b));
                        let ratio = if x > 0.0 && y > 0.0 {
                            format!("{:.0}×", y / x)
                        } else {
                            "–".to_owned()
                        };
                        html! {
                            <tr data-testid="side-row" data-stat={*key}
                                data-main={x.to_string()} data-beside={y.to_string()}>
                                <th scope="row">{ *label }</th>
                                <td class="num">{ cell(x, *digits, unit) }</td>
                                <td class="num">{ cell(y, *digits, unit) }</td>
                                <td class="num ratio">{ ratio }</td>
                            </tr>
                        }
                    }) }
                </tbody>
            </table>
        </section>
    }
}
