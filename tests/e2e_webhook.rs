//! `pss-fix webhook` registered with the real kube-apiserver, through a
//! MutatingWebhookConfiguration derived from `deploy/` (a URL and a CA bundle instead of the
//! Service): privileged Pods, Deployments and CronJobs created in a restricted namespace are
//! admitted mutated and read back fixed; a hostPath Pod is still rejected by PSA; server-side
//! dry runs are mutated too; a second mutating webhook that changes the object reinvokes ours
//! once without a loop; `level: namespace` takes level and version from the namespace's labels
//! and follows them through the real watch; and `deploy/` itself passes a server-side dry run.
//!
//! `PSS_FIX_MEASURE=N` also times N dry-run Pod creates without and with the webhook
//! registered and prints creates/s, p50 and p99 (a measurement, not an assertion).

use crate::util::e2e::{bin, state_dir, Answer, Cluster};
use crate::util::free_port;
use crate::util::webhook::{client_trusting, Pki};
use base64::Engine as _;
use reqwest::Method;
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `pss-fix webhook` process, killed on drop.
struct Webhook {
    child: Child,
    port: u16,
}

impl Drop for Webhook {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_webhook(dir: &Path, pki: &Pki, config: &str) -> Webhook {
    let (cert, key) = (dir.join("tls.crt"), dir.join("tls.key"));
    pki.install(&cert, &key);
    let config_path = dir.join(format!("config-{}.yaml", free_port()));
    std::fs::write(&config_path, config).expect("write");
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_pss-fix"))
        .args(["webhook", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--tls-cert")
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .arg("--config")
        .arg(&config_path)
        .env("KUBECONFIG", state_dir().join("kubeconfig"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("pss-fix webhook starts");
    let webhook = Webhook { child, port };
    let client = client_trusting(&pki.ca_pem);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ready = client
            .get(format!("https://localhost:{port}/readyz"))
            .send()
            .await;
        match ready {
            Ok(response) if response.status().is_success() => return webhook,
            _ if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(100)).await,
            other => panic!("the webhook did not become ready: {other:?}"),
        }
    }
}

/// The namespaces this suite creates and registers the webhook for.
const NAMESPACES: [&str; 5] = [
    "wh-restricted",
    "wh-follow",
    "wh-v121",
    "wh-privileged",
    MEASURED,
];

/// deploy/'s MutatingWebhookConfiguration, pointed at `port` on 127.0.0.1, named `name`, and
/// limited to [`NAMESPACES`]: the other suites share the cluster and must meet PSA alone.
fn registration(name: &str, port: u16, ca_pem: &str) -> Value {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/base/webhook.yaml"),
    )
    .expect("deploy/base/webhook.yaml");
    let mut object = crate::util::documents(&text).remove(0);
    object["metadata"] = json!({"name": name});
    let ca_bundle = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    for webhook in object["webhooks"].as_array_mut().expect("webhooks") {
        webhook["name"] = json!(format!("{name}.pss-fix.dev"));
        webhook["clientConfig"] = json!({
            "url": format!("https://127.0.0.1:{port}/mutate"),
            "caBundle": ca_bundle,
        });
        webhook["namespaceSelector"] = json!({"matchExpressions": [
            {"key": "kubernetes.io/metadata.name", "operator": "In", "values": NAMESPACES}]});
    }
    object
}

const WEBHOOKS: &str = "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations";

async fn register(cluster: &Cluster, object: &Value) {
    let name = object["metadata"]["name"].as_str().expect("name");
    cluster
        .request(Method::DELETE, &format!("{WEBHOOKS}/{name}"), None)
        .await;
    let answer = cluster.request(Method::POST, WEBHOOKS, Some(object)).await;
    assert_eq!(answer.status, 201, "register {name}: {}", answer.body);
}

async fn unregister(cluster: &Cluster, name: &str) {
    cluster
        .request(Method::DELETE, &format!("{WEBHOOKS}/{name}"), None)
        .await;
}

fn privileged_pod(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10",
            "securityContext": {"privileged": true, "capabilities": {"add": ["NET_ADMIN"]}}}]}})
}

