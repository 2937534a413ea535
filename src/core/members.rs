//! What this node knows of the other members: each one's boot (and the
//! boots it replaced), rank, when it was last heard or vouched for by the
//! leader, its HTTP port and the role it last seemed to play. Two rules of
//! incarnations live here: a datagram from a replaced boot is stale, and an
//! unknown boot replaces the known one only once the known one has gone
//! quiet (a straggler from a dead incarnation must never pass for a restart
//! and shut out the live one).

use std::collections::BTreeMap;
use std::time::Duration;

use super::{PeerStatus, Refused, Role, Time};
use crate::wire::{Envelope, Message, NodeId};

/// Replaced boots remembered per member.
const RETIRED: usize = 8;

#[derive(Clone, Debug)]
pub(super) struct Members {
    peers: BTreeMap<NodeId, Peer>,
    /// What the leader last said about whom it hears.
    relayed: Option<Relayed>,
}

#[derive(Clone, Debug, Default)]
struct Peer {
    boot: Option<u32>,
    /// Boots this peer has since replaced: their datagrams are stale.
    retired: Vec<u32>,
    attribute: Option<u32>,
    last_heard: Option<Time>,
    /// When the leader's heartbeat last said it hears this peer: a follower
    /// hears other followers only at boot, so this is its news of them.
    vouched: Option<Time>,
    /// Its HTTP port, as it told (Probe, Info).
    http_port: Option<u16>,
    /// When this node last told a retired boot of this peer that it is over.
    told_superseded: Option<Time>,
    role: Option<Role>,
}

#[derive(Clone, Copy, Debug)]
struct Relayed {
    at: Time,
    alive: u128,
    recovering: u128,
}

impl Members {
    /// Every member but `me`, none heard yet.
    pub(super) fn new(members: &[NodeId], me: NodeId) -> Members {
        let peers = members
            .iter()
            .filter(|&&m| m != me)
            .map(|&m| (m, Peer::default()))
            .collect();
        Members {
            peers,
            relayed: None,
        }
    }

    /// The other members, in id order.
    pub(super) fn ids(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.peers.keys().copied()
    }

    /// Why a datagram from `boot` of `from` is stale, if it is; `live` is
    /// how long a boot counts as alive after it was last heard.
    pub(super) fn stale(
        &self,
        now: Time,
        from: NodeId,
        boot: u32,
        live: Duration,
    ) -> Option<Refused> {
        let peer = self.peers.get(&from)?;
        if peer.retired.contains(&boot) {
            return Some(Refused::StaleBoot);
        }
        let heard = peer.last_heard.is_some_and(|t| now.since(t) < live);
        if heard && peer.boot.is_some_and(|b| b != boot) {
            return Some(Refused::UnconfirmedBoot);
        }
        None
    }

    /// Notes a trusted datagram. Returns the member if it came from a new
    /// boot that replaced a known one (the member restarted).
    pub(super) fn heard(&mut self, now: Time, envelope: &Envelope) -> Option<NodeId> {
        let peer = self.peers.get_mut(&envelope.from)?;
        let mut restarted = None;
        if peer.boot != Some(envelope.boot) {
            if let Some(old) = peer.boot.replace(envelope.boot) {
                restarted = Some(envelope.from);
                peer.retired.push(old);
                if peer.retired.len() > RETIRED {
                    peer.retired.remove(0);
                }
            }
        }
        peer.attribute = Some(envelope.attribute);
        peer.last_heard = Some(now);
        if let Message::Probe { http } | Message::Info { http, .. } = envelope.message {
            peer.http_port = (http != 0).then_some(http).or(peer.http_port);
        }
        if let Some(role) = role_hint(&envelope.message) {
            peer.role = Some(role);
        }
        restarted
    }

    /// The leader's heartbeat said whom it hears (`alive`) and who is
    /// recovering, as bits of `bit`.
    pub(super) fn relayed(
        &mut self,
        now: Time,
        alive: u128,
        recovering: u128,
        bit: impl Fn(NodeId) -> u128,
    ) {
        for (&id, peer) in &mut self.peers {
            if alive & bit(id) != 0 {
                peer.vouched = Some(now);
            }
        }
        self.relayed = Some(Relayed {
            at: now,
            alive,
            recovering,
        });
    }

