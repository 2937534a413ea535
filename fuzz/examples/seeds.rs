//! Writes the seed corpora: a few small, valid inputs per target.
//!
//!     cargo run --manifest-path fuzz/Cargo.toml --example seeds [-- DIR]
//!
//! DIR defaults to `fuzz/corpus`; files are named `seed-*` (the only corpus
//! files git keeps). Reruns overwrite them with identical bytes.

use std::fs;
use std::path::{Path, PathBuf};

use blackboard::board::Board;
use blackboard::wire::{self, Envelope, Op, Request};
use blackboard_fuzz::core_harness::{self, msg, tag, CLUSTER};
use blackboard_fuzz::Writer;

fn main() {
    let root = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus"));
    let mut total = 0;
    for (target, seeds) in [
        ("wire_decode", wire_seeds()),
        ("http_route", http_seeds()),
        ("board_snapshot", board_seeds()),
        ("core_datagrams", core_seeds()),
        ("chunked_decode", chunked_seeds()),
        ("form_multipart", multipart_seeds()),
    ] {
        let dir = root.join(target);
        fs::create_dir_all(&dir).expect("create corpus dir");
        let bytes: usize = seeds.iter().map(|(_, s)| s.len()).sum();
        for (name, seed) in &seeds {
            fs::write(dir.join(format!("seed-{name}")), seed).expect("write seed");
        }
        println!("{target}: {} seeds, {bytes} bytes", seeds.len());
        total += seeds.len();
    }
    println!("{total} seeds in {}", root.display());
}

// ----- wire_decode -----------------------------------------------------------

fn wire_seeds() -> Vec<(String, Vec<u8>)> {
    wire::one_of_each()
        .into_iter()
        .map(|message| {
            let name = message.kind().name().to_owned();
            let envelope = Envelope {
                cluster: CLUSTER,
                from: 2,
                boot: 0x0102_0304,
                attribute: 654_321,
                message,
            };
            (name, wire::encode(&envelope).expect("seed envelope fits"))
        })
        .collect()
}

// ----- http_route ------------------------------------------------------------

/// Method indexes of the `http_route` target's table.
const GET: u8 = 0;
const POST: u8 = 1;
const PUT: u8 = 2;
const DELETE: u8 = 3;
const HEAD: u8 = 4;

fn http_seeds() -> Vec<(String, Vec<u8>)> {
    let cases: [(&str, u8, &str, &str); 14] = [
        ("index", GET, "/", ""),
        ("script", HEAD, "/app.js", ""),
        ("style", GET, "/style.css/", ""),
        ("board", GET, "/board", ""),
        ("board-since", GET, "/board?since=41&x=%20y", ""),
        ("status", GET, "/status", ""),
        ("metrics", GET, "/metrics", ""),
        ("add", POST, "/board", "entry=hello+world"),
        (
            "add-entries",
            POST,
            "/entries",
            "entry=%C3%A9t%C3%A9&other=1",
        ),
        ("delete", POST, "/board/7/", "delete=1"),
        ("modify", POST, "/board/7", "delete=0&entry=new+text"),
        ("put", PUT, "/board/12", "entry=x%26y%3Dz"),
        ("delete-method", DELETE, "/board/3", ""),
        ("bad", POST, "/board/0", "entry=%zz&&=&delete=2"),
    ];
    cases
        .iter()
        .map(|(name, method, url, body)| {
            let mut input = vec![*method];
            input.extend_from_slice(url.as_bytes());
            if !body.is_empty() {
                input.push(0);
                input.extend_from_slice(body.as_bytes());
            }
            (name.to_string(), input)
        })
        .collect()
}

// ----- form_multipart --------------------------------------------------------

/// Multipart bodies with the boundary `XyZ`: what curl -F sends, a file
/// part, a preamble and epilogue, and one cut before its closing boundary.
fn multipart_seeds() -> Vec<(String, Vec<u8>)> {
    let seeds: [(&str, &[u8]); 4] = [
        (
            "curl",
            b"--XyZ\r\nContent-Disposition: form-data; name=\"entry\"\r\n\r\nhi\r\n--XyZ--\r\n",
        ),
        (
            "two-fields-file",
            b"--XyZ\r\nContent-Disposition: form-data; name=\"delete\"\r\n\r\n0\r\n--XyZ\r\n\
              Content-Disposition: form-data; name=\"entry\"; filename=\"a.txt\"\r\n\
              Content-Type: text/plain\r\n\r\nline\r\nline\r\n--XyZ--",
        ),
        (
            "preamble-epilogue",
            b"pre\r\n--XyZ \t\r\nContent-Disposition: form-data; name=e\r\n\r\nv\r\n--XyZ--\r\nepi",
        ),
        (
            "cut",
            b"--XyZ\r\nContent-Disposition: form-data; name=\"entry\"\r\n\r\nhal",
        ),
    ];
    seeds
        .into_iter()
        .map(|(name, body)| (name.to_string(), body.to_vec()))
        .collect()
}

