//! Bully election over ranks, asking one member at a time: a node that
//! hears no leader asks the member it believes is the highest-ranked one
//! alive; that member answers `Alive` and calls its own election, and a node
//! that hears no `Alive` in time asks the next one down. A node that believes
//! itself the highest alive asks no one and goes straight to the takeover
//! ([`super::takeover`]).
//!
//! What a node believes comes from what it already hears: every datagram
//! carries its sender's rank, members exchange probes when they boot, and
//! the leader's heartbeats say which members it hears. So when a settled
//! cluster loses its leader, each survivor sends one `Election` (to the top
//! survivor) and gets one `Alive`: 2(n-2) datagrams where the classic bully
//! round, every node asking every higher one, costs (n-1)(n-2). Members whose
//! rank is not known yet (a node that has heard nothing) are all asked, as in
//! the classic algorithm. A wrong belief costs time, not safety: the
//! takeover, not the election, keeps one leader per epoch.
//!
//! A node that still hears a working leader answers `Alive` but does not call
//! an election itself, so a node that merely lost a few heartbeats (or just
//! booted) cannot unseat a leader the rest of the cluster still follows; nor
//! does a node that is already waiting for a higher rank to take over.

use std::time::Duration;

use super::{Duty, Node, Time};
use crate::wire::{Message, NodeId};

/// Higher wins: the random attribute first, the id breaks ties.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rank {
    pub attribute: u32,
    pub id: NodeId,
}

/// An election this node called and is waiting out.
#[derive(Clone, Debug)]
pub(super) struct Campaign {
    /// When silence from the member asked means asking the next one down.
    pub(super) deadline: Time,
    /// Higher ranks believed alive and not asked yet, highest first.
    next: Vec<NodeId>,
}

/// What the election goes by: when this node last heard a leader it
/// follows, last heard a higher rank say it is alive, and last called an
/// election itself. Only moments are kept; what counts as recent is the
/// caller's timeout.
#[derive(Clone, Debug, Default)]
pub(super) struct Contact {
    leader: Option<Time>,
    higher_alive: Option<Time>,
    campaigned: Option<Time>,
}

impl Contact {
    /// A leader of an epoch at least this node's promise was heard.
    pub(super) fn heard_leader(&mut self, now: Time) {
        self.leader = Some(now);
    }

    /// This node led and lost its majority: it hears no leader now.
    pub(super) fn lost_leader(&mut self) {
        self.leader = None;
    }

    pub(super) fn leader_heard_at(&self) -> Option<Time> {
        self.leader
    }

    pub(super) fn hears_leader(&self, now: Time, timeout: Duration) -> bool {
        self.leader.is_some_and(|t| now.since(t) < timeout)
    }

    /// True if this node called an election within `window`.
    pub(super) fn campaigned_within(&self, now: Time, window: Duration) -> bool {
        self.campaigned.is_some_and(|t| now.since(t) < window)
    }
}

impl Node {
    /// How long a candidate waits for a higher rank's `Alive`: a round trip on
    /// a LAN is far below this, and the wait is most of what an election costs.
    pub(super) fn alive_wait(&self) -> Duration {
        (self.cfg.heartbeat / 2).max(Duration::from_millis(2))
    }

    /// True if this node has news of `id` recent enough to think it alive:
    /// heard from it, or told by the leader that the leader hears it, within
    /// two timeouts and a heartbeat (the news is a timeout old by the time a
    /// follower suspects its leader).
    fn believed_alive(&self, now: Time, id: NodeId) -> bool {
        let window = self.cfg.timeout * 2 + self.cfg.heartbeat;
        self.members.believed_alive(now, id, window)
    }

