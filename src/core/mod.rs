//! The protocol state machine of one node, with no sockets and no clock.
//!
//! The driver feeds it datagrams ([`Node::handle_datagram`]), client writes
//! ([`Node::handle_request`]) and wake-ups ([`Node::handle_timeout`]), all
//! stamped with the current [`Time`]; it then drains what the node wants done:
//! datagrams to send ([`Node::poll_transmit`]), answers to clients
//! ([`Node::poll_reply`]) and when to wake it next ([`Node::poll_timeout`]).
//! Given the same inputs and seed it does the same thing, which is what lets
//! [`crate::sim`] run hundreds of nodes through lost packets and crashes.
//!
//! The protocol, one submodule per idea, each with the type that owns its
//! state (private fields, moved only by that type's operations); `Node`
//! wires them together and is the only `handle_*`/`poll_*` surface:
//! - [`election`]: bully election over `(attribute, id)` ranks, asking one
//!   member at a time (`Campaign`; `Contact`: when a leader, a higher rank
//!   and this node's own election were last heard of);
//! - [`promise`]: the promise that only rises and the epoch numbers seen
//!   (`Promise`);
//! - [`members`]: what this node knows of the others -- boots, ranks, when
//!   heard, the leader's word on them -- and the rules on stale boots
//!   (`Members`);
//! - [`takeover`]: the winner's Prepare/Promise round that starts an epoch
//!   (`Takeover`, whose `count` is the quorum rule);
//! - [`replication`]: appends, acks, commit, heartbeats, compaction
//!   (`Leadership` with each member's progress; `Acks`: when a follower
//!   acknowledges); its `ledger` keeps the log's verified, commit and
//!   applied marks in order (`Ledger`);
//! - [`transfer`]: pulling missing entries or a snapshot from a peer
//!   (`Transfer`: the pull under way and the snapshot served);
//! - [`recovery`]: how a node that lost its memory rejoins safely
//!   (`Recovery`);
//! - [`requests`]: client writes, their forwarding and their answers
//!   (`Requests`);
//! - [`reads`]: linearizable reads by read index (`Reads`);
//! - [`applied`]: what applying did to the board, for the change feed;
//! - [`timers`]: every timer by name, each read from the deadline its part
//!   keeps, so that the node wakes exactly when one is due;
//! - [`breaks`]: each safety rule broken on purpose, for tests that show
//!   the checks catch it.
//!
//! Each safety rule is one method of the type that keeps it:
//! `Promise::outranks` (no leader below the promise), `Takeover::count`
//! (enough promises, the best log that can hold every known commit),
//! `Leadership::majority_holds` (a majority with state),
//! `Ledger::commit_counted` (only this epoch's entries commit by counting),
//! `Recovery::may_follow` (the fence), `Reads::await_round` (a read waits
//! for a later round) and the board's de-duplication.

pub mod applied;
pub mod breaks;
mod clock;
mod election;
pub mod events;
mod members;
mod promise;
mod reads;
mod recovery;
mod replication;
mod requests;
mod takeover;
pub mod timers;
mod transfer;

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use log::{debug, info};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::board::{Board, Outcome};
use crate::log::Log;
use crate::wire::{self, Envelope, Epoch, Incarnation, Kind, Message, NodeId, Op};

pub use election::Rank;
pub use reads::{ReadCounters, ReadReply};
pub use requests::MAX_PENDING;

/// Virtual or real time in microseconds since an arbitrary start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time(pub u64);

impl Time {
    pub fn since(self, earlier: Time) -> Duration {
        Duration::from_micros(self.0.saturating_sub(earlier.0))
    }
}

impl std::ops::Add<Duration> for Time {
    type Output = Time;
    fn add(self, d: Duration) -> Time {
        Time(
            self.0
                .saturating_add(u64::try_from(d.as_micros()).unwrap_or(u64::MAX)),
        )
    }
}

/// The driver's handle for one client request.
pub type Token = u64;

#[derive(Clone, Debug)]
pub struct Config {
    pub id: NodeId,
    /// Every member, this node included.
    pub members: Vec<NodeId>,
    pub heartbeat: Duration,
    /// Failure detection: a leader unheard for this long is suspected.
    pub timeout: Duration,
    pub request_timeout: Duration,
    /// This node's HTTP port, told to the others (0: none to tell).
    pub http_port: u16,
    /// Identifies the membership, so that two clusters never mix.
    pub cluster: u32,
}

/// A node's timings. The one place their defaults are written: the sim,
/// the tests and the command line's `--pace` all take them from here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pace {
    pub heartbeat: Duration,
    pub timeout: Duration,
    pub request_timeout: Duration,
}

impl Pace {
    /// A failure seen within 300 ms, an election within a few hundred more.
    pub const NORMAL: Pace = Pace {
        heartbeat: Duration::from_millis(50),
        timeout: Duration::from_millis(300),
        request_timeout: Duration::from_millis(3000),
    };
    /// Slow enough to watch; a write waits out an election that takes seconds.
    pub const DEMO: Pace = Pace {
        heartbeat: Duration::from_millis(500),
        timeout: Duration::from_millis(3000),
        request_timeout: Duration::from_millis(10_000),
    };
}

impl Config {
    /// Member `id` of `members` at the normal pace, with no HTTP port to
    /// tell and cluster identity 0.
    pub fn new(id: NodeId, members: Vec<NodeId>) -> Config {
        Config {
            id,
            members,
            heartbeat: Pace::NORMAL.heartbeat,
            timeout: Pace::NORMAL.timeout,
            request_timeout: Pace::NORMAL.request_timeout,
            http_port: 0,
            cluster: 0,
        }
    }

