//! The change feed behind `GET /changes?since=S`: the board's latest
//! changes, so that a page following a board of 200,000 entries downloads
//! what changed rather than the whole board after every post. Kept by the
//! driver from the core's [`Change`]s and bounded in bytes; a `since` it can
//! no longer answer from (older than what it keeps, or past this node's
//! board, as after a reboot) gets the whole board once, marked as a reset.

use std::collections::VecDeque;

use crate::answers::{self, to_json};
use crate::core::applied::{Change, Effect};

/// Bytes of changes kept (texts plus a fixed cost each): a page that falls
/// further behind than this starts over from the whole board.
pub const KEPT_BYTES: usize = 1 << 20;

/// An answer stops adding changes past this many bytes; the client asks
/// again from the answer's seq for the rest.
pub const ANSWER_BYTES: usize = 256 * 1024;

/// What a kept change costs beyond its text (its seq, id, kind, the deque).
const OVERHEAD: usize = 48;

#[derive(Debug, Default)]
pub struct Feed {
    /// Every change after this seq is kept (none at or before it is).
    base: u64,
    changes: VecDeque<Change>,
    bytes: usize,
}

/// What `GET /changes?since=S` answers.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    /// The changes after `since`, as JSON.
    Changes(String),
    /// `since` is not a point the feed can continue from: the whole board.
    Reset,
}

impl Feed {
    /// Takes the core's next change.
    pub fn take(&mut self, change: Change) {
        if change.effect == Effect::Replaced {
            self.restart(change.seq);
            return;
        }
        self.bytes += cost(&change);
        self.changes.push_back(change);
        while self.bytes > KEPT_BYTES {
            let Some(oldest) = self.changes.pop_front() else {
                break;
            };
            self.bytes -= cost(&oldest);
            self.base = oldest.seq;
        }
    }

    /// Forgets every change: the board now stands at `seq` with no history.
    pub fn restart(&mut self, seq: u64) {
        self.base = seq;
        self.changes.clear();
        self.bytes = 0;
    }

    /// The changes after `since`, the board being at `applied`.
    pub fn answer(&self, since: u64, applied: u64) -> Answer {
        if since < self.base || since > applied {
            return Answer::Reset;
        }
        let start = self.changes.partition_point(|c| c.seq <= since);
        // As many as fit in the bound, and always one.
        let mut end = start;
        let mut length = 0;
        while let Some(change) = self.changes.get(end) {
            if end > start && length + cost(change) > ANSWER_BYTES {
                break;
            }
            length += cost(change);
            end += 1;
        }
        let more = end < self.changes.len();
        let upto = match more {
            true => self.changes[end - 1].seq,
            false => applied,
        };
        let changes = answers::Changes {
            seq: upto,
            reset: false,
            more,
            ops: self.changes.range(start..end).map(answer).collect(),
            entries: None,
        };
        Answer::Changes(to_json(&changes))
    }

