//! The command-line application: turns parsed arguments into a run over the inputs and an exit
//! code. Owns all of the CLI's I/O: reading inputs, writing files, stdout and stderr.
//!
//! A run is: resolve options (flags + config file), expand the paths, learn Namespace levels
//! (`--level namespace`), then process the inputs in windows: each window's files are read,
//! judged, planned and edited in parallel (rayon), then their output is written in input order
//! before the next window starts, so the order is stable and memory holds a window's files, not
//! the tree. One bad input is reported (`pss-fix: FILE:LINE:COL: reason` on stderr) and the
//! run goes on; the exit code is decided once at the end: 2 if any error, else 1 if findings
//! (`check` violations, `fix --check` changes), else 0. A closed stdout (`| head`) drops the
//! rest of the output but not the verdict: `check . | head -1` still exits 1 on findings.
//!
//! Each input is governed by its own config (the nearest `.pss-fix.yaml`, see `configs`), so
//! a run holds one set of policies per config found.
//!
//! `webhook` and `krm` hand over to their library modules (`pss_fix::webhook::serve`,
//! `pss_fix::krm::run`); `completions` and `man` render the clap definitions.
//!
//! Streams: diffs, fixed text, JSON and SARIF go to stdout; errors, explanations, the `--write`
//! summary and the progress bar go to stderr, so stdout stays machine-readable (a diff that
//! `git apply` takes, JSON that `jq` takes).

mod configs;
mod helm;
mod inputs;
mod options;
mod write;

use crate::cli::{
    CheckArgs, Cli, ColorChoice, Command, FixArgs, ManArgs, OutputFormat, Remedies, Selection,
    WebhookArgs,
};
use configs::Configs;
use indicatif::{ProgressBar, ProgressDrawTarget};
use inputs::{Input, InputError};
use pss_fix::manifest::{Enforce, Keep, LevelSource, Manifest, Policies};
use pss_fix::report::{diff, enforce_name, json, sarif::SarifLog, text};
use pss_fix::yaml;
use rayon::prelude::*;
use std::collections::BTreeSet;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Files processed in parallel before their output is written, per worker thread.
const WINDOW_PER_THREAD: usize = 8;

/// Show a progress bar from this many inputs on (and only when stderr is a terminal).
const PROGRESS_MIN_INPUTS: usize = 200;

/// Runs the parsed command line.
pub fn run(cli: Cli) -> ExitCode {
    let stdout = io::stdout();
    let mut out = BufWriter::new(ClosablePipe::new(stdout.lock()));
    let result = match cli.command {
        Command::Fix(args) => {
            let mode = fix_mode(&args);
            engine(&args.selection, Some(&args.remedies), mode, &mut out)
        }
        Command::Patch(args) => {
            engine(&args.selection, Some(&args.remedies), Mode::Patch, &mut out)
        }
        Command::Check(args) => {
            let mode = check_mode(&args);
            engine(&args.selection, None, mode, &mut out)
        }
        Command::Webhook(args) => Ok(webhook(&args)),
        Command::Krm => krm(&mut out),
        Command::Helm(args) => helm::run(&args, &mut out),
        Command::Completions { shell } => completions(shell, &mut out).map(|()| Status::Clean),
        Command::Man(args) => man(&args, &mut out),
    };
    let result = result.and_then(|status| out.flush().map(|()| status));
    match result {
        Ok(status) => status.exit_code(),
        Err(error) => {
            warn(None, &format!("stdout: {}", inputs::io_message(&error)));
            ExitCode::from(2)
        }
    }
}

/// Standard output that, once its reader has gone (`pss-fix check . | head -1`), takes and drops
/// the rest of the output, so that the run finishes and its exit code is its verdict.
struct ClosablePipe<W> {
    inner: W,
    closed: bool,
}

impl<W: Write> ClosablePipe<W> {
    fn new(inner: W) -> ClosablePipe<W> {
        ClosablePipe {
            inner,
            closed: false,
        }
    }

    /// A broken pipe closes the output and counts as done.
    fn absorb<T>(&mut self, result: io::Result<T>, done: T) -> io::Result<T> {
        match result {
            Err(error) if error.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(done)
            }
            other => other,
        }
    }
}

