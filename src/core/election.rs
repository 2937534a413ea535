//! Bully election over ranks: a node that hears no leader calls an election;
//! every higher-ranked node that is up answers `Alive` and calls its own; the
//! node that hears no `Alive` in time has the highest rank among the living
//! and goes on to take over ([`super::takeover`]).
//!
//! `Election` goes only to the ranks above (and to members whose rank is not
//! known yet), as in the classic algorithm: the best case, the highest
//! survivor noticing first, costs one message per higher member.
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
pub(super) struct Campaign {
    /// When silence from higher ranks means this node has won.
    pub(super) deadline: Time,
}

impl Node {
    /// How long a candidate waits for a higher rank's `Alive`: a round trip on
    /// a LAN is far below this, and the wait is most of what an election costs.
    pub(super) fn alive_wait(&self) -> Duration {
        (self.cfg.heartbeat / 2).max(Duration::from_millis(2))
    }

    pub(super) fn campaign(&mut self, now: Time) {
        self.counters.elections += 1;
        self.last_campaign = Some(now);
        let silence = match self.leader_contact {
            Some(t) => format!("no leader heard for {} ms", now.since(t).as_millis()),
            None => "no leader known".to_owned(),
        };
        let kind = if self.leader_contact.is_some() {
            "suspect"
        } else {
            "election"
        };
        let rank = self.rank;
        self.story(
            kind,
            format!("{silence}; calling an election with rank {rank}"),
        );
        let higher: Vec<NodeId> = self
            .peers
            .iter()
            .filter(|(&id, p)| {
                p.attribute
                    .is_none_or(|attribute| Rank { attribute, id } > self.rank)
            })
            .map(|(&id, _)| id)
            .collect();
        for id in higher {
            self.send(id, Message::Election);
        }
        self.duty = Duty::Candidate(Campaign {
            deadline: now + self.alive_wait(),
        });
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
        self.higher_alive
            .is_some_and(|t| now.since(t) < self.cfg.timeout)
    }

    pub(super) fn on_alive(&mut self, now: Time, from: NodeId) {
        self.higher_alive = Some(now);
        if matches!(self.duty, Duty::Candidate(_)) {
            self.story(
                "role",
                format!("node {from} outranks this one and is alive; waiting for it to lead"),
            );
            self.wait_for_leader(now);
        }
    }
}
