//! Taking over: the election winner picks a new epoch, asks every member to
//! promise it, and starts leading once enough members with state have. A
//! trial round comes first (Raft's pre-vote): members say whether they
//! *would* promise, changing nothing, and the real round follows only if
//! enough would. A candidate cut off in a minority thus never raises anyone's
//! promise, and cannot unseat the leader the majority chose once it heals. Each
//! promise carries the promiser's log position; the new leader adopts the
//! most up-to-date log among them (pulling what it lacks), so every entry a
//! majority ever stored survives the change of leader.
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
use super::{Duty, Memory, Node, Time};
use crate::wire::{Epoch, Incarnation, LogPos, Message, NodeId};

#[derive(Clone, Debug)]
pub(super) struct Takeover {
    pub(super) epoch: Epoch,
    /// Still asking who would promise (nothing is promised yet).
    trial: bool,
    /// Give up (and wait for someone else) after this.
    deadline: Time,
    /// Members with state that promised, with their log positions.
    promises: BTreeMap<NodeId, LogPos>,
    /// Members without state that promised, with their boot.
    no_state: BTreeMap<NodeId, u32>,
    /// The real round: the boots that answered `NoState` to the trial.
    trial_no_state: BTreeMap<NodeId, u32>,
    /// When a memoryless majority stops waiting for members with state.
    fresh_after: Option<Time>,
    /// Adopting a better log: from whom, up to where, and whether fresh.
    pub(super) fetching: Option<(NodeId, LogPos, bool)>,
}

