//! `fix`'s diff applied by the real `git apply` and `patch -p1` when the input is named by an
//! absolute path or a `../` path (issue 14): the headers are written from the root, as
//! `git diff --no-index` writes an absolute path, and both tools apply them from `/`.

use crate::util::{stdout, Dir, BASELINE_ONLY};
use std::process::Command;

/// Whether `tool --version` runs; the test needs the real tools and fails without them in CI.
fn available(tool: &str) -> bool {
    let found = Command::new(tool).arg("--version").output().is_ok();
    assert!(
        found || std::env::var_os("CI").is_none(),
        "`{tool}` is needed to test that diffs apply"
    );
    found
}

/// The diff `fix` prints for `name` (run in `run_in`), then the file as `tool` patches it
/// from `/`, compared with what `fix --stdout` writes.
fn applies(tool: &str, dir: &Dir, run_in: &std::path::Path, name: &str) {
    let file = dir.path().join("app/deploy.yaml");
    std::fs::write(&file, BASELINE_ONLY).unwrap();
    let mut fix = dir.command(&["fix", name]);
    fix.current_dir(run_in);
    let diff = stdout(&fix.output().unwrap());
    assert!(diff.starts_with("--- a/"), "{diff}");
    assert!(!diff.contains("a//") && !diff.contains("/../"), "{diff}");
    let mut fixed = dir.command(&["fix", "--stdout", name]);
    fixed.current_dir(run_in);
    let expected = stdout(&fixed.output().unwrap());
    let patch_file = dir.write("fix.patch", &diff);
    let status = match tool {
        "git" => Command::new("git")
            .arg("apply")
            .arg(&patch_file)
            .current_dir("/")
            .status(),
        _ => Command::new("patch")
            .args(["-p1", "--batch", "-i"])
            .arg(&patch_file)
            .current_dir("/")
            .status(),
    }
    .unwrap();
    assert!(status.success(), "{tool} refused:\n{diff}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), expected);
}

#[test]
fn absolute_and_parent_paths_apply_with_git_and_patch() {
    for tool in ["git", "patch"] {
        if !available(tool) {
            continue;
        }
        let dir = Dir::new();
        dir.write("app/.keep", "");
        let absolute = dir.path().join("app/deploy.yaml");
        applies(tool, &dir, dir.path(), absolute.to_str().unwrap());
        let below = dir.write("work/.keep", "");
        let work = below.parent().unwrap();
        applies(tool, &dir, work, "../app/deploy.yaml");
    }
}
