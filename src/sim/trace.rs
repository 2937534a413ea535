//! Trace validation: every step a node takes in a simulated run, seen
//! through the model's eyes, must be a transition the model of
//! `tests/model.rs` allows (or a stutter).
//!
//! The abstraction ([`Seen::of`]) keeps what the model keeps of a member:
//! whether it has memory and its fence, its promise, the end of its log and
//! its commit point, and the epoch it leads. Each rule below is the guard
//! of one of the model's transitions, checked against the real
//! [`crate::core::Node`] before and after each datagram, timer, request or
//! read it handles. The end-state invariants of [`super::Sim`] catch a
//! broken rule once its damage shows (a lost write, two leaders), often
//! dozens of steps later; these catch the step that breaks it, so that a
//! short exploration from a few states ([`super::explore`]) finds it too.
//!
//! The rules, by the model's transition (a recovering member may also
//! drop all it holds, as a crash does: it vouched for none of it):
//! - `promise`: a promise only rises (within one boot);
//! - `set_commit`: a commit point only rises, stays within the log, and the
//!   entry it stands on never changes;
//! - `on_append` (`follows`): a member's log changes only on a datagram of
//!   an epoch at or above its promise, and a recovering member's only from
//!   at or above its fence (or from the fresh start that counted this boot,
//!   once promised); a candidate's own takeover pulls are its own;
//! - `advance_commit`: a leader's commit point moves only onto an entry of
//!   its own epoch;
//! - `decide`: a node begins leading an epoch only once enough members
//!   (itself and those whose `Promise` or `NoState` of that epoch reached
//!   it) answered to meet every commit majority;
//! - `start_epoch`: and only from a log, up to its own epoch's entries, that
//!   enough of those answers leave best, holding every entry a promiser
//!   knows committed.

use std::collections::{BTreeMap, BTreeSet};

use crate::core::{Config, Node};
use crate::wire::{Epoch, Incarnation, LogPos, Message, NodeId};

/// What the model holds of one member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Seen {
    recovering: bool,
    fence: Option<Epoch>,
    promised: Epoch,
    last: LogPos,
    commit: u64,
    /// The entry the commit point stands on, while the log holds it.
    commit_at: Option<LogPos>,
    leading: Option<Epoch>,
}

impl Seen {
    fn of(node: &Node) -> Seen {
        let log = node.log();
        Seen {
            recovering: node.is_recovering(),
            fence: node.fence(),
            promised: node.promised(),
            last: log.last(),
            commit: node.commit(),
            commit_at: log.pos_at(node.commit()),
            leading: node.leading(),
        }
    }
}

/// What made a node step: the datagram it was handed, if any.
#[derive(Clone, Debug)]
pub(super) struct Cause {
    pub from: NodeId,
    pub message: Message,
}

/// The trace checker's memory: each member as last seen, and the answers
/// each candidate received (a ghost: the model's message set).
#[derive(Clone, Debug, Default)]
pub(super) struct Trace {
    seen: BTreeMap<NodeId, Seen>,
    /// Per candidate and epoch: who answered its takeover.
    answers: BTreeMap<(NodeId, Epoch), Answers>,
    /// Fresh starts whose heartbeat named a boot among those it counted:
    /// that boot may follow it unfenced.
    counted: BTreeSet<(Incarnation, Epoch)>,
}

/// Who answered a takeover: where each promiser's log ends and the last
/// entry it knows committed (`None`: a `NoState`).
type Answers = BTreeMap<NodeId, Option<(LogPos, LogPos)>>;

