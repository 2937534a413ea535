//! HTTP/1.1 chunked transfer coding (RFC 9112 §7.1), decoded strictly.
//!
//! This crate replaces crates.io's `chunked_transfer` 1.5.0 in this
//! project's build (`[patch.crates-io]` in the root `Cargo.toml`). tiny_http
//! 0.12 reads every request body that comes with a `Transfer-Encoding`
//! header through `chunked_transfer::Decoder`, and the upstream decoder takes
//! the end of the connection inside a chunk as the clean end of the body: a
//! client that declared a chunk of `ffffffffffffffff` bytes, sent
//! `entry=a\r\n0\r\n\r\n` and closed had those bytes handed to the node as a
//! complete body, and the node posted them. Here a body ends only with its
//! last chunk (`0`), its trailer section and the CRLF that closes it; the end
//! of the stream anywhere before that is [`io::ErrorKind::UnexpectedEof`],
//! and framing that breaks the grammar is [`io::ErrorKind::InvalidData`].
//! Once either is reported, every later read reports it again: a reader
//! never sees a clean end after a broken body.
//!
//! The API is what tiny_http calls, [`Decoder::new`] and [`Encoder::new`]
//! (it encodes chunked responses too), plus [`Encoder::with_chunks_size`]
//! and [`Encoder::finish`].
//!
//! What the decoder accepts:
//!
//! - a chunk-size line of 1 to 16 hex digits (so the size fits a `u64`),
//!   optionally followed by spaces or tabs and a `;` extension, which is
//!   skipped, then CRLF; at most [`MAX_SIZE_LINE`] bytes in all;
//! - the chunk's data, exactly that many bytes, then CRLF;
//! - after the chunk of size 0, trailer lines, skipped, up to
//!   [`MAX_TRAILER`] bytes, and the empty line that ends the body.
//!
//! Every line ends with CRLF: a bare LF is an error (a peer that frames with
//! LF alone could be read differently by something in front of the node).
//! Nothing is buffered: the decoder reads the header lines a byte at a time
//! and the data straight into the caller's buffer, so it allocates nothing
//! and never reads past the body's end, where a pipelined request starts.

use std::io::{self, Read, Write};

/// The longest chunk-size line accepted: its bytes before the CRLF,
/// extension included. Sixteen digits need far less; the rest is room for
/// extensions, which are skipped unstored, so the bound only stops a peer
/// that would keep one line going forever.
pub const MAX_SIZE_LINE: usize = 4096;

/// The most bytes accepted after the last chunk's size line: the trailer
/// lines and the empty line that ends the body, CRLFs included.
pub const MAX_TRAILER: usize = 8192;

/// The chunk size [`Encoder::new`] uses.
const DEFAULT_CHUNK: usize = 8192;

/// Decodes a chunked body read from `R`, as a [`Read`] of the body's bytes.
pub struct Decoder<R> {
    source: R,
    state: State,
}

#[derive(Clone, Copy, Debug)]
enum State {
    /// Reading a chunk-size line.
    Size(SizeLine),
    /// Inside a chunk's data: this many bytes still to come.
    Data(u64),
    /// After a chunk's data, expecting its CR, then its LF.
    DataCr,
    DataLf,
    /// After the last chunk: trailer lines, until an empty one.
    Trailer(TrailerSection),
    /// The whole body was read; nothing after it is touched.
    Done,
    /// The body is broken; every read says why.
    Failed(io::ErrorKind, &'static str),
}

#[derive(Clone, Copy, Debug, Default)]
struct SizeLine {
    value: u64,
    digits: u8,
    /// Bytes of the line so far, CR excluded.
    len: usize,
    part: SizePart,
}

#[derive(Clone, Copy, Debug, Default, PartialEq)]
enum SizePart {
    #[default]
    Digits,
    /// Whitespace after the digits: only more of it or `;` may follow.
    Space,
    Extension,
    /// The line's CR was read; its LF must come next.
    Cr,
}

#[derive(Clone, Copy, Debug, Default)]
struct TrailerSection {
    /// The current line has bytes (an empty one ends the body).
    in_line: bool,
    /// Bytes of the section so far, counted against MAX_TRAILER.
    total: usize,
    cr: bool,
}

/// What a read of one framing byte led to.
enum Step {
    Next(State),
    Fail(io::ErrorKind, &'static str),
}

fn invalid(why: &'static str) -> Step {
    Step::Fail(io::ErrorKind::InvalidData, why)
}

impl<R: Read> Decoder<R> {
    pub fn new(source: R) -> Decoder<R> {
        Decoder {
            source,
            state: State::Size(SizeLine::default()),
        }
    }

