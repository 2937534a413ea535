//! Replication within an epoch. The leader numbers each command, sends it in
//! `Append`s batched up to the frame size, and commits an entry of its epoch
//! once a majority of active members acknowledged it. Followers accept only
//! entries that chain onto what they hold (the `prev` check); a follower that
//! finds a gap pulls what it lacks ([`super::transfer`]). Heartbeats carry the
//! leader's end of log and commit index, so lost appends are noticed within a
//! heartbeat and lost acks are repeated.
//!
//! [`ledger::Ledger`] holds the log with its verified, commit and applied
//! marks, and is the only code that moves them (the commit rule included).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use log::{error, warn};

use super::breaks::{broken, Break};
use super::{Duty, Following, Memory, Node, Time};
use crate::wire::{
    self, Command, Entry, Epoch, Incarnation, LogPos, Message, NodeId, NAMED_PER_HEARTBEAT,
    PAYLOAD_BUDGET,
};

/// Entries a leader keeps for lagging members before they get a snapshot.
const MAX_LEADER_TAIL: usize = 16_384;
/// Entries a follower keeps below its applied point (it may lead one day).
const FOLLOWER_TAIL: u64 = 1_024;

#[derive(Clone, Debug)]
pub(super) struct Leadership {
    pub(super) epoch: Epoch,
    /// The seq of this epoch's no-op: once it commits, the commit index
    /// covers every write acknowledged before the epoch began.
    pub(super) start: u64,
    /// Started fresh: the memoryless members that start counted.
    fresh: Vec<Incarnation>,
    since: Time,
    progress: BTreeMap<NodeId, Progress>,
    /// First seq not yet sent in an `Append`.
    unsent: u64,
    /// Client requests in the uncommitted part of the log: a retransmitted
    /// forward of one of them is not appended twice.
    pub(super) in_log: BTreeSet<(NodeId, u32, u64)>,
    /// Origins of newly committed requests, told of the commit at once.
    pub(super) notify: BTreeSet<NodeId>,
}

#[derive(Clone, Copy, Debug, Default)]
struct Progress {
    /// The boot these acks came from: a new boot starts from nothing.
    boot: Option<u32>,
    matched: u64,
    acked_at: Option<Time>,
    recovering: bool,
    /// The latest heartbeat round this boot acknowledged.
    round: u64,
    /// When this epoch's Prepare was last sent again to it.
    asked_again: Option<Time>,
}

/// When a follower acknowledges: at once when it has news for its leader
/// (entries stored, a snapshot installed, a read round to confirm), and on
/// a heartbeat when what it verified moved or half a heartbeat passed since
/// its last ack, so the leader keeps hearing it.
#[derive(Clone, Debug, Default)]
pub(super) struct Acks {
    due: bool,
    /// When the last ack went, and the `matched` it claimed.
    last: Option<(Time, u64)>,
}

impl Acks {
    pub(super) fn news(&mut self) {
        self.due = true;
    }

    /// A heartbeat came: is an ack due for it?
    fn heartbeat(&mut self, now: Time, verified: u64, every: Duration, new_round: bool) {
        let stale = self
            .last
            .is_none_or(|(t, m)| m != verified || now.since(t) >= every / 2);
        self.due |= stale || new_round;
    }

    /// True, once, if an ack is due.
    fn take_due(&mut self) -> bool {
        std::mem::take(&mut self.due)
    }

    fn sent(&mut self, now: Time, matched: u64) {
        self.last = Some((now, matched));
    }
}

impl Leadership {
    /// A member refused this epoch as if it never got the Prepare: may it
    /// be asked again now? At most once a heartbeat: a member that refuses
    /// for another reason (its own takeover under way) would otherwise be
    /// asked in a loop as fast as the network carries it.
    pub(super) fn may_ask_again(&mut self, member: NodeId, now: Time, every: Duration) -> bool {
        let p = self.progress.entry(member).or_default();
        if p.asked_again.is_some_and(|t| now.since(t) < every) {
            return false;
        }
        p.asked_again = Some(now);
        true
    }

