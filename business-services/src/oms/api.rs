//! Order management's HTTP routes: the event consumers and the operator API.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use utoipa::{IntoParams, OpenApi};

use super::domain::{Order, OrderDetail, OrderState, Transition};
use super::fulfilment::Fulfilment;
use crate::contracts::order::{ORDER_PLACED, OrderId, OrderPlaced};
use crate::contracts::shipment::{SHIPMENT_STATUS_CHANGED, ShipmentStatusChanged};
use crate::platform::error::{Error, Problem, Result};
use crate::platform::events::Pushed;
use crate::platform::extract::ApiQuery;
use crate::platform::page::{self, Page};

/// Where the broker pushes the `orders` topic.
pub const ORDER_EVENTS_PATH: &str = "/v1/events/orders";
/// Where the broker pushes the `shipments` topic.
pub const SHIPMENT_EVENTS_PATH: &str = "/v1/events/shipments";

/// Order management's routes.
pub fn routes(fulfilment: Fulfilment) -> Router {
    Router::new()
        .route(ORDER_EVENTS_PATH, post(orders_event))
        .route(SHIPMENT_EVENTS_PATH, post(shipments_event))
        .route("/v1/orders", get(list_orders))
        .route("/v1/orders/{id}", get(get_order))
        .route("/v1/orders/{id}/release", post(release_order))
        .route("/v1/orders/{id}/cancel", post(cancel_order))
        .route("/v1/orders/{id}/return-request", post(request_return))
        .with_state(fulfilment)
}

/// Order management's OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(title = "oms", description = "Order management: the order lifecycle, driven by order and shipment events."),
    paths(orders_event, shipments_event, list_orders, get_order, release_order, cancel_order, request_return),
    components(schemas(Order, OrderDetail, OrderState, Transition, Page<Order>, Problem))
)]
pub struct ApiDoc;

/// The payload of a pushed event of a type this consumer handles; a malformed one is a 400.
fn payload<T: DeserializeOwned>(pushed: &Pushed<Value>) -> Result<T> {
    if !(1..=128).contains(&pushed.event_id.len()) {
        return Err(Error::BadRequest { detail: "the message has no usable messageId (1 to 128 characters)".into() });
    }
    serde_json::from_value(pushed.payload.clone()).map_err(|e| Error::BadRequest {
        detail: format!("message {}: data is not a {} event: {e}", pushed.event_id, pushed.event_type),
    })
}

/// Push endpoint of the `orders` topic. `order.placed` creates the order (held orders stop
/// there) and allocates it: the warehouse ships it and the ledger records the sale. Answers 204
/// once applied (also for an event applied before, and for event types it does not handle);
/// 503 when the warehouse or the ledger failed, so the broker redelivers and allocation
/// continues; 400 for a malformed message.
#[utoipa::path(post, path = "/v1/events/orders", request_body(content = Object, description = "Pub/Sub push envelope"),
    responses((status = 204, description = "Applied or ignored"), (status = 400, body = Problem),
              (status = 503, body = Problem)))]
async fn orders_event(State(fulfilment): State<Fulfilment>, pushed: Pushed<Value>) -> Result<StatusCode> {
    if pushed.event_type == ORDER_PLACED {
        let placed: OrderPlaced = payload(&pushed)?;
        fulfilment.order_placed(&pushed.event_id, &placed).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Push endpoint of the `shipments` topic. `shipment.status_changed` moves the order: picked or
/// packed → picking, shipped → shipped (after the ledger recognizes the revenue), delivered →
/// delivered. Repeated or out-of-order statuses are acknowledged without a move. 503 when the
/// ledger failed or the order is still being allocated; 400 for a malformed message.
#[utoipa::path(post, path = "/v1/events/shipments", request_body(content = Object, description = "Pub/Sub push envelope"),
    responses((status = 204, description = "Applied or ignored"), (status = 400, body = Problem),
              (status = 503, body = Problem)))]