    /// Records the failure, so later reads return it as well.
    fn fail(&mut self, kind: io::ErrorKind, why: &'static str) -> io::Error {
        self.state = State::Failed(kind, why);
        io::Error::new(kind, why)
    }

    /// One byte of the source, `None` at its end. The source's own errors
    /// (a timeout, an interruption) pass through and change no state, so
    /// the read can be retried.
    fn byte(&mut self) -> io::Result<Option<u8>> {
        let mut b = [0u8; 1];
        match self.source.read(&mut b)? {
            0 => Ok(None),
            _ => Ok(Some(b[0])),
        }
    }
}

impl<R: Read> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let step = match self.state {
                State::Done => return Ok(0),
                State::Failed(kind, why) => return Err(io::Error::new(kind, why)),
                _ if buf.is_empty() => return Ok(0),
                State::Data(remaining) => {
                    let want = usize::try_from(remaining).map_or(buf.len(), |r| r.min(buf.len()));
                    let n = self.source.read(&mut buf[..want])?;
                    if n == 0 {
                        return Err(self.fail(
                            io::ErrorKind::UnexpectedEof,
                            "the stream ended inside a chunk's data",
                        ));
                    }
                    // n <= want <= remaining, by Read's contract.
                    let left = remaining - n as u64;
                    self.state = if left == 0 {
                        State::DataCr
                    } else {
                        State::Data(left)
                    };
                    return Ok(n);
                }
                State::Size(line) => match self.byte()? {
                    Some(b) => size_line(line, b),
                    None => Step::Fail(
                        io::ErrorKind::UnexpectedEof,
                        "the stream ended in a chunk-size line",
                    ),
                },
                State::DataCr => match self.byte()? {
                    Some(b'\r') => Step::Next(State::DataLf),
                    Some(b'\n') => invalid("a chunk's data is followed by a bare LF, not CRLF"),
                    Some(_) => {
                        invalid("a chunk's data is not followed by CRLF (longer than its size)")
                    }
                    None => Step::Fail(
                        io::ErrorKind::UnexpectedEof,
                        "the stream ended before the CRLF after a chunk's data",
                    ),
                },
                State::DataLf => match self.byte()? {
                    Some(b'\n') => Step::Next(State::Size(SizeLine::default())),
                    Some(_) => invalid("a chunk's data is followed by CR without LF"),
                    None => Step::Fail(
                        io::ErrorKind::UnexpectedEof,
                        "the stream ended before the CRLF after a chunk's data",
                    ),
                },
                State::Trailer(section) => match self.byte()? {
                    Some(b) => trailer(section, b),
                    None => Step::Fail(
                        io::ErrorKind::UnexpectedEof,
                        "the stream ended in the trailer, after the last chunk",
                    ),
                },
            };
            match step {
                Step::Next(state) => self.state = state,
                Step::Fail(kind, why) => return Err(self.fail(kind, why)),
            }
        }
    }
}

