//! Golden runner: walks `golden/<suite>/<case>/` and compares bytes.
//!
//! Every case directory belongs to a suite, and the suite decides what the directory holds and
//! how it is checked ([`run_case`] dispatches on the suite name). Expected text is compared byte
//! for byte, never normalised: CRLF, a BOM or a missing final newline are part of what a case
//! asserts. On a mismatch the runner prints a unified diff (carriage returns and BOMs shown as
//! `\r` and `\u{feff}`), goes on with the other cases and lists every failure at the end.
//!
//! `SNAPSHOTS=overwrite cargo test golden` rewrites the expected files from what the code
//! produces (the project's single bless switch); review the result as a diff before committing.
//! `GOLDEN=fix/ cargo test golden` runs the cases whose `suite/case` contains `fix/`.
//!
//! Suite `edit` (the format-preserving editor, `pss_fix::yaml`): each case holds
//! - `input.yaml` or `input.json`: the text to edit;
//! - `patch.json`: `{"document": N, "patch": [RFC 6902 ops]}` or an array of such objects;
//! - either `output.yaml` / `output.json` (named after the input): the exact expected bytes,
//! - or `error.txt`: one substring per line that the error's display text must contain
//!   (`LINE:COLUMN:` for the position, then words of the reason), for input that is not YAML
//!   and for edits that must be refused.
//!
//! Besides the expected result, every `edit` input must come back byte-identical from an empty
//! patch, and an expected output must itself mean what the patch means: its documents' values
//! equal `json_patch::patch(input values, ops)` (so a wrong golden file is caught as such).

use std::fs;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use pss_fix::yaml::Stream;
use serde::Deserialize;

/// The environment switch that rewrites expected files instead of comparing against them.
const BLESS_VAR: &str = "SNAPSHOTS";
const BLESS_VALUE: &str = "overwrite";
/// The environment variable whose value selects cases by substring of `suite/case`.
const FILTER_VAR: &str = "GOLDEN";

#[test]
fn golden_cases() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("golden");
    let filter = std::env::var(FILTER_VAR).unwrap_or_default();
    let bless = std::env::var(BLESS_VAR).is_ok_and(|value| value == BLESS_VALUE);

    let cases = all_cases(&root).unwrap_or_else(|message| panic!("golden: {message}"));
    let mut ran = 0;
    let mut failures = Vec::new();
    for case in cases.iter().filter(|case| case.name().contains(&filter)) {
        ran += 1;
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| run_case(case, bless)))
            .unwrap_or_else(|payload| Err(format!("panicked: {}", panic_message(&*payload))));
        if let Err(report) = outcome {
            failures.push((case.name(), report));
        }
    }
    assert!(ran > 0, "golden: no case matches {FILTER_VAR}={filter:?}");
    let reports: Vec<String> = failures
        .iter()
        .map(|(name, report)| format!("==== {name}\n{report}"))
        .collect();
    assert!(
        failures.is_empty(),
        "{}\ngolden: {ran} cases, {} failed{}",
        reports.join("\n"),
        failures.len(),
        if bless {
            " (expected files rewritten)"
        } else {
            ""
        }
    );
}

/// One case directory, `golden/<suite>/<case>/`.
struct Case {
    suite: String,
    dir: PathBuf,
}

impl Case {
    fn name(&self) -> String {
        format!("{}/{}", self.suite, file_name(&self.dir))
    }
}

/// Checks one case according to its suite; `Err` carries the whole failure report.
fn run_case(case: &Case, bless: bool) -> Result<(), String> {
    match case.suite.as_str() {
        "edit" => edit::run(&case.dir, bless),
        "fix" => fix::run(&case.dir, bless),
        // A new suite (e.g. `fix`: input plus expected output per level) is one arm here.
        other => Err(format!("unknown golden suite `{other}`")),
    }
}

fn all_cases(root: &Path) -> Result<Vec<Case>, String> {
    let mut cases = Vec::new();
    for suite in sorted_subdirs(root)? {
        for dir in sorted_subdirs(&suite)? {
            cases.push(Case {
                suite: file_name(&suite),
                dir,
            });
        }
    }
    Ok(cases)
}

fn sorted_subdirs(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries = fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    let mut dirs = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
            .path();
        if path.is_dir() {
            dirs.push(path);
        }
    }
    dirs.sort();
    Ok(dirs)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned())
}

fn read(path: &Path) -> Result<String, String> {
    fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn remove_if_present(path: &Path) -> Result<(), String> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("cannot remove {}: {e}", path.display())),
    }
}

/// A unified diff of `expected` against `actual` that makes invisible bytes visible.
fn byte_diff(expected: &str, actual: &str) -> String {
    let (expected, actual) = (visible(expected), visible(actual));
    if expected == actual {
        return "texts differ in bytes the diff cannot show".to_owned();
    }
    similar::TextDiff::from_lines(&expected, &actual)
        .unified_diff()
        .context_radius(3)
        .header("expected", "actual")
        .to_string()
}

fn visible(text: &str) -> String {
    text.replace('\r', "\\r").replace('\u{feff}', "\\u{feff}")
}

#[path = "golden_fix/mod.rs"]
mod fix;

/// The `edit` suite: `pss_fix::yaml::Stream::edit` on one input and patch.
mod edit {
    use super::*;

    /// One entry of `patch.json`.
    #[derive(Deserialize)]
    struct DocumentPatch {
        document: usize,
        patch: json_patch::Patch,
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum PatchFile {
        One(DocumentPatch),
        Many(Vec<DocumentPatch>),
    }

