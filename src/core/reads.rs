//! Linearizable reads by read index (Raft thesis §6.4). A read must reflect
//! every write acknowledged anywhere before it arrived. The leader's commit
//! index at that moment covers them all, once the leader has committed an
//! entry of its own epoch (its no-op) -- provided it still leads: a leader cut
//! off in a minority may have been replaced without knowing it yet. So the
//! leader notes the index, then confirms its leadership with a heartbeat
//! round sent after the read arrived and acknowledged by a majority of
//! members with state. Any later epoch needed the promise of one of them,
//! and a member that promised a later epoch refuses this leader's
//! heartbeats; timing plays no part.
//!
//! One round confirms every read that arrived before it was sent, so reads
//! batch: at most one round is in flight, and the reads that arrive meanwhile
//! wait for the next. A follower asks the leader for the index (`Read`), one
//! batch at a time, and answers the batch once it has applied that far.
//! Reads never enter the log.

use log::debug;

use super::breaks::{broken, Break};
use super::{Duty, Following, Node, Time, Token, Unavailable};
use crate::wire::{Epoch, Message, NodeId};

/// The answer to one read: the seq the board stands at, at least the read
/// index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadReply {
    pub token: Token,
    pub result: Result<u64, Unavailable>,
}

/// Read counts, for `/status` and `/metrics`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadCounters {
    /// Reads answered after confirmation.
    pub confirmed: u64,
    /// Reads that could not be confirmed in time (503).
    pub refused: u64,
    /// Heartbeat rounds this node sent as leader because reads waited.
    pub rounds: u64,
    /// `Read` datagrams this node sent as follower (one per batch, and
    /// retries).
    pub asks: u64,
}

#[derive(Clone, Copy, Debug)]
struct Local {
    token: Token,
    deadline: Time,
}

/// Who waits for a read index at the leader.
#[derive(Clone, Copy, Debug)]
enum Reader {
    Here(Local),
    Member { id: NodeId, batch: u64 },
}

#[derive(Clone, Debug)]
struct Unconfirmed {
    /// The heartbeat round whose majority of acks confirms it.
    round: u64,
    index: u64,
    reader: Reader,
}

/// A follower's batch asked of the leader.
#[derive(Clone, Debug)]
struct Asked {
    batch: u64,
    leader: NodeId,
    epoch: Epoch,
    at: Time,
    reads: Vec<Local>,
}

#[derive(Clone, Debug, Default)]
pub(super) struct Reads {
    // -- as leader
    /// The last heartbeat round sent.
    round: u64,
    unconfirmed: Vec<Unconfirmed>,
    // -- as follower
    /// The latest round heard from the leader followed, and the last acked.
    heard: u64,
    acked: u64,
    next_batch: u64,
    asked: Option<Asked>,
    /// Reads that arrived while a batch was out, or with no leader known.
    queued: Vec<Local>,
    // -- both
    /// Confirmed reads waiting for the board to reach their index.
    confirmed: Vec<(u64, Local)>,
    pub(super) counters: ReadCounters,
}

impl Reads {
    /// A leader starts a heartbeat round: the one to send.
    pub(super) fn next_round(&mut self) -> u64 {
        self.round += 1;
        self.round
    }

    /// A read at the leader, answerable at `index` once a round sent
    /// after it arrived is confirmed: an earlier round's acks may predate a
    /// successor's first write.
    fn await_round(&mut self, index: u64, reader: Reader) {
        let round = if broken(Break::ReadRound) {
            self.round
        } else {
            self.round + 1
        };
        self.unconfirmed.push(Unconfirmed {
            round,
            index,
            reader,
        });
    }

    /// The last heartbeat round sent.
    pub(super) fn round(&self) -> u64 {
        self.round
    }

    /// A follower heard its leader's round `round`.
    pub(super) fn heard_round(&mut self, round: u64) {
        self.heard = self.heard.max(round);
    }

    /// True if a round was heard and not acknowledged yet.
    pub(super) fn round_unacked(&self) -> bool {
        self.heard > self.acked
    }

    /// The round an ack now claims (and from then on, acknowledged).
    pub(super) fn ack_round(&mut self) -> u64 {
        self.acked = self.heard;
        self.heard
    }

