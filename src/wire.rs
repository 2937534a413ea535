//! The datagrams nodes exchange: message types, the envelope around them, and
//! encoding with its size and version checks.
//!
//! A datagram is `b"BB"`, one version byte, then a postcard-encoded
//! [`Envelope`]. The version byte comes before anything postcard reads, so a
//! node of another wire version is recognised and refused, never misread.

use serde::{Deserialize, Serialize};

/// Identifies a member; the `N` of `--id N`.
pub type NodeId = u16;

/// The wire (protocol) version. Bump it on any incompatible message change.
pub const WIRE_VERSION: u8 = 6;
const MAGIC: [u8; 2] = *b"BB";
const HEADER: usize = 3;

/// Largest UDP payload that fits one Ethernet frame without fragmentation.
pub const MAX_DATAGRAM: usize = 1472;

/// Room kept for the envelope and message fields when packing entries or
/// snapshot bytes into one datagram.
pub const PAYLOAD_BUDGET: usize = MAX_DATAGRAM - 96;

/// Longest entry text in bytes (the HTTP contract's 413 limit).
pub const MAX_ENTRY_BYTES: usize = 1024;

/// A leadership term. Ordered by `number`, then leader id, then the leader's
/// boot nonce: the nonce keeps two incarnations of one node, which forget
/// each other, from ever sharing an epoch.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash,
)]
pub struct Epoch {
    pub number: u64,
    pub leader: NodeId,
    pub boot: u32,
}

impl std::fmt::Display for Epoch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.number, self.leader)
    }
}

/// A point in a log: the sequence number of an entry and the epoch whose
/// leader created it. Two logs holding the same `LogPos` are identical up to it.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash,
)]
pub struct LogPos {
    /// Compared first: a log ending in a later epoch is more up to date.
    pub tag: Epoch,
    pub seq: u64,
}

impl LogPos {
    /// Can a log ending here hold the entry at `pos`? Entries' epochs never
    /// fall along a log, and this, its last, is known.
    pub fn may_hold(self, pos: LogPos) -> bool {
        if self.seq == pos.seq {
            self.tag == pos.tag
        } else {
            self.seq > pos.seq && self.tag >= pos.tag
        }
    }
}

/// What a client asked for.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum Op {
    Add { text: String },
    Modify { id: u64, text: String },
    Delete { id: u64 },
}

/// A client operation with the identity that makes retransmission safe:
/// `(origin, boot, number)` is unique, so the board applies it at most once.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub origin: NodeId,
    pub boot: u32,
    pub number: u64,
    /// Every request of this origin numbered below this has finished (applied
    /// or given up): the board may forget them.
    pub finished_below: u64,
    pub op: Op,
}

/// One log entry's payload.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Written by a new leader so that its epoch owns an entry and can commit.
    Noop,
    Client(Request),
}

