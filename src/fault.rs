//! Faults for demonstrations (`POST /fault`, only with `--allow-faults`):
//! crash and reboot, cut off, lose a share of datagrams; each for a few
//! seconds, then over by itself, or healed early. They live in the driver,
//! between the socket and the protocol core, which never knows: to it a cut
//! is silence and a crash is a new boot. Inert unless a fault is started.

use std::time::{Duration, Instant};

/// The longest a fault lasts.
pub const MAX_SECONDS: u64 = 600;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Lose every datagram and all state, answer nothing, and come back
    /// after `seconds` as a new boot with no memory.
    Crash { seconds: u64 },
    /// Drop every datagram in and out for `seconds`.
    Cutoff { seconds: u64 },
    /// Drop `percent` % of datagrams in and out for `seconds`.
    Loss { percent: u8, seconds: u64 },
    /// End every fault now.
    Heal,
}

impl Fault {
    /// From the form of `POST /fault`: `action=crash|cutoff|loss|heal`,
    /// `seconds=S` (1..=600, default 5), `percent=P` (1..=100, for loss).
    pub fn from_form(form: &[(String, String)]) -> Result<Fault, String> {
        let field = |name: &str| {
            form.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let seconds = match field("seconds") {
            None => 5,
            Some(s) => match s.parse::<u64>() {
                Ok(n) if (1..=MAX_SECONDS).contains(&n) => n,
                _ => {
                    return Err(format!(
                        "`seconds` must be a whole number from 1 to {MAX_SECONDS}"
                    ))
                }
            },
        };
        match field("action") {
            Some("crash") => Ok(Fault::Crash { seconds }),
            Some("cutoff") => Ok(Fault::Cutoff { seconds }),
            Some("loss") => match field("percent").map(str::parse::<u8>) {
                Some(Ok(percent)) if (1..=100).contains(&percent) => {
                    Ok(Fault::Loss { percent, seconds })
                }
                _ => Err("`percent` must be a whole number from 1 to 100".to_owned()),
            },
            Some("heal") => Ok(Fault::Heal),
            _ => Err("`action` must be crash, cutoff, loss or heal".to_owned()),
        }
    }

    pub fn describe(self) -> String {
        match self {
            Fault::Crash { seconds } => {
                format!("crashed (a demo fault): no memory, back in {seconds} s")
            }
            Fault::Cutoff { seconds } => {
                format!("cut off (a demo fault): every datagram dropped for {seconds} s")
            }
            Fault::Loss { percent, seconds } => {
                format!("losing {percent}% of datagrams (a demo fault) for {seconds} s")
            }
            Fault::Heal => "faults healed".to_owned(),
        }
    }
}

/// The faults in force.
#[derive(Debug, Default)]
pub struct Faults {
    down_until: Option<Instant>,
    cut_until: Option<Instant>,
    loss: Option<(u8, Instant)>,
}

/// What ended at a [`Faults::expire`].
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Ended {
    /// A crash is over: the node must come back as a new boot.
    pub reboot: bool,
    /// Words for the timeline, one per fault that ended.
    pub notes: Vec<&'static str>,
}

impl Faults {
    pub fn start(&mut self, fault: Fault, now: Instant) {
        let until = |seconds: u64| now + Duration::from_secs(seconds);
        match fault {
            Fault::Crash { seconds } => self.down_until = Some(until(seconds)),
            Fault::Cutoff { seconds } => self.cut_until = Some(until(seconds)),
            Fault::Loss { percent, seconds } => self.loss = Some((percent, until(seconds))),
            Fault::Heal => {
                // A crash healed early reboots at once.
                self.down_until = self.down_until.map(|_| now);
                self.cut_until = self.cut_until.map(|_| now);
                self.loss = self.loss.map(|(p, _)| (p, now));
            }
        }
    }