    /// True if this node has news of `id` within `window`: heard from it,
    /// or told by the leader that the leader hears it.
    pub(super) fn believed_alive(&self, now: Time, id: NodeId, window: Duration) -> bool {
        self.peers.get(&id).is_some_and(|p| {
            p.last_heard
                .max(p.vouched)
                .is_some_and(|t| now.since(t) < window)
        })
    }

    /// The members whose rank is known, and those whose rank is not.
    pub(super) fn ranks(&self) -> (Vec<(NodeId, u32)>, Vec<NodeId>) {
        let known = (self.peers.iter())
            .filter_map(|(&id, p)| Some((id, p.attribute?)))
            .collect();
        let unknown = (self.peers.iter())
            .filter(|(_, p)| p.attribute.is_none())
            .map(|(&id, _)| id)
            .collect();
        (known, unknown)
    }

    /// True if a retired boot of `from` may be told it is over now: once a
    /// `every` at most.
    pub(super) fn may_tell_superseded(&mut self, now: Time, from: NodeId, every: Duration) -> bool {
        let Some(peer) = self.peers.get_mut(&from) else {
            return false;
        };
        if peer.told_superseded.is_some_and(|t| now.since(t) < every) {
            return false;
        }
        peer.told_superseded = Some(now);
        true
    }

    /// Each other member as `/status` shows it. `leader` is the leader this
    /// node follows (or is), `bit` a member's bit in the heartbeat's masks,
    /// `timeout` how long news counts.
    pub(super) fn status(
        &self,
        now: Time,
        leader: Option<NodeId>,
        timeout: Duration,
        bit: impl Fn(NodeId) -> u128,
    ) -> Vec<PeerStatus> {
        // A follower hears only the leader; the leader's heartbeat says whom
        // it hears, so every node can show the whole cluster.
        let relayed = self
            .relayed
            .filter(|r| leader.is_some() && now.since(r.at) < timeout);
        (self.peers.iter())
            .map(|(&id, p)| {
                let bit = bit(id);
                // Alive by the leader's latest word, or by its own hearing;
                // "last heard" is the later of the two ever received.
                let via_leader = relayed.filter(|r| r.alive & bit != 0).map(|r| r.at);
                let alive = p
                    .last_heard
                    .max(via_leader)
                    .is_some_and(|t| now.since(t) < timeout);
                let heard = p.last_heard.max(p.vouched);
                // The leader's word beats an old hint (every node probes at
                // boot, and followers seldom hear each other afterwards).
                let role = match (alive, relayed.filter(|r| r.alive & bit != 0)) {
                    (false, _) => None,
                    _ if leader == Some(id) => Some(Role::Leader),
                    (true, Some(r)) if r.recovering & bit != 0 => Some(Role::Recovering),
                    (true, Some(_)) => Some(Role::Follower),
                    (true, None) => match p.role {
                        Some(Role::Leader) | Some(Role::Follower) | None => Some(Role::Follower),
                        Some(role) => Some(role),
                    },
                };
                PeerStatus {
                    id,
                    is_self: false,
                    alive,
                    last_heard: heard.map(|t| now.since(t)),
                    role,
                    attribute: p.attribute,
                    http_port: p.http_port,
                }
            })
            .collect()
    }
}

/// The role a message shows its sender in, if it shows one.
fn role_hint(message: &Message) -> Option<Role> {
    match message {
        Message::Heartbeat { .. } | Message::Append { .. } => Some(Role::Leader),
        Message::Election | Message::Prepare { .. } => Some(Role::Candidate),
        Message::Probe { .. } | Message::NoState { .. } => Some(Role::Recovering),
        Message::Ack { recovering, .. } => Some(if *recovering {
            Role::Recovering
        } else {
            Role::Follower
        }),
        Message::Promise { .. } | Message::Forward { .. } | Message::Read { .. } => {
            Some(Role::Follower)
        }
        Message::ReadIndex { .. } => Some(Role::Leader),
        Message::Info { active, .. } => (!active).then_some(Role::Recovering),
        _ => None,
    }
}
