//! Golden interaction tests, in the style of etcd raft's `testdata/*.txt`.
//!
//! Each `tests/interaction/*.txt` file is a story told as commands (lines
//! starting with `> `, with `#` comment lines and blank lines between them),
//! each followed by the exact output it produces. The harness drives a few
//! real `blackboard::core::Node`s by hand: every node has a fixed seed, the
//! network delivers only when told, and time moves only when told, so a run
//! is deterministic. It re-runs every command and compares the regenerated
//! file with the stored one; on a mismatch it fails with a line diff.
//!
//! `BB_REWRITE=1 cargo test --test interaction` writes the actual output
//! into the files instead (review the change with `git diff`).
//!
//! Commands:
//! - `add-nodes N`: members 1..N, node i seeded with `100 * i` (`+ k` at its
//!   k-th restart); prints each one's attribute and rank.
//! - `tick NODE DURATION`: advance one node's clock, firing its timers when due.
//! - `advance DURATION`: the same for every live node, timers in time order.
//! - `deliver [FROM->TO]`: deliver what is in flight (all, or one link; `*`
//!   matches any node); what each delivery produced is indented under it.
//!   Datagrams sent meanwhile stay in flight for the next `deliver`.
//! - `drop [FROM->TO]`: lose what is in flight (all, or on one link).
//! - `stabilize`: deliver and fire timers already due, until nothing is in
//!   flight (time does not move).
//! - `run DURATION`: every node's clock runs for DURATION with instant
//!   delivery: whatever is in flight is delivered before the next timer.
//! - any command ending in ` quiet` prints only role lines and answers.
//! - `propose NODE TEXT`, `modify NODE ID TEXT`, `delete NODE ID`: a client
//!   write at NODE; its answer is printed when it comes out of any node.
//! - `load NODE COUNT`: COUNT writes `w1`.. at NODE, run to completion (as
//!   `stabilize`) printing only how many were answered and the last role
//!   line of each node that changed.
//! - `read NODE`: a linearizable read at NODE.
//! - `cut NODE`: from now on every datagram sent to or from NODE is lost (it
//!   is printed with `(cut: lost)` and never in flight); `heal` ends all cuts.
//! - `crash NODE`: the node is lost, with the datagrams in flight to it.
//! - `restart NODE`: a fresh node (a reboot: no memory, a new seed).
//! - `status NODE`, `state`: role, epoch, leader, log, commit, applied, board.
//!
//! Output: a datagram is `FROM->TO Message ...` (see `fmt_message`); epochs are
//! `number.leader` (with `bK` for the leader's K-th reboot), log positions
//! `seq@epoch`, boots `IDbK`. A node's role line `[ID] role ...` follows any
//! input that changed it; answers read `answer cTOKEN ...`. A command that
//! prints nothing prints `ok`.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

mod listing;

use blackboard::core::{Config, Node, Time, Token};
use blackboard::wire::{self, Command, Entry, Epoch, Incarnation, LogPos, Message, NodeId, Op};

const CLUSTER: u32 = 9;

fn config(id: NodeId, members: &[NodeId]) -> Config {
    Config {
        cluster: CLUSTER,
        ..Config::new(id, members.to_vec())
    }
}

/// One member: its node (none while crashed) and its clock.
struct Slot {
    node: Option<Node>,
    /// This member's clock, µs.
    now: u64,
    /// Boots so far (0: the first), and the boot nonce of each one seen.
    boots: u32,
    nonces: BTreeMap<u32, u32>,
    /// What the last role line said, so that only changes are printed.
    shown: String,
}

struct InFlight {
    from: NodeId,
    to: NodeId,
    payload: Vec<u8>,
}

#[derive(Default)]
struct Env {
    members: Vec<NodeId>,
    slots: BTreeMap<NodeId, Slot>,
    net: VecDeque<InFlight>,
    next_token: Token,
    /// Tokens of client writes and reads, with what they asked.
    tokens: BTreeMap<Token, String>,
    /// Links (from, to) that lose everything sent over them.
    cut: std::collections::BTreeSet<(NodeId, NodeId)>,
}