    /// The highest seq that a majority of members with state holds in this
    /// epoch (this leader, holding up to `own`, among them): a recovering
    /// member's copy does not count, for it may have acknowledged entries
    /// before it lost them.
    pub(super) fn majority_holds(&self, own: u64, majority: usize) -> Option<u64> {
        let mut matched: Vec<u64> =
            self.progress
                .values()
                .filter(|p| !p.recovering && p.acked_at.is_some())
                .chain(self.progress.values().filter(|p| {
                    broken(Break::RecoveringAcks) && p.recovering && p.acked_at.is_some()
                }))
                .map(|p| p.matched)
                .collect();
        matched.push(own);
        if matched.len() < majority {
            return None;
        }
        matched.sort_unstable_by(|a, b| b.cmp(a));
        let n = matched[majority - 1];
        let n = if broken(Break::Majority) {
            matched[0]
        } else {
            n
        };
        Some(n)
    }

    /// The latest heartbeat round a majority of members with state (this
    /// leader, at `own`, among them) acknowledged.
    pub(super) fn confirmed_round(&self, own: u64, majority: usize) -> u64 {
        let mut rounds: Vec<u64> = self
            .progress
            .values()
            .filter(|p| p.acked_at.is_some() && !p.recovering)
            .map(|p| p.round)
            .collect();
        rounds.push(own);
        if rounds.len() < majority {
            return 0;
        }
        rounds.sort_unstable_by(|a, b| b.cmp(a));
        rounds[majority - 1]
    }
}

impl Node {
    pub(super) fn become_leader(&mut self, now: Time, epoch: Epoch, fresh: Vec<Incarnation>) {
        let in_log = self
            .ledger
            .log
            .after(self.ledger.commit())
            .filter_map(|e| match &e.command {
                Command::Client(r) => Some((r.origin, r.boot, r.number)),
                Command::Noop => None,
            })
            .collect();
        let progress = (self.members.ids())
            .map(|id| (id, Progress::default()))
            .collect();
        self.transfer.stop_pull();
        self.contact.heard_leader(now);
        let unsent = self.ledger.log.last().seq + 1;
        self.duty = Duty::Leader(Leadership {
            epoch,
            start: unsent,
            fresh,
            since: now,
            progress,
            unsent,
            in_log,
            notify: BTreeSet::new(),
        });
        self.ledger.log.push(Entry {
            tag: epoch,
            command: Command::Noop,
        });
        self.ledger.verify_own();
        let text = format!(
            "LEADER of epoch {epoch} (rank {}), log up to seq {}, commit {}",
            self.rank,
            self.ledger.log.last().seq,
            self.ledger.commit()
        );
        self.story(super::events::Kind::Epoch, text);
        self.heartbeat(now);
        self.advance_commit();
    }

    /// Appends a command as leader; it goes out with the next flush.
    pub(super) fn propose(&mut self, command: Command) {
        let Duty::Leader(l) = &mut self.duty else {
            return;
        };
        if let Command::Client(r) = &command {
            l.in_log.insert((r.origin, r.boot, r.number));
        }
        let tag = l.epoch;
        self.ledger.log.push(Entry { tag, command });
        self.ledger.verify_own();
        // A single-member cluster commits on its own.
        self.advance_commit();
    }

    pub(super) fn flush_appends(&mut self) {
        let Duty::Leader(l) = &self.duty else {
            return;
        };
        let (epoch, mut next) = (l.epoch, l.unsent);
        let last = self.ledger.log.last().seq;
        while next <= last {
            let Some(prev) = self.ledger.log.pos_at(next - 1) else {
                break;
            };
            let mut commands = Vec::new();
            let mut size = 0;
            let mut seq = next;
            while let Some(entry) = self.ledger.log.get(seq) {
                let len = wire::encoded_len(&entry.command);
                if !commands.is_empty() && size + len > PAYLOAD_BUDGET {
                    break;
                }
                size += len;
                commands.push(entry.command.clone());
                seq += 1;
            }
            let commit = self.ledger.commit();
            self.broadcast(Message::Append {
                epoch,
                prev,
                commit,
                commands,
            });
            next = seq;
        }
        if let Duty::Leader(l) = &mut self.duty {
            l.unsent = next;
        }
    }

