//! Peak memory follows the largest input file (DESIGN.md: under 10x of it): `check` and `fix
//! --check` of one generated manifest of many documents, at two sizes, measured as the child's
//! own peak RSS (its high-water mark). The growth between the sizes is what the input costs; the rest is
//! the process's fixed footprint. Asserted with a margin over what a debug build measures on
//! this mix, which is dense in findings (most workloads break several controls): about 9 bytes
//! per input byte for both. On the benchmark's 50 MB file (release) peak RSS is 7.2x the file
//! for `check` and 6.5x for `fix --check`, 20x and 22x before reports kept only what their
//! output reads.

use crate::util::webhook::peak_rss_kib;
use std::path::Path;
use std::process::Command;

/// Workloads of four shapes (compliant, privileged, hostNetwork, added capabilities) until
/// `bytes`, one per document.
fn manifest(bytes: usize) -> String {
    let mut text = String::with_capacity(bytes + 1024);
    let mut index = 0;
    while text.len() < bytes {
        let body = match index % 4 {
            0 => crate::util::COMPLIANT.to_owned(),
            1 => crate::util::PRIVILEGED_POD.to_owned(),
            2 => format!(
                "apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: agent-{index}\nspec:\n  selector:\n    matchLabels: {{app: agent}}\n  template:\n    metadata:\n      labels: {{app: agent}}\n    spec:\n      hostNetwork: true\n      containers:\n      - name: agent\n        image: example/agent:{index}  # pinned\n        ports:\n        - containerPort: 9100\n"
            ),
            _ => format!(
                "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: job-{index}\nspec:\n  schedule: \"0 * * * *\"\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: OnFailure\n          containers:\n          - name: job\n            image: example/job:{index}\n            securityContext:\n              capabilities:\n                add: [NET_ADMIN]\n"
            ),
        };
        text.push_str(&body);
        text.push_str("---\n");
        index += 1;
    }
    text
}

/// The peak RSS of `pss-fix ARGS FILE`, in bytes: its high-water mark, read from /proc until
/// it exits (the mark only rises, and the run ends writing what it holds at its peak).
fn peak_rss(args: &[&str], file: &Path) -> u64 {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pss-fix"))
        .args(args)
        .arg(file)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut peak_kib = 0;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            // Exit 1: findings (the manifest is meant to have them).
            assert_eq!(status.code(), Some(1));
            return peak_kib * 1024;
        }
        peak_kib = peak_kib.max(peak_rss_kib(child.id()).unwrap_or(0));
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

#[test]
fn peak_memory_follows_the_input() {
    let dir = tempfile::tempdir().unwrap();
    let (small, large) = (2_000_000, 5_000_000);
    let (small_file, large_file) = (dir.path().join("small.yaml"), dir.path().join("large.yaml"));
    std::fs::write(&small_file, manifest(small)).unwrap();
    std::fs::write(&large_file, manifest(large)).unwrap();
    for args in [&["check"][..], &["fix", "--check"][..]] {
        let growth = peak_rss(args, &large_file).saturating_sub(peak_rss(args, &small_file));
        let per_input_byte = growth as f64 / (large - small) as f64;
        eprintln!("{args:?}: peak RSS grew {per_input_byte:.1} bytes per input byte");
        assert!(
            per_input_byte < 12.0,
            "{args:?}: peak RSS grew {per_input_byte:.1} bytes per input byte"
        );
    }
}
