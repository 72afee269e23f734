//! Which inputs a run reads, and reading one: the command-line paths expanded (directories
//! walked), stdin read once, bytes checked to be UTF-8.
//!
//! Walking: recursive, `*.yaml`/`*.yml`/`*.json` (any case), `.gitignore`/`.ignore` honoured even
//! outside a git repository (a chart copied out of its repo keeps its ignores), hidden files and
//! symbolic links skipped as ripgrep does, `--exclude` as gitignore-syntax overrides, entries
//! sorted by name so the output order is stable. A path named explicitly is read whatever its
//! extension, and followed when it is a symbolic link. Excludes and Helm templates are left out
//! of walks and named files alike (see `configs`).

use super::configs::Configs;
use ignore::WalkBuilder;
use pss_fix::yaml;
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

/// An input that could not be listed, read or understood, shown as `NAME[:LINE:COL]: reason`
/// and, for text that is not YAML, the line with a caret under the column (as toml_edit
/// shows its errors). The cause is kept as the error's source.
#[derive(Debug, thiserror::Error)]
pub struct InputError {
    /// The path as given or found, `<stdin>` for stdin.
    pub name: String,
    #[source]
    pub reason: Reason,
}

/// Why an input could not be used.
#[derive(Debug, thiserror::Error)]
pub enum Reason {
    /// Listing, reading or writing it failed.
    #[error("{}", io_message(.0))]
    Io(io::Error),
    /// Its text is not YAML (or an edit of it failed verification).
    #[error("{}", .0.message)]
    Yaml(yaml::Error),
    /// Anything else, in words, at a place in the text when there is one.
    #[error("{message}")]
    Invalid {
        position: Option<(usize, usize)>,
        message: String,
    },
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.position() {
            Some((line, column)) => write!(f, "{}:{line}:{column}: {}", self.name, self.reason)?,
            None => write!(f, "{}: {}", self.name, self.reason)?,
        }
        if let Reason::Yaml(error) = &self.reason {
            write!(f, "\n{}", error.snippet())?;
        }
        Ok(())
    }
}

impl InputError {
    pub fn io(name: impl Into<String>, error: io::Error) -> InputError {
        InputError {
            name: name.into(),
            reason: Reason::Io(error),
        }
    }

    pub fn yaml(name: impl Into<String>, error: yaml::Error) -> InputError {
        InputError {
            name: name.into(),
            reason: Reason::Yaml(error),
        }
    }

    pub fn invalid(
        name: impl Into<String>,
        position: Option<(usize, usize)>,
        message: impl Into<String>,
    ) -> InputError {
        InputError {
            name: name.into(),
            reason: Reason::Invalid {
                position,
                message: message.into(),
            },
        }
    }

