//! A bounded hostile client for a running webhook on 127.0.0.1: while it attacks, it measures
//! the latency of ordinary reviews sent beside the attack (p50/p99/max, failures), and with
//! `--pid` the webhook's peak RSS. Point it at the webhook directly while a real API server
//! sends it traffic to measure admission p99 there before and during the attack.
//!
//! ```text
//! cargo bench --bench hostile -- --addr 127.0.0.1:8443 --ca ca.crt [--seconds 20]
//!     [--attack all|silent|stall|heavy|oversize|none] [--connections 200] [--pid PID]
//! ```
//!
//! Bounded: loopback addresses only, at most `--connections` (≤ 2,000) sockets at once, at most
//! `--seconds` (≤ 300) of attack. Attacks: `silent` opens TLS-less sockets and says nothing;
//! `stall` sends the headers of a 3 MiB review and half its body, then waits; `heavy` sends
//! the costliest review within the default limits: 1,000 containers and 9,000 hostPath
//! volumes (49,000 JSON values, 0.5 MB); `oversize` announces 64 MiB with
//! `Expect: 100-continue`; `all` mixes them.

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)] // a tool: fail loudly, print results

#[path = "../tests/util/webhook.rs"]
mod webhook_util;

use rustls::pki_types::pem::PemObject as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt as _;

struct Options {
    addr: SocketAddr,
    ca: std::path::PathBuf,
    seconds: u64,
    attack: String,
    connections: usize,
    pid: Option<u32>,
}

fn options() -> Options {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let mut options = Options {
        addr: "127.0.0.1:8443".parse().unwrap(),
        ca: "ca.crt".into(),
        seconds: 20,
        attack: "all".into(),
        connections: 200,
        pid: None,
    };
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--addr" => options.addr = value.parse().unwrap(),
            "--ca" => options.ca = value.into(),
            "--seconds" => options.seconds = value.parse().unwrap(),
            "--attack" => options.attack = value,
            "--connections" => options.connections = value.parse().unwrap(),
            "--pid" => options.pid = Some(value.parse().unwrap()),
            other => panic!("unknown flag {other}"),
        }
    }
    assert!(options.addr.ip().is_loopback(), "loopback addresses only");
    assert!(options.seconds <= 300, "--seconds is at most 300");
    assert!(
        options.connections <= 2_000,
        "--connections is at most 2000"
    );
    options
}

fn tls(ca: &std::path::Path) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// One attacker: repeats its attack on a fresh connection until `stop`.
async fn attacker(
    kind: &'static str,
    options: Arc<Options>,
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
) {
    let connector = tls(&options.ca);
    let mut pod = webhook_util::pod_with_containers(1_000);
    pod["spec"]["volumes"] = (0..9_000)
        .map(|index| serde_json::json!({"name": format!("v{index}"), "hostPath": {"path": "/x"}}))
        .collect();
    let heavy = serde_json::to_vec(&webhook_util::admission_review("CREATE", &pod, None)).unwrap();
    while !stop.load(Ordering::Relaxed) {
        let Ok(tcp) = tokio::net::TcpStream::connect(options.addr).await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        sent.fetch_add(1, Ordering::Relaxed);
        if kind == "silent" {
            let mut tcp = tcp;
            let _ = webhook_util::read_until_closed(&mut tcp, Duration::from_secs(30)).await;
            continue;
        }
        let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
        let Ok(mut stream) = connector.connect(name, tcp).await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let head = |length: usize, extra: &str| {
            format!(
                "POST /mutate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
                 Content-Length: {length}\r\n{extra}\r\n"
            )
        };
        let written = match kind {
            "stall" => {
                let length = 3 * 1024 * 1024;
                let mut bytes = head(length, "").into_bytes();
                bytes.extend(std::iter::repeat_n(b' ', length / 2));
                stream.write_all(&bytes).await
            }
            "heavy" => {
                let mut bytes = head(heavy.len(), "").into_bytes();
                bytes.extend(&heavy);
                stream.write_all(&bytes).await
            }
            _ => {
                stream
                    .write_all(head(64 << 20, "Expect: 100-continue\r\n").as_bytes())
                    .await
            }
        };
        if written.is_ok() {
            let _ = webhook_util::read_until_closed(&mut stream, Duration::from_secs(30)).await;
        }
    }
}

/// Ordinary reviews, one at a time, for `duration`: their latencies and failures.
async fn measure(options: &Options, duration: Duration) -> (Vec<Duration>, usize) {
    let client = webhook_util::client_trusting(&std::fs::read_to_string(&options.ca).unwrap());
    let body = serde_json::to_vec(&webhook_util::admission_review(
        "CREATE",
        &webhook_util::realistic_deployment(),
        None,
    ))
    .unwrap();
    let url = format!("https://{}/mutate", options.addr);
    let (mut latencies, mut failures) = (Vec::new(), 0);
    let started = Instant::now();
    while started.elapsed() < duration {
        let one = Instant::now();
        let answered = client
            .post(&url)
            .header("content-type", "application/json")
            .timeout(Duration::from_secs(10))
            .body(body.clone())
            .send()
            .await;
        match answered {
            Ok(response) if response.status() == 200 => latencies.push(one.elapsed()),
            _ => failures += 1,
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    (latencies, failures)
}

fn report(label: &str, (mut latencies, failures): (Vec<Duration>, usize)) {
    latencies.sort();
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    println!(
        "{label:>16}: {} ok, {failures} failed; p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        latencies.len(),
        at(0.5).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
}

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let options = Arc::new(options());
    let baseline = Duration::from_secs(options.seconds.min(10));
    report("before attack", measure(&options, baseline).await);

    let kinds: Vec<&'static str> = match options.attack.as_str() {
        "all" => vec!["silent", "stall", "heavy", "oversize"],
        "silent" => vec!["silent"],
        "stall" => vec!["stall"],
        "heavy" => vec!["heavy"],
        "oversize" => vec!["oversize"],
        "none" => vec![],
        other => panic!("unknown attack {other}"),
    };
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let mut attackers = Vec::new();
    for index in 0..options.connections {
        if kinds.is_empty() {
            break;
        }
        let kind = kinds[index % kinds.len()];
        attackers.push(tokio::spawn(attacker(
            kind,
            Arc::clone(&options),
            Arc::clone(&stop),
            Arc::clone(&sent),
        )));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    report(
        "during attack",
        measure(&options, Duration::from_secs(options.seconds)).await,
    );
    stop.store(true, Ordering::Relaxed);
    for attacker in attackers {
        attacker.abort();
    }
    println!(
        "{:>16}: {} connections opened by {} attackers ({})",
        "attack",
        sent.load(Ordering::Relaxed),
        options.connections,
        options.attack
    );
    if let Some(pid) = options.pid {
        match webhook_util::peak_rss_kib(pid) {
            Some(kib) => println!(
                "{:>16}: {:.1} MiB (VmHWM of pid {pid})",
                "peak RSS",
                kib as f64 / 1024.0
            ),
            None => println!("{:>16}: unreadable for pid {pid}", "peak RSS"),
        }
    }
}
