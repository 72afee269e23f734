//! The command line: clap definitions only (what the user typed, checked, no I/O).
//!
//! This is ripgrep's `LowArgs` role: every flag is defined once here, with a short help (one
//! line in `-h`) and a long help (`--help`, the man page); help, `pss-fix man` and
//! `pss-fix completions` are all generated from these definitions. Nothing here reads files:
//! the binary resolves these values into a policy (config file, namespace labels) afterwards.
//! It is a module of the binary, not of the library: clap stays out of the library's API.
//!
//! Each subcommand takes only the flags it uses: [`Selection`] (inputs and levels) is shared by
//! `fix`, `patch` and `check`; [`Remedies`] (what a fix sets) only by `fix` and `patch`.

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use pss_fix::pss::{Level, Version, NEWEST_MINOR};
use std::path::PathBuf;
use std::sync::LazyLock;

/// `--version` text: the crate version and the newest PSS version this build knows, because
/// which `--pss-version` values are accepted depends on the build.
static VERSION: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{} (Pod Security Standards v1.0 to v1.{NEWEST_MINOR})",
        env!("CARGO_PKG_VERSION")
    )
});

/// The whole command line.
#[derive(Debug, Parser)]
#[command(
    name = "pss-fix",
    about = "Fix Kubernetes manifests to meet the Pod Security Standards, keeping their formatting",
    long_about = "Fix Kubernetes manifests to meet the Pod Security Standards (PSS) and OWASP K01 \
hardening with minimal, format-preserving edits: comments, key order, quoting and indentation \
stay as they are.\n\nExit codes: 0 success; 1 findings (`check` found a violation, `fix --check` \
would change something); 2 usage or input errors (reported after every other input ran).",
    max_term_width = 100
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Fix workloads: print a unified diff, or write the files (-w), or the fixed text.
    #[command(long_about = "Fix workloads so they meet the chosen PSS level.\n\n\
By default prints a unified diff on stdout (headers `--- a/PATH` and `+++ b/PATH`, which \
`git apply` and `patch -p1` accept) and explains every change and every unfixable violation on \
stderr. --write edits the files in place, --stdout prints the fixed text of a single input \
(`pss-fix fix --stdout -` is a Helm post-renderer), --check prints nothing and exits 1 if \
anything would change.")]
    Fix(FixArgs),
    /// Print the RFC 6902 patch `fix` would apply, as JSON, one object per workload.
    #[command(long_about = "Print, as one JSON array, one object per workload: \
{\"file\", \"document\", \"pointer\", \"kind\", \"namespace\", \"name\", \"level\", \
\"version\", \"patch\", \"unfixable\"}. `patch` is the RFC 6902 patch relative to the workload \
object (the List item for a `v1 List`, whose place is `pointer`), exactly what `fix` applies.")]
    Patch(PatchArgs),
    /// Report PSS violations as PSA judges them; exit 1 if a workload violates its level.
    #[command(
        long_about = "Report PSS violations exactly as Pod Security Admission judges \
them, with FILE:LINE:COL of each offending field. Exit 1 iff a workload violates the level it is \
held to. K01 hardening gaps (readOnlyRootFilesystem, resources) are listed as their own kind of \
finding and change the exit code only with --hardening."
    )]
    Check(CheckArgs),
    /// Serve the mutating admission webhook over HTTPS.
    #[command(
        long_about = "Serve the mutating admission webhook over HTTPS: POST /mutate takes \
an AdmissionReview v1 and answers with the same patch `pss-fix patch` gives for the object; GET \
/healthz, /readyz and /metrics (Prometheus). The certificate and key files are reloaded when they \
change. Runs until SIGTERM or SIGINT, then drains. Logs are JSON lines on stderr (RUST_LOG)."
    )]
    Webhook(WebhookArgs),
    /// Run as a kustomize KRM function: ResourceList on stdin, fixed list on stdout.
    #[command(
        long_about = "Run as a kustomize KRM function (a transformer): read a \
config.kubernetes.io/v1 ResourceList on stdin and write the same list on stdout, its workload \
items fixed with the same engine as `fix` and a `results` entry per change and per violation \
left. Options (level, version, hardening, exemptions) come from `functionConfig`, with the keys \
of the config file. Any error is exit 2 with nothing on stdout."
    )]
    Krm,
    /// Fix a Helm chart's values so that every workload it renders meets the level.
    #[command(
        long_about = "Fix a Helm chart at its source, its values. Renders CHART (a \
directory, default `.`, or anything `helm template` takes) with your helm, plans every rendered \
workload as `fix` would, finds the values keys that reach the fields the plans need by rendering \
with probe values, and writes the smallest values change: by default the diff of the chart's \
values.yaml on stdout; --write edits values.yaml in place keeping its comments and layout; \
--values-out FILE writes an override file for `helm upgrade -f FILE`. The chart is then rendered \
again with the change and checked: what still fails is listed with the template file that \
writes it, for the post-renderer (`pss-fix fix --stdout -`). Exit 1 if a workload still \
violates its level, 2 if helm or the chart fails."
    )]
    Helm(HelmArgs),
    /// Print a shell completion script.
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) on stdout, or write one page per subcommand (--dir).
    Man(ManArgs),
}

