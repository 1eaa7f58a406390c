//! The furniture ERP's HTTP routes.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use time::Duration;
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::domain::{
    Destination, FreightItem, Quote, QuoteId, QuoteRequest, ReservationAction, ReservationStatus, Slot, SlotId,
    SlotReservation, SlotReservationId, SlotReservationRequest, SlotWindow, Zone, check_reference, freight_cost,
    parse_date, slots_from,
};
use super::store::{FurnitureStore, Outcome};
use crate::platform::clock::Clock;
use crate::platform::error::{Error, Problem, Result};
use crate::platform::extract::{ApiJson, ApiQuery};
use crate::platform::idempotency::optional_key;

/// What the furniture routes need.
#[derive(Debug, Clone)]
pub struct FurnitureState {
    /// Quotes, slots and reservations.
    pub store: FurnitureStore,
    /// The time source for expiry and the slot calendar.
    pub clock: Arc<dyn Clock>,
}

/// The furniture ERP's routes.
pub fn routes(state: FurnitureState) -> Router {
    Router::new()
        .route("/v1/freight-quotes", post(create_quote))
        .route("/v1/freight-quotes/{id}", get(get_quote))
        .route("/v1/slots", get(list_slots))
        .route("/v1/slot-reservations", post(reserve_slot).get(find_reservations))
        .route("/v1/slot-reservations/{id}", get(get_reservation))
        .route("/v1/slot-reservations/{id}/confirm", post(confirm_reservation))
        .route("/v1/slot-reservations/{id}/cancel", post(cancel_reservation))
        .with_state(state)
}

/// The furniture ERP's OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "furniture",
        description = "The legacy logistics ERP for oversized furniture: freight quotes, delivery slots, slot reservations."
    ),
    paths(
        create_quote,
        get_quote,
        list_slots,
        reserve_slot,
        find_reservations,
        get_reservation,
        confirm_reservation,
        cancel_reservation
    ),
    components(schemas(
        QuoteRequest,
        Destination,
        FreightItem,
        Quote,
        Zone,
        Slot,
        SlotWindow,
        SlotList,
        SlotReservationRequest,
        SlotReservation,
        ReservationStatus,
        Problem
    ))
)]
pub struct ApiDoc;

/// The most days of slots one availability request may cover.
const MAX_DAYS: u32 = 62;
/// How far ahead availability can be asked for.
const MAX_LEAD: Duration = Duration::days(365);

fn parse_quote_id(id: &str) -> Result<QuoteId> {
    QuoteId::parse(id).map_err(|e| Error::invalid("id", e))
}

fn parse_reservation_id(id: &str) -> Result<SlotReservationId> {
    SlotReservationId::parse(id).map_err(|e| Error::invalid("id", e))
}

/// 201 with the created resource; a replay says so in `Idempotent-Replayed`.
fn created<T: Serialize>(outcome: Outcome<T>) -> Response {
    match outcome {
        Outcome::Created(body) => (StatusCode::CREATED, Json(body)).into_response(),
        Outcome::Replayed(body) => (
            StatusCode::CREATED,
            [(HeaderName::from_static("idempotent-replayed"), HeaderValue::from_static("true"))],
            Json(body),
        )
            .into_response(),
    }
}

/// Quotes freight for items to a destination, with the delivery slots of the next 14 days.
/// Send an `Idempotency-Key` header so a retried request answers the same quote.
#[utoipa::path(post, path = "/v1/freight-quotes", request_body = QuoteRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries answer the same quote")),
    responses((status = 201, body = Quote), (status = 400, body = Problem), (status = 422, body = Problem)))]
async fn create_quote(
    State(state): State<FurnitureState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<QuoteRequest>,
) -> Result<Response> {
    let key = optional_key(&headers)?;
    let (request, zone) = body.validate()?;
    let cost = freight_cost(zone, &request.items)
        .ok_or_else(|| Error::Internal { detail: "the freight cost does not fit in 64 bits".into() })?;
    let outcome = state.store.create_quote(&request, zone, cost, state.clock.now(), key.as_deref()).await?;
    Ok(created(outcome))
}

/// Gets a quote, its slots showing their free places now.
#[utoipa::path(get, path = "/v1/freight-quotes/{id}", params(("id" = String, Path, description = "Quote id")),
    responses((status = 200, body = Quote), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn get_quote(State(state): State<FurnitureState>, Path(id): Path<String>) -> Result<Json<Quote>> {
    let id = parse_quote_id(&id)?;
    state.store.quote(&id, state.clock.now()).await?.map(Json).ok_or_else(|| Error::not_found("freight quote", id))
}

/// Which slots to show.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct SlotQuery {
    /// First date, YYYY-MM-DD, today or later (default tomorrow).
    from: Option<String>,
    /// Days to cover, 1 to 62 (default 14).
    days: Option<u32>,
}

