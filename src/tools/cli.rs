//! The command line: every command's flags in one table each, from which
//! both its `--help` and its parsing come (lexopt splits the arguments; the
//! tables say what they mean), so the help, the README (a test compares them)
//! and what is accepted cannot drift apart. Errors are one line naming the
//! flag, what it needs and what it got; `main` turns them into exit code 2.

use std::fmt::Display;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use blackboard::core::Pace;
use blackboard::node::Options;
use blackboard::wire::{NodeId, WIRE_VERSION};

use crate::tools::cluster::ClusterOptions;

/// One flag of a command: its help line and its parsing come from here.
#[derive(Debug)]
pub struct Flag {
    /// With its dashes, as typed: `--http`.
    pub name: &'static str,
    /// What its value looks like (`HOST:PORT`); `None` for a switch.
    pub value: Option<&'static str>,
    /// Lines of at most 54 columns, `\n` between them.
    pub help: &'static str,
    /// Taken when the flag is not given, and shown in the help.
    pub default: Option<&'static str>,
}

/// One command: its help page is made from these fields alone.
#[derive(Debug)]
pub struct Spec {
    pub name: &'static str,
    /// Its line in the global help's list of commands.
    pub summary: &'static str,
    pub usage: &'static [&'static str],
    /// What the flags do not say; empty for nothing.
    pub about: &'static str,
    /// Groups of flags, so that node and cluster share the timing ones.
    pub flags: &'static [&'static [Flag]],
    /// From the flags given to the command, once each one is known.
    build: fn(&Given) -> Result<Command, String>,
}

const fn flag(name: &'static str, value: &'static str, help: &'static str) -> Flag {
    Flag {
        name,
        value: Some(value),
        help,
        default: None,
    }
}

const fn with_default(
    name: &'static str,
    value: &'static str,
    help: &'static str,
    default: &'static str,
) -> Flag {
    Flag {
        name,
        value: Some(value),
        help,
        default: Some(default),
    }
}

const fn switch(name: &'static str, help: &'static str) -> Flag {
    Flag {
        name,
        value: None,
        help,
        default: None,
    }
}

/// Given to `node`, and by `cluster` to every node it starts.
const TIMING_FLAGS: &[Flag] = &[
    with_default(
        "--pace",
        "normal|demo",
        "timing defaults: normal is a 50 ms heartbeat and a\n\
         300 ms timeout; demo is 500 ms and 3000 ms, slow\n\
         enough to watch (the two flags below override it)",
        "normal",
    ),
    flag(
        "--heartbeat-ms",
        "MS",
        "leader heartbeat interval (50; 500 at --pace demo)",
    ),
    flag(
        "--timeout-ms",
        "MS",
        "failure detection: a leader unheard this long is\n\
         suspected and an election starts (300; 3000 at\n\
         --pace demo)",
    ),
    flag(
        "--request-timeout-ms",
        "MS",
        "a write that cannot commit answers 503 after this\n\
         (3000; 10000 at --pace demo, where an election\n\
         takes seconds)",
    ),
    with_default(
        "--log-level",
        "LEVEL",
        "off, error, warn, info, debug or trace",
        "info",
    ),
];

const NODE_FLAGS: &[Flag] = &[
    flag("--id", "N", "this node's id (1..65535), one of the members"),
    flag(
        "--peers",
        "LIST",
        "every member's UDP address, this node's included:\n\
         1=10.1.0.1:7000,2=10.1.0.2:7000,...",
    ),
    flag(
        "--http",
        "HOST:PORT",
        "where to serve HTTP (the board, its page, /status)",
    ),
    flag(
        "--servers",
        "LIST",
        "the lab's shorthand instead of --peers: member i is\n\
         the i-th address (HOST or HOST:PORT), UDP port\n\
         --udp-port, HTTP on this node's own address, port\n\
         --http-port (or --http HOST:PORT)",
    ),
    with_default(
        "--udp-port",
        "P",
        "UDP port for --servers addresses without one",
        "7000",
    ),
    with_default("--http-port", "P", "HTTP port with --servers", "80"),
    flag(
        "--www",
        "DIR",
        "serve the page from DIR instead of the built-in copy",
    ),
    flag(
        "--cluster",
        "NAME",
        "mixed into the cluster identity: nodes given another\n\
         name (or none) refuse each other's datagrams",
    ),
    switch(
        "--allow-faults",
        "accept POST /fault: crash and reboot, cut off, lose P%\n\
         of datagrams, for S seconds (demos; 403 without it)",
    ),
];

