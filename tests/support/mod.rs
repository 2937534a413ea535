//! Real node processes on 127.0.0.1 for process tests: start, kill -9,
//! restart, and poll their HTTP API for conditions (never blind sleeps).

#![allow(dead_code)]

// The launcher's harness: the tests ask nodes the way the tools do.
#[path = "../../src/tools/harness.rs"]
mod harness;
pub use harness::{encode, wait_until, Ask, Client};

use std::fs::File;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use blackboard::answers::{Board, Role, Status, Written};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A JSON body read as one of the answer types (`blackboard::answers`), or
/// none when it is not one.
pub fn read<T: DeserializeOwned>(body: &Value) -> Option<T> {
    T::deserialize(body).ok()
}

pub struct Proc {
    pub id: u16,
    pub http: SocketAddr,
    /// Started as `python3 <script> args` (the course's way), else `blackboard args`.
    script: Option<PathBuf>,
    args: Vec<String>,
    child: Option<Child>,
    log: PathBuf,
}

pub struct TestCluster {
    pub nodes: Vec<Proc>,
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_blackboard")
}

impl TestCluster {
    /// `n` nodes with UDP on `base+1..` and HTTP on `base+101..`.
    pub fn start(name: &str, n: u16, base: u16) -> TestCluster {
        TestCluster::start_with(name, n, base, &[])
    }

    /// As [`TestCluster::start`], every node given the `extra` flags too.
    pub fn start_with(name: &str, n: u16, base: u16, extra: &[&str]) -> TestCluster {
        let peers: Vec<String> = (1..=n)
            .map(|i| format!("{i}=127.0.0.1:{}", base + i))
            .collect();
        let peers = peers.join(",");
        TestCluster::launch(name, n, base, None, |i, http| {
            let id = i.to_string();
            let http = http.to_string();
            let flags = ["node", "--id", &id, "--peers", &peers, "--http", &http];
            (flags.into_iter().chain(["--log-level", "debug"]))
                .chain(extra.iter().copied())
                .map(str::to_owned)
                .collect()
        })
    }

    /// As [`TestCluster::start`], each node started the way the course's
    /// start script starts its server: `python3 scripts/server.py --id I
    /// --servers A,B,C` (plus `--http`, as all share 127.0.0.1).
    pub fn start_course(name: &str, n: u16, base: u16) -> TestCluster {
        let servers: Vec<String> = (1..=n).map(|i| format!("127.0.0.1:{}", base + i)).collect();
        let servers = servers.join(",");
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/server.py");
        TestCluster::launch(name, n, base, Some(script), |i, http| {
            let (id, http) = (i.to_string(), http.to_string());
            ["--id", &id, "--servers", &servers, "--http", &http]
                .into_iter()
                .chain(["--log-level", "debug"])
                .map(str::to_owned)
                .collect()
        })
    }

    /// Nodes 1..=n, HTTP on `base+101..`, each started with `args_of(id,
    /// http)` (by `python3 script` when there is one), logs in a fresh folder.
    fn launch(
        name: &str,
        n: u16,
        base: u16,
        script: Option<PathBuf>,
        args_of: impl Fn(u16, SocketAddr) -> Vec<String>,
    ) -> TestCluster {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
        // Fresh logs for every run (restarts within a run append).
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let nodes = (1..=n)
            .map(|i| {
                let http: SocketAddr = ([127, 0, 0, 1], base + 100 + i).into();
                let mut p = Proc {
                    id: i,
                    http,
                    script: script.clone(),
                    args: args_of(i, http),
                    child: None,
                    log: dir.join(format!("node-{i}.log")),
                };
                p.spawn();
                p
            })
            .collect();
        TestCluster { nodes }
    }

    pub fn node(&self, id: u16) -> &Proc {
        &self.nodes[usize::from(id) - 1]
    }

