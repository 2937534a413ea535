//! Client writes. Each gets a number at the node that received it; followers
//! forward them to the leader, batched, and retransmit until they see the
//! request in the leader's log (and again when the leader changes). The
//! leader appends each `(origin, boot, number)` at most once and the board
//! applies it at most once, so retransmission never duplicates a write. The
//! client is answered when its node applies the entry, or with 503 when the
//! request timeout passes first.

use std::collections::BTreeMap;

use super::{Done, Duty, Following, Node, Reply, Time, Token, Unavailable};
use crate::board::Outcome;
use crate::wire::{self, Command, Entry, Epoch, Message, NodeId, Op, Request, PAYLOAD_BUDGET};

/// Writes waiting at one node for their commit; beyond this, new ones are
/// refused at once (503) rather than queued without bound.
pub const MAX_PENDING: usize = 10_000;

#[derive(Debug, Clone, Default)]
pub(super) struct Requests {
    next: u64,
    pending: BTreeMap<u64, Pending>,
}

#[derive(Clone, Debug)]
struct Pending {
    token: Token,
    op: Op,
    deadline: Time,
    /// Last forwarded: to which epoch's leader, and when.
    sent: Option<(Epoch, Time)>,
    /// Seen in the log of this epoch's leader (or appended, as leader).
    in_log: Option<Epoch>,
}

impl Node {
    pub(super) fn submit(&mut self, now: Time, token: Token, op: Op) {
        if self.requests.pending.len() >= MAX_PENDING {
            self.replies.push_back(Reply {
                token,
                result: Err(Unavailable),
            });
            return;
        }
        let number = self.requests.next;
        self.requests.next += 1;
        let deadline = now + self.cfg.request_timeout;
        self.requests.pending.insert(
            number,
            Pending {
                token,
                op,
                deadline,
                sent: None,
                in_log: None,
            },
        );
        if matches!(self.duty, Duty::Leader(_)) {
            self.flush_requests(now);
        }
    }

    fn request(&self, number: u64, op: &Op) -> Request {
        let finished_below = self
            .requests
            .pending
            .keys()
            .next()
            .copied()
            .unwrap_or(self.requests.next);
        Request {
            origin: self.cfg.id,
            boot: self.boot,
            number,
            finished_below,
            op: op.clone(),
        }
    }

    /// Appends (as leader) or forwards (as follower) what is due.
    pub(super) fn flush_requests(&mut self, now: Time) {
        match &self.duty {
            Duty::Leader(l) => {
                let epoch = l.epoch;
                let due: Vec<u64> = self
                    .requests
                    .pending
                    .iter()
                    .filter(|(_, p)| p.in_log != Some(epoch))
                    .map(|(n, _)| *n)
                    .collect();
                for number in due {
                    let Some(p) = self.requests.pending.get_mut(&number) else {
                        continue;
                    };
                    p.in_log = Some(epoch);
                    let request = self.request(number, &self.requests.pending[&number].op);
                    self.admit(request);
                }
            }
            Duty::Follower(Following {
                leader: Some(leader),
                ..
            }) => {
                let leader = *leader;
                self.forward_due(now, leader);
            }
            _ => {}
        }
    }

    fn forward_due(&mut self, now: Time, leader: NodeId) {
        let epoch = self.promise.epoch();
        let rto = self.cfg.heartbeat * 2;
        let due: Vec<u64> = self
            .requests
            .pending
            .iter()
            .filter(|(_, p)| {
                p.in_log != Some(epoch)
                    && p.sent
                        .is_none_or(|(e, t)| e != epoch || now.since(t) >= rto)
            })
            .map(|(n, _)| *n)
            .collect();
        let mut batch = Vec::new();
        let mut size = 0;
        for number in due {
            let request = self.request(number, &self.requests.pending[&number].op);
            let len = wire::encoded_len(&request);
            if !batch.is_empty() && size + len > PAYLOAD_BUDGET {
                self.send(
                    leader,
                    Message::Forward {
                        requests: std::mem::take(&mut batch),
                    },
                );
                size = 0;
            }
            size += len;
            batch.push(request);
            if let Some(p) = self.requests.pending.get_mut(&number) {
                p.sent = Some((epoch, now));
            }
        }
        if !batch.is_empty() {
            self.send(leader, Message::Forward { requests: batch });
        }
    }

