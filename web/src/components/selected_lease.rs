//! The selected lease's name and holder, above the actions on it.

use leasehold::Key;
use yew::prelude::*;

/// The line's properties.
#[derive(Properties, PartialEq)]
pub struct SelectedLeaseProps {
    /// The lease.
    pub lease: Key,
    /// Its holder, if held.
    pub holder: Option<String>,
}

/// `db held by db/0`, or `db free`.
#[component]
pub fn SelectedLease(props: &SelectedLeaseProps) -> Html {
    html! {
        <div class="selected">
            <b>{ &*props.lease.lease }</b>
            { match &props.holder {
                Some(h) => format!(" held by {h}"),
                None => " free".to_owned(),
            } }
        </div>
    }
}
