//! The warehouse's HTTP routes.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi};

use super::domain::{
    Carrier, FreightSlot, NewShipment, Parcel, ParcelLine, Shipment, ShipmentLine, Tracking, TrackingEvent,
    TrackingUpdate, check_tracking_number,
};

use super::store::WarehouseStore;
use crate::contracts::order::{Address, OrderId};
use crate::contracts::shipment::{ShipmentId, ShipmentStatus};
use crate::platform::clock::Clock;
use crate::platform::error::{Error, Problem, Result};
use crate::platform::extract::{ApiJson, ApiQuery};
use crate::platform::page::Page;

/// What the warehouse routes need.
#[derive(Debug, Clone)]
pub struct WarehouseState {
    /// Shipments.
    pub store: WarehouseStore,
    /// The time source.
    pub clock: Arc<dyn Clock>,
}

/// The warehouse's routes.
pub fn routes(state: WarehouseState) -> Router {
    Router::new()
        .route("/v1/shipments", post(create_shipment).get(list_shipments))
        .route("/v1/shipments/{id}", get(get_shipment))
        .route("/v1/shipments/{id}/events", post(record_event))
        .route("/v1/tracking/{tracking_number}", get(track))
        .with_state(state)
}

/// The warehouse's OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(title = "warehouse", description = "Shipments of orders: parcels, carriers, tracking numbers and tracking events."),
    paths(create_shipment, list_shipments, get_shipment, record_event, track),
    components(schemas(
        NewShipment, ShipmentLine, FreightSlot, Address, Shipment, Parcel, ParcelLine, Carrier, ShipmentStatus,
        TrackingUpdate, TrackingEvent, Tracking, Page<Shipment>, Problem
    ))
)]
pub struct ApiDoc;

fn parse_shipment_id(id: &str) -> Result<ShipmentId> {
    ShipmentId::parse(id).map_err(|e| Error::invalid("id", e))
}

/// Registers the shipment of an order and packs it: standard items into parcels of at most
/// 20 kg with swift-parcel, oversized items into one boutique-freight consignment carrying the
/// delivery slot. Idempotent on `order_id`: the same request again answers 200 with
/// `Idempotent-Replayed: true` and the existing shipment; another request for the same order
/// is a 422 on `order_id`.
#[utoipa::path(post, path = "/v1/shipments", request_body = NewShipment,
    responses((status = 201, body = Shipment), (status = 200, body = Shipment, description = "The order's existing shipment"),
              (status = 422, body = Problem)))]
async fn create_shipment(
    State(state): State<WarehouseState>,
    ApiJson(request): ApiJson<NewShipment>,
) -> Result<Response> {
    request.validate()?;
    let outcome = state.store.create(&request, state.clock.now()).await?;
    Ok(outcome.into_response(StatusCode::CREATED, StatusCode::OK))
}

/// Whose shipments to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListShipments {
    /// The order (required).
    order_id: String,
}

/// Lists the shipments of an order (at most one: an order ships once).
#[utoipa::path(get, path = "/v1/shipments", params(ListShipments),
    responses((status = 200, body = Page<Shipment>), (status = 422, body = Problem)))]
async fn list_shipments(
    State(state): State<WarehouseState>,
    ApiQuery(query): ApiQuery<ListShipments>,
) -> Result<Json<Page<Shipment>>> {
    let order = OrderId::parse(&query.order_id).map_err(|e| Error::invalid("order_id", e))?;
    Ok(Json(Page { items: state.store.shipments_of(&order).await?, next_cursor: None }))
}

/// Gets a shipment.
#[utoipa::path(get, path = "/v1/shipments/{id}", params(("id" = String, Path, description = "Shipment id")),
    responses((status = 200, body = Shipment), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn get_shipment(State(state): State<WarehouseState>, Path(id): Path<String>) -> Result<Json<Shipment>> {
    let id = parse_shipment_id(&id)?;
    state.store.shipment(&id).await?.map(Json).ok_or_else(|| Error::not_found("shipment", id.as_str()))
}

/// Records a tracking update: the shipment moves along created → picked → packed → shipped →
/// delivered, or to cancelled before it ships, or to returned after; each move publishes a
/// `shipment.status_changed` event on the `shipments` topic. The status it already has changes
/// nothing and answers 200 with `Idempotent-Replayed: true`; any other move is a 409 naming
/// both statuses.
#[utoipa::path(post, path = "/v1/shipments/{id}/events", request_body = TrackingUpdate,
    params(("id" = String, Path, description = "Shipment id")),
    responses((status = 200, body = Shipment), (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem)))]
async fn record_event(
    State(state): State<WarehouseState>,
    Path(id): Path<String>,
    ApiJson(update): ApiJson<TrackingUpdate>,
) -> Result<Response> {
    let id = parse_shipment_id(&id)?;
    update.validate()?;
    let outcome = state.store.record(&id, &update, state.clock.now()).await?;
    Ok(outcome.into_response(StatusCode::OK, StatusCode::OK))
}

/// Tracks a parcel: the parcel, its shipment and the shipment's tracking events, newest first.
#[utoipa::path(get, path = "/v1/tracking/{tracking_number}",
    params(("tracking_number" = String, Path, description = "e.g. SP1234567897")),
    responses((status = 200, body = Tracking), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn track(State(state): State<WarehouseState>, Path(number): Path<String>) -> Result<Json<Tracking>> {
    check_tracking_number(&number).map_err(|why| Error::invalid("tracking_number", why))?;
    state.store.tracking(&number).await?.map(Json).ok_or_else(|| Error::not_found("parcel", number))
}