impl<W: Write> Write for ClosablePipe<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if self.closed {
            return Ok(bytes.len());
        }
        let result = self.inner.write(bytes);
        self.absorb(result, bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.closed {
            return Ok(());
        }
        let result = self.inner.flush();
        self.absorb(result, ())
    }
}

/// The binary's name, as users type it.
const BINARY: &str = "pss-fix";

/// `pss-fix completions SHELL`, from the clap definitions.
fn completions(shell: clap_complete::Shell, out: &mut dyn Write) -> io::Result<()> {
    let mut command = crate::cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, BINARY, &mut script);
    if shell == clap_complete::Shell::Bash {
        let script = String::from_utf8_lossy(&script);
        return out.write_all(fix_bash_completion(&script).as_bytes());
    }
    out.write_all(&script)
}

/// clap_complete's bash script tracks the words typed in `cmd` (`pss__fix__subcmd__check`:
/// the binary's `-` turned into `__`), but labels the cases that list each subcommand's
/// options with the `-` turned into a subcommand separator (`pss__subcmd__fix__subcmd__check`),
/// so no option of any subcommand of a hyphenated binary completed. The labels are renamed to
/// what `cmd` holds.
fn fix_bash_completion(script: &str) -> String {
    let labelled = BINARY.replace('-', "__subcmd__");
    let tracked = BINARY.replace('-', "__");
    script.replace(
        &format!("{labelled}__subcmd__"),
        &format!("{tracked}__subcmd__"),
    )
}

/// `pss-fix man`: the main page, one subcommand's page, or every page into a directory.
fn man(args: &ManArgs, out: &mut dyn Write) -> io::Result<Status> {
    let mut command = crate::cli::command();
    // Building fills in each subcommand's display name (pss-fix-fix), which names its page.
    command.build();
    if let Some(dir) = &args.dir {
        let written =
            std::fs::create_dir_all(dir).and_then(|()| clap_mangen::generate_to(command, dir));
        return match written {
            Ok(()) => Ok(Status::Clean),
            Err(error) => {
                let message = format!("{}: {}", dir.display(), inputs::io_message(&error));
                warn(None, &message);
                Ok(Status::Errors)
            }
        };
    }
    let page = match &args.command {
        None => command,
        Some(name) => {
            let Some(sub) = command.find_subcommand(name) else {
                warn(None, &format!("man: no subcommand `{name}`"));
                return Ok(Status::Errors);
            };
            sub.clone()
        }
    };
    clap_mangen::Man::new(page)
        .render(out)
        .map(|()| Status::Clean)
}

/// `pss-fix webhook`: serves until a termination signal; a failure to start is exit 2.
fn webhook(args: &WebhookArgs) -> Status {
    let config = match &args.config {
        Some(path) => configs::load(path, true).map(|loaded| loaded.config),
        None => Ok(pss_fix::webhook::default_config()),
    };
    let result = config
        .map_err(|error| error.to_string())
        .and_then(|config| {
            let mut options = pss_fix::webhook::ServeOptions::new(
                args.listen,
                args.tls_cert.clone(),
                args.tls_key.clone(),
                config,
            );
            options.client_ca = args.client_ca.clone();
            options.metrics_listen = args.metrics_listen;
            let limits = &mut options.limits;
            limits.request_timeout = args.request_timeout;
            limits.shutdown_delay = args.shutdown_delay;
            limits.first_request_timeout = args.first_request_timeout;
            limits.idle_timeout = args.idle_timeout;
            limits.max_connections = args.max_connections;
            limits.max_body_bytes = args.max_body_bytes;
            limits.max_bytes_in_flight = args.max_bytes_in_flight;
            limits.max_requests_in_flight = args.max_requests_in_flight;
            limits.review.max_patch_bytes = args.max_patch_bytes;
            limits.review.max_object_values = args.max_object_values;
            limits.review.max_containers = args.max_containers;
            limits.http2_keep_alive_interval = args.http2_keep_alive;
            limits.http2_keep_alive_timeout = args.http2_keep_alive;
            pss_fix::webhook::serve(options).map_err(|error| error.to_string())
        });
    match result {
        Ok(()) => Status::Clean,
        Err(message) => {
            warn(None, &format!("webhook: {message}"));
            Status::Errors
        }
    }
}