fn seed(id: NodeId, boot: u32) -> u64 {
    100 * u64::from(id) + u64::from(boot)
}

fn parse_duration(s: &str) -> Result<u64, String> {
    let (num, unit) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1_000)
    } else if let Some(n) = s.strip_suffix("us") {
        (n, 1)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1_000_000)
    } else {
        (s, 1_000)
    };
    num.parse::<u64>()
        .map(|n| n * unit)
        .map_err(|_| format!("bad duration {s:?}"))
}

fn fmt_time(us: u64) -> String {
    if us % 1000 == 0 {
        format!("{}ms", us / 1000)
    } else {
        format!("{:.3}ms", us as f64 / 1000.0)
    }
}

/// `FROM->TO`, each side a node id or `*`.
type Link = (Option<NodeId>, Option<NodeId>);

fn parse_link(s: &str) -> Result<Link, String> {
    let (a, b) = s
        .split_once("->")
        .ok_or_else(|| format!("bad link {s:?} (FROM->TO)"))?;
    let side = |x: &str| -> Result<Option<NodeId>, String> {
        if x == "*" {
            Ok(None)
        } else {
            x.parse().map(Some).map_err(|_| format!("bad node {x:?}"))
        }
    };
    Ok((side(a)?, side(b)?))
}

fn on_link(link: Option<Link>, from: NodeId, to: NodeId) -> bool {
    link.is_none_or(|(a, b)| a.is_none_or(|a| a == from) && b.is_none_or(|b| b == to))
}

impl Env {
    fn slot(&mut self, id: NodeId) -> Result<&mut Slot, String> {
        self.slots
            .get_mut(&id)
            .ok_or_else(|| format!("no node {id}"))
    }

    fn node_arg(&self, s: Option<&str>) -> Result<NodeId, String> {
        let id: NodeId = s
            .ok_or("a node id is missing")?
            .parse()
            .map_err(|_| format!("bad node id {s:?}"))?;
        if !self.slots.contains_key(&id) {
            return Err(format!("no node {id}"));
        }
        Ok(id)
    }

    // ----- formatting ---------------------------------------------------

    fn boot_label(&self, id: NodeId, nonce: u32) -> String {
        match self.slots.get(&id).and_then(|s| s.nonces.get(&nonce)) {
            Some(k) => format!("{id}b{k}"),
            None => format!("{id}b?{nonce}"),
        }
    }

    fn epoch(&self, e: Epoch) -> String {
        if e == Epoch::default() {
            return "0.0".into();
        }
        match self
            .slots
            .get(&e.leader)
            .and_then(|s| s.nonces.get(&e.boot))
        {
            Some(0) => format!("{}.{}", e.number, e.leader),
            Some(k) => format!("{}.{}b{k}", e.number, e.leader),
            None => format!("{}.{}b?{}", e.number, e.leader, e.boot),
        }
    }

    fn pos(&self, p: LogPos) -> String {
        format!("{}@{}", p.seq, self.epoch(p.tag))
    }

    fn incarnations(&self, list: &[Incarnation]) -> String {
        let names: Vec<String> = list.iter().map(|i| self.boot_label(i.id, i.boot)).collect();
        format!("[{}]", names.join(","))
    }

    fn mask(&self, bits: u128) -> String {
        let ids: Vec<String> = self
            .members
            .iter()
            .enumerate()
            .filter(|(i, _)| bits & (1 << i) != 0)
            .map(|(_, id)| id.to_string())
            .collect();
        format!("[{}]", ids.join(","))
    }

    fn request(&self, r: &wire::Request) -> String {
        let op = match &r.op {
            Op::Add { text } => format!("add {text:?}"),
            Op::Modify { id, text } => format!("modify {id} {text:?}"),
            Op::Delete { id } => format!("delete {id}"),
        };
        format!(
            "{op} ({}#{} done<{})",
            self.boot_label(r.origin, r.boot),
            r.number,
            r.finished_below
        )
    }

    fn command(&self, c: &Command) -> String {
        match c {
            Command::Noop => "noop".into(),
            Command::Client(r) => self.request(r),
        }
    }