// ----- chunked_decode --------------------------------------------------------

/// A knobs byte (see the target), then a chunked stream: well-formed bodies
/// the fuzzer can break, and the truncations that once passed for bodies.
fn chunked_seeds() -> Vec<(String, Vec<u8>)> {
    let seeds: [(&str, u8, &[u8]); 7] = [
        ("empty", 0x00, b"0\r\n\r\n"),
        ("two-chunks", 0x2b, b"5\r\nentry\r\n4\r\n=ok!\r\n0\r\n\r\n"),
        (
            "extensions-trailer",
            0x91,
            b"5;a=b\r\nentry\r\n4 ; c\r\n=ok!\r\n0;last\r\nX-Trailer: 1\r\n\r\n",
        ),
        ("uppercase-padded", 0x47, b"000A\r\n0123456789\r\n0\r\n\r\n"),
        (
            "then-request",
            0x13,
            b"3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n",
        ),
        (
            "huge-truncated",
            0x05,
            b"ffffffffffffffff\r\nentry=a\r\n0\r\n\r\n",
        ),
        ("cut-in-chunk", 0xff, b"5\r\nent"),
    ];
    seeds
        .into_iter()
        .map(|(name, knobs, stream)| (name.to_owned(), [&[knobs][..], stream].concat()))
        .collect()
}

// ----- board_snapshot --------------------------------------------------------

fn board_seeds() -> Vec<(String, Vec<u8>)> {
    let req = |origin, number, finished_below, op| Request {
        origin,
        boot: 7,
        number,
        finished_below,
        op,
    };
    let add = |t: &str| Op::Add { text: t.into() };
    let mut boards = vec![("empty", Board::new())];
    let mut b = Board::new();
    b.apply(&req(1, 0, 0, add("first")), 1);
    b.apply(&req(1, 1, 0, add("second")), 2);
    boards.push(("two", b.clone()));
    b.apply(&req(2, 5, 3, add("from two")), 3);
    b.apply(&req(1, 3, 2, Op::Delete { id: 1 }), 4);
    let modify = Op::Modify {
        id: 2,
        text: "changed".into(),
    };
    b.apply(&req(3, 0, 0, modify), 5);
    boards.push(("sessions", b));
    boards
        .into_iter()
        .map(|(name, board)| {
            let snapshot = board.encode();
            let mut w = Writer::default();
            w.u16(snapshot.len() as u16);
            w.out.extend_from_slice(&snapshot);
            // Requests: origin, boot, number, finished_below, op tag, [id].
            for (origin, number, below, op, id) in [
                (1, 2, 0, 0, 0),
                (2, 6, 6, 1, 2),
                (1, 2, 0, 2, 1),
                (3, 9, 0, 0, 0),
            ] {
                w.u8(origin).num(7).num(number).num(below).u8(op);
                if op != 0 {
                    w.num(id);
                }
            }
            (name.to_string(), w.out)
        })
        .collect()
}

// ----- core_datagrams --------------------------------------------------------

/// A step-by-step script for the core harness.
struct Script(Writer);

impl Script {
    fn new(seed: u8) -> Script {
        let mut w = Writer::default();
        w.u8(seed);
        Script(w)
    }

    /// Lets time pass and the network deliver, in order, what is in flight.
    fn settle(&mut self, rounds: usize) -> &mut Self {
        for _ in 0..rounds {
            self.0.u8(tag::ADVANCE).u8(10);
            for _ in 0..6 {
                self.0.u8(tag::DELIVER).u8(0);
            }
        }
        self
    }

    fn write(&mut self, at: u8, text: &str) -> &mut Self {
        self.0
            .u8(tag::REQUEST)
            .u8(at - 1)
            .u8(0)
            .bytes(text.as_bytes());
        self
    }

    fn delete(&mut self, at: u8, id: u64) -> &mut Self {
        self.0.u8(tag::REQUEST).u8(at - 1).u8(2).num(id);
        self
    }

