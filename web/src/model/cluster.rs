//! The cluster the dashboard is attached to, as it knows it: the members it learned
//! from their status answers, each node's last status (or that it did not answer), and
//! the watch link: which node it watches, whether the link is up, and where and when to
//! reconnect after it fails (the next member, with back-off).
//!
//! Plain Rust with the wall clock passed in; the hook that owns the sockets asks it
//! what to do and tells it what happened.

use super::service::{MemberInfo, NodeStatus};
use std::collections::BTreeMap;

/// The first reconnection waits this long, ms; each failure in a row doubles it.
pub const BACKOFF_FIRST_MS: u64 = 250;
/// The longest wait between reconnections, ms.
pub const BACKOFF_MAX_MS: u64 = 4_000;
/// How many lost watches the panel lists.
pub const LOSSES_KEPT: usize = 4;

/// A node as the cluster panel shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeView {
    /// Its id.
    pub id: u64,
    /// Its address (`host:port`).
    pub addr: String,
    /// `leader`, `follower`, `candidate`, `learner`, or `unreachable` when its last
    /// status request failed.
    pub role: String,
    /// Its term.
    pub term: u64,
    /// The highest log index it knows committed.
    pub commit: u64,
    /// The highest it applied.
    pub applied: u64,
    /// Whether it votes.
    pub voter: bool,
}

/// The watch link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// Opening a watch to `url` (the node's base URL).
    Connecting {
        /// The node's base URL.
        url: String,
    },
    /// Receiving from `url`.
    Open {
        /// The node's base URL.
        url: String,
    },
    /// The last watch failed; the next attempt goes to another member.
    Lost {
        /// The node that failed.
        url: String,
        /// Why.
        reason: String,
    },
}

impl Link {
    /// `connecting`, `open` or `lost`.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Link::Connecting { .. } => "connecting",
            Link::Open { .. } => "open",
            Link::Lost { .. } => "lost",
        }
    }

    /// The node's base URL.
    #[must_use]
    pub fn url(&self) -> &str {
        match self {
            Link::Connecting { url } | Link::Open { url } | Link::Lost { url, .. } => url,
        }
    }
}

/// The cluster as the dashboard knows it.
#[derive(Debug, Clone)]
pub struct Cluster {
    /// The URL the dashboard was pointed at.
    origin: String,
    /// Every member learned, by id.
    members: BTreeMap<u64, MemberInfo>,
    /// The last status (or failure) of each node, by id.
    nodes: BTreeMap<u64, NodeView>,
    leader: Option<u64>,
    link: Link,
    /// Watches that failed in a row.
    failures: u32,
    /// Watches that failed since attaching.
    reconnects: u64,
    /// Why the last watches that failed did, oldest first (at most [`LOSSES_KEPT`]).
    losses: std::collections::VecDeque<String>,
}

/// The base URL (`http://host:port`) of an address, without a trailing slash.
#[must_use]
pub fn base_url(addr: &str) -> String {
    let addr = addr.trim().trim_end_matches('/');
    if addr.starts_with("http://") || addr.starts_with("https://") {
        addr.to_owned()
    } else {
        format!("http://{addr}")
    }
}

/// The WebSocket URL of `GET /v1/watch` on the node at `base`, resuming from `from`
/// and asking for the state machine's snapshot when it starts with one.
#[must_use]
pub fn watch_url(base: &str, from: Option<u64>) -> String {
    let ws = if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else {
        format!("ws://{}", base.trim_start_matches("http://"))
    };
    match from {
        Some(f) => format!("{ws}/v1/watch?state=true&from={f}"),
        None => format!("{ws}/v1/watch?state=true"),
    }
}

impl Cluster {
    /// A cluster known only by the URL the dashboard was pointed at.
    #[must_use]
    pub fn new(origin: &str) -> Cluster {
        let origin = base_url(origin);
        Cluster {
            link: Link::Connecting {
                url: origin.clone(),
            },
            origin,
            members: BTreeMap::new(),
            nodes: BTreeMap::new(),
            leader: None,
            failures: 0,
            reconnects: 0,
            losses: std::collections::VecDeque::new(),
        }
    }

    /// The URL the dashboard was pointed at.
    #[must_use]
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The watch link.
    #[must_use]
    pub fn link(&self) -> &Link {
        &self.link
    }

