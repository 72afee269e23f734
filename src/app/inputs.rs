//! Which inputs a run reads, and reading one: the command-line paths expanded (directories
//! walked), stdin read once, bytes checked to be UTF-8.
//!
//! Walking: recursive, `*.yaml`/`*.yml`/`*.json` (any case), `.gitignore`/`.ignore` honoured even
//! outside a git repository (a chart copied out of its repo keeps its ignores), hidden files and
//! symbolic links skipped as ripgrep does, `--exclude` as gitignore-syntax overrides, entries
//! sorted by name so the output order is stable. A path named explicitly is read whatever its
//! extension, and followed when it is a symbolic link.

use ignore::overrides::{Override, OverrideBuilder};
use ignore::WalkBuilder;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// Extensions of the files a directory walk picks up.
const EXTENSIONS: [&str; 3] = ["yaml", "yml", "json"];

/// One input of the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// The standard input (`-` or no path).
    Stdin,
    File(PathBuf),
}

impl Input {
    /// The name shown in diffs, findings and errors.
    pub fn name(&self) -> String {
        match self {
            Input::Stdin => pss_fix::report::STDIN_NAME.to_owned(),
            Input::File(path) => path.display().to_string(),
        }
    }
}

/// An input that could not be listed or read: `NAME[:LINE:COL]: reason`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    pub name: String,
    /// 1-based line and column, when the error has a place in the text.
    pub position: Option<(usize, usize)>,
    pub message: String,
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.position {
            Some((line, column)) => write!(f, "{}:{line}:{column}: {}", self.name, self.message),
            None => write!(f, "{}: {}", self.name, self.message),
        }
    }
}

impl InputError {
    pub fn io(name: impl Into<String>, error: &io::Error) -> InputError {
        InputError {
            name: name.into(),
            position: None,
            message: io_message(error),
        }
    }
}

/// An I/O error's message without Rust's ` (os error N)` suffix, in lower case as the rest of
/// our messages.
pub fn io_message(error: &io::Error) -> String {
    let text = error.to_string();
    let text = match text.find(" (os error") {
        Some(end) => &text[..end],
        None => &text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => text.to_owned(),
    }
}

/// The paths expanded: the inputs in order, errors for paths that do not exist or could not be
/// walked or for a bad `--exclude` glob, and notes on files a walk skipped.
#[derive(Debug, Default)]
pub struct Expanded {
    pub inputs: Vec<Input>,
    pub errors: Vec<InputError>,
    pub notes: Vec<String>,
}

/// Expands the command-line paths into inputs, in order.
pub fn expand(paths: &[PathBuf], excludes: &[String]) -> Expanded {
    let mut expanded = Expanded::default();
    let (inputs, errors) = (&mut expanded.inputs, &mut expanded.errors);
    if paths.is_empty() {
        inputs.push(Input::Stdin);
    }
    let explicit = match overrides(Path::new("."), excludes) {
        Ok(explicit) => explicit,
        Err(error) => {
            errors.push(error);
            inputs.clear();
            return expanded;
        }
    };
    for path in paths {
        if path.as_os_str() == "-" {
            inputs.push(Input::Stdin);
            continue;
        }
        match fs::metadata(path) {
            Err(error) => errors.push(InputError::io(path.display().to_string(), &error)),
            Ok(metadata) if metadata.is_dir() => {
                let start = inputs.len();
                walk(path, excludes, inputs, errors);
                expanded.notes.extend(skip_kustomize_patches(inputs, start));
            }
            Ok(_) => {
                if !explicit.matched(path, false).is_ignore() {
                    inputs.push(Input::File(path.clone()));
                }
            }
        }
    }
    expanded
}

