//! The HTTP routes around [`review`]: `/mutate` behind its limits, the probes and the metrics.
//! Every policy decision is made by the pure function; this module only moves bytes, bounds
//! what a caller can make us hold, and counts.
//!
//! A `/mutate` request passes, in order: a Content-Length no larger than the body limit
//! (else 413 before a byte of the body is read, so no `100 Continue` is ever sent for it), a
//! free slot among the requests in flight and room among the bytes in flight (else 503 at
//! once), the
//! body read before the deadline (else 408), a review worker free before the deadline, and the
//! review finished before it (else 503, the review abandoned on its worker). Each answer says
//! why in an AdmissionReview status.

use super::metrics::{Metrics, Outcome};
use super::namespaces::NamespaceCache;
use super::review::{self, capped, Context, NamespaceLabels, ReviewLimits};
use super::Limits;
use crate::config::Config;
use crate::manifest::Policies;
use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tower_http::catch_panic::CatchPanicLayer;

/// What every request handler shares.
pub struct AppState {
    pub policies: Policies,
    pub namespaces: Option<NamespaceCache>,
    pub metrics: Arc<Metrics>,
    /// Set when shutdown starts, so `/readyz` fails while connections drain.
    pub draining: AtomicBool,
    max_body_bytes: usize,
    review_limits: ReviewLimits,
    request_timeout: Duration,
    max_requests_in_flight: usize,
    requests_in_flight: AtomicUsize,
    /// KiB of request bodies held, as permits.
    bytes_in_flight: Arc<Semaphore>,
    bytes_in_flight_kib: u32,
    /// One permit per review worker; an abandoned review keeps its permit until it ends, so
    /// abandoned work never adds to the CPU the running reviews use.
    review_workers: Arc<Semaphore>,
}

impl AppState {
    /// The state for `config` under `limits`. The level rule is the CLI's: the config's level,
    /// or with `level: namespace` the namespace's labels, else `defaultLevel` (privileged
    /// without one, as PSA).
    pub fn new(
        config: Config,
        namespaces: Option<NamespaceCache>,
        metrics: Arc<Metrics>,
        limits: &Limits,
    ) -> AppState {
        let default_level = config.default_level;
        let kib = u32::try_from(limits.max_bytes_in_flight.div_ceil(1024))
            .unwrap_or(u32::MAX >> 3)
            .clamp(1, Semaphore::MAX_PERMITS as u32);
        AppState {
            policies: Policies::new(config, default_level),
            namespaces,
            metrics,
            draining: AtomicBool::new(false),
            max_body_bytes: limits.max_body_bytes,
            review_limits: limits.review,
            request_timeout: limits.request_timeout,
            max_requests_in_flight: limits.max_requests_in_flight,
            requests_in_flight: AtomicUsize::new(0),
            bytes_in_flight: Arc::new(Semaphore::new(kib as usize)),
            bytes_in_flight_kib: kib,
            review_workers: Arc::new(Semaphore::new(limits.review_workers.max(1))),
        }
    }

    fn context(&self) -> Context<'_> {
        Context {
            policies: &self.policies,
            namespaces: self
                .namespaces
                .as_ref()
                .map(|cache| cache as &dyn NamespaceLabels),
            limits: self.review_limits,
        }
    }
}

/// The router of the main listener: `/mutate`, and with `with_probes` also the probes and
/// metrics (without, they are on their own listener: [`probes`]).
pub fn app(state: Arc<AppState>, with_probes: bool) -> Router {
    let reviews = guarded(
        Router::new().route("/mutate", post(mutate)),
        Arc::clone(&state),
    );
    if with_probes {
        reviews.merge(probes(state))
    } else {
        reviews
    }
}

