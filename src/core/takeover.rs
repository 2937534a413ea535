//! Taking over: the election winner picks a new epoch, asks every member to
//! promise it, and starts leading once enough members with state have. A
//! trial round comes first (Raft's pre-vote): members say whether they
//! *would* promise, changing nothing, and the real round follows only if
//! enough would. A candidate cut off in a minority thus never raises anyone's
//! promise, and cannot unseat the leader the majority chose once it heals. Each
//! promise carries the promiser's log position and the last entry it knows
//! committed; the new leader adopts the most up-to-date log among them
//! (pulling what it lacks), so every entry a majority ever stored survives
//! the change of leader. A log that cannot hold some promiser's commit does
//! not compete: epochs are numbered in the order they began, except that a
//! fresh start (below) may begin below an epoch that a member it could not
//! reach still holds.
//!
//! "Enough" is `members - majority + 1`: the promisers must share a member
//! with every majority that may have committed something (the phase-1 quorum
//! of Flexible Paxos). For an odd-sized cluster that is a majority; for an
//! even-sized one it is half, so four members of which two rebooted can still
//! elect a leader (commits still need a majority).
//!
//! Nodes without memory answer `NoState` and count for nothing, except in one
//! case: when a majority of members has no state at all (a fresh cluster, or a
//! majority that rebooted), waiting could never end, so the leader starts from
//! the best state it can find and says so in the log. That majority must have
//! been memoryless *at once*, not one after the other (one recovering while
//! the next reboots, which loses nothing): a `NoState` counts only from a
//! boot that also gave one in the trial round. Memory is lost only with a
//! boot and regained at most once, so every member counted was memoryless
//! when the real round began. (Found by `tests/model.rs`.)

use std::collections::BTreeMap;

use log::{debug, info, warn};

use super::breaks::{broken, Break};
use super::{Config, Duty, Memory, Node, Time};
use crate::wire::{Epoch, Incarnation, LogPos, Message, NodeId};

#[derive(Clone, Debug)]
pub(super) struct Takeover {
    pub(super) epoch: Epoch,
    /// Still asking who would promise (nothing is promised yet).
    trial: bool,
    /// Give up (and wait for someone else) after this.
    deadline: Time,
    /// Members with state that promised: where their logs end, and the
    /// last entry each knows committed.
    promises: BTreeMap<NodeId, (LogPos, LogPos)>,
    /// Members without state that promised, with their boot.
    no_state: BTreeMap<NodeId, u32>,
    /// The real round: the boots that answered `NoState` to the trial.
    trial_no_state: BTreeMap<NodeId, u32>,
    /// When a memoryless majority stops waiting for members with state.
    fresh_after: Option<Time>,
    /// Adopting a better log: from whom, up to where, and whether fresh.
    pub(super) fetching: Option<(NodeId, LogPos, bool)>,
}

/// What the answers so far allow a takeover to do.
#[derive(Debug, PartialEq)]
enum Verdict {
    /// Not enough answers yet.
    Wait,
    /// Enough would promise: ask for real.
    AskForReal,
    /// Start the epoch from the best log among the promisers with state
    /// (none if no member with state promised); `fresh` if it is a
    /// memoryless majority's start.
    Lead {
        fresh: bool,
        best: Option<(NodeId, LogPos)>,
    },
}

impl Takeover {
    /// A trial round for `epoch`, in which this node counts itself: with
    /// its log's end and commit if it has state, as memoryless (in boot
    /// `boot`) if not.
    fn new(epoch: Epoch, deadline: Time, own: Option<(LogPos, LogPos)>, boot: u32) -> Takeover {
        let mut t = Takeover {
            epoch,
            trial: true,
            deadline,
            promises: BTreeMap::new(),
            no_state: BTreeMap::new(),
            trial_no_state: BTreeMap::new(),
            fresh_after: None,
            fetching: None,
        };
        if let Some(own) = own {
            t.promises.insert(epoch.leader, own);
        } else {
            t.no_state.insert(epoch.leader, boot);
        }
        t
    }

    /// The epoch, once the real round asks members to promise it.
    pub(super) fn asking(&self) -> Option<Epoch> {
        (!self.trial).then_some(self.epoch)
    }