/// One more byte of a chunk-size line.
fn size_line(mut line: SizeLine, b: u8) -> Step {
    if b != b'\r' && line.part != SizePart::Cr {
        line.len += 1;
        if line.len > MAX_SIZE_LINE {
            return invalid("chunk-size line too long");
        }
    }
    match (line.part, b) {
        (SizePart::Cr, b'\n') if line.value == 0 => {
            return Step::Next(State::Trailer(TrailerSection::default()))
        }
        (SizePart::Cr, b'\n') => return Step::Next(State::Data(line.value)),
        (SizePart::Cr, _) => return invalid("CR without LF in a chunk-size line"),
        (_, b'\n') => return invalid("a chunk-size line ends with a bare LF, not CRLF"),
        (_, b'\r' | b';') if line.digits == 0 => return invalid("empty chunk size"),
        (SizePart::Space, b'\r') => {
            return invalid("whitespace after a chunk size, with no extension")
        }
        (_, b'\r') => line.part = SizePart::Cr,
        (SizePart::Digits, _) => match hex(b) {
            Some(_) if line.digits == 16 => {
                return invalid("chunk size of more than 16 hex digits")
            }
            Some(d) => {
                // 16 digits at most: the value cannot overflow.
                line.digits += 1;
                line.value = line.value << 4 | u64::from(d);
            }
            None if b == b';' => line.part = SizePart::Extension,
            None if line.digits > 0 && (b == b' ' || b == b'\t') => line.part = SizePart::Space,
            None => return invalid("chunk size is not a hex number"),
        },
        (SizePart::Space, b' ' | b'\t') => {}
        (SizePart::Space, b';') => line.part = SizePart::Extension,
        (SizePart::Space, _) => return invalid("whitespace after a chunk size, with no extension"),
        // Extensions mean nothing to this server: skipped, up to the CR.
        (SizePart::Extension, _) => {}
    }
    Step::Next(State::Size(line))
}