    pub fn majority(&self) -> usize {
        self.members.len() / 2 + 1
    }

    /// Members with state a takeover needs promises from: enough to meet
    /// every majority that may have committed something (see `takeover`).
    pub fn enough(&self) -> usize {
        self.members.len() - self.majority() + 1
    }
}

/// A datagram for the driver to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    pub to: NodeId,
    pub payload: Vec<u8>,
}

/// The answer to one client request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub token: Token,
    pub result: Result<Done, Unavailable>,
}

/// A committed write, applied here at `seq`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Done {
    pub outcome: Outcome,
    pub seq: u64,
}

/// No leader, or no majority, within the request timeout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unavailable;

/// What a node does right now, as shown to users.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Leader,
    Follower,
    Candidate,
    Recovering,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Leader => "leader",
            Role::Follower => "follower",
            Role::Candidate => "candidate",
            Role::Recovering => "recovering",
        }
    }
}

/// Datagram and byte counts for one message kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Traffic {
    pub datagrams: u64,
    pub bytes: u64,
}

/// Why a datagram was refused; `/status` and `/metrics` count each by its
/// name. In the order of their names, as the answers list them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Refused {
    /// Another cluster's (or launch's) identity.
    Cluster,
    /// A message no correct member sends (see `Message::plausible`).
    Implausible,
    Malformed,
    Oversized,
    /// Not from the member its address belongs to.
    Spoofed,
    /// From a boot of the sender that a newer one replaced.
    StaleBoot,
    /// From a new boot while the known one still talks.
    UnconfirmedBoot,
    /// Another wire protocol version.
    Version,
}

impl Refused {
    pub fn name(self) -> &'static str {
        match self {
            Refused::Cluster => "cluster",
            Refused::Implausible => "implausible",
            Refused::Malformed => "malformed",
            Refused::Oversized => "oversized",
            Refused::Spoofed => "spoofed",
            Refused::StaleBoot => "stale_boot",
            Refused::UnconfirmedBoot => "unconfirmed_boot",
            Refused::Version => "version",
        }
    }
}

impl From<wire::DecodeError> for Refused {
    fn from(err: wire::DecodeError) -> Refused {
        match err {
            wire::DecodeError::TooShort
            | wire::DecodeError::BadMagic
            | wire::DecodeError::Malformed => Refused::Malformed,
            wire::DecodeError::TooLong => Refused::Oversized,
            wire::DecodeError::Version(_) => Refused::Version,
        }
    }
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Clone, Debug, Default)]
pub struct Counters {
    pub sent: [Traffic; Kind::ALL.len()],
    pub received: [Traffic; Kind::ALL.len()],
    /// Refused datagrams by reason.
    pub dropped: BTreeMap<Refused, u64>,
    /// Elections this node called.
    pub elections: u64,
}

impl Counters {
    pub fn drop_one(&mut self, reason: Refused) {
        *self.dropped.entry(reason).or_default() += 1;
    }
}

/// What `/status` shows of one member.
#[derive(Clone, Debug)]
pub struct PeerStatus {
    pub id: NodeId,
    pub is_self: bool,
    pub alive: bool,
    pub last_heard: Option<Duration>,
    /// `None` when it is not heard: its role is not known.
    pub role: Option<Role>,
    pub attribute: Option<u32>,
    /// Its HTTP port, as it told.
    pub http_port: Option<u16>,
}

#[derive(Clone, Debug)]
pub struct Status {
    pub id: NodeId,
    pub attribute: u32,
    pub role: Role,
    pub leader: Option<NodeId>,
    pub epoch: Epoch,
    pub commit: u64,
    pub applied: u64,
    pub peers: Vec<PeerStatus>,
    /// How long this follower has not heard its leader (it suspects it
    /// at the timeout); none when it leads or follows no one.
    pub leader_silent: Option<Duration>,
}

/// Whether this node holds state it may vouch for.
#[derive(Clone, Debug)]
enum Memory {
    Active,
    Recovering(recovery::Recovery),
}

/// What this node is doing in the protocol.
#[derive(Clone, Debug)]
enum Duty {
    Follower(Following),
    Candidate(election::Campaign),
    Preparing(takeover::Takeover),
    Leader(replication::Leadership),
}

#[derive(Clone, Debug)]
struct Following {
    /// The leader of `promised` this node follows, once it accepted one.
    leader: Option<NodeId>,
    /// When to suspect the leader (or the lack of one) and call an election.
    deadline: Time,
}

#[derive(Clone, Debug)]
pub struct Node {
    cfg: Config,
    rank: Rank,
    boot: u32,
    rng: SmallRng,
    clock: clock::Clock,
    memory: Memory,
    duty: Duty,
    /// The highest epoch this incarnation promised to follow, and the
    /// highest epoch number it has seen.
    promise: promise::Promise,
    /// When a leader, a higher rank and this node's own election were
    /// last heard of.
    contact: election::Contact,
    /// The log and how far it is verified, committed and applied.
    ledger: replication::ledger::Ledger,
    board: Board,
    /// What this node knows of the other members.
    members: members::Members,
    transfer: transfer::Transfer,
    requests: requests::Requests,
    reads: reads::Reads,
    /// When this node, following, acknowledges its leader next.
    acks: replication::Acks,
    next_tick: Time,
    out: VecDeque<Transmit>,
    replies: VecDeque<Reply>,
    read_replies: VecDeque<ReadReply>,
    counters: Counters,
    /// (peer, wire version) pairs already reported as incompatible.
    version_warned: std::collections::BTreeSet<(NodeId, u8)>,
    /// The member that told this process its boot is over (see
    /// [`Message::Superseded`]).
    superseded: Option<NodeId>,
    events: events::Events,
    changes: applied::Changes,
    /// Datagrams sent when the latest commit was announced (see `commit` events).
    sent_at_commit: u64,
}

