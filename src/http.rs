//! The HTTP contract: which request means what ([`route`]), how form bodies
//! are read ([`parse_form`]), and what each outcome answers ([`Answer`]).
//! Pure functions over bytes and strings; the sockets live in [`crate::node`].

use std::sync::Arc;

use crate::answers::{self, to_json};
use crate::board::{Board, Outcome, MAX_ENTRIES};
use crate::core::{Counters, Done, Status, Unavailable};
use crate::fault::Fault;
use crate::wire::{Kind, NodeId, Op, MAX_ENTRY_BYTES};

/// Largest request body read; a larger one is refused unread.
pub const MAX_BODY: usize = 64 * 1024;

/// How long a long-poll `GET /board?since=S` waits for a change.
pub const LONG_POLL: std::time::Duration = std::time::Duration::from_secs(25);

/// What a request asks of the node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Call {
    Page(Page),
    Board(BoardRead),
    Status,
    Metrics,
    Write(Op),
    /// `GET /events?since=N`: the protocol events after N (long-polls).
    Events(u64),
    /// `POST /fault`: start or heal a demo fault (with `--allow-faults`).
    Fault(Fault),
    /// `GET /changes?since=S`: the board's changes after seq S (long-polls).
    Changes(u64),
}

/// How `GET /board` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BoardRead {
    /// Every write acknowledged before the request is in the answer (the
    /// default).
    Linearizable,
    /// `?stale=1`: this node's copy as it stands, no round trip.
    Stale,
    /// `?since=S`: this node's copy once its seq passes S (a long-poll).
    Since(u64),
}

/// The files of `www/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Page {
    Index,
    Script,
    Style,
}

impl Page {
    pub fn file_name(self) -> &'static str {
        match self {
            Page::Index => "index.html",
            Page::Script => "app.js",
            Page::Style => "style.css",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Page::Index => "text/html; charset=utf-8",
            Page::Script => "text/javascript; charset=utf-8",
            Page::Style => "text/css; charset=utf-8",
        }
    }

    /// The page as built into the binary.
    pub fn embedded(self) -> &'static [u8] {
        match self {
            Page::Index => include_bytes!("../www/index.html"),
            Page::Script => include_bytes!("../www/app.js"),
            Page::Style => include_bytes!("../www/style.css"),
        }
    }
}

/// A response: status, type, body and the headers the contract needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Arc<[u8]>,
    pub retry_after: Option<u32>,
    pub allow: Option<&'static str>,
    /// `Access-Control-Allow-Origin`: another member's page may read this.
    pub allow_origin: Option<String>,
}

impl Answer {
    /// A JSON answer; it ends with a newline, so that answers printed one
    /// after another (a curl loop) stand one per line.
    pub fn json(status: u16, mut body: String) -> Answer {
        if !body.ends_with('\n') {
            body.push('\n');
        }
        Answer {
            status,
            content_type: "application/json",
            body: body.into_bytes().into(),
            retry_after: None,
            allow: None,
            allow_origin: None,
        }
    }

    pub fn error(status: u16, message: &str) -> Answer {
        let refusal = answers::Refusal {
            error: message.into(),
        };
        Answer::json(status, to_json(&refusal))
    }

    pub fn unavailable() -> Answer {
        Answer {
            retry_after: Some(1),
            ..Answer::error(
                503,
                "no leader or no majority right now; the write was not confirmed, try again",
            )
        }
    }

    /// A linearizable read that no leader confirmed in time: never a
    /// possibly stale board instead.
    pub fn unconfirmed_read() -> Answer {
        Answer {
            retry_after: Some(1),
            ..Answer::error(
                503,
                "no leader or no majority confirmed this read in time; try again, \
                 or read this node's copy with ?stale=1",
            )
        }
    }

    fn method_not_allowed(allow: &'static str) -> Answer {
        Answer {
            allow: Some(allow),
            ..Answer::error(405, &format!("method not allowed here; use {allow}"))
        }
    }

    pub fn too_large_body() -> Answer {
        Answer::error(413, &format!("request body over {MAX_BODY} bytes"))
    }
}

