//! The real tools the integration tests drive: helm 3, helm 4, kustomize and actionlint, built
//! from their Go modules by `e2e/tools/build` into `target/e2e/bin`, and pre-commit from PyPI
//! on PATH. A missing tool fails the test under `CI=true` (`.ci/run` provides them all) and
//! elsewhere skips it with a line on the terminal saying how to get it (`e2e::missing`).

use super::e2e;
use std::path::{Path, PathBuf};

/// A tool built by `e2e/tools/build`, or `None` when `test` is skipped.
pub fn built(name: &str, test: &str) -> Option<PathBuf> {
    let path = e2e::bin(name);
    if path.is_file() {
        return Some(path);
    }
    e2e::missing(
        test,
        &path.display().to_string(),
        &format!("run e2e/tools/build {name}"),
    );
    None
}

/// A program on PATH, or `None` when `test` is skipped.
pub fn on_path(name: &str, test: &str, how: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    });
    if found.is_none() {
        e2e::missing(test, &format!("{name} on PATH"), how);
    }
    found
}

/// A PATH with the directory of the binary under test first, then `extra`, then the inherited
/// PATH: what a user who installed pss-fix has.
pub fn path_with_pss_fix(extra: &[&Path]) -> std::ffi::OsString {
    let binary = Path::new(env!("CARGO_BIN_EXE_pss-fix"));
    let mut dirs: Vec<PathBuf> = vec![binary.parent().expect("a directory").to_path_buf()];
    dirs.extend(extra.iter().map(|dir| dir.to_path_buf()));
    if let Some(inherited) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&inherited));
    }
    std::env::join_paths(dirs).expect("paths without separators")
}