    pub(super) fn on_ack(
        &mut self,
        now: Time,
        from: Incarnation,
        epoch: Epoch,
        matched: u64,
        recovering: bool,
        round: u64,
    ) {
        let last = self.ledger.log.last().seq;
        let Duty::Leader(l) = &mut self.duty else {
            return;
        };
        if l.epoch != epoch {
            return;
        }
        let Some(p) = l.progress.get_mut(&from.id) else {
            return;
        };
        if p.boot != Some(from.boot) {
            // What an earlier boot held is gone with it.
            *p = Progress {
                boot: Some(from.boot),
                ..Progress::default()
            };
        }
        p.acked_at = Some(now);
        let recovered = p.recovering && !recovering;
        // Recorded as reported; whether it counts is the commit rule's
        // business (a recovering member's copy never does). A recovering
        // member may still drop what it pulled, so its word replaces, and
        // only an active member's word accumulates.
        let matched = matched.min(last);
        p.matched = if recovering || p.recovering {
            matched
        } else {
            p.matched.max(matched)
        };
        p.recovering = recovering;
        p.round = p.round.max(round);
        if recovered {
            self.story(
                super::events::Kind::Recovery,
                format!("node {} has recovered and counts again", from.id),
            );
        }
        self.advance_commit();
    }

    /// Commits the highest entry of this epoch that a majority holds.
    pub(super) fn advance_commit(&mut self) {
        let majority = self.cfg.majority();
        let own = self.ledger.log.last().seq;
        let Duty::Leader(l) = &mut self.duty else {
            return;
        };
        let Some(n) = l.majority_holds(own, majority) else {
            return;
        };
        let Some(previous) = self.ledger.commit_counted(n, l) else {
            return;
        };
        let me = self.cfg.id;
        for entry in self
            .ledger
            .log
            .after(previous)
            .take((n - previous) as usize)
        {
            if let Command::Client(r) = &entry.command {
                if r.origin != me {
                    l.notify.insert(r.origin);
                }
            }
        }
        self.note_commit(previous);
        self.apply_committed();
    }

    /// A commit at the leader, with what it cost: the datagrams this node
    /// sent since the previous commit (appends, heartbeats, their retries).
    fn note_commit(&mut self, previous: u64) {
        let sent: u64 = self.counters.sent.iter().map(|t| t.datagrams).sum();
        let cost = sent - self.sent_at_commit.min(sent);
        self.sent_at_commit = sent;
        let seq = self.ledger.commit();
        self.quiet_story(
            super::events::Kind::Commit,
            format!(
                "committed seq {}..={seq}: {cost} datagrams sent since seq {previous}",
                previous + 1
            ),
        );
    }

    pub(super) fn has_quorum(&self, now: Time) -> bool {
        let Duty::Leader(l) = &self.duty else {
            return false;
        };
        let heard = l
            .progress
            .values()
            .filter(|p| {
                !p.recovering && p.acked_at.is_some_and(|t| now.since(t) < self.cfg.timeout)
            })
            .count();
        heard + 1 >= self.cfg.majority() || now.since(l.since) < self.cfg.timeout
    }

    pub(super) fn leader_tick(&mut self, now: Time) {
        if !self.has_quorum(now) {
            warn!(
                "node {}: heard from no majority for {} ms; stepping down as leader",
                self.cfg.id,
                self.cfg.timeout.as_millis()
            );
            self.contact.lost_leader();
            self.wait_for_leader(now);
            return;
        }
        self.heartbeat(now);
        self.compact_leader(now);
    }

    /// Sends a heartbeat: a new round, which also confirms the reads that
    /// wait for it.
    pub(super) fn heartbeat(&mut self, now: Time) {
        if !matches!(self.duty, Duty::Leader(_)) {
            return;
        }
        let round = self.reads.next_round();
        if let Some(message) = self.heartbeat_message(now, round) {
            self.broadcast(message);
        }
    }

