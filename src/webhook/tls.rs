//! The serving certificate, loaded at start and reloaded when its files change, and the
//! optional client-certificate check.
//!
//! cert-manager (and kubelet's secret volume) replace the files by swapping a symlink, so the
//! watch follows symlinks and compares modification time and length of both files. A reload
//! swaps the key the resolver hands to *new* handshakes; established connections keep their
//! session, so nothing is dropped. A half-written pair fails to load and is retried on the next
//! tick while the old certificate keeps serving.
//!
//! With a client CA (`--client-ca`), every handshake must present a certificate that chains to
//! it (the API server presents one through its admission configuration kubeconfig); a client
//! without one never reaches HTTP.

use super::metrics::Metrics;
use super::Error;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{RootCertStore, ServerConfig};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
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

/// The certificate every new handshake gets; swapped whole on reload.
#[derive(Debug)]
pub struct Certificate(RwLock<Arc<CertifiedKey>>);

impl ResolvesServerCert for Certificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let current = self
            .0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Some(Arc::clone(&current))
    }
}

impl CertFiles {
    /// Reads the pair into a key rustls can serve.
    fn read(&self) -> Result<CertifiedKey, Error> {
        let chain = CertificateDer::pem_file_iter(&self.cert)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|error| self.error(std::io::Error::other(error)))?;
        if chain.is_empty() {
            return Err(self.error(std::io::Error::other("no certificate in the file")));
        }
        let key = PrivateKeyDer::from_pem_file(&self.key)
            .map_err(|error| self.error(std::io::Error::other(error)))?;
        let provider = rustls::crypto::CryptoProvider::get_default()
            .cloned()
            .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()));
        let signing = provider
            .key_provider
            .load_private_key(key)
            .map_err(|error| self.error(std::io::Error::other(error)))?;
        Ok(CertifiedKey::new(chain, signing))
    }

    /// Loads the pair for serving.
    pub fn load(&self) -> Result<Arc<Certificate>, Error> {
        Ok(Arc::new(Certificate(RwLock::new(Arc::new(self.read()?)))))
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

    /// Polls the files every `interval` and swaps `certificate` when they change. Runs until
    /// the task is dropped.
    pub async fn watch(
        self,
        certificate: Arc<Certificate>,
        interval: Duration,
        metrics: Arc<Metrics>,
    ) {
        let mut loaded = self.stamp();
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let current = self.stamp();
            if current.is_none() || current == loaded {
                continue;
            }
            match self.read() {
                Ok(key) => {
                    *certificate
                        .0
                        .write()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(key);
                    loaded = current;
                    metrics.record_tls_reload(true);
                    tracing::info!(cert = %self.cert.display(), "reloaded TLS certificate");
                }
                Err(error) => {
                    metrics.record_tls_reload(false);
                    tracing::warn!(%error, "TLS reload failed, keeping the old certificate");
                }
            }
        }
    }
}

/// The rustls configuration of the `/mutate` listener: ALPN h2 and http/1.1, the reloadable
/// certificate, and with `client_ca` a required, verified client certificate.
pub fn server_config(
    certificate: Arc<Certificate>,
    client_ca: Option<&Path>,
) -> Result<Arc<ServerConfig>, Error> {
    let builder = ServerConfig::builder();
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(path) => {
            let invalid = |message: String| Error::ClientCa {
                path: path.to_path_buf(),
                message,
            };
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_file_iter(path).map_err(|e| invalid(e.to_string()))? {
                roots
                    .add(cert.map_err(|e| invalid(e.to_string()))?)
                    .map_err(|e| invalid(e.to_string()))?;
            }
            if roots.is_empty() {
                return Err(invalid("no CA certificate in the file".into()));
            }
            let verifier = WebPkiClientVerifier::builder(Arc::new(roots))
                .build()
                .map_err(|e| invalid(e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder.with_cert_resolver(certificate);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
