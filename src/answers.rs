//! The JSON answers of the HTTP API as types: the node writes them with
//! serde_json, and the tools and the process tests read them with the same
//! types, so a renamed field breaks the build, not a string search.
//!
//! Texts are `Cow`: the node serialises borrowed ones straight from the
//! board; a reader gets owned ones.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::wire::NodeId;

/// Serialises an answer. Every answer type here is plain data (numbers,
/// strings, maps with string keys), which serde_json always writes.
pub fn to_json<T: Serialize>(answer: &T) -> String {
    serde_json::to_string(answer).expect("answers hold only plain data and string-keyed maps")
}

/// Any refusal: 4xx and 5xx answers.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Refusal<'a> {
    pub error: Cow<'a, str>,
}

/// A write's answer: the entry it made or touched (none for a repeated
/// request already applied) and the board's seq that holds it.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    pub id: Option<u64>,
    pub seq: u64,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Entry<'a> {
    pub id: u64,
    pub text: Cow<'a, str>,
}

/// `GET /board`: the same bytes at every node at the same seq.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Board<'a> {
    pub seq: u64,
    pub entries: Vec<Entry<'a>>,
}

impl Board<'_> {
    pub fn texts(&self) -> Vec<&str> {
        self.entries.iter().map(|e| &*e.text).collect()
    }
}

/// One change of `GET /changes`, in the board's order.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Change<'a> {
    pub seq: u64,
    #[serde(flatten)]
    pub op: Op<'a>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum Op<'a> {
    Add {
        id: u64,
        text: Cow<'a, str>,
    },
    Modify {
        id: u64,
        text: Cow<'a, str>,
    },
    Delete {
        id: u64,
    },
    /// The board was replaced (a snapshot): read it again.
    Reset,
}

/// `GET /changes?since=S`: the changes after S up to `seq`, or, when
/// `reset`, the whole board instead (`entries`).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Changes<'a> {
    pub seq: u64,
    pub reset: bool,
    #[serde(default)]
    pub more: bool,
    #[serde(default)]
    pub ops: Vec<Change<'a>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entries: Option<Vec<Entry<'a>>>,
}

/// `GET /events?since=N`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Events<'a> {
    /// The `since` to ask with next time.
    pub next: u64,
    pub events: Vec<Event<'a>>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Event<'a> {
    pub n: u64,
    /// Wall-clock ms since 1970, so that several nodes' timelines line up.
    pub t_ms: u64,
    pub node: NodeId,
    pub kind: Cow<'a, str>,
    pub text: Cow<'a, str>,
    pub from: Option<NodeId>,
    pub to: Option<NodeId>,
}

/// `POST /fault`'s answer: the fault now in force, in words.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct FaultStarted {
    pub fault: String,
}

/// A node's role as `/status` tells it; `unknown` for a member not heard.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Leader,
    Follower,
    Candidate,
    Recovering,
    #[default]
    Unknown,
}

impl From<crate::core::Role> for Role {
    fn from(role: crate::core::Role) -> Role {
        match role {
            crate::core::Role::Leader => Role::Leader,
            crate::core::Role::Follower => Role::Follower,
            crate::core::Role::Candidate => Role::Candidate,
            crate::core::Role::Recovering => Role::Recovering,
        }
    }
}

impl From<Option<crate::core::Role>> for Role {
    fn from(role: Option<crate::core::Role>) -> Role {
        role.map_or(Role::Unknown, Role::from)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Leader => "leader",
            Role::Follower => "follower",
            Role::Candidate => "candidate",
            Role::Recovering => "recovering",
            Role::Unknown => "unknown",
        })
    }
}

/// `GET /status`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub id: NodeId,
    pub attribute: u32,
    pub role: Role,
    pub leader: Option<NodeId>,
    pub epoch: u64,
    pub epoch_leader: NodeId,
    pub commit: u64,
    /// The board's seq: what this node has applied.
    pub seq: u64,
    pub http: String,
    pub version: String,
    pub pace: Pace,
    pub faults_allowed: bool,
    pub fault: Option<String>,
    pub leader_silent_ms: Option<u64>,
    pub peers: Vec<Peer>,
    pub counters: Counters,
}

#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    pub heartbeat_ms: u64,
    pub timeout_ms: u64,
}

/// One member as a node sees it (itself included).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub id: NodeId,
    pub addr: String,
    /// Its page: the host it is reached at, the port it told.
    pub http: Option<String>,
    pub alive: bool,
    pub last_heard_ms: Option<u64>,
    pub role: Role,
    pub attribute: Option<u32>,
    #[serde(rename = "self")]
    pub is_self: bool,
}

#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Traffic {
    pub datagrams: u64,
    pub bytes: u64,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct Counters {
    /// By message kind.
    pub sent: BTreeMap<String, Traffic>,
    pub received: BTreeMap<String, Traffic>,
    /// Refused datagrams by reason.
    pub dropped: BTreeMap<String, u64>,
    /// Elections this node called.
    pub elections: u64,
    /// The driver's own counters (HTTP side, strangers, reads, the feed).
    #[serde(flatten)]
    pub driver: BTreeMap<String, u64>,
}

impl Counters {
    /// A driver counter; 0 when this node does not keep it.
    pub fn get(&self, name: &str) -> u64 {
        self.driver.get(name).copied().unwrap_or(0)
    }

    /// Datagrams refused for `reason`; 0 when none were.
    pub fn dropped(&self, reason: &str) -> u64 {
        self.dropped.get(reason).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_board_reads_back_as_it_was_written() {
        let board = Board {
            seq: 5,
            entries: vec![
                Entry {
                    id: 1,
                    text: "one".into(),
                },
                Entry {
                    id: 2,
                    text: "two \"quoted\"\n<b>".into(),
                },
            ],
        };
        let json = to_json(&board);
        assert_eq!(
            json,
            r#"{"seq":5,"entries":[{"id":1,"text":"one"},{"id":2,"text":"two \"quoted\"\n<b>"}]}"#
        );
        let read: Board = serde_json::from_str(&json).unwrap();
        assert_eq!(read, board);
    }

    #[test]
    fn a_change_carries_its_op_beside_its_seq() {
        let change = Change {
            seq: 3,
            op: Op::Delete { id: 7 },
        };
        assert_eq!(to_json(&change), r#"{"seq":3,"op":"delete","id":7}"#);
        let add: Change =
            serde_json::from_str(r#"{"seq":4,"op":"add","id":8,"text":"hi"}"#).unwrap();
        assert_eq!(
            add.op,
            Op::Add {
                id: 8,
                text: "hi".into()
            }
        );
    }

    #[test]
    fn driver_counters_sit_beside_the_cores() {
        let mut counters = Counters {
            elections: 2,
            ..Counters::default()
        };
        counters.driver.insert("http_requests".into(), 9);
        let json = to_json(&counters);
        assert_eq!(
            json,
            r#"{"sent":{},"received":{},"dropped":{},"elections":2,"http_requests":9}"#
        );
        let read: Counters = serde_json::from_str(&json).unwrap();
        assert_eq!(
            (
                read.get("http_requests"),
                read.get("absent"),
                read.elections
            ),
            (9, 0, 2)
        );
    }
}