    /// Ends the faults whose time is up.
    pub fn expire(&mut self, now: Instant) -> Ended {
        let mut ended = Ended::default();
        if self.down_until.is_some_and(|t| now >= t) {
            self.down_until = None;
            ended.reboot = true;
            ended
                .notes
                .push("back from the crash: rebooted with no memory");
        }
        if self.cut_until.is_some_and(|t| now >= t) {
            self.cut_until = None;
            ended.notes.push("cut-off over: datagrams flow again");
        }
        if self.loss.is_some_and(|(_, t)| now >= t) {
            self.loss = None;
            ended.notes.push("datagram loss over");
        }
        ended
    }

    /// Down after a crash: the node answers nothing and hears nothing.
    pub fn down(&self) -> bool {
        self.down_until.is_some()
    }

    /// Whether a datagram (either way) is dropped; `roll` draws uniformly
    /// in 0..100, only while a loss is in force (so an inert layer costs
    /// no draw per datagram).
    pub fn drops(&self, roll: impl FnOnce() -> u8) -> bool {
        self.down_until.is_some()
            || self.cut_until.is_some()
            || self.loss.is_some_and(|(percent, _)| roll() < percent)
    }

    /// The faults in force, in words (for `/status`), with the time left.
    pub fn describe(&self) -> Option<String> {
        let now = Instant::now();
        let left = |t: Instant| t.saturating_duration_since(now).as_secs_f32();
        let mut words = Vec::new();
        if let Some(t) = self.down_until {
            words.push(format!("crashed, rebooting in {:.1} s", left(t)));
        }
        if let Some(t) = self.cut_until {
            words.push(format!("cut off for {:.1} s more", left(t)));
        }
        if let Some((percent, t)) = self.loss {
            words.push(format!(
                "losing {percent}% of datagrams for {:.1} s more",
                left(t)
            ));
        }
        (!words.is_empty()).then(|| words.join("; "))
    }

    /// When the next fault ends, for the event loop's wait.
    pub fn next_end(&self) -> Option<Instant> {
        [self.down_until, self.cut_until, self.loss.map(|(_, t)| t)]
            .into_iter()
            .flatten()
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn forms_name_a_fault_or_say_what_is_wrong() {
        assert_eq!(
            Fault::from_form(&form(&[("action", "crash"), ("seconds", "2")])),
            Ok(Fault::Crash { seconds: 2 })
        );
        assert_eq!(
            Fault::from_form(&form(&[("action", "cutoff")])),
            Ok(Fault::Cutoff { seconds: 5 })
        );
        assert_eq!(
            Fault::from_form(&form(&[
                ("action", "loss"),
                ("percent", "30"),
                ("seconds", "9")
            ])),
            Ok(Fault::Loss {
                percent: 30,
                seconds: 9
            })
        );
        for bad in [
            &[("action", "explode")][..],
            &[("seconds", "3")],
            &[("action", "crash"), ("seconds", "0")],
            &[("action", "crash"), ("seconds", "601")],
            &[("action", "loss"), ("percent", "0")],
            &[("action", "loss"), ("percent", "101")],
            &[("action", "loss")],
        ] {
            assert!(Fault::from_form(&form(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn faults_end_by_themselves_or_when_healed() {
        let t0 = Instant::now();
        let mut f = Faults::default();
        assert!(!f.drops(|| 0), "inert until a fault starts");
        f.start(
            Fault::Loss {
                percent: 30,
                seconds: 4,
            },
            t0,
        );
        assert!(f.drops(|| 29) && !f.drops(|| 30));
        f.start(Fault::Crash { seconds: 2 }, t0);
        assert!(f.down() && f.drops(|| 99));
        assert_eq!(f.next_end(), Some(t0 + Duration::from_secs(2)));
        let ended = f.expire(t0 + Duration::from_secs(2));
        assert!(ended.reboot && !f.down());
        assert!(f.drops(|| 0), "the loss goes on");
        f.start(Fault::Heal, t0 + Duration::from_secs(3));
        let ended = f.expire(t0 + Duration::from_secs(3));
        assert_eq!(
            ended,
            Ended {
                reboot: false,
                notes: vec!["datagram loss over"]
            }
        );
        assert!(!f.drops(|| 0) && f.next_end().is_none());
    }
}
