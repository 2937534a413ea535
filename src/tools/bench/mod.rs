//! `blackboard bench`: starts real node processes on 127.0.0.1 and measures
//! what users feel (commit and read latency, throughput, failover time,
//! memory) and what the protocol costs (datagrams per write, per read and
//! per election). The
//! clients run on the same machine as the nodes, which the output says.

mod client;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use client::Client;

use crate::tools::cluster::{LocalCluster, Member};
use crate::tools::harness::{encode, Ask, Response};
use blackboard::answers;
use blackboard::wire::Kind;

#[derive(Clone, Debug)]
pub struct BenchOptions {
    pub nodes: u16,
    pub clients: usize,
    pub seconds: u64,
    pub failovers: usize,
    /// Smaller runs of everything (a smoke test, not figures to quote).
    pub quick: bool,
    pub json: bool,
}

/// Latency percentiles in microseconds.
#[derive(Clone, Debug, Default)]
struct Spread {
    p50: u64,
    p99: u64,
    samples: usize,
    /// The latency at each of [`QUANTILES`], for plotting its distribution.
    quantiles: Vec<u64>,
}

/// Where `bench --json` samples each latency distribution.
const QUANTILES: [f64; 9] = [0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999];

fn spread(mut micros: Vec<u64>) -> Spread {
    if micros.is_empty() {
        return Spread::default();
    }
    micros.sort_unstable();
    let at = |q: f64| micros[((micros.len() - 1) as f64 * q).round() as usize];
    Spread {
        p50: at(0.5),
        p99: at(0.99),
        samples: micros.len(),
        quantiles: QUANTILES.iter().map(|&q| at(q)).collect(),
    }
}

/// One line of the report: a name, a value, and the target it answers to.
struct Row {
    name: String,
    value: String,
    target: &'static str,
    json: Vec<(String, f64)>,
}

