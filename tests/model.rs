//! Exhaustive model check of the election, takeover, replication-commit and
//! recovery-fence rules of `src/core` (takeover.rs, replication.rs,
//! recovery.rs), on an abstract model small enough to explore every state
//! (breadth first, so every counterexample printed is a shortest one).
//!
//! The real core is held to this model's transitions by the simulator's
//! trace check (`src/sim/trace.rs`): each step a real node takes, mapped to
//! the variables below, must be one the transitions here allow (their names
//! are the ones it reports). This file searches the rules deeply; that check
//! keeps the code to them.
//!
//! The model: 3 members, each with `promised`, a log of entries tagged with
//! the epoch that created them, a commit index, `verified` and a memory state
//! (Active, or Recovering with its fence). Any member may crash at any time
//! (bounded), which wipes it to Recovering with a new boot nonce; any member
//! may start a takeover at any time with any epoch number above the one it
//! promised (bounded), which over-approximates the bully election, the
//! stickiness and all timers (they only affect liveness).
//!
//! The network loses, duplicates and reorders everything: a message, once
//! sent, may be delivered any number of times, at any later time, or never.
//! - Promise, NoState and Ack are explicit messages in a set, dropped only
//!   once they can never change anything again (their takeover or tenure
//!   ended).
//! - A Prepare is broadcast once and then any member may receive it at any
//!   later time (`State::prepared`), which is what the set would hold.
//! - Appends and heartbeats are implicit the same way: a leader may send at
//!   every moment, so a follower may receive, at any later time, the
//!   leader's whole log as it was at any moment of its tenure (an Append
//!   plus the Heartbeat naming that end), or, with `prefixes`, any prefix of
//!   it (a pull window, no heartbeat). Tenures that ended stay in `past`.
//! - Probe and Info: a Recovering member probes on every tick until it has a
//!   fence, so a peer may answer at any time; its Info is delivered at once
//!   (a later delivery could only raise and delay the fence: `Tx::on_info`).
//! - Followers do not learn the leader's commit index (it only guards
//!   against what P2 and P3 check anyway); instead, at every delivery, what
//!   the follower verified up to the leader's commit must match the chosen
//!   log.
//!
//! Properties checked in every reachable state (`State::check` and the checks
//! inside the transitions):
//! - P1: an epoch has at most one leader, and only the incarnation that
//!   created it (id and boot nonce are in the epoch) ever leads it;
//! - P2: committed prefixes agree: any two nodes' committed entries at the
//!   same seq are equal, and no seq is ever committed with two different
//!   entries (a ghost "chosen" log records every commit);
//! - P3: an entry committed in epoch Ec is in the log, at the same seq, of
//!   every leader of an epoch above Ec (leader completeness);
//! - P6: a Recovering member is never counted among the stateful promises of
//!   a takeover, nor towards a commit majority.
//!
//! P2 and P3 are promised only while at most a minority of members is
//! without memory (crashed or Recovering) at the same time: a crash that
//! leaves a majority memoryless puts the run "out of scope", where only P1
//! and P6 are checked. (At boot everyone is memoryless, harmlessly; the
//! cluster has formed once a majority has memory.)
//!
//! Findings: the rules as first implemented lost a committed write in three
//! ways, each with at most a minority memoryless at any time (the
//! `model_earlier_rules_*` tests print the traces). The core now has the
//! three fixes of `FIXED` (`Fixes` says where each lives), under which every
//! bound tried is safe; `model_each_fix_is_needed` shows that none can go.
//! Each mutation test flips one rule through `Mutations` and shows that the
//! explorer then finds a violation.
//!
//! Where the model and the core differ, the model allows more:
//! - no trial round: a takeover asks for real at once, and with
//!   `double_collect` counts a NoState from any boot memoryless when it
//!   began (the core: only from boots that answered the trial);
//! - the candidate promises its epoch when it begins (the core promises
//!   only once it leads, but reports the epoch in its `Info` from the real
//!   round on, which is all the fence needs);
//! - a recovery fence is drawn once (the core draws it again when it hears
//!   a leader below it, from reports taken later, which bound the same
//!   epochs);
//! - timers, stickiness, elections and refusals only affect liveness, and
//!   any node may start a takeover at any moment instead.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::hash::{BuildHasherDefault, Hasher};
use std::time::Instant;

const N: usize = 3;
const MAJORITY: usize = N / 2 + 1;
/// Members whose `Info` a rebooted node needs before it has a fence.
const REPORTS: usize = N - MAJORITY + 1;
/// Longest log the model can hold (checked: overflow panics).
const LMAX: usize = 12;
const NONE: u8 = 0xFF;

// ----- epochs and entries ---------------------------------------------------

/// An epoch `(number, leader, boot)` packed so that `u8` order is the
/// lexicographic order of the real `wire::Epoch`. 0 is the default epoch.
type Ep = u8;

fn ep(number: u8, leader: usize, boot: u8) -> Ep {
    debug_assert!(number < 8 && leader < 4 && boot < 4);
    (number << 4) | ((leader as u8) << 2) | boot
}

fn ep_number(e: Ep) -> u8 {
    e >> 4
}

fn ep_leader(e: Ep) -> usize {
    usize::from((e >> 2) & 3)
}

fn ep_boot(e: Ep) -> u8 {
    e & 3
}

fn show_ep(e: Ep) -> String {
    if e == 0 {
        return "e0".to_owned();
    }
    format!(
        "e{}.{}{}",
        ep_number(e),
        ep_leader(e) + 1,
        "'".repeat(usize::from(ep_boot(e)))
    )
}

/// An entry: its tag (the epoch whose leader created it) and a payload, 0
/// for the leader's no-op, `k` for the k-th client write of the run.
type Entry = u16;

fn entry(tag: Ep, payload: u8) -> Entry {
    (u16::from(tag) << 8) | u16::from(payload)
}

fn tag_of(en: Entry) -> Ep {
    (en >> 8) as u8
}

