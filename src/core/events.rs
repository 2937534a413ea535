//! What happened in the protocol, in words, for the people watching it (the
//! page's timeline, `GET /events`): role changes, a leader suspected and
//! why, the election's and takeover's datagrams, an epoch begun, recovery,
//! commits. Each story line is also the operator's info log line. The core
//! keeps only the latest few until the driver takes them, so a simulation
//! that never does stays bounded.

use std::collections::VecDeque;

use log::{debug, info};

use super::Node;
use crate::wire::{Message, NodeId};

/// The most events held between two polls by the driver.
pub const HELD: usize = 512;

/// What sort of thing happened; `GET /events` names it (`Kind::name`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// This node's role changed.
    Role,
    /// A leader went unheard: this node calls an election.
    Suspect,
    /// An election called with no leader known, or its datagram.
    Election,
    Alive,
    /// A trial round's Prepare (it asks, and changes no one's promise).
    Trial,
    Prepare,
    Promise,
    NoState,
    Reject,
    /// An epoch begun, led by this node.
    Epoch,
    Takeover,
    Recovery,
    Commit,
    /// A demo fault began or ended (the driver's, not the core's).
    Fault,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Role => "role",
            Kind::Suspect => "suspect",
            Kind::Election => "election",
            Kind::Alive => "alive",
            Kind::Trial => "trial",
            Kind::Prepare => "prepare",
            Kind::Promise => "promise",
            Kind::NoState => "no_state",
            Kind::Reject => "reject",
            Kind::Epoch => "epoch",
            Kind::Takeover => "takeover",
            Kind::Recovery => "recovery",
            Kind::Commit => "commit",
            Kind::Fault => "fault",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub kind: Kind,
    /// In words, without the node's name (the log and the page add it).
    pub text: String,
    /// For a datagram: who sent it and to whom.
    pub from: Option<NodeId>,
    pub to: Option<NodeId>,
}

/// The name a timeline gives a message of the election or the takeover;
/// other messages (replication, reads, recovery) are too many to show.
pub fn election_label(message: &Message) -> Option<Kind> {
    Some(match message {
        Message::Election => Kind::Election,
        Message::Alive => Kind::Alive,
        Message::Prepare { trial: true, .. } => Kind::Trial,
        Message::Prepare { trial: false, .. } => Kind::Prepare,
        Message::Promise { .. } => Kind::Promise,
        Message::NoState { .. } => Kind::NoState,
        Message::Reject { .. } => Kind::Reject,
        _ => return None,
    })
}

#[derive(Debug, Clone, Default)]
pub(super) struct Events {
    held: VecDeque<Event>,
}

impl Events {
    pub(super) fn push(&mut self, event: Event) {
        if self.held.len() == HELD {
            self.held.pop_front();
        }
        self.held.push_back(event);
    }

    pub(super) fn pop(&mut self) -> Option<Event> {
        self.held.pop_front()
    }
}

impl Node {
    /// A line of the story: logged at info, and kept as an event.
    pub(super) fn story(&mut self, kind: Kind, text: String) {
        info!("node {}: {text}", self.cfg.id);
        self.keep(kind, text);
    }

    /// A line too frequent for the info log (a commit per write): debug.
    pub(super) fn quiet_story(&mut self, kind: Kind, text: String) {
        debug!("node {}: {text}", self.cfg.id);
        self.keep(kind, text);
    }

    fn keep(&mut self, kind: Kind, text: String) {
        self.events.push(Event {
            kind,
            text,
            from: None,
            to: None,
        });
    }

    /// An election or takeover datagram (`label`, see [`election_label`]),
    /// sent by this node or received by it.
    pub(super) fn note_message(&mut self, label: Option<Kind>, from: NodeId, to: NodeId) {
        let Some(label) = label else {
            return;
        };
        let name = label.name();
        let text = if from == self.cfg.id {
            format!("{name} to node {to}")
        } else {
            format!("{name} from node {from}")
        };
        self.events.push(Event {
            kind: label,
            text,
            from: Some(from),
            to: Some(to),
        });
    }

    /// The next event, oldest first.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop()
    }
}