    fn entries(&self, entries: &[Entry]) -> String {
        let list: Vec<String> = entries
            .iter()
            .map(|e| format!("{}:{}", self.epoch(e.tag), self.command(&e.command)))
            .collect();
        format!("[{}]", list.join(", "))
    }

    fn fmt_message(&self, to: NodeId, m: &Message) -> String {
        let flag = |on: bool, name: &str| {
            if on {
                format!(" {name}")
            } else {
                String::new()
            }
        };
        match m {
            Message::Election => "Election".into(),
            Message::Alive => "Alive".into(),
            Message::Prepare { epoch, trial } => {
                format!("Prepare {}{}", self.epoch(*epoch), flag(*trial, "trial"))
            }
            Message::Promise {
                epoch,
                last,
                commit,
                trial,
            } => format!(
                "Promise {} last={} commit={}{}",
                self.epoch(*epoch),
                self.pos(*last),
                self.pos(*commit),
                flag(*trial, "trial")
            ),
            Message::NoState { epoch, trial } => {
                format!("NoState {}{}", self.epoch(*epoch), flag(*trial, "trial"))
            }
            Message::Reject {
                epoch,
                promised,
                leader_alive,
            } => format!(
                "Reject {} promised={}{}",
                self.epoch(*epoch),
                self.epoch(*promised),
                flag(*leader_alive, "leader_alive")
            ),
            Message::Append {
                epoch,
                prev,
                commit,
                commands,
            } => {
                let list: Vec<String> = commands.iter().map(|c| self.command(c)).collect();
                format!(
                    "Append {} prev={} commit={commit} [{}]",
                    self.epoch(*epoch),
                    self.pos(*prev),
                    list.join(", ")
                )
            }
            Message::Heartbeat {
                epoch,
                last,
                commit,
                alive,
                recovering,
                fresh,
                round,
            } => {
                let mut s = format!(
                    "Heartbeat {} last={} commit={commit} alive={} round={round}",
                    self.epoch(*epoch),
                    self.pos(*last),
                    self.mask(*alive)
                );
                if !recovering.is_empty() {
                    let _ = write!(s, " recovering={}", self.incarnations(recovering));
                }
                if !fresh.is_empty() {
                    let _ = write!(s, " fresh={}", self.incarnations(fresh));
                }
                s
            }
            Message::Ack {
                epoch,
                matched,
                recovering,
                round,
            } => format!(
                "Ack {} matched={matched} round={round}{}",
                self.epoch(*epoch),
                flag(*recovering, "recovering")
            ),
            Message::Pull {
                epoch,
                last,
                commit,
                snapshot,
            } => {
                let mut s = format!(
                    "Pull {} last={} commit={commit}",
                    self.epoch(*epoch),
                    self.pos(*last)
                );
                if let Some(c) = snapshot {
                    let _ = write!(s, " snapshot={}+{}", self.pos(c.at), c.offset);
                }
                s
            }
            Message::Entries {
                epoch,
                prev,
                entries,
                end_of_batch,
            } => format!(
                "Entries {} prev={} {}{}",
                self.epoch(*epoch),
                self.pos(*prev),
                self.entries(entries),
                flag(*end_of_batch, "end")
            ),
            Message::Chunk {
                epoch,
                at,
                total,
                offset,
                data,
                end_of_batch,
            } => format!(
                "Chunk {} at={} bytes {offset}..{} of {total}{}",
                self.epoch(*epoch),
                self.pos(*at),
                u64::from(*offset) + data.len() as u64,
                flag(*end_of_batch, "end")
            ),
            Message::Forward { requests } => {
                let list: Vec<String> = requests.iter().map(|r| self.request(r)).collect();
                format!("Forward [{}]", list.join(", "))
            }
            Message::Read { batch } => format!("Read batch={batch}"),
            Message::ReadIndex {
                epoch,
                batch,
                index,
            } => format!(
                "ReadIndex {} batch={batch} index={index}",
                self.epoch(*epoch)
            ),
            Message::Probe { .. } => "Probe".into(),
            Message::Info {
                for_boot,
                promised,
                active,
                ..
            } => format!(
                "Info for={} promised={}{}",
                self.boot_label(to, *for_boot),
                self.epoch(*promised),
                flag(*active, "active")
            ),
            Message::Superseded { stale } => format!("Superseded stale={stale}"),
        }
    }