fn show_entry(en: Entry) -> String {
    let payload = en & 0xFF;
    if payload == 0 {
        format!("noop@{}", show_ep(tag_of(en)))
    } else {
        format!("w{payload}@{}", show_ep(tag_of(en)))
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
struct Log {
    len: u8,
    e: [Entry; LMAX],
}

impl Log {
    const EMPTY: Log = Log {
        len: 0,
        e: [0; LMAX],
    };

    fn len(&self) -> u8 {
        self.len
    }

    /// The entry at `seq` (1-based).
    fn get(&self, seq: u8) -> Option<Entry> {
        (seq >= 1 && seq <= self.len).then(|| self.e[usize::from(seq - 1)])
    }

    /// As `Log::tag_at`: seq 0 is the base, tagged with the default epoch.
    fn tag_at(&self, seq: u8) -> Option<Ep> {
        if seq == 0 {
            return Some(0);
        }
        self.get(seq).map(tag_of)
    }

    /// `LogPos` of the last entry: compared by tag, then seq.
    fn last(&self) -> (Ep, u8) {
        (self.tag_at(self.len).unwrap_or(0), self.len)
    }

    fn push(&mut self, en: Entry) {
        assert!(
            usize::from(self.len) < LMAX,
            "model log overflow: raise LMAX"
        );
        self.e[usize::from(self.len)] = en;
        self.len += 1;
    }

    fn truncate(&mut self, len: u8) {
        while self.len > len {
            self.len -= 1;
            self.e[usize::from(self.len)] = 0;
        }
    }

    fn prefix(&self, k: u8) -> Log {
        let mut log = *self;
        log.truncate(k);
        log
    }

    fn show(&self) -> String {
        let items: Vec<String> = (1..=self.len)
            .filter_map(|s| self.get(s))
            .map(show_entry)
            .collect();
        format!("[{}]", items.join(" "))
    }
}

// ----- nodes, messages, state -------------------------------------------------

/// A takeover's record of one member's answer.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Ans {
    Silent,
    /// Not answered yet, but was memoryless, in this boot, when the
    /// takeover began (`Fixes::double_collect`): a NoState from this boot
    /// proves it memoryless throughout.
    Memoryless(u8),
    /// From this boot of the member.
    NoState(u8),
    /// `active` is a ghost: whether the sender was Active when it answered.
    Promise {
        log: Log,
        active: bool,
    },
}

/// What a leader knows of a follower: its last ack, if any.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
struct Prog {
    acked: bool,
    matched: u8,
    recovering: bool,
}

const NO_PROG: Prog = Prog {
    acked: false,
    matched: 0,
    recovering: false,
};

/// Everything the leader of an epoch sent, implicitly: it may have sent its
/// log (or any prefix: appends, pull windows) at every moment of its tenure,
/// so a follower may receive any of those, late, repeatedly or never.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
struct Tenure {
    e: Ep,
    fresh: bool,
    /// Log length right after the leader's no-op: its whole log never was shorter.
    start: u8,
    /// Per member: the leader's log length when that member last crashed
    /// (0 if before this tenure). Only used by `Fixes::stale_heartbeat`.
    after: [u8; N],
    /// Per member: 1 + the boot whose NoState this fresh start counted, or 0.
    /// Only used by `Fixes::fresh_exception`.
    counted: [u8; N],
}

/// A tenure that ended (the leader stepped down or crashed), with the log and
/// commit it had: its messages may still be in flight.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
struct Past {
    t: Tenure,
    log: Log,
    commit: u8,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Duty {
    Follower,
    /// Taking over the epoch the node promised (its own).
    Preparing([Ans; N]),
    /// Leading the epoch the node promised (its own).
    Leader {
        t: Tenure,
        prog: [Prog; N],
    },
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
struct Node {
    boot: u8,
    recovering: bool,
    /// Recovering only: the fence, once enough Active members reported.
    fence: Ep,
    /// Recovering only: the one report held before the fence (N = 3).
    report_from: u8,
    report: Ep,
    promised: Ep,
    log: Log,
    commit: u8,
    verified: u8,
    duty: Duty,
}

impl Node {
    fn booted(boot: u8) -> Node {
        Node {
            boot,
            recovering: true,
            fence: NONE,
            report_from: NONE,
            report: 0,
            promised: 0,
            log: Log::EMPTY,
            commit: 0,
            verified: 0,
            duty: Duty::Follower,
        }
    }

    fn leads(&self) -> Option<Ep> {
        matches!(self.duty, Duty::Leader { .. }).then_some(self.promised)
    }

    fn unfenced(&self) -> bool {
        self.recovering && self.fence == NONE
    }

    /// `accept_leader`: would this node, member `i`, follow the leader of
    /// tenure `t` now?
    fn follows(&self, i: usize, t: &Tenure, cfg: &Cfg) -> bool {
        let e = t.e;
        if e < self.promised {
            false // Reject
        } else if self.recovering {
            // Recovery::may_follow; the fix: only a NoState this fresh start counted.
            let counted = !cfg.fix.fresh_exception || t.counted[i] == self.boot + 1;
            let exception = t.fresh && e == self.promised && counted;
            cfg.mu.no_fence || (self.fence != NONE && e >= self.fence) || exception
        } else {
            // An Active node follows only an epoch it promised.
            e == self.promised
        }
    }
}

/// The messages that answer a particular state of their sender. (Prepare
/// and Append are implicit: see `State::prepared` and `Tenure`.)
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
enum Msg {
    /// To `e`'s leader. `active` is a ghost (Active when sent).
    Promise {
        e: Ep,
        from: u8,
        log: Log,
        active: bool,
    },
    NoState {
        e: Ep,
        from: u8,
        boot: u8,
    },
    /// To `e`'s leader.
    Ack {
        e: Ep,
        from: u8,
        matched: u8,
        recovering: bool,
    },
}

fn show_msg(m: &Msg) -> String {
    match *m {
        Msg::Promise {
            e,
            from,
            log,
            active,
        } => format!(
            "Promise({}, log {}{}) {}->{}",
            show_ep(e),
            log.show(),
            if active {
                ""
            } else {
                ", sent while RECOVERING"
            },
            from + 1,
            ep_leader(e) + 1
        ),
        Msg::NoState { e, from, .. } => {
            format!("NoState({}) {}->{}", show_ep(e), from + 1, ep_leader(e) + 1)
        }
        Msg::Ack {
            e,
            from,
            matched,
            recovering,
        } => format!(
            "Ack({}, matched {}{}) {}->{}",
            show_ep(e),
            matched,
            if recovering { ", recovering" } else { "" },
            from + 1,
            ep_leader(e) + 1
        ),
    }
}

#[derive(Clone, PartialEq, Eq, Hash, Debug)]
struct State {
    nodes: [Node; N],
    /// Explicit messages still able to matter; sorted, no duplicates. Once
    /// sent, a message may be delivered any number of times, or never.
    net: Vec<Msg>,
    /// Epochs whose Prepare was broadcast (bit `e`): any member may receive
    /// it at any later time.
    prepared: u128,
    /// Ended tenures whose appends may still arrive; sorted.
    past: Vec<Past>,
    crashes: u8,
    clients: u8,
    takeovers: u8,
    /// Ghost: a majority has had memory at least once (the cluster formed).
    formed: bool,
    /// Ghost: since forming, a majority was once without memory at the same
    /// time: P2 and P3 are no longer promised.
    out_of_scope: bool,
    /// Ghost: every entry ever committed, by seq, with the epoch in which it
    /// was first committed. Emptied once out of scope.
    chosen: Vec<(Entry, Ep)>,
}

// ----- configuration ----------------------------------------------------------

#[derive(Clone, Copy, Debug)]
struct Bounds {
    /// Highest epoch number a takeover may pick.
    max_number: u8,
    /// Takeovers (so epochs) in a run.
    max_takeovers: u8,
    max_clients: u8,
    max_crashes: u8,
    /// Followers may also receive prefixes of a leader's log that were never
    /// its whole log (pull windows), without commit or heartbeat.
    prefixes: bool,
    /// Start as the real nodes do: all Recovering, no state (the cluster
    /// forms through a fresh start). Otherwise all Active with empty logs.
    boot_start: bool,
}

/// One switch per rule the mutation tests break.
#[derive(Clone, Copy, Debug, Default)]
struct Mutations {
    /// (a) commit by counting even an entry of an older epoch.
    commit_old_epoch: bool,
    /// (b) a Recovering node answers Promise (with its empty log) as if Active.
    recovering_promises: bool,
    /// (c) the new leader keeps its own log instead of the best promised one.
    adopt_own_log: bool,
    /// (d) no recovery fence: a rebooted node follows any leader.
    no_fence: bool,
    /// (e) the leader counts acks of Recovering members towards commit.
    count_recovering_acks: bool,
}

/// The fixes for the violations the earlier rules show.
#[derive(Clone, Copy, Debug, Default)]
struct Fixes {
    /// A heartbeat ends a node's recovery only if its `last` covers all the
    /// leader had when the node crashed. The core: `Heartbeat::recovering`
    /// names the boots the leader heard recovering, and only a heartbeat
    /// naming its own boot sets a node's recovery target (its end of log),
    /// so that heartbeat postdates the reboot.
    stale_heartbeat: bool,
    /// A Recovering node follows a fresh epoch without a fence only if that
    /// fresh start counted its NoState, from its current boot. The core:
    /// `Heartbeat::fresh` lists the boots counted.
    fresh_exception: bool,
    /// A fresh start counts a NoState only from a member that was
    /// memoryless, in that same boot, when the takeover began. The core
    /// asks twice (the trial round, then the real one) and counts a NoState
    /// only from a boot that gave one in both (`Takeover::trial_no_state`).
    /// Memory is lost only by rebooting and regained only once, so the
    /// counted members were all memoryless at one instant: the start of the
    /// real round.
    double_collect: bool,
}

#[derive(Clone, Copy, Debug)]
struct Cfg {
    b: Bounds,
    mu: Mutations,
    fix: Fixes,
    /// Check P6 (off only to show what breaking it leads to downstream).
    p6: bool,
}

// ----- actions ---------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
enum Action {
    /// `to` receives the Prepare of `e`.
    Prepare {
        e: Ep,
        to: usize,
    },
    /// `to` receives from `e`'s leader its log up to seq `k`; when `whole`
    /// (it was the leader's whole log then) also as the heartbeat saying
    /// so, which with `hb` ends the recovery of a Recovering `to`.
    Append {
        e: Ep,
        to: usize,
        k: u8,
        whole: bool,
        hb: bool,
    },
    Deliver(Msg),
    Takeover(usize, Ep),
    FreshStart(usize),
    Propose(usize),
    /// `y` receives a Probe of the Recovering `x` and answers with an Info
    /// that `x` receives at once. (A Recovering node probes on every tick
    /// until it has a fence. Delivering the Info later could only make the
    /// fence later and higher, never admit more: see `Tx::on_info`.)
    Probe {
        x: usize,
        y: usize,
    },
    Crash(usize),
}

fn show_action(a: &Action) -> String {
    match *a {
        Action::Prepare { e, to } => {
            format!(
                "deliver Prepare({}) {}->{}",
                show_ep(e),
                ep_leader(e) + 1,
                to + 1
            )
        }
        Action::Append {
            e,
            to,
            k,
            whole,
            hb,
        } => format!(
            "deliver Append({}, log up to seq {k}{}) {}->{}",
            show_ep(e),
            match (whole, hb) {
                (false, _) => ", a pull window",
                (true, false) => ", + heartbeat",
                (true, true) => ", + heartbeat: ends recovery",
            },
            ep_leader(e) + 1,
            to + 1
        ),
        Action::Deliver(m) => format!("deliver {}", show_msg(&m)),
        Action::Takeover(i, e) => format!("node {} starts takeover of {}", i + 1, show_ep(e)),
        Action::FreshStart(i) => format!(
            "node {} stops waiting and starts fresh (majority NoState)",
            i + 1
        ),
        Action::Propose(i) => format!("node {} appends a client write", i + 1),
        Action::Probe { x, y } => format!(
            "deliver Probe {}->{} and its Info {}->{}",
            x + 1,
            y + 1,
            y + 1,
            x + 1
        ),
        Action::Crash(i) => format!("node {} crashes and reboots (memory wiped)", i + 1),
    }
}

// ----- transitions -----------------------------------------------------------

/// One transition in progress: the state it builds and the first violation
/// it ran into.
struct Tx<'a> {
    s: State,
    cfg: &'a Cfg,
    bad: Option<String>,
}

impl Tx<'_> {
    fn violation(&mut self, why: String) {
        if self.bad.is_none() {
            self.bad = Some(why);
        }
    }

    fn in_scope(&self) -> bool {
        !self.s.out_of_scope
    }

    fn send(&mut self, m: Msg) {
        if let Err(at) = self.s.net.binary_search(&m) {
            self.s.net.insert(at, m);
        }
    }

    /// Changes node `i`'s duty; a tenure that ends goes to `past`.
    fn set_duty(&mut self, i: usize, duty: Duty) {
        let n = self.s.nodes[i];
        if let Duty::Leader { t, .. } = n.duty {
            let p = Past {
                t,
                log: n.log,
                commit: n.commit,
            };
            if let Err(at) = self.s.past.binary_search(&p) {
                self.s.past.insert(at, p);
            }
        }
        self.s.nodes[i].duty = duty;
    }

    /// Moves node `i`'s commit index to `to`, recording the commits in the
    /// ghost log (`epoch`: where they are committed).
    fn set_commit(&mut self, i: usize, to: u8, epoch: Ep) {
        let from = self.s.nodes[i].commit;
        for seq in from + 1..=to {
            let en = self.s.nodes[i].log.get(seq).expect("commit within the log");
            if !self.in_scope() {
                continue;
            }
            match self.s.chosen.get(usize::from(seq - 1)) {
                Some(&(old, at)) if old != en => self.violation(format!(
                    "P2: node {} commits {} at seq {seq}, but {} was committed there in {}",
                    i + 1,
                    show_entry(en),
                    show_entry(old),
                    show_ep(at)
                )),
                Some(_) => {}
                None => {
                    assert_eq!(self.s.chosen.len(), usize::from(seq - 1));
                    self.s.chosen.push((en, epoch));
                }
            }
        }
        self.s.nodes[i].commit = to;
    }

    /// `Node::promise`: the caller sets the duty.
    fn promise(&mut self, i: usize, e: Ep) {
        let n = &mut self.s.nodes[i];
        if e > n.promised {
            n.promised = e;
            n.verified = n.commit;
        }
    }

    fn deliver(&mut self, m: Msg) {
        match m {
            Msg::Promise {
                e,
                from,
                log,
                active,
            } => self.on_answer(e, usize::from(from), Ans::Promise { log, active }),
            Msg::NoState { e, from, boot } => {
                self.on_answer(e, usize::from(from), Ans::NoState(boot))
            }
            Msg::Ack {
                e,
                from,
                matched,
                recovering,
            } => self.on_ack(e, usize::from(from), matched, recovering),
        }
    }

    /// `Node::on_info`: the Recovering `x` hears that `y` promised `promised`.
    ///
    /// The Info is delivered as soon as `y` answers. A later delivery would
    /// carry the same value and set the fence later (until then `x` may
    /// follow less: a fence only adds leaders it may follow) and no lower
    /// (the fence folds in `x`'s own promise, which only grows): it can only
    /// restrict what `x` does, so nothing unsafe is missed.
    fn on_info(&mut self, x: usize, y: usize, promised: Ep) {
        let n = &mut self.s.nodes[x];
        if !n.unfenced() {
            return;
        }
        const _: () = assert!(REPORTS == 2, "the model holds one report");
        if n.report_from == NONE || n.report_from == y as u8 {
            n.report_from = y as u8;
            n.report = promised;
        } else {
            // fold(own promised, max)
            n.fence = n.promised.max(n.report).max(promised);
            n.report_from = NONE;
            n.report = 0;
        }
    }

    /// `Node::on_prepare` (stickiness ignored: a refusal is a lost message).
    fn on_prepare(&mut self, e: Ep, to: usize) {
        let x = self.s.nodes[to];
        if e < x.promised {
            return; // Reject
        }
        if e > x.promised {
            self.promise(to, e);
            self.set_duty(to, Duty::Follower);
        }
        let x = self.s.nodes[to];
        let answer = if !x.recovering || self.cfg.mu.recovering_promises {
            Msg::Promise {
                e,
                from: to as u8,
                log: x.log,
                active: !x.recovering,
            }
        } else {
            Msg::NoState {
                e,
                from: to as u8,
                boot: x.boot,
            }
        };
        self.send(answer);
    }

    /// `Node::on_promise` / `Node::on_no_state`.
    fn on_answer(&mut self, e: Ep, from: usize, ans: Ans) {
        let c = ep_leader(e);
        let n = &mut self.s.nodes[c];
        if n.promised != e {
            return;
        }
        let Duty::Preparing(answers) = &mut n.duty else {
            return;
        };
        if let Ans::NoState(boot) = ans {
            let counts = match answers[from] {
                Ans::Memoryless(b) | Ans::NoState(b) => b == boot,
                _ => !self.cfg.fix.double_collect,
            };
            if !counts {
                // As `on_no_state`: whatever it promised before is forgotten.
                answers[from] = Ans::Silent;
                return;
            }
        }
        answers[from] = ans;
        self.decide(c, false);
    }

    /// `Takeover::decide`: starts the epoch once a majority answered.
    fn decide(&mut self, c: usize, stop_waiting: bool) {
        let n = self.s.nodes[c];
        let Duty::Preparing(answers) = n.duty else {
            return;
        };
        let promises = answers
            .iter()
            .filter(|a| matches!(a, Ans::Promise { .. }))
            .count();
        let no_state = answers
            .iter()
            .filter(|a| matches!(a, Ans::NoState(_)))
            .count();
        let fresh = if promises >= MAJORITY {
            false
        } else if no_state >= MAJORITY && (promises + no_state == N || stop_waiting) {
            true
        } else {
            return;
        };
        // P6: only members that had memory when they promised count as stateful.
        for (i, a) in answers.iter().enumerate().filter(|_| self.cfg.p6) {
            if let Ans::Promise { active: false, .. } = a {
                self.violation(format!(
                    "P6: node {} takes over {} counting node {}'s Promise, sent while it was \
                     Recovering, as stateful",
                    c + 1,
                    show_ep(n.promised),
                    i + 1
                ));
            }
        }
        let best = answers
            .iter()
            .enumerate()
            .filter_map(|(i, a)| match a {
                Ans::Promise { log, .. } => Some((i, *log)),
                _ => None,
            })
            .max_by_key(|(i, log)| (log.last(), *i == c));
        let adopt = match best {
            Some((i, log))
                if i != c
                    && !self.cfg.mu.adopt_own_log
                    && (log.last() > n.log.last() || n.recovering) =>
            {
                Some(log)
            }
            _ => None,
        };
        if let Some(log) = adopt {
            if n.recovering {
                // forget_everything, then the pull fills the empty log.
                let x = &mut self.s.nodes[c];
                x.commit = 0;
                x.verified = 0;
            } else {
                // `store` refuses to overwrite a committed entry: the pull
                // would stall and the takeover time out.
                let conflict = (1..=n.commit).find(|&s| log.tag_at(s) != n.log.tag_at(s));
                if let Some(seq) = conflict {
                    if self.in_scope() {
                        self.violation(format!(
                            "P3: node {} taking over {} must adopt log {} which lacks its \
                             committed {} at seq {seq}",
                            c + 1,
                            show_ep(n.promised),
                            log.show(),
                            n.log.get(seq).map(show_entry).unwrap_or_default()
                        ));
                    }
                    return;
                }
            }
            self.s.nodes[c].log = log;
        }
        self.start_epoch(c, fresh);
    }

    /// `Node::start_epoch` and `become_leader`.
    fn start_epoch(&mut self, c: usize, fresh: bool) {
        let e = self.s.nodes[c].promised;
        let boot = self.s.nodes[c].boot;
        if ep_leader(e) != c || ep_boot(e) != boot {
            self.violation(format!(
                "P1: node {} (boot {boot}) leads {}, an epoch it did not create",
                c + 1,
                show_ep(e)
            ));
        }
        let nodes = self.s.nodes;
        let led_before = self.s.past.iter().any(|p| p.t.e == e);
        for (j, other) in nodes.iter().enumerate() {
            if (j != c && other.leads() == Some(e)) || led_before {
                self.violation(format!("P1: a second tenure of {}", show_ep(e)));
            }
        }
        let mut counted = [0; N];
        if let (true, Duty::Preparing(answers)) = (fresh, self.s.nodes[c].duty) {
            for (i, a) in answers.iter().enumerate() {
                if let Ans::NoState(boot) = a {
                    counted[i] = boot + 1;
                }
            }
        }
        let x = &mut self.s.nodes[c];
        x.recovering = false;
        x.fence = NONE;
        x.report_from = NONE;
        x.report = 0;
        x.log.push(entry(e, 0));
        x.verified = x.log.len();
        x.duty = Duty::Leader {
            t: Tenure {
                e,
                fresh,
                start: x.log.len(),
                after: [0; N],
                counted,
            },
            prog: [NO_PROG; N],
        };
        self.advance_commit(c);
    }

    /// `Node::accept_leader`, `on_append`, `store` and `on_heartbeat`:
    /// `to` receives `log` from the tenure `t`, whose commit index is now
    /// `commit` (followers do not learn it: see below).
    fn on_append(&mut self, t: &Tenure, to: usize, log: Log, commit: u8, whole: bool, hb: bool) {
        let e = t.e;
        if !self.s.nodes[to].follows(to, t, self.cfg) {
            return;
        }
        self.promise(to, e);
        self.set_duty(to, Duty::Follower);
        // store(prev = base, entries), comparing tags like the real `store`
        let mut end = log.len();
        for seq in 1..=log.len() {
            let en = log.get(seq).expect("in the message");
            let x = &mut self.s.nodes[to];
            match x.log.tag_at(seq) {
                Some(t) if t == tag_of(en) => continue,
                Some(_) => {
                    if seq <= x.commit {
                        let old = x.log.get(seq).expect("held");
                        if self.in_scope() {
                            self.violation(format!(
                                "P2: node {} is sent {} at seq {seq} over its committed {}",
                                to + 1,
                                show_entry(en),
                                show_entry(old)
                            ));
                        }
                        end = seq - 1;
                        break;
                    }
                    x.log.truncate(seq - 1);
                    x.log.push(en);
                }
                None => x.log.push(en),
            }
        }
        let x = &mut self.s.nodes[to];
        x.verified = x.verified.max(end);
        let holds_last = whole && end == log.len();
        // Entries past the leader's end from an older epoch are stale.
        if holds_last
            && x.log.tag_at(log.len() + 1).is_some_and(|t| t != e)
            && log.len() >= x.commit
        {
            x.log.truncate(log.len());
        }
        // Followers do not learn the commit index in this model (it only
        // guards against what P2 and P3 check anyway); instead, what the
        // leader has committed must match what this node verified.
        let learn = commit.min(x.verified).min(x.log.len());
        let x = self.s.nodes[to];
        if self.in_scope() {
            for seq in 1..=learn {
                let held = x.log.get(seq).expect("within the log");
                if let Some(&(en, at)) = self.s.chosen.get(usize::from(seq - 1)) {
                    if en != held {
                        self.violation(format!(
                            "P2: node {} verified {} at seq {seq} from the leader of {}, but {} \
                             was committed there in {}",
                            to + 1,
                            show_entry(held),
                            show_ep(e),
                            show_entry(en),
                            show_ep(at)
                        ));
                    }
                }
            }
        }
        let x = &mut self.s.nodes[to];
        // (`verified >= commit` holds: the heartbeat's last is past its commit.)
        let stale = self.cfg.fix.stale_heartbeat && log.len() < t.after[to];
        if hb && x.recovering && holds_last && !stale {
            // finish_recovery
            x.recovering = false;
            x.fence = NONE;
            x.report_from = NONE;
            x.report = 0;
        }
        let ack = Msg::Ack {
            e,
            from: to as u8,
            matched: x.verified,
            recovering: x.recovering,
        };
        self.send(ack);
    }

    /// `Node::on_ack`.
    fn on_ack(&mut self, e: Ep, from: usize, matched: u8, recovering: bool) {
        let l = ep_leader(e);
        let count_anyway = self.cfg.mu.count_recovering_acks;
        let n = &mut self.s.nodes[l];
        if n.promised != e {
            return;
        }
        let last = n.log.len();
        let Duty::Leader { prog, .. } = &mut n.duty else {
            return;
        };
        let p = &mut prog[from];
        p.acked = true;
        p.recovering = recovering;
        if !recovering || count_anyway {
            p.matched = p.matched.max(matched.min(last));
        }
        self.advance_commit(l);
    }

    /// `Node::advance_commit`.
    fn advance_commit(&mut self, l: usize) {
        let n = self.s.nodes[l];
        let Duty::Leader { prog, .. } = n.duty else {
            return;
        };
        // The highest seq held by a majority: the leader's own log, and what
        // acked members matched (Recovering ones do not count).
        let quorum = |recovering_too: bool| {
            let mut v = [0u8; N];
            let mut len = 0;
            for (j, p) in prog.iter().enumerate() {
                if j == l {
                    v[len] = n.log.len();
                } else if !p.acked || (p.recovering && !recovering_too) {
                    continue;
                } else {
                    v[len] = p.matched;
                }
                len += 1;
            }
            v[..len].sort_unstable_by(|a, b| b.cmp(a));
            (len >= MAJORITY).then(|| v[MAJORITY - 1])
        };
        let Some(k) = quorum(self.cfg.mu.count_recovering_acks) else {
            return;
        };
        if k <= n.commit {
            return;
        }
        // Only an entry of this epoch commits by counting.
        if n.log.tag_at(k) != Some(n.promised) && !self.cfg.mu.commit_old_epoch {
            return;
        }
        if self.cfg.p6 && quorum(false).unwrap_or(0) < k {
            self.violation(format!(
                "P6: leader {} of {} commits seq {k} counting a Recovering member's ack",
                l + 1,
                show_ep(n.promised)
            ));
        }
        self.set_commit(l, k, n.promised);
    }

    /// Bookkeeping after every step: scope ghosts and garbage collection of
    /// what can never change anything again.
    fn finish(&mut self, crashed: bool) {
        let s = &mut self.s;
        let memoryless = s.nodes.iter().filter(|n| n.recovering).count();
        if !s.formed && memoryless < MAJORITY {
            s.formed = true;
        }
        // Before the cluster formed everyone was memoryless, harmlessly; a
        // crash that leaves a majority memoryless (then or later) is not.
        if memoryless >= MAJORITY && (s.formed || crashed) {
            s.out_of_scope = true;
        }
        if s.out_of_scope {
            s.chosen.clear();
        }
        let crashes_left = s.crashes < self.cfg.b.max_crashes;
        let nodes = s.nodes;
        // Anyone who could still act on e's Prepare or appends? (A reboot
        // resets `promised`, so while crashes are left everyone could.)
        let open = |e: Ep, or_equal: bool| {
            crashes_left
                || nodes.iter().enumerate().any(|(i, n)| {
                    i != ep_leader(e) && (n.promised < e || (or_equal && n.promised == e))
                })
        };
        for e in epochs(s.prepared) {
            if !open(e, false) {
                s.prepared &= !(1 << e);
            }
        }
        s.past.retain(|p| open(p.t.e, true));
        let preparing = |e: Ep| {
            let c = &nodes[ep_leader(e)];
            c.promised == e && matches!(c.duty, Duty::Preparing(_))
        };
        s.net.retain(|m| match *m {
            Msg::Promise { e, .. } | Msg::NoState { e, .. } => preparing(e),
            Msg::Ack { e, .. } => nodes[ep_leader(e)].leads() == Some(e),
        });
    }
}

impl State {
    fn init(b: &Bounds) -> State {
        let mut nodes = [Node::booted(0); N];
        if !b.boot_start {
            for n in &mut nodes {
                n.recovering = false;
            }
        }
        State {
            nodes,
            net: Vec::new(),
            prepared: 0,
            past: Vec::new(),
            crashes: 0,
            clients: 0,
            takeovers: 0,
            formed: !b.boot_start,
            out_of_scope: false,
            chosen: Vec::new(),
        }
    }

    /// The tenure of `e`, ongoing or past, with its log and commit.
    fn tenure(&self, e: Ep) -> Option<(Tenure, Log, u8)> {
        let n = &self.nodes[ep_leader(e)];
        match n.duty {
            Duty::Leader { t, .. } if t.e == e => Some((t, n.log, n.commit)),
            _ => self
                .past
                .iter()
                .find(|p| p.t.e == e)
                .map(|p| (p.t, p.log, p.commit)),
        }
    }

    fn apply(&self, cfg: &Cfg, a: Action) -> (State, Option<String>) {
        let mut tx = Tx {
            s: self.clone(),
            cfg,
            bad: None,
        };
        match a {
            Action::Prepare { e, to } => tx.on_prepare(e, to),
            Action::Append {
                e,
                to,
                k,
                whole,
                hb,
            } => {
                let (t, log, commit) = self.tenure(e).expect("a tenure of e");
                tx.on_append(&t, to, log.prefix(k), commit, whole, hb);
            }
            Action::Deliver(m) => tx.deliver(m),
            Action::Takeover(i, e) => {
                tx.s.takeovers += 1;
                tx.promise(i, e);
                let x = tx.s.nodes[i];
                let mut answers = [Ans::Silent; N];
                if cfg.fix.double_collect {
                    for (j, m) in tx.s.nodes.iter().enumerate() {
                        if m.recovering {
                            answers[j] = Ans::Memoryless(m.boot);
                        }
                    }
                }
                answers[i] = if x.recovering {
                    Ans::NoState(x.boot)
                } else {
                    Ans::Promise {
                        log: x.log,
                        active: true,
                    }
                };
                tx.set_duty(i, Duty::Preparing(answers));
                tx.s.prepared |= 1 << e;
                tx.decide(i, false);
            }
            Action::FreshStart(i) => tx.decide(i, true),
            Action::Propose(i) => {
                tx.s.clients += 1;
                let payload = tx.s.clients;
                let x = &mut tx.s.nodes[i];
                x.log.push(entry(x.promised, payload));
                x.verified = x.log.len();
                tx.advance_commit(i);
            }
            Action::Probe { x, y } => {
                let promised = tx.s.nodes[y].promised;
                tx.on_info(x, y, promised);
            }
            Action::Crash(i) => {
                tx.s.crashes += 1;
                tx.set_duty(i, Duty::Follower);
                for n in &mut tx.s.nodes {
                    let len = n.log.len();
                    if let Duty::Leader { t, .. } = &mut n.duty {
                        t.after[i] = len;
                    }
                }
                for p in &mut tx.s.past {
                    if ep_leader(p.t.e) != i {
                        p.t.after[i] = p.log.len();
                    }
                }
                let boot = tx.s.nodes[i].boot + 1;
                assert!(boot < 4, "epochs hold 2 bits of boot nonce");
                tx.s.nodes[i] = Node::booted(boot);
            }
        }
        tx.finish(matches!(a, Action::Crash(_)));
        (tx.s, tx.bad)
    }

    /// Every action enabled here that may change something, in a fixed
    /// order (traces replay by index).
    fn actions(&self, cfg: &Cfg, out: &mut Vec<Action>) {
        out.clear();
        for e in epochs(self.prepared) {
            for (to, x) in self.nodes.iter().enumerate() {
                // A node that promised e already answered it; one that
                // promised more rejects it.
                if to != ep_leader(e) && x.promised < e {
                    out.push(Action::Prepare { e, to });
                }
            }
        }
        let live = self.nodes.iter().filter_map(|n| match n.duty {
            Duty::Leader { t, .. } => Some((t, n.log)),
            _ => None,
        });
        let past = self.past.iter().map(|p| (p.t, p.log));
        for (t, log) in live.chain(past) {
            for (to, x) in self.nodes.iter().enumerate() {
                if to == ep_leader(t.e) || !x.follows(to, &t, cfg) {
                    continue;
                }
                if cfg.b.prefixes {
                    for k in 1..=log.len() {
                        out.push(Action::Append {
                            e: t.e,
                            to,
                            k,
                            whole: false,
                            hb: false,
                        });
                    }
                }
                for k in t.start..=log.len() {
                    for hb in [false, true] {
                        if hb && !x.recovering {
                            continue;
                        }
                        out.push(Action::Append {
                            e: t.e,
                            to,
                            k,
                            whole: true,
                            hb,
                        });
                    }
                }
            }
        }
        for m in &self.net {
            out.push(Action::Deliver(*m));
        }
        for (i, n) in self.nodes.iter().enumerate() {
            if self.takeovers < cfg.b.max_takeovers {
                for number in ep_number(n.promised) + 1..=cfg.b.max_number {
                    out.push(Action::Takeover(i, ep(number, i, n.boot)));
                }
            }
            match n.duty {
                Duty::Preparing(answers) => {
                    let promises = answers
                        .iter()
                        .filter(|a| matches!(a, Ans::Promise { .. }))
                        .count();
                    let no_state = answers
                        .iter()
                        .filter(|a| matches!(a, Ans::NoState(_)))
                        .count();
                    if promises < MAJORITY && no_state >= MAJORITY {
                        out.push(Action::FreshStart(i));
                    }
                }
                Duty::Leader { .. } if self.clients < cfg.b.max_clients => {
                    out.push(Action::Propose(i));
                }
                _ => {}
            }
            if n.unfenced() {
                for (y, m) in self.nodes.iter().enumerate() {
                    // Recovering members answer too (`active: false`): with
                    // three members the fence needs both others, of any kind.
                    let known = n.report_from == y as u8 && n.report == m.promised;
                    if y != i && !known {
                        out.push(Action::Probe { x: i, y });
                    }
                }
            }
            if self.crashes < cfg.b.max_crashes {
                out.push(Action::Crash(i));
            }
        }
    }

    /// The properties that are about one state.
    fn check(&self) -> Option<String> {
        for (i, n) in self.nodes.iter().enumerate() {
            if let Some(e) = n.leads() {
                if ep_leader(e) != i || ep_boot(e) != n.boot {
                    return Some(format!(
                        "P1: node {} leads foreign epoch {}",
                        i + 1,
                        show_ep(e)
                    ));
                }
                for (j, m) in self.nodes.iter().enumerate().skip(i + 1) {
                    if m.leads() == Some(e) {
                        return Some(format!(
                            "P1: nodes {} and {} both lead {}",
                            i + 1,
                            j + 1,
                            show_ep(e)
                        ));
                    }
                }
            }
        }
        if self.out_of_scope {
            return None;
        }
        for i in 0..N {
            for j in i + 1..N {
                let (a, b) = (&self.nodes[i], &self.nodes[j]);
                for seq in 1..=a.commit.min(b.commit) {
                    if a.log.get(seq) != b.log.get(seq) {
                        return Some(format!(
                            "P2: committed seq {seq} is {} on node {} but {} on node {}",
                            a.log.get(seq).map(show_entry).unwrap_or_default(),
                            i + 1,
                            b.log.get(seq).map(show_entry).unwrap_or_default(),
                            j + 1
                        ));
                    }
                }
            }
        }
        for (i, n) in self.nodes.iter().enumerate() {
            let Some(e) = n.leads() else { continue };
            for (k, &(en, at)) in self.chosen.iter().enumerate() {
                let seq = k as u8 + 1;
                if at < e && n.log.get(seq) != Some(en) {
                    return Some(format!(
                        "P3: leader {} of {} has {} at seq {seq}, where {} was committed in {}",
                        i + 1,
                        show_ep(e),
                        n.log.get(seq).map(show_entry).unwrap_or("nothing".into()),
                        show_entry(en),
                        show_ep(at)
                    ));
                }
            }
        }
        None
    }

    fn show(&self) -> String {
        let mut out = String::new();
        for (i, n) in self.nodes.iter().enumerate() {
            let role = match n.duty {
                Duty::Follower => "follower",
                Duty::Preparing(_) => "candidate",
                Duty::Leader { .. } => "LEADER",
            };
            let memory = if !n.recovering {
                "active".to_owned()
            } else if n.fence != NONE {
                format!("recovering (fence {})", show_ep(n.fence))
            } else {
                "recovering".to_owned()
            };
            let _ = writeln!(
                out,
                "       node {} boot {}: {role}, {memory}, promised {}, log {} commit {}",
                i + 1,
                n.boot,
                show_ep(n.promised),
                n.log.show(),
                n.commit
            );
        }
        if self.out_of_scope {
            out.push_str("       (a majority was once without memory: P2/P3 not promised)\n");
        }
        out
    }

    // ----- compact encoding (frontier) and fingerprint (visited set) -----

    fn encode(&self, w: &mut Vec<u8>) {
        w.clear();
        w.extend([
            self.crashes,
            self.clients,
            self.takeovers,
            u8::from(self.formed) | (u8::from(self.out_of_scope) << 1),
            self.chosen.len() as u8,
            self.past.len() as u8,
        ]);
        w.extend(self.prepared.to_le_bytes());
        for &(en, at) in &self.chosen {
            w.extend(en.to_le_bytes());
            w.push(at);
        }
        for p in &self.past {
            put_tenure(w, &p.t);
            put_log(w, &p.log);
            w.push(p.commit);
        }
        for n in &self.nodes {
            w.extend([
                n.boot,
                u8::from(n.recovering),
                n.fence,
                n.report_from,
                n.report,
                n.promised,
                n.commit,
                n.verified,
            ]);
            put_log(w, &n.log);
            match n.duty {
                Duty::Follower => w.push(0),
                Duty::Preparing(answers) => {
                    w.push(1);
                    for a in answers {
                        match a {
                            Ans::Silent => w.push(0),
                            Ans::NoState(boot) => w.extend([1, boot]),
                            Ans::Memoryless(boot) => w.extend([4, boot]),
                            Ans::Promise { log, active } => {
                                w.push(2 + u8::from(active));
                                put_log(w, &log);
                            }
                        }
                    }
                }
                Duty::Leader { t, prog } => {
                    w.push(2);
                    put_tenure(w, &t);
                    for p in prog {
                        w.extend([u8::from(p.acked) | (u8::from(p.recovering) << 1), p.matched]);
                    }
                }
            }
        }
        w.extend((self.net.len() as u16).to_le_bytes());
        for m in &self.net {
            match *m {
                Msg::Promise {
                    e,
                    from,
                    log,
                    active,
                } => {
                    w.extend([1, e, from, u8::from(active)]);
                    put_log(w, &log);
                }
                Msg::NoState { e, from, boot } => w.extend([2, e, from, boot]),
                Msg::Ack {
                    e,
                    from,
                    matched,
                    recovering,
                } => w.extend([4, e, from, matched, u8::from(recovering)]),
            }
        }
    }

    fn decode(bytes: &[u8]) -> State {
        let mut r = Reader { b: bytes, at: 0 };
        let crashes = r.u8();
        let clients = r.u8();
        let takeovers = r.u8();
        let flags = r.u8();
        let chosen_len = r.u8();
        let past_len = r.u8();
        let prepared = u128::from_le_bytes(std::array::from_fn(|_| r.u8()));
        let chosen = (0..chosen_len)
            .map(|_| {
                let en = r.u16();
                (en, r.u8())
            })
            .collect();
        let past = (0..past_len)
            .map(|_| Past {
                t: r.tenure(),
                log: r.log(),
                commit: r.u8(),
            })
            .collect();
        let mut nodes = [Node::booted(0); N];
        for n in &mut nodes {
            n.boot = r.u8();
            n.recovering = r.u8() != 0;
            n.fence = r.u8();
            n.report_from = r.u8();
            n.report = r.u8();
            n.promised = r.u8();
            n.commit = r.u8();
            n.verified = r.u8();
            n.log = r.log();
            n.duty = match r.u8() {
                0 => Duty::Follower,
                1 => {
                    let mut answers = [Ans::Silent; N];
                    for a in &mut answers {
                        *a = match r.u8() {
                            0 => Ans::Silent,
                            1 => Ans::NoState(r.u8()),
                            4 => Ans::Memoryless(r.u8()),
                            k => Ans::Promise {
                                active: k == 3,
                                log: r.log(),
                            },
                        };
                    }
                    Duty::Preparing(answers)
                }
                _ => {
                    let t = r.tenure();
                    let mut prog = [NO_PROG; N];
                    for p in &mut prog {
                        let f = r.u8();
                        *p = Prog {
                            acked: f & 1 != 0,
                            recovering: f & 2 != 0,
                            matched: r.u8(),
                        };
                    }
                    Duty::Leader { t, prog }
                }
            };
        }
        let count = r.u16();
        let net = (0..count)
            .map(|_| match r.u8() {
                1 => Msg::Promise {
                    e: r.u8(),
                    from: r.u8(),
                    active: r.u8() != 0,
                    log: r.log(),
                },
                2 => Msg::NoState {
                    e: r.u8(),
                    from: r.u8(),
                    boot: r.u8(),
                },
                4 => Msg::Ack {
                    e: r.u8(),
                    from: r.u8(),
                    matched: r.u8(),
                    recovering: r.u8() != 0,
                },
                k => panic!("no message kind {k}"),
            })
            .collect();
        assert_eq!(r.at, bytes.len(), "decode consumed everything");
        State {
            nodes,
            net,
            prepared,
            past,
            crashes,
            clients,
            takeovers,
            formed: flags & 1 != 0,
            out_of_scope: flags & 2 != 0,
            chosen,
        }
    }
}

fn put_log(w: &mut Vec<u8>, log: &Log) {
    w.push(log.len);
    for s in 1..=log.len {
        w.extend(log.get(s).expect("within len").to_le_bytes());
    }
}

fn put_tenure(w: &mut Vec<u8>, t: &Tenure) {
    w.extend([t.e, u8::from(t.fresh), t.start]);
    w.extend(t.after);
    w.extend(t.counted);
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn u8(&mut self) -> u8 {
        self.at += 1;
        self.b[self.at - 1]
    }

    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }

    fn log(&mut self) -> Log {
        let mut log = Log::EMPTY;
        for _ in 0..self.u8() {
            let en = self.u16();
            log.push(en);
        }
        log
    }

    fn tenure(&mut self) -> Tenure {
        Tenure {
            e: self.u8(),
            fresh: self.u8() != 0,
            start: self.u8(),
            after: std::array::from_fn(|_| self.u8()),
            counted: std::array::from_fn(|_| self.u8()),
        }
    }
}

