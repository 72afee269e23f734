//! The mutating admission webhook: the same engine as the CLI, served over HTTPS to the API
//! server.
//!
//! - [`review`]: the pure function from an AdmissionReview request body to the response
//!   (decides, plans through [`crate::plan::plan`], encodes). Everything testable without a
//!   socket lives there.
//! - [`wire`]: the AdmissionReview types as they are on the wire (serde).
//! - [`server`]: the axum routes: `POST /mutate` behind its limits (size, requests and bytes
//!   in flight, a deadline that abandons a review), `GET /healthz`, `/readyz`, `/metrics`.
//! - [`listener`]: connections: their number, TLS, first-request and idle timeouts, drain.
//! - [`tls`]: certificate loading and reload on file change, client certificates.
//! - [`namespaces`]: the Namespace watch cache for `level: namespace`.
//! - [`metrics`]: the Prometheus counters.
//! - `log`: the JSON log lines.
//!
//! [`serve`] is the blocking entry the CLI calls; [`serve_with`] runs on the caller's runtime
//! with a given listener and shutdown signal (tests, embedding).

pub mod listener;
mod log;
pub mod metrics;
pub mod namespaces;
pub mod review;
pub mod server;
pub mod tls;
pub mod wire;

pub use review::ReviewLimits;

use crate::config::{Config, LevelChoice};
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
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
    #[error("cannot load the client CA `{}`: {message}", path.display())]
    ClientCa { path: PathBuf, message: String },
    #[error("cannot connect to the Kubernetes API for namespace labels: {0}")]
    Kube(kube::Error),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("cannot install the signal handler: {0}")]
    Signal(std::io::Error),
}

/// Everything the webhook needs to run. Build with [`ServeOptions::new`], then adjust.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub listen: SocketAddr,
    pub tls_cert: PathBuf,
    pub tls_key: PathBuf,
    /// Require a client certificate signed by this CA (PEM) on the `/mutate` listener.
    pub client_ca: Option<PathBuf>,
    /// Serve `/healthz`, `/readyz` and `/metrics` here (plain HTTP) instead of on `listen`.
    pub metrics_listen: Option<SocketAddr>,
    pub config: Config,
    /// The cluster connection for namespace labels (used only with `level: namespace`);
    /// `None` infers it: the in-cluster service account, else `KUBECONFIG`.
    pub kube: Option<kube::Config>,
    pub limits: Limits,
}

/// Limits and timings, each with a production default. Together they bound what callers can
/// make the server hold: connections, bytes, reviews, time.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Largest request body: 3 MiB, the API server's own limit on a request body (so on any
    /// object a client can create), plus 64 KiB for the review's own fields. Larger is answered
    /// 413 from its Content-Length, before any of it is read.
    pub max_body_bytes: usize,
    /// Request bodies held at once (being received or reviewed); over it, 503 at once.
    pub max_bytes_in_flight: usize,
    /// `/mutate` requests in progress at once; over it, 503 at once.
    pub max_requests_in_flight: usize,
    /// Reviews computed at once, each on a thread of the blocking pool; the others wait
    /// within their deadline. Also bounds the memory of parsed objects.
    pub review_workers: usize,
    /// Time for the whole request (body, wait, review). A review still running then is
    /// abandoned and answered 503. Below the API server's 10 s maximum, above the
    /// `timeoutSeconds: 5` of deploy/.
    pub request_timeout: Duration,
    /// Time from accept to the first request's headers (TLS handshake included).
    pub first_request_timeout: Duration,
    /// A connection with no request in progress for this long is closed.
    pub idle_timeout: Duration,
    /// HTTP/2 PING interval, and how long an unanswered PING may take before closing.
    pub http2_keep_alive_interval: Duration,
    pub http2_keep_alive_timeout: Duration,
    /// Concurrent streams per HTTP/2 connection.
    pub http2_max_concurrent_streams: u32,
    /// Open connections at once; beyond it a new one is closed at accept (logged, counted).
    pub max_connections: usize,
    /// What one object may make a review hold and send.
    pub review: ReviewLimits,
    /// How often the certificate files are checked for change.
    pub tls_reload_interval: Duration,
    /// After SIGTERM: `/readyz` fails at once and requests are still served for this long,
    /// so endpoints drop the pod before its listener closes.
    pub shutdown_delay: Duration,
    /// Then how long open connections may finish before they are closed.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 3 * 1024 * 1024 + 64 * 1024,
            max_bytes_in_flight: 32 * 1024 * 1024,
            max_requests_in_flight: 256,
            review_workers: std::thread::available_parallelism().map_or(2, usize::from),
            request_timeout: Duration::from_secs(8),
            first_request_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(90),
            http2_keep_alive_interval: Duration::from_secs(20),
            http2_keep_alive_timeout: Duration::from_secs(10),
            http2_max_concurrent_streams: 128,
            max_connections: 512,
            review: ReviewLimits {
                max_object_values: 50_000,
                max_containers: 1_000,
                max_patch_bytes: 3 * 1024 * 1024,
            },
            tls_reload_interval: Duration::from_secs(10),
            shutdown_delay: Duration::from_secs(5),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// Namespaces the webhook leaves alone when no config file says otherwise: the control plane's