    fn fmt_datagram(&self, from: NodeId, to: NodeId, payload: &[u8]) -> String {
        match wire::decode(payload) {
            Ok(env) => format!("{from}->{to} {}", self.fmt_message(to, &env.message)),
            Err(e) => format!("{from}->{to} undecodable {e:?}"),
        }
    }

    fn summary(&self, id: NodeId) -> String {
        let slot = &self.slots[&id];
        let Some(node) = &slot.node else {
            return "crashed".into();
        };
        let leader = node.leader().map_or("none".into(), |l| l.to_string());
        format!(
            "{} epoch={} leader={leader} commit={} applied={}",
            node.role(Time(slot.now)).name(),
            self.epoch(node.promised()),
            node.commit(),
            node.applied()
        )
    }

    // ----- driving ------------------------------------------------------

    /// Drains what node `id` wants done after an input: datagrams go in
    /// flight, answers and role changes are printed.
    fn collect(&mut self, id: NodeId, indent: &str, out: &mut Vec<String>) {
        let mut sent = Vec::new();
        let mut answers = Vec::new();
        {
            let slot = self.slots.get_mut(&id).expect("a member");
            let Some(node) = slot.node.as_mut() else {
                return;
            };
            let now = Time(slot.now);
            while let Some(t) = node.poll_transmit(now) {
                assert!(sent.len() < 10_000, "node {id} sends without end");
                if let Ok(env) = wire::decode(&t.payload) {
                    let boots = slot.boots;
                    slot.nonces.entry(env.boot).or_insert(boots);
                }
                sent.push(t);
            }
            while let Some(r) = node.poll_reply() {
                let what = match r.result {
                    Ok(done) => format!("ok {:?} seq={}", done.outcome, done.seq),
                    Err(_) => "unavailable".into(),
                };
                answers.push((r.token, what));
            }
            while let Some(r) = node.poll_read() {
                let what = match r.result {
                    Ok(seq) => format!("ok board at seq={seq}"),
                    Err(_) => "unavailable".into(),
                };
                answers.push((r.token, what));
            }
        }
        for t in sent {
            let line = self.fmt_datagram(id, t.to, &t.payload);
            if self.cut.contains(&(id, t.to)) {
                out.push(format!("{indent}{line} (cut: lost)"));
                continue;
            }
            out.push(format!("{indent}{line}"));
            self.net.push_back(InFlight {
                from: id,
                to: t.to,
                payload: t.payload,
            });
        }
        for (token, what) in answers {
            let asked = self.tokens.get(&token).cloned().unwrap_or_default();
            out.push(format!("{indent}answer c{token} ({asked}) at {id}: {what}"));
        }
        let summary = self.summary(id);
        if self.slots[&id].shown != summary {
            out.push(format!("{indent}[{id}] {summary}"));
            self.slots.get_mut(&id).expect("a member").shown = summary;
        }
    }

    fn boot(&mut self, id: NodeId, out: &mut Vec<String>) {
        let members = self.members.clone();
        let slot = self.slots.get_mut(&id).expect("a member");
        let node = Node::new(config(id, &members), seed(id, slot.boots), Time(slot.now));
        let rank = node.rank();
        slot.node = Some(node);
        out.push(format!(
            "{id}: boot {} attribute {} (rank {rank})",
            slot.boots, rank.attribute
        ));
    }

    /// Fires node `id`'s timers due up to its clock `until`.
    fn fire_timers(&mut self, id: NodeId, until: u64, out: &mut Vec<String>) -> bool {
        let mut fired = false;
        for _ in 0..1000 {
            let slot = self.slots.get_mut(&id).expect("a member");
            let Some(node) = slot.node.as_mut() else {
                return fired;
            };
            let due = node.poll_timeout().0;
            if due > until {
                return fired;
            }
            slot.now = slot.now.max(due);
            let now = slot.now;
            node.handle_timeout(Time(now));
            fired = true;
            let mut lines = Vec::new();
            self.collect(id, "  ", &mut lines);
            if !lines.is_empty() {
                out.push(format!("{id} timeout @{}", fmt_time(now)));
                out.extend(lines);
            }
        }
        panic!("node {id}'s timer stays due at {}", fmt_time(until));
    }

