//! Node processes on 127.0.0.1: [`LocalCluster`] starts, kills and restarts
//! them (for the launcher and the benchmark), and `blackboard cluster` is the
//! "try it now" command built on it: it says where the nodes are and who
//! leads, reports nodes that die (with the command that restarts them), and
//! stops them all on Ctrl-C.

use std::fs::File;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::cli::ClusterOptions;
use crate::client::{json_u64, Client};

pub struct Member {
    pub id: u16,
    pub http: SocketAddr,
    args: Vec<String>,
    child: Option<Child>,
}

impl Member {
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn is_up(&self) -> bool {
        self.child.is_some()
    }

    pub fn client(&self) -> Client {
        Client::new(self.http).with_timeout(Duration::from_secs(10))
    }

    /// A number field of `/status`, if the node answers.
    pub fn status_field(&self, field: &str) -> Option<u64> {
        let mut client = Client::new(self.http).with_timeout(Duration::from_millis(500));
        json_u64(&client.get("/status").ok()?.body, field)
    }
}

/// Where node output goes.
pub enum Output {
    Inherit,
    /// One log file per node in this folder.
    Files(PathBuf),
}

pub struct LocalCluster {
    pub members: Vec<Member>,
    exe: PathBuf,
    output: Output,
}

impl LocalCluster {
    /// Starts `n` nodes: HTTP on `http_base..`, UDP on `udp_base..`.
    pub fn start(
        n: u16,
        http_base: u16,
        udp_base: u16,
        node_args: &[String],
        output: Output,
    ) -> Result<LocalCluster, String> {
        let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
        let peers: Vec<String> = (0..n)
            .map(|i| format!("{}=127.0.0.1:{}", i + 1, udp_base + i))
            .collect();
        let peers = peers.join(",");
        let mut cluster = LocalCluster {
            members: Vec::new(),
            exe,
            output,
        };
        for i in 1..=n {
            let http: SocketAddr = ([127, 0, 0, 1], http_base + i - 1).into();
            let mut args = vec![
                "node".to_owned(),
                "--id".to_owned(),
                i.to_string(),
                "--peers".to_owned(),
                peers.clone(),
                "--http".to_owned(),
                http.to_string(),
            ];
            args.extend(node_args.iter().cloned());
            cluster.members.push(Member {
                id: i,
                http,
                args,
                child: None,
            });
            cluster.restart(i)?;
        }
        Ok(cluster)
    }

    pub fn member(&self, id: u16) -> &Member {
        &self.members[usize::from(id) - 1]
    }

    /// Starts (again) node `id`, with an empty memory.
    pub fn restart(&mut self, id: u16) -> Result<(), String> {
        let (stdout, stderr) = match &self.output {
            Output::Inherit => (Stdio::inherit(), Stdio::inherit()),
            Output::Files(dir) => {
                let log = File::options()
                    .create(true)
                    .append(true)
                    .open(dir.join(format!("node-{id}.log")))
                    .map_err(|e| format!("cannot open a log file in {}: {e}", dir.display()))?;
                (Stdio::null(), Stdio::from(log))
            }
        };
        let m = &mut self.members[usize::from(id) - 1];
        let child = Command::new(&self.exe)
            .args(&m.args)
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("cannot start node {id}: {e}"))?;
        m.child = Some(child);
        Ok(())
    }

    /// SIGKILL: the node dies with everything it held.
    pub fn kill(&mut self, id: u16) {
        if let Some(mut child) = self.members[usize::from(id) - 1].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The leader every running node names, once they agree (bounded wait).
    pub fn wait_leader(&self, limit: Duration) -> Option<u16> {
        let end = Instant::now() + limit;
        while Instant::now() < end {
            if let Some(l) = self.agreed_leader() {
                return Some(l);
            }
            thread::sleep(Duration::from_millis(5));
        }
        None
    }

    fn agreed_leader(&self) -> Option<u16> {
        let mut agreed = None;
        for m in self.members.iter().filter(|m| m.is_up()) {
            let l = m.status_field("leader")?;
            if agreed.is_some_and(|a| a != l) {
                return None;
            }
            agreed = Some(l);
        }
        let l = u16::try_from(agreed?).ok()?;
        self.members
            .iter()
            .any(|m| m.id == l && m.is_up())
            .then_some(l)
    }

    /// True when every running node applied the same seq and none is still
    /// recovering.
    pub fn converged(&self) -> bool {
        let mut seqs = Vec::new();
        for m in self.members.iter().filter(|m| m.is_up()) {
            let mut client = Client::new(m.http).with_timeout(Duration::from_millis(500));
            let Ok(r) = client.get("/status") else {
                return false;
            };
            if r.body.contains("\"role\":\"recovering\"") {
                return false;
            }
            seqs.push(json_u64(&r.body, "seq"));
        }
        seqs.iter().all(|s| s.is_some() && *s == seqs[0])
    }

    /// Largest resident set among the running nodes, in KiB (from /proc).
    pub fn max_rss_kib(&self) -> u64 {
        self.members
            .iter()
            .filter_map(|m| {
                let status = std::fs::read_to_string(format!("/proc/{}/status", m.pid()?)).ok()?;
                let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
                line.split_whitespace().nth(1)?.parse().ok()
            })
            .max()
            .unwrap_or(0)
    }

    /// Reports (once) members that exited on their own.
    fn reap(&mut self) -> Vec<(u16, u32, String)> {
        let mut gone = Vec::new();
        for m in &mut self.members {
            let Some(child) = &mut m.child else { continue };
            if let Ok(Some(status)) = child.try_wait() {
                gone.push((m.id, child.id(), status.to_string()));
                m.child = None;
            }
        }
        gone
    }

    fn restart_command(&self, id: u16) -> String {
        format!(
            "{} {}",
            self.exe.display(),
            self.members[usize::from(id) - 1].args.join(" ")
        )
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        for m in &mut self.members {
            if let Some(mut child) = m.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// `blackboard cluster`.
pub fn run(opts: &ClusterOptions) -> Result<(), String> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .map_err(|e| format!("cannot handle signals: {e}"))?;
    }
    let mut cluster = LocalCluster::start(
        opts.nodes,
        opts.http_base,
        opts.udp_base,
        &opts.node_args,
        Output::Inherit,
    )?;
    for m in &cluster.members {
        println!(
            "node {} pid {} http://{}/",
            m.id,
            m.pid().unwrap_or(0),
            m.http
        );
    }
    match cluster.wait_leader(Duration::from_secs(10)) {
        Some(leader) => println!(
            "leader: node {leader} (see http://{}/status)",
            cluster.member(leader).http
        ),
        None => println!("no leader yet; the nodes' logs say why"),
    }
    println!(
        "Ctrl-C stops the cluster. Try: curl -d entry=hello -X POST http://{}/board",
        cluster.members[0].http
    );
    while !stop.load(Ordering::Relaxed) {
        for (id, pid, status) in cluster.reap() {
            println!(
                "node {id} (pid {pid}) exited ({status}); restart it with:\n  {}",
                cluster.restart_command(id)
            );
        }
        thread::sleep(Duration::from_millis(100));
    }
    drop(cluster);
    println!("cluster stopped");
    Ok(())
}