/// `/healthz`, `/readyz` and `/metrics`.
pub fn probes(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

/// Wraps the review routes in the layers that keep one bad request from hurting the others.
/// Later layers wrap earlier ones: `observe` sees every outcome, a caught panic (500) too.
fn guarded(reviews: Router<Arc<AppState>>, state: Arc<AppState>) -> Router {
    reviews
        .route_layer(CatchPanicLayer::new())
        .route_layer(middleware::from_fn_with_state(Arc::clone(&state), observe))
        .with_state(state)
}

/// When the request must be answered by.
#[derive(Clone, Copy)]
struct Deadline(Instant);

async fn mutate(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let deadline = request.extensions().get::<Deadline>().map_or_else(
        || Instant::now() + state.request_timeout,
        |deadline| deadline.0,
    );
    let body = request.into_body();
    let body =
        match tokio::time::timeout_at(deadline, axum::body::to_bytes(body, state.max_body_bytes))
            .await
        {
            Ok(Ok(bytes)) => bytes,
            Ok(Err(_)) => {
                return refused(
                    StatusCode::BAD_REQUEST,
                    Outcome::Invalid,
                    "request body unreadable or longer than its Content-Length",
                )
            }
            Err(_) => {
                return refused(
                    StatusCode::REQUEST_TIMEOUT,
                    Outcome::Timeout,
                    "request body not received in time",
                )
            }
        };
    let abandoned = || {
        let message = format!(
            "review not finished within the webhook's {} ms deadline; abandoned",
            state.request_timeout.as_millis()
        );
        refused(
            StatusCode::SERVICE_UNAVAILABLE,
            Outcome::Abandoned,
            &message,
        )
    };
    let Ok(Ok(worker)) =
        tokio::time::timeout_at(deadline, Arc::clone(&state.review_workers).acquire_owned()).await
    else {
        return abandoned();
    };
    let reviewing = Arc::clone(&state);
    let job = tokio::task::spawn_blocking(move || {
        let _worker = worker;
        review::review(&body, reviewing.context())
    });
    let answer = match tokio::time::timeout_at(deadline, job).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(error)) => {
            tracing::error!(
                error = capped(&error.to_string()).as_str(),
                "review panicked"
            );
            return refused(
                StatusCode::INTERNAL_SERVER_ERROR,
                Outcome::Error,
                "internal error: the review panicked; this is a bug in pss-fix, please report it with the object",
            );
        }
        Err(_) => return abandoned(),
    };
    let summary = &answer.summary;
    let outcome = answer.outcome;
    // Fields as `&str`, not `%` (Display): a string is written as it is, a Display value
    // through the formatting machinery. Every field is capped by the review.
    tracing::info!(
        uid = summary.uid.as_str(),
        kind = summary.kind.as_str(),
        namespace = summary.namespace.as_str(),
        name = summary.name.as_str(),
        operation = summary.operation.as_str(),
        dry_run = summary.dry_run,
        outcome = outcome.as_str(),
        patched = summary.patched.join(",").as_str(),
        unfixable = summary.unfixable.join(",").as_str(),
        reason = summary.reason.as_str(),
        "admission review"
    );
    if outcome == Outcome::Patched {
        state
            .metrics
            .record_patched_controls(summary.patched.iter().map(String::as_str));
    }
    let status = StatusCode::from_u16(answer.http_status).unwrap_or(StatusCode::OK);
    with_outcome(json(status, answer.response.to_json()), outcome)
}

/// Times and counts every `POST /mutate`, after the checks that need no body. Other methods
/// pass untouched (the router answers 405) and are not counted: they are not reviews.
async fn observe(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let started = Instant::now();
    let response = admit(&state, request, next, started + state.request_timeout).await;
    let outcome = response
        .extensions()
        .get::<Outcome>()
        .copied()
        .unwrap_or(Outcome::Error);
    state.metrics.record_request(outcome, started.elapsed());
    response
}

/// The checks on a review request before its body is read, then the handler; a bare error
/// response from below (a caught panic's 500) becomes an AdmissionReview refusal.
async fn admit(state: &AppState, mut request: Request, next: Next, deadline: Instant) -> Response {
    let length = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    let Some(length) = length else {
        // The API server always sends one; without it the body's size is unknown until read.
        return refused(
            StatusCode::LENGTH_REQUIRED,
            Outcome::Invalid,
            "Content-Length required",
        );
    };
    if length > state.max_body_bytes {
        let message = format!(
            "request body of {length} bytes is over the limit of {} bytes",
            state.max_body_bytes
        );
        return refused(StatusCode::PAYLOAD_TOO_LARGE, Outcome::TooLarge, &message);
    }
    let Some(_slot) = RequestSlot::take(state) else {
        return refused(
            StatusCode::SERVICE_UNAVAILABLE,
            Outcome::Overloaded,
            "too many requests in flight",
        );
    };
    let kib = u32::try_from(length.div_ceil(1024))
        .unwrap_or(u32::MAX)
        .clamp(1, state.bytes_in_flight_kib);
    // At once, not queued: a caller stalling uploads must not make the API server's own
    // requests wait out their timeout; a fast 503 lets it apply its failure policy.
    let Ok(_bytes) = Arc::clone(&state.bytes_in_flight).try_acquire_many_owned(kib) else {
        return refused(
            StatusCode::SERVICE_UNAVAILABLE,
            Outcome::Overloaded,
            "too many request bytes in flight",
        );
    };
    request.extensions_mut().insert(Deadline(deadline));
    let response = next.run(request).await;
    if response.extensions().get::<Outcome>().is_some() {
        return response;
    }
    let status = response.status();
    let message = if status == StatusCode::INTERNAL_SERVER_ERROR {
        "internal error: this is a bug in pss-fix, please report it with the object"
    } else {
        "request rejected"
    };
    refused(status, Outcome::Error, message)
}

