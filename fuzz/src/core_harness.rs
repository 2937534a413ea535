//! The `core_datagrams` harness: three real [`Node`]s (members 1, 2, 3) whose
//! network the fuzzer runs. Each step of the input either moves the cluster
//! along (deliver, duplicate or drop an in-flight datagram, let time pass,
//! a client write, a reboot) or injects something no honest member sends:
//! arbitrary bytes, a mutated copy of a real datagram, or a well-formed
//! envelope with fuzz-chosen fields (so inputs reach the protocol code behind
//! the decoder), perhaps as an answer to an in-flight datagram, in its epoch
//! and at its log position (so a forged `Chunk` meets a node that is pulling). The honest traffic takes the nodes into elections, epochs,
//! replication and snapshot transfer; the injections hit them there.
//!
//! After every step each node's outputs are drained and checked:
//! - every datagram fits [`MAX_DATAGRAM`], decodes, names its sender, this
//!   cluster, and goes to another member;
//! - `applied <= commit`, and the committed log is numbered without gaps;
//! - a node without memory never vouches for state (no `Promise`, no
//!   `Ack { recovering: false }`) and never leads;
//! - every reply answers a request that node holds, once;
//! - after `handle_timeout(now)` the next timeout is in the future (else the
//!   driver would spin);
//! - and nothing panics (the fuzzer's crash).
//!
//! Safety across nodes (one committed history) is the simulator's to check:
//! forged datagrams may legitimately fool nodes into disagreeing.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use blackboard::board::Board;
use blackboard::core::{Config, Node, Time, Token};
use blackboard::wire::{
    self, Command, Entry, Envelope, Epoch, Incarnation, LogPos, Message, NodeId, Op, Request,
    SnapshotCursor, MAX_DATAGRAM, MAX_ENTRY_BYTES,
};

use crate::Reader;

pub const MEMBERS: [NodeId; 3] = [1, 2, 3];
pub const CLUSTER: u32 = 0x5151;
/// Datagrams held by the network; beyond it the oldest are lost.
const MAX_IN_FLIGHT: usize = 512;
/// Steps read from one input.
const MAX_STEPS: usize = 3000;
/// Epochs and log positions remembered from real traffic, for forgeries.
const MAX_KNOWN: usize = 16;
/// Time stays far from `u64::MAX` microseconds (about 146,000 years in).
const MAX_TIME: u64 = 1 << 60;
/// The driver reads one byte more than a datagram may have.
const MAX_RECEIVED: usize = MAX_DATAGRAM + 1;

pub fn config(id: NodeId) -> Config {
    Config {
        cluster: CLUSTER,
        ..Config::new(id, MEMBERS.to_vec())
    }
}

/// Step tags (the first byte of a step, modulo 16). Public for the seeds.
pub mod tag {
    pub const DELIVER: u8 = 0; // also 1, 2
    pub const DUPLICATE: u8 = 3;
    pub const DROP: u8 = 4;
    pub const ADVANCE: u8 = 5; // also 6
    pub const RAW: u8 = 7; // also 8
    pub const FORGED: u8 = 9; // also 10
    pub const REPLY: u8 = 11;
    pub const MUTATE: u8 = 12;
    pub const REQUEST: u8 = 13;
    pub const RESTART: u8 = 14;
    pub const TIMEOUT: u8 = 15;
}

/// Message tags of a forged envelope (modulo 15), in `Message` order.
pub mod msg {
    pub const ELECTION: u8 = 0;
    pub const PREPARE: u8 = 2;
    pub const PROMISE: u8 = 3;
    pub const HEARTBEAT: u8 = 7;
    pub const CHUNK: u8 = 11;
    pub const FORWARD: u8 = 12;
    pub const INFO: u8 = 14;
}

struct InFlight {
    from: NodeId,
    to: NodeId,
    payload: Vec<u8>,
}

