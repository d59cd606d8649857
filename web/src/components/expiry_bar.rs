//! A bar for a lease's time to expiry: full when just renewed, empty at expiry; a
//! pinned lease shows a striped full bar (it does not expire).

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
        ("low", format!("{:.1} s", left as f64 / 1000.0))
    } else if frac < 0.5 {
        ("mid", format!("{:.1} s", left as f64 / 1000.0))
    } else {
        ("high", format!("{:.1} s", left as f64 / 1000.0))
    };
    let width = if props.pinned { 100.0 } else { frac * 100.0 };
    html! {
        <span class="expiry" title={format!("expires at {:.1} s (log time)", props.expiry as f64 / 1000.0)}>
            <span class={classes!("bar", class)} style={format!("transform:scaleX({:.3})", width / 100.0)} />
            <span class="left">{ text }</span>
        </span>
    }
}