fn template_of(pod: &Value, labels: &Value) -> Value {
    json!({"metadata": {"labels": labels}, "spec": pod["spec"]})
}

/// Creates `object` for real in `namespace` (deleting a leftover of the same name first).
async fn create(cluster: &Cluster, namespace: &str, object: &Value) -> Answer {
    let path = crate::util::e2e::collection_path(object, namespace);
    let name = object["metadata"]["name"].as_str().expect("name");
    cluster
        .request(Method::DELETE, &format!("{path}/{name}"), None)
        .await;
    let mut object = object.clone();
    object["metadata"]["namespace"] = json!(namespace);
    cluster.request(Method::POST, &path, Some(&object)).await
}

/// Waits until the API server calls the webhook: a dry-run create comes back mutated.
async fn until_called(cluster: &Cluster, namespace: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answer = cluster
            .dry_run_create(namespace, &privileged_pod("probe"))
            .await;
        if answer.status == 201 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the API server never called the webhook: {}",
            answer.message()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn restricted_pod_spec_is_fixed(spec: &Value, what: &str) {
    let container = &spec["containers"][0]["securityContext"];
    assert_ne!(container["privileged"], json!(true), "{what}: {spec}");
    assert_eq!(
        container["allowPrivilegeEscalation"],
        json!(false),
        "{what}: {spec}"
    );
    assert_eq!(
        container["capabilities"]["drop"],
        json!(["ALL"]),
        "{what}: {spec}"
    );
    let non_root = spec["securityContext"]["runAsNonRoot"] == json!(true)
        || container["runAsNonRoot"] == json!(true);
    assert!(non_root, "{what}: {spec}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_fixes_what_the_real_api_server_admits() {
    let test = "e2e_webhook";
    let Some(cluster) = Cluster::connect(test) else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let pki = Pki::generate();
    let config = "level: namespace\ndefaultLevel: privileged\n";
    let webhook = start_webhook(dir.path(), &pki, config).await;
    let restricted = json!({"pod-security.kubernetes.io/enforce": "restricted"});
    let ns = "wh-restricted";
    cluster.namespace(ns, &restricted).await;

    let measure_count: Option<usize> = std::env::var("PSS_FIX_MEASURE")
        .ok()
        .and_then(|n| n.parse().ok());
    let measured = match measure_count {
        Some(count) => {
            cluster.namespace(MEASURED, &restricted).await;
            Some(measure(&cluster, count).await)
        }
        None => None,
    };
    register(
        &cluster,
        &registration("pss-fix-e2e", webhook.port, &pki.ca_pem),
    )
    .await;
    until_called(&cluster, ns).await;

    // Pod, Deployment (its template) and CronJob, created for real and read back.
    let answer = create(&cluster, ns, &privileged_pod("privileged")).await;
    assert_eq!(answer.status, 201, "{}", answer.message());
    let read = cluster
        .request(
            Method::GET,
            &format!("/api/v1/namespaces/{ns}/pods/privileged"),
            None,
        )
        .await;
    restricted_pod_spec_is_fixed(&read.body["spec"], "Pod");

    let labels = json!({"app": "web"});
    let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": labels},
            "template": template_of(&privileged_pod("x"), &labels)}});
    let answer = create(&cluster, ns, &deployment).await;
    assert_eq!(answer.status, 201, "{}", answer.message());
    // The webhook's own warnings say what it fixed; PSA's would say "would violate".
    assert!(
        answer
            .warnings
            .iter()
            .any(|w| w.starts_with("pss-fix fixed")),
        "{:?}",
        answer.warnings
    );
    assert!(
        !answer
            .warnings
            .iter()
            .any(|w| w.contains("would violate PodSecurity")),
        "PSA warned on the fixed Deployment: {:?}",
        answer.warnings
    );
    restricted_pod_spec_is_fixed(&answer.body["spec"]["template"]["spec"], "Deployment");

    let mut job_pod = privileged_pod("x");
    job_pod["spec"]["restartPolicy"] = json!("Never");
    let cronjob = json!({"apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": "nightly"},
        "spec": {"schedule": "0 3 * * *",
            "jobTemplate": {"spec": {"template": template_of(&job_pod, &json!({"app": "nightly"}))}}}});
    let answer = create(&cluster, ns, &cronjob).await;
    assert_eq!(answer.status, 201, "{}", answer.message());
    restricted_pod_spec_is_fixed(
        &answer.body["spec"]["jobTemplate"]["spec"]["template"]["spec"],
        "CronJob",
    );

    // What cannot be fixed stays for PSA to reject.
    let mut host_path = privileged_pod("host-path");
    host_path["spec"]["volumes"] = json!([{"name": "root", "hostPath": {"path": "/"}}]);
    let answer = cluster.dry_run_create(ns, &host_path).await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    assert!(
        answer
            .message()
            .contains(r#"uses restricted volume type "hostPath""#),
        "{}",
        answer.message()
    );

    // A server-side dry run through kubectl is mutated the same way.
    let pod_file = dir.path().join("pod.json");
    std::fs::write(&pod_file, privileged_pod("dry").to_string()).expect("write");
    let output = kubectl(
        &["apply", "--dry-run=server", "-o", "json", "-n", ns, "-f"],
        &pod_file,
    );
    let dry: Value = serde_json::from_str(&output).expect("kubectl prints JSON");
    restricted_pod_spec_is_fixed(&dry["spec"], "kubectl --dry-run=server");

    // A second mutating webhook that changes the object after ours (its name sorts later):
    // ours is reinvoked once (IfNeeded), answers with an empty patch, and nothing loops.
    // The second one is pss-fix itself with the K01 hardening, which the first leaves out.
    unregister(&cluster, "pss-fix-e2e").await;
    let without_hardening = "level: namespace\ndefaultLevel: privileged\nhardening:\n  readOnlyRootFilesystem: false\n  defaultResources: false\n";
    let first = start_webhook(dir.path(), &pki, without_hardening).await;
    register(
        &cluster,
        &registration("pss-fix-e2e-a", first.port, &pki.ca_pem),
    )
    .await;
    register(
        &cluster,
        &registration("pss-fix-e2e-b", webhook.port, &pki.ca_pem),
    )
    .await;
    until_called(&cluster, ns).await;
    let started = Instant::now();
    let answer = cluster.dry_run_create(ns, &privileged_pod("twice")).await;
    assert_eq!(answer.status, 201, "{}", answer.message());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    let spec = &answer.body["spec"];
    restricted_pod_spec_is_fixed(spec, "two webhooks");
    assert_eq!(
        spec["containers"][0]["securityContext"]["readOnlyRootFilesystem"],
        json!(true),
        "the second webhook's hardening is kept: {spec}"
    );
    unregister(&cluster, "pss-fix-e2e-a").await;
    unregister(&cluster, "pss-fix-e2e-b").await;

    // level: namespace follows relabelling through the watch.
    register(
        &cluster,
        &registration("pss-fix-e2e", webhook.port, &pki.ca_pem),
    )
    .await;
    let follow = "wh-follow";
    cluster
        .namespace(
            follow,
            &json!({"pod-security.kubernetes.io/enforce": "baseline"}),
        )
        .await;
    until_called(&cluster, follow).await;
    let answer = cluster.dry_run_create(follow, &privileged_pod("p")).await;
    assert_eq!(answer.status, 201, "{}", answer.message());
    let context = &answer.body["spec"]["containers"][0]["securityContext"];
    assert!(
        context.get("allowPrivilegeEscalation").is_none(),
        "baseline only: {context}"
    );
    cluster.namespace(follow, &restricted).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answer = cluster.dry_run_create(follow, &privileged_pod("p")).await;
        if answer.status == 201
            && answer.body["spec"]["containers"][0]["securityContext"]["allowPrivilegeEscalation"]
                == json!(false)
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the relabelled namespace was never followed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The enforce-version label picks the version: restricted:v1.21 predates "drop ALL".
    let old = "wh-v121";
    let labels = json!({"pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "v1.21"});
    cluster.namespace(old, &labels).await;
    until_called(&cluster, old).await;
    let answer = cluster.dry_run_create(old, &privileged_pod("p")).await;
    assert_eq!(answer.status, 201, "{}", answer.message());
    let context = &answer.body["spec"]["containers"][0]["securityContext"];
    assert_eq!(
        context["allowPrivilegeEscalation"],
        json!(false),
        "{context}"
    );
    assert!(
        context["capabilities"].get("drop").is_none(),
        "v1.21: {context}"
    );

    // A privileged namespace is left alone.
    let open = "wh-privileged";
    cluster
        .namespace(
            open,
            &json!({"pod-security.kubernetes.io/enforce": "privileged"}),
        )
        .await;
    let answer = cluster.dry_run_create(open, &privileged_pod("p")).await;
    assert_eq!(answer.status, 201, "{}", answer.message());
    assert_eq!(
        answer.body["spec"]["containers"][0]["securityContext"]["privileged"],
        json!(true),
        "{}",
        answer.body
    );

    if let Some(without) = measured {
        let with = measure(&cluster, without.count).await;
        let line = format!(
            "e2e_webhook latency: dry-run Pod creates through kube-apiserver, {} each\n  without webhook: {without}\n  with webhook:    {with}\n",
            without.count
        );
        let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
    }
    unregister(&cluster, "pss-fix-e2e").await;
}

/// The namespace (enforcing restricted) where latency is measured.
const MEASURED: &str = "wh-measure";

/// A Pod that meets restricted and the K01 hardening: PSA admits it and the webhook, when
/// called, reviews it and answers with an empty patch; so the difference is the webhook's call.
fn compliant_pod() -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "m"},
        "spec": {"securityContext": {"runAsNonRoot": true, "runAsUser": 65532,
                "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10",
                "resources": {"requests": {"cpu": "10m", "memory": "16Mi"},
                    "limits": {"cpu": "100m", "memory": "64Mi"}},
                "securityContext": {"allowPrivilegeEscalation": false,
                    "readOnlyRootFilesystem": true, "capabilities": {"drop": ["ALL"]}}}]}})
}