/// A log entry with the epoch that created it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub tag: Epoch,
    pub command: Command,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum Message {
    // -- bully election (the sender's rank is in the envelope)
    Election,
    Alive,
    // -- takeover (a `trial` round first asks who *would* promise, changing
    //    nothing, so that a candidate that cannot win disturbs no one)
    Prepare {
        epoch: Epoch,
        trial: bool,
    },
    Promise {
        epoch: Epoch,
        last: LogPos,
        /// The last entry the promiser knows committed: the new leader's
        /// log must hold it (see `core::takeover`).
        commit: LogPos,
        trial: bool,
    },
    /// The answer of a node that has lost its memory.
    NoState {
        epoch: Epoch,
        trial: bool,
    },
    /// "I am not in `epoch`": `promised` above it means the sender is stale;
    /// below it means this node missed the Prepare.
    Reject {
        epoch: Epoch,
        promised: Epoch,
        leader_alive: bool,
    },
    // -- replication
    /// New entries, all created by this epoch's leader, following `prev`.
    Append {
        epoch: Epoch,
        prev: LogPos,
        commit: u64,
        commands: Vec<Command>,
    },
    Heartbeat {
        epoch: Epoch,
        last: LogPos,
        commit: u64,
        /// Members the leader hears (bit i: the i-th member in id order), so
        /// that followers can show the whole cluster.
        alive: u128,
        /// Recovering members the leader hears, with the boot it heard: a
        /// rebooted node takes its recovery target only from a heartbeat
        /// naming its own boot, so never from one sent before its reboot.
        recovering: Vec<Incarnation>,
        /// For an epoch started from a memoryless majority: the members
        /// whose `NoState` that start counted. They alone may follow it
        /// before they are fenced.
        fresh: Vec<Incarnation>,
        /// Numbers the heartbeat: a majority's acks of round `r` confirm
        /// that this node still led when every read that arrived before
        /// round `r` was sent.
        round: u64,
    },
    Ack {
        epoch: Epoch,
        matched: u64,
        recovering: bool,
        /// The latest heartbeat round heard from this leader.
        round: u64,
    },
    // -- catch-up: a follower, or a new leader, pulls what it lacks
    Pull {
        epoch: Epoch,
        last: LogPos,
        commit: u64,
        snapshot: Option<SnapshotCursor>,
    },
    Entries {
        epoch: Epoch,
        prev: LogPos,
        entries: Vec<Entry>,
        end_of_batch: bool,
    },
    Chunk {
        epoch: Epoch,
        at: LogPos,
        total: u32,
        offset: u32,
        data: Vec<u8>,
        end_of_batch: bool,
    },
    // -- client requests travelling to the leader
    Forward {
        requests: Vec<Request>,
    },
    // -- linearizable reads at a follower (read index)
    /// "What must I have applied to answer the reads of this batch?"
    Read {
        batch: u64,
    },
    /// The leader's commit index when the batch's `Read` arrived, sent once
    /// a later heartbeat round confirmed that it still led.
    ReadIndex {
        epoch: Epoch,
        batch: u64,
        index: u64,
    },
    // -- recovery: a rebooted node learns how far epochs have gone
    /// `http`: the sender's HTTP port (0 unknown), so that every member
    /// can name every other's page (the page reads their `/events`).
    Probe {
        http: u16,
    },
    Info {
        for_boot: u32,
        promised: Epoch,
        active: bool,
        http: u16,
    },
    /// "Your boot `stale` is over: I have heard a later start of your id."
    /// The answer to a datagram from a retired boot: a process that was
    /// paused while its id started anew learns it is a leftover, and stops.
    Superseded {
        stale: u32,
    },
}

/// Where a snapshot transfer stands: which snapshot, and how many bytes the
/// receiver holds.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct SnapshotCursor {
    pub at: LogPos,
    pub offset: u32,
}

/// Kinds of message, for counters and logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Election,
    Alive,
    Prepare,
    Promise,
    NoState,
    Reject,
    Append,
    Heartbeat,
    Ack,
    Pull,
    Entries,
    Chunk,
    Forward,
    Read,
    ReadIndex,
    Probe,
    Info,
    Superseded,
}

impl Kind {
    /// The kinds an election and the takeover after it send.
    pub const ELECTION: [Kind; 6] = [
        Kind::Election,
        Kind::Alive,
        Kind::Prepare,
        Kind::Promise,
        Kind::NoState,
        Kind::Reject,
    ];