/// `pss-fix man`.
#[derive(Debug, Clone, Args)]
pub struct ManArgs {
    /// The subcommand whose page to print (default: the main page).
    #[arg(value_name = "COMMAND", conflicts_with = "dir")]
    pub command: Option<String>,

    /// Write every page (pss-fix.1, pss-fix-fix.1, ...) into DIR instead.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// Options every engine command shares: which inputs, which policy.
#[derive(Debug, Clone, Args)]
pub struct Selection {
    /// Files or directories (recursive *.yaml, *.yml, *.json); `-` or none reads stdin.
    #[arg(
        value_name = "PATH",
        long_help = "Files or directories to read. Directories are walked recursively for \
*.yaml, *.yml and *.json files, honouring .gitignore and .ignore files and skipping hidden \
files; files named explicitly are read whatever their extension. `-` or no PATH reads stdin."
    )]
    pub paths: Vec<PathBuf>,

    /// Skip paths matching GLOB (gitignore syntax, also for files named; repeatable).
    #[arg(
        long,
        value_name = "GLOB",
        long_help = "Skip files and directories matching GLOB, in .gitignore syntax relative \
to the current directory (e.g. `crds/` skips every directory named crds, `/k8s/old/` only \
./k8s/old). Applied to directory walks and to files named on the command line alike (what \
pre-commit, xargs and editors pass), together with the config file's `exclude` list, whose \
patterns are relative to the config file. Repeatable."
    )]
    pub exclude: Vec<String>,

    /// The level to enforce: baseline, restricted (the default) or namespace.
    #[arg(
        long,
        value_enum,
        long_help = "The level to enforce (default: the config file's `level`, else restricted). \
`namespace` takes each workload's level and version from the pod-security.kubernetes.io/enforce \
and enforce-version labels of its Namespace, found among the Namespace documents of the inputs, \
of --namespaces and of the rest of the repository, else from the config file's `namespaces` \
map; workloads whose namespace level is still unknown are named on stderr and held to \
--default-level at --pss-version. Workloads in a `privileged` namespace are neither checked nor \
fixed."
    )]
    pub level: Option<LevelArg>,

    /// With --level namespace: the level where the Namespace does not say (default restricted).
    #[arg(
        long,
        value_enum,
        value_name = "LEVEL",
        long_help = "With --level namespace: the level of workloads whose Namespace is unknown \
or has no enforce label (default: the config file's `defaultLevel`, else restricted; PSA's own \
cluster default is privileged, but a file does not say which cluster it goes to)."
    )]
    pub default_level: Option<DefaultLevel>,

    /// With --level namespace: a file of Namespace documents to read the levels from.
    #[arg(
        long,
        value_name = "FILE",
        long_help = "With --level namespace: a YAML or JSON file (e.g. `kubectl get ns -o yaml`) \
whose Namespace documents (or v1 List items) give the pod-security labels, in addition to the \
Namespace documents among the inputs."
    )]
    pub namespaces: Option<PathBuf>,

    /// The PSS version: v1.N, or latest (the default).
    #[arg(
        long,
        value_name = "VERSION",
        value_parser = parse_version,
        long_help = "The PSS version whose rules apply: `v1.N` or `latest` (default: the config \
file's `version`, else latest). Versions newer than this build knows (see --version) are \
evaluated as the newest, as PSA does."
    )]
    pub pss_version: Option<Version>,

    /// Config file (default: the nearest .pss-fix.yaml above each input).
    #[arg(
        long,
        value_name = "FILE",
        long_help = "The config file with defaults, exemptions, excludes and namespace levels, \
for every input. Without this flag, each input uses the nearest .pss-fix.yaml found in its \
directory or above, up to the repository root (the directory holding .git), as ruff and black \
find theirs; --explain names the file used. Flags override the file."
    )]
    pub config: Option<PathBuf>,

    /// Do not add readOnlyRootFilesystem: true (K01 hardening).
    #[arg(long)]
    pub no_read_only_root_fs: bool,

    /// Do not add default resource requests and limits (K01 hardening).
    #[arg(long)]
    pub no_default_resources: bool,

    /// Say on stderr which config file applies (and, for fix, explain each change).
    #[arg(
        long,
        long_help = "Explain on stderr: which config file applies to the inputs; with `fix`, \
also each change and each unfixable violation, per workload (always on for the diff, unless \
--quiet)."
    )]
    pub explain: bool,

    /// Print no notes, explanations or summaries on stderr; errors still show.
    #[arg(short, long)]
    pub quiet: bool,
}

