//! The real webhook server on a loopback port, with an rcgen certificate, answering real
//! AdmissionReview requests from reqwest over HTTPS: every kind, the wire format, every error
//! path, certificate reload, shutdown.

use crate::util::webhook as webhook_util;

use futures_util::StreamExt as _;
use pss_fix::config::Config;
use pss_fix::pss::{self, Level, Version};
use pss_fix::{plan, workload};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::{json, Value};
use std::time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use webhook_util::*;

/// The engine's own patch for `object` under `config` (what `pss-fix patch` computes, I6).
fn engine_patch(object: &Value, config: &Config) -> json_patch::Patch {
    let workload = workload::workloads(object).remove(0);
    let policy = config
        .policy_for(&workload, Level::Restricted, Version::Latest)
        .expect("the skip annotations name controls");
    plan::plan(object, &policy).patch
}

fn applied(object: &Value, patch: &json_patch::Patch) -> Value {
    let mut fixed = object.clone();
    json_patch::patch(&mut fixed, patch).unwrap();
    fixed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_is_fixed_with_the_engines_patch() {
    let config = Config::default();
    let server = TestServer::start(config.clone()).await;
    for object in nine_kinds() {
        let kind = object["kind"].as_str().unwrap().to_owned();
        let (status, answer) = server
            .review(&admission_review("CREATE", &object, None))
            .await;
        assert_eq!(status, 200, "{kind}: {answer}");
        let response = &answer["response"];
        assert_eq!(answer["apiVersion"], "admission.k8s.io/v1");
        assert_eq!(answer["kind"], "AdmissionReview");
        assert_eq!(response["uid"], UID, "{kind}");
        assert_eq!(response["allowed"], true, "{kind}");
        assert_eq!(response["patchType"], "JSONPatch", "{kind}");

        let patch = decoded_patch(&answer);
        assert_eq!(patch, engine_patch(&object, &config), "{kind}: I6");
        let fixed = applied(&object, &patch);
        assert_eq!(
            pss::check(&fixed, Level::Restricted, Version::Latest),
            vec![],
            "{kind}: fixed object still violates restricted"
        );
        let spec = workload::pod_pointers(&kind).unwrap().spec;
        assert_eq!(
            fixed.pointer(&format!("{spec}/containers/0/futureField")),
            Some(&json!({"kept": true})),
            "{kind}: unknown field lost"
        );

        let warnings = response["warnings"].as_array().unwrap();
        assert!(!warnings.is_empty(), "{kind}");
        for warning in warnings {
            let warning = warning.as_str().unwrap();
            assert!(warning.chars().count() < 120, "{warning}");
            assert!(warning.starts_with("pss-fix fixed "), "{warning}");
        }
        let patched = response["auditAnnotations"]["patched"].as_str().unwrap();
        assert!(patched.contains("runAsNonRoot"), "{kind}: {patched}");
    }
    let metrics = server.metrics().await;
    assert!(
        metrics.contains("pss_fix_webhook_requests_total{outcome=\"patched\"} 9\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("pss_fix_webhook_patches_total{control=\"runAsNonRoot\"} 9\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("pss_fix_webhook_request_duration_seconds_count 9\n"),
        "{metrics}"
    );
    server.stop().await.unwrap();
}

/// The bytes on the wire: `patch` is a base64 string (not kube-core's array of numbers), and
/// it decodes to exactly the RFC 6902 array of the engine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patch_is_base64_of_the_json_array_on_the_wire() {
    let config = Config::default();
    let server = TestServer::start(config.clone()).await;
    let object = realistic_deployment();
    let body = serde_json::to_vec(&admission_review("CREATE", &object, None)).unwrap();
    let (status, raw) = server.post(body).await;
    assert_eq!(status, 200);
    let text = String::from_utf8(raw).unwrap();
    assert!(text.contains("\"patchType\":\"JSONPatch\""), "{text}");
    let start = text
        .find("\"patch\":\"")
        .expect("patch should be a JSON string")
        + 9;
    let encoded = &text[start..start + text[start..].find('"').unwrap()];
    assert!(encoded
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b)));
    use base64::Engine as _;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .unwrap();
    let array: Value = serde_json::from_slice(&decoded).unwrap();
    assert!(array.is_array() && array[0]["op"].is_string(), "{array}");
    assert_eq!(
        array,
        serde_json::to_value(engine_patch(&object, &config)).unwrap()
    );
    server.stop().await.unwrap();
}