/// A member's bit in the heartbeat's liveness masks: its place among
/// `members` (in id order; clusters beyond 128 members relay only the first
/// 128).
fn bit_of(members: &[NodeId], id: NodeId) -> u128 {
    match members.iter().position(|&m| m == id) {
        Some(i) if i < 128 => 1 << i,
        _ => 0,
    }
}

impl Node {
    /// A node that has just booted: no memory, no leader. `seed` drives every
    /// random choice (attribute, boot nonce, timer jitter).
    pub fn new(mut cfg: Config, seed: u64, now: Time) -> Node {
        // In id order: a member's place is its bit in the liveness masks.
        cfg.members.sort_unstable();
        let mut rng = SmallRng::seed_from_u64(seed);
        let attribute = rng.gen_range(1..1_000_000);
        let boot = rng.gen();
        let members = members::Members::new(&cfg.members, cfg.id);
        let rank = Rank {
            attribute,
            id: cfg.id,
        };
        let mut node = Node {
            rank,
            boot,
            rng,
            clock: clock::Clock::new(now),
            memory: Memory::Recovering(recovery::Recovery::default()),
            duty: Duty::Follower(Following {
                leader: None,
                deadline: now,
            }),
            promise: promise::Promise::default(),
            contact: election::Contact::default(),
            ledger: replication::ledger::Ledger::default(),
            board: Board::new(),
            members,
            transfer: transfer::Transfer::default(),
            requests: requests::Requests::default(),
            reads: reads::Reads::default(),
            acks: replication::Acks::default(),
            next_tick: now,
            out: VecDeque::new(),
            replies: VecDeque::new(),
            read_replies: VecDeque::new(),
            counters: Counters::default(),
            version_warned: Default::default(),
            superseded: None,
            events: Default::default(),
            changes: Default::default(),
            sent_at_commit: 0,
            cfg,
        };
        node.wait_for_leader(now);
        let rank = node.rank;
        node.story(
            events::Kind::Recovery,
            format!("booted with attribute {attribute} (rank {rank}); no state yet, looking for a leader"),
        );
        node
    }

    // ----- inputs -------------------------------------------------------

    /// A datagram arrived from the member the driver mapped its address to.
    pub fn handle_datagram(&mut self, now: Time, from: NodeId, datagram: &[u8]) {
        let now = self.tick_clock(now);
        let envelope = match wire::decode(datagram) {
            Ok(envelope) => envelope,
            Err(err) => {
                if let wire::DecodeError::Version(theirs) = err {
                    // An operator mixed two builds: say so once per peer and
                    // version, not once per datagram.
                    if self.version_warned.insert((from, theirs)) {
                        log::warn!(
                            "node {}: refusing datagrams from node {from}: it speaks wire \
                             protocol {theirs}, this node speaks {} (run the same version everywhere)",
                            self.cfg.id,
                            wire::WIRE_VERSION
                        );
                    }
                }
                debug!(
                    "node {}: dropped datagram from {from}: {err:?}",
                    self.cfg.id
                );
                self.counters.drop_one(err.into());
                return;
            }
        };
        if let Some(reason) = self.refusal(now, from, &envelope) {
            debug!(
                "node {}: dropped datagram from {from}: {reason}",
                self.cfg.id
            );
            self.counters.drop_one(reason);
            if reason == Refused::StaleBoot {
                self.tell_superseded(now, from, envelope.boot);
            }
            return;
        }
        let kind = envelope.message.kind();
        let traffic = &mut self.counters.received[kind.index()];
        traffic.datagrams += 1;
        traffic.bytes += datagram.len() as u64;
        self.note_sender(now, &envelope);
        self.note_message(events::election_label(&envelope.message), from, self.cfg.id);
        self.dispatch(now, envelope);
    }

    /// A client write at this node. The answer comes out of `poll_reply`.
    pub fn handle_request(&mut self, now: Time, token: Token, op: Op) {
        let now = self.tick_clock(now);
        self.submit(now, token, op);
    }

    /// Runs every timer due at `now` (see [`timers`]).
    pub fn handle_timeout(&mut self, now: Time) {
        let now = self.tick_clock(now);
        for timer in timers::Timer::ALL {
            // Read again for each: the one before may have moved it.
            if self.due(timer).is_some_and(|due| now >= due) {
                self.fire(timer, now);
            }
        }
    }

    // ----- outputs ------------------------------------------------------

    /// The next datagram to send. What the inputs since the last call left
    /// to do (appends, forwards, acks) goes out now, batched.
    pub fn poll_transmit(&mut self, now: Time) -> Option<Transmit> {
        if self.out.is_empty() {
            let now = self.clock.at(now);
            self.flush(now);
        }
        self.out.pop_front()
    }

    pub fn poll_reply(&mut self) -> Option<Reply> {
        self.replies.pop_front()
    }

    /// When to call [`Node::handle_timeout`]: the earliest of the timers.
    pub fn poll_timeout(&self) -> Time {
        let earliest = timers::Timer::ALL
            .iter()
            .filter_map(|&t| self.due(t))
            .min()
            .unwrap_or(self.next_tick);
        self.clock.to_caller(earliest)
    }

    /// Every input's time goes through here: see [`clock`].
    fn tick_clock(&mut self, caller: Time) -> Time {
        let (now, step_back) = self.clock.read(caller);
        if let Some(back) = step_back {
            log::warn!(
                "node {}: the clock went back by {back:?}; counting that as no time passing",
                self.cfg.id
            );
        }
        now
    }