const CLUSTER_FLAGS: &[Flag] = &[
    with_default("--nodes", "N", "how many nodes, 1 to 99", "5"),
    with_default("--http-base", "P", "first HTTP port", "8001"),
    with_default("--udp-base", "P", "first UDP port", "7001"),
    switch("--demo", "every node with --pace demo and --allow-faults"),
];

const SIM_FLAGS: &[Flag] = &[
    with_default(
        "--nodes",
        "LIST",
        "cluster sizes to measure, each 1 to 128",
        "3,5,9,15,25,50,100",
    ),
    with_default("--seeds", "N", "runs per size", "20"),
    switch(
        "--report",
        "the tables report.txt quotes (fixed sizes and seeds,\n\
         with formulas); takes no other flag",
    ),
];

const BENCH_FLAGS: &[Flag] = &[
    with_default("--nodes", "N", "cluster size, 2 to 100", "3"),
    with_default(
        "--clients",
        "C",
        "concurrent keep-alive clients, 1 to 256",
        "16",
    ),
    with_default("--seconds", "S", "length of the throughput run", "5"),
    with_default("--failovers", "R", "leader kills to time", "5"),
    switch("--quick", "small runs of everything (a smoke test)"),
    switch("--json", "results as JSON"),
];

const SOAK_FLAGS: &[Flag] = &[
    with_default("--seconds", "S", "length of the run, at least 10", "180"),
    with_default("--nodes", "N", "cluster size, 3 to 9", "3"),
    with_default("--writers", "W", "concurrent writers, 1 to 64", "4"),
    with_default(
        "--kill-every",
        "S",
        "seconds between leader kills, at least 2",
        "20",
    ),
];

const NODE: Spec = Spec {
    name: "node",
    summary: "run one member of a cluster",
    usage: &[
        "blackboard node --id N --peers 1=HOST:PORT,2=HOST:PORT,... --http HOST:PORT [flags]",
        "blackboard node --id N --servers ADDR1,ADDR2,... [flags]",
    ],
    about: "Give either --peers or --servers. The node binds its own member's UDP\n\
            address and serves HTTP until Ctrl-C or SIGTERM (exit 0).",
    flags: &[NODE_FLAGS, TIMING_FLAGS],
    build: parse_node,
};

const CLUSTER: Spec = Spec {
    name: "cluster",
    summary: "start a cluster on this machine (try it here)",
    usage: &["blackboard cluster [--nodes 5] [--demo] [flags]"],
    about: "Starts --nodes node processes: HTTP 127.0.0.1:8001.., UDP 7001.., each\n\
            given the timing flags and --log-level below. Refuses to start while\n\
            any of its ports is in use (exit 1, naming the port). Each launch\n\
            gives its nodes a fresh --cluster name, so a node left from another\n\
            launch is refused. Node logs: $TMPDIR/blackboard-cluster-PID/.\n\
            Prints one line per node (id, pid, URL), then takes commands on\n\
            standard input: kill N (kill -9 node N), restart N (start it again,\n\
            empty), status, quit. Ctrl-C, SIGTERM or quit stop every node it\n\
            started; the end of standard input does not.",
    flags: &[CLUSTER_FLAGS, TIMING_FLAGS],
    build: parse_cluster,
};

const SIM: Spec = Spec {
    name: "sim",
    summary: "message costs from the deterministic simulator",
    usage: &[
        "blackboard sim [--nodes 3,5,9,15,25,50,100] [--seeds 20]",
        "blackboard sim --report",
    ],
    about: "",
    flags: &[SIM_FLAGS],
    build: parse_sim,
};

const BENCH: Spec = Spec {
    name: "bench",
    summary: "throughput, latency and failover times",
    usage: &[
        "blackboard bench [--nodes 3] [--clients 16] [--seconds 5] [--failovers 5] [--quick] [--json]",
    ],
    about: "Real node processes on 127.0.0.1; the clients share the machine.",
    flags: &[BENCH_FLAGS],
    build: parse_bench,
};

const SOAK: Spec = Spec {
    name: "soak",
    summary: "minutes of writes while leaders are killed",
    usage: &["blackboard soak [--seconds 180] [--nodes 3] [--writers 4] [--kill-every 20]"],
    about: "Steady writes for minutes, the leader killed every --kill-every\n\
            seconds: checks that no acknowledged write is lost or doubled and\n\
            that memory stays flat.",
    flags: &[SOAK_FLAGS],
    build: parse_soak,
};

/// Every command, in the order the global help lists them.
pub const COMMANDS: &[&Spec] = &[&NODE, &CLUSTER, &SIM, &BENCH, &SOAK];

/// Listed on every page, but not in the tables: `parse` takes it anywhere.
static HELP_FLAG: Flag = switch("-h, --help", "this help");

