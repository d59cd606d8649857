//! The cluster under test: `leaseholdd` processes on free loopback ports, each with its
//! own data directory in one temporary directory, killed when the [`Cluster`] is dropped
//! (also on a panic).

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long a node may take to print that it listens.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// One node: its id, address, data directory and (while it runs) its process.
struct Node {
    id: u64,
    addr: SocketAddr,
    data: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

/// A running cluster of `leaseholdd` processes. Dropping it kills them all.
pub struct Cluster {
    exe: PathBuf,
    extra: Vec<String>,
    nodes: Vec<Node>,
    dir: tempfile::TempDir,
}

/// `n` free loopback ports, found by binding them all at once.
pub fn free_ports(n: usize) -> Result<Vec<SocketAddr>, String> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("finding a free port: {e}"))?;
    listeners
        .iter()
        .map(|l| l.local_addr().map_err(|e| e.to_string()))
        .collect()
}

/// The last `bytes` of a file, for error messages.
pub fn tail(path: &Path, bytes: u64) -> String {
    let Ok(mut f) = File::open(path) else {
        return String::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(bytes)));
    let mut s = String::new();
    let _ = f.read_to_string(&mut s);
    s
}

impl Cluster {
    /// Starts `n` nodes of `exe` (with `extra` flags each) and waits until every one
    /// listens.
    pub fn start(exe: &Path, n: usize, extra: &[String]) -> Result<Cluster, String> {
        if !exe.is_file() {
            return Err(format!(
                "no leaseholdd at {} (build it with `cargo build --release -p leasehold-server --bins`, or pass --leaseholdd PATH)",
                exe.display()
            ));
        }
        let dir = tempfile::Builder::new()
            .prefix("leasehold-cluster-")
            .tempdir()
            .map_err(|e| format!("making a temporary directory: {e}"))?;
        let addrs = free_ports(n)?;
        let nodes = addrs
            .iter()
            .enumerate()
            .map(|(i, addr)| {
                let id = i as u64 + 1;
                Node {
                    id,
                    addr: *addr,
                    data: dir.path().join(format!("node-{id}")),
                    log: dir.path().join(format!("node-{id}.log")),
                    child: None,
                }
            })
            .collect();
        let mut cluster = Cluster {
            exe: exe.to_owned(),
            extra: extra.to_vec(),
            nodes,
            dir,
        };
        let ids: Vec<u64> = cluster.nodes.iter().map(|n| n.id).collect();
        let waits: Vec<_> = ids
            .iter()
            .map(|&id| cluster.spawn(id).map(|rx| (id, rx)))
            .collect::<Result<_, _>>()?;
        for (id, rx) in waits {
            cluster.wait_listening(id, &rx)?;
        }
        Ok(cluster)
    }

