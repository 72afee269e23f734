//! `pss-fix helm`: the I/O around [`pss_fix::helm`]: which chart, the policy, printing the diff
//! or writing values.yaml or the override file, and the report on stderr.
//!
//! The report (stderr): one line per values key that reaches a workload, then per workload
//! what is left after the change (`left CHECK at POINTER (TEMPLATE:LINE): WHAT`), then a
//! summary: workloads rendered; of them already passing, passing once fixed from values, still
//! violating the level but fixable by the post-renderer, unfixable; how many pass with K01
//! hardening left; candidate keys, renders and wall time.

use super::{inputs, options, warn, write, Status};
use pss_fix::cli::HelmArgs;
use pss_fix::helm::{self, Chart, Proposal, Renderer, Verdict};
use pss_fix::report::diff;
use std::io::{self, Write};
use std::path::Path;
use std::time::Instant;

/// Runs `pss-fix helm`.
pub fn run(args: &HelmArgs, out: &mut dyn Write) -> io::Result<Status> {
    let started = Instant::now();
    let selection = &args.selection;
    if !selection.exclude.is_empty() {
        warn(None, "helm: --exclude does not apply to a chart");
        return Ok(Status::Errors);
    }
    let chart = match selection.paths.as_slice() {
        [] => ".".to_owned(),
        [chart] => chart.display().to_string(),
        more => {
            warn(
                None,
                &format!("helm: one chart at a time, but {} were named", more.len()),
            );
            return Ok(Status::Errors);
        }
    };
    let mut policies = match options::policies(selection) {
        Ok(policies) => policies,
        Err(error) => {
            warn(None, &error.to_string());
            return Ok(Status::Errors);
        }
    };
    if policies.fixed.is_none()
        && super::learn_namespaces(selection, &[], None, &mut policies) == Status::Errors
    {
        return Ok(Status::Errors);
    }
    let mut renderer = Renderer::new(
        args.helm.clone(),
        chart.clone(),
        args.release_name.clone(),
        args.release_namespace.clone(),
    );
    renderer.values.clone_from(&args.values);
    renderer.set.clone_from(&args.set);

    let result = helm::Chart::load(&renderer).and_then(|loaded| {
        let proposal = helm::propose(&renderer, &loaded, &mut policies)?;
        Ok((loaded, proposal))
    });
    let (loaded, proposal) = match result {
        Ok(found) => found,
        Err(error) => {
            warn(None, &format!("helm: {chart}: {error}"));
            return Ok(Status::Errors);
        }
    };
    report_probes(&proposal);
    let applied = match apply(args, &loaded, &proposal, out) {
        Ok(extra) => extra,
        Err(message) => {
            warn(None, &format!("helm: {message}"));
            return Ok(Status::Errors);
        }
    };
    let verdicts = match helm::check(&renderer, &loaded, &policies, &proposal, &applied) {
        Ok(verdicts) => verdicts,
        Err(error) => {
            warn(
                None,
                &format!("helm: {chart}: rendering with the change: {error}"),
            );
            return Ok(Status::Errors);
        }
    };
    Ok(report_verdicts(
        &proposal,
        &verdicts,
        renderer.renders(),
        started,
    ))
}

/// Shows, writes or prints the change as the mode asks; returns the values the check render
/// needs on top of the chart as it now is (the override, unless values.yaml was written).
fn apply(
    args: &HelmArgs,
    chart: &Chart,
    proposal: &Proposal,
    out: &mut dyn Write,
) -> Result<Vec<String>, String> {
    if !proposal.changes() {
        return Ok(Vec::new());
    }
    let overlay = &proposal.probed.overlay;
    let as_override = || vec![overlay.to_string()];
    if let Some(path) = &args.values_out {
        let text = helm::override_text(overlay).map_err(|error| error.to_string())?;
        create_or_replace(path, &text)
            .map_err(|error| format!("{}: {}", path.display(), inputs::io_message(&error)))?;
        warn(None, &format!("helm: wrote {}", path.display()));
        return Ok(as_override());
    }
    let values_path = chart.values_path();
    let name = values_path.display().to_string();
    if chart.dir.is_none() {
        if args.write {
            return Err(format!(
                "--write edits a chart directory's values.yaml, but {} is not a directory; use --values-out",
                args.selection.paths.first().map_or(".".into(), |path| path.display().to_string())
            ));
        }
        let text = helm::override_text(overlay).map_err(|error| error.to_string())?;
        diff::write(out, "values-pss-fix.yaml", "", &text, false)
            .map_err(|error| error.to_string())?;
        return Ok(as_override());
    }
    let edited = chart
        .edited_values(overlay)
        .map_err(|error| error.to_string())?;
    if args.write {
        create_or_replace(&values_path, &edited)
            .map_err(|error| format!("{name}: {}", inputs::io_message(&error)))?;
        warn(None, &format!("helm: wrote {name}"));
        if !args.values.is_empty() || !args.set.is_empty() {
            warn(
                None,
                "helm: note: your --values and --set still override values.yaml; the check below renders with them",
            );
        }
        Ok(Vec::new())
    } else {
        diff::write(out, &name, &chart.values_text, &edited, false)
            .map_err(|error| error.to_string())?;
        out.flush().map_err(|error| error.to_string())?;
        Ok(as_override())
    }
}