    /// Advances the clocks of `ids` by `by`, firing timers in time order.
    fn advance(&mut self, ids: &[NodeId], by: u64, out: &mut Vec<String>) {
        let targets: BTreeMap<NodeId, u64> = ids
            .iter()
            .map(|&id| (id, self.slots[&id].now + by))
            .collect();
        for _ in 0..100_000 {
            let next = targets
                .iter()
                .filter_map(|(&id, &target)| {
                    let node = self.slots[&id].node.as_ref()?;
                    let due = node.poll_timeout().0.max(self.slots[&id].now);
                    (due <= target).then_some((due, id))
                })
                .min();
            let Some((due, id)) = next else {
                for (id, target) in targets {
                    self.slots.get_mut(&id).expect("a member").now = target;
                }
                return;
            };
            self.fire_timers(id, due, out);
        }
        panic!("timers fire without end");
    }

    /// Delivers what is in flight now on `link`; returns whether any was.
    fn deliver(&mut self, link: Option<Link>, out: &mut Vec<String>) -> bool {
        let (now, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.net)
            .into_iter()
            .partition(|d| on_link(link, d.from, d.to));
        self.net = later.into();
        let any = !now.is_empty();
        for d in now {
            out.push(self.fmt_datagram(d.from, d.to, &d.payload));
            let slot = self.slots.get_mut(&d.to).expect("a member");
            let at = slot.now;
            match slot.node.as_mut() {
                Some(node) => node.handle_datagram(Time(at), d.from, &d.payload),
                None => {
                    out.push(format!("  lost: {} is down", d.to));
                    continue;
                }
            }
            self.collect(d.to, "  ", out);
        }
        any
    }

    /// Runs every live node for `by` with instant delivery: whatever is in
    /// flight is delivered before the next timer fires.
    fn run_for(&mut self, by: u64, out: &mut Vec<String>) -> Result<(), String> {
        let ids: Vec<NodeId> = self.slots.keys().copied().collect();
        let targets: BTreeMap<NodeId, u64> = ids
            .iter()
            .map(|&id| (id, self.slots[&id].now + by))
            .collect();
        for _ in 0..100_000 {
            if self.deliver(None, out) {
                continue;
            }
            let next = targets
                .iter()
                .filter_map(|(&id, &target)| {
                    let node = self.slots[&id].node.as_ref()?;
                    let due = node.poll_timeout().0.max(self.slots[&id].now);
                    (due <= target).then_some((due, id))
                })
                .min();
            let Some((due, _)) = next else {
                for (id, target) in targets {
                    self.slots.get_mut(&id).expect("a member").now = target;
                }
                return Ok(());
            };
            // Every clock moves to the instant of the next timer.
            for (&id, &target) in &targets {
                let slot = self.slots.get_mut(&id).expect("a member");
                slot.now = slot.now.max(due.min(target));
            }
            for &id in targets.keys() {
                self.fire_timers(id, due, out);
            }
        }
        Err("run: events without end".into())
    }

    fn submit(&mut self, id: NodeId, op: Op, out: &mut Vec<String>) {
        self.next_token += 1;
        let token = self.next_token;
        let asked = match &op {
            Op::Add { text } => format!("add {text:?}"),
            Op::Modify { id, text } => format!("modify {id} {text:?}"),
            Op::Delete { id } => format!("delete {id}"),
        };
        out.push(format!("c{token}: {asked} at {id}"));
        self.tokens.insert(token, asked);
        let slot = self.slots.get_mut(&id).expect("a member");
        let now = slot.now;
        if let Some(node) = slot.node.as_mut() {
            node.handle_request(Time(now), token, op);
        }
        self.collect(id, "  ", out);
    }

