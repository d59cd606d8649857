//! The callers waiting for answers, by ticket.
//!
//! The engine numbers tickets consecutively and answers them in about the order it
//! issued them (batches settle in log order), so a ring indexed by `ticket - first`
//! finds a reply without hashing, and the ring shrinks from the front as the oldest
//! are answered.

use super::reply::Reply;
use crate::outcome::Ticket;
use std::collections::VecDeque;

/// Replies by ticket.
#[derive(Default)]
pub(super) struct Replies {
    /// The ticket of `slots[0]`.
    first: u64,
    /// `None` for a ticket answered already (or never given a reply).
    slots: VecDeque<Option<Reply>>,
}

impl Replies {
    /// Keeps `reply` for `ticket`.
    pub(super) fn insert(&mut self, ticket: Ticket, reply: Reply) {
        if self.slots.is_empty() {
            self.first = ticket.0;
        }
        let Some(at) = ticket.0.checked_sub(self.first) else {
            // Older than every ticket kept: the engine never issues one (tickets only
            // grow), but room is made rather than the reply lost.
            let older = usize::try_from(self.first - ticket.0).unwrap_or(usize::MAX);
            for _ in 1..older {
                self.slots.push_front(None);
            }
            self.slots.push_front(Some(reply));
            self.first = ticket.0;
            return;
        };
        let at = usize::try_from(at).unwrap_or(usize::MAX);
        while self.slots.len() < at {
            self.slots.push_back(None);
        }
        if at == self.slots.len() {
            self.slots.push_back(Some(reply));
        } else {
            self.slots[at] = Some(reply);
        }
    }

    /// Takes the reply kept for `ticket`, if any.
    pub(super) fn remove(&mut self, ticket: Ticket) -> Option<Reply> {
        let at = usize::try_from(ticket.0.checked_sub(self.first)?).ok()?;
        let reply = self.slots.get_mut(at)?.take();
        while self.slots.front().is_some_and(Option::is_none) {
            self.slots.pop_front();
            self.first += 1;
        }
        reply
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::reply::slot;
    use crate::outcome::Outcome;

    #[test]
    fn replies_come_back_by_ticket_in_any_order_and_the_ring_shrinks() {
        let mut replies = Replies::default();
        let mut pendings = Vec::new();
        for t in [5, 6, 7, 9, 3] {
            let (reply, pending) = slot();
            replies.insert(Ticket(t), reply);
            pendings.push((t, pending));
        }
        assert!(replies.remove(Ticket(8)).is_none());
        assert!(replies.remove(Ticket(100)).is_none());
        for t in [6, 3, 9, 5, 7] {
            let reply = replies.remove(Ticket(t)).expect("kept");
            assert!(
                reply.send(Outcome::Applied(Ok(Some(t)))).is_none(),
                "nobody asleep"
            );
            assert!(replies.remove(Ticket(t)).is_none(), "taken once");
        }
        assert!(replies.slots.is_empty());
        for (t, pending) in pendings {
            assert_eq!(pending.wait(), Outcome::Applied(Ok(Some(t))));
        }
    }
}
