//! Command-line parsing. Errors are one line naming what is wrong; `main`
//! turns them into exit code 2.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use crate::node::Options;
use crate::wire::{NodeId, WIRE_VERSION};

pub const DEFAULT_UDP_PORT: u16 = 7000;
pub const DEFAULT_HTTP_PORT: u16 = 80;

pub const USAGE: &str = "\
blackboard: a distributed blackboard. Nodes elect a leader (bully election on a
random attribute) that orders every post, edit and delete; every node shows the
same board in the same order.

USAGE:
  blackboard node --id N --peers 1=HOST:PORT,2=HOST:PORT,... --http HOST:PORT [options]
  blackboard node --id N --servers ADDR1,ADDR2,...  [options]
  blackboard cluster [--nodes 5] [--demo] [options]
  blackboard sim [--nodes 3,5,9,15,25,50,100] [--seeds 20] | blackboard sim --report
  blackboard bench [--nodes 3] [--clients 16] [--seconds 5] [--failovers 5] [--quick] [--json]
  blackboard soak [--seconds 180] [--nodes 3] [--writers 4] [--kill-every 20]
  blackboard --version | --help

NODE:
  --id N                  this node's id (1..65535), one of the members
  --peers LIST            every member's UDP address, this node's included:
                          1=10.1.0.1:7000,2=10.1.0.2:7000,...
  --http HOST:PORT        where to serve HTTP (the board, its page, /status)
  --servers LIST          the lab's shorthand: member i is the i-th address, UDP
                          port 7000 (--udp-port), HTTP on this node's own
                          address, port 80 (--http-port, or --http HOST:PORT)
  --udp-port P            UDP port for --servers addresses without a port (7000)
  --http-port P           HTTP port with --servers (80)
  --pace normal|demo      timing defaults: normal is a 50 ms heartbeat and a
                          300 ms timeout; demo is 500 ms and 3000 ms, slow
                          enough to watch (the two flags below override it)
  --heartbeat-ms MS       leader heartbeat interval (50)
  --timeout-ms MS         failure detection: a leader unheard this long is
                          suspected and an election starts (300)
  --request-timeout-ms MS a write that cannot commit answers 503 after this (3000;
                          10000 at --pace demo, where an election takes seconds)
  --log-level LEVEL       off, error, warn, info, debug or trace (info)
  --www DIR               serve the page from DIR instead of the built-in copy
  --cluster NAME          mixed into the cluster identity: nodes given another
                          name (or none) refuse each other's datagrams
  --allow-faults          accept POST /fault: crash and reboot, cut off, lose P%
                          of datagrams, for S seconds (demos; 403 without it)

CLUSTER (try it on one machine):
  --nodes N               how many nodes (5): HTTP 127.0.0.1:8001.., UDP 7001..
  --http-base P           first HTTP port (8001)
  --udp-base P            first UDP port (7001)
  --demo                  every node with --pace demo and --allow-faults
  plus --pace, the timing and --log-level options above, passed to every node.
  Refuses to start while any of its ports is in use (exit 1, naming the port).
  Each launch gives its nodes a fresh --cluster name, so a node left from
  another launch is refused. Node logs: $TMPDIR/blackboard-cluster-PID/.
  Prints one line per node (id, pid, URL), then takes commands on standard
  input: kill N (kill -9 node N), restart N (start it again, empty), status,
  quit. Ctrl-C, SIGTERM or quit stop every node it started; the end of
  standard input does not.

SIM (message costs from the deterministic simulator):
  --nodes LIST            cluster sizes to measure (3,5,9,15,25,50,100)
  --seeds N               runs per size (20)
  --report                the tables report.txt quotes (fixed sizes, with formulas)

BENCH (real processes on 127.0.0.1; the clients share the machine):
  --nodes N, --clients C  cluster size (3) and concurrent keep-alive clients (16)
  --seconds S             length of the throughput run (5)
  --failovers R           leader kills to time (5)
  --quick                 small runs of everything (a smoke test)
  --json                  results as JSON