/// A place among the requests in flight, given back on drop.
struct RequestSlot<'a>(&'a AtomicUsize);

impl<'a> RequestSlot<'a> {
    fn take(state: &'a AppState) -> Option<RequestSlot<'a>> {
        let counter = &state.requests_in_flight;
        let taken = counter.fetch_add(1, Ordering::AcqRel);
        if taken >= state.max_requests_in_flight {
            counter.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(RequestSlot(counter))
    }
}

impl Drop for RequestSlot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A refusal before or instead of a review: logged (capped) and answered as an AdmissionReview
/// whose status says why.
fn refused(status: StatusCode, outcome: Outcome, message: &str) -> Response {
    tracing::warn!(
        status = status.as_u16(),
        outcome = outcome.as_str(),
        "{}",
        capped(message)
    );
    let body = review::refusal(status.as_u16(), message).to_json();
    with_outcome(json(status, body), outcome)
}

fn with_outcome(mut response: Response, outcome: Outcome) -> Response {
    response.extensions_mut().insert(outcome);
    response
}

async fn readyz(State(state): State<Arc<AppState>>) -> (StatusCode, &'static str) {
    if state.draining.load(Ordering::Acquire) {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down");
    }
    match &state.namespaces {
        Some(cache) if !cache.is_synced() => (
            StatusCode::SERVICE_UNAVAILABLE,
            "namespace cache not synced",
        ),
        _ => (StatusCode::OK, "ok"),
    }
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

fn json(status: StatusCode, body: Vec<u8>) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use tower::ServiceExt as _;

    fn state() -> Arc<AppState> {
        Arc::new(AppState::new(
            Config::default(),
            None,
            Arc::new(Metrics::default()),
            &Limits {
                max_body_bytes: 1024,
                ..Limits::default()
            },
        ))
    }

    async fn send(app: &Router, method: &str, uri: &str, body: &str) -> (StatusCode, String) {
        let request = axum::http::Request::builder()
            .method(method)
            .uri(uri)
            .header(header::CONTENT_LENGTH, body.len())
            .body(Body::from(body.to_owned()))
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    }

    /// A panic inside a review route becomes a 500 refusal for that request only: the same
    /// router keeps answering, and the panic is counted.
    #[tokio::test]
    async fn a_panicking_review_is_isolated_and_counted() {
        let state = state();
        let routes = Router::new().route("/mutate", post(mutate)).route(
            "/explode",
            post(|| async {
                if true {
                    panic!("provoked by the test");
                }
                "unreachable"
            }),
        );
        let app = guarded(routes, Arc::clone(&state));

        let (status, body) = send(&app, "POST", "/explode", "{}").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(body.contains("internal error: this is a bug"), "{body}");

        let (status, body) = send(&app, "POST", "/mutate", "not json").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body.contains("body is not JSON"), "{body}");

        let metrics = state.metrics.render();
        assert!(
            metrics.contains("requests_total{outcome=\"error\"} 1\n"),
            "{metrics}"
        );
        assert!(
            metrics.contains("requests_total{outcome=\"invalid\"} 1\n"),
            "{metrics}"
        );
    }

    #[tokio::test]
    async fn readyz_fails_while_draining() {
        let state = state();
        let app = app(Arc::clone(&state), true);
        assert_eq!(send(&app, "GET", "/readyz", "").await.0, StatusCode::OK);
        state.draining.store(true, Ordering::Release);
        assert_eq!(
            send(&app, "GET", "/readyz", "").await.0,
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(send(&app, "GET", "/healthz", "").await.0, StatusCode::OK);
    }
}
