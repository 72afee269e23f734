//! Prometheus counters and the latency histogram served on `GET /metrics`, hand-rolled (a few
//! atomics and one small map) because the text format is simple and a metrics crate would add
//! more build time than it saves.
//!
//! Knows nothing of admission reviews beyond the [`Outcome`] names; the server records, this
//! module renders.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// How a request to `/mutate` ended. One counter each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Allowed with a non-empty patch.
    Patched,
    /// A workload that needed no change (already compliant, or everything left is unfixable).
    Unchanged,
    /// Not ours to judge: another kind or operation, a mirror pod, a skipped namespace, an
    /// UPDATE that leaves the pod template alone, a privileged namespace.
    Skipped,
    /// Denied in `enforce` mode because violations remain that cannot be fixed.
    Denied,
    /// Not a valid AdmissionReview v1 (answered 400).
    Invalid,
    /// The body exceeded the limit (answered 413).
    TooLarge,
    /// The client did not send the request in time (answered 408).
    Timeout,
    /// Refused at once for lack of room: requests or bytes in flight at their limit (503).
    Overloaded,
    /// The review did not finish (or start) before the deadline and was abandoned (503).
    Abandoned,
    /// Anything else the server answered with an error status (a caught panic is a 500).
    Error,
}

impl Outcome {
    const ALL: [Outcome; 10] = [
        Outcome::Patched,
        Outcome::Unchanged,
        Outcome::Skipped,
        Outcome::Denied,
        Outcome::Invalid,
        Outcome::TooLarge,
        Outcome::Timeout,
        Outcome::Overloaded,
        Outcome::Abandoned,
        Outcome::Error,
    ];

    /// The `outcome` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Patched => "patched",
            Outcome::Unchanged => "unchanged",
            Outcome::Skipped => "skipped",
            Outcome::Denied => "denied",
            Outcome::Invalid => "invalid",
            Outcome::TooLarge => "too_large",
            Outcome::Timeout => "timeout",
            Outcome::Overloaded => "overloaded",
            Outcome::Abandoned => "abandoned",
            Outcome::Error => "error",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Upper bounds of the latency buckets, in seconds. Dense below 5 ms, where a healthy webhook
/// lives (the target is p99 < 2 ms), sparse up to the API server's 5 s call timeout.
const LATENCY_BUCKETS: [f64; 12] = [
    0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0, 5.0,
];

/// All counters of one server. Shared by every request through an `Arc`.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: [AtomicU64; Outcome::ALL.len()],
    /// Patched workloads per control (check id); a map because the set of controls belongs to
    /// the engine, not to this module.
    patches: Mutex<BTreeMap<String, u64>>,
    latency_buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_nanos: AtomicU64,
    tls_reloads: AtomicU64,
    tls_reload_failures: AtomicU64,
    connections_open: AtomicU64,
    connections_refused: AtomicU64,
}