pub struct Cluster {
    now: Time,
    nodes: Vec<Node>,
    restarts: u64,
    seed_base: u64,
    in_flight: VecDeque<InFlight>,
    /// Learnt from each member's datagrams: its boot nonce and attribute.
    boots: BTreeMap<NodeId, u32>,
    attributes: BTreeMap<NodeId, u32>,
    epochs: Vec<Epoch>,
    positions: Vec<LogPos>,
    /// Requests each node holds and has not answered.
    pending: BTreeMap<NodeId, BTreeSet<Token>>,
    next_token: Token,
    /// A node was handed a datagram that claims to come from itself.
    spoofed_self: bool,
    /// The epoch and position of the datagram a forgery answers, if any.
    context: Option<(Option<Epoch>, Option<LogPos>)>,
    /// Print each step to stderr (`BLACKBOARD_FUZZ_TRACE=1`, for reading a crash).
    trace: bool,
    /// What the trace last printed of the nodes' states.
    traced: Vec<(NodeId, &'static str, u64, u64)>,
}

/// Runs one input. Panics (the finding) if a node panics or breaks a check.
pub fn run(data: &[u8]) -> Cluster {
    let mut r = Reader::new(data);
    let mut cluster = Cluster::new(u64::from(r.u8()));
    let mut steps = 0;
    while !r.is_empty() && steps < MAX_STEPS {
        cluster.step(&mut r);
        steps += 1;
    }
    cluster.views();
    cluster
}

impl Cluster {
    pub fn new(seed_base: u64) -> Cluster {
        let now = Time(1_000_000);
        let nodes = MEMBERS
            .iter()
            .map(|&id| Node::new(config(id), seed_base * 16 + u64::from(id), now))
            .collect();
        let mut cluster = Cluster {
            now,
            nodes,
            restarts: 0,
            seed_base,
            in_flight: VecDeque::new(),
            boots: BTreeMap::new(),
            attributes: BTreeMap::new(),
            epochs: Vec::new(),
            positions: Vec::new(),
            pending: MEMBERS.iter().map(|&id| (id, BTreeSet::new())).collect(),
            next_token: 1,
            spoofed_self: false,
            context: None,
            trace: std::env::var_os("BLACKBOARD_FUZZ_TRACE").is_some_and(|v| v != "0"),
            traced: Vec::new(),
        };
        for id in MEMBERS {
            cluster.timeout(id);
        }
        cluster.drain_all();
        cluster
    }

    /// `(id, role, commit, applied)` of every node, for the seed generator.
    pub fn summary(&self) -> Vec<(NodeId, &'static str, u64, u64)> {
        self.nodes
            .iter()
            .map(|n| (n.id(), n.role(self.now).name(), n.commit(), n.applied()))
            .collect()
    }

    fn node(&mut self, id: NodeId) -> &mut Node {
        &mut self.nodes[usize::from(id - 1)]
    }

    fn pick(r: &mut Reader) -> NodeId {
        MEMBERS[usize::from(r.u8()) % MEMBERS.len()]
    }