    /// 1-based line and column, when the error has a place in the text.
    pub fn position(&self) -> Option<(usize, usize)> {
        match &self.reason {
            Reason::Io(_) => None,
            Reason::Yaml(error) => Some((error.line, error.column)),
            Reason::Invalid { position, .. } => *position,
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

/// The inputs of a run, each with the index of its config in [`Configs::loaded`].
#[derive(Debug, Default)]
pub struct Expanded {
    pub inputs: Vec<(Input, usize)>,
    /// Paths that do not exist or could not be walked.
    pub errors: Vec<InputError>,
    /// Helm charts whose `templates/` held inputs: reported once each, not read.
    pub charts: Vec<PathBuf>,
    /// Notes on files a walk skipped (kustomize patches).
    pub notes: Vec<String>,
}

/// Expands the command-line paths into inputs, in order. A file is left out when `--exclude`
/// or its config's `exclude` matches it or a directory above it, or when it is a Helm
/// template (the chart is listed instead); inputs whose config could not be read are left out
/// (that error is in `configs.errors`).
pub fn expand(paths: &[PathBuf], configs: &mut Configs) -> Expanded {
    let mut expanded = Expanded::default();
    let add_stdin = |expanded: &mut Expanded, configs: &mut Configs| {
        if let Some(config) = configs.for_current_dir() {
            expanded.inputs.push((Input::Stdin, config));
        }
    };
    if paths.is_empty() {
        add_stdin(&mut expanded, configs);
    }
    for path in paths {
        if path.as_os_str() == "-" {
            add_stdin(&mut expanded, configs);
            continue;
        }
        match fs::metadata(path) {
            Err(error) => expanded
                .errors
                .push(InputError::io(path.display().to_string(), error)),
            Ok(metadata) if metadata.is_dir() => {
                let mut walked: Vec<Input> = walk(path, &mut expanded.errors)
                    .into_iter()
                    .map(Input::File)
                    .collect();
                expanded
                    .notes
                    .extend(skip_kustomize_patches(&mut walked, 0));
                for input in walked {
                    if let Input::File(file) = input {
                        expanded.add(file, configs);
                    }
                }
            }
            Ok(_) => expanded.add(path.clone(), configs),
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

impl Expanded {
    fn add(&mut self, file: PathBuf, configs: &mut Configs) {
        let dir = match file.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let Some(config) = configs.for_dir(dir) else {
            return;
        };
        if configs.excluded(&file, config) {
            return;
        }
        if let Some(chart) = super::configs::helm_chart_of(&file) {
            if !self.charts.contains(&chart) {
                self.charts.push(chart);
            }
            return;
        }
        self.inputs.push((Input::File(file), config));
    }
}

/// Walks one directory: its manifest files, sorted by name.
pub fn walk(root: &Path, errors: &mut Vec<InputError>) -> Vec<PathBuf> {
    let walker = WalkBuilder::new(root)
        .require_git(false)
        .sort_by_file_name(|a, b| a.cmp(b))
        .build();
    let mut files = Vec::new();
    for entry in walker {
        match entry {
            Err(error) => errors.push(InputError::invalid(
                root.display().to_string(),
                None,
                error.to_string(),
            )),
            Ok(entry) => {
                let is_file = entry.file_type().is_some_and(|kind| kind.is_file());
                if is_file && has_manifest_extension(entry.path()) {
                    files.push(entry.into_path());
                }
            }
        }
    }
    files
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
        .map_err(|error| InputError::io(pss_fix::report::STDIN_NAME, error))?;
    text(pss_fix::report::STDIN_NAME, bytes)
}

/// Reads a file (through a symbolic link) as text.
pub fn read_file(path: &Path) -> Result<String, InputError> {
    let name = path.display().to_string();
    let bytes = fs::read(path).map_err(|error| InputError::io(name.as_str(), error))?;
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
        InputError::invalid(
            name,
            Some((line, column)),
            format!("not UTF-8 text (byte 0x{:02X})", bytes[valid]),
        )
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

    fn expand_with(paths: &[PathBuf], excludes: &[&str]) -> Expanded {
        let excludes: Vec<String> = excludes.iter().map(|glob| (*glob).to_owned()).collect();
        let mut configs = Configs::new(None, &excludes).expect("valid excludes");
        expand(paths, &mut configs)
    }

    fn inputs(expanded: &Expanded) -> Vec<Input> {
        expanded
            .inputs
            .iter()
            .map(|(input, _)| input.clone())
            .collect()
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
            "sub/old/e.yaml",
            "chart/Chart.yaml",
            "chart/templates/t.yaml",
        ]);
        fs::write(dir.path().join(".gitignore"), "ignored.yaml\n").expect("write");
        fs::write(dir.path().join(".pss-fix.yaml"), "exclude: [old/]\n").expect("write");
        fs::create_dir(dir.path().join(".git")).expect("mkdir");
        let expanded = expand_with(&[dir.path().to_path_buf()], &[]);
        assert!(expanded.errors.is_empty(), "{:?}", expanded.errors);
        assert_eq!(
            names(&inputs(&expanded), dir.path()),
            [
                "a.YML",
                "b.yaml",
                "c.json",
                "chart/Chart.yaml",
                "sub/d.yaml"
            ]
        );
        assert_eq!(expanded.charts, [dir.path().join("chart")]);
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
        let expanded = expand_with(&[dir.path().to_path_buf()], &[]);
        assert_eq!(
            names(&inputs(&expanded), dir.path()),
            ["overlay/kustomization.yaml", "overlay/sa.yaml"]
        );
        assert_eq!(expanded.notes.len(), 2);
        assert!(expanded.notes[1].contains("replicas.yaml: skipped: a kustomize patch (listed in"));
        // A file named on the command line is the user's choice, and is read.
        let named = expand_with(&[dir.path().join("overlay/replicas.yaml")], &[]);
        assert_eq!(named.inputs.len(), 1);
        assert!(named.notes.is_empty());
    }

    #[test]
    fn explicit_files_stdin_and_missing_paths() {
        let dir = tree(&[
            "x.txt",
            "skip.yaml",
            "chart/Chart.yaml",
            "chart/templates/t.yaml",
        ]);
        fs::write(dir.path().join(".pss-fix.yaml"), "exclude: [skip.yaml]\n").expect("write");
        let missing = dir.path().join("missing.yaml");
        let expanded = expand_with(
            &[
                dir.path().join("x.txt"),
                PathBuf::from("-"),
                missing.clone(),
                dir.path().join("skip.yaml"),
                dir.path().join("chart/templates/t.yaml"),
            ],
            &[],
        );
        assert_eq!(
            inputs(&expanded),
            [Input::File(dir.path().join("x.txt")), Input::Stdin]
        );
        assert_eq!(expanded.errors.len(), 1);
        assert_eq!(
            expanded.errors[0].to_string(),
            format!("{}: no such file or directory", missing.display())
        );
    }

    #[test]
    fn non_utf8_error_points_at_the_byte() {
        let error = text("f.yaml", b"a: 1\nb: \xc3x\n".to_vec()).expect_err("invalid");
        assert_eq!(error.to_string(), "f.yaml:2:4: not UTF-8 text (byte 0xC3)");
    }
}