    /// Changes kept.
    pub fn len(&self) -> usize {
        self.changes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Bytes the kept changes stand for (see [`KEPT_BYTES`]).
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

/// The reset answer: the board's JSON (`{"seq":..,"entries":[..]}`) with the
/// marker in front.
pub fn reset_body(board_json: &[u8]) -> Vec<u8> {
    let rest = board_json.strip_prefix(b"{").unwrap_or(board_json);
    let mut body = Vec::with_capacity(board_json.len() + 16);
    body.extend_from_slice(b"{\"reset\":true,");
    body.extend_from_slice(rest);
    body
}

fn cost(change: &Change) -> usize {
    OVERHEAD
        + match &change.effect {
            Effect::Added { text, .. } | Effect::Modified { text, .. } => text.len(),
            Effect::Deleted { .. } | Effect::Replaced => 0,
        }
}

fn answer(change: &Change) -> answers::Change<'_> {
    let op = match &change.effect {
        Effect::Added { id, text } => answers::Op::Add {
            id: *id,
            text: text.as_str().into(),
        },
        Effect::Modified { id, text } => answers::Op::Modify {
            id: *id,
            text: text.as_str().into(),
        },
        Effect::Deleted { id } => answers::Op::Delete { id: *id },
        // Never kept: a replacement restarts the feed.
        Effect::Replaced => answers::Op::Reset,
    };
    answers::Change {
        seq: change.seq,
        op,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(seq: u64, effect: Effect) -> Change {
        Change { seq, effect }
    }

    fn add(seq: u64, id: u64, text: &str) -> Change {
        change(
            seq,
            Effect::Added {
                id,
                text: text.into(),
            },
        )
    }

    fn json(answer: Answer) -> serde_json::Value {
        match answer {
            Answer::Changes(body) => serde_json::from_str(&body).expect("valid JSON"),
            Answer::Reset => panic!("expected changes, got a reset"),
        }
    }

    #[test]
    fn answers_the_changes_after_since_in_order() {
        let mut feed = Feed::default();
        feed.take(add(1, 1, "one"));
        feed.take(add(2, 2, "two \"quoted\""));
        // seq 3 changed nothing (a duplicate): no change, but the seq moves.
        feed.take(change(
            4,
            Effect::Modified {
                id: 1,
                text: "uno".into(),
            },
        ));
        feed.take(change(5, Effect::Deleted { id: 2 }));
        let all = json(feed.answer(0, 6));
        assert_eq!(all["seq"], 6, "the answer reaches the board's seq");
        assert_eq!(all["reset"], false);
        assert_eq!(all["more"], false);
        let ops = all["ops"].as_array().unwrap();
        let seqs: Vec<u64> = ops.iter().map(|o| o["seq"].as_u64().unwrap()).collect();
        assert_eq!(seqs, [1, 2, 4, 5]);
        assert_eq!(ops[1]["text"], "two \"quoted\"");
        assert_eq!(ops[2]["op"], "modify");
        assert_eq!(ops[3]["op"], "delete");
        assert!(ops[3].get("text").is_none());

        let tail = json(feed.answer(2, 6));
        let seqs: Vec<u64> = tail["ops"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["seq"].as_u64().unwrap())
            .collect();
        assert_eq!(seqs, [4, 5]);
        let none = json(feed.answer(6, 6));
        assert_eq!(none["ops"].as_array().unwrap().len(), 0);
    }

    #[test]
    fn a_since_it_cannot_continue_from_is_a_reset() {
        let mut feed = Feed::default();
        feed.take(add(1, 1, "one"));
        assert_eq!(feed.answer(7, 1), Answer::Reset, "past the board: a reboot");
        feed.take(change(40, Effect::Replaced));
        feed.take(add(41, 30, "after the snapshot"));
        assert_eq!(feed.answer(1, 41), Answer::Reset, "before the snapshot");
        assert_eq!(json(feed.answer(40, 41))["ops"][0]["id"], 30);
    }

    #[test]
    fn memory_is_bounded_and_the_forgotten_start_over() {
        let mut feed = Feed::default();
        let text = "x".repeat(1000);
        let mut seq = 0;
        while seq < 3 * (KEPT_BYTES / 1000) as u64 {
            seq += 1;
            feed.take(add(seq, seq, &text));
        }
        assert!(feed.bytes() <= KEPT_BYTES);
        assert!(feed.len() > KEPT_BYTES / (1000 + OVERHEAD) - 2);
        assert_eq!(feed.answer(1, seq), Answer::Reset, "the oldest are gone");
        let from = seq - feed.len() as u64;
        assert!(matches!(feed.answer(from, seq), Answer::Changes(_)));
        assert_eq!(feed.answer(from - 1, seq), Answer::Reset);
    }

    #[test]
    fn an_answer_is_bounded_and_says_there_is_more() {
        let mut feed = Feed::default();
        let text = "y".repeat(1000);
        for seq in 1..=600 {
            feed.take(add(seq, seq, &text));
        }
        let mut since = 0;
        let mut seen = 0;
        for _ in 0..10 {
            let Answer::Changes(body) = feed.answer(since, 600) else {
                panic!("reset")
            };
            assert!(
                body.len() <= ANSWER_BYTES + 4096,
                "answer of {} bytes",
                body.len()
            );
            let page: serde_json::Value = serde_json::from_str(&body).unwrap();
            let ops = page["ops"].as_array().unwrap();
            assert_eq!(
                ops[0]["seq"],
                since + 1,
                "continues where the last answer ended"
            );
            seen += ops.len();
            since = page["seq"].as_u64().unwrap();
            if page["more"] == false {
                break;
            }
        }
        assert_eq!(seen, 600);
        assert_eq!(since, 600);
    }

    #[test]
    fn the_reset_is_the_board_with_its_marker() {
        let board = br#"{"seq":3,"entries":[{"id":1,"text":"a"}]}"#;
        let reset: serde_json::Value = serde_json::from_slice(&reset_body(board)).unwrap();
        assert_eq!(reset["reset"], true);
        assert_eq!(reset["seq"], 3);
        assert_eq!(reset["entries"][0]["text"], "a");
    }
}
