//! Scenario scripts: a story of what happens to a cluster, one step a line,
//! run against the simulator. For example:
//!
//! ```text
//! cluster 5
//! stabilize                 # run until one leader, everyone following it
//! add 2 hello               # a client posts "hello" at node 2
//! await-acks                # run until every write is answered
//! crash leader              # the leader dies (remembered as `old`)
//! stabilize
//! restart old               # it comes back with an empty memory
//! expect converged          # run until all boards agree, then compare
//! expect board: hello
//! ```
//!
//! Steps: `cluster N`, `loss P`, `duplicate P`, `delay MIN MAX`, `run T`,
//! `stabilize [T]`, `add NODE TEXT`, `adds NODE COUNT [BYTES]`,
//! `modify NODE ID TEXT`, `delete NODE ID`, `read NODE` (a linearizable
//! read), `await-acks [T]` (until every write and read is answered),
//! `await new-epoch [T]` (until a node leads an epoch later than any so
//! far), `await commit [T]` (until the leader commits past everything
//! committed so far), `crash NODE`, `restart NODE|all`, `isolate NODE`,
//! `split-off NODE...` (those nodes together, cut from the rest),
//! `cut FROM TO`, `partition A,B|C,D,E`, `split A,B|C,D` (cut between those
//! groups only), `heal`, `slow NODE FACTOR` (its clock runs that many times
//! slower; 1 for real speed), `name NAME NODE`,
//! `name NAME shortest-log NODE,NODE...` (the one that does not lead with
//! the shortest log), `names NAME... others NODE,NODE...`
//! (the members not listed, in id order), `expect leader [NODE|not NODE]`,
//! `expect no-leader`, `expect converged [T]`, `expect board: TEXT, TEXT...`,
//! `expect acked N`, `expect unavailable N` (writes answered 503),
//! `expect reads-refused N`, `expect role NODE ROLE`,
//! `expect majority-lost`, `check`. `NODE` is a number, a name, `leader`,
//! `old` (the last node crashed or isolated) or `follower` (the lowest live
//! node that is neither); in a group, `rest` is every member no other group
//! lists. Times are like `300ms` or `2s`.

use std::collections::BTreeMap;
use std::time::Duration;

use super::Sim;
use crate::core::Role;
use crate::wire::{NodeId, Op};

/// Runs a script with one seed. On failure: the line, the seed and why.
pub fn run(script: &str, seed: u64) -> Result<Sim, String> {
    super::trace_if_asked();
    let mut story = Story {
        sim: None,
        seed,
        old: None,
        names: BTreeMap::new(),
        texts: 0,
    };
    for (number, line) in script.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        story
            .step(line)
            .map_err(|why| format!("line {} `{line}` (seed {seed}): {why}", number + 1))?;
    }
    let mut sim = story.sim.ok_or("the script never made a cluster")?;
    let problems = sim.check_final();
    if problems.is_empty() {
        Ok(sim)
    } else {
        Err(format!("seed {seed}: {}", problems.join("; ")))
    }
}

struct Story {
    sim: Option<Sim>,
    seed: u64,
    old: Option<NodeId>,
    names: BTreeMap<String, NodeId>,
    texts: u64,
}

const DEFAULT_LIMIT: Duration = Duration::from_secs(10);

impl Story {
    fn sim(&mut self) -> Result<&mut Sim, String> {
        self.sim
            .as_mut()
            .ok_or_else(|| "no cluster yet: start with `cluster N`".into())
    }

