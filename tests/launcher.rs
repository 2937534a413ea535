//! The launcher, `blackboard cluster`, run as people run it: its standard
//! input and output are pipes of the test, its nodes real processes. It must
//! refuse ports in use, refuse the leftovers of another launch, stop every
//! node it started, answer its commands, and survive a closed output pipe.

mod support;

use std::fs::{self, File};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use blackboard::answers::{Board, Role, Status};
use serde::de::DeserializeOwned;
use support::{bin, encode, wait_until, Ask, Client};

/// A fresh folder for one test: the launcher's TMPDIR and the test's logs.
fn folder(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("launcher-{name}"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// `blackboard cluster --nodes N --http-base H --udp-base U`, stderr to a file.
fn cluster_command(dir: &Path, nodes: u16, http_base: u16, udp_base: u16) -> Command {
    let mut command = Command::new(bin());
    command
        .args(["cluster", "--nodes", &nodes.to_string()])
        .args(["--http-base", &http_base.to_string()])
        .args(["--udp-base", &udp_base.to_string()])
        .env("TMPDIR", dir)
        .stderr(File::create(dir.join("launcher.err")).unwrap());
    command
}

fn signal(child: &Child, signal: libc::c_int) {
    let pid = libc::pid_t::try_from(child.id()).expect("a pid fits pid_t");
    // SAFETY: kill(2) with our own child's pid and a valid signal.
    unsafe { libc::kill(pid, signal) };
}

/// Waits (bounded) for `child` to exit.
fn exit_within(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let mut status = None;
    wait_until(limit, || {
        status = child.try_wait().unwrap();
        status.is_some()
    });
    status
}

/// A launcher with its standard output read line by line, standard input
/// open for commands (or /dev/null).
struct Launch {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    seen: Vec<String>,
    dir: PathBuf,
}

impl Launch {
    fn start(name: &str, nodes: u16, http_base: u16, udp_base: u16, commands: bool) -> Launch {
        let dir = folder(name);
        let mut child = cluster_command(&dir, nodes, http_base, udp_base)
            .stdin(if commands {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Launch {
            stdin: child.stdin.take(),
            child,
            lines,
            seen: Vec::new(),
            dir,
        }
    }

    fn send(&mut self, command: &str) {
        let stdin = self.stdin.as_mut().expect("started with commands");
        writeln!(stdin, "{command}").unwrap();
        stdin.flush().unwrap();
    }

    /// The next line of output that `wanted` accepts (lines before it are
    /// kept in `seen`); panics after `limit`.
    fn expect(&mut self, limit: Duration, wanted: impl Fn(&str) -> bool) -> String {
        let end = Instant::now() + limit;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if wanted(&line) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "no such line within {limit:?}; output so far:\n{}\nstderr:\n{}",
                    self.seen.join("\n"),
                    fs::read_to_string(self.dir.join("launcher.err")).unwrap_or_default()
                ),
            }
        }
    }

    /// The first leader it reports, once its nodes are up.
    fn leader(&mut self) -> u16 {
        let line = self.expect(Duration::from_secs(30), |l| {
            l.starts_with("leader: node ") || l.starts_with("no leader")
        });
        let id = line
            .strip_prefix("leader: node ")
            .and_then(|rest| rest.split_whitespace().next()?.parse().ok());
        id.unwrap_or_else(|| panic!("no leader: {line}"))
    }

    /// The pid it printed for node `id` at start.
    fn pid(&self, id: u16) -> u32 {
        let prefix = format!("node {id} pid ");
        let line = self.seen.iter().find(|l| l.starts_with(&prefix)).unwrap();
        line[prefix.len()..]
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap()
    }

    /// SIGTERM, and its exit status (bounded wait).
    fn terminate(&mut self) -> ExitStatus {
        signal(&self.child, libc::SIGTERM);
        exit_within(&mut self.child, Duration::from_secs(20)).expect("the launcher stops")
    }
}

impl Drop for Launch {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            signal(&self.child, libc::SIGTERM);
            if exit_within(&mut self.child, Duration::from_secs(20)).is_none() {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
    }
}

/// A node started by hand, killed when the test ends.
struct HandStarted(Child);

impl Drop for HandStarted {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn addr(port: u16) -> SocketAddr {
    ([127, 0, 0, 1], port).into()
}

/// True when nothing holds the HTTP and UDP ports of `nodes` nodes.
fn ports_free(nodes: u16, http_base: u16, udp_base: u16) -> bool {
    (0..nodes).all(|i| {
        TcpListener::bind(addr(http_base + i)).is_ok()
            && UdpSocket::bind(addr(udp_base + i)).is_ok()
    })
}

fn gone(pid: u32) -> bool {
    !Path::new(&format!("/proc/{pid}")).exists()
}

/// GET `path` of the node on `port`, its body read as `T`.
fn get<T: DeserializeOwned>(port: u16, path: &str) -> Option<T> {
    let mut client = Client::new(addr(port)).with_timeout(Duration::from_secs(2));
    client.get(path).ok()?.json().ok()
}

fn node_status(port: u16) -> Option<Status> {
    get(port, "/status")
}

/// `counters.dropped.cluster` of the node on `port`.
fn dropped_cluster(port: u16) -> u64 {
    node_status(port).map_or(0, |s| s.counters.dropped("cluster"))
}

fn texts(port: u16) -> Option<Vec<String>> {
    let board: Board = get(port, "/board?stale=1")?;
    Some(board.texts().into_iter().map(str::to_owned).collect())
}

#[test]
fn a_second_launch_on_taken_ports_starts_nothing_and_names_the_port() {
    // The first launch has /dev/null for input: its end must not stop it.
    let mut first = Launch::start("taken-first", 3, 24100, 24150, false);
    first.leader();
    let holder = first.pid(1);

    let dir = folder("taken-second");
    let out = dir.join("launcher.out");
    let started = Instant::now();
    let mut second = cluster_command(&dir, 3, 24100, 24150)
        .stdin(Stdio::null())
        .stdout(File::create(&out).unwrap())
        .spawn()
        .unwrap();
    let status = exit_within(&mut second, Duration::from_secs(5));
    if status.is_none() {
        let _ = second.kill();
        let _ = second.wait();
    }
    let stderr = fs::read_to_string(dir.join("launcher.err")).unwrap();
    let stdout = fs::read_to_string(&out).unwrap();
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(1),
        "exits 1 within 5 s ({:?}); stdout:\n{stdout}\nstderr:\n{stderr}",
        started.elapsed()
    );
    for (port, what) in [(24100, "HTTP of node 1"), (24150, "UDP of node 1")] {
        let named = format!("port {port} ({what}) is in use by pid {holder} (blackboard node");
        assert!(stderr.contains(&named), "`{named}` in:\n{stderr}");
    }
    assert!(
        stderr.contains("port 24102 (HTTP of node 3) is in use"),
        "{stderr}"
    );
    assert!(!stdout.contains(" pid "), "no node reported: {stdout}");

    // The first launch and its nodes are untouched.
    assert!(first.child.try_wait().unwrap().is_none(), "still running");
    let status = node_status(24100).expect("node 1 still answers");
    assert_eq!(status.id, 1);
    assert!(!gone(holder));
}

#[test]
fn a_leftover_node_of_another_launch_is_refused() {
    let mut launch = Launch::start("leftover", 3, 24200, 24250, true);
    launch.leader();
    launch.send("kill 2");
    launch.expect(Duration::from_secs(10), |l| l.starts_with("node 2 (pid "));
    let hint = launch.expect(Duration::from_secs(10), |l| l.contains("by hand"));
    // The printed command, under another launch's name.
    let command = hint.split_once("to stop): ").unwrap().1;
    let mut words: Vec<String> = command.split_whitespace().map(str::to_owned).collect();
    let name = 1 + words.iter().position(|w| w == "--cluster").unwrap();
    assert!(words[name].starts_with("run-"), "{hint}");
    words[name] = "an-earlier-launch".to_owned();
    let log = File::create(launch.dir.join("leftover.log")).unwrap();
    let leftover = HandStarted(
        Command::new(&words[0])
            .args(&words[1..])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    assert!(
        wait_until(Duration::from_secs(10), || node_status(24201).is_some()),
        "the leftover answers"
    );
    let before = [dropped_cluster(24200), dropped_cluster(24202)];

    let mut client = Client::new(addr(24200)).with_timeout(Duration::from_secs(10));
    let posted = client
        .post("/board", &format!("entry={}", encode("for this launch")))
        .unwrap();
    assert_eq!(posted.status, 201, "{}", posted.body);
    assert!(
        wait_until(Duration::from_secs(10), || texts(24202)
            .is_some_and(|t| t == ["for this launch"])),
        "node 3 has the entry"
    );
    assert!(
        wait_until(Duration::from_secs(10), || {
            dropped_cluster(24200) >= before[0] + 3 && dropped_cluster(24202) >= before[1] + 3
        }),
        "nodes 1 and 3 refuse the leftover's datagrams: {before:?}, then {} and {}",
        dropped_cluster(24200),
        dropped_cluster(24202)
    );
    assert!(dropped_cluster(24201) > 0, "and it refuses theirs");
    assert_eq!(
        texts(24201),
        Some(vec![]),
        "the leftover never has the entry"
    );
    // Nor do its datagrams keep node 2 alive (once the 300 ms failure
    // timeout since the kill has passed).
    let two_alive = |port| {
        let status = node_status(port)?;
        Some(status.peers.iter().find(|m| m.id == 2)?.alive)
    };
    assert!(
        wait_until(Duration::from_secs(5), || {
            [24200, 24202].iter().all(|&p| two_alive(p) == Some(false))
        }),
        "node 2 counts as down at nodes 1 and 3: {:?} {:?}",
        two_alive(24200),
        two_alive(24202)
    );

    // The launcher still counts its own node 2 down.
    launch.send("status");
    let line = launch.expect(Duration::from_secs(10), |l| l.starts_with("node 2 "));
    assert_eq!(line, "node 2 down");
    drop(leftover);
}

#[test]
fn a_restarted_node_stops_with_the_launcher() {
    let mut launch = Launch::start("restart", 3, 24300, 24350, true);
    launch.leader();
    let first: Vec<u32> = (1..=3).map(|id| launch.pid(id)).collect();
    launch.send("restart 2");
    let line = launch.expect(Duration::from_secs(20), |l| l.starts_with("node 2 "));
    let rest = line
        .strip_prefix("node 2 restarted: pid ")
        .unwrap_or_else(|| panic!("{line}"));
    let pid: u32 = rest.split_whitespace().next().unwrap().parse().unwrap();
    assert!(
        wait_until(Duration::from_secs(5), || gone(first[1])),
        "the old one was killed"
    );
    assert_eq!(node_status(24301).unwrap().id, 2);

    let status = launch.terminate();
    assert!(status.success(), "{status}");
    let pids = [first[0], pid, first[2]];
    assert!(
        wait_until(Duration::from_secs(5), || pids.iter().all(|&p| gone(p))
            && ports_free(3, 24300, 24350)),
        "every node of the launch stopped: {:?}",
        pids.map(|p| (p, gone(p)))
    );
    let end = launch.expect(Duration::from_secs(5), |l| l.starts_with("cluster stopped"));
    assert!(end.contains("node logs in"), "{end}");
}

#[test]
fn status_gives_one_line_per_node() {
    let mut launch = Launch::start("status", 3, 24400, 24450, true);
    let leader = launch.leader();
    let victim = if leader == 3 { 2 } else { 3 };
    launch.send(&format!("kill {victim}"));
    launch.expect(Duration::from_secs(10), |l| {
        l.starts_with(&format!("node {victim} (pid "))
    });
    // The line says what the node says: wait until they have settled (a
    // node may still be loading the board from the leader).
    let role = |id: u16| node_status(24400 + id - 1).map(|s| s.role);
    assert!(wait_until(Duration::from_secs(10), || {
        (1..=3u16).filter(|&id| id != victim).all(|id| {
            role(id)
                == Some(if id == leader {
                    Role::Leader
                } else {
                    Role::Follower
                })
        })
    }));
    launch.send("status");
    for id in 1..=3u16 {
        let line = launch.expect(Duration::from_secs(10), |l| l.starts_with("node "));
        if id == victim {
            assert_eq!(line, format!("node {id} down"));
            continue;
        }
        let role = if id == leader { "leader" } else { "follower" };
        let expected = format!(
            "node {id} pid {} {role}, leader node {leader}, http://127.0.0.1:{}/",
            launch.pid(id),
            24400 + id - 1
        );
        assert_eq!(line, expected);
    }
    launch.send("status please");
    let line = launch.expect(Duration::from_secs(10), |_| true);
    assert!(
        line.starts_with("unknown command `status please`; commands: kill N"),
        "{line}"
    );
}

/// Reads `lines` lines of the launcher's output, then closes the pipe: the
/// launcher must end without a panic, exit 0, and leave no node behind.
fn closed_output(name: &str, http_base: u16, udp_base: u16, lines: usize) {
    let dir = folder(name);
    let mut child = cluster_command(&dir, 3, http_base, udp_base)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut read = Vec::new();
    for _ in 0..lines {
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        read.push(line);
    }
    let stderr = || fs::read_to_string(dir.join("launcher.err")).unwrap_or_default();
    assert!(
        read[0].starts_with("starting 3 nodes"),
        "{read:?}; stderr:\n{}",
        stderr()
    );
    drop(out);
    let status = exit_within(&mut child, Duration::from_secs(10));
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let stderr = stderr();
    assert!(
        status.is_some_and(|s| s.success()),
        "exits 0 once nobody reads ({status:?}); read {read:?}; stderr:\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        wait_until(Duration::from_secs(5), || ports_free(
            3, http_base, udp_base
        )),
        "its nodes are gone"
    );
}

