//! The serving certificate: loaded at start, reloaded when its files change.
//!
//! cert-manager (and kubelet's secret volume) replace the files by swapping a symlink, so the
//! watch follows symlinks and compares modification time and length of both files. A reload
//! only swaps the configuration used for *new* handshakes; established connections keep their
//! session, so nothing is dropped. A half-written pair fails to load and is retried on the next
//! tick while the old certificate keeps serving.

use super::metrics::Metrics;
use super::Error;
use axum_server::tls_rustls::RustlsConfig;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Installs ring as the process-wide rustls provider. Idempotent: a second call (another server
/// in the same test process, or a provider installed by the embedding program) is fine.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Where the certificate chain and key live.
#[derive(Debug, Clone)]
pub struct CertFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl CertFiles {
    /// Loads the pair into a rustls configuration (ALPN h2 and http/1.1).
    pub async fn load(&self) -> Result<RustlsConfig, Error> {
        RustlsConfig::from_pem_file(&self.cert, &self.key)
            .await
            .map_err(|source| self.error(source))
    }

    fn error(&self, source: std::io::Error) -> Error {
        Error::Tls {
            cert: self.cert.clone(),
            key: self.key.clone(),
            source,
        }
    }

    /// What identifies the current contents cheaply; `None` while a file is missing.
    fn stamp(&self) -> Option<[(SystemTime, u64); 2]> {
        let stamp = |path: &Path| {
            let metadata = std::fs::metadata(path).ok()?;
            Some((metadata.modified().ok()?, metadata.len()))
        };
        Some([stamp(&self.cert)?, stamp(&self.key)?])
    }

    /// Polls the files every `interval` and reloads `config` when they change. Runs until the
    /// task is dropped.
    pub async fn watch(self, config: RustlsConfig, interval: Duration, metrics: Arc<Metrics>) {
        let mut loaded = self.stamp();
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let current = self.stamp();
            if current.is_none() || current == loaded {
                continue;
            }
            match config.reload_from_pem_file(&self.cert, &self.key).await {
                Ok(()) => {
                    loaded = current;
                    metrics.record_tls_reload(true);
                    tracing::info!(cert = %self.cert.display(), "reloaded TLS certificate");
                }
                Err(source) => {
                    metrics.record_tls_reload(false);
                    tracing::warn!(error = %self.error(source), "TLS reload failed, keeping the old certificate");
                }
            }
        }
    }
}