    fn step(&mut self, line: &str) -> Result<(), String> {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["cluster", n] => {
                self.sim = Some(Sim::new(number(n)?, self.seed));
            }
            ["loss", p] => self.sim()?.faults.loss = fraction(p)?,
            ["duplicate", p] => self.sim()?.faults.duplicate = fraction(p)?,
            ["delay", lo, hi] => self.sim()?.faults.delay = (duration(lo)?, duration(hi)?),
            ["run", t] => {
                let t = duration(t)?;
                self.sim()?.run_for(t);
            }
            ["stabilize", rest @ ..] => {
                let limit = limit(rest)?;
                if !self.sim()?.run_until(limit, Sim::settled) {
                    return Err(format!("no settled leader within {limit:?}"));
                }
            }
            ["add", node, text @ ..] => {
                let node = self.up(node)?;
                let text = text.join(" ");
                self.sim()?.add(node, &text);
            }
            ["adds", node, count, size @ ..] => {
                let node = self.up(node)?;
                let size: usize = match size {
                    [] => 0,
                    [bytes] => number(bytes)?,
                    _ => return Err("too many words".into()),
                };
                for _ in 0..number::<u64>(count)? {
                    self.texts += 1;
                    let mut text = format!("n{node}-w{}-", self.texts);
                    let pad = size.saturating_sub(text.len());
                    text.extend(std::iter::repeat_n('x', pad));
                    self.sim()?.add(node, &text);
                }
            }
            ["await", "new-epoch", rest @ ..] => {
                let limit = limit(rest)?;
                let before = self.sim()?.highest_led();
                if !self.sim()?.run_until(limit, |s| s.highest_led() > before) {
                    return Err(format!("no epoch after {before} began within {limit:?}"));
                }
            }
            ["await", "commit", rest @ ..] => {
                let limit = limit(rest)?;
                let before = self.sim()?.highest_committed();
                let past = |s: &Sim| {
                    s.leader()
                        .and_then(|l| s.node(l))
                        .is_some_and(|n| n.commit() > before)
                };
                if !self.sim()?.run_until(limit, past) {
                    return Err(format!("the leader committed nothing past seq {before}"));
                }
            }
            ["modify", node, id, text @ ..] => {
                let node = self.up(node)?;
                let op = Op::Modify {
                    id: number(id)?,
                    text: text.join(" "),
                };
                self.sim()?.write(node, op);
            }
            ["delete", node, id] => {
                let node = self.up(node)?;
                let op = Op::Delete { id: number(id)? };
                self.sim()?.write(node, op);
            }
            ["await-acks", rest @ ..] => {
                let limit = limit(rest)?;
                if !self.sim()?.run_until(limit, Sim::all_answered) {
                    return Err(format!("writes or reads unanswered after {limit:?}"));
                }
            }
            ["read", node] => {
                let node = self.up(node)?;
                self.sim()?.read(node);
            }
            ["crash", node] => {
                let node = self.node(node)?;
                self.old = Some(node);
                self.sim()?.crash(node);
            }
            ["restart", "all"] => {
                let sim = self.sim()?;
                for id in sim.members() {
                    if !sim.is_up(id) {
                        sim.restart(id);
                    }
                }
            }
            ["expect", "majority-lost"] => {
                if !self.sim()?.majority_ever_lost() {
                    return Err("a majority never lost its memory at once".into());
                }
            }
            ["restart", node] => {
                let node = self.node(node)?;
                self.sim()?.restart(node);
            }
            ["isolate", node] => {
                let node = self.node(node)?;
                self.old = Some(node);
                self.sim()?.isolate(node);
            }
            ["cut", from, to] => {
                let (from, to) = (self.node(from)?, self.node(to)?);
                self.sim()?.cut_one_way(from, to);
            }
            ["partition", spec] => {
                let groups = self.groups(spec)?;
                let refs: Vec<&[NodeId]> = groups.iter().map(Vec::as_slice).collect();
                self.sim()?.partition(&refs);
            }
            ["split-off", group @ ..] => {
                let group = group
                    .iter()
                    .map(|n| self.node(n))
                    .collect::<Result<Vec<_>, _>>()?;
                self.old = group.first().copied();
                let sim = self.sim()?;
                let rest: Vec<NodeId> = sim
                    .members()
                    .into_iter()
                    .filter(|m| !group.contains(m))
                    .collect();
                sim.partition(&[&group, &rest]);
            }
            ["split", spec] => {
                let groups = self.groups(spec)?;
                let [a, b] = groups.as_slice() else {
                    return Err("split takes two groups: A,B|C,D".into());
                };
                self.sim()?.split(a, b);
            }
            ["slow", node, factor] => {
                let node = self.node(node)?;
                let factor = number(factor)?;
                self.sim()?.slow_clock(node, factor);
            }
            ["name", name, "shortest-log", list] => {
                let candidates = self.group(list, &[])?;
                let sim = self.sim()?;
                let shortest = candidates
                    .into_iter()
                    .filter_map(|id| sim.node(id))
                    .filter(|n| n.leading().is_none())
                    .map(|n| (n.log().last().seq, n.id()))
                    .min()
                    .ok_or("none of them is up and follows")?;
                self.bind(name, shortest.1)?;
            }
            ["name", name, node] => {
                let node = self.node(node)?;
                self.bind(name, node)?;
            }
            ["names", rest @ ..] => {
                let Some(at) = rest.iter().position(|w| *w == "others") else {
                    return Err("names NAME... others NODE,NODE...".into());
                };
                let (names, listed) = (&rest[..at], &rest[at + 1..]);
                let excluded = match listed {
                    [list] => self.group(list, &[])?,
                    _ => return Err("names NAME... others NODE,NODE...".into()),
                };
                let others: Vec<NodeId> = self
                    .sim()?
                    .members()
                    .into_iter()
                    .filter(|m| !excluded.contains(m))
                    .collect();
                if names.len() > others.len() {
                    return Err(format!("only {} others to name", others.len()));
                }
                for (name, id) in names.iter().zip(others) {
                    self.bind(name, id)?;
                }
            }
            ["heal"] => self.sim()?.heal(),
            ["expect", "leader"] => {
                self.sim()?.leader().ok_or("no leader")?;
            }
            ["expect", "leader", "not", node] => {
                let node = self.node(node)?;
                let leader = self.sim()?.leader().ok_or("no leader")?;
                if leader == node {
                    return Err(format!("node {node} still leads"));
                }
            }
            ["expect", "leader", node] => {
                let node = self.node(node)?;
                let leader = self.sim()?.leader();
                if leader != Some(node) {
                    return Err(format!("leader is {leader:?}, not {node}"));
                }
            }
            ["expect", "no-leader"] => {
                if let Some(l) = self.sim()?.leader() {
                    return Err(format!("node {l} leads"));
                }
            }
            ["expect", "converged", rest @ ..] => {
                let limit = limit(rest)?;
                if !self.sim()?.run_until(limit, Sim::converged) {
                    let boards = self.sim()?.boards();
                    return Err(format!("boards differ after {limit:?}: {boards:?}"));
                }
            }
            ["expect", "board:", texts @ ..] => {
                let want: Vec<String> = texts
                    .join(" ")
                    .split(',')
                    .map(|t| t.trim().to_owned())
                    .filter(|t| !t.is_empty())
                    .collect();
                for (node, board) in self.sim()?.boards() {
                    let got: Vec<String> = board.into_iter().map(|(_, t)| t).collect();
                    if got != want {
                        return Err(format!("node {node} shows {got:?}, expected {want:?}"));
                    }
                }
            }
            ["expect", "acked", n] => {
                let want: usize = number(n)?;
                let got = self
                    .sim()?
                    .writes
                    .values()
                    .filter(|w| matches!(w.result, Some(Ok(_))))
                    .count();
                if got != want {
                    return Err(format!("{got} writes acknowledged, expected {want}"));
                }
            }
            ["expect", "unavailable", n] => {
                let want: usize = number(n)?;
                let got = self
                    .sim()?
                    .writes
                    .values()
                    .filter(|w| matches!(w.result, Some(Err(_))))
                    .count();
                if got != want {
                    return Err(format!("{got} writes answered 503, expected {want}"));
                }
            }
            ["expect", "reads-refused", n] => {
                let want: usize = number(n)?;
                let got = self
                    .sim()?
                    .reads
                    .values()
                    .filter(|r| matches!(r.result, Some(Err(_))))
                    .count();
                if got != want {
                    return Err(format!("{got} reads answered 503, expected {want}"));
                }
            }
            ["expect", "role", node, role] => {
                let node = self.node(node)?;
                let sim = self.sim()?;
                let got = sim.node(node).map(|n| n.role(sim.local_now(node)));
                let want = match *role {
                    "leader" => Role::Leader,
                    "follower" => Role::Follower,
                    "candidate" => Role::Candidate,
                    "recovering" => Role::Recovering,
                    other => return Err(format!("unknown role {other}")),
                };
                if got != Some(want) {
                    return Err(format!("node {node} is {got:?}, expected {want:?}"));
                }
            }
            ["check"] => {
                let problems = self.sim()?.check_final();
                if !problems.is_empty() {
                    return Err(problems.join("; "));
                }
            }
            _ => return Err("unknown step".into()),
        }
        Ok(())
    }

    /// A node a client can reach: writing to a dead node is a story bug.
    fn up(&mut self, word: &str) -> Result<NodeId, String> {
        let node = self.node(word)?;
        if self.sim()?.is_up(node) {
            Ok(node)
        } else {
            Err(format!("node {node} is down"))
        }
    }

    /// Groups like `A,B|C,D,rest`.
    fn groups(&mut self, spec: &str) -> Result<Vec<Vec<NodeId>>, String> {
        let parts: Vec<&str> = spec.split('|').collect();
        let mut named = Vec::new();
        for part in &parts {
            for word in part.split(',').filter(|w| *w != "rest") {
                named.push(self.node(word)?);
            }
        }
        parts.iter().map(|part| self.group(part, &named)).collect()
    }

    /// `A,B,rest`: `rest` stands for every member not in `named`.
    fn group(&mut self, list: &str, named: &[NodeId]) -> Result<Vec<NodeId>, String> {
        let mut group = Vec::new();
        for word in list.split(',') {
            if word == "rest" {
                let members = self.sim()?.members();
                group.extend(members.into_iter().filter(|m| !named.contains(m)));
            } else {
                group.push(self.node(word)?);
            }
        }
        Ok(group)
    }

    fn bind(&mut self, name: &str, id: NodeId) -> Result<(), String> {
        let reserved = ["leader", "old", "follower", "rest", "all", "others"];
        if reserved.contains(&name) || name.parse::<NodeId>().is_ok() {
            return Err(format!("`{name}` cannot be a name"));
        }
        self.names.insert(name.to_owned(), id);
        Ok(())
    }

    fn node(&mut self, word: &str) -> Result<NodeId, String> {
        if let Some(&id) = self.names.get(word) {
            return Ok(id);
        }
        match word {
            "leader" => self.sim()?.leader().ok_or_else(|| "no leader".into()),
            "old" => self
                .old
                .ok_or_else(|| "no node was crashed or isolated yet".into()),
            "follower" => {
                let (leader, old) = (self.sim()?.leader(), self.old);
                let sim = self.sim()?;
                sim.members()
                    .into_iter()
                    .find(|&id| sim.is_up(id) && Some(id) != leader && Some(id) != old)
                    .ok_or_else(|| "no live follower".into())
            }
            n => number(n),
        }
    }
}

fn number<T: std::str::FromStr>(word: &str) -> Result<T, String> {
    word.parse()
        .map_err(|_| format!("`{word}` is not a number"))
}

fn fraction(word: &str) -> Result<f64, String> {
    let p: f64 = number(word)?;
    if (0.0..=1.0).contains(&p) {
        Ok(p)
    } else {
        Err(format!("`{word}` is not between 0 and 1"))
    }
}

/// `250ms`, `2s` or `1.5s`.
pub fn duration(word: &str) -> Result<Duration, String> {
    let (value, unit) = if let Some(v) = word.strip_suffix("ms") {
        (v, 1e-3)
    } else if let Some(v) = word.strip_suffix('s') {
        (v, 1.0)
    } else {
        return Err(format!("`{word}` needs a unit: ms or s"));
    };
    let v: f64 = number(value)?;
    if !(0.0..1e6).contains(&v) {
        return Err(format!("`{word}` is out of range"));
    }
    Ok(Duration::from_secs_f64(v * unit))
}

fn limit(rest: &[&str]) -> Result<Duration, String> {
    match rest {
        [] => Ok(DEFAULT_LIMIT),
        [t] => duration(t),
        _ => Err("too many words".into()),
    }
}