SOAK (steady writes for minutes, the leader killed every --kill-every s):
  checks that no acknowledged write is lost or doubled and memory stays flat.

HTTP:
  GET  /                         the board page
  GET  /board[?since=SEQ]        the board as JSON (long-poll with since); /entries too
  GET  /changes?since=SEQ        what changed after SEQ (long-poll; a reset when too old)
  POST /board, /entries          form entry=TEXT: add            -> 201
  POST /board/ID, /entries/ID    form delete=1: delete; entry=TEXT (delete=0): modify
  PUT  /board/ID, DELETE /board/ID  REST aliases (also on /entries/ID)
  Forms: urlencoded (curl -d) or multipart/form-data (curl -F).
  GET  /status, /metrics         role, leader, epoch, peers, counters
  GET  /events[?since=N]         protocol events after N (long-poll)
  POST /fault                    action=crash|cutoff|loss|heal&seconds=S&percent=P

EXIT CODES: 0 clean stop, 2 bad arguments, 1 runtime failure.
";

pub fn version() -> String {
    format!(
        "blackboard {} (wire protocol {WIRE_VERSION})",
        env!("CARGO_PKG_VERSION")
    )
}

#[derive(Debug)]
pub enum Command {
    Help,
    Version,
    Node(Options, log::LevelFilter),
    Cluster(ClusterOptions),
    Sim {
        sizes: Vec<u16>,
        seeds: u64,
    },
    /// `sim --report`: the tables report.txt quotes.
    SimReport,
    Bench(crate::bench::BenchOptions),
    Soak(crate::soak::SoakOptions),
}

#[derive(Debug, Clone)]
pub struct ClusterOptions {
    pub nodes: u16,
    pub http_base: u16,
    pub udp_base: u16,
    /// Flags passed through to every node.
    pub node_args: Vec<String>,
}

/// Parses the arguments after the program name.
pub fn parse(args: &[String]) -> Result<Command, String> {
    let Some((command, rest)) = args.split_first() else {
        return Err("no command given".into());
    };
    if rest.iter().any(|a| a == "--help" || a == "-h") {
        return Ok(Command::Help);
    }
    match command.as_str() {
        "--help" | "-h" | "help" => Ok(Command::Help),
        "--version" | "-V" | "version" => Ok(Command::Version),
        "node" => parse_node(rest),
        "cluster" => parse_cluster(rest),
        "sim" => parse_sim(rest),
        "bench" => parse_bench(rest),
        "soak" => parse_soak(rest),
        other => Err(format!("unknown command `{other}`")),
    }
}

/// `--flag value` pairs, every flag known and given once.
fn pairs<'a>(args: &'a [String], known: &[&str]) -> Result<Vec<(&'a str, &'a str)>, String> {
    let mut out: Vec<(&str, &str)> = Vec::new();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let (flag, inline) = match flag.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v)),
            _ => (flag.as_str(), None),
        };
        if !known.contains(&flag) {
            return Err(format!("unknown option `{flag}`"));
        }
        let value = match inline {
            Some(v) => v,
            None => it
                .next()
                .map(String::as_str)
                .ok_or_else(|| format!("`{flag}` needs a value"))?,
        };
        if out.iter().any(|(f, _)| *f == flag) {
            return Err(format!("`{flag}` given twice"));
        }
        out.push((flag, value));
    }
    Ok(out)
}

fn get<'a>(pairs: &[(&str, &'a str)], flag: &str) -> Option<&'a str> {
    pairs.iter().find(|(f, _)| *f == flag).map(|(_, v)| *v)
}

fn number<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("`{flag}` wants a number, got `{value}`"))
}

fn millis(pairs: &[(&str, &str)], flag: &str, default: u64) -> Result<Duration, String> {
    let ms = match get(pairs, flag) {
        Some(v) => number::<u64>(flag, v)?,
        None => default,
    };
    if ms == 0 || ms > 3_600_000 {
        return Err(format!("`{flag}` must be between 1 and 3600000 ms"));
    }
    Ok(Duration::from_millis(ms))
}

