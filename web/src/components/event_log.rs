//! The event log: elected, deposed (expired, revoked), pinned, unpinned, handed over,
//! newest first, filtered by lease or holder.

use crate::hooks::use_dispatch;
use crate::model::ledger::LoggedEvent;
use crate::state::Action;
use crate::state::table::TableAction;
use leasehold::Event;
use std::rc::Rc;
use web_sys::HtmlInputElement;
use yew::prelude::*;

/// The log's properties.
#[derive(Properties, PartialEq)]
pub struct EventLogProps {
    /// The latest events that match the filter, newest first.
    pub events: Rc<Vec<LoggedEvent>>,
    /// The filter text (a lease or holder name, or part of one).
    pub filter: String,
}

/// What an event means to an operator, and its colour class.
#[must_use]
pub fn meaning(e: &Event) -> (String, &'static str) {
    match e {
        Event::Claimed { holder, token, .. } => {
            (format!("{holder} elected · token {token}"), "elected")
        }
        Event::Extended { holder, .. } => (format!("{holder} renewed"), "renewed"),
        Event::Expired { holder, token, .. } => (
            format!("{holder} deposed: expired · token {token}"),
            "expired",
        ),
        Event::Revoked { holder, token, .. } => (
            format!("{holder} deposed: revoked · token {token}"),
            "revoked",
        ),
        Event::Pinned { entity, .. } => (format!("pinned by {entity}"), "pinned"),
        Event::Unpinned { entity, lapsed, .. } => (
            if *lapsed {
                format!("{entity}'s pin lapsed at its deadline")
            } else {
                format!("unpinned by {entity}")
            },
            "unpinned",
        ),
        Event::HandedOver {
            from, to, token, ..
        } => (
            format!("handed over {from} → {to} · token {token}"),
            "handed-over",
        ),
    }
}

/// The event log.
#[component]
pub fn EventLog(props: &EventLogProps) -> Html {
    let dispatch = use_dispatch();
    let oninput = Callback::from(move |e: InputEvent| {
        let filter = e.target_unchecked_into::<HtmlInputElement>().value();
        dispatch.dispatch(Action::Table(TableAction::EventFilter(filter)));
    });
    // Unkeyed: while holders join, every row is new each tick, and a row whose text is
    // rewritten in place costs less than one taken down and another made.
    let items = props.events.iter().map(|e| {
            let (text, class) = meaning(&e.event);
            html! {
                <li data-testid="event-item" data-kind={e.event.kind()} data-key={e.event.key().to_string()}
                    class={classes!("event", class)}>
                    <span class="at num">{ format!("{:.1} s", e.at.as_millis() as f64 / 1000.0) }</span>
                    <span class="seq">{ format!("#{}", e.seq) }</span>
                    <span class="lease">{ &*e.event.key().lease }</span>
                    <span class="what">{ text }</span>
                </li>
            }
        });
    html! {
        <div class="event-log">
            <div class="table-bar">
                <h2>{ "Events" }</h2>
                <input data-testid="event-filter" class="filter" type="search" placeholder="filter: lease or holder"
                    value={props.filter.clone()} oninput={oninput} />
            </div>
            <ul class="events-list">{ for items }</ul>
        </div>
    }
}
