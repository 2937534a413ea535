//! Node processes on 127.0.0.1: [`LocalCluster`] starts, kills and restarts
//! them (for the launcher and the benchmark), and `blackboard cluster` is the
//! "try it now" command built on it.
//!
//! The launcher says only what is true of its own nodes: it starts nothing
//! while one of their ports is taken (another launch still running would
//! otherwise answer for them), reports a node that fails with that node's own
//! log lines, and gives every launch a fresh cluster name, so that a node left
//! over from another launch is refused rather than merged. It stops every
//! node it started (restarts included) on `quit`, Ctrl-C, SIGTERM or a closed
//! standard output, never on the end of standard input: run in the
//! background, its standard input is /dev/null.

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{self, BufRead, Read, Seek, SeekFrom, Write};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use blackboard::answers::{self, Role};

use crate::tools::harness::{Ask, Client};

/// How long a node may take from its start to answering `/status`.
const START_LIMIT: Duration = Duration::from_secs(15);
/// How long the launcher waits for a first leader before saying there is none.
const LEADER_LIMIT: Duration = Duration::from_secs(20);
/// The launcher's reaction time to signals, commands and exits.
const TICK: Duration = Duration::from_millis(100);
/// Log lines shown for a node that failed.
const TAIL_LINES: usize = 6;

const COMMANDS: &str = "commands: kill N (kill -9 node N), restart N (start it again, \
                        empty), status, quit; Ctrl-C also stops every node";

#[derive(Debug, Clone)]
pub struct ClusterOptions {
    pub nodes: u16,
    pub http_base: u16,
    pub udp_base: u16,
    /// Flags passed through to every node.
    pub node_args: Vec<String>,
}

pub struct Member {
    pub id: u16,
    pub http: SocketAddr,
    pub udp: SocketAddr,
    args: Vec<String>,
    child: Option<Child>,
    /// Its stderr, appended across restarts.
    log: PathBuf,
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

    /// Its `/status`, if it answers within a second.
    pub fn status(&self) -> Option<answers::Status> {
        let mut client = Client::new(self.http).with_timeout(Duration::from_secs(1));
        client.get("/status").ok()?.json().ok()
    }

