//! The customers' routes: sign-up and search, a customer, standing, addresses and notes.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::domain::{Address, CountryCode, Customer, Email, MAX_NAME, NewAddress, NewCustomer, Note, check_phone};
use super::store::CustomerSearch;
use crate::crm::domain::{MAX_BODY, MAX_REASON, Standing, free_text, single_line};
use crate::crm::requests::{CrmState, ListPage, author, created, field, key_for, parse_customer_id};
use crate::platform::error::{Error, Problem, Result};
use crate::platform::extract::{ApiJson, ApiQuery};
use crate::platform::page::Page;

/// The customers' routes.
pub(in crate::crm) fn routes() -> Router<CrmState> {
    Router::new()
        .route("/v1/customers", get(list_customers).post(sign_up))
        .route("/v1/customers/{id}", get(get_customer))
        .route("/v1/customers/{id}/standing", put(set_standing))
        .route("/v1/customers/{id}/addresses", post(add_address))
        .route("/v1/customers/{id}/notes", get(list_notes).post(add_note))
}

/// A sign-up.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(in crate::crm) struct SignUp {
    /// Email address, unique among customers; stored lowercased.
    #[schema(example = "ada.lovelace@example.com")]
    email: String,
    /// Name, 1 to 200 characters.
    name: String,
    /// Phone number: 7 to 15 digits, optionally with `+`, spaces, dashes or parentheses.
    phone: Option<String>,
}

/// Signs a customer up. Send an `Idempotency-Key` header so a retried sign-up creates one account.
#[utoipa::path(post, path = "/v1/customers", request_body = SignUp,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses((status = 201, body = Customer), (status = 409, body = Problem, description = "The email is in use"),
        (status = 422, body = Problem)))]
pub(in crate::crm) async fn sign_up(
    State(state): State<CrmState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<SignUp>,
) -> Result<Response> {
    let new = NewCustomer {
        email: Email::parse(&body.email).map_err(field("email"))?,
        name: single_line(&body.name, MAX_NAME).map_err(field("name"))?,
        phone: body.phone.as_deref().map(check_phone).transpose().map_err(field("phone"))?,
    };
    let key = key_for(&headers, "/v1/customers", &new)?;
    Ok(created(state.store.create_customer(&new, state.clock.now(), key.as_ref()).await?))
}

/// A customer search.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(in crate::crm) struct ListCustomers {
    /// Only the customer with exactly this email (any case).
    email: Option<String>,
    /// Text to find anywhere in the name or email, ignoring case.
    q: Option<String>,
    /// Page size, 1 to 100 (default 20).
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Lists customers, newest accounts first: all of them, by exact email, or by a piece of name or email.
#[utoipa::path(get, path = "/v1/customers", params(ListCustomers),
    responses((status = 200, body = Page<Customer>), (status = 422, body = Problem)))]
pub(in crate::crm) async fn list_customers(
    State(state): State<CrmState>,
    ApiQuery(query): ApiQuery<ListCustomers>,
) -> Result<Json<Page<Customer>>> {
    let (after, limit) = ListPage { limit: query.limit, cursor: query.cursor }.parse()?;
    let search = CustomerSearch {
        email: query.email.as_deref().map(Email::parse).transpose().map_err(field("email"))?,
        text: query.q.as_deref().map(|q| single_line(q, MAX_NAME)).transpose().map_err(field("q"))?,
        after,
    };
    Ok(Json(state.store.search_customers(&search, limit).await?))
}

/// Gets a customer with addresses, standing, tier, points and discount.
#[utoipa::path(get, path = "/v1/customers/{id}", params(("id" = String, Path, description = "Customer id")),
    responses((status = 200, body = Customer), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub(in crate::crm) async fn get_customer(
    State(state): State<CrmState>,
    Path(id): Path<String>,
) -> Result<Json<Customer>> {
    let id = parse_customer_id(&id)?;
    state.store.customer(&id).await?.map(Json).ok_or_else(|| Error::not_found("customer", id.as_str()))
}

/// A new account standing.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(in crate::crm) struct SetStanding {
    /// `good`, `watch` or `suspended`.
    standing: Standing,
    /// Why, for the agents who read it later; 1 to 500 characters.
    reason: String,
}

