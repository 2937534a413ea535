//! Catch-up by pulling. A node that lacks entries (a follower after lost
//! appends, a rebooted node, a new leader adopting a better log) asks a peer
//! of the same epoch for what follows its log; the peer answers with a window
//! of `Entries`, or, when it has compacted that far, with the board snapshot
//! in frame-sized `Chunk`s followed by the log tail. The puller drives it:
//! it asks again at the end of each window, and on a heartbeat if a window
//! got lost, so there is no per-peer send state to go stale.

use std::rc::Rc;
use std::time::Duration;

use log::{info, warn};

use super::{Duty, Node, Time};
use crate::board::Board;
use crate::wire::{self, Entry, Epoch, LogPos, Message, NodeId, SnapshotCursor, PAYLOAD_BUDGET};

/// Datagrams sent per pull: enough to keep a LAN busy, few enough that a lost
/// one costs little.
const WINDOW: usize = 8;
/// Largest snapshot accepted (the board is bounded well below this).
const MAX_SNAPSHOT: u32 = 512 << 20;

/// This node's part in catch-up: the pull it drives and the snapshot it
/// serves, each at most one. Other parts may start a pull (a gap, a better
/// log to adopt), end it (a new promise or duty makes its epoch moot) or
/// drop both (a forgotten log); all else moves with the transfer's own
/// messages and timers.
#[derive(Clone, Debug, Default)]
pub(super) struct Transfer {
    pull: Option<Pulling>,
    snapshot: Option<SnapshotCache>,
}

#[derive(Clone, Debug)]
struct Pulling {
    from: NodeId,
    epoch: Epoch,
    asked_at: Time,
    assembly: Option<Assembly>,
}

/// A snapshot being received.
#[derive(Clone, Debug)]
struct Assembly {
    at: LogPos,
    total: u32,
    data: Vec<u8>,
}

/// An encoded snapshot kept while peers download it.
#[derive(Clone, Debug)]
struct SnapshotCache {
    at: LogPos,
    bytes: Rc<Vec<u8>>,
    used_at: Time,
}

/// What a chunk did to the snapshot being received.
enum Received {
    /// Not ours, out of order, or inconsistent: dropped.
    Dropped,
    /// Added; more to come.
    Part,
    /// The last part: the whole snapshot.
    Whole(Assembly),
}

impl Transfer {
    /// Ends the pull under way, if any: its epoch is no longer this node's.
    pub(super) fn stop_pull(&mut self) {
        self.pull = None;
    }

    /// Drops the pull and the served snapshot, with the log they were of.
    pub(super) fn forget(&mut self) {
        *self = Transfer::default();
    }

    /// The pull under way, for failure reports.
    pub(super) fn describe(&self) -> Option<String> {
        let p = self.pull.as_ref()?;
        Some(format!(
            "from {} in {}{}",
            p.from,
            p.epoch,
            p.assembly.as_ref().map_or(String::new(), |a| format!(
                " snapshot {}/{} at {}",
                a.data.len(),
                a.total,
                a.at.seq
            ))
        ))
    }

    /// Starts pulling from `from` in `epoch`; false if that pull is under way.
    fn start(&mut self, now: Time, from: NodeId, epoch: Epoch) -> bool {
        if self.pulling_from(from, epoch) {
            return false;
        }
        self.pull = Some(Pulling {
            from,
            epoch,
            asked_at: now,
            assembly: None,
        });
        true
    }

    /// Whom to ask, in which epoch, and where a snapshot resumes: the pull
    /// under way, marked as asked `now`.
    fn ask(&mut self, now: Time) -> Option<(NodeId, Epoch, Option<SnapshotCursor>)> {
        let p = self.pull.as_mut()?;
        p.asked_at = now;
        let cursor = p.assembly.as_ref().map(|a| SnapshotCursor {
            at: a.at,
            offset: a.data.len() as u32,
        });
        Some((p.from, p.epoch, cursor))
    }

    /// When an unanswered pull is asked again.
    fn retry_at(&self, every: Duration) -> Option<Time> {
        Some(self.pull.as_ref()?.asked_at + every)
    }

    /// When the served snapshot is dropped if nobody downloads it.
    fn idle_at(&self, after: Duration) -> Option<Time> {
        Some(self.snapshot.as_ref()?.used_at + after)
    }

    fn drop_snapshot(&mut self) {
        self.snapshot = None;
    }

    /// The snapshot to serve to `cursor` (a download under way) or to a
    /// fresh download of a log that begins at `base`, if the kept one is it.
    fn kept_snapshot(
        &mut self,
        now: Time,
        cursor: Option<SnapshotCursor>,
        base: u64,
    ) -> Option<(LogPos, Rc<Vec<u8>>)> {
        let s = self.snapshot.as_mut()?;
        let fits = match cursor {
            Some(c) => c.at == s.at,
            None => s.at.seq >= base,
        };
        if !fits {
            return None;
        }
        s.used_at = now;
        Some((s.at, Rc::clone(&s.bytes)))
    }

