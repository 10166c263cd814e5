//! Fuzz target `registrations_pjsip`: the invariants are `pbx_pools::domain::fuzz_checks::check("registrations_pjsip", _)`,
//! which `cargo test` also replays over fuzz/corpus/registrations_pjsip and fuzz/regressions/registrations_pjsip.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(broken) = pbx_pools::domain::fuzz_checks::check("registrations_pjsip", data) {
        panic!("invariant broken: {broken}");
    }
});