/// Maps a request to a call, or to the error it deserves. `content_type`
/// says how a form body is encoded (see [`crate::form::parse`]).
pub fn route(
    method: &str,
    url: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Call, Answer> {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let method = if method == "HEAD" { "GET" } else { method };
    let segments: Vec<&str> = path
        .trim_start_matches('/')
        .trim_end_matches('/')
        .split('/')
        .collect();
    let form = || parse_form(content_type, body);
    // `/entries` is the older course skeleton's name for `/board`.
    match (segments.as_slice(), method) {
        ([""] | ["index.html"], "GET") => Ok(Call::Page(Page::Index)),
        (["app.js"], "GET") => Ok(Call::Page(Page::Script)),
        (["style.css"], "GET") => Ok(Call::Page(Page::Style)),
        ([""] | ["index.html"] | ["app.js"] | ["style.css"], _) => {
            Err(Answer::method_not_allowed("GET"))
        }
        (["board" | "entries"], "GET") => Ok(Call::Board(board_read(query)?)),
        (["board" | "entries"], "POST") => Ok(Call::Write(Op::Add {
            text: entry(&form()?)?,
        })),
        (["board" | "entries"], _) => Err(Answer::method_not_allowed("GET, POST")),
        // Only a number names an entry; anything else under the board is a
        // path that does not exist (a typo), not a bad id.
        (["board" | "entries", id], _) if !id.bytes().all(|b| b.is_ascii_digit()) => {
            Err(no_such_route())
        }
        (["board" | "entries", id], "POST") => {
            let id = entry_id(id)?;
            let form = form()?;
            match (field(&form, "delete"), field(&form, "entry")) {
                (Some("1"), _) => Ok(Call::Write(Op::Delete { id })),
                (Some("0"), _) | (None, Some(_)) => Ok(Call::Write(Op::Modify {
                    id,
                    text: entry(&form)?,
                })),
                (None, None) => Err(Answer::error(
                    400,
                    "expected the form field `delete=1` (delete this entry) \
                     or `entry=TEXT` (replace its text, with `delete=0` or alone)",
                )),
                (Some(_), _) => Err(Answer::error(400, "`delete` must be 0 or 1")),
            }
        }
        (["board" | "entries", id], "PUT") => {
            let id = entry_id(id)?;
            Ok(Call::Write(Op::Modify {
                id,
                text: entry(&form()?)?,
            }))
        }
        (["board" | "entries", id], "DELETE") => Ok(Call::Write(Op::Delete { id: entry_id(id)? })),
        (["board" | "entries", _], _) => Err(Answer::method_not_allowed("POST, PUT, DELETE")),
        (["events"], "GET") => since(query, "an event number").map(Call::Events),
        (["events"], _) => Err(Answer::method_not_allowed("GET")),
        (["changes"], "GET") => since(query, "a sequence number").map(Call::Changes),
        (["changes"], _) => Err(Answer::method_not_allowed("GET")),
        (["fault"], "POST") => Fault::from_form(&form()?)
            .map(Call::Fault)
            .map_err(|why| Answer::error(400, &why)),
        (["fault"], _) => Err(Answer::method_not_allowed("POST")),
        (["status"], "GET") => Ok(Call::Status),
        (["metrics"], "GET") => Ok(Call::Metrics),
        (["status"] | ["metrics"], _) => Err(Answer::method_not_allowed("GET")),
        _ => Err(no_such_route()),
    }
}

fn no_such_route() -> Answer {
    Answer::error(404, "no such route")
}

/// A long-poll's `since=N` (0 when absent), or the 400 that names what it must be.
fn since(query: &str, what: &str) -> Result<u64, Answer> {
    let pairs = parse_form(None, query.as_bytes())?;
    match field(&pairs, "since").map(str::parse) {
        None => Ok(0),
        Some(Ok(n)) => Ok(n),
        Some(Err(_)) => Err(Answer::error(400, &format!("`since` must be {what}"))),
    }
}

fn board_read(query: &str) -> Result<BoardRead, Answer> {
    let pairs = parse_form(None, query.as_bytes())?;
    if let Some(s) = field(&pairs, "since") {
        return s
            .parse()
            .map(BoardRead::Since)
            .map_err(|_| Answer::error(400, "`since` must be a sequence number"));
    }
    match field(&pairs, "stale") {
        None | Some("0") => Ok(BoardRead::Linearizable),
        Some("1") => Ok(BoardRead::Stale),
        Some(_) => Err(Answer::error(400, "`stale` must be 0 or 1")),
    }
}

fn entry_id(word: &str) -> Result<u64, Answer> {
    match word.parse::<u64>() {
        Ok(id) if id > 0 => Ok(id),
        _ => Err(Answer::error(400, "entry ids are positive whole numbers")),
    }
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn entry(form: &[(String, String)]) -> Result<String, Answer> {
    let text =
        field(form, "entry").ok_or_else(|| Answer::error(400, "missing form field `entry`"))?;
    if text.trim().is_empty() {
        return Err(Answer::error(400, "`entry` is empty"));
    }
    if text.len() > MAX_ENTRY_BYTES {
        return Err(Answer::error(
            413,
            &format!(
                "entry is {} bytes; the limit is {MAX_ENTRY_BYTES}",
                text.len()
            ),
        ));
    }
    Ok(text.to_owned())
}

/// A form body's pairs, or the 400 that says why it is not one.
pub fn parse_form(
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Vec<(String, String)>, Answer> {
    crate::form::parse(content_type, body).map_err(|why| Answer::error(400, why))
}

/// The answer to a write, once the node knows what became of it.
pub fn write_answer(result: &Result<Done, Unavailable>) -> Answer {
    let done = match result {
        Ok(done) => done,
        Err(Unavailable) => return Answer::unavailable(),
    };
    let ok = |status: u16, id: Option<u64>| {
        Answer::json(status, to_json(&answers::Written { id, seq: done.seq }))
    };
    match done.outcome {
        Outcome::Added { id } => ok(201, Some(id)),
        Outcome::Modified { id } | Outcome::Deleted { id } => ok(200, Some(id)),
        Outcome::Duplicate => ok(200, None),
        Outcome::NotFound { id } => Answer::error(404, &format!("no entry with id {id}")),
        Outcome::Full => Answer::error(
            507,
            &format!("the board is full ({MAX_ENTRIES} entries); delete some first"),
        ),
    }
}

/// `{"seq":42,"entries":[{"id":7,"text":"hi"},...]}`: the same bytes at every
/// node at the same seq (the answering node is in a header).
pub fn board_json(seq: u64, board: &Board) -> String {
    let entries = board
        .entries()
        .map(|(id, text)| answers::Entry {
            id,
            text: text.into(),
        })
        .collect();
    to_json(&answers::Board { seq, entries })
}

/// What the driver adds to the core's view of the node.
pub struct Surroundings<'a> {
    /// UDP address of each member, by id.
    pub addrs: &'a [(NodeId, String)],
    pub http: &'a str,
    pub version: &'static str,
    /// Counters kept outside the core (HTTP side, strangers).
    pub extra: &'a [(&'static str, u64)],
    /// Heartbeat interval and failure timeout.
    pub pace: (std::time::Duration, std::time::Duration),
    pub faults_allowed: bool,
    /// The demo fault in force, in words.
    pub fault: Option<String>,
}