/// The epochs whose bits are set.
fn epochs(mut bits: u128) -> impl Iterator<Item = Ep> {
    std::iter::from_fn(move || {
        (bits != 0).then(|| {
            let e = bits.trailing_zeros() as Ep;
            bits &= bits - 1;
            e
        })
    })
}

/// 128-bit fingerprint of an encoded state: two independent multiply-fold
/// hashes. A collision among even 10^8 states has probability ~10^-22.
fn fingerprint(bytes: &[u8]) -> (u64, u64) {
    fn fold(a: u64, b: u64) -> u64 {
        let p = u128::from(a) * u128::from(b);
        (p as u64) ^ ((p >> 64) as u64)
    }
    const K: [u64; 4] = [
        0xa076_1d64_78bd_642f,
        0xe703_7ed1_a0b4_28db,
        0x8ebc_6af0_9c88_c6e3,
        0x5899_65cc_7537_4cc3,
    ];
    let (mut h1, mut h2) = (K[0] ^ bytes.len() as u64, K[1]);
    for chunk in bytes.chunks(8) {
        let mut word = [0u8; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        h1 = fold(h1 ^ w, K[2]);
        h2 = fold(h2 ^ w.rotate_left(29), K[3]).wrapping_add(h1 >> 7);
    }
    (fold(h1, K[1]) ^ h2, fold(h2, K[0]) ^ h1)
}

/// The fingerprint is already uniform: the visited map uses its first word.
#[derive(Default)]
struct FirstWord(u64);

impl Hasher for FirstWord {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, _: &[u8]) {
        unreachable!("only (u64, u64) keys")
    }

    fn write_u64(&mut self, x: u64) {
        if self.0 == 0 {
            self.0 = x;
        }
    }
}