impl Trace {
    /// What the check remembers beyond the nodes' own state (`seen` is
    /// each node's state after its last step): part of the explorer's
    /// state hash.
    pub(super) fn ghosts(&self) -> impl std::fmt::Debug + '_ {
        (&self.answers, &self.counted)
    }

    /// `id` booted: a new member, with nothing in common with its last boot.
    pub(super) fn booted(&mut self, id: NodeId) {
        self.seen.remove(&id);
        self.answers.retain(|(to, _), _| *to != id);
        self.counted.retain(|(boot, _)| boot.id != id);
    }

    /// A datagram is handed to `to`, this boot of it.
    pub(super) fn delivering(&mut self, to: Incarnation, cause: &Cause) {
        if let Message::Heartbeat { epoch, fresh, .. } = &cause.message {
            if fresh.contains(&to) {
                self.counted.insert((to, *epoch));
            }
        }
        let to = to.id;
        let (epoch, answer) = match cause.message {
            Message::Promise {
                epoch,
                last,
                commit,
                trial: false,
            } => (epoch, Some((last, commit))),
            Message::NoState {
                epoch,
                trial: false,
            } => (epoch, None),
            _ => return,
        };
        self.answers
            .entry((to, epoch))
            .or_default()
            .insert(cause.from, answer);
    }

    /// `node` took a step (because of `cause`, if a datagram): is it one
    /// the model allows? Appends what it breaks to `found`.
    pub(super) fn step(
        &mut self,
        node: &Node,
        cause: Option<&Cause>,
        cfg: &Config,
        found: &mut Vec<String>,
    ) {
        let id = node.id();
        let now = Seen::of(node);
        let Some(before) = self.seen.insert(id, now) else {
            return;
        };
        let on = match cause {
            Some(c) => format!("{:?} from node {}", c.message.kind(), c.from),
            None => "its own timer or a client".to_owned(),
        };
        let mut broke = |rule: &str, why: String| {
            found.push(format!(
                "node {id} broke the model's {rule} on {on}: {why} (was {before:?}, is {now:?})"
            ));
        };
        if before.recovering && now.last == LogPos::default() && now.commit == 0 {
            // A memoryless member dropping what it half-recovered (to adopt
            // a log whole) vouched for none of it: the model's wipe.
            return;
        }
        if now.promised < before.promised {
            broke(
                "promise",
                format!(
                    "its promise fell from {} to {}",
                    before.promised, now.promised
                ),
            );
        }
        if now.commit < before.commit {
            broke(
                "set_commit",
                format!("its commit fell from {} to {}", before.commit, now.commit),
            );
        }
        if now.commit > now.last.seq {
            broke(
                "set_commit",
                format!(
                    "it commits {} past its log's end {}",
                    now.commit, now.last.seq
                ),
            );
        }
        if let (Some(was), Some(is)) = (before.commit_at, node.log().pos_at(before.commit)) {
            if was != is {
                broke(
                    "set_commit",
                    format!(
                        "its committed entry at seq {} changed from {was:?} to {is:?}",
                        was.seq
                    ),
                );
            }
        }
        if now.last != before.last && now.leading.is_none() {
            let counted = |epoch| self.counted.contains(&(node.incarnation(), epoch));
            follows(&before, id, cause, counted, &mut broke);
        }
        if let (Some(e), Some(was)) = (now.leading, before.leading) {
            if e == was && now.commit > before.commit && node.log().tag_at(now.commit) != Some(e) {
                broke(
                    "advance_commit",
                    format!(
                        "as leader of {e} it committed seq {}, an entry of epoch {:?}",
                        now.commit,
                        node.log().tag_at(now.commit)
                    ),
                );
            }
        }
        if let Some(e) = now.leading.filter(|e| before.leading != Some(*e)) {
            let mut answers = self.answers.get(&(id, e)).cloned().unwrap_or_default();
            let answered = answers.len();
            // Its own answer counts too.
            let own =
                (!before.recovering).then(|| (before.last, before.commit_at.unwrap_or_default()));
            answers.insert(id, own);
            adopts(node, e, &answers, cfg.enough(), &mut broke);
            if answered + 1 < cfg.enough() {
                broke(
                    "decide",
                    format!(
                        "it began leading {e} answered by {answered} member(s) besides itself, \
                         {} needed",
                        cfg.enough() - 1
                    ),
                );
            }
        }
        // A takeover at or below a promise is over: its answers are spent.
        self.answers
            .retain(|(to, e), _| *to != id || *e > now.promised);
    }
}