    pub(super) fn run(dir: &Path, bless: bool) -> Result<(), String> {
        let (input_path, extension) = input_file(dir)?;
        let input = read(&input_path)?;
        let edits = read_patch(&dir.join("patch.json"))?;
        let output_path = dir.join(format!("output.{extension}"));
        let error_path = dir.join("error.txt");

        let actual = match Stream::parse(&input) {
            Err(error) => Actual::Error(error.to_string()),
            Ok(stream) => {
                check_empty_patch(&stream, &input)?;
                match stream.edit(&edits) {
                    Ok(text) => Actual::Text(text),
                    Err(error) => Actual::Error(error.to_string()),
                }
            }
        };
        if bless {
            return bless_case(&actual, &output_path, &error_path);
        }
        if output_path.exists() {
            let expected = read(&output_path)?;
            let comparison = match actual {
                Actual::Text(text) if text == expected => Ok(()),
                Actual::Text(text) => Err(format!(
                    "output differs from {}:\n{}",
                    file_name(&output_path),
                    byte_diff(&expected, &text)
                )),
                Actual::Error(error) => Err(format!(
                    "expected {}, got error: {error}",
                    file_name(&output_path)
                )),
            };
            match (check_output_meaning(&input, &expected, &edits), comparison) {
                (Ok(()), comparison) => comparison,
                (Err(wrong_file), Ok(())) => Err(wrong_file),
                (Err(wrong_file), Err(difference)) => Err(format!("{wrong_file}\n{difference}")),
            }
        } else if error_path.exists() {
            let wanted = read(&error_path)?;
            match actual {
                Actual::Error(error) => {
                    let missing: Vec<&str> = wanted
                        .lines()
                        .filter(|line| !line.is_empty() && !error.contains(*line))
                        .collect();
                    if missing.is_empty() {
                        Ok(())
                    } else {
                        Err(format!("error `{error}` lacks {missing:?}"))
                    }
                }
                Actual::Text(text) => Err(format!(
                    "expected an error containing {:?}, got output:\n{text}",
                    wanted.lines().collect::<Vec<_>>()
                )),
            }
        } else {
            Err(format!(
                "neither {} nor error.txt exists",
                file_name(&output_path)
            ))
        }
    }

    /// What the editor produced for a case: text, or the display of its error.
    enum Actual {
        Text(String),
        Error(String),
    }

    pub(super) fn input_file(dir: &Path) -> Result<(PathBuf, &'static str), String> {
        let found: Vec<_> = ["yaml", "json"]
            .into_iter()
            .map(|extension| (dir.join(format!("input.{extension}")), extension))
            .filter(|(path, _)| path.exists())
            .collect();
        match found.as_slice() {
            [one] => Ok(one.clone()),
            _ => Err("a case needs exactly one of input.yaml, input.json".to_owned()),
        }
    }

    fn read_patch(path: &Path) -> Result<Vec<(usize, json_patch::Patch)>, String> {
        let file: PatchFile =
            serde_json::from_str(&read(path)?).map_err(|e| format!("{}: {e}", path.display()))?;
        let entries = match file {
            PatchFile::One(entry) => vec![entry],
            PatchFile::Many(entries) => entries,
        };
        Ok(entries
            .into_iter()
            .map(|entry| (entry.document, entry.patch))
            .collect())
    }

    /// I1 at its simplest: no edits, or an empty patch for any document, give the input back.
    fn check_empty_patch(stream: &Stream, input: &str) -> Result<(), String> {
        let empty = json_patch::Patch(Vec::new());
        let edit_lists = std::iter::once(Vec::new())
            .chain((0..stream.documents().len()).map(|document| vec![(document, empty.clone())]));
        for edits in edit_lists {
            let output = stream
                .edit(&edits)
                .map_err(|e| format!("an empty patch {edits:?} failed: {e}"))?;
            if output != input {
                return Err(format!(
                    "an empty patch {edits:?} changed the input:\n{}",
                    byte_diff(input, &output)
                ));
            }
        }
        Ok(())
    }

    /// The expected output must parse to `json_patch::patch(input, ops)` per document.
    fn check_output_meaning(
        input: &str,
        expected: &str,
        edits: &[(usize, json_patch::Patch)],
    ) -> Result<(), String> {
        let values = |text: &str, what: &str| {
            Stream::parse(text)
                .map(|stream| {
                    stream
                        .documents()
                        .iter()
                        .map(|document| document.value().clone())
                        .collect::<Vec<_>>()
                })
                .map_err(|e| format!("{what} does not parse: {e}"))
        };
        let mut wanted = values(input, "input")?;
        for (document, patch) in edits {
            let value = wanted
                .get_mut(*document)
                .ok_or_else(|| format!("patch.json names missing document {document}"))?;
            json_patch::patch(value, patch)
                .map_err(|e| format!("patch does not apply to document {document}: {e}"))?;
        }
        let got = values(expected, "expected output")?;
        if got == wanted {
            Ok(())
        } else {
            Err(format!(
                "the expected output file is wrong: it reads as\n{}\nbut the patch gives\n{}",
                serde_json::to_string_pretty(&got).unwrap_or_default(),
                serde_json::to_string_pretty(&wanted).unwrap_or_default()
            ))
        }
    }

    fn bless_case(actual: &Actual, output_path: &Path, error_path: &Path) -> Result<(), String> {
        match actual {
            Actual::Text(text) => {
                write(output_path, text)?;
                remove_if_present(error_path)
            }
            Actual::Error(error) => {
                write(error_path, &format!("{error}\n"))?;
                remove_if_present(output_path)
            }
        }
    }
}
