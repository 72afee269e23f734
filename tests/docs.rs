//! The README's examples are tests: every ```console block in README.md is run, command by
//! command, and its output must match what the README shows.
//!
//! Format of a block: a line `$ COMMAND` runs COMMAND with `sh` (stderr merged into stdout) in
//! a fresh temporary copy of `examples/`, with the built `pss-fix` first on PATH; the lines
//! after it, up to the next `$ ` line or the end of the block, are the expected output. A line
//! `...` in the expected output matches any number of lines. Each block gets its own copy of
//! `examples/` and `integrations/`, so a `--write` in one block does not leak into the next.
//! `SNAPSHOTS=overwrite` rewrites the README's expected outputs from the actual ones (the
//! project's one bless switch); review the change as a diff.

use crate::util::copy_tree;
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

struct Step {
    /// 1-based line of the `$ ` command in the README.
    line: usize,
    command: String,
    expected: Vec<String>,
}

/// Parses the ```console blocks of a Markdown text into steps, one list per block.
fn console_blocks(markdown: &str) -> Vec<Vec<Step>> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<Step>> = None;
    for (index, line) in markdown.lines().enumerate() {
        match current.as_mut() {
            None if line.trim_end() == "```console" => current = Some(Vec::new()),
            None => {}
            Some(_) if line.trim_end() == "```" => blocks.extend(current.take()),
            Some(steps) => {
                if let Some(command) = line.strip_prefix("$ ") {
                    steps.push(Step {
                        line: index + 1,
                        command: command.to_string(),
                        expected: Vec::new(),
                    });
                } else if let Some(step) = steps.last_mut() {
                    step.expected.push(line.to_string());
                }
            }
        }
    }
    blocks
}

/// Whether `actual` matches `expected`, where an expected `...` line matches any run of lines.
fn lines_match(expected: &[String], actual: &[&str]) -> bool {
    match expected.split_first() {
        None => actual.is_empty(),
        Some((first, rest)) if first == "..." => {
            (0..=actual.len()).any(|skip| lines_match(rest, &actual[skip..]))
        }
        Some((first, rest)) => actual
            .split_first()
            .is_some_and(|(line, tail)| line == first && lines_match(rest, tail)),
    }
}

/// Runs one step in `sandbox` and returns what it printed (stdout and stderr merged).
fn run_step(step: &Step, sandbox: &Path, path: &str) -> String {
    let output = Command::new("sh")
        .arg("-c")
        .arg(format!("{{ {}\n}} 2>&1", step.command))
        .current_dir(sandbox)
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .env_remove("CLICOLOR_FORCE")
        .output()
        .expect("sh should run");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The README with each step's expected output replaced by `actual` (keyed by command line).
fn blessed(markdown: &str, actual: &HashMap<usize, String>) -> String {
    let mut out = String::new();
    let mut in_block = false;
    let mut skipping = false;
    for (index, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_end();
        if !in_block {
            in_block = trimmed == "```console";
        } else if trimmed == "```" {
            in_block = false;
            skipping = false;
        } else if let Some(output) = actual.get(&(index + 1)) {
            out.push_str(line);
            out.push('\n');
            out.push_str(output);
            if !output.is_empty() && !output.ends_with('\n') {
                out.push('\n');
            }
            skipping = true;
            continue;
        } else if skipping {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[test]
fn readme_console_examples_run_as_shown() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let readme_path = root.join("README.md");
    let readme = fs::read_to_string(&readme_path).unwrap();
    let blocks = console_blocks(&readme);
    assert!(!blocks.is_empty(), "README.md has no ```console examples");

    let binary = PathBuf::from(env!("CARGO_BIN_EXE_pss-fix"));
    let path = format!(
        "{}:{}",
        binary.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );

    let mut failures = Vec::new();
    let mut actual_outputs = HashMap::new();
    for block in &blocks {
        let sandbox = tempfile::tempdir().unwrap();
        for tree in ["examples", "integrations"] {
            copy_tree(&root.join(tree), &sandbox.path().join(tree));
        }
        for step in block {
            let stdout = run_step(step, sandbox.path(), &path);
            let actual: Vec<&str> = stdout.lines().collect();
            if !lines_match(&step.expected, &actual) {
                failures.push(format!(
                    "README.md:{}: `{}`\n--- expected\n{}\n--- actual\n{}",
                    step.line,
                    step.command,
                    step.expected.join("\n"),
                    stdout
                ));
            }
            actual_outputs.insert(step.line, stdout);
        }
    }
    if std::env::var("SNAPSHOTS").as_deref() == Ok("overwrite") {
        fs::write(&readme_path, blessed(&readme, &actual_outputs)).unwrap();
        return;
    }
    let steps: usize = blocks.iter().map(Vec::len).sum();
    assert!(
        failures.is_empty(),
        "{} of {steps} README commands differ (SNAPSHOTS=overwrite rewrites them):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn expected_output_wildcards() {
    let expected: Vec<String> = ["a", "...", "d"].iter().map(|s| s.to_string()).collect();
    assert!(lines_match(&expected, &["a", "b", "c", "d"]));
    assert!(lines_match(&expected, &["a", "d"]));
    assert!(!lines_match(&expected, &["a", "b"]));
    assert!(!lines_match(&expected, &["x", "d"]));
}