/// What a fix sets: options of `fix` and `patch` only.
#[derive(Debug, Clone, Args)]
pub struct Remedies {
    /// Apply only remedies that cannot change what a workload does.
    #[arg(
        long,
        long_help = "Apply only remedies tagged safe; remedies that may change what a workload \
does (e.g. running as a non-root user, dropping capabilities) are reported instead of applied."
    )]
    pub safe_only: bool,

    /// Fix what can be fixed in a workload that cannot reach its level.
    #[arg(
        long,
        long_help = "By default a workload that cannot reach its level (a hostPath volume at \
restricted, or a fix --safe-only or the Windows rules keep out) is left unchanged, and the \
report says what blocks it and which fixes were withheld: privileges removed from a workload \
that stays rejected would only break it. With --partial, every fix that can be applied is."
    )]
    pub partial: bool,

    /// The UID set with runAsNonRoot when no non-zero runAsUser is set (default 65532).
    // The API server accepts UIDs up to 2^31 - 1 (IsValidUserID), as the config file does.
    #[arg(long, value_name = "UID", value_parser = clap::value_parser!(i64).range(1..=i64::from(i32::MAX)))]
    pub run_as_user: Option<i64>,

    /// CPU request set where a container has none (default 100m).
    #[arg(long, value_name = "QUANTITY")]
    pub cpu_request: Option<String>,

    /// Memory request set where a container has none (default 128Mi).
    #[arg(long, value_name = "QUANTITY")]
    pub memory_request: Option<String>,

    /// CPU limit set where a container has none (default 500m).
    #[arg(long, value_name = "QUANTITY")]
    pub cpu_limit: Option<String>,

    /// Memory limit set where a container has none (default 512Mi).
    #[arg(long, value_name = "QUANTITY")]
    pub memory_limit: Option<String>,
}

/// `--level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LevelArg {
    Baseline,
    Restricted,
    /// Each workload's level from its Namespace's pod-security labels.
    Namespace,
}

/// `--default-level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DefaultLevel {
    /// Nothing is checked or fixed.
    Privileged,
    Baseline,
    Restricted,
}

impl DefaultLevel {
    /// The level to check, `None` for privileged.
    pub fn level(self) -> Option<Level> {
        match self {
            DefaultLevel::Privileged => None,
            DefaultLevel::Baseline => Some(Level::Baseline),
            DefaultLevel::Restricted => Some(Level::Restricted),
        }
    }
}