    fn heartbeat_message(&self, now: Time, round: u64) -> Option<Message> {
        let Duty::Leader(l) = &self.duty else {
            return None;
        };
        let mut alive = self.member_bit(self.cfg.id);
        let mut recovering = Vec::new();
        // Start at a different member each time (round robin by the clock).
        let turn = (now.0 / self.cfg.heartbeat.as_micros().max(1) as u64) as usize;
        let skip = turn % l.progress.len().max(1);
        for (&id, p) in l.progress.iter().cycle().skip(skip).take(l.progress.len()) {
            if p.acked_at.is_some_and(|t| now.since(t) < self.cfg.timeout) {
                alive |= self.member_bit(id);
                if let (true, Some(boot)) = (p.recovering, p.boot) {
                    if recovering.len() < NAMED_PER_HEARTBEAT {
                        recovering.push(Incarnation { id, boot });
                    }
                }
            }
        }
        Some(Message::Heartbeat {
            epoch: l.epoch,
            last: self.ledger.log.last(),
            commit: self.ledger.commit(),
            alive,
            recovering,
            fresh: l.fresh.iter().take(NAMED_PER_HEARTBEAT).copied().collect(),
            round,
        })
    }

    /// Tells origins of newly committed requests at once, so that they answer
    /// their clients without waiting for the next heartbeat.
    pub(super) fn flush_commit_notices(&mut self, now: Time) {
        let Duty::Leader(l) = &mut self.duty else {
            return;
        };
        if l.notify.is_empty() {
            return;
        }
        let origins = std::mem::take(&mut l.notify);
        // The current round again: a commit notice confirms no new reads.
        let Some(message) = self.heartbeat_message(now, self.reads.round()) else {
            return;
        };
        for origin in origins {
            self.send(origin, message.clone());
        }
    }

    /// Forgets entries every live member holds; keeps a bounded tail for
    /// members that are down (they will get a snapshot).
    fn compact_leader(&mut self, now: Time) {
        let Duty::Leader(l) = &self.duty else {
            return;
        };
        let live_floor = l
            .progress
            .values()
            .filter(|p| {
                !p.recovering && p.acked_at.is_some_and(|t| now.since(t) < self.cfg.timeout)
            })
            .map(|p| p.matched)
            .min()
            .unwrap_or(self.ledger.applied());
        let mut point = live_floor.min(self.ledger.applied());
        if self.ledger.log.len() > MAX_LEADER_TAIL {
            point = self.ledger.applied();
        }
        if point > self.ledger.log.base().seq + 64 || self.ledger.log.len() > MAX_LEADER_TAIL {
            self.ledger.log.compact_to(point);
        }
    }

    pub(super) fn compact_follower(&mut self) {
        let base = self.ledger.log.base().seq;
        if self.ledger.applied() > base + 2 * FOLLOWER_TAIL {
            self.ledger
                .log
                .compact_to(self.ledger.applied() - FOLLOWER_TAIL);
        }
    }

    // ----- follower side ------------------------------------------------

    /// Checks a message from a would-be leader of `epoch`; true if this node
    /// follows it (and has noted the contact).
    fn accept_leader(&mut self, now: Time, from: NodeId, epoch: Epoch, counted: bool) -> bool {
        if epoch.leader != from {
            self.counters.drop_one(super::Refused::Spoofed);
            return false;
        }
        self.promise.saw(epoch.number);
        if self.promise.outranks(epoch) {
            self.reject(from, epoch, false);
            return false;
        }
        let following = epoch == self.promise.epoch()
            && matches!(&self.duty, Duty::Follower(f) if f.leader == Some(from));
        if !following && (epoch > self.promise.epoch() || self.is_recovering()) {
            if let Memory::Recovering(r) = &mut self.memory {
                if !r.may_follow(epoch, self.promise.epoch(), counted) {
                    r.below_fence(epoch);
                    // Not fenced yet: stay quiet, but do not disturb this leader.
                    self.contact.heard_leader(now);
                    self.wait_for_leader(now);
                    return false;
                }
                self.make_promise(epoch);
            } else {
                // This node missed the Prepare of `epoch`; the leader will ask
                // again. A leader does not step down on such a claim alone (it
                // may be forged): a real successor's followers refuse its
                // appends soon enough, and that unseats it.
                self.reject(from, epoch, false);
                return false;
            }
        }
        self.contact.heard_leader(now);
        let deadline = self.suspicion(now);
        let newly = !matches!(&self.duty, Duty::Follower(f) if f.leader == Some(from));
        self.duty = Duty::Follower(Following {
            leader: Some(from),
            deadline,
        });
        if newly {
            self.story(
                super::events::Kind::Role,
                format!("following leader {from} of epoch {epoch}"),
            );
        }
        true
    }