    pub const ALL: [Kind; 18] = [
        Kind::Election,
        Kind::Alive,
        Kind::Prepare,
        Kind::Promise,
        Kind::NoState,
        Kind::Reject,
        Kind::Append,
        Kind::Heartbeat,
        Kind::Ack,
        Kind::Pull,
        Kind::Entries,
        Kind::Chunk,
        Kind::Forward,
        Kind::Read,
        Kind::ReadIndex,
        Kind::Probe,
        Kind::Info,
        Kind::Superseded,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Election => "election",
            Kind::Alive => "alive",
            Kind::Prepare => "prepare",
            Kind::Promise => "promise",
            Kind::NoState => "no_state",
            Kind::Reject => "reject",
            Kind::Append => "append",
            Kind::Heartbeat => "heartbeat",
            Kind::Ack => "ack",
            Kind::Pull => "pull",
            Kind::Entries => "entries",
            Kind::Chunk => "chunk",
            Kind::Forward => "forward",
            Kind::Read => "read",
            Kind::ReadIndex => "read_index",
            Kind::Probe => "probe",
            Kind::Info => "info",
            Kind::Superseded => "superseded",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

impl Message {
    pub fn kind(&self) -> Kind {
        match self {
            Message::Election => Kind::Election,
            Message::Alive => Kind::Alive,
            Message::Prepare { .. } => Kind::Prepare,
            Message::Promise { .. } => Kind::Promise,
            Message::NoState { .. } => Kind::NoState,
            Message::Reject { .. } => Kind::Reject,
            Message::Append { .. } => Kind::Append,
            Message::Heartbeat { .. } => Kind::Heartbeat,
            Message::Ack { .. } => Kind::Ack,
            Message::Pull { .. } => Kind::Pull,
            Message::Entries { .. } => Kind::Entries,
            Message::Chunk { .. } => Kind::Chunk,
            Message::Forward { .. } => Kind::Forward,
            Message::Read { .. } => Kind::Read,
            Message::ReadIndex { .. } => Kind::ReadIndex,
            Message::Probe { .. } => Kind::Probe,
            Message::Info { .. } => Kind::Info,
            Message::Superseded { .. } => Kind::Superseded,
        }
    }
}

/// Sequence and epoch numbers grow by one per write and per election: no
/// cluster gets anywhere near this, so a datagram carrying more is forged
/// (and would otherwise push arithmetic towards overflow).
pub const PLAUSIBLE: u64 = 1 << 62;

impl Epoch {
    fn plausible(&self) -> bool {
        self.number < PLAUSIBLE
    }
}

impl LogPos {
    fn plausible(&self) -> bool {
        self.seq < PLAUSIBLE && self.tag.plausible()
    }
}

impl Message {
    /// True when every epoch and sequence number in it is plausible.
    pub fn plausible(&self) -> bool {
        let n = |v: u64| v < PLAUSIBLE;
        match self {
            Message::Election
            | Message::Alive
            | Message::Probe { .. }
            | Message::Superseded { .. } => true,
            Message::Prepare { epoch, .. } | Message::NoState { epoch, .. } => epoch.plausible(),
            Message::Promise {
                epoch,
                last,
                commit,
                ..
            } => epoch.plausible() && last.plausible() && commit.plausible(),
            Message::Reject {
                epoch, promised, ..
            } => epoch.plausible() && promised.plausible(),
            Message::Append {
                epoch,
                prev,
                commit,
                ..
            } => epoch.plausible() && prev.plausible() && n(*commit),
            Message::Heartbeat {
                epoch,
                last,
                commit,
                ..
            } => epoch.plausible() && last.plausible() && n(*commit),
            Message::Ack { epoch, matched, .. } => epoch.plausible() && n(*matched),
            Message::Read { .. } => true,
            Message::ReadIndex { epoch, index, .. } => epoch.plausible() && n(*index),
            Message::Pull {
                epoch,
                last,
                commit,
                snapshot,
            } => {
                epoch.plausible()
                    && last.plausible()
                    && n(*commit)
                    && snapshot.is_none_or(|c| c.at.plausible())
            }
            Message::Entries {
                epoch,
                prev,
                entries,
                ..
            } => epoch.plausible() && prev.plausible() && entries.iter().all(|e| e.tag.plausible()),
            Message::Chunk { epoch, at, .. } => epoch.plausible() && at.plausible(),
            Message::Forward { requests } => {
                requests.iter().all(|r| n(r.number) && n(r.finished_below))
            }
            Message::Info { promised, .. } => promised.plausible(),
        }
    }
}

/// Boots a heartbeat names in each of its lists, so that it fits a frame
/// whatever the cluster's size. A member left out recovers at a later
/// heartbeat (the list rotates) or, left out of a fresh start's list, waits
/// for its fence: slower, never unsafe.
pub const NAMED_PER_HEARTBEAT: usize = 48;

/// One boot of one member.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Incarnation {
    pub id: NodeId,
    pub boot: u32,
}

/// Who sent a datagram, in which cluster, and what it says.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// Hash of the membership: nodes of two clusters sharing a network ignore
    /// each other.
    pub cluster: u32,
    pub from: NodeId,
    /// Random per process start: tells incarnations of one node apart.
    pub boot: u32,
    /// The sender's election attribute, random per process start.
    pub attribute: u32,
    pub message: Message,
}

/// Why a datagram was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    TooShort,
    TooLong,
    BadMagic,
    Version(u8),
    Malformed,
}

/// Encodes an envelope; `None` if it would not fit one datagram (callers size
/// their batches with [`PAYLOAD_BUDGET`], so this is a bug guard, not a path).
pub fn encode(envelope: &Envelope) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(&MAGIC);
    out.push(WIRE_VERSION);
    let out = postcard::to_extend(envelope, out).ok()?;
    (out.len() <= MAX_DATAGRAM).then_some(out)
}

