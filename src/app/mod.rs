//! The command-line application: turns parsed arguments into a run over the inputs and an exit
//! code. Owns all of the CLI's I/O: reading inputs, writing files, stdout and stderr.
//!
//! A run is: resolve options (flags + config file), expand the paths, learn Namespace levels
//! (`--level namespace`), then process the inputs in windows: each window's files are read,
//! judged, planned and edited in parallel (rayon), then their output is written in input order
//! before the next window starts, so the order is stable and memory holds a window's files, not
//! the tree. One bad input is reported (`pss-fix: FILE:LINE:COL: reason` on stderr) and the
//! run goes on; the exit code is decided once at the end: 2 if any error, else 1 if findings
//! (`check` violations, `fix --check` changes), else 0. A closed stdout (`| head`) ends the run
//! quietly with 0, as ripgrep does.
//!
//! `webhook` and `krm` hand over to their library modules (`pss_fix::webhook::serve`,
//! `pss_fix::krm::run`); `completions` and `man` render the clap definitions.
//!
//! Streams: diffs, fixed text, JSON and SARIF go to stdout; errors, explanations, the `--write`
//! summary and the progress bar go to stderr, so stdout stays machine-readable (a diff that
//! `git apply` takes, JSON that `jq` takes).

mod helm;
mod inputs;
mod options;
mod write;

use indicatif::{ProgressBar, ProgressDrawTarget};
use inputs::{Input, InputError};
use pss_fix::cli::{
    CheckArgs, Cli, ColorChoice, Command, FixArgs, OutputFormat, Selection, WebhookArgs,
};
use pss_fix::manifest::{Manifest, Policies};
use pss_fix::report::{diff, json, sarif::SarifLog, text};
use pss_fix::yaml;
use rayon::prelude::*;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::process::ExitCode;

/// Files processed in parallel before their output is written, per worker thread.
const WINDOW_PER_THREAD: usize = 8;

/// Show a progress bar from this many inputs on (and only when stderr is a terminal).
const PROGRESS_MIN_INPUTS: usize = 200;

/// Runs the parsed command line.
pub fn run(cli: Cli) -> ExitCode {
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let result = match cli.command {
        Command::Fix(args) => {
            let mode = fix_mode(&args);
            engine(&args.selection, mode, &mut out)
        }
        Command::Patch(args) => engine(&args.selection, Mode::Patch, &mut out),
        Command::Check(args) => {
            let mode = check_mode(&args);
            engine(&args.selection, mode, &mut out)
        }
        Command::Webhook(args) => Ok(webhook(&args)),
        Command::Krm => krm(&mut out),
        Command::Helm(args) => helm::run(&args, &mut out),
        Command::Completions { shell } => {
            let mut command = pss_fix::cli::command();
            clap_complete::generate(shell, &mut command, "pss-fix", &mut out);
            Ok(Status::Clean)
        }
        Command::Man => clap_mangen::Man::new(pss_fix::cli::command())
            .render(&mut out)
            .map(|()| Status::Clean),
    };
    let result = result.and_then(|status| out.flush().map(|()| status));
    match result {
        Ok(status) => status.exit_code(),
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(error) => {
            warn(None, &format!("stdout: {}", inputs::io_message(&error)));
            ExitCode::from(2)
        }
    }
}

/// `pss-fix webhook`: serves until a termination signal; a failure to start is exit 2.
fn webhook(args: &WebhookArgs) -> Status {
    let config = match &args.config {
        Some(path) => options::load_config(path, true).map(|(config, _)| config),
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
            limits.max_patch_bytes = args.max_patch_bytes;
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
    },
    Write {
        explain: bool,
        /// `--write --check`: exit 1 when a file changed.
        fail_on_change: bool,
    },
    Stdout {
        explain: bool,
    },
    FixCheck {
        explain: bool,
    },
    Patch,
    Check {
        format: OutputFormat,
        hardening: bool,
    },
}

impl Mode {
    /// Whether the text is edited (`fix`), or only judged and planned.
    fn edits(self) -> bool {
        matches!(
            self,
            Mode::Diff { .. } | Mode::Write { .. } | Mode::Stdout { .. } | Mode::FixCheck { .. }
        )
    }

