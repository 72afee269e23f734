//! The mutating admission webhook: the same engine as the CLI, served over HTTPS to the API
//! server.
//!
//! - [`review`]: the pure function from an AdmissionReview request body to the response
//!   (decides, plans through [`crate::plan::plan`], encodes). Everything testable without a
//!   socket lives there.
//! - [`server`]: the axum shell: `POST /mutate`, `GET /healthz`, `/readyz`, `/metrics`, body
//!   limit, timeouts, panic isolation, one log line per review.
//! - [`tls`]: certificate loading and reload on file change.
//! - [`namespaces`]: the Namespace watch cache for `level: namespace`.
//! - [`metrics`]: the Prometheus counters.
//! - `log`: the JSON log lines.
//!
//! [`serve`] is the blocking entry the CLI calls; [`serve_with`] runs on the caller's runtime
//! with a given listener and shutdown signal (tests, embedding).

mod log;
pub mod metrics;
pub mod namespaces;
pub mod review;
pub mod server;
pub mod tls;

use crate::config::{Config, LevelChoice};
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("cannot listen on `{addr}`: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot load TLS certificate `{}` and key `{}`: {source}", cert.display(), key.display())]
    Tls {
        cert: PathBuf,
        key: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot connect to the Kubernetes API for namespace labels: {0}")]
    Kube(kube::Error),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("cannot install the signal handler: {0}")]
    Signal(std::io::Error),
    #[error("server failed: {0}")]
    Serve(std::io::Error),
}

/// Everything the webhook needs to run. Build with [`ServeOptions::new`], then adjust.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub listen: SocketAddr,
    pub tls_cert: PathBuf,
    pub tls_key: PathBuf,
    pub config: Config,
    /// The cluster connection for namespace labels (used only with `level: namespace`);
    /// `None` infers it: the in-cluster service account, else `KUBECONFIG`.
    pub kube: Option<kube::Config>,
    pub limits: Limits,
}

/// Limits and timings, each with a production default.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Largest request body. An UPDATE review carries object and oldObject, each up to
    /// etcd's 1.5 MiB default, plus the review's own fields: 6 MiB leaves room for both.
    pub max_body_bytes: usize,
    /// Time for a client to send the request headers (slowloris guard).
    pub header_read_timeout: Duration,
    /// Time for the whole request, body read and review included (answered 408). The API
    /// server gives up after the webhook's `timeoutSeconds` (5 in deploy/) anyway.
    pub request_timeout: Duration,
    /// How often the certificate files are checked for change.
    pub tls_reload_interval: Duration,
    /// After SIGTERM, how long open connections may finish before they are closed.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 6 * 1024 * 1024,
            header_read_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            tls_reload_interval: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(20),
        }
    }
}

impl ServeOptions {
    /// Options with default [`Limits`] and the inferred cluster connection.
    pub fn new(listen: SocketAddr, tls_cert: PathBuf, tls_key: PathBuf, config: Config) -> Self {
        ServeOptions {
            listen,
            tls_cert,
            tls_key,
            config,
            kube: None,
            limits: Limits::default(),
        }
    }
}

/// Runs the webhook until SIGTERM or SIGINT, then drains: blocking, with its own tokio runtime
/// (one worker per core). Logs go to stderr as JSON lines through `tracing` (filter with
/// `RUST_LOG`, default `info`) unless the caller installed a subscriber already.
pub fn serve(options: ServeOptions) -> Result<(), Error> {
    let _ = tracing_subscriber::fmt()
        .event_format(log::JsonLines)
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .try_init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    runtime.block_on(async {
        let listener =
            std::net::TcpListener::bind(options.listen).map_err(|source| Error::Listen {
                addr: options.listen,
                source,
            })?;
        let shutdown = termination_signal()?;
        serve_with(options, listener, shutdown).await
    })
}

/// Resolves at the first SIGTERM (what the kubelet sends) or SIGINT (Ctrl-C).
fn termination_signal() -> Result<impl Future<Output = ()>, Error> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate()).map_err(Error::Signal)?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(Error::Signal)?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => tracing::info!("SIGTERM received, shutting down"),
            _ = interrupt.recv() => tracing::info!("SIGINT received, shutting down"),
        }
    })
}

/// Serves on `listener` (already bound; `options.listen` is ignored) until `shutdown`
/// resolves, then stops accepting, fails `/readyz`, and lets open connections finish for
/// [`Limits::shutdown_grace`]. Must run inside a tokio runtime.
pub async fn serve_with(
    options: ServeOptions,
    listener: std::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    tls::install_crypto_provider();
    let addr = listener.local_addr().map_err(|source| Error::Listen {
        addr: options.listen,
        source,
    })?;
    listener
        .set_nonblocking(true)
        .map_err(|source| Error::Listen { addr, source })?;

    let files = tls::CertFiles {
        cert: options.tls_cert,
        key: options.tls_key,
    };
    let tls_config = files.load().await?;
    let metrics = Arc::new(metrics::Metrics::default());
    let limits = options.limits;
    let reload = tokio::spawn(files.watch(
        tls_config.clone(),
        limits.tls_reload_interval,
        Arc::clone(&metrics),
    ));

    let namespaces = match options.config.level {
        LevelChoice::Namespace => Some(namespaces::NamespaceCache::start(options.kube).await?),
        LevelChoice::Fixed(_) => None,
    };
    let state = Arc::new(server::AppState {
        config: options.config,
        namespaces,
        metrics,
        draining: AtomicBool::new(false),
    });
    let app = server::app(
        Arc::clone(&state),
        limits.max_body_bytes,
        limits.request_timeout,
    );

    let handle = axum_server::Handle::new();
    let drain = handle.clone();
    let grace = limits.shutdown_grace;
    tokio::spawn(async move {
        shutdown.await;
        state.draining.store(true, Ordering::Release);
        drain.graceful_shutdown(Some(grace));
    });

    let mut server = axum_server::from_tcp_rustls(listener, tls_config)
        .map_err(|source| Error::Listen { addr, source })?
        .handle(handle);
    server
        .http_builder()
        .http1()
        .header_read_timeout(Some(limits.header_read_timeout));
    tracing::info!(%addr, "serving admission reviews");
    let served = server.serve(app.into_make_service()).await;
    reload.abort();
    served.map_err(Error::Serve)
}
