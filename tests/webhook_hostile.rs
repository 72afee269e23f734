//! Issue 15: the real binary over real HTTPS against hostile and unlucky callers. Each test
//! starts `pss-fix webhook` with short limits and checks one bound: time, size, bytes and
//! requests in flight, connections, drain, who may call, what is logged and echoed.

use crate::util::webhook as webhook_util;

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt as _;
use webhook_util::*;

fn body(review: &Value) -> Vec<u8> {
    serde_json::to_vec(review).unwrap()
}

/// A review that outlives its deadline is abandoned with a clear 503; probes answer while it
/// runs; SIGTERM does not wait for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_heavy_review_is_abandoned_and_blocks_neither_probes_nor_shutdown() {
    let mut server = Binary::start(
        &[
            "--request-timeout=300ms",
            "--shutdown-delay=0ms",
            "--max-object-values=1000000",
            "--max-containers=100000",
        ],
        false,
    )
    .await;
    // 90,000 containers (2.8 MB): seconds of work in a debug build.
    let heavy = body(&admission_review(
        "CREATE",
        &pod_with_containers(90_000),
        None,
    ));
    let started = Instant::now();
    let posting = {
        let client = server.client();
        let url = server.url("/mutate");
        tokio::spawn(async move {
            let response = client.post(url).body(heavy).send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        })
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    let probe_started = Instant::now();
    let (status, _) = server.probe("/healthz").await.unwrap();
    assert_eq!(status, 200);
    assert!(
        probe_started.elapsed() < Duration::from_secs(1),
        "probe starved"
    );

    let (status, answer) = posting.await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(3), "answered late");
    assert_eq!(status, 503, "{answer}");
    let message = answer["response"]["status"]["message"].as_str().unwrap();
    assert!(message.contains("deadline; abandoned"), "{message}");
    assert!(server
        .metrics()
        .await
        .contains("requests_total{outcome=\"abandoned\"} 1\n"));

    server.terminate();
    let code = server.exited_within(Duration::from_secs(2)).await;
    assert_eq!(code, Some(0), "shutdown waited for the abandoned review");
}

/// A review's memory is bounded by `--max-object-values` and `--max-containers`, not by the
/// caller: bodies near 3 MiB of the costliest shapes (dense maps, bare containers: 0.3 and
/// 1.8 GB of RSS without the limits) are not reviewed, the costliest object within the
/// default limits is, and the peak RSS stays far below the 256 Mi of deploy/.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_memory_is_bounded_by_the_object_limits() {
    let server = Binary::start(&[], false).await;
    let mut dense = pod_with_containers(1);
    dense["spec"]["x"] = (0..380_000).map(|_| json!({"a": 0})).collect();
    let mut costliest = pod_with_containers(1_000);
    costliest["spec"]["volumes"] = (0..9_000)
        .map(|index| json!({"name": format!("v{index}"), "hostPath": {"path": "/x"}}))
        .collect();
    for (object, warning) in [
        (&dense, "JSON values, over the limit of 50000"),
        (
            &pod_with_containers(90_000),
            "JSON values, over the limit of 50000",
        ),
        (
            &pod_with_containers(1_001),
            "1001 containers, over the limit of 1000",
        ),
        (&costliest, "pss-fix cannot fix restrictedVolumes"),
    ] {
        let (status, answer) = server
            .post(body(&admission_review("CREATE", object, None)))
            .await;
        assert_eq!(status, 200, "{answer}");
        let response = &answer["response"];
        assert_eq!(response["allowed"], true);
        assert!(response.get("patch").is_none(), "{warning}");
        let warnings = response["warnings"].to_string();
        assert!(warnings.contains(warning), "{warnings}");
    }
    let peak_kib = peak_rss_kib(server.child.id()).unwrap();
    assert!(peak_kib < 200 * 1024, "peak RSS {peak_kib} KiB");
}