// ----- the explorer ------------------------------------------------------------

struct Run {
    states: usize,
    depth: usize,
    transitions: u64,
    secs: f64,
    /// The property broken and the trace leading to it.
    violation: Option<(String, Vec<String>)>,
}

/// Breadth-first search over every reachable state; stops at the first
/// violation (which BFS makes a shortest counterexample).
fn explore(name: &str, cfg: Cfg, max_states: usize) -> Run {
    let start = Instant::now();
    let init = State::init(&cfg.b);
    if let Some(why) = init.check() {
        panic!("{name}: initial state violates {why}");
    }
    let mut buf = Vec::new();
    init.encode(&mut buf);
    let mut seen: HashMap<(u64, u64), u32, BuildHasherDefault<FirstWord>> = HashMap::default();
    seen.insert(fingerprint(&buf), 0);
    // Per state: its parent and the index of the action that led to it.
    let mut parents: Vec<(u32, u32)> = vec![(u32::MAX, 0)];
    let mut level: Vec<(u32, Box<[u8]>)> = vec![(0, buf.clone().into_boxed_slice())];
    let mut depth = 0;
    let mut transitions = 0u64;
    let mut actions = Vec::new();
    let mut violation = None;
    'bfs: while !level.is_empty() {
        let mut next = Vec::new();
        for (idx, bytes) in &level {
            let s = State::decode(bytes);
            s.actions(&cfg, &mut actions);
            for (ai, &a) in actions.iter().enumerate() {
                transitions += 1;
                let (t, bad) = s.apply(&cfg, a);
                t.encode(&mut buf);
                let fp = fingerprint(&buf);
                let new = !seen.contains_key(&fp);
                let bad = bad.or_else(|| if new { t.check() } else { None });
                if let Some(why) = bad {
                    let mut trace = replay(&cfg, &parents, *idx);
                    trace.push(format!("{}\n{}", show_action(&a), t.show()));
                    violation = Some((why, trace));
                    depth += 1;
                    break 'bfs;
                }
                if new {
                    let id = parents.len() as u32;
                    seen.insert(fp, id);
                    parents.push((*idx, ai as u32));
                    next.push((id, buf.clone().into_boxed_slice()));
                    assert!(
                        parents.len() <= max_states,
                        "{name}: more than {max_states} states: bounds too large for this test"
                    );
                }
            }
        }
        if !next.is_empty() {
            depth += 1;
        }
        if std::env::var_os("BB_MODEL_PROGRESS").is_some() {
            eprintln!("depth {depth}: {} new, {} total", next.len(), parents.len());
        }
        level = next;
    }
    Run {
        states: parents.len(),
        depth,
        transitions,
        secs: start.elapsed().as_secs_f64(),
        violation,
    }
}