/// `pss-fix krm`: one ResourceList from stdin to stdout; on error nothing is written.
fn krm(out: &mut dyn Write) -> io::Result<Status> {
    let result = inputs::read_stdin()
        .map_err(|error| error.to_string())
        .and_then(|input| pss_fix::krm::run(&input).map_err(|error| error.to_string()));
    match result {
        Ok(list) => {
            out.write_all(list.as_bytes())?;
            Ok(Status::Clean)
        }
        Err(message) => {
            warn(None, &format!("krm: {message}"));
            Ok(Status::Errors)
        }
    }
}

/// What a run found, decided once at the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Status {
    Clean,
    Findings,
    Errors,
}

impl Status {
    fn exit_code(self) -> ExitCode {
        match self {
            Status::Clean => ExitCode::SUCCESS,
            Status::Findings => ExitCode::from(1),
            Status::Errors => ExitCode::from(2),
        }
    }
}

/// What the engine commands do with each processed file.
#[derive(Debug, Clone, Copy)]
enum Mode {
    Diff {
        color: bool,
        /// `--diff --check`: exit 1 when something would change.
        fail_on_change: bool,
    },
    Write {
        /// `--write --check`: exit 1 when a file changed.
        fail_on_change: bool,
    },
    Stdout,
    FixCheck,
    Patch,
    Check {
        format: OutputFormat,
        hardening: bool,
    },
}

impl Mode {
    /// What the engine keeps of each file for this mode's output (`explain`: each workload's
    /// changes are explained too).
    fn keep(self, explain: bool) -> Keep {
        match self {
            Mode::Diff { .. } | Mode::Write { .. } | Mode::Stdout | Mode::FixCheck => {
                Keep::FixedText
            }
            Mode::Patch => Keep::Patches,
            Mode::Check { .. } if explain => Keep::FindingsAndPlan,
            Mode::Check { .. } => Keep::Findings,
        }
    }

    /// Whether the text is edited (`fix`), or only judged and planned.
    fn edits(self) -> bool {
        self.keep(false) == Keep::FixedText
    }
}

fn fix_mode(args: &FixArgs) -> Mode {
    if args.write {
        Mode::Write {
            fail_on_change: args.check,
        }
    } else if args.stdout {
        Mode::Stdout
    } else if args.check && !args.diff {
        Mode::FixCheck
    } else {
        let color = match args.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
            }
        };
        Mode::Diff {
            color,
            fail_on_change: args.check,
        }
    }
}

fn check_mode(args: &CheckArgs) -> Mode {
    Mode::Check {
        format: args.output,
        hardening: args.hardening,
    }
}

/// One input after the engine ran (and, with `--write`, after its file was replaced).
struct Processed {
    name: String,
    result: Result<Done, InputError>,
}

struct Done {
    source: String,
    manifest: Manifest,
}

