//! The replicated state machine: the entries in their total order, and the
//! record of which client requests are already in it (with what they did, so
//! a node that learns of its own request through a snapshot can still tell
//! its client the id). Every node applies the same commands in the same order
//! and so holds the same `Board`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::core::breaks::{broken, Break};
use crate::wire::{NodeId, Op, Request, MAX_ENTRY_BYTES};

/// Most entries one board holds; an add beyond it is refused, so memory stays
/// bounded whatever clients do.
pub const MAX_ENTRIES: usize = 200_000;

/// What applying one command did.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Added {
        id: u64,
    },
    Modified {
        id: u64,
    },
    Deleted {
        id: u64,
    },
    NotFound {
        id: u64,
    },
    Full,
    /// The request was already applied (a retransmission): nothing changed.
    Duplicate,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Board {
    entries: BTreeMap<u64, String>,
    next_id: u64,
    sessions: BTreeMap<NodeId, Session>,
}

/// The requests of one origin's current incarnation that the board has seen.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
struct Session {
    boot: u32,
    /// Every request numbered below this is finished: its origin has its
    /// answer or gave up on it.
    floor: u64,
    /// Applied requests at or above `floor`: what each did, and at which seq.
    applied: BTreeMap<u64, (Outcome, u64)>,
}

impl Session {
    fn contains(&self, number: u64) -> bool {
        if broken(Break::Dedup) {
            return false;
        }
        number < self.floor || self.applied.contains_key(&number)
    }

    /// Forgets what the origin no longer waits for; memory stays bounded by
    /// the requests it has in flight.
    fn raise_floor(&mut self, floor: u64) {
        if floor > self.floor {
            self.floor = floor;
            self.applied = self.applied.split_off(&floor);
        }
    }
}