pub fn run(opts: &BenchOptions) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("blackboard-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut rows = Vec::new();
    eprintln!("bench: node logs in {}", dir.display());

    let cluster = start(opts.nodes, 24000, &dir)?;
    let (leader, follower) = leader_and_follower(&cluster)?;
    thread::sleep(Duration::from_millis(500));
    let idle_rss = cluster.max_rss_kib();
    rows.push(Row {
        name: "resident memory per node, idle (before any write)".into(),
        value: format!(
            "{:.1} MiB (max of {} nodes)",
            idle_rss as f64 / 1024.0,
            opts.nodes
        ),
        target: "<= 5 MiB",
        json: vec![("rss idle MiB".into(), idle_rss as f64 / 1024.0)],
    });
    let sequential = if opts.quick { 300 } else { 3000 };

    for (label, at, target) in [
        ("commit latency at the leader", leader, "p50 <= 0.3 ms"),
        ("commit latency at a follower", follower, "p50 <= 0.5 ms"),
    ] {
        let s = latency(&cluster, at, sequential)?;
        rows.push(Row {
            name: format!("{label} ({} sequential writes)", s.samples),
            value: format!("p50 {:.3} ms, p99 {:.3} ms", ms(s.p50), ms(s.p99)),
            target,
            json: [
                (format!("{label} p50 ms"), ms(s.p50)),
                (format!("{label} p99 ms"), ms(s.p99)),
            ]
            .into_iter()
            .chain(
                QUANTILES
                    .iter()
                    .zip(&s.quantiles)
                    .map(|(q, v)| (format!("{label} quantile {q} ms"), ms(*v))),
            )
            .collect(),
        });
    }

    let idle = sent(&cluster);
    thread::sleep(Duration::from_secs(1));
    let idle_rate = (sent(&cluster).0 - idle.0) as f64;
    let before = sent(&cluster);
    let started = Instant::now();
    let quiet = if opts.quick { 100 } else { 500 };
    latency(&cluster, leader, quiet)?;
    let after = sent(&cluster);
    let heartbeats = idle_rate * started.elapsed().as_secs_f64();
    let per_write = ((after.0 - before.0) as f64 - heartbeats) / quiet as f64;
    rows.push(Row {
        name: format!("datagrams per write, one at a time (n = {})", opts.nodes),
        value: format!("{per_write:.1} (heartbeats subtracted: {idle_rate:.0}/s idle)"),
        target: "<= 2(n-1)+2",
        json: vec![("datagrams per write unloaded".into(), per_write)],
    });

    let seconds = if opts.quick { 2 } else { opts.seconds };
    let before = sent(&cluster);
    let (rate, s, count) = throughput(&cluster, opts.clients, Duration::from_secs(seconds));
    let after = sent(&cluster);
    let loaded = (after.0 - before.0) as f64 / count.max(1) as f64;
    let bytes = (after.1 - before.1) as f64 / count.max(1) as f64;
    rows.push(Row {
        name: format!(
            "throughput, {} clients over {} nodes, keep-alive",
            opts.clients, opts.nodes
        ),
        value: format!(
            "{rate:.0} writes/s, p50 {:.2} ms, p99 {:.2} ms ({count} writes)",
            ms(s.p50),
            ms(s.p99)
        ),
        target: ">= 15000/s, p99 <= 5 ms",
        json: vec![
            ("throughput writes/s".into(), rate),
            ("throughput p50 ms".into(), ms(s.p50)),
            ("throughput p99 ms".into(), ms(s.p99)),
        ],
    });
    rows.push(Row {
        name: "datagrams per write under load (batching)".into(),
        value: format!("{loaded:.2} datagrams, {bytes:.0} bytes"),
        target: "< n-1",
        json: vec![("datagrams per write loaded".into(), loaded)],
    });

    drop(cluster);
    reads(opts, &dir, &mut rows)?;
    let mut cluster = start(opts.nodes, 24000, &dir)?;
    cluster
        .wait_leader(Duration::from_secs(10))
        .ok_or("no leader")?;

    let reps = if opts.quick { 2 } else { opts.failovers };
    let f = failovers(&mut cluster, reps)?;
    rows.push(Row {
        name: format!("failover: kill -9 leader -> first write acknowledged ({reps} runs)"),
        value: format!(
            "median {:.0} ms (detection {:.0}, election {:.0}, first write {:.0}); max {:.0} ms",
            f.total[f.total.len() / 2],
            f.detection[f.detection.len() / 2],
            f.elected[f.elected.len() / 2],
            f.total[f.total.len() / 2],
            f.total[f.total.len() - 1]
        ),
        target: "median <= 300 ms",
        json: vec![
            ("failover median ms".into(), f.total[f.total.len() / 2]),
            (
                "failover detection ms".into(),
                f.detection[f.detection.len() / 2],
            ),
            (
                "failover election ms".into(),
                f.elected[f.elected.len() / 2],
            ),
        ],
    });

    let (entries, modifications) = if opts.quick {
        (5_000, 20_000)
    } else {
        (100_000, 1_000_000)
    };
    let big = big_board(&cluster, opts.clients, entries, modifications)?;
    rows.push(Row {
        name: format!(
            "resident memory, board of {entries} entries after {modifications} modifications"
        ),
        value: format!(
            "{:.1} MiB (max of {} nodes; filled at {:.0} writes/s)",
            big.0 as f64 / 1024.0,
            opts.nodes,
            big.1
        ),
        target: "follows the board, not the history",
        json: vec![("rss big board MiB".into(), big.0 as f64 / 1024.0)],
    });
    drop(cluster);

    let sizes: &[u16] = if opts.quick {
        &[3, 5]
    } else {
        &[3, 5, 9, 15, 25, 50, 100]
    };
    for &n in sizes {
        let (datagrams, millis) = elections(n, if opts.quick { 1 } else { 3 }, &dir)?;
        rows.push(Row {
            name: format!("election after the leader dies, n = {n}"),
            value: format!(
                "{datagrams:.0} datagrams (6(n-2) = {}), {millis:.0} ms to an agreed leader",
                6 * (u32::from(n) - 2)
            ),
            target: "<= 6(n-1) datagrams; < 500 ms",
            json: vec![
                (format!("election n={n} datagrams"), datagrams),
                (format!("election n={n} ms"), millis),
            ],
        });
    }
    let sizes: &[u16] = if opts.quick {
        &[3]
    } else {
        &[3, 5, 15, 50, 100]
    };
    for &n in sizes {
        let [idle, loaded] = load_profile(n, &dir)?;
        for (when, (leader, follower)) in [("idle", idle), ("under load", loaded)] {
            rows.push(Row {
                name: format!("leader against a follower, {when}, n = {n}"),
                value: format!(
                    "leader {:.1}% CPU, {:.0} datagrams/s; follower {:.1}% CPU, {:.0} datagrams/s",
                    leader.0, leader.1, follower.0, follower.1
                ),
                target: "O(n) at the leader: idle 40(n-1)/s, a follower 40/s",
                json: vec![
                    (format!("leader {when} n={n} cpu %"), leader.0),
                    (format!("leader {when} n={n} datagrams/s"), leader.1),
                    (format!("follower {when} n={n} cpu %"), follower.0),
                    (format!("follower {when} n={n} datagrams/s"), follower.1),
                ],
            });
        }
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let size = std::fs::metadata(&exe).map_err(|e| e.to_string())?.len();
    rows.push(Row {
        name: format!("binary size ({})", exe.display()),
        value: format!("{:.2} MiB ({size} bytes)", size as f64 / 1048576.0),
        target: "<= 2 MiB",
        json: vec![("binary MiB".into(), size as f64 / 1048576.0)],
    });
    print(&rows, opts);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Read figures, on a cluster of its own with a small board (so that they
/// show what a read costs the protocol, not the size of the answer).
fn reads(opts: &BenchOptions, dir: &std::path::Path, rows: &mut Vec<Row>) -> Result<(), String> {
    let cluster = start(opts.nodes, 24700, dir)?;
    let (leader, follower) = leader_and_follower(&cluster)?;
    latency(&cluster, leader, 100)?;
    let count = if opts.quick { 300 } else { 3000 };
    let mut p50 = Vec::new();
    for (label, at, path, target) in [
        (
            "linearizable read latency at the leader",
            leader,
            "/board",
            "p50 <= 0.3 ms",
        ),
        (
            "linearizable read latency at a follower",
            follower,
            "/board",
            "p50 <= stale read p50 + 0.2 ms",
        ),
        (
            "stale read latency at a follower (?stale=1)",
            follower,
            "/board?stale=1",
            "no round trip",
        ),
    ] {
        let s = read_latency(&cluster, at, path, count)?;
        p50.push(ms(s.p50));
        rows.push(Row {
            name: format!("{label} ({} sequential reads)", s.samples),
            value: format!("p50 {:.3} ms, p99 {:.3} ms", ms(s.p50), ms(s.p99)),
            target,
            json: vec![
                (format!("{label} p50 ms"), ms(s.p50)),
                (format!("{label} p99 ms"), ms(s.p99)),
            ],
        });
    }
    rows.push(Row {
        name: "what a linearizable read costs a follower over a stale one".into(),
        value: format!("{:+.3} ms at p50", p50[1] - p50[2]),
        target: "<= 0.2 ms",
        json: vec![("linearizable read extra p50 ms".into(), p50[1] - p50[2])],
    });

    let seconds = if opts.quick { 1 } else { opts.seconds.min(3) };
    let length = Duration::from_secs(seconds);
    let idle = sent(&cluster);
    thread::sleep(Duration::from_secs(1));
    let idle_rate = (sent(&cluster).0 - idle.0) as f64;
    let mut rates = Vec::new();
    for (label, path, writers) in [
        ("linearizable reads alone", "/board", 0),
        ("stale reads alone", "/board?stale=1", 0),
        ("linearizable reads with writes", "/board", opts.clients / 4),
    ] {
        let before = sent(&cluster);
        let started = Instant::now();
        let (rate, count) = read_load(&cluster, opts.clients, writers, path, length);
        let datagrams =
            (sent(&cluster).0 - before.0) as f64 - idle_rate * started.elapsed().as_secs_f64();
        let per_read = datagrams.max(0.0) / count.max(1) as f64;
        rates.push(rate);
        let (value, target) = if writers == 0 && path == "/board" {
            (
                format!("{rate:.0} reads/s, {per_read:.3} datagrams per read"),
                "< 0.1 datagrams per read (batching)",
            )
        } else if writers == 0 {
            (format!("{rate:.0} reads/s"), "the ceiling for the above")
        } else {
            (
                format!("{rate:.0} reads/s beside {writers} writing clients"),
                "reads are never starved by writes",
            )
        };
        rows.push(Row {
            name: format!(
                "{label}, {} keep-alive clients over {} nodes",
                opts.clients, opts.nodes
            ),
            value,
            target,
            json: vec![
                (format!("{label} reads/s"), rate),
                (format!("{label} datagrams per read"), per_read),
            ],
        });
    }
    rows.push(Row {
        name: "linearizable reads/s as a share of stale reads/s".into(),
        value: format!("{:.0}%", 100.0 * rates[0] / rates[1].max(1.0)),
        target: ">= 80%",
        json: vec![(
            "linearizable read share".into(),
            rates[0] / rates[1].max(1.0),
        )],
    });
    Ok(())
}

/// `readers` threads reading `path` as fast as they can for `length`, beside
/// `writers` threads writing: (reads per second, reads).
fn read_load(
    cluster: &LocalCluster,
    readers: usize,
    writers: usize,
    path: &str,
    length: Duration,
) -> (f64, u64) {
    let stop = AtomicBool::new(false);
    let done = AtomicU64::new(0);
    let started = Instant::now();
    thread::scope(|s| {
        for c in 0..readers + writers {
            let member = &cluster.members[c % cluster.members.len()];
            let (stop, done) = (&stop, &done);
            s.spawn(move || {
                let mut client = client(member);
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    if c >= readers {
                        let _ = client.post("/board", &format!("entry=mixed-{c}-{i}"));
                    } else if client.get(path).is_ok_and(|r| r.status == 200) {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    i += 1;
                }
            });
        }
        thread::sleep(length);
        stop.store(true, Ordering::Relaxed);
    });
    let count = done.load(Ordering::Relaxed);
    (count as f64 / started.elapsed().as_secs_f64(), count)
}

fn ms(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

fn start(n: u16, base: u16, dir: &std::path::Path) -> Result<LocalCluster, String> {
    let level = std::env::var("BB_BENCH_LOG").unwrap_or_else(|_| "warn".into());
    let args = ["--log-level".to_owned(), level];
    LocalCluster::start(n, base, base + 500, &args, dir.to_path_buf())
}

/// Sequential writes from one client: their latencies in microseconds.
fn latency(cluster: &LocalCluster, at: u16, count: usize) -> Result<Spread, String> {
    sequential(cluster, at, count, 201, |client, i| {
        client.post("/board", &format!("entry=latency-{i}"))
    })
}

/// Sequential reads of `path` from one client: their latencies.
fn read_latency(
    cluster: &LocalCluster,
    at: u16,
    path: &str,
    count: usize,
) -> Result<Spread, String> {
    sequential(cluster, at, count, 200, |client, _| client.get(path))
}

/// `count` requests one after another from one client at `at`, each
/// expected to answer `status`: their latencies in microseconds.
fn sequential(
    cluster: &LocalCluster,
    at: u16,
    count: usize,
    status: u16,
    mut request: impl FnMut(&mut Client, usize) -> std::io::Result<Response>,
) -> Result<Spread, String> {
    let mut client = client(cluster.member(at));
    let mut micros = Vec::with_capacity(count);
    for i in 0..count {
        let started = Instant::now();
        let r = request(&mut client, i).map_err(|e| format!("request failed: {e}"))?;
        if r.status != status {
            return Err(format!("answered {} (not {status}): {}", r.status, r.body));
        }
        micros.push(started.elapsed().as_micros() as u64);
    }
    Ok(spread(micros))
}

/// The leader all members agree on, and another member.
fn leader_and_follower(cluster: &LocalCluster) -> Result<(u16, u16), String> {
    let leader = cluster
        .wait_leader(Duration::from_secs(10))
        .ok_or("no leader")?;
    let follower = cluster
        .members
        .iter()
        .find(|m| m.id != leader)
        .map_or(leader, |m| m.id);
    Ok((leader, follower))
}

/// Datagrams and bytes sent so far by every running node (from /metrics).
fn sent(cluster: &LocalCluster) -> (u64, u64) {
    let mut total = (0, 0);
    for m in cluster.members.iter().filter(|m| m.is_up()) {
        if let Ok(r) = client(m).get("/metrics") {
            total.0 += metric_sum(&r.body, "blackboard_datagrams_sent_total", None);
            total.1 += metric_sum(&r.body, "blackboard_bytes_sent_total", None);
        }
    }
    total
}

fn metric_sum(text: &str, name: &str, kinds: Option<&[Kind]>) -> u64 {
    text.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with('{'))
        .filter(|l| {
            kinds.is_none_or(|ks| {
                ks.iter()
                    .any(|k| l.contains(&format!("kind=\"{}\"", k.name())))
            })
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// `clients` threads writing as fast as they can for `length`.
fn throughput(cluster: &LocalCluster, clients: usize, length: Duration) -> (f64, Spread, u64) {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let handles: Vec<_> = (0..clients)
        .map(|c| {
            let member = &cluster.members[c % cluster.members.len()];
            let mut client = client(member);
            let (stop, done) = (Arc::clone(&stop), Arc::clone(&done));
            thread::spawn(move || {
                let mut micros = Vec::new();
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    if let Ok(r) = client.post("/board", &format!("entry=load-{c}-{i}")) {
                        if r.status == 201 {
                            micros.push(started.elapsed().as_micros() as u64);
                            done.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    i += 1;
                }
                micros
            })
        })
        .collect();
    let started = Instant::now();
    thread::sleep(length);
    stop.store(true, Ordering::Relaxed);
    let micros: Vec<u64> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap_or_default())
        .collect();
    let count = done.load(Ordering::Relaxed);
    (
        count as f64 / started.elapsed().as_secs_f64(),
        spread(micros),
        count,
    )
}

struct Failover {
    detection: Vec<f64>,
    elected: Vec<f64>,
    total: Vec<f64>,
}

/// Kills the leader `reps` times; each time measures until a survivor
/// acknowledges a write, then restarts the killed node and lets it catch up.
fn failovers(cluster: &mut LocalCluster, reps: usize) -> Result<Failover, String> {
    let mut f = Failover {
        detection: Vec::new(),
        elected: Vec::new(),
        total: Vec::new(),
    };
    for _ in 0..reps {
        let old = cluster
            .wait_leader(Duration::from_secs(10))
            .ok_or("no leader")?;
        let survivor = cluster
            .members
            .iter()
            .find(|m| m.id != old)
            .ok_or("alone")?
            .id;
        let killed = Instant::now();
        cluster.kill(old);
        let (mut detected, mut elected) = (None, None);
        let mut client = client(cluster.member(survivor));
        let deadline = killed + Duration::from_secs(10);
        let first_write = loop {
            if Instant::now() > deadline {
                return Err("no write acknowledged within 10 s of the failover".into());
            }
            for m in cluster.members.iter().filter(|m| m.is_up()) {
                let leader = (self::client(m).get("/status").ok())
                    .and_then(|r| r.json::<answers::Status>().ok())
                    .and_then(|status| status.leader);
                if detected.is_none() && leader != Some(old) {
                    detected = Some(killed.elapsed());
                }
                if elected.is_none() && leader.is_some_and(|l| l != old) {
                    elected = Some(killed.elapsed());
                }
            }
            if elected.is_some() {
                if let Ok(r) = client.post("/board", "entry=after-failover") {
                    if r.status == 201 {
                        break killed.elapsed();
                    }
                }
            }
            thread::sleep(Duration::from_millis(2));
        };
        let millis = |d: Option<Duration>| d.unwrap_or(first_write).as_secs_f64() * 1000.0;
        f.detection.push(millis(detected));
        f.elected.push(millis(elected));
        f.total.push(first_write.as_secs_f64() * 1000.0);
        cluster.restart(old)?;
        let settle = Instant::now() + Duration::from_secs(10);
        while !cluster.converged() && Instant::now() < settle {
            thread::sleep(Duration::from_millis(20));
        }
    }
    for v in [&mut f.detection, &mut f.elected, &mut f.total] {
        v.sort_by(f64::total_cmp);
    }
    Ok(f)
}

/// Fills the board, then modifies its entries many times; returns the
/// largest node RSS (KiB) and the write rate.
fn big_board(
    cluster: &LocalCluster,
    clients: usize,
    entries: u64,
    modifications: u64,
) -> Result<(u64, f64), String> {
    let started = Instant::now();
    let total = entries + modifications;
    let next = Arc::new(AtomicU64::new(0));
    let first_id = client(&cluster.members[0])
        .get("/board")
        .ok()
        .and_then(|r| r.json::<answers::Board>().ok())
        .and_then(|board| board.entries.last().map(|e| e.id))
        .unwrap_or(0)
        + 1;
    let handles: Vec<_> = (0..clients)
        .map(|c| {
            let mut client = client(&cluster.members[c % cluster.members.len()]);
            let next = Arc::clone(&next);
            thread::spawn(move || loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= total {
                    return;
                }
                let text = encode(&format!("entry number {k} with some text"));
                let _ = if k < entries {
                    client.post("/board", &format!("entry={text}"))
                } else {
                    let id = first_id + (k * 7919) % entries;
                    client.post(&format!("/board/{id}"), &format!("delete=0&entry={text}"))
                };
            })
        })
        .collect();
    for h in handles {
        let _ = h.join();
    }
    let rate = total as f64 / started.elapsed().as_secs_f64();
    let settle = Instant::now() + Duration::from_secs(30);
    while !cluster.converged() && Instant::now() < settle {
        thread::sleep(Duration::from_millis(50));
    }
    Ok((cluster.max_rss_kib(), rate))
}

/// Average election datagrams (sent by the survivors) and time to an agreed
/// leader when the leader of an `n`-node cluster dies.
fn elections(n: u16, reps: usize, dir: &std::path::Path) -> Result<(f64, f64), String> {
    let mut cluster = start(n, 26000, dir)?;
    let (mut datagrams, mut millis) = (0.0, 0.0);
    for _ in 0..reps {
        let old = cluster
            .wait_leader(Duration::from_secs(20))
            .ok_or("no leader")?;
        thread::sleep(Duration::from_millis(300));
        let count = |c: &LocalCluster| -> u64 {
            c.members
                .iter()
                .filter(|m| m.is_up() && m.id != old)
                .filter_map(|m| client(m).get("/metrics").ok())
                .map(|r| {
                    metric_sum(
                        &r.body,
                        "blackboard_datagrams_sent_total",
                        Some(&Kind::ELECTION),
                    )
                })
                .sum()
        };
        let before = count(&cluster);
        let killed = Instant::now();
        cluster.kill(old);
        cluster
            .wait_leader(Duration::from_secs(20))
            .ok_or("no new leader")?;
        millis += killed.elapsed().as_secs_f64() * 1000.0;
        thread::sleep(Duration::from_millis(300));
        datagrams += (count(&cluster) - before) as f64;
        cluster.restart(old)?;
        let settle = Instant::now() + Duration::from_secs(10);
        while !cluster.converged() && Instant::now() < settle {
            thread::sleep(Duration::from_millis(20));
        }
    }
    Ok((datagrams / reps as f64, millis / reps as f64))
}

/// CPU share and datagrams per second (sent and received) of the leader
/// and of one follower, over 2 s idle and then 2 s under 4 writing clients:
/// `[idle, loaded]`, each `((leader cpu %, leader datagrams/s), (follower ...))`.
type Load = ((f64, f64), (f64, f64));

fn load_profile(n: u16, dir: &std::path::Path) -> Result<[Load; 2], String> {
    let cluster = start(n, 28000, dir)?;
    let leader = cluster
        .wait_leader(Duration::from_secs(30))
        .ok_or("no leader")?;
    let follower = cluster
        .members
        .iter()
        .map(|m| m.id)
        .find(|&id| id != leader)
        .ok_or("no follower")?;
    // Let the start-up (probes, recovery) end before measuring.
    thread::sleep(Duration::from_secs(1));
    let sample = |id: u16| -> (f64, u64) {
        let m = cluster.member(id);
        let cpu = m.pid().map_or(0.0, cpu_seconds);
        let datagrams = client(m).get("/metrics").map_or(0, |r| {
            metric_sum(&r.body, "blackboard_datagrams_sent_total", None)
                + metric_sum(&r.body, "blackboard_datagrams_received_total", None)
        });
        (cpu, datagrams)
    };
    let measure = |work: &dyn Fn()| -> Load {
        let (l0, f0) = (sample(leader), sample(follower));
        let started = Instant::now();
        work();
        let secs = started.elapsed().as_secs_f64();
        let (l1, f1) = (sample(leader), sample(follower));
        let rate =
            |a: (f64, u64), b: (f64, u64)| ((b.0 - a.0) / secs * 100.0, (b.1 - a.1) as f64 / secs);
        (rate(l0, l1), rate(f0, f1))
    };
    let idle = measure(&|| thread::sleep(Duration::from_secs(2)));
    let loaded = measure(&|| {
        throughput(&cluster, 4, Duration::from_secs(2));
    });
    Ok([idle, loaded])
}

/// User and system CPU time of a process so far, in seconds (Linux /proc).
fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command name (which may hold spaces) start at the
    // state; utime and stime are the 14th and 15th fields overall.
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i)?.parse::<f64>().ok())
        .sum();
    // SAFETY: sysconf with a valid name has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    ticks / per_second
}

/// `bench --json`: what was run and each figure by name (scripts/plots.py).
#[derive(serde::Serialize)]
struct JsonReport<'a> {
    nodes: u16,
    clients: usize,
    quick: bool,
    results: std::collections::BTreeMap<&'a str, f64>,
}

/// The benchmark's own client on a member: keep-alive (see [`client`]).
fn client(member: &Member) -> Client {
    Client::new(member.http).with_timeout(Duration::from_secs(10))
}

fn print(rows: &[Row], opts: &BenchOptions) {
    if opts.json {
        // Three decimals: finer digits are noise, not measurement.
        let results = (rows.iter().flat_map(|row| row.json.iter()))
            .map(|(k, v)| (k.as_str(), (v * 1000.0).round() / 1000.0))
            .collect();
        let report = JsonReport {
            nodes: opts.nodes,
            clients: opts.clients,
            quick: opts.quick,
            results,
        };
        println!("{}", answers::to_json(&report));
        return;
    }
    let cores = thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "blackboard bench: {} nodes on 127.0.0.1, {cores} cores shared by the nodes AND the clients{}",
        opts.nodes,
        if opts.quick { " (quick: small runs, not figures to quote)" } else { "" }
    );
    let width = rows.iter().map(|r| r.name.len()).max().unwrap_or(0);
    for row in rows {
        println!(
            "  {:<width$}  {}   [target: {}]",
            row.name, row.value, row.target
        );
    }
}