    fn step(&mut self, r: &mut Reader) {
        let tag = r.u8() % 16;
        if self.trace {
            let name = [
                "deliver",
                "deliver",
                "deliver",
                "duplicate",
                "drop",
                "advance",
                "advance",
                "raw",
                "raw",
                "forged",
                "forged",
                "reply",
                "mutate",
                "request",
                "restart",
                "timeout",
            ][usize::from(tag)];
            eprintln!("step {name}");
        }
        match tag {
            0..=2 => {
                if let Some(d) = self.take(r.u8(), true) {
                    self.deliver(d.from, d.to, &d.payload);
                }
            }
            tag::DUPLICATE => {
                if let Some(d) = self.take(r.u8(), false) {
                    self.deliver(d.from, d.to, &d.payload);
                }
            }
            tag::DROP => {
                self.take(r.u8(), true);
            }
            5 | 6 => {
                let ms = match r.u8() {
                    0xFF => r.num().min(MAX_TIME / 1000),
                    b => u64::from(b),
                };
                self.now = Time((self.now.0 + ms * 1000 + 1).min(MAX_TIME));
                for id in MEMBERS {
                    if self.node(id).poll_timeout() <= self.now {
                        self.timeout(id);
                    }
                }
            }
            7 | 8 => {
                let (to, from) = (Self::pick(r), Self::pick(r));
                let bytes = r.bytes(MAX_RECEIVED);
                self.spoofed_self |= from == to;
                self.deliver(from, to, bytes);
            }
            9 | 10 => {
                let (to, from) = (Self::pick(r), Self::pick(r));
                self.context = None;
                let envelope = self.forge(r, to, from);
                if let Some(bytes) = wire::encode(&envelope) {
                    self.spoofed_self |= from == to;
                    self.deliver(from, to, &bytes);
                }
            }
            tag::REPLY => {
                // A forged answer to an in-flight datagram, in its epoch and
                // at its log position: what an attacker who sees a Pull, a
                // Prepare or an Append would send back to its sender.
                let Some(d) = self.take(r.u8(), false) else {
                    return self.drain_all();
                };
                let Ok(question) = wire::decode(&d.payload) else {
                    return self.drain_all();
                };
                self.context = Some(context(&question.message));
                let envelope = self.forge(r, d.from, d.to);
                self.context = None;
                if let Some(bytes) = wire::encode(&envelope) {
                    self.spoofed_self |= d.from == d.to;
                    self.deliver(d.to, d.from, &bytes);
                }
            }
            tag::MUTATE => {
                let (index, kind, pos, byte) = (r.u8(), r.u8(), r.u16(), r.u8());
                if let Some(mut d) = self.take(index, false) {
                    let pos = usize::from(pos) % (d.payload.len() + 1);
                    match kind % 3 {
                        0 if pos < d.payload.len() => d.payload[pos] ^= byte | 1,
                        1 => d.payload.truncate(pos),
                        _ => d.payload.insert(pos, byte),
                    }
                    d.payload.truncate(MAX_RECEIVED);
                    self.deliver(d.from, d.to, &d.payload);
                }
            }
            tag::REQUEST => {
                let at = Self::pick(r);
                let op = client_op(r);
                let token = self.next_token;
                self.next_token += 1;
                self.pending.entry(at).or_default().insert(token);
                let now = self.now;
                if self.trace {
                    eprintln!("  {now:?}: request {token} at {at}: {op:?}");
                }
                self.node(at).handle_request(now, token, op);
            }
            tag::RESTART => {
                let id = Self::pick(r);
                self.restarts += 1;
                let seed = self.seed_base * 16 + u64::from(id) + self.restarts * 0x1_0000;
                let now = self.now;
                *self.node(id) = Node::new(config(id), seed, now);
                self.pending.insert(id, BTreeSet::new());
            }
            _ => {
                let id = Self::pick(r);
                self.timeout(id);
            }
        }
        self.drain_all();
        if self.trace && self.summary() != self.traced {
            self.traced = self.summary();
            eprintln!(
                "  now {:?}: (id, role, commit, applied) {:?}",
                self.now, self.traced
            );
        }
    }

    /// The in-flight datagram `index` picks (removed, or a copy).
    fn take(&mut self, index: u8, remove: bool) -> Option<InFlight> {
        if self.in_flight.is_empty() {
            return None;
        }
        let i = usize::from(index) % self.in_flight.len();
        if remove {
            self.in_flight.remove(i)
        } else {
            let d = &self.in_flight[i];
            Some(InFlight {
                from: d.from,
                to: d.to,
                payload: d.payload.clone(),
            })
        }
    }

    fn deliver(&mut self, from: NodeId, to: NodeId, payload: &[u8]) {
        let now = self.now;
        if self.trace {
            match wire::decode(payload) {
                Ok(e) => eprintln!("  {now:?}: {from} -> {to}: {e:?}"),
                Err(e) => eprintln!("  {now:?}: {from} -> {to}: {} bytes, {e:?}", payload.len()),
            }
        }
        self.node(to).handle_datagram(now, from, payload);
    }

    fn timeout(&mut self, id: NodeId) {
        let now = self.now;
        let node = self.node(id);
        node.handle_timeout(now);
        let next = node.poll_timeout();
        assert!(
            next > now,
            "node {id}: after handle_timeout({now:?}) the next timeout {next:?} is not later: the driver would spin"
        );
    }

    fn drain_all(&mut self) {
        for id in MEMBERS {
            self.drain(id);
        }
    }