/// A Content-Length over the limit is answered 413 at once, and `100 Continue` is never sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_content_length_gets_413_at_once_without_continue() {
    let server = Binary::start(&[], false).await;
    let mut stream = server.raw_tls(&[b"http/1.1"]).await;
    stream
        .write_all(
            b"POST /mutate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
              Content-Length: 6291456\r\nExpect: 100-continue\r\n\r\n",
        )
        .await
        .unwrap();
    let started = Instant::now();
    let (answer, _) = read_until_closed(&mut stream, Duration::from_secs(2)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413 "), "{answer}");
    assert!(!answer.contains("100 Continue"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(
        answer.contains("over the limit of 3211264 bytes"),
        "{answer}"
    );
}

/// Stalled uploads hold at most the configured requests and bytes; beyond, 503 at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_and_bytes_in_flight_are_bounded() {
    let server = Binary::start(
        &[
            "--max-requests-in-flight=2",
            "--max-bytes-in-flight=100000",
            "--request-timeout=2s",
        ],
        true,
    )
    .await;
    let server = &server;
    let stall = |length: usize| async move {
        let header = format!(
            "POST /mutate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {length}\r\n\r\n{{"
        );
        let mut stream = server.raw_tls(&[b"http/1.1"]).await;
        stream.write_all(header.as_bytes()).await.unwrap();
        stream
    };
    // 90 kB of the 100 kB budget held by a stalled upload: a 20 kB request gets 503 at once.
    let _big = stall(90_000).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let review = admission_review("CREATE", &realistic_deployment(), None);
    let mut padded = review.clone();
    padded["request"]["object"]["metadata"]["annotations"]["pad"] = json!("x".repeat(20_000));
    let started = Instant::now();
    let (status, answer) = server.post(body(&padded)).await;
    assert_eq!(status, 503, "{answer}");
    assert!(started.elapsed() < Duration::from_millis(500));
    assert_eq!(
        answer["response"]["status"]["message"],
        "too many request bytes in flight"
    );
    // A second stalled upload fills the request slots: the next is refused at once.
    let _small = stall(1_000).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let (status, answer) = server.post(body(&review)).await;
    assert_eq!(status, 503, "{answer}");
    assert_eq!(
        answer["response"]["status"]["message"],
        "too many requests in flight"
    );
    assert!(started.elapsed() < Duration::from_millis(500));
    let metrics = server.metrics().await;
    assert!(
        metrics.contains("requests_total{outcome=\"overloaded\"} 2\n"),
        "{metrics}"
    );
}

/// Silent connections (and half an HTTP/2 preface) are closed after the first-request
/// timeout; beyond max connections a new one is closed at accept, logged and counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_connections_time_out_and_are_capped() {
    let server = Binary::start(
        &["--first-request-timeout=500ms", "--max-connections=3"],
        true,
    )
    .await;
    let mut silent = Vec::new();
    for _ in 0..2 {
        silent.push(tokio::net::TcpStream::connect(server.addr).await.unwrap());
    }
    let mut preface = server.raw_tls(&[b"h2"]).await;
    preface.write_all(b"PRI * HTTP/2.0\r\n").await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;

    let mut refused = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let (_, closed) = read_until_closed(&mut refused, Duration::from_millis(300)).await;
    assert!(
        closed,
        "a connection over the limit should be closed at accept"
    );
    let metrics = server.metrics().await;
    assert!(
        metrics.contains("pss_fix_webhook_connections_refused_total 1\n"),
        "{metrics}"
    );
    assert!(
        server.log().contains("connection limit reached"),
        "{}",
        server.log()
    );

    let started = Instant::now();
    let (_, closed) = read_until_closed(&mut preface, Duration::from_secs(3)).await;
    assert!(closed, "half a preface should not hold a connection");
    for stream in &mut silent {
        let (_, closed) = read_until_closed(stream, Duration::from_secs(3)).await;
        assert!(closed, "a silent connection should be closed");
    }
    assert!(started.elapsed() < Duration::from_secs(2));
    let (status, _) = server
        .post(body(&admission_review(
            "CREATE",
            &realistic_deployment(),
            None,
        )))
        .await;
    assert_eq!(status, 200);
}

/// The HTTP/2 frames a client needs for one `GET /healthz` on stream 1.
fn h2_request() -> Vec<u8> {
    let mut bytes = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    bytes.extend([0, 0, 0, 4, 0, 0, 0, 0, 0]); // SETTINGS, empty
                                               // :method GET, :scheme https, :path /healthz, :authority 127.0.0.1 (HPACK literals).
    let mut block = vec![0x82, 0x87, 0x44, 8];
    block.extend(b"/healthz");
    block.extend([0x41, 9]);
    block.extend(b"127.0.0.1");
    let length = u8::try_from(block.len()).unwrap();
    bytes.extend([0, 0, length, 1, 0x05, 0, 0, 0, 1]); // HEADERS, END_STREAM | END_HEADERS
    bytes.extend(block);
    bytes
}

/// The frame types (with flags) in `bytes`, a sequence of whole HTTP/2 frames.
fn h2_frames(bytes: &[u8]) -> Vec<(u8, u8)> {
    let mut frames = Vec::new();
    let mut at = 0;
    while at + 9 <= bytes.len() {
        let length = usize::from(bytes[at]) << 16
            | usize::from(bytes[at + 1]) << 8
            | usize::from(bytes[at + 2]);
        frames.push((bytes[at + 3], bytes[at + 4]));
        at += 9 + length;
    }
    frames
}

