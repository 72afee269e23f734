//! The second step of argument handling (ripgrep's `HiArgs`): the typed flags plus the config
//! file become the run's [`Policies`]. This may read files (the config file); the Namespace
//! labels of `--level namespace` are learned later, from the inputs.
//!
//! Precedence, for every setting: a flag given on the command line, else the config file
//! (`--config FILE`, else `.pss-fix.yaml` in the current directory when it exists), else the
//! built-in default.

use super::inputs::{self, InputError};
use pss_fix::cli::{LevelArg, Selection};
use pss_fix::config::{Config, LevelChoice};
use pss_fix::manifest::{manifest_default_level, Policies};
use pss_fix::pss::Level;
use pss_fix::yaml;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The config file read when `--config` is not given and it exists.
pub const DEFAULT_CONFIG: &str = ".pss-fix.yaml";

/// Builds the policies of the run from the flags and the config file. The namespace table is
/// left empty.
pub fn policies(selection: &Selection) -> Result<Policies, InputError> {
    let (mut config, has_default_level) = match config_path(selection) {
        Some(path) => load_config(&path, false)?,
        None => (Config::default(), false),
    };
    apply_flags(selection, &mut config);
    config.level = match selection.level {
        Some(LevelArg::Baseline) => LevelChoice::Fixed(Level::Baseline),
        Some(LevelArg::Restricted) => LevelChoice::Fixed(Level::Restricted),
        Some(LevelArg::Namespace) => LevelChoice::Namespace,
        None => config.level,
    };
    config.version = selection.pss_version.unwrap_or(config.version);
    let default_level = match selection.default_level {
        Some(flag) => flag.level(),
        None => manifest_default_level(&config, has_default_level),
    };
    Ok(Policies::new(config, default_level))
}

fn config_path(selection: &Selection) -> Option<PathBuf> {
    selection.config.clone().or_else(|| {
        let default = Path::new(DEFAULT_CONFIG);
        default.is_file().then(|| default.to_path_buf())
    })
}

/// Reads a config file (YAML or JSON, one document); also says whether it sets
/// `defaultLevel`.
pub fn load_config(path: &Path, require_settings: bool) -> Result<(Config, bool), InputError> {
    let name = path.display().to_string();
    let text = inputs::read_file(path)?;
    let stream = yaml::Stream::parse(&text).map_err(|error| InputError {
        name: name.clone(),
        position: Some((error.line, error.column)),
        message: error.message,
    })?;
    // One document: a second would be ignored. With `require_settings` (the webhook's config,
    // mounted from a ConfigMap) also not empty: that is a broken mount or template more
    // likely than a wish for every default.
    let value = match stream.documents() {
        [] if !require_settings => &Value::Null,
        [document] if !require_settings || !document.value().is_null() => document.value(),
        documents => {
            return Err(InputError {
                name,
                position: None,
                message: format!(
                    "a config file holds exactly one YAML document with settings, found {}",
                    match documents.len() {
                        0 => "none".to_owned(),
                        1 => "an empty one".to_owned(),
                        n => format!("{n} documents"),
                    }
                ),
            })
        }
    };
    let config = Config::from_value(value).map_err(|error| InputError {
        name,
        position: Some(stream.location(0, error.pointer())),
        message: error.to_string(),
    })?;
    Ok((
        config,
        value.get(pss_fix::config::DEFAULT_LEVEL_KEY).is_some(),
    ))
}

/// Lets the flags the user gave override the config.
fn apply_flags(selection: &Selection, config: &mut Config) {
    config.safe_only |= selection.safe_only;
    config.partial |= selection.partial;
    if let Some(uid) = selection.run_as_user {
        config.run_as_user = uid;
    }
    if selection.no_read_only_root_fs {
        config.hardening.read_only_root_filesystem = Some(false);
    }
    if selection.no_default_resources {
        config.hardening.default_resources = Some(false);
    }
    let resources = &mut config.hardening.resources;
    for (flag, field) in [
        (&selection.cpu_request, &mut resources.requests.cpu),
        (&selection.memory_request, &mut resources.requests.memory),
        (&selection.cpu_limit, &mut resources.limits.cpu),
        (&selection.memory_limit, &mut resources.limits.memory),
    ] {
        if let Some(quantity) = flag {
            field.clone_from(quantity);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::FromArgMatches;
    use pss_fix::cli::{Cli, Command};
    use pss_fix::manifest::Enforce;
    use pss_fix::pss::Version;

    fn selection(args: &[&str]) -> Selection {
        let matches = pss_fix::cli::command()
            .try_get_matches_from(args)
            .expect("parses");
        match Cli::from_arg_matches(&matches).expect("parses").command {
            Command::Check(args) => args.selection,
            _ => panic!("not check"),
        }
    }

    #[test]
    fn flags_override_the_config_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("c.yaml");
        std::fs::write(
            &config,
            "level: baseline\nversion: v1.20\nrunAsUser: 1000\nhardening:\n  readOnlyRootFilesystem: true\n",
        )
        .expect("write");
        let config = config.display().to_string();
        let from_file = policies(&selection(&["p", "check", "--config", &config])).expect("ok");
        assert_eq!(from_file.fixed, Some((Level::Baseline, Version::Minor(20))));
        assert_eq!(from_file.config.run_as_user, 1000);
        let overridden = policies(&selection(&[
            "p",
            "check",
            "--config",
            &config,
            "--level",
            "restricted",
            "--run-as-user",
            "7",
            "--no-read-only-root-fs",
            "--cpu-limit",
            "2",
        ]))
        .expect("ok");
        assert_eq!(
            overridden.fixed,
            Some((Level::Restricted, Version::Minor(20)))
        );
        assert_eq!(overridden.config.run_as_user, 7);
        assert_eq!(
            overridden.config.hardening.read_only_root_filesystem,
            Some(false)
        );
        assert_eq!(overridden.config.hardening.resources.limits.cpu, "2");
    }

    #[test]
    fn namespace_level_defaults_to_restricted_unknown_namespaces() {
        let none = selection(&[
            "p",
            "check",
            "--level",
            "namespace",
            "--config",
            "/dev/null",
        ]);
        let policies = policies(&none).expect("ok");
        assert_eq!(policies.fixed, None);
        assert_eq!(
            policies.default,
            Enforce::Level(Level::Restricted, Version::Latest)
        );
    }

    #[test]
    fn config_errors_name_the_file_and_line() {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("c.yaml");
        std::fs::write(&config, "levle: baseline\n").expect("write");
        let config = config.display().to_string();
        let error = policies(&selection(&["p", "check", "--config", &config])).expect_err("bad");
        assert!(
            error.to_string().starts_with(&format!("{config}:1:1: ")),
            "{error}"
        );
        assert!(error.to_string().contains("levle"), "{error}");
    }
}
