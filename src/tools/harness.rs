//! How the tools and the process tests talk to a node: one HTTP request at a
//! time through a well-kept client (minreq), answers read with the library's
//! own answer types, and polling for a condition instead of sleeping. The
//! process tests include this file (`tests/support`), so they and the
//! launcher ask nodes the same way.

use std::io;
use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;

/// What a node answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body read as one of the answer types (`blackboard::answers`).
    pub fn json<T: DeserializeOwned>(&self) -> io::Result<T> {
        serde_json::from_str(&self.body)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{e}: {}", self.body)))
    }
}

/// A node's HTTP address and how long a request to it may take.
#[derive(Clone, Debug)]
pub struct Client {
    addr: SocketAddr,
    timeout: Duration,
}

impl Client {
    pub fn new(addr: SocketAddr) -> Client {
        Client {
            addr,
            timeout: Duration::from_secs(10),
        }
    }

    /// minreq counts whole seconds: anything shorter waits one second.
    pub fn with_timeout(mut self, timeout: Duration) -> Client {
        self.timeout = timeout;
        self
    }
}

/// What a client of a node does: one request, and its two common forms.
/// Both clients have it: this one and the benchmark's kept-alive one.
pub trait Ask {
    fn request(&mut self, method: &str, path: &str, form: Option<&str>) -> io::Result<Response>;

    fn get(&mut self, path: &str) -> io::Result<Response> {
        self.request("GET", path, None)
    }

    /// POSTs a form body (already encoded, e.g. `entry=hi`).
    fn post(&mut self, path: &str, form: &str) -> io::Result<Response> {
        self.request("POST", path, Some(form))
    }
}

impl Ask for Client {
    fn request(&mut self, method: &str, path: &str, form: Option<&str>) -> io::Result<Response> {
        let url = format!("http://{}{path}", self.addr);
        let method = match method {
            "GET" => minreq::Method::Get,
            "POST" => minreq::Method::Post,
            "PUT" => minreq::Method::Put,
            "DELETE" => minreq::Method::Delete,
            "HEAD" => minreq::Method::Head,
            other => minreq::Method::Custom(other.to_owned()),
        };
        let mut request = minreq::Request::new(method, url)
            .with_timeout(self.timeout.as_secs().max(1))
            .with_follow_redirects(false);
        if let Some(form) = form {
            request = request
                .with_header("Content-Type", "application/x-www-form-urlencoded")
                .with_body(form);
        }
        let answer = request
            .send()
            .map_err(|e| io::Error::other(e.to_string()))?;
        Ok(Response {
            status: answer.status_code,
            body: String::from_utf8_lossy(answer.as_bytes()).into_owned(),
            headers: answer.headers.clone(),
        })
    }
}

/// URL-encodes a form value.
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Polls `f` every 20 ms until it holds or `limit` passes.
pub fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_values_are_encoded() {
        assert_eq!(encode("a b&c=d/é"), "a+b%26c%3Dd%2F%C3%A9");
        let decoded =
            blackboard::form::urlencoded(format!("entry={}", encode("a b&c=é+")).as_bytes())
                .unwrap();
        assert_eq!(decoded[0].1, "a b&c=é+");
    }
}