    /// Why this node could not bind its ports now, one line per port.
    pub fn port_problems(&self) -> Vec<String> {
        let id = self.id;
        [
            bind_problem(self.http, false, &format!("HTTP of node {id}")),
            bind_problem(self.udp, true, &format!("UDP of node {id}")),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

pub struct LocalCluster {
    pub members: Vec<Member>,
    /// Given to every node as `--cluster`, fresh for each cluster.
    pub name: String,
    exe: PathBuf,
    /// Where each node's log goes: `node-N.log`.
    logs: PathBuf,
}

impl LocalCluster {
    /// Starts `n` nodes: HTTP on `http_base..`, UDP on `udp_base..`, their
    /// logs in `logs`.
    pub fn start(
        n: u16,
        http_base: u16,
        udp_base: u16,
        node_args: &[String],
        logs: PathBuf,
    ) -> Result<LocalCluster, String> {
        let mut cluster = LocalCluster::plan(n, http_base, udp_base, node_args, logs)?;
        for id in 1..=n {
            cluster.restart(id)?;
        }
        Ok(cluster)
    }

    /// As [`LocalCluster::start`], but nothing runs yet: see
    /// [`LocalCluster::restart`].
    pub fn plan(
        n: u16,
        http_base: u16,
        udp_base: u16,
        node_args: &[String],
        logs: PathBuf,
    ) -> Result<LocalCluster, String> {
        let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
        Ok(LocalCluster::plan_program(
            exe, n, http_base, udp_base, node_args, logs,
        ))
    }

    fn plan_program(
        exe: PathBuf,
        n: u16,
        http_base: u16,
        udp_base: u16,
        node_args: &[String],
        logs: PathBuf,
    ) -> LocalCluster {
        let udp = |i: u16| -> SocketAddr { ([127, 0, 0, 1], udp_base + i - 1).into() };
        let peers: Vec<String> = (1..=n).map(|i| format!("{i}={}", udp(i))).collect();
        let peers = peers.join(",");
        let name = format!("run-{:016x}", rand::random::<u64>());
        let members = (1..=n)
            .map(|i| {
                let http: SocketAddr = ([127, 0, 0, 1], http_base + i - 1).into();
                let mut args = vec![
                    "node".to_owned(),
                    "--id".to_owned(),
                    i.to_string(),
                    "--peers".to_owned(),
                    peers.clone(),
                    "--http".to_owned(),
                    http.to_string(),
                    "--cluster".to_owned(),
                    name.clone(),
                ];
                args.extend(node_args.iter().cloned());
                Member {
                    id: i,
                    http,
                    udp: udp(i),
                    args,
                    child: None,
                    log: logs.join(format!("node-{i}.log")),
                }
            })
            .collect();
        LocalCluster {
            members,
            name,
            exe,
            logs,
        }
    }

    pub fn member(&self, id: u16) -> &Member {
        &self.members[usize::from(id) - 1]
    }

    /// Starts (again) node `id`, with an empty memory; a running one is
    /// killed first. Call it from the thread that owns the cluster for its
    /// whole life: a node is killed when the thread that started it ends.
    pub fn restart(&mut self, id: u16) -> Result<(), String> {
        self.kill(id);
        let m = &self.members[usize::from(id) - 1];
        let log = File::options()
            .create(true)
            .append(true)
            .open(&m.log)
            .map_err(|e| format!("cannot open a log file in {}: {e}", self.logs.display()))?;
        let parent = libc::pid_t::try_from(std::process::id())
            .map_err(|_| "this process's id is beyond pid_t".to_owned())?;
        let mut command = Command::new(&self.exe);
        command
            .args(&m.args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        // SAFETY: the closure runs between fork and exec, where only
        // async-signal-safe calls are sound: it makes two system calls
        // (prctl, getppid) and allocates nothing.
        unsafe {
            command.pre_exec(move || {
                // The Drop below stops the nodes, but it never runs when the
                // launcher itself is killed (kill -9): the kernel does it then.
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(io::Error::last_os_error());
                }
                // The launcher died before prctl took hold: nobody would stop it.
                if libc::getppid() != parent {
                    return Err(io::Error::from_raw_os_error(libc::ESRCH));
                }
                Ok(())
            });
        }
        let child = command
            .spawn()
            .map_err(|e| format!("cannot start node {id}: {e}"))?;
        self.members[usize::from(id) - 1].child = Some(child);
        Ok(())
    }

    /// SIGKILL: the node dies with everything it held.
    pub fn kill(&mut self, id: u16) {
        if let Some(mut child) = self.members[usize::from(id) - 1].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Waits until each of `ids` answers `/status` as itself, or `stop`
    /// says to give up waiting (then `Ok` too). A node that exits first, or
    /// is still silent at `limit`, fails the wait with its own log lines
    /// (a silent one is killed).
    pub fn await_answers(
        &mut self,
        ids: &[u16],
        limit: Duration,
        stop: &dyn Fn() -> bool,
    ) -> Result<(), String> {
        let end = Instant::now() + limit;
        let mut waiting = ids.to_vec();
        // Bounded by `limit`: every round ends or sleeps a little.
        loop {
            for &id in &waiting {
                if let Some(status) = self.exited(id) {
                    return Err(self.failure(id, &format!("failed to start ({status})")));
                }
            }
            waiting.retain(|&id| self.member(id).status().map(|s| s.id) != Some(id));
            if waiting.is_empty() || stop() {
                return Ok(());
            }
            if Instant::now() >= end {
                let id = waiting[0];
                self.kill(id);
                let http = self.member(id).http;
                let what = format!("did not answer at http://{http}/ within {limit:?}");
                return Err(self.failure(id, &what));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// "node N <what>", with the end of its log.
    fn failure(&self, id: u16, what: &str) -> String {
        let mut text = format!("node {id} {what}");
        let path = &self.member(id).log;
        let lines = log_tail(path, TAIL_LINES);
        if lines.is_empty() {
            let _ = write!(text, "; its log {} is empty", path.display());
        } else {
            let _ = write!(text, "; the end of its log {}:", path.display());
            for line in lines {
                let _ = write!(text, "\n    {line}");
            }
        }
        text
    }

    /// The exit status of node `id`, once, if it exited on its own.
    fn exited(&mut self, id: u16) -> Option<ExitStatus> {
        let m = &mut self.members[usize::from(id) - 1];
        let status = m.child.as_mut()?.try_wait().ok()??;
        m.child = None;
        Some(status)
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
            let l = m.status()?.leader?;
            if agreed.is_some_and(|a| a != l) {
                return None;
            }
            agreed = Some(l);
        }
        let l = agreed?;
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
            match m.status() {
                Some(status) if status.role != Role::Recovering => seqs.push(status.seq),
                _ => return false,
            }
        }
        seqs.iter().all(|s| *s == seqs[0])
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

/// Why `addr` cannot be bound now, if it cannot: a trial bind, the way the
/// node binds it (std's TCP listener allows a port whose old connections
/// linger in TIME_WAIT, as the node's does).
fn bind_problem(addr: SocketAddr, udp: bool, what: &str) -> Option<String> {
    let tried = if udp {
        UdpSocket::bind(addr).map(drop)
    } else {
        TcpListener::bind(addr).map(drop)
    };
    let err = tried.err()?;
    let port = addr.port();
    Some(if err.kind() == io::ErrorKind::AddrInUse {
        match holder(port, udp) {
            Some(who) => format!("port {port} ({what}) is in use by {who}"),
            None => format!("port {port} ({what}) is in use"),
        }
    } else {
        format!("port {port} ({what}) cannot be bound: {err}")
    })
}

/// Who holds a local port, from /proc (Linux): `pid 4242 (blackboard node
/// --id 2 ...)`. None when /proc does not say (another user's process, or
/// no /proc).
fn holder(port: u16, udp: bool) -> Option<String> {
    let tables = if udp {
        ["/proc/net/udp", "/proc/net/udp6"]
    } else {
        ["/proc/net/tcp", "/proc/net/tcp6"]
    };
    let mut sockets = Vec::new();
    for table in tables {
        let Ok(text) = fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            // sl local_address rem_address st queues timers retrnsmt uid timeout inode
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(inode)) = (fields.get(1), fields.get(9)) else {
                continue;
            };
            let local_port = local
                .rsplit_once(':')
                .and_then(|(_, hex)| u16::from_str_radix(hex, 16).ok());
            // Inode 0: a connection in TIME_WAIT, held by no process.
            if local_port == Some(port) && *inode != "0" {
                sockets.push(format!("socket:[{inode}]"));
            }
        }
    }
    if sockets.is_empty() {
        return None;
    }
    for process in fs::read_dir("/proc").ok()?.flatten() {
        let pid = process.file_name();
        let Some(pid) = pid
            .to_str()
            .filter(|p| p.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let Ok(fds) = fs::read_dir(process.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let Ok(target) = fs::read_link(fd.path()) else {
                continue;
            };
            if sockets.iter().any(|s| target.as_os_str() == s.as_str()) {
                return Some(format!("pid {pid} ({})", command_line(&process.path())));
            }
        }
    }
    None
}

/// The start of a process's command line, short enough for one line:
/// `blackboard node --id 2 ...`.
fn command_line(process: &Path) -> String {
    let raw = fs::read(process.join("cmdline")).unwrap_or_default();
    let raw = String::from_utf8_lossy(&raw);
    let mut words = raw.split('\0').filter(|w| !w.is_empty());
    let program = words.next().unwrap_or("?");
    let program = program.rsplit('/').next().unwrap_or(program);
    let mut shown: Vec<&str> = std::iter::once(program)
        .chain(words.by_ref().take(3))
        .collect();
    if words.next().is_some() {
        shown.push("...");
    }
    shown.join(" ")
}

/// The last `n` lines of a log file (its last 16 KiB at most: a node that ran
/// for days has a long one).
fn log_tail(path: &Path, n: usize) -> Vec<String> {
    let read = || -> io::Result<Vec<u8>> {
        let mut file = File::open(path)?;
        let len = file.metadata()?.len();
        file.seek(SeekFrom::Start(len.saturating_sub(16 * 1024)))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        Ok(bytes)
    };
    let text = String::from_utf8_lossy(&read().unwrap_or_default()).into_owned();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| (*l).to_owned())
        .collect()
}

/// How the launcher ends, short of a clean stop.
enum End {
    /// Nobody reads standard output any more (`blackboard cluster | head`).
    StdoutClosed,
    Failed(String),
}

/// One line on standard output. `println!` would panic on a closed pipe.
fn say(text: &str) -> Result<(), End> {
    let mut out = io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Err(End::StdoutClosed),
        // Anything else (a full disk): a lost line is no reason to stop.
        _ => Ok(()),
    }
}

/// True once the reader of standard output has gone. Checked on every tick,
/// as the launcher may have nothing to say for hours.
fn stdout_closed() -> bool {
    let mut fd = libc::pollfd {
        fd: libc::STDOUT_FILENO,
        events: 0,
        revents: 0,
    };
    // SAFETY: poll(2) on one valid pollfd for the call's duration, no wait.
    let ready = unsafe { libc::poll(&mut fd, 1, 0) };
    // A pipe's write end reports POLLERR when its last reader closed it,
    // a terminal POLLHUP when it hung up.
    ready == 1 && fd.revents & (libc::POLLERR | libc::POLLHUP) != 0
}

/// Lines of standard input, read on a thread of their own; the channel
/// closes at the end of the input.
fn commands() -> Result<Receiver<String>, String> {
    let (tx, rx) = mpsc::channel();
    thread::Builder::new()
        .name("stdin".into())
        .spawn(move || {
            // Ends at the end of the input, or when the launcher stops listening.
            for line in io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        })
        .map_err(|e| format!("cannot read commands: {e}"))?;
    Ok(rx)
}

/// `blackboard cluster`.
pub fn run(opts: &ClusterOptions) -> Result<(), String> {
    let stop = Arc::new(AtomicBool::new(false));
    // SIGHUP: the terminal closed; without a handler the launcher would die
    // at once, its clean-up unrun.
    for signal in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .map_err(|e| format!("cannot handle signals: {e}"))?;
    }
    let dir = std::env::temp_dir().join(format!("blackboard-cluster-{}", std::process::id()));
    let mut cluster = LocalCluster::plan(
        opts.nodes,
        opts.http_base,
        opts.udp_base,
        &opts.node_args,
        dir.clone(),
    )?;
    let problems: Vec<String> = cluster
        .members
        .iter()
        .flat_map(Member::port_problems)
        .collect();
    if let [problem] = &problems[..] {
        return Err(format!("{problem}; nothing started"));
    }
    if !problems.is_empty() {
        return Err(format!(
            "{} ports are not free; nothing started:\n  {}",
            problems.len(),
            problems.join("\n  ")
        ));
    }
    // A folder of the same name is from an earlier process of the same pid.
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let end = serve(&mut cluster, &stop, &dir);
    drop(cluster);
    match end {
        Ok(()) => {
            let _ = say(&format!("cluster stopped; node logs in {}", dir.display()));
            Ok(())
        }
        Err(End::StdoutClosed) => Ok(()),
        Err(End::Failed(why)) => Err(why),
    }
}

/// Runs the cluster until `quit` or a signal (`Ok`), a closed standard
/// output, or a node that fails to start.
fn serve(cluster: &mut LocalCluster, stop: &AtomicBool, dir: &Path) -> Result<(), End> {
    let stopped = || stop.load(Ordering::Relaxed);
    let n = cluster.members.len();
    say(&format!(
        "starting {n} nodes (cluster name {}); their logs: {}/node-N.log",
        cluster.name,
        dir.display()
    ))?;
    let ids: Vec<u16> = cluster.members.iter().map(|m| m.id).collect();
    for &id in &ids {
        cluster.restart(id).map_err(End::Failed)?;
    }
    cluster
        .await_answers(&ids, START_LIMIT, &stopped)
        .map_err(End::Failed)?;
    if stopped() {
        return Ok(());
    }
    for m in &cluster.members {
        let pid = m.pid().map_or("?".to_owned(), |p| p.to_string());
        say(&format!("node {} pid {pid} http://{}/", m.id, m.http))?;
    }
    let end = Instant::now() + LEADER_LIMIT;
    let leader = loop {
        if stopped() || report_exits(cluster, stop)? {
            return Ok(());
        }
        if let Some(l) = cluster.agreed_leader() {
            break Some(l);
        }
        if Instant::now() >= end {
            break None;
        }
        thread::sleep(Duration::from_millis(20));
    };
    match leader {
        Some(l) => say(&format!(
            "leader: node {l} (see http://{}/status)",
            cluster.member(l).http
        ))?,
        None => say(&format!(
            "no leader yet; the nodes' logs say why ({})",
            dir.display()
        ))?,
    }
    say(&format!(
        "Try: curl -d entry=hello -X POST http://{}/board",
        cluster.members[0].http
    ))?;
    say(COMMANDS)?;
    let lines = commands().map_err(End::Failed)?;
    let mut stdin_open = true;
    // Runs until stopped; each round waits a tick at most, for a command.
    loop {
        if stopped() || report_exits(cluster, stop)? {
            return Ok(());
        }
        if stdout_closed() {
            return Err(End::StdoutClosed);
        }
        if !stdin_open {
            thread::sleep(TICK);
            continue;
        }
        match lines.recv_timeout(TICK) {
            Ok(line) => {
                if obey(cluster, &line, stop)? {
                    return Ok(());
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            // Not a reason to stop: run in the background, the input is /dev/null.
            Err(RecvTimeoutError::Disconnected) => stdin_open = false,
        }
    }
}

/// Says which nodes exited on their own. True when the launcher is being
/// stopped: a Ctrl-C at the terminal reaches the nodes too, and their exit
/// is then no news.
fn report_exits(cluster: &mut LocalCluster, stop: &AtomicBool) -> Result<bool, End> {
    for (id, pid, status) in cluster.reap() {
        if stop.load(Ordering::Relaxed) {
            return Ok(true);
        }
        say(&cluster.failure(id, &format!("(pid {pid}) exited ({status})")))?;
        say(&restart_hint(cluster, id))?;
    }
    Ok(stop.load(Ordering::Relaxed))
}

fn restart_hint(cluster: &LocalCluster, id: u16) -> String {
    format!(
        "  `restart {id}` starts it again; by hand (then yours to stop): {}",
        cluster.restart_command(id)
    )
}

/// Carries out one command line. True on `quit`.
fn obey(cluster: &mut LocalCluster, line: &str, stop: &AtomicBool) -> Result<bool, End> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let node = |word: &str| -> Result<u16, String> {
        match word.parse::<u16>() {
            Ok(id) if (1..=cluster.members.len()).contains(&usize::from(id)) => Ok(id),
            _ => Err(format!(
                "no node `{word}`: nodes are 1 to {}",
                cluster.members.len()
            )),
        }
    };
    match words[..] {
        [] => {}
        ["quit" | "exit"] => return Ok(true),
        ["status"] => {
            report_exits(cluster, stop)?;
            for m in &cluster.members {
                say(&status_line(m))?;
            }
        }
        ["kill", which] => match node(which) {
            Err(why) => say(&why)?,
            Ok(id) => match cluster.member(id).pid() {
                None => say(&format!("node {id} is not running"))?,
                Some(pid) => {
                    cluster.kill(id);
                    say(&format!("node {id} (pid {pid}) killed"))?;
                    say(&restart_hint(cluster, id))?;
                }
            },
        },
        ["restart", which] => match node(which) {
            Err(why) => say(&why)?,
            Ok(id) => say(&restart(cluster, id, stop))?,
        },
        ["help"] => say(COMMANDS)?,
        _ => say(&format!("unknown command `{}`; {COMMANDS}", line.trim()))?,
    }
    Ok(false)
}

/// `restart N`: what became of it.
fn restart(cluster: &mut LocalCluster, id: u16, stop: &AtomicBool) -> String {
    cluster.kill(id);
    let problems = cluster.member(id).port_problems();
    if !problems.is_empty() {
        return format!("node {id} not restarted: {}", problems.join("; "));
    }
    let started = cluster
        .restart(id)
        .and_then(|()| cluster.await_answers(&[id], START_LIMIT, &|| stop.load(Ordering::Relaxed)));
    match started {
        Err(why) => why,
        Ok(()) => {
            let m = cluster.member(id);
            let pid = m.pid().map_or("?".to_owned(), |p| p.to_string());
            format!("node {id} restarted: pid {pid} http://{}/", m.http)
        }
    }
}

/// `status`: id, pid or down, role and leader, from the node's `/status`.
fn status_line(m: &Member) -> String {
    let id = m.id;
    let Some(pid) = m.pid() else {
        return format!("node {id} down");
    };
    let mut client = Client::new(m.http).with_timeout(Duration::from_secs(1));
    match client
        .get("/status")
        .and_then(|r| r.json::<answers::Status>())
    {
        Err(e) => format!("node {id} pid {pid} not answering ({e})"),
        Ok(status) => {
            let role = status.role;
            let leader = status
                .leader
                .map_or("none".to_owned(), |l| format!("node {l}"));
            format!(
                "node {id} pid {pid} {role}, leader {leader}, http://{}/",
                m.http
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn a_taken_port_is_named_with_its_holder() {
        let own = format!("pid {} (", std::process::id());
        let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = tcp.local_addr().unwrap();
        let problem = bind_problem(addr, false, "HTTP of node 2").unwrap();
        let expected = format!("port {} (HTTP of node 2) is in use by {own}", addr.port());
        assert!(problem.starts_with(&expected), "{problem}");
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = udp.local_addr().unwrap();
        let problem = bind_problem(addr, true, "UDP of node 1").unwrap();
        let expected = format!("port {} (UDP of node 1) is in use by {own}", addr.port());
        assert!(problem.starts_with(&expected), "{problem}");
        drop(udp);
        // Free now -- unless a test running beside this one took the
        // ephemeral port at once; it is never this process's any more.
        let after = bind_problem(addr, true, "UDP of node 1");
        assert!(
            after.as_ref().is_none_or(|p| !p.contains(&own)),
            "{after:?}"
        );
    }

    #[test]
    fn a_node_that_fails_to_start_is_reported_with_its_own_words() {
        let dir =
            std::env::temp_dir().join(format!("blackboard-unit-launch-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        // Stands in for the node program: node 2 fails as a node would on
        // a port taken after the launcher's check; the others run silently.
        let program = dir.join("fake-node");
        fs::write(
            &program,
            "#!/bin/sh\nif [ \"$3\" = 2 ]; then\n  echo 'starting' >&2\n  \
             echo 'blackboard: cannot bind UDP 127.0.0.1:25851: Address in use' >&2\n  \
             exit 1\nfi\nexec sleep 60\n",
        )
        .unwrap();
        fs::set_permissions(&program, fs::Permissions::from_mode(0o755)).unwrap();
        let mut cluster = LocalCluster::plan_program(program, 3, 25800, 25850, &[], dir.clone());
        for id in 1..=3 {
            cluster.restart(id).unwrap();
        }
        let others: Vec<u32> = [1, 3].map(|id| cluster.member(id).pid().unwrap()).to_vec();
        let started = Instant::now();
        let why = cluster
            .await_answers(&[1, 2, 3], Duration::from_secs(10), &|| false)
            .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(5), "seen at once");
        assert!(
            why.starts_with("node 2 failed to start (exit status: 1)"),
            "{why}"
        );
        assert!(
            why.ends_with(
                "\n    starting\n    blackboard: cannot bind UDP 127.0.0.1:25851: Address in use"
            ),
            "{why}"
        );
        drop(cluster);
        for pid in others {
            assert!(
                !Path::new(&format!("/proc/{pid}")).exists(),
                "pid {pid} is stopped with the cluster"
            );
        }
        let _ = fs::remove_dir_all(&dir);
    }
}