    fn status(&self, id: NodeId, out: &mut Vec<String>) {
        let slot = &self.slots[&id];
        let Some(node) = &slot.node else {
            out.push(format!("{id}: crashed"));
            return;
        };
        let log = node.log();
        out.push(format!(
            "{id}: {} (boot {}, clock {}) log={}..{}",
            self.summary(id),
            slot.boots,
            fmt_time(slot.now),
            log.base().seq,
            self.pos(log.last()),
        ));
        let mut board: Vec<String> = node
            .board()
            .entries()
            .map(|(k, v)| format!("{k}:{v:?}"))
            .collect();
        // A long board shows its ends and its size.
        if board.len() > 8 {
            let n = board.len();
            board.splice(3..n - 2, [format!("... {n} entries ...")]);
        }
        out.push(format!("  board [{}]", board.join(", ")));
        let dropped = &node.counters().dropped;
        if !dropped.is_empty() {
            let list: Vec<String> = dropped.iter().map(|(k, v)| format!("{k}={v}")).collect();
            out.push(format!("  refused {}", list.join(" ")));
        }
    }

    fn run(&mut self, line: &str) -> Result<Vec<String>, String> {
        let mut out = Vec::new();
        // `quiet` at the end: print only role changes and answers.
        let (line, quiet) = match line.strip_suffix(" quiet") {
            Some(l) => (l, true),
            None => (line, false),
        };
        let mut args = line.split_whitespace();
        let cmd = args.next().ok_or("empty command")?;
        match cmd {
            "add-nodes" => {
                let n: NodeId = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .ok_or("add-nodes N")?;
                let first = self.members.len() as NodeId + 1;
                self.members.extend(first..first + n);
                for id in first..first + n {
                    self.slots.insert(
                        id,
                        Slot {
                            node: None,
                            now: 0,
                            boots: 0,
                            nonces: BTreeMap::new(),
                            shown: String::new(),
                        },
                    );
                    self.boot(id, &mut out);
                }
                for id in first..first + n {
                    self.collect(id, "  ", &mut out);
                }
            }
            "tick" => {
                let id = self.node_arg(args.next())?;
                let by = parse_duration(args.next().ok_or("tick NODE DURATION")?)?;
                self.advance(&[id], by, &mut out);
            }
            "advance" => {
                let by = parse_duration(args.next().ok_or("advance DURATION")?)?;
                let ids: Vec<NodeId> = self.slots.keys().copied().collect();
                self.advance(&ids, by, &mut out);
            }
            "deliver" => {
                let link = args.next().map(parse_link).transpose()?;
                self.deliver(link, &mut out);
            }
            "drop" => {
                let link = args.next().map(parse_link).transpose()?;
                let (gone, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.net)
                    .into_iter()
                    .partition(|d| on_link(link, d.from, d.to));
                self.net = kept.into();
                for d in gone {
                    out.push(format!(
                        "dropped {}",
                        self.fmt_datagram(d.from, d.to, &d.payload)
                    ));
                }
            }
            "run" => {
                let by = parse_duration(args.next().ok_or("run DURATION")?)?;
                self.run_for(by, &mut out)?;
            }
            "stabilize" => {
                let ids: Vec<NodeId> = self.slots.keys().copied().collect();
                let mut settled = false;
                for _ in 0..200 {
                    let delivered = self.deliver(None, &mut out);
                    let mut fired = false;
                    for &id in &ids {
                        let now = self.slots[&id].now;
                        fired |= self.fire_timers(id, now, &mut out);
                    }
                    if !delivered && !fired {
                        settled = true;
                        break;
                    }
                }
                if !settled {
                    return Err("stabilize: still busy after 200 rounds".into());
                }
            }
            "propose" => {
                let id = self.node_arg(args.next())?;
                let text = args.collect::<Vec<_>>().join(" ");
                self.submit(id, Op::Add { text }, &mut out);
            }
            "modify" => {
                let id = self.node_arg(args.next())?;
                let entry = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .ok_or("modify NODE ID TEXT")?;
                let text = args.collect::<Vec<_>>().join(" ");
                self.submit(id, Op::Modify { id: entry, text }, &mut out);
            }
            "delete" => {
                let id = self.node_arg(args.next())?;
                let entry = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .ok_or("delete NODE ID")?;
                self.submit(id, Op::Delete { id: entry }, &mut out);
            }
            "load" => {
                let id = self.node_arg(args.next())?;
                let count: u64 = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .ok_or("load NODE COUNT")?;
                let mut lines = Vec::new();
                for k in 1..=count {
                    let text = format!("w{k}");
                    self.submit(id, Op::Add { text }, &mut lines);
                }
                let ids: Vec<NodeId> = self.slots.keys().copied().collect();
                for _ in 0..1000 {
                    let delivered = self.deliver(None, &mut lines);
                    let mut fired = false;
                    for &n in &ids {
                        let now = self.slots[&n].now;
                        fired |= self.fire_timers(n, now, &mut lines);
                    }
                    if !delivered && !fired {
                        break;
                    }
                }
                let ok = lines.iter().filter(|l| l.contains(": ok ")).count();
                out.push(format!(
                    "{count} writes w1..w{count} at {id}: {ok} answered ok"
                ));
                // Only where each node ended up, not every step on the way.
                let mut last: BTreeMap<String, String> = BTreeMap::new();
                for l in lines {
                    let t = l.trim_start();
                    if let Some((who, _)) = t.strip_prefix('[').and_then(|r| r.split_once(']')) {
                        last.insert(who.to_owned(), t.to_owned());
                    }
                }
                out.extend(last.into_values());
            }
            "read" => {
                let id = self.node_arg(args.next())?;
                self.next_token += 1;
                let token = self.next_token;
                self.tokens.insert(token, "read".into());
                out.push(format!("c{token}: read at {id}"));
                let slot = self.slot(id)?;
                let now = slot.now;
                if let Some(node) = slot.node.as_mut() {
                    node.handle_read(Time(now), token);
                }
                self.collect(id, "  ", &mut out);
            }
            "crash" => {
                let id = self.node_arg(args.next())?;
                self.slot(id)?.node = None;
                let (gone, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.net)
                    .into_iter()
                    .partition(|d| d.to == id);
                self.net = kept.into();
                for d in gone {
                    out.push(format!(
                        "lost {}",
                        self.fmt_datagram(d.from, d.to, &d.payload)
                    ));
                }
                self.collect(id, "", &mut out);
                let summary = self.summary(id);
                out.push(format!("[{id}] {summary}"));
                self.slot(id)?.shown = summary;
            }
            "restart" => {
                let id = self.node_arg(args.next())?;
                self.slot(id)?.boots += 1;
                self.boot(id, &mut out);
                self.collect(id, "  ", &mut out);
            }
            "cut" => {
                let id = self.node_arg(args.next())?;
                for &other in &self.members {
                    if other != id {
                        self.cut.insert((id, other));
                        self.cut.insert((other, id));
                    }
                }
            }
            "heal" => self.cut.clear(),
            "status" => {
                let id = self.node_arg(args.next())?;
                self.status(id, &mut out);
            }
            "state" => {
                for id in self.slots.keys().copied().collect::<Vec<_>>() {
                    self.status(id, &mut out);
                }
                if !self.net.is_empty() {
                    out.push(format!("in flight: {}", self.net.len()));
                }
            }
            other => return Err(format!("unknown command {other:?}")),
        }
        if quiet {
            out = out
                .into_iter()
                .filter_map(|l| {
                    let t = l.trim_start();
                    (t.starts_with('[') || t.starts_with("answer")).then(|| t.to_owned())
                })
                .collect();
        }
        if out.is_empty() {
            out.push("ok".into());
        }
        Ok(out)
    }
}