    // ----- views --------------------------------------------------------

    pub fn id(&self) -> NodeId {
        self.cfg.id
    }

    pub fn board(&self) -> &Board {
        &self.board
    }

    /// The seq the board stands at.
    pub fn applied(&self) -> u64 {
        self.ledger.applied()
    }

    pub fn commit(&self) -> u64 {
        self.ledger.commit()
    }

    pub fn rank(&self) -> Rank {
        self.rank
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// What this node does at `now`, as users see it.
    pub fn role(&self, now: Time) -> Role {
        let now = self.clock.at(now);
        // Between two attempts of a node that keeps calling elections (it is
        // cut off, or no majority answers) it is still a candidate to users.
        let campaigning = self.contact.campaigned_within(now, self.cfg.timeout * 3);
        match (&self.duty, &self.memory) {
            (Duty::Leader(_), _) => Role::Leader,
            (_, Memory::Recovering(_)) => Role::Recovering,
            (Duty::Candidate(_) | Duty::Preparing(_), _) => Role::Candidate,
            (Duty::Follower(f), _) if f.leader.is_none() && campaigning => Role::Candidate,
            (Duty::Follower(_), _) => Role::Follower,
        }
    }

    pub fn is_recovering(&self) -> bool {
        matches!(self.memory, Memory::Recovering(_))
    }

    /// A recovering node's fence, once drawn: it follows no leader below
    /// it (see [`recovery`]).
    pub fn fence(&self) -> Option<Epoch> {
        match &self.memory {
            Memory::Recovering(r) => r.fence(),
            Memory::Active => None,
        }
    }

    /// The epoch this node leads, if it leads.
    pub fn leading(&self) -> Option<Epoch> {
        match &self.duty {
            Duty::Leader(l) => Some(l.epoch),
            _ => None,
        }
    }

    pub fn leader(&self) -> Option<NodeId> {
        match &self.duty {
            Duty::Leader(_) => Some(self.cfg.id),
            Duty::Follower(f) => f.leader,
            _ => None,
        }
    }

    pub fn promised(&self) -> Epoch {
        self.promise.epoch()
    }

    /// Committed entries still in the log (for invariant checks): `(seq, entry)`.
    pub fn committed_log(&self) -> impl Iterator<Item = (u64, &wire::Entry)> {
        let base = self.ledger.log.base().seq;
        self.ledger
            .log
            .after(base)
            .enumerate()
            .map(move |(i, e)| (base + 1 + i as u64, e))
            .take_while(|(seq, _)| *seq <= self.ledger.commit())
    }

    /// Hashes everything that decides what this node does next, and none of
    /// what only reports (counters, the event log, the change feed): two
    /// nodes with one fingerprint act alike from here on. The exhaustive
    /// explorer ([`crate::sim::explore`]) hashes states with it.
    pub fn fingerprint(&self, hasher: &mut impl std::hash::Hasher) {
        use std::fmt::Write as _;
        use std::hash::Hash as _;
        // Named one by one so that a new field must be sorted into one
        // side or the other.
        let Node {
            cfg: _,
            rank,
            boot,
            rng,
            clock,
            memory,
            duty,
            promise,
            contact,
            ledger,
            board,
            members,
            transfer,
            requests,
            reads,
            acks,
            next_tick,
            out,
            replies,
            read_replies,
            counters: _,
            version_warned: _,
            superseded,
            events: _,
            changes: _,
            sent_at_commit: _,
        } = self;
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = write!(
            text,
            "{rank:?}{boot}{rng:?}{clock:?}{memory:?}{duty:?}{promise:?}\
             {contact:?}{ledger:?}\
             {board:?}{members:?}{transfer:?}\
             {requests:?}{reads:?}{acks:?}{next_tick:?}{out:?}{replies:?}{read_replies:?}\
             {superseded:?}"
        );
        text.hash(hasher);
    }

    /// One line of internal state at `now`, for failure reports.
    pub fn describe(&self, now: Time) -> String {
        let recovery = match &self.memory {
            Memory::Active => String::new(),
            Memory::Recovering(r) => format!(" {r:?}"),
        };
        format!(
            "{}:{}@{} leader {:?} log {}..{}@{} commit {} applied {} verified {} pulling {:?}{}{}",
            self.cfg.id,
            self.role(now).name(),
            self.promise.epoch(),
            self.leader(),
            self.ledger.log.base().seq,
            self.ledger.log.last().seq,
            self.ledger.log.last().tag,
            self.ledger.commit(),
            self.ledger.applied(),
            self.ledger.verified(),
            self.transfer.describe(),
            recovery,
            if self.ledger.diverged() {
                " DIVERGED"
            } else {
                ""
            }
        )
    }

    pub fn log_len(&self) -> usize {
        self.ledger.log.len()
    }

    /// The log itself (for invariant checks).
    pub fn log(&self) -> &Log {
        &self.ledger.log
    }

    /// How far this node's log is known to match its leader's: what its
    /// acks claim (for invariant checks).
    pub fn verified(&self) -> u64 {
        self.ledger.verified()
    }

    /// What `/status` shows at `now`.
    pub fn status(&self, now: Time) -> Status {
        let role = self.role(now);
        let now = self.clock.at(now);
        let leader = self.leader();
        let bit = |id| self.member_bit(id);
        let mut peers = self.members.status(now, leader, self.cfg.timeout, bit);
        peers.push(PeerStatus {
            id: self.cfg.id,
            is_self: true,
            alive: true,
            last_heard: Some(Duration::ZERO),
            role: Some(role),
            attribute: Some(self.rank.attribute),
            http_port: Some(self.cfg.http_port).filter(|&p| p != 0),
        });
        peers.sort_by_key(|p| p.id);
        Status {
            id: self.cfg.id,
            attribute: self.rank.attribute,
            role,
            leader,
            epoch: self.leading().unwrap_or(self.promise.epoch()),
            commit: self.ledger.commit(),
            applied: self.ledger.applied(),
            peers,
            leader_silent: match (&self.duty, self.contact.leader_heard_at()) {
                (Duty::Follower(f), Some(t)) if f.leader.is_some() => Some(now.since(t)),
                _ => None,
            },
        }
    }

    // ----- plumbing shared by the submodules ----------------------------

    /// Why a decoded datagram must not be trusted, if it must not.
    fn refusal(&self, now: Time, from: NodeId, envelope: &Envelope) -> Option<Refused> {
        if envelope.cluster != self.cfg.cluster {
            return Some(Refused::Cluster);
        }
        if envelope.from != from || from == self.cfg.id {
            // Not from the member its address belongs to, or "from" this
            // node itself: nobody sends to themselves.
            return Some(Refused::Spoofed);
        }
        if !envelope.message.plausible() {
            return Some(Refused::Implausible);
        }
        self.members
            .stale(now, from, envelope.boot, self.cfg.timeout)
    }

    fn note_sender(&mut self, now: Time, envelope: &Envelope) {
        if let Some(id) = self.members.heard(now, envelope) {
            info!(
                "node {}: node {id} restarted (new incarnation)",
                self.cfg.id
            );
        }
    }

    fn dispatch(&mut self, now: Time, envelope: Envelope) {
        let from = envelope.from;
        let incarnation = Incarnation {
            id: from,
            boot: envelope.boot,
        };
        let rank = Rank {
            attribute: envelope.attribute,
            id: from,
        };
        match envelope.message {
            Message::Election => self.on_election(now, from, rank),
            Message::Alive => self.on_alive(now, from),
            Message::Prepare { epoch, trial } => self.on_prepare(now, from, epoch, trial),
            Message::Promise {
                epoch,
                last,
                commit,
                trial,
            } => self.on_promise(now, from, epoch, last, commit, trial),
            Message::NoState { epoch, trial } => self.on_no_state(now, incarnation, epoch, trial),
            Message::Reject {
                epoch,
                promised,
                leader_alive,
            } => self.on_reject(now, from, epoch, promised, leader_alive),
            Message::Append {
                epoch,
                prev,
                commit,
                commands,
            } => self.on_append(now, from, epoch, prev, commit, commands),
            Message::Heartbeat {
                epoch,
                last,
                commit,
                alive,
                recovering,
                fresh,
                round,
            } => {
                let me = self.incarnation();
                let (counted, named) = (fresh.contains(&me), recovering.contains(&me));
                if self.on_heartbeat(now, from, epoch, last, commit, counted, named, round) {
                    let recovering = recovering
                        .iter()
                        .fold(0, |bits, r| bits | self.member_bit(r.id));
                    let all = &self.cfg.members;
                    (self.members).relayed(now, alive, recovering, |id| bit_of(all, id));
                }
            }
            Message::Ack {
                epoch,
                matched,
                recovering,
                round,
            } => self.on_ack(now, incarnation, epoch, matched, recovering, round),
            Message::Pull {
                epoch,
                last,
                commit,
                snapshot,
            } => self.on_pull(now, from, epoch, last, commit, snapshot),
            Message::Entries {
                epoch,
                prev,
                entries,
                end_of_batch,
            } => self.on_entries(now, from, epoch, prev, entries, end_of_batch),
            Message::Chunk {
                epoch,
                at,
                total,
                offset,
                data,
                end_of_batch,
            } => self.on_chunk(now, from, epoch, at, total, offset, data, end_of_batch),
            Message::Forward { requests } => self.on_forward(from, envelope.boot, requests),
            Message::Read { batch } => self.on_read(from, batch),
            Message::ReadIndex {
                epoch,
                batch,
                index,
            } => self.on_read_index(from, epoch, batch, index),
            Message::Probe { .. } => self.on_probe(from, envelope.boot),
            Message::Superseded { stale } => self.on_superseded(from, stale),
            Message::Info {
                for_boot,
                promised,
                active,
                ..
            } => self.on_info(now, from, for_boot, promised, active),
        }
    }

    /// A datagram came from `boot` of `from`, a boot this node has seen
    /// replaced by a later start: say so, once a timeout at most, so that a
    /// process paused across its own restart learns it is a leftover.
    fn tell_superseded(&mut self, now: Time, from: NodeId, boot: u32) {
        if !self
            .members
            .may_tell_superseded(now, from, self.cfg.timeout)
        {
            return;
        }
        self.send(from, Message::Superseded { stale: boot });
    }

    fn on_superseded(&mut self, from: NodeId, stale: u32) {
        // Another boot's news (this id's earlier start, say): not ours.
        if stale != self.boot || self.superseded.is_some() {
            return;
        }
        log::error!(
            "node {id}: superseded by a newer start of node {id}: node {from} has heard \
             a later boot of this id and no longer accepts this process's datagrams",
            id = self.cfg.id
        );
        self.superseded = Some(from);
    }

    /// The member that said a later start of this id replaced this process:
    /// it must stop (its datagrams are refused everywhere).
    pub fn superseded(&self) -> Option<NodeId> {
        self.superseded
    }

    /// This boot of this member.
    pub fn incarnation(&self) -> Incarnation {
        Incarnation {
            id: self.cfg.id,
            boot: self.boot,
        }
    }

    fn envelope(&self, message: Message) -> Envelope {
        Envelope {
            cluster: self.cfg.cluster,
            from: self.cfg.id,
            boot: self.boot,
            attribute: self.rank.attribute,
            message,
        }
    }

    fn send(&mut self, to: NodeId, message: Message) {
        self.note_message(events::election_label(&message), self.cfg.id, to);
        let kind = message.kind();
        if let Some(payload) = wire::encode(&self.envelope(message)) {
            self.count_sent(kind, payload.len());
            self.out.push_back(Transmit { to, payload });
        }
    }

    /// Tells `to` that this node is not in `epoch`, and what it promised.
    fn reject(&mut self, to: NodeId, epoch: Epoch, leader_alive: bool) {
        let promised = self.promise.epoch();
        self.send(
            to,
            Message::Reject {
                epoch,
                promised,
                leader_alive,
            },
        );
    }

    /// Sends one message to every other member, encoding it once.
    fn broadcast(&mut self, message: Message) {
        let kind = message.kind();
        let label = events::election_label(&message);
        let Some(payload) = wire::encode(&self.envelope(message)) else {
            return;
        };
        let others: Vec<NodeId> = self.members.ids().collect();
        for to in others {
            self.note_message(label, self.cfg.id, to);
            self.count_sent(kind, payload.len());
            self.out.push_back(Transmit {
                to,
                payload: payload.clone(),
            });
        }
    }

    fn count_sent(&mut self, kind: Kind, bytes: usize) {
        let traffic = &mut self.counters.sent[kind.index()];
        traffic.datagrams += 1;
        traffic.bytes += bytes as u64;
    }

    /// This member's bit in the heartbeat's liveness masks.
    fn member_bit(&self, id: NodeId) -> u128 {
        bit_of(&self.cfg.members, id)
    }

    /// When silence from the leader becomes suspicion: between one heartbeat
    /// short of the timeout and the timeout itself, drawn anew each time so
    /// that the nodes do not all call elections at once.
    fn suspicion(&mut self, now: Time) -> Time {
        let early = self.jitter();
        now + self.cfg.timeout.saturating_sub(early)
    }

    fn jitter(&mut self) -> Duration {
        let max = u64::try_from(self.cfg.heartbeat.as_micros()).unwrap_or(u64::MAX);
        Duration::from_micros(self.rng.gen_range(0..=max))
    }

    fn hears_leader(&self, now: Time) -> bool {
        self.contact.hears_leader(now, self.cfg.timeout)
    }

    /// Becomes a follower with no known leader, suspecting none for a timeout.
    fn wait_for_leader(&mut self, now: Time) {
        let deadline = self.suspicion(now);
        self.duty = Duty::Follower(Following {
            leader: None,
            deadline,
        });
    }

    /// Promises `epoch`: from now on only its leader may extend this log.
    fn make_promise(&mut self, epoch: Epoch) {
        if self.promise.raise(epoch) {
            self.ledger.reverify();
            self.transfer.stop_pull();
            self.reads.forget_rounds();
            if let Duty::Leader(l) = &self.duty {
                let text = format!(
                    "stepping down as leader of epoch {} for epoch {epoch}",
                    l.epoch
                );
                self.story(events::Kind::Role, text);
            }
        }
    }

    /// The heartbeat period's work.
    fn tick(&mut self, now: Time) {
        match &self.duty {
            Duty::Leader(_) => self.leader_tick(now),
            Duty::Preparing(_) => self.takeover_tick(now),
            _ => self.compact_follower(),
        }
        if self.is_recovering() {
            self.probe_tick();
        }
    }

    /// Emits what this node batched while handling a round of inputs.
    fn flush(&mut self, now: Time) {
        // Reads first: a round they start goes out with this turn's appends.
        self.advance_reads(now);
        self.flush_appends();
        self.flush_requests(now);
        self.flush_ack(now);
        self.flush_commit_notices(now);
    }

    /// Applies committed entries to the board, answering local clients.
    fn apply_committed(&mut self) {
        while let Some(seq) = self.ledger.next_to_apply() {
            let Some(entry) = self.ledger.log.get(seq) else {
                // commit never passes the log's end: callers bound it by `verified`
                // or the leader's own log. Stop rather than skip an entry.
                log::error!(
                    "node {}: committed seq {seq} missing from the log",
                    self.cfg.id
                );
                return;
            };
            if let wire::Command::Client(request) = &entry.command {
                let request = request.clone();
                let outcome = self.board.apply(&request, seq);
                self.ledger.applied_through(seq);
                if let Some(effect) = applied::Effect::of(&request.op, &outcome) {
                    self.changes.push(applied::Change { seq, effect });
                }
                self.on_applied(&request, outcome, seq);
            } else {
                self.ledger.applied_through(seq);
            }
        }
    }
}

impl std::fmt::Display for Rank {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "({}, {})", self.attribute, self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Command, Entry, LogPos};