/// The file names kustomize reads a Kustomization from.
const KUSTOMIZATION_FILES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Removes from `inputs[start..]` (one walk) the files a Kustomization there lists as patches
/// (`patches[].path`, `patchesStrategicMerge[]`, `patchesJson6902[].path`): partial objects,
/// whose added defaults would override the base after the merge. Returns a note for each.
fn skip_kustomize_patches(inputs: &mut Vec<Input>, start: usize) -> Vec<String> {
    let mut patches = Vec::new();
    for input in &inputs[start..] {
        let Input::File(path) = input else { continue };
        let is_kustomization = path
            .file_name()
            .and_then(|name| name.to_str())
            .is_some_and(|name| KUSTOMIZATION_FILES.contains(&name));
        if is_kustomization {
            patches.extend(kustomize_patches(path));
        }
    }
    if patches.is_empty() {
        return Vec::new();
    }
    let mut notes = Vec::new();
    let mut index = start;
    while index < inputs.len() {
        let listed = match &inputs[index] {
            Input::File(path) => fs::canonicalize(path).ok().and_then(|canonical| {
                patches
                    .iter()
                    .find(|(patch, _)| *patch == canonical)
                    .cloned()
            }),
            Input::Stdin => None,
        };
        match listed {
            Some((_, kustomization)) => {
                notes.push(format!(
                    "{}: skipped: a kustomize patch (listed in {}), a partial object whose \
                     added defaults would override the base; fix the base, or the rendered \
                     output through `pss-fix krm`",
                    inputs[index].name(),
                    kustomization.display()
                ));
                inputs.remove(index);
            }
            None => index += 1,
        }
    }
    notes
}

/// The patch files a Kustomization lists, canonical, each with the Kustomization's path. A
/// Kustomization that cannot be read or parsed lists none (its own processing reports it).
fn kustomize_patches(kustomization: &Path) -> Vec<(PathBuf, PathBuf)> {
    let Ok(text) = fs::read_to_string(kustomization) else {
        return Vec::new();
    };
    let Ok(stream) = pss_fix::yaml::Stream::parse(&text) else {
        return Vec::new();
    };
    let Some(document) = stream.documents().first() else {
        return Vec::new();
    };
    let value = document.value();
    let dir = kustomization.parent().unwrap_or(Path::new("."));
    let listed = |key: &str| {
        value
            .get(key)
            .and_then(|items| items.as_array())
            .into_iter()
            .flatten()
    };
    let by_path = ["patches", "patchesJson6902"]
        .into_iter()
        .flat_map(|key| listed(key).filter_map(|patch| patch.get("path")?.as_str()));
    let strategic = listed("patchesStrategicMerge").filter_map(|patch| patch.as_str());
    by_path
        .chain(strategic)
        .filter_map(|file| fs::canonicalize(dir.join(file)).ok())
        .map(|file| (file, kustomization.to_path_buf()))
        .collect()
}

/// Walks one directory.
fn walk(root: &Path, excludes: &[String], inputs: &mut Vec<Input>, errors: &mut Vec<InputError>) {
    let overrides = match overrides(root, excludes) {
        Ok(overrides) => overrides,
        Err(error) => return errors.push(error),
    };
    let walker = WalkBuilder::new(root)
        .require_git(false)
        .overrides(overrides)
        .sort_by_file_name(|a, b| a.cmp(b))
        .build();
    for entry in walker {
        match entry {
            Err(error) => errors.push(InputError {
                name: root.display().to_string(),
                position: None,
                message: error.to_string(),
            }),
            Ok(entry) => {
                let is_file = entry.file_type().is_some_and(|kind| kind.is_file());
                if is_file && has_manifest_extension(entry.path()) {
                    inputs.push(Input::File(entry.into_path()));
                }
            }
        }
    }
}

/// `--exclude` globs as ignore overrides rooted at `root`.
fn overrides(root: &Path, excludes: &[String]) -> Result<Override, InputError> {
    let mut builder = OverrideBuilder::new(root);
    for glob in excludes {
        builder
            .add(&format!("!{glob}"))
            .map_err(|error| InputError {
                name: "--exclude".to_owned(),
                position: None,
                message: format!("invalid glob `{glob}`: {error}"),
            })?;
    }
    builder.build().map_err(|error| InputError {
        name: "--exclude".to_owned(),
        position: None,
        message: error.to_string(),
    })
}

fn has_manifest_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|extension| extension.to_str())
        .is_some_and(|extension| {
            EXTENSIONS
                .iter()
                .any(|known| extension.eq_ignore_ascii_case(known))
        })
}

/// Reads all of stdin.
pub fn read_stdin() -> Result<String, InputError> {
    let mut bytes = Vec::new();
    io::stdin()
        .lock()
        .read_to_end(&mut bytes)
        .map_err(|error| InputError::io(pss_fix::report::STDIN_NAME, &error))?;
    text(pss_fix::report::STDIN_NAME, bytes)
}

/// Reads a file (through a symbolic link) as text.
pub fn read_file(path: &Path) -> Result<String, InputError> {
    let name = path.display().to_string();
    let bytes = fs::read(path).map_err(|error| InputError::io(name.as_str(), &error))?;
    text(&name, bytes)
}