impl Metrics {
    /// Counts one `/mutate` request and its latency.
    pub fn record_request(&self, outcome: Outcome, latency: Duration) {
        self.requests[outcome.index()].fetch_add(1, Ordering::Relaxed);
        let seconds = latency.as_secs_f64();
        // Non-cumulative here; rendering accumulates, so a request touches one bucket only.
        if let Some(bucket) = LATENCY_BUCKETS.iter().position(|&bound| seconds <= bound) {
            self.latency_buckets[bucket].fetch_add(1, Ordering::Relaxed);
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
        self.latency_sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// Counts one patched workload per control it changed (each control once per workload).
    pub fn record_patched_controls<'a>(&self, controls: impl IntoIterator<Item = &'a str>) {
        let mut patches = self
            .patches
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for control in controls {
            *patches.entry(control.to_owned()).or_default() += 1;
        }
    }

    /// Counts a certificate reload attempt.
    pub fn record_tls_reload(&self, succeeded: bool) {
        let counter = if succeeded {
            &self.tls_reloads
        } else {
            &self.tls_reload_failures
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn record_connection_opened(&self) {
        self.connections_open.fetch_add(1, Ordering::Relaxed);
    }

    pub fn record_connection_closed(&self) {
        self.connections_open.fetch_sub(1, Ordering::Relaxed);
    }

    /// Counts a connection closed at accept because the limit was reached.
    pub fn record_connection_refused(&self) {
        self.connections_refused.fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(2048);
        out.push_str(
            "# HELP pss_fix_webhook_requests_total AdmissionReview requests by outcome.\n\
             # TYPE pss_fix_webhook_requests_total counter\n",
        );
        for outcome in Outcome::ALL {
            let count = self.requests[outcome.index()].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "pss_fix_webhook_requests_total{{outcome=\"{}\"}} {count}",
                outcome.as_str()
            );
        }

        out.push_str(
            "# HELP pss_fix_webhook_patches_total Patched workloads by control changed.\n\
             # TYPE pss_fix_webhook_patches_total counter\n",
        );
        let patches = self
            .patches
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (control, count) in patches.iter() {
            let _ = writeln!(
                out,
                "pss_fix_webhook_patches_total{{control=\"{}\"}} {count}",
                escape_label(control)
            );
        }
        drop(patches);

        out.push_str(
            "# HELP pss_fix_webhook_request_duration_seconds Time to answer /mutate, body read included.\n\
             # TYPE pss_fix_webhook_request_duration_seconds histogram\n",
        );
        let mut cumulative = 0;
        for (bound, bucket) in LATENCY_BUCKETS.iter().zip(&self.latency_buckets) {
            cumulative += bucket.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "pss_fix_webhook_request_duration_seconds_bucket{{le=\"{bound}\"}} {cumulative}"
            );
        }
        let count = self.latency_count.load(Ordering::Relaxed);
        let sum = self.latency_sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        let _ = writeln!(
            out,
            "pss_fix_webhook_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}\n\
             pss_fix_webhook_request_duration_seconds_sum {sum}\n\
             pss_fix_webhook_request_duration_seconds_count {count}"
        );

        let _ = write!(
            out,
            "# HELP pss_fix_webhook_tls_reloads_total Certificate reloads by result.\n\
             # TYPE pss_fix_webhook_tls_reloads_total counter\n\
             pss_fix_webhook_tls_reloads_total{{result=\"success\"}} {}\n\
             pss_fix_webhook_tls_reloads_total{{result=\"failure\"}} {}\n",
            self.tls_reloads.load(Ordering::Relaxed),
            self.tls_reload_failures.load(Ordering::Relaxed),
        );
        let _ = write!(
            out,
            "# HELP pss_fix_webhook_connections_open Connections open now (all listeners).\n\
             # TYPE pss_fix_webhook_connections_open gauge\n\
             pss_fix_webhook_connections_open {}\n\
             # HELP pss_fix_webhook_connections_refused_total Connections closed at accept because max connections was reached.\n\
             # TYPE pss_fix_webhook_connections_refused_total counter\n\
             pss_fix_webhook_connections_refused_total {}\n",
            self.connections_open.load(Ordering::Relaxed),
            self.connections_refused.load(Ordering::Relaxed),
        );
        out
    }
}

/// Escapes a label value as the text format requires (backslash, quote, newline).
fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative_and_counts_match() {
        let metrics = Metrics::default();
        metrics.record_request(Outcome::Patched, Duration::from_micros(300));
        metrics.record_request(Outcome::Patched, Duration::from_millis(3));
        metrics.record_request(Outcome::Invalid, Duration::from_secs(10));
        let text = metrics.render();
        assert!(text.contains("pss_fix_webhook_requests_total{outcome=\"patched\"} 2\n"));
        assert!(text.contains("pss_fix_webhook_requests_total{outcome=\"invalid\"} 1\n"));
        assert!(text.contains("_bucket{le=\"0.0002\"} 0\n"));
        assert!(text.contains("_bucket{le=\"0.0005\"} 1\n"));
        assert!(text.contains("_bucket{le=\"0.005\"} 2\n"));
        assert!(text.contains("_bucket{le=\"5\"} 2\n"));
        assert!(text.contains("_bucket{le=\"+Inf\"} 3\n"));
        assert!(text.contains("pss_fix_webhook_request_duration_seconds_count 3\n"));
    }

    #[test]
    fn patches_are_counted_per_control_with_escaped_labels() {
        let metrics = Metrics::default();
        metrics.record_patched_controls(["runAsNonRoot", "seccompProfile"]);
        metrics.record_patched_controls(["runAsNonRoot", "odd\"name"]);
        let text = metrics.render();
        assert!(text.contains("pss_fix_webhook_patches_total{control=\"runAsNonRoot\"} 2\n"));
        assert!(text.contains("pss_fix_webhook_patches_total{control=\"seccompProfile\"} 1\n"));
        assert!(text.contains("pss_fix_webhook_patches_total{control=\"odd\\\"name\"} 1\n"));
    }
}
