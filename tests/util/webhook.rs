//! Shared by the webhook integration tests: certificates from rcgen, the real server started
//! in-process on a loopback port, an HTTPS client that trusts only the test CA, and
//! AdmissionReview fixtures for the nine workload kinds.
// Each test binary uses its own subset; helpers outside #[test] fns unwrap like tests do.
#![allow(dead_code, clippy::unwrap_used)]

use pss_fix::config::Config;
use pss_fix::webhook::{self, Limits, ServeOptions};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A CA and a serving certificate for `127.0.0.1` and `localhost` signed by it, as PEM.
pub struct Pki {
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
}

impl Pki {
    pub fn generate() -> Pki {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let key = KeyPair::generate().unwrap();
        let params =
            CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
        let cert = params.signed_by(&key, &ca).unwrap();
        Pki {
            ca_pem: ca.pem(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }

    /// Writes key then certificate, each by rename, as the kubelet swaps a secret volume.
    pub fn install(&self, cert: &Path, key: &Path) {
        for (path, pem) in [(key, &self.key_pem), (cert, &self.cert_pem)] {
            let staging = path.with_extension("tmp");
            std::fs::write(&staging, pem).unwrap();
            std::fs::rename(&staging, path).unwrap();
        }
    }
}

/// The webhook running on a loopback port of the test's runtime.
pub struct TestServer {
    pub addr: SocketAddr,
    pub pki: Pki,
    pub cert: PathBuf,
    pub key: PathBuf,
    _dir: tempfile::TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), webhook::Error>>,
}

/// Limits short enough for tests of the timeouts, everything else at its default.
pub fn test_limits() -> Limits {
    Limits {
        first_request_timeout: Duration::from_millis(300),
        request_timeout: Duration::from_millis(500),
        tls_reload_interval: Duration::from_millis(50),
        shutdown_delay: Duration::ZERO,
        shutdown_grace: Duration::from_secs(5),
        ..Limits::default()
    }
}

impl TestServer {
    pub async fn start(config: Config) -> TestServer {
        TestServer::start_with(config, |_| {}).await
    }

