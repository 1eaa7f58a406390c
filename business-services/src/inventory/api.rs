//! The inventory service's HTTP routes.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::domain::{
    Movement, MovementKind, NewMovement, RecordedMovement, Reservation, ReservationId, ReservationLine,
    ReservationStatus, ReserveRequest, Stock,
};
use super::store::InventoryStore;
use crate::contracts::product::ProductId;
use crate::platform::clock::Clock;
use crate::platform::error::{Error, Problem, Result};
use crate::platform::extract::{ApiJson, ApiQuery};
use crate::platform::idempotency::{Claim, OptionalKey, check_reference};
use crate::platform::page::{self, Page};

/// What the inventory routes need.
#[derive(Debug, Clone)]
pub struct InventoryState {
    /// Stock and reservations.
    pub store: InventoryStore,
    /// The time source for holds and their expiry.
    pub clock: Arc<dyn Clock>,
}

/// The inventory service's routes.
pub fn routes(state: InventoryState) -> Router {
    Router::new()
        .route("/v1/stock", get(list_stock))
        .route("/v1/stock/{product_id}", get(get_stock))
        .route("/v1/stock/{product_id}/movements", post(record_movement))
        .route("/v1/reservations", post(reserve).get(find_reservations))
        .route("/v1/reservations/{id}", get(get_reservation))
        .route("/v1/reservations/{id}/commit", post(commit_reservation))
        .route("/v1/reservations/{id}/release", post(release_reservation))
        .with_state(state)
}

/// The inventory service's OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(title = "inventory", description = "Stock of standard items and reservations with a time to live."),
    paths(list_stock, get_stock, record_movement, reserve, find_reservations, get_reservation, commit_reservation, release_reservation),
    components(schemas(
        Stock, Page<Stock>, MovementRequest, Movement, MovementKind, RecordedMovement, ReserveRequest,
        ReservationLine, Reservation, ReservationStatus, Problem
    ))
)]
pub struct ApiDoc;

/// The most products one stock query may name.
const MAX_PRODUCT_IDS: usize = 100;

fn parse_product_id(id: &str, field: &str) -> Result<ProductId> {
    ProductId::parse(id).map_err(|e| Error::invalid(field, e))
}

fn parse_reservation_id(id: &str) -> Result<ReservationId> {
    ReservationId::parse(id).map_err(|e| Error::invalid("id", e))
}

/// Which stock to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListStock {
    /// Comma-separated product ids (at most 100): only these, in this order, leaving out
    /// products inventory does not stock. Without it, every stocked product, a page at a time.
    product_ids: Option<String>,
    /// Page size, 1 to 100 (default 20); not with `product_ids`.
    limit: Option<u32>,
    /// The `next_cursor` of the previous page; not with `product_ids`.
    cursor: Option<String>,
}

/// Lists stock levels: of the named products, or of every stocked product by id.
#[utoipa::path(get, path = "/v1/stock", params(ListStock),
    responses((status = 200, body = Page<Stock>), (status = 422, body = Problem)))]
async fn list_stock(
    State(state): State<InventoryState>,
    ApiQuery(query): ApiQuery<ListStock>,
) -> Result<Json<Page<Stock>>> {
    let Some(ids) = query.product_ids else {
        let limit = page::limit(query.limit)?;
        let after = query
            .cursor
            .map(|cursor| page::decode_cursor(&cursor).and_then(|key| parse_product_id(&key, "cursor")))
            .transpose()?;
        let rows = state.store.list(after.as_ref(), limit + 1).await?;
        return Ok(Json(page::paginate(rows, limit, |stock| stock.product_id.to_string())));
    };
    if query.limit.is_some() || query.cursor.is_some() {
        let field = if query.limit.is_some() { "limit" } else { "cursor" };
        return Err(Error::invalid(field, "is not used with product_ids, which answers in one page"));
    }
    let products = ids.split(',').map(|id| parse_product_id(id.trim(), "product_ids")).collect::<Result<Vec<_>>>()?;
    if products.len() > MAX_PRODUCT_IDS {
        return Err(Error::invalid("product_ids", format!("name at most {MAX_PRODUCT_IDS} products per request")));
    }
    Ok(Json(Page { items: state.store.stocks(&products).await?, next_cursor: None }))
}

/// Gets the stock of one product.
#[utoipa::path(get, path = "/v1/stock/{product_id}", params(("product_id" = ProductId, Path, description = "Product id")),
    responses((status = 200, body = Stock), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn get_stock(State(state): State<InventoryState>, Path(product_id): Path<String>) -> Result<Json<Stock>> {
    let product = parse_product_id(&product_id, "product_id")?;
    state.store.stock(&product).await?.map(Json).ok_or_else(|| Error::not_found("stock of product", product_id))
}

/// A receipt or stock-take adjustment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct MovementRequest {
    /// Units added (positive) or removed (negative), at most 1,000,000 either way; a receipt adds.
    #[schema(minimum = -1000000, maximum = 1000000)]
    delta: i64,
    /// `receipt` (goods arrived) or `adjustment` (stock-take correction).
    #[schema(schema_with = operator_kinds)]
    kind: String,
    /// The delivery note, purchase order or stock-take, 1 to 128 visible ASCII characters.
    #[schema(pattern = "^[!-~]{1,128}$")]
    reference: String,
}