/// The actions from the initial state to state `idx`, with the states they
/// lead to, by re-running the recorded action indices.
fn replay(cfg: &Cfg, parents: &[(u32, u32)], idx: u32) -> Vec<String> {
    let mut path = Vec::new();
    let mut at = idx;
    while at != 0 {
        let (parent, action) = parents[at as usize];
        path.push(action as usize);
        at = parent;
    }
    path.reverse();
    let mut s = State::init(&cfg.b);
    let mut actions = Vec::new();
    let mut trace = Vec::new();
    for ai in path {
        s.actions(cfg, &mut actions);
        let a = actions[ai];
        s = s.apply(cfg, a).0;
        trace.push(show_action(&a));
    }
    if let Some(last) = trace.last_mut() {
        *last = format!("{last}\n{}", s.show());
    }
    trace
}

fn run(name: &str, cfg: Cfg, max_states: usize) -> Run {
    let (b, r) = (cfg.b, explore(name, cfg, max_states));
    let result = match &r.violation {
        None => "SAFE (no violation)".to_owned(),
        Some((why, _)) => format!("VIOLATION {}", why.split(':').next().unwrap_or("")),
    };
    println!(
        "model {name}: numbers<={} takeovers<={} clients<={} crashes<={} prefixes={} start={}: \
         {} states, {} transitions, depth {}, {:.1} s, {result}",
        b.max_number,
        b.max_takeovers,
        b.max_clients,
        b.max_crashes,
        b.prefixes,
        if b.boot_start { "boot" } else { "formed" },
        r.states,
        r.transitions,
        r.depth,
        r.secs
    );
    if let Some((why, trace)) = &r.violation {
        println!("  {why}");
        for (k, step) in trace.iter().enumerate() {
            println!("  {:>3}. {step}", k + 1);
        }
    }
    r
}