    fn config(id: NodeId) -> Config {
        Config {
            cluster: 9,
            ..Config::new(id, vec![1, 2, 3])
        }
    }

    /// One member of a three-member cluster, fed datagrams by hand.
    struct Member {
        node: Node,
        /// Milliseconds.
        now: u64,
    }

    impl Member {
        fn boot(id: NodeId) -> Member {
            let mut m = Member {
                node: Node::new(config(id), u64::from(id), Time(0)),
                now: 0,
            };
            m.sent();
            m
        }

        fn me(&self) -> Incarnation {
            self.node.incarnation()
        }

        fn hears(&mut self, from: Incarnation, message: Message) {
            self.now += 1;
            let envelope = Envelope {
                cluster: 9,
                from: from.id,
                boot: from.boot,
                attribute: 7,
                message,
            };
            let bytes = wire::encode(&envelope).unwrap();
            self.node
                .handle_datagram(Time(self.now * 1000), from.id, &bytes);
        }

        fn waits(&mut self, ms: u64) {
            let end = self.now + ms;
            while self.now < end {
                self.now += 10;
                self.node.handle_timeout(Time(self.now * 1000));
            }
        }

        fn sent(&mut self) -> Vec<(NodeId, Message)> {
            let now = Time(self.now * 1000);
            std::iter::from_fn(|| self.node.poll_transmit(now))
                .map(|t| (t.to, wire::decode(&t.payload).unwrap().message))
                .collect()
        }

