//! A bar for a lease's time to expiry: full when just renewed, empty at expiry; a
//! pinned lease shows a striped full bar (it does not expire).
//!
//! It moves in steps an eye can follow: whole seconds left, whole percents of bar. A
//! row then changes its text about once a second and its bar every few ticks, not all
//! of it every 100 ms tick (each change is text shaped, laid out and painted again).

use yew::prelude::*;

/// The bar's properties (log times in ms).
#[derive(Properties, PartialEq)]
pub struct ExpiryBarProps {
    /// Log time now.
    pub now: u64,
    /// Last grant or extension.
    pub renewed: u64,
    /// Expiry.
    pub expiry: u64,
    /// Whether a pin holds it.
    pub pinned: bool,
}

/// `12 s`: the time left, rounded up to whole seconds (`0 s` only at expiry).
#[must_use]
pub fn whole_seconds(left_ms: u64) -> String {
    format!("{} s", left_ms.div_ceil(1000))
}

/// The time-to-expiry bar.
#[component]
pub fn ExpiryBar(props: &ExpiryBarProps) -> Html {
    let left = props.expiry.saturating_sub(props.now);
    let span = props.expiry.saturating_sub(props.renewed).max(1);
    let frac = (left as f64 / span as f64).clamp(0.0, 1.0);
    let (class, text) = if props.pinned && left == 0 {
        let over = props.now.saturating_sub(props.expiry) as f64 / 1000.0;
        ("pinned", format!("pinned · {over:.0} s past expiry"))
    } else if props.pinned {
        ("pinned", format!("pinned · {:.0} s", left as f64 / 1000.0))
    } else if frac < 0.2 {
        ("low", whole_seconds(left))
    } else if frac < 0.5 {
        ("mid", whole_seconds(left))
    } else {
        ("high", whole_seconds(left))
    };
    let width = if props.pinned {
        100.0
    } else {
        (frac * 100.0).ceil()
    };
    html! {
        <span class="expiry" title={format!("expires at {:.1} s (log time)", props.expiry as f64 / 1000.0)}>
            <span class={classes!("bar", class)} style={format!("width:{width:.0}%")} />
            <span class="left">{ text }</span>
        </span>
    }
}

#[cfg(test)]
mod tests {
    use super::whole_seconds;

    #[test]
    fn time_left_rounds_up_to_whole_seconds() {
        assert_eq!(whole_seconds(0), "0 s");
        assert_eq!(whole_seconds(1), "1 s");
        assert_eq!(whole_seconds(12_000), "12 s");
        assert_eq!(whole_seconds(12_001), "13 s");
    }
}
