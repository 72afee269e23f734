//! Connections: accept, bound their number, TLS, serve HTTP/1.1 and HTTP/2 through hyper, close
//! the ones that idle, and drain them on shutdown.
//!
//! Every connection lives under a deadline: the first request must arrive within
//! [`Limits::first_request_timeout`] of the accept (the TLS handshake included), and a
//! connection with no request in progress is closed after [`Limits::idle_timeout`]. A client
//! that opens sockets and says nothing (or half a preface) thus holds one for seconds, not
//! forever, and never more than [`Limits::max_connections`] at once: beyond that a new
//! connection is closed at accept, counted and logged once per episode, so file descriptors
//! cannot run out.

use super::metrics::Metrics;
use super::Limits;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tower::ServiceExt as _;

/// How long an idle connection being closed may take to say goodbye.
const IDLE_CLOSE_GRACE: Duration = Duration::from_secs(1);

/// How a listener wraps its sockets.
#[derive(Clone)]
pub enum Transport {
    Tls(tokio_rustls::TlsAcceptor),
    /// The separate probes-and-metrics listener: plain HTTP, as kubelet probes and Prometheus
    /// scrapes expect on an internal port.
    Plain,
}

/// Serves `app` on `listener` until `stop` turns true, then closes idle connections, lets the
/// others finish their requests for up to `limits.shutdown_grace`, and drops the rest.
pub async fn serve(
    listener: TcpListener,
    transport: Transport,
    app: Router,
    limits: Limits,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    let open = Arc::new(AtomicUsize::new(0));
    let mut at_limit = false;
    let connection_stop = stop.clone();
    loop {
        tokio::select! {
            () = stopped(&mut stop) => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _peer)) => stream,
                    Err(error) => {
                        // EMFILE and friends: back off instead of spinning on the error.
                        tracing::warn!(%error, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                if open.load(Ordering::Acquire) >= limits.max_connections {
                    metrics.record_connection_refused();
                    if !at_limit {
                        at_limit = true;
                        tracing::warn!(
                            max_connections = limits.max_connections,
                            "connection limit reached, closing new connections until some end"
                        );
                    }
                    drop(stream);
                    continue;
                }
                at_limit = false;
                let _ = stream.set_nodelay(true);
                let guard = OpenGuard::new(&open, &metrics);
                let connection = Connection {
                    app: app.clone(),
                    limits: limits.clone(),
                    stop: connection_stop.clone(),
                };
                let transport = transport.clone();
                connections.spawn(async move {
                    let _guard = guard;
                    connection.run(stream, transport).await;
                });
            }
        }
    }
    drop(listener);
    let drained = tokio::time::timeout(limits.shutdown_grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            open = connections.len(),
            "shutdown grace over, closing the remaining connections"
        );
        connections.abort_all();
    }
}

/// Resolves when `stop` turns true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is not `Send`: drop it here, not across an await.
    let _ = stop.wait_for(|stopped| *stopped).await.is_ok();
}

/// Counts a connection open for as long as it lives.
struct OpenGuard {
    open: Arc<AtomicUsize>,
    metrics: Arc<Metrics>,
}

impl OpenGuard {
    fn new(open: &Arc<AtomicUsize>, metrics: &Arc<Metrics>) -> OpenGuard {
        open.fetch_add(1, Ordering::AcqRel);
        metrics.record_connection_opened();
        OpenGuard {
            open: Arc::clone(open),
            metrics: Arc::clone(metrics),
        }
    }
}

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::AcqRel);
        self.metrics.record_connection_closed();
    }
}

/// What one connection task needs.
struct Connection {
    app: Router,
    limits: Limits,
    stop: watch::Receiver<bool>,
}

/// Requests in progress on one connection and when the last one ended.
#[derive(Default)]
struct Activity {
    active: AtomicUsize,
    served: AtomicU64,
    last_end: Mutex<Option<Instant>>,
    /// Wakes the connection task when a request starts or ends, to move its deadline.
    changed: tokio::sync::Notify,
}

