//! A small SVG line chart: one or more series over simulated time.

use yew::prelude::*;

/// One line of a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// Its name in the legend.
    pub label: &'static str,
    /// Its colour class (`c1` … `c7`, the Okabe–Ito palette in the stylesheet).
    pub colour: &'static str,
    /// `(seconds, value)` points, in time order.
    pub points: Vec<(f64, f64)>,
}

/// The chart's properties.
#[derive(Properties, PartialEq)]
pub struct ChartProps {
    /// The title.
    pub title: &'static str,
    /// The `data-testid`.
    pub testid: &'static str,
    /// The unit of the values.
    pub unit: &'static str,
    /// The lines.
    pub lines: Vec<Line>,
}

const W: f64 = 320.0;
const H: f64 = 110.0;
const LEFT: f64 = 40.0;
const BOTTOM: f64 = 16.0;
const TOP: f64 = 6.0;

/// A "nice" upper bound at or above `v`: 1, 2 or 5 × a power of ten.
#[must_use]
pub fn nice_max(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * p)
        .find(|&m| m >= v)
        .unwrap_or(10.0 * p)
}

/// `1.2k`, `35`, `0.5`.
#[must_use]
pub fn short(v: f64) -> String {
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

/// A line chart.
#[component]
pub fn Chart(props: &ChartProps) -> Html {
    let all = || props.lines.iter().flat_map(|l| l.points.iter());
    let t0 = all().map(|p| p.0).fold(f64::INFINITY, f64::min);
    let t1 = all().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max);
    let (t0, t1) = if t0.is_finite() {
        (t0, t1.max(t0 + 1.0))
    } else {
        (0.0, 1.0)
    };
    let top = nice_max(all().map(|p| p.1).fold(0.0, f64::max));
    let x = |t: f64| LEFT + (t - t0) / (t1 - t0) * (W - LEFT - 4.0);
    let y = |v: f64| TOP + (1.0 - v / top) * (H - TOP - BOTTOM);
    let latest: Vec<String> = props
        .lines
        .iter()
        .map(|l| {
            let v = l.points.last().map_or(0.0, |p| p.1);
            format!("{} {}", l.label, short(v))
        })
        .collect();
    html! {
        <figure class="chart" data-testid={props.testid}
            data-points={props.lines.first().map_or(0, |l| l.points.len()).to_string()}>
            <figcaption>
                <b>{ props.title }</b>
                { for props.lines.iter().zip(&latest).map(|(l, text)| html! {
                    <span class={classes!("key", l.colour)}>{ text.clone() }</span>
                }) }
                <span class="unit">{ props.unit }</span>
            </figcaption>
            <svg viewBox={format!("0 0 {W} {H}")} role="img" aria-label={props.title}>
                <line class="axis" x1={LEFT.to_string()} y1={y(0.0).to_string()} x2={(W - 4.0).to_string()} y2={y(0.0).to_string()} />
                <line class="grid" x1={LEFT.to_string()} y1={y(top / 2.0).to_string()} x2={(W - 4.0).to_string()} y2={y(top / 2.0).to_string()} />
                <text class="tick" x={(LEFT - 4.0).to_string()} y={(y(top) + 8.0).to_string()} text-anchor="end">{ short(top) }</text>
                <text class="tick" x={(LEFT - 4.0).to_string()} y={(y(top / 2.0) + 4.0).to_string()} text-anchor="end">{ short(top / 2.0) }</text>
                <text class="tick" x={(LEFT - 4.0).to_string()} y={y(0.0).to_string()} text-anchor="end">{ "0" }</text>
                <text class="tick" x={LEFT.to_string()} y={(H - 3.0).to_string()}>{ format!("{t0:.0} s") }</text>
                <text class="tick" x={(W - 4.0).to_string()} y={(H - 3.0).to_string()} text-anchor="end">{ format!("{t1:.0} s") }</text>
                { for props.lines.iter().map(|l| {
                    let points = l.points.iter()
                        .map(|&(t, v)| format!("{:.1},{:.1}", x(t), y(v)))
                        .collect::<Vec<_>>()
                        .join(" ");
                    html! { <polyline class={classes!("line", l.colour)} points={points} /> }
                }) }
            </svg>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_bounds_and_short_numbers() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(3.0), 5.0);
        assert_eq!(nice_max(10.0), 10.0);
        assert_eq!(nice_max(1_234.0), 2_000.0);
        assert_eq!(short(1_234.0), "1.2k");
        assert_eq!(short(2.5), "2.5");
        assert_eq!(short(35.0), "35");
    }
}
