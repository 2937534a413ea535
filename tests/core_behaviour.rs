//! One protocol core fed datagrams by hand, with its outputs pinned: what it
//! sends, when, and what it does with what it hears. These tests pin
//! behaviour the simulator's invariants cannot see (timers, who is asked,
//! counters shown in /status and /metrics), found by cargo-mutants
//! (scripts/mutants-survivors.md says which test kills which mutant).
//!
//! Messages are built with the public `wire` types and fed through
//! `Node::handle_datagram` exactly as the driver does; the helpers that
//! build messages are at the top, so a change of a message's fields is a
//! change here only.

use std::time::Duration;

use blackboard::core::{Config, Node, Pace, PeerStatus, Role, Time, Unavailable};
use blackboard::sim::Sim;
use blackboard::wire::{
    self, Command, Envelope, Epoch, Incarnation, Kind, LogPos, Message, NodeId, Request,
    SnapshotCursor,
};

const CLUSTER: u32 = 9;
const HEARTBEAT: Duration = Pace::NORMAL.heartbeat;
const TIMEOUT: Duration = Pace::NORMAL.timeout;

fn config(id: NodeId, members: &[NodeId]) -> Config {
    Config {
        cluster: CLUSTER,
        ..Config::new(id, members.to_vec())
    }
}

fn ms(n: u64) -> u64 {
    n * 1000
}

/// Another member as the node under test sees it: its id and boot, and the
/// election attribute its envelopes carry.
#[derive(Clone, Copy, Debug)]
struct Other {
    id: NodeId,
    boot: u32,
    attribute: u32,
}

impl Other {
    /// Outranks any real node (attributes are drawn below 1,000,000).
    fn high(id: NodeId) -> Other {
        Other {
            id,
            boot: 1000 + u32::from(id),
            attribute: u32::MAX,
        }
    }

    /// Ranked below any real node.
    fn low(id: NodeId) -> Other {
        Other {
            id,
            boot: 1000 + u32::from(id),
            attribute: 0,
        }
    }

    fn incarnation(self) -> Incarnation {
        Incarnation {
            id: self.id,
            boot: self.boot,
        }
    }

    /// An epoch this member leads.
    fn epoch(self, number: u64) -> Epoch {
        Epoch {
            number,
            leader: self.id,
            boot: self.boot,
        }
    }
}

/// A datagram the node under test sent, and when (µs).
#[derive(Clone, Debug)]
struct Sent {
    at: u64,
    to: NodeId,
    bytes: usize,
    message: Message,
}

/// The node under test, its clock (µs) and everything it sent.
struct Member {
    node: Node,
    now: u64,
    boot: Option<u32>,
    log: Vec<Sent>,
    /// Wake-ups in a row at one instant.
    same_instant: u32,
}

impl Member {
    /// The node's role now, as users see it.
    fn role(&self) -> Role {
        self.node.role(Time(self.now))
    }

    /// What `/status` shows now.
    fn status(&self) -> blackboard::core::Status {
        self.node.status(Time(self.now))
    }

    fn boot(id: NodeId, members: &[NodeId], seed: u64) -> Member {
        Member {
            node: Node::new(config(id, members), seed, Time(0)),
            now: 0,
            boot: None,
            log: Vec::new(),
            same_instant: 0,
        }
    }

    /// Member 1 of a cluster of three.
    fn one_of_three(seed: u64) -> Member {
        Member::boot(1, &[1, 2, 3], seed)
    }

    fn collect(&mut self) {
        let mut count = 0;
        let now = Time(self.now);
        while let Some(t) = self.node.poll_transmit(now) {
            count += 1;
            assert!(count < 10_000, "the node sends without end at one instant");
            let envelope = wire::decode(&t.payload).expect("the node sends what it can decode");
            assert_eq!(envelope.from, self.node.id());
            self.boot = Some(envelope.boot);
            self.log.push(Sent {
                at: self.now,
                to: t.to,
                bytes: t.payload.len(),
                message: envelope.message,
            });
        }
    }

    /// This node's boot nonce (learned from what it sent: it probes at once).
    fn incarnation(&mut self) -> Incarnation {
        if self.boot.is_none() {
            self.wake_until(self.now);
        }
        Incarnation {
            id: self.node.id(),
            boot: self
                .boot
                .expect("a booted node sends something at its first wake-up"),
        }
    }

    /// A datagram from `from`, 1 ms after the last event (timers due
    /// before it fire first).
    fn hears(&mut self, from: Other, message: Message) -> usize {
        self.wake_until(self.now + ms(1));
        self.hears_now(from, message)
    }

    /// A datagram from `from` at the current instant; returns its size.
    fn hears_now(&mut self, from: Other, message: Message) -> usize {
        let bytes = wire::encode(&envelope(from, message)).expect("fits a datagram");
        self.deliver(from.id, &bytes)
    }

    /// Raw bytes from the member at address `from`, 1 ms after the last event.
    fn hears_bytes(&mut self, from: NodeId, bytes: &[u8]) -> usize {
        self.wake_until(self.now + ms(1));
        self.deliver(from, bytes)
    }

    fn deliver(&mut self, from: NodeId, bytes: &[u8]) -> usize {
        self.node.handle_datagram(Time(self.now), from, bytes);
        self.collect();
        bytes.len()
    }

    /// Refused for the reason `/status` names `reason`.
    fn dropped(&self, reason: &str) -> u64 {
        (self.node.counters().dropped.iter())
            .find(|(r, _)| r.name() == reason)
            .map_or(0, |(_, n)| *n)
    }

    fn peer(&self, id: NodeId) -> PeerStatus {
        let status = self.status();
        status
            .peers
            .into_iter()
            .find(|p| p.id == id)
            .expect("every member is in the status")
    }

    /// Runs the node's timers, exactly when it asks to be woken, up to `end`
    /// (µs); the clock stands at `end` afterwards.
    fn wake_until(&mut self, end: u64) {
        loop {
            let wake = self.next_wake();
            if wake > end {
                break;
            }
            self.wake(wake);
        }
        self.now = end;
    }

    /// When the node wants to be woken next (never before now).
    fn next_wake(&self) -> u64 {
        self.node.poll_timeout().0.max(self.now)
    }

    /// Wakes the node at `at`. A node woken at an instant does not ask to
    /// be woken at that same instant again and again: the driver would spin.
    fn wake(&mut self, at: u64) {
        if at == self.now {
            self.same_instant += 1;
            assert!(
                self.same_instant < 100,
                "the node asks to be woken at {at} µs again and again"
            );
        } else {
            self.same_instant = 0;
        }
        self.now = at;
        self.node.handle_timeout(Time(at));
        self.collect();
    }

    fn waits(&mut self, d: Duration) {
        self.wake_until(self.now + d.as_micros() as u64);
    }

    /// Runs the timers until `found` picks a sent message (at most `limit`).
    fn until_sent<T>(&mut self, limit: Duration, mut found: impl FnMut(&Sent) -> Option<T>) -> T {
        let end = self.now + limit.as_micros() as u64;
        let mut seen = self.log.len();
        loop {
            if let Some(hit) = self.log[seen..].iter().find_map(&mut found) {
                return hit;
            }
            seen = self.log.len();
            let wake = self.next_wake();
            assert!(wake <= end, "nothing of the kind sent within {limit:?}");
            self.wake(wake);
        }
    }

    /// Messages sent since the mark (an index into the log).
    fn since(&self, mark: usize) -> &[Sent] {
        &self.log[mark..]
    }

    fn mark(&self) -> usize {
        self.log.len()
    }

    /// Fenced at `epoch` by both others' reports (this node is recovering).
    fn fenced_at(&mut self, epoch: Epoch, others: [Other; 2]) {
        let for_boot = self.incarnation().boot;
        for other in others {
            self.hears(other, info(for_boot, epoch, true));
        }
    }

    /// Follows `leader`'s epoch (after a fence), holding one no-op of it.
    fn follows(&mut self, leader: Other, epoch: Epoch, other: Other) {
        self.fenced_at(epoch, [leader, other]);
        self.hears(
            leader,
            append(epoch, LogPos::default(), 0, vec![Command::Noop]),
        );
        assert_eq!(self.node.leader(), Some(leader.id), "it follows");
    }
}

impl Member {
    /// Follows `leader` and has recovered: it holds the leader's log as of a
    /// heartbeat naming this boot, so it counts again.
    fn recovered(&mut self, leader: Other, epoch: Epoch, other: Other) {
        self.follows(leader, epoch, other);
        let me = self.incarnation();
        let last = LogPos { tag: epoch, seq: 1 };
        self.hears(leader, heartbeat(epoch, last, 1, 0b111, vec![me], vec![]));
        assert!(!self.node.is_recovering(), "recovered");
        assert_eq!(self.role(), Role::Follower);
    }
}

impl Member {
    /// A linearizable read at this node, now.
    fn reads(&mut self, token: u64) {
        self.node.handle_read(Time(self.now), token);
        self.collect();
    }

    /// The answers to reads so far: (token, seq the board stood at).
    fn read_answers(&mut self) -> Vec<(u64, Result<u64, Unavailable>)> {
        std::iter::from_fn(|| self.node.poll_read())
            .map(|r| (r.token, r.result))
            .collect()
    }

    /// Leads epoch 2 of a cluster of three, with the no-ops of epochs 1
    /// and 2 committed: it followed `a` in epoch 1, then `a` went quiet and
    /// it took over with `a`'s promise.
    fn leads(seed: u64, a: Other, b: Other) -> (Member, Epoch) {
        let e1 = a.epoch(1);
        let mut m = Member::one_of_three(seed);
        m.recovered(a, e1, b);
        let (_, e2) = m.until_sent(Duration::from_secs(1), trial_prepare);
        let last = LogPos { tag: e1, seq: 1 };
        m.hears_now(a, promise(e2, last, last, true));
        m.hears_now(a, promise(e2, last, last, false));
        assert_eq!(m.node.leading(), Some(e2), "leads with a's promise");
        let round = m.rounds_sent();
        m.hears(a, ack(e2, 2, false, round));
        assert_eq!(m.node.commit(), 2, "its no-op committed");
        (m, e2)
    }

    /// The heartbeat rounds this node sent as leader: the latest one.
    fn rounds_sent(&self) -> u64 {
        self.log
            .iter()
            .filter_map(|s| match s.message {
                Message::Heartbeat { round, .. } => Some(round),
                _ => None,
            })
            .max()
            .unwrap_or(0)
    }
}

// ----- messages ----------------------------------------------------------
//
// Every message with fields is built from `wire::one_of_each`'s example of
// its kind, with the fields these tests mean set by name: a field added to a
// message later keeps that example's value and these tests still compile.

fn envelope(from: Other, message: Message) -> Envelope {
    Envelope {
        cluster: CLUSTER,
        from: from.id,
        boot: from.boot,
        attribute: from.attribute,
        message,
    }
}

fn example(kind: Kind) -> Message {
    wire::one_of_each()
        .into_iter()
        .find(|m| m.kind() == kind)
        .expect("one_of_each holds every kind")
}

/// A heartbeat of `epoch`'s leader.
fn heartbeat(
    epoch: Epoch,
    last: LogPos,
    commit: u64,
    alive: u128,
    recovering: Vec<Incarnation>,
    fresh: Vec<Incarnation>,
) -> Message {
    let mut m = example(Kind::Heartbeat);
    if let Message::Heartbeat {
        epoch: e,
        last: l,
        commit: c,
        alive: a,
        recovering: r,
        fresh: f,
        ..
    } = &mut m
    {
        (*e, *l, *c, *a, *r, *f) = (epoch, last, commit, alive, recovering, fresh);
    }
    m
}

fn append(epoch: Epoch, prev: LogPos, commit: u64, commands: Vec<Command>) -> Message {
    let mut m = example(Kind::Append);
    if let Message::Append {
        epoch: e,
        prev: p,
        commit: c,
        commands: x,
        ..
    } = &mut m
    {
        (*e, *p, *c, *x) = (epoch, prev, commit, commands);
    }
    m
}

/// An ack of heartbeat round `round`.
fn ack(epoch: Epoch, matched: u64, recovering: bool, round: u64) -> Message {
    let mut m = example(Kind::Ack);
    if let Message::Ack {
        epoch: e,
        matched: x,
        recovering: r,
        round: n,
        ..
    } = &mut m
    {
        (*e, *x, *r, *n) = (epoch, matched, recovering, round);
    }
    m
}

fn read(batch: u64) -> Message {
    let mut m = example(Kind::Read);
    if let Message::Read { batch: b, .. } = &mut m {
        *b = batch;
    }
    m
}

fn read_index(epoch: Epoch, batch: u64, index: u64) -> Message {
    let mut m = example(Kind::ReadIndex);
    if let Message::ReadIndex {
        epoch: e,
        batch: b,
        index: i,
        ..
    } = &mut m
    {
        (*e, *b, *i) = (epoch, batch, index);
    }
    m
}

fn reads_asked(sent: &[Sent]) -> Vec<(NodeId, u64)> {
    sent.iter()
        .filter_map(|s| match s.message {
            Message::Read { batch, .. } => Some((s.to, batch)),
            _ => None,
        })
        .collect()
}

fn prepare(epoch: Epoch, trial: bool) -> Message {
    let mut m = example(Kind::Prepare);
    if let Message::Prepare {
        epoch: e, trial: t, ..
    } = &mut m
    {
        (*e, *t) = (epoch, trial);
    }
    m
}

fn promise(epoch: Epoch, last: LogPos, commit: LogPos, trial: bool) -> Message {
    let mut m = example(Kind::Promise);
    if let Message::Promise {
        epoch: e,
        last: l,
        commit: c,
        trial: t,
        ..
    } = &mut m
    {
        (*e, *l, *c, *t) = (epoch, last, commit, trial);
    }
    m
}

fn no_state(epoch: Epoch, trial: bool) -> Message {
    let mut m = example(Kind::NoState);
    if let Message::NoState {
        epoch: e, trial: t, ..
    } = &mut m
    {
        (*e, *t) = (epoch, trial);
    }
    m
}

fn info(for_boot: u32, promised: Epoch, active: bool) -> Message {
    let mut m = example(Kind::Info);
    if let Message::Info {
        for_boot: b,
        promised: p,
        active: a,
        ..
    } = &mut m
    {
        (*b, *p, *a) = (for_boot, promised, active);
    }
    m
}

fn forward(requests: Vec<Request>) -> Message {
    let mut m = example(Kind::Forward);
    if let Message::Forward { requests: r, .. } = &mut m {
        *r = requests;
    }
    m
}

fn is_election(s: &Sent) -> bool {
    matches!(s.message, Message::Election)
}

fn is_alive(s: &Sent) -> bool {
    matches!(s.message, Message::Alive)
}

fn trial_prepare(s: &Sent) -> Option<(u64, Epoch)> {
    match s.message {
        Message::Prepare {
            epoch, trial: true, ..
        } => Some((s.at, epoch)),
        _ => None,
    }
}

