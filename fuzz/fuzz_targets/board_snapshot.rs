//! A snapshot as a peer may send it (its bytes arrive in `Chunk`s): whatever
//! `Board::decode` accepts must re-encode to a board that decodes equal, and
//! applying client requests to it (the fuzz input's tail) must not panic.
//! The input is one length byte pair, the snapshot bytes, then requests.
#![no_main]

use blackboard::board::Board;
use blackboard::wire::{Op, Request};
use blackboard_fuzz::Reader;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut r = Reader::new(data);
    let len = usize::from(r.u16());
    let rest = r.rest();
    let (snapshot, tail) = rest.split_at(len.min(rest.len()));
    let Some(mut board) = Board::decode(snapshot) else {
        return;
    };
    let bytes = board.encode();
    assert_eq!(
        Board::decode(&bytes).as_ref(),
        Some(&board),
        "snapshot round trip"
    );
    let mut r = Reader::new(tail);
    let mut seq = 0;
    while !r.is_empty() {
        seq += 1;
        let request = Request {
            origin: u16::from(r.u8() % 4),
            boot: r.num32(),
            number: r.num(),
            finished_below: r.num(),
            op: match r.u8() % 3 {
                0 => Op::Add { text: "x".into() },
                1 => Op::Modify {
                    id: r.num(),
                    text: "y".into(),
                },
                _ => Op::Delete { id: r.num() },
            },
        };
        let had = board.has_applied(&request);
        let before = board.len();
        let outcome = board.apply(&request, seq);
        if had {
            assert_eq!(outcome, blackboard::board::Outcome::Duplicate);
            assert_eq!(board.len(), before);
        }
        assert!(
            board.has_applied(&request),
            "an applied request is not remembered"
        );
    }
    let _ = board.entries().count();
});
