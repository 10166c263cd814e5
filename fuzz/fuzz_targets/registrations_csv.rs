//! Fuzz target `registrations_csv`: the invariants are `pbx_pools::domain::fuzz_checks::check("registrations_csv", _)`,
//! which `cargo test` also replays over fuzz/corpus/registrations_csv and fuzz/regressions/registrations_csv.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(broken) = pbx_pools::domain::fuzz_checks::check("registrations_csv", data) {
        panic!("invariant broken: {broken}");
    }
});