/// `pss-fix fix`.
#[derive(Debug, Clone, Args)]
pub struct FixArgs {
    #[command(flatten)]
    pub selection: Selection,

    #[command(flatten)]
    pub remedies: Remedies,

    /// Print a unified diff of the changes (the default).
    #[arg(
        long,
        group = "mode",
        long_help = "Print a unified diff of the changes on stdout (the default, as ruff's \
--diff): headers `--- a/PATH` and `+++ b/PATH`, which `git apply` and `patch -p1` accept. With \
--check, also exit 1 if anything would change."
    )]
    pub diff: bool,

    /// Write the fixed files in place (atomically; untouched files are not rewritten).
    #[arg(
        short,
        long,
        group = "mode",
        long_help = "Write the fixed files in place. Each file is replaced atomically (a \
temporary file in the same directory, renamed over it) with its permissions kept; a symbolic \
link is followed and its target replaced. A file with nothing to fix is not touched (its mtime \
stays). A file with any error is not written at all. Read-only files are refused."
    )]
    pub write: bool,

    /// Print the fixed text of the single input instead of a diff.
    #[arg(
        long,
        group = "mode",
        long_help = "Print the whole fixed text of the single input on stdout (unchanged text \
when nothing needs fixing). `pss-fix fix --stdout -` reads a rendered stream on stdin and so \
serves as a Helm post-renderer; on any error nothing is printed and the exit code is 2."
    )]
    pub stdout: bool,

    /// Exit 1 if anything would change; name those files on stderr, write nothing.
    #[arg(
        long,
        conflicts_with = "stdout",
        long_help = "Write nothing and print nothing on stdout; exit 1 if anything would \
change. Each file that would change is named on stderr (`would fix k8s/web.yaml (3 \
workloads)`), then a one-line summary, as black and ruff do; --quiet silences them. With \
--diff, print the diff too; with --write, write the fixes and exit 1 if any file changed (a \
pre-commit hook that fixes and fails)."
    )]
    pub check: bool,

    /// Colour the diff: auto (a terminal, unless NO_COLOR is set), always or never.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

/// `pss-fix helm`.
#[derive(Debug, Clone, Args)]
pub struct HelmArgs {
    /// The chart and the policy (PATH: the chart, default `.`; --exclude does not apply).
    #[command(flatten)]
    pub selection: Selection,

    #[command(flatten)]
    pub remedies: Remedies,

    /// A values file, as `helm -f` takes it (repeatable, in order).
    #[arg(short = 'f', long = "values", value_name = "FILE")]
    pub values: Vec<PathBuf>,

    /// A value, as `helm --set` takes it (repeatable, in order).
    #[arg(long, value_name = "KEY=VALUE")]
    pub set: Vec<String>,

    /// The release name to render with.
    #[arg(long, value_name = "NAME", default_value = "release")]
    pub release_name: String,

    /// The release namespace to render with (and whose Namespace --level namespace reads).
    #[arg(
        short = 'n',
        long = "release-namespace",
        value_name = "NS",
        default_value = "default"
    )]
    pub release_namespace: String,

    /// The helm binary, Helm 3 or 4 (default: `helm` on PATH).
    #[arg(long, value_name = "BIN", default_value = "helm")]
    pub helm: PathBuf,

    /// Edit the chart's values.yaml in place (comments and layout kept).
    #[arg(short, long, group = "helm_mode")]
    pub write: bool,

    /// Write the change as an override values file, for `helm upgrade -f FILE`.
    #[arg(long, value_name = "FILE", group = "helm_mode")]
    pub values_out: Option<PathBuf>,
}

/// `pss-fix webhook`.
#[derive(Debug, Clone, Args)]
pub struct WebhookArgs {
    /// Address to listen on, e.g. 0.0.0.0:8443.
    #[arg(long, value_name = "ADDR")]
    pub listen: std::net::SocketAddr,

    /// PEM certificate chain served to the API server (reloaded on change).
    #[arg(long, value_name = "FILE")]
    pub tls_cert: PathBuf,