pub fn decode(datagram: &[u8]) -> Result<Envelope, DecodeError> {
    if datagram.len() > MAX_DATAGRAM {
        return Err(DecodeError::TooLong);
    }
    if datagram.len() < HEADER {
        return Err(DecodeError::TooShort);
    }
    if datagram[..2] != MAGIC {
        return Err(DecodeError::BadMagic);
    }
    if datagram[2] != WIRE_VERSION {
        return Err(DecodeError::Version(datagram[2]));
    }
    match postcard::take_from_bytes::<Envelope>(&datagram[HEADER..]) {
        Ok((envelope, [])) => Ok(envelope),
        _ => Err(DecodeError::Malformed),
    }
}

/// Encoded size of one value, for packing batches under [`PAYLOAD_BUDGET`].
pub fn encoded_len<T: Serialize>(value: &T) -> usize {
    postcard::experimental::serialized_size(value).unwrap_or(usize::MAX)
}

/// One message of every kind, every field set and every list non-empty: the
/// wire tests round-trip it and the fuzz corpus starts from it.
pub fn one_of_each() -> Vec<Message> {
    let epoch = Epoch {
        number: 9,
        leader: 2,
        boot: u32::MAX,
    };
    let last = LogPos {
        tag: epoch,
        seq: 41,
    };
    let request = Request {
        origin: 1,
        boot: 5,
        number: 8,
        finished_below: 3,
        op: Op::Modify {
            id: 4,
            text: "héllo".into(),
        },
    };
    vec![
        Message::Election,
        Message::Alive,
        Message::Prepare { epoch, trial: true },
        Message::Promise {
            epoch,
            last,
            commit: LogPos {
                tag: epoch,
                seq: 40,
            },
            trial: false,
        },
        Message::NoState { epoch, trial: true },
        Message::Reject {
            epoch,
            promised: epoch,
            leader_alive: true,
        },
        Message::Append {
            epoch,
            prev: last,
            commit: 40,
            commands: vec![Command::Noop, Command::Client(request.clone())],
        },
        Message::Heartbeat {
            epoch,
            last,
            commit: 41,
            alive: 0b1011,
            recovering: vec![Incarnation { id: 2, boot: 7 }],
            fresh: vec![Incarnation { id: 3, boot: 9 }],
            round: 12,
        },
        Message::Ack {
            epoch,
            matched: 41,
            recovering: false,
            round: 12,
        },
        Message::Pull {
            epoch,
            last,
            commit: 3,
            snapshot: Some(SnapshotCursor {
                at: last,
                offset: 9,
            }),
        },
        Message::Entries {
            epoch,
            prev: last,
            entries: vec![Entry {
                tag: epoch,
                command: Command::Noop,
            }],
            end_of_batch: true,
        },
        Message::Chunk {
            epoch,
            at: last,
            total: 10,
            offset: 0,
            data: vec![1, 2, 3],
            end_of_batch: false,
        },
        Message::Forward {
            requests: vec![request],
        },
        Message::Read { batch: 6 },
        Message::ReadIndex {
            epoch,
            batch: 6,
            index: 40,
        },
        Message::Probe { http: 8001 },
        Message::Info {
            for_boot: 7,
            promised: epoch,
            active: true,
            http: 8002,
        },
        Message::Superseded { stale: 7 },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(message: Message) -> Envelope {
        Envelope {
            cluster: 0xdead_beef,
            from: 3,
            boot: 77,
            attribute: 123_456,
            message,
        }
    }

    #[test]
    fn huge_numbers_are_implausible() {
        for message in one_of_each() {
            assert!(message.plausible(), "{message:?}");
        }
        let forged = Epoch {
            number: u64::MAX,
            leader: 1,
            boot: 0,
        };
        assert!(!Message::Prepare {
            epoch: forged,
            trial: false
        }
        .plausible());
        let far = LogPos {
            tag: Epoch::default(),
            seq: PLAUSIBLE,
        };
        assert!(!Message::Heartbeat {
            epoch: Epoch::default(),
            last: far,
            commit: 0,
            alive: 0,
            recovering: Vec::new(),
            fresh: Vec::new(),
            round: 0,
        }
        .plausible());
    }

    #[test]
    fn a_heartbeat_naming_the_most_boots_fits_a_frame() {
        let far = Epoch {
            number: PLAUSIBLE - 1,
            leader: NodeId::MAX,
            boot: u32::MAX,
        };
        let named = vec![
            Incarnation {
                id: NodeId::MAX,
                boot: u32::MAX,
            };
            NAMED_PER_HEARTBEAT
        ];
        let heartbeat = Message::Heartbeat {
            epoch: far,
            last: LogPos {
                tag: far,
                seq: PLAUSIBLE - 1,
            },
            commit: PLAUSIBLE - 1,
            alive: u128::MAX,
            recovering: named.clone(),
            fresh: named,
            round: u64::MAX,
        };
        assert!(encode(&envelope(heartbeat)).is_some());
    }

    #[test]
    fn every_message_round_trips() {
        let messages = one_of_each();
        assert_eq!(messages.len(), Kind::ALL.len());
        for message in messages {
            let env = envelope(message);
            let bytes = encode(&env).expect("fits");
            assert_eq!(decode(&bytes), Ok(env));
        }
    }

    #[test]
    fn kinds_are_distinct_and_indexed_in_order() {
        for (i, kind) in Kind::ALL.iter().enumerate() {
            assert_eq!(kind.index(), i);
        }
        let kinds: Vec<Kind> = one_of_each().iter().map(Message::kind).collect();
        assert_eq!(kinds, Kind::ALL.to_vec());
    }

    #[test]
    fn every_truncation_is_refused() {
        for message in one_of_each() {
            let bytes = encode(&envelope(message)).unwrap();
            for cut in 0..bytes.len() {
                assert!(
                    decode(&bytes[..cut]).is_err(),
                    "prefix of {cut} bytes accepted"
                );
            }
        }
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let mut bytes = encode(&envelope(Message::Probe { http: 0 })).unwrap();
        bytes.push(0);
        assert_eq!(decode(&bytes), Err(DecodeError::Malformed));
    }

    #[test]
    fn foreign_versions_and_garbage_are_named() {
        let mut bytes = encode(&envelope(Message::Alive)).unwrap();
        bytes[2] = WIRE_VERSION + 1;
        assert_eq!(decode(&bytes), Err(DecodeError::Version(WIRE_VERSION + 1)));
        assert_eq!(decode(b"GET / HTTP/1.1"), Err(DecodeError::BadMagic));
        assert_eq!(decode(b"B"), Err(DecodeError::TooShort));
        assert_eq!(decode(&[0u8; MAX_DATAGRAM + 1]), Err(DecodeError::TooLong));
    }

    #[test]
    fn pseudo_random_garbage_never_panics() {
        // A cheap stand-in for the fuzzer: xorshift bytes after a valid header.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for len in 0..600 {
            let mut bytes = vec![b'B', b'B', WIRE_VERSION];
            for _ in 0..len {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                bytes.push(x as u8);
            }
            let _ = decode(&bytes);
        }
    }

    #[test]
    fn oversized_envelopes_are_not_encoded() {
        let big = Message::Chunk {
            epoch: Epoch::default(),
            at: LogPos::default(),
            total: 0,
            offset: 0,
            data: vec![7; MAX_DATAGRAM],
            end_of_batch: true,
        };
        assert!(encode(&envelope(big)).is_none());
    }

    #[test]
    fn a_full_entry_fits_the_budget() {
        let request = Request {
            origin: NodeId::MAX,
            boot: u32::MAX,
            number: u64::MAX,
            finished_below: u64::MAX,
            op: Op::Modify {
                id: u64::MAX,
                text: "x".repeat(MAX_ENTRY_BYTES),
            },
        };
        let entry = Entry {
            tag: Epoch {
                number: u64::MAX,
                leader: NodeId::MAX,
                boot: u32::MAX,
            },
            command: Command::Client(request),
        };
        assert!(encoded_len(&entry) < PAYLOAD_BUDGET);
        let message = Message::Entries {
            epoch: entry.tag,
            prev: LogPos {
                tag: entry.tag,
                seq: u64::MAX,
            },
            entries: vec![entry],
            end_of_batch: true,
        };
        let mut env = envelope(message);
        env.cluster = u32::MAX;
        env.boot = u32::MAX;
        env.attribute = u32::MAX;
        assert!(encode(&env).is_some());
    }
}
