//! pss-fix: bring Kubernetes workloads up to the Pod Security Standards by fixing them.
//!
//! One engine, three shells. The engine is [`workload`] (where each kind keeps its pod spec),
//! [`policy`] (what a plan is held to and may do: level, version, hardening, exemptions),
//! [`pss`] (the standard: one module per control, its check and its remedy), [`plan`]
//! (violations to a minimal RFC 6902 patch) and [`config`] (the config file and flags, resolved
//! into a policy per workload). [`manifest`] runs one text through it. The CLI (`main.rs`,
//! [`cli`]) edits files through [`yaml`], the format-preserving editor; the [`webhook`] applies
//! the same plans to admission requests; [`krm`] serves kustomize; [`helm`] carries plans back
//! to the values of a Helm chart. [`report`] renders diffs, JSON and SARIF.
//! [`pointer`](mod@pointer) holds the RFC 6901 token rules all of them share.
//!
//! Dependencies point one way, from the shells down to the leaves:
//! `pointer`, `workload`, `policy` <- `pss` <- `plan` <- `config` <- `manifest` <- `report`,
//! `krm`, `helm`, `webhook`, `cli`; `yaml` knows nothing of Kubernetes and `pss` knows no
//! YAML. Unit tests may reach up (a remedy's test runs the whole plan); code outside tests may
//! not, and the integration test `layers` fails on a cycle between these modules.

pub mod cli;
pub mod config;
pub mod helm;
pub mod krm;
pub mod manifest;
pub mod plan;
pub mod pointer;
pub mod policy;
pub mod pss;
pub mod report;
pub mod webhook;
pub mod workload;
pub mod yaml;