const GOAWAY: u8 = 7;
const PING: u8 = 6;

/// An HTTP/2 connection idle past the idle timeout gets GOAWAY and is closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_http2_connections_are_closed() {
    let server = Binary::start(&["--idle-timeout=300ms", "--http2-keep-alive=60s"], false).await;
    let mut stream = server.raw_tls(&[b"h2"]).await;
    stream.write_all(&h2_request()).await.unwrap();
    let (read, closed) = read_until_closed(&mut stream, Duration::from_secs(3)).await;
    assert!(closed, "an idle HTTP/2 connection should be closed");
    assert!(h2_frames(&read).iter().any(|(kind, _)| *kind == GOAWAY));
}

/// A peer that stops answering HTTP/2 PINGs is disconnected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_peers_that_do_not_answer_pings_are_closed() {
    let server = Binary::start(&["--idle-timeout=60s", "--http2-keep-alive=200ms"], false).await;
    let mut stream = server.raw_tls(&[b"h2"]).await;
    stream.write_all(&h2_request()).await.unwrap();
    let (read, closed) = read_until_closed(&mut stream, Duration::from_secs(3)).await;
    assert!(closed, "a peer ignoring PINGs should be closed");
    assert!(h2_frames(&read).contains(&(PING, 0)), "no PING sent");
}

/// SIGTERM: `/readyz` fails at once, reviews are still served during the delay, then exit 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_readiness_first() {
    let mut server = Binary::start(&["--shutdown-delay=1500ms"], true).await;
    assert_eq!(server.probe("/readyz").await.unwrap().0, 200);
    let terminated = Instant::now();
    server.terminate();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(server.probe("/readyz").await.unwrap().0, 503);
    let (status, _) = server
        .post(body(&admission_review(
            "CREATE",
            &realistic_deployment(),
            None,
        )))
        .await;
    assert_eq!(status, 200, "reviews should be served during the delay");
    let code = server.exited_within(Duration::from_secs(10)).await;
    assert_eq!(code, Some(0));
    assert!(terminated.elapsed() >= Duration::from_millis(1500));
}

/// With `--client-ca`, a client without a certificate from that CA gets no answer; one with
/// it does. Probes stay reachable on `--metrics-listen`, and `/metrics` is not on the
/// review port.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificates_are_required_with_a_client_ca() {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let client_ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let client_key = KeyPair::generate().unwrap();
    let client_cert = CertificateParams::new(vec!["kube-apiserver".to_owned()])
        .unwrap()
        .signed_by(&client_key, &client_ca)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("client-ca.crt");
    std::fs::write(&ca_file, client_ca.pem()).unwrap();
    let ca_arg = format!("--client-ca={}", ca_file.display());
    let server = Binary::start(&[&ca_arg], true).await;
    let review = body(&admission_review("CREATE", &realistic_deployment(), None));

    let anonymous = server
        .client()
        .post(server.url("/mutate"))
        .body(review.clone())
        .send()
        .await;
    assert!(
        anonymous.is_err(),
        "a client without a certificate was answered"
    );

    let identity = reqwest::Identity::from_pem(
        format!("{}{}", client_cert.pem(), client_key.serialize_pem()).as_bytes(),
    )
    .unwrap();
    let trusted = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(server.pki.ca_pem.as_bytes()).unwrap())
        .identity(identity)
        .build()
        .unwrap();
    let response = trusted
        .post(server.url("/mutate"))
        .body(review)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let response = trusted.get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(
        response.status(),
        404,
        "/metrics should be on the probes listener only"
    );
    assert_eq!(server.probe("/readyz").await.unwrap().0, 200);
    assert!(server.metrics().await.contains("outcome=\"patched\"} 1\n"));
}

/// A 1 MB apiVersion or uid gives neither a 1 MB answer nor a 1 MB log line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echoed_and_logged_fields_are_capped() {
    let server = Binary::start(&[], false).await;
    let long = "v".repeat(1_000_000);
    let mut review = admission_review("CREATE", &realistic_deployment(), None);
    review["apiVersion"] = json!(long);
    let (status, answer) = server.post(body(&review)).await;
    assert_eq!(status, 400);
    assert!(
        answer.to_string().len() < 2_000,
        "{} bytes",
        answer.to_string().len()
    );

    let mut review = admission_review("CREATE", &realistic_deployment(), None);
    review["request"]["uid"] = json!(long);
    review["request"]["name"] = json!(long);
    review["request"]["namespace"] = json!(long);
    let (status, answer) = server.post(body(&review)).await;
    assert_eq!(status, 200);
    assert!(answer.to_string().len() < 20_000);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let log = server.log();
    assert!(log.contains("\"uid\":\"vvv"), "{log}");
    assert!(
        log.lines().all(|line| line.len() < 4_000),
        "a long log line"
    );
}