/// `fix`, `patch` and `check`: resolve, expand, learn namespaces, process, report.
fn engine(
    selection: &Selection,
    remedies: Option<&Remedies>,
    mode: Mode,
    out: &mut dyn Write,
) -> io::Result<Status> {
    let notes = !selection.quiet;
    let mut configs = match Configs::new(selection.config.as_deref(), &selection.exclude) {
        Ok(configs) => configs,
        Err(error) => {
            warn(None, &error.to_string());
            return Ok(Status::Errors);
        }
    };
    let paths = match default_paths(&selection.paths, mode) {
        Ok(paths) => paths,
        Err(usage) => {
            warn(None, &usage);
            return Ok(Status::Errors);
        }
    };
    let expanded = inputs::expand(&paths, &mut configs);
    let mut status = Status::Clean;
    for error in expanded.errors.iter().chain(&configs.errors) {
        warn(None, &error.to_string());
        status = Status::Errors;
    }
    if notes {
        for note in &expanded.notes {
            warn(None, note);
        }
        for chart in &expanded.charts {
            let chart = chart.display();
            warn(
                None,
                &format!(
                    "{chart}: Helm chart: its templates are not YAML until rendered; render it \
and use the post-renderer (`pss-fix fix --stdout -`), or `pss-fix helm {chart}`"
                ),
            );
        }
    }
    let (inputs, governed_by): (Vec<Input>, Vec<usize>) = expanded.inputs.into_iter().unzip();
    if selection.explain && notes {
        explain_configs(&configs, &governed_by);
    }
    if let Some(usage) = usage_error(mode, &inputs) {
        warn(None, &usage);
        return Ok(Status::Errors);
    }
    let stdin = if inputs.contains(&Input::Stdin) {
        match inputs::read_stdin() {
            Ok(text) => Some(text),
            Err(error) => {
                warn(None, &error.to_string());
                status = Status::Errors;
                None
            }
        }
    } else {
        None
    };
    let jobs: Vec<(Input, usize)> = inputs
        .into_iter()
        .zip(governed_by)
        .filter(|(input, _)| *input != Input::Stdin || stdin.is_some())
        .collect();
    let mut policies: Vec<Policies> = configs
        .loaded
        .iter()
        .map(|loaded| options::policies(selection, remedies, loaded))
        .collect();
    if policies.iter().any(|policies| policies.fixed.is_none()) {
        status = status.max(learn_namespaces(
            selection,
            &jobs,
            stdin.as_deref(),
            &mut policies,
        ));
    }

    let progress =
        (std::io::stderr().is_terminal() && jobs.len() >= PROGRESS_MIN_INPUTS).then(|| {
            ProgressBar::with_draw_target(Some(jobs.len() as u64), ProgressDrawTarget::stderr())
        });
    let explain_changes = notes && (selection.explain || matches!(mode, Mode::Diff { .. }));
    let mut report = Report::new(mode, progress.as_ref(), notes, explain_changes);
    let keep = mode.keep(explain_changes);
    let window = rayon::current_num_threads() * WINDOW_PER_THREAD;
    for chunk in jobs.chunks(window) {
        let processed: Vec<Processed> = chunk
            .par_iter()
            .map(|(input, config)| {
                let processed = process(input, stdin.as_deref(), &policies[*config], mode, keep);
                if let Some(bar) = &progress {
                    bar.inc(1);
                }
                processed
            })
            .collect();
        for file in processed {
            report.file(out, file)?;
        }
    }
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    Ok(status.max(report.finish(out)?))
}

/// The paths to read when none is given: stdin, unless stdin is a terminal (nothing is piped
/// in, and a read would wait with no prompt). Then commands that only read take the current
/// directory, as ruff does; `--write` and `--stdout` say what they expect instead.
fn default_paths(paths: &[PathBuf], mode: Mode) -> Result<Vec<PathBuf>, String> {
    if !paths.is_empty() || !io::stdin().is_terminal() {
        return Ok(paths.to_vec());
    }
    match mode {
        Mode::Write { .. } | Mode::Stdout => Err("no PATH given and stdin is a terminal: name \
the files or directories to fix (`.` for the current directory), or pipe manifests in with `-`"
            .to_owned()),
        _ => Ok(vec![PathBuf::from(".")]),
    }
}

/// `--explain`: which config file governs how many inputs.
fn explain_configs(configs: &Configs, governed_by: &[usize]) {
    for (index, loaded) in configs.loaded.iter().enumerate() {
        let count = governed_by
            .iter()
            .filter(|config| **config == index)
            .count();
        if count == 0 {
            continue;
        }
        let inputs = plural(count, "input");
        let message = match &loaded.path {
            Some(path) => format!("config {} for {inputs}", path.display()),
            None => format!(
                "no {} found up to the repository root for {inputs}: built-in defaults",
                configs::CONFIG_FILE
            ),
        };
        warn(None, &message);
    }
}

/// `1 file`, `2 files`.
fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// A combination of mode and inputs that cannot work, found before reading anything.
fn usage_error(mode: Mode, inputs: &[Input]) -> Option<String> {
    match mode {
        Mode::Stdout if inputs.len() != 1 => Some(format!(
            "--stdout prints one input's fixed text, but the paths name {} inputs",
            inputs.len()
        )),
        Mode::Write { .. } if inputs.contains(&Input::Stdin) => {
            Some("--write cannot write stdin in place; use --stdout".to_owned())
        }
        _ => None,
    }
}

