//! Webhook throughput and latency: AdmissionReviews/s and p50/p99 over HTTPS keep-alive with
//! concurrent clients, for a realistic Deployment (two containers, an init container, probes,
//! env, volumes; the answer carries a patch). Baselines in the same run: the same server
//! answering `GET /healthz` (TLS + HTTP cost alone) and `review()` called in-process (engine
//! cost alone).
//!
//! `cargo bench --bench webhook -- [SECONDS] [CONNECTIONS]` (default 5 s, 32 connections).
//! Each review's JSON log line is formatted (into a sink). The server runs on its own 2-worker
//! runtime; the load generator runs in the same process on
//! another runtime, so on a 2-core machine both share the same cores: the numbers are a floor
//! for the server alone.

#![allow(clippy::unwrap_used, clippy::print_stdout)] // a benchmark binary: fail loudly, print results

#[path = "../tests/util/webhook.rs"]
mod webhook_util;

use pss_fix::config::Config;
use pss_fix::pss::{Level, Version};
use pss_fix::webhook::review::{review, Context};
use pss_fix::webhook::{self, ServeOptions};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The binary's allocator, so that in-process numbers (engine and baseline alike) are the
/// binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let seconds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let connections: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(32);
    let duration = Duration::from_secs(seconds);
    // The production log line per review, formatted as JSON as `serve` does, into a sink: its
    // cost is part of the numbers, the terminal's is not.
    tracing_subscriber::fmt()
        .json()
        .with_writer(std::io::sink)
        .init();

    let body = serde_json::to_vec(&webhook_util::admission_review(
        "CREATE",
        &webhook_util::realistic_deployment(),
        None,
    ))
    .unwrap();
    println!(
        "webhook bench: realistic Deployment, AdmissionReview {} bytes, {seconds} s per run, {connections} keep-alive HTTP/1.1 connections, {} cores",
        body.len(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    in_process_baseline(&body, duration);

    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    let pki = webhook_util::Pki::generate();
    pki.install(&cert, &key);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let options = ServeOptions::new(addr, cert, key, Config::default());
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    server.spawn(webhook::serve_with(
        options,
        listener,
        std::future::pending(),
    ));

    let clients = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let client = reqwest::Client::builder()
        .http1_only()
        .pool_max_idle_per_host(connections)
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(pki.ca_pem.as_bytes()).unwrap())
        .build()
        .unwrap();
    let base = format!("https://{addr}");
    clients.block_on(async {
        // Warm up: open the connections, fill caches.
        load(&client, &base, None, connections, Duration::from_secs(1)).await;
        let healthz = load(&client, &base, None, connections, duration).await;
        healthz.print("GET /healthz over HTTPS (transport baseline)");
        let mutate = load(&client, &base, Some(Arc::new(body)), connections, duration).await;
        mutate.print("POST /mutate over HTTPS (AdmissionReview with patch)");
    });
}

/// `review()` on one thread, no server: what the engine costs per request.
fn in_process_baseline(body: &[u8], duration: Duration) {
    let config = Config::default();
    let policies = pss_fix::manifest::Policies::new(config.clone(), config.default_level);
    let context = Context::new(&policies);
    let mut latencies = Vec::new();
    let started = Instant::now();
    while started.elapsed() < duration {
        let one = Instant::now();
        let answer = review(body, context);
        latencies.push(one.elapsed());
        assert!(answer.response.response.patch.is_some());
    }
    Results::new(latencies, started.elapsed())
        .print("review() in-process, 1 thread (engine baseline)");

    // The engine core alone: what review() adds (JSON parse, envelope, base64) is the rest.
    let object = webhook_util::realistic_deployment();
    let workload = pss_fix::workload::workloads(&object).remove(0);
    let policy = config
        .policy_for(&workload, Level::Restricted, Version::Latest)
        .expect("the skip annotations name controls");
    let mut latencies = Vec::new();
    let started = Instant::now();
    while started.elapsed() < duration {
        let one = Instant::now();
        let plan = pss_fix::plan::plan(&object, &policy);
        latencies.push(one.elapsed());
        assert!(!plan.patch.0.is_empty());
    }
    Results::new(latencies, started.elapsed()).print("plan::plan() alone, 1 thread (engine core)");
}

struct Results {
    latencies: Vec<Duration>,
    elapsed: Duration,
    errors: usize,
}

impl Results {
    fn new(mut latencies: Vec<Duration>, elapsed: Duration) -> Results {
        latencies.sort_unstable();
        Results {
            latencies,
            elapsed,
            errors: 0,
        }
    }

    fn percentile(&self, p: f64) -> Duration {
        let index = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies.get(index).copied().unwrap_or_default()
    }

    fn print(&self, label: &str) {
        println!(
            "{label:<55} {:>9.0} req/s   p50 {:>7.3} ms   p99 {:>7.3} ms   p99.9 {:>7.3} ms   n={} errors={}",
            self.latencies.len() as f64 / self.elapsed.as_secs_f64(),
            self.percentile(0.50).as_secs_f64() * 1e3,
            self.percentile(0.99).as_secs_f64() * 1e3,
            self.percentile(0.999).as_secs_f64() * 1e3,
            self.latencies.len(),
            self.errors,
        );
    }
}

/// `connections` tasks each sending requests back to back for `duration`: POST `/mutate` with
/// `body`, or GET `/healthz` without.
async fn load(
    client: &reqwest::Client,
    base: &str,
    body: Option<Arc<Vec<u8>>>,
    connections: usize,
    duration: Duration,
) -> Results {
    let started = Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let client = client.clone();
            let body = body.clone();
            let (healthz, mutate) = (format!("{base}/healthz"), format!("{base}/mutate"));
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0;
                while Instant::now() < deadline {
                    let one = Instant::now();
                    let request = match &body {
                        Some(body) => client
                            .post(&mutate)
                            .header("content-type", "application/json")
                            .body(body.as_ref().clone()),
                        None => client.get(&healthz),
                    };
                    match request.send().await {
                        Ok(response) if response.status().is_success() => {
                            let _ = response.bytes().await;
                            latencies.push(one.elapsed());
                        }
                        _ => errors += 1,
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (latencies, failed) = task.await.unwrap();
        all.extend(latencies);
        errors += failed;
    }
    let mut results = Results::new(all, started.elapsed());
    results.errors = errors;
    results
}