fn elections_sent(sent: &[Sent]) -> Vec<NodeId> {
    sent.iter()
        .filter(|s| is_election(s))
        .map(|s| s.to)
        .collect()
}

// ----- election ----------------------------------------------------------

/// A node that hears no leader calls an election, counts it, and starts its
/// takeover half a heartbeat later when no higher rank answers.
#[test]
fn a_candidate_waits_half_a_heartbeat_for_a_higher_rank() {
    let mut m = Member::one_of_three(1);
    assert_eq!(m.node.counters().elections, 0);
    let called = m.until_sent(Duration::from_secs(1), |s| is_election(s).then_some(s.at));
    assert_eq!(m.node.counters().elections, 1, "one election called");
    assert_eq!(
        m.role(),
        Role::Recovering,
        "a memoryless node shows that first"
    );
    let (asked, _) = m.until_sent(Duration::from_secs(1), trial_prepare);
    assert_eq!(
        asked - called,
        ms(25),
        "the takeover starts when half a heartbeat passed without an Alive"
    );
}

/// `Election` goes to the ranks above this node's and to members whose
/// rank is not known yet, never to a known lower rank.
#[test]
fn an_election_goes_only_to_higher_or_unknown_ranks() {
    // Member 3 known to rank below, member 2 unknown.
    let mut m = Member::one_of_three(1);
    m.hears(Other::low(3), Message::Alive);
    let mark = m.mark();
    m.until_sent(Duration::from_secs(1), |s| is_election(s).then_some(()));
    assert_eq!(elections_sent(m.since(mark)), vec![2]);

    // Member 3 known to rank above, member 2 below.
    let mut m = Member::one_of_three(1);
    m.hears(Other::high(3), Message::Probe { http: 0 });
    m.hears(Other::low(2), Message::Probe { http: 0 });
    let mark = m.mark();
    m.until_sent(Duration::from_secs(1), |s| is_election(s).then_some(()));
    assert_eq!(elections_sent(m.since(mark)), vec![3]);
}

/// Member 1 of five, just booted, having heard a probe from every other:
/// those in `higher` outrank it, the rest rank below it.
fn one_of_five_outranked_by(higher: &[NodeId], seed: u64) -> Member {
    let mut m = Member::boot(1, &[1, 2, 3, 4, 5], seed);
    for id in 2..=5 {
        let other = if higher.contains(&id) {
            Other::high(id)
        } else {
            Other::low(id)
        };
        m.hears(other, Message::Probe { http: 0 });
    }
    m
}

/// The O(n) rule: a candidate asks only the highest rank it believes alive,
/// and the next one down each time the one asked stays silent for half a
/// heartbeat; when none is left it takes over. Five members: 2, 3 and 4
/// outrank it (4 highest), 5 does not.
#[test]
fn a_candidate_asks_the_highest_rank_alive_then_the_next_one_down() {
    let mut m = one_of_five_outranked_by(&[2, 3, 4], 1);
    let mark = m.mark();
    let first = m.until_sent(Duration::from_secs(1), |s| is_election(s).then_some(s.at));
    let (takeover, _) = m.until_sent(Duration::from_secs(1), trial_prepare);
    let asked: Vec<(NodeId, u64)> = m
        .since(mark)
        .iter()
        .filter(|s| is_election(s))
        .map(|s| (s.to, (s.at - first) / 1000))
        .collect();
    assert_eq!(
        asked,
        vec![(4, 0), (3, 25), (2, 50)],
        "one at a time, highest first, half a heartbeat apart"
    );
    assert_eq!((takeover - first) / 1000, 75, "then it takes over");
}

/// An `Alive` from the member asked ends the asking: no one further down is
/// asked, and no takeover starts.
#[test]
fn the_asked_members_alive_ends_the_asking() {
    let mut m = one_of_five_outranked_by(&[2, 3, 4], 2);
    m.until_sent(Duration::from_secs(1), |s| is_election(s).then_some(()));
    let mark = m.mark();
    m.hears_now(Other::high(4), Message::Alive);
    m.waits(Duration::from_millis(200));
    let sent = m.since(mark);
    assert!(
        elections_sent(sent).is_empty(),
        "asked no one else: {sent:?}"
    );
    assert!(
        !sent.iter().any(|s| trial_prepare(s).is_some()),
        "no takeover: {sent:?}"
    );
}

/// The highest rank alive, as far as it knows, asks no one: its election
/// costs no `Election` at all, only the takeover.
#[test]
fn the_highest_rank_alive_takes_over_without_asking() {
    let mut m = one_of_five_outranked_by(&[], 3);
    let mark = m.mark();
    m.until_sent(Duration::from_secs(1), trial_prepare);
    assert!(
        elections_sent(m.since(mark)).is_empty(),
        "no Election: {:?}",
        m.since(mark)
    );
    assert_eq!(m.node.counters().elections, 1, "yet an election was called");
}

/// Two members believe different tops: member 2 asks this node, which
/// knows a higher rank alive. It answers `Alive` (so 2 waits) and asks that
/// higher rank in turn, instead of taking over itself.
#[test]
fn a_member_asked_as_top_asks_the_higher_rank_it_knows() {
    let mut m = one_of_five_outranked_by(&[3], 5);
    m.waits(TIMEOUT / 2);
    let mark = m.mark();
    m.hears(Other::low(2), Message::Election);
    let sent = m.since(mark);
    assert!(
        sent.iter().any(|s| is_alive(s) && s.to == 2),
        "Alive to 2: {sent:?}"
    );
    assert_eq!(elections_sent(sent), vec![3], "it asks 3, the top it knows");
    assert!(
        !sent.iter().any(|s| trial_prepare(s).is_some()),
        "no takeover yet: {sent:?}"
    );
}

/// Stale news is not belief: a higher rank last heard more than two
/// timeouts and a heartbeat ago is not asked; members whose rank is unknown
/// always are (the classic rule, for a node that has heard nothing).
#[test]
fn only_fresh_news_makes_a_member_worth_asking() {
    let mut m = Member::boot(1, &[1, 2, 3, 4], 4);
    m.hears(Other::high(4), Message::Probe { http: 0 });
    m.hears(Other::high(3), Message::Probe { http: 0 });
    // Past the window for both; then 3 is heard again.
    m.waits(Duration::from_millis(700));
    m.hears(Other::high(3), Message::Probe { http: 0 });
    let mark = m.mark();
    m.until_sent(Duration::from_secs(2), |s| is_election(s).then_some(()));
    let mut asked = elections_sent(m.since(mark));
    asked.sort_unstable();
    assert_eq!(
        asked,
        vec![2, 3],
        "3 (fresh) and 2 (rank unknown), not 4 (stale)"
    );
}

/// A lower rank's `Election` is answered `Alive`, and a node that hears no
/// leader and defers to no one calls its own election at once.
#[test]
fn a_lower_ranks_election_is_answered_and_taken_over() {
    let mut m = Member::one_of_three(1);
    m.hears(Other::low(2), Message::Election);
    let sent = m.since(0);
    assert!(
        sent.iter().any(|s| is_alive(s) && s.to == 2),
        "Alive to the lower rank: {sent:?}"
    );
    assert_eq!(
        elections_sent(sent),
        vec![3],
        "its own election, to the unknown rank"
    );
    assert_eq!(m.node.counters().elections, 1);
}

/// A higher rank's `Election` gets no `Alive`, calls no election, and puts
/// off this node's own election by a timeout from then.
#[test]
fn a_higher_ranks_election_is_given_time_to_take_over() {
    let mut m = Member::one_of_three(1);
    m.waits(Duration::from_millis(100));
    let mark = m.mark();
    m.hears(Other::high(2), Message::Election);
    let heard = m.now;
    assert!(
        !m.since(mark).iter().any(|s| is_alive(s) || is_election(s)),
        "no answer to a higher rank: {:?}",
        m.since(mark)
    );
    let called = m.until_sent(Duration::from_secs(2), |s| is_election(s).then_some(s.at));
    assert!(
        called >= heard + ms(300),
        "patience: no election within a timeout of the higher rank's (called after {} ms)",
        (called - heard) / 1000
    );
}

/// A candidate that hears a higher rank's `Election` steps back: it does
/// not start its takeover.
#[test]
fn a_candidate_steps_back_for_a_higher_ranks_election() {
    let mut m = Member::one_of_three(1);
    m.until_sent(Duration::from_secs(1), |s| is_election(s).then_some(()));
    let mark = m.mark();
    m.hears_now(Other::high(2), Message::Election);
    m.waits(Duration::from_millis(200));
    assert!(
        !m.since(mark).iter().any(|s| trial_prepare(s).is_some()),
        "no takeover: {:?}",
        m.since(mark)
    );
}

/// A candidate that hears `Alive` from a higher rank steps back, and the
/// `Alive` keeps it from calling elections for a timeout, even when a lower
/// rank calls one.
#[test]
fn an_alive_defers_this_nodes_elections_for_a_timeout() {
    let mut m = Member::one_of_three(1);
    m.until_sent(Duration::from_secs(1), |s| is_election(s).then_some(()));
    let mark = m.mark();
    m.hears_now(Other::high(2), Message::Alive);
    m.waits(Duration::from_millis(100));
    assert!(
        !m.since(mark).iter().any(|s| trial_prepare(s).is_some()),
        "no takeover after an Alive: {:?}",
        m.since(mark)
    );
    let mark = m.mark();
    m.hears(Other::low(3), Message::Election);
    assert!(m.since(mark).iter().any(is_alive), "it still answers");
    assert!(
        elections_sent(m.since(mark)).is_empty(),
        "deferring: no election of its own"
    );
}

/// A candidate hearing a lower rank's `Election` answers it but does not
/// start a second election of its own.
#[test]
fn a_candidate_does_not_campaign_twice() {
    let mut m = Member::one_of_three(1);
    m.until_sent(Duration::from_secs(1), |s| is_election(s).then_some(()));
    let mark = m.mark();
    m.hears_now(Other::low(3), Message::Election);
    assert!(m.since(mark).iter().any(is_alive));
    assert!(elections_sent(m.since(mark)).is_empty());
    assert_eq!(m.node.counters().elections, 1);
}

/// A follower that hears its leader answers a lower rank's `Election` but
/// does not call one: a node that merely lost heartbeats cannot unseat it.
#[test]
fn a_follower_of_a_working_leader_does_not_campaign() {
    let (leader, other) = (Other::high(2), Other::low(3));
    let mut m = Member::one_of_three(1);
    m.follows(leader, leader.epoch(1), other);
    let mark = m.mark();
    m.hears(other, Message::Election);
    assert!(m.since(mark).iter().any(|s| is_alive(s) && s.to == 3));
    assert!(elections_sent(m.since(mark)).is_empty());
    assert_eq!(m.node.counters().elections, 0);
}

/// A follower that still hears its leader is not put off by a higher
/// rank's `Election`: when the leader then goes quiet it suspects it on
/// time, a timeout after the leader's last word at most.
#[test]
fn a_higher_ranks_election_does_not_delay_suspecting_a_quiet_leader() {
    let (leader, other) = (Other::low(2), Other::high(3));
    let mut m = Member::one_of_three(1);
    m.follows(leader, leader.epoch(1), other);
    let last_word = m.now;
    m.waits(Duration::from_millis(200));
    m.hears(other, Message::Election);
    let called = m.until_sent(Duration::from_secs(2), |s| is_election(s).then_some(s.at));
    assert!(
        called <= last_word + ms(300),
        "suspected {} ms after the leader's last word",
        (called - last_word) / 1000
    );
}

// ----- mod.rs: time, counters, refusals, status --------------------------

#[test]
fn time_adds_durations_saturating_and_measures_what_passed() {
    assert_eq!(Time(1_000) + Duration::from_millis(2), Time(3_000));
    assert_eq!(Time(7) + Duration::ZERO, Time(7));
    assert_eq!(Time(u64::MAX - 1) + Duration::from_secs(1), Time(u64::MAX));
    assert_eq!(Time(u64::MAX) + Duration::MAX, Time(u64::MAX));
    assert_eq!(Time(5_000).since(Time(2_000)), Duration::from_millis(3));
    assert_eq!(
        Time(2_000).since(Time(5_000)),
        Duration::ZERO,
        "never negative"
    );
}

/// /metrics and /status show datagrams and bytes sent and received per kind.
#[test]
fn traffic_is_counted_per_kind_in_datagrams_and_bytes() {
    let mut m = Member::one_of_three(1);
    let (two, three) = (Other::high(2), Other::high(3));
    let mut probe_bytes = 0;
    probe_bytes += m.hears(two, Message::Probe { http: 0 }) as u64;
    probe_bytes += m.hears(three, Message::Probe { http: 0 }) as u64;
    let alive_bytes = m.hears(two, Message::Alive) as u64;
    let received = &m.node.counters().received;
    assert_eq!(received[Kind::Probe.index()].datagrams, 2);
    assert_eq!(received[Kind::Probe.index()].bytes, probe_bytes);
    assert_eq!(received[Kind::Alive.index()].datagrams, 1);
    assert_eq!(received[Kind::Alive.index()].bytes, alive_bytes);
    assert_eq!(received[Kind::Election.index()].datagrams, 0);

    m.waits(Duration::from_millis(500));
    let counters = m.node.counters();
    for kind in Kind::ALL {
        let sent: Vec<&Sent> = m.log.iter().filter(|s| s.message.kind() == kind).collect();
        assert_eq!(
            counters.sent[kind.index()].datagrams,
            sent.len() as u64,
            "{kind:?} datagrams"
        );
        assert_eq!(
            counters.sent[kind.index()].bytes,
            sent.iter().map(|s| s.bytes as u64).sum::<u64>(),
            "{kind:?} bytes"
        );
    }
    assert!(
        counters.sent[Kind::Info.index()].datagrams >= 2,
        "Info to both probes"
    );
    assert!(
        counters.sent[Kind::Probe.index()].datagrams >= 2,
        "its own probes"
    );
}

/// Datagrams that must not be trusted are dropped, counted by reason (shown
/// in /metrics), and change nothing: no answer, not counted as received.
#[test]
fn untrusted_datagrams_are_dropped_and_counted_by_reason() {
    let mut m = Member::one_of_three(1);
    let low = Other::low(2);
    let election = |from: Other| envelope(from, Message::Election);

    let mut foreign = election(low);
    foreign.cluster = CLUSTER + 1;
    m.hears_bytes(2, &wire::encode(&foreign).unwrap());
    assert_eq!(m.dropped("cluster"), 1);

    // Envelope says 3, the address belongs to 2.
    m.hears_bytes(2, &wire::encode(&election(Other::low(3))).unwrap());
    assert_eq!(
        m.dropped("spoofed"),
        1,
        "not from the member its address is"
    );

    let forged = prepare(
        Epoch {
            number: u64::MAX,
            leader: 2,
            boot: low.boot,
        },
        true,
    );
    m.hears_bytes(2, &wire::encode(&envelope(low, forged)).unwrap());
    assert_eq!(m.dropped("implausible"), 1);

    let mut garbage = vec![b'B', b'B', wire::WIRE_VERSION];
    garbage.extend_from_slice(b"garbage");
    m.hears_bytes(2, &garbage);
    assert_eq!(m.dropped("malformed"), 1);
    let other_version = [b'B', b'B', wire::WIRE_VERSION.wrapping_add(1), 0, 0];
    m.hears_bytes(2, &other_version);
    assert_eq!(m.dropped("version"), 1);

    assert!(!m.log.iter().any(is_alive), "no answer to any of them");
    let received: u64 = m.node.counters().received.iter().map(|t| t.datagrams).sum();
    assert_eq!(received, 0, "none counted as received");

    // A trusted one is answered.
    m.hears(low, Message::Election);
    assert!(m.log.iter().any(is_alive));
    assert_eq!(m.dropped("spoofed"), 1);
}