        /// Fenced by both others' reports that they promised `epoch`.
        fn fenced_at(&mut self, epoch: Epoch, others: [Incarnation; 2]) {
            let for_boot = self.node.boot;
            for other in others {
                let info = Message::Info {
                    for_boot,
                    promised: epoch,
                    active: true,
                    http: 0,
                };
                self.hears(other, info);
            }
        }
    }

    fn epoch(number: u64, leader: NodeId, boot: u32) -> Epoch {
        Epoch {
            number,
            leader,
            boot,
        }
    }

    /// A heartbeat of `epoch`'s leader, its log ending at `seq`.
    fn heartbeat(
        epoch: Epoch,
        seq: u64,
        recovering: Vec<Incarnation>,
        fresh: Vec<Incarnation>,
    ) -> Message {
        Message::Heartbeat {
            epoch,
            last: LogPos { tag: epoch, seq },
            commit: 0,
            alive: 0b111,
            recovering,
            fresh,
            round: seq,
        }
    }

    const LEADER: Incarnation = Incarnation { id: 1, boot: 100 };
    const THIRD: Incarnation = Incarnation { id: 3, boot: 300 };

    #[test]
    fn a_datagram_claiming_to_come_from_this_node_is_refused() {
        let mut node = Member::boot(1);
        node.hears(Incarnation { id: 1, boot: 5 }, Message::Election);
        assert_eq!(
            node.node.counters().dropped.get(&Refused::Spoofed),
            Some(&1)
        );
        assert!(node.sent().is_empty(), "no Alive sent to itself");
    }