/// 404 and 405 are plain HTTP answers, not InternalError, and not counted as reviews.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_paths_and_methods_are_not_errors() {
    let server = Binary::start(&[], false).await;
    let response = server
        .client()
        .get(server.url("/mutate"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert!(!response.text().await.unwrap().contains("InternalError"));
    let response = server
        .client()
        .post(server.url("/nowhere"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert!(!response.text().await.unwrap().contains("InternalError"));
    let metrics = server.metrics().await;
    assert!(
        metrics.contains("requests_total{outcome=\"error\"} 0\n"),
        "{metrics}"
    );
    assert!(!metrics.contains("} 1\n"), "{metrics}");
}

/// One warning per control, with a count, however many volumes or containers; a patch over
/// `--max-patch-bytes` is not sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warnings_and_patches_are_capped() {
    let server = Binary::start(&["--max-patch-bytes=20000"], false).await;
    let pod = pod_with_containers(300);
    let (status, answer) = server
        .post(body(&admission_review("CREATE", &pod, None)))
        .await;
    assert_eq!(status, 200);
    let warnings = answer["response"]["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings
            .iter()
            .any(|w| w.as_str().unwrap().contains("over the limit of 20000")),
        "{warnings:?}"
    );
    assert!(answer["response"].get("patch").is_none());

    let mut pod = pod_with_containers(3);
    pod["spec"]["volumes"] = (0..300)
        .map(|index| json!({"name": format!("v{index}"), "hostPath": {"path": "/x"}}))
        .collect();
    let (_, answer) = server
        .post(body(&admission_review("CREATE", &pod, None)))
        .await;
    let warnings: Vec<&str> = answer["response"]["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    let host_path: Vec<&&str> = warnings
        .iter()
        .filter(|w| w.contains("/spec/volumes/0/hostPath"))
        .collect();
    assert_eq!(host_path.len(), 1, "{warnings:?}");
    assert!(host_path[0].ends_with("(+299 more)"), "{warnings:?}");
    assert!(warnings.len() < 10, "{warnings:?}");
}

/// Without a config the webhook skips kube-system and kube-node-lease and says so; an empty
/// or multi-document config is an error at start-up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_files_and_default_skipped_namespaces() {
    let server = Binary::start(&[], false).await;
    assert!(
        server
            .log()
            .contains("\"skip_namespaces\":\"kube-system,kube-node-lease\""),
        "{}",
        server.log()
    );
    let mut pod = realistic_deployment();
    pod["metadata"]["namespace"] = json!("kube-system");
    let (_, answer) = server
        .post(body(&admission_review("CREATE", &pod, None)))
        .await;
    assert!(answer["response"].get("patch").is_none(), "{answer}");

    for (text, reason) in [
        ("", "found none"),
        ("# only a comment\n", "found none"),
        (
            "level: restricted\n---\nlevel: baseline\n",
            "found 2 documents",
        ),
    ] {
        let config = server.dir.path().join("config.yaml");
        std::fs::write(&config, text).unwrap();
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_pss-fix"))
            .args([
                "webhook",
                "--listen",
                &free_addr().to_string(),
                "--tls-cert",
            ])
            .arg(server.dir.path().join("tls.crt"))
            .arg("--tls-key")
            .arg(server.dir.path().join("tls.key"))
            .arg("--config")
            .arg(&config)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{text:?}");
        let errors = String::from_utf8_lossy(&output.stderr);
        assert!(errors.contains(reason), "{text:?}: {errors}");
    }
}

/// A ClientHello whose SNI is an IP address (rustls warns once per handshake) leaves no line in
/// the log, however many are sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ip_address_sni_does_not_flood_the_log() {
    let server = Binary::start(&[], false).await;
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(rustls::RootCertStore::empty())
    .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("abc.local").unwrap();
    let mut connection = rustls::ClientConnection::new(std::sync::Arc::new(config), name).unwrap();
    let mut hello = Vec::new();
    connection.write_tls(&mut hello).unwrap();
    let at = hello.windows(9).position(|w| w == b"abc.local").unwrap();
    hello[at..at + 9].copy_from_slice(b"127.0.0.1");
    for _ in 0..20 {
        let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        stream.write_all(&hello).await.unwrap();
        let _ = read_until_closed(&mut stream, Duration::from_millis(500)).await;
    }
    let log = server.log();
    assert!(!log.contains("SNI"), "{log}");
}