    /// Keeps a new snapshot for serving.
    fn keep_snapshot(&mut self, now: Time, at: LogPos, bytes: Vec<u8>) -> (LogPos, Rc<Vec<u8>>) {
        let bytes = Rc::new(bytes);
        self.snapshot = Some(SnapshotCache {
            at,
            bytes: Rc::clone(&bytes),
            used_at: now,
        });
        (at, bytes)
    }

    fn pulling_from(&self, from: NodeId, epoch: Epoch) -> bool {
        self.pull
            .as_ref()
            .is_some_and(|p| p.from == from && p.epoch == epoch)
    }

    /// Entries are taken from the pull's peer, and not while a snapshot is
    /// coming in (they would follow a log the snapshot replaces).
    fn takes_entries_from(&self, from: NodeId, epoch: Epoch) -> bool {
        self.pulling_from(from, epoch) && self.pull.as_ref().is_some_and(|p| p.assembly.is_none())
    }

    /// Adds a chunk to the snapshot being received.
    #[allow(clippy::too_many_arguments)]
    fn receive(
        &mut self,
        from: NodeId,
        epoch: Epoch,
        at: LogPos,
        total: u32,
        offset: u32,
        data: &[u8],
        commit: u64,
    ) -> Received {
        if !self.pulling_from(from, epoch) || total > MAX_SNAPSHOT {
            return Received::Dropped;
        }
        let Some(p) = &mut self.pull else {
            return Received::Dropped;
        };
        if p.assembly.as_ref().is_none_or(|a| a.at != at) {
            if offset != 0 || at.seq < commit {
                return Received::Dropped;
            }
            p.assembly = Some(Assembly {
                at,
                total,
                data: Vec::new(),
            });
        }
        let Some(a) = &mut p.assembly else {
            return Received::Dropped;
        };
        if a.total != total || offset as usize != a.data.len() {
            // Out of order (a loss): the next ask resumes at what we hold.
            return Received::Dropped;
        }
        if a.data.len() + data.len() > total as usize {
            p.assembly = None;
            return Received::Dropped;
        }
        a.data.extend_from_slice(data);
        if a.data.len() < total as usize {
            return Received::Part;
        }
        match p.assembly.take() {
            Some(whole) => Received::Whole(whole),
            None => Received::Dropped,
        }
    }
}

impl Node {
    pub(super) fn start_pull(&mut self, now: Time, from: NodeId, epoch: Epoch) {
        if self.transfer.start(now, from, epoch) {
            self.ask(now);
        }
    }

    fn ask(&mut self, now: Time) {
        let Some((to, epoch, snapshot)) = self.transfer.ask(now) else {
            return;
        };
        let message = Message::Pull {
            epoch,
            last: self.ledger.log.last(),
            commit: self.ledger.commit(),
            snapshot,
        };
        self.send(to, message);
    }

    /// The peer's committed history differs from ours: possible only past
    /// the honest limit (a majority lost its memory). The peer is
    /// authoritative -- our leader, or the best log our takeover found -- so
    /// its history replaces ours.
    fn take_history_of(&mut self, now: Time, from: NodeId, epoch: Epoch) {
        warn!(
            "node {}: committed history differs from node {from}'s (a majority lost its \
             memory earlier); replacing this node's board (seq {}) with that one",
            self.cfg.id,
            self.ledger.applied()
        );
        self.forget_everything();
        self.start_pull(now, from, epoch);
    }

    /// When an unanswered pull is asked again (a window went missing).
    pub(super) fn pull_retry_at(&self) -> Option<Time> {
        self.transfer.retry_at(self.cfg.heartbeat)
    }

    /// When a snapshot nobody downloads is dropped.
    pub(super) fn snapshot_idle_at(&self) -> Option<Time> {
        self.transfer.idle_at(self.snapshot_idle())
    }

    pub(super) fn retry_pull(&mut self, now: Time) {
        if self.pull_retry_at().is_some_and(|t| now >= t) {
            self.ask(now);
        }
    }

    pub(super) fn drop_idle_snapshot(&mut self, now: Time) {
        if self.snapshot_idle_at().is_some_and(|t| now >= t) {
            self.transfer.drop_snapshot();
        }
    }

    /// Longer than any download's pause between windows.
    fn snapshot_idle(&self) -> Duration {
        self.cfg.timeout * 4 + Duration::from_micros(1)
    }

    /// Serves a pull from a member of the same epoch.
    pub(super) fn on_pull(
        &mut self,
        now: Time,
        from: NodeId,
        epoch: Epoch,
        last: LogPos,
        commit: u64,
        snapshot: Option<SnapshotCursor>,
    ) {
        // Only a log frozen by a promise of `epoch` (or its leader's) is served.
        if epoch != self.promise.epoch() || self.is_recovering() {
            return;
        }
        if let Some(cursor) = snapshot {
            self.serve_snapshot(now, from, epoch, Some(cursor));
            return;
        }
        let start = if self.ledger.log.holds(last) {
            last.seq
        } else {
            // Committed entries are the same everywhere: resend from there.
            commit
                .min(self.ledger.commit())
                .min(self.ledger.log.last().seq)
        };
        if start < self.ledger.log.base().seq {
            self.serve_snapshot(now, from, epoch, None);
            return;
        }
        self.serve_entries(from, epoch, start);
    }