/// A member's new boot is believed only once its old one went quiet for a
/// timeout: a straggler of a dead incarnation must not pass for a restart.
/// Datagrams of the boots it replaced are refused from then on, up to eight
/// of them back.
#[test]
fn a_new_boot_replaces_a_quiet_one_and_old_boots_stay_refused() {
    let mut m = Member::one_of_three(1);
    let boot = |n: u32| Other {
        boot: 500 + n,
        ..Other::low(2)
    };
    m.hears(boot(0), Message::Alive);
    m.waits(Duration::from_millis(250));
    m.hears(boot(1), Message::Alive);
    assert_eq!(m.dropped("unconfirmed_boot"), 1, "boot 0 still talks");
    m.waits(Duration::from_millis(300));
    m.hears(boot(1), Message::Alive);
    assert_eq!(
        m.dropped("unconfirmed_boot"),
        1,
        "boot 0 went quiet: boot 1 replaces it"
    );
    for n in 2..=8 {
        m.waits(Duration::from_millis(300));
        m.hears(boot(n), Message::Alive);
    }
    assert_eq!(m.dropped("unconfirmed_boot"), 1);
    m.waits(Duration::from_millis(300)); // boot 8 quiet too
    for n in 0..8 {
        m.hears(boot(n), Message::Alive);
    }
    assert_eq!(m.dropped("stale_boot"), 8, "the eight boots it replaced");
    assert_eq!(m.dropped("unconfirmed_boot"), 1);
    // One more boot: boot 0 falls out of the list and passes for a new one.
    m.hears(boot(9), Message::Alive);
    m.waits(Duration::from_millis(300));
    m.hears(boot(0), Message::Alive);
    assert_eq!(m.dropped("stale_boot"), 8);
    m.hears(boot(9), Message::Alive);
    assert_eq!(m.dropped("stale_boot"), 9, "boot 9 was replaced in turn");
}

/// /status at a follower: the leader's heartbeat says whom it hears and who
/// is recovering, so a follower shows members it does not hear itself.
#[test]
fn a_follower_shows_the_cluster_as_its_leader_hears_it() {
    let (leader, third) = (Other::low(2), Other::low(3));
    let e = leader.epoch(1);
    let last = LogPos { tag: e, seq: 1 };
    let mut m = Member::one_of_three(1);
    m.follows(leader, e, third);
    m.hears(
        leader,
        heartbeat(e, last, 0, 0b111, vec![third.incarnation()], vec![]),
    );
    let status = m.status();
    assert_eq!(status.id, 1);
    assert_eq!(status.leader, Some(2));
    assert_eq!(status.epoch, e);
    assert_eq!(status.role, Role::Recovering);
    assert_eq!(status.attribute, m.node.rank().attribute);
    let ids: Vec<NodeId> = status.peers.iter().map(|p| p.id).collect();
    assert_eq!(ids, vec![1, 2, 3], "in id order, this node included");
    let me = &status.peers[0];
    assert!(me.is_self && me.alive);
    assert_eq!(me.role, Some(Role::Recovering));
    assert_eq!(me.last_heard, Some(Duration::ZERO));
    assert_eq!(me.attribute, Some(status.attribute));
    let two = m.peer(2);
    assert!(!two.is_self && two.alive);
    assert_eq!(two.role, Some(Role::Leader));
    assert_eq!(two.last_heard, Some(Duration::ZERO));
    assert_eq!(two.attribute, Some(0));
    let three = m.peer(3);
    assert!(three.alive);
    assert_eq!(
        three.role,
        Some(Role::Recovering),
        "the leader names it recovering"
    );

    // Later, the leader hears 3 and no longer names it: a follower. This
    // node itself last heard 3 (its Info) long before.
    m.waits(Duration::from_millis(400));
    m.hears(leader, heartbeat(e, last, 0, 0b111, vec![], vec![]));
    let three = m.peer(3);
    assert!(three.alive, "alive by the leader's word");
    assert_eq!(three.role, Some(Role::Follower));
    assert_eq!(three.last_heard, Some(Duration::ZERO));

    // Then the leader stops hearing 3: unknown at once, last heard when
    // the leader last vouched for it (21 ms before).
    m.waits(Duration::from_millis(20));
    m.hears(leader, heartbeat(e, last, 0, 0b011, vec![], vec![]));
    let three = m.peer(3);
    assert!(!three.alive);
    assert_eq!(three.role, None);
    assert_eq!(
        three.last_heard,
        Some(Duration::from_millis(21)),
        "{three:?}"
    );

    // 3 calls an election that this node hears itself: alive, and shown by
    // its own word, since the leader does not vouch for it.
    m.hears(third, Message::Election);
    let three = m.peer(3);
    assert!(three.alive);
    assert_eq!(three.role, Some(Role::Candidate));
    assert_eq!(three.last_heard, Some(Duration::ZERO));
    assert_eq!(m.peer(2).role, Some(Role::Leader));
}

/// Without a leader to relay, /status shows each member by what it last
/// said: a probe or a NoState means recovering, an election or a prepare a
/// candidate, appends and acks and promises a follower.
#[test]
fn without_a_leader_members_are_shown_by_their_last_word() {
    let mut m = Member::one_of_three(1);
    let three = Other::low(3);
    let e = three.epoch(1);
    let role_after = |m: &mut Member, message: Message| {
        m.hears(three, message);
        m.peer(3).role
    };
    assert_eq!(m.peer(3).role, None, "never heard");
    assert_eq!(
        role_after(&mut m, Message::Probe { http: 0 }),
        Some(Role::Recovering)
    );
    assert_eq!(role_after(&mut m, Message::Election), Some(Role::Candidate));
    assert_eq!(
        role_after(&mut m, Message::Alive),
        Some(Role::Candidate),
        "no hint"
    );
    let noop = append(e, LogPos::default(), 0, vec![]);
    assert_eq!(
        role_after(&mut m, noop),
        Some(Role::Follower),
        "a leader, but not this node's"
    );
    assert_eq!(role_after(&mut m, prepare(e, true)), Some(Role::Candidate));
    assert_eq!(
        role_after(&mut m, no_state(e, true)),
        Some(Role::Recovering)
    );
    assert_eq!(
        role_after(&mut m, ack(e, 0, false, 0)),
        Some(Role::Follower)
    );
    assert_eq!(
        role_after(&mut m, ack(e, 0, true, 0)),
        Some(Role::Recovering)
    );
    let promised = promise(e, LogPos::default(), LogPos::default(), true);
    assert_eq!(role_after(&mut m, promised), Some(Role::Follower));
    assert_eq!(role_after(&mut m, Message::Election), Some(Role::Candidate));
    assert_eq!(role_after(&mut m, forward(vec![])), Some(Role::Follower));
    assert_eq!(role_after(&mut m, Message::Election), Some(Role::Candidate));
    let report = |active| info(0, Epoch::default(), active);
    assert_eq!(
        role_after(&mut m, report(true)),
        Some(Role::Candidate),
        "no hint"
    );
    assert_eq!(role_after(&mut m, report(false)), Some(Role::Recovering));
    let read = example(Kind::Read);
    assert_eq!(
        role_after(&mut m, read),
        Some(Role::Follower),
        "a follower asks for reads"
    );
    assert_eq!(role_after(&mut m, Message::Election), Some(Role::Candidate));
    let read_index = example(Kind::ReadIndex);
    assert_eq!(
        role_after(&mut m, read_index),
        Some(Role::Follower),
        "a leader answers them"
    );
}

/// /status's role for this node: a node that called an election is a
/// candidate until its takeover gives up and for three timeouts after its
/// last election (it keeps calling them while cut off); then a follower
/// with no leader; following a leader, a follower at once.
#[test]
fn a_node_shows_as_candidate_while_it_keeps_calling_elections() {
    let (leader, higher) = (Other::low(2), Other::high(3));
    let e = leader.epoch(1);
    let mut m = Member::one_of_three(3);
    m.recovered(leader, e, higher);
    // More heartbeats, long after this node last heard member 3 itself.
    let last = LogPos { tag: e, seq: 1 };
    for _ in 0..8 {
        m.waits(HEARTBEAT);
        m.hears(leader, heartbeat(e, last, 1, 0b111, vec![], vec![]));
    }
    assert!(m.peer(3).alive, "alive by the leader's word");
    let called = m.until_sent(Duration::from_secs(1), |s| is_election(s).then_some(s.at));
    assert_eq!(m.node.leader(), None);
    assert_eq!(m.role(), Role::Candidate, "calling an election");
    let three = m.peer(3);
    assert!(
        !three.alive && three.role.is_none(),
        "no leader to relay for member 3 any more: {three:?}"
    );
    m.until_sent(Duration::from_secs(1), trial_prepare);
    assert_eq!(m.role(), Role::Candidate, "taking over");
    // Nobody answers; the takeover gives up after two timeouts. A higher
    // rank's elections keep this node from calling another.
    // Ends with an Election heard at `until` (the role is as of the node's
    // last input).
    let keep_deferring = |m: &mut Member, until: u64| {
        while m.now + ms(21) < until {
            m.waits(Duration::from_millis(20));
            m.hears(higher, Message::Election);
        }
        m.wake_until(until - ms(1));
        m.hears(higher, Message::Election);
    };
    keep_deferring(&mut m, called + ms(700));
    assert_eq!(m.node.leading(), None, "the takeover gave up");
    assert_eq!(m.role(), Role::Candidate, "still calling elections");
    keep_deferring(&mut m, called + ms(890));
    assert_eq!(m.role(), Role::Candidate, "within three timeouts");
    keep_deferring(&mut m, called + ms(910));
    assert_eq!(m.node.counters().elections, 1, "no other election since");
    assert_eq!(
        m.role(),
        Role::Follower,
        "three timeouts after its election"
    );
    assert_eq!(m.node.leader(), None);
}

/// A node that called an election and then hears its leader again follows
/// it, and shows as a follower at once.
#[test]
fn a_node_that_follows_again_shows_as_follower_at_once() {
    let (leader, other) = (Other::low(2), Other::high(3));
    let e = leader.epoch(1);
    let mut m = Member::one_of_three(3);
    m.recovered(leader, e, other);
    m.until_sent(Duration::from_secs(1), |s| is_election(s).then_some(()));
    assert_eq!(m.role(), Role::Candidate);
    let last = LogPos { tag: e, seq: 1 };
    m.hears(leader, heartbeat(e, last, 1, 0b111, vec![], vec![]));
    assert_eq!(m.node.leader(), Some(2));
    assert_eq!(m.role(), Role::Follower);
    assert_eq!(m.status().role, Role::Follower);
}

/// Runs the simulator until `done` or for `limit` of virtual time, failing
/// (rather than hanging) if time stops advancing.
fn run_until(sim: &mut Sim, limit: Duration, done: impl Fn(&Sim) -> bool) -> bool {
    let end = sim.now + limit;
    let mut steps = 0;
    while sim.now < end {
        if done(sim) {
            return true;
        }
        assert!(sim.step(), "nothing left to happen");
        steps += 1;
        assert!(steps < 1_000_000, "virtual time stopped at {:?}", sim.now);
    }
    done(sim)
}

/// Every follower's /status shows the whole cluster as the leader hears it:
/// the other followers alive, a crashed member not.
#[test]
fn every_follower_shows_whom_the_leader_hears() {
    let mut sim = Sim::new(5, 7);
    assert!(run_until(&mut sim, Duration::from_secs(5), Sim::settled));
    let leader = sim.leader().unwrap();
    let down = sim.members().into_iter().find(|&m| m != leader).unwrap();
    sim.crash(down);
    run_until(&mut sim, Duration::from_secs(1), |_| false);
    for node in sim.live() {
        let status = node.status(sim.local_now(node.id()));
        assert_eq!(status.leader, Some(leader));
        for peer in &status.peers {
            let (alive, role) = if peer.id == down {
                (false, None)
            } else if peer.id == leader {
                (true, Some(Role::Leader))
            } else {
                (true, Some(Role::Follower))
            };
            assert_eq!(
                (peer.alive, peer.role),
                (alive, role),
                "node {} shows member {}",
                node.id(),
                peer.id
            );
        }
    }
}

/// Clusters beyond 64 members relay liveness for the first 64 only; the
/// others are still shown, by what this node hears itself.
#[test]
fn a_cluster_of_more_than_64_members_still_shows_every_member() {
    let members: Vec<NodeId> = (1..=70).collect();
    let mut m = Member::boot(1, &members, 1);
    let far = Other::low(70);
    m.hears(far, Message::Probe { http: 0 });
    let status = m.status();
    assert_eq!(status.peers.len(), 70);
    let seventy = m.peer(70);
    assert!(seventy.alive);
    assert_eq!(seventy.role, Some(Role::Recovering));
}

/// A follower applies what its leader committed: the board and the seq
/// /status shows (`applied`) follow the commit index.
#[test]
fn a_follower_applies_what_its_leader_committed() {
    let (leader, other) = (Other::low(2), Other::low(3));
    let e = leader.epoch(1);
    let mut m = Member::one_of_three(1);
    m.follows(leader, e, other);
    assert_eq!((m.node.commit(), m.node.applied()), (0, 0));
    let request = |number, text: &str| Request {
        origin: 2,
        boot: leader.boot,
        number,
        finished_below: 0,
        op: blackboard::wire::Op::Add { text: text.into() },
    };
    let one = LogPos { tag: e, seq: 1 };
    let writes = vec![
        Command::Client(request(0, "a")),
        Command::Client(request(1, "b")),
    ];
    m.hears(leader, append(e, one, 1, writes));
    assert_eq!((m.node.commit(), m.node.applied()), (1, 1), "the no-op");
    assert!(m.node.board().is_empty());
    let three = LogPos { tag: e, seq: 3 };
    m.hears(leader, heartbeat(e, three, 2, 0b111, vec![], vec![]));
    assert_eq!((m.node.commit(), m.node.applied()), (2, 2));
    assert_eq!(m.node.board().entries().collect::<Vec<_>>(), vec![(1, "a")]);
    m.hears(leader, heartbeat(e, three, 3, 0b111, vec![], vec![]));
    assert_eq!((m.node.commit(), m.node.applied()), (3, 3));
    assert_eq!(m.status().applied, 3);
    assert_eq!(m.status().commit, 3);
    assert_eq!(m.node.board().len(), 2);
    assert_eq!(m.node.log_len(), 3, "the no-op and both writes");
    assert_eq!(m.node.verified(), 3, "matches the leader's log up to 3");
}

