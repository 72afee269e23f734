//! Output: unified diffs, the `patch` JSON, `check` text, JSON and SARIF. Writes into
//! `impl Write`; never prints.
//!
//! SKELETON: filled in by issue 4.
