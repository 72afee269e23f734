//! The second step of argument handling (ripgrep's `HiArgs`): the typed flags plus the config
//! file become the run's [`Policies`]. This may read files (the config file); the Namespace
//! labels of `--level namespace` are learned later, from the inputs.
//!
//! Precedence, for every setting: a flag given on the command line, else the config file
//! (`--config FILE`, else the nearest `.pss-fix.yaml` above the input: see `configs`), else the
//! built-in default.

use super::configs::Loaded;
use crate::cli::{LevelArg, Remedies, Selection};
use pss_fix::config::{Config, LevelChoice};
use pss_fix::manifest::{manifest_default_level, Enforce, Policies};
use pss_fix::pss::Level;

/// Builds the policies of the inputs a config governs, from the flags and that config. The
/// namespace table starts with the config's `namespaces` map; Namespace documents found later
/// override it.
pub fn policies(selection: &Selection, remedies: Option<&Remedies>, loaded: &Loaded) -> Policies {
    let mut config = loaded.config.clone();
    apply_flags(selection, remedies, &mut config);
    config.level = match selection.level {
        Some(LevelArg::Baseline) => LevelChoice::Fixed(Level::Baseline),
        Some(LevelArg::Restricted) => LevelChoice::Fixed(Level::Restricted),
        Some(LevelArg::Namespace) => LevelChoice::Namespace,
        None => config.level,
    };
    config.version = selection.pss_version.unwrap_or(config.version);
    let default_level = match selection.default_level {
        Some(flag) => flag.level(),
        None => manifest_default_level(&config, loaded.sets_default_level),
    };
    let version = config.version;
    let configured: Vec<(String, Enforce)> = config
        .namespaces
        .iter()
        .map(|(name, namespace)| {
            let enforce = namespace.level.map_or(Enforce::Privileged, |level| {
                Enforce::Level(level, namespace.version.unwrap_or(version))
            });
            (name.clone(), enforce)
        })
        .collect();
    let mut policies = Policies::new(config, default_level);
    policies.namespaces.extend(configured);
    policies
}

/// Lets the flags the user gave override the config.
fn apply_flags(selection: &Selection, remedies: Option<&Remedies>, config: &mut Config) {
    if selection.no_read_only_root_fs {
        config.hardening.read_only_root_filesystem = Some(false);
    }
    if selection.no_default_resources {
        config.hardening.default_resources = Some(false);
    }
    let Some(remedies) = remedies else {
        return;
    };
    config.safe_only |= remedies.safe_only;
    config.partial |= remedies.partial;
    if let Some(uid) = remedies.run_as_user {
        config.run_as_user = uid;
    }
    let resources = &mut config.hardening.resources;
    for (flag, field) in [
        (&remedies.cpu_request, &mut resources.requests.cpu),
        (&remedies.memory_request, &mut resources.requests.memory),
        (&remedies.cpu_limit, &mut resources.limits.cpu),
        (&remedies.memory_limit, &mut resources.limits.memory),
    ] {
        if let Some(quantity) = flag {
            field.clone_from(quantity);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::configs;
    use crate::cli::{Cli, Command};
    use clap::FromArgMatches;
    use pss_fix::pss::Version;

    fn fix_args(args: &[&str]) -> (Selection, Remedies) {
        let matches = crate::cli::command()
            .try_get_matches_from(args)
            .expect("parses");
        match Cli::from_arg_matches(&matches).expect("parses").command {
            Command::Fix(args) => (args.selection, args.remedies),
            _ => panic!("not fix"),
        }
    }

    fn loaded(text: &str) -> configs::Loaded {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("c.yaml");
        std::fs::write(&path, text).expect("write");
        configs::load(&path, false).expect("valid config")
    }

    #[test]
    fn flags_override_the_config_file() {
        let config = loaded(
            "level: baseline\nversion: v1.20\nrunAsUser: 1000\nhardening:\n  readOnlyRootFilesystem: true\n",
        );
        let (selection, remedies) = fix_args(&["p", "fix"]);
        let from_file = policies(&selection, Some(&remedies), &config);
        assert_eq!(from_file.fixed, Some((Level::Baseline, Version::Minor(20))));
        assert_eq!(from_file.config.run_as_user, 1000);
        let (selection, remedies) = fix_args(&[
            "p",
            "fix",
            "--level",
            "restricted",
            "--run-as-user",
            "7",
            "--no-read-only-root-fs",
            "--cpu-limit",
            "2",
        ]);
        let overridden = policies(&selection, Some(&remedies), &config);
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
    fn namespace_level_defaults_to_restricted_and_reads_the_config_map() {
        let config =
            loaded("namespaces:\n  shop: baseline\n  ops: {level: restricted, version: v1.30}\n");
        let (selection, remedies) = fix_args(&["p", "fix", "--level", "namespace"]);
        let policies = policies(&selection, Some(&remedies), &config);
        assert_eq!(policies.fixed, None);
        assert_eq!(
            policies.default,
            Enforce::Level(Level::Restricted, Version::Latest)
        );
        assert_eq!(
            policies.namespaces.get("shop"),
            Some(&Enforce::Level(Level::Baseline, Version::Latest))
        );
        assert_eq!(
            policies.namespaces.get("ops"),
            Some(&Enforce::Level(Level::Restricted, Version::Minor(30)))
        );
    }

    #[test]
    fn config_errors_name_the_file_and_line() {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("c.yaml");
        std::fs::write(&config, "levle: baseline\n").expect("write");
        let error = configs::load(&config, false).expect_err("bad");
        let name = config.display().to_string();
        assert!(
            error.to_string().starts_with(&format!("{name}:1:1: ")),
            "{error}"
        );
        assert!(error.to_string().contains("levle"), "{error}");
    }
}
