//! The HTTP front end's pure parts. The first byte picks a method, the bytes
//! up to the first NUL are the URL (lossily UTF-8, as tiny_http hands over a
//! `&str`), the rest is the body. `http::route` must not panic, a write it
//! accepts must meet the contract (entry non-blank and at most
//! MAX_ENTRY_BYTES, ids positive) and a refusal must be a 4xx with a JSON
//! body. The first byte's high bits pick the body's Content-Type (none,
//! urlencoded, multipart; the multipart parser has its own target,
//! form_multipart). The urlencoded parser on the raw bytes must not panic
//! either, and what it parses must survive re-encoding.
#![no_main]

use blackboard::form;
use blackboard::http::{self, Call};
use blackboard::wire::{Op, MAX_ENTRY_BYTES};
use libfuzzer_sys::fuzz_target;

const METHODS: [&str; 10] = [
    "GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS", "get", "", "POST ",
];

fuzz_target!(|data: &[u8]| {
    let Some((&m, rest)) = data.split_first() else {
        return;
    };
    let method = METHODS[usize::from(m & 0x0f) % METHODS.len()];
    let content_type = [
        None,
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=XyZ"),
        Some("multipart/form-data"),
    ][usize::from(m >> 6)];
    let (url, body) = match rest.iter().position(|&b| b == 0) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let url = String::from_utf8_lossy(url);
    match http::route(method, &url, content_type, body) {
        Ok(Call::Write(op)) => {
            assert!(
                matches!(method, "POST" | "PUT" | "DELETE"),
                "{method} wrote"
            );
            match &op {
                Op::Add { text } | Op::Modify { text, .. } => {
                    assert!(!text.trim().is_empty(), "blank entry accepted");
                    assert!(text.len() <= MAX_ENTRY_BYTES, "oversized entry accepted");
                }
                Op::Delete { .. } => {}
            }
            if let Op::Modify { id, .. } | Op::Delete { id } = op {
                assert!(id > 0, "entry id 0 accepted");
            }
        }
        Ok(_) => {}
        Err(answer) => {
            assert!(
                (400..500).contains(&answer.status),
                "route answered {}",
                answer.status
            );
            assert!(
                answer.body.starts_with(b"{\"error\":"),
                "error body is not JSON"
            );
        }
    }
    check_form(rest);
});

fn check_form(bytes: &[u8]) {
    let Ok(pairs) = form::urlencoded(bytes) else {
        return;
    };
    let encoded: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect();
    let again = form::urlencoded(encoded.join("&").as_bytes()).expect("re-encoded form parses");
    assert_eq!(again, pairs, "form round trip changed the pairs");
}

fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