    fn drain(&mut self, id: NodeId) {
        let i = usize::from(id - 1);
        let recovering = self.nodes[i].is_recovering();
        let now = self.now;
        while let Some(t) = self.nodes[i].poll_transmit(now) {
            assert!(
                t.payload.len() <= MAX_DATAGRAM,
                "node {id} sent {} bytes",
                t.payload.len()
            );
            let envelope = match wire::decode(&t.payload) {
                Ok(e) => e,
                Err(e) => panic!("node {id} sent a datagram that does not decode: {e:?}"),
            };
            assert_eq!(envelope.from, id, "node {id} signed a datagram as another");
            assert_eq!(
                envelope.cluster, CLUSTER,
                "node {id} sent to another cluster"
            );
            assert!(
                MEMBERS.contains(&t.to),
                "node {id} sent to non-member {}",
                t.to
            );
            // The driver maps the node's own address to its own id, so a
            // spoofed datagram "from itself" reaches the core, which answers
            // it like any other. Only that may make a node talk to itself.
            assert!(
                t.to != id || self.spoofed_self,
                "node {id} sent to itself unprompted: {:?}",
                envelope.message
            );
            if recovering {
                assert!(
                    !matches!(
                        envelope.message,
                        Message::Promise { .. }
                            | Message::Ack {
                                recovering: false,
                                ..
                            }
                    ),
                    "node {id} vouched for state while recovering: {:?}",
                    envelope.message
                );
            }
            self.learn(&envelope);
            if self.in_flight.len() >= MAX_IN_FLIGHT {
                self.in_flight.pop_front();
            }
            self.in_flight.push_back(InFlight {
                from: id,
                to: t.to,
                payload: t.payload,
            });
        }
        while let Some(reply) = self.nodes[i].poll_reply() {
            let pending = self.pending.entry(id).or_default();
            assert!(
                pending.remove(&reply.token),
                "node {id} answered token {} it does not hold (or twice)",
                reply.token
            );
        }
        let node = &self.nodes[i];
        assert!(
            node.applied() <= node.commit(),
            "node {id}: applied {} above commit {}",
            node.applied(),
            node.commit()
        );
        if let Some(epoch) = node.leading() {
            assert!(
                !node.is_recovering(),
                "node {id} leads epoch {epoch} without state"
            );
        }
        let mut expected = None;
        for (seq, _) in node.committed_log() {
            if let Some(e) = expected {
                assert_eq!(seq, e, "node {id}: committed log skips a seq");
            }
            assert!(seq <= node.commit());
            expected = Some(seq + 1);
        }
    }

    /// What `/status` and `/board` read, once per input (it is not cheap).
    fn views(&self) {
        for node in &self.nodes {
            let status = node.status(self.now);
            assert_eq!(status.peers.len(), MEMBERS.len());
            assert!(status.applied <= status.commit);
            assert!(node.board().entries().count() <= blackboard::board::MAX_ENTRIES);
        }
    }

    /// Remembers what forgeries need to look plausible.
    fn learn(&mut self, envelope: &Envelope) {
        self.boots.insert(envelope.from, envelope.boot);
        self.attributes.insert(envelope.from, envelope.attribute);
        let (epoch, pos) = context(&envelope.message);
        if let Some(e) = epoch {
            remember(&mut self.epochs, e);
        }
        if let Some(p) = pos {
            remember(&mut self.positions, p);
        }
    }

    // ----- forgeries ------------------------------------------------------

    fn boot_of(&self, id: NodeId) -> u32 {
        self.boots.get(&id).copied().unwrap_or(0)
    }

    fn forge(&mut self, r: &mut Reader, to: NodeId, from: NodeId) -> Envelope {
        let mut envelope = Envelope {
            cluster: CLUSTER,
            from,
            boot: self.boot_of(from),
            attribute: self.attributes.get(&from).copied().unwrap_or(1),
            message: Message::Probe { http: 0 },
        };
        let odd = r.u8();
        if odd >= 0xE0 {
            match odd % 4 {
                0 => envelope.cluster = r.num32(),
                1 => envelope.from = Self::pick(r),
                2 => envelope.boot = r.num32(),
                _ => envelope.attribute = r.num32(),
            }
        }
        envelope.message = self.message(r, to);
        envelope
    }

