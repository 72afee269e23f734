//! Which config file governs each input, and which paths are excluded.
//!
//! Without `--config`, an input uses the nearest `.pss-fix.yaml` in its directory or above,
//! looking no higher than the repository root (the first directory holding `.git`), as ruff and
//! black find theirs; stdin uses the current directory's. Each file is read once. A file's
//! `exclude` patterns are gitignore patterns relative to its directory; `--exclude` patterns
//! are relative to the current directory. Both apply to every input, walked or named, because
//! pre-commit, xargs and editors name files one by one.

use super::inputs::{self, InputError};
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use pss_fix::config::{Config, DEFAULT_LEVEL_KEY};
use pss_fix::yaml;
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

/// The name of the config file found upward from each input.
pub const CONFIG_FILE: &str = ".pss-fix.yaml";

/// One config: a file, or the built-in defaults when none was found.
#[derive(Debug)]
pub struct Loaded {
    /// `None`: no file; the defaults.
    pub path: Option<PathBuf>,
    pub config: Config,
    /// Whether the file sets `defaultLevel` (files and webhook differ when it does not).
    pub sets_default_level: bool,
    excludes: Gitignore,
}

/// The configs of a run, found as inputs are expanded.
#[derive(Debug)]
pub struct Configs {
    /// Index 0 is `--config FILE` when given (then it governs every input).
    pub loaded: Vec<Loaded>,
    explicit: bool,
    /// Directory (absolute) -> index into `loaded`, or `None` when its config failed to load.
    by_dir: HashMap<PathBuf, Option<usize>>,
    /// The defaults' index, once some input had no config file.
    defaults: Option<usize>,
    cli_excludes: Gitignore,
    current_dir: PathBuf,
    /// Config files that could not be read; each is reported once.
    pub errors: Vec<InputError>,
}

impl Configs {
    /// Loads `--config FILE` if given and compiles `--exclude`.
    pub fn new(explicit: Option<&Path>, excludes: &[String]) -> Result<Configs, InputError> {
        let current_dir = absolute(Path::new("."));
        let cli_excludes = matcher(&current_dir, excludes, "--exclude")?;
        let mut configs = Configs {
            loaded: Vec::new(),
            explicit: explicit.is_some(),
            by_dir: HashMap::new(),
            defaults: None,
            cli_excludes,
            current_dir,
            errors: Vec::new(),
        };
        if let Some(path) = explicit {
            configs.loaded.push(load(path, false)?);
        }
        Ok(configs)
    }

    /// The config that governs files in `dir`; `None` when that config could not be read.
    pub fn for_dir(&mut self, dir: &Path) -> Option<usize> {
        if self.explicit {
            return Some(0);
        }
        let dir = absolute(dir);
        let mut visited = Vec::new();
        let mut current = Some(dir.as_path());
        let found = loop {
            let Some(here) = current else {
                break Some(self.defaults());
            };
            if let Some(found) = self.by_dir.get(here) {
                break *found;
            }
            visited.push(here.to_path_buf());
            let candidate = here.join(CONFIG_FILE);
            if candidate.is_file() {
                let shown = relative_to(&candidate, &self.current_dir);
                break match load(&shown, false) {
                    Ok(loaded) => {
                        self.loaded.push(loaded);
                        Some(self.loaded.len() - 1)
                    }
                    Err(error) => {
                        self.errors.push(error);
                        None
                    }
                };
            }
            if here.join(".git").exists() {
                break Some(self.defaults());
            }
            current = here.parent();
        };
        for dir in visited {
            self.by_dir.insert(dir, found);
        }
        found
    }

    /// The config of the current directory (for stdin).
    pub fn for_current_dir(&mut self) -> Option<usize> {
        let dir = self.current_dir.clone();
        self.for_dir(&dir)
    }

    /// Whether `path` (a file) or one of its parent directories matches `--exclude` or the
    /// `exclude` list of its config.
    pub fn excluded(&self, path: &Path, config: usize) -> bool {
        let path = absolute(path);
        let root_of = |matcher: &Gitignore| matcher.path().to_path_buf();
        [&self.cli_excludes, &self.loaded[config].excludes]
            .into_iter()
            .any(|matcher| {
                path.starts_with(root_of(matcher))
                    && matcher
                        .matched_path_or_any_parents(&path, false)
                        .is_ignore()
            })
    }

    fn defaults(&mut self) -> usize {
        *self.defaults.get_or_insert_with(|| {
            self.loaded.push(Loaded {
                path: None,
                config: Config::default(),
                sets_default_level: false,
                excludes: Gitignore::empty(),
            });
            self.loaded.len() - 1
        })
    }
}

/// Reads a config file (YAML or JSON), with its excludes compiled relative to its directory.
pub fn load(path: &Path, require_settings: bool) -> Result<Loaded, InputError> {
    let name = path.display().to_string();
    let text = inputs::read_file(path)?;
    let stream = yaml::Stream::parse(&text).map_err(|error| InputError::yaml(&name, error))?;
    // One document: a second would be ignored. With `require_settings` (the webhook's config,
    // mounted from a ConfigMap) also not empty: that is a broken mount or template more
    // likely than a wish for every default.
    let value = match stream.documents() {
        [] if !require_settings => &Value::Null,
        [document] if !require_settings || !document.value().is_null() => document.value(),
        documents => {
            return Err(InputError::invalid(
                name,
                None,
                format!(
                    "a config file holds exactly one YAML document with settings, found {}",
                    match documents.len() {
                        0 => "none".to_owned(),
                        1 => "an empty one".to_owned(),
                        n => format!("{n} documents"),
                    }
                ),
            ))
        }
    };
    let config = Config::from_value(value).map_err(|error| {
        let position = stream.location(0, error.pointer());
        InputError::invalid(&name, Some(position), error.to_string())
    })?;
    let dir = absolute(path);
    let dir = dir.parent().unwrap_or(Path::new("/"));
    let excludes = matcher(dir, &config.exclude, &format!("{name}: exclude"))?;
    Ok(Loaded {
        path: Some(path.to_path_buf()),
        sets_default_level: value.get(DEFAULT_LEVEL_KEY).is_some(),
        config,
        excludes,
    })
}