async fn shipments_event(State(fulfilment): State<Fulfilment>, pushed: Pushed<Value>) -> Result<StatusCode> {
    if pushed.event_type == SHIPMENT_STATUS_CHANGED {
        let change: ShipmentStatusChanged = payload(&pushed)?;
        fulfilment.shipment_changed(&pushed.event_id, &change).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Which orders to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListOrders {
    /// Only orders in this state.
    state: Option<String>,
    /// Page size, 1 to 100 (default 20).
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Lists orders, newest first.
#[utoipa::path(get, path = "/v1/orders", params(ListOrders),
    responses((status = 200, body = Page<Order>), (status = 422, body = Problem)))]
async fn list_orders(
    State(fulfilment): State<Fulfilment>,
    ApiQuery(query): ApiQuery<ListOrders>,
) -> Result<Json<Page<Order>>> {
    let state = query.state.as_deref().map(OrderState::parse).transpose().map_err(|e| Error::invalid("state", e))?;
    let limit = page::limit(query.limit)?;
    let after = query.cursor.as_deref().map(page::decode_cursor).transpose()?;
    let after = after
        .as_deref()
        .map(|key| {
            key.split_once('/')
                .and_then(|(ms, id)| Some((ms.parse::<i64>().ok()?, OrderId::parse(id).ok()?)))
                .ok_or_else(|| Error::invalid("cursor", "is not a cursor this service issued; start again without it"))
        })
        .transpose()?;
    let orders = fulfilment.store().list(state, after.as_ref().map(|(ms, id)| (*ms, id.as_str())), limit + 1).await?;
    Ok(Json(page::paginate(orders, limit, |order| {
        format!("{}/{}", crate::platform::clock::to_millis(order.placed_at), order.id)
    })))
}

fn parse_order_id(id: &str) -> Result<OrderId> {
    OrderId::parse(id).map_err(|e| Error::invalid("id", e))
}

/// Gets an order with its history: every move, its cause and when.
#[utoipa::path(get, path = "/v1/orders/{id}", params(("id" = String, Path, description = "Order id")),
    responses((status = 200, body = OrderDetail), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn get_order(State(fulfilment): State<Fulfilment>, Path(id): Path<String>) -> Result<Json<OrderDetail>> {
    Ok(Json(fulfilment.detail(&parse_order_id(&id)?).await?))
}

/// Releases an order held for review: on_hold → confirmed, then allocates it. On a released
/// order whose allocation failed (503), retries the allocation. Any other state is a 409.
#[utoipa::path(post, path = "/v1/orders/{id}/release", params(("id" = String, Path, description = "Order id")),
    responses((status = 200, body = OrderDetail), (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 503, body = Problem)))]
async fn release_order(State(fulfilment): State<Fulfilment>, Path(id): Path<String>) -> Result<Json<OrderDetail>> {
    Ok(Json(fulfilment.release(&parse_order_id(&id)?).await?))
}

/// Cancels an order that has not shipped, cancelling its shipment at the warehouse first.
/// Idempotent; a shipped (or later) order is a 409 naming its state.
#[utoipa::path(post, path = "/v1/orders/{id}/cancel", params(("id" = String, Path, description = "Order id")),
    responses((status = 200, body = OrderDetail), (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 503, body = Problem)))]
async fn cancel_order(State(fulfilment): State<Fulfilment>, Path(id): Path<String>) -> Result<Json<OrderDetail>> {
    Ok(Json(fulfilment.cancel(&parse_order_id(&id)?).await?))
}

/// Records that the customer asked to return a delivered order. Idempotent; any other state is
/// a 409 naming it.
#[utoipa::path(post, path = "/v1/orders/{id}/return-request", params(("id" = String, Path, description = "Order id")),
    responses((status = 200, body = OrderDetail), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn request_return(State(fulfilment): State<Fulfilment>, Path(id): Path<String>) -> Result<Json<OrderDetail>> {
    Ok(Json(fulfilment.request_return(&parse_order_id(&id)?).await?))
}
