//! Replays every input in `fuzz/regressions/` (inputs that once made the `edit` fuzz target
//! fail, named after what they found) through the fuzz target's own checks, so a fixed crash
//! stays fixed without libFuzzer or a nightly toolchain.

#[path = "../fuzz/check.rs"]
mod check;

use std::path::Path;

#[test]
fn fuzz_regressions_still_pass() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("fuzz/regressions should exist")
        .map(|entry| entry.expect("fuzz/regressions should be listable").path())
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no regression inputs in {}",
        dir.display()
    );
    let failed: Vec<String> = files
        .iter()
        .filter(|file| {
            let data = std::fs::read(file).expect("a regression input should be readable");
            std::panic::catch_unwind(|| check::check(&data)).is_err()
        })
        .map(|file| file.display().to_string())
        .collect();
    assert!(failed.is_empty(), "fuzz regressions fail: {failed:?}");
}
