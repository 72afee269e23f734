//! Engine cost per call, with criterion: `pss::check`, `plan::plan` and `webhook::review::review`
//! on the realistic Deployment of the webhook tests (non-compliant: the plan has a patch) and on
//! its fixed form (compliant: the plan is empty), at restricted latest with the default config.
//!
//! `cargo bench --bench engine` (add `-- --quick` for a fast look).

#![allow(clippy::unwrap_used)] // a benchmark binary: fail loudly

#[path = "../tests/util/webhook.rs"]
mod webhook_util;

use criterion::{criterion_group, criterion_main, Criterion};
use pss_fix::config::Config;
use pss_fix::pss::{Level, Version};
use pss_fix::webhook::review::{review, Context};
use serde_json::Value;
use std::hint::black_box;

/// The binary's allocator, so that in-process numbers (engine and baseline alike) are the
/// binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn engine(c: &mut Criterion) {
    let config = Config::default();
    let policies = pss_fix::manifest::Policies::new(config.clone(), config.default_level);
    let context = Context::new(&policies);
    let deployment = webhook_util::realistic_deployment();
    let policy = |object: &Value| {
        let workload = pss_fix::workload::workloads(object).remove(0);
        config
            .policy_for(&workload, Level::Restricted, Version::Latest)
            .expect("the skip annotations name controls")
    };
    let mut compliant = deployment.clone();
    json_patch::patch(
        &mut compliant,
        &pss_fix::plan::plan(&deployment, &policy(&deployment)).patch,
    )
    .unwrap();
    assert!(pss_fix::pss::check(&compliant, Level::Restricted, Version::Latest).is_empty());

    for (label, object) in [("non-compliant", &deployment), ("compliant", &compliant)] {
        let policy = policy(object);
        c.bench_function(&format!("check/{label}"), |b| {
            b.iter(|| pss_fix::pss::check(black_box(object), Level::Restricted, Version::Latest))
        });
        c.bench_function(&format!("plan/{label}"), |b| {
            b.iter(|| pss_fix::plan::plan(black_box(object), &policy))
        });
        let body =
            serde_json::to_vec(&webhook_util::admission_review("CREATE", object, None)).unwrap();
        c.bench_function(&format!("review/{label}"), |b| {
            b.iter(|| review(black_box(&body), context))
        });
    }
}

criterion_group!(benches, engine);
criterion_main!(benches);
