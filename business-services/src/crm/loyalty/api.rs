//! The loyalty routes: a customer's status and ledger, and the `orders` topic that earns points.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::ToSchema;

use super::domain::{LoyaltyEntry, LoyaltyStatus, NewLoyaltyEntry, check_delta, check_reference, order_earning};
use crate::contracts::order::{ORDER_PLACED, OrderPlaced};
use crate::crm::domain::{MAX_REASON, single_line};
use crate::crm::requests::{CrmState, ListPage, ORDER_EVENTS_PATH, created, field, parse_customer_id};
use crate::platform::error::{Error, Problem, Result};
use crate::platform::events::Pushed;
use crate::platform::extract::{ApiJson, ApiQuery};
use crate::platform::page::Page;

/// The loyalty routes.
pub(in crate::crm) fn routes() -> Router<CrmState> {
    Router::new()
        .route("/v1/customers/{id}/loyalty", get(get_loyalty))
        .route("/v1/customers/{id}/loyalty/entries", get(list_loyalty_entries).post(add_loyalty_entry))
        .route(ORDER_EVENTS_PATH, post(order_event))
}

/// Gets a customer's tier, points, discount and distance to the next tier.
#[utoipa::path(get, path = "/v1/customers/{id}/loyalty", params(("id" = String, Path, description = "Customer id")),
    responses((status = 200, body = LoyaltyStatus), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub(in crate::crm) async fn get_loyalty(
    State(state): State<CrmState>,
    Path(id): Path<String>,
) -> Result<Json<LoyaltyStatus>> {
    let id = parse_customer_id(&id)?;
    state.store.loyalty(&id).await?.map(Json).ok_or_else(|| Error::not_found("customer", id.as_str()))
}

/// Points to add or take.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(in crate::crm) struct AddLoyaltyEntry {
    /// Points to add, or to take when negative; never zero, at most 1,000,000 either way.
    delta: i64,
    /// Why, e.g. `order ord-9f2c` or `goodwill: late delivery`.
    reason: String,
    /// What it is for, unique per customer, e.g. the order id: the entry is recorded once.
    reference: String,
}

/// Adds or takes points, once per reference: the same reference again answers with the
/// current status and changes nothing. The balance never goes below zero.
#[utoipa::path(post, path = "/v1/customers/{id}/loyalty/entries", request_body = AddLoyaltyEntry,
    params(("id" = String, Path, description = "Customer id")),
    responses((status = 201, body = LoyaltyStatus), (status = 404, body = Problem),
        (status = 422, body = Problem, description = "Bad field, balance would go negative, or reference reused")))]
pub(in crate::crm) async fn add_loyalty_entry(
    State(state): State<CrmState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AddLoyaltyEntry>,
) -> Result<Response> {
    let id = parse_customer_id(&id)?;
    let entry = NewLoyaltyEntry {
        delta: check_delta(body.delta).map_err(field("delta"))?,
        reason: single_line(&body.reason, MAX_REASON).map_err(field("reason"))?,
        reference: check_reference(&body.reference).map_err(field("reference"))?,
    };
    Ok(created(state.store.add_loyalty_entry(&id, &entry, state.clock.now()).await?))
}

/// Lists a customer's points entries, newest first.
#[utoipa::path(get, path = "/v1/customers/{id}/loyalty/entries",
    params(("id" = String, Path, description = "Customer id"), ListPage),
    responses((status = 200, body = Page<LoyaltyEntry>), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub(in crate::crm) async fn list_loyalty_entries(
    State(state): State<CrmState>,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<ListPage>,
) -> Result<Json<Page<LoyaltyEntry>>> {
    let id = parse_customer_id(&id)?;
    let (after, limit) = query.parse()?;
    Ok(Json(state.store.loyalty_entries(&id, &after, limit).await?))
}

/// Receives the `orders` topic (a Pub/Sub push): a confirmed `order.placed` of a signed-in
/// customer earns loyalty points at the customer's tier, on the merchandise subtotal in US
/// dollars, once per order (the order id is the ledger reference). Guests' and held orders,
/// other event types and unknown customers (logged) are acknowledged without effect; a
/// malformed message is a 400, so the broker dead-letters it.
#[utoipa::path(post, path = "/v1/events/orders", request_body(content = Object, description = "A Pub/Sub push envelope carrying an order.placed event"),
    responses((status = 204, description = "Applied, already applied, or ignored"), (status = 400, body = Problem)))]
pub(in crate::crm) async fn order_event(
    State(state): State<CrmState>,
    pushed: Pushed<serde_json::Value>,
) -> Result<StatusCode> {
    let Some(event) = pushed.payload_of::<OrderPlaced>(ORDER_PLACED)? else {
        return Ok(StatusCode::NO_CONTENT);
    };
    let earning = order_earning(&event)
        .map_err(|why| Error::BadRequest { detail: format!("message {}: {why}", pushed.event_id) })?;
    let Some(earning) = earning else {
        return Ok(StatusCode::NO_CONTENT);
    };
    match state.store.award_order_points(&earning, state.clock.now()).await {
        Ok(points) => {
            tracing::info!(customer = %earning.customer_id, order = %earning.reference, points, "Order points awarded.")
        }
        Err(Error::NotFound { .. }) => tracing::warn!(
            customer = %earning.customer_id,
            order = %earning.reference,
            event = %pushed.event_id,
            "An order of an unknown customer earns no points; acknowledged."
        ),
        Err(other) => return Err(other),
    }
    Ok(StatusCode::NO_CONTENT)
}