    pub(super) fn campaign(&mut self, now: Time) {
        self.counters.elections += 1;
        self.contact.campaigned = Some(now);
        let silence = match self.contact.leader {
            Some(t) => format!("no leader heard for {} ms", now.since(t).as_millis()),
            None => "no leader known".to_owned(),
        };
        let kind = if self.contact.leader.is_some() {
            super::events::Kind::Suspect
        } else {
            super::events::Kind::Election
        };
        let rank = self.rank;
        self.story(
            kind,
            format!("{silence}; calling an election with rank {rank}"),
        );
        // The leader just suspected is not asked: its silence is the news.
        let suspect = match &self.duty {
            Duty::Follower(f) => f.leader,
            _ => None,
        };
        let (known, unknown) = self.members.ranks();
        let mut higher: Vec<Rank> = known
            .into_iter()
            .map(|(id, attribute)| Rank { attribute, id })
            .filter(|r| *r > self.rank && Some(r.id) != suspect && self.believed_alive(now, r.id))
            .collect();
        higher.sort_unstable_by(|a, b| b.cmp(a));
        let mut next: Vec<NodeId> = higher.into_iter().map(|r| r.id).collect();
        let first = (!next.is_empty()).then(|| next.remove(0));
        if unknown.is_empty() && first.is_none() {
            // The highest rank alive, as far as this node knows: it takes
            // over once no member can still be hearing the old leader (they
            // heard its last heartbeat when this node did; their timers,
            // jittered, may fire up to a heartbeat later), so that none
            // refuses the takeover for a leader already gone.
            let margin = (self.cfg.heartbeat / 10).max(Duration::from_millis(1));
            match self.contact.leader.map(|t| t + self.cfg.timeout + margin) {
                Some(deadline) if deadline > now => {
                    self.duty = Duty::Candidate(Campaign {
                        deadline,
                        next: Vec::new(),
                    });
                }
                // Already past it (or no leader ever heard): a deadline of
                // now would only make the driver wake at once to find it.
                _ => self.start_takeover(now),
            }
            return;
        }
        for id in unknown.into_iter().chain(first) {
            self.send(id, Message::Election);
        }
        self.duty = Duty::Candidate(Campaign {
            deadline: now + self.alive_wait(),
            next,
        });
    }

    /// The member asked stayed silent: ask the next one down, or take over
    /// when none is left.
    pub(super) fn campaign_timed_out(&mut self, now: Time) {
        let wait = self.alive_wait();
        let next = match &mut self.duty {
            Duty::Candidate(c) if !c.next.is_empty() => {
                c.deadline = now + wait;
                c.next.remove(0)
            }
            _ => return self.start_takeover(now),
        };
        self.send(next, Message::Election);
    }

    pub(super) fn on_election(&mut self, now: Time, from: NodeId, rank: super::Rank) {
        if self.rank > rank {
            self.send(from, Message::Alive);
            let busy = matches!(
                self.duty,
                Duty::Candidate(_) | Duty::Preparing(_) | Duty::Leader(_)
            );
            if !busy && !self.hears_leader(now) && !self.deferring(now) {
                self.campaign(now);
            }
            return;
        }
        // A higher rank is campaigning: give it the time to take over.
        let hears_leader = self.hears_leader(now);
        let patience = now + self.cfg.timeout;
        match &mut self.duty {
            Duty::Candidate(_) => self.wait_for_leader(now),
            Duty::Follower(f) if !hears_leader => f.deadline = f.deadline.max(patience),
            _ => {}
        }
    }

    /// True while a higher rank said it is alive and may be taking over.
    fn deferring(&self, now: Time) -> bool {
        self.contact
            .higher_alive
            .is_some_and(|t| now.since(t) < self.cfg.timeout)
    }

    pub(super) fn on_alive(&mut self, now: Time, from: NodeId) {
        self.contact.higher_alive = Some(now);
        if matches!(self.duty, Duty::Candidate(_)) {
            self.story(
                super::events::Kind::Role,
                format!("node {from} outranks this one and is alive; waiting for it to lead"),
            );
            self.wait_for_leader(now);
        }
    }
}