    /// The leader, as the last status answers name it.
    #[must_use]
    pub fn leader(&self) -> Option<u64> {
        self.leader
    }

    /// How many times the watch was lost since attaching.
    #[must_use]
    pub fn reconnects(&self) -> u64 {
        self.reconnects
    }

    /// Why the last watches that failed did (each: the node's URL and the reason),
    /// oldest first.
    pub fn losses(&self) -> impl Iterator<Item = &str> {
        self.losses.iter().map(String::as_str)
    }

    /// The id of the node at base URL `url`, if it is a known member.
    #[must_use]
    pub fn id_of(&self, url: &str) -> Option<u64> {
        self.members
            .values()
            .find(|m| base_url(&m.addr) == url)
            .map(|m| m.id)
    }

    /// Every node, by id.
    pub fn nodes(&self) -> impl Iterator<Item = &NodeView> {
        self.nodes.values()
    }

    /// The base URLs to ask for their status: every known member, or the origin before
    /// any is known.
    #[must_use]
    pub fn status_urls(&self) -> Vec<String> {
        if self.members.is_empty() {
            return vec![self.origin.clone()];
        }
        self.members.values().map(|m| base_url(&m.addr)).collect()
    }

    /// The base URL of the leader, if known and a member; else the watched node's.
    #[must_use]
    pub fn leader_url(&self) -> String {
        self.leader
            .and_then(|id| self.members.get(&id))
            .map_or_else(|| self.link.url().to_owned(), |m| base_url(&m.addr))
    }

    /// Takes the answer of the node at `url` to a status request.
    pub fn on_status(&mut self, url: &str, status: Result<NodeStatus, String>) {
        match status {
            Ok(s) => {
                if !s.members.is_empty() {
                    self.members = s.members.iter().map(|m| (m.id, m.clone())).collect();
                    self.nodes
                        .retain(|id, _| s.members.iter().any(|m| m.id == *id));
                }
                if s.leader.is_some() {
                    self.leader = s.leader;
                }
                let member = self.members.get(&s.id);
                self.nodes.insert(
                    s.id,
                    NodeView {
                        id: s.id,
                        addr: member.map_or_else(
                            || url.trim_start_matches("http://").to_owned(),
                            |m| m.addr.clone(),
                        ),
                        role: s.role.clone(),
                        term: s.term,
                        commit: s.commit_index,
                        applied: s.applied_index,
                        voter: member.is_none_or(|m| m.voter),
                    },
                );
            }
            Err(_) => {
                let Some(id) = self.id_of(url) else {
                    return;
                };
                let member = &self.members[&id];
                let node = self.nodes.entry(id).or_insert_with(|| NodeView {
                    id,
                    addr: member.addr.clone(),
                    role: String::new(),
                    term: 0,
                    commit: 0,
                    applied: 0,
                    voter: member.voter,
                });
                node.role = "unreachable".to_owned();
                if self.leader == Some(id) {
                    self.leader = None;
                }
            }
        }
    }

    /// The watch to `url` is open and delivering.
    pub fn on_open(&mut self, url: &str) {
        self.link = Link::Open {
            url: url.to_owned(),
        };
        self.failures = 0;
    }

    /// The watch to `url` failed or closed, for `reason`.
    pub fn on_lost(&mut self, url: &str, reason: String) {
        self.failures = self.failures.saturating_add(1);
        self.reconnects += 1;
        if self.losses.len() == LOSSES_KEPT {
            self.losses.pop_front();
        }
        self.losses.push_back(format!("{url}: {reason}"));
        self.link = Link::Lost {
            url: url.to_owned(),
            reason,
        };
    }

    /// Where the next watch goes and how long to wait first, ms: the same node at
    /// first; after a failure the next member that is not known to be down (by id,
    /// round the ring), after a back-off that doubles with each failure in a row.
    pub fn next_watch(&mut self) -> (String, u64) {
        let (url, wait) = match &self.link {
            Link::Lost { url, .. } => {
                let wait = BACKOFF_FIRST_MS
                    .saturating_mul(1 << self.failures.saturating_sub(1).min(16))
                    .min(BACKOFF_MAX_MS);
                (self.after(url), wait)
            }
            link => (link.url().to_owned(), 0),
        };
        self.link = Link::Connecting { url: url.clone() };
        (url, wait)
    }

