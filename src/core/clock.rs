//! The protocol's clock: the caller's time with every step back removed.
//!
//! Every timer in the core is a deadline in this clock. Were a step back of
//! the caller's clock (a system clock set back, a faked clock) taken as it
//! comes, every deadline set before it would lie that much further off, and a
//! node would wait out the step before suspecting a dead leader. So a step
//! back counts as no time passing, and time runs on from there.

use std::time::Duration;

use super::Time;

#[derive(Clone, Copy, Debug)]
pub(super) struct Clock {
    /// The caller's latest time.
    last: Time,
    /// How far this clock runs ahead of the caller's: the sum of its steps back.
    ahead: Duration,
}

impl Clock {
    pub(super) fn new(now: Time) -> Clock {
        Clock {
            last: now,
            ahead: Duration::ZERO,
        }
    }

    /// Protocol time at the caller's `now`, and the step back, if it took one.
    pub(super) fn read(&mut self, now: Time) -> (Time, Option<Duration>) {
        let step_back = (now < self.last).then(|| self.last.since(now));
        if let Some(back) = step_back {
            self.ahead += back;
        }
        self.last = now;
        (now + self.ahead, step_back)
    }

    /// Protocol time at the caller's `now`, for a view that changes nothing:
    /// a step back not seen yet reads as no time passing.
    pub(super) fn at(self, now: Time) -> Time {
        now.max(self.last) + self.ahead
    }

    /// A protocol deadline in the caller's time (when the caller must wake).
    pub(super) fn to_caller(self, deadline: Time) -> Time {
        let ahead = u64::try_from(self.ahead.as_micros()).unwrap_or(u64::MAX);
        Time(deadline.0.saturating_sub(ahead))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_back_counts_as_no_time_passing() {
        let mut clock = Clock::new(Time(1_000));
        assert_eq!(clock.read(Time(1_500)), (Time(1_500), None));
        // Back by 1,200 µs: protocol time stands still, then runs on.
        assert_eq!(
            clock.read(Time(300)),
            (Time(1_500), Some(Duration::from_micros(1_200)))
        );
        assert_eq!(clock.read(Time(400)), (Time(1_600), None));
        assert_eq!(clock.to_caller(Time(1_700)), Time(500));
    }
}
