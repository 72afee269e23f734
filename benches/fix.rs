//! Throughput of `fix`, side by side with yaml-rust2's bare parse of the same bytes, and the
//! release binary's wall time and peak memory over whole trees (`harness = false`).
//!
//! Inputs: `../shared/corpus/` (skipped with a note when absent) and a generated tree of
//! 10,000 workloads (2,000 files of five documents each, with comments, several kinds and
//! violations to fix), plus the same tree doubled, to show that peak memory follows the largest
//! file and not the tree.
//!
//! In-process numbers are single-threaded, like the parse baseline: the engine
//! (`Manifest::process`, parse + check + plan + edit + I2 verification) against yaml-rust2's
//! event parser with a no-op receiver (the "bare parse"), and its `YamlLoader` (parse into
//! documents, the least a tool that reads values does). The engine and the bare parse run in
//! alternating rounds and each reports its median, so that drift in the machine's speed (a
//! shared VM) slows both alike. The engine's time is broken down by also timing
//! `Manifest::process` without editing and `pss_fix::yaml::Stream::parse` alone. Binary numbers
//! come from `pss-fix fix --check` under `/usr/bin/time -v` (all cores; skipped when `time` is
//! absent).
//!
//! Peak memory against the largest input: `check` and `fix --check` on one generated file of
//! [`LARGE_FILE_BYTES`] (many documents), as a multiple of the file's size.
//!
//! `PSS_FIX_BEFORE=/path/to/an/older/pss-fix` times that binary too, in the same run, beside
//! this one, for before/after rows.
//!
//! Run: `cargo bench --bench fix` (release profile). The machine may be shared: the load
//! average is printed with the results.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a harness = false benchmark reports on the terminal"
)]

use pss_fix::config::Config;
use pss_fix::manifest::{Keep, Manifest, Policies};
use pss_fix::pss::{Level, Version};
use std::fs;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// The binary's allocator, so that in-process numbers (engine and baseline alike) are the
/// binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Size of the one large generated file that peak memory is measured against.
const LARGE_FILE_BYTES: usize = 50_000_000;
/// Workloads in the generated tree.
const GENERATED_WORKLOADS: usize = 10_000;
/// Documents per generated file.
const DOCUMENTS_PER_FILE: usize = 5;
/// Each measurement is repeated until it has run at least this long.
const MIN_MEASURE: Duration = Duration::from_secs(2);
/// The engine and the bare parse are measured in this many alternating rounds, of at least
/// [`ROUND`] each.
const ROUNDS: usize = 7;
const ROUND: Duration = Duration::from_millis(500);

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported, nothing to parse.
    println!("load average: {}", load_average());
    let policies = Policies::fixed(Level::Restricted, Version::Latest, Config::default());

    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    if corpus.is_dir() {
        let files = read_tree(&corpus);
        in_process("shared/corpus", &files, &policies);
        binary("shared/corpus", &corpus);
    } else {
        println!("shared/corpus: absent, skipped");
    }

    let tree = tempfile::tempdir().expect("a temporary directory");
    let single = tree.path().join("single");
    let files = generate(&single, GENERATED_WORKLOADS / DOCUMENTS_PER_FILE, 0);
    in_process("generated 10,000 workloads", &files, &policies);
    binary("generated 10,000 workloads", &single);
    let double = tree.path().join("double");
    generate(&double, GENERATED_WORKLOADS / DOCUMENTS_PER_FILE, 0);
    generate(&double, GENERATED_WORKLOADS / DOCUMENTS_PER_FILE, 1);
    binary("generated 20,000 workloads (same largest file)", &double);

    let large = tree.path().join("large");
    fs::create_dir_all(&large).expect("mkdir");
    let mut text = String::new();
    let mut index = 0;
    while text.len() < LARGE_FILE_BYTES {
        text.push_str(&workload(index));
        text.push_str("---\n");
        index += 1;
    }
    fs::write(large.join("all.yaml"), &text).expect("write");
    for args in [&["check"][..], &["fix", "--check"][..]] {
        binary_with(
            &format!("one {} MB file", text.len() / 1_000_000),
            &large,
            args,
        );
    }
}