/// `--level namespace`: reads the Namespace documents of the repository (when the current
/// directory is in one), of `--namespaces` and of the inputs, in that order, later ones
/// winning; they override the config files' `namespaces` maps. Inputs that fail here are
/// reported later, by the main pass; other repository files that fail are not inputs and are
/// passed over.
fn learn_namespaces(
    selection: &Selection,
    jobs: &[(Input, usize)],
    stdin: Option<&str>,
    policies: &mut [Policies],
) -> Status {
    let mut status = Status::Clean;
    let mut learned = repository_namespaces(jobs);
    if let Some(path) = &selection.namespaces {
        let name = path.display().to_string();
        let stream = inputs::read_file(path).and_then(|text| {
            yaml::Stream::parse(&text).map_err(|error| InputError::yaml(name.as_str(), error))
        });
        match stream {
            Ok(stream) => learned.extend(
                stream
                    .documents()
                    .iter()
                    .map(|document| document.value().clone()),
            ),
            Err(error) => {
                warn(None, &format!("--namespaces: {error}"));
                status = Status::Errors;
            }
        }
    }
    let from_inputs: Vec<Vec<serde_json::Value>> = jobs
        .par_iter()
        .map(|(input, _)| match input {
            Input::Stdin => namespace_documents(stdin),
            Input::File(path) => namespace_documents(inputs::read_file(path).ok().as_deref()),
        })
        .collect();
    learned.extend(from_inputs.into_iter().flatten());
    for policies in policies.iter_mut() {
        for document in &learned {
            policies.learn_namespaces(document);
        }
    }
    status
}