    /// PEM private key of the certificate (reloaded on change).
    #[arg(long, value_name = "FILE")]
    pub tls_key: PathBuf,

    /// Config file: level (or `namespace`), version, hardening, exemptions, enforce.
    /// Without one, kube-system and kube-node-lease are still skipped.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Require a client certificate signed by this CA (PEM) on ADDR.
    #[arg(
        long,
        value_name = "FILE",
        long_help = "Require and verify a client certificate signed by this CA (PEM) on \
            --listen. The API server presents one when its admission configuration names a \
            kubeconfig with a client certificate for this webhook. Kubelet probes carry no \
            certificate: serve them with --metrics-listen."
    )]
    pub client_ca: Option<PathBuf>,

    /// Serve /healthz, /readyz and /metrics on this address (plain HTTP) instead of ADDR.
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<std::net::SocketAddr>,

    /// Deadline of a whole /mutate request; a review still running then is abandoned.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "8s")]
    pub request_timeout: std::time::Duration,

    /// After SIGTERM, keep serving this long with /readyz failing, then close.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "5s")]
    pub shutdown_delay: std::time::Duration,

    /// Close a connection that sends no request for this long after it opens.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "5s")]
    pub first_request_timeout: std::time::Duration,

    /// Close a connection idle (no request in progress) for this long.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "90s")]
    pub idle_timeout: std::time::Duration,

    /// HTTP/2 PING interval; a PING unanswered for as long closes the connection.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "20s")]
    pub http2_keep_alive: std::time::Duration,

    /// Open connections at most; more are closed at accept, logged and counted.
    #[arg(long, value_name = "N", default_value_t = 512)]
    pub max_connections: usize,

    /// Largest request body in bytes (default 3 MiB + 64 KiB: the API server's own limit on
    /// an object, plus the review's fields).
    #[arg(long, value_name = "BYTES", default_value_t = 3 * 1024 * 1024 + 64 * 1024)]
    pub max_body_bytes: usize,

    /// Request body bytes held at once; over it requests are refused with 503.
    #[arg(long, value_name = "BYTES", default_value_t = 32 * 1024 * 1024)]
    pub max_bytes_in_flight: usize,

    /// /mutate requests in progress at once; over it requests are refused with 503.
    #[arg(long, value_name = "N", default_value_t = 256)]
    pub max_requests_in_flight: usize,

    /// Largest patch (its JSON, in bytes) sent back; a larger one is not applied, with a
    /// warning.
    #[arg(long, value_name = "BYTES", default_value_t = 3 * 1024 * 1024)]
    pub max_patch_bytes: usize,
    /// Most JSON values (every scalar, list and map counts one) in a request's object and
    /// oldObject; a larger object is not reviewed: admitted unchanged with a warning (denied
    /// with `enforce`). Bounds the memory of parsing it.
    #[arg(long, value_name = "N", default_value_t = 50_000)]
    pub max_object_values: usize,
    /// Most containers (of the three lists) in a reviewed pod; more: as --max-object-values.
    /// Bounds the memory of planning it.
    #[arg(long, value_name = "N", default_value_t = 1_000)]
    pub max_containers: usize,
}

/// A duration as `500ms`, `5s` or `2m`.
fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let (number, unit) = text
        .find(|c: char| !c.is_ascii_digit())
        .map_or((text, ""), |at| text.split_at(at));
    let value: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 500ms, 5s or 2m"))?;
    match unit {
        "ms" => Ok(std::time::Duration::from_millis(value)),
        "s" => Ok(std::time::Duration::from_secs(value)),
        "m" => Ok(std::time::Duration::from_secs(value * 60)),
        _ => Err(format!("`{text}` is not a duration like 500ms, 5s or 2m")),
    }
}

/// `pss-fix patch`.
#[derive(Debug, Clone, Args)]
pub struct PatchArgs {
    #[command(flatten)]
    pub selection: Selection,

    #[command(flatten)]
    pub remedies: Remedies,
}