// ----- the golden files ----------------------------------------------------

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interaction")
}

/// Re-runs the script in `text`: comments, blank lines and commands are kept,
/// every command's old output is replaced by what it prints now.
fn replay(text: &str) -> Result<String, String> {
    let mut env = Env::default();
    let mut got = String::new();
    for (n, line) in text.lines().enumerate() {
        if let Some(cmd) = line.strip_prefix("> ") {
            got.push_str(line);
            got.push('\n');
            let out = env.run(cmd).map_err(|e| format!("line {}: {e}", n + 1))?;
            for l in out {
                assert!(
                    !l.is_empty() && !l.starts_with('#') && !l.starts_with("> "),
                    "output line {l:?} would read as part of the script"
                );
                got.push_str(&l);
                got.push('\n');
            }
        } else if line.is_empty() || line.starts_with('#') {
            got.push_str(line);
            got.push('\n');
        }
        // Anything else is a previous output line: regenerated above.
    }
    Ok(got)
}

/// A line diff (longest common subsequence) of `want` against `got`, with
/// two lines of context and line numbers of each side.
fn diff(want: &str, got: &str) -> String {
    let a: Vec<&str> = want.lines().collect();
    let b: Vec<&str> = got.lines().collect();
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    // (tag, expected line number, got line number, text)
    let mut ops: Vec<(char, usize, usize, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            ops.push((' ', i + 1, j + 1, a[i]));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            ops.push(('-', i + 1, j, a[i]));
            i += 1;
        } else {
            ops.push(('+', i, j + 1, b[j]));
            j += 1;
        }
    }
    let near = |k: usize| {
        ops[k.saturating_sub(2)..(k + 3).min(ops.len())]
            .iter()
            .any(|o| o.0 != ' ')
    };
    let mut s = String::from("--- expected (file)\n+++ got\n");
    let mut gap = false;
    for (k, &(tag, i, j, line)) in ops.iter().enumerate() {
        if !near(k) {
            gap = true;
            continue;
        }
        if gap {
            s.push_str("@@\n");
            gap = false;
        }
        let _ = match tag {
            '-' => writeln!(s, "-{i:>4}      | {line}"),
            '+' => writeln!(s, "+     {j:>4} | {line}"),
            _ => writeln!(s, " {i:>4} {j:>4} | {line}"),
        };
    }
    s
}