    /// True if an answer for `epoch` in this round (`trial` or real) still
    /// counts: it is this round's, and no log is being adopted yet.
    fn counts(&self, epoch: Epoch, trial: bool) -> bool {
        self.epoch == epoch && self.trial == trial && self.fetching.is_none()
    }

    fn promised(&mut self, from: NodeId, last: LogPos, commit: LogPos) {
        self.promises.insert(from, (last, commit));
        self.no_state.remove(&from);
    }

    /// A member without state answered. True if it counts: always in the
    /// trial; in the real round only from a boot that was memoryless at the
    /// trial too.
    fn memoryless(&mut self, from: Incarnation) -> bool {
        // Whatever it promised before, it has forgotten.
        self.promises.remove(&from.id);
        if self.trial || self.trial_no_state.get(&from.id) == Some(&from.boot) {
            self.no_state.insert(from.id, from.boot);
            return true;
        }
        false
    }

    /// Of `members`, those that have not answered this round.
    fn silent(&self, members: impl Iterator<Item = NodeId>) -> Vec<NodeId> {
        members
            .filter(|id| !self.promises.contains_key(id) && !self.no_state.contains_key(id))
            .collect()
    }

    /// When this takeover gives up, or stops waiting for members with
    /// state before a fresh start (whichever comes first).
    fn due(&self, majority: usize, enough: usize) -> Time {
        // Only while `count` waits on it: a memoryless majority answered,
        // not enough members with state (else it fires again at once).
        let waiting = !self.trial
            && self.fetching.is_none()
            && self.promises.len() < enough
            && self.no_state.len() >= majority;
        let fresh = self.fresh_after.filter(|_| waiting);
        fresh.map_or(self.deadline, |f| f.min(self.deadline))
    }

    /// The takeover's rule: `enough` promises from members with state start
    /// the epoch; a memoryless majority starts it fresh, once it waited a
    /// timeout for members with state (or all members answered). A won
    /// trial becomes the real round, which counts afresh.
    fn count(&mut self, now: Time, cfg: &Config, enough: usize) -> Verdict {
        let enough = if broken(Break::PromiseQuorum) {
            enough - 1
        } else {
            enough
        };
        let majority = cfg.majority();
        if self.fetching.is_some() {
            return Verdict::Wait;
        }
        if self.trial {
            if self.promises.len() < enough && self.no_state.len() < majority {
                return Verdict::Wait;
            }
            self.trial = false;
            self.promises.retain(|id, _| *id == cfg.id);
            self.trial_no_state = std::mem::take(&mut self.no_state);
            let own = self.trial_no_state.get_key_value(&cfg.id);
            self.no_state.extend(own.map(|(k, v)| (*k, *v)));
            return Verdict::AskForReal;
        }
        let fresh = if self.promises.len() >= enough {
            false
        } else if self.no_state.len() >= majority {
            // Wait a little for members with state: the more of them answer,
            // the less a memoryless majority loses.
            let after = *self.fresh_after.get_or_insert(now + cfg.timeout);
            let everyone = self.promises.len() + self.no_state.len() == cfg.members.len();
            if !everyone && now < after {
                return Verdict::Wait;
            }
            true
        } else {
            return Verdict::Wait;
        };
        // The most up-to-date log holds every entry any promiser knows
        // committed -- if epochs were numbered in the order they began. A
        // memoryless majority's fresh start may begin below an epoch that a
        // member it could not reach still holds, and commit; that older
        // epoch's log then ranks higher yet lacks what a majority has
        // acknowledged since. So a log that cannot hold some promiser's
        // commit does not compete (unless none can: past the honest limit,
        // committed histories may differ).
        let commits: Vec<LogPos> = self.promises.values().map(|(_, c)| *c).collect();
        let holds_all =
            |last: &LogPos| broken(Break::CommitKnown) || commits.iter().all(|c| last.may_hold(*c));
        let rank = |(id, (last, _)): &(&NodeId, &(LogPos, LogPos))| (*last, **id == cfg.id);
        let best = (self
            .promises
            .iter()
            .filter(|(_, (last, _))| holds_all(last))
            .max_by_key(rank))
        .or_else(|| self.promises.iter().max_by_key(rank))
        .map(|(id, (last, _))| (*id, *last))
        .filter(|_| !broken(Break::AdoptBest));
        Verdict::Lead { fresh, best }
    }
}