/// A leader unheard for a timeout is suspected: a follower calls an
/// election between one heartbeat short of the timeout and the timeout
/// after the leader's last word (drawn anew each time), never later.
#[test]
fn a_quiet_leader_is_suspected_within_a_timeout() {
    let (leader, other) = (Other::low(2), Other::high(3));
    let e = leader.epoch(1);
    let mut drawn = std::collections::BTreeSet::new();
    for seed in 1..=12 {
        let mut m = Member::one_of_three(seed);
        m.follows(leader, e, other);
        let last_word = m.now;
        let called = m.until_sent(Duration::from_secs(1), |s| is_election(s).then_some(s.at));
        let after = called - last_word;
        assert!(
            (ms(250)..=ms(300)).contains(&after),
            "seed {seed}: suspected {after} µs after the leader's last word"
        );
        drawn.insert(after);
    }
    assert!(drawn.len() > 6, "drawn anew, not all at once: {drawn:?}");
}

// ----- reads -------------------------------------------------------------

/// A follower asks its leader for the read index, one batch at a time,
/// takes the answer only for that batch from that leader in that epoch,
/// and answers once its board stands at the index.
#[test]
fn a_follower_reads_at_the_index_its_leader_gives_for_that_batch() {
    let (leader, other) = (Other::low(2), Other::low(3));
    let e = leader.epoch(1);
    let mut m = Member::one_of_three(1);
    m.recovered(leader, e, other);
    let mark = m.mark();
    m.reads(1);
    let asked = reads_asked(m.since(mark));
    assert_eq!(asked.len(), 1, "one Read: {:?}", m.since(mark));
    let (to, first) = asked[0];
    assert_eq!(to, 2, "to the leader");
    assert_eq!(m.node.read_counters().asks, 1);

    m.hears(leader, read_index(e, first + 1, 1));
    m.hears(other, read_index(e, first, 1));
    m.hears(leader, read_index(other.epoch(2), first, 1));
    assert_eq!(m.read_answers(), vec![], "not the answer to this batch");
    m.hears(leader, read_index(e, first, 1));
    assert_eq!(m.read_answers(), vec![(1, Ok(1))]);
    assert_eq!(m.node.read_counters().confirmed, 1);

    // The next batch: a late copy of the first one's answer does not count.
    let mark = m.mark();
    m.reads(2);
    let asked = reads_asked(m.since(mark));
    assert_eq!(asked.len(), 1);
    let second = asked[0].1;
    assert_ne!(second, first, "a new batch number");
    assert_eq!(m.node.read_counters().asks, 2);
    m.hears(leader, read_index(e, first, 1));
    assert_eq!(m.read_answers(), vec![], "the first batch's index");
    m.hears(leader, read_index(e, second, 2));
    assert_eq!(m.read_answers(), vec![], "the board stands at 1, not 2");
    let two = LogPos { tag: e, seq: 2 };
    m.hears(
        leader,
        append(e, LogPos { tag: e, seq: 1 }, 2, vec![Command::Noop]),
    );
    m.hears(leader, heartbeat(e, two, 2, 0b111, vec![], vec![]));
    assert_eq!(m.read_answers(), vec![(2, Ok(2))]);
    assert_eq!(m.node.read_counters().confirmed, 2);
}

/// An unanswered ask is repeated once a heartbeat has passed, not sooner.
#[test]
fn a_follower_asks_again_a_heartbeat_after_an_unanswered_read() {
    let (leader, other) = (Other::low(2), Other::low(3));
    let e = leader.epoch(1);
    let mut m = Member::one_of_three(1);
    m.recovered(leader, e, other);
    let mark = m.mark();
    m.reads(1);
    let first = reads_asked(m.since(mark))[0].1;
    let last = LogPos { tag: e, seq: 1 };
    m.waits(Duration::from_millis(20));
    m.hears(leader, heartbeat(e, last, 1, 0b111, vec![], vec![]));
    assert_eq!(
        reads_asked(m.since(mark)).len(),
        1,
        "not within a heartbeat"
    );
    m.waits(Duration::from_millis(30));
    m.hears(leader, heartbeat(e, last, 1, 0b111, vec![], vec![]));
    assert_eq!(
        reads_asked(m.since(mark)),
        vec![(2, first), (2, first)],
        "the same batch again"
    );
    assert_eq!(m.node.read_counters().asks, 2);
}

/// A follower whose leader moves to a new epoch asks again in that epoch:
/// an index from the old one would not be taken.
#[test]
fn a_follower_asks_again_when_its_leader_starts_a_new_epoch() {
    let (leader, other) = (Other::low(2), Other::low(3));
    let (e1, e2) = (leader.epoch(1), leader.epoch(2));
    let mut m = Member::one_of_three(1);
    // Still recovering: it follows a later epoch of its leader at once.
    m.follows(leader, e1, other);
    let mark = m.mark();
    m.reads(1);
    let first = reads_asked(m.since(mark))[0].1;
    let mark = m.mark();
    let one = LogPos { tag: e1, seq: 1 };
    m.hears(leader, append(e2, one, 0, vec![Command::Noop]));
    assert_eq!(m.node.promised(), e2);
    let asked = reads_asked(m.since(mark));
    assert_eq!(asked.len(), 1, "asked again at once: {:?}", m.since(mark));
    let again = asked[0].1;
    assert_ne!(again, first);
    m.hears(leader, read_index(e2, again, 0));
    assert_eq!(m.read_answers(), vec![(1, Ok(0))]);
}

fn heartbeats_sent(sent: &[Sent]) -> Vec<u64> {
    let mut rounds: Vec<u64> = sent
        .iter()
        .filter_map(|s| match s.message {
            Message::Heartbeat { round, .. } => Some(round),
            _ => None,
        })
        .collect();
    rounds.dedup(); // one broadcast, one datagram per member
    rounds
}

/// A read at the leader starts a heartbeat round at once; the reads that
/// arrive while it is out wait for the next; each is answered once a
/// majority (the leader and one more) acknowledged a round sent after it.
#[test]
fn a_read_at_the_leader_waits_for_a_round_a_majority_acknowledged() {
    let (a, b) = (Other::low(2), Other::low(3));
    let (mut m, e) = Member::leads(1, a, b);
    let mark = m.mark();
    m.reads(7);
    let rounds = heartbeats_sent(m.since(mark));
    assert_eq!(rounds.len(), 1, "a round at once: {:?}", m.since(mark));
    let first = rounds[0];
    assert_eq!(m.node.read_counters().rounds, 1);
    assert_eq!(m.read_answers(), vec![]);

    let mark = m.mark();
    m.reads(8);
    assert_eq!(
        heartbeats_sent(m.since(mark)),
        Vec::<u64>::new(),
        "one round in flight"
    );
    m.hears(b, ack(e, 2, false, first - 1));
    assert_eq!(
        m.read_answers(),
        vec![],
        "an earlier round confirms nothing"
    );
    m.hears(b, ack(e, 2, false, first));
    assert_eq!(m.read_answers(), vec![(7, Ok(2))], "read 7, not read 8");
    let rounds = heartbeats_sent(m.since(mark));
    assert_eq!(rounds, vec![first + 1], "the next round, for read 8");
    assert_eq!(m.node.read_counters().rounds, 2);
    m.hears(a, ack(e, 2, false, first + 1));
    assert_eq!(m.read_answers(), vec![(8, Ok(2))]);
    assert_eq!(m.node.read_counters().confirmed, 2);

    // Nothing waits: once the rounds out are acknowledged, no more start
    // (but the heartbeat's own).
    let (latest, started) = (m.rounds_sent(), m.node.read_counters().rounds);
    m.hears(a, ack(e, 2, false, latest));
    m.hears(b, ack(e, 2, false, latest));
    let mark = m.mark();
    m.hears(a, ack(e, 2, false, latest));
    m.hears(b, ack(e, 2, false, latest));
    assert_eq!(heartbeats_sent(m.since(mark)), Vec::<u64>::new());
    assert_eq!(m.node.read_counters().rounds, started);
}

/// A follower's batch gets the leader's index once a round sent after it
/// arrived is confirmed.
#[test]
fn a_followers_batch_gets_the_index_once_a_round_confirms_it() {
    let (a, b) = (Other::low(2), Other::low(3));
    let (mut m, e) = Member::leads(1, a, b);
    let mark = m.mark();
    m.hears(a, read(5));
    let first = heartbeats_sent(m.since(mark))[0];
    let indexes = |m: &Member, mark| -> Vec<(NodeId, Epoch, u64, u64)> {
        m.since(mark)
            .iter()
            .filter_map(|s| match s.message {
                Message::ReadIndex {
                    epoch,
                    batch,
                    index,
                    ..
                } => Some((s.to, epoch, batch, index)),
                _ => None,
            })
            .collect()
    };
    assert_eq!(
        indexes(&m, mark),
        vec![],
        "not before the round is confirmed"
    );
    m.hears(b, ack(e, 2, false, first));
    assert_eq!(indexes(&m, mark), vec![(2, e, 5, 2)], "its commit index");
}

/// Reads that arrive while no leader is known wait; the node that then
/// becomes leader answers them itself.
#[test]
fn reads_waiting_at_a_node_that_becomes_leader_are_answered_by_it() {
    let (a, b) = (Other::low(2), Other::low(3));
    let e1 = a.epoch(1);
    let mut m = Member::one_of_three(1);
    m.recovered(a, e1, b);
    let (_, e2) = m.until_sent(Duration::from_secs(1), trial_prepare);
    m.reads(9);
    let last = LogPos { tag: e1, seq: 1 };
    m.hears_now(a, promise(e2, last, last, true));
    let mark = m.mark();
    m.hears_now(a, promise(e2, last, last, false));
    assert_eq!(m.node.leading(), Some(e2));
    let round = *heartbeats_sent(m.since(mark)).last().unwrap();
    m.hears(a, ack(e2, 2, false, round));
    let answers = m.read_answers();
    if answers.is_empty() {
        let round = m.rounds_sent();
        m.hears(a, ack(e2, 2, false, round));
        assert_eq!(m.read_answers(), vec![(9, Ok(2))]);
    } else {
        assert_eq!(answers, vec![(9, Ok(2))]);
    }
}

/// A leader that steps down with a read unconfirmed asks the next leader.
#[test]
fn a_read_at_a_leader_that_steps_down_is_asked_of_the_next_leader() {
    let (a, b) = (Other::low(2), Other::low(3));
    let (mut m, _) = Member::leads(1, a, b);
    m.reads(4);
    // No acks: it steps down within a timeout or so.
    m.waits(Duration::from_millis(400));
    assert_eq!(m.node.leading(), None, "stepped down");
    assert_eq!(m.read_answers(), vec![]);
    let e3 = a.epoch(3);
    m.hears(a, prepare(e3, false));
    let mark = m.mark();
    let two = LogPos {
        tag: m.node.log().last().tag,
        seq: 2,
    };
    m.hears(a, append(e3, two, 2, vec![Command::Noop]));
    assert_eq!(m.node.leader(), Some(2));
    let asked = reads_asked(m.since(mark));
    assert_eq!(asked.len(), 1, "asked the new leader: {:?}", m.since(mark));
    m.hears(a, read_index(e3, asked[0].1, 2));
    assert_eq!(m.read_answers(), vec![(4, Ok(2))]);
}

/// A read that cannot be confirmed within the request timeout is refused
/// (503), and counted as refused.
#[test]
fn an_unconfirmed_read_is_refused_after_the_request_timeout() {
    let (leader, other) = (Other::low(2), Other::low(3));
    let e = leader.epoch(1);
    let mut m = Member::one_of_three(1);
    m.recovered(leader, e, other);
    m.reads(3);
    let last = LogPos { tag: e, seq: 1 };
    // The leader keeps its heartbeats coming but never answers the read.
    let asked_at = m.now;
    while m.now < asked_at + ms(2_900) {
        m.waits(HEARTBEAT);
        m.hears(leader, heartbeat(e, last, 1, 0b111, vec![], vec![]));
    }
    assert_eq!(m.read_answers(), vec![], "still waiting within 3 s");
    while m.now < asked_at + ms(3_050) {
        m.waits(Duration::from_millis(10));
        m.hears(leader, heartbeat(e, last, 1, 0b111, vec![], vec![]));
    }
    assert_eq!(m.read_answers(), vec![(3, Err(Unavailable))]);
    let counters = m.node.read_counters();
    assert_eq!((counters.refused, counters.confirmed), (1, 0));
}

/// Runs `test` on its own thread and fails if it has not finished within
/// `limit`: a step that never returns is a failure, not a hang.
fn within(limit: Duration, test: impl FnOnce() + Send + 'static) {
    let (done, finished) = std::sync::mpsc::channel();
    let worker = std::thread::spawn(move || {
        test();
        let _ = done.send(());
    });
    match finished.recv_timeout(limit) {
        Ok(()) => worker.join().expect("the test passed"),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            // It panicked: report its panic.
            if let Err(panic) = worker.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("did not finish within {limit:?}: a step never returns")
        }
    }
}

fn add(text: String) -> blackboard::wire::Op {
    blackboard::wire::Op::Add { text }
}

// ----- replication ---------------------------------------------------------

/// The leader sends new entries in Appends packed up to the frame size,
/// chained in order, every one of them within a datagram.
#[test]
fn appends_are_packed_up_to_the_frame_size() {
    within(Duration::from_secs(20), || {
        let (a, b) = (Other::low(2), Other::low(3));
        let (mut m, e) = Member::leads(1, a, b);
        let texts: Vec<String> = (0..30)
            .map(|i| format!("{i:03}{}", "x".repeat(97)))
            .collect();
        for (token, text) in texts.iter().enumerate() {
            m.node
                .handle_request(Time(m.now), token as u64, add(text.clone()));
        }
        let mark = m.mark();
        m.collect();
        let mut bytes = 0;
        let mut next = LogPos { tag: e, seq: 2 };
        let mut carried = Vec::new();
        let mut datagrams = 0;
        for s in m.since(mark).iter().filter(|s| s.to == 2) {
            if let Message::Append {
                epoch,
                prev,
                commands,
                ..
            } = &s.message
            {
                assert_eq!(*epoch, e);
                assert_eq!(*prev, next, "each Append follows the one before");
                assert!(s.bytes <= wire::MAX_DATAGRAM);
                datagrams += 1;
                next.seq += commands.len() as u64;
                for c in commands {
                    bytes += wire::encoded_len(c);
                    if let Command::Client(r) = c {
                        if let blackboard::wire::Op::Add { text } = &r.op {
                            carried.push(text.clone());
                        }
                    }
                }
            }
        }
        assert_eq!(carried, texts, "every write, once, in order");
        let fewest = bytes.div_ceil(wire::PAYLOAD_BUDGET);
        assert!(
            datagrams >= 2 && datagrams <= fewest + 1,
            "{datagrams} Appends for {bytes} bytes"
        );
    });
}

