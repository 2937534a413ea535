//! The benchmark's HTTP/1.1 client: one kept-alive connection per client
//! thread, and one write per request. The tools' client (minreq, in
//! `tools::harness`) opens a connection per request. Measured against one
//! node on this machine (2,000 requests each, p50/p90/p99): `POST /board`
//! 26/28/54 us kept alive, 73/227/4019 us with minreq; `GET /status`
//! 29/32/58 us against 182/1611/4058 us. The benchmark reports the node's
//! latency, not TCP handshakes and their delayed acknowledgements, so it
//! keeps this one. It speaks just enough HTTP for our own server.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use crate::tools::harness::{Ask, Response};

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
}

impl Ask for Client {
    /// One request on the kept-alive connection; reconnects once if the
    /// server closed it in between.
    fn request(&mut self, method: &str, path: &str, form: Option<&str>) -> io::Result<Response> {
        let reused = self.conn.is_some();
        match self.try_request(method, path, form) {
            Err(_) if reused => {
                self.conn = None;
                self.try_request(method, path, form)
            }
            other => other,
        }
    }
}

impl Client {
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
