//! The HTTP face: MCP over Streamable HTTP at `/mcp` behind bearer tokens, the RFC 9728
//! metadata, health, the indexer's status, and the broker's push endpoints that feed it.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::middleware;
use axum::routing::{get, post};
use axum::{Json, Router};
use business_services::platform::error::Problem;
use business_services::platform::events::Pushed;
use business_services::platform::openapi::ProblemResponses;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use utoipa::{Modify, OpenApi};

use crate::auth::{Verifier, require_token};
use crate::indexer::Indexer;
use crate::tools::{BackOfficeServer, Shared};

/// Who may reach `/mcp` from where.
#[derive(Debug, Clone)]
pub struct Exposure {
    /// `Host` values accepted (DNS-rebinding defence).
    pub allowed_hosts: Vec<String>,
    /// Browser `Origin`s accepted; any other Origin is refused.
    pub allowed_origins: Vec<String>,
}

/// The OpenAPI document of the server's plain HTTP routes. `/mcp` itself is MCP over Streamable
/// HTTP, JSON-RPC 2.0 whose contract is the MCP specification's schema (and rmcp's conformance to
/// it): it is listed with its bearer token and its refusals only, and fuzzed by the MCP test
/// suite's own JSON-RPC fuzzer rather than from this document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "mcp",
        description = "The read-only back-office MCP server: MCP over Streamable HTTP at /mcp (bearer capability \
            tokens, see docs/MCP.md), the RFC 9728 metadata, the search indexer's status and the event pushes \
            that keep the index fresh."
    ),
    paths(mcp_endpoint, indexer_status, event),
    components(schemas(crate::indexer::Status, Problem))
)]
pub struct ApiDoc;

/// MCP over Streamable HTTP: a JSON-RPC 2.0 request, notification or response in, a JSON or
/// server-sent-events answer out. Needs `Authorization: Bearer <capability token>`.
#[utoipa::path(post, path = "/mcp", request_body(content = Object, description = "A JSON-RPC 2.0 message of MCP"),
    responses((status = 200, description = "The JSON-RPC answer, as JSON or server-sent events"),
              (status = 202, description = "A notification or response, accepted"),
              (status = 401, body = Problem, description = "No valid capability token"),
              (status = 403, description = "The Origin or Host is not allowed")))]
#[allow(dead_code, reason = "documents the route rmcp serves; never called")]
fn mcp_endpoint() {}

/// What the indexer has done: documents, engine, model, last pass, lag.
#[utoipa::path(get, path = "/v1/indexer", responses((status = 200, body = crate::indexer::Status)))]
async fn indexer_status(State(indexer): State<Indexer>) -> Json<crate::indexer::Status> {
    Json(indexer.status())
}

/// Where the broker pushes the `orders` topic (one route serves every topic).
pub const ORDER_EVENTS_PATH: &str = "/v1/events/orders";
/// Where the broker pushes the `shipments` topic.
pub const SHIPMENT_EVENTS_PATH: &str = "/v1/events/shipments";

/// The server's routes.
pub fn router(
    shared: Arc<Shared>,
    verifier: Verifier,
    indexer: Indexer,
    exposure: &Exposure,
    shutdown: CancellationToken,
) -> Router {
    let config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(exposure.allowed_hosts.clone())
        .with_allowed_origins(exposure.allowed_origins.clone())
        .enforce_origin_validation()
        .with_cancellation_token(shutdown);
    let mcp = StreamableHttpService::new(
        move || Ok(BackOfficeServer::new(shared.clone())),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    let protected =
        Router::new().nest_service("/mcp", mcp).layer(middleware::from_fn_with_state(verifier.clone(), require_token));
    let metadata = verifier.metadata();
    let metadata = get(move || async move { Json(metadata) });
    Router::new()
        .merge(protected)
        .route("/.well-known/oauth-protected-resource", metadata.clone())
        .route("/.well-known/oauth-protected-resource/mcp", metadata)
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/v1/indexer", get(indexer_status))
        .route("/v1/events/{topic}", post(event))
        .route("/openapi.json", get(|| async { Json(openapi()) }))
        .with_state(indexer)
}

/// The document served at `/openapi.json`, with the errors every operation shares.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut openapi = ApiDoc::openapi();
    ProblemResponses.modify(&mut openapi);
    openapi
}

/// Ready once the first index pass has finished: until then search would miss documents.
async fn readyz(State(indexer): State<Indexer>) -> (StatusCode, Json<crate::indexer::Status>) {
    let status = indexer.status();
    let code = if status.last_full_pass.is_some() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, Json(status))
}

/// A pushed `orders` or `shipments` event: the order it names is re-read and re-indexed.
/// Anything else is acknowledged and ignored; a malformed envelope is a 400.
#[utoipa::path(post, path = "/v1/events/{topic}", params(("topic" = String, Path, description = "The topic pushed")),
    request_body(content = Object, description = "A Pub/Sub push envelope"),
    responses((status = 204, description = "Taken, or ignored"), (status = 400, body = Problem)))]
async fn event(State(indexer): State<Indexer>, Path(topic): Path<String>, pushed: Pushed<Value>) -> StatusCode {
    let order = match topic.as_str() {
        "orders" => pushed.payload.pointer("/order/order_id"),
        "shipments" => pushed.payload.pointer("/order_id"),
        _ => None,
    };
    if let Some(order) = order.and_then(Value::as_str) {
        indexer.hint(order);
    }
    StatusCode::NO_CONTENT
}