fn assert_safe(r: &Run) {
    if let Some((why, _)) = &r.violation {
        panic!("the unmutated rules break: {why} (trace above)");
    }
    assert!(r.states > 1000, "the model explored suspiciously little");
}

fn assert_caught(r: &Run, properties: &[&str]) {
    let Some((why, trace)) = &r.violation else {
        panic!("the broken rule went unnoticed: no violation found");
    };
    assert!(
        properties.iter().any(|p| why.starts_with(p)),
        "expected a violation of {properties:?}, got {why}"
    );
    assert!(!trace.is_empty());
}

/// Formed cluster: the default bounds of the safety check.
const SMALL: Bounds = Bounds {
    max_number: 2,
    max_takeovers: 2,
    max_clients: 1,
    max_crashes: 1,
    prefixes: false,
    boot_start: false,
};

/// A default test exploring more states than this fails: the model grew.
const CAP: usize = 8_000_000;
const BIG_CAP: usize = 150_000_000;

const UNFIXED: Fixes = Fixes {
    stale_heartbeat: false,
    fresh_exception: false,
    double_collect: false,
};

/// The rules of the core: every bound tried is safe.
const FIXED: Fixes = Fixes {
    stale_heartbeat: true,
    fresh_exception: true,
    double_collect: true,
};