const TIMING: [&str; 5] = [
    "--pace",
    "--heartbeat-ms",
    "--timeout-ms",
    "--request-timeout-ms",
    "--log-level",
];

/// Heartbeat and failure timeout: `pace` gives the defaults, explicit
/// `--heartbeat-ms` and `--timeout-ms` override them.
fn timing(p: &[(&str, &str)], pace: &str) -> Result<(Duration, Duration), String> {
    let (heartbeat, timeout) = match pace {
        "normal" => (50, 300),
        "demo" => (500, 3000),
        other => return Err(format!("unknown pace `{other}` (normal or demo)")),
    };
    let heartbeat = millis(p, "--heartbeat-ms", heartbeat)?;
    let timeout = millis(p, "--timeout-ms", timeout)?;
    if timeout < heartbeat * 2 {
        return Err("`--timeout-ms` must be at least twice `--heartbeat-ms`".into());
    }
    Ok((heartbeat, timeout))
}

/// `--cluster NAME`: printable without quoting, as the launcher prints the
/// command that restarts a node.
fn cluster_name(p: &[(&str, &str)]) -> Result<Option<String>, String> {
    let Some(name) = get(p, "--cluster") else {
        return Ok(None);
    };
    let fits = |b: u8| b.is_ascii_alphanumeric() || b"-_.".contains(&b);
    if name.is_empty() || name.len() > 64 || !name.bytes().all(fits) {
        return Err("`--cluster` wants 1 to 64 letters, digits, `-`, `_` or `.`".into());
    }
    Ok(Some(name.to_owned()))
}

fn log_level(pairs: &[(&str, &str)]) -> Result<log::LevelFilter, String> {
    match get(pairs, "--log-level").unwrap_or("info") {
        "off" => Ok(log::LevelFilter::Off),
        "error" => Ok(log::LevelFilter::Error),
        "warn" => Ok(log::LevelFilter::Warn),
        "info" => Ok(log::LevelFilter::Info),
        "debug" => Ok(log::LevelFilter::Debug),
        "trace" => Ok(log::LevelFilter::Trace),
        other => Err(format!("unknown log level `{other}`")),
    }
}

fn resolve(text: &str) -> Result<SocketAddr, String> {
    text.to_socket_addrs()
        .map_err(|e| format!("cannot resolve `{text}`: {e}"))?
        .find(SocketAddr::is_ipv4)
        .or_else(|| text.to_socket_addrs().ok()?.next())
        .ok_or_else(|| format!("`{text}` resolves to no address"))
}

fn parse_node(args: &[String]) -> Result<Command, String> {
    let (flags, rest) = switches(args, &["--allow-faults"]);
    let mut known = vec![
        "--id",
        "--peers",
        "--servers",
        "--http",
        "--udp-port",
        "--http-port",
        "--www",
        "--cluster",
    ];
    known.extend(TIMING);
    let p = pairs(&rest, &known)?;
    let id: NodeId = number("--id", get(&p, "--id").ok_or("`--id` is required")?)?;
    if id == 0 {
        return Err("`--id` must be 1 or more".into());
    }
    let (peers, http) = match (get(&p, "--peers"), get(&p, "--servers")) {
        (Some(_), Some(_)) => return Err("give either `--peers` or `--servers`, not both".into()),
        (None, None) => return Err("`--peers` (or `--servers`) is required".into()),
        (Some(list), None) => {
            if get(&p, "--udp-port").is_some() || get(&p, "--http-port").is_some() {
                return Err("`--udp-port` and `--http-port` go with `--servers`".into());
            }
            let http = get(&p, "--http").ok_or("`--http HOST:PORT` is required with `--peers`")?;
            (parse_peers(list)?, resolve(http)?)
        }
        (None, Some(list)) => servers(&p, id, list)?,
    };
    if !peers.iter().any(|(i, _)| *i == id) {
        return Err(format!("`--id {id}` is not one of the members"));
    }
    let pace = get(&p, "--pace").unwrap_or("normal");
    let (heartbeat, timeout) = timing(&p, pace)?;
    // At the demo's pace an election takes seconds: a write waits it out.
    let default_request_timeout = if pace == "demo" { 10_000 } else { 3000 };
    let options = Options {
        id,
        peers,
        http,
        heartbeat,
        timeout,
        request_timeout: millis(&p, "--request-timeout-ms", default_request_timeout)?,
        www: get(&p, "--www").map(PathBuf::from),
        cluster: cluster_name(&p)?,
        allow_faults: !flags.is_empty(),
    };
    Ok(Command::Node(options, log_level(&p)?))
}