    pub(super) fn on_append(
        &mut self,
        now: Time,
        from: NodeId,
        epoch: Epoch,
        prev: LogPos,
        commit: u64,
        commands: Vec<Command>,
    ) {
        if !self.accept_leader(now, from, epoch, false) {
            return;
        }
        if self.ledger.log.holds(prev) {
            let entries = commands.into_iter().map(|command| Entry {
                tag: epoch,
                command,
            });
            let end = self.store(prev, entries);
            self.ledger.verify(end);
        } else {
            self.start_pull(now, from, epoch);
        }
        self.learn_commit(commit);
        self.recovery_progress(None);
        self.acks.news();
    }

    /// `counted`: this boot was counted by the fresh start of `epoch`;
    /// `named`: the leader names this boot as recovering.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn on_heartbeat(
        &mut self,
        now: Time,
        from: NodeId,
        epoch: Epoch,
        last: LogPos,
        commit: u64,
        counted: bool,
        named: bool,
        round: u64,
    ) -> bool {
        if !self.accept_leader(now, from, epoch, counted) {
            return false;
        }
        self.reads.heard_round(round);
        if self.ledger.diverged() {
            // Committed histories differ only once a majority lost its memory
            // and the cluster restarted from what a minority kept (the honest
            // limit), without this node. The leader's history is the one a
            // majority now holds: take its board. (The simulator checks that
            // this never happens while a majority keeps its memory.)
            warn!(
                "node {}: this node's board (seq {}) is not the history leader {from} holds \
                 (a majority lost its memory earlier); replacing it with the leader's",
                self.cfg.id,
                self.ledger.applied()
            );
            self.forget_everything();
        }
        if self.ledger.log.holds(last) {
            self.ledger.verify(last.seq);
            // Entries past the leader's end from an older epoch are not in its
            // log: stale. (This epoch's entries there are newer appends that
            // overtook this heartbeat.)
            if self
                .ledger
                .log
                .tag_at(last.seq.saturating_add(1))
                .is_some_and(|t| t != epoch)
                && last.seq >= self.ledger.commit()
            {
                self.ledger.log.truncate_after(last.seq);
            }
            self.transfer.stop_pull();
        } else {
            self.start_pull(now, from, epoch);
        }
        self.learn_commit(commit);
        // The leader heard this boot, so `last` postdates the reboot and
        // covers every entry the leader ever counted this node's old acks
        // for.
        self.recovery_progress(named.then_some(last.seq));
        // Ack when there is news, and often enough for the leader to know
        // this node is alive; a commit notice right after an ack needs none.
        // A new round is acknowledged at once: reads wait for it.
        let new_round = self.reads.round_unacked();
        self.acks
            .heartbeat(now, self.ledger.verified(), self.cfg.heartbeat, new_round);
        true
    }

    /// Stores entries that follow `prev` (which this log holds), replacing a
    /// conflicting uncommitted tail. Returns the seq of the last one.
    pub(super) fn store(&mut self, prev: LogPos, entries: impl IntoIterator<Item = Entry>) -> u64 {
        let mut seq = prev.seq;
        for entry in entries {
            seq += 1;
            match self.ledger.log.tag_at(seq) {
                Some(tag) if tag == entry.tag => continue,
                Some(_) => {
                    if seq <= self.ledger.commit() {
                        // Impossible while a majority keeps its memory (log
                        // matching); refuse to rewrite history.
                        error!(
                            "node {}: refusing to overwrite committed seq {seq}",
                            self.cfg.id
                        );
                        self.ledger.conflicts_with_commit();
                        return seq - 1;
                    }
                    self.ledger.log.truncate_after(seq - 1);
                }
                None => {}
            }
            self.note_in_log(&entry);
            self.ledger.log.push(entry);
        }
        seq
    }

    fn learn_commit(&mut self, commit: u64) {
        if self.ledger.learn_commit(commit) {
            self.apply_committed();
        }
    }

    pub(super) fn flush_ack(&mut self, now: Time) {
        if !self.acks.take_due() {
            return;
        }
        let Duty::Follower(Following {
            leader: Some(leader),
            ..
        }) = self.duty
        else {
            return;
        };
        let message = Message::Ack {
            epoch: self.promise.epoch(),
            matched: self.ledger.verified(),
            recovering: self.is_recovering(),
            round: self.reads.ack_round(),
        };
        self.acks.sent(now, self.ledger.verified());
        self.send(leader, message);
    }
}

