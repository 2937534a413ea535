//! A minimal HTTP/1.1 client with keep-alive, for the launcher, the process
//! tests and the benchmark. It speaks just enough HTTP for our own server.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

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
}

pub struct Client {
    addr: SocketAddr,
    timeout: Duration,
    conn: Option<BufReader<TcpStream>>,
}

impl Client {
    pub fn new(addr: SocketAddr) -> Client {
        Client {
            addr,
            timeout: Duration::from_secs(10),
            conn: None,
        }
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Client {
        self.timeout = timeout;
        self
    }

    pub fn get(&mut self, path: &str) -> io::Result<Response> {
        self.request("GET", path, None)
    }

    /// POSTs a form body (already encoded, e.g. `entry=hi`).
    pub fn post(&mut self, path: &str, form: &str) -> io::Result<Response> {
        self.request("POST", path, Some(form))
    }

    /// One request on the kept-alive connection; reconnects once if the
    /// server closed it in between.
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        form: Option<&str>,
    ) -> io::Result<Response> {
        let reused = self.conn.is_some();
        match self.try_request(method, path, form) {
            Err(_) if reused => {
                self.conn = None;
                self.try_request(method, path, form)
            }
            other => other,
        }
    }

    fn try_request(
        &mut self,
        method: &str,
        path: &str,
        form: Option<&str>,
    ) -> io::Result<Response> {
        if self.conn.is_none() {
            let stream = TcpStream::connect_timeout(&self.addr, self.timeout)?;
            stream.set_read_timeout(Some(self.timeout))?;
            stream.set_write_timeout(Some(self.timeout))?;
            stream.set_nodelay(true)?;
            self.conn = Some(BufReader::new(stream));
        }
        let conn = self.conn.as_mut().expect("connected just above");
        let body = form.unwrap_or("");
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", self.addr);
        if form.is_some() {
            head.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
        }
        head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        // One write for the whole request: two small segments can wait on
        // each other's acknowledgement.
        head.push_str(body);
        conn.get_mut().write_all(head.as_bytes())?;
        let response = read_response(conn);
        if response.is_err() {
            self.conn = None;
        }
        response
    }
}

fn read_response(conn: &mut BufReader<TcpStream>) -> io::Result<Response> {
    let bad = |why: &str| io::Error::new(io::ErrorKind::InvalidData, why.to_owned());
    let mut line = String::new();
    if conn.read_line(&mut line)? == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed",
        ));
    }
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("bad status line"))?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        conn.read_line(&mut line)?;
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        if let Some((k, v)) = trimmed.split_once(':') {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let length: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .ok_or_else(|| bad("no content-length"))?;
    let mut body = vec![0; length];
    conn.read_exact(&mut body)?;
    Ok(Response {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
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

/// Reads a top-level number field (`"key":123`) of our own flat JSON.
pub fn json_u64(json: &str, key: &str) -> Option<u64> {
    let pattern = format!("\"{key}\":");
    let start = json.find(&pattern)? + pattern.len();
    let digits: String = json[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_values_are_encoded() {
        assert_eq!(encode("a b&c=d/é"), "a+b%26c%3Dd%2F%C3%A9");
        let decoded =
            crate::form::urlencoded(format!("entry={}", encode("a b&c=é+")).as_bytes()).unwrap();
        assert_eq!(decoded[0].1, "a b&c=é+");
    }

    #[test]
    fn numbers_are_read_from_flat_json() {
        let j = r#"{"id":3,"leader":12,"epoch":4,"leader_x":null}"#;
        assert_eq!(json_u64(j, "leader"), Some(12));
        assert_eq!(json_u64(j, "leader_x"), None);
        assert_eq!(json_u64(j, "missing"), None);
    }
}