/// The engine and the bare parse over the same texts, single-threaded.
fn in_process(label: &str, files: &[String], policies: &Policies) {
    let bytes: usize = files.iter().map(String::len).sum();
    let mut workloads = 0;
    let mut errors = 0;
    let mut parse_errors = 0;
    let mut engine_rounds = Vec::new();
    let mut parse_rounds = Vec::new();
    for _ in 0..ROUNDS {
        engine_rounds.push(measure(ROUND, || {
            workloads = 0;
            errors = 0;
            for text in files {
                match Manifest::process(text, policies, Keep::FixedText) {
                    Ok(manifest) => {
                        workloads += manifest.workloads.len();
                        black_box(manifest.fixed);
                    }
                    Err(_) => errors += 1,
                }
            }
        }));
        parse_rounds.push(measure(ROUND, || {
            parse_errors = 0;
            for text in files {
                let mut sink = Sink(0);
                if Parser::new_from_str(text).load(&mut sink, true).is_err() {
                    parse_errors += 1;
                }
                black_box(sink.0);
            }
        }));
    }
    let engine = median(engine_rounds);
    let parse = median(parse_rounds);
    let judge = measure(MIN_MEASURE, || {
        for text in files {
            black_box(Manifest::process(text, policies, Keep::Findings).ok());
        }
    });
    let editor_parse = measure(MIN_MEASURE, || {
        for text in files {
            black_box(pss_fix::yaml::Stream::parse(text).ok());
        }
    });
    let load = measure(MIN_MEASURE, || {
        for text in files {
            black_box(yaml_rust2::YamlLoader::load_from_str(text).ok());
        }
    });
    let megabytes = bytes as f64 / 1e6;
    println!(
        "{label}: {} files, {:.2} MB, {workloads} workloads, {errors} files refused (yaml-rust2 rejects {parse_errors})",
        files.len(),
        megabytes
    );
    println!(
        "  fix (engine, 1 thread):      {:8.2} MB/s  {:10.0} workloads/s",
        megabytes / engine.as_secs_f64(),
        workloads as f64 / engine.as_secs_f64()
    );
    println!(
        "    of which parse + check + plan, no edit ({:.2} MB/s), our parse alone ({:.2} MB/s)",
        megabytes / judge.as_secs_f64(),
        megabytes / editor_parse.as_secs_f64()
    );
    println!(
        "  yaml-rust2 0.13 bare parse:  {:8.2} MB/s  ({:.0}% of it for fix)",
        megabytes / parse.as_secs_f64(),
        100.0 * parse.as_secs_f64() / engine.as_secs_f64()
    );
    println!(
        "  yaml-rust2 0.13 load (parse into documents): {:8.2} MB/s  ({:.0}% of it for fix)",
        megabytes / load.as_secs_f64(),
        100.0 * load.as_secs_f64() / engine.as_secs_f64()
    );
}

/// Mean time of one run of `work`, repeated for at least `least` after a warm-up.
fn measure(least: Duration, mut work: impl FnMut()) -> Duration {
    work();
    let start = Instant::now();
    let mut runs = 0;
    while start.elapsed() < least {
        work();
        runs += 1;
    }
    start.elapsed() / runs
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// The release binary over a whole tree: wall time and peak memory of `fix --check`.
fn binary(label: &str, tree: &Path) {
    binary_with(label, tree, &["fix", "--check"]);
}

/// The release binary (and `PSS_FIX_BEFORE`, when set) running `args` over a tree: wall time,
/// peak memory, and peak memory as a multiple of the largest file.
fn binary_with(label: &str, tree: &Path, args: &[&str]) {
    let time = Path::new("/usr/bin/time");
    if !time.exists() {
        println!("  binary: /usr/bin/time absent, skipped");
        return;
    }
    let mut binaries = vec![("this build", PathBuf::from(env!("CARGO_BIN_EXE_pss-fix")))];
    if let Some(before) = std::env::var_os("PSS_FIX_BEFORE") {
        binaries.push(("PSS_FIX_BEFORE", PathBuf::from(before)));
    }
    for (name, binary) in binaries {
        run_binary(label, tree, args, name, &binary);
    }
}

fn run_binary(label: &str, tree: &Path, args: &[&str], name: &str, binary: &Path) {
    let output = Command::new("/usr/bin/time")
        .arg("-v")
        .arg(binary)
        .args(args)
        .arg(tree)
        .output()
        .expect("the binary runs");
    let report = String::from_utf8_lossy(&output.stderr);
    let field = |name: &str| {
        report
            .lines()
            .find_map(|line| line.trim().strip_prefix(name))
            .map(|value| value.trim().to_owned())
            .unwrap_or_else(|| "?".to_owned())
    };
    let largest = largest_file(tree);
    let wall = field("Elapsed (wall clock) time (h:mm:ss or m:ss):");
    // `m:ss.ss` (or `h:mm:ss`): seconds, for the throughput over the tree's bytes.
    let seconds = wall.split(':').try_fold(0.0, |total, part| {
        part.parse::<f64>().map(|part| total * 60.0 + part)
    });
    let throughput = seconds
        .map(|seconds| format!("{:.1} MB/s", tree_bytes(tree) as f64 / 1e6 / seconds))
        .unwrap_or_else(|_| "?".to_owned());
    let peak = field("Maximum resident set size (kbytes):");
    let ratio = peak
        .parse::<f64>()
        .map(|kilobytes| format!("{:.1}x", kilobytes * 1024.0 / largest as f64))
        .unwrap_or_else(|_| "?".to_owned());
    println!(
        "  {name} `{}` on {label}: exit {:?}, wall {wall} ({throughput}), peak RSS {peak} kB ({ratio} the largest file, {} kB)",
        args.join(" "),
        output.status.code(),
        largest / 1000
    );
}

/// Counts events, so the parser cannot be optimised away.
struct Sink(usize);

impl MarkedEventReceiver for Sink {
    fn on_event(&mut self, event: Event, _mark: Marker) {
        black_box(&event);
        self.0 += 1;
    }
}

fn read_tree(root: &Path) -> Vec<String> {
    let mut paths = Vec::new();
    collect(root, &mut paths);
    paths.sort();
    paths
        .iter()
        .filter_map(|path| fs::read_to_string(path).ok())
        .collect()
}

fn collect(dir: &Path, paths: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("a readable directory").flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, paths);
        } else if path
            .extension()
            .is_some_and(|extension| ["yaml", "yml", "json"].iter().any(|e| extension == *e))
        {
            paths.push(path);
        }
    }
}