// A module of its own, so that only its operations move the marks.
pub(super) mod ledger {
    //! This node's log and how far it is verified, committed and applied, with
    //! the order between them. The three marks are private: each moves only
    //! through the operation that keeps the order, so no caller can apply past
    //! the commit, lower a commit, commit past what it verified or holds, or
    //! commit an older epoch's entry by counting.
    //!
    //! - `verified`: the highest seq known to match the current leader's log
    //!   (what this node's acks claim); all of its own log when it leads.
    //! - `commit`: the highest seq known committed. It only grows, until the
    //!   memory goes ([`Ledger::forget`]).
    //! - `applied`: the seq the board stands at; never past `commit`.
    //!
    //! It also remembers whether an append conflicted with a committed entry
    //! (`diverged`): a history no longer the cluster's, which only forgetting
    //! it ([`Ledger::forget`]) ends.

    use super::Leadership;
    use crate::core::breaks::{broken, Break};
    use crate::log::Log;

    #[derive(Clone, Debug, Default)]
    pub(in crate::core) struct Ledger {
        /// The entries themselves (their own rules are [`Log`]'s).
        pub(in crate::core) log: Log,
        verified: u64,
        commit: u64,
        applied: u64,
        /// Possible only after a majority lost its memory (see `store`).
        diverged: bool,
    }

    impl Ledger {
        pub(in crate::core) fn verified(&self) -> u64 {
            self.verified
        }

        pub(in crate::core) fn commit(&self) -> u64 {
            self.commit
        }

        pub(in crate::core) fn applied(&self) -> u64 {
            self.applied
        }

        /// The leader's log conflicts with an entry committed here.
        pub(in crate::core) fn diverged(&self) -> bool {
            self.diverged
        }

        pub(in crate::core) fn conflicts_with_commit(&mut self) {
            self.diverged = true;
        }

        /// The leader `l` counted a majority's copies up to `n`: the commit
        /// before, if that raised it.
        pub(in crate::core) fn commit_counted(&mut self, n: u64, l: &Leadership) -> Option<u64> {
            // Only an entry of this epoch commits by counting (Raft's rule): an
            // older entry on a majority may still be overwritten by a later epoch.
            if broken(Break::EpochRule) {
                if n <= self.commit {
                    return None;
                }
            } else if n <= self.commit || self.log.tag_at(n) != Some(l.epoch) {
                return None;
            }
            self.commit_to(n)
        }

        /// A follower hears its leader's commit: it commits only what it holds
        /// and knows to match the leader's log. True if it rose.
        pub(in crate::core) fn learn_commit(&mut self, commit: u64) -> bool {
            // `commit_to` bounds it by the log's end.
            self.commit_to(commit.min(self.verified)).is_some()
        }