/// `1=HOST:PORT,2=HOST:PORT,...`
fn parse_peers(list: &str) -> Result<Vec<(NodeId, SocketAddr)>, String> {
    let mut peers: Vec<(NodeId, SocketAddr)> = Vec::new();
    for item in list.split(',').filter(|s| !s.is_empty()) {
        let (id, addr) = item
            .split_once('=')
            .ok_or_else(|| format!("peer `{item}` is not ID=HOST:PORT"))?;
        let id: NodeId = number("--peers", id)?;
        if id == 0 {
            return Err("peer ids start at 1".into());
        }
        let addr = resolve(addr)?;
        if peers.iter().any(|(i, a)| *i == id || *a == addr) {
            return Err(format!("peer `{item}` repeats an id or an address"));
        }
        peers.push((id, addr));
    }
    if peers.is_empty() {
        return Err("`--peers` lists no member".into());
    }
    peers.sort();
    Ok(peers)
}

/// The lab's `--servers 10.1.0.1,10.1.0.2,...`: member i is the i-th address.
fn servers(
    p: &[(&str, &str)],
    id: NodeId,
    list: &str,
) -> Result<(Vec<(NodeId, SocketAddr)>, SocketAddr), String> {
    let udp_port: u16 = match get(p, "--udp-port") {
        Some(v) => number("--udp-port", v)?,
        None => DEFAULT_UDP_PORT,
    };
    let http_port: u16 = match get(p, "--http-port") {
        Some(v) => number("--http-port", v)?,
        None => DEFAULT_HTTP_PORT,
    };
    let mut spec = String::new();
    for (i, host) in list.split(',').filter(|s| !s.is_empty()).enumerate() {
        let host = host.trim();
        let addr = if host.contains(':') {
            host.to_owned()
        } else {
            format!("{host}:{udp_port}")
        };
        spec.push_str(&format!("{}={addr},", i + 1));
    }
    let peers = parse_peers(&spec)?;
    let own = peers
        .iter()
        .find(|(i, _)| *i == id)
        .ok_or_else(|| format!("`--id {id}` is beyond the {} servers listed", peers.len()))?
        .1;
    let http = match get(p, "--http") {
        Some(h) => resolve(h)?,
        None => SocketAddr::new(own.ip(), http_port),
    };
    Ok((peers, http))
}

fn parse_cluster(args: &[String]) -> Result<Command, String> {
    let (flags, rest) = switches(args, &["--demo"]);
    let demo = !flags.is_empty();
    let mut known = vec!["--nodes", "--http-base", "--udp-base"];
    known.extend(TIMING);
    let p = pairs(&rest, &known)?;
    let nodes: u16 = number("--nodes", get(&p, "--nodes").unwrap_or("5"))?;
    if !(1..=99).contains(&nodes) {
        return Err("`--nodes` must be between 1 and 99".into());
    }
    let http_base: u16 = number("--http-base", get(&p, "--http-base").unwrap_or("8001"))?;
    let udp_base: u16 = number("--udp-base", get(&p, "--udp-base").unwrap_or("7001"))?;
    if http_base == 0 || udp_base == 0 {
        return Err("ports start at 1".into());
    }
    if http_base.checked_add(nodes).is_none() || udp_base.checked_add(nodes).is_none() {
        return Err("ports would go past 65535".into());
    }
    if demo && get(&p, "--pace").is_some() {
        return Err("`--demo` sets `--pace demo`: give one or the other".into());
    }
    // Checked here so that a bad combination stops the launcher, not each node.
    timing(
        &p,
        if demo {
            "demo"
        } else {
            get(&p, "--pace").unwrap_or("normal")
        },
    )?;
    log_level(&p)?;
    let mut node_args = Vec::new();
    if demo {
        node_args.extend(["--pace", "demo", "--allow-faults"].map(String::from));
    }
    for flag in TIMING {
        if let Some(v) = get(&p, flag) {
            node_args.push(flag.to_owned());
            node_args.push(v.to_owned());
        }
    }
    Ok(Command::Cluster(ClusterOptions {
        nodes,
        http_base,
        udp_base,
        node_args,
    }))
}