/// Reinvocation (`reinvocationPolicy: IfNeeded`) sends the patched object again: no patch,
/// no patchType.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fixed_object_gets_no_patch() {
    let server = TestServer::start(Config::default()).await;
    let object = realistic_deployment();
    let (_, first) = server
        .review(&admission_review("CREATE", &object, None))
        .await;
    let fixed = applied(&object, &decoded_patch(&first));
    let (status, second) = server
        .review(&admission_review("CREATE", &fixed, None))
        .await;
    assert_eq!(status, 200);
    assert_eq!(second["response"]["allowed"], true);
    assert_eq!(second["response"].get("patch"), None, "{second}");
    assert_eq!(second["response"].get("patchType"), None, "{second}");
    assert!(server
        .metrics()
        .await
        .contains("requests_total{outcome=\"unchanged\"} 1\n"));
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_gets_the_patch_but_no_audit_annotations() {
    let server = TestServer::start(Config::default()).await;
    let object = realistic_deployment();
    let mut review = admission_review("CREATE", &object, None);
    review["request"]["dryRun"] = json!(true);
    let (status, answer) = server.review(&review).await;
    assert_eq!(status, 200);
    assert_eq!(answer["response"]["patchType"], "JSONPatch");
    assert_eq!(answer["response"].get("auditAnnotations"), None, "{answer}");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updates_are_patched_only_when_the_template_changes() {
    let server = TestServer::start(Config::default()).await;
    let old = realistic_deployment();
    let mut scaled = old.clone();
    scaled["spec"]["replicas"] = json!(10);
    let (_, answer) = server
        .review(&admission_review("UPDATE", &scaled, Some(&old)))
        .await;
    assert_eq!(answer["response"]["allowed"], true);
    assert_eq!(answer["response"].get("patch"), None, "{answer}");

    let mut new_image = old.clone();
    new_image["spec"]["template"]["spec"]["containers"][0]["image"] = json!("app:5");
    let (_, answer) = server
        .review(&admission_review("UPDATE", &new_image, Some(&old)))
        .await;
    assert_eq!(answer["response"]["patchType"], "JSONPatch", "{answer}");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mirror_pods_skipped_namespaces_and_other_kinds_pass_untouched() {
    let config = Config {
        skip_namespaces: vec!["kube-system".into()],
        ..Config::default()
    };
    let server = TestServer::start(config).await;
    let mut mirror = nine_kinds().remove(0);
    mirror["metadata"]["annotations"] = json!({"kubernetes.io/config.mirror": "8f3c"});
    let mut system = nine_kinds().remove(4);
    system["metadata"]["namespace"] = json!("kube-system");
    let service = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
                         "spec": {"ports": [{"port": 80}]}});
    for object in [mirror, system, service] {
        let (status, answer) = server
            .review(&admission_review("CREATE", &object, None))
            .await;
        assert_eq!(status, 200);
        assert_eq!(answer["response"]["uid"], UID);
        assert_eq!(answer["response"]["allowed"], true);
        assert_eq!(answer["response"].get("patch"), None, "{answer}");
        assert_eq!(answer["response"].get("warnings"), None, "{answer}");
    }
    assert!(server
        .metrics()
        .await
        .contains("requests_total{outcome=\"skipped\"} 3\n"));
    server.stop().await.unwrap();
}

