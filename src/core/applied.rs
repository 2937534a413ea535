//! What applying the log did to the board, change by change, for the
//! driver's change feed (`GET /changes`): an entry added, modified or
//! deleted at a seq, or the whole board replaced (a snapshot). Commands that
//! changed nothing (a duplicate, a modify of a missing id, a full board) only
//! advance the seq. The core keeps the latest few until the driver takes
//! them; were more to pile up, they collapse into one replacement, so a
//! simulation that never takes them stays bounded and a feed never misses a
//! change without knowing it.

use std::collections::VecDeque;

use super::Node;
use crate::board::Outcome;
use crate::wire::Op;

/// The most changes held between two polls by the driver.
pub const HELD: usize = 4096;

/// One change to the board, at the seq that made it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub seq: u64,
    pub effect: Effect,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    Added {
        id: u64,
        text: String,
    },
    Modified {
        id: u64,
        text: String,
    },
    Deleted {
        id: u64,
    },
    /// The board was replaced as it stands at `seq`: what came before is
    /// not a history of it.
    Replaced,
}

impl Effect {
    /// What an applied command did, if it changed the board.
    pub fn of(op: &Op, outcome: &Outcome) -> Option<Effect> {
        match (op, outcome) {
            (Op::Add { text }, Outcome::Added { id }) => Some(Effect::Added {
                id: *id,
                text: text.clone(),
            }),
            (Op::Modify { text, .. }, Outcome::Modified { id }) => Some(Effect::Modified {
                id: *id,
                text: text.clone(),
            }),
            (Op::Delete { .. }, Outcome::Deleted { id }) => Some(Effect::Deleted { id: *id }),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub(super) struct Changes {
    held: VecDeque<Change>,
}

impl Changes {
    pub(super) fn push(&mut self, change: Change) {
        if self.held.len() == HELD || change.effect == Effect::Replaced {
            // Nobody took the older ones: all the driver can still learn is
            // the board as it now stands.
            self.held.clear();
            self.held.push_back(Change {
                seq: change.seq,
                effect: Effect::Replaced,
            });
        } else {
            self.held.push_back(change);
        }
    }

    fn pop(&mut self) -> Option<Change> {
        self.held.pop_front()
    }
}

impl Node {
    /// The next change to the board, oldest first.
    pub fn poll_change(&mut self) -> Option<Change> {
        self.changes.pop()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn added(seq: u64) -> Change {
        Change {
            seq,
            effect: Effect::Added {
                id: seq,
                text: format!("e{seq}"),
            },
        }
    }

    #[test]
    fn a_replacement_or_an_overflow_leaves_only_the_board_as_it_stands() {
        let mut changes = Changes::default();
        changes.push(added(1));
        changes.push(Change {
            seq: 9,
            effect: Effect::Replaced,
        });
        changes.push(added(10));
        assert_eq!(
            changes.pop().map(|c| (c.seq, c.effect)),
            Some((9, Effect::Replaced))
        );
        assert_eq!(changes.pop(), Some(added(10)));
        assert_eq!(changes.pop(), None);

        for seq in 1..=HELD as u64 {
            changes.push(added(seq));
        }
        assert_eq!(changes.held.len(), HELD, "nothing lost below the bound");
        changes.push(added(HELD as u64 + 1));
        let replaced = Change {
            seq: HELD as u64 + 1,
            effect: Effect::Replaced,
        };
        assert_eq!(changes.pop(), Some(replaced));
        assert_eq!(changes.pop(), None);
    }

    #[test]
    fn only_commands_that_changed_the_board_are_changes() {
        let add = Op::Add { text: "hi".into() };
        assert_eq!(
            Effect::of(&add, &Outcome::Added { id: 3 }),
            Some(Effect::Added {
                id: 3,
                text: "hi".into()
            })
        );
        let modify = Op::Modify {
            id: 3,
            text: "yo".into(),
        };
        assert!(matches!(
            Effect::of(&modify, &Outcome::Modified { id: 3 }),
            Some(Effect::Modified { id: 3, .. })
        ));
        let delete = Op::Delete { id: 3 };
        assert_eq!(
            Effect::of(&delete, &Outcome::Deleted { id: 3 }),
            Some(Effect::Deleted { id: 3 })
        );
        for outcome in [
            Outcome::Duplicate,
            Outcome::Full,
            Outcome::NotFound { id: 3 },
        ] {
            assert_eq!(Effect::of(&add, &outcome), None);
            assert_eq!(Effect::of(&delete, &outcome), None);
        }
    }
}
