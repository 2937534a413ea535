//! `blackboard soak`: a local cluster under steady adds, modifies and deletes
//! for minutes, its leader killed and restarted again and again. It checks
//! what a long-lived deployment needs: no acknowledged write lost or doubled,
//! and memory that stays flat while the board stays the same size.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use blackboard::answers::Written;
use blackboard::words::count;

use crate::tools::cluster::LocalCluster;
use crate::tools::harness::{encode, Ask, Client};

#[derive(Clone, Debug)]
pub struct SoakOptions {
    pub nodes: u16,
    pub seconds: u64,
    pub writers: usize,
    /// Seconds between leader kills.
    pub kill_every: u64,
}

/// What the writers were told: entry id -> its last acknowledged text.
type Acked = Arc<Mutex<BTreeMap<u64, String>>>;

pub fn run(opts: &SoakOptions) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("blackboard-soak-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let args = ["--log-level".to_owned(), "warn".to_owned()];
    let mut cluster = LocalCluster::start(opts.nodes, 25000, 25500, &args, dir.clone())?;
    cluster
        .wait_leader(Duration::from_secs(10))
        .ok_or("no leader")?;
    println!(
        "soak: {} nodes, {} writers, {} s, leader killed every {} s (logs in {})",
        opts.nodes,
        opts.writers,
        opts.seconds,
        opts.kill_every,
        dir.display()
    );

    let stop = Arc::new(AtomicBool::new(false));
    let acked: Acked = Arc::default();
    let counts = Arc::new(Mutex::new((0u64, 0u64)));
    let writers: Vec<_> = (0..opts.writers)
        .map(|w| {
            let http: Vec<_> = cluster.members.iter().map(|m| m.http).collect();
            let (stop, acked, counts) =
                (Arc::clone(&stop), Arc::clone(&acked), Arc::clone(&counts));
            thread::spawn(move || write_steadily(w, &http, &stop, &acked, &counts))
        })
        .collect();

    let started = Instant::now();
    let mut samples: Vec<(u64, u64)> = Vec::new();
    let mut kills = 0;
    let mut next_kill = Duration::from_secs(opts.kill_every);
    let mut next_sample = Duration::ZERO;
    while started.elapsed() < Duration::from_secs(opts.seconds) {
        if started.elapsed() >= next_sample {
            let rss = cluster.max_rss_kib();
            let (ok, unavailable) = *counts.lock().map_err(|_| "poisoned")?;
            println!(
                "  {:>4} s  rss max {:>5.1} MiB  writes ok {ok:>7}  503 {unavailable:>5}  leader kills {kills}",
                started.elapsed().as_secs(),
                rss as f64 / 1024.0
            );
            samples.push((started.elapsed().as_secs(), rss));
            next_sample += Duration::from_secs(5);
        }
        if started.elapsed() >= next_kill {
            if let Some(leader) = cluster.wait_leader(Duration::from_secs(5)) {
                cluster.kill(leader);
                kills += 1;
                cluster
                    .wait_leader(Duration::from_secs(10))
                    .ok_or("no new leader after a kill")?;
                cluster.restart(leader)?;
            }
            next_kill += Duration::from_secs(opts.kill_every);
        }
        thread::sleep(Duration::from_millis(200));
    }
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        let _ = w.join();
    }
    let settle = Instant::now() + Duration::from_secs(20);
    while !cluster.converged() && Instant::now() < settle {
        thread::sleep(Duration::from_millis(50));
    }
    let verdict = check(&cluster, &acked, &samples);
    let (ok, unavailable) = *counts.lock().map_err(|_| "poisoned")?;
    println!(
        "soak: {} acknowledged, {unavailable} answered 503, {}",
        count(ok as usize, "write", "writes"),
        count(kills as usize, "leader kill", "leader kills")
    );
    match verdict {
        Ok(summary) => {
            println!("soak: PASS: {summary}");
            let _ = std::fs::remove_dir_all(&dir);
            Ok(())
        }
        Err(why) => Err(format!("soak: FAIL: {why} (logs in {})", dir.display())),
    }
}

