//! Helpers for the CLI integration tests (ripgrep's `Dir` and `TestCommand`): a fresh temporary
//! directory to build inputs in, the real binary run inside it, and the crate's own parser to
//! compare documents by value.

#![allow(dead_code)]

pub mod e2e;
pub mod support;
pub mod tools;
pub mod webhook;

use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};

/// A Deployment that meets restricted and has the K01 hardening: nothing to fix or report.
pub const COMPLIANT: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ok
  namespace: shop
spec:
  selector:
    matchLabels:
      app: ok
  template:
    metadata:
      labels:
        app: ok
    spec:
      securityContext:
        runAsNonRoot: true
        runAsUser: 1000
        seccompProfile:
          type: RuntimeDefault
      containers:
        - name: app
          image: example/app:1
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities:
              drop: [\"ALL\"]
          resources:
            requests: {cpu: 100m, memory: 64Mi}
            limits: {cpu: 200m, memory: 128Mi}
";

/// A Deployment that meets baseline but not restricted (no securityContext at all).
pub const BASELINE_ONLY: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: plain
  namespace: shop
spec:
  selector:
    matchLabels:
      app: plain
  template:
    metadata:
      labels:
        app: plain
    spec:
      containers:
        - name: app  # the only container
          image: example/app:1
";

/// A Pod that violates baseline with a host port (fixable) and a hostPath volume (not).
pub const PRIVILEGED_POD: &str = "\
apiVersion: v1
kind: Pod
metadata:
  name: agent
spec:
  hostNetwork: true
  containers:
    - name: agent
      image: example/agent:1
      securityContext:
        privileged: true
      volumeMounts:
        - name: root
          mountPath: /host
  volumes:
    - name: root
      hostPath:
        path: /
";

/// A temporary directory to build inputs in; removed when dropped.
pub struct Dir {
    dir: tempfile::TempDir,
}

impl Dir {
    pub fn new() -> Dir {
        Dir {
            dir: tempfile::tempdir().expect("a temporary directory"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `text` at `relative` (directories created), returning the full path.
    pub fn write(&self, relative: &str, text: impl AsRef<[u8]>) -> PathBuf {
        let path = self.dir.path().join(relative);
        fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        fs::write(&path, text).expect("write");
        path
    }

    pub fn read(&self, relative: &str) -> String {
        fs::read_to_string(self.dir.path().join(relative)).expect("read")
    }

    /// Copies the repository's `examples/shop` into `shop/`.
    pub fn copy_examples(&self) {
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/shop");
        for entry in fs::read_dir(source).expect("examples/shop") {
            let entry = entry.expect("entry");
            let name = entry.file_name();
            let text = fs::read(entry.path()).expect("read example");
            self.write(&format!("shop/{}", name.to_string_lossy()), text);
        }
    }

    /// The binary, run in this directory, with no colour and no terminal.
    pub fn command(&self, args: &[&str]) -> assert_cmd::Command {
        let mut command = assert_cmd::Command::new(env!("CARGO_BIN_EXE_pss-fix"));
        command
            .current_dir(self.path())
            .args(args)
            .env_remove("NO_COLOR");
        command
    }
}

/// Every document of a YAML stream, as Kubernetes reads it.
pub fn documents(text: &str) -> Vec<Value> {
    pss_fix::yaml::Stream::parse(text)
        .expect("valid YAML")
        .documents()
        .iter()
        .map(|document| document.value().clone())
        .collect()
}

/// stdout of a finished command as text.
pub fn stdout(output: &std::process::Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("UTF-8 stdout")
}

/// stderr of a finished command as text.
pub fn stderr(output: &std::process::Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("UTF-8 stderr")
}

/// Copies the directory tree `from` to `to`.
pub fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for entry in fs::read_dir(from).expect("a readable tree") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}
