//! Exhaustive exploration of the real core: from a given cluster state,
//! every sequence of what may happen next, up to a depth, each checked
//! against the simulator's invariants after every step.
//!
//! What may happen next ([`Step`]): any datagram in flight is delivered,
//! dropped, or delivered and kept for a second delivery (so the network
//! reorders, loses and duplicates everything); any node's next timer fires;
//! any node's clock jumps past all its deadlines (a paused process, a
//! clock that runs fast); a node reboots and loses its memory; a client
//! writes or reads at any node. Reboots, writes, reads, duplicates and
//! clock jumps are bounded per path ([`Bounds`]).
//!
//! The nodes are the real [`crate::core::Node`], cloned at every branch;
//! the world's state (every node's [`Node::fingerprint`], the datagrams in
//! flight, the clocks, the checker's records (the trace check's ghosts
//! among them) and what is left of each bound) is hashed, and a state already explored with at least as much
//! depth left is not explored again, so interleavings that commute are
//! explored once. Depth-first, so the path to a violation is printed as
//! the story that leads to it.
//!
//! Time: each node's clock moves on its own, only forward, when its timer
//! fires or jumps; deliveries take no time. Safety must not depend on
//! timing, so every relation between the clocks is a fault it survives.
//!
//! [`Node::fingerprint`]: crate::core::Node::fingerprint

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::hash::{DefaultHasher, Hash, Hasher};

use super::{Clock, Sim};
use crate::core::Time;
use crate::wire::{self, NodeId};

/// How far to look.
#[derive(Clone, Copy, Debug)]
pub struct Bounds {
    /// Steps from the start state.
    pub depth: u8,
    pub reboots: u8,
    pub writes: u8,
    pub reads: u8,
    pub duplicates: u8,
    pub clock_jumps: u8,
}

/// One thing that happens next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Deliver(Datagram),
    Drop(Datagram),
    /// Delivered, and a copy stays in flight.
    Duplicate(Datagram),
    Timer(NodeId),
    ClockJump(NodeId),
    Reboot(NodeId),
    Write(NodeId),
    Read(NodeId),
}

/// A datagram in flight.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Datagram {
    pub from: NodeId,
    pub to: NodeId,
    pub payload: Vec<u8>,
}

impl std::fmt::Display for Datagram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match wire::decode(&self.payload) {
            Ok(envelope) => format!("{:?}", envelope.message),
            Err(err) => format!("undecodable ({err:?})"),
        };
        write!(f, "{} -> {}: {what}", self.from, self.to)
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::Deliver(d) => write!(f, "deliver {d}"),
            Step::Drop(d) => write!(f, "drop {d}"),
            Step::Duplicate(d) => write!(f, "deliver a copy of {d}"),
            Step::Timer(id) => write!(f, "timer of node {id}"),
            Step::ClockJump(id) => write!(f, "clock of node {id} jumps ahead"),
            Step::Reboot(id) => write!(f, "node {id} reboots"),
            Step::Write(id) => write!(f, "a client writes at node {id}"),
            Step::Read(id) => write!(f, "a client reads at node {id}"),
        }
    }
}

/// A path to a broken promise.
#[derive(Clone, Debug)]
pub struct Counterexample {
    pub steps: Vec<Step>,
    pub violations: Vec<String>,
}

impl std::fmt::Display for Counterexample {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, step) in self.steps.iter().enumerate() {
            writeln!(f, "{:>3}. {step}", i + 1)?;
        }
        write!(f, "broken: {}", self.violations.join("; "))
    }
}

/// What one exploration covered.
#[derive(Clone, Copy, Debug, Default)]
pub struct Explored {
    /// Distinct states reached (and checked).
    pub states: u64,
    /// Steps taken into a state already explored.
    pub revisits: u64,
}

/// The cluster as the explorer holds it: the simulator (its nodes and its
/// checker) with the network taken out, and what is left of each bound.
#[derive(Clone)]
struct World {
    sim: Sim,
    flight: BTreeSet<Datagram>,
    left: Bounds,
}

impl World {
    fn new(mut sim: Sim, bounds: Bounds) -> World {
        sim.faults.loss = 0.0;
        sim.faults.duplicate = 0.0;
        sim.heal();
        let mut world = World {
            sim,
            flight: BTreeSet::new(),
            left: bounds,
        };
        world.collect();
        world
    }

    /// Moves what the nodes sent into the explorer's own set: the order the
    /// simulator would deliver in does not matter here.
    fn collect(&mut self) {
        while let Some(Reverse(d)) = self.sim.network.pop() {
            self.flight.insert(Datagram {
                from: d.from,
                to: d.to,
                payload: d.payload,
            });
        }
    }