fn run_file(name: &str) {
    let path = dir().join(name);
    let want = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let got = replay(&want).unwrap_or_else(|e| panic!("{name}: {e}"));
    if got == want {
        return;
    }
    if std::env::var_os("BB_REWRITE").is_some_and(|v| v == "1") {
        fs::write(&path, &got).expect("rewrite the golden file");
        return;
    }
    panic!(
        "{name}: the output differs from the file\n{}\n(after an intended change: \
         BB_REWRITE=1 cargo test --test interaction, then review git diff)",
        diff(&want, &got)
    );
}

macro_rules! scripts {
    ($($test:ident => $file:literal,)*) => {
        $(#[test] fn $test() { run_file($file); })*

        #[test]
        fn every_script_file_has_a_test() {
            let files = listing::txt_files(&dir());
            let mut listed = vec![$($file.to_string()),*];
            listed.sort();
            assert_eq!(files, listed, "tests/interaction/*.txt and the scripts! list differ");
        }
    };
}

scripts! {
    write_at_leader => "write_at_leader.txt",
    write_at_follower => "write_at_follower.txt",
    leader_crash => "leader_crash.txt",
    reboot_recovery => "reboot_recovery.txt",
    reboot_snapshot => "reboot_snapshot.txt",
    takeover_lagging => "takeover_lagging.txt",
    trial_refuses_cut_off => "trial_refuses_cut_off.txt",
    linearizable_read => "linearizable_read.txt",
}

/// Prints what a script does, without comparing: `BB_SCRIPT=path cargo test
/// --test interaction try_script -- --ignored --nocapture`.
#[test]
#[ignore = "a tool: needs BB_SCRIPT"]
fn try_script() {
    let path = std::env::var("BB_SCRIPT").expect("BB_SCRIPT=<file>");
    let text = fs::read_to_string(path).expect("script");
    print!("{}", replay(&text).unwrap_or_else(|e| panic!("{e}")));
}

#[test]
fn the_diff_names_both_sides() {
    let d = diff("a\nb\nc\n", "a\nx\nc\n");
    assert!(d.contains("-   2      | b\n+        2 | x\n"), "{d}");
    assert!(d.contains("    1    1 | a"), "{d}");
}
