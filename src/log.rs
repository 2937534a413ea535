//! The ordered log: entries after the last snapshot point, each tagged with
//! the epoch that created it. Memory follows the board, not the history:
//! entries below a point every member holds are compacted away.

use std::collections::VecDeque;

use crate::wire::{Entry, Epoch, LogPos};

#[derive(Clone, Debug, Default)]
pub struct Log {
    /// The last compacted entry: the point the board snapshot stands for.
    base: LogPos,
    /// Entries `base.seq + 1 ..= last`.
    entries: VecDeque<Entry>,
}

impl Log {
    pub fn base(&self) -> LogPos {
        self.base
    }

    pub fn last(&self) -> LogPos {
        match self.entries.back() {
            Some(entry) => LogPos {
                tag: entry.tag,
                seq: self.base.seq + self.entries.len() as u64,
            },
            None => self.base,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The epoch of the entry at `seq`, if this log still knows it.
    pub fn tag_at(&self, seq: u64) -> Option<Epoch> {
        if seq == self.base.seq {
            return Some(self.base.tag);
        }
        self.get(seq).map(|entry| entry.tag)
    }

    pub fn pos_at(&self, seq: u64) -> Option<LogPos> {
        self.tag_at(seq).map(|tag| LogPos { tag, seq })
    }

    /// True if this log holds `pos`, and so (log matching) everything before it.
    pub fn holds(&self, pos: LogPos) -> bool {
        self.tag_at(pos.seq) == Some(pos.tag)
    }

    pub fn get(&self, seq: u64) -> Option<&Entry> {
        let index = seq.checked_sub(self.base.seq + 1)?;
        self.entries.get(usize::try_from(index).ok()?)
    }

    /// Entries after `seq`, in order.
    pub fn after(&self, seq: u64) -> impl Iterator<Item = &Entry> {
        let skip = seq.saturating_sub(self.base.seq);
        self.entries
            .iter()
            .skip(usize::try_from(skip).unwrap_or(usize::MAX))
    }

    pub fn push(&mut self, entry: Entry) -> u64 {
        self.entries.push_back(entry);
        self.last().seq
    }

    /// Drops every entry after `seq` (never below the base).
    pub fn truncate_after(&mut self, seq: u64) {
        let keep = seq.saturating_sub(self.base.seq);
        self.entries
            .truncate(usize::try_from(keep).unwrap_or(usize::MAX));
    }

    /// Forgets entries up to `seq`, which must be applied to the board.
    pub fn compact_to(&mut self, seq: u64) {
        let Some(pos) = self.pos_at(seq) else { return };
        if seq <= self.base.seq {
            return;
        }
        let drop = usize::try_from(seq - self.base.seq).unwrap_or(usize::MAX);
        self.entries.drain(..drop.min(self.entries.len()));
        self.base = pos;
    }

    /// Starts over from a snapshot taken at `base`.
    pub fn reset(&mut self, base: LogPos) {
        self.entries.clear();
        self.base = base;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Command;

    fn epoch(number: u64) -> Epoch {
        Epoch {
            number,
            leader: 1,
            boot: 0,
        }
    }

    fn entry(number: u64) -> Entry {
        Entry {
            tag: epoch(number),
            command: Command::Noop,
        }
    }

    #[test]
    fn positions_follow_pushes_truncation_and_compaction() {
        let mut log = Log::default();
        assert_eq!(log.last(), LogPos::default());
        for e in [1, 1, 2, 2, 3] {
            log.push(entry(e));
        }
        assert_eq!(
            log.last(),
            LogPos {
                tag: epoch(3),
                seq: 5
            }
        );
        assert!(log.holds(LogPos {
            tag: epoch(2),
            seq: 4
        }));
        assert!(!log.holds(LogPos {
            tag: epoch(1),
            seq: 4
        }));
        log.truncate_after(3);
        assert_eq!(log.last().seq, 3);
        log.compact_to(2);
        assert_eq!(
            log.base(),
            LogPos {
                tag: epoch(1),
                seq: 2
            }
        );
        assert_eq!(log.len(), 1);
        assert!(log.get(2).is_none(), "compacted entries are gone");
        assert_eq!(
            log.tag_at(2),
            Some(epoch(1)),
            "but the base position is kept"
        );
        assert_eq!(log.after(2).count(), 1);
        assert_eq!(log.after(0).count(), 1);
        log.truncate_after(0);
        assert_eq!(log.last(), log.base(), "never truncates below the base");
    }

    #[test]
    fn out_of_range_queries_are_none() {
        let mut log = Log::default();
        log.push(entry(1));
        assert!(log.get(0).is_none());
        assert!(log.get(2).is_none());
        assert!(log.get(u64::MAX).is_none());
        assert!(log.tag_at(u64::MAX).is_none());
        log.compact_to(u64::MAX);
        assert_eq!(log.last().seq, 1);
    }

    #[test]
    fn reset_starts_from_a_snapshot() {
        let mut log = Log::default();
        log.push(entry(1));
        let base = LogPos {
            tag: epoch(4),
            seq: 90,
        };
        log.reset(base);
        assert_eq!(log.last(), base);
        assert_eq!(log.push(entry(4)), 91);
    }
}
