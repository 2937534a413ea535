//! Bully election over ranks: a node that hears no leader calls an election;
//! every higher-ranked node that is up answers `Alive` and calls its own; the
//! node that hears no `Alive` in time has the highest rank among the living
//! and goes on to take over ([`super::takeover`]).
//!
//! A node that still hears a working leader answers `Alive` but does not call
//! an election itself, so a node that merely lost a few heartbeats (or just
//! booted) cannot unseat a leader the rest of the cluster still follows.

use std::time::Duration;

use log::info;

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
        let silence = match self.leader_contact {
            Some(t) => format!("no leader heard for {} ms", now.since(t).as_millis()),
            None => "no leader known".to_owned(),
        };
        info!(
            "node {}: {silence}; calling an election with rank {}",
            self.cfg.id, self.rank
        );
        self.broadcast(Message::Election);
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
            if !busy && !self.hears_leader(now) {
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

    pub(super) fn on_alive(&mut self, now: Time, from: NodeId) {
        if matches!(self.duty, Duty::Candidate(_)) {
            info!(
                "node {}: node {from} outranks this one and is alive; waiting for it to lead",
                self.cfg.id
            );
            self.wait_for_leader(now);
        }
    }
}