    /// A new promise: rounds are the new leader's, counted from nothing.
    pub(super) fn forget_rounds(&mut self) {
        self.heard = 0;
        self.acked = 0;
    }

    fn idle(&self) -> bool {
        self.unconfirmed.is_empty()
            && self.asked.is_none()
            && self.queued.is_empty()
            && self.confirmed.is_empty()
    }

    /// When a read here times out, or an unanswered ask of the leader is
    /// asked again, whichever comes first.
    pub(super) fn due(&self, heartbeat: std::time::Duration) -> Option<Time> {
        let here = self.unconfirmed.iter().filter_map(|u| match u.reader {
            Reader::Here(read) => Some(read),
            Reader::Member { .. } => None,
        });
        let asked = self.asked.iter();
        here.chain(self.queued.iter().copied())
            .chain(self.confirmed.iter().map(|(_, read)| *read))
            .chain(asked.clone().flat_map(|a| a.reads.iter().copied()))
            .map(|read| read.deadline)
            .chain(asked.map(|a| a.at + heartbeat))
            .min()
    }
}

impl Node {
    /// A linearizable read at this node. The answer comes out of
    /// `poll_read` once the board reflects every write acknowledged before
    /// now, or as `Unavailable` after the request timeout.
    pub fn handle_read(&mut self, now: Time, token: Token) {
        let now = self.tick_clock(now);
        let read = Local {
            token,
            deadline: now + self.cfg.request_timeout,
        };
        // Every read that arrives in one turn of the driver's loop joins one
        // batch: the round or the ask goes out when the node next sends.
        if matches!(self.duty, Duty::Leader(_)) {
            self.lead_read(Reader::Here(read));
        } else {
            self.reads.queued.push(read);
        }
    }

    pub fn poll_read(&mut self) -> Option<ReadReply> {
        self.read_replies.pop_front()
    }

    pub fn read_counters(&self) -> ReadCounters {
        self.reads.counters
    }

    /// A follower's batch arrived at this node.
    pub(super) fn on_read(&mut self, from: NodeId, batch: u64) {
        debug!("node {}: read batch {batch} from node {from}", self.cfg.id);
        if matches!(self.duty, Duty::Leader(_)) {
            self.lead_read(Reader::Member { id: from, batch });
        }
    }

    /// The leader's index for this node's batch.
    pub(super) fn on_read_index(&mut self, from: NodeId, epoch: Epoch, batch: u64, index: u64) {
        debug!(
            "node {}: read index {index} for batch {batch} from node {from}",
            self.cfg.id
        );
        let answered = self
            .reads
            .asked
            .as_ref()
            .is_some_and(|a| a.batch == batch && a.leader == from && a.epoch == epoch);
        if !answered {
            return;
        }
        if let Some(asked) = self.reads.asked.take() {
            self.reads
                .confirmed
                .extend(asked.reads.into_iter().map(|r| (index, r)));
        }
    }

    /// Notes a read at the leader: it needs the next round, and the commit
    /// index as it stands (at least this epoch's no-op).
    fn lead_read(&mut self, reader: Reader) {
        let Duty::Leader(l) = &self.duty else {
            return;
        };
        let index = self.ledger.commit().max(l.start);
        self.reads.await_round(index, reader);
    }

    /// Moves reads along: confirms what a majority's acks confirm, asks the
    /// leader for waiting batches, answers what the board now covers, and
    /// refuses what waited past its deadline. Called whenever the node is
    /// about to send what one turn of inputs produced.
    pub(super) fn advance_reads(&mut self, now: Time) {
        if self.reads.idle() {
            return;
        }
        self.settle_reads_to_duty();
        if let Duty::Leader(l) = &self.duty {
            // At most one round in flight: start one if none is and a read
            // waits for more than is confirmed (alone, a leader confirms its
            // own round at once).
            let confirmed = l.confirmed_round(self.reads.round, self.cfg.majority());
            let in_flight = confirmed < self.reads.round;
            let waiting = self.reads.unconfirmed.iter().any(|u| u.round > confirmed);
            if waiting && !in_flight {
                self.reads.counters.rounds += 1;
                self.heartbeat(now);
            }
        }
        if let Duty::Leader(l) = &self.duty {
            let confirmed = l.confirmed_round(self.reads.round, self.cfg.majority());
            let epoch = l.epoch;
            let (done, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.reads.unconfirmed)
                .into_iter()
                .partition(|u| u.round <= confirmed);
            self.reads.unconfirmed = waiting;
            for u in done {
                match u.reader {
                    Reader::Here(read) => self.reads.confirmed.push((u.index, read)),
                    Reader::Member { id, batch } => self.send(
                        id,
                        Message::ReadIndex {
                            epoch,
                            batch,
                            index: u.index,
                        },
                    ),
                }
            }
        } else {
            self.ask_leader(now);
        }
        self.answer_reads(now);
    }