/// The guard of the model's `on_append`: may the datagram that changed a
/// log change it?
fn follows(
    before: &Seen,
    id: NodeId,
    cause: Option<&Cause>,
    counted: impl Fn(Epoch) -> bool,
    broke: &mut impl FnMut(&str, String),
) {
    let epoch = cause.and_then(|c| match c.message {
        Message::Append { epoch, .. }
        | Message::Heartbeat { epoch, .. }
        | Message::Entries { epoch, .. }
        | Message::Chunk { epoch, .. } => Some(epoch),
        _ => None,
    });
    let Some(epoch) = epoch else {
        // A log changes without a leader's datagram only by the node's own
        // hand: a reboot (a new member) or a takeover it leads.
        broke(
            "on_append",
            format!(
                "its log moved from {:?} without a leader's datagram",
                before.last
            ),
        );
        return;
    };
    if epoch.leader == id {
        return; // the answers to its own takeover's pull
    }
    if epoch < before.promised {
        broke(
            "on_append",
            format!(
                "it took entries from the leader of {epoch}, below its promise {}",
                before.promised
            ),
        );
    } else if before.recovering
        && before.fence.is_none_or(|f| epoch < f)
        && !(counted(epoch) && epoch == before.promised)
    {
        broke(
            "follows",
            format!(
                "recovering, it took entries from the leader of {epoch}, below its fence {:?}",
                before.fence
            ),
        );
    }
}

/// The guard of the model's `start_epoch`: a new leader's log, up to its
/// own epoch's entries, ranks at least as high as the best log of enough
/// answers to meet every commit majority (a log that cannot hold an entry
/// some promiser knows committed does not compete), and holds every such
/// entry. Answers that came after the takeover chose do not count, so the
/// check asks only that enough answers leave it nothing better.
fn adopts(
    node: &Node,
    epoch: Epoch,
    answers: &Answers,
    enough: usize,
    broke: &mut impl FnMut(&str, String),
) {
    let log = node.log();
    let mut adopted = log.last();
    while adopted.tag == epoch && adopted.seq > log.base().seq {
        match log.pos_at(adopted.seq - 1) {
            Some(pos) => adopted = pos,
            None => break,
        }
    }
    let commits: Vec<LogPos> = answers.values().flatten().map(|(_, c)| *c).collect();
    let holds_all = |last: &LogPos| commits.iter().all(|c| last.may_hold(*c));
    // Logs that compete and rank above the adopted one.
    let outranked: Vec<LogPos> = (answers.values().flatten())
        .map(|(last, _)| *last)
        .filter(|last| *last > adopted && holds_all(last))
        .collect();
    let fair = answers.len() - outranked.len();
    if fair < enough {
        broke(
            "start_epoch",
            format!(
                "it began leading {epoch} from a log ending at {adopted:?}, which only {fair} \
                 answer(s) leave best ({enough} needed); better: {outranked:?}"
            ),
        );
    }
    if (answers.values().flatten()).any(|(last, _)| holds_all(last)) {
        for commit in &commits {
            if commit.seq > log.base().seq && !log.holds(*commit) {
                broke(
                    "start_epoch",
                    format!("it began leading {epoch} without {commit:?}, which a promiser knows committed"),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::Sim;
    use std::time::Duration;

    /// A follower that has committed a write, as seen at two steps: once
    /// as it is, then as if it had lost its memory without rebooting.
    #[test]
    fn a_member_that_forgets_without_a_reboot_breaks_the_promise_and_commit_rules() {
        let mut sim = Sim::new(3, 1);
        assert!(sim.run_until(Duration::from_secs(5), Sim::settled));
        let leader = sim.leader().expect("settled");
        let token = sim.add(leader, "x");
        assert!(sim.run_until(Duration::from_secs(5), |s| s
            .live()
            .all(|n| n.commit() >= 2)
            && s.result(token).is_some()));
        let id = sim
            .members()
            .into_iter()
            .find(|&id| id != leader)
            .expect("3");
        let follower = sim.node(id).expect("up").clone();
        let mut config = sim.config.clone();
        config.id = id;
        let forgot = Node::new(config, 7, sim.local_now(id));

        let mut trace = Trace::default();
        let mut found = Vec::new();
        trace.step(&follower, None, &sim.config, &mut found);
        trace.step(&follower, None, &sim.config, &mut found);
        assert_eq!(found, Vec::<String>::new(), "a stutter is allowed");
        trace.step(&forgot, None, &sim.config, &mut found);
        for rule in ["promise", "set_commit", "on_append"] {
            let needle = format!("the model's {rule} ");
            assert!(
                found.iter().any(|f| f.contains(&needle)),
                "{rule} not named in {found:#?}"
            );
        }
    }
}