#[test]
fn a_closed_output_pipe_ends_the_launch_without_a_panic() {
    // Closed while it still has lines to write.
    closed_output("pipe-early", 25400, 25450, 1);
}

#[test]
fn a_closed_output_pipe_ends_even_a_quiet_launch() {
    // Closed after its last line at start: it has nothing more to write.
    closed_output("pipe-late", 25500, 25550, 7);
}

#[test]
fn a_launcher_killed_outright_takes_its_nodes_along() {
    let mut launch = Launch::start("sigkill", 3, 25600, 25650, true);
    launch.leader();
    // A restarted node too: it is the launcher's, started later.
    launch.send("restart 1");
    let line = launch.expect(Duration::from_secs(20), |l| l.starts_with("node 1 "));
    let rest = line
        .strip_prefix("node 1 restarted: pid ")
        .unwrap_or_else(|| panic!("{line}"));
    let restarted: u32 = rest.split_whitespace().next().unwrap().parse().unwrap();
    let pids = [restarted, launch.pid(2), launch.pid(3)];
    // SIGKILL: the launcher's own clean-up never runs.
    launch.child.kill().unwrap();
    launch.child.wait().unwrap();
    let stopped = wait_until(Duration::from_secs(5), || {
        pids.iter().all(|&p| gone(p)) && ports_free(3, 25600, 25650)
    });
    let left: Vec<u32> = pids.into_iter().filter(|&p| !gone(p)).collect();
    for &pid in &left {
        // Not to leave them to the next run; these are this test's nodes.
        // SAFETY: kill(2) with a pid this launch reported as its node.
        unsafe { libc::kill(libc::pid_t::try_from(pid).unwrap(), libc::SIGKILL) };
    }
    assert!(stopped, "nodes left running: {left:?}");
}
