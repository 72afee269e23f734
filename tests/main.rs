//! The one integration-test binary (as ripgrep has): every suite is a module, sharing `util`.
//! One binary links once, which matters on a two-core machine.

// A test crate: helpers outside #[test] fns unwrap too.
#![allow(clippy::unwrap_used)]

mod util;

mod cli;
mod cli_webhook;
mod conformance;
mod corpus;
mod diff_apply;
mod docs;
mod e2e_oracle;
mod e2e_psa;
mod e2e_webhook;
mod exemptions;
mod fuzz_regressions;
mod golden;
mod helm;
mod integrations;
mod layers;
mod memory;
mod plan_properties;
mod pss_oracle;
mod webhook;
mod webhook_deploy;
mod webhook_hostile;
mod yaml_props;
