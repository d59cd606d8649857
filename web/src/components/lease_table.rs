//! The lease table: sortable, filterable, and drawn only where it is on screen, so it
//! stays fast with 100,000 leases.

use super::lease_row::LeaseRow;
use crate::hooks::use_dispatch;
use crate::model::scene::TableScene;
use crate::model::table::{Column, Sort};
use crate::state::Action;
use crate::state::table::TableAction;
use leasehold::Key;
use std::rc::Rc;
use web_sys::{Element, HtmlInputElement};
use yew::prelude::*;

/// The height of one row, px (the stylesheet agrees).
pub const ROW_PX: f64 = 28.0;

/// The table's properties.
#[derive(Properties, PartialEq)]
pub struct LeaseTableProps {
    /// The rows on screen of the filtered, sorted list.
    pub table: Rc<TableScene>,
    /// The selected lease.
    pub selected: Option<Key>,
    /// The sort.
    pub sort: Sort,
    /// The filter text.
    pub filter: String,
    /// The first visible row.
    pub scroll: usize,
}

/// The lease table.
#[component]
pub fn LeaseTable(props: &LeaseTableProps) -> Html {
    let dispatch = use_dispatch();
    let scroller = use_node_ref();
    let table = &props.table;
    let (total, first, now) = (table.total, table.first, table.now);
    let drawn = table.rows.len();
    let onscroll = {
        let (d, scroller, current) = (dispatch.clone(), scroller.clone(), props.scroll);
        Callback::from(move |_: Event| {
            if let Some(el) = scroller.cast::<Element>() {
                let row = (f64::from(el.scroll_top()) / ROW_PX).floor() as usize;
                if row != current {
                    d.dispatch(Action::Table(TableAction::Scroll(row)));
                }
            }
        })
    };
    let onselect = {
        let d = dispatch.clone();
        Callback::from(move |key: Key| d.dispatch(Action::Table(TableAction::Select(key))))
    };
    let onfilter = {
        let d = dispatch.clone();
        Callback::from(move |e: InputEvent| {
            let filter = e.target_unchecked_into::<HtmlInputElement>().value();
            d.dispatch(Action::Table(TableAction::Filter(filter)));
        })
    };
    let heading = |c: Column| {
        let d = dispatch.clone();
        let onclick =
            Callback::from(move |_: MouseEvent| d.dispatch(Action::Table(TableAction::SortBy(c))));
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
                    { format!("{total} listed · {} held", table.held) }
                </span>
            </div>
            <div class="thead" role="row">
                { for Column::ALL.into_iter().map(heading) }
            </div>
            <div class="tbody" ref={scroller} onscroll={onscroll} role="rowgroup">
                <div style={format!("height:{}px", total as f64 * ROW_PX)} class="spacer">
                    <div style={format!("transform:translateY({}px)", first as f64 * ROW_PX)}>
                        { for table.rows.iter().map(|r| {
                            let is_selected = selected == Some(&r.key);
                            let id = r.key.to_string();
                            html! {
                                <LeaseRow key={id} row={r.clone()} now={now}
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