fn tree_bytes(root: &Path) -> u64 {
    let mut paths = Vec::new();
    collect(root, &mut paths);
    paths
        .iter()
        .filter_map(|path| fs::metadata(path).ok())
        .map(|metadata| metadata.len())
        .sum()
}

fn largest_file(root: &Path) -> u64 {
    let mut paths = Vec::new();
    collect(root, &mut paths);
    paths
        .iter()
        .filter_map(|path| fs::metadata(path).ok())
        .map(|metadata| metadata.len())
        .max()
        .unwrap_or(0)
}

/// Writes `files` files of [`DOCUMENTS_PER_FILE`] workloads under `dir` (`batch` keeps names
/// apart when called twice); returns their texts.
fn generate(dir: &Path, files: usize, batch: usize) -> Vec<String> {
    fs::create_dir_all(dir).expect("mkdir");
    (0..files)
        .map(|index| {
            let text: Vec<String> = (0..DOCUMENTS_PER_FILE)
                .map(|document| workload(index * DOCUMENTS_PER_FILE + document))
                .collect();
            let text = text.join("---\n");
            let sub = dir.join(format!("team{:02}", index % 50));
            fs::create_dir_all(&sub).expect("mkdir");
            fs::write(sub.join(format!("app-{batch}-{index:05}.yaml")), &text).expect("write");
            text
        })
        .collect()
}

/// One workload, varied by `index`: kind, indentation, comments and what needs fixing.
fn workload(index: usize) -> String {
    let name = format!("svc-{index}");
    match index % 4 {
        0 => format!(
            "# {name}: front end\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  labels:\n    app: {name}  # selector\nspec:\n  replicas: 2\n  selector:\n    matchLabels:\n      app: {name}\n  template:\n    metadata:\n      labels:\n        app: {name}\n    spec:\n      containers:\n        - name: app\n          image: example/{name}:1.{index}\n          ports:\n            - containerPort: 8080\n          env:\n            - name: MODE\n              value: \"production\"\n"
        ),
        1 => format!(
            "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: {name}\nspec:\n  serviceName: {name}\n  selector:\n    matchLabels: {{app: {name}}}\n  template:\n    metadata:\n      labels: {{app: {name}}}\n    spec:\n      hostNetwork: true\n      containers:\n      - name: db\n        image: example/db:{index}\n        securityContext:\n          privileged: true   # legacy\n        volumeMounts:\n        - name: data\n          mountPath: /data\n  volumeClaimTemplates:\n  - metadata:\n      name: data\n    spec:\n      accessModes: [ReadWriteOnce]\n      resources:\n        requests:\n          storage: 1Gi\n"
        ),
        2 => format!(
            "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: {name}\nspec:\n  schedule: \"0 * * * *\"\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: OnFailure\n          containers:\n          - name: job\n            image: example/job:{index}\n            args: [\"--once\"]\n            securityContext:\n              capabilities:\n                add: [NET_ADMIN]\n"
        ),
        _ => format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  selector:\n    matchLabels:\n      app: {name}\n  template:\n    metadata:\n      labels:\n        app: {name}\n    spec:\n      securityContext:\n        runAsNonRoot: true\n        runAsUser: 1000\n        seccompProfile:\n          type: RuntimeDefault\n      containers:\n        - name: app\n          image: example/{name}:1\n          securityContext:\n            allowPrivilegeEscalation: false\n            readOnlyRootFilesystem: true\n            capabilities:\n              drop: [\"ALL\"]\n          resources:\n            requests: {{cpu: 100m, memory: 64Mi}}\n            limits: {{cpu: 200m, memory: 128Mi}}\n"
        ),
    }
}

fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".to_owned())
}
