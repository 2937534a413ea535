//! A node's recent protocol events, numbered, timed and bounded: what
//! `GET /events?since=N` answers (the page's timeline). The core tells the
//! story ([`crate::core::events`]); the driver adds its own (faults) and
//! keeps the last [`KEPT`] here.

use std::collections::VecDeque;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::answers::{self, to_json};
use crate::core::events::Event;
use crate::wire::NodeId;

/// Events kept; older ones are forgotten (a `since` before them gets what is left).
pub const KEPT: usize = 2048;
/// Events in one answer at most, and roughly its largest body.
pub const PER_ANSWER: usize = 256;
pub const ANSWER_BYTES: usize = 64 * 1024;

struct Recorded {
    n: u64,
    /// Wall-clock ms since 1970, so that the timelines of several nodes
    /// on one machine (or synchronised ones) line up.
    t_ms: u64,
    event: Event,
}

pub struct Timeline {
    node: NodeId,
    kept: VecDeque<Recorded>,
    last: u64,
}

impl Timeline {
    pub fn new(node: NodeId) -> Timeline {
        Timeline {
            node,
            kept: VecDeque::new(),
            last: 0,
        }
    }

    pub fn record(&mut self, event: Event) {
        let t_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        if self.kept.len() == KEPT {
            self.kept.pop_front();
        }
        self.last += 1;
        self.kept.push_back(Recorded {
            n: self.last,
            t_ms,
            event,
        });
    }

    /// The number of the latest event (0 before any).
    pub fn last(&self) -> u64 {
        self.last
    }

    /// `{"next":M,"events":[...]}`: the events after `since`, oldest first,
    /// bounded; `next` is the `since` to ask with next time.
    pub fn answer(&self, since: u64) -> String {
        let start = self.kept.partition_point(|r| r.n <= since);
        let mut bytes = 0;
        let chosen: Vec<&Recorded> = (self.kept.iter().skip(start).take(PER_ANSWER))
            .take_while(|r| {
                bytes += r.event.text.len() + 96;
                bytes <= ANSWER_BYTES
            })
            .collect();
        let next = chosen.last().map_or(since.min(self.last), |r| r.n);
        let events = chosen
            .into_iter()
            .map(|r| answers::Event {
                n: r.n,
                t_ms: r.t_ms,
                node: self.node,
                kind: r.event.kind.name().into(),
                text: r.event.text.as_str().into(),
                from: r.event.from,
                to: r.event.to,
            })
            .collect();
        to_json(&answers::Events { next, events })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(text: &str) -> Event {
        Event {
            kind: crate::core::events::Kind::Role,
            text: text.to_owned(),
            from: None,
            to: Some(2),
        }
    }

    #[test]
    fn answers_what_came_after_since_in_order() {
        let mut t = Timeline::new(4);
        for k in 0..3 {
            t.record(event(&format!("e{k}")));
        }
        let all = t.answer(0);
        assert!(
            all.starts_with("{\"next\":3,\"events\":[{\"n\":1,"),
            "{all}"
        );
        assert!(all.contains("\"node\":4,\"kind\":\"role\",\"text\":\"e0\",\"from\":null,\"to\":2"));
        let later = t.answer(2);
        assert!(
            later.contains("\"text\":\"e2\"") && !later.contains("\"e1\""),
            "{later}"
        );
        assert_eq!(t.answer(3), "{\"next\":3,\"events\":[]}");
        assert_eq!(
            t.answer(99),
            "{\"next\":3,\"events\":[]}",
            "a since from the future"
        );
    }

    #[test]
    fn the_ring_and_its_answers_stay_bounded() {
        let mut t = Timeline::new(1);
        let long = "x".repeat(1000);
        for _ in 0..100_000 {
            t.record(event(&long));
        }
        assert_eq!(t.kept.len(), KEPT);
        assert_eq!(t.last(), 100_000);
        let answer = t.answer(0);
        assert!(
            answer.len() <= ANSWER_BYTES + 1200,
            "{} bytes",
            answer.len()
        );
        let first = 100_000 - KEPT as u64 + 1;
        assert!(
            answer.contains(&format!("{{\"n\":{first},")),
            "starts at the oldest kept"
        );
        // Paging through with `next` reaches the latest.
        let mut since = 0;
        for _ in 0..KEPT {
            let a = t.answer(since);
            let next: u64 = a["{\"next\":".len()..a.find(',').unwrap()].parse().unwrap();
            if next == since {
                break;
            }
            since = next;
        }
        assert_eq!(since, 100_000);
    }
}
