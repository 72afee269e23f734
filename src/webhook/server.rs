//! The HTTPS shell around [`review`]: routes, limits, timeouts, panic isolation, metrics and
//! one log line per review. Every policy decision is made by the pure function; this module
//! only moves bytes and counts.

use super::metrics::{Metrics, Outcome};
use super::namespaces::NamespaceCache;
use super::review::{self, Context, NamespaceLabels};
use crate::config::Config;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;

/// What every request handler shares.
pub struct AppState {
    pub config: Config,
    pub namespaces: Option<NamespaceCache>,
    pub metrics: Arc<Metrics>,
    /// Set when shutdown starts, so `/readyz` fails while connections drain.
    pub draining: AtomicBool,
}

/// The router: `/mutate` behind its limits and metrics, and the three GET endpoints.
pub fn app(state: Arc<AppState>, max_body_bytes: usize, request_timeout: Duration) -> Router {
    guarded(
        Router::new().route("/mutate", post(mutate)),
        state,
        max_body_bytes,
        request_timeout,
    )
}

/// Wraps the review routes in the layers that keep one bad request from hurting the others,
/// and adds the probes and metrics (which need none of them).
fn guarded(
    reviews: Router<Arc<AppState>>,
    state: Arc<AppState>,
    max_body_bytes: usize,
    request_timeout: Duration,
) -> Router {
    // Later layers wrap earlier ones: `observe` sees every outcome, including a caught panic
    // (500), a timeout (408) and a body over the limit (413).
    let reviews = reviews
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
        .layer(CatchPanicLayer::new())
        .layer(middleware::from_fn_with_state(Arc::clone(&state), observe));
    reviews
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn mutate(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    let context = Context {
        config: &state.config,
        namespaces: state
            .namespaces
            .as_ref()
            .map(|cache| cache as &dyn NamespaceLabels),
    };
    let answer = review::review(&body, context);
    let summary = &answer.summary;
    let outcome = answer.outcome;
    // Fields as `&str`, not `%` (Display): a string is written as it is, a Display value
    // through the formatting machinery.
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
    let mut response = json(status, answer.response.to_json());
    response.extensions_mut().insert(outcome);
    response
}

/// Times and counts every `/mutate` request, and turns the bare error responses of the layers
/// below (413, 408, a caught panic's 500) into AdmissionReview refusals that say what happened.
async fn observe(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let response = next.run(request).await;
    let (outcome, response) = match response.extensions().get::<Outcome>() {
        Some(outcome) => (*outcome, response),
        None => {
            let status = response.status();
            let (outcome, message) = match status {
                StatusCode::PAYLOAD_TOO_LARGE => (Outcome::TooLarge, "request body too large"),
                StatusCode::REQUEST_TIMEOUT => (Outcome::Timeout, "request not received in time"),
                StatusCode::INTERNAL_SERVER_ERROR => (Outcome::Error, "internal error"),
                _ => (Outcome::Error, "request rejected"),
            };
            tracing::warn!(
                status = status.as_u16(),
                outcome = outcome.as_str(),
                "{message}"
            );
            let body = review::refusal(status.as_u16(), message).to_json();
            (outcome, json(status, body))
        }
    };
    state.metrics.record_request(outcome, started.elapsed());
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
        Arc::new(AppState {
            config: Config::default(),
            namespaces: None,
            metrics: Arc::new(Metrics::default()),
            draining: AtomicBool::new(false),
        })
    }

    async fn send(app: &Router, method: &str, uri: &str, body: &str) -> (StatusCode, String) {
        let request = axum::http::Request::builder()
            .method(method)
            .uri(uri)
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
        let app = guarded(routes, Arc::clone(&state), 1024, Duration::from_secs(5));

        let (status, body) = send(&app, "POST", "/explode", "{}").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(body.contains("\"message\":\"internal error\""), "{body}");

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
        let app = app(Arc::clone(&state), 1024, Duration::from_secs(5));
        assert_eq!(send(&app, "GET", "/readyz", "").await.0, StatusCode::OK);
        state.draining.store(true, Ordering::Release);
        assert_eq!(
            send(&app, "GET", "/readyz", "").await.0,
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(send(&app, "GET", "/healthz", "").await.0, StatusCode::OK);
    }
}