    /// Starts with `adjust` applied to the options, waits until `/healthz` answers.
    pub async fn start_with(config: Config, adjust: impl FnOnce(&mut ServeOptions)) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("tls.crt");
        let key = dir.path().join("tls.key");
        let pki = Pki::generate();
        pki.install(&cert, &key);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mut options = ServeOptions::new(addr, cert.clone(), key.clone(), config);
        options.limits = test_limits();
        adjust(&mut options);
        let (shutdown, signal) = oneshot::channel::<()>();
        let task = tokio::spawn(webhook::serve_with(options, listener, async move {
            let _ = signal.await;
        }));
        let server = TestServer {
            addr,
            pki,
            cert,
            key,
            _dir: dir,
            shutdown: Some(shutdown),
            task,
        };
        let client = server.client();
        for _ in 0..200 {
            if client.get(server.url("/healthz")).send().await.is_ok() {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("server did not come up on {addr}");
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://{}{path}", self.addr)
    }

    /// A client trusting only this server's CA (so the certificate really is verified).
    pub fn client(&self) -> reqwest::Client {
        client_trusting(&self.pki.ca_pem)
    }

    /// POSTs `body` to `/mutate`; the status and the raw response bytes.
    pub async fn post(&self, body: impl Into<reqwest::Body>) -> (u16, Vec<u8>) {
        let response = self
            .client()
            .post(self.url("/mutate"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.bytes().await.unwrap().to_vec())
    }

    /// POSTs an AdmissionReview and parses the answer.
    pub async fn review(&self, review: &Value) -> (u16, Value) {
        let (status, bytes) = self.post(serde_json::to_vec(review).unwrap()).await;
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    pub async fn metrics(&self) -> String {
        self.client()
            .get(self.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Starts the graceful shutdown (what SIGTERM does) without waiting for it.
    pub fn begin_shutdown(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }

    /// Signals shutdown and waits for the server to return.
    pub async fn stop(mut self) -> Result<(), webhook::Error> {
        self.begin_shutdown();
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("server should stop within its grace period")
            .unwrap()
    }
}

pub fn client_trusting(ca_pem: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap())
        .build()
        .unwrap()
}

pub const UID: &str = "b2c1c6f0-3f5e-4c69-9d55-2f1d1e8a7c01";

/// An AdmissionReview v1 request as the API server sends it.
pub fn admission_review(operation: &str, object: &Value, old_object: Option<&Value>) -> Value {
    let kind = object["kind"].as_str().unwrap_or_default();
    let api_version = object["apiVersion"].as_str().unwrap_or("v1");
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": UID,
            "kind": {"group": group, "version": version, "kind": kind},
            "resource": {"group": group, "version": version, "resource": format!("{}s", kind.to_lowercase())},
            "requestKind": {"group": group, "version": version, "kind": kind},
            "namespace": object["metadata"]["namespace"].as_str().unwrap_or("team-a"),
            "name": object["metadata"]["name"],
            "operation": operation,
            "userInfo": {"username": "admin", "groups": ["system:authenticated"]},
            "object": object,
            "oldObject": old_object.cloned().unwrap_or(Value::Null),
            "dryRun": false,
            "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"}
        }
    })
}

/// A pod spec with nothing set, plus a field no Kubernetes version knows (it must survive).
pub fn bare_pod_spec() -> Value {
    json!({
        "containers": [{
            "name": "app",
            "image": "registry.example/app:1.2.3",
            "ports": [{"containerPort": 8080}],
            "futureField": {"kept": true}
        }]
    })
}

fn template() -> Value {
    json!({"metadata": {"labels": {"app": "web"}}, "spec": bare_pod_spec()})
}

/// One object of each of the nine kinds PSA evaluates, all in namespace `team-a`.
pub fn nine_kinds() -> Vec<Value> {
    let meta = |name: &str| json!({"name": name, "namespace": "team-a"});
    let selector = json!({"matchLabels": {"app": "web"}});
    vec![
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta("pod"), "spec": bare_pod_spec()}),
        json!({"apiVersion": "v1", "kind": "PodTemplate", "metadata": meta("tpl"), "template": template()}),
        json!({"apiVersion": "v1", "kind": "ReplicationController", "metadata": meta("rc"),
               "spec": {"replicas": 1, "selector": {"app": "web"}, "template": template()}}),
        json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": meta("rs"),
               "spec": {"selector": selector, "template": template()}}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta("deploy"),
               "spec": {"selector": selector, "template": template()}}),
        json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": meta("sts"),
               "spec": {"selector": selector, "serviceName": "web", "template": template()}}),
        json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": meta("ds"),
               "spec": {"selector": selector, "template": template()}}),
        json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": meta("job"),
               "spec": {"template": template()}}),
        json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta("cron"),
               "spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": template()}}}}),
    ]
}

/// A realistic Deployment (the benchmark's too): two containers, probes, env, volumes.
pub fn realistic_deployment() -> Value {
    serde_json::from_str(include_str!("deployment.json")).unwrap()
}