/// Gitignore patterns rooted at `root`; errors are named after `source`.
fn matcher(root: &Path, patterns: &[String], source: &str) -> Result<Gitignore, InputError> {
    let mut builder = GitignoreBuilder::new(root);
    for pattern in patterns {
        builder.add_line(None, pattern).map_err(|error| {
            InputError::invalid(source, None, format!("invalid glob `{pattern}`: {error}"))
        })?;
    }
    builder
        .build()
        .map_err(|error| InputError::invalid(source, None, error.to_string()))
}

/// `path` made absolute against the current directory, with `.` and `..` resolved lexically
/// (not through symbolic links: excludes match the path the user sees).
pub fn absolute(path: &Path) -> PathBuf {
    let joined = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut clean = PathBuf::new();
    for component in joined.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                clean.pop();
            }
            other => clean.push(other),
        }
    }
    clean
}

/// `path` relative to `base` when it is under it, else absolute: how a found config is named.
fn relative_to(path: &Path, base: &Path) -> PathBuf {
    path.strip_prefix(base)
        .map_or_else(|_| path.to_path_buf(), Path::to_path_buf)
}

/// The chart directory when `path` lies in a Helm chart's `templates/` (a `Chart.yaml` beside
/// it): those files are templates, not YAML, until Helm renders them.
pub fn helm_chart_of(path: &Path) -> Option<PathBuf> {
    path.ancestors()
        .skip(1)
        .find(|dir| {
            dir.file_name().is_some_and(|name| name == "templates")
                && dir
                    .parent()
                    .is_some_and(|chart| chart.join("Chart.yaml").is_file())
        })
        .and_then(Path::parent)
        .map(Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn write(root: &Path, relative: &str, text: &str) -> PathBuf {
        let path = root.join(relative);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(&path, text).expect("write");
        path
    }

    #[test]
    fn nearest_config_up_to_the_repository_root() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        write(root, ".pss-fix.yaml", "level: baseline\n");
        fs::create_dir_all(root.join("repo/.git")).expect("mkdir");
        write(root, "repo/.pss-fix.yaml", "level: restricted\n");
        write(root, "repo/team/.pss-fix.yaml", "exclude: [old/]\n");
        fs::create_dir_all(root.join("repo/team/app/old")).expect("mkdir");
        fs::create_dir_all(root.join("other/.git")).expect("mkdir");
        let mut configs = Configs::new(None, &[]).expect("no flags");
        let team = configs.for_dir(&root.join("repo/team/app")).expect("loads");
        let repo = configs.for_dir(&root.join("repo")).expect("loads");
        let other = configs.for_dir(&root.join("other")).expect("defaults");
        assert_ne!(team, repo);
        assert!(configs.loaded[team]
            .path
            .as_ref()
            .is_some_and(|path| path.ends_with("repo/team/.pss-fix.yaml")));
        assert_eq!(
            configs.loaded[other].path, None,
            "the outer file is past .git"
        );
        assert!(configs.excluded(&root.join("repo/team/app/old/x.yaml"), team));
        assert!(!configs.excluded(&root.join("repo/team/app/x.yaml"), team));
        assert!(!configs.excluded(&root.join("repo/team/app/old/x.yaml"), repo));
    }

    #[test]
    fn command_line_excludes_match_parent_directories() {
        let configs =
            Configs::new(None, &["templates/".to_owned(), "/top.yaml".to_owned()]).expect("valid");
        let mut configs = configs;
        let index = configs.for_current_dir().expect("defaults");
        assert!(configs.excluded(Path::new("chart/templates/x.yaml"), index));
        assert!(configs.excluded(Path::new("./top.yaml"), index));
        assert!(!configs.excluded(Path::new("sub/top.yaml"), index));
        assert!(!configs.excluded(Path::new("chart/values.yaml"), index));
    }

    #[test]
    fn a_bad_glob_names_its_source() {
        let error = Configs::new(None, &["a{b".to_owned()]).expect_err("bad glob");
        assert!(error
            .to_string()
            .starts_with("--exclude: invalid glob `a{b`"));
    }

    #[test]
    fn helm_templates_are_found_by_their_chart() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        write(root, "chart/Chart.yaml", "name: c\n");
        let template = write(root, "chart/templates/sub/d.yaml", "a: 1\n");
        let plain = write(root, "templates/d.yaml", "a: 1\n");
        assert_eq!(helm_chart_of(&template), Some(root.join("chart")));
        assert_eq!(helm_chart_of(&plain), None);
        assert_eq!(helm_chart_of(&root.join("chart/values.yaml")), None);
    }

    #[test]
    fn absolute_resolves_dots_lexically() {
        let here = std::env::current_dir().expect("cwd");
        assert_eq!(absolute(Path::new("./a/../b")), here.join("b"));
    }
}