    fn fingerprint(&self) -> u64 {
        let mut h = DefaultHasher::new();
        let sim = &self.sim;
        for (id, node) in &sim.nodes {
            id.hash(&mut h);
            match node {
                Some(node) => node.fingerprint(&mut h),
                None => 0u8.hash(&mut h),
            }
        }
        self.flight.hash(&mut h);
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = write!(
            text,
            "{:?}{:?}{:?}{:?}{:?}{:?}{:?}{:?}{:?}{}{:?}",
            sim.clocks,
            sim.leaders,
            sim.committed,
            sim.vouched,
            sim.checked,
            sim.commit_seen,
            sim.writes,
            sim.reads,
            self.left,
            sim.limit_crossed,
            sim.trace.ghosts(),
        );
        text.hash(&mut h);
        h.finish()
    }

    /// Every step possible from here.
    fn steps(&self) -> Vec<Step> {
        let mut steps = Vec::new();
        for d in &self.flight {
            if self.sim.is_up(d.to) {
                steps.push(Step::Deliver(d.clone()));
                if self.left.duplicates > 0 {
                    steps.push(Step::Duplicate(d.clone()));
                }
            }
        }
        // Reboot only while every member has its memory: a second memoryless
        // member of three would cross the honest limit, where the checks stop.
        let all_remember = self.sim.amnesiacs() == 0;
        for id in self.sim.members() {
            if !self.sim.is_up(id) {
                continue;
            }
            steps.push(Step::Timer(id));
            if self.left.clock_jumps > 0 {
                steps.push(Step::ClockJump(id));
            }
            if self.left.reboots > 0 && all_remember {
                steps.push(Step::Reboot(id));
            }
            if self.left.writes > 0 {
                steps.push(Step::Write(id));
            }
            if self.left.reads > 0 {
                steps.push(Step::Read(id));
            }
        }
        steps
    }

    fn take(&mut self, step: &Step) {
        match step {
            Step::Deliver(d) => {
                self.flight.remove(d);
                self.deliver(d);
            }
            Step::Drop(d) => {
                self.flight.remove(d);
            }
            Step::Duplicate(d) => {
                self.left.duplicates -= 1;
                self.deliver(d);
            }
            Step::Timer(id) => {
                let due = self.sim.node(*id).map(|n| n.poll_timeout());
                if let Some(due) = due {
                    self.fire(*id, due);
                }
            }
            Step::ClockJump(id) => {
                self.left.clock_jumps -= 1;
                let past = self.sim.config.timeout * 3;
                let at = self.sim.local_now(*id) + past;
                self.fire(*id, at);
            }
            Step::Reboot(id) => {
                self.left.reboots -= 1;
                self.sim.restart(*id);
            }
            Step::Write(id) => {
                self.left.writes -= 1;
                let text = format!("w{}", self.sim.next_token);
                self.sim.add(*id, &text);
            }
            Step::Read(id) => {
                self.left.reads -= 1;
                self.sim.read(*id);
            }
        }
        self.collect();
    }

    fn deliver(&mut self, d: &Datagram) {
        self.sim.hand(d.to, d.from, &d.payload);
    }

    /// Sets `id`'s clock to `at` (if that is ahead) and wakes it.
    fn fire(&mut self, id: NodeId, at: Time) {
        let local = self.sim.local_now(id).max(at);
        let slowdown = self.sim.clock(id).slowdown;
        self.sim.clocks.insert(
            id,
            Clock {
                real: self.sim.now,
                local,
                slowdown,
            },
        );
        if let Some(Some(node)) = self.sim.nodes.get_mut(&id) {
            node.handle_timeout(local);
        }
        self.sim.drain(id);
    }
}

/// Explores every path of at most `bounds.depth` steps from `start`;
/// `visited` carries over between calls, so that start states reached from
/// one another share their work. Returns the first path that breaks an
/// invariant.
pub fn explore(
    start: &Sim,
    bounds: Bounds,
    visited: &mut HashMap<u64, u8>,
    explored: &mut Explored,
) -> Result<(), Counterexample> {
    let world = World::new(start.clone(), bounds);
    if !world.sim.violations.is_empty() {
        return Err(Counterexample {
            steps: Vec::new(),
            violations: world.sim.violations.clone(),
        });
    }
    let mut path = Vec::new();
    dive(&world, bounds.depth, visited, explored, &mut path)
}

fn dive(
    world: &World,
    depth: u8,
    visited: &mut HashMap<u64, u8>,
    explored: &mut Explored,
    path: &mut Vec<Step>,
) -> Result<(), Counterexample> {
    if depth == 0 {
        return Ok(());
    }
    for step in world.steps() {
        let mut next = world.clone();
        next.take(&step);
        path.push(step);
        let mut violations = std::mem::take(&mut next.sim.violations);
        violations.extend(next.sim.applied_twice());
        if !violations.is_empty() {
            return Err(Counterexample {
                steps: path.clone(),
                violations,
            });
        }
        let seen = visited.entry(next.fingerprint()).or_insert(0);
        if *seen >= depth {
            explored.revisits += 1;
        } else {
            if *seen == 0 {
                explored.states += 1;
            }
            *seen = depth;
            dive(&next, depth - 1, visited, explored, path)?;
        }
        path.pop();
    }
    Ok(())
}

