//! Fuzz target `registrations_json`: the invariants are `pbx_pools::domain::fuzz_checks::check("registrations_json", _)`,
//! which `cargo test` also replays over fuzz/corpus/registrations_json and fuzz/regressions/registrations_json.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(broken) = pbx_pools::domain::fuzz_checks::check("registrations_json", data) {
        panic!("invariant broken: {broken}");
    }
});
