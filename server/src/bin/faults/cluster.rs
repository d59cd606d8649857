//! Three `leaseholdd` processes on loopback with a cuttable TCP proxy for every ordered
//! pair of nodes, their data in a temporary directory; every process is killed when the
//! [`Cluster`] is dropped (also on a panic).

use crate::proxy::Proxy;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The node ids.
pub const IDS: [u64; 3] = [1, 2, 3];

/// Which fault hooks the `leaseholdd` under test has.
#[derive(Debug, Clone, Copy, Default)]
pub struct Hooks {
    /// `--fault-injection` (the `/debug/clock` and `/debug/disk` routes).
    pub fault_injection: bool,
    /// `--dial ID=HOST:PORT` (so that the proxies carry Raft traffic).
    pub dial: bool,
    /// `--snapshot-logs N`.
    pub snapshot_logs: bool,
}

impl Hooks {
    /// The hooks `exe --help` mentions.
    pub fn detect(exe: &Path) -> Result<Hooks, String> {
        let out = Command::new(exe)
            .arg("--help")
            .output()
            .map_err(|e| format!("running {} --help: {e}", exe.display()))?;
        let help = String::from_utf8_lossy(&out.stdout);
        Ok(Hooks {
            fault_injection: help.contains("--fault-injection"),
            dial: help.contains("--dial"),
            snapshot_logs: help.contains("--snapshot-logs"),
        })
    }
}

/// One node's status, as `GET /v1/status` tells it.
#[derive(Debug, Clone, Default)]
pub struct NodeStatus {
    /// `leader`, `follower`, ...
    pub role: String,
    /// The leader it knows of.
    pub leader: Option<u64>,
    /// Its commit index.
    pub commit_index: u64,
    /// Its applied index.
    pub applied_index: u64,
}

struct Node {
    addr: SocketAddr,
    data: PathBuf,
    log: PathBuf,
    child: Option<Child>,
    paused: bool,
}

/// The running cluster.
pub struct Cluster {
    exe: PathBuf,
    dir: PathBuf,
    hooks: Hooks,
    nodes: BTreeMap<u64, Node>,
    proxies: BTreeMap<(u64, u64), Proxy>,
}

fn free_ports(n: usize) -> Result<Vec<SocketAddr>, String> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("finding a free port: {e}"))?;
    listeners
        .iter()
        .map(|l| l.local_addr().map_err(|e| e.to_string()))
        .collect()
}

