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
//! only once it holds the leader's whole log as of a heartbeat naming this
//! boot: that heartbeat postdates the reboot, so its log holds every entry
//! this node ever acknowledged (and the leader has forgotten the old acks).
//! Going by the commit index, or by any heartbeat, is not enough: a
//! heartbeat delayed past the reboot would name an end the node's old
//! incarnation had already acknowledged beyond (found by `tests/model.rs`).
//!
//! The one exception is an epoch started from a memoryless majority (see
//! [`super::takeover`]): the members that start counted, in the boot it
//! counted, follow it (the heartbeat lists them); nobody else does.

use std::collections::BTreeMap;

use log::info;

use super::breaks::{broken, Break};
use super::{Memory, Node};
use crate::board::Board;
use crate::wire::{Epoch, Message, NodeId};

#[derive(Clone, Default, Debug)]
pub(super) struct Recovery {
    /// Promised epochs reported since this boot, and whether the reporter
    /// was active (had state).
    reports: BTreeMap<NodeId, (Epoch, bool)>,
    /// Set once enough active members reported.
    fence: Option<Epoch>,
    /// The end of the log of the leader it follows, from a heartbeat that
    /// named this boot (with that leader's epoch): holding up to it, the
    /// node holds every write it may have acknowledged before it lost its
    /// memory.
    target: Option<(Epoch, u64)>,
}

impl Recovery {
    /// May a recovering node follow the leader of `epoch`? `counted`: that
    /// epoch's fresh start counted this boot's `NoState`.
    pub(super) fn may_follow(&self, epoch: Epoch, promised: Epoch, counted: bool) -> bool {
        match self.fence {
            Some(_) if broken(Break::Fence) => true,
            Some(fence) if epoch >= fence => true,
            _ => counted && epoch == promised,
        }
    }

    pub(super) fn fence(&self) -> Option<Epoch> {
        self.fence
    }

    /// A leader below the fence is heard: the fence may stand for a
    /// takeover that has since given up. Ask again (a fence drawn later is
    /// as sound as one drawn earlier; a live higher epoch shows up again,
    /// and its promisers refuse this leader until it steps down).
    pub(super) fn below_fence(&mut self, epoch: Epoch) {
        if self.fence.is_some_and(|f| epoch < f) {
            self.fence = None;
            self.reports.clear();
        }
    }
}

impl Node {
    pub(super) fn probe_tick(&mut self) {
        if let Memory::Recovering(r) = &self.memory {
            if r.fence.is_none() {
                self.broadcast(Message::Probe {
                    http: self.cfg.http_port,
                });
            }
        }
    }

    pub(super) fn on_probe(&mut self, from: NodeId, boot: u32) {
        // A takeover asking for real counts as promised here: its promisers
        // may include the prober's forgotten self, so the fence must reach
        // it (the candidate promises itself only once it leads).
        let promised = match &self.duty {
            super::Duty::Preparing(t) => self.promise.epoch().max(t.asking().unwrap_or_default()),
            _ => self.promise.epoch(),
        };
        let message = Message::Info {
            for_boot: boot,
            promised,
            active: !self.is_recovering(),
            http: self.cfg.http_port,
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
        self.promise.saw(promised.number);
        let (majority, others) = (self.cfg.majority(), self.cfg.members.len() - 1);
        let (id, own) = (self.cfg.id, self.promise.epoch());
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

    /// Notes the leader's end of log from a heartbeat naming this boot;
    /// finishes recovery once this node holds that far.
    pub(super) fn recovery_progress(&mut self, leader_last: Option<u64>) {
        let verified = self.ledger.verified().min(self.ledger.log.last().seq);
        let epoch = self.promise.epoch();
        let Memory::Recovering(r) = &mut self.memory else {
            return;
        };
        if let Some(last) = leader_last {
            // Any such heartbeat will do; a newer leader's history replaces
            // an older one's.
            if r.target.is_none_or(|(e, _)| e != epoch) {
                r.target = Some((epoch, last));
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
            let text = format!(
                "RECOVERED the board from leader {leader}: seq {}, {}",
                self.ledger.applied(),
                crate::words::count(self.board.len(), "entry", "entries")
            );
            self.story(super::events::Kind::Recovery, text);
        }
    }

    /// Drops whatever a half-finished recovery left, before adopting a log.
    pub(super) fn forget_everything(&mut self) {
        self.ledger.forget();
        self.board = Board::new();
        self.changes.push(super::applied::Change {
            seq: 0,
            effect: super::applied::Effect::Replaced,
        });
        self.transfer.forget();
    }
}
