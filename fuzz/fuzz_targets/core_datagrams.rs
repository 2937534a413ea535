//! A three-node cluster on a fuzz-run network, with forged, mutated and
//! arbitrary datagrams injected: no node may panic or break a local
//! invariant. See `blackboard_fuzz::core_harness`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = blackboard_fuzz::core_harness::run(data);
});