impl Node {
    /// Members whose `NoState` the takeover under way counts.
    #[cfg(test)]
    pub(super) fn counted_no_state(&self) -> Vec<NodeId> {
        match &self.duty {
            Duty::Preparing(t) => t.no_state.keys().copied().collect(),
            _ => Vec::new(),
        }
    }

    /// The last entry this node knows committed, as a promise reports it.
    fn commit_pos(&self) -> LogPos {
        // The log is compacted only below what the board applied, so it
        // holds the commit point; nothing known committed otherwise.
        let commit = self.ledger.commit();
        self.ledger.log.pos_at(commit).unwrap_or_default()
    }

    pub(super) fn start_takeover(&mut self, now: Time) {
        // No promise to itself yet, only the number taken: until enough
        // members agree, a leader this node hears again (it was only cut
        // off) wins it back at once, instead of being refused for an epoch
        // that never started.
        let epoch = Epoch {
            number: self.promise.next_number(),
            leader: self.cfg.id,
            boot: self.boot,
        };
        self.transfer.stop_pull();
        let own = match self.memory {
            Memory::Active => Some((self.ledger.log.last(), self.commit_pos())),
            Memory::Recovering(_) => None,
        };
        let takeover = Takeover::new(epoch, now + self.cfg.timeout * 2, own, self.boot);
        self.story(
            super::events::Kind::Takeover,
            format!("no higher rank answered; taking over as leader of epoch {epoch}"),
        );
        self.duty = Duty::Preparing(takeover);
        self.broadcast(Message::Prepare { epoch, trial: true });
        self.decide(now);
    }

    /// When the takeover under way gives up, or stops waiting for members
    /// with state before a fresh start.
    pub(super) fn takeover_due(&self) -> Option<Time> {
        let Duty::Preparing(t) = &self.duty else {
            return None;
        };
        Some(t.due(self.cfg.majority(), self.cfg.enough()))
    }

    /// The takeover's timer: gives up at the deadline, or decides once the
    /// wait for members with state is over.
    pub(super) fn takeover_timer(&mut self, now: Time) {
        let Duty::Preparing(t) = &mut self.duty else {
            return;
        };
        if now >= t.deadline {
            let text = format!(
                "takeover of epoch {} got no majority in time; standing back",
                t.epoch
            );
            self.story(super::events::Kind::Takeover, text);
            self.transfer.stop_pull();
            self.wait_for_leader(now);
            return;
        }
        // The wait is over: decide (a fresh start, unless state answered).
        if t.fresh_after.is_some_and(|f| now >= f) {
            self.decide(now);
        }
    }

    /// The heartbeat period in a takeover: re-asks the members that have not
    /// answered.
    pub(super) fn takeover_tick(&mut self, now: Time) {
        let Duty::Preparing(t) = &self.duty else {
            return;
        };
        if t.fetching.is_none() {
            let (epoch, trial) = (t.epoch, t.trial);
            for id in t.silent(self.members.ids()) {
                self.send(id, Message::Prepare { epoch, trial });
            }
            self.decide(now);
        }
    }

    /// Answers a Prepare: refuses an epoch below its promise (or below its own
    /// takeover), refuses while it still follows a working leader (`sticky`),
    /// and otherwise promises -- or, in a trial round, says it would.
    pub(super) fn on_prepare(&mut self, now: Time, from: NodeId, epoch: Epoch, trial: bool) {
        if epoch.leader != from {
            self.counters.drop_one(super::Refused::Spoofed);
            return;
        }
        self.promise.saw(epoch.number);
        // A takeover under way refuses lower epochs (so that two candidates
        // do not both give way), but reports only what it really promised: a
        // working leader asking again must not be unseated by an epoch that
        // has not started.
        let own = match &self.duty {
            Duty::Preparing(t) => t.epoch,
            _ => Epoch::default(),
        };
        if epoch < self.promise.epoch().max(own) {
            self.reject(from, epoch, false);
            return;
        }
        if epoch > self.promise.epoch() {
            if self.sticky(now, from) {
                self.reject(from, epoch, true);
                return;
            }
            if !trial {
                self.make_promise(epoch);
                self.contact.heard_leader(now);
                let deadline = now + self.cfg.timeout * 2 + self.jitter();
                self.duty = Duty::Follower(super::Following {
                    leader: None,
                    deadline,
                });
            }
        }
        let answer = match self.memory {
            Memory::Active => Message::Promise {
                epoch,
                last: self.ledger.log.last(),
                commit: self.commit_pos(),
                trial,
            },
            Memory::Recovering(_) => Message::NoState { epoch, trial },
        };
        self.send(from, answer);
    }