/// `enforce: true`: a hostPath volume cannot be fixed, so the pod is denied with the reason;
/// without enforce it is admitted unchanged with a warning (all or nothing), and with
/// `partial: true` with the fixable part patched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enforce_denies_what_cannot_be_fixed() {
    let mut pod = nine_kinds().remove(0);
    pod["spec"]["volumes"] = json!([{"name": "host", "hostPath": {"path": "/var/run"}}]);
    let review = admission_review("CREATE", &pod, None);

    let server = TestServer::start(Config::default()).await;
    let (_, answer) = server.review(&review).await;
    assert_eq!(answer["response"]["allowed"], true);
    assert_eq!(answer["response"].get("patch"), None, "{answer}");
    let warnings = answer["response"]["warnings"].to_string();
    assert!(warnings.contains("pss-fix cannot fix"), "{warnings}");
    assert!(answer["response"]["auditAnnotations"]["unfixable"].is_string());
    server.stop().await.unwrap();

    let partial = Config {
        partial: true,
        ..Config::default()
    };
    let server = TestServer::start(partial).await;
    let (_, answer) = server.review(&review).await;
    assert_eq!(answer["response"]["allowed"], true);
    assert_eq!(answer["response"]["patchType"], "JSONPatch");
    server.stop().await.unwrap();

    let config = Config {
        enforce: true,
        ..Config::default()
    };
    let server = TestServer::start(config).await;
    let (status, answer) = server.review(&review).await;
    assert_eq!(status, 200, "a denial is an answer, not an HTTP error");
    let response = &answer["response"];
    assert_eq!(response["uid"], UID);
    assert_eq!(response["allowed"], false);
    assert_eq!(response["status"]["code"], 403);
    let message = response["status"]["message"].as_str().unwrap();
    assert!(
        message.contains("cannot be fixed") && message.contains("/spec/volumes/0"),
        "{message}"
    );
    assert_eq!(response.get("patch"), None);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_reviews_get_400_with_a_clear_message() {
    let server = TestServer::start(Config::default()).await;
    let mut v1beta1 = admission_review("CREATE", &realistic_deployment(), None);
    v1beta1["apiVersion"] = json!("admission.k8s.io/v1beta1");
    let mut no_request = v1beta1.clone();
    no_request["apiVersion"] = json!("admission.k8s.io/v1");
    no_request.as_object_mut().unwrap().remove("request");
    let cases = [
        (b"{\"apiVersion\": ".to_vec(), "body is not JSON"),
        (
            serde_json::to_vec(&v1beta1).unwrap(),
            "unsupported apiVersion `admission.k8s.io/v1beta1`",
        ),
        (
            serde_json::to_vec(&no_request).unwrap(),
            "missing `request` object",
        ),
    ];
    for (body, message) in cases {
        let (status, raw) = server.post(body).await;
        assert_eq!(status, 400, "{message}");
        let answer: Value = serde_json::from_slice(&raw).unwrap();
        assert_eq!(answer["response"]["allowed"], false);
        let got = answer["response"]["status"]["message"].as_str().unwrap();
        assert!(got.contains(message), "{got}");
    }
    assert!(server
        .metrics()
        .await
        .contains("requests_total{outcome=\"invalid\"} 3\n"));
    // The server is still serving.
    let (status, _) = server
        .review(&admission_review("CREATE", &realistic_deployment(), None))
        .await;
    assert_eq!(status, 200);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_limit_gets_413() {
    let server = TestServer::start_with(Config::default(), |options| {
        options.limits.max_body_bytes = 64 * 1024;
    })
    .await;
    let mut review = admission_review("CREATE", &realistic_deployment(), None);
    review["request"]["object"]["metadata"]["annotations"]["big"] = json!("x".repeat(100_000));
    let (status, raw) = server.post(serde_json::to_vec(&review).unwrap()).await;
    assert_eq!(status, 413);
    let answer: Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(answer["response"]["status"]["code"], 413);
    let message = answer["response"]["status"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("request body of ")
            && message.ends_with(" bytes is over the limit of 65536 bytes"),
        "{message}"
    );
    assert!(server
        .metrics()
        .await
        .contains("requests_total{outcome=\"too_large\"} 1\n"));
    server.stop().await.unwrap();
}

/// A client that sends its headers and then trickles the body is cut off with 408.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_body_gets_408() {
    let server = TestServer::start(Config::default()).await;
    let chunks = futures_util::stream::unfold(0, |sent| async move {
        if sent > 0 {
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
        Some((
            Ok::<_, std::io::Error>(b"{\"apiVersion\":".to_vec()),
            sent + 1,
        ))
    });
    let response = server
        .client()
        .post(server.url("/mutate"))
        .header("content-length", "4096")
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 408);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["response"]["status"]["code"], 408);
    assert!(server
        .metrics()
        .await
        .contains("requests_total{outcome=\"timeout\"} 1\n"));
    server.stop().await.unwrap();
}