/// `--flag` switches among `--flag value` pairs.
fn switches(args: &[String], names: &[&str]) -> (Vec<String>, Vec<String>) {
    args.iter()
        .cloned()
        .partition(|a| names.contains(&a.as_str()))
}

fn parse_bench(args: &[String]) -> Result<Command, String> {
    let (flags, rest) = switches(args, &["--quick", "--json"]);
    let p = pairs(&rest, &["--nodes", "--clients", "--seconds", "--failovers"])?;
    let nodes: u16 = number("--nodes", get(&p, "--nodes").unwrap_or("3"))?;
    let clients: usize = number("--clients", get(&p, "--clients").unwrap_or("16"))?;
    let seconds: u64 = number("--seconds", get(&p, "--seconds").unwrap_or("5"))?;
    let failovers: usize = number("--failovers", get(&p, "--failovers").unwrap_or("5"))?;
    if !(2..=100).contains(&nodes)
        || !(1..=256).contains(&clients)
        || seconds == 0
        || failovers == 0
    {
        return Err(
            "bench wants 2..100 nodes, 1..256 clients, and at least 1 second and 1 failover".into(),
        );
    }
    Ok(Command::Bench(crate::bench::BenchOptions {
        nodes,
        clients,
        seconds,
        failovers,
        quick: flags.iter().any(|f| f == "--quick"),
        json: flags.iter().any(|f| f == "--json"),
    }))
}

fn parse_soak(args: &[String]) -> Result<Command, String> {
    let p = pairs(args, &["--nodes", "--seconds", "--writers", "--kill-every"])?;
    let nodes: u16 = number("--nodes", get(&p, "--nodes").unwrap_or("3"))?;
    let seconds: u64 = number("--seconds", get(&p, "--seconds").unwrap_or("180"))?;
    let writers: usize = number("--writers", get(&p, "--writers").unwrap_or("4"))?;
    let kill_every: u64 = number("--kill-every", get(&p, "--kill-every").unwrap_or("20"))?;
    if !(3..=9).contains(&nodes) || seconds < 10 || !(1..=64).contains(&writers) || kill_every < 2 {
        return Err(
            "soak wants 3..9 nodes, at least 10 seconds, 1..64 writers, kills at least 2 s apart"
                .into(),
        );
    }
    Ok(Command::Soak(crate::soak::SoakOptions {
        nodes,
        seconds,
        writers,
        kill_every,
    }))
}

