//! The real components of `e2e/`: the kube-apiserver that `e2e/cluster up` starts, the upstream
//! Pod Security Admission library (`psa-oracle`), and the upstream PSA fixtures from the Go
//! module cache. A missing component fails the test under `CI=true`; elsewhere the test skips
//! with a line on the terminal that says how to get it.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// The upstream module whose library and fixtures judge us (keep in step with e2e/go.mod).
pub const PSA_MODULE: &str = "k8s.io/pod-security-admission@v0.37.2";

pub fn repo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `target/e2e`, where `e2e/cluster` keeps binaries and state.
pub fn state_dir() -> PathBuf {
    repo_dir().join("target/e2e")
}

pub fn bin(name: &str) -> PathBuf {
    state_dir().join("bin").join(name)
}

/// Fails under CI, where every component must be present; otherwise says on the terminal
/// (past libtest's capture, so the skip is seen) that `test` is skipped and how to run it.
pub fn missing(test: &str, what: &str, how: &str) {
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{test}: {what} is missing (CI=true): {how}"
    );
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {test}: {what} is missing; {how}"
    );
}

/// A running kube-apiserver, as `e2e/cluster up` describes it in `target/e2e/cluster.json`.
pub struct Cluster {
    pub server: String,
    pub token: String,
    client: reqwest::Client,
}

/// The API server's answer to one request.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub warnings: Vec<String>,
}

impl Answer {
    /// The `message` of a Status answer.
    pub fn message(&self) -> &str {
        self.body["message"].as_str().unwrap_or_default()
    }
}

impl Cluster {
    /// The running cluster, or `None` after [`missing`] when there is none.
    pub fn connect(test: &str) -> Option<Cluster> {
        let path = state_dir().join("cluster.json");
        let Ok(text) = std::fs::read_to_string(&path) else {
            missing(
                test,
                "a running kube-apiserver",
                "run `e2e/cluster up` first",
            );
            return None;
        };
        let facts: Value = serde_json::from_str(&text).expect("cluster.json is JSON");
        let ca = std::fs::read(facts["ca"].as_str().expect("cluster.json names the CA"))
            .expect("the cluster CA is readable");
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(&ca).expect("CA is PEM"))
            .build()
            .expect("client");
        Some(Cluster {
            server: facts["server"].as_str().expect("server").to_string(),
            token: facts["token"].as_str().expect("token").to_string(),
            client,
        })
    }

    pub async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Answer {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.server))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("the API server answers");
        let status = response.status().as_u16();
        let warnings = response
            .headers()
            .get_all("warning")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .map(warning_text)
            .collect();
        let bytes = response.bytes().await.expect("a body");
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Answer {
            status,
            body,
            warnings,
        }
    }

    /// Creates (or relabels) namespace `name` with `labels`.
    pub async fn namespace(&self, name: &str, labels: &Value) {
        let object = json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": labels}});
        let created = self
            .request(reqwest::Method::POST, "/api/v1/namespaces", Some(&object))
            .await;
        if created.status == 409 {
            let patch = json!({"metadata": {"labels": labels}});
            let answer = self
                .client
                .patch(format!("{}/api/v1/namespaces/{name}", self.server))
                .bearer_auth(&self.token)
                .header("content-type", "application/merge-patch+json")
                .body(patch.to_string())
                .send()
                .await
                .expect("the API server answers");
            assert!(answer.status().is_success(), "relabel {name}: {answer:?}");
        } else {
            assert_eq!(created.status, 201, "create {name}: {}", created.body);
        }
    }

    /// A server-side dry-run create of `object` in `namespace`.
    pub async fn dry_run_create(&self, namespace: &str, object: &Value) -> Answer {
        let mut object = object.clone();
        object["metadata"]["namespace"] = json!(namespace);
        let path = format!("{}?dryRun=All", collection_path(&object, namespace));
        self.request(reqwest::Method::POST, &path, Some(&object))
            .await
    }
}

/// `299 - "text"` -> `text`.
fn warning_text(header: &str) -> String {
    let text = header.splitn(3, ' ').nth(2).unwrap_or(header);
    text.trim_matches('"').replace("\\\"", "\"")
}

/// The REST collection an object is created in.
pub fn collection_path(object: &Value, namespace: &str) -> String {
    let api_version = object["apiVersion"].as_str().unwrap_or_default();
    let kind = object["kind"].as_str().unwrap_or_default();
    let plural = format!("{}s", kind.to_ascii_lowercase());
    let group = if api_version.contains('/') {
        format!("/apis/{api_version}")
    } else {
        format!("/api/{api_version}")
    };
    format!("{group}/namespaces/{namespace}/{plural}")
}