pub fn status_json(status: &Status, counters: &Counters, around: &Surroundings) -> String {
    to_json(&status_answer(status, counters, around))
}

/// The core's status with what the driver adds.
pub fn status_answer(
    status: &Status,
    counters: &Counters,
    around: &Surroundings,
) -> answers::Status {
    let ms = |d: std::time::Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    let peers = status
        .peers
        .iter()
        .map(|p| {
            let addr = around
                .addrs
                .iter()
                .find(|(id, _)| *id == p.id)
                .map_or("", |(_, a)| a.as_str());
            // Its page: the host it is reached at, the port it told.
            let host = addr.rsplit_once(':').map(|(h, _)| h);
            answers::Peer {
                id: p.id,
                addr: addr.to_owned(),
                http: host.zip(p.http_port).map(|(h, port)| format!("{h}:{port}")),
                alive: p.alive,
                last_heard_ms: p.last_heard.map(ms),
                role: p.role.into(),
                attribute: p.attribute,
                is_self: p.is_self,
            }
        })
        .collect();
    let traffic = |t: &[crate::core::Traffic]| {
        Kind::ALL
            .iter()
            .map(|kind| {
                let t = t[kind.index()];
                let t = answers::Traffic {
                    datagrams: t.datagrams,
                    bytes: t.bytes,
                };
                (kind.name().to_owned(), t)
            })
            .collect()
    };
    let counters = answers::Counters {
        sent: traffic(&counters.sent),
        received: traffic(&counters.received),
        dropped: (counters.dropped.iter())
            .map(|(reason, n)| (reason.name().to_owned(), *n))
            .collect(),
        elections: counters.elections,
        driver: (around.extra.iter())
            .map(|(name, n)| ((*name).to_owned(), *n))
            .collect(),
    };
    answers::Status {
        id: status.id,
        attribute: status.attribute,
        role: status.role.into(),
        leader: status.leader,
        epoch: status.epoch.number,
        epoch_leader: status.epoch.leader,
        commit: status.commit,
        seq: status.applied,
        http: around.http.to_owned(),
        version: around.version.to_owned(),
        pace: answers::Pace {
            heartbeat_ms: ms(around.pace.0),
            timeout_ms: ms(around.pace.1),
        },
        faults_allowed: around.faults_allowed,
        fault: around.fault.clone(),
        leader_silent_ms: status.leader_silent.map(ms),
        peers,
        counters,
    }
}