impl Board {
    pub fn new() -> Self {
        Self {
            next_id: 1,
            ..Self::default()
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries in total order (ids grow in the order adds were applied).
    pub fn entries(&self) -> impl Iterator<Item = (u64, &str)> {
        self.entries.iter().map(|(id, text)| (*id, text.as_str()))
    }

    pub fn get(&self, id: u64) -> Option<&str> {
        self.entries.get(&id).map(String::as_str)
    }

    /// True if this request (or a later one of a newer incarnation) is in.
    pub fn has_applied(&self, request: &Request) -> bool {
        self.sessions
            .get(&request.origin)
            .is_some_and(|s| s.boot == request.boot && s.contains(request.number))
    }

    /// What an applied request did and at which seq, while its origin may
    /// still ask.
    pub fn outcome_of(&self, request: &Request) -> Option<&(Outcome, u64)> {
        let session = self.sessions.get(&request.origin)?;
        (session.boot == request.boot)
            .then(|| session.applied.get(&request.number))
            .flatten()
    }

    /// Applies a request committed at `seq`.
    pub fn apply(&mut self, request: &Request, seq: u64) -> Outcome {
        let session = self.sessions.entry(request.origin).or_default();
        if session.boot != request.boot {
            // A new incarnation of the origin: the old one's requests are over.
            *session = Session {
                boot: request.boot,
                ..Session::default()
            };
        }
        session.raise_floor(request.finished_below);
        if session.contains(request.number) {
            return Outcome::Duplicate;
        }
        let number = request.number;
        let outcome = self.apply_op(&request.op);
        if let Some(session) = self.sessions.get_mut(&request.origin) {
            session.applied.insert(number, (outcome.clone(), seq));
        }
        outcome
    }

    fn apply_op(&mut self, op: &Op) -> Outcome {
        match op {
            Op::Add { text } => {
                if self.entries.len() >= MAX_ENTRIES {
                    return Outcome::Full;
                }
                let id = self.next_id;
                let Some(next) = id.checked_add(1) else {
                    return Outcome::Full;
                };
                self.next_id = next;
                self.entries.insert(id, text.clone());
                Outcome::Added { id }
            }
            Op::Modify { id, text } => match self.entries.get_mut(id) {
                Some(slot) => {
                    slot.clone_from(text);
                    Outcome::Modified { id: *id }
                }
                None => Outcome::NotFound { id: *id },
            },
            Op::Delete { id } => match self.entries.remove(id) {
                Some(_) => Outcome::Deleted { id: *id },
                None => Outcome::NotFound { id: *id },
            },
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        // Serialising owned maps and strings cannot fail.
        postcard::to_allocvec(self).expect("board serialises")
    }

    /// Decodes a snapshot, refusing one no real board could be: too many
    /// entries, over-long texts, or ids at or past the next id to give.
    pub fn decode(bytes: &[u8]) -> Option<Board> {
        let board: Board = postcard::from_bytes(bytes).ok()?;
        let consistent = board.entries.len() <= MAX_ENTRIES
            && board.next_id >= 1
            && board.next_id < crate::wire::PLAUSIBLE
            && board
                .entries
                .iter()
                .all(|(id, text)| *id >= 1 && *id < board.next_id && text.len() <= MAX_ENTRY_BYTES);
        consistent.then_some(board)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(origin: NodeId, number: u64, op: Op) -> Request {
        Request {
            origin,
            boot: 1,
            number,
            finished_below: 0,
            op,
        }
    }

    fn add(text: &str) -> Op {
        Op::Add { text: text.into() }
    }

    #[test]
    fn adds_get_increasing_ids_in_order() {
        let mut board = Board::new();
        assert_eq!(
            board.apply(&req(1, 0, add("a")), 1),
            Outcome::Added { id: 1 }
        );
        assert_eq!(
            board.apply(&req(2, 0, add("b")), 1),
            Outcome::Added { id: 2 }
        );
        let texts: Vec<_> = board.entries().collect();
        assert_eq!(texts, vec![(1, "a"), (2, "b")]);
    }

    #[test]
    fn modify_keeps_position_and_delete_removes() {
        let mut board = Board::new();
        board.apply(&req(1, 0, add("a")), 1);
        board.apply(&req(1, 1, add("b")), 1);
        let modify = Op::Modify {
            id: 1,
            text: "A".into(),
        };
        assert_eq!(
            board.apply(&req(1, 2, modify), 1),
            Outcome::Modified { id: 1 }
        );
        assert_eq!(
            board.apply(&req(1, 3, Op::Delete { id: 2 }), 1),
            Outcome::Deleted { id: 2 }
        );
        assert_eq!(board.entries().collect::<Vec<_>>(), vec![(1, "A")]);
    }

    #[test]
    fn unknown_ids_change_nothing() {
        let mut board = Board::new();
        board.apply(&req(1, 0, add("a")), 1);
        let before = board
            .entries()
            .map(|(i, t)| (i, t.to_owned()))
            .collect::<Vec<_>>();
        let modify = Op::Modify {
            id: 9,
            text: "x".into(),
        };
        assert_eq!(
            board.apply(&req(1, 1, modify), 1),
            Outcome::NotFound { id: 9 }
        );
        assert_eq!(
            board.apply(&req(1, 2, Op::Delete { id: 9 }), 1),
            Outcome::NotFound { id: 9 }
        );
        let after = board
            .entries()
            .map(|(i, t)| (i, t.to_owned()))
            .collect::<Vec<_>>();
        assert_eq!(before, after);
    }

    #[test]
    fn len_and_is_empty_count_the_entries() {
        let mut board = Board::new();
        assert_eq!(board.len(), 0);
        assert!(board.is_empty());
        board.apply(&req(1, 0, add("a")), 1);
        assert_eq!(board.len(), 1);
        assert!(!board.is_empty());
        board.apply(&req(1, 1, add("b")), 2);
        board.apply(&req(1, 2, add("c")), 3);
        assert_eq!(board.len(), 3);
        board.apply(&req(1, 3, Op::Delete { id: 2 }), 4);
        assert_eq!(board.len(), 2);
        board.apply(&req(1, 4, Op::Delete { id: 1 }), 5);
        board.apply(&req(1, 5, Op::Delete { id: 3 }), 6);
        assert_eq!(board.len(), 0);
        assert!(board.is_empty(), "emptied again by deletes");
    }

    #[test]
    fn get_finds_an_entry_by_id_until_it_is_deleted() {
        let mut board = Board::new();
        assert_eq!(board.get(1), None, "nothing added yet");
        board.apply(&req(1, 0, add("first")), 1);
        board.apply(&req(1, 1, add("second")), 2);
        assert_eq!(board.get(1), Some("first"));
        assert_eq!(board.get(2), Some("second"));
        assert_eq!(board.get(3), None, "an id not given yet");
        let modify = Op::Modify {
            id: 2,
            text: "".into(),
        };
        board.apply(&req(1, 2, modify), 3);
        assert_eq!(board.get(2), Some(""), "modified to an empty text");
        board.apply(&req(1, 3, Op::Delete { id: 1 }), 4);
        assert_eq!(board.get(1), None, "deleted");
    }

    #[test]
    fn a_retransmitted_request_applies_once() {
        let mut board = Board::new();
        let r = req(3, 5, add("once"));
        assert_eq!(board.apply(&r, 1), Outcome::Added { id: 1 });
        assert!(board.has_applied(&r));
        assert_eq!(board.apply(&r, 1), Outcome::Duplicate);
        assert_eq!(board.len(), 1);
    }

    #[test]
    fn finished_requests_are_forgotten_but_still_refused() {
        let mut board = Board::new();
        for n in 0..100 {
            let mut r = req(1, n, add("x"));
            r.finished_below = n.saturating_sub(2);
            board.apply(&r, n + 1);
        }
        let session = &board.sessions[&1];
        assert_eq!(session.floor, 97);
        assert_eq!(
            session.applied.len(),
            3,
            "only what the origin may still ask about"
        );
        assert!(board.has_applied(&req(1, 5, add("x"))), "finished: refused");
        // Request 120 was never applied, but its origin has since said that
        // everything below 150 is finished (applied or given up): refused.
        let mut late = req(1, 200, add("y"));
        late.finished_below = 150;
        board.apply(&late, 101);
        assert!(board.has_applied(&req(1, 120, add("z"))));
    }

    #[test]
    fn outcomes_are_remembered_for_the_origin() {
        let mut board = Board::new();
        board.apply(&req(1, 0, add("a")), 7);
        assert_eq!(
            board.outcome_of(&req(1, 0, add("a"))),
            Some(&(Outcome::Added { id: 1 }, 7))
        );
        assert_eq!(board.outcome_of(&req(1, 1, add("b"))), None);
    }

    #[test]
    fn a_new_incarnation_starts_a_new_session() {
        let mut board = Board::new();
        board.apply(&req(1, 0, add("a")), 1);
        let mut reborn = req(1, 0, add("b"));
        reborn.boot = 2;
        assert_eq!(board.apply(&reborn, 1), Outcome::Added { id: 2 });
    }

    #[test]
    fn impossible_snapshots_are_refused() {
        let mut board = Board::new();
        board.apply(&req(1, 0, add("a")), 1);
        let mut forged = board.clone();
        forged.next_id = u64::MAX;
        assert_eq!(
            Board::decode(&forged.encode()),
            None,
            "next id out of reach"
        );
        let mut forged = board.clone();
        forged.next_id = 1;
        assert_eq!(Board::decode(&forged.encode()), None, "an id not yet given");
        let mut forged = board;
        forged.entries.insert(0, "x".repeat(MAX_ENTRY_BYTES + 1));
        assert_eq!(
            Board::decode(&forged.encode()),
            None,
            "id 0, over-long text"
        );
    }

    #[test]
    fn a_snapshot_must_keep_its_next_id_below_the_plausible_bound() {
        // The same bound as every seq and epoch on the wire: ids stay far
        // from overflowing.
        let mut board = Board::new();
        board.apply(&req(1, 0, add("a")), 1);
        board.next_id = crate::wire::PLAUSIBLE - 1;
        assert_eq!(Board::decode(&board.encode()), Some(board.clone()));
        board.next_id = crate::wire::PLAUSIBLE;
        assert_eq!(Board::decode(&board.encode()), None);
    }

    #[test]
    fn snapshot_round_trips_and_garbage_is_refused() {
        let mut board = Board::new();
        board.apply(&req(1, 0, add("a")), 1);
        board.apply(&req(2, 0, add("ü")), 1);
        let bytes = board.encode();
        assert_eq!(Board::decode(&bytes), Some(board));
        assert_eq!(Board::decode(&bytes[..bytes.len() - 1]), None);
        assert_eq!(Board::decode(&[0xff; 16]), None);
    }
}