/// A rebooted member's word replaces what it said before: having claimed
/// entries while recovering, it counts, once active, only for what it then
/// says it holds.
#[test]
fn a_recovering_members_claims_do_not_outlive_its_next_ack() {
    let (a, b) = (Other::low(2), Other::low(3));
    let (mut m, e) = Member::leads(1, a, b);
    m.node.handle_request(Time(m.now), 1, add("w1".into()));
    m.node.handle_request(Time(m.now), 2, add("w2".into()));
    m.collect();
    assert_eq!(m.node.log().last().seq, 4);
    let round = m.rounds_sent();
    m.hears(b, ack(e, 4, true, round));
    assert_eq!(
        m.node.commit(),
        2,
        "a recovering member's copy never counts"
    );
    m.hears(b, ack(e, 2, false, round));
    assert_eq!(m.node.commit(), 2, "it now holds only up to 2");
    m.hears(b, ack(e, 4, false, round));
    assert_eq!(m.node.commit(), 4);
}

/// Once entries commit, their origins hear of it at once (a heartbeat sent
/// to them alone), and only theirs.
#[test]
fn the_origins_of_newly_committed_writes_are_told_at_once() {
    let (a, b) = (Other::low(2), Other::low(3));
    let (mut m, e) = Member::leads(1, a, b);
    let request = |origin: Other, text: &str| Request {
        origin: origin.id,
        boot: origin.boot,
        number: 0,
        finished_below: 0,
        op: add(text.into()),
    };
    m.hears(a, forward(vec![request(a, "from a")]));
    m.hears(b, forward(vec![request(b, "from b")]));
    assert_eq!(m.node.log().last().seq, 4);
    m.wake_until(m.now + ms(1));
    let mark = m.mark();
    let round = m.rounds_sent();
    m.hears_now(a, ack(e, 3, false, round));
    assert_eq!(m.node.commit(), 3, "a's write, not b's");
    let notices: Vec<NodeId> = m
        .since(mark)
        .iter()
        .filter(|s| matches!(s.message, Message::Heartbeat { .. }))
        .map(|s| s.to)
        .collect();
    assert_eq!(notices, vec![2], "a is told; b's write is not committed");
}

/// Read confirmation counts members with state: a recovering member's ack
/// confirms nothing; one other active member's ack makes a majority of
/// three.
#[test]
fn a_recovering_members_ack_confirms_no_read() {
    let (a, b) = (Other::low(2), Other::low(3));
    let (mut m, e) = Member::leads(1, a, b);
    let mark = m.mark();
    m.reads(1);
    let round = heartbeats_sent(m.since(mark))[0];
    m.hears(b, ack(e, 2, true, round));
    assert_eq!(m.read_answers(), vec![], "b has no state to vouch with");
    m.hears(a, ack(e, 2, false, round));
    assert_eq!(m.read_answers(), vec![(1, Ok(2))]);
}

// ----- recovery --------------------------------------------------------------

/// A rebooted node answers a probe with what it promised and whether it has
/// state; a node in the real round of a takeover reports the epoch it asks
/// for (its promisers may include the prober's forgotten self), and in the
/// trial round only what it promised.
#[test]
fn probes_are_answered_with_the_promise_and_whether_there_is_state() {
    let (a, b) = (Other::low(2), Other::low(3));
    let e1 = a.epoch(1);
    let info_to = |m: &Member, mark: usize, to: NodeId| -> Vec<(u32, Epoch, bool)> {
        m.since(mark)
            .iter()
            .filter(|s| s.to == to)
            .filter_map(|s| match s.message {
                Message::Info {
                    for_boot,
                    promised,
                    active,
                    ..
                } => Some((for_boot, promised, active)),
                _ => None,
            })
            .collect()
    };
    let mut m = Member::one_of_three(1);
    let mark = m.mark();
    m.hears(b, Message::Probe { http: 0 });
    assert_eq!(
        info_to(&m, mark, 3),
        vec![(b.boot, Epoch::default(), false)]
    );

    m.recovered(a, e1, b);
    let mark = m.mark();
    m.hears(b, Message::Probe { http: 0 });
    assert_eq!(info_to(&m, mark, 3), vec![(b.boot, e1, true)]);

    let (_, e2) = m.until_sent(Duration::from_secs(1), trial_prepare);
    let mark = m.mark();
    m.hears_now(b, Message::Probe { http: 0 });
    assert_eq!(info_to(&m, mark, 3), vec![(b.boot, e1, true)], "trial");
    let last = LogPos { tag: e1, seq: 1 };
    m.hears_now(a, promise(e2, last, last, true));
    let mark = m.mark();
    m.hears_now(b, Message::Probe { http: 0 });
    assert_eq!(info_to(&m, mark, 3), vec![(b.boot, e2, true)], "asking e2");
}

/// A rebooted node is fenced once a majority of active members reported,
/// or every other member did (active or not); not before.
#[test]
fn a_fence_needs_a_majority_of_active_reports_or_every_other_member() {
    let e = Other::low(2).epoch(1);
    let noop = |e| append(e, LogPos::default(), 0, vec![Command::Noop]);
    // Seven members: four active reports make the fence, a report without
    // state does not count towards them.
    let members: Vec<NodeId> = (1..=7).collect();
    let mut m = Member::boot(1, &members, 1);
    let me = m.incarnation().boot;
    for id in [2, 3, 4] {
        m.hears(Other::low(id), info(me, e, true));
    }
    m.hears(Other::low(7), info(me, e, false));
    m.hears(Other::low(2), noop(e));
    assert_eq!(
        m.node.leader(),
        None,
        "three active reports of six: no fence"
    );
    m.hears(Other::low(5), info(me, e, true));
    m.hears(Other::low(2), noop(e));
    assert_eq!(m.node.leader(), Some(2), "four active reports: fenced");

    // Three members: both others reported, one of them without state.
    let mut m = Member::one_of_three(1);
    let me = m.incarnation().boot;
    m.hears(Other::low(2), info(me, e, true));
    m.hears(Other::low(2), noop(e));
    assert_eq!(m.node.leader(), None);
    m.hears(Other::low(3), info(me, e, false));
    m.hears(Other::low(2), noop(e));
    assert_eq!(m.node.leader(), Some(2), "every other member reported");
}

/// A rebooted node that hears a leader below its fence draws the fence
/// again (the takeover it stood for may have given up), and follows that
/// leader once the new reports allow it.
#[test]
fn a_leader_below_the_fence_makes_a_rebooted_node_ask_again() {
    let (a, b) = (Other::low(2), Other::low(3));
    let (e3, e5) = (a.epoch(3), b.epoch(5));
    let noop = append(e3, LogPos::default(), 0, vec![Command::Noop]);
    let mut m = Member::one_of_three(1);
    m.fenced_at(e5, [a, b]);
    let mark = m.mark();
    m.hears(a, noop.clone());
    assert_eq!(m.node.leader(), None, "below the fence");
    m.waits(HEARTBEAT);
    let probes = m
        .since(mark)
        .iter()
        .filter(|s| matches!(s.message, Message::Probe { .. }))
        .count();
    assert_eq!(probes, 2, "it probes both others again");
    m.fenced_at(e3, [a, b]);
    m.hears(a, noop);
    assert_eq!(m.node.leader(), Some(2), "fenced again at 3: follows");
}

// ----- compaction ------------------------------------------------------------

/// `commands` no-ops after `prev` in one Append of `epoch`, committed.
fn noops(epoch: Epoch, prev: u64, count: usize) -> Message {
    let prev = LogPos {
        tag: epoch,
        seq: prev,
    };
    append(
        epoch,
        prev,
        prev.seq + count as u64,
        vec![Command::Noop; count],
    )
}

/// A follower keeps at most 1,024 applied entries below its applied point
/// once it is more than 2,048 past its log's base: memory follows the board.
#[test]
fn a_follower_forgets_applied_entries_beyond_its_tail() {
    let (leader, other) = (Other::low(2), Other::low(3));
    let e = leader.epoch(1);
    let mut m = Member::one_of_three(1);
    m.recovered(leader, e, other);
    let mut held = 1;
    let mut feed = |m: &mut Member, upto: u64| {
        while held < upto {
            let count = (upto - held).min(500);
            m.hears(leader, noops(e, held, count as usize));
            held += count;
        }
        assert_eq!(m.node.applied(), upto);
        m.waits(HEARTBEAT); // a tick: compaction, if due
    };
    feed(&mut m, 2_048);
    assert_eq!(m.node.log().base().seq, 0, "2,048 past the base: kept");
    assert_eq!(m.node.log_len(), 2_048);
    feed(&mut m, 2_049);
    assert_eq!(m.node.log().base().seq, 1_025, "1,024 kept below 2,049");
    assert_eq!(m.node.log_len(), 1_024);
    feed(&mut m, 3_073);
    assert_eq!(m.node.log().base().seq, 1_025);
    feed(&mut m, 3_074);
    assert_eq!(m.node.log().base().seq, 2_050);
}

/// The leader forgets entries every live member with state holds, in steps
/// of more than 64; a lagging live member holds it back, a recovering one
/// does not.
#[test]
fn a_leader_forgets_what_every_live_member_holds() {
    let (a, b) = (Other::low(2), Other::low(3));
    let (mut m, e) = Member::leads(1, a, b);
    for token in 0..300 {
        m.node
            .handle_request(Time(m.now), token, add(format!("w{token}")));
    }
    m.collect();
    let last = m.node.log().last().seq;
    assert_eq!(last, 302);
    let acks = |m: &mut Member, from: Other, matched: u64, recovering: bool| {
        let round = m.rounds_sent();
        m.hears(from, ack(e, matched, recovering, round));
    };
    acks(&mut m, a, 64, false);
    acks(&mut m, b, 64, false);
    m.waits(HEARTBEAT);
    assert_eq!(m.node.commit(), 64);
    assert_eq!(m.node.log().base().seq, 0, "64 past the base: not yet");

    acks(&mut m, a, 150, false);
    acks(&mut m, b, last, false);
    assert_eq!(m.node.commit(), last);
    m.waits(HEARTBEAT);
    assert_eq!(m.node.log().base().seq, 150, "as far as a holds");

    // b reboots and says it holds little: it does not hold the leader back.
    let reborn = Other {
        boot: b.boot + 1,
        ..b
    };
    m.waits(Duration::from_millis(1));
    acks(&mut m, reborn, 10, true);
    acks(&mut m, a, last, false);
    m.waits(HEARTBEAT);
    assert_eq!(
        m.node.log().base().seq,
        last,
        "every live member with state"
    );
}

/// Past 16,384 entries the leader compacts to what it applied whatever the
/// laggards hold: they will get a snapshot instead.
#[test]
fn a_leader_keeps_at_most_its_tail_for_laggards() {
    let (a, b) = (Other::low(2), Other::low(3));
    let (mut m, e) = Member::leads(1, a, b);
    let mut token = 0;
    while m.node.log().last().seq < 16_500 {
        for _ in 0..1_000 {
            m.node
                .handle_request(Time(m.now), token, add(format!("{token}")));
            token += 1;
        }
        m.collect();
        let (round, last) = (m.rounds_sent(), m.node.log().last().seq);
        m.hears(a, ack(e, last, false, round));
        m.hears(b, ack(e, 100, false, round));
        let _ = std::iter::from_fn(|| m.node.poll_reply()).count();
    }
    m.waits(HEARTBEAT);
    let (round, last) = (m.rounds_sent(), m.node.log().last().seq);
    assert_eq!(m.node.commit(), last);
    m.hears(b, ack(e, 100, false, round));
    m.hears(a, ack(e, last, false, round));
    m.waits(HEARTBEAT);
    assert_eq!(m.node.log().base().seq, last, "b (at 100) gets a snapshot");
    assert_eq!(m.node.log_len(), 0);
}

/// A leader of `members` members: member 1, after following member 2 and
/// taking over with the promises of everyone else (all with state). Returns
/// the others too.
fn lead_cluster(members: u16, seed: u64) -> (Member, Epoch, Vec<Other>) {
    let ids: Vec<NodeId> = (1..=members).collect();
    let others: Vec<Other> = (2..=members).map(Other::low).collect();
    let (first, e1) = (others[0], others[0].epoch(1));
    let mut m = Member::boot(1, &ids, seed);
    let me = m.incarnation();
    for o in &others {
        m.hears(*o, info(me.boot, e1, true));
    }
    m.hears(first, append(e1, LogPos::default(), 0, vec![Command::Noop]));
    let last = LogPos { tag: e1, seq: 1 };
    m.hears(first, heartbeat(e1, last, 1, 0, vec![me], vec![]));
    assert!(!m.node.is_recovering());
    let (_, e2) = m.until_sent(Duration::from_secs(1), trial_prepare);
    for trial in [true, false] {
        for o in &others {
            if m.node.leading().is_none() {
                m.hears_now(*o, promise(e2, last, last, trial));
            }
        }
    }
    assert_eq!(m.node.leading(), Some(e2));
    (m, e2, others)
}

/// A heartbeat names at most 48 recovering members; the list rotates (its
/// start moves one member each heartbeat), so that when more are recovering
/// every one is named within about one heartbeat per member (each needs a
/// heartbeat naming its boot to finish recovering). A hundred members:
/// fifty with state keep the leader's majority, forty-nine recover.
#[test]
fn every_recovering_member_is_named_within_a_few_heartbeats() {
    let (mut m, e, others) = lead_cluster(100, 1);
    let (active, recovering) = others.split_at(50);
    let mut named = std::collections::BTreeSet::new();
    let all: std::collections::BTreeSet<NodeId> = recovering.iter().map(|o| o.id).collect();
    let mut heartbeats = 0;
    while named != all && heartbeats < 110 {
        let mark = m.mark();
        for o in active {
            m.hears_now(*o, ack(e, 0, false, 0));
        }
        for o in recovering {
            m.hears_now(*o, ack(e, 0, true, 0));
        }
        m.waits(Duration::from_millis(100));
        for s in m.since(mark) {
            if let (2, Message::Heartbeat { recovering, .. }) = (s.to, &s.message) {
                assert!(recovering.len() <= 48);
                named.extend(recovering.iter().map(|i| i.id));
                heartbeats += 1;
            }
        }
    }
    assert_eq!(m.node.leading(), Some(e));
    assert_eq!(named, all, "all 49 named within {heartbeats} heartbeats");
}

fn entries(epoch: Epoch, prev: LogPos, list: Vec<blackboard::wire::Entry>) -> Message {
    let mut m = example(Kind::Entries);
    if let Message::Entries {
        epoch: e,
        prev: p,
        entries: x,
        end_of_batch: end,
        ..
    } = &mut m
    {
        (*e, *p, *x, *end) = (epoch, prev, list, true);
    }
    m
}