/// A client that never finishes its headers (slowloris) is disconnected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_are_disconnected() {
    let server = TestServer::start(Config::default()).await;
    let mut roots = rustls::RootCertStore::empty();
    let ca = CertificateDer::from_pem_slice(server.pki.ca_pem.as_bytes()).unwrap();
    roots.add(ca).unwrap();
    let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(tls));
    let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let name = ServerName::try_from("127.0.0.1").unwrap();
    let mut stream = connector.connect(name, tcp).await.unwrap();
    stream
        .write_all(b"POST /mutate HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .unwrap();
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut rest)).await;
    assert!(
        closed.is_ok(),
        "the server should close a connection stuck in its headers"
    );
    // Others are still served.
    let (status, _) = server
        .review(&admission_review("CREATE", &realistic_deployment(), None))
        .await;
    assert_eq!(status, 200);
    server.stop().await.unwrap();
}

/// Rotating the files: a new connection sees the new certificate, while a keep-alive
/// connection opened before the rotation keeps working (a client that trusts only the old CA
/// can only succeed over its old connection).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_rotation_reaches_new_connections_and_keeps_old_ones() {
    let mut server = TestServer::start(Config::default()).await;
    let old_client = server.client();
    let healthz = server.url("/healthz");
    assert!(old_client
        .get(&healthz)
        .send()
        .await
        .unwrap()
        .status()
        .is_success());

    let rotated = Pki::generate();
    let new_client = client_trusting(&rotated.ca_pem);
    assert!(
        new_client.get(&healthz).send().await.is_err(),
        "new CA not trusted yet"
    );
    rotated.install(&server.cert, &server.key);
    let old_pki = std::mem::replace(&mut server.pki, rotated);

    let mut seen = false;
    for _ in 0..400 {
        if server.client().get(&healthz).send().await.is_ok() {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(seen, "a new connection should get the rotated certificate");
    let response = old_client.get(&healthz).send().await.unwrap();
    assert!(
        response.status().is_success(),
        "old keep-alive connection dropped"
    );
    assert!(
        client_trusting(&old_pki.ca_pem)
            .get(&healthz)
            .send()
            .await
            .is_err(),
        "a fresh connection must no longer get the old certificate"
    );
    assert!(server
        .metrics()
        .await
        .contains("pss_fix_webhook_tls_reloads_total{result=\"success\"}"));
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_and_metrics_answer_and_shutdown_is_clean() {
    let server = TestServer::start(Config::default()).await;
    let client = server.client();
    for path in ["/healthz", "/readyz"] {
        let response = client.get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
    let response = client.get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4"
    );
    let text = response.text().await.unwrap();
    assert!(text.contains("# TYPE pss_fix_webhook_request_duration_seconds histogram"));
    let addr = server.addr;
    server.stop().await.unwrap();
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "still listening"
    );
}

/// I6 through both shells: the webhook's patch for an object equals the `patch` that
/// `pss-fix patch` prints for the same object in a file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_patch_equals_the_cli_patch() {
    let server = TestServer::start(Config::default()).await;
    let dir = tempfile::tempdir().unwrap();
    for object in nine_kinds().into_iter().chain([realistic_deployment()]) {
        let file = dir.path().join("workload.json");
        std::fs::write(&file, serde_json::to_vec_pretty(&object).unwrap()).unwrap();
        let output = assert_cmd::Command::cargo_bin("pss-fix")
            .unwrap()
            .current_dir(dir.path())
            .args(["patch", "--level", "restricted", "--pss-version", "latest"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let cli: Value = serde_json::from_slice(&output.stdout).unwrap();
        let (_, answer) = server
            .review(&admission_review("CREATE", &object, None))
            .await;
        assert_eq!(
            serde_json::to_value(decoded_patch(&answer)).unwrap(),
            cli[0]["patch"],
            "{}",
            object["kind"]
        );
    }
    server.stop().await.unwrap();
}

/// A request in flight when shutdown starts is answered; only then does the server return.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_requests_in_flight_finish() {
    // A deadline far beyond the pauses below, also on a loaded machine.
    let mut server = TestServer::start_with(Config::default(), |options| {
        options.limits.request_timeout = Duration::from_secs(10);
    })
    .await;
    let body =
        serde_json::to_vec(&admission_review("CREATE", &realistic_deployment(), None)).unwrap();
    let (head, tail) = body.split_at(body.len() / 2);
    let (head, tail) = (head.to_vec(), tail.to_vec());
    let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
    let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
    // Half the body, then wait until the test has started the shutdown, then the rest.
    let pause = async move {
        started_tx.send(()).unwrap();
        release_rx.await.unwrap();
        Ok::<_, std::io::Error>(tail)
    };
    let chunks = futures_util::stream::once(async move { Ok::<_, std::io::Error>(head) })
        .chain(futures_util::stream::once(pause));
    let request = server
        .client()
        .post(server.url("/mutate"))
        .header("content-length", body.len().to_string())
        .body(reqwest::Body::wrap_stream(chunks))
        .send();
    let in_flight = tokio::spawn(request);
    started_rx.await.unwrap();
    // The client has handed over the head and half the body; give them time to reach the
    // server, which counts a request as in flight only once its head is read (a connection
    // still reading its head is closed at shutdown, as it should be).
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.begin_shutdown();
    // Give the shutdown signal time to reach the server before the body completes.
    tokio::time::sleep(Duration::from_millis(100)).await;
    release_tx.send(()).unwrap();
    let response = in_flight.await.unwrap().unwrap();
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["response"]["patchType"], "JSONPatch");
    server.stop().await.unwrap();
}