    /// The member after the one at `url` (by id, round the ring), preferring those not
    /// known to be down; `url` itself when it is the only one.
    fn after(&self, url: &str) -> String {
        let ids: Vec<u64> = self.members.keys().copied().collect();
        if ids.is_empty() {
            return url.to_owned();
        }
        let start = self
            .id_of(url)
            .and_then(|id| ids.iter().position(|&i| i == id))
            .map_or(0, |p| p + 1);
        let ring = (0..ids.len()).map(|k| ids[(start + k) % ids.len()]);
        let up = |id: &u64| self.nodes.get(id).is_none_or(|n| n.role != "unreachable");
        let pick = ring.clone().find(up).or_else(|| ring.clone().next());
        pick.map_or_else(|| url.to_owned(), |id| base_url(&self.members[&id].addr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(id: u64, role: &str, leader: Option<u64>, commit: u64) -> NodeStatus {
        NodeStatus {
            id,
            role: role.to_owned(),
            leader,
            term: 2,
            members: (1..=3)
                .map(|i| MemberInfo {
                    id: i,
                    addr: format!("127.0.0.1:740{i}"),
                    voter: true,
                })
                .collect(),
            commit_index: commit,
            applied_index: commit,
            global_time_ms: 0,
            leases: 0,
        }
    }

    #[test]
    fn urls_are_normalised() {
        assert_eq!(base_url("127.0.0.1:7401/"), "http://127.0.0.1:7401");
        assert_eq!(base_url(" http://h:1 "), "http://h:1");
        assert_eq!(
            watch_url("http://h:1", Some(9)),
            "ws://h:1/v1/watch?state=true&from=9"
        );
        assert_eq!(watch_url("https://h", None), "wss://h/v1/watch?state=true");
    }

    #[test]
    fn members_come_from_status_and_a_lost_watch_moves_on_with_back_off() {
        let mut c = Cluster::new("127.0.0.1:7401");
        assert_eq!(c.status_urls(), ["http://127.0.0.1:7401"]);
        assert_eq!(c.next_watch(), ("http://127.0.0.1:7401".to_owned(), 0));
        c.on_open("http://127.0.0.1:7401");
        c.on_status(
            "http://127.0.0.1:7401",
            Ok(status(1, "leader", Some(1), 10)),
        );
        assert_eq!(c.status_urls().len(), 3);
        assert_eq!(c.leader(), Some(1));
        assert_eq!(c.leader_url(), "http://127.0.0.1:7401");
        // Node 1 dies: its status fails, the watch is lost; the next goes to node 2.
        c.on_status("http://127.0.0.1:7401", Err("refused".into()));
        assert_eq!(c.leader(), None);
        assert_eq!(c.nodes().next().unwrap().role, "unreachable");
        c.on_lost("http://127.0.0.1:7401", "closed".into());
        assert_eq!(c.link().name(), "lost");
        assert_eq!(
            c.next_watch(),
            ("http://127.0.0.1:7402".to_owned(), BACKOFF_FIRST_MS)
        );
        // Node 2 fails too (down as well): node 3, after twice the wait.
        c.on_status("http://127.0.0.1:7402", Err("refused".into()));
        c.on_lost("http://127.0.0.1:7402", "refused".into());
        assert_eq!(
            c.next_watch(),
            ("http://127.0.0.1:7403".to_owned(), 2 * BACKOFF_FIRST_MS)
        );
        c.on_open("http://127.0.0.1:7403");
        assert_eq!(c.reconnects(), 2);
        // Once open, the back-off starts over; the ring skips the nodes that are down.
        c.on_lost("http://127.0.0.1:7403", "closed".into());
        assert_eq!(
            c.next_watch(),
            ("http://127.0.0.1:7403".to_owned(), BACKOFF_FIRST_MS),
            "the others are down: the same node again"
        );
        c.on_status(
            "http://127.0.0.1:7402",
            Ok(status(2, "leader", Some(2), 20)),
        );
        c.on_lost("http://127.0.0.1:7403", "closed".into());
        assert_eq!(c.next_watch().0, "http://127.0.0.1:7402");
        for _ in 0..20 {
            c.on_lost("http://127.0.0.1:7402", "closed".into());
        }
        assert_eq!(c.next_watch().1, BACKOFF_MAX_MS);
    }
}
