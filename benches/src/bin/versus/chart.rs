//! The report's table (for people) and chart (`docs/versus.svg`), from the runs' rows.

use super::row::Row;
use std::fmt::Write;

fn opt(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(|| "–".to_owned(), |v| format!("{v:.decimals$}"))
}

fn count(v: Option<u64>) -> String {
    v.map_or_else(|| "–".to_owned(), |v| v.to_string())
}

/// The runs as a Markdown table.
#[must_use]
pub fn table(rows: &[Row]) -> String {
    let mut t = String::from(
        "| workload | nodes | system | ops/s | p50 ms | p99 ms | max ms | renewals failed | spurious changes | leader changes | recovery ms | disk B/op | fsyncs/s | CPU s/1k ops | peak MB | TTL reset |\n\
         | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n",
    );
    for r in rows {
        let failed = match (r.renewals_failed, r.renewals) {
            (Some(f), Some(n)) => format!("{f} / {n}"),
            _ => "–".to_owned(),
        };
        let _ = writeln!(
            t,
            "| {} | {} | {} | {:.0} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.workload,
            r.nodes,
            r.system,
            r.ops_per_sec,
            opt(r.p50_ms, 1),
            opt(r.p99_ms, 1),
            opt(r.max_ms, 1),
            failed,
            count(r.spurious_changes),
            count(r.leader_changes),
            opt(r.recovery_ms, 0),
            opt(r.disk_bytes_per_op, 0),
            opt(r.fsyncs_per_sec, 0),
            opt(r.cpu_s_per_1000_ops, 3),
            opt(r.peak_rss_mb, 0),
            r.ttl_reset.map_or("–", |b| if b { "yes" } else { "no" }),
        );
    }
    t
}

/// One panel: a figure of every (workload, nodes), leasehold and etcd side by side.
struct Panel {
    title: &'static str,
    log: bool,
    value: fn(&Row) -> Option<f64>,
}

const WIDTH: f64 = 960.0;
const PANEL_H: f64 = 170.0;
const LEFT: f64 = 70.0;
const COLOURS: [(&str, &str); 2] = [("leasehold", "#0072b2"), ("etcd", "#e69f00")];

/// The runs drawn as bar charts (one panel per figure), an SVG document.
#[must_use]
pub fn svg(rows: &[Row]) -> String {
    let panels = [
        Panel {
            title: "operations per second (log scale)",
            log: true,
            value: |r| Some(r.ops_per_sec),
        },
        Panel {
            title: "p99 latency, ms (log scale)",
            log: true,
            value: |r| r.p99_ms,
        },
        Panel {
            title: "renewals failed",
            log: false,
            value: |r| r.renewals_failed.map(|v| v as f64),
        },
        Panel {
            title: "leadership changes while holders renewed (claimer-abuse: spurious; election: after the kill)",
            log: false,
            value: |r| r.spurious_changes.or(r.leader_changes).map(|v| v as f64),
        },
    ];
    let mut groups: Vec<(String, usize)> = Vec::new();
    for r in rows {
        let g = (r.workload.clone(), r.nodes);
        if !groups.contains(&g) {
            groups.push(g);
        }
    }
    let height = 40.0 + panels.len() as f64 * (PANEL_H + 30.0) + 40.0;
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="#fff"/>
<text x="{LEFT}" y="22" font-size="14" font-weight="bold">leasehold and etcd, the same workloads on one machine</text>
"##
    );
    for (i, (name, colour)) in COLOURS.iter().enumerate() {
        let x = WIDTH - 200.0 + i as f64 * 90.0;
        let _ = write!(
            s,
            r#"<rect x="{x}" y="12" width="12" height="12" fill="{colour}"/><text x="{}" y="22">{name}</text>"#,
            x + 16.0
        );
    }
    let slot = (WIDTH - LEFT - 10.0) / groups.len().max(1) as f64;
    for (p, panel) in panels.iter().enumerate() {
        let top = 40.0 + p as f64 * (PANEL_H + 30.0);
        let base = top + PANEL_H;
        let values: Vec<f64> = rows.iter().filter_map(|r| (panel.value)(r)).collect();
        let max = values.iter().copied().fold(0.0_f64, f64::max).max(1.0);
        let scale = |v: f64| -> f64 {
            let f = if panel.log {
                (v.max(1.0).log10()) / max.log10().max(1.0)
            } else {
                v / max
            };
            f.clamp(0.0, 1.0) * (PANEL_H - 20.0)
        };
        let _ = write!(
            s,
            r##"<text x="{LEFT}" y="{}" font-weight="bold">{}</text><line x1="{LEFT}" y1="{base}" x2="{}" y2="{base}" stroke="#999"/><text x="{}" y="{}" text-anchor="end">{}</text>"##,
            top + 8.0,
            panel.title,
            WIDTH - 10.0,
            LEFT - 6.0,
            top + 24.0,
            short(max)
        );
        for (g, (workload, nodes)) in groups.iter().enumerate() {
            let x0 = LEFT + g as f64 * slot;
            for (c, (system, colour)) in COLOURS.iter().enumerate() {
                let row = rows
                    .iter()
                    .find(|r| r.system == *system && r.workload == *workload && r.nodes == *nodes);
                let Some(v) = row.and_then(|r| (panel.value)(r)) else {
                    continue;
                };
                let h = scale(v);
                let w = slot * 0.35;
                let x = x0 + slot * 0.12 + c as f64 * w;
                let _ = write!(
                    s,
                    r#"<rect x="{x:.1}" y="{:.1}" width="{w:.1}" height="{h:.1}" fill="{colour}"><title>{system} {workload} {nodes}n: {v:.1}</title></rect><text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="9">{}</text>"#,
                    base - h,
                    x + w / 2.0,
                    base - h - 3.0,
                    short(v)
                );
            }
            {
                let _ = write!(
                    s,
                    r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="8">{workload} · {nodes}n</text>"#,
                    x0 + slot / 2.0,
                    base + 12.0
                );
            }
        }
    }
    s.push_str("</svg>\n");
    s
}

/// `1.2k`, `3.4M`, `12`, `0.5`.
fn short(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else if v >= 10.0 || v == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}