    pub fn kill(&mut self, id: u16) {
        let p = &mut self.nodes[usize::from(id) - 1];
        if let Some(mut child) = p.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    pub fn restart(&mut self, id: u16) {
        self.nodes[usize::from(id) - 1].spawn();
    }

    pub fn up(&self) -> impl Iterator<Item = &Proc> {
        self.nodes.iter().filter(|p| p.child.is_some())
    }

    /// The leader every running node agrees on, once they agree.
    pub fn agreed_leader(&self) -> Option<u16> {
        let mut leader = None;
        for p in self.up() {
            let status = p.status()?;
            let l = status.leader?;
            if status.role == Role::Recovering || leader.is_some_and(|x| x != l) {
                return None;
            }
            leader = Some(l);
        }
        leader.filter(|l| self.up().any(|p| p.id == *l))
    }

    pub fn wait_leader(&self, limit: Duration) -> u16 {
        let mut found = None;
        let ok = wait_until(limit, || {
            found = self.agreed_leader();
            found.is_some()
        });
        assert!(
            ok,
            "no agreed leader within {limit:?}; logs in {:?}",
            self.nodes[0].log.parent()
        );
        found.unwrap()
    }

    /// True when every running node shows the same seq and the same entries.
    pub fn converged(&self) -> bool {
        let boards: Vec<Board> = self.up().filter_map(Proc::board).collect();
        boards.len() == self.up().count()
            && boards
                .windows(2)
                .all(|w| w[0].seq == w[1].seq && w[0].entries == w[1].entries)
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        for p in &mut self.nodes {
            if let Some(mut child) = p.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

impl Proc {
    fn spawn(&mut self) {
        let log = File::options()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let mut command = match &self.script {
            Some(script) => {
                let mut c = Command::new("python3");
                c.arg(script).env("BLACKBOARD", bin());
                c
            }
            None => Command::new(bin()),
        };
        let child = command
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    /// Stops the process where it stands (SIGSTOP), as a debugger or an
    /// overloaded machine would; `resume` lets it go on (SIGCONT).
    pub fn pause(&self) {
        self.signal(libc::SIGSTOP);
    }

    pub fn resume(&self) {
        self.signal(libc::SIGCONT);
    }

    fn signal(&self, signal: libc::c_int) {
        let pid = self.child.as_ref().expect("the node runs").id();
        let pid = libc::pid_t::try_from(pid).expect("a pid fits pid_t");
        // SAFETY: kill(2) with our own child's pid and a valid signal.
        assert_eq!(
            unsafe { libc::kill(pid, signal) },
            0,
            "kill({pid}, {signal})"
        );
    }

    /// GET `path`: (status, body, the X-Blackboard-Node header).
    pub fn raw_get(&self, path: &str) -> (u16, String, Option<String>) {
        match self.client().get(path) {
            Ok(r) => {
                let node = r.header("X-Blackboard-Node").map(str::to_owned);
                (r.status, r.body, node)
            }
            Err(e) => (0, format!("no answer: {e}"), None),
        }
    }

    /// This node's own copy of the board (`?stale=1`): no round trip.
    pub fn local_board(&self) -> Option<Board<'static>> {
        self.get("/board?stale=1")
    }

    /// Open file descriptors of the running process (from /proc).
    pub fn open_fds(&self) -> Option<usize> {
        let pid = self.child.as_ref()?.id();
        Some(std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count())
    }

    pub fn log_path(&self) -> &std::path::Path {
        &self.log
    }

    pub fn client(&self) -> Client {
        Client::new(self.http).with_timeout(Duration::from_secs(10))
    }

    /// GET `path`, its body read as `T` (none when no answer or not a `T`).
    pub fn get<T: DeserializeOwned>(&self, path: &str) -> Option<T> {
        let r = self
            .client()
            .with_timeout(Duration::from_secs(2))
            .get(path)
            .ok()?;
        r.json().ok()
    }

    pub fn status(&self) -> Option<Status> {
        self.get("/status")
    }

    pub fn board(&self) -> Option<Board<'static>> {
        self.get("/board")
    }

    /// Posts `entry=text` to /board: (status, body).
    pub fn add(&self, text: &str) -> (u16, Value) {
        self.send("POST", "/board", &format!("entry={}", encode(text)))
    }

    /// Posts `entry=text` to /board and expects it acknowledged (201): the
    /// write's answer.
    pub fn written(&self, text: &str) -> Written {
        let (status, body) = self.add(text);
        assert_eq!(status, 201, "post {text:?} at node {}: {body}", self.id);
        read(&body).unwrap_or_else(|| panic!("post {text:?} at node {}: {body}", self.id))
    }

    pub fn send(&self, method: &str, path: &str, form: &str) -> (u16, Value) {
        let r = self
            .client()
            .request(method, path, Some(form))
            .expect("HTTP request");
        (
            r.status,
            serde_json::from_str(&r.body).unwrap_or(Value::Null),
        )
    }

    /// The board's texts, or none when the node answers no board (a 503).
    pub fn texts(&self) -> Vec<String> {
        self.board().map_or_else(Vec::new, |board| {
            board.texts().into_iter().map(str::to_owned).collect()
        })
    }
}