/// Creates/s and latency percentiles of sequential dry-run creates of [`compliant_pod`].
struct Latency {
    count: usize,
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

impl std::fmt::Display for Latency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.0}/s, p50 {:.2} ms, p99 {:.2} ms",
            self.per_second,
            self.p50.as_secs_f64() * 1e3,
            self.p99.as_secs_f64() * 1e3
        )
    }
}

async fn measure(cluster: &Cluster, count: usize) -> Latency {
    let mut times = Vec::with_capacity(count);
    let started = Instant::now();
    for _ in 0..count {
        let one = Instant::now();
        let answer = cluster.dry_run_create(MEASURED, &compliant_pod()).await;
        assert_eq!(answer.status, 201, "{}", answer.message());
        times.push(one.elapsed());
    }
    let total = started.elapsed();
    times.sort();
    Latency {
        count,
        per_second: count as f64 / total.as_secs_f64(),
        p50: times[count / 2],
        p99: times[count * 99 / 100],
    }
}

#[test]
fn deploy_passes_a_server_side_dry_run() {
    let Some(_cluster) = Cluster::connect("e2e deploy dry run") else {
        return;
    };
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy");
    // The namespace must exist for its objects' dry run; it is created for real, as deploy/
    // declares it (with its PSA labels, so the Deployment is judged at restricted).
    kubectl(&["apply", "-f"], &deploy.join("base/namespace.yaml"));
    kubectl(&["apply", "--dry-run=server", "-k"], &deploy.join("base"));
}

/// Runs the real kubectl against the e2e cluster; panics with its stderr when it fails.
fn kubectl(args: &[&str], path: &Path) -> String {
    let output = Command::new(bin("kubectl"))
        .arg("--kubeconfig")
        .arg(state_dir().join("kubeconfig"))
        .args(args)
        .arg(path)
        .output()
        .expect("kubectl runs");
    assert!(
        output.status.success(),
        "kubectl {args:?} {}: {}",
        path.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8")
}
