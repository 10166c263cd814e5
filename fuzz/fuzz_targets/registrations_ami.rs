//! Fuzz target `registrations_ami`: the invariants are `pbx_pools::domain::fuzz_checks::check("registrations_ami", _)`,
//! which `cargo test` also replays over fuzz/corpus/registrations_ami and fuzz/regressions/registrations_ami.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(broken) = pbx_pools::domain::fuzz_checks::check("registrations_ami", data) {
        panic!("invariant broken: {broken}");
    }
});