    /// Whether each fixed workload is explained on stderr.
    fn explains(self) -> bool {
        match self {
            Mode::Diff { .. } => true,
            Mode::Write { explain, .. } | Mode::Stdout { explain } | Mode::FixCheck { explain } => {
                explain
            }
            Mode::Patch | Mode::Check { .. } => false,
        }
    }
}

fn fix_mode(args: &FixArgs) -> Mode {
    let explain = args.explain;
    if args.write {
        Mode::Write {
            explain,
            fail_on_change: args.check,
        }
    } else if args.stdout {
        Mode::Stdout { explain }
    } else if args.check {
        Mode::FixCheck { explain }
    } else {
        let color = match args.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
            }
        };
        Mode::Diff { color }
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
fn engine(selection: &Selection, mode: Mode, out: &mut dyn Write) -> io::Result<Status> {
    let mut policies = match options::policies(selection) {
        Ok(policies) => policies,
        Err(error) => {
            warn(None, &error.to_string());
            return Ok(Status::Errors);
        }
    };
    let expanded = inputs::expand(&selection.paths, &selection.exclude);
    let mut status = Status::Clean;
    for error in &expanded.errors {
        warn(None, &error.to_string());
        status = Status::Errors;
    }
    for note in &expanded.notes {
        warn(None, note);
    }
    let inputs = expanded.inputs;
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
    let inputs: Vec<Input> = inputs
        .into_iter()
        .filter(|input| *input != Input::Stdin || stdin.is_some())
        .collect();
    if policies.fixed.is_none() {
        status = status.max(learn_namespaces(
            selection,
            &inputs,
            stdin.as_deref(),
            &mut policies,
        ));
    }

    let progress =
        (std::io::stderr().is_terminal() && inputs.len() >= PROGRESS_MIN_INPUTS).then(|| {
            ProgressBar::with_draw_target(Some(inputs.len() as u64), ProgressDrawTarget::stderr())
        });
    let mut report = Report::new(mode, progress.as_ref());
    let window = rayon::current_num_threads() * WINDOW_PER_THREAD;
    for chunk in inputs.chunks(window) {
        let processed: Vec<Processed> = chunk
            .par_iter()
            .map(|input| {
                let processed = process(input, stdin.as_deref(), &policies, mode);
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

/// A combination of mode and inputs that cannot work, found before reading anything.
fn usage_error(mode: Mode, inputs: &[Input]) -> Option<String> {
    match mode {
        Mode::Stdout { .. } if inputs.len() != 1 => Some(format!(
            "--stdout prints one input's fixed text, but the paths name {} inputs",
            inputs.len()
        )),
        Mode::Write { .. } if inputs.contains(&Input::Stdin) => {
            Some("--write cannot write stdin in place; use --stdout".to_owned())
        }
        _ => None,
    }
}

/// `--level namespace`: reads the Namespace documents of `--namespaces` and of the inputs.
/// Inputs that fail here are reported later, by the main pass.
fn learn_namespaces(
    selection: &Selection,
    inputs: &[Input],
    stdin: Option<&str>,
    policies: &mut Policies,
) -> Status {
    let mut status = Status::Clean;
    if let Some(path) = &selection.namespaces {
        let name = path.display().to_string();
        let stream = inputs::read_file(path)
            .and_then(|text| yaml::Stream::parse(&text).map_err(|error| yaml_error(&name, error)));
        match stream {
            Ok(stream) => {
                for document in stream.documents() {
                    policies.learn_namespaces(document.value());
                }
            }
            Err(error) => {
                warn(None, &format!("--namespaces: {error}"));
                status = Status::Errors;
            }
        }
    }
    let found: Vec<Vec<serde_json::Value>> = inputs
        .par_iter()
        .map(|input| {
            let text = match input {
                Input::Stdin => stdin.map(str::to_owned),
                Input::File(path) => inputs::read_file(path).ok(),
            };
            text.filter(|text| text.contains("Namespace"))
                .and_then(|text| yaml::Stream::parse(&text).ok())
                .map(|stream| {
                    stream
                        .documents()
                        .iter()
                        .map(|document| document.value().clone())
                        .filter(|value| !pss_fix::manifest::namespaces(value).is_empty())
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect();
    for document in found.iter().flatten() {
        policies.learn_namespaces(document);
    }
    status
}

/// Reads, judges, plans and edits one input; with `--write`, replaces its file.
fn process(input: &Input, stdin: Option<&str>, policies: &Policies, mode: Mode) -> Processed {
    let name = input.name();
    let source = match input {
        Input::Stdin => Ok(stdin.unwrap_or_default().to_owned()),
        Input::File(path) => inputs::read_file(path),
    };
    let result = source.and_then(|source| {
        let manifest = Manifest::process(&source, policies, mode.edits())
            .map_err(|error| yaml_error(&name, error))?;
        if let (Mode::Write { .. }, Input::File(path), Some(fixed)) = (mode, input, &manifest.fixed)
        {
            write::replace(path, fixed).map_err(|error| InputError::io(name.as_str(), &error))?;
        }
        Ok(Done { source, manifest })
    });
    Processed { name, result }
}

fn yaml_error(name: &str, error: yaml::Error) -> InputError {
    InputError {
        name: name.to_owned(),
        position: Some((error.line, error.column)),
        message: error.message,
    }
}

/// Writes each processed file's output, in order, and keeps the run's status.
struct Report<'a> {
    mode: Mode,
    progress: Option<&'a ProgressBar>,
    status: Status,
    json: json::ArrayWriter,
    sarif: SarifLog,
    /// Files replaced by `--write`, and files seen.
    written: usize,
    files: usize,
    /// Workloads that cannot reach their level, with each level held to (`fix` modes).
    blocked: Vec<String>,
    /// Whether any of them was left unchanged with fixes withheld (no `--partial`).
    withheld: bool,
}

impl<'a> Report<'a> {
    fn new(mode: Mode, progress: Option<&'a ProgressBar>) -> Report<'a> {
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
            status: Status::Clean,
            json: json::ArrayWriter::new(),
            sarif: SarifLog::new(hardening),
            written: 0,
            files: 0,
            blocked: Vec::new(),
            withheld: false,
        }
    }

    fn file(&mut self, out: &mut dyn Write, file: Processed) -> io::Result<()> {
        self.files += 1;
        let done = match file.result {
            Ok(done) => done,
            Err(error) => {
                warn(self.progress, &error.to_string());
                self.status = Status::Errors;
                return Ok(());
            }
        };
        let name = file.name.as_str();
        let manifest = &done.manifest;
        match self.mode {
            Mode::Diff { color } => {
                if let Some(fixed) = &manifest.fixed {
                    diff::write(out, name, &done.source, fixed, color)?;
                    out.flush()?;
                }
            }
            Mode::Write { fail_on_change, .. } => {
                if manifest.fixed.is_some() {
                    self.written += 1;
                    if fail_on_change {
                        self.status = self.status.max(Status::Findings);
                    }
                }
            }
            Mode::Stdout { .. } => {
                out.write_all(manifest.fixed.as_deref().unwrap_or(&done.source).as_bytes())?
            }
            Mode::FixCheck { .. } => {
                if manifest.fixed.is_some() {
                    self.status = self.status.max(Status::Findings);
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
                if let pss_fix::manifest::Enforce::Level(level, _) = workload.held_to.enforce {
                    self.blocked.push(level.to_string());
                }
                self.withheld |= !workload.withheld.is_empty();
            }
        }
        if self.mode.explains() {
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
        let see = if self.mode.explains() {
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

    /// Closes the JSON array or writes the SARIF log; the `--write` summary.
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
            Mode::Write { .. } => {
                let fixed = format!("{} of {} files fixed", self.written, self.files);
                match self.blocked_summary() {
                    Some(blocked) => warn(self.progress, &format!("{fixed}; {blocked}")),
                    None => warn(self.progress, &fixed),
                }
            }
            mode if mode.edits() => {
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
