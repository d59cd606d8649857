//! The lease table and the event log: the selected lease, the sort, the filters, the
//! scroll position.

use crate::model::table::{Column, Sort};
use leasehold::Key;

/// How the lease table and the event log are looked at.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TableView {
    /// The lease the lease actions apply to.
    pub selected: Option<Key>,
    /// The lease table's sort.
    pub sort: Sort,
    /// The lease table's filter text.
    pub filter: String,
    /// The first row on screen.
    pub scroll: usize,
    /// The event log's filter text (lease or holder).
    pub event_filter: String,
}

/// What the lease table and the event log do.
#[derive(Debug, Clone, PartialEq)]
pub enum TableAction {
    /// Select a lease.
    Select(Key),
    /// Sort by a column (again: the other way).
    SortBy(Column),
    /// Filter the lease table (back to its top).
    Filter(String),
    /// The lease table scrolled to this row.
    Scroll(usize),
    /// Filter the event log.
    EventFilter(String),
}

impl TableView {
    /// Applies `action`; returns whether anything changed.
    pub fn reduce(&mut self, action: TableAction) -> bool {
        let before = self.clone();
        match action {
            TableAction::Select(key) => self.selected = Some(key),
            TableAction::SortBy(c) => self.sort = self.sort.clicked(c),
            TableAction::Filter(f) => {
                self.filter = f;
                self.scroll = 0;
            }
            TableAction::Scroll(row) => self.scroll = row,
            TableAction::EventFilter(f) => self.event_filter = f,
        }
        *self != before
    }
}