/// The schema of the kinds of movement an operator records: sales are recorded only by
/// committing reservations.
fn operator_kinds() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some("`receipt` (goods arrived) or `adjustment` (stock-take correction)."))
        .enum_values(Some([MovementKind::Receipt.as_str(), MovementKind::Adjustment.as_str()]))
        .build()
}

/// Records a receipt or stock-take adjustment of a product; its first receipt starts stocking it.
/// Stock never goes below zero or below what is reserved. Send an `Idempotency-Key` so a retried
/// request counts once; a retry is answered 200 with `Idempotent-Replayed: true`.
#[utoipa::path(post, path = "/v1/stock/{product_id}/movements", request_body = MovementRequest,
    params(("product_id" = ProductId, Path, description = "Product id"),
           ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses((status = 201, body = RecordedMovement), (status = 200, body = RecordedMovement, description = "A replay"),
              (status = 422, body = Problem)))]
async fn record_movement(
    State(state): State<InventoryState>,
    Path(product_id): Path<String>,
    OptionalKey(key): OptionalKey,
    ApiJson(body): ApiJson<MovementRequest>,
) -> Result<Response> {
    let product = parse_product_id(&product_id, "product_id")?;
    let movement = NewMovement::parse(body.delta, &body.kind, body.reference)?;
    let claim = key.map(|key| Claim::new(&format!("movements/{product}"), &key, movement.fingerprint(&product)));
    let outcome = state.store.record_movement(&product, &movement, state.clock.now(), claim.as_ref()).await?;
    Ok(outcome.into_response(StatusCode::CREATED, StatusCode::OK))
}

/// Holds stock for a checkout: every line or none. Idempotent on `reference`: the same reference
/// with the same lines answers 200 (with `Idempotent-Replayed: true`) and the existing
/// reservation, whatever its status now; with other lines, 422 on `reference`. Too few units is
/// a 409 naming each short product and how many are available.
#[utoipa::path(post, path = "/v1/reservations", request_body = ReserveRequest,
    responses((status = 201, body = Reservation), (status = 200, body = Reservation, description = "The reference's existing reservation"),
              (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn reserve(State(state): State<InventoryState>, ApiJson(request): ApiJson<ReserveRequest>) -> Result<Response> {
    request.validate()?;
    let outcome = state.store.reserve(&request, state.clock.now()).await?;
    Ok(outcome.into_response(StatusCode::CREATED, StatusCode::OK))
}

/// Which reservations to find.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct FindReservations {
    /// The caller's reference the reservation was made under (required).
    reference: String,
}

/// Finds the reservation made under a reference: a list of at most one, since references are
/// unique. How a caller that crashed before recording its reservation finds it.
#[utoipa::path(get, path = "/v1/reservations", params(FindReservations),
    responses((status = 200, body = Vec<Reservation>), (status = 422, body = Problem)))]
async fn find_reservations(
    State(state): State<InventoryState>,
    ApiQuery(query): ApiQuery<FindReservations>,
) -> Result<Json<Vec<Reservation>>> {
    check_reference(&query.reference).map_err(|why| Error::invalid("reference", why))?;
    Ok(Json(state.store.reservation_by_reference(&query.reference).await?.into_iter().collect()))
}

/// Gets a reservation.
#[utoipa::path(get, path = "/v1/reservations/{id}", params(("id" = String, Path, description = "Reservation id")),
    responses((status = 200, body = Reservation), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn get_reservation(State(state): State<InventoryState>, Path(id): Path<String>) -> Result<Json<Reservation>> {
    let id = parse_reservation_id(&id)?;
    state.store.reservation(&id).await?.map(Json).ok_or_else(|| Error::not_found("reservation", id.as_str()))
}

/// Commits a held reservation: its units are sold and leave the stock. Idempotent; a released
/// (or expired) reservation is a 409.
#[utoipa::path(post, path = "/v1/reservations/{id}/commit", params(("id" = String, Path, description = "Reservation id")),
    responses((status = 200, body = Reservation), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn commit_reservation(State(state): State<InventoryState>, Path(id): Path<String>) -> Result<Json<Reservation>> {
    let id = parse_reservation_id(&id)?;
    Ok(Json(state.store.commit(&id, state.clock.now()).await?))
}

/// Releases a held reservation: its units can be reserved again. Idempotent; a committed
/// reservation is a 409.
#[utoipa::path(post, path = "/v1/reservations/{id}/release", params(("id" = String, Path, description = "Reservation id")),
    responses((status = 200, body = Reservation), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn release_reservation(State(state): State<InventoryState>, Path(id): Path<String>) -> Result<Json<Reservation>> {
    let id = parse_reservation_id(&id)?;
    Ok(Json(state.store.release(&id, state.clock.now()).await?))
}
