//! Fuzz target `srv_shares`: the invariants are `pbx_pools::domain::fuzz_checks::check("srv_shares", _)`,
//! which `cargo test` also replays over fuzz/corpus/srv_shares and fuzz/regressions/srv_shares.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(broken) = pbx_pools::domain::fuzz_checks::check("srv_shares", data) {
        panic!("invariant broken: {broken}");
    }
});