/// Sets a customer's account standing. Suspended accounts get no loyalty discount.
#[utoipa::path(put, path = "/v1/customers/{id}/standing", request_body = SetStanding,
    params(("id" = String, Path, description = "Customer id")),
    responses((status = 200, body = Customer), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub(in crate::crm) async fn set_standing(
    State(state): State<CrmState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SetStanding>,
) -> Result<Json<Customer>> {
    let id = parse_customer_id(&id)?;
    let reason = free_text(&body.reason, MAX_REASON).map_err(field("reason"))?;
    Ok(Json(state.store.set_standing(&id, body.standing, &reason).await?))
}

/// A new address.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(in crate::crm) struct AddAddress {
    /// The customer's name for it, e.g. `Home`.
    label: String,
    /// Street and number.
    line1: String,
    /// Flat, floor, company.
    line2: Option<String>,
    /// City or town.
    city: String,
    /// State, province, county or prefecture.
    region: String,
    /// Postal code.
    postal_code: String,
    /// ISO 3166-1 alpha-2 country, e.g. `GB`.
    country: String,
    /// Make it the default shipping address (the first address always is).
    #[serde(default)]
    default_shipping: bool,
    /// Make it the default billing address (the first address always is).
    #[serde(default)]
    default_billing: bool,
}

/// Adds an address to a customer. Send an `Idempotency-Key` header so a retry adds one.
#[utoipa::path(post, path = "/v1/customers/{id}/addresses", request_body = AddAddress,
    params(("id" = String, Path, description = "Customer id"),
           ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses((status = 201, body = Address), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub(in crate::crm) async fn add_address(
    State(state): State<CrmState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<AddAddress>,
) -> Result<Response> {
    let id = parse_customer_id(&id)?;
    let line = |name: &'static str, text: &str, max: usize| single_line(text, max).map_err(field(name));
    let new = NewAddress {
        label: line("label", &body.label, 50)?,
        line1: line("line1", &body.line1, 200)?,
        line2: body.line2.as_deref().filter(|l| !l.trim().is_empty()).map(|l| line("line2", l, 200)).transpose()?,
        city: line("city", &body.city, 100)?,
        region: line("region", &body.region, 100)?,
        postal_code: line("postal_code", &body.postal_code, 16)?,
        country: CountryCode::parse(&body.country).map_err(field("country"))?,
        default_shipping: body.default_shipping,
        default_billing: body.default_billing,
    };
    let key = key_for(&headers, &format!("/v1/customers/{id}/addresses"), &new)?;
    Ok(created(state.store.add_address(&id, &new, state.clock.now(), key.as_ref()).await?))
}

/// A new note.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(in crate::crm) struct AddNote {
    /// The agent's name, `system` or `customer`.
    author: String,
    /// The note, 1 to 4000 characters.
    body: String,
}

/// Appends a note about a customer. Send an `Idempotency-Key` header so a retry adds one.
#[utoipa::path(post, path = "/v1/customers/{id}/notes", request_body = AddNote,
    params(("id" = String, Path, description = "Customer id"),
           ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses((status = 201, body = Note), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub(in crate::crm) async fn add_note(
    State(state): State<CrmState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<AddNote>,
) -> Result<Response> {
    let id = parse_customer_id(&id)?;
    let author = author(&body.author)?;
    let text = free_text(&body.body, MAX_BODY).map_err(field("body"))?;
    let key = key_for(&headers, &format!("/v1/customers/{id}/notes"), &(&author, &text))?;
    Ok(created(state.store.add_note(&id, &author, &text, state.clock.now(), key.as_ref()).await?))
}

/// Lists the notes about a customer, newest first.
#[utoipa::path(get, path = "/v1/customers/{id}/notes",
    params(("id" = String, Path, description = "Customer id"), ListPage),
    responses((status = 200, body = Page<Note>), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub(in crate::crm) async fn list_notes(
    State(state): State<CrmState>,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<ListPage>,
) -> Result<Json<Page<Note>>> {
    let id = parse_customer_id(&id)?;
    let (after, limit) = query.parse()?;
    Ok(Json(state.store.notes(&id, &after, limit).await?))
}