/// The Pod that a workload's controller would create from its template (PSA enforces on Pods
/// and only warns on controllers), named `name`. A Pod comes back as it is.
pub fn pod_from(object: &Value, name: &str) -> Value {
    let (mut metadata, spec) = match object["kind"].as_str() {
        Some("Pod") => (object["metadata"].clone(), object["spec"].clone()),
        Some("CronJob") => template_parts(&object["spec"]["jobTemplate"]["spec"]["template"]),
        Some("PodTemplate") => template_parts(&object["template"]),
        _ => template_parts(&object["spec"]["template"]),
    };
    let mut spec = spec;
    // A StatefulSet's controller gives each pod a claim per volumeClaimTemplate.
    if let Some(claims) = object["spec"]["volumeClaimTemplates"].as_array() {
        let volumes = spec["volumes"].as_array().cloned().unwrap_or_default();
        let mut volumes = volumes;
        for claim in claims {
            let claim_name = claim["metadata"]["name"].as_str().unwrap_or_default();
            volumes.push(json!({"name": claim_name,
                "persistentVolumeClaim": {"claimName": format!("{claim_name}-{name}")}}));
        }
        spec["volumes"] = Value::Array(volumes);
    }
    if !metadata.is_object() {
        metadata = json!({});
    }
    metadata["name"] = json!(name);
    for generated in [
        "generateName",
        "resourceVersion",
        "uid",
        "creationTimestamp",
    ] {
        if let Some(map) = metadata.as_object_mut() {
            map.remove(generated);
        }
    }
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec})
}

fn template_parts(template: &Value) -> (Value, Value) {
    (template["metadata"].clone(), template["spec"].clone())
}

/// The objects of a manifest file as kubectl reads them (`kubectl create --dry-run=client`):
/// the real client's YAML reading, not ours. `Err` carries kubectl's message.
pub fn kubectl_objects(file: &Path) -> Result<Vec<Value>, String> {
    let output = Command::new(bin("kubectl"))
        .arg("--kubeconfig")
        .arg(state_dir().join("kubeconfig"))
        .args([
            "create",
            "--dry-run=client",
            "--validate=false",
            "-o",
            "json",
            "-f",
        ])
        .arg(file)
        .output()
        .expect("kubectl runs");
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    serde_json::Deserializer::from_slice(&output.stdout)
        .into_iter::<Value>()
        .map(|value| value.map_err(|error| error.to_string()))
        .collect()
}

/// The upstream library behind a pipe: one request line in, one verdict line out.
pub struct Oracle {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
}

impl Oracle {
    /// Starts `psa-oracle` (built by `e2e/cluster build`), or `None` after [`missing`].
    pub fn start(test: &str) -> Option<Oracle> {
        let path = bin("psa-oracle");
        if !path.exists() {
            missing(test, "psa-oracle", "run `e2e/cluster build`");
            return None;
        }
        let mut child = Command::new(path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("psa-oracle starts");
        let input = child.stdin.take().expect("stdin");
        let output = BufReader::new(child.stdout.take().expect("stdout"));
        Some(Oracle {
            child,
            input,
            output,
        })
    }

    /// Sends every request while reading every verdict (a thread writes, so that neither side
    /// of the pipes can stall the other).
    pub fn judge(&mut self, requests: &[Value]) -> Vec<Value> {
        let input = &mut self.input;
        let output = &mut self.output;
        std::thread::scope(|scope| {
            scope.spawn(|| {
                let mut writer = std::io::BufWriter::new(input);
                for request in requests {
                    serde_json::to_writer(&mut writer, request).expect("write");
                    writer.write_all(b"\n").expect("write");
                }
                writer.flush().expect("flush");
            });
            requests
                .iter()
                .map(|_| {
                    let mut line = String::new();
                    output.read_line(&mut line).expect("read");
                    serde_json::from_str(&line).expect("a verdict line")
                })
                .collect()
        })
    }
}

impl Drop for Oracle {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The upstream PSA fixtures (`test/testdata` of [`PSA_MODULE`] in the Go module cache,
/// downloaded through the module proxy if needed), or `None` after [`missing`].
pub fn upstream_testdata(test: &str) -> Option<PathBuf> {
    let output = Command::new("go")
        .args(["mod", "download", "-json", PSA_MODULE])
        .current_dir(repo_dir().join("e2e"))
        .output();
    let dir = output
        .ok()
        .filter(|output| output.status.success())
        .and_then(|output| serde_json::from_slice::<Value>(&output.stdout).ok())
        .and_then(|info| info["Dir"].as_str().map(PathBuf::from));
    match dir {
        Some(dir) => Some(dir.join("test/testdata")),
        None => {
            missing(
                test,
                "the Go module k8s.io/pod-security-admission",
                "install Go and let it reach the module proxy",
            );
            None
        }
    }
}