/// own pods and the node leases (a broken webhook must not stop the cluster repairing itself).
pub const DEFAULT_SKIP_NAMESPACES: [&str; 2] = ["kube-system", "kube-node-lease"];

/// The webhook's config without a file: the defaults, skipping [`DEFAULT_SKIP_NAMESPACES`].
pub fn default_config() -> Config {
    Config {
        skip_namespaces: DEFAULT_SKIP_NAMESPACES.map(String::from).to_vec(),
        ..Config::default()
    }
}

impl ServeOptions {
    /// Options with default [`Limits`] and the inferred cluster connection.
    pub fn new(listen: SocketAddr, tls_cert: PathBuf, tls_key: PathBuf, config: Config) -> Self {
        ServeOptions {
            listen,
            tls_cert,
            tls_key,
            client_ca: None,
            metrics_listen: None,
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
        .with_env_filter(log::filter(std::env::var("RUST_LOG").ok().as_deref()))
        .try_init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    let served = runtime.block_on(async {
        let listener =
            std::net::TcpListener::bind(options.listen).map_err(|source| Error::Listen {
                addr: options.listen,
                source,
            })?;
        let shutdown = termination_signal()?;
        serve_with(options, listener, shutdown).await
    });
    // A review abandoned at its deadline may still run on the blocking pool: exit without it.
    runtime.shutdown_background();
    served
}

/// Resolves at the first SIGTERM (what the kubelet sends) or SIGINT (Ctrl-C).
fn termination_signal() -> Result<impl Future<Output = ()>, Error> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate()).map_err(Error::Signal)?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(Error::Signal)?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => tracing::info!("SIGTERM received"),
            _ = interrupt.recv() => tracing::info!("SIGINT received"),
        }
    })
}

/// Serves on `listener` (already bound; `options.listen` is ignored) until `shutdown`
/// resolves, then drains: `/readyz` fails at once, requests are still served for
/// [`Limits::shutdown_delay`], then the listeners close and open connections have
/// [`Limits::shutdown_grace`] to finish. Must run inside a tokio runtime.
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
    let listener = tokio_listener(listener, addr)?;
    let metrics_listener = match options.metrics_listen {
        Some(addr) => {
            let bound = std::net::TcpListener::bind(addr)
                .map_err(|source| Error::Listen { addr, source })?;
            Some(tokio_listener(bound, addr)?)
        }
        None => None,
    };

    let files = tls::CertFiles {
        cert: options.tls_cert,
        key: options.tls_key,
    };
    let certificate = files.load()?;
    let tls_config = tls::server_config(Arc::clone(&certificate), options.client_ca.as_deref())?;
    let metrics = Arc::new(metrics::Metrics::default());
    let limits = options.limits;
    let reload = tokio::spawn(files.watch(
        certificate,
        limits.tls_reload_interval,
        Arc::clone(&metrics),
    ));

    let namespaces = match options.config.level {
        LevelChoice::Namespace => Some(namespaces::NamespaceCache::start(options.kube).await?),
        LevelChoice::Fixed(_) => None,
    };
    tracing::info!(
        skip_namespaces = options.config.skip_namespaces.join(",").as_str(),
        "namespaces admitted untouched"
    );
    let state = Arc::new(server::AppState::new(
        options.config,
        namespaces,
        Arc::clone(&metrics),
        &limits,
    ));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let drain = Arc::clone(&state);
    let delay = limits.shutdown_delay;
    tokio::spawn(async move {
        shutdown.await;
        drain.draining.store(true, Ordering::Release);
        tracing::info!(
            delay_ms = delay.as_millis() as u64,
            "draining: /readyz fails, still serving"
        );
        tokio::time::sleep(delay).await;
        tracing::info!("closing the listeners");
        let _ = stop.send(true);
    });

    let separate = metrics_listener.is_some();
    let mut served = tokio::task::JoinSet::new();
    if let Some(metrics_listener) = metrics_listener {
        served.spawn(listener::serve(
            metrics_listener,
            listener::Transport::Plain,
            server::probes(Arc::clone(&state)),
            limits.clone(),
            Arc::clone(&metrics),
            stopped.clone(),
        ));
    }
    served.spawn(listener::serve(
        listener,
        listener::Transport::Tls(tokio_rustls::TlsAcceptor::from(tls_config)),
        server::app(state, !separate),
        limits,
        metrics,
        stopped,
    ));
    tracing::info!(%addr, "serving admission reviews");
    while served.join_next().await.is_some() {}
    reload.abort();
    tracing::info!("stopped");
    Ok(())
}

fn tokio_listener(
    listener: std::net::TcpListener,
    addr: SocketAddr,
) -> Result<tokio::net::TcpListener, Error> {
    listener
        .set_nonblocking(true)
        .and_then(|()| tokio::net::TcpListener::from_std(listener))
        .map_err(|source| Error::Listen { addr, source })
}
