//! pss-fix: bring Kubernetes workloads up to the Pod Security Standards by fixing them.
//!
//! One engine, three shells. The engine is [`workload`] (where each kind keeps its pod spec),
//! [`pss`] (the standard: checks, levels, versions), [`plan`] (violations to a minimal RFC 6902
//! patch) and [`config`] (policy from a config file and flags). The CLI (`main.rs`, [`cli`]) edits
//! files through [`yaml`], the format-preserving editor; the [`webhook`] applies the same plans
//! to admission requests; [`krm`] serves kustomize. [`report`] renders diffs, JSON and SARIF.
//! [`pointer`] holds the RFC 6901 token rules all of them share.
//!
//! Dependencies point one way: `yaml` knows nothing of Kubernetes, `pss` knows no YAML.

pub mod cli;
pub mod config;
pub mod helm;
pub mod krm;
pub mod manifest;
pub mod plan;
pub mod pointer;
pub mod pss;
pub mod report;
pub mod webhook;
pub mod workload;
pub mod yaml;