/// Where a flag's help starts: the flag and its value fit in the columns before.
const HELP_COLUMN: usize = 26;

impl Spec {
    fn flags(&self) -> impl Iterator<Item = &'static Flag> {
        self.flags.iter().flat_map(|group| group.iter())
    }

    /// `blackboard NAME --help`.
    pub fn help(&self) -> String {
        let mut out = format!("blackboard {}: {}.\n\nUSAGE:\n", self.name, self.summary);
        for line in self.usage {
            out.push_str(&format!("  {line}\n"));
        }
        if !self.about.is_empty() {
            out.push_str(&format!("\n{}\n", self.about));
        }
        out.push_str("\nFLAGS:\n");
        for flag in self.flags().chain([&HELP_FLAG]) {
            let left = match flag.value {
                Some(value) => format!("  {} {value}", flag.name),
                None => format!("  {}", flag.name),
            };
            let mut text = flag.help.to_owned();
            if let Some(default) = flag.default {
                let last = text.rsplit('\n').next().unwrap_or_default();
                let default = format!("(default {default})");
                let room = 80 - HELP_COLUMN;
                text.push(if last.len() + 1 + default.len() > room {
                    '\n'
                } else {
                    ' '
                });
                text.push_str(&default);
            }
            out.push_str(&left);
            if left.len() < HELP_COLUMN {
                out.push_str(&" ".repeat(HELP_COLUMN - left.len()));
            } else {
                out.push('\n');
                out.push_str(&" ".repeat(HELP_COLUMN));
            }
            out.push_str(&text.replace('\n', &format!("\n{}", " ".repeat(HELP_COLUMN))));
            out.push('\n');
        }
        out
    }
}

/// `blackboard --help`: what the program is, its commands, its HTTP.
pub fn usage() -> String {
    let mut out = String::from(
        "\
blackboard: a distributed blackboard. Nodes elect a leader (bully election on a
random attribute) that orders every post, edit and delete; every node shows the
same board in the same order.

USAGE:
",
    );
    for spec in COMMANDS {
        for line in spec.usage {
            out.push_str(&format!("  {line}\n"));
        }
    }
    out.push_str("  blackboard COMMAND --help | blackboard help COMMAND   (its flags)\n");
    out.push_str("  blackboard --version | --help\n\nCOMMANDS:\n");
    for spec in COMMANDS {
        out.push_str(&format!("  {:<9}{}\n", spec.name, spec.summary));
    }
    out.push_str(
        "
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
",
    );
    out
}

/// `blackboard NAME --help`, for a command of that name.
pub fn help(command: &str) -> Option<String> {
    spec(command).map(Spec::help)
}

fn spec(command: &str) -> Option<&'static Spec> {
    COMMANDS.iter().copied().find(|s| s.name == command)
}

pub fn version() -> String {
    format!(
        "blackboard {} (wire protocol {WIRE_VERSION})",
        env!("CARGO_PKG_VERSION")
    )
}

#[derive(Debug)]
pub enum Command {
    /// The help page to print: the global one or one command's.
    Help(String),
    Version,
    Node(Options, log::LevelFilter),
    Cluster(ClusterOptions),
    Sim {
        sizes: Vec<u16>,
        seeds: u64,
    },
    /// `sim --report`: the tables report.txt quotes.
    SimReport,
    Bench(crate::tools::bench::BenchOptions),
    Soak(crate::tools::soak::SoakOptions),
}

/// Parses the arguments after the program name.
pub fn parse(args: &[String]) -> Result<Command, String> {
    let Some((first, rest)) = args.split_first() else {
        return Err("no command given; see blackboard --help".into());
    };
    let command = spec(first);
    // `--help` anywhere wins, even after a mistake: it is how one finds the fix.
    if rest.iter().any(|a| a == "--help" || a == "-h") {
        return Ok(Command::Help(command.map_or_else(usage, Spec::help)));
    }
    let Some(command) = command else {
        return match first.as_str() {
            "--help" | "-h" | "help" => match rest.first() {
                Some(name) => help(name)
                    .map(Command::Help)
                    .ok_or_else(|| format!("unknown command `{name}`; see blackboard --help")),
                None => Ok(Command::Help(usage())),
            },
            "--version" | "-V" | "version" => Ok(Command::Version),
            other => Err(format!("unknown command `{other}`; see blackboard --help")),
        };
    };
    let given = Given::read(command, rest)?;
    (command.build)(&given).map_err(|why| hint(command, why))
}

/// Where to look next, at the end of every error of a command.
fn hint(command: &Spec, why: String) -> String {
    format!("{why}; see blackboard {} --help", command.name)
}