fn pulls_sent(sent: &[Sent]) -> Vec<(LogPos, u64)> {
    sent.iter()
        .filter_map(|s| match s.message {
            Message::Pull { last, commit, .. } => Some((last, commit)),
            _ => None,
        })
        .collect()
}

/// Past the honest limit (a majority lost its memory and the cluster
/// restarted from what a minority kept) a member's committed history may
/// differ from its leader's. It then drops its own and pulls the leader's
/// from the start, and ends with the leader's board.
#[test]
fn a_member_whose_committed_history_differs_takes_its_leaders() {
    use blackboard::wire::Entry;
    let (a, b) = (Other::low(2), Other::low(3));
    let e1 = a.epoch(1);
    let mut m = Member::one_of_three(1);
    m.recovered(a, e1, b);
    let write = |origin: Other, text: &str| {
        Command::Client(Request {
            origin: origin.id,
            boot: origin.boot,
            number: 0,
            finished_below: 0,
            op: add(text.into()),
        })
    };
    let one = LogPos { tag: e1, seq: 1 };
    m.hears(a, append(e1, one, 2, vec![write(a, "mine")]));
    assert_eq!(m.node.commit(), 2);
    // a goes quiet; this node campaigns; b, which restarted the cluster
    // from another history, asks for epoch 9 and leads it.
    m.until_sent(Duration::from_secs(1), trial_prepare);
    let (e5, e9) = (b.epoch(5), b.epoch(9));
    m.hears(b, prepare(e9, false));
    let mark = m.mark();
    let three = LogPos { tag: e9, seq: 3 };
    m.hears(b, heartbeat(e9, three, 3, 0b111, vec![], vec![]));
    assert_eq!(m.node.leader(), Some(3));
    let two = LogPos { tag: e1, seq: 2 };
    assert_eq!(pulls_sent(m.since(mark)), vec![(two, 2)], "it lacks seq 3");
    let noop = |tag| Entry {
        tag,
        command: Command::Noop,
    };
    let mark = m.mark();
    let theirs = LogPos { tag: e5, seq: 2 };
    m.hears(b, entries(e9, theirs, vec![noop(e9)]));
    assert_eq!(
        pulls_sent(m.since(mark)),
        vec![(LogPos::default(), 0)],
        "its committed seq 2 is not b's: it asks for everything"
    );
    let history = vec![
        noop(e1),
        Entry {
            tag: e5,
            command: write(b, "theirs"),
        },
        noop(e9),
    ];
    m.hears(b, entries(e9, LogPos::default(), history));
    m.hears(b, heartbeat(e9, three, 3, 0b111, vec![], vec![]));
    assert_eq!(m.node.applied(), 3);
    assert_eq!(
        m.node.board().entries().collect::<Vec<_>>(),
        vec![(1, "theirs")]
    );
}

/// Reports count only when they answer this boot's probe: an answer to an
/// earlier boot's may predate what that boot promised before it crashed.
#[test]
fn reports_to_an_earlier_boots_probe_do_not_fence() {
    let (a, b) = (Other::low(2), Other::low(3));
    let e = a.epoch(1);
    let noop = append(e, LogPos::default(), 0, vec![Command::Noop]);
    let mut m = Member::one_of_three(1);
    let me = m.incarnation().boot;
    m.hears(a, info(me.wrapping_add(1), e, true));
    m.hears(b, info(me.wrapping_add(1), e, true));
    m.hears(a, noop.clone());
    assert_eq!(
        m.node.leader(),
        None,
        "not fenced by another boot's reports"
    );
    m.fenced_at(e, [a, b]);
    m.hears(a, noop);
    assert_eq!(m.node.leader(), Some(2));
}

/// A clock set back (30 s here) counts as no time passing: a follower whose
/// leader then falls silent suspects it one timeout later, as ever, not
/// once the clock has made up the 30 s.
#[test]
fn a_clock_set_back_does_not_delay_suspecting_a_silent_leader() {
    let (leader, other) = (Other::low(2), Other::low(3));
    let mut m = Member::one_of_three(4);
    m.waits(Duration::from_secs(40));
    m.recovered(leader, leader.epoch(1), other);
    m.now -= Duration::from_secs(30).as_micros() as u64;
    let set_back = m.now;
    // The driver wakes the core at least once a timeout, whatever it asked.
    m.wake(set_back);
    let (at, _) = m.until_sent(TIMEOUT * 3, trial_prepare);
    assert!(
        at - set_back <= (TIMEOUT * 2).as_micros() as u64,
        "took over {} ms after the clock went back",
        (at - set_back) / 1000
    );
}

/// A follower hears other followers only at boot; afterwards its news of
/// them is the leader's heartbeat. When a follower dies, "last heard" counts
/// from the leader's last word of it, not from the boot.
#[test]
fn last_heard_of_a_dead_follower_counts_from_the_leaders_last_word() {
    let (leader, other) = (Other::low(2), Other::low(3));
    let e = leader.epoch(1);
    let mut m = Member::one_of_three(6);
    m.recovered(leader, e, other);
    let last = LogPos { tag: e, seq: 1 };
    let beat = |alive| heartbeat(e, last, 1, alive, vec![], vec![]);
    // Ten seconds in which the leader hears node 3, then node 3 dies.
    for _ in 0..200 {
        m.waits(HEARTBEAT);
        m.hears_now(leader, beat(0b111));
    }
    for _ in 0..10 {
        m.waits(HEARTBEAT);
        m.hears_now(leader, beat(0b011));
    }
    let dead = m.peer(3);
    assert!(!dead.alive, "node 3 is shown down");
    let heard = dead.last_heard.expect("node 3 was heard");
    assert!(
        heard <= HEARTBEAT * 11,
        "node 3 last heard {heard:?} ago; the leader vouched for it 0.5 s ago"
    );
}

/// A process paused across its own restart (its id started anew, the new
/// start died) resumes as a leftover whose datagrams every member refuses.
/// A member that refuses one tells it so, once a timeout at most.
#[test]
fn a_retired_boot_is_told_that_it_is_over() {
    let old = Other::low(2);
    let new = Other { boot: 7, ..old };
    let mut m = Member::one_of_three(8);
    m.hears(old, Message::Probe { http: 0 });
    m.waits(TIMEOUT * 2);
    m.hears(new, Message::Probe { http: 0 });
    let mark = m.mark();
    m.hears(old, Message::Probe { http: 0 });
    m.hears(old, Message::Probe { http: 0 });
    let told: Vec<_> = m
        .since(mark)
        .iter()
        .filter(|s| matches!(s.message, Message::Superseded { .. }))
        .map(|s| (s.to, s.message.clone()))
        .collect();
    assert_eq!(told, [(2, Message::Superseded { stale: old.boot })]);
    assert_eq!(m.dropped("stale_boot"), 2);
    m.waits(TIMEOUT);
    let mark = m.mark();
    m.hears(old, Message::Probe { http: 0 });
    assert!(
        m.since(mark)
            .iter()
            .any(|s| matches!(s.message, Message::Superseded { .. })),
        "told again a timeout later"
    );
}

/// Told its own boot is over, a process knows it is superseded (the driver
/// then stops it with that message); news of another boot is not its own.
#[test]
fn a_process_told_its_boot_is_over_is_superseded() {
    let other = Other::low(2);
    let mut m = Member::one_of_three(9);
    let me = m.incarnation().boot;
    m.hears(
        other,
        Message::Superseded {
            stale: me.wrapping_add(1),
        },
    );
    assert_eq!(m.node.superseded(), None, "another boot's news");
    m.hears(other, Message::Superseded { stale: me });
    assert_eq!(m.node.superseded(), Some(2));
}

// ----- run 4: replication after accept_leader, requests, takeover, transfer

fn heartbeat_round(epoch: Epoch, last: LogPos, commit: u64, round: u64) -> Message {
    let mut m = heartbeat(epoch, last, commit, 0b111, vec![], vec![]);
    if let Message::Heartbeat { round: r, .. } = &mut m {
        *r = round;
    }
    m
}

fn reject(epoch: Epoch, promised: Epoch, leader_alive: bool) -> Message {
    Message::Reject {
        epoch,
        promised,
        leader_alive,
    }
}

fn chunk(epoch: Epoch, at: LogPos, data: Vec<u8>) -> Message {
    let mut m = example(Kind::Chunk);
    if let Message::Chunk {
        epoch: e,
        at: a,
        total: t,
        offset: o,
        data: d,
        end_of_batch: end,
    } = &mut m
    {
        let total = u32::try_from(data.len()).expect("a small board");
        (*e, *a, *t, *o, *d, *end) = (epoch, at, total, 0, data, true);
    }
    m
}

fn noop_entry(tag: Epoch) -> blackboard::wire::Entry {
    blackboard::wire::Entry {
        tag,
        command: Command::Noop,
    }
}

fn acks_sent(sent: &[Sent]) -> Vec<(u64, u64)> {
    sent.iter()
        .filter_map(|s| match s.message {
            Message::Ack { matched, round, .. } => Some((matched, round)),
            _ => None,
        })
        .collect()
}

/// The requests this node forwarded, with when (µs).
fn forwards_sent(sent: &[Sent]) -> Vec<(u64, Vec<Request>)> {
    sent.iter()
        .filter_map(|s| match &s.message {
            Message::Forward { requests } => Some((s.at, requests.clone())),
            _ => None,
        })
        .collect()
}

fn prepares_sent(sent: &[Sent]) -> Vec<(NodeId, Epoch, bool)> {
    sent.iter()
        .filter_map(|s| match s.message {
            Message::Prepare { epoch, trial } => Some((s.to, epoch, trial)),
            _ => None,
        })
        .collect()
}

/// A follower acknowledges a heartbeat that brings news or a new round at
/// once (reads wait for the round), and one that brings neither only when
/// half a heartbeat passed since its last ack (so the leader knows it is
/// alive without an ack per heartbeat).
#[test]
fn a_follower_acks_news_or_a_new_round_at_once_else_every_half_heartbeat() {
    let (a, b) = (Other::low(2), Other::low(3));
    let e = a.epoch(1);
    let mut m = Member::one_of_three(1);
    m.recovered(a, e, b);
    let last = LogPos { tag: e, seq: 1 };
    let mark = m.mark();
    m.hears(a, heartbeat_round(e, last, 1, 100));
    assert_eq!(
        acks_sent(m.since(mark)),
        vec![(1, 100)],
        "a new round, 1 ms after the last ack: acked at once"
    );
    let mark = m.mark();
    m.waits(Duration::from_millis(9));
    m.hears(a, heartbeat_round(e, last, 1, 100));
    assert_eq!(acks_sent(m.since(mark)), vec![], "nothing new after 10 ms");
    let mark = m.mark();
    m.waits(Duration::from_millis(19));
    m.hears(a, heartbeat_round(e, last, 1, 100));
    assert_eq!(
        acks_sent(m.since(mark)),
        vec![(1, 100)],
        "nothing new, but 30 ms (over half a heartbeat) since the last ack"
    );
}

/// A follower forwards a write to its leader, again two heartbeats later
/// while the leader's log does not show it (the Forward may be lost), and
/// no more once it does. Only this boot's request of that number counts:
/// an earlier boot's request numbered alike is another write.
#[test]
fn a_forwarded_write_is_sent_again_until_the_leaders_log_holds_it() {
    let (a, b) = (Other::low(2), Other::low(3));
    let e = a.epoch(1);
    let mut m = Member::one_of_three(1);
    m.recovered(a, e, b);
    let me = m.incarnation();
    let last = |seq| LogPos { tag: e, seq };
    m.node.handle_request(Time(m.now), 7, add("w".into()));
    let mark = m.mark();
    // Heartbeats every 20 ms keep the leader and run the follower's flush.
    let beat = |m: &mut Member, seq| {
        m.waits(Duration::from_millis(19));
        m.hears(a, heartbeat(e, last(seq), 1, 0b111, vec![], vec![]));
    };
    m.hears(a, heartbeat(e, last(1), 1, 0b111, vec![], vec![]));
    for _ in 0..6 {
        beat(&mut m, 1);
    }
    let sent = forwards_sent(m.since(mark));
    assert_eq!(sent.len(), 2, "forwarded, then once again: {sent:?}");
    let (first, request) = (sent[0].0, sent[0].1[0].clone());
    assert_eq!((request.origin, request.boot), (me.id, me.boot));
    let gap = sent[1].0 - first;
    assert!(
        (ms(100)..ms(120)).contains(&gap),
        "sent again {gap} µs later: after two heartbeats, at the first flush"
    );
    // The leader's log holds an earlier boot's request of the same number.
    let earlier = Request {
        boot: me.boot.wrapping_add(1),
        ..request.clone()
    };
    m.hears(a, append(e, last(1), 1, vec![Command::Client(earlier)]));
    let mark = m.mark();
    for _ in 0..6 {
        beat(&mut m, 2);
    }
    assert_eq!(
        forwards_sent(m.since(mark)).len(),
        1,
        "another boot's request is not this one: sent again"
    );
    m.hears(a, append(e, last(2), 1, vec![Command::Client(request)]));
    let mark = m.mark();
    for _ in 0..10 {
        beat(&mut m, 3);
    }
    assert_eq!(
        forwards_sent(m.since(mark)),
        vec![],
        "in the leader's log: not sent again"
    );
}

/// A follower packs its pending writes into Forwards up to the frame size,
/// each within a datagram, every write once and in order.
#[test]
fn forwards_are_packed_up_to_the_frame_size() {
    let (a, b) = (Other::low(2), Other::low(3));
    let e = a.epoch(1);
    let mut m = Member::one_of_three(1);
    m.recovered(a, e, b);
    let texts: Vec<String> = (0..30)
        .map(|i| format!("{i:03}{}", "x".repeat(97)))
        .collect();
    for (token, text) in texts.iter().enumerate() {
        m.node
            .handle_request(Time(m.now), token as u64, add(text.clone()));
    }
    let mark = m.mark();
    let last = LogPos { tag: e, seq: 1 };
    m.hears(a, heartbeat(e, last, 1, 0b111, vec![], vec![]));
    let mut bytes = 0;
    let mut carried = Vec::new();
    let mut datagrams = 0;
    for s in m.since(mark) {
        if let Message::Forward { requests } = &s.message {
            assert_eq!(s.to, a.id);
            assert!(s.bytes <= wire::MAX_DATAGRAM);
            datagrams += 1;
            for r in requests {
                bytes += wire::encoded_len(r);
                if let blackboard::wire::Op::Add { text } = &r.op {
                    carried.push(text.clone());
                }
            }
        }
    }
    assert_eq!(carried, texts, "every write, once, in order");
    let fewest = bytes.div_ceil(wire::PAYLOAD_BUDGET);
    assert!(
        datagrams >= 2 && datagrams <= fewest + 1,
        "{datagrams} Forwards for {bytes} bytes"
    );
}