/// Adds entries, modifies its own, deletes its oldest beyond 40: the board
/// stays the same size while its history grows.
fn write_steadily(
    w: usize,
    http: &[std::net::SocketAddr],
    stop: &AtomicBool,
    acked: &Acked,
    counts: &Mutex<(u64, u64)>,
) {
    let mut mine: Vec<u64> = Vec::new();
    let mut k = 0u64;
    while !stop.load(Ordering::Relaxed) {
        k += 1;
        let node = http[(w + k as usize) % http.len()];
        let mut client = Client::new(node).with_timeout(Duration::from_secs(5));
        let (path, form, op) = if mine.len() > 40 {
            (format!("/board/{}", mine[0]), "delete=1".to_owned(), 'd')
        } else if k % 3 == 0 && !mine.is_empty() {
            let id = mine[k as usize % mine.len()];
            let text = format!("w{w}-edit-{k}");
            (
                format!("/board/{id}"),
                format!("delete=0&entry={}", encode(&text)),
                'm',
            )
        } else {
            (
                "/board".to_owned(),
                format!("entry={}", encode(&format!("w{w}-post-{k}"))),
                'a',
            )
        };
        let target = match op {
            'd' => Some(mine[0]),
            'm' => path.rsplit('/').next().and_then(|id| id.parse().ok()),
            _ => None,
        };
        let answer = client.post(&path, &form);
        let status = answer.as_ref().map_or(0, |r| r.status);
        let Ok(mut c) = counts.lock() else { return };
        match status {
            200 | 201 => c.0 += 1,
            503 => c.1 += 1,
            _ => {}
        }
        drop(c);
        let Ok(r) = answer.as_ref() else {
            forget(target, &mut mine, acked);
            continue;
        };
        if status != 200 && status != 201 {
            // Not confirmed, but it may still apply later: this entry's final
            // text is no longer certain, so it leaves the check.
            forget(target, &mut mine, acked);
            continue;
        }
        let Ok(mut a) = acked.lock() else { return };
        match op {
            'a' => {
                if let Some(id) = r.json::<Written>().ok().and_then(|w| w.id) {
                    a.insert(id, format!("w{w}-post-{k}"));
                    mine.push(id);
                }
            }
            'm' => {
                if let Some(id) = r.json::<Written>().ok().and_then(|w| w.id) {
                    a.insert(id, format!("w{w}-edit-{k}"));
                }
            }
            _ => {
                a.remove(&mine[0]);
                mine.remove(0);
            }
        }
    }
}

fn forget(target: Option<u64>, mine: &mut Vec<u64>, acked: &Acked) {
    if let Some(id) = target {
        mine.retain(|m| *m != id);
        if let Ok(mut a) = acked.lock() {
            a.remove(&id);
        }
    }
}

/// Every acknowledged write is there with its last text, nothing twice, and
/// memory did not keep growing.
fn check(cluster: &LocalCluster, acked: &Acked, samples: &[(u64, u64)]) -> Result<String, String> {
    if !cluster.converged() {
        return Err("the nodes did not converge".into());
    }
    let acked = acked.lock().map_err(|_| "poisoned")?;
    for m in cluster.members.iter().filter(|m| m.is_up()) {
        let body = m.client().get("/board").map_err(|e| e.to_string())?.body;
        for (id, text) in acked.iter() {
            let needle = format!("{{\"id\":{id},\"text\":\"{text}\"}}");
            if !body.contains(&needle) {
                return Err(format!(
                    "node {}: acknowledged entry {id} ({text}) missing or changed",
                    m.id
                ));
            }
        }
        let mut texts: Vec<&str> = body
            .split("\"text\":\"")
            .skip(1)
            .filter_map(|t| t.split('"').next())
            .collect();
        let all = texts.len();
        texts.sort_unstable();
        texts.dedup();
        if texts.len() != all {
            return Err(format!("node {}: a text appears twice", m.id));
        }
    }
    // Memory: the last third of the run against the first sample after warm-up.
    let warm = samples
        .iter()
        .find(|(t, _)| *t >= 10)
        .or(samples.first())
        .map_or(0, |s| s.1);
    let last = samples.last().map_or(0, |s| s.1);
    let allowed = warm + warm / 2 + 4096;
    if last > allowed {
        return Err(format!("memory grew from {warm} KiB to {last} KiB"));
    }
    Ok(format!(
        "{} acknowledged entries present on every node; memory {:.1} -> {:.1} MiB",
        acked.len(),
        warm as f64 / 1024.0,
        last as f64 / 1024.0
    ))
}
