//! Three real `leaseholdd` processes on loopback: claims and extensions through the
//! `Client` under load, SIGKILL of the leader, a new leader, every request answered once
//! and every acknowledged lease still held with its token by its holder on the
//! survivors; the killed node restarted and caught up; `leaseholdctl` against the
//! cluster; membership from three nodes to four and back.

mod common;

use common::{Http, PATIENCE, eventually};
use leasehold::{Key, Outcome};
use leasehold_server::client::{Client, ClientError, ClientOptions, WatchMessage};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// `n` distinct free loopback ports (all bound at once, then released for the nodes to
/// take: ports taken one at a time could repeat).
fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

/// The node processes, killed when the test ends however it ends.
struct Cluster {
    addrs: BTreeMap<u64, String>,
    children: BTreeMap<u64, Child>,
    data: TempDir,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for child in self.children.values_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Cluster {
    fn new(ids: &[u64]) -> Cluster {
        Cluster {
            addrs: ids
                .iter()
                .zip(free_ports(ids.len()))
                .map(|(id, port)| (*id, format!("127.0.0.1:{port}")))
                .collect(),
            children: BTreeMap::new(),
            data: TempDir::new().unwrap(),
        }
    }

    fn dir(&self, id: u64) -> PathBuf {
        self.data.path().join(id.to_string())
    }

    /// Starts node `id` with the members in `peers` and waits until it listens.
    fn start(&mut self, id: u64, peers: &[u64]) {
        let mut command = Command::new(env!("CARGO_BIN_EXE_leaseholdd"));
        command
            .args(["--id", &id.to_string(), "--listen", &self.addrs[&id]])
            .arg("--data")
            .arg(self.dir(id))
            .args(["--batch-interval-ms", "50", "--heartbeat-ms", "50"])
            .args(["--election-timeout-ms", "300", "--log", "error"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for p in peers.iter().filter(|p| **p != id) {
            command.args(["--peer", &format!("{p}={}", self.addrs[p])]);
        }
        let mut child = command.spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(line.contains("listening on"), "node {id} said: {line:?}");
        self.children.insert(id, child);
    }

    /// SIGKILLs node `id`.
    fn kill(&mut self, id: u64) {
        let mut child = self.children.remove(&id).unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }

    fn http(&self, id: u64) -> Http {
        Http::new(self.addrs[&id].clone(), None)
    }

    /// The leader that the nodes in `ids` agree on.
    async fn leader(&self, ids: &[u64]) -> u64 {
        eventually("an agreed leader", || async {
            let mut leaders = Vec::new();
            for id in ids {
                let status = self.http(*id).status().await;
                leaders.push(status["leader"].as_u64());
            }
            let first = leaders[0]?;
            (ids.contains(&first) && leaders.iter().all(|l| *l == Some(first))).then_some(first)
        })
        .await
    }

    /// Node `id`'s applied state: its leases by name (holder, token), from the watch's
    /// snapshot, and its applied index.
    async fn state(&self, id: u64) -> (u64, BTreeMap<String, (String, u64)>) {
        let seeds = [self.addrs[&id].as_str()];
        let client = Client::connect(&seeds, ClientOptions::default())
            .await
            .unwrap();
        let mut watch = client.watch(None).await.unwrap();
        let Some(Ok(WatchMessage::Snapshot { index, leases, .. })) = watch.next().await else {
            panic!("node {id}: no snapshot");
        };
        let leases = leases
            .into_iter()
            .map(|l| (l.lease, (l.holder, l.token)))
            .collect();
        (index, leases)
    }
}

/// One request sent and its one answer.
#[derive(Debug)]
struct Sent {
    lease: String,
    holder: String,
    claim: bool,
    answer: Result<Outcome, ClientError>,
}

/// Until `stop`: claims a new lease `lease-{i}-{k}` for `holder-{i}` and extends the
/// first one it was granted, so that every answer can be checked against the state.
async fn worker(client: Client, i: usize, stop: Arc<AtomicBool>) -> Vec<Sent> {
    let holder = format!("holder-{i}");
    let minute = Duration::from_secs(60);
    let mut sent = Vec::new();
    let mut first: Option<String> = None;
    for k in 0.. {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let lease = format!("lease-{i}-{k}");
        let key = Key::new("jobs", "m", lease.as_str());
        let answer = client.claim(key, &holder, minute).await;
        if first.is_none() && matches!(answer, Ok(Outcome::Applied(Ok(_)))) {
            first = Some(lease.clone());
        }
        sent.push(Sent {
            lease,
            holder: holder.clone(),
            claim: true,
            answer,
        });
        if let Some(lease) = &first {
            let key = Key::new("jobs", "m", lease.as_str());
            let answer = client.extend(key, &holder, minute).await;
            sent.push(Sent {
                lease: lease.clone(),
                holder: holder.clone(),
                claim: false,
                answer,
            });
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sent
}

fn ctl(addr: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_leaseholdctl"))
        .args(["--endpoint", &format!("http://{addr}")])
        .args(args)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

async fn caught_up(cluster: &Cluster, id: u64, index: u64) {
    eventually("the node to catch up", || async {
        let status = cluster.http(id).status().await;
        (status["appliedIndex"].as_u64()? >= index).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cluster_survives_a_sigkill_of_its_leader() {
    let mut cluster = Cluster::new(&[1, 2, 3, 4]);
    for id in 1..=3 {
        cluster.start(id, &[1, 2, 3]);
    }
    let leader = cluster.leader(&[1, 2, 3]).await;
    let addrs: Vec<String> = [1, 2, 3]
        .iter()
        .map(|id| cluster.addrs[id].clone())
        .collect();
    let seeds: Vec<&str> = addrs.iter().map(String::as_str).collect();
    let client = Client::connect(&seeds, ClientOptions::default())
        .await
        .unwrap();

    // Load: 200 holders claim and extend; the leader is killed meanwhile.
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..200)
        .map(|i| tokio::spawn(worker(client.clone(), i, Arc::clone(&stop))))
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let killed_at = Instant::now();
    cluster.kill(leader);
    let survivors: Vec<u64> = [1, 2, 3].into_iter().filter(|id| *id != leader).collect();
    let new_leader = cluster.leader(&survivors).await;
    assert_ne!(new_leader, leader);
    // The first request answered by the new leader.
    let probe = Key::new("jobs", "m", "probe");
    let answered = client.claim(probe, "probe", Duration::from_secs(60)).await;
    assert!(
        matches!(answered, Ok(Outcome::Applied(Ok(_)))),
        "{answered:?}"
    );
    eprintln!("first answer {:?} after the SIGKILL", killed_at.elapsed());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, Ordering::Relaxed);
    let mut sent = Vec::new();
    for w in workers {
        sent.extend(tokio::time::timeout(PATIENCE, w).await.unwrap().unwrap());
    }

    // Every request got one answer, never a guess: applied, or not applied.
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut acknowledged: BTreeMap<String, (String, u64)> = BTreeMap::new();
    for s in &sent {
        let name = match &s.answer {
            Ok(o) => o.name(),
            Err(ClientError::NoLeader | ClientError::Unreachable(_)) => "no-leader",
            Err(e) => panic!(
                "{} {}: {e}",
                s.lease,
                if s.claim { "claim" } else { "extend" }
            ),
        };
        *counts.entry(name).or_default() += 1;
        if let Ok(Outcome::Applied(Ok(Some(token)))) = &s.answer {
            let previous = acknowledged.insert(s.lease.clone(), (s.holder.clone(), *token));
            if let Some((_, t)) = previous {
                assert_eq!(t, *token, "{}: an extension changed the token", s.lease);
            }
        }
    }
    eprintln!("{} requests: {counts:?}", sent.len());
    assert!(counts.get("ok").copied().unwrap_or(0) > 400, "{counts:?}");

    // Every acknowledged lease is held, by its holder, with its token, on every survivor.
    let index = cluster.http(new_leader).status().await["commitIndex"]
        .as_u64()
        .unwrap();
    for id in &survivors {
        caught_up(&cluster, *id, index).await;
        let (_, leases) = cluster.state(*id).await;
        for (lease, held) in &acknowledged {
            assert_eq!(leases.get(lease), Some(held), "node {id}: {lease}");
        }
    }
    // A claim answered anything but `ok` did not apply: nobody holds its lease (each
    // claim is of a new lease).
    let (_, leases) = cluster.state(new_leader).await;
    for s in sent.iter().filter(|s| s.claim) {
        if !matches!(s.answer, Ok(Outcome::Applied(Ok(_)))) {
            assert_eq!(leases.get(&s.lease), None, "{s:?}");
        }
    }

    // The killed node restarts from its data directory and catches up.
    cluster.start(leader, &[1, 2, 3]);
    let index = cluster.http(new_leader).status().await["commitIndex"]
        .as_u64()
        .unwrap();
    caught_up(&cluster, leader, index).await;
    let (_, restarted) = cluster.state(leader).await;
    for (lease, held) in &acknowledged {
        assert_eq!(restarted.get(lease), Some(held), "restarted node: {lease}");
    }

    // leaseholdctl against a follower: an operation, the leases, the status.
    let follower = survivors.iter().find(|id| **id != new_leader).unwrap();
    let addr = cluster.addrs[follower].clone();
    let (ok, out) = ctl(
        &addr,
        &["claim", "app", "m", "web", "web/0", "--duration", "60s"],
    );
    assert!(ok, "{out}");
    let (ok, out) = ctl(
        &addr,
        &["claim", "app", "m", "web", "web/1", "--duration", "60s"],
    );
    assert!(!ok && out.contains("held"), "{out}");
    let (ok, out) = ctl(&addr, &["--json", "leases", "--namespace", "app"]);
    assert!(ok && out.contains("\"web/0\""), "{out}");
    let (ok, out) = ctl(&addr, &["status"]);
    assert!(ok && out.contains("follower"), "{out}");

    // Membership: three nodes to four (through a follower), and back.
    cluster.start(4, &[1, 2, 3, 4]);
    let four = cluster.addrs[&4].clone();
    let (ok, out) = ctl(&addr, &["members", "add", "4", &four]);
    assert!(ok, "{out}");
    let status = cluster.http(new_leader).status().await;
    let voters = |s: &serde_json::Value| {
        s["members"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["voter"] == true)
            .count()
    };
    assert_eq!(voters(&status), 4, "{status}");
    caught_up(&cluster, 4, status["commitIndex"].as_u64().unwrap()).await;
    let (_, joined) = cluster.state(4).await;
    assert_eq!(joined.get("web").map(|(h, _)| h.as_str()), Some("web/0"));
    let (ok, out) = ctl(&addr, &["members", "remove", "4"]);
    assert!(ok, "{out}");
    let status = cluster.http(new_leader).status().await;
    assert_eq!(voters(&status), 3, "{status}");
    assert!(
        status["members"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["id"] != 4),
        "{status}"
    );

    // Every node killed at once and restarted: every acknowledged lease is still there.
    for id in [1, 2, 3, 4] {
        cluster.kill(id);
    }
    for id in 1..=3 {
        cluster.start(id, &[1, 2, 3]);
    }
    let leader = cluster.leader(&[1, 2, 3]).await;
    let client = Client::connect(&seeds, ClientOptions::default())
        .await
        .unwrap();
    let leases = client.leases(Some("jobs"), Some("m")).await.unwrap();
    let after: BTreeMap<String, (String, u64)> = leases
        .leases
        .into_iter()
        .map(|l| (l.lease, (l.holder, l.token)))
        .collect();
    for (lease, held) in &acknowledged {
        assert_eq!(
            after.get(lease),
            Some(held),
            "after restarting all, led by {leader}: {lease}"
        );
    }
}
