//! Configuration: `.pss-fix.yaml` and the flags that override it, resolved into a
//! [`crate::plan::Policy`] per workload.
//!
//! SKELETON: filled in by issue 3.

/// K01 hardening options.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Hardening {
    pub read_only_root_filesystem: bool,
    pub default_resources: bool,
}

/// Controls and containers exempted from fixing.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Exemptions {}

/// How the level is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LevelChoice {
    Fixed(crate::pss::Level),
    /// From the workload's Namespace labels `pod-security.kubernetes.io/enforce[-version]`.
    Namespace,
}