    /// tests/model.rs, `model_unmodified_rules_lose_a_commit_via_stale_heartbeat`:
    /// before its crash, node 2 acknowledged seq 2, which the leader
    /// committed counting it. A heartbeat the leader sent earlier (end of
    /// log: seq 1) arrives after the reboot. Had it ended the recovery, node
    /// 2 would count as a copy without seq 2, and with node 3 elect a leader
    /// that lacks it.
    #[test]
    fn a_heartbeat_sent_before_the_reboot_does_not_end_recovery() {
        let e = epoch(1, 1, LEADER.boot);
        let mut node2 = Member::boot(2);
        node2.fenced_at(e, [LEADER, THIRD]);
        node2.hears(
            LEADER,
            Message::Append {
                epoch: e,
                prev: LogPos::default(),
                commit: 0,
                commands: vec![Command::Noop],
            },
        );
        node2.hears(LEADER, heartbeat(e, 1, Vec::new(), Vec::new()));
        assert_eq!(node2.node.leader(), Some(1), "it follows the leader");
        assert!(
            node2.node.is_recovering(),
            "a heartbeat that does not name this boot may predate the reboot"
        );
        let acks: Vec<_> = node2.sent();
        assert!(
            acks.iter().any(|(to, m)| *to == 1
                && matches!(
                    m,
                    Message::Ack {
                        recovering: true,
                        ..
                    }
                )),
            "it tells the leader it is recovering: {acks:?}"
        );

        // The leader hears the new boot and names it; its log now ends at 2.
        node2.hears(LEADER, heartbeat(e, 2, vec![node2.me()], Vec::new()));
        assert!(node2.node.is_recovering(), "it lacks seq 2");
        let entry = Entry {
            tag: e,
            command: Command::Noop,
        };
        node2.hears(
            LEADER,
            Message::Entries {
                epoch: e,
                prev: LogPos { tag: e, seq: 1 },
                entries: vec![entry],
                end_of_batch: true,
            },
        );
        node2.hears(LEADER, heartbeat(e, 2, vec![node2.me()], Vec::new()));
        assert!(!node2.node.is_recovering(), "it holds the leader's log");
    }

    /// tests/model.rs, `..._via_stale_prepare_at_boot`: node 3 reboots after
    /// the cluster formed and a stale Prepare of an epoch started fresh
    /// earlier reaches it. It must not follow that epoch unfenced, since the
    /// fresh start did not count this boot.
    #[test]
    fn a_fresh_epoch_is_followed_unfenced_only_by_the_boots_it_counted() {
        let e = epoch(1, 1, LEADER.boot);
        let mut node3 = Member::boot(3);
        node3.hears(
            LEADER,
            Message::Prepare {
                epoch: e,
                trial: false,
            },
        );
        let fresh = |counted| heartbeat(e, 1, Vec::new(), counted);
        node3.hears(LEADER, fresh(vec![Incarnation { id: 2, boot: 200 }]));
        assert_eq!(node3.node.leader(), None, "not counted: waits for a fence");
        node3.hears(LEADER, fresh(vec![node3.me()]));
        assert_eq!(node3.node.leader(), Some(1), "counted: follows");
    }

    /// Boots node 1 alone until it asks the trial round of its takeover.
    fn candidate() -> (Member, Epoch) {
        let mut node1 = Member::boot(1);
        for _ in 0..100 {
            node1.waits(50);
            let trial = node1.sent().into_iter().find_map(|(_, m)| match m {
                Message::Prepare { epoch, trial: true } => Some(epoch),
                _ => None,
            });
            if let Some(e) = trial {
                return (node1, e);
            }
        }
        panic!("a lone node takes over");
    }

