//! Arbitrary bytes as a received datagram: `wire::decode` must not panic, and
//! whatever it accepts must re-encode (within one datagram) to bytes that
//! decode to the same envelope; encoding is canonical from there on.
#![no_main]

use blackboard::wire::{self, MAX_DATAGRAM};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(envelope) = wire::decode(data) else {
        return;
    };
    assert!(data.len() <= MAX_DATAGRAM);
    let bytes = wire::encode(&envelope).expect("a decoded envelope re-encodes within a datagram");
    assert!(
        bytes.len() <= data.len(),
        "re-encoding grew from {} to {} bytes",
        data.len(),
        bytes.len()
    );
    let again = wire::decode(&bytes).expect("an encoded envelope decodes");
    assert_eq!(
        again, envelope,
        "encode/decode round trip changed the envelope"
    );
    assert_eq!(wire::encode(&again).as_deref(), Some(&bytes[..]));
    let _ = envelope.message.kind().name();
});