fn signal(pid: u32, sig: &str) -> Result<(), String> {
    let status = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .map_err(|e| format!("kill {sig} {pid}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("kill {sig} {pid}: {status}"))
    }
}

impl Cluster {
    /// Makes the directories and proxies and starts the three nodes.
    pub async fn start(exe: &Path, hooks: Hooks) -> Result<Cluster, String> {
        if !exe.is_file() {
            return Err(format!("no leaseholdd at {}", exe.display()));
        }
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir =
            std::env::temp_dir().join(format!("leasehold-faults-{}-{stamp}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("making {}: {e}", dir.display()))?;
        let addrs = free_ports(IDS.len())?;
        let nodes = IDS
            .iter()
            .zip(&addrs)
            .map(|(&id, &addr)| {
                let node = Node {
                    addr,
                    data: dir.join(format!("node-{id}")),
                    log: dir.join(format!("node-{id}.log")),
                    child: None,
                    paused: false,
                };
                (id, node)
            })
            .collect();
        let mut cluster = Cluster {
            exe: exe.to_owned(),
            dir,
            hooks,
            nodes,
            proxies: BTreeMap::new(),
        };
        for &i in &IDS {
            for &j in &IDS {
                if i != j {
                    let proxy = Proxy::start(cluster.nodes[&j].addr)
                        .await
                        .map_err(|e| format!("starting a proxy: {e}"))?;
                    cluster.proxies.insert((i, j), proxy);
                }
            }
        }
        let waits: Vec<_> = IDS
            .iter()
            .map(|&id| cluster.spawn(id).map(|rx| (id, rx)))
            .collect::<Result<_, _>>()?;
        for (id, rx) in waits {
            cluster.wait_listening(id, &rx).await?;
        }
        Ok(cluster)
    }

    /// The members' addresses.
    pub fn addrs(&self) -> Vec<String> {
        self.nodes.values().map(|n| n.addr.to_string()).collect()
    }

    /// Node `id`'s data directory.
    pub fn data(&self, id: u64) -> PathBuf {
        self.nodes[&id].data.clone()
    }

    /// Which hooks the nodes have.
    pub fn hooks(&self) -> Hooks {
        self.hooks
    }

    fn spawn(&mut self, id: u64) -> Result<mpsc::Receiver<String>, String> {
        let mut command = Command::new(&self.exe);
        let node = &self.nodes[&id];
        command
            .arg(format!("--id={id}"))
            .arg(format!("--listen={}", node.addr))
            .arg("--data")
            .arg(&node.data)
            .args(["--heartbeat-ms", "50", "--election-timeout-ms", "300"])
            .args(["--batch-interval-ms", "50", "--log", "error"]);
        for (&peer, other) in &self.nodes {
            if peer != id {
                command.arg(format!("--peer={peer}={}", other.addr));
                if self.hooks.dial {
                    command.arg(format!("--dial={peer}={}", self.proxies[&(id, peer)].addr));
                }
            }
        }
        if self.hooks.fault_injection {
            command.arg("--fault-injection");
        }
        if self.hooks.snapshot_logs {
            command.args(["--snapshot-logs", "100000000"]);
        }
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&node.log)
            .map_err(|e| format!("opening {}: {e}", node.log.display()))?;
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("starting {}: {e}", self.exe.display()))?;
        let stdout = child.stdout.take();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let Some(stdout) = stdout else { return };
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = tx.send(line);
            }
            for _ in lines {}
        });
        let node = self.nodes.get_mut(&id).ok_or("no such node")?;
        node.child = Some(child);
        node.paused = false;
        Ok(rx)
    }

    async fn wait_listening(&mut self, id: u64, rx: &mpsc::Receiver<String>) -> Result<(), String> {
        for _ in 0..300 {
            match rx.try_recv() {
                Ok(line) if line.contains("listening on") => return Ok(()),
                Ok(line) => return Err(format!("node {id} said {line:?}")),
                Err(mpsc::TryRecvError::Empty) => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(mpsc::TryRecvError::Disconnected) => break,
            }
        }
        let log = std::fs::read_to_string(&self.nodes[&id].log).unwrap_or_default();
        let tail: String = log
            .chars()
            .rev()
            .take(2000)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        Err(format!(
            "node {id} did not start listening; its log ends:\n{tail}"
        ))
    }

    /// Starts node `id` (again, with the same data) and waits until it listens.
    pub async fn restart(&mut self, id: u64) -> Result<(), String> {
        if self.running(id) {
            return Ok(());
        }
        let rx = self.spawn(id)?;
        self.wait_listening(id, &rx).await
    }

    /// Whether node `id`'s process is running (not exited, not killed).
    pub fn running(&mut self, id: u64) -> bool {
        let Some(node) = self.nodes.get_mut(&id) else {
            return false;
        };
        match node.child.as_mut().map(Child::try_wait) {
            Some(Ok(None)) => true,
            Some(_) => {
                node.child = None;
                false
            }
            None => false,
        }
    }

    /// Waits up to `limit` for node `id` to exit by itself; its exit status.
    pub async fn wait_exit(&mut self, id: u64, limit: Duration) -> Option<ExitStatus> {
        let give_up = tokio::time::Instant::now() + limit;
        loop {
            let node = self.nodes.get_mut(&id)?;
            let child = node.child.as_mut()?;
            if let Ok(Some(status)) = child.try_wait() {
                node.child = None;
                return Some(status);
            }
            if tokio::time::Instant::now() >= give_up {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILLs node `id`.
    pub fn kill(&mut self, id: u64) {
        if let Some(node) = self.nodes.get_mut(&id)
            && let Some(mut child) = node.child.take()
        {
            let _ = child.kill();
            let _ = child.wait();
            node.paused = false;
        }
    }

    /// SIGSTOPs (`true`) or SIGCONTs (`false`) node `id`.
    pub fn pause(&mut self, id: u64, stop: bool) -> Result<(), String> {
        let node = self.nodes.get_mut(&id).ok_or("no such node")?;
        let child = node.child.as_ref().ok_or("not running")?;
        signal(child.id(), if stop { "-STOP" } else { "-CONT" })?;
        node.paused = stop;
        Ok(())
    }

    /// Stops node `id` with SIGTERM, SIGKILL after `limit`.
    pub async fn terminate(&mut self, id: u64, limit: Duration) -> Option<ExitStatus> {
        let pid = self.nodes.get(&id)?.child.as_ref()?.id();
        if self.nodes[&id].paused {
            let _ = signal(pid, "-CONT");
        }
        let _ = signal(pid, "-TERM");
        match self.wait_exit(id, limit).await {
            Some(status) => Some(status),
            None => {
                self.kill(id);
                None
            }
        }
    }

    /// Cuts (or heals) the link from `from` to `to`.
    pub fn cut(&self, from: u64, to: u64, cut: bool) {
        if let Some(p) = self.proxies.get(&(from, to)) {
            if cut { p.cut() } else { p.heal() }
        }
    }

    /// Heals every link and resumes every paused node.
    pub fn heal_all(&mut self) {
        for p in self.proxies.values() {
            if p.is_cut() {
                p.heal();
            }
        }
        let paused: Vec<u64> = self
            .nodes
            .iter()
            .filter(|(_, n)| n.paused)
            .map(|(id, _)| *id)
            .collect();
        for id in paused {
            let _ = self.pause(id, false);
        }
    }

    /// Node `id`'s address.
    pub fn addr(&self, id: u64) -> SocketAddr {
        self.nodes[&id].addr
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for node in self.nodes.values_mut() {
            if let Some(mut child) = node.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One HTTP/1.1 exchange with `addr` (`limit` at most): the status code and body.
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
    limit: Duration,
) -> Result<(u16, String), String> {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| e.to_string())?;
        let body = body.unwrap_or("");
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut response = Vec::new();
        stream
            .read_to_end(&mut response)
            .await
            .map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&response).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let code = head
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| format!("no status line in {head:?}"))?;
        let body = if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            dechunk(body)
        } else {
            body.to_owned()
        };
        Ok((code, body))
    };
    tokio::time::timeout(limit, exchange)
        .await
        .map_err(|_| "timed out".to_owned())?
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// Node at `addr`'s status.
pub async fn status(addr: SocketAddr) -> Result<NodeStatus, String> {
    let (code, body) = http(addr, "GET", "/v1/status", None, Duration::from_millis(400)).await?;
    if code != 200 {
        return Err(format!("status {code}: {body}"));
    }
    let v: Value = serde_json::from_str(&body).map_err(|e| e.to_string())?;
    Ok(NodeStatus {
        role: v["role"].as_str().unwrap_or("").to_owned(),
        leader: v["leader"].as_u64(),
        commit_index: v["commitIndex"].as_u64().unwrap_or(0),
        applied_index: v["appliedIndex"].as_u64().unwrap_or(0),
    })
}

/// The statuses of every node that answers.
pub async fn statuses(addrs: &BTreeMap<u64, SocketAddr>) -> BTreeMap<u64, NodeStatus> {
    let polls = addrs
        .iter()
        .map(|(&id, &addr)| async move { (id, status(addr).await) });
    futures_util::future::join_all(polls)
        .await
        .into_iter()
        .filter_map(|(id, s)| s.ok().map(|s| (id, s)))
        .collect()
}

/// The leader a majority of the nodes agree on (and that itself says it leads).
pub fn agreed_leader(statuses: &BTreeMap<u64, NodeStatus>) -> Option<u64> {
    let majority = IDS.len() / 2 + 1;
    IDS.iter().copied().find(|&l| {
        statuses.get(&l).is_some_and(|s| s.role == "leader")
            && statuses.values().filter(|s| s.leader == Some(l)).count() >= majority
    })
}