/// What the command line gave, flag by flag of one command's table.
struct Given {
    flags: Vec<&'static Flag>,
    /// Beside `flags`: `Some` when given (an empty string for a switch).
    values: Vec<Option<String>>,
}

impl Given {
    fn read(command: &Spec, args: &[String]) -> Result<Given, String> {
        let flags: Vec<&'static Flag> = command.flags().collect();
        let mut values: Vec<Option<String>> = vec![None; flags.len()];
        let mut parser = lexopt::Parser::from_args(args);
        loop {
            let name = match parser.next() {
                Ok(None) => break,
                Ok(Some(lexopt::Arg::Long(name))) => format!("--{name}"),
                Ok(Some(lexopt::Arg::Short(letter))) => format!("-{letter}"),
                Ok(Some(lexopt::Arg::Value(value))) => {
                    return Err(hint(
                        command,
                        format!(
                            "unexpected argument `{}` for `blackboard {}` (flags only)",
                            value.to_string_lossy(),
                            command.name
                        ),
                    ))
                }
                Err(lexopt::Error::UnexpectedValue { option, value }) => {
                    return Err(hint(
                        command,
                        format!(
                            "{option} is a switch and takes no value, got {}",
                            value.to_string_lossy()
                        ),
                    ))
                }
                Err(other) => return Err(hint(command, other.to_string())),
            };
            let Some(i) = flags.iter().position(|f| f.name == name) else {
                return Err(hint(
                    command,
                    format!("unknown flag {name} for `blackboard {}`", command.name),
                ));
            };
            if values[i].is_some() {
                return Err(hint(command, format!("{name} given twice")));
            }
            let value = match flags[i].value {
                None => String::new(),
                Some(what) => {
                    let missing = || hint(command, format!("{name} needs a value ({what})"));
                    let value = parser
                        .value()
                        .map_err(|_| missing())?
                        .into_string()
                        .map_err(|_| hint(command, format!("{name} needs UTF-8 text")))?;
                    // `--http --id 1`: the value was forgotten, not `--id`.
                    let flag_name = value.split('=').next().unwrap_or_default();
                    if flags.iter().any(|f| f.name == flag_name) {
                        return Err(missing());
                    }
                    value
                }
            };
            values[i] = Some(value);
        }
        Ok(Given { flags, values })
    }

    fn index(&self, name: &str) -> Option<usize> {
        let i = self.flags.iter().position(|f| f.name == name);
        debug_assert!(i.is_some(), "{name} is in no table of this command");
        i
    }

    /// The value given, not the default.
    fn given(&self, name: &str) -> Option<&str> {
        self.values[self.index(name)?].as_deref()
    }

    /// The value given, or else the table's default.
    fn get(&self, name: &str) -> Option<&str> {
        let i = self.index(name)?;
        self.values[i].as_deref().or(self.flags[i].default)
    }

    fn on(&self, name: &str) -> bool {
        self.given(name).is_some()
    }

    /// The value given, or else the default; an error if neither.
    fn required(&self, name: &str) -> Result<&str, String> {
        self.get(name).ok_or_else(|| format!("{name} is required"))
    }

    fn number<T>(&self, name: &str, lo: T, hi: T) -> Result<T, String>
    where
        T: FromStr + PartialOrd + Display + Copy,
    {
        ranged(name, self.required(name)?, lo, hi)
    }

    fn at_least<T>(&self, name: &str, lo: T) -> Result<T, String>
    where
        T: FromStr + PartialOrd + Display + Copy + Default,
    {
        at_least(name, self.required(name)?, lo)
    }
}

fn ranged<T>(flag: &str, text: &str, lo: T, hi: T) -> Result<T, String>
where
    T: FromStr + PartialOrd + Display + Copy,
{
    match text.parse::<T>() {
        Ok(n) if lo <= n && n <= hi => Ok(n),
        _ => Err(format!(
            "{flag} needs a number from {lo} to {hi}, got {text}"
        )),
    }
}

/// At least `lo`, up to the type's maximum (too long a number to print).
fn at_least<T>(flag: &str, text: &str, lo: T) -> Result<T, String>
where
    T: FromStr + PartialOrd + Display + Copy + Default,
{
    match text.parse::<T>() {
        Ok(n) if lo <= n => Ok(n),
        _ if lo == T::default() => Err(format!("{flag} needs a whole number, got {text}")),
        _ => Err(format!(
            "{flag} needs a number of at least {lo}, got {text}"
        )),
    }
}

/// The longest wait a timing flag takes: an hour.
const MAX_MS: u64 = 3_600_000;

fn millis(g: &Given, flag: &str, default: Duration) -> Result<Duration, String> {
    match g.given(flag) {
        Some(v) => Ok(Duration::from_millis(ranged(flag, v, 1, MAX_MS)?)),
        None => Ok(default),
    }
}