    /// A follower's requests arrive at the leader.
    pub(super) fn on_forward(&mut self, from: NodeId, boot: u32, requests: Vec<Request>) {
        if !matches!(self.duty, Duty::Leader(_)) {
            return;
        }
        for request in requests {
            if request.origin != from || request.boot != boot {
                self.counters.drop_one(super::Refused::Spoofed);
                continue;
            }
            self.admit(request);
        }
    }

    /// Appends a request unless the board or the log already has it.
    fn admit(&mut self, request: Request) {
        let Duty::Leader(l) = &mut self.duty else {
            return;
        };
        let key = (request.origin, request.boot, request.number);
        if self.board.has_applied(&request) {
            // Committed already; its origin has not heard yet: tell it.
            if request.origin != self.cfg.id {
                l.notify.insert(request.origin);
            }
            return;
        }
        if l.in_log.contains(&key) {
            return;
        }
        self.propose(Command::Client(request));
    }

    /// A follower saw one of its own requests in the leader's log.
    pub(super) fn note_in_log(&mut self, entry: &Entry) {
        if let Command::Client(r) = &entry.command {
            if r.origin == self.cfg.id && r.boot == self.boot {
                if let Some(p) = self.requests.pending.get_mut(&r.number) {
                    p.in_log = Some(entry.tag);
                }
            }
        }
    }

    /// When the earliest waiting write times out. Numbers are given in
    /// arrival order with one timeout, so the lowest number expires first.
    pub(super) fn request_expiry(&self) -> Option<Time> {
        self.requests.pending.values().next().map(|p| p.deadline)
    }

    pub(super) fn expire_requests(&mut self, now: Time) {
        let expired: Vec<u64> = self
            .requests
            .pending
            .iter()
            .filter(|(_, p)| now >= p.deadline)
            .map(|(n, _)| *n)
            .collect();
        for number in expired {
            if let Some(p) = self.requests.pending.remove(&number) {
                self.replies.push_back(Reply {
                    token: p.token,
                    result: Err(Unavailable),
                });
            }
        }
    }

    /// An entry was applied: answer the client if it asked here.
    pub(super) fn on_applied(&mut self, request: &Request, outcome: Outcome, seq: u64) {
        if let Duty::Leader(l) = &mut self.duty {
            l.in_log
                .remove(&(request.origin, request.boot, request.number));
        }
        if request.origin != self.cfg.id || request.boot != self.boot {
            return;
        }
        if let Some(p) = self.requests.pending.remove(&request.number) {
            self.replies.push_back(Reply {
                token: p.token,
                result: Ok(Done { outcome, seq }),
            });
        }
    }

    /// A snapshot may contain requests that were pending here: the board
    /// remembers what they did, so their clients get the real answer.
    pub(super) fn answer_requests_in_snapshot(&mut self) {
        let applied: Vec<(u64, Outcome, u64)> = self
            .requests
            .pending
            .iter()
            .filter_map(|(n, p)| {
                let (outcome, seq) = self.board.outcome_of(&self.request(*n, &p.op))?;
                Some((*n, outcome.clone(), *seq))
            })
            .collect();
        for (number, outcome, seq) in applied {
            if let Some(p) = self.requests.pending.remove(&number) {
                self.replies.push_back(Reply {
                    token: p.token,
                    result: Ok(Done { outcome, seq }),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::MAX_PENDING;
    use crate::sim::Sim;
    use crate::wire::Op;

    #[test]
    fn writes_beyond_the_pending_limit_are_refused_at_once() {
        // A lone node that has not elected itself yet: every write waits.
        let mut sim = Sim::new(1, 1);
        let writes: Vec<_> = (0..=MAX_PENDING)
            .map(|i| {
                (
                    1,
                    Op::Add {
                        text: format!("w{i}"),
                    },
                )
            })
            .collect();
        let tokens = sim.write_all(&writes);
        assert!(sim.result(tokens[0]).is_none(), "within the limit: waiting");
        assert!(
            matches!(sim.result(tokens[MAX_PENDING]), Some(Err(_))),
            "beyond the limit: refused at once"
        );
    }
}
