//! `blackboard cluster`: starts N node processes on 127.0.0.1, says where
//! they are and who leads, reports nodes that die (with the command that
//! restarts them), and stops them all on Ctrl-C.

use std::net::SocketAddr;
use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::cli::ClusterOptions;
use crate::client::{json_u64, Client};

struct Member {
    id: u16,
    http: SocketAddr,
    args: Vec<String>,
    child: Option<Child>,
}

pub fn run(opts: &ClusterOptions) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let peers: Vec<String> = (1..=opts.nodes)
        .map(|i| format!("{i}=127.0.0.1:{}", opts.udp_base + i - 1))
        .collect();
    let peers = peers.join(",");
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .map_err(|e| format!("cannot handle signals: {e}"))?;
    }
    let mut members = Vec::new();
    for i in 1..=opts.nodes {
        let http: SocketAddr = ([127, 0, 0, 1], opts.http_base + i - 1).into();
        let mut args = vec![
            "node".to_owned(),
            "--id".to_owned(),
            i.to_string(),
            "--peers".to_owned(),
            peers.clone(),
            "--http".to_owned(),
            http.to_string(),
        ];
        args.extend(opts.node_args.iter().cloned());
        let child = Command::new(&exe)
            .args(&args)
            .spawn()
            .map_err(|e| format!("cannot start node {i}: {e}"))?;
        println!("node {i} pid {} http://{http}/", child.id());
        members.push(Member {
            id: i,
            http,
            args,
            child: Some(child),
        });
    }
    announce_leader(&members, &stop);
    println!(
        "Ctrl-C stops the cluster. Try: curl -d entry=hello -X POST http://{}/board",
        members[0].http
    );
    while !stop.load(Ordering::Relaxed) {
        watch(&mut members, &exe.display().to_string());
        thread::sleep(Duration::from_millis(100));
    }
    for m in &mut members {
        if let Some(child) = &mut m.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
    println!("cluster stopped");
    Ok(())
}

/// Waits (bounded) until some node reports a leader, and says which.
fn announce_leader(members: &[Member], stop: &AtomicBool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline && !stop.load(Ordering::Relaxed) {
        for m in members {
            let mut client = Client::new(m.http).with_timeout(Duration::from_millis(300));
            if let Ok(r) = client.get("/status") {
                if let Some(leader) = json_u64(&r.body, "leader") {
                    println!("leader: node {leader} (see http://{}/status)", m.http);
                    return;
                }
            }
        }
        thread::sleep(Duration::from_millis(100));
    }
    println!("no leader yet; the nodes' logs say why");
}

/// Reports nodes that exited, with the command line that restarts them.
fn watch(members: &mut [Member], exe: &str) {
    for m in members.iter_mut() {
        let Some(child) = &mut m.child else { continue };
        if let Ok(Some(status)) = child.try_wait() {
            println!(
                "node {} (pid {}) exited ({status}); restart it with:\n  {exe} {}",
                m.id,
                child.id(),
                m.args.join(" ")
            );
            m.child = None;
        }
    }
}