/// Delivery slots and their free places.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
struct SlotList {
    /// In date order, two a day, none on Sundays.
    slots: Vec<Slot>,
}

/// Lists delivery slots and their free places.
#[utoipa::path(get, path = "/v1/slots", params(SlotQuery),
    responses((status = 200, body = SlotList), (status = 422, body = Problem)))]
async fn list_slots(
    State(state): State<FurnitureState>,
    ApiQuery(query): ApiQuery<SlotQuery>,
) -> Result<Json<SlotList>> {
    let now = state.clock.now();
    let today = now.date();
    let from = match query.from {
        Some(from) => parse_date(&from).map_err(|e| Error::invalid("from", e))?,
        None => today.next_day().unwrap_or(today),
    };
    if from < today || from - today > MAX_LEAD {
        return Err(Error::invalid("from", format!("must be between today ({today}) and a year ahead")));
    }
    let days = query.days.unwrap_or(super::domain::QUOTE_DAYS);
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(Error::invalid("days", format!("must be between 1 and {MAX_DAYS}, got {days}")));
    }
    let slots = state.store.availability(&slots_from(from, days), now).await?;
    Ok(Json(SlotList { slots }))
}

/// Holds a place in one of a quote's slots for 30 minutes, until confirmed. Reserving again
/// with the same `reference` and request answers the same reservation.
#[utoipa::path(post, path = "/v1/slot-reservations", request_body = SlotReservationRequest,
    responses((status = 201, body = SlotReservation), (status = 409, body = Problem, description = "The quote expired or the slot is full"),
        (status = 422, body = Problem)))]
async fn reserve_slot(
    State(state): State<FurnitureState>,
    ApiJson(body): ApiJson<SlotReservationRequest>,
) -> Result<Response> {
    check_reference(&body.reference).map_err(|e| Error::invalid("reference", e))?;
    let slot = SlotId::parse(&body.slot_id).map_err(|e| Error::invalid("slot_id", e))?;
    Ok(created(state.store.reserve(&body, slot, state.clock.now()).await?))
}

/// Which slot reservations to find.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct FindReservations {
    /// The caller's reference the reservation was made under (required).
    reference: String,
}

/// Finds the slot reservation made under a reference: a list of at most one, since references
/// are unique. How a caller that crashed before recording its booking finds it.
#[utoipa::path(get, path = "/v1/slot-reservations", params(FindReservations),
    responses((status = 200, body = Vec<SlotReservation>), (status = 422, body = Problem)))]
async fn find_reservations(
    State(state): State<FurnitureState>,
    ApiQuery(query): ApiQuery<FindReservations>,
) -> Result<Json<Vec<SlotReservation>>> {
    check_reference(&query.reference).map_err(|why| Error::invalid("reference", why))?;
    let found = state.store.reservation_by_reference(&query.reference, state.clock.now()).await?;
    Ok(Json(found.into_iter().collect()))
}

/// Gets a slot reservation.
#[utoipa::path(get, path = "/v1/slot-reservations/{id}", params(("id" = String, Path, description = "Reservation id")),
    responses((status = 200, body = SlotReservation), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn get_reservation(State(state): State<FurnitureState>, Path(id): Path<String>) -> Result<Json<SlotReservation>> {
    let id = parse_reservation_id(&id)?;
    state
        .store
        .reservation(&id, state.clock.now())
        .await?
        .map(Json)
        .ok_or_else(|| Error::not_found("slot reservation", id))
}

async fn change(state: &FurnitureState, id: &str, action: ReservationAction) -> Result<Json<SlotReservation>> {
    let id = parse_reservation_id(id)?;
    state
        .store
        .change(&id, action, state.clock.now())
        .await?
        .map(Json)
        .ok_or_else(|| Error::not_found("slot reservation", id))
}

/// Confirms a reservation: its place is kept for good. Confirming again changes nothing.
#[utoipa::path(post, path = "/v1/slot-reservations/{id}/confirm", params(("id" = String, Path, description = "Reservation id")),
    responses((status = 200, body = SlotReservation), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "Cancelled, or the hold lapsed and the slot filled up")))]
async fn confirm_reservation(
    State(state): State<FurnitureState>,
    Path(id): Path<String>,
) -> Result<Json<SlotReservation>> {
    change(&state, &id, ReservationAction::Confirm).await
}

/// Cancels a reservation, held or confirmed, and frees its place. Cancelling again changes nothing.
#[utoipa::path(post, path = "/v1/slot-reservations/{id}/cancel", params(("id" = String, Path, description = "Reservation id")),
    responses((status = 200, body = SlotReservation), (status = 404, body = Problem)))]
async fn cancel_reservation(
    State(state): State<FurnitureState>,
    Path(id): Path<String>,
) -> Result<Json<SlotReservation>> {
    change(&state, &id, ReservationAction::Cancel).await
}