    /// Where the cluster's files are.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The members' addresses, `host:port`.
    pub fn addrs(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.addr.to_string()).collect()
    }

    /// The address of node `id`.
    pub fn addr(&self, id: u64) -> Option<SocketAddr> {
        self.node(id).map(|n| n.addr)
    }

    fn node(&self, id: u64) -> Option<&Node> {
        self.nodes.iter().find(|n| n.id == id)
    }

    fn node_mut(&mut self, id: u64) -> Result<&mut Node, String> {
        self.nodes
            .iter_mut()
            .find(|n| n.id == id)
            .ok_or_else(|| format!("no node {id}"))
    }

    /// Starts node `id`'s process; the receiver gets its line saying it listens.
    fn spawn(&mut self, id: u64) -> Result<mpsc::Receiver<String>, String> {
        let peers: Vec<String> = self
            .nodes
            .iter()
            .filter(|n| n.id != id)
            .map(|n| format!("--peer={}={}", n.id, n.addr))
            .collect();
        let exe = self.exe.clone();
        let extra = self.extra.clone();
        let node = self.node_mut(id)?;
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&node.log)
            .map_err(|e| format!("opening {}: {e}", node.log.display()))?;
        let mut child = Command::new(&exe)
            .arg(format!("--id={id}"))
            .arg(format!("--listen={}", node.addr))
            .arg("--data")
            .arg(&node.data)
            .args(&peers)
            .args(&extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .map_err(|e| format!("starting {}: {e}", exe.display()))?;
        let stdout = child.stdout.take();
        node.child = Some(child);
        let (tx, rx) = mpsc::channel();
        if let Some(stdout) = stdout {
            // Reads the node's stdout to its end, so the pipe never fills.
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if line.contains("listening on") {
                        let _ = tx.send(line);
                    }
                }
            });
        }
        Ok(rx)
    }

    /// Waits until node `id` printed that it listens, or fails with its log's tail.
    fn wait_listening(&mut self, id: u64, rx: &mpsc::Receiver<String>) -> Result<(), String> {
        let give_up = Instant::now() + START_TIMEOUT;
        loop {
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(_) => return Ok(()),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {}
            }
            let node = self.node_mut(id)?;
            let exited = match node.child.as_mut().map(Child::try_wait) {
                Some(Ok(Some(status))) => Some(status.to_string()),
                Some(Err(e)) => Some(e.to_string()),
                _ => None,
            };
            if exited.is_some() || Instant::now() >= give_up {
                let why = exited.unwrap_or_else(|| "no `listening` line in time".into());
                return Err(format!(
                    "node {id} did not start ({why}); its log ends:\n{}",
                    tail(&node.log, 2_000)
                ));
            }
        }
    }

    /// Kills node `id` with SIGKILL; the time of the kill.
    pub fn kill(&mut self, id: u64) -> Result<Instant, String> {
        let node = self.node_mut(id)?;
        let mut child = node
            .child
            .take()
            .ok_or_else(|| format!("node {id} is not running"))?;
        child
            .kill()
            .map_err(|e| format!("killing node {id}: {e}"))?;
        let at = Instant::now();
        let _ = child.wait();
        Ok(at)
    }

    /// Starts node `id` again on its data directory and address; how long it took to
    /// listen.
    pub async fn restart(&mut self, id: u64) -> Result<Duration, String> {
        let started = Instant::now();
        // The port may still be held for a moment after the kill: try a few times.
        let mut attempt = 0;
        loop {
            let rx = self.spawn(id)?;
            let result = tokio::task::block_in_place(|| self.wait_listening(id, &rx));
            match result {
                Ok(()) => return Ok(started.elapsed()),
                Err(e) if attempt >= 5 => return Err(e),
                Err(_) => {
                    attempt += 1;
                    if let Ok(node) = self.node_mut(id)
                        && let Some(mut child) = node.child.take()
                    {
                        let _ = child.kill();
                        let _ = child.wait();
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    }

    /// The ids of the nodes whose process stopped by itself.
    pub fn exited(&mut self) -> Vec<u64> {
        let mut ids = Vec::new();
        for n in &mut self.nodes {
            if let Some(c) = n.child.as_mut()
                && !matches!(c.try_wait(), Ok(None))
            {
                ids.push(n.id);
            }
        }
        ids
    }

    /// CPU time used so far by each running node, in clock ticks.
    pub fn cpu_ticks(&self) -> Vec<(u64, u64)> {
        self.running()
            .filter_map(|(id, pid)| Some((id, cpu_ticks(&pid.to_string())?)))
            .collect()
    }

    /// The peak resident memory of each running node, bytes.
    pub fn peak_rss(&self) -> Vec<(u64, u64)> {
        self.running()
            .filter_map(|(id, pid)| Some((id, peak_rss(&pid.to_string())?)))
            .collect()
    }

    /// `(id, pid)` of the running nodes.
    pub fn running(&self) -> impl Iterator<Item = (u64, u32)> + '_ {
        self.nodes
            .iter()
            .filter_map(|n| Some((n.id, n.child.as_ref()?.id())))
    }

    /// The tail of node `id`'s log.
    pub fn log_tail(&self, id: u64) -> String {
        self.node(id)
            .map(|n| tail(&n.log, 2_000))
            .unwrap_or_default()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            if let Some(mut child) = node.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// The clock ticks per second of `/proc/*/stat` (`USER_HZ`, 100 on Linux).
pub const TICKS_PER_SEC: f64 = 100.0;

/// User plus system CPU time of process `pid` (or `self`), in clock ticks, from
/// `/proc/PID/stat`; `None` where there is no such file.
pub fn cpu_ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name (which may hold spaces), from the state on:
    // utime and stime are the 14th and 15th fields of the line.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// The peak resident memory (`VmHWM`) of process `pid` (or `self`), bytes.
pub fn peak_rss(pid: &str) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
}
