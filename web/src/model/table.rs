//! The lease table's order: which leases it lists, filtered and sorted, recomputed only
//! when something it depends on changed, so that a table of 100,000 leases costs little
//! per tick (only the rows on screen are drawn).

use super::ledger::{Ledger, Row};
use std::cmp::Ordering;

/// A column the table sorts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Column {
    /// `namespace/model/lease`.
    #[default]
    Key,
    /// The holder's name.
    Holder,
    /// The fencing token.
    Token,
    /// When the current grant was made.
    Acquired,
    /// When it was last renewed.
    Renewed,
    /// When it expires.
    Expiry,
    /// How many entities pin it.
    Pins,
    /// How many times it changed hands.
    Transitions,
}

impl Column {
    /// Every column, in the table's order.
    pub const ALL: [Column; 8] = [
        Column::Key,
        Column::Holder,
        Column::Token,
        Column::Acquired,
        Column::Renewed,
        Column::Expiry,
        Column::Pins,
        Column::Transitions,
    ];

    /// The column's heading.
    #[must_use]
    pub fn title(self) -> &'static str {
        match self {
            Column::Key => "key",
            Column::Holder => "holder",
            Column::Token => "token",
            Column::Acquired => "acquired",
            Column::Renewed => "renewed",
            Column::Expiry => "expires in",
            Column::Pins => "pins",
            Column::Transitions => "transitions",
        }
    }

    /// Whether rows move in this order as time passes (so it is refreshed now and then).
    fn volatile(self) -> bool {
        self != Column::Key
    }

    fn compare(self, a: &Row, b: &Row) -> Ordering {
        match self {
            Column::Key => Ordering::Equal,
            Column::Holder => a.holder.cmp(&b.holder),
            Column::Token => a.token.cmp(&b.token),
            Column::Acquired => a.acquired.cmp(&b.acquired),
            Column::Renewed => a.renewed.cmp(&b.renewed),
            Column::Expiry => (a.pins > 0, a.expiry).cmp(&(b.pins > 0, b.expiry)),
            Column::Pins => a.pins.cmp(&b.pins),
            Column::Transitions => a.transitions.cmp(&b.transitions),
        }
    }
}

/// A sort: the column and whether it descends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sort {
    /// The column.
    pub column: Column,
    /// Largest first.
    pub descending: bool,
}

impl Sort {
    /// The sort after clicking `column`'s heading: that column ascending, or the other
    /// direction if it was already the sort.
    #[must_use]
    pub fn clicked(self, column: Column) -> Sort {
        Sort {
            column,
            descending: self.column == column && !self.descending,
        }
    }
}

/// How often a sort by a changing column is redone, in wall-clock ms.
pub const RESORT_MS: f64 = 1_000.0;

/// The listed rows in display order, cached.
#[derive(Debug, Clone, Default)]
pub struct TableOrder {
    /// Row numbers sorted by key (every row, listed or not).
    by_key: Vec<u32>,
    /// The listed rows that pass the filter, in display order.
    order: Vec<u32>,
    built: Option<(u64, usize, Sort, String)>,
    built_at: f64,
}

impl TableOrder {
    /// Brings the order up to date with `ledger`, `sort` and `filter` at wall-clock
    /// time `wall_ms`; does nothing when none of them changed (a sort by a changing
    /// column is redone every [`RESORT_MS`]).
    pub fn refresh(&mut self, ledger: &Ledger, sort: Sort, filter: &str, wall_ms: f64) {
        let rows = ledger.rows();
        let stamp = (ledger.membership(), rows.len(), sort, filter.to_owned());
        let stale = sort.column.volatile() && wall_ms - self.built_at >= RESORT_MS;
        if self.built.as_ref() == Some(&stamp) && !stale {
            return;
        }
        if self.by_key.len() != rows.len() {
            self.by_key = (0..rows.len() as u32).collect();
            self.by_key
                .sort_unstable_by(|&a, &b| rows[a as usize].key.cmp(&rows[b as usize].key));
        }
        let filter = filter.trim();
        self.order.clear();
        self.order.extend(
            self.by_key
                .iter()
                .copied()
                .filter(|&i| rows[i as usize].listed() && matches(&rows[i as usize], filter)),
        );
        if sort.column != Column::Key {
            // Stable: ties stay in key order.
            self.order
                .sort_by(|&a, &b| sort.column.compare(&rows[a as usize], &rows[b as usize]));
        }
        if sort.descending {
            self.order.reverse();
        }
        self.built = Some(stamp);
        self.built_at = wall_ms;
    }

    /// How many rows the table lists.
    #[must_use]
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether the table lists nothing.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// The rows at display positions `from..from + count`.
    #[must_use]
    pub fn window(&self, from: usize, count: usize) -> &[u32] {
        let from = from.min(self.order.len());
        &self.order[from..(from + count).min(self.order.len())]
    }

    /// The display position of row `row`, if listed.
    #[must_use]
    pub fn position(&self, row: u32) -> Option<usize> {
        self.order.iter().position(|&r| r == row)
    }
}

/// Whether a row matches the filter text: a part of its lease, model or holder name, or
/// of its full key when the text holds a `/`.
fn matches(row: &Row, filter: &str) -> bool {
    if filter.is_empty() {
        return true;
    }
    if filter.contains('/') {
        return row.key.to_string().contains(filter)
            || row.holder.as_deref().is_some_and(|h| h.contains(filter));
    }
    row.key.lease.contains(filter)
        || row.key.model.contains(filter)
        || row.holder.as_deref().is_some_and(|h| h.contains(filter))
}

#[cfg(test)]
mod tests {
    use super::*;
    use leasehold::{Batch, Key, Op};
    use std::time::Duration;

    fn ledger() -> Ledger {
        let key = |l: &str| Key::new("application-leadership", "m", l);
        let ops = vec![
            Op::claim(key("c"), "c/0", Duration::from_secs(30)),
            Op::claim(key("a"), "a/2", Duration::from_secs(90)),
            Op::claim(key("b"), "b/1", Duration::from_secs(60)),
        ];
        let bytes = Batch::new(1, ops).encode().unwrap();
        Ledger::replay([key("z")], &[bytes], false).unwrap()
    }

    fn leases(t: &TableOrder, l: &Ledger) -> Vec<String> {
        t.window(0, 10)
            .iter()
            .map(|&i| l.rows()[i as usize].key.lease.to_string())
            .collect()
    }

    #[test]
    fn lists_held_leases_sorted_and_filtered() {
        let l = ledger();
        let mut t = TableOrder::default();
        t.refresh(&l, Sort::default(), "", 0.0);
        assert_eq!(leases(&t, &l), ["a", "b", "c"], "z is free: not listed");
        let by_expiry = Sort::default().clicked(Column::Expiry);
        t.refresh(&l, by_expiry, "", 0.0);
        assert_eq!(leases(&t, &l), ["c", "b", "a"]);
        t.refresh(&l, by_expiry.clicked(Column::Expiry), "", 0.0);
        assert_eq!(leases(&t, &l), ["a", "b", "c"]);
        t.refresh(&l, Sort::default(), "b/", 0.0);
        assert_eq!(leases(&t, &l), ["b"]);
        t.refresh(&l, Sort::default(), "/2", 0.0);
        assert_eq!(leases(&t, &l), ["a"]);
        assert_eq!(t.window(2, 10).len(), 0);
        assert_eq!(t.position(1), None);
    }
}
