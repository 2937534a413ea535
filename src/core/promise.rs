//! What this incarnation promised, and the highest epoch number it has seen.
//!
//! Two rules live here and nowhere else: a promise only ever rises (a member
//! that promised epoch `e` never promises below it, nor follows a leader
//! below it, so two leaders cannot both count it), and an epoch this node
//! starts is numbered above every number it has seen or promised (so a new
//! epoch outranks all it knows of).
//! Both marks are forgotten with everything else on a reboot; recovery
//! (`super::recovery`) is what makes that safe.

use super::breaks::{broken, Break};
use crate::wire::Epoch;

#[derive(Clone, Debug, Default)]
pub(super) struct Promise {
    promised: Epoch,
    /// At least `promised.number`: raised by every epoch heard of.
    highest_number: u64,
}

impl Promise {
    /// The highest epoch promised (the default epoch before any promise).
    pub(super) fn epoch(&self) -> Epoch {
        self.promised
    }

    /// Promises `epoch` if it is above the promise; says whether it was.
    pub(super) fn raise(&mut self, epoch: Epoch) -> bool {
        self.saw(epoch.number);
        if epoch <= self.promised {
            return false;
        }
        self.promised = epoch;
        true
    }

    /// True if this member promised above `epoch`: it must refuse that
    /// epoch's leader, whose successor it may have helped elect.
    pub(super) fn outranks(&self, epoch: Epoch) -> bool {
        epoch < self.promised && !broken(Break::StaleLeader)
    }

    /// Notes an epoch number heard of, promised or not.
    pub(super) fn saw(&mut self, number: u64) {
        self.highest_number = self.highest_number.max(number);
    }

    /// A number for an epoch this node starts: above all it has seen, and
    /// remembered as seen, so the next one is higher still.
    pub(super) fn next_number(&mut self) -> u64 {
        let number = self.highest_number.saturating_add(1);
        self.highest_number = number;
        number
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn epoch(number: u64, leader: u16) -> Epoch {
        Epoch {
            number,
            leader,
            boot: 0,
        }
    }

    #[test]
    fn a_promise_never_falls() {
        let mut p = Promise::default();
        assert!(p.raise(epoch(3, 2)));
        assert!(!p.raise(epoch(3, 1)), "same number, lower leader");
        assert!(!p.raise(epoch(2, 9)));
        assert!(!p.raise(epoch(3, 2)), "the same epoch is no new promise");
        assert_eq!(p.epoch(), epoch(3, 2));
        assert!(p.raise(epoch(3, 5)));
        assert_eq!(p.epoch(), epoch(3, 5));
    }

    #[test]
    fn a_new_epoch_is_numbered_above_all_seen() {
        let mut p = Promise::default();
        assert_eq!(p.next_number(), 1);
        p.saw(7);
        p.raise(epoch(4, 1));
        assert_eq!(p.next_number(), 8);
        assert_eq!(p.next_number(), 9, "a started number counts as seen");
        p.raise(epoch(12, 1));
        assert_eq!(p.next_number(), 13, "a promised number counts as seen");
    }
}
