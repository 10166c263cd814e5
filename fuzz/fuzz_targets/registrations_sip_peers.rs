//! Fuzz target `registrations_sip_peers`: the invariants are `pbx_pools::domain::fuzz_checks::check("registrations_sip_peers", _)`,
//! which `cargo test` also replays over fuzz/corpus/registrations_sip_peers and fuzz/regressions/registrations_sip_peers.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(broken) = pbx_pools::domain::fuzz_checks::check("registrations_sip_peers", data) {
        panic!("invariant broken: {broken}");
    }
});