const RULES: Mutations = Mutations {
    commit_old_epoch: false,
    recovering_promises: false,
    adopt_own_log: false,
    no_fence: false,
    count_recovering_acks: false,
};

fn cfg(b: Bounds, mu: Mutations, fix: Fixes) -> Cfg {
    Cfg {
        b,
        mu,
        fix,
        p6: true,
    }
}

// ----- the earlier rules: three ways to lose a committed write -----------------

/// A heartbeat sent before a node crashed ends its recovery after the
/// reboot, though the leader has since committed an entry counting that
/// node's pre-crash ack: the rebooted node counts as a copy without holding
/// it, and a later leader elected with it lacks the entry. One crash.
#[test]
fn model_earlier_rules_lose_a_commit_via_stale_heartbeat() {
    let r = run("earlier/stale-heartbeat", cfg(SMALL, RULES, UNFIXED), CAP);
    assert_caught(&r, &["P2", "P3"]);
}

/// Two fresh starts while the cluster forms; the member that was counted in
/// the winning one reboots, a stale Prepare of the losing (lower) epoch
/// makes it promise that epoch, and the fresh-start exception lets it follow
/// that epoch with no fence: the lower epoch commits while a higher epoch
/// leads with a log that lacks it. One crash, after the cluster formed.
#[test]
fn model_earlier_rules_lose_a_commit_via_stale_prepare_at_boot() {
    let b = Bounds {
        boot_start: true,
        ..SMALL
    };
    let r = run("earlier/boot-stale-prepare", cfg(b, RULES, UNFIXED), CAP);
    assert_caught(&r, &["P2", "P3"]);
}

