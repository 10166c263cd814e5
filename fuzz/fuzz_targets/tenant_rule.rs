//! Fuzz target `tenant_rule`: the invariants are `pbx_pools::domain::fuzz_checks::check("tenant_rule", _)`,
//! which `cargo test` also replays over fuzz/corpus/tenant_rule and fuzz/regressions/tenant_rule.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(broken) = pbx_pools::domain::fuzz_checks::check("tenant_rule", data) {
        panic!("invariant broken: {broken}");
    }
});