/// Replaces `path` atomically, or creates it when it does not exist.
fn create_or_replace(path: &Path, text: &str) -> io::Result<()> {
    if path.exists() {
        return write::replace(path, text);
    }
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut temporary = tempfile::Builder::new()
        .prefix(".pss-fix-")
        .tempfile_in(directory)?;
    temporary.write_all(text.as_bytes())?;
    temporary.as_file().sync_all()?;
    temporary.persist(path).map_err(|error| error.error)?;
    Ok(())
}

/// One line per candidate key that reaches a workload, and per key the chart refused.
fn report_probes(proposal: &Proposal) {
    for reach in &proposal.probed.reaches {
        warn(
            None,
            &format!(
                "helm: values {} reaches {} {}",
                dotted(&reach.key),
                reach.workload,
                reach.pointer
            ),
        );
    }
    for (key, message) in &proposal.probed.refused {
        let message: Vec<&str> = message.lines().map(str::trim).collect();
        warn(
            None,
            &format!(
                "helm: values {} not probed: the chart refused it: {}",
                dotted(key),
                message.join(" ")
            ),
        );
    }
}

/// What is left per workload, the summary, and the run's status.
fn report_verdicts(
    proposal: &Proposal,
    verdicts: &[Verdict],
    renders: usize,
    started: Instant,
) -> Status {
    let mut status = Status::Clean;
    let (mut already, mut fixed, mut post_renderer, mut unfixable) = (0, 0, 0, 0);
    let mut hardening_left = 0;
    for verdict in verdicts {
        let needed = proposal.needing.contains(&verdict.workload);
        if !verdict.passes {
            status = Status::Findings;
        }
        if verdict.left.iter().any(|left| !left.fixable) {
            unfixable += 1;
        } else if !verdict.passes {
            post_renderer += 1;
        } else if needed {
            fixed += 1;
        } else {
            already += 1;
        }
        if verdict.passes && verdict.left.iter().any(|left| left.hardening) {
            hardening_left += 1;
        }
        for left in &verdict.left {
            let kind = if left.hardening {
                "hardening"
            } else {
                "violation"
            };
            let place = left
                .template
                .as_deref()
                .map_or_else(String::new, |template| format!(" ({template})"));
            let remedy = if left.fixable {
                "not reachable from values (the template decides it); the post-renderer `pss-fix fix --stdout -` fixes it at deploy time"
            } else {
                "cannot be fixed"
            };
            warn(
                None,
                &format!(
                    "helm: {}: left {kind} {} at {}{place}: {remedy}: {}",
                    verdict.workload, left.check, left.pointer, left.what
                ),
            );
        }
    }
    warn(
        None,
        &format!(
            "helm: {} rendered: {already} already passed, {fixed} fixed from values, \
{post_renderer} left to the post-renderer, {unfixable} unfixable ({hardening_left} passing with \
K01 hardening left to the post-renderer); {} candidate keys, {renders} renders, {:.2}s",
            match verdicts.len() {
                1 => "1 workload".to_owned(),
                count => format!("{count} workloads"),
            },
            proposal.probed.candidates.len(),
            started.elapsed().as_secs_f64()
        ),
    );
    status
}

/// A values pointer as Helm users write the key: `/controller/podSecurityContext` is
/// `controller.podSecurityContext`.
fn dotted(pointer: &str) -> String {
    pss_fix::pointer::tokens(pointer)
        .collect::<Vec<_>>()
        .join(".")
}