    fn message(&mut self, r: &mut Reader, to: NodeId) -> Message {
        match r.u8() % 18 {
            0 => Message::Election,
            1 => Message::Alive,
            2 => Message::Prepare {
                epoch: self.epoch(r),
                trial: r.bool(),
            },
            3 => Message::Promise {
                epoch: self.epoch(r),
                last: self.pos(r),
                commit: self.pos(r),
                trial: r.bool(),
            },
            4 => Message::NoState {
                epoch: self.epoch(r),
                trial: r.bool(),
            },
            5 => Message::Reject {
                epoch: self.epoch(r),
                promised: self.epoch(r),
                leader_alive: r.bool(),
            },
            6 => Message::Append {
                epoch: self.epoch(r),
                prev: self.pos(r),
                commit: r.num(),
                commands: (0..r.u8() % 5).map(|_| self.command(r)).collect(),
            },
            7 => Message::Heartbeat {
                epoch: self.epoch(r),
                last: self.pos(r),
                commit: r.num(),
                alive: u128::from(r.num()) | (u128::from(r.num()) << 64),
                recovering: self.incarnations(r),
                fresh: self.incarnations(r),
                round: r.num(),
            },
            8 => Message::Ack {
                epoch: self.epoch(r),
                matched: r.num(),
                recovering: r.bool(),
                round: r.num(),
            },
            9 => Message::Pull {
                epoch: self.epoch(r),
                last: self.pos(r),
                commit: r.num(),
                snapshot: r.bool().then(|| SnapshotCursor {
                    at: self.pos(r),
                    offset: r.num32(),
                }),
            },
            10 => Message::Entries {
                epoch: self.epoch(r),
                prev: self.pos(r),
                entries: (0..r.u8() % 5)
                    .map(|_| Entry {
                        tag: self.epoch(r),
                        command: self.command(r),
                    })
                    .collect(),
                end_of_batch: r.bool(),
            },
            11 => {
                let epoch = self.epoch(r);
                let at = self.pos(r);
                let (total, offset, data) = match r.u8() % 3 {
                    0 => {
                        let data = crafted_board(r);
                        (data.len() as u32, 0, data)
                    }
                    1 => {
                        let data = r.bytes(MAX_DATAGRAM).to_vec();
                        (data.len() as u32, 0, data)
                    }
                    _ => (r.num32(), r.num32(), r.bytes(MAX_DATAGRAM).to_vec()),
                };
                Message::Chunk {
                    epoch,
                    at,
                    total,
                    offset,
                    data,
                    end_of_batch: r.bool(),
                }
            }
            12 => Message::Forward {
                requests: (0..r.u8() % 5).map(|_| self.request(r)).collect(),
            },
            13 => Message::Probe {
                http: u16::from(r.u8()),
            },
            14 => Message::Read { batch: r.num() },
            15 => Message::ReadIndex {
                epoch: self.epoch(r),
                batch: r.num(),
                index: r.num(),
            },
            16 => Message::Superseded {
                stale: if r.bool() {
                    self.boot_of(to)
                } else {
                    r.num32()
                },
            },
            _ => Message::Info {
                for_boot: if r.bool() {
                    self.boot_of(to)
                } else {
                    r.num32()
                },
                promised: self.epoch(r),
                active: r.bool(),
                http: u16::from(r.u8()),
            },
        }
    }

    /// Up to three boots, mostly real ones (a heartbeat naming them can
    /// end a recovery or admit a follower).
    fn incarnations(&mut self, r: &mut Reader) -> Vec<Incarnation> {
        (0..r.u8() % 4)
            .map(|_| {
                let id = MEMBERS[usize::from(r.u8()) % MEMBERS.len()];
                let boot = if r.bool() {
                    self.boot_of(id)
                } else {
                    r.num() as u32
                };
                Incarnation { id, boot }
            })
            .collect()
    }

    fn epoch(&mut self, r: &mut Reader) -> Epoch {
        let b = r.u8();
        if let Some((Some(epoch), _)) = self.context {
            if b < 0x40 {
                return epoch;
            }
        }
        if b < 0x80 && !self.epochs.is_empty() {
            return self.epochs[usize::from(b) % self.epochs.len()];
        }
        if b < 0xC0 {
            let leader = Self::pick(r);
            Epoch {
                number: r.num(),
                leader,
                boot: self.boot_of(leader),
            }
        } else {
            Epoch {
                number: r.num(),
                leader: r.u16(),
                boot: r.num32(),
            }
        }
    }

    fn pos(&mut self, r: &mut Reader) -> LogPos {
        let b = r.u8();
        if let Some((_, Some(pos))) = self.context {
            if b < 0x40 {
                return pos;
            }
        }
        if b < 0x80 && !self.positions.is_empty() {
            return self.positions[usize::from(b) % self.positions.len()];
        }
        LogPos {
            tag: self.epoch(r),
            seq: r.num(),
        }
    }

