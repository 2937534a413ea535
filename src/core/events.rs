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

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// What sort of thing happened: `role`, `suspect`, `election`, `alive`,
    /// `trial`, `prepare`, `promise`, `no_state`, `reject`, `epoch`,
    /// `takeover`, `recovery`, `commit`.
    pub kind: &'static str,
    /// In words, without the node's name (the log and the page add it).
    pub text: String,
    /// For a datagram: who sent it and to whom.
    pub from: Option<NodeId>,
    pub to: Option<NodeId>,
}

/// The name a timeline gives a message of the election or the takeover;
/// other messages (replication, reads, recovery) are too many to show.
pub fn election_label(message: &Message) -> Option<&'static str> {
    Some(match message {
        Message::Election => "election",
        Message::Alive => "alive",
        Message::Prepare { trial: true, .. } => "trial",
        Message::Prepare { trial: false, .. } => "prepare",
        Message::Promise { .. } => "promise",
        Message::NoState { .. } => "no_state",
        Message::Reject { .. } => "reject",
        _ => return None,
    })
}

#[derive(Default)]
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
    pub(super) fn story(&mut self, kind: &'static str, text: String) {
        info!("node {}: {text}", self.cfg.id);
        self.keep(kind, text);
    }

    /// A line too frequent for the info log (a commit per write): debug.
    pub(super) fn quiet_story(&mut self, kind: &'static str, text: String) {
        debug!("node {}: {text}", self.cfg.id);
        self.keep(kind, text);
    }

    fn keep(&mut self, kind: &'static str, text: String) {
        self.events.push(Event {
            kind,
            text,
            from: None,
            to: None,
        });
    }

    /// An election or takeover datagram (`label`, see [`election_label`]),
    /// sent by this node or received by it.
    pub(super) fn note_message(&mut self, label: Option<&'static str>, from: NodeId, to: NodeId) {
        let Some(label) = label else {
            return;
        };
        let text = if from == self.cfg.id {
            format!("{label} to node {to}")
        } else {
            format!("{label} from node {from}")
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