    /// After a change of duty: a leader's own waiting reads go to whoever
    /// leads next (its members' batches are theirs to ask again); a new
    /// leader takes its queued reads over.
    fn settle_reads_to_duty(&mut self) {
        let leading = matches!(self.duty, Duty::Leader(_));
        if leading {
            let mut moved: Vec<Local> = std::mem::take(&mut self.reads.queued);
            if let Some(asked) = self.reads.asked.take() {
                moved.extend(asked.reads);
            }
            for read in moved {
                self.lead_read(Reader::Here(read));
            }
        } else if !self.reads.unconfirmed.is_empty() {
            for u in std::mem::take(&mut self.reads.unconfirmed) {
                if let Reader::Here(read) = u.reader {
                    self.reads.queued.push(read);
                }
            }
        }
    }

    /// Sends the queued reads as one batch to the leader this node follows,
    /// unless a batch is out; asks again when the answer is overdue or the
    /// leader changed.
    fn ask_leader(&mut self, now: Time) {
        let leader = match &self.duty {
            Duty::Follower(Following {
                leader: Some(l), ..
            }) => Some(*l),
            _ => None,
        };
        let epoch = self.promise.epoch();
        if let Some(asked) = &mut self.reads.asked {
            if Some(asked.leader) != leader || asked.epoch != epoch {
                // Its answer would be the old leader's: ask the new one.
                let reads = std::mem::take(&mut asked.reads);
                self.reads.asked = None;
                self.reads.queued.splice(0..0, reads);
            } else if now.since(asked.at) >= self.cfg.heartbeat {
                asked.at = now;
                let (to, batch) = (asked.leader, asked.batch);
                self.reads.counters.asks += 1;
                self.send(to, Message::Read { batch });
                return;
            } else {
                return;
            }
        }
        let Some(leader) = leader else {
            return;
        };
        if self.reads.queued.is_empty() {
            return;
        }
        let batch = self.reads.next_batch;
        self.reads.next_batch += 1;
        self.reads.asked = Some(Asked {
            batch,
            leader,
            epoch,
            at: now,
            reads: std::mem::take(&mut self.reads.queued),
        });
        self.reads.counters.asks += 1;
        debug!(
            "node {}: asks leader {leader} for the read index of batch {batch}",
            self.cfg.id
        );
        self.send(leader, Message::Read { batch });
    }

    fn answer_reads(&mut self, now: Time) {
        let applied = self.ledger.applied();
        let reads = &mut self.reads;
        let replies = &mut self.read_replies;
        reads.confirmed.retain(|(index, read)| {
            if applied >= *index {
                replies.push_back(ReadReply {
                    token: read.token,
                    result: Ok(applied),
                });
                reads.counters.confirmed += 1;
                false
            } else {
                true
            }
        });
        let mut refuse = |read: &Local| {
            let late = now >= read.deadline;
            if late {
                replies.push_back(ReadReply {
                    token: read.token,
                    result: Err(Unavailable),
                });
                reads.counters.refused += 1;
            }
            !late
        };
        reads.confirmed.retain(|(_, read)| refuse(read));
        reads.queued.retain(&mut refuse);
        if let Some(asked) = &mut reads.asked {
            asked.reads.retain(&mut refuse);
            if asked.reads.is_empty() {
                reads.asked = None;
            }
        }
        reads.unconfirmed.retain(|u| match &u.reader {
            Reader::Here(read) => refuse(read),
            Reader::Member { .. } => true,
        });
    }
}