        /// Raises the commit to `n`, never past the log's end; the commit
        /// before, if it rose.
        fn commit_to(&mut self, n: u64) -> Option<u64> {
            let n = n.min(self.log.last().seq);
            (n > self.commit).then(|| std::mem::replace(&mut self.commit, n))
        }

        /// The next committed seq the board has not applied.
        pub(in crate::core) fn next_to_apply(&self) -> Option<u64> {
            (self.applied < self.commit).then_some(self.applied + 1)
        }

        /// The board applied `seq`, the one [`Ledger::next_to_apply`] named.
        pub(in crate::core) fn applied_through(&mut self, seq: u64) {
            debug_assert_eq!(self.next_to_apply(), Some(seq));
            self.applied = seq.clamp(self.applied, self.commit);
        }

        /// More of the log is known to match the leader's.
        pub(in crate::core) fn verify(&mut self, upto: u64) {
            self.verified = self.verified.max(upto);
        }

        /// This node leads: its own log, all of it, is the reference.
        pub(in crate::core) fn verify_own(&mut self) {
            self.verified = self.log.last().seq;
        }

        /// A new epoch promised: of this log, only the committed prefix is
        /// known to match the new leader's.
        pub(in crate::core) fn reverify(&mut self) {
            self.verified = self.commit;
        }

        /// A snapshot at `at`, no older than the commit, replaced the board and
        /// the log: all of it is committed and applied, and a follower's leader
        /// sent it.
        pub(in crate::core) fn install(&mut self, at: crate::wire::LogPos, from_leader: bool) {
            let seq = at.seq;
            debug_assert!(seq >= self.commit);
            self.log.reset(at);
            self.commit = self.commit.max(seq);
            self.applied = self.commit;
            if from_leader {
                self.verify(seq);
            }
        }

        /// The memory is gone: no log, nothing committed.
        pub(in crate::core) fn forget(&mut self) {
            *self = Ledger::default();
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use crate::wire::{Command, Entry, Epoch, LogPos};

        fn holding(entries: u64) -> Ledger {
            let mut ledger = Ledger::default();
            for _ in 0..entries {
                ledger.log.push(Entry {
                    tag: Epoch::default(),
                    command: Command::Noop,
                });
            }
            ledger
        }

        #[test]
        fn the_board_never_passes_the_commit_and_the_commit_never_falls() {
            let mut m = holding(5);
            assert_eq!(m.next_to_apply(), None, "nothing committed");
            m.verify(5);
            assert!(m.learn_commit(3));
            assert!(!m.learn_commit(2), "a commit never falls");
            assert_eq!(m.commit(), 3);
            for seq in 1..=3 {
                assert_eq!(m.next_to_apply(), Some(seq));
                m.applied_through(seq);
            }
            assert_eq!(m.next_to_apply(), None, "applied up to the commit");
            assert_eq!(m.applied(), 3);
        }

        #[test]
        fn a_follower_commits_only_what_it_verified_and_holds() {
            let mut m = holding(7);
            m.verify(5);
            assert!(m.learn_commit(9));
            assert_eq!(m.commit(), 5, "bounded by what matches the leader's log");
            m.verify(9);
            assert!(m.learn_commit(9));
            assert_eq!(m.commit(), 7, "bounded by the log's end");
            assert!(!m.learn_commit(6), "an older commit changes nothing");
            m.reverify();
            assert_eq!(m.verified(), 7, "a new epoch: only the committed prefix");
        }

        #[test]
        fn a_snapshot_commits_and_applies_everything_in_it() {
            let mut m = holding(3);
            m.verify(3);
            m.learn_commit(2);
            let at = LogPos {
                tag: Epoch::default(),
                seq: 10,
            };
            m.install(at, true);
            assert_eq!((m.commit(), m.applied(), m.verified()), (10, 10, 10));
            assert_eq!(m.log.last(), at);
            m.forget();
            assert_eq!((m.commit(), m.applied(), m.log.last().seq), (0, 0, 0));
        }
    }
}
