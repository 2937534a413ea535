//! A deterministic network of protocol cores: virtual time, one seeded RNG for
//! every choice, and faults on demand (loss, duplication, delay spread and so
//! reordering, one-way cuts and partitions, crashes and reboots with memory
//! loss). The real [`crate::core::Node`] runs inside, unchanged.
//!
//! While it runs it checks the protocol's promises after every event:
//! - at most one node leads a given epoch;
//! - committed entries agree: every node that committed seq `s` holds the
//!   same entry there;
//! - a leader starts its epoch holding every entry committed before it
//!   (leader completeness);
//! - a leader commits an entry only once a majority of members held it in
//!   the leader's epoch while they had state (a recovering member's copy
//!   does not count);
//! - a memoryless node never vouches: it never sends a `Promise` or an
//!   `Ack` that counts, and it leads only after adopting a majority's state;
//! - a read answers a board at or past every write acknowledged before the
//!   read began (linearizability);
//! - at the end ([`Sim::check_final`]): every acknowledged write is in every
//!   board, and no request was applied twice;
//! - and each step a node takes is one the model of `tests/model.rs`
//!   allows ([`trace`]), so a broken rule is named where it breaks.
//!
//! Every check but the last holds unless the run crossed the honest limit
//! (see [`Sim::majority_ever_lost`]): past it only liveness, convergence and
//! "nothing twice" are promised.

pub mod chaos;
pub mod costs;
pub mod explore;
pub mod report;
pub mod script;
mod trace;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::board::Outcome;
use crate::core::{Config, Done, Node, Time, Token};
use crate::wire::{Command, Entry, Epoch, Kind, Message, NodeId, Op};

/// Network behaviour; all probabilities per datagram.
#[derive(Clone, Debug)]
pub struct Faults {
    pub loss: f64,
    pub duplicate: f64,
    /// One-way delay is drawn uniformly from this range (a wide range reorders).
    pub delay: (Duration, Duration),
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            loss: 0.0,
            duplicate: 0.0,
            delay: (Duration::from_micros(100), Duration::from_micros(300)),
        }
    }
}

/// A client's linearizable read and what became of it.
#[derive(Clone, Debug)]
pub struct Read {
    pub at: NodeId,
    /// The highest seq of a write acknowledged before the read began: the
    /// answer must stand at or past it.
    pub floor: u64,
    pub result: Option<Result<u64, crate::core::Unavailable>>,
}

/// A client write and what became of it.
#[derive(Clone, Debug)]
pub struct Write {
    pub at: NodeId,
    pub op: Op,
    pub result: Option<Result<Done, crate::core::Unavailable>>,
}

/// A node's own clock: from `real` on it runs `slowdown` times slower than
/// real time. Timing must never decide safety, so a slow clock (a leader that
/// notices late that it lost its majority) is a fault like any other.
#[derive(Clone, Copy, Debug)]
struct Clock {
    real: Time,
    local: Time,
    slowdown: u64,
}

impl Default for Clock {
    fn default() -> Self {
        Clock {
            real: Time(0),
            local: Time(0),
            slowdown: 1,
        }
    }
}

impl Clock {
    fn local(&self, real: Time) -> Time {
        Time(self.local.0 + real.0.saturating_sub(self.real.0) / self.slowdown)
    }