fn parse_sim(args: &[String]) -> Result<Command, String> {
    if args.iter().any(|a| a == "--report") {
        if args.len() > 1 {
            return Err("`--report` takes no other options (its sizes and seeds are fixed)".into());
        }
        return Ok(Command::SimReport);
    }
    let p = pairs(args, &["--nodes", "--seeds"])?;
    let sizes = get(&p, "--nodes")
        .unwrap_or("3,5,9,15,25,50,100")
        .split(',')
        .map(|n| number::<u16>("--nodes", n))
        .collect::<Result<Vec<_>, _>>()?;
    if sizes.iter().any(|&n| !(1..=128).contains(&n)) {
        return Err("`--nodes` sizes must be between 1 and 128".into());
    }
    let seeds = number("--seeds", get(&p, "--seeds").unwrap_or("20"))?;
    Ok(Command::Sim { sizes, seeds })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(String::from).collect()
    }

    fn node(line: &str) -> Result<Options, String> {
        match parse(&args(line))? {
            Command::Node(o, _) => Ok(o),
            other => Err(format!("not a node: {other:?}")),
        }
    }

    #[test]
    fn full_form() {
        let o = node("node --id 2 --peers 1=127.0.0.1:7001,2=127.0.0.1:7002 --http 127.0.0.1:8002 --timeout-ms 500").unwrap();
        assert_eq!(o.id, 2);
        assert_eq!(o.peers.len(), 2);
        assert_eq!(o.http.to_string(), "127.0.0.1:8002");
        assert_eq!(o.timeout, Duration::from_millis(500));
        assert_eq!(o.heartbeat, Duration::from_millis(50));
    }

    #[test]
    fn sim_report_takes_no_other_options() {
        assert!(matches!(
            parse(&args("sim --report")),
            Ok(Command::SimReport)
        ));
        let e = parse(&args("sim --report --seeds 3")).unwrap_err();
        assert!(e.contains("--report"), "{e}");
        assert!(matches!(
            parse(&args("sim --seeds 3")),
            Ok(Command::Sim { seeds: 3, .. })
        ));
    }

    #[test]
    fn lab_shorthand() {
        let o = node("node --id 3 --servers 10.1.0.1,10.1.0.2,10.1.0.3").unwrap();
        assert_eq!(o.peers[2], (3, "10.1.0.3:7000".parse().unwrap()));
        assert_eq!(o.http.to_string(), "10.1.0.3:80");
        let o = node("node --id 1 --servers 127.0.0.1:7101,127.0.0.1:7102 --http 127.0.0.1:8101")
            .unwrap();
        assert_eq!(o.peers[1].1.port(), 7102);
        assert_eq!(o.http.port(), 8101);
    }

    #[test]
    fn mistakes_are_named() {
        let cases = [
            ("node --peers 1=127.0.0.1:1 --http 127.0.0.1:2", "--id"),
            (
                "node --id 3 --peers 1=127.0.0.1:1 --http 127.0.0.1:2",
                "not one of the members",
            ),
            (
                "node --id 1 --peers 1=127.0.0.1:1,1=127.0.0.1:2 --http 127.0.0.1:2",
                "repeats",
            ),
            (
                "node --id 1 --peers 1=nowhere --http 127.0.0.1:2",
                "resolve",
            ),
            ("node --id 1 --peers 1=127.0.0.1:1", "--http"),
            (
                "node --id x --peers 1=127.0.0.1:1 --http 127.0.0.1:2",
                "number",
            ),
            (
                "node --id 1 --peers 1=127.0.0.1:1 --http 127.0.0.1:2 --bogus 1",
                "unknown option",
            ),
            (
                "node --id 1 --peers 1=127.0.0.1:1 --http 127.0.0.1:2 --timeout-ms 60",
                "twice",
            ),
            ("node --id 4 --servers 10.1.0.1,10.1.0.2", "beyond"),
            (
                "node --id 1 --peers 1=127.0.0.1:1 --http 127.0.0.1:2 --log-level loud",
                "log level",
            ),
            ("cluster --nodes 0", "between"),
            ("frobnicate", "unknown command"),
        ];
        for (line, why) in cases {
            let err = parse(&args(line)).unwrap_err();
            assert!(err.contains(why), "`{line}`: {err}");
        }
    }

    #[test]
    fn help_and_version() {
        assert!(matches!(parse(&args("--help")), Ok(Command::Help)));
        assert!(matches!(parse(&args("node --help")), Ok(Command::Help)));
        assert!(matches!(parse(&args("--version")), Ok(Command::Version)));
        assert!(version().contains("wire protocol 5"));
    }

    #[test]
    fn cluster_passes_timing_through() {
        let Ok(Command::Cluster(c)) = parse(&args("cluster --nodes 3 --timeout-ms 400")) else {
            panic!("not a cluster");
        };
        assert_eq!(c.nodes, 3);
        assert_eq!(c.node_args, args("--timeout-ms 400"));
    }

    const MEMBER: &str = "node --id 1 --peers 1=127.0.0.1:7001 --http 127.0.0.1:8001";

    #[test]
    fn pace_sets_the_defaults_and_explicit_timing_wins() {
        let ms = Duration::from_millis;
        let timing = |extra: &str| {
            let o = node(&format!("{MEMBER} {extra}"))?;
            Ok::<_, String>((o.heartbeat, o.timeout))
        };
        assert_eq!(timing(""), Ok((ms(50), ms(300))));
        assert_eq!(timing("--pace normal"), Ok((ms(50), ms(300))));
        assert_eq!(timing("--pace demo"), Ok((ms(500), ms(3000))));
        assert_eq!(
            timing("--pace=demo --heartbeat-ms 100"),
            Ok((ms(100), ms(3000)))
        );
        assert_eq!(
            timing("--pace demo --timeout-ms 1000"),
            Ok((ms(500), ms(1000)))
        );
        let too_short = timing("--pace demo --timeout-ms 900").unwrap_err();
        assert!(too_short.contains("twice"), "{too_short}");
        let unknown = timing("--pace brisk").unwrap_err();
        assert!(unknown.contains("unknown pace `brisk`"), "{unknown}");
    }

    #[test]
    fn at_the_demo_pace_a_write_waits_out_an_election() {
        let secs = |args: &str| node(args).unwrap().request_timeout.as_secs();
        assert_eq!(secs(MEMBER), 3);
        assert_eq!(secs(&format!("{MEMBER} --pace demo")), 10);
        assert_eq!(
            secs(&format!("{MEMBER} --pace demo --request-timeout-ms 2000")),
            2
        );
    }

    #[test]
    fn cluster_name_and_allow_faults() {
        let o = node(MEMBER).unwrap();
        assert_eq!((o.cluster, o.allow_faults), (None, false));
        let o = node(&format!("{MEMBER} --allow-faults --cluster run-1.a_B")).unwrap();
        assert_eq!(
            (o.cluster.as_deref(), o.allow_faults),
            (Some("run-1.a_B"), true)
        );
        // A switch takes no value, so it may stand between other flags.
        let o = node("node --allow-faults --id 1 --peers 1=127.0.0.1:7001 --http 127.0.0.1:8001")
            .unwrap();
        assert!(o.allow_faults);
        for bad in ["a/b", "", "x y", "é"] {
            let mut line = args(MEMBER);
            line.extend(["--cluster".to_owned(), bad.to_owned()]);
            let err = parse(&line).unwrap_err();
            assert!(err.contains("`--cluster` wants"), "`{bad}`: {err}");
        }
        let long = "x".repeat(65);
        assert!(node(&format!("{MEMBER} --cluster {long}")).is_err());
        assert!(node(&format!("{MEMBER} --cluster {}", &long[1..])).is_ok());
    }

    #[test]
    fn cluster_demo_passes_pace_and_faults_to_every_node() {
        let cluster = |line: &str| match parse(&args(line))? {
            Command::Cluster(c) => Ok(c.node_args),
            other => Err(format!("not a cluster: {other:?}")),
        };
        assert_eq!(
            cluster("cluster --demo --nodes 3"),
            Ok(args("--pace demo --allow-faults"))
        );
        assert_eq!(
            cluster("cluster --demo --timeout-ms 5000"),
            Ok(args("--pace demo --allow-faults --timeout-ms 5000"))
        );
        assert_eq!(cluster("cluster --pace demo"), Ok(args("--pace demo")));
        assert_eq!(cluster("cluster"), Ok(vec![]));
        for (line, why) in [
            ("cluster --demo --pace normal", "one or the other"),
            ("cluster --demo --timeout-ms 900", "twice"),
            ("cluster --pace slow", "unknown pace"),
            ("cluster --udp-base 0", "start at 1"),
        ] {
            let err = cluster(line).unwrap_err();
            assert!(err.contains(why), "`{line}`: {err}");
        }
    }
}