    fn command(&mut self, r: &mut Reader) -> Command {
        if r.bool() {
            Command::Noop
        } else {
            Command::Client(self.request(r))
        }
    }

    fn request(&mut self, r: &mut Reader) -> Request {
        let origin = match r.u8() {
            0xFF => r.u16(),
            b => MEMBERS[usize::from(b) % MEMBERS.len()],
        };
        let boot = if r.bool() {
            self.boot_of(origin)
        } else {
            r.num32()
        };
        Request {
            origin,
            boot,
            number: r.num(),
            finished_below: r.num(),
            op: any_op(r),
        }
    }
}

/// The epoch and log position a message names, if it names them.
fn context(message: &Message) -> (Option<Epoch>, Option<LogPos>) {
    match message {
        Message::Prepare { epoch, .. } | Message::NoState { epoch, .. } => (Some(*epoch), None),
        Message::Reject { promised, .. } => (Some(*promised), None),
        Message::Info { promised, .. } => (Some(*promised), None),
        Message::Ack { epoch, .. } | Message::ReadIndex { epoch, .. } => (Some(*epoch), None),
        Message::Promise { epoch, last, .. }
        | Message::Heartbeat { epoch, last, .. }
        | Message::Pull { epoch, last, .. } => (Some(*epoch), Some(*last)),
        Message::Append { epoch, prev, .. } | Message::Entries { epoch, prev, .. } => {
            (Some(*epoch), Some(*prev))
        }
        Message::Chunk { epoch, at, .. } => (Some(*epoch), Some(*at)),
        _ => (None, None),
    }
}

fn remember<T: PartialEq>(known: &mut Vec<T>, value: T) {
    if !known.contains(&value) {
        if known.len() >= MAX_KNOWN {
            known.remove(0);
        }
        known.push(value);
    }
}

fn text(r: &mut Reader, max: usize) -> String {
    String::from_utf8_lossy(r.bytes(max)).into_owned()
}

/// Any op, as a forged peer may send it.
fn any_op(r: &mut Reader) -> Op {
    match r.u8() % 3 {
        0 => Op::Add {
            text: text(r, MAX_DATAGRAM),
        },
        1 => Op::Modify {
            id: r.num(),
            text: text(r, MAX_DATAGRAM),
        },
        _ => Op::Delete { id: r.num() },
    }
}

/// An op as the HTTP layer hands it over: text non-blank and within
/// [`MAX_ENTRY_BYTES`], ids positive.
pub fn client_op(r: &mut Reader) -> Op {
    let mut op = any_op(r);
    match &mut op {
        Op::Add { text } | Op::Modify { text, .. } => {
            let mut cut = text.len().min(MAX_ENTRY_BYTES);
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            if text.trim().is_empty() {
                text.push('x');
            }
        }
        Op::Delete { .. } => {}
    }
    if let Op::Modify { id, .. } | Op::Delete { id } = &mut op {
        *id = (*id).max(1);
    }
    op
}

/// A snapshot the receiver decodes: a board built by applying fuzz-chosen
/// requests, its leading fields (entries, next id) perhaps replaced by
/// absurd ones. Only those two fields' types are assumed (postcard is not
/// self-describing: a tuple of the same types encodes alike); the rest of the
/// board's shape may change freely.
pub fn crafted_board(r: &mut Reader) -> Vec<u8> {
    let mut board = Board::new();
    for seq in 1..=u64::from(r.u8() % 4) {
        let origin = MEMBERS[usize::from(r.u8()) % MEMBERS.len()];
        let request = Request {
            origin,
            boot: u32::from(r.u8()),
            number: u64::from(r.u8()),
            finished_below: u64::from(r.u8()),
            op: any_op(r),
        };
        board.apply(&request, seq);
    }
    let real = board.encode();
    if !r.bool() {
        return real;
    }
    let Ok((_, sessions)) = postcard::take_from_bytes::<(BTreeMap<u64, String>, u64)>(&real) else {
        return real;
    };
    let entries: BTreeMap<u64, String> = (0..r.u8() % 4).map(|_| (r.num(), text(r, 64))).collect();
    let mut out = postcard::to_allocvec(&(entries, r.num())).expect("serialises");
    out.extend_from_slice(sessions);
    out
}