/// The Namespace documents (or Lists of them) of a text that parses.
fn namespace_documents(text: Option<&str>) -> Vec<serde_json::Value> {
    text.filter(|text| text.contains("Namespace"))
        .and_then(|text| yaml::Stream::parse(text).ok())
        .map(|stream| {
            stream
                .documents()
                .iter()
                .map(|document| document.value().clone())
                .filter(|value| !pss_fix::manifest::namespaces(value).is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// The Namespace documents of the repository around the current directory (the nearest
/// directory above holding `.git`) outside the inputs, so that a subset of its files
/// (pre-commit's, an editor's) still finds the levels the repository defines.
fn repository_namespaces(jobs: &[(Input, usize)]) -> Vec<serde_json::Value> {
    let here = configs::absolute(Path::new("."));
    let Some(root) = here.ancestors().find(|dir| dir.join(".git").exists()) else {
        return Vec::new();
    };
    let named: BTreeSet<PathBuf> = jobs
        .iter()
        .filter_map(|(input, _)| match input {
            Input::File(path) => Some(configs::absolute(path)),
            Input::Stdin => None,
        })
        .collect();
    let files: Vec<PathBuf> = inputs::walk(root, &mut Vec::new())
        .into_iter()
        .filter(|file| !named.contains(file))
        .collect();
    let found: Vec<Vec<serde_json::Value>> = files
        .par_iter()
        .map(|file| namespace_documents(inputs::read_file(file).ok().as_deref()))
        .collect();
    found.into_iter().flatten().collect()
}

/// Reads, judges, plans and edits one input, keeping what `keep` asks for; with `--write`,
/// replaces its file.
fn process(
    input: &Input,
    stdin: Option<&str>,
    policies: &Policies,
    mode: Mode,
    keep: Keep,
) -> Processed {
    let name = input.name();
    let source = match input {
        Input::Stdin => Ok(stdin.unwrap_or_default().to_owned()),
        Input::File(path) => inputs::read_file(path),
    };
    let result = source.and_then(|source| {
        let manifest = Manifest::process(&source, policies, keep)
            .map_err(|error| InputError::yaml(name.as_str(), error))?;
        if let (Mode::Write { .. }, Input::File(path), Some(fixed)) = (mode, input, &manifest.fixed)
        {
            write::replace(path, fixed).map_err(|error| InputError::io(name.as_str(), error))?;
        }
        Ok(Done { source, manifest })
    });
    Processed { name, result }
}

/// Writes each processed file's output, in order, and keeps the run's status.
struct Report<'a> {
    mode: Mode,
    progress: Option<&'a ProgressBar>,
    /// Notes and summaries on stderr (not `--quiet`).
    notes: bool,
    /// Each workload's changes and unfixable violations on stderr.
    explain_changes: bool,
    status: Status,
    json: json::ArrayWriter,
    sarif: SarifLog,
    /// Files changed (`--write`) or that would change, and files read without error.
    changed: usize,
    files: usize,
    /// Namespaces already named as having no known level.
    unknown_namespaces: BTreeSet<Option<String>>,
    /// Workloads that cannot reach their level, with each level held to (`fix` modes).
    blocked: Vec<String>,
    /// Whether any of them was left unchanged with fixes withheld (no `--partial`).
    withheld: bool,
}

impl<'a> Report<'a> {
    fn new(
        mode: Mode,
        progress: Option<&'a ProgressBar>,
        notes: bool,
        explain_changes: bool,
    ) -> Report<'a> {
        let hardening = matches!(
            mode,
            Mode::Check {
                hardening: true,
                ..
            }
        );
        Report {
            mode,
            progress,
            notes,
            explain_changes,
            status: Status::Clean,
            json: json::ArrayWriter::new(),
            sarif: SarifLog::new(hardening),
            changed: 0,
            files: 0,
            unknown_namespaces: BTreeSet::new(),
            blocked: Vec::new(),
            withheld: false,
        }
    }

    fn file(&mut self, out: &mut dyn Write, file: Processed) -> io::Result<()> {
        let done = match file.result {
            Ok(done) => done,
            Err(error) => {
                warn(self.progress, &error.to_string());
                self.sarif
                    .notify_error(&error.name, error.position(), &error.reason.to_string());
                self.status = Status::Errors;
                return Ok(());
            }
        };
        self.files += 1;
        let name = file.name.as_str();
        let manifest = &done.manifest;
        if manifest.fixed.is_some() {
            self.changed += 1;
        }
        match self.mode {
            Mode::Diff {
                color,
                fail_on_change,
            } => {
                if let Some(fixed) = &manifest.fixed {
                    diff::write(out, name, &done.source, fixed, color)?;
                    out.flush()?;
                    if fail_on_change {
                        self.status = self.status.max(Status::Findings);
                    }
                }
            }
            Mode::Write { fail_on_change } => {
                if manifest.fixed.is_some() && fail_on_change {
                    self.status = self.status.max(Status::Findings);
                }
            }
            Mode::Stdout => {
                out.write_all(manifest.fixed.as_deref().unwrap_or(&done.source).as_bytes())?
            }
            Mode::FixCheck => {
                if manifest.fixed.is_some() {
                    self.status = self.status.max(Status::Findings);
                    if self.notes {
                        let workloads = manifest
                            .workloads
                            .iter()
                            .filter(|workload| !workload.changes.is_empty())
                            .count();
                        let line =
                            format!("would fix {name} ({})\n", plural(workloads, "workload"));
                        write_stderr(self.progress, line.as_bytes());
                    }
                }
            }
            Mode::Patch => {
                for workload in &manifest.workloads {
                    self.json
                        .element(out, &json::PatchEntry::new(name, workload))?;
                }
            }
            Mode::Check { format, hardening } => {
                for workload in &manifest.workloads {
                    let found = !workload.violations.is_empty()
                        || (hardening && !workload.hardening_gaps.is_empty());
                    if found {
                        self.status = self.status.max(Status::Findings);
                    }
                    match format {
                        OutputFormat::Text => text::write_findings(out, name, workload)?,
                        OutputFormat::Json => self
                            .json
                            .element(out, &json::CheckEntry::new(name, workload))?,
                        OutputFormat::Sarif => self.sarif.add(name, workload),
                    }
                }
            }
        }
        if self.mode.edits() {
            for workload in manifest.workloads.iter().filter(|w| w.blocked) {
                if let Enforce::Level(level, _) = workload.held_to.enforce {
                    self.blocked.push(level.to_string());
                }
                self.withheld |= !workload.withheld.is_empty();
            }
        }
        if self.notes {
            self.note_unknown_namespaces(name, manifest);
        }
        if self.explain_changes {
            let mut explanation = Vec::new();
            for workload in &manifest.workloads {
                text::write_explanation(&mut explanation, name, workload)?;
            }
            if !explanation.is_empty() {
                write_stderr(self.progress, &explanation);
            }
        }
        Ok(())
    }

    /// With `--level namespace`, names once each namespace whose level nothing defines, and
    /// says what its workloads are held to instead.
    fn note_unknown_namespaces(&mut self, name: &str, manifest: &Manifest) {
        for workload in &manifest.workloads {
            if workload.held_to.source != LevelSource::Default
                || !self.unknown_namespaces.insert(workload.namespace.clone())
            {
                continue;
            }
            let held_to = match workload.held_to.enforce {
                Enforce::Privileged => "left alone (--default-level privileged)".to_owned(),
                enforce @ Enforce::Level(..) => {
                    format!("held to {} (--default-level)", enforce_name(enforce))
                }
            };
            let which = match &workload.namespace {
                Some(namespace) => format!("namespace `{namespace}` has no known level"),
                None => "workloads without metadata.namespace have no known level".to_owned(),
            };
            warn(
                self.progress,
                &format!(
                    "{name}: {which} (no labelled Namespace in the inputs, --namespaces, the \
repository or the config's `namespaces`): {held_to}"
                ),
            );
        }
    }

    /// `fix`'s summary of the workloads that cannot reach their level, e.g. `3 workloads
    /// cannot reach restricted: see above (--partial applies what can be applied)`.
    fn blocked_summary(&self) -> Option<String> {
        if self.blocked.is_empty() {
            return None;
        }
        let mut levels = self.blocked.clone();
        levels.sort();
        levels.dedup();
        let count = self.blocked.len();
        let workloads = if count == 1 { "workload" } else { "workloads" };
        let see = if self.explain_changes {
            "see above"
        } else {
            "--explain says why"
        };
        let hint = if self.withheld {
            " (--partial applies what can be applied)"
        } else {
            ""
        };
        Some(format!(
            "{count} {workloads} cannot reach {}: {see}{hint}",
            levels.join(" or ")
        ))
    }

    /// Closes the JSON array or writes the SARIF log; the `--write` and `--check` summaries
    /// and the blocked workloads' (none with `--quiet`).
    fn finish(self, out: &mut dyn Write) -> io::Result<Status> {
        match self.mode {
            Mode::Patch
            | Mode::Check {
                format: OutputFormat::Json,
                ..
            } => self.json.finish(out)?,
            Mode::Check {
                format: OutputFormat::Sarif,
                ..
            } => self.sarif.write(out)?,
            Mode::Write { .. } if self.notes => {
                let fixed = format!("{} of {} fixed", self.changed, plural(self.files, "file"));
                match self.blocked_summary() {
                    Some(blocked) => warn(self.progress, &format!("{fixed}; {blocked}")),
                    None => warn(self.progress, &fixed),
                }
            }
            Mode::FixCheck if self.notes => {
                let summary = format!(
                    "{} would be fixed, {} left unchanged\n",
                    plural(self.changed, "file"),
                    plural(self.files - self.changed, "file")
                );
                write_stderr(self.progress, summary.as_bytes());
                if let Some(blocked) = self.blocked_summary() {
                    warn(self.progress, &blocked);
                }
            }
            mode if mode.edits() && self.notes => {
                if let Some(blocked) = self.blocked_summary() {
                    warn(self.progress, &blocked);
                }
            }
            _ => {}
        }
        Ok(self.status)
    }
}

/// Writes `pss-fix: MESSAGE` on stderr (above the progress bar, if any).
fn warn(progress: Option<&ProgressBar>, message: &str) {
    write_stderr(progress, format!("pss-fix: {message}\n").as_bytes());
}

/// Writes to stderr; an error writing there has nowhere to be reported, so it is ignored.
fn write_stderr(progress: Option<&ProgressBar>, bytes: &[u8]) {
    let write = || {
        let _ = io::stderr().lock().write_all(bytes);
    };
    match progress {
        Some(bar) => bar.suspend(write),
        None => write(),
    }
}