/// The real binary logs one JSON line per review, with the review's identity and the controls
/// patched, and nothing of the object's contents.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_logs_one_json_line_per_review() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    let pki = Pki::generate();
    pki.install(&cert, &key);
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_pss-fix"))
        .arg("webhook")
        .arg("--listen")
        .arg(addr.to_string())
        .arg("--tls-cert")
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .env("RUST_LOG", "info")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let client = client_trusting(&pki.ca_pem);
    let mut up = false;
    for _ in 0..200 {
        if client
            .get(format!("https://{addr}/healthz"))
            .send()
            .await
            .is_ok()
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let object = realistic_deployment();
    let answer = if up {
        let response = client
            .post(format!("https://{addr}/mutate"))
            .json(&admission_review("CREATE", &object, None))
            .send()
            .await
            .unwrap();
        Some(response.json::<Value>().await.unwrap())
    } else {
        None
    };
    // Each line is written whole as it is logged: killing the process loses none.
    child.kill().unwrap();
    let output = child.wait_with_output().unwrap();
    let log = String::from_utf8(output.stderr).unwrap();
    let answer = answer.unwrap_or_else(|| panic!("webhook did not come up:\n{log}"));
    assert_eq!(answer["response"]["allowed"], true);
    let lines: Vec<Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let reviews: Vec<&Value> = lines
        .iter()
        .filter(|line| line["fields"]["message"] == "admission review")
        .collect();
    assert_eq!(reviews.len(), 1, "{log}");
    let fields = &reviews[0]["fields"];
    assert_eq!(reviews[0]["level"], "INFO");
    assert_eq!(fields["uid"], UID);
    assert_eq!(fields["kind"], "Deployment");
    let review = admission_review("CREATE", &object, None);
    assert_eq!(fields["namespace"], review["request"]["namespace"]);
    assert_eq!(fields["name"], object["metadata"]["name"]);
    assert_eq!(fields["operation"], "CREATE");
    assert_eq!(fields["outcome"], "patched");
    let patched = fields["patched"].as_str().unwrap();
    assert!(patched.contains("allowPrivilegeEscalation"), "{patched}");
    let image = object["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap();
    assert!(!log.contains(image), "object contents logged:\n{log}");
}