    fn restart(&mut self, id: u8) -> &mut Self {
        self.0.u8(tag::RESTART).u8(id - 1);
        self
    }

    /// A forged envelope: message tag, then its fields' bytes.
    fn forge(&mut self, to: u8, from: u8, message: u8, fields: &[u8]) -> &mut Self {
        self.0
            .u8(tag::FORGED)
            .u8(to - 1)
            .u8(from - 1)
            .u8(0)
            .u8(message);
        self.0.out.extend_from_slice(fields);
        self
    }

    fn lossy(&mut self, rounds: usize) -> &mut Self {
        for i in 0..rounds {
            self.0.u8(tag::ADVANCE).u8(15);
            self.0.u8(tag::DROP).u8(i as u8);
            self.0.u8(tag::DUPLICATE).u8(3);
            for _ in 0..4 {
                self.0.u8(tag::DELIVER).u8(1);
            }
        }
        self
    }
}

fn core_seeds() -> Vec<(String, Vec<u8>)> {
    let mut seeds: Vec<(&str, Script)> = Vec::new();

    let mut s = Script::new(1);
    s.settle(60);
    seeds.push(("elect", s));

    let mut s = Script::new(2);
    s.settle(60).write(1, "one").write(2, "two").settle(10);
    s.write(3, "three").delete(2, 1).settle(20);
    seeds.push(("writes", s));

    let mut s = Script::new(3);
    s.settle(60)
        .write(2, "before")
        .settle(10)
        .restart(1)
        .restart(2);
    s.settle(60).write(3, "after").settle(20);
    seeds.push(("reboot", s));

    let mut s = Script::new(4);
    s.lossy(80).write(1, "lossy").lossy(30);
    seeds.push(("lossy", s));

    // Forgeries into a settled cluster: known epochs and positions (field
    // bytes below 0x80 pick remembered ones), small numbers.
    let mut s = Script::new(5);
    s.settle(60).write(1, "x").settle(5);
    s.forge(1, 2, msg::HEARTBEAT, &[0, 1, 9, 0, 7, 0]);
    s.forge(2, 3, msg::PREPARE, &[0x90, 2, 200]);
    s.forge(3, 1, msg::ELECTION, &[]);
    s.settle(20);
    seeds.push(("forged", s));

    let mut s = Script::new(6);
    s.settle(60);
    s.forge(
        1,
        3,
        msg::FORWARD,
        &[2, 0, 1, 3, 0, 0, 1, b'z', 1, 1, 9, 9, 2, 4],
    );
    // A snapshot chunk carrying a crafted board (entries, next_id, sessions).
    // (epoch, position, mode 0 = crafted board: 2 requests, then absurd
    // leading fields: 1 entry 9 -> "a", next id 3.)
    let chunk = [
        1, 2, 0, 2, 0, 7, 0, 0, 0, 1, b'a', 1, 7, 1, 0, 2, 1, 1, 9, 1, b'a', 3, 1,
    ];
    s.forge(2, 1, msg::CHUNK, &chunk);
    s.forge(3, 2, msg::INFO, &[1, 0x85, 1]);
    // Forged answers to in-flight datagrams, in their epoch and position:
    // a Chunk (a board of one add), then a Promise.
    s.0.u8(tag::REPLY).u8(2).u8(0).u8(msg::CHUNK);
    s.0.out
        .extend_from_slice(&[0, 0, 0, 1, 1, 7, 1, 0, 0, 1, b'r', 0, 1]);
    s.0.u8(tag::REPLY)
        .u8(0)
        .u8(0)
        .u8(msg::PROMISE)
        .u8(0)
        .u8(0)
        .u8(3)
        .u8(1);
    s.settle(20);
    seeds.push(("forged-more", s));

    let mut s = Script::new(7);
    s.settle(60);
    for i in 0..6u8 {
        // Mutated copies of real datagrams: flip, cut, insert.
        s.0.u8(tag::MUTATE)
            .u8(i)
            .u8(i % 3)
            .u16(u16::from(i) * 5 + 3)
            .u8(0x41);
        s.0.u8(tag::RAW).u8(i).u8(i + 1).bytes(b"BB\x01\x00");
    }
    s.settle(10);
    seeds.push(("mutated", s));

    seeds
        .into_iter()
        .map(|(name, s)| {
            let cluster = core_harness::run(&s.0.out);
            eprintln!("core seed {name}: {:?}", cluster.summary());
            (name.to_string(), s.0.out)
        })
        .collect()
}