/// Heartbeat, failure timeout and request timeout: the pace gives the
/// defaults, the explicit flags override them.
fn timing(g: &Given, pace: &str) -> Result<Pace, String> {
    let defaults = match pace {
        "normal" => Pace::NORMAL,
        "demo" => Pace::DEMO,
        other => return Err(format!("--pace needs normal or demo, got {other}")),
    };
    let heartbeat = millis(g, "--heartbeat-ms", defaults.heartbeat)?;
    let timeout = millis(g, "--timeout-ms", defaults.timeout)?;
    if timeout < heartbeat * 2 {
        return Err(format!(
            "--timeout-ms must be at least twice --heartbeat-ms, got {} and {}",
            timeout.as_millis(),
            heartbeat.as_millis()
        ));
    }
    let request_timeout = millis(g, "--request-timeout-ms", defaults.request_timeout)?;
    Ok(Pace {
        heartbeat,
        timeout,
        request_timeout,
    })
}

/// `--cluster NAME`: printable without quoting, as the launcher prints the
/// command that restarts a node.
fn cluster_name(g: &Given) -> Result<Option<String>, String> {
    let Some(name) = g.given("--cluster") else {
        return Ok(None);
    };
    let fits = |b: u8| b.is_ascii_alphanumeric() || b"-_.".contains(&b);
    if name.is_empty() || name.len() > 64 || !name.bytes().all(fits) {
        return Err(format!(
            "--cluster needs 1 to 64 letters, digits, -, _ or ., got `{name}`"
        ));
    }
    Ok(Some(name.to_owned()))
}

fn log_level(g: &Given) -> Result<log::LevelFilter, String> {
    match g.required("--log-level")? {
        "off" => Ok(log::LevelFilter::Off),
        "error" => Ok(log::LevelFilter::Error),
        "warn" => Ok(log::LevelFilter::Warn),
        "info" => Ok(log::LevelFilter::Info),
        "debug" => Ok(log::LevelFilter::Debug),
        "trace" => Ok(log::LevelFilter::Trace),
        other => Err(format!(
            "--log-level needs off, error, warn, info, debug or trace, got {other}"
        )),
    }
}

/// Whether `text` ends in `:PORT` after a host: checked before resolving,
/// since the resolver's own "invalid socket address" names neither.
fn has_port(text: &str) -> bool {
    text.rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok())
}

fn resolve(text: &str) -> Result<SocketAddr, String> {
    text.to_socket_addrs()
        .map_err(|e| format!("cannot resolve `{text}`: {e}"))?
        .find(SocketAddr::is_ipv4)
        .or_else(|| text.to_socket_addrs().ok()?.next())
        .ok_or_else(|| format!("`{text}` resolves to no address"))
}

fn host_port(flag: &str, text: &str) -> Result<SocketAddr, String> {
    if !has_port(text) {
        return Err(format!("{flag} needs HOST:PORT, got {text}"));
    }
    resolve(text)
}

fn parse_node(g: &Given) -> Result<Command, String> {
    // A malformed value is named before a missing flag: it is the typo to fix.
    let http = g
        .given("--http")
        .map(|h| host_port("--http", h))
        .transpose()?;
    let id: NodeId = g.number("--id", 1, NodeId::MAX)?;
    let (peers, http) = match (g.given("--peers"), g.given("--servers")) {
        (Some(_), Some(_)) => return Err("give either --peers or --servers, not both".into()),
        (None, None) => return Err("--peers (or --servers) is required".into()),
        (Some(list), None) => {
            if g.on("--udp-port") || g.on("--http-port") {
                return Err("--udp-port and --http-port go with --servers, not --peers".into());
            }
            let http = http.ok_or("--http HOST:PORT is required with --peers")?;
            (parse_peers(list)?, http)
        }
        (None, Some(list)) => servers(g, id, list, http)?,
    };
    if !peers.iter().any(|(i, _)| *i == id) {
        return Err(format!("--id {id} is not one of the members"));
    }
    let pace = g.required("--pace")?;
    let Pace {
        heartbeat,
        timeout,
        request_timeout,
    } = timing(g, pace)?;
    let options = Options {
        id,
        peers,
        http,
        heartbeat,
        timeout,
        request_timeout,
        www: g.given("--www").map(PathBuf::from),
        cluster: cluster_name(g)?,
        allow_faults: g.on("--allow-faults"),
    };
    Ok(Command::Node(options, log_level(g)?))
}