    /// True while this node still follows (or is) a working leader other than
    /// `from`: it then refuses to promise, so one node's lost heartbeats do
    /// not unseat a leader the others still hear.
    fn sticky(&self, now: Time, from: NodeId) -> bool {
        match &self.duty {
            Duty::Follower(f) => f.leader.is_some_and(|l| l != from) && self.hears_leader(now),
            Duty::Leader(_) => self.has_quorum(now),
            _ => false,
        }
    }

    pub(super) fn on_promise(
        &mut self,
        now: Time,
        from: NodeId,
        epoch: Epoch,
        last: LogPos,
        commit: LogPos,
        trial: bool,
    ) {
        if let Duty::Preparing(t) = &mut self.duty {
            if t.counts(epoch, trial) {
                t.promised(from, last, commit);
                self.decide(now);
            }
        }
    }

    pub(super) fn on_no_state(&mut self, now: Time, from: Incarnation, epoch: Epoch, trial: bool) {
        if let Duty::Preparing(t) = &mut self.duty {
            if t.counts(epoch, trial) {
                if t.memoryless(from) {
                    self.decide(now);
                } else {
                    debug!(
                        "node {}: NoState from node {} for epoch {epoch} not counted: it was \
                         not memoryless in that boot at the trial",
                        self.cfg.id, from.id
                    );
                }
            }
        }
    }

    pub(super) fn on_reject(
        &mut self,
        now: Time,
        from: NodeId,
        epoch: Epoch,
        promised: Epoch,
        leader_alive: bool,
    ) {
        self.promise.saw(promised.number);
        match &self.duty {
            Duty::Preparing(t) if t.epoch == epoch && (promised > epoch || leader_alive) => {
                let why = if leader_alive {
                    "it still hears a leader"
                } else {
                    "it promised a later epoch"
                };
                self.story(
                    super::events::Kind::Takeover,
                    format!("node {from} refused epoch {epoch} ({why}); standing back"),
                );
                self.transfer.stop_pull();
                self.wait_for_leader(now);
            }
            Duty::Leader(l) if l.epoch == epoch => {
                if promised > epoch {
                    self.story(
                        super::events::Kind::Role,
                        format!("node {from} follows a later epoch {promised}; stepping down"),
                    );
                    self.wait_for_leader(now);
                } else if !leader_alive && self.may_ask_again(now, from) {
                    // It missed the Prepare (it was cut off or rebooted): ask again.
                    self.send(
                        from,
                        Message::Prepare {
                            epoch,
                            trial: false,
                        },
                    );
                }
            }
            _ => {}
        }
    }

    fn may_ask_again(&mut self, now: Time, member: NodeId) -> bool {
        let every = self.cfg.heartbeat;
        match &mut self.duty {
            Duty::Leader(l) => l.may_ask_again(member, now, every),
            _ => false,
        }
    }

    /// Acts on the answers so far: asks for real, adopts the best log, or
    /// starts the epoch.
    fn decide(&mut self, now: Time) {
        let enough = self.cfg.enough();
        let me = self.cfg.id;
        let recovering = self.is_recovering();
        let own = self.ledger.log.last();
        let Duty::Preparing(t) = &mut self.duty else {
            return;
        };
        let (fresh, best) = match t.count(now, &self.cfg, enough) {
            Verdict::Wait => return,
            Verdict::AskForReal => {
                let epoch = t.epoch;
                self.broadcast(Message::Prepare {
                    epoch,
                    trial: false,
                });
                return self.decide(now);
            }
            Verdict::Lead { fresh, best } => (fresh, best),
        };
        match best {
            Some((id, pos)) if id != me && (pos > own || recovering) => {
                info!(
                    "node {me}: adopting the log of node {id} (up to seq {}) before leading",
                    pos.seq
                );
                t.fetching = Some((id, pos, fresh));
                t.deadline = now + self.cfg.timeout * 2;
                let epoch = t.epoch;
                if recovering {
                    self.forget_everything();
                }
                self.start_pull(now, id, epoch);
            }
            _ => self.start_epoch(now, fresh),
        }
    }