/// Decodes `response.patch` (base64 of an RFC 6902 array).
pub fn decoded_patch(response: &Value) -> json_patch::Patch {
    use base64::Engine as _;
    let encoded = response["response"]["patch"]
        .as_str()
        .expect("response.patch should be a base64 string");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// `pss-fix webhook`, the real binary, on loopback ports, with its stderr in a file; killed
/// when dropped.
pub struct Binary {
    pub child: std::process::Child,
    pub addr: SocketAddr,
    /// `--metrics-listen`, when given (plain HTTP).
    pub probes: Option<SocketAddr>,
    pub pki: Pki,
    pub dir: tempfile::TempDir,
    log: PathBuf,
}

/// The peak RSS of process `pid` so far, in KiB (its high-water mark in /proc); `None` once
/// it has exited.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A loopback address nobody listens on yet.
pub fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

impl Binary {
    /// Starts the binary with `args` after the required ones (`--metrics-listen` is added when
    /// `probes` is true) and waits until `/healthz` answers.
    pub async fn start(args: &[&str], probes: bool) -> Binary {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
        let pki = Pki::generate();
        pki.install(&cert, &key);
        let addr = free_addr();
        let probes = probes.then(free_addr);
        let log = dir.path().join("stderr.log");
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_pss-fix"));
        command
            .arg("webhook")
            .arg(format!("--listen={addr}"))
            .arg("--tls-cert")
            .arg(&cert)
            .arg("--tls-key")
            .arg(&key)
            .args(args)
            .env("RUST_LOG", "info")
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        if let Some(probes) = probes {
            command.arg(format!("--metrics-listen={probes}"));
        }
        let child = command.spawn().unwrap();
        let binary = Binary {
            child,
            addr,
            probes,
            pki,
            dir,
            log,
        };
        for _ in 0..400 {
            if let Ok(response) = binary.probe("/healthz").await {
                if response.0 == 200 {
                    return binary;
                }
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the webhook did not come up:\n{}", binary.log());
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://{}{path}", self.addr)
    }

    /// A client trusting only this server's CA.
    pub fn client(&self) -> reqwest::Client {
        client_trusting(&self.pki.ca_pem)
    }

    /// GETs a probe or metrics path where it is served: status and body.
    pub async fn probe(&self, path: &str) -> reqwest::Result<(u16, String)> {
        let response = match self.probes {
            Some(probes) => {
                reqwest::Client::new()
                    .get(format!("http://{probes}{path}"))
                    .timeout(Duration::from_secs(5))
                    .send()
                    .await?
            }
            None => {
                self.client()
                    .get(self.url(path))
                    .timeout(Duration::from_secs(5))
                    .send()
                    .await?
            }
        };
        let status = response.status().as_u16();
        Ok((status, response.text().await?))
    }

    pub async fn metrics(&self) -> String {
        self.probe("/metrics").await.unwrap().1
    }

    /// POSTs `body` to `/mutate`: status and parsed answer.
    pub async fn post(&self, body: Vec<u8>) -> (u16, Value) {
        let response = self
            .client()
            .post(self.url("/mutate"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    /// What the binary wrote on stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn terminate(&self) {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits up to `limit` for the process to exit; its exit code.
    pub async fn exited_within(&mut self, limit: Duration) -> Option<i32> {
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }

    /// A TLS stream to the listener with the given ALPN protocols (raw bytes, for what no
    /// polite client sends).
    pub async fn raw_tls(
        &self,
        alpn: &[&[u8]],
    ) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
        use rustls::pki_types::pem::PemObject as _;
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(
                rustls::pki_types::CertificateDer::from_pem_slice(self.pki.ca_pem.as_bytes())
                    .unwrap(),
            )
            .unwrap();
        let mut config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
        let tcp = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
        connector.connect(name, tcp).await.unwrap()
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads from `stream` until it ends or `limit` passes: what was read, and whether it ended.
pub async fn read_until_closed(
    stream: &mut (impl tokio::io::AsyncRead + Unpin),
    limit: Duration,
) -> (Vec<u8>, bool) {
    use tokio::io::AsyncReadExt as _;
    let mut read = Vec::new();
    let mut buffer = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (read, true),
            Ok(Ok(n)) => read.extend_from_slice(&buffer[..n]),
            Err(_) => return (read, false),
        }
    }
}

/// A Pod with `containers` bare containers (about 30 bytes of JSON each).
pub fn pod_with_containers(containers: usize) -> Value {
    let list: Vec<Value> = (0..containers)
        .map(|index| json!({"name": format!("c{index}"), "image": "nginx"}))
        .collect();
    json!({"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "big", "namespace": "team-a"},
           "spec": {"containers": list}})
}
