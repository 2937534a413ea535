//! The node's timers, each named by what it waits for. Every part keeps its
//! own deadline (a request its expiry, a pull when it asked, a takeover its
//! give-up time); this table reads them, so that [`Node::poll_timeout`] is
//! the earliest and [`Node::handle_timeout`] runs exactly the ones due. No
//! timer waits for an unrelated one: a request expires at its deadline, not
//! at the next heartbeat tick.
//!
//! [`Node::poll_timeout`]: super::Node::poll_timeout
//! [`Node::handle_timeout`]: super::Node::handle_timeout

use super::{Duty, Node, Time};

/// One timer, by what it waits for. In the order they run when several are
/// due at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    /// The earliest client write's timeout (answered 503).
    RequestExpiry,
    /// The earliest linearizable read's timeout, or a follower's ask of
    /// the leader unanswered for a heartbeat.
    Read,
    /// A pull unanswered for a heartbeat: ask again.
    PullRetry,
    /// A snapshot kept for downloads nobody made for four timeouts.
    SnapshotIdle,
    /// A takeover's give-up time, or the end of its wait for members with
    /// state before a fresh start.
    Takeover,
    /// The heartbeat period: a leader's heartbeat and compaction, a
    /// takeover's re-sent Prepares, a recovering node's probes.
    Tick,
    /// A follower's suspicion of its leader (or of having none).
    Suspicion,
    /// A candidate's wait for a higher rank to take over.
    Campaign,
}

impl Timer {
    pub const ALL: [Timer; 8] = [
        Timer::RequestExpiry,
        Timer::Read,
        Timer::PullRetry,
        Timer::SnapshotIdle,
        Timer::Takeover,
        Timer::Tick,
        Timer::Suspicion,
        Timer::Campaign,
    ];
}

impl Node {
    /// When `timer` fires next, in protocol time; none while it waits for
    /// nothing.
    pub(super) fn due(&self, timer: Timer) -> Option<Time> {
        match timer {
            Timer::RequestExpiry => self.request_expiry(),
            Timer::Read => self.reads.due(self.cfg.heartbeat),
            Timer::PullRetry => self.pull_retry_at(),
            Timer::SnapshotIdle => self.snapshot_idle_at(),
            Timer::Takeover => self.takeover_due(),
            Timer::Tick => Some(self.next_tick),
            Timer::Suspicion => match &self.duty {
                Duty::Follower(f) => Some(f.deadline),
                _ => None,
            },
            Timer::Campaign => match &self.duty {
                Duty::Candidate(c) => Some(c.deadline),
                _ => None,
            },
        }
    }

    /// Runs `timer`'s work; it is due at `now`.
    pub(super) fn fire(&mut self, timer: Timer, now: Time) {
        match timer {
            Timer::RequestExpiry => self.expire_requests(now),
            Timer::Read => self.advance_reads(now),
            Timer::PullRetry => self.retry_pull(now),
            Timer::SnapshotIdle => self.drop_idle_snapshot(now),
            Timer::Takeover => self.takeover_timer(now),
            Timer::Tick => {
                self.next_tick = now + self.cfg.heartbeat;
                self.tick(now);
            }
            Timer::Suspicion => self.campaign(now),
            Timer::Campaign => self.campaign_timed_out(now),
        }
    }

    /// Every timer and when it fires next, in the caller's time (for tests).
    pub fn timers(&self) -> Vec<(Timer, Time)> {
        Timer::ALL
            .iter()
            .filter_map(|&t| self.due(t).map(|at| (t, self.clock.to_caller(at))))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::core::Config;
    use crate::wire::Op;

    /// A node whose heartbeat tick comes every 10 s, with a 1 s timeout
    /// for clients and nothing else due soon; its first tick is done.
    fn ticking_every_ten_seconds() -> Node {
        let config = Config {
            heartbeat: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(1),
            ..Config::new(1, vec![1, 2, 3])
        };
        let mut node = Node::new(config, 7, Time(0));
        node.handle_timeout(Time(0));
        node
    }

    #[test]
    fn a_write_expires_at_its_own_deadline_not_at_the_next_tick() {
        let mut node = ticking_every_ten_seconds();
        node.handle_request(Time(0), 1, Op::Add { text: "x".into() });
        let deadline = Time(1_000_000);
        assert!(node.timers().contains(&(Timer::RequestExpiry, deadline)));
        assert_eq!(node.poll_timeout(), deadline, "the earliest timer");
        node.handle_timeout(deadline);
        let reply = node.poll_reply().expect("answered at its deadline");
        assert_eq!((reply.token, reply.result.is_err()), (1, true));
        assert_eq!(
            node.poll_timeout(),
            Time(10_000_000),
            "then the next tick: nothing else waits"
        );
    }

    #[test]
    fn a_read_expires_at_its_own_deadline_not_at_the_next_tick() {
        let mut node = ticking_every_ten_seconds();
        node.handle_read(Time(0), 2);
        let deadline = Time(1_000_000);
        assert!(node.timers().contains(&(Timer::Read, deadline)));
        node.handle_timeout(deadline);
        let reply = node.poll_read().expect("answered at its deadline");
        assert_eq!((reply.token, reply.result.is_err()), (2, true));
        assert!(!node.timers().iter().any(|(t, _)| *t == Timer::Read));
    }
}