/// The bytes as UTF-8 text, or an error at the first invalid byte.
fn text(name: &str, bytes: Vec<u8>) -> Result<String, InputError> {
    String::from_utf8(bytes).map_err(|error| {
        let valid = error.utf8_error().valid_up_to();
        let bytes = error.as_bytes();
        let before = std::str::from_utf8(&bytes[..valid]).expect("the prefix should be valid");
        let line = before.matches('\n').count() + 1;
        let column = before
            .rsplit('\n')
            .next()
            .map_or(0, |tail| tail.chars().count())
            + 1;
        InputError {
            name: name.to_owned(),
            position: Some((line, column)),
            message: format!("not UTF-8 text (byte 0x{:02X})", bytes[valid]),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(inputs: &[Input], root: &Path) -> Vec<String> {
        inputs
            .iter()
            .map(|input| match input {
                Input::Stdin => "-".to_owned(),
                Input::File(path) => path
                    .strip_prefix(root)
                    .expect("under root")
                    .display()
                    .to_string(),
            })
            .collect()
    }

    fn tree(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        for file in files {
            let path = dir.path().join(file);
            fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            fs::write(path, "a: 1\n").expect("write");
        }
        dir
    }

    #[test]
    fn walk_picks_manifests_sorted_and_honours_ignores() {
        let dir = tree(&[
            "b.yaml",
            "a.YML",
            "c.json",
            "notes.txt",
            ".hidden.yaml",
            "sub/d.yaml",
            "sub/ignored.yaml",
            "chart/templates/t.yaml",
        ]);
        fs::write(dir.path().join(".gitignore"), "ignored.yaml\n").expect("write");
        let Expanded { inputs, errors, .. } =
            expand(&[dir.path().to_path_buf()], &["templates/".to_owned()]);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            names(&inputs, dir.path()),
            ["a.YML", "b.yaml", "c.json", "sub/d.yaml"]
        );
    }

    #[test]
    fn a_walk_skips_the_patches_a_kustomization_lists() {
        let dir = tree(&[
            "base/deployment.yaml",
            "overlay/replicas.yaml",
            "overlay/sa.yaml",
        ]);
        fs::write(
            dir.path().join("overlay/kustomization.yaml"),
            "resources: [../base, sa.yaml]\npatches:\n  - path: replicas.yaml\n    \
             target: {kind: Deployment}\npatchesStrategicMerge:\n  - ../base/deployment.yaml\n",
        )
        .expect("write");
        let expanded = expand(&[dir.path().to_path_buf()], &[]);
        assert_eq!(
            names(&expanded.inputs, dir.path()),
            ["overlay/kustomization.yaml", "overlay/sa.yaml"]
        );
        assert_eq!(expanded.notes.len(), 2);
        assert!(expanded.notes[1].contains("replicas.yaml: skipped: a kustomize patch (listed in"));
        // A file named on the command line is the user's choice, and is read.
        let named = expand(&[dir.path().join("overlay/replicas.yaml")], &[]);
        assert_eq!(named.inputs.len(), 1);
        assert!(named.notes.is_empty());
    }

    #[test]
    fn explicit_files_stdin_and_missing_paths() {
        let dir = tree(&["x.txt", "skip.yaml"]);
        let missing = dir.path().join("missing.yaml");
        let Expanded { inputs, errors, .. } = expand(
            &[
                dir.path().join("x.txt"),
                PathBuf::from("-"),
                missing.clone(),
                dir.path().join("skip.yaml"),
            ],
            &["skip.yaml".to_owned()],
        );
        assert_eq!(
            inputs,
            [Input::File(dir.path().join("x.txt")), Input::Stdin]
        );
        assert_eq!(errors.len(), 1);
        assert_eq!(
            errors[0].to_string(),
            format!("{}: no such file or directory", missing.display())
        );
        assert_eq!(expand(&[], &[]).inputs, [Input::Stdin]);
    }

    #[test]
    fn bad_glob_is_an_error() {
        let Expanded { inputs, errors, .. } = expand(&[PathBuf::from("-")], &["a/**[".to_owned()]);
        assert!(inputs.is_empty());
        assert!(errors[0]
            .to_string()
            .starts_with("--exclude: invalid glob `a/**[`"));
    }

    #[test]
    fn non_utf8_error_points_at_the_byte() {
        let error = text("f.yaml", b"a: 1\nb: \xc3x\n".to_vec()).expect_err("invalid");
        assert_eq!(error.to_string(), "f.yaml:2:4: not UTF-8 text (byte 0xC3)");
    }
}
