//! `pss-fix webhook`, the real binary: it starts from its flags, answers over HTTPS with the
//! same patch `pss-fix patch` prints for the same object (I6 across the two shells), stops
//! cleanly on SIGTERM, and a bad certificate path is exit 2 with one error line.

use crate::util::free_port;
use crate::util::webhook as webhook_util;

use serde_json::Value;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use webhook_util::{admission_review, client_trusting, decoded_patch, realistic_deployment, Pki};

/// The binary serving in the background; killed if a test fails before stopping it.
struct Served {
    child: Child,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn webhook_subcommand_serves_the_same_patch_as_the_patch_subcommand() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pki = Pki::generate();
    let (cert, key) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    pki.install(&cert, &key);
    let config = dir.path().join("config.yaml");
    std::fs::write(&config, "level: restricted\n").expect("write");
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_pss-fix"))
        .args(["webhook", "--listen", &listen, "--tls-cert"])
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .arg("--config")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawns");
    let mut served = Served { child };
    let client = client_trusting(&pki.ca_pem);
    let url = |path: &str| format!("https://localhost:{port}{path}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match client.get(url("/healthz")).send().await {
            Ok(response) if response.status().is_success() => break,
            _ if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(50)).await,
            other => panic!("the webhook did not come up: {other:?}"),
        }
    }

    let deployment = realistic_deployment();
    let review: Value = client
        .post(url("/mutate"))
        .json(&admission_review("CREATE", &deployment, None))
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("JSON");
    let served_patch = serde_json::to_value(decoded_patch(&review)).expect("serialises");

    let printed = assert_cmd::Command::new(env!("CARGO_BIN_EXE_pss-fix"))
        .args(["patch", "--config"])
        .arg(&config)
        .write_stdin(serde_json::to_string_pretty(&deployment).expect("serialises"))
        .output()
        .expect("runs");
    assert_eq!(printed.status.code(), Some(0));
    let entries: Vec<Value> = serde_json::from_slice(&printed.stdout).expect("JSON array");
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["patch"], served_patch);
    assert!(!served_patch.as_array().expect("array").is_empty());

    let pid = served.child.id().to_string();
    let signalled = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    assert!(signalled.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = served.child.try_wait().expect("waits") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the webhook did not stop on SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status.code(), Some(0));
}

#[test]
fn webhook_subcommand_reports_a_missing_certificate() {
    let dir = tempfile::tempdir().expect("temp dir");
    let listen = format!("127.0.0.1:{}", free_port());
    let output = assert_cmd::Command::new(env!("CARGO_BIN_EXE_pss-fix"))
        .args(["webhook", "--listen", &listen, "--tls-cert"])
        .arg(dir.path().join("missing.crt"))
        .arg("--tls-key")
        .arg(dir.path().join("missing.key"))
        .timeout(Duration::from_secs(30))
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let errors = String::from_utf8_lossy(&output.stderr);
    assert!(errors.contains("pss-fix: webhook: "), "{errors}");
    assert!(errors.contains("missing.crt"), "{errors}");
}