/// `pss-fix check`.
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub selection: Selection,

    /// Output format: text, json or sarif (SARIF 2.1.0, for GitHub code scanning).
    #[arg(short, long, value_enum, value_name = "FORMAT", default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,

    /// Count K01 hardening gaps as findings (exit 1), not only list them.
    #[arg(long)]
    pub hardening: bool,
}

/// `check --output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
    Sarif,
}

/// `fix --color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// The clap command with the version line filled in; help, completions and the man page all
/// come from this one definition.
pub fn command() -> clap::Command {
    Cli::command().version(VERSION.as_str())
}

/// Parses `v1.N` or `latest`, quoting the value when it is neither.
fn parse_version(text: &str) -> Result<Version, String> {
    text.parse()
        .map_err(|error: pss_fix::pss::ParseError| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::FromArgMatches;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        let matches = command().try_get_matches_from(args)?;
        Cli::from_arg_matches(&matches)
    }

    #[test]
    fn definitions_are_consistent() {
        command().debug_assert();
    }

    #[test]
    fn version_names_the_newest_pss_version() {
        let version = command().render_version();
        assert!(version.contains(&format!("v1.{NEWEST_MINOR}")), "{version}");
    }

    #[test]
    fn pss_version_accepts_minor_and_latest() {
        assert_eq!(parse_version("v1.25"), Ok(Version::Minor(25)));
        assert_eq!(parse_version("latest"), Ok(Version::Latest));
        assert!(parse_version("1.25").is_err());
        assert!(parse_version("v2.0").is_err());
    }

    #[test]
    fn fix_modes_exclude_each_other() {
        assert!(parse(&["pss-fix", "fix", "--write", "--stdout", "a.yaml"]).is_err());
        assert!(parse(&["pss-fix", "fix", "--check", "--stdout"]).is_err());
        assert!(parse(&["pss-fix", "fix", "--check", "-w"]).is_ok());
        assert!(parse(&["pss-fix", "fix", "--diff", "-w"]).is_err());
        assert!(parse(&["pss-fix", "fix", "--diff", "--check"]).is_ok());
    }

    #[test]
    fn output_has_a_short_form() {
        let Command::Check(args) = parse(&["pss-fix", "check", "-o", "sarif"])
            .expect("parses")
            .command
        else {
            panic!("not check")
        };
        assert_eq!(args.output, OutputFormat::Sarif);
    }

    /// `check --help` lists only what `check` uses (issue 17).
    #[test]
    fn each_subcommand_has_only_its_own_flags() {
        let help = |name: &str| {
            let mut command = command();
            command
                .find_subcommand_mut(name)
                .expect("subcommand")
                .render_long_help()
                .to_string()
        };
        let check = help("check");
        for fix_only in [
            "--write",
            "--run-as-user",
            "--safe-only",
            "--cpu-limit",
            "--color",
        ] {
            assert!(!check.contains(fix_only), "{fix_only} in check --help");
        }
        assert!(check.contains("--hardening") && check.contains("--output"));
        let patch = help("patch");
        assert!(patch.contains("--run-as-user") && !patch.contains("--write"));
        assert!(!patch.contains("--output"));
        let fix = help("fix");
        assert!(fix.contains("--diff") && !fix.contains("--hardening"));
    }

    #[test]
    fn selection_defaults() {
        let cli = parse(&["pss-fix", "check"]).expect("parses");
        let Command::Check(args) = cli.command else {
            panic!("not check")
        };
        assert_eq!(args.selection.level, None);
        assert_eq!(args.selection.pss_version, None);
        assert!(args.selection.paths.is_empty());
        assert_eq!(args.output, OutputFormat::Text);
    }

    #[test]
    fn run_as_user_rejects_root_and_what_the_api_server_refuses() {
        assert!(parse(&["pss-fix", "fix", "--run-as-user", "0"]).is_err());
        assert!(parse(&["pss-fix", "fix", "--run-as-user", "1000"]).is_ok());
        assert!(parse(&["pss-fix", "fix", "--run-as-user", "2147483647"]).is_ok());
        assert!(parse(&["pss-fix", "fix", "--run-as-user", "2147483648"]).is_err());
    }
}
