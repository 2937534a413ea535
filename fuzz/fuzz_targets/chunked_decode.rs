//! Arbitrary bytes as a chunked request body, through the decoder tiny_http
//! reads bodies with (patches/chunked_transfer). The first byte picks how
//! the stream arrives (pieces of 1 to 8 bytes, read into buffers of 1 to 32)
//! and the chunk size for re-encoding; the rest is the stream.
//!
//! Decoding must not panic; an error must be `UnexpectedEof` or
//! `InvalidData`, and a read after it must fail the same way (never a clean
//! end); the outcome, and how far into the stream the decoder read, must not
//! depend on how the stream was cut into reads. A body that decodes must end
//! where the decoder stopped: that prefix alone decodes the same, and one
//! byte less is `UnexpectedEof` (a stream cut short is never a body). It
//! must re-encode with the crate's `Encoder` to a stream that decodes back
//! to the same bytes, all of it consumed.
#![no_main]

use std::io::{self, ErrorKind, Read, Write};

use chunked_transfer::{Decoder, Encoder};
use libfuzzer_sys::fuzz_target;

/// Hands out at most `piece` bytes per read, and counts what it handed out.
struct Trickle<'a> {
    data: &'a [u8],
    piece: usize,
    taken: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.piece).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        self.taken += n;
        Ok(n)
    }
}

/// Decodes `stream`, read `piece` bytes at a time into `buf`-byte buffers:
/// the body or the error's kind, and how many bytes of the stream were read.
fn decode(stream: &[u8], piece: usize, buf: usize) -> (Result<Vec<u8>, ErrorKind>, usize) {
    let mut source = Trickle {
        data: stream,
        piece,
        taken: 0,
    };
    let mut decoder = Decoder::new(&mut source);
    let mut body = Vec::new();
    let mut scratch = vec![0u8; buf];
    let outcome = loop {
        match decoder.read(&mut scratch) {
            Ok(0) => {
                let again = decoder.read(&mut scratch);
                assert!(matches!(again, Ok(0)), "after the end: {again:?}");
                break Ok(body);
            }
            Ok(n) => body.extend_from_slice(&scratch[..n]),
            Err(e) => {
                let kind = e.kind();
                assert!(
                    matches!(kind, ErrorKind::UnexpectedEof | ErrorKind::InvalidData),
                    "an error of kind {kind:?}: {e}"
                );
                match decoder.read(&mut scratch) {
                    Err(again) => assert_eq!(again.kind(), kind, "the error changed"),
                    Ok(n) => panic!("a read after {kind:?} returned Ok({n})"),
                }
                break Err(kind);
            }
        }
    };
    (outcome, source.taken)
}

fuzz_target!(|data: &[u8]| {
    let Some((&knobs, stream)) = data.split_first() else {
        return;
    };
    let piece = usize::from(knobs & 7) + 1;
    let buf = usize::from(knobs >> 3) + 1;
    let (whole, taken) = decode(stream, usize::MAX, 8192);
    let (cut, cut_taken) = decode(stream, piece, buf);
    assert_eq!(whole, cut, "the outcome depends on how the stream was read");
    assert_eq!(taken, cut_taken, "the decoder read ahead");
    let Ok(body) = whole else {
        return;
    };
    assert!(body.len() < taken && taken <= stream.len());

    let (alone, _) = decode(&stream[..taken], usize::MAX, 8192);
    assert_eq!(
        alone.as_ref(),
        Ok(&body),
        "the body needs bytes after its end"
    );
    let (short, _) = decode(&stream[..taken - 1], usize::MAX, 8192);
    assert_eq!(
        short,
        Err(ErrorKind::UnexpectedEof),
        "a stream cut short decoded"
    );

    let mut encoded = Vec::new();
    let mut encoder = Encoder::with_chunks_size(&mut encoded, usize::from(knobs) + 1);
    for part in body.chunks(piece * buf) {
        encoder.write_all(part).expect("writes to a Vec");
    }
    encoder.finish().expect("writes to a Vec");
    let (again, again_taken) = decode(&encoded, piece, buf);
    assert_eq!(
        again.as_ref(),
        Ok(&body),
        "the re-encoded body decodes differently"
    );
    assert_eq!(
        again_taken,
        encoded.len(),
        "the re-encoded body has bytes past its end"
    );

    // tiny_http's way: `new`, ended by the drop.
    let mut dropped = Vec::new();
    Encoder::new(&mut dropped)
        .write_all(&body)
        .expect("writes to a Vec");
    assert_eq!(decode(&dropped, usize::MAX, 8192).0, Ok(body));
});