impl Takeover {
    /// The epoch, once the real round asks members to promise it.
    pub(super) fn asking(&self) -> Option<Epoch> {
        (!self.trial).then_some(self.epoch)
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

    pub(super) fn start_takeover(&mut self, now: Time) {
        let number = self
            .highest_number
            .max(self.promised.number)
            .saturating_add(1);
        let epoch = Epoch {
            number,
            leader: self.cfg.id,
            boot: self.boot,
        };
        // No promise to itself yet: until enough members agree, a leader this
        // node hears again (it was only cut off) wins it back at once,
        // instead of being refused for an epoch that never started.
        self.highest_number = number;
        self.pull = None;
        let mut takeover = Takeover {
            epoch,
            trial: true,
            deadline: now + self.cfg.timeout * 2,
            promises: BTreeMap::new(),
            no_state: BTreeMap::new(),
            trial_no_state: BTreeMap::new(),
            fresh_after: None,
            fetching: None,
        };
        match self.memory {
            Memory::Active => {
                takeover
                    .promises
                    .insert(self.cfg.id, self.ledger.log.last());
            }
            Memory::Recovering(_) => {
                takeover.no_state.insert(self.cfg.id, self.boot);
            }
        }
        self.story(
            super::events::Kind::Takeover,
            format!("no higher rank answered; taking over as leader of epoch {epoch}"),
        );
        self.duty = Duty::Preparing(takeover);
        self.broadcast(Message::Prepare { epoch, trial: true });
        self.decide(now);
    }

    /// When the takeover gives up, or stops waiting for members with state
    /// before a fresh start (whichever comes first).
    pub(super) fn takeover_due(&self) -> Option<Time> {
        let Duty::Preparing(t) = &self.duty else {
            return None;
        };
        // Only while `decide` waits on it: a memoryless majority answered,
        // not enough members with state (else it fires again at once).
        let (majority, enough) = (self.cfg.majority(), self.cfg.enough());
        let waiting = !t.trial
            && t.fetching.is_none()
            && t.promises.len() < enough
            && t.no_state.len() >= majority;
        let fresh = t.fresh_after.filter(|_| waiting);
        Some(fresh.map_or(t.deadline, |f| f.min(t.deadline)))
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
            self.pull = None;
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
            let silent: Vec<NodeId> = self
                .peers
                .keys()
                .filter(|id| !t.promises.contains_key(id) && !t.no_state.contains_key(id))
                .copied()
                .collect();
            for id in silent {
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
        self.highest_number = self.highest_number.max(epoch.number);
        // A takeover under way refuses lower epochs (so that two candidates
        // do not both give way), but reports only what it really promised: a
        // working leader asking again must not be unseated by an epoch that
        // has not started.
        let own = match &self.duty {
            Duty::Preparing(t) => t.epoch,
            _ => Epoch::default(),
        };
        if epoch < self.promised.max(own) {
            self.reject(from, epoch, false);
            return;
        }
        if epoch > self.promised {
            if self.sticky(now, from) {
                self.reject(from, epoch, true);
                return;
            }
            if !trial {
                self.promise(epoch);
                self.leader_contact = Some(now);
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
                commit: self.ledger.commit(),
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
        trial: bool,
    ) {
        if let Duty::Preparing(t) = &mut self.duty {
            if t.epoch == epoch && t.trial == trial && t.fetching.is_none() {
                t.promises.insert(from, last);
                t.no_state.remove(&from);
                self.decide(now);
            }
        }
    }

    pub(super) fn on_no_state(&mut self, now: Time, from: Incarnation, epoch: Epoch, trial: bool) {
        if let Duty::Preparing(t) = &mut self.duty {
            if t.epoch == epoch && t.trial == trial && t.fetching.is_none() {
                // Whatever it promised before, it has forgotten.
                t.promises.remove(&from.id);
                if trial || t.trial_no_state.get(&from.id) == Some(&from.boot) {
                    t.no_state.insert(from.id, from.boot);
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
        self.highest_number = self.highest_number.max(promised.number);
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
                self.pull = None;
                self.wait_for_leader(now);
            }
            Duty::Leader(l) if l.epoch == epoch => {
                if promised > epoch {
                    self.story(
                        super::events::Kind::Role,
                        format!("node {from} follows a later epoch {promised}; stepping down"),
                    );
                    self.wait_for_leader(now);
                } else if !leader_alive {
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

    /// Starts the epoch once a majority answered, adopting the best log first.
    fn decide(&mut self, now: Time) {
        let majority = self.cfg.majority();
        let members = self.cfg.members.len();
        let enough = self.cfg.enough();
        let enough = if broken(Break::PromiseQuorum) {
            enough - 1
        } else {
            enough
        };
        let me = self.cfg.id;
        let recovering = self.is_recovering();
        let own = self.ledger.log.last();
        let Duty::Preparing(t) = &mut self.duty else {
            return;
        };
        if t.fetching.is_some() {
            return;
        }
        if t.trial {
            // Enough would promise: now ask for real.
            if t.promises.len() >= enough || t.no_state.len() >= majority {
                t.trial = false;
                t.promises.retain(|id, _| *id == me);
                t.trial_no_state = std::mem::take(&mut t.no_state);
                t.no_state
                    .extend(t.trial_no_state.get_key_value(&me).map(|(k, v)| (*k, *v)));
                let epoch = t.epoch;
                self.broadcast(Message::Prepare {
                    epoch,
                    trial: false,
                });
                self.decide(now);
            }
            return;
        }
        let fresh = if t.promises.len() >= enough {
            false
        } else if t.no_state.len() >= majority {
            // Wait a little for members with state: the more of them answer,
            // the less a memoryless majority loses.
            let after = *t.fresh_after.get_or_insert(now + self.cfg.timeout);
            let everyone = t.promises.len() + t.no_state.len() == members;
            if !everyone && now < after {
                return;
            }
            true
        } else {
            return;
        };
        let best = t
            .promises
            .iter()
            .max_by_key(|(id, pos)| (**pos, **id == me))
            .map(|(id, pos)| (*id, *pos));
        match best {
            _ if broken(Break::AdoptBest) => self.start_epoch(now, fresh),
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
            self.pull = None;
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
        self.promise(epoch);
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