/// One more byte of the trailer section.
fn trailer(mut section: TrailerSection, b: u8) -> Step {
    section.total += 1;
    if section.total > MAX_TRAILER {
        return invalid("trailer section too long");
    }
    if section.cr {
        if b != b'\n' {
            return invalid("CR without LF in the trailer");
        }
        if !section.in_line {
            // An empty line: the end of the body.
            return Step::Next(State::Done);
        }
        section.in_line = false;
        section.cr = false;
    } else if b == b'\r' {
        section.cr = true;
    } else if b == b'\n' {
        return invalid("a trailer line ends with a bare LF, not CRLF");
    } else {
        // Trailer fields mean nothing to this server: skipped.
        section.in_line = true;
    }
    Step::Next(State::Trailer(section))
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Writes what it is given as a chunked body to `W`, in chunks of at most
/// the chunk size (data is held until a chunk is full or [`Write::flush`]).
/// [`Encoder::finish`], or dropping the encoder, writes the last chunk and
/// the empty trailer.
pub struct Encoder<W: Write> {
    output: W,
    chunk_size: usize,
    pending: Vec<u8>,
    finished: bool,
}

impl<W: Write> Encoder<W> {
    pub fn new(output: W) -> Encoder<W> {
        Encoder::with_chunks_size(output, DEFAULT_CHUNK)
    }

    /// Chunks of at most `chunk_size` bytes; 0 counts as 1, since a chunk
    /// of size 0 would end the body.
    pub fn with_chunks_size(output: W, chunk_size: usize) -> Encoder<W> {
        let chunk_size = chunk_size.max(1);
        Encoder {
            output,
            chunk_size,
            pending: Vec::with_capacity(chunk_size.min(DEFAULT_CHUNK)),
            finished: false,
        }
    }

    /// Ends the body: what is pending, the last chunk and the empty
    /// trailer. Dropping the encoder does the same but cannot report an
    /// error.
    pub fn finish(mut self) -> io::Result<()> {
        self.end()
    }

    fn end(&mut self) -> io::Result<()> {
        // Set first: after a failed write the stream is broken anyway, and
        // the drop that follows must not write the end a second time.
        self.finished = true;
        self.send()?;
        self.output.write_all(b"0\r\n\r\n")?;
        self.output.flush()
    }

    /// Writes the pending bytes as one chunk.
    fn send(&mut self) -> io::Result<()> {
        // Never an empty chunk: it would end the body.
        if self.pending.is_empty() {
            return Ok(());
        }
        write!(self.output, "{:x}\r\n", self.pending.len())?;
        self.output.write_all(&self.pending)?;
        self.output.write_all(b"\r\n")?;
        self.pending.clear();
        Ok(())
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if data.is_empty() {
            return Ok(0);
        }
        // A full chunk goes out before more is taken, so that an error here
        // means none of `data` was taken, as Write's contract asks.
        if self.pending.len() == self.chunk_size {
            self.send()?;
        }
        let take = data.len().min(self.chunk_size - self.pending.len());
        self.pending.extend_from_slice(&data[..take]);
        Ok(take)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()?;
        self.output.flush()
    }
}

impl<W: Write> Drop for Encoder<W> {
    fn drop(&mut self) {
        if !self.finished {
            // tiny_http ends its chunked responses by dropping the encoder;
            // a drop has no way to report the error (the connection is
            // gone, most likely), so it is ignored.
            let _ = self.end();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// Reads the whole body; the decoded bytes and the result.
    fn decode(input: &[u8]) -> (Vec<u8>, io::Result<usize>) {
        let mut body = Vec::new();
        let result = Decoder::new(input).read_to_end(&mut body);
        (body, result)
    }

    fn decoded(input: &[u8]) -> Vec<u8> {
        let (body, result) = decode(input);
        if let Err(e) = result {
            panic!("{:?}: {e}", String::from_utf8_lossy(input));
        }
        body
    }

    fn error(input: &[u8]) -> (io::ErrorKind, String) {
        let (_, result) = decode(input);
        match result {
            Ok(n) => panic!(
                "{:?} decoded ({n} bytes), but must fail",
                String::from_utf8_lossy(input)
            ),
            Err(e) => (e.kind(), e.to_string()),
        }
    }

    fn eof(input: &[u8]) {
        assert_eq!(
            error(input).0,
            io::ErrorKind::UnexpectedEof,
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }

    fn bad(input: &[u8]) {
        assert_eq!(
            error(input).0,
            io::ErrorKind::InvalidData,
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }

    #[test]
    fn well_formed_bodies_decode() {
        assert_eq!(decoded(b"0\r\n\r\n"), b"");
        assert_eq!(
            decoded(b"5\r\nentry\r\n4\r\n=ok!\r\n0\r\n\r\n"),
            b"entry=ok!"
        );
        assert_eq!(decoded(b"A\r\n0123456789\r\n0\r\n\r\n"), b"0123456789");
        assert_eq!(
            decoded(b"000000000000000a\r\n0123456789\r\n0\r\n\r\n"),
            b"0123456789"
        );
        assert_eq!(decoded(b"3;name=value\r\nabc\r\n0;last\r\n\r\n"), b"abc");
        assert_eq!(decoded(b"3 \t;x\r\nabc\r\n0\r\n\r\n"), b"abc");
        assert_eq!(
            decoded(b"3\r\nabc\r\n0\r\nExpires: never\r\nX-Other: 1\r\n\r\n"),
            b"abc"
        );
        // Data may hold anything, CRLFs and digits included.
        assert_eq!(
            decoded(b"7\r\n\r\n0\r\n\r\n\r\n0\r\n\r\n"),
            b"\r\n0\r\n\r\n"
        );
    }

    #[test]
    fn nothing_after_the_body_is_read() {
        let stream = b"3\r\nabc\r\n0\r\n\r\nPOST /board HTTP/1.1\r\n";
        let mut source = Cursor::new(&stream[..]);
        let mut body = Vec::new();
        Decoder::new(&mut source).read_to_end(&mut body).unwrap();
        assert_eq!(body, b"abc");
        assert_eq!(
            &stream[source.position() as usize..],
            b"POST /board HTTP/1.1\r\n"
        );
    }

    #[test]
    fn the_end_of_the_stream_before_the_last_chunk_is_unexpected_eof() {
        for input in [
            &b""[..],
            b"5",
            b"5\r",
            b"5;ext",
            b"5\r\n",
            b"5\r\nent",
            b"5\r\nentry",
            b"5\r\nentry\r",
            b"5\r\nentry\r\n",
            b"5\r\nentry\r\n0",
            b"5\r\nentry\r\n0\r\n",
            b"5\r\nentry\r\n0\r\n\r",
            b"5\r\nentry\r\n0\r\nX-A: 1\r\n",
            b"5\r\nentry\r\n0\r\nX-A: 1",
            // The report that led to this crate: a chunk declared longer
            // than what came, holding what looks like the body's end.
            b"ffffffffffffffff\r\nentry=a\r\n0\r\n\r\n",
        ] {
            eof(input);
        }
    }

    #[test]
    fn the_bytes_before_a_truncation_come_out_then_the_error() {
        let mut decoder = Decoder::new(&b"5\r\nent"[..]);
        let mut buf = [0u8; 16];
        assert_eq!(decoder.read(&mut buf).unwrap(), 3);
        assert_eq!(&buf[..3], b"ent");
        let e = decoder.read(&mut buf).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(e.to_string(), "the stream ended inside a chunk's data");
    }

    #[test]
    fn bad_chunk_sizes_are_invalid_data() {
        for input in [
            &b"\r\n"[..],
            b";ext\r\n",
            b" 5\r\nentry\r\n0\r\n\r\n",
            b"zz\r\n",
            b"0x5\r\nentry\r\n0\r\n\r\n",
            b"-1\r\n",
            b"+5\r\nentry\r\n0\r\n\r\n",
            b"5 \r\nentry\r\n0\r\n\r\n",
            b"5 x\r\nentry\r\n0\r\n\r\n",
            b"5\rx\nentry\r\n0\r\n\r\n",
            // 17 digits: more than a u64 holds, or padded beyond reason.
            b"10000000000000000\r\n",
            b"00000000000000005\r\nentry\r\n0\r\n\r\n",
        ] {
            bad(input);
        }
        assert_eq!(error(b"zz\r\n").1, "chunk size is not a hex number");
        assert_eq!(
            error(b"10000000000000000\r\n").1,
            "chunk size of more than 16 hex digits"
        );
    }

    #[test]
    fn every_line_ends_with_crlf() {
        for input in [
            &b"5\nentry\r\n0\r\n\r\n"[..],
            b"5;ext\nentry\r\n0\r\n\r\n",
            b"5\r\nentry\n0\r\n\r\n",
            b"5\r\nentry\rx0\r\n\r\n",
            b"5\r\nentry\r\n0\n\r\n",
            b"5\r\nentry\r\n0\r\n\n",
            b"5\r\nentry\r\n0\r\nX-A: 1\n\r\n",
            b"5\r\nentry\r\n0\r\nX-A: 1\rx\r\n\r\n",
            b"5\r\nentry\r\n0\r\n\rx",
        ] {
            bad(input);
        }
    }

    #[test]
    fn data_longer_than_its_size_is_invalid_data() {
        let (kind, why) = error(b"5\r\nentry=x\r\n0\r\n\r\n");
        assert_eq!(kind, io::ErrorKind::InvalidData);
        assert_eq!(
            why,
            "a chunk's data is not followed by CRLF (longer than its size)"
        );
    }

    #[test]
    fn size_lines_and_trailers_are_bounded() {
        let line = |ext: usize| {
            let mut v = b"3;".to_vec();
            v.extend(std::iter::repeat_n(b'x', ext));
            v.extend_from_slice(b"\r\nabc\r\n0\r\n\r\n");
            v
        };
        assert_eq!(decoded(&line(MAX_SIZE_LINE - 2)), b"abc");
        assert_eq!(
            error(&line(MAX_SIZE_LINE - 1)).1,
            "chunk-size line too long"
        );
        // A line that never ends fails at the bound, not at the stream's end.
        let endless = [b"3;".to_vec(), vec![b'x'; 1 << 20]].concat();
        assert_eq!(error(&endless).1, "chunk-size line too long");

        let trailer = |field: usize| {
            let mut v = b"3\r\nabc\r\n0\r\nX-A: ".to_vec();
            v.extend(std::iter::repeat_n(b'x', field));
            v.extend_from_slice(b"\r\n\r\n");
            v
        };
        // "X-A: " and two CRLFs around the field: 9 bytes.
        assert_eq!(decoded(&trailer(MAX_TRAILER - 9)), b"abc");
        assert_eq!(
            error(&trailer(MAX_TRAILER - 8)).1,
            "trailer section too long"
        );
        let endless = [b"0\r\n".to_vec(), b"X-A: 1\r\n".repeat(1 << 16)].concat();
        assert_eq!(error(&endless).1, "trailer section too long");
    }

    #[test]
    fn an_error_stays_an_error() {
        for input in [&b"5\r\nent"[..], b"5\r\nentry=x\r\n"] {
            let mut decoder = Decoder::new(input);
            let mut sink = Vec::new();
            let first = decoder.read_to_end(&mut sink).unwrap_err();
            for _ in 0..3 {
                let again = decoder.read(&mut [0u8; 8]).unwrap_err();
                assert_eq!(again.kind(), first.kind());
            }
        }
    }

    /// Hands out one byte per read, and an `Interrupted` before each.
    struct Stutter<'a> {
        data: &'a [u8],
        interrupt: bool,
    }

    impl Read for Stutter<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.interrupt = !self.interrupt;
            if self.interrupt {
                return Err(io::ErrorKind::Interrupted.into());
            }
            let n = buf.len().min(self.data.len()).min(1);
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[test]
    fn a_source_error_can_be_retried() {
        let input = b"5;x\r\nentry\r\n4\r\n=ok!\r\n0\r\nX-A: 1\r\n\r\n";
        let mut body = Vec::new();
        // read_to_end retries Interrupted, so this passes only if no state
        // was lost to one.
        Decoder::new(Stutter {
            data: input,
            interrupt: false,
        })
        .read_to_end(&mut body)
        .unwrap();
        assert_eq!(body, b"entry=ok!");
    }

    fn encoded(data: &[u8], chunk_size: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = Encoder::with_chunks_size(&mut out, chunk_size);
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap();
        out
    }

    #[test]
    fn the_encoder_writes_chunks_and_the_end() {
        assert_eq!(encoded(b"", 4), b"0\r\n\r\n");
        assert_eq!(
            encoded(b"blackboard", 4),
            b"4\r\nblac\r\n4\r\nkboa\r\n2\r\nrd\r\n0\r\n\r\n"
        );
        assert_eq!(encoded(b"xy", 0), b"1\r\nx\r\n1\r\ny\r\n0\r\n\r\n");
        let big = vec![7u8; 40_000];
        assert_eq!(decoded(&encoded(&big, 5000)), big);
        let mut out = Vec::new();
        {
            let mut encoder = Encoder::new(&mut out);
            encoder.write_all(&big).unwrap();
        }
        let head = format!("{:x}\r\n", DEFAULT_CHUNK);
        assert!(out.starts_with(head.as_bytes()));
        assert_eq!(decoded(&out), big, "a dropped encoder ends the body");
    }

    #[test]
    fn flush_sends_what_is_pending() {
        let mut out = Vec::new();
        let mut encoder = Encoder::new(&mut out);
        encoder.write_all(b"abc").unwrap();
        encoder.flush().unwrap();
        encoder.flush().unwrap();
        drop(encoder);
        assert_eq!(out, b"3\r\nabc\r\n0\r\n\r\n");
    }

    /// Accepts `room` bytes, then fails.
    struct Full {
        room: usize,
    }

    impl Write for Full {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.room == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            let n = buf.len().min(self.room);
            self.room -= n;
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_encoder_reports_write_errors() {
        let mut encoder = Encoder::with_chunks_size(Full { room: 4 }, 2);
        assert!(encoder.write_all(b"abcdef").is_err());
        assert!(Encoder::new(Full { room: 2 }).finish().is_err());
    }
}
