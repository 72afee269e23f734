//! cargo-fuzz target over (document, patch) pairs for `pss_fix::yaml`; the input layout and
//! what is checked are in `fuzz/check.rs`.
#![no_main]

#[path = "../check.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