/// A fresh start counts NoState answers collected over time: a member that
/// answered NoState has since recovered through a higher epoch (which then
/// committed with it), another member reboots and answers NoState too, and
/// the candidate starts fresh from its own empty log, followed by the
/// rebooted member through the fresh-start exception. Never more than one
/// member without memory at a time; two crashes.
#[test]
fn model_earlier_rules_lose_a_commit_via_nostates_collected_over_time() {
    let b = Bounds {
        max_clients: 0,
        max_crashes: 2,
        ..SMALL
    };
    let r = run("earlier/nostates-over-time", cfg(b, RULES, UNFIXED), CAP);
    assert_caught(&r, &["P2", "P3"]);
}

/// Each fix is needed: leaving any one out brings back one of the traces
/// above (the stale heartbeat; the stale Prepare at boot; the NoStates
/// collected over time).
#[test]
#[ignore = "half a minute, in CI: cargo test --release --test model -- --ignored model_each"]
fn model_each_fix_is_needed() {
    let without = |f: Fixes| cfg(SMALL, RULES, f);
    let boot = Bounds {
        boot_start: true,
        ..SMALL
    };
    let two_crashes = Bounds {
        max_clients: 0,
        max_crashes: 2,
        ..SMALL
    };
    let no_heartbeat = Fixes {
        stale_heartbeat: false,
        ..FIXED
    };
    let no_counted_boots = Fixes {
        fresh_exception: false,
        ..FIXED
    };
    let no_double_collect = Fixes {
        double_collect: false,
        ..FIXED
    };
    for (name, c) in [
        ("without/heartbeat-names-boot", without(no_heartbeat)),
        (
            "without/fresh-lists-counted-boots",
            cfg(boot, RULES, no_counted_boots),
        ),
        (
            "without/double-collect",
            cfg(two_crashes, RULES, no_double_collect),
        ),
    ] {
        assert_caught(&run(name, c, BIG_CAP), &["P2", "P3"]);
    }
}

// ----- the rules as implemented, with the fixes ---------------------------------

/// The default exhaustive check: with the fixes, P1, P2, P3 and P6 hold in
/// every reachable state. (The mutation tests below run within these bounds
/// or, for (a), check their own unmutated baseline.)
#[test]
fn model_election_and_takeover_are_safe() {
    assert_safe(&run("safe/formed", cfg(SMALL, RULES, FIXED), CAP));
}

#[test]
#[ignore = "half a minute, in CI: cargo test --release --test model -- --ignored model_bigger"]
fn model_bigger_pull_windows_are_safe() {
    let b = Bounds {
        prefixes: true,
        ..SMALL
    };
    assert_safe(&run(
        "safe/formed-pull-windows",
        cfg(b, RULES, FIXED),
        BIG_CAP,
    ));
}

// ----- mutations: the checker notices each broken rule --------------------------

/// (a) Committing an older epoch's entry by counting: the classic four-epoch
/// "figure 8", which needs pull windows (acks that stop before the no-op).
#[test]
fn model_catches_committing_old_epoch_entries() {
    let b = Bounds {
        max_takeovers: 4,
        max_clients: 0,
        max_crashes: 0,
        prefixes: true,
        ..SMALL
    };
    assert_safe(&run("baseline-a", cfg(b, RULES, FIXED), CAP));
    let mu = Mutations {
        commit_old_epoch: true,
        ..RULES
    };
    assert_caught(
        &run("mutation-a/old-epoch-commit", cfg(b, mu, FIXED), CAP),
        &["P2", "P3"],
    );
}

/// (b) A Recovering node answers Promise with its empty log: it is counted
/// as stateful (P6), and, with that check off, a committed entry is lost.
#[test]
fn model_catches_recovering_node_voting_as_stateful() {
    let b = Bounds {
        max_clients: 0,
        ..SMALL
    };
    let mu = Mutations {
        recovering_promises: true,
        ..RULES
    };
    assert_caught(
        &run("mutation-b/recovering-promise", cfg(b, mu, FIXED), CAP),
        &["P6"],
    );
    let unchecked = Cfg {
        p6: false,
        ..cfg(b, mu, FIXED)
    };
    assert_caught(
        &run("mutation-b/without-P6-check", unchecked, CAP),
        &["P2", "P3"],
    );
}

/// Explores the core's rules with one rule broken and expects a violation
/// of one of `properties`.
fn assert_broken_rule_caught(name: &str, b: Bounds, mu: Mutations, properties: &[&str]) {
    assert_caught(&run(name, cfg(b, mu, FIXED), CAP), properties);
}

const NO_CLIENTS: Bounds = Bounds {
    max_clients: 0,
    ..SMALL
};

/// (c) The new leader keeps its own log instead of the best promised one.
#[test]
fn model_catches_leader_keeping_its_own_log() {
    let no_crashes = Bounds {
        max_crashes: 0,
        ..NO_CLIENTS
    };
    let mu = Mutations {
        adopt_own_log: true,
        ..RULES
    };
    assert_broken_rule_caught("mutation-c/adopt-own-log", no_crashes, mu, &["P2", "P3"]);
}

/// (d) No recovery fence: one crash suffices (the rebooted node follows a
/// stale leader of a lower epoch and makes it a majority).
#[test]
fn model_catches_missing_recovery_fence() {
    let mu = Mutations {
        no_fence: true,
        ..RULES
    };
    assert_broken_rule_caught("mutation-d/no-fence", NO_CLIENTS, mu, &["P2", "P3"]);
}

/// (e) The leader counts acks of Recovering members towards commit.
#[test]
fn model_catches_counting_recovering_acks() {
    let mu = Mutations {
        count_recovering_acks: true,
        ..RULES
    };
    assert_broken_rule_caught("mutation-e/recovering-ack", NO_CLIENTS, mu, &["P6"]);
}

/// Explores the bounds in `BB_MODEL` = "numbers,takeovers,clients,crashes,
/// prefixes(0/1),boot(0/1)", the mutations in `BB_MODEL_MUTATE` (letters a-e)
/// and the fixes in `BB_MODEL_FIX` (h: stale heartbeat, f: fresh exception
/// counts boots, d: double collect; unset: all three, as in the core; empty:
/// the earlier rules), for tuning and hunting; `BB_MODEL_PROGRESS=1` prints
/// each BFS level.
#[test]
#[ignore = "a tool: BB_MODEL=2,2,1,1,0,0 cargo test --release --test model -- --ignored --nocapture tool_"]
fn tool_explore_env() {
    let spec = std::env::var("BB_MODEL").unwrap_or_else(|_| "2,2,1,1,0,0".to_owned());
    let v: Vec<u8> = spec
        .split(',')
        .map(|x| x.trim().parse().expect("a number"))
        .collect();
    let b = Bounds {
        max_number: v[0],
        max_takeovers: v[1],
        max_clients: v[2],
        max_crashes: v[3],
        prefixes: v[4] != 0,
        boot_start: v[5] != 0,
    };
    let m = std::env::var("BB_MODEL_MUTATE").unwrap_or_default();
    let mu = Mutations {
        commit_old_epoch: m.contains('a'),
        recovering_promises: m.contains('b'),
        adopt_own_log: m.contains('c'),
        no_fence: m.contains('d'),
        count_recovering_acks: m.contains('e'),
    };
    let fix = match std::env::var("BB_MODEL_FIX") {
        Err(_) => FIXED,
        Ok(f) => Fixes {
            stale_heartbeat: f.contains('h'),
            fresh_exception: f.contains('f'),
            double_collect: f.contains('d'),
        },
    };
    let r = run("env", cfg(b, mu, fix), BIG_CAP);
    assert!(r.states > 0);
}
