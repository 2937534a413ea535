//! The multipart form parser (src/form.rs) on arbitrary bytes, boundary
//! `XyZ`: it must not panic, reading through `form::parse` with the
//! Content-Type must give the same answer, and what it parses must survive
//! re-encoding (so no part is ever read differently from how it was sent).
#![no_main]

use blackboard::form;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let direct = form::multipart(b"XyZ", data);
    let typed = form::parse(Some("multipart/form-data; boundary=XyZ"), data);
    assert_eq!(direct, typed, "the Content-Type route reads differently");
    let Ok(pairs) = direct else {
        return;
    };
    let mut encoded = Vec::new();
    for (name, value) in &pairs {
        encoded.extend_from_slice(b"--XyZ\r\nContent-Disposition: form-data; name=\"");
        encoded.extend_from_slice(name.as_bytes());
        encoded.extend_from_slice(b"\"\r\n\r\n");
        encoded.extend_from_slice(value.as_bytes());
        encoded.extend_from_slice(b"\r\n");
    }
    encoded.extend_from_slice(b"--XyZ--");
    let again = form::multipart(b"XyZ", &encoded).expect("re-encoded multipart parses");
    assert_eq!(again, pairs, "multipart round trip changed the pairs");
});