    /// Called as a takeover's pull makes progress or completes.
    pub(super) fn fetch_progress(&mut self, now: Time) {
        let last = self.ledger.log.last();
        let Duty::Preparing(t) = &mut self.duty else {
            return;
        };
        let Some((_, target, fresh)) = t.fetching else {
            return;
        };
        t.deadline = now + self.cfg.timeout * 2;
        if last.seq >= target.seq && self.ledger.log.holds(target) {
            self.transfer.stop_pull();
            self.start_epoch(now, fresh);
        }
    }

    fn start_epoch(&mut self, now: Time, fresh: bool) {
        let Duty::Preparing(t) = &self.duty else {
            return;
        };
        let epoch = t.epoch;
        let with_state = t.promises.len();
        let promised_by: Vec<String> = (t.promises.keys().chain(t.no_state.keys()))
            .filter(|&&id| id != self.cfg.id)
            .map(|id| id.to_string())
            .collect();
        // Who may follow this epoch before they are fenced.
        let counted: Vec<Incarnation> = t
            .no_state
            .iter()
            .filter(|(id, _)| fresh && **id != self.cfg.id)
            .map(|(&id, &boot)| Incarnation { id, boot })
            .collect();
        if self.is_recovering() && self.ledger.log.last().seq > 0 {
            let text = format!(
                "recovered the board (seq {}) while taking over",
                self.ledger.log.last().seq
            );
            self.story(super::events::Kind::Recovery, text);
        }
        self.memory = Memory::Active;
        self.make_promise(epoch);
        if fresh {
            if self.ledger.log.last().seq == 0 && with_state == 0 {
                info!(
                    "node {}: no member has any state: starting a new, empty board",
                    self.cfg.id
                );
            } else {
                warn!(
                    "node {}: a majority of members lost their memory; starting from the best \
                     state left (seq {}, from {with_state} member(s) with state). Writes committed \
                     after that point may be lost.",
                    self.cfg.id,
                    self.ledger.log.last().seq
                );
            }
        }
        self.story(
            super::events::Kind::Epoch,
            format!(
                "epoch {epoch} begins, promised by {}",
                promised_by.join(", ")
            ),
        );
        self.become_leader(now, epoch, counted);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const START: Time = Time(1_000_000);

    fn epoch(number: u64, leader: NodeId) -> Epoch {
        Epoch {
            number,
            leader,
            boot: 0,
        }
    }

    fn at(number: u64, seq: u64) -> LogPos {
        LogPos {
            tag: epoch(number, 1),
            seq,
        }
    }

    fn member(id: NodeId, boot: u32) -> Incarnation {
        Incarnation { id, boot }
    }

    const NONE: LogPos = LogPos {
        tag: Epoch {
            number: 0,
            leader: 0,
            boot: 0,
        },
        seq: 0,
    };

    /// Node 1 of `n` takes over epoch 5; `own` is its log's end and commit
    /// if it has state.
    fn takeover(n: NodeId, own: Option<(LogPos, LogPos)>) -> (Takeover, Config) {
        let cfg = Config::new(1, (1..=n).collect());
        let t = Takeover::new(epoch(5, 1), START + cfg.timeout * 2, own, 7);
        (t, cfg)
    }

    fn count(t: &mut Takeover, cfg: &Config, now: Time) -> Verdict {
        t.count(now, cfg, cfg.enough())
    }

    #[test]
    fn a_won_trial_asks_again_and_counts_afresh() {
        let (mut t, cfg) = takeover(3, Some((at(2, 3), NONE)));
        assert_eq!(count(&mut t, &cfg, START), Verdict::Wait, "one of three");
        t.promised(2, at(2, 4), NONE);
        assert_eq!(count(&mut t, &cfg, START), Verdict::AskForReal);
        assert_eq!(t.asking(), Some(epoch(5, 1)));
        assert!(!t.counts(epoch(5, 1), true), "trial answers are over");
        assert_eq!(
            count(&mut t, &cfg, START),
            Verdict::Wait,
            "node 2's trial answer is no promise"
        );
        t.promised(3, at(2, 1), NONE);
        assert_eq!(
            count(&mut t, &cfg, START),
            Verdict::Lead {
                fresh: false,
                best: Some((1, at(2, 3)))
            }
        );
    }

    #[test]
    fn the_best_log_wins_and_ties_go_to_the_taker() {
        let (mut t, cfg) = takeover(5, Some((at(2, 3), NONE)));
        t.promised(2, at(2, 9), NONE);
        t.promised(3, at(3, 1), NONE);
        assert_eq!(count(&mut t, &cfg, START), Verdict::AskForReal);
        t.promised(2, at(2, 9), NONE);
        assert_eq!(count(&mut t, &cfg, START), Verdict::Wait, "two of five");
        t.promised(3, at(3, 1), NONE);
        let Verdict::Lead { best, .. } = count(&mut t, &cfg, START) else {
            panic!("three of five promised");
        };
        assert_eq!(
            best,
            Some((3, at(3, 1))),
            "a later epoch beats a longer log"
        );

        let tie = best_of_two(at(2, 3), NONE, at(2, 3));
        assert_eq!(
            tie,
            Some((1, at(2, 3))),
            "nothing to adopt from an equal log"
        );
    }

    /// The log a takeover of three picks when it and node 2 promise with
    /// state: its own (`own`, committed to `commit`) or node 2's (`other`).
    fn best_of_two(own: LogPos, commit: LogPos, other: LogPos) -> Option<(NodeId, LogPos)> {
        let (mut t, cfg) = takeover(3, Some((own, commit)));
        t.promised(2, other, NONE);
        count(&mut t, &cfg, START);
        t.promised(2, other, NONE);
        match count(&mut t, &cfg, START) {
            Verdict::Lead { best, .. } => best,
            other => panic!("two of three promised, yet {other:?}"),
        }
    }

    #[test]
    fn a_log_that_cannot_hold_a_known_commit_does_not_win() {
        // Node 1 holds the epoch a fresh start began (number 1) with its
        // commits; node 2 one numbered higher that began earlier, kept by a
        // member the fresh start could not reach.
        let shorter = best_of_two(at(1, 5), at(1, 4), at(2, 1));
        assert_eq!(shorter, Some((1, at(1, 5))), "shorter than the commit");
        let conflicting = best_of_two(at(1, 1), at(1, 1), at(2, 1));
        assert_eq!(
            conflicting,
            Some((1, at(1, 1))),
            "another entry at the commit"
        );
        // Past the commit with a later tag, a log may hold it: within the
        // honest limit the best log always does.
        let longer = best_of_two(at(1, 5), at(1, 4), at(2, 9));
        assert_eq!(longer, Some((2, at(2, 9))));
    }

    #[test]
    fn a_memoryless_majority_waits_a_timeout_then_starts_fresh() {
        let (mut t, cfg) = takeover(5, None);
        assert!(t.memoryless(member(2, 20)));
        assert!(t.memoryless(member(3, 30)));
        assert_eq!(count(&mut t, &cfg, START), Verdict::AskForReal);
        assert!(t.memoryless(member(2, 20)));
        assert!(
            !t.memoryless(member(3, 31)),
            "a boot that was not memoryless at the trial does not count"
        );
        assert_eq!(count(&mut t, &cfg, START), Verdict::Wait, "two of five");
        assert!(t.memoryless(member(3, 30)));
        assert_eq!(count(&mut t, &cfg, START), Verdict::Wait, "waits for state");
        assert_eq!(t.due(cfg.majority(), cfg.enough()), START + cfg.timeout);
        let later = START + cfg.timeout;
        assert_eq!(
            count(&mut t, &cfg, later),
            Verdict::Lead {
                fresh: true,
                best: None
            }
        );
    }

    #[test]
    fn a_promise_with_state_ends_the_wait_for_a_fresh_start() {
        let (mut t, cfg) = takeover(3, None);
        assert!(t.memoryless(member(2, 20)));
        assert_eq!(count(&mut t, &cfg, START), Verdict::AskForReal);
        assert!(t.memoryless(member(2, 20)));
        assert_eq!(count(&mut t, &cfg, START), Verdict::Wait);
        t.promised(3, at(2, 8), NONE);
        assert_eq!(
            count(&mut t, &cfg, START),
            Verdict::Lead {
                fresh: true,
                best: Some((3, at(2, 8)))
            },
            "everyone answered: no need to wait out the timeout"
        );
        assert_eq!(t.silent([1, 2, 3].into_iter()), Vec::<NodeId>::new());
    }
}