impl Activity {
    /// When the connection becomes closable if nothing happens: `None` while a request runs.
    fn idle_deadline(&self, accepted: Instant, limits: &Limits) -> Option<Instant> {
        if self.active.load(Ordering::Acquire) > 0 {
            return None;
        }
        if self.served.load(Ordering::Acquire) == 0 {
            return Some(accepted + limits.first_request_timeout);
        }
        let last = *self
            .last_end
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Some(last.unwrap_or(accepted) + limits.idle_timeout)
    }
}

/// Marks a request in progress until dropped (also when the request future is dropped).
struct InProgress(Arc<Activity>);

impl InProgress {
    fn new(activity: &Arc<Activity>) -> InProgress {
        activity.active.fetch_add(1, Ordering::AcqRel);
        activity.served.fetch_add(1, Ordering::AcqRel);
        activity.changed.notify_one();
        InProgress(Arc::clone(activity))
    }
}

impl Drop for InProgress {
    fn drop(&mut self) {
        *self
            .0
            .last_end
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Instant::now());
        self.0.active.fetch_sub(1, Ordering::AcqRel);
        self.0.changed.notify_one();
    }
}

impl Connection {
    async fn run(self, stream: tokio::net::TcpStream, transport: Transport) {
        let accepted = Instant::now();
        match transport {
            Transport::Plain => self.http(stream, accepted).await,
            Transport::Tls(acceptor) => {
                let deadline = accepted + self.limits.first_request_timeout;
                match tokio::time::timeout_at(deadline, acceptor.accept(stream)).await {
                    Ok(Ok(tls)) => self.http(tls, accepted).await,
                    Ok(Err(error)) => tracing::debug!(%error, "TLS handshake failed"),
                    Err(_) => tracing::debug!("TLS handshake not finished in time"),
                }
            }
        }
    }

    async fn http<I>(mut self, io: I, accepted: Instant)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let limits = &self.limits;
        let activity = Arc::new(Activity::default());
        let app = self.app.clone();
        let tracked = Arc::clone(&activity);
        let service = tower::service_fn(
            move |request: axum::extract::Request<hyper::body::Incoming>| {
                let in_progress = InProgress::new(&tracked);
                let app = app.clone();
                async move {
                    let response = app.oneshot(request.map(axum::body::Body::new)).await;
                    drop(in_progress);
                    response
                }
            },
        );
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.first_request_timeout);
        builder
            .http2()
            .timer(TokioTimer::new())
            .keep_alive_interval(limits.http2_keep_alive_interval)
            .keep_alive_timeout(limits.http2_keep_alive_timeout)
            .max_concurrent_streams(limits.http2_max_concurrent_streams);
        let connection =
            builder.serve_connection(TokioIo::new(io), TowerToHyperService::new(service));
        tokio::pin!(connection);
        // Once a graceful close starts, when the connection is dropped anyway: after the
        // shutdown grace on shutdown; soon when idle (nothing runs; an HTTP/2 peer only has to
        // answer the GOAWAY's PING).
        let mut close_by: Option<Instant> = None;
        loop {
            let wake = match close_by {
                Some(at) => at,
                None => activity
                    .idle_deadline(accepted, limits)
                    // A request is running: look again when it could have ended.
                    .unwrap_or_else(|| Instant::now() + limits.request_timeout),
            };
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(error) = result {
                        tracing::debug!(%error, "connection ended with an error");
                    }
                    return;
                }
                () = stopped(&mut self.stop), if close_by.is_none() => {
                    connection.as_mut().graceful_shutdown();
                    close_by = Some(Instant::now() + limits.shutdown_grace);
                }
                () = activity.changed.notified(), if close_by.is_none() => {}
                _ = tokio::time::sleep_until(wake) => {
                    if close_by.is_some() {
                        return;
                    }
                    let idle = activity
                        .idle_deadline(accepted, limits)
                        .is_some_and(|deadline| deadline <= Instant::now());
                    if idle {
                        connection.as_mut().graceful_shutdown();
                        close_by = Some(Instant::now() + IDLE_CLOSE_GRACE);
                    }
                }
            }
        }
    }
}
