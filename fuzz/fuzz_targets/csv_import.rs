//! Fuzz target `csv_import`: the invariants are `pbx_pools::domain::fuzz_checks::check("csv_import", _)`,
//! which `cargo test` also replays over fuzz/corpus/csv_import and fuzz/regressions/csv_import.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(broken) = pbx_pools::domain::fuzz_checks::check("csv_import", data) {
        panic!("invariant broken: {broken}");
    }
});