    fn no_state(epoch: Epoch, trial: bool) -> Message {
        Message::NoState { epoch, trial }
    }

    /// tests/model.rs, `..._via_nostates_collected_over_time`: a NoState
    /// counts only from a boot that also answered the trial round, so members
    /// memoryless one after the other never make a fresh start.
    #[test]
    fn a_fresh_start_counts_only_boots_memoryless_in_both_rounds() {
        let before = Incarnation { id: 2, boot: 200 };
        let after = Incarnation { id: 2, boot: 201 };

        let (mut node1, e) = candidate();
        node1.hears(before, no_state(e, true));
        assert!(
            node1
                .sent()
                .iter()
                .any(|(_, m)| matches!(m, Message::Prepare { trial: false, .. })),
            "node 1 and node 2 are a memoryless majority: the real round"
        );
        node1.waits(320); // node 2's old boot goes quiet; it reboots
        node1.hears(after, no_state(e, false));
        node1.hears(THIRD, no_state(e, false));
        assert_eq!(
            node1.node.counters().dropped.get(&Refused::UnconfirmedBoot),
            None
        );
        assert_eq!(
            node1.node.counted_no_state(),
            vec![1],
            "neither answered the trial in that boot"
        );

        let (mut node1, e) = candidate();
        node1.hears(before, no_state(e, true));
        node1.hears(before, no_state(e, false));
        assert_eq!(node1.node.counted_no_state(), vec![1, 2]);
        node1.waits(350); // the wait for members with state
        assert_eq!(
            node1.node.leading(),
            Some(e),
            "memoryless at once: fresh start"
        );
        let counted = node1.sent().into_iter().find_map(|(_, m)| match m {
            Message::Heartbeat { fresh, .. } => Some(fresh),
            _ => None,
        });
        assert_eq!(
            counted,
            Some(vec![before]),
            "the heartbeat names who may follow"
        );
    }

    /// The round a heartbeat carries, if `m` is one.
    fn round_of(m: &Message) -> Option<u64> {
        match m {
            Message::Heartbeat { round, .. } => Some(*round),
            _ => None,
        }
    }

    /// A read at an idle leader does not wait for the next heartbeat tick:
    /// it starts a round at once, and is answered once a majority acks it.
    #[test]
    fn a_read_at_the_leader_starts_a_round_at_once() {
        let member2 = Incarnation { id: 2, boot: 200 };
        let (mut node1, e) = candidate();
        node1.hears(member2, no_state(e, true));
        node1.hears(member2, no_state(e, false));
        node1.waits(350);
        assert_eq!(node1.node.leading(), Some(e));
        let ack = |round| Message::Ack {
            epoch: e,
            matched: 1,
            recovering: false,
            round,
        };
        let last = node1.sent().iter().filter_map(|(_, m)| round_of(m)).max();
        node1.hears(member2, ack(last.unwrap_or(0)));
        node1.sent();

        node1.now += 1;
        node1.node.handle_read(Time(node1.now * 1000), 77);
        let rounds: Vec<u64> = node1
            .sent()
            .iter()
            .filter_map(|(_, m)| round_of(m))
            .collect();
        assert_eq!(rounds.len(), 2, "one heartbeat to each member at once");
        assert!(rounds[0] > last.unwrap_or(0), "a new round: {rounds:?}");
        assert_eq!(node1.node.read_counters().rounds, 1, "counted");
        assert_eq!(node1.node.poll_read(), None, "not before a majority acks");
        node1.hears(member2, ack(rounds[0]));
        node1.sent();
        assert_eq!(
            node1.node.poll_read(),
            Some(ReadReply {
                token: 77,
                result: Ok(1)
            })
        );
    }

    /// A follower asks one batch at a time; an answer for an earlier batch
    /// (a duplicate, or a retransmission's late twin) carries an index from
    /// before the newer reads arrived, so it must never answer them.
    #[test]
    fn a_read_index_answers_only_its_own_batch() {
        let e = epoch(1, 1, LEADER.boot);
        let mut node2 = Member::boot(2);
        node2.fenced_at(e, [LEADER, THIRD]);
        node2.hears(LEADER, heartbeat(e, 0, vec![node2.me()], Vec::new()));
        assert_eq!(node2.node.leader(), Some(1));
        node2.sent();
        let read_index = |batch, index| Message::ReadIndex {
            epoch: e,
            batch,
            index,
        };
        let asked = |node: &mut Member| {
            node.sent()
                .into_iter()
                .find_map(|(to, m)| match m {
                    Message::Read { batch } if to == 1 => Some(batch),
                    _ => None,
                })
                .expect("a Read to the leader")
        };

        node2.node.handle_read(Time(node2.now * 1000), 1);
        let first = asked(&mut node2);
        node2.hears(LEADER, read_index(first, 0));
        node2.sent();
        assert_eq!(node2.node.poll_read().map(|r| r.token), Some(1));

        node2.node.handle_read(Time(node2.now * 1000), 2);
        let second = asked(&mut node2);
        assert_ne!(first, second, "each batch has its own number");
        node2.hears(LEADER, read_index(first, 0));
        node2.hears(Incarnation { id: 3, boot: 300 }, read_index(second, 0));
        node2.sent();
        assert_eq!(
            node2.node.poll_read(),
            None,
            "neither is the leader's answer"
        );
        node2.hears(LEADER, read_index(second, 0));
        node2.sent();
        assert_eq!(node2.node.poll_read().map(|r| r.token), Some(2));
        let counted = node2.node.read_counters();
        assert_eq!((counted.asks, counted.confirmed), (2, 2));
    }
}