/// Members by id, each id and address once, sorted.
fn members(
    flag: &str,
    items: Vec<(NodeId, SocketAddr, &str)>,
) -> Result<Vec<(NodeId, SocketAddr)>, String> {
    let mut peers: Vec<(NodeId, SocketAddr)> = Vec::new();
    for (id, addr, item) in items {
        if peers.iter().any(|(i, a)| *i == id || *a == addr) {
            return Err(format!("{flag}: `{item}` repeats an id or an address"));
        }
        peers.push((id, addr));
    }
    if peers.is_empty() {
        return Err(format!("{flag} lists no member"));
    }
    peers.sort();
    Ok(peers)
}

/// `1=HOST:PORT,2=HOST:PORT,...`
fn parse_peers(list: &str) -> Result<Vec<(NodeId, SocketAddr)>, String> {
    let mut items = Vec::new();
    for item in list.split(',').filter(|s| !s.is_empty()) {
        let (id, addr) = item
            .split_once('=')
            .ok_or_else(|| format!("--peers needs ID=HOST:PORT items, got `{item}`"))?;
        let id: NodeId = match id.parse() {
            Ok(n) if n >= 1 => n,
            _ => return Err(format!("--peers needs ids from 1 to 65535, got `{item}`")),
        };
        if !has_port(addr) {
            return Err(format!(
                "--peers needs HOST:PORT for member {id}, got {addr}"
            ));
        }
        items.push((id, resolve(addr)?, item));
    }
    members("--peers", items)
}

/// The lab's `--servers 10.1.0.1,10.1.0.2,...`: member i is the i-th address.
fn servers(
    g: &Given,
    id: NodeId,
    list: &str,
    http: Option<SocketAddr>,
) -> Result<(Vec<(NodeId, SocketAddr)>, SocketAddr), String> {
    let udp_port: u16 = g.number("--udp-port", 0, u16::MAX)?;
    let http_port: u16 = g.number("--http-port", 0, u16::MAX)?;
    let mut items = Vec::new();
    for (i, host) in list.split(',').filter(|s| !s.is_empty()).enumerate() {
        let host = host.trim();
        let member = NodeId::try_from(i + 1)
            .map_err(|_| format!("--servers lists more than {} members", NodeId::MAX))?;
        let addr = if host.contains(':') {
            if !has_port(host) {
                return Err(format!(
                    "--servers needs HOST or HOST:PORT for member {member}, got {host}"
                ));
            }
            resolve(host)?
        } else {
            resolve(&format!("{host}:{udp_port}"))?
        };
        items.push((member, addr, host));
    }
    let peers = members("--servers", items)?;
    let own = peers
        .iter()
        .find(|(i, _)| *i == id)
        .ok_or_else(|| format!("--id {id} is beyond the {} servers listed", peers.len()))?
        .1;
    Ok((peers, http.unwrap_or(SocketAddr::new(own.ip(), http_port))))
}