    fn serve_entries(&mut self, to: NodeId, epoch: Epoch, start: u64) {
        let mut next = start;
        for sent in 0..WINDOW {
            let Some(prev) = self.ledger.log.pos_at(next) else {
                return;
            };
            let mut entries: Vec<Entry> = Vec::new();
            let mut size = 0;
            for entry in self.ledger.log.after(next) {
                let len = wire::encoded_len(entry);
                if !entries.is_empty() && size + len > PAYLOAD_BUDGET {
                    break;
                }
                size += len;
                entries.push(entry.clone());
            }
            next += entries.len() as u64;
            let done = entries.is_empty() || next >= self.ledger.log.last().seq;
            let end_of_batch = done || sent + 1 == WINDOW;
            self.send(
                to,
                Message::Entries {
                    epoch,
                    prev,
                    entries,
                    end_of_batch,
                },
            );
            if done {
                return;
            }
        }
    }

    fn serve_snapshot(
        &mut self,
        now: Time,
        to: NodeId,
        epoch: Epoch,
        cursor: Option<SnapshotCursor>,
    ) {
        let kept = self
            .transfer
            .kept_snapshot(now, cursor, self.ledger.log.base().seq);
        let (at, bytes) = match kept {
            Some(kept) => kept,
            None => {
                let Some(at) = self.ledger.log.pos_at(self.ledger.applied()) else {
                    return;
                };
                self.transfer.keep_snapshot(now, at, self.board.encode())
            }
        };
        let mut offset = match cursor {
            Some(c) if c.at == at => c.offset as usize,
            _ => 0,
        };
        let total = bytes.len();
        let Ok(total32) = u32::try_from(total) else {
            warn!("node {}: board too large to snapshot", self.cfg.id);
            return;
        };
        for sent in 0..WINDOW {
            let end = (offset + PAYLOAD_BUDGET).min(total);
            let data = bytes.get(offset..end).unwrap_or_default().to_vec();
            let end_of_batch = end >= total || sent + 1 == WINDOW;
            self.send(
                to,
                Message::Chunk {
                    epoch,
                    at,
                    total: total32,
                    offset: offset as u32,
                    data,
                    end_of_batch,
                },
            );
            offset = end;
            if end >= total {
                return;
            }
        }
    }

    pub(super) fn on_entries(
        &mut self,
        now: Time,
        from: NodeId,
        epoch: Epoch,
        prev: LogPos,
        entries: Vec<Entry>,
        end_of_batch: bool,
    ) {
        if !self.transfer.takes_entries_from(from, epoch) {
            return;
        }
        let caught_up = entries.is_empty();
        if !self.ledger.log.holds(prev) && prev.seq <= self.ledger.commit() {
            self.take_history_of(now, from, epoch);
            return;
        }
        if self.ledger.log.holds(prev) {
            let end = self.store(prev, entries);
            if self.ledger.diverged() {
                // The same, found past `prev`: an entry that conflicts with
                // one committed here (`store` refused it). Pulling again
                // would refuse it again, for ever.
                self.take_history_of(now, from, epoch);
                return;
            }
            if matches!(self.duty, Duty::Follower(_)) {
                self.ledger.verify(end);
            }
            self.acks.news();
        }
        self.fetch_progress(now);
        self.recovery_progress(None);
        if caught_up {
            self.transfer.stop_pull();
        } else if end_of_batch {
            self.ask(now);
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn on_chunk(
        &mut self,
        now: Time,
        from: NodeId,
        epoch: Epoch,
        at: LogPos,
        total: u32,
        offset: u32,
        data: Vec<u8>,
        end_of_batch: bool,
    ) {
        match self
            .transfer
            .receive(from, epoch, at, total, offset, &data, self.ledger.commit())
        {
            Received::Dropped => {}
            Received::Part => {
                if end_of_batch {
                    self.ask(now);
                }
            }
            Received::Whole(a) => {
                self.install_snapshot(a.at, &a.data);
                self.fetch_progress(now);
                self.recovery_progress(None);
                self.ask(now);
            }
        }
    }

    fn install_snapshot(&mut self, at: LogPos, bytes: &[u8]) {
        let Some(board) = Board::decode(bytes) else {
            warn!(
                "node {}: received a snapshot that does not decode",
                self.cfg.id
            );
            return;
        };
        if at.seq < self.ledger.commit() {
            return;
        }
        info!(
            "node {}: installed snapshot at seq {} ({}, {} bytes)",
            self.cfg.id,
            at.seq,
            crate::words::count(board.len(), "entry", "entries"),
            bytes.len()
        );
        self.board = board;
        self.changes.push(super::applied::Change {
            seq: at.seq,
            effect: super::applied::Effect::Replaced,
        });
        self.ledger
            .install(at, matches!(self.duty, Duty::Follower(_)));
        self.answer_requests_in_snapshot();
        self.acks.news();
    }
}