    fn real(&self, local: Time) -> Time {
        let elapsed = local.0.saturating_sub(self.local.0);
        Time(
            self.real
                .0
                .saturating_add(elapsed.saturating_mul(self.slowdown)),
        )
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct InFlight {
    deliver_at: Time,
    order: u64,
    from: NodeId,
    to: NodeId,
    payload: Vec<u8>,
}

/// With `BB_TRACE` set (to `debug` for more), the nodes' logs go to stderr,
/// for replaying a seed.
pub fn trace_if_asked() {
    if let Some(level) = std::env::var_os("BB_TRACE") {
        let level = match level.to_str() {
            Some("debug") => log::LevelFilter::Debug,
            _ => log::LevelFilter::Info,
        };
        let config = simplelog::ConfigBuilder::new()
            .set_time_level(log::LevelFilter::Off)
            .build();
        let _ = simplelog::WriteLogger::init(level, config, std::io::stderr());
    }
}

#[derive(Clone)]
pub struct Sim {
    pub now: Time,
    rng: SmallRng,
    config: Config,
    nodes: BTreeMap<NodeId, Option<Node>>,
    network: BinaryHeap<Reverse<InFlight>>,
    order: u64,
    pub faults: Faults,
    /// Links that drop everything, as (from, to).
    cut: BTreeSet<(NodeId, NodeId)>,
    /// Clocks that run slow; every other node's runs at real time.
    clocks: BTreeMap<NodeId, Clock>,
    next_token: Token,
    pub writes: BTreeMap<Token, Write>,
    pub reads: BTreeMap<Token, Read>,
    /// The highest seq of any acknowledged write so far.
    acked_floor: u64,
    /// Delivered datagrams by kind (for message-cost measurements).
    pub delivered: [u64; Kind::ALL.len()],
    // -- invariant bookkeeping
    leaders: BTreeMap<Epoch, NodeId>,
    /// The highest epoch any node led (kept past the honest limit too).
    highest_led: Epoch,
    /// Each committed seq's entry, and the epoch it was first seen committed
    /// in (the committing leader's, as it checks first).
    committed: BTreeMap<u64, (Entry, Epoch)>,
    checked: BTreeMap<NodeId, u64>,
    /// The highest seq each member held of an epoch's log while it had
    /// state: what its acks may truthfully claim.
    vouched: BTreeMap<(Epoch, NodeId), u64>,
    /// Each node's commit index when last checked.
    commit_seen: BTreeMap<NodeId, u64>,
    /// Set once a majority was memoryless at once after something committed.
    limit_crossed: bool,
    /// Each step checked against the model's transitions.
    trace: trace::Trace,
    /// The datagram the node being checked was just handed.
    cause: Option<trace::Cause>,
    pub violations: Vec<String>,
}

impl Sim {
    /// A cluster of `n` nodes, all just booted, with default timing.
    pub fn new(n: u16, seed: u64) -> Sim {
        let config = Config {
            cluster: 0x5151,
            ..Config::new(0, (1..=n).collect())
        };
        Sim::with_config(config, seed)
    }

    pub fn with_config(config: Config, seed: u64) -> Sim {
        let mut sim = Sim {
            now: Time(1_000_000),
            rng: SmallRng::seed_from_u64(seed),
            nodes: BTreeMap::new(),
            network: BinaryHeap::new(),
            order: 0,
            faults: Faults::default(),
            cut: BTreeSet::new(),
            clocks: BTreeMap::new(),
            next_token: 1,
            writes: BTreeMap::new(),
            reads: BTreeMap::new(),
            acked_floor: 0,
            delivered: [0; Kind::ALL.len()],
            leaders: BTreeMap::new(),
            highest_led: Epoch::default(),
            committed: BTreeMap::new(),
            checked: BTreeMap::new(),
            vouched: BTreeMap::new(),
            commit_seen: BTreeMap::new(),
            limit_crossed: false,
            trace: trace::Trace::default(),
            cause: None,
            violations: Vec::new(),
            config,
        };
        for id in sim.config.members.clone() {
            sim.boot(id);
        }
        sim
    }

    pub fn members(&self) -> Vec<NodeId> {
        self.config.members.clone()
    }

    pub fn node(&self, id: NodeId) -> Option<&Node> {
        self.nodes.get(&id).and_then(Option::as_ref)
    }

    pub fn live(&self) -> impl Iterator<Item = &Node> {
        self.nodes.values().flatten()
    }

    fn boot(&mut self, id: NodeId) {
        let mut config = self.config.clone();
        config.id = id;
        let seed = self.rng.gen();
        let now = self.local_now(id);
        self.nodes.insert(id, Some(Node::new(config, seed, now)));
        self.checked.insert(id, 0);
        self.commit_seen.insert(id, 0);
        self.trace.booted(id);
        self.drain(id);
    }

    // ----- faults -------------------------------------------------------

    /// Kills a node: it stops, and everything it held is gone.
    pub fn crash(&mut self, id: NodeId) {
        self.nodes.insert(id, None);
    }

    /// Starts a crashed (or running) node again with an empty memory.
    pub fn restart(&mut self, id: NodeId) {
        self.boot(id);
    }

    /// From now on `id`'s clock runs `slowdown` times slower than real
    /// time (1: at real speed again, from where it stands).
    pub fn slow_clock(&mut self, id: NodeId, slowdown: u64) {
        let local = self.local_now(id);
        self.clocks.insert(
            id,
            Clock {
                real: self.now,
                local,
                slowdown: slowdown.max(1),
            },
        );
    }

    /// The time on `id`'s own clock.
    pub fn local_now(&self, id: NodeId) -> Time {
        self.clock(id).local(self.now)
    }

    fn clock(&self, id: NodeId) -> Clock {
        self.clocks.get(&id).copied().unwrap_or_default()
    }

    /// When `node` wants to be woken, in real time.
    fn wake_at(&self, node: &Node) -> Time {
        self.clock(node.id()).real(node.poll_timeout())
    }

    pub fn is_up(&self, id: NodeId) -> bool {
        self.node(id).is_some()
    }

    /// Cuts the link from `a` to `b` (one way).
    pub fn cut_one_way(&mut self, from: NodeId, to: NodeId) {
        self.cut.insert((from, to));
    }

    /// Cuts every link between the two groups, both ways (links within each
    /// group, and to members in neither, stay as they are).
    pub fn split(&mut self, a: &[NodeId], b: &[NodeId]) {
        for &x in a {
            for &y in b {
                self.cut.insert((x, y));
                self.cut.insert((y, x));
            }
        }
    }

    /// Splits the members into groups that cannot talk to each other.
    pub fn partition(&mut self, groups: &[&[NodeId]]) {
        self.cut.clear();
        for (i, a) in groups.iter().enumerate() {
            for (j, b) in groups.iter().enumerate() {
                if i != j {
                    for &x in a.iter() {
                        for &y in b.iter() {
                            self.cut.insert((x, y));
                        }
                    }
                }
            }
        }
    }

    /// Cuts every link of `id` both ways.
    pub fn isolate(&mut self, id: NodeId) {
        for other in self.members() {
            if other != id {
                self.cut.insert((id, other));
                self.cut.insert((other, id));
            }
        }
    }

    pub fn heal(&mut self) {
        self.cut.clear();
    }

    // ----- clients ------------------------------------------------------

    fn new_token(&mut self) -> Token {
        self.next_token += 1;
        self.next_token - 1
    }

    pub fn write(&mut self, at: NodeId, op: Op) -> Token {
        let token = self.new_token();
        self.writes.insert(
            token,
            Write {
                at,
                op: op.clone(),
                result: None,
            },
        );
        let now = self.local_now(at);
        if let Some(Some(node)) = self.nodes.get_mut(&at) {
            node.handle_request(now, token, op);
            self.drain(at);
        }
        token
    }

    /// Submits many writes before any node sends anything, as the driver
    /// does with the requests that arrive within one turn of its loop.
    pub fn write_all(&mut self, writes: &[(NodeId, Op)]) -> Vec<Token> {
        let mut tokens = Vec::new();
        for (at, op) in writes {
            let token = self.new_token();
            self.writes.insert(
                token,
                Write {
                    at: *at,
                    op: op.clone(),
                    result: None,
                },
            );
            let now = self.local_now(*at);
            if let Some(Some(node)) = self.nodes.get_mut(at) {
                node.handle_request(now, token, op.clone());
            }
            tokens.push(token);
        }
        for id in self.members() {
            self.drain(id);
        }
        tokens
    }

    /// A linearizable read at `at`.
    pub fn read(&mut self, at: NodeId) -> Token {
        let token = self.new_token();
        self.reads.insert(
            token,
            Read {
                at,
                floor: self.acked_floor,
                result: None,
            },
        );
        let now = self.local_now(at);
        if let Some(Some(node)) = self.nodes.get_mut(&at) {
            node.handle_read(now, token);
            self.drain(at);
        }
        token
    }

    /// True when every write and every read has its answer.
    pub fn all_answered(&self) -> bool {
        self.writes.values().all(|w| w.result.is_some())
            && self.reads.values().all(|r| r.result.is_some())
    }

    pub fn add(&mut self, at: NodeId, text: &str) -> Token {
        self.write(at, Op::Add { text: text.into() })
    }

    pub fn result(&self, token: Token) -> Option<&Result<Done, crate::core::Unavailable>> {
        self.writes.get(&token).and_then(|w| w.result.as_ref())
    }

    // ----- running ------------------------------------------------------

    /// Processes the next event (a delivery or a timer); false if none.
    pub fn step(&mut self) -> bool {
        let next_timer = self.live().map(|n| (self.wake_at(n), n.id())).min();
        let next_datagram = self.network.peek().map(|Reverse(d)| d.deliver_at);
        match (next_timer, next_datagram) {
            (Some((t, _)), Some(d)) if d <= t => self.deliver(),
            (Some((t, id)), _) => {
                self.now = self.now.max(t);
                let now = self.local_now(id);
                if let Some(Some(node)) = self.nodes.get_mut(&id) {
                    node.handle_timeout(now);
                }
                self.drain(id);
            }
            (None, Some(_)) => self.deliver(),
            (None, None) => return false,
        }
        true
    }

    fn deliver(&mut self) {
        let Some(Reverse(d)) = self.network.pop() else {
            return;
        };
        self.now = self.now.max(d.deliver_at);
        if self.cut.contains(&(d.from, d.to)) {
            return;
        }
        self.hand(d.to, d.from, &d.payload);
    }

    /// Hands `to` a datagram from `from`, and checks the step it takes.
    fn hand(&mut self, to: NodeId, from: NodeId, payload: &[u8]) {
        let now = self.local_now(to);
        let Some(Some(node)) = self.nodes.get_mut(&to) else {
            return;
        };
        node.handle_datagram(now, from, payload);
        let boot = node.incarnation();
        if let Ok(env) = crate::wire::decode(payload) {
            self.delivered[env.message.kind().index()] += 1;
            let cause = trace::Cause {
                from,
                message: env.message,
            };
            self.trace.delivering(boot, &cause);
            self.cause = Some(cause);
        }
        self.drain(to);
        self.cause = None;
    }

    /// Runs for `d` of virtual time.
    pub fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        while self.next_event().is_some_and(|t| t <= end) {
            self.step();
        }
        self.now = self.now.max(end);
    }

    /// Runs until `done` holds (checked after every event), at most `limit`.
    pub fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&Sim) -> bool) -> bool {
        let end = self.now + limit;
        loop {
            if done(self) {
                return true;
            }
            match self.next_event() {
                Some(t) if t <= end => {
                    self.step();
                }
                _ => {
                    self.now = self.now.max(end);
                    return done(self);
                }
            }
        }
    }

    fn next_event(&self) -> Option<Time> {
        let timer = self.live().map(|n| self.wake_at(n)).min();
        let datagram = self.network.peek().map(|Reverse(d)| d.deliver_at);
        match (timer, datagram) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Moves a node's outputs into the network and the write records.
    fn drain(&mut self, id: NodeId) {
        let now = self.local_now(id);
        let Some(Some(node)) = self.nodes.get_mut(&id) else {
            return;
        };
        let mut sends = Vec::new();
        while let Some(t) = node.poll_transmit(now) {
            sends.push(t);
        }
        // A node without memory must never vouch for state it does not have.
        if node.is_recovering() {
            for t in &sends {
                if let Ok(env) = crate::wire::decode(&t.payload) {
                    match env.message {
                        Message::Promise { .. }
                        | Message::Ack {
                            recovering: false, ..
                        } => {
                            self.violations.push(format!(
                                "node {id} sent {:?} while recovering",
                                env.message.kind()
                            ));
                        }
                        _ => {}
                    }
                }
            }
        }
        let mut replies = Vec::new();
        while let Some(r) = node.poll_reply() {
            replies.push(r);
        }
        let mut read_replies = Vec::new();
        while let Some(r) = node.poll_read() {
            read_replies.push(r);
        }
        for t in sends {
            if self.rng.gen_bool(self.faults.loss) {
                continue;
            }
            let copies = if self.rng.gen_bool(self.faults.duplicate) {
                2
            } else {
                1
            };
            for _ in 0..copies {
                let (lo, hi) = self.faults.delay;
                let delay = self.rng.gen_range(lo..=hi.max(lo));
                self.order += 1;
                self.network.push(Reverse(InFlight {
                    deliver_at: self.now + delay,
                    order: self.order,
                    from: id,
                    to: t.to,
                    payload: t.payload.clone(),
                }));
            }
        }
        for r in replies {
            if let Some(w) = self.writes.get_mut(&r.token) {
                if w.result.is_some() {
                    self.violations
                        .push(format!("token {} answered twice", r.token));
                }
                if let Ok(done) = &r.result {
                    self.acked_floor = self.acked_floor.max(done.seq);
                }
                w.result = Some(r.result);
            }
        }
        for r in read_replies {
            let Some(read) = self.reads.get_mut(&r.token) else {
                continue;
            };
            if read.result.is_some() {
                self.violations
                    .push(format!("read {} answered twice", r.token));
            }
            if let Ok(seq) = r.result {
                // Linearizable: it reflects every write acknowledged before it.
                if seq < read.floor && !self.limit_crossed {
                    self.violations.push(format!(
                        "a read at node {id} answered the board at seq {seq}, but a write \
                         acknowledged before it began stands at seq {}",
                        read.floor
                    ));
                }
            }
            read.result = Some(r.result);
        }
        self.check_node(id);
    }

    // ----- invariants ---------------------------------------------------

    /// Members that cannot vouch for anything right now.
    fn amnesiacs(&self) -> usize {
        self.nodes
            .values()
            .filter(|n| n.as_ref().is_none_or(Node::is_recovering))
            .count()
    }

    /// True once the run crossed the honest limit: a majority of members
    /// was memoryless (crashed, or rebooted and not recovered) at the same
    /// moment while something was committed. From then on the cluster may
    /// restart from what a minority kept, and lose writes.
    ///
    /// Why this is the exact line: a commit needs a majority of members
    /// holding the entry with state, and a takeover needs promisers that
    /// meet every such majority, so a committed entry survives as long as
    /// one member of its majority keeps its memory -- which a memoryless
    /// majority is the only way to prevent. Before the first commit a
    /// memoryless majority loses nothing: it is how every cluster starts.
    pub fn majority_ever_lost(&self) -> bool {
        self.limit_crossed
    }

    fn check_node(&mut self, id: NodeId) {
        if !self.committed.is_empty() && self.amnesiacs() >= self.config.majority() {
            self.limit_crossed = true;
        }
        let Some(Some(node)) = self.nodes.get(&id) else {
            return;
        };
        self.highest_led = self.highest_led.max(node.leading().unwrap_or_default());
        let mut broke = Vec::new();
        self.trace
            .step(node, self.cause.as_ref(), &self.config, &mut broke);
        if self.limit_crossed {
            // Past the honest limit the cluster may restart its history from
            // whatever a minority kept: only liveness and convergence are
            // promised from here on (checked at the end of a run).
            return;
        }
        let mut found = broke;
        let held = node.log().last().seq;
        if !node.is_recovering() {
            if let Some(leader) = node.leader() {
                let epoch = if leader == id {
                    node.leading().unwrap_or_default()
                } else {
                    node.promised()
                };
                let upto = if leader == id {
                    held
                } else {
                    node.verified().min(held)
                };
                let v = self.vouched.entry((epoch, id)).or_default();
                *v = (*v).max(upto);
            }
        }
        let commit_before = self.commit_seen.insert(id, node.commit()).unwrap_or(0);
        if let Some(epoch) = node.leading() {
            match self.leaders.insert(epoch, id) {
                Some(other) if other != id => found.push(format!(
                    "two leaders of epoch {epoch}: nodes {other} and {id}"
                )),
                Some(_) => {}
                None => {
                    // Leader completeness: a new epoch starts from a log that
                    // holds everything committed before it, in epoch order:
                    // committed in a lower epoch. What a later epoch
                    // committed (its own entries, or older ones it carried)
                    // a lower epoch that starts late (a fresh start decided
                    // on a slow clock) need not hold: it cannot commit past
                    // it, since the members that committed it refuse it.
                    let log = node.log();
                    let earlier = self
                        .committed
                        .range(log.base().seq + 1..)
                        .filter(|(_, (_, committed_in))| *committed_in < epoch);
                    for (&seq, (entry, _)) in earlier {
                        if log.get(seq) != Some(entry) {
                            found.push(format!(
                                "node {id} leads epoch {epoch} without committed seq {seq} \
                                 ({entry:?}); it holds {:?}",
                                log.get(seq)
                            ));
                            break;
                        }
                    }
                }
            }
            if node.is_recovering() {
                found.push(format!("node {id} leads epoch {epoch} without state"));
            }
            let commit = node.commit();
            if commit > commit_before {
                let holders = self
                    .vouched
                    .range((epoch, 0)..=(epoch, NodeId::MAX))
                    .filter(|(_, &upto)| upto >= commit)
                    .count();
                if holders < self.config.majority() {
                    found.push(format!(
                        "node {id} committed seq {commit} in epoch {epoch}, held there by only \
                         {holders} member(s) with state"
                    ));
                }
            }
        }
        let from = self.checked.get(&id).copied().unwrap_or(0);
        let mut upto = from;
        for (seq, entry) in node.committed_log() {
            if seq > from {
                match self.committed.get(&seq) {
                    Some((known, _)) if known != entry => found.push(format!(
                        "node {id} committed {entry:?} at seq {seq}, others {known:?}"
                    )),
                    Some(_) => {}
                    None => {
                        let at = node.leading().unwrap_or(node.promised());
                        self.committed.insert(seq, (entry.clone(), at));
                    }
                }
            }
            upto = upto.max(seq);
        }
        self.checked.insert(id, upto);
        self.violations.extend(found);
    }

    /// The highest epoch any node has led so far.
    pub fn highest_led(&self) -> Epoch {
        self.highest_led
    }

    /// The highest seq any node has committed so far (0 past the honest
    /// limit, where commits are no longer tracked).
    pub fn highest_committed(&self) -> u64 {
        self.committed.keys().next_back().copied().unwrap_or(0)
    }

    /// The node that leads the highest epoch among live nodes, if any.
    pub fn leader(&self) -> Option<NodeId> {
        self.live()
            .filter_map(|n| n.leading().map(|e| (e, n.id())))
            .max()
            .map(|(_, id)| id)
    }

    /// True when exactly one live node leads and every live node follows it
    /// with memory.
    pub fn settled(&self) -> bool {
        let Some(leader) = self.leader() else {
            return false;
        };
        self.live()
            .all(|n| n.leader() == Some(leader) && !n.is_recovering())
    }

    /// Every live node's board, as (id, text) lists.
    pub fn boards(&self) -> BTreeMap<NodeId, Vec<(u64, String)>> {
        self.nodes
            .iter()
            .filter_map(|(id, n)| {
                n.as_ref().map(|n| {
                    let entries = n
                        .board()
                        .entries()
                        .map(|(i, t)| (i, t.to_owned()))
                        .collect();
                    (*id, entries)
                })
            })
            .collect()
    }

    /// True when every live node applied the same seq and holds the same board.
    pub fn converged(&self) -> bool {
        let mut applied = self.live().map(Node::applied);
        let Some(first) = applied.next() else {
            return true;
        };
        applied.all(|a| a == first) && {
            let boards = self.boards();
            let mut it = boards.values();
            let b0 = it.next();
            it.all(|b| Some(b) == b0)
        }
    }

    /// End-of-run checks; returns every violation found during the run too.
    pub fn check_final(&mut self) -> Vec<String> {
        let mut problems = self.violations.clone();
        if !self.majority_ever_lost() {
            let boards = self.boards();
            for (token, w) in &self.writes {
                let Some(Ok(done)) = &w.result else { continue };
                if let (Op::Add { text }, Outcome::Added { id }) = (&w.op, &done.outcome) {
                    let deleted = self.deleted_later(*id);
                    for (node, board) in &boards {
                        let present = board
                            .iter()
                            .any(|(i, t)| i == id && (t == text || self.modified(*id)));
                        if !present && !deleted {
                            problems.push(format!(
                                "acknowledged add {token} ({text:?}, id {id}) missing on node {node}"
                            ));
                        }
                    }
                }
            }
        }
        problems.extend(self.applied_twice());
        problems
    }

    /// At most once: a text added by one write never shows up twice.
    pub fn applied_twice(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut adds: BTreeMap<&str, usize> = BTreeMap::new();
        for w in self.writes.values() {
            if let Op::Add { text } = &w.op {
                *adds.entry(text.as_str()).or_default() += 1;
            }
        }
        for (node, board) in self.boards() {
            let mut seen = BTreeSet::new();
            for (_, text) in &board {
                if adds.get(text.as_str()) == Some(&1) && !seen.insert(text.clone()) {
                    problems.push(format!("node {node} holds {text:?} twice"));
                }
            }
        }
        problems
    }

    fn deleted_later(&self, id: u64) -> bool {
        self.writes.values().any(|w| {
            matches!(w.op, Op::Delete { id: d } if d == id) && matches!(w.result, Some(Ok(_)))
        }) || self.committed.values().any(|(e, _)| {
            matches!(&e.command, Command::Client(r) if matches!(r.op, Op::Delete { id: d } if d == id))
        })
    }

    fn modified(&self, id: u64) -> bool {
        self.committed.values().any(|(e, _)| {
            matches!(&e.command, Command::Client(r) if matches!(r.op, Op::Modify { id: m, .. } if m == id))
        })
    }
}
