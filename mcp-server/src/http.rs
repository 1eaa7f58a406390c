//! The HTTP face: MCP over Streamable HTTP at `/mcp` behind bearer tokens, the RFC 9728
//! metadata, health, the indexer's status, and the broker's push endpoints that feed it.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::middleware;
use axum::routing::{get, post};
use axum::{Json, Router};
use business_services::platform::events::Pushed;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

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
        .route("/v1/indexer", get(|State(indexer): State<Indexer>| async move { Json(indexer.status()) }))
        .route("/v1/events/{topic}", post(event))
        .with_state(indexer)
}

/// Ready once the first index pass has finished: until then search would miss documents.
async fn readyz(State(indexer): State<Indexer>) -> (StatusCode, Json<crate::indexer::Status>) {
    let status = indexer.status();
    let code = if status.last_full_pass.is_some() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, Json(status))
}

/// A pushed `orders` or `shipments` event: the order it names is re-read and re-indexed.
/// Anything else is acknowledged and ignored.
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
