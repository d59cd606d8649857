//! The six chapters: their scenarios, seeds and narration.

use super::cue::{Act, Cue};
use super::{Chapter, Step};

const fn step(text: &'static str, act: Act, cue: Cue) -> Step {
    Step { text, act, cue }
}

/// Every chapter, in order; chapter `n` is at index `n - 1` (`#/learn/n`).
pub static CHAPTERS: [Chapter; 6] = [
    Chapter {
        title: "1. What a lease promises",
        scenario: "ps45",
        seed: 11,
        overrides: &[("leases", "4"), ("singular", "0"), ("joinSpreadMs", "2000")],
        beside: None,
        speed: 10.0,
        steps: &[
            step(
                "Four applications, three units each. Every unit wants to lead its application, \
                 so each claims a lease for 60 s. Watch the lease table: the first claim of each \
                 lease to reach the log wins, and its unit is elected with a fencing token.",
                Act::None,
                Cue::Event("claimed", Some(0)),
            ),
            step(
                "app-0 has a leader. The other two units were told who holds it (`Held`) and now \
                 wait for the lease to be released; they do not poll. The leader renews half way \
                 through its lease, every 30 s: watch its expiry bar refill.",
                Act::None,
                Cue::At(40_000),
            ),
            step(
                "Now app-0's leader crashes. Its lease is a promise: nobody else can be elected \
                 before it expires, even though its holder is gone. The expiry bar runs down \
                 while the rivals wait.",
                Act::CrashLeader(0),
                Cue::Event("expired", Some(0)),
            ),
            step(
                "The lease expired: its holder is deposed. The log's own time passed the expiry \
                 (a lease expiring exactly at the new time survives that step). The waiting \
                 units heard the release and claim at once...",
                Act::None,
                Cue::NewLeader(0),
            ),
            step(
                "...and a new leader is elected, with a larger fencing token. A unit only ever \
                 sees two things: elected, and deposed. Try it yourself: select a lease, crash \
                 its holder, and watch how long the promise holds.",
                Act::None,
                Cue::TryIt,
            ),
        ],
    },
    Chapter {
        title: "2. Why batch",
        scenario: "claimer-abuse",
        seed: 12,
        overrides: &[("leases", "3000"), ("joinSpreadMs", "3000")],
        beside: Some(&[("mode", "per-op")]),
        speed: 2.0,
        steps: &[
            step(
                "Two lease stores side by side with the same 3,000 leases × 3 units, 5 s leases \
                 renewed every 4.5 s, and the same log: it commits at most 1,000 entries a \
                 second. On the left, leasehold cuts one batch every 100 ms. On the right, every \
                 claim and extension is its own log entry, its own fsync.",
                Act::None,
                Cue::Read,
            ),
            step(
                "The units join and claim. On the left the claims of each lease coalesce into one \
                 operation and a batch carries thousands: about 10 entries a second. On the right \
                 the entries pile up behind the log faster than it can commit them.",
                Act::None,
                Cue::At(8_000),
            ),
            step(
                "Compare the entries per second, the bytes per operation and the latency. The \
                 per-operation store's answers arrive tens of seconds late: its clients gave up \
                 long ago, without knowing whether their claims happened.",
                Act::None,
                Cue::At(20_000),
            ),
            step(
                "Try it yourself: change the load with the load buttons and watch how the batch \
                 size grows while the number of entries stays at ten a second.",
                Act::None,
                Cue::TryIt,
            ),
        ],
    },
    Chapter {
        title: "3. Overload without a leadership storm",
        scenario: "staged-overload",
        seed: 13,
        overrides: &[
            ("leases", "1220"),
            ("opsPerSec", "300"),
            ("entriesPerSec", "100"),
            ("maxBatchOps", "100"),
            ("queueCapacity", "1000"),
        ],
        beside: None,
        speed: 100.0,
        steps: &[
            step(
                "A log that commits at most 300 operations a second, and load that arrives in \
                 steps: 20 leases, then 410, 810 and finally 1,220, a step every five minutes, \
                 with 10 s leases renewed every 5 s. Watch the queue's lanes.",
                Act::None,
                Cue::At(5 * 60_000 + 5_000),
            ),
            step(
                "A step of new units arrives: their claims fill the claim lane. The queue is \
                 bounded, so claims are shed or miss their 3 s deadline. Nobody's extension is \
                 refused: an extension evicts a queued claim before it is ever shed itself.",
                Act::None,
                Cue::Stat("claims_shed", 1),
            ),
            step(
                "Claims were shed — and not one leader changed. A shed claim is answered at once \
                 and is safe to retry; the units back off and try again. The singular lane, the \
                 control plane's own leases, always gets through.",
                Act::None,
                Cue::At(20 * 60_000 + 5_000),
            ),
            step(
                "The load drops back to 20 leases. Within a batch the queue is empty again: the \
                 system recovered without a single leadership change. Try it yourself: push the \
                 load up and down and watch what is shed.",
                Act::None,
                Cue::TryIt,
            ),
        ],
    },
    Chapter {
        title: "4. Freezing leadership for an upgrade",
        scenario: "series-upgrade",
        seed: 14,
        overrides: &[],
        beside: None,
        speed: 20.0,
        steps: &[
            step(
                "60 applications of 3 units spread over 3 machines. Machine 0 is about to be \
                 upgraded; its units will be down for two minutes, longer than a 60 s lease. \
                 First the operator pins the leases whose leaders run on machine 0.",
                Act::None,
                Cue::Event("pinned", None),
            ),
            step(
                "Pinned (look for the pin badges, with their reason and deadline). Now machine 0 \
                 goes down: its units stop renewing.",
                Act::None,
                Cue::At(100_000),
            ),
            step(
                "A minute on, the unpinned leases of crashed units elsewhere would have expired — \
                 but the pinned ones outlive their holders: a pinned lease never expires. Their \
                 leaders come back with machine 0 and the pins are lifted.",
                Act::None,
                Cue::Event("unpinned", None),
            ),
            step(
                "Leadership never moved. Now the other story: an operator pins a lease for \
                 maintenance and forgets it. Without a deadline leadership would be frozen \
                 forever; this pin has a 60 s deadline.",
                Act::None,
                Cue::At(240_000),
            ),
            step(
                "The forgotten pin lapsed at its deadline, and the lease expired normally. Try it \
                 yourself: pin a lease, crash its holder, then unpin it.",
                Act::None,
                Cue::TryIt,
            ),
        ],
    },
    Chapter {
        title: "5. Two leaders",
        scenario: "fencing-race",
        seed: 15,
        overrides: &[],
        beside: None,
        speed: 10.0,
        steps: &[
            step(
                "Twelve applications whose leaders write to a database. A leader freezes in a \
                 long pause: it misses its renewals, its lease expires and another unit is \
                 elected with a larger token.",
                Act::None,
                Cue::Event("expired", None),
            ),
            step(
                "When the frozen leader wakes it still believes it leads — it has not yet looked \
                 at the clock — and writes. Without fencing tokens the database would now have \
                 two leaders writing at once. With them, it remembers the highest token it has \
                 seen and refuses the stale one.",
                Act::None,
                Cue::Stat("stale_writes_refused", 1),
            ),
            step(
                "Refused. Each grant carries a token larger than every earlier one; a service \
                 that checks it never accepts a deposed leader. Try it yourself: watch the \
                 event log for the next pause.",
                Act::None,
                Cue::TryIt,
            ),
        ],
    },
    Chapter {
        title: "6. The thundering herd",
        scenario: "restart-herd",
        seed: 16,
        overrides: &[("leases", "400"), ("singular", "3")],
        beside: None,
        speed: 10.0,
        steps: &[
            step(
                "400 applications with 3 units each, all settled. At one minute the controller \
                 restarts: every unit loses contact, and five seconds later all of them will \
                 reconnect at the same moment.",
                Act::None,
                Cue::At(62_000),
            ),
            step(
                "They reconnect and every unit claims at once: 1,200 claims in a burst. Leaders' \
                 claims become extensions; the rivals' claims of each lease coalesce with them \
                 into one operation, and each rival learns the holder from its result.",
                Act::None,
                Cue::Stat("coalesced", 400),
            ),
            step(
                "A few batches carried the whole herd, and no leader changed: the leases were \
                 60 s long and the outage only five. Try it yourself: restart a holder or crash \
                 a few leaders.",
                Act::None,
                Cue::TryIt,
            ),
        ],
    },
];
