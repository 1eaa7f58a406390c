//! What every system's HTTP service has in common: health, readiness, its OpenAPI document,
//! request tracing with W3C trace context, a request deadline, and panics turned into 500s.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;
use utoipa::Modify;

use super::client::PeerClient;
use super::db::Db;
use super::error::Error;
use super::faults::{self, Faults};
use super::openapi::ProblemResponses;
use super::trace::{self, TraceContext};

/// How long a request may take before it is answered with 503.
const REQUEST_DEADLINE: Duration = Duration::from_secs(10);

type CheckFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

/// One dependency that must answer for the service to be ready.
#[derive(Clone)]
pub struct ReadinessCheck {
    name: &'static str,
    probe: Arc<dyn Fn() -> CheckFuture + Send + Sync>,
}

impl ReadinessCheck {
    /// A check named `name` that runs `probe`.
    pub fn new<F, Fut>(name: &'static str, probe: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        ReadinessCheck { name, probe: Arc::new(move || Box::pin(probe())) }
    }

    /// The peer behind `client` answers its liveness probe.
    pub fn peer(client: &PeerClient) -> Self {
        let client = client.clone();
        ReadinessCheck::new(client.peer(), move || {
            let client = client.clone();
            async move { client.healthz().await }
        })
    }

    /// The system's own database answers.
    pub fn database(db: &Db) -> Self {
        let db = db.clone();
        ReadinessCheck::new("database", move || {
            let db = db.clone();
            async move { db.ping().await.map_err(|e| e.to_string()) }
        })
    }
}

/// The readiness report served at `/readyz`.
#[derive(Debug, Serialize)]
struct Readiness {
    ready: bool,
    checks: Vec<CheckOutcome>,
}

#[derive(Debug, Serialize)]
struct CheckOutcome {
    name: &'static str,
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// Wraps a system's API routes into its complete service, with `faults` injected into them; its
/// OpenAPI document is served with the errors every operation shares ([`ProblemResponses`]).
pub fn service(
    api: Router,
    mut openapi: utoipa::openapi::OpenApi,
    checks: Vec<ReadinessCheck>,
    faults: &Faults,
) -> Router {
    ProblemResponses.modify(&mut openapi);
    let openapi = Arc::new(openapi);
    api.layer(middleware::from_fn_with_state(faults.clone(), faults::inject))
        .merge(faults::admin_routes(faults.clone()))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz).with_state(Arc::new(checks)))
        .route("/openapi.json", get(move || async move { Json(openapi.as_ref().clone()) }))
        .fallback(
            |method: Method, uri: Uri| async move { Error::not_found("route", format!("{method} {}", uri.path())) },
        )
        .layer(middleware::from_fn(deadline))
        .layer(CatchPanicLayer::custom(|_| {
            Error::Internal { detail: "the service failed unexpectedly; the failure has been logged".into() }
                .into_response()
        }))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
            let context = request.extensions().get::<TraceContext>();
            tracing::info_span!(
                "request",
                method = %request.method(),
                path = %request.uri().path(),
                trace_id = %context.map(TraceContext::trace_id).unwrap_or_default(),
            )
        }))
        .layer(middleware::from_fn(trace::accept))
}

async fn readyz(State(checks): State<Arc<Vec<ReadinessCheck>>>) -> Response {
    let outcomes = futures_util::future::join_all(checks.iter().map(|check| async move {
        let result = tokio::time::timeout(Duration::from_secs(2), (check.probe)())
            .await
            .unwrap_or_else(|_| Err("no answer within 2 s".into()));
        CheckOutcome { name: check.name, ok: result.is_ok(), error: result.err() }
    }))
    .await;
    let ready = outcomes.iter().all(|outcome| outcome.ok);
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(Readiness { ready, checks: outcomes })).into_response()
}

async fn deadline(request: Request, next: Next) -> Response {
    match tokio::time::timeout(REQUEST_DEADLINE, next.run(request)).await {
        Ok(response) => response,
        Err(_) => Error::Unavailable {
            dependency: "this service".into(),
            detail: format!("the request took longer than {} s; retry later", REQUEST_DEADLINE.as_secs()),
        }
        .into_response(),
    }
}

/// Serves `router` on `listener` until `shutdown` is cancelled, then finishes in-flight requests.
pub async fn serve(listener: TcpListener, router: Router, shutdown: CancellationToken) -> std::io::Result<()> {
    // Each request knows the address it came from: a mesh's sidecar is believed only from its own.
    let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, service).with_graceful_shutdown(async move { shutdown.cancelled().await }).await
}
