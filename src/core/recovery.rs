//! Rejoining after a reboot. A node that lost its memory may have promised an
//! epoch before it crashed and forgotten; were it to follow an older leader
//! now, that leader could count it towards a majority the newer epoch never
//! saw, and a committed write could be lost. So before it follows anyone it
//! asks the others how far epochs have gone (`Probe`/`Info`). The answers
//! must meet every group of promisers it may have belonged to (a takeover
//! needs `members - majority + 1` of them): a majority of *active* members
//! does, and so does an answer from every other member (a group left unmet
//! then holds only memoryless members, its leader among them: that epoch is
//! dead). The highest epoch reported is the fence; the node follows only a
//! leader at or past it, loads the board from that leader, and counts again
//! only once it holds everything the leader had committed.
//!
//! The one exception is an epoch started from a memoryless majority (see
//! [`super::takeover`]): its members answered the Prepare, they follow it.

use std::collections::BTreeMap;

use log::info;

use super::{Memory, Node};
use crate::board::Board;
use crate::log::Log;
use crate::wire::{Epoch, Message, NodeId};

#[derive(Default, Debug)]
pub(super) struct Recovery {
    /// Promised epochs reported since this boot, and whether the reporter
    /// was active (had state).
    reports: BTreeMap<NodeId, (Epoch, bool)>,
    /// Set once enough active members reported.
    fence: Option<Epoch>,
    /// The commit index the leader it follows had when it started following
    /// (with that leader's epoch): holding up to it, the node holds every
    /// committed write it may have acknowledged before it lost its memory.
    target: Option<(Epoch, u64)>,
}

impl Recovery {
    /// May a recovering node follow the leader of `epoch`?
    pub(super) fn may_follow(&self, epoch: Epoch, promised: Epoch, fresh: bool) -> bool {
        match self.fence {
            Some(fence) if epoch >= fence => true,
            _ => fresh && epoch == promised,
        }
    }
}

impl Node {
    pub(super) fn probe_tick(&mut self) {
        if let Memory::Recovering(r) = &self.memory {
            if r.fence.is_none() {
                self.broadcast(Message::Probe);
            }
        }
    }

    pub(super) fn on_probe(&mut self, from: NodeId, boot: u32) {
        let message = Message::Info {
            for_boot: boot,
            promised: self.promised,
            active: !self.is_recovering(),
        };
        self.send(from, message);
    }

    pub(super) fn on_info(
        &mut self,
        _now: super::Time,
        from: NodeId,
        for_boot: u32,
        promised: Epoch,
        active: bool,
    ) {
        self.highest_number = self.highest_number.max(promised.number);
        let (majority, others) = (self.cfg.majority(), self.cfg.members.len() - 1);
        let (id, own) = (self.cfg.id, self.promised);
        let Memory::Recovering(r) = &mut self.memory else {
            return;
        };
        if for_boot != self.boot || r.fence.is_some() {
            return;
        }
        r.reports.insert(from, (promised, active));
        let active_reports = r.reports.values().filter(|(_, a)| *a).count();
        if active_reports >= majority || r.reports.len() == others {
            let fence = r.reports.values().map(|(e, _)| *e).fold(own, Epoch::max);
            r.fence = Some(fence);
            info!("node {id}: fenced at epoch {fence}: will follow a leader from there on");
        }
    }

    /// Notes the leader's commit index while recovering; finishes recovery
    /// once this node holds that far.
    pub(super) fn recovery_progress(&mut self, leader_commit: Option<u64>) {
        let verified = self.verified.min(self.log.last().seq);
        let epoch = self.promised;
        let Memory::Recovering(r) = &mut self.memory else {
            return;
        };
        if let Some(c) = leader_commit {
            // Any leader's commit index since the reboot will do; a newer
            // leader's history replaces an older one's.
            if r.target.is_none_or(|(e, _)| e != epoch) {
                r.target = Some((epoch, c));
            }
        }
        let leader = match &self.duty {
            super::Duty::Follower(f) => f.leader,
            _ => None,
        };
        if let (Some((e, target)), Some(leader)) = (r.target, leader) {
            if e == epoch && verified >= target {
                self.finish_recovery(leader);
            }
        }
    }

    /// Holds every entry the leader had committed: counts as a copy again.
    fn finish_recovery(&mut self, leader: NodeId) {
        if self.is_recovering() {
            self.memory = Memory::Active;
            info!(
                "node {}: RECOVERED the board from leader {leader}: seq {}, {} entries",
                self.cfg.id,
                self.applied,
                self.board.len()
            );
        }
    }

    /// Drops whatever a half-finished recovery left, before adopting a log.
    pub(super) fn forget_everything(&mut self) {
        self.log = Log::default();
        self.board = Board::new();
        self.commit = 0;
        self.applied = 0;
        self.verified = 0;
        self.snapshot = None;
        self.pull = None;
    }
}