/// Start states along two 3-node stories, one state every `every` events
/// of the simulator (each story begins with a write replicated):
/// - a stale leader: the leader, its clock slow, cut off while the other
///   two elect a leader and commit a write without it, then the cut healed;
/// - failover: the leader crashed and replaced, then back and recovered.
pub fn story_states(seed: u64, every: usize) -> Vec<Sim> {
    let mut states = Vec::new();
    let mut count = 0usize;
    let mut run = |sim: &mut Sim, states: &mut Vec<Sim>, done: &dyn Fn(&Sim) -> bool| {
        for _ in 0..100_000 {
            if done(sim) || !sim.step() {
                break;
            }
            count += 1;
            if count % every == 0 {
                states.push(sim.clone());
            }
        }
    };
    let settled = |s: &Sim| s.settled() && s.live().count() == 3;
    for story in ["stale leader", "failover"] {
        let mut sim = Sim::new(3, seed);
        sim.run_until(std::time::Duration::from_secs(5), Sim::settled);
        states.push(sim.clone());
        let Some(leader) = sim.leader() else {
            continue;
        };
        sim.add(leader, "first");
        run(&mut sim, &mut states, &|s| {
            s.live().all(|n| n.commit() >= 2) && s.settled()
        });
        if story == "failover" {
            sim.crash(leader);
            run(&mut sim, &mut states, &|s| {
                s.settled() && s.leader() != Some(leader)
            });
            sim.restart(leader);
        } else {
            sim.slow_clock(leader, 50);
            sim.isolate(leader);
            let successor = |s: &Sim| {
                s.live()
                    .find(|n| n.id() != leader && n.leading().is_some())
                    .map(|n| n.id())
            };
            run(&mut sim, &mut states, &|s| successor(s).is_some());
            let Some(new) = successor(&sim) else {
                continue;
            };
            let token = sim.add(new, "second");
            run(&mut sim, &mut states, &|s| s.result(token).is_some());
            sim.heal();
            sim.slow_clock(leader, 1);
        }
        run(&mut sim, &mut states, &settled);
    }
    states
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The bounds `cargo test` explores: three steps of anything from every
    /// state of both stories (about 10 s).
    pub(crate) const CI: Bounds = Bounds {
        depth: 3,
        reboots: 1,
        writes: 1,
        reads: 1,
        duplicates: 1,
        clock_jumps: 1,
    };

    /// Explores from every state of both stories; the first broken promise,
    /// if any.
    pub(crate) fn around_stories(bounds: Bounds) -> (Explored, Option<Counterexample>) {
        let mut visited = HashMap::new();
        let mut explored = Explored::default();
        for start in story_states(1, 1) {
            if let Err(found) = explore(&start, bounds, &mut visited, &mut explored) {
                return (explored, Some(found));
            }
        }
        (explored, None)
    }

    #[test]
    fn every_short_path_from_every_state_of_the_stories_keeps_every_promise() {
        // BB_DEPTH=4 explores one step further (CI does, in a release build).
        let depth = std::env::var("BB_DEPTH").ok().and_then(|d| d.parse().ok());
        let bounds = Bounds {
            depth: depth.unwrap_or(CI.depth),
            ..CI
        };
        let started = std::time::Instant::now();
        let (explored, found) = around_stories(bounds);
        if let Some(found) = found {
            panic!("a path breaks a promise:\n{found}");
        }
        println!(
            "explored every path of {} steps from {} start states: {} states ({} revisits) in {:?}",
            bounds.depth,
            story_states(1, 1).len(),
            explored.states,
            explored.revisits,
            started.elapsed()
        );
        assert!(
            explored.states > 10_000,
            "explored too little: {explored:?}"
        );
    }

    #[test]
    fn the_stories_reach_every_phase() {
        let states = story_states(1, 1);
        let leaders: BTreeSet<_> = states.iter().filter_map(Sim::leader).collect();
        assert!(leaders.len() >= 2, "a failover: two leaders in turn");
        assert!(
            states
                .iter()
                .any(|s| s.live().filter(|n| n.leading().is_some()).count() == 2),
            "two nodes that lead at once (a stale leader and its successor)"
        );
        assert!(
            states.iter().any(|s| s.live().any(|n| n.is_recovering())),
            "a reboot's recovery"
        );
        assert!(states.iter().any(|s| s.live().count() == 2), "a crash");
    }
}
