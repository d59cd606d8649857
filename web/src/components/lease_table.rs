//! The lease table: sortable, filterable, and drawn only where it is on screen, so it
//! stays fast with 100,000 leases.

use super::lease_row::{LeaseRow, LeaseRowView};
use super::pin_badge::PinView;
use crate::hooks::use_dispatch;
use crate::model::run::Run;
use crate::model::table::{Column, Sort};
use crate::page;
use crate::state::{Action, RunRef};
use leasehold::Key;
use web_sys::{Element, HtmlInputElement};
use yew::prelude::*;

/// The height of one row, px (the stylesheet agrees).
pub const ROW_PX: f64 = 28.0;
/// Rows drawn at a time (the scroll area shows about 20).
pub const DRAWN: usize = 28;
/// Rows drawn above the first visible one.
pub const OVERSCAN: usize = 4;

/// The table's properties.
#[derive(Properties, PartialEq)]
pub struct LeaseTableProps {
    /// The run.
    pub run: RunRef,
    /// The selected lease.
    pub selected: Option<Key>,
    /// The sort.
    pub sort: Sort,
    /// The filter text.
    pub filter: String,
    /// The first visible row.
    pub scroll: usize,
}

fn row_view(run: &Run, row: &crate::model::ledger::Row) -> LeaseRowView {
    let ledger = run.shown();
    let holder = row.holder.as_deref().unwrap_or("").to_owned();
    let holder_down = !holder.is_empty()
        && !run.in_past()
        && run.live().is_some_and(|l| {
            l.unit_of(&row.key, &holder)
                .is_some_and(|(lease, unit)| !l.sim().holder_up(lease, unit))
        });
    LeaseRowView {
        key: row.key.clone(),
        holder,
        holder_down,
        token: row.token,
        acquired: row.acquired.as_millis(),
        renewed: row.renewed.as_millis(),
        expiry: row.expiry.as_millis(),
        pins: ledger
            .pins(&row.key)
            .iter()
            .map(|p| PinView {
                entity: p.entity.to_string(),
                reason: p.reason.as_deref().map(str::to_owned),
                until: p.until.map(|t| t.as_millis()),
            })
            .collect(),
        transitions: row.transitions,
    }
}

/// The lease table.
#[component]
pub fn LeaseTable(props: &LeaseTableProps) -> Html {
    let dispatch = use_dispatch();
    let scroller = use_node_ref();
    let run = props.run.borrow();
    let ledger = run.shown();
    let mut order = run.table.borrow_mut();
    order.refresh(ledger, props.sort, &props.filter, page::now_ms());
    let total = order.len();
    let first = props.scroll.saturating_sub(OVERSCAN).min(total);
    let now = ledger.now().as_millis();
    let rows: Vec<LeaseRowView> = order
        .window(first, DRAWN)
        .iter()
        .map(|&i| row_view(&run, &ledger.rows()[i as usize]))
        .collect();
    let drawn = rows.len();
    let onscroll = {
        let (d, scroller, current) = (dispatch.clone(), scroller.clone(), props.scroll);
        Callback::from(move |_: Event| {
            if let Some(el) = scroller.cast::<Element>() {
                let row = (f64::from(el.scroll_top()) / ROW_PX).floor() as usize;
                if row != current {
                    d.dispatch(Action::Scroll(row));
                }
            }
        })
    };
    let onselect = {
        let d = dispatch.clone();
        Callback::from(move |key: Key| d.dispatch(Action::Select(key)))
    };
    let onfilter = {
        let d = dispatch.clone();
        Callback::from(move |e: InputEvent| {
            d.dispatch(Action::Filter(
                e.target_unchecked_into::<HtmlInputElement>().value(),
            ));
        })
    };
    let heading = |c: Column| {
        let d = dispatch.clone();
        let onclick = Callback::from(move |_: MouseEvent| d.dispatch(Action::SortBy(c)));
        let arrow = match (props.sort.column == c, props.sort.descending) {
            (true, false) => " ▲",
            (true, true) => " ▼",
            (false, _) => "",
        };
        let class = format!("c-{}", c.title().split(' ').next().unwrap_or(""));
        html! {
            <button class={classes!("heading", class, (props.sort.column == c).then_some("sorted"))}
                data-testid={format!("sort-{}", c.title().split(' ').next().unwrap_or(""))} onclick={onclick}>
                { c.title() }{ arrow }
            </button>
        }
    };
    let selected = props.selected.as_ref();
    html! {
        <div class="lease-table">
            <div class="table-bar">
                <h2>{ "Leases" }</h2>
                <input data-testid="lease-filter" class="filter" type="search"
                    placeholder="filter: lease, model or holder" value={props.filter.clone()} oninput={onfilter} />
                <span class="count" data-testid="lease-count" data-count={total.to_string()}>
                    { format!("{total} listed · {} held", ledger.fsm().len()) }
                </span>
            </div>
            <div class="thead" role="row">
                { for Column::ALL.into_iter().map(heading) }
            </div>
            <div class="tbody" ref={scroller} onscroll={onscroll} role="rowgroup">
                <div style={format!("height:{}px", total as f64 * ROW_PX)} class="spacer">
                    <div style={format!("transform:translateY({}px)", first as f64 * ROW_PX)}>
                        { for rows.into_iter().map(|r| {
                            let is_selected = selected == Some(&r.key);
                            let id = r.key.to_string();
                            html! {
                                <LeaseRow key={id} row={r} now={now}
                                    selected={is_selected} onselect={onselect.clone()} />
                            }
                        }) }
                    </div>
                </div>
                if total == 0 {
                    <p class="empty">{ if props.filter.is_empty() {
                        "No lease is held yet: press play (space) or step (→)."
                    } else { "No lease matches the filter." } }</p>
                }
            </div>
            <p class="drawn">{ format!("drawing {drawn} of {total} rows") }</p>
        </div>
    }
}
