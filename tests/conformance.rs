//! Conformance with the upstream pod-security-admission fixtures, read from the
//! `k8s.io/pod-security-admission` module's `test/testdata` in the Go module cache:
//! the checker agrees with every fixture at its level and version, fail fixtures fail on the
//! check they are named after (or the restricted check replacing it), and the plan turns
//! every fail fixture into a passing pod or lists each remaining violation as unfixable.

use crate::util::e2e::upstream_testdata;
use crate::util::support;

use pss_fix::config::Config;
use pss_fix::pss::{self, Level, Version};
use pss_fix::workload::workloads;
use std::collections::BTreeMap;

/// The check a fail fixture is named after, as the fixture name spells it (lower case).
fn named_check(name: &str) -> String {
    name.trim_end_matches(|c: char| c.is_ascii_digit())
        .trim_end_matches("_linux")
        .to_string()
}

/// Whether violation `check` is the one fixture `named` is about at `level`/`version`.
fn is_named(check: &str, named: &str, level: Level, version: Version) -> bool {
    let check = check.to_ascii_lowercase();
    if check == named {
        return true;
    }
    let replaced_by = match named {
        "capabilities_baseline" if version.at_least(22) => "capabilities_restricted",
        "seccompprofile_baseline" if version.at_least(19) => "seccompprofile_restricted",
        "hostpathvolumes" => "restrictedvolumes",
        "procmount" if version.at_least(35) => "procmount_restricted",
        _ => return false,
    };
    level == Level::Restricted && check == replaced_by
}

#[derive(Default, Debug)]
struct Counts {
    checked: usize,
    agreeing: usize,
    failing: usize,
    fixed: usize,
    unfixable: usize,
    /// Failing fixtures fixed with `--safe-only` (the rest: unfixable for that reason).
    safe_only_fixed: usize,
    /// (check, reason) -> fixtures left with it.
    reasons: BTreeMap<(String, String), usize>,
}

#[test]
fn checker_and_fixer_agree_with_upstream_fixtures() {
    let Some(testdata) = upstream_testdata("conformance") else {
        return;
    };
    let fixtures = support::fixtures(&testdata);
    assert!(
        fixtures.len() > 4000,
        "expected the full fixture set, found {}",
        fixtures.len()
    );
    let mut counts: BTreeMap<String, Counts> = BTreeMap::new();
    let mut failures = Vec::new();
    let config = Config::default();
    for fixture in &fixtures {
        let level: Level = fixture.level.parse().expect("fixture level");
        let version: Version = fixture.version.parse().expect("fixture version");
        let entry = counts.entry(fixture.level.clone()).or_default();
        entry.checked += 1;
        let violations = pss::check(&fixture.object, level, version);
        let named = named_check(&fixture.name);
        let agrees = if fixture.pass {
            violations.is_empty()
        } else {
            violations
                .iter()
                .any(|v| is_named(&v.check, &named, level, version))
        };
        if agrees {
            entry.agreeing += 1;
        } else {
            failures.push(format!("{}: {:?}", fixture.path.display(), violations));
        }
        let found = workloads(&fixture.object);
        assert_eq!(found.len(), 1, "{}", fixture.path.display());
        let policy = config
            .policy_for(&found[0], level, version)
            .expect("the skip annotations name controls");
        let plan = pss_fix::plan::plan(&fixture.object, &policy);
        if fixture.pass {
            // Hardening may still add fields to a passing pod, never break it.
            let mut patched = fixture.object.clone();
            json_patch::patch(&mut patched, &plan.patch).expect("plan should apply");
            if !pss::check(&patched, level, version).is_empty() {
                failures.push(format!(
                    "{}: plan breaks a passing pod",
                    fixture.path.display()
                ));
            }
            continue;
        }
        entry.failing += 1;
        let mut patched = fixture.object.clone();
        json_patch::patch(&mut patched, &plan.patch).expect("plan should apply");
        let remaining = pss::check(&patched, level, version);
        if remaining.is_empty() {
            entry.fixed += 1;
        } else if remaining
            .iter()
            .all(|v| plan.unfixable.iter().any(|u| u.check == v.check))
        {
            entry.unfixable += 1;
            for u in &plan.unfixable {
                *entry
                    .reasons
                    .entry((u.check.clone(), u.reason.clone()))
                    .or_default() += 1;
            }
        } else {
            failures.push(format!(
                "{}: still violates {:?}, unfixable {:?}",
                fixture.path.display(),
                remaining,
                plan.unfixable
            ));
        }
        let safe = pss_fix::policy::Policy {
            safe_only: true,
            ..policy.clone()
        };
        let safe_plan = pss_fix::plan::plan(&fixture.object, &safe);
        let mut safe_patched = fixture.object.clone();
        json_patch::patch(&mut safe_patched, &safe_plan.patch).expect("plan should apply");
        let safe_remaining = pss::check(&safe_patched, level, version);
        if safe_remaining.is_empty() {
            entry.safe_only_fixed += 1;
        } else if !safe_remaining.iter().all(|v| {
            // A blocked workload is left as it was: what the plan withheld stays too.
            safe_plan.unfixable.iter().any(|u| u.check == v.check)
                || safe_plan.withheld.iter().any(|c| c.check == v.check)
        }) {
            failures.push(format!(
                "{}: safe-only plan leaves {:?} unlisted",
                fixture.path.display(),
                safe_remaining
            ));
        }
        let again = pss_fix::plan::plan(&patched, &policy);
        if !again.patch.0.is_empty() {
            failures.push(format!(
                "{}: plan not idempotent: {:?}",
                fixture.path.display(),
                again.patch
            ));
        }
    }
    for (level, c) in &counts {
        eprintln!(
            "{level}: {} fixtures checked, {} agreeing; {} failing fixtures: {} fixed, {} unfixable; \
             {} fixed with --safe-only",
            c.checked, c.agreeing, c.failing, c.fixed, c.unfixable, c.safe_only_fixed
        );
        for ((check, reason), count) in &c.reasons {
            eprintln!("  unfixable {check}: {reason}: {count}");
        }
    }
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