fn parse_cluster(g: &Given) -> Result<Command, String> {
    let demo = g.on("--demo");
    let nodes: u16 = g.number("--nodes", 1, 99)?;
    let http_base: u16 = g.number("--http-base", 1, u16::MAX)?;
    let udp_base: u16 = g.number("--udp-base", 1, u16::MAX)?;
    for (flag, base) in [("--http-base", http_base), ("--udp-base", udp_base)] {
        if base.checked_add(nodes).is_none() {
            return Err(format!(
                "{flag} {base} with {nodes} nodes would go past port 65535"
            ));
        }
    }
    if demo && g.on("--pace") {
        return Err("--demo sets --pace demo: give one or the other".into());
    }
    // Checked here so that a bad combination stops the launcher, not each node.
    timing(g, if demo { "demo" } else { g.required("--pace")? })?;
    log_level(g)?;
    let mut node_args = Vec::new();
    if demo {
        node_args.extend(["--pace", "demo", "--allow-faults"].map(String::from));
    }
    for flag in TIMING_FLAGS {
        if let Some(v) = g.given(flag.name) {
            node_args.push(flag.name.to_owned());
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

fn parse_bench(g: &Given) -> Result<Command, String> {
    Ok(Command::Bench(crate::tools::bench::BenchOptions {
        nodes: g.number("--nodes", 2, 100)?,
        clients: g.number("--clients", 1, 256)?,
        seconds: g.at_least("--seconds", 1)?,
        failovers: g.at_least("--failovers", 1)?,
        quick: g.on("--quick"),
        json: g.on("--json"),
    }))
}

fn parse_soak(g: &Given) -> Result<Command, String> {
    Ok(Command::Soak(crate::tools::soak::SoakOptions {
        nodes: g.number("--nodes", 3, 9)?,
        seconds: g.at_least("--seconds", 10)?,
        writers: g.number("--writers", 1, 64)?,
        kill_every: g.at_least("--kill-every", 2)?,
    }))
}

fn parse_sim(g: &Given) -> Result<Command, String> {
    if g.on("--report") {
        if g.on("--nodes") || g.on("--seeds") {
            return Err("--report takes no other flag (its sizes and seeds are fixed)".into());
        }
        return Ok(Command::SimReport);
    }
    let sizes = g
        .required("--nodes")?
        .split(',')
        .map(|n| ranged::<u16>("--nodes", n, 1, 128))
        .collect::<Result<Vec<_>, _>>()?;
    let seeds = g.at_least("--seeds", 0)?;
    Ok(Command::Sim { sizes, seeds })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The contract's ports with `--servers` (DESIGN.md).
    const DEFAULT_UDP_PORT: u16 = 7000;
    const DEFAULT_HTTP_PORT: u16 = 80;

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
                "--peers needs HOST:PORT for member 1, got nowhere",
            ),
            (
                "node --id 1 --peers 1=127.0.0.1:1 --http 127.0.0.1",
                "--http needs HOST:PORT, got 127.0.0.1",
            ),
            (
                "node --id 1 --peers 1=127.0.0.1:1 --http",
                "--http needs a value (HOST:PORT)",
            ),
            (
                "node --id 1 --http --peers 1=127.0.0.1:1",
                "--http needs a value (HOST:PORT)",
            ),
            (
                "node --id 1 --peers 1=127.0.0.1:1 --servers 127.0.0.1",
                "not both",
            ),
            (
                "node --id 1 --peers 1=127.0.0.1:1 --http 127.0.0.1:2 --udp-port 1",
                "go with --servers",
            ),
            (
                "node --id 1 --peers 1=127.0.0.1:1 --http 127.0.0.1:2 --allow-faults=yes",
                "--allow-faults is a switch and takes no value, got yes",
            ),
            (
                "node --id 1 --peers 1=127.0.0.1:1 --http 127.0.0.1:2 stray",
                "unexpected argument `stray`",
            ),
            (
                "node --id 0 --servers 127.0.0.1",
                "--id needs a number from 1 to 65535, got 0",
            ),
            (
                "node --id 1 --servers 127.0.0.1 --udp-port x",
                "--udp-port needs",
            ),
            ("node --id 1", "--peers (or --servers) is required"),
            ("node --id 1 --peers 1=127.0.0.1:1", "--http"),
            (
                "node --id x --peers 1=127.0.0.1:1 --http 127.0.0.1:2",
                "--id needs a number from 1 to 65535, got x",
            ),
            (
                "node --id 1 --peers 1=127.0.0.1:1 --http 127.0.0.1:2 --bogus 1",
                "unknown flag --bogus for `blackboard node`; see blackboard node --help",
            ),
            (
                "node --id 1 --peers 1=127.0.0.1:1 --http 127.0.0.1:2 --timeout-ms 60",
                "twice",
            ),
            ("node --id 4 --servers 10.1.0.1,10.1.0.2", "beyond"),
            (
                "node --id 1 --peers 1=127.0.0.1:1 --http 127.0.0.1:2 --log-level loud",
                "--log-level needs off, error, warn, info, debug or trace, got loud",
            ),
            (
                "cluster --nodes 0",
                "--nodes needs a number from 1 to 99, got 0",
            ),
            ("cluster --nodes 3 --nodes 4", "--nodes given twice"),
            (
                "cluster --allow-faults",
                "unknown flag --allow-faults for `blackboard cluster`",
            ),
            (
                "cluster --request-timeout-ms 0",
                "--request-timeout-ms needs",
            ),
            (
                "bench --nodes 1",
                "--nodes needs a number from 2 to 100, got 1",
            ),
            (
                "bench --clients many",
                "--clients needs a number from 1 to 256, got many",
            ),
            (
                "bench --seconds 0",
                "--seconds needs a number of at least 1, got 0",
            ),
            (
                "soak --seconds 9",
                "--seconds needs a number of at least 10, got 9",
            ),
            (
                "soak --kill-every 1",
                "--kill-every needs a number of at least 2, got 1",
            ),
            (
                "soak --writers 65",
                "--writers needs a number from 1 to 64, got 65",
            ),
            (
                "soak --nodes 10",
                "--nodes needs a number from 3 to 9, got 10",
            ),
            (
                "sim --nodes 3,200",
                "--nodes needs a number from 1 to 128, got 200",
            ),
            ("sim --seeds -1", "--seeds needs a whole number, got -1"),
            ("sim -x", "unknown flag -x for `blackboard sim`"),
            ("frobnicate", "unknown command `frobnicate`"),
            ("help frobnicate", "unknown command `frobnicate`"),
            ("", "no command given"),
        ];
        for (line, why) in cases {
            let err = parse(&args(line)).unwrap_err();
            assert!(err.contains(why), "`{line}`: {err}");
        }
    }

    fn help_of(line: &str) -> String {
        match parse(&args(line)) {
            Ok(Command::Help(text)) => text,
            other => panic!("`{line}` is not help: {other:?}"),
        }
    }

    #[test]
    fn help_and_version() {
        for line in ["--help", "-h", "help"] {
            assert_eq!(help_of(line), usage());
        }
        for spec in COMMANDS {
            let own = spec.help();
            for line in [
                format!("{} --help", spec.name),
                format!("{} -h", spec.name),
                format!("help {}", spec.name),
                format!("--help {}", spec.name),
                // The help wins over a mistake before it: it shows the fix.
                format!("{} --bogus --help", spec.name),
            ] {
                assert_eq!(help_of(&line), own, "`{line}`");
            }
            assert!(usage().contains(spec.summary), "{}", spec.name);
        }
        assert!(help_of("node --help").contains("--http HOST:PORT"));
        assert!(!help_of("node --help").contains("--kill-every"));
        assert!(help_of("soak --help").contains("--kill-every S"));
        assert!(matches!(parse(&args("--version")), Ok(Command::Version)));
        assert!(version().contains(&format!("wire protocol {WIRE_VERSION}")));
    }

    #[test]
    fn help_pages_fit_80_columns() {
        for spec in COMMANDS {
            // Usage lines show whole commands: they are as long as those.
            for line in spec
                .help()
                .lines()
                .filter(|l| !l.starts_with("  blackboard "))
            {
                assert!(line.chars().count() <= 80, "{}: `{line}`", spec.name);
            }
        }
    }

    #[test]
    fn every_default_parses_and_the_port_defaults_agree() {
        let default = |spec: &Spec, name: &str| {
            spec.flags()
                .find(|f| f.name == name)
                .and_then(|f| f.default)
                .map(str::to_owned)
        };
        assert_eq!(
            default(&NODE, "--udp-port"),
            Some(DEFAULT_UDP_PORT.to_string())
        );
        assert_eq!(
            default(&NODE, "--http-port"),
            Some(DEFAULT_HTTP_PORT.to_string())
        );
        let Ok(Command::Bench(b)) = parse(&args("bench")) else {
            panic!("bench");
        };
        assert_eq!((b.nodes, b.clients, b.seconds, b.failovers), (3, 16, 5, 5));
        assert!(!b.quick && !b.json);
        let Ok(Command::Bench(b)) = parse(&args("bench --json --nodes=5 --quick")) else {
            panic!("bench");
        };
        assert!(b.quick && b.json && b.nodes == 5);
        let Ok(Command::Soak(s)) = parse(&args("soak")) else {
            panic!("soak");
        };
        assert_eq!(
            (s.nodes, s.seconds, s.writers, s.kill_every),
            (3, 180, 4, 20)
        );
        let Ok(Command::Sim { sizes, seeds }) = parse(&args("sim")) else {
            panic!("sim");
        };
        assert_eq!((sizes, seeds), (vec![3, 5, 9, 15, 25, 50, 100], 20));
        let Ok(Command::Cluster(c)) = parse(&args("cluster")) else {
            panic!("cluster");
        };
        assert_eq!((c.nodes, c.http_base, c.udp_base), (5, 8001, 7001));
        let Ok(Command::Node(_, level)) = parse(&args(MEMBER)) else {
            panic!("node");
        };
        assert_eq!(level, log::LevelFilter::Info);
    }

    /// The README shows every command's `--help` as it is: one source.
    #[test]
    fn readme_shows_every_help_verbatim() {
        let readme = include_str!("../../README.md");
        for spec in COMMANDS {
            let help = spec.help();
            assert!(
                readme.contains(&format!("```text\n{help}```\n")),
                "README.md lacks `blackboard {} --help` as it is now; paste this \
                 into its Commands section:\n\n```text\n{help}```\n",
                spec.name
            );
        }
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
        assert!(
            unknown.contains("--pace needs normal or demo, got brisk"),
            "{unknown}"
        );
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
            assert!(err.contains("--cluster needs 1 to 64"), "`{bad}`: {err}");
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
            (
                "cluster --pace slow",
                "--pace needs normal or demo, got slow",
            ),
            (
                "cluster --udp-base 0",
                "--udp-base needs a number from 1 to 65535, got 0",
            ),
            ("cluster --http-base 65530 --nodes 9", "past port 65535"),
        ] {
            let err = cluster(line).unwrap_err();
            assert!(err.contains(why), "`{line}`: {err}");
        }
    }
}