/// A leader takes from a member only that member's own requests, of its
/// current boot; others are counted as spoofed and not appended.
#[test]
fn a_leader_refuses_forwarded_requests_of_another_origin_or_boot() {
    let (a, b) = (Other::low(2), Other::low(3));
    let (mut m, _) = Member::leads(1, a, b);
    let request = |origin: NodeId, boot: u32| Request {
        origin,
        boot,
        number: 0,
        finished_below: 0,
        op: add("w".into()),
    };
    m.hears(a, forward(vec![request(a.id, a.boot.wrapping_add(1))]));
    m.hears(a, forward(vec![request(b.id, a.boot)]));
    assert_eq!(m.dropped("spoofed"), 2);
    assert_eq!(m.node.log().last().seq, 2, "nothing appended");
    m.hears(a, forward(vec![request(a.id, a.boot)]));
    assert_eq!(m.node.log().last().seq, 3, "a's own request is");
}

/// A member that forwards again a write already committed (it missed the
/// news) is told at once, with a heartbeat sent to it alone.
#[test]
fn a_retransmitted_committed_write_gets_its_origin_told_at_once() {
    let (a, b) = (Other::low(2), Other::low(3));
    let (mut m, e) = Member::leads(1, a, b);
    let request = Request {
        origin: a.id,
        boot: a.boot,
        number: 0,
        finished_below: 0,
        op: add("w".into()),
    };
    m.hears(a, forward(vec![request.clone()]));
    let round = m.rounds_sent();
    m.hears(a, ack(e, 3, false, round));
    assert_eq!(m.node.commit(), 3);
    m.wake_until(m.now + ms(1));
    let mark = m.mark();
    m.hears_now(a, forward(vec![request]));
    let notices: Vec<NodeId> = m
        .since(mark)
        .iter()
        .filter(|s| matches!(s.message, Message::Heartbeat { .. }))
        .map(|s| s.to)
        .collect();
    assert_eq!(notices, vec![a.id]);
    assert_eq!(m.node.log().last().seq, 3, "not appended twice");
}

/// A snapshot that holds a write pending at this node answers its client
/// with what the write did.
#[test]
fn a_snapshot_answers_the_pending_writes_it_holds() {
    let (a, b) = (Other::low(2), Other::low(3));
    let e = a.epoch(1);
    let mut m = Member::one_of_three(1);
    m.recovered(a, e, b);
    m.node.handle_request(Time(m.now), 7, add("snap".into()));
    let mark = m.mark();
    let five = LogPos { tag: e, seq: 5 };
    m.hears(a, heartbeat(e, five, 5, 0b111, vec![], vec![]));
    let request = forwards_sent(m.since(mark))[0].1[0].clone();
    assert_eq!(pulls_sent(m.since(mark)).len(), 1, "it lacks 2..5: pulls");
    let mut board = blackboard::board::Board::new();
    board.apply(&request, 3);
    m.hears(a, chunk(e, five, board.encode()));
    assert_eq!(m.node.applied(), 5, "the snapshot is installed");
    let replies: Vec<_> = std::iter::from_fn(|| m.node.poll_reply()).collect();
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].token, 7);
    assert_eq!(replies[0].result.as_ref().map(|d| d.seq), Ok(3));
}

/// A lagging follower asks its leader once per heartbeat at most: a second
/// heartbeat naming the same end does not restart the pull.
#[test]
fn a_pull_under_way_is_not_restarted_by_the_next_heartbeat() {
    let (a, b) = (Other::low(2), Other::low(3));
    let e = a.epoch(1);
    let mut m = Member::one_of_three(1);
    m.recovered(a, e, b);
    let mark = m.mark();
    let five = LogPos { tag: e, seq: 5 };
    m.hears(a, heartbeat(e, five, 5, 0b111, vec![], vec![]));
    m.hears(a, heartbeat(e, five, 5, 0b111, vec![], vec![]));
    assert_eq!(pulls_sent(m.since(mark)).len(), 1);
}

/// A candidate refuses a Prepare below its own takeover's epoch (though
/// above what it promised), so that two candidates do not both give way.
#[test]
fn a_candidate_refuses_an_epoch_below_its_own_takeover() {
    let (a, b) = (Other::low(2), Other::low(3));
    let e1 = a.epoch(1);
    let mut m = Member::one_of_three(1);
    m.recovered(a, e1, b);
    let (_, e2) = m.until_sent(Duration::from_secs(1), trial_prepare);
    let between = b.epoch(1);
    assert!(e1 < between && between < e2);
    let mark = m.mark();
    m.hears(b, prepare(between, false));
    assert!(
        m.since(mark)
            .iter()
            .any(|s| s.to == b.id && matches!(s.message, Message::Reject { .. })),
        "refused"
    );
    assert!(!m
        .since(mark)
        .iter()
        .any(|s| matches!(s.message, Message::Promise { .. })));
    assert_eq!(m.node.promised(), e1);
    assert_eq!(m.role(), Role::Candidate);
}

/// A Prepare of the epoch a follower already follows (its leader asking
/// again) is answered and changes nothing: the follower keeps its leader.
#[test]
fn a_prepare_of_the_epoch_it_follows_keeps_the_leader() {
    let (a, b) = (Other::low(2), Other::low(3));
    let e = a.epoch(1);
    let mut m = Member::one_of_three(1);
    m.recovered(a, e, b);
    let mark = m.mark();
    m.hears(a, prepare(e, false));
    assert!(m
        .since(mark)
        .iter()
        .any(|s| s.to == a.id && matches!(s.message, Message::Promise { .. })));
    assert_eq!(m.node.leader(), Some(a.id));
}

/// A leader that still has its quorum refuses another's Prepare; a
/// follower promises its own leader's new epoch at once.
#[test]
fn a_working_leader_refuses_a_prepare_and_a_follower_promises_its_leaders() {
    let (a, b) = (Other::low(2), Other::low(3));
    let (mut m, e2) = Member::leads(1, a, b);
    let mark = m.mark();
    m.hears(b, prepare(b.epoch(3), false));
    assert!(m.since(mark).iter().any(|s| s.to == b.id
        && matches!(
            s.message,
            Message::Reject {
                leader_alive: true,
                ..
            }
        )));
    assert_eq!(m.node.leading(), Some(e2), "still leads");

    let e1 = a.epoch(1);
    let mut m = Member::one_of_three(2);
    m.recovered(a, e1, b);
    let e3 = a.epoch(3);
    let mark = m.mark();
    m.hears(a, prepare(e3, false));
    assert!(m
        .since(mark)
        .iter()
        .any(|s| s.to == a.id && matches!(s.message, Message::Promise { .. })));
    assert_eq!(m.node.promised(), e3);
}

/// In the real round, a late answer to the trial round counts for nothing:
/// only a real promise may start the epoch.
#[test]
fn a_late_trial_promise_does_not_count_in_the_real_round() {
    let (a, b) = (Other::low(2), Other::low(3));
    let e1 = a.epoch(1);
    let mut m = Member::one_of_three(1);
    m.recovered(a, e1, b);
    let (_, e2) = m.until_sent(Duration::from_secs(1), trial_prepare);
    let last = LogPos { tag: e1, seq: 1 };
    m.hears_now(a, promise(e2, last, last, true));
    assert!(prepares_sent(m.since(0)).contains(&(a.id, e2, false)));
    m.hears_now(a, promise(e2, last, last, true));
    assert_eq!(m.node.leading(), None, "a trial answer is not a promise");
    m.hears_now(a, promise(e2, last, last, false));
    assert_eq!(m.node.leading(), Some(e2));
}

/// A rebooted (memoryless) node takes over with the NoState of another
/// memoryless member; a late trial NoState in the real round counts for
/// nothing, so without a real answer it never leads.
#[test]
fn a_late_trial_no_state_does_not_count_in_the_real_round() {
    let (a, b) = (Other::low(2), Other::low(3));
    let e1 = a.epoch(1);
    let mut m = Member::one_of_three(1);
    m.fenced_at(e1, [a, b]);
    assert!(m.node.is_recovering());
    let (_, e2) = m.until_sent(Duration::from_secs(2), trial_prepare);
    let mark = m.mark();
    m.hears_now(a, no_state(e2, true));
    assert!(prepares_sent(m.since(mark)).contains(&(a.id, e2, false)));
    m.hears_now(a, no_state(e2, true));
    m.waits(TIMEOUT + TIMEOUT / 2);
    assert_eq!(m.node.leading(), None, "a trial answer is not a promise");
}

/// A memoryless candidate waits a while for members with state unless
/// every member answered: then it goes on at once (here: adopting the
/// log of the member with state).
#[test]
fn a_memoryless_takeover_answered_by_everyone_goes_on_at_once() {
    let (a, b) = (Other::low(2), Other::low(3));
    let e1 = a.epoch(1);
    let mut m = Member::one_of_three(1);
    m.fenced_at(e1, [a, b]);
    let (_, e2) = m.until_sent(Duration::from_secs(2), trial_prepare);
    m.hears_now(b, no_state(e2, true));
    let last = LogPos { tag: e1, seq: 1 };
    m.hears_now(a, promise(e2, last, last, false));
    let mark = m.mark();
    m.hears_now(b, no_state(e2, false));
    assert_eq!(
        pulls_sent(m.since(mark)).len(),
        1,
        "everyone answered: it adopts a's log at once"
    );
}

/// A candidate refused for its epoch stands back only when the refuser
/// promised a later epoch or still hears a leader; a leader steps down only
/// for a refusal of its own epoch by a member that promised a later one,
/// and otherwise asks again.
#[test]
fn refusals_stop_a_takeover_or_a_leader_only_for_a_later_promise_or_a_live_leader() {
    let (a, b) = (Other::low(2), Other::low(3));
    let e1 = a.epoch(1);
    let mut m = Member::one_of_three(1);
    m.recovered(a, e1, b);
    let (_, e2) = m.until_sent(Duration::from_secs(1), trial_prepare);
    m.hears_now(b, reject(e2, e1, false));
    m.hears_now(b, reject(e2, e2, false));
    m.hears_now(b, reject(a.epoch(7), b.epoch(8), true));
    let last = LogPos { tag: e1, seq: 1 };
    m.hears_now(a, promise(e2, last, last, true));
    m.hears_now(a, promise(e2, last, last, false));
    assert_eq!(m.node.leading(), Some(e2), "the takeover went on");

    let mut m = Member::one_of_three(1);
    m.recovered(a, e1, b);
    let (_, e2) = m.until_sent(Duration::from_secs(1), trial_prepare);
    m.hears_now(b, reject(e2, b.epoch(8), false));
    m.hears_now(a, promise(e2, last, last, true));
    m.hears_now(a, promise(e2, last, last, false));
    assert_eq!(m.node.leading(), None, "it stood back");

    let (mut m, e2) = Member::leads(2, a, b);
    m.hears(a, reject(e1, e2, false));
    assert_eq!(m.node.leading(), Some(e2), "a refusal of an older epoch");
    let mark = m.mark();
    m.hears(b, reject(e2, e2, false));
    assert_eq!(m.node.leading(), Some(e2));
    assert_eq!(
        prepares_sent(m.since(mark)),
        vec![(b.id, e2, false)],
        "asked again"
    );
    m.hears(b, reject(e2, b.epoch(8), false));
    assert_eq!(m.node.leading(), None, "stepped down");
}

/// A member that refuses a leader's epoch for a reason it does not report
/// (its own takeover of a higher epoch is under way) is asked again once a
/// heartbeat, not at every refusal: were it asked at once, the two would
/// bounce Prepare and Reject as fast as the network carries them, and
/// duplicated datagrams would multiply the loop (sweep seed 203873).
#[test]
fn a_leader_asks_a_refusing_member_again_once_a_heartbeat() {
    let (a, b) = (Other::low(2), Other::low(3));
    let (mut m, e2) = Member::leads(2, a, b);
    let e1 = a.epoch(1);
    let mark = m.mark();
    for _ in 0..5 {
        m.hears(b, reject(e2, e1, false));
    }
    assert_eq!(
        prepares_sent(m.since(mark)),
        vec![(b.id, e2, false)],
        "five refusals within 5 ms: asked again once"
    );
    m.waits(Duration::from_millis(50));
    let mark = m.mark();
    m.hears(b, reject(e2, e1, false));
    assert_eq!(
        prepares_sent(m.since(mark)),
        vec![(b.id, e2, false)],
        "a heartbeat later, asked again"
    );
}

/// A candidate that re-asks for promises asks only the members that have
/// not answered.
#[test]
fn a_candidate_asks_again_only_the_members_that_did_not_answer() {
    let ids: Vec<NodeId> = (1..=5).collect();
    let others: Vec<Other> = (2..=5).map(Other::low).collect();
    let e1 = others[0].epoch(1);
    let mut m = Member::boot(1, &ids, 1);
    let me = m.incarnation();
    for o in &others {
        m.hears(*o, info(me.boot, e1, true));
    }
    m.hears(
        others[0],
        append(e1, LogPos::default(), 0, vec![Command::Noop]),
    );
    let last = LogPos { tag: e1, seq: 1 };
    m.hears(others[0], heartbeat(e1, last, 1, 0, vec![me], vec![]));
    let (_, e2) = m.until_sent(Duration::from_secs(1), trial_prepare);
    m.hears_now(others[1], promise(e2, last, last, true));
    let mark = m.mark();
    let asked = m.until_sent(TIMEOUT, |s| match s.message {
        Message::Prepare { .. } => Some(s.at),
        _ => None,
    });
    let again: Vec<_> = m
        .since(mark)
        .iter()
        .filter(|s| s.at == asked)
        .filter_map(|s| match s.message {
            Message::Prepare { epoch, trial } => Some((s.to, epoch, trial)),
            _ => None,
        })
        .collect();
    assert_eq!(again, vec![(2, e2, true), (4, e2, true), (5, e2, true)]);
}

/// Adopting a better log, a candidate gives the member it pulls from two
/// timeouts, counted afresh at each window it receives; it leads once it
/// holds the log up to that member's end, not before (a log as long but
/// different is not it).
#[test]
fn a_candidate_adopting_a_log_waits_for_it_and_leads_once_it_holds_it() {
    let (a, b) = (Other::low(2), Other::low(3));
    let e1 = a.epoch(1);
    let theirs = b.epoch(1);
    let mut m = Member::one_of_three(1);
    m.recovered(a, e1, b);
    let (_, e2) = m.until_sent(Duration::from_secs(1), trial_prepare);
    let one = LogPos { tag: e1, seq: 1 };
    let three = LogPos {
        tag: theirs,
        seq: 3,
    };
    m.hears_now(b, promise(e2, three, one, true));
    let mark = m.mark();
    m.hears_now(b, promise(e2, three, one, false));
    assert_eq!(pulls_sent(m.since(mark)), vec![(one, 1)], "adopts b's log");
    m.waits(Duration::from_millis(200));
    m.hears_now(b, entries(e2, one, vec![noop_entry(theirs)]));
    m.waits(Duration::from_millis(400));
    let two = LogPos {
        tag: theirs,
        seq: 2,
    };
    m.hears_now(b, entries(e2, two, vec![noop_entry(theirs)]));
    assert_eq!(m.node.leading(), Some(e2), "leads with b's log");
    assert!(m.node.log().holds(three));

    // Its own log is as long as b's, but not b's.
    let mut m = Member::one_of_three(2);
    m.recovered(a, e1, b);
    m.hears(a, append(e1, one, 1, vec![Command::Noop, Command::Noop]));
    assert_eq!(m.node.log().last(), LogPos { tag: e1, seq: 3 });
    let (_, e2) = m.until_sent(Duration::from_secs(1), trial_prepare);
    m.hears_now(b, promise(e2, three, one, true));
    m.hears_now(b, promise(e2, three, one, false));
    let mut window = entries(e2, one, vec![noop_entry(e1)]);
    if let Message::Entries { end_of_batch, .. } = &mut window {
        *end_of_batch = false;
    }
    m.hears_now(b, window);
    assert_eq!(m.node.leading(), None, "it does not hold b's seq 3 yet");
}