/// The counters in Prometheus text format.
pub fn metrics_text(status: &Status, counters: &Counters, around: &Surroundings) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let node = status.id;
    for (direction, traffic) in [("sent", &counters.sent), ("received", &counters.received)] {
        for (unit, pick) in [("datagrams", 0), ("bytes", 1)] {
            let name = format!("blackboard_{unit}_{direction}_total");
            let _ = writeln!(
                out,
                "# HELP {name} UDP {unit} {direction}, by message kind."
            );
            let _ = writeln!(out, "# TYPE {name} counter");
            for kind in Kind::ALL {
                let t = traffic[kind.index()];
                let v = if pick == 0 { t.datagrams } else { t.bytes };
                let _ = writeln!(
                    out,
                    "{name}{{node=\"{node}\",kind=\"{}\"}} {v}",
                    kind.name()
                );
            }
        }
    }
    let _ = writeln!(
        out,
        "# HELP blackboard_datagrams_dropped_total Datagrams refused, by reason."
    );
    let _ = writeln!(out, "# TYPE blackboard_datagrams_dropped_total counter");
    for (reason, n) in &counters.dropped {
        let _ = writeln!(
            out,
            "blackboard_datagrams_dropped_total{{node=\"{node}\",reason=\"{reason}\"}} {n}"
        );
    }
    let gauges: [(&str, &str, u64); 6] = [
        ("blackboard_elections_total", "counter", counters.elections),
        ("blackboard_epoch", "gauge", status.epoch.number),
        ("blackboard_commit_index", "gauge", status.commit),
        ("blackboard_applied_seq", "gauge", status.applied),
        (
            "blackboard_is_leader",
            "gauge",
            u64::from(status.leader == Some(status.id)),
        ),
        ("blackboard_attribute", "gauge", u64::from(status.attribute)),
    ];
    for (name, kind, v) in gauges {
        let _ = writeln!(out, "# TYPE {name} {kind}\n{name}{{node=\"{node}\"}} {v}");
    }
    for (name, v) in around.extra {
        let _ = writeln!(
            out,
            "# TYPE blackboard_{name} counter\nblackboard_{name}{{node=\"{node}\"}} {v}"
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(text: &str) -> Call {
        Call::Write(Op::Add { text: text.into() })
    }

    /// A request with a urlencoded body (or none).
    fn route(method: &str, url: &str, body: &[u8]) -> Result<Call, Answer> {
        super::route(method, url, None, body)
    }

    fn status_of(r: Result<Call, Answer>) -> u16 {
        r.err().map_or(0, |a| a.status)
    }

    #[test]
    fn lab_routes_map_to_writes() {
        assert_eq!(route("POST", "/board", b"entry=hi"), Ok(add("hi")));
        assert_eq!(
            route("POST", "/entries", b"entry=hi+there%21"),
            Ok(add("hi there!"))
        );
        assert_eq!(
            route("POST", "/board/7/", b"delete=1"),
            Ok(Call::Write(Op::Delete { id: 7 }))
        );
        assert_eq!(
            route("POST", "/board/7", b"delete=0&entry=new"),
            Ok(Call::Write(Op::Modify {
                id: 7,
                text: "new".into()
            }))
        );
        assert_eq!(
            route("PUT", "/board/7", b"entry=x"),
            Ok(Call::Write(Op::Modify {
                id: 7,
                text: "x".into()
            }))
        );
        assert_eq!(
            route("DELETE", "/board/7/", b""),
            Ok(Call::Write(Op::Delete { id: 7 }))
        );
    }

    #[test]
    fn reads_and_pages() {
        assert_eq!(route("GET", "/", b""), Ok(Call::Page(Page::Index)));
        assert_eq!(route("HEAD", "/app.js", b""), Ok(Call::Page(Page::Script)));
        assert_eq!(
            route("GET", "/board", b""),
            Ok(Call::Board(BoardRead::Linearizable))
        );
        assert_eq!(
            route("GET", "/board?stale=1", b""),
            Ok(Call::Board(BoardRead::Stale))
        );
        assert_eq!(
            route("GET", "/board?stale=0", b""),
            Ok(Call::Board(BoardRead::Linearizable))
        );
        assert_eq!(status_of(route("GET", "/board?stale=yes", b"")), 400);
        assert_eq!(
            route("GET", "/board?since=42", b""),
            Ok(Call::Board(BoardRead::Since(42)))
        );
        assert_eq!(route("GET", "/events", b""), Ok(Call::Events(0)));
        assert_eq!(route("GET", "/events?since=7", b""), Ok(Call::Events(7)));
        assert_eq!(route("GET", "/changes?since=7", b""), Ok(Call::Changes(7)));
        assert_eq!(route("GET", "/changes", b""), Ok(Call::Changes(0)));
        assert_eq!(status_of(route("GET", "/changes?since=-1", b"")), 400);
        assert_eq!(status_of(route("POST", "/changes", b"")), 405);
        assert_eq!(status_of(route("GET", "/events?since=x", b"")), 400);
        assert_eq!(
            route("POST", "/fault", b"action=crash&seconds=2"),
            Ok(Call::Fault(Fault::Crash { seconds: 2 }))
        );
        assert_eq!(status_of(route("POST", "/fault", b"action=nap")), 400);
        assert_eq!(status_of(route("GET", "/fault", b"")), 405);
        assert_eq!(route("GET", "/status", b""), Ok(Call::Status));
        assert_eq!(route("GET", "/metrics", b""), Ok(Call::Metrics));
    }

    #[test]
    fn bad_requests_get_the_contract_status() {
        assert_eq!(
            status_of(route("POST", "/board", b"")),
            400,
            "missing entry"
        );
        assert_eq!(
            status_of(route("POST", "/board", b"entry=")),
            400,
            "empty entry"
        );
        assert_eq!(
            status_of(route("POST", "/board", b"entry=%20+")),
            400,
            "blank entry"
        );
        assert_eq!(
            status_of(route("POST", "/board", b"entry=%ff")),
            400,
            "bad UTF-8"
        );
        assert_eq!(
            status_of(route("POST", "/board", b"entry=%zz")),
            400,
            "bad escape"
        );
        assert_eq!(
            status_of(route("POST", "/board", b"entry=%4")),
            400,
            "short escape"
        );
        assert_eq!(
            status_of(route("POST", "/board", b"entry=%+A")),
            400,
            "signed escape"
        );
        assert_eq!(
            status_of(route("POST", "/board/99999999999999999999", b"delete=1")),
            400,
            "id past u64"
        );
        assert_eq!(
            status_of(route("POST", "/board/0", b"delete=1")),
            400,
            "id 0"
        );
        assert_eq!(
            status_of(route("POST", "/board/1", b"other=x")),
            400,
            "neither delete nor entry"
        );
        assert_eq!(
            status_of(route("POST", "/board/1", b"delete=0")),
            400,
            "a modify without its text"
        );
        assert_eq!(
            status_of(route("POST", "/board/1", b"delete=2")),
            400,
            "bad delete"
        );
        assert_eq!(
            status_of(route("GET", "/board?since=x", b"")),
            400,
            "bad since"
        );
        assert_eq!(status_of(route("GET", "/nothing", b"")), 404);
        assert_eq!(status_of(route("GET", "/../etc/passwd", b"")), 404);
        assert_eq!(status_of(route("GET", "/www/../Cargo.toml", b"")), 404);
        assert_eq!(status_of(route("PATCH", "/board", b"")), 405);
        assert_eq!(status_of(route("PATCH", "/entries", b"")), 405);
        assert_eq!(status_of(route("GET", "/board/3", b"")), 405);
        assert_eq!(status_of(route("POST", "/status", b"")), 405);
        let long = format!("entry={}", "x".repeat(MAX_ENTRY_BYTES + 1));
        assert_eq!(status_of(route("POST", "/board", long.as_bytes())), 413);
        let exact = format!("entry={}", "é".repeat(MAX_ENTRY_BYTES / 2));
        assert!(
            route("POST", "/board", exact.as_bytes()).is_ok(),
            "limit counts bytes"
        );
    }

    #[test]
    fn the_course_skeletons_routes_are_aliases() {
        for path in ["/entries/7", "/entries/7/"] {
            assert_eq!(
                route("POST", path, b"delete=1"),
                Ok(Call::Write(Op::Delete { id: 7 }))
            );
            assert_eq!(
                route("POST", path, b"delete=0&entry=new"),
                Ok(Call::Write(Op::Modify {
                    id: 7,
                    text: "new".into()
                }))
            );
        }
        assert_eq!(
            route("POST", "/board/7", b"entry=only+text"),
            Ok(Call::Write(Op::Modify {
                id: 7,
                text: "only text".into()
            })),
            "entry alone is a modify"
        );
        assert_eq!(route("GET", "/entries", b""), route("GET", "/board", b""));
        assert_eq!(
            route("DELETE", "/entries/3", b""),
            route("DELETE", "/board/3", b"")
        );
        assert_eq!(
            route("PUT", "/entries/3", b"entry=x"),
            route("PUT", "/board/3", b"entry=x")
        );
    }

    #[test]
    fn unknown_paths_under_the_board_are_404() {
        for path in [
            "/board/abc",
            "/board/-3",
            "/board/no/such/route",
            "/entries/x/",
            "/board/3/x",
        ] {
            for method in ["GET", "POST", "DELETE"] {
                assert_eq!(
                    status_of(route(method, path, b"delete=1")),
                    404,
                    "{method} {path}"
                );
            }
        }
    }

    #[test]
    fn multipart_forms_write_as_urlencoded_ones_do() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"entry\"\r\n\r\nfrom curl -F\r\n--XyZ--\r\n";
        let multipart = Some("multipart/form-data; boundary=XyZ");
        assert_eq!(
            super::route("POST", "/board", multipart, body),
            Ok(add("from curl -F"))
        );
        let cut = &body[..body.len() - 8];
        assert_eq!(
            status_of(super::route("POST", "/board", multipart, cut)),
            400
        );
    }

    #[test]
    fn method_errors_name_the_allowed_methods() {
        let answer = route("DELETE", "/board", b"").unwrap_err();
        assert_eq!(answer.allow, Some("GET, POST"));
    }

    #[test]
    fn the_first_value_of_a_field_counts() {
        let form = parse_form(None, b"entry=x%3Dy&entry=second").unwrap();
        assert_eq!(field(&form, "entry"), Some("x=y"));
    }

    #[test]
    fn write_outcomes_map_to_statuses() {
        let done = |outcome| Ok(Done { outcome, seq: 9 });
        let a = write_answer(&done(Outcome::Added { id: 4 }));
        assert_eq!((a.status, &*a.body), (201, &b"{\"id\":4,\"seq\":9}\n"[..]));
        assert_eq!(write_answer(&done(Outcome::Deleted { id: 4 })).status, 200);
        assert_eq!(write_answer(&done(Outcome::NotFound { id: 4 })).status, 404);
        assert_eq!(write_answer(&done(Outcome::Full)).status, 507);
        let unavailable = write_answer(&Err(Unavailable));
        assert_eq!(
            (unavailable.status, unavailable.retry_after),
            (503, Some(1))
        );
    }

    #[test]
    fn board_json_is_in_total_order() {
        let mut board = Board::new();
        for (n, t) in ["one", "two \"quoted\""].iter().enumerate() {
            let request = crate::wire::Request {
                origin: 1,
                boot: 1,
                number: n as u64,
                finished_below: 0,
                op: Op::Add { text: (*t).into() },
            };
            board.apply(&request, n as u64 + 1);
        }
        assert_eq!(
            board_json(5, &board),
            r#"{"seq":5,"entries":[{"id":1,"text":"one"},{"id":2,"text":"two \"quoted\""}]}"#
        );
    }
}