/// A takeover that gave up half-way through adopting a log leaves entries
/// its old leader never had; following that leader again, the node drops
/// them past the leader's end.
#[test]
fn entries_past_the_leaders_end_of_another_epoch_are_dropped() {
    let (a, b) = (Other::low(2), Other::low(3));
    let e1 = a.epoch(1);
    let theirs = b.epoch(1);
    let mut m = Member::one_of_three(1);
    m.recovered(a, e1, b);
    let (_, e2) = m.until_sent(Duration::from_secs(1), trial_prepare);
    let one = LogPos { tag: e1, seq: 1 };
    let three = LogPos {
        tag: theirs,
        seq: 3,
    };
    m.hears_now(b, promise(e2, three, one, true));
    m.hears_now(b, promise(e2, three, one, false));
    m.hears_now(b, entries(e2, one, vec![noop_entry(theirs)]));
    assert_eq!(m.node.log().last().seq, 2);
    // The takeover gives up two timeouts after it began adopting.
    m.waits(TIMEOUT * 2);
    m.hears(a, heartbeat(e1, one, 1, 0b111, vec![], vec![]));
    assert_eq!(m.node.leader(), Some(a.id));
    assert_eq!(m.node.log().last(), one, "b's entry is not a's");
}

/// Refusing to overwrite a committed entry (past the honest limit), a
/// follower acknowledges no more than its log holds.
#[test]
fn a_refused_overwrite_claims_nothing_beyond_the_log() {
    let (a, b) = (Other::low(2), Other::low(3));
    let e1 = a.epoch(1);
    let mut m = Member::one_of_three(1);
    m.recovered(a, e1, b);
    let one = LogPos { tag: e1, seq: 1 };
    m.hears(a, append(e1, one, 2, vec![Command::Noop]));
    assert_eq!(m.node.commit(), 2);
    m.until_sent(Duration::from_secs(1), trial_prepare);
    let e9 = b.epoch(9);
    m.hears(b, prepare(e9, false));
    let mark = m.mark();
    m.hears(b, append(e9, one, 2, vec![noop_entry(e9).command]));
    let acks = acks_sent(m.since(mark));
    assert!(!acks.is_empty(), "it acks");
    for (matched, _) in acks {
        assert!(matched <= m.node.log().last().seq, "claims {matched}");
    }
}

fn pull(epoch: Epoch, last: LogPos, commit: u64, snapshot: Option<SnapshotCursor>) -> Message {
    Message::Pull {
        epoch,
        last,
        commit,
        snapshot,
    }
}

/// The chunks sent since the mark: (at, total, offset, bytes, end of batch).
fn chunks_sent(sent: &[Sent]) -> Vec<(LogPos, u32, u32, Vec<u8>, bool)> {
    sent.iter()
        .filter_map(|s| match &s.message {
            Message::Chunk {
                at,
                total,
                offset,
                data,
                end_of_batch,
                ..
            } => Some((*at, *total, *offset, data.clone(), *end_of_batch)),
            _ => None,
        })
        .collect()
}

/// A leader serves a member behind its log's base the board snapshot: in
/// windows of 8 frame-sized chunks (the last of each window says so), the
/// next window from the puller's cursor in the same snapshot even after the
/// board moved on; a cursor into another snapshot starts over; a new puller
/// past a compaction gets a snapshot the log follows on from.
#[test]
fn a_leader_serves_its_snapshot_in_windows_resuming_at_the_cursor() {
    let (a, b) = (Other::low(2), Other::low(3));
    let (mut m, e) = Member::leads(1, a, b);
    for token in 0..150 {
        let text = format!("{token:03}{}", "x".repeat(97));
        m.node.handle_request(Time(m.now), token, add(text));
    }
    m.collect();
    let commit_all = |m: &mut Member| {
        let (round, last) = (m.rounds_sent(), m.node.log().last().seq);
        m.hears(a, ack(e, last, false, round));
        m.hears(b, ack(e, last, false, round));
        m.waits(HEARTBEAT);
        assert_eq!(m.node.log().base().seq, last, "compacted to the end");
        last
    };
    let last = commit_all(&mut m);
    let old = LogPos {
        tag: a.epoch(1),
        seq: 1,
    };
    let mark = m.mark();
    m.hears(b, pull(e, old, 1, None));
    let first = chunks_sent(m.since(mark));
    assert_eq!(first.len(), 8, "a window of 8 chunks");
    let at = LogPos { tag: e, seq: last };
    let total = first[0].1;
    assert!(
        total as usize > 8 * wire::PAYLOAD_BUDGET,
        "a board of more than a window"
    );
    let mut data = Vec::new();
    for (i, (a_, t, offset, bytes, end)) in first.iter().enumerate() {
        assert_eq!((*a_, *t), (at, total));
        assert_eq!(*offset as usize, data.len(), "chunks follow each other");
        assert_eq!(bytes.len(), wire::PAYLOAD_BUDGET, "full chunks");
        assert_eq!(*end, i == 7, "the window's last chunk says so");
        data.extend_from_slice(bytes);
    }
    // More writes commit and the log is compacted past the snapshot.
    for token in 1000..1100 {
        m.node
            .handle_request(Time(m.now), token, add(format!("{token}")));
    }
    m.collect();
    let newer = commit_all(&mut m);
    let cursor = SnapshotCursor {
        at,
        offset: data.len() as u32,
    };
    let mark = m.mark();
    m.hears(b, pull(e, old, 1, Some(cursor)));
    let rest = chunks_sent(m.since(mark));
    assert!(!rest.is_empty() && rest.len() <= 8);
    for (i, (a_, t, offset, bytes, end)) in rest.iter().enumerate() {
        assert_eq!((*a_, *t), (at, total), "the same snapshot");
        assert_eq!(*offset as usize, data.len());
        assert_eq!(*end, i + 1 == rest.len());
        data.extend_from_slice(bytes);
    }
    assert_eq!(data.len(), total as usize, "the whole snapshot");
    let board = blackboard::board::Board::decode(&data).expect("it decodes");
    assert_eq!(board.len(), 150);

    // Without a cursor, behind the base: not the cached snapshot, which the
    // log no longer follows on from, but one at the base or later.
    let mark = m.mark();
    m.hears(a, pull(e, old, 1, None));
    let fresh = chunks_sent(m.since(mark));
    assert_eq!(fresh[0].0.seq, newer);
    assert_eq!(fresh[0].2, 0);
    // A cursor into a snapshot the leader no longer has: from the start.
    let stale = SnapshotCursor {
        at: LogPos { tag: e, seq: 7 },
        offset: 5_000,
    };
    let mark = m.mark();
    m.hears(b, pull(e, old, 1, Some(stale)));
    let again = chunks_sent(m.since(mark));
    assert_eq!((again[0].0.seq, again[0].2), (newer, 0));

    // The board moves on; the cached snapshot is kept while pullers use it
    // (here 200 ms idle), and dropped after four timeouts idle.
    m.node
        .handle_request(Time(m.now), 2000, add("one more".into()));
    m.collect();
    let (round, last) = (m.rounds_sent(), m.node.log().last().seq);
    m.hears(a, ack(e, last, false, round));
    assert_eq!(m.node.applied(), newer + 1);
    let cursor = SnapshotCursor {
        at: LogPos { tag: e, seq: newer },
        offset: wire::PAYLOAD_BUDGET as u32,
    };
    m.waits(Duration::from_millis(200));
    let mark = m.mark();
    m.hears(b, pull(e, old, 1, Some(cursor)));
    let kept = chunks_sent(m.since(mark));
    assert_eq!((kept[0].0.seq, kept[0].2), (newer, cursor.offset), "kept");
    m.waits(TIMEOUT * 4 + HEARTBEAT);
    let mark = m.mark();
    m.hears(b, pull(e, old, 1, Some(cursor)));
    let dropped = chunks_sent(m.since(mark));
    assert_eq!((dropped[0].0.seq, dropped[0].2), (newer + 1, 0), "dropped");
}

/// A member serves a pull of its epoch with entries in full datagrams, each
/// following the one before, the last saying the batch ends; a pull of
/// another epoch is not served.
#[test]
fn a_pull_is_served_in_full_datagrams_of_entries_and_only_in_its_epoch() {
    let (a, b) = (Other::low(2), Other::low(3));
    let (mut m, e) = Member::leads(1, a, b);
    for token in 0..30 {
        let text = format!("{token:03}{}", "x".repeat(97));
        m.node.handle_request(Time(m.now), token, add(text));
    }
    m.collect();
    let one = LogPos {
        tag: a.epoch(1),
        seq: 1,
    };
    let mark = m.mark();
    m.hears(b, pull(a.epoch(1), one, 1, None));
    assert!(
        !m.since(mark)
            .iter()
            .any(|s| matches!(s.message, Message::Entries { .. })),
        "another epoch's pull"
    );
    let mark = m.mark();
    m.hears(b, pull(e, one, 1, None));
    let windows: Vec<_> = m
        .since(mark)
        .iter()
        .filter_map(|s| match &s.message {
            Message::Entries {
                prev,
                entries,
                end_of_batch,
                ..
            } => Some((s.bytes, *prev, entries.len() as u64, *end_of_batch)),
            _ => None,
        })
        .collect();
    assert!(windows.len() >= 2, "{windows:?}");
    let mut next = 1;
    for (i, (bytes, prev, count, end)) in windows.iter().enumerate() {
        assert!(*bytes <= wire::MAX_DATAGRAM);
        assert_eq!(prev.seq, next, "each follows the one before");
        assert_eq!(*end, i + 1 == windows.len());
        next += count;
    }
    assert_eq!(next, m.node.log().last().seq, "all of the log after 1");
}

/// Entries from a member this node is not pulling from are ignored, also
/// while it pulls from another.
#[test]
fn entries_nobody_was_asked_for_are_ignored() {
    let (a, b) = (Other::low(2), Other::low(3));
    let e = a.epoch(1);
    let mut m = Member::one_of_three(1);
    m.recovered(a, e, b);
    let one = LogPos { tag: e, seq: 1 };
    m.hears(b, entries(e, one, vec![noop_entry(e)]));
    assert_eq!(m.node.log().last(), one);
    let mark = m.mark();
    m.hears(
        a,
        heartbeat(e, LogPos { tag: e, seq: 3 }, 1, 0b111, vec![], vec![]),
    );
    assert_eq!(pulls_sent(m.since(mark)).len(), 1, "it pulls from a");
    m.hears(b, entries(e, one, vec![noop_entry(e)]));
    assert_eq!(m.node.log().last(), one, "b was not asked");
}

/// The snapshot cursors of the Pulls sent.
fn cursors_sent(sent: &[Sent]) -> Vec<Option<SnapshotCursor>> {
    sent.iter()
        .filter_map(|s| match s.message {
            Message::Pull { snapshot, .. } => Some(snapshot),
            _ => None,
        })
        .collect()
}

/// A follower far behind assembles the snapshot its leader sends, chunk by
/// chunk in order: it ignores chunks of a snapshot older than its commit,
/// from a member it did not ask, or claiming a size beyond the bound, and
/// after a lost chunk asks again from what it holds; complete, the board is
/// installed and it asks for what follows.
#[test]
fn a_follower_assembles_a_snapshot_in_order_and_resumes_after_a_loss() {
    let (a, b) = (Other::low(2), Other::low(3));
    let e = a.epoch(1);
    let mut m = Member::one_of_three(1);
    m.recovered(a, e, b);
    let far = LogPos { tag: e, seq: 200 };
    m.hears(a, heartbeat(e, far, 200, 0b111, vec![], vec![]));
    let mut board = blackboard::board::Board::new();
    for number in 0..40 {
        let request = Request {
            origin: a.id,
            boot: a.boot,
            number,
            finished_below: 0,
            op: add(format!("{number:03}{}", "x".repeat(97))),
        };
        board.apply(&request, number + 2);
    }
    let bytes = board.encode();
    let budget = wire::PAYLOAD_BUDGET;
    assert!(bytes.len() > 3 * budget && bytes.len() < 4 * budget);
    let piece = |at: LogPos, offset: usize, end_of_batch: bool| {
        let mut c = chunk(
            e,
            at,
            bytes[offset..(offset + budget).min(bytes.len())].to_vec(),
        );
        if let Message::Chunk {
            total,
            offset: o,
            end_of_batch: end,
            ..
        } = &mut c
        {
            (*total, *o, *end) = (bytes.len() as u32, offset as u32, end_of_batch);
        }
        c
    };
    let mark = m.mark();
    // Older than its commit; from b; claiming more than 512 MiB: ignored.
    m.hears(a, piece(LogPos { tag: e, seq: 0 }, 0, true));
    m.hears(b, piece(far, 0, true));
    let mut huge = piece(far, 0, true);
    if let Message::Chunk { total, .. } = &mut huge {
        *total = (512 << 20) + 1;
    }
    m.hears(a, huge);
    // The first chunk, then the third (the second was lost).
    m.hears(a, piece(far, 0, false));
    m.hears(a, piece(far, 2 * budget, true));
    assert_eq!(cursors_sent(m.since(mark)), vec![], "nothing to ask yet");
    m.waits(HEARTBEAT * 2);
    let asked = cursors_sent(m.since(mark));
    let holds = SnapshotCursor {
        at: far,
        offset: budget as u32,
    };
    assert!(
        !asked.is_empty() && asked.iter().all(|c| *c == Some(holds)),
        "a heartbeat later it asks from what it holds: {asked:?}"
    );
    let mark = m.mark();
    m.hears(a, piece(far, budget, false));
    m.hears(a, piece(far, 2 * budget, false));
    assert_eq!(m.node.applied(), 1, "not complete yet");
    m.hears(a, piece(far, 3 * budget, true));
    assert_eq!(m.node.applied(), 200, "installed");
    assert_eq!(m.node.board().len(), 40);
    assert_eq!(
        cursors_sent(m.since(mark)),
        vec![None],
        "then asks what follows"
    );
}
