//! The CRM's HTTP routes.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::domain::{
    Address, Channel, CountryCode, Customer, CustomerId, Email, LoyaltyEntry, LoyaltyStatus, MAX_AUTHOR, MAX_BODY,
    MAX_NAME, MAX_REASON, MAX_SUBJECT, NewAddress, NewCustomer, NewLoyaltyEntry, NewTicket, Note, Priority, Standing,
    Ticket, TicketId, TicketMessage, TicketStatus, Tier, check_delta, check_phone, check_reference, free_text,
    order_earning, single_line,
};
use super::store::{After, CrmStore, CustomerSearch, IdempotencyKey, Outcome};
use crate::contracts::order::{ORDER_PLACED, OrderPlaced};
use crate::platform::clock::Clock;
use crate::platform::error::{Error, Problem, Result};
use crate::platform::events::Pushed;
use crate::platform::extract::{ApiJson, ApiQuery};
use crate::platform::idempotency::optional_key;
use crate::platform::page::{self, Page};

/// What the CRM routes need.
#[derive(Debug, Clone)]
pub struct CrmState {
    /// Customers and everything about them.
    pub store: CrmStore,
    /// The time source for creation times.
    pub clock: Arc<dyn Clock>,
}

/// Where the broker pushes the `orders` topic.
pub const ORDER_EVENTS_PATH: &str = "/v1/events/orders";

/// The CRM's routes.
pub fn routes(state: CrmState) -> Router {
    Router::new()
        .route("/v1/customers", get(list_customers).post(sign_up))
        .route("/v1/customers/{id}", get(get_customer))
        .route("/v1/customers/{id}/standing", put(set_standing))
        .route("/v1/customers/{id}/addresses", post(add_address))
        .route("/v1/customers/{id}/loyalty", get(get_loyalty))
        .route("/v1/customers/{id}/loyalty/entries", get(list_loyalty_entries).post(add_loyalty_entry))
        .route("/v1/customers/{id}/notes", get(list_notes).post(add_note))
        .route("/v1/customers/{id}/tickets", get(list_tickets).post(open_ticket))
        .route("/v1/tickets/{id}", get(get_ticket))
        .route("/v1/tickets/{id}/messages", post(add_message))
        .route("/v1/tickets/{id}/status", put(set_ticket_status))
        .route(ORDER_EVENTS_PATH, post(order_event))
        .with_state(state)
}

/// The CRM's OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "crm",
        description = "Customers, addresses, loyalty tiers and points, account standing, notes and support tickets."
    ),
    paths(
        sign_up,
        list_customers,
        get_customer,
        set_standing,
        add_address,
        get_loyalty,
        add_loyalty_entry,
        list_loyalty_entries,
        add_note,
        list_notes,
        open_ticket,
        list_tickets,
        get_ticket,
        add_message,
        set_ticket_status,
        order_event
    ),
    components(schemas(
        Customer,
        Address,
        Tier,
        Standing,
        LoyaltyStatus,
        LoyaltyEntry,
        Note,
        Ticket,
        TicketMessage,
        TicketStatus,
        Priority,
        Channel,
        Page<Customer>,
        Page<LoyaltyEntry>,
        Page<Note>,
        Page<Ticket>,
        SignUp,
        SetStanding,
        AddAddress,
        AddLoyaltyEntry,
        AddNote,
        OpenTicket,
        AddMessage,
        SetTicketStatus,
        Problem
    ))
)]
pub struct ApiDoc;

const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

fn parse_customer_id(id: &str) -> Result<CustomerId> {
    CustomerId::parse(id).map_err(|e| Error::invalid("id", e))
}

fn parse_ticket_id(id: &str) -> Result<TicketId> {
    TicketId::parse(id).map_err(|e| Error::invalid("id", e))
}

/// Names `field` in a failed check.
fn field(name: &'static str) -> impl FnOnce(String) -> Error {
    move |message| Error::invalid(name, message)
}

fn author(text: &str) -> Result<String> {
    single_line(text, MAX_AUTHOR).map_err(field("author"))
}

/// The request's idempotency key, scoped to `path`, with the checked request as fingerprint.
fn key_for(headers: &HeaderMap, path: &str, request: &impl Serialize) -> Result<Option<IdempotencyKey>> {
    let Some(key) = optional_key(headers)? else {
        return Ok(None);
    };
    let fingerprint = serde_json::to_string(request)
        .map_err(|e| Error::Internal { detail: format!("could not fingerprint the request: {e}") })?;
    Ok(Some(IdempotencyKey { key: format!("{path} {key}"), fingerprint }))
}

/// 201 with what was created; a replay says so in a header.
fn created<T: Serialize>(outcome: Outcome<T>) -> Response {
    match outcome {
        Outcome::Created(value) => (StatusCode::CREATED, Json(value)).into_response(),
        Outcome::Replayed(value) => {
            (StatusCode::CREATED, [(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"))], Json(value))
                .into_response()
        }
    }
}

/// Page size and position of a list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListPage {
    /// Page size, 1 to 100 (default 20).
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

impl ListPage {
    fn parse(&self) -> Result<(After, u32)> {
        let limit = page::limit(self.limit)?;
        let after = self.cursor.as_deref().map(After::from_cursor).transpose()?.unwrap_or_else(After::start);
        Ok((after, limit))
    }
}

/// A sign-up.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SignUp {
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
async fn sign_up(
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
struct ListCustomers {
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
async fn list_customers(
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
async fn get_customer(State(state): State<CrmState>, Path(id): Path<String>) -> Result<Json<Customer>> {
    let id = parse_customer_id(&id)?;
    state.store.customer(&id).await?.map(Json).ok_or_else(|| Error::not_found("customer", id.as_str()))
}

/// A new account standing.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SetStanding {
    /// `good`, `watch` or `suspended`.
    standing: Standing,
    /// Why, for the agents who read it later; 1 to 500 characters.
    reason: String,
}

/// Sets a customer's account standing. Suspended accounts get no loyalty discount.
#[utoipa::path(put, path = "/v1/customers/{id}/standing", request_body = SetStanding,
    params(("id" = String, Path, description = "Customer id")),
    responses((status = 200, body = Customer), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn set_standing(
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
struct AddAddress {
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
async fn add_address(
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

/// Gets a customer's tier, points, discount and distance to the next tier.
#[utoipa::path(get, path = "/v1/customers/{id}/loyalty", params(("id" = String, Path, description = "Customer id")),
    responses((status = 200, body = LoyaltyStatus), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn get_loyalty(State(state): State<CrmState>, Path(id): Path<String>) -> Result<Json<LoyaltyStatus>> {
    let id = parse_customer_id(&id)?;
    state.store.loyalty(&id).await?.map(Json).ok_or_else(|| Error::not_found("customer", id.as_str()))
}

/// Points to add or take.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct AddLoyaltyEntry {
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
async fn add_loyalty_entry(
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
async fn list_loyalty_entries(
    State(state): State<CrmState>,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<ListPage>,
) -> Result<Json<Page<LoyaltyEntry>>> {
    let id = parse_customer_id(&id)?;
    let (after, limit) = query.parse()?;
    Ok(Json(state.store.loyalty_entries(&id, &after, limit).await?))
}

/// A new note.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct AddNote {
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
async fn add_note(
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
async fn list_notes(
    State(state): State<CrmState>,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<ListPage>,
) -> Result<Json<Page<Note>>> {
    let id = parse_customer_id(&id)?;
    let (after, limit) = query.parse()?;
    Ok(Json(state.store.notes(&id, &after, limit).await?))
}

/// A new ticket and its first message.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct OpenTicket {
    /// What it is about, one line of up to 200 characters.
    subject: String,
    /// The first message, 1 to 4000 characters.
    body: String,
    /// `low`, `normal`, `high` or `urgent`.
    priority: Priority,
    /// `email`, `chat` or `phone`.
    channel: Channel,
    /// Who wrote the first message: an agent's name, `system` or `customer`.
    author: String,
}

/// Opens a support ticket for a customer. Send an `Idempotency-Key` header so a retry opens one.
#[utoipa::path(post, path = "/v1/customers/{id}/tickets", request_body = OpenTicket,
    params(("id" = String, Path, description = "Customer id"),
           ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses((status = 201, body = Ticket), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn open_ticket(
    State(state): State<CrmState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<OpenTicket>,
) -> Result<Response> {
    let id = parse_customer_id(&id)?;
    let author = author(&body.author)?;
    let ticket = NewTicket {
        subject: single_line(&body.subject, MAX_SUBJECT).map_err(field("subject"))?,
        body: free_text(&body.body, MAX_BODY).map_err(field("body"))?,
        priority: body.priority,
        channel: body.channel,
    };
    let key = key_for(&headers, &format!("/v1/customers/{id}/tickets"), &(&ticket, &author))?;
    Ok(created(state.store.open_ticket(&id, &ticket, &author, state.clock.now(), key.as_ref()).await?))
}

/// Lists a customer's tickets with their messages, newest first.
#[utoipa::path(get, path = "/v1/customers/{id}/tickets",
    params(("id" = String, Path, description = "Customer id"), ListPage),
    responses((status = 200, body = Page<Ticket>), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn list_tickets(
    State(state): State<CrmState>,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<ListPage>,
) -> Result<Json<Page<Ticket>>> {
    let id = parse_customer_id(&id)?;
    let (after, limit) = query.parse()?;
    Ok(Json(state.store.tickets(&id, &after, limit).await?))
}

/// Gets a ticket with its messages, oldest first.
#[utoipa::path(get, path = "/v1/tickets/{id}", params(("id" = String, Path, description = "Ticket id")),
    responses((status = 200, body = Ticket), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn get_ticket(State(state): State<CrmState>, Path(id): Path<String>) -> Result<Json<Ticket>> {
    let id = parse_ticket_id(&id)?;
    state.store.ticket(&id).await?.map(Json).ok_or_else(|| Error::not_found("ticket", id.as_str()))
}

/// A new message on a ticket.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct AddMessage {
    /// An agent's name, `system` or `customer`.
    author: String,
    /// The message, 1 to 4000 characters.
    body: String,
}

/// Adds a message to a ticket that is not closed. Send an `Idempotency-Key` header so a retry adds one.
#[utoipa::path(post, path = "/v1/tickets/{id}/messages", request_body = AddMessage,
    params(("id" = String, Path, description = "Ticket id"),
           ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses((status = 201, body = TicketMessage), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "The ticket is closed"), (status = 422, body = Problem)))]
async fn add_message(
    State(state): State<CrmState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<AddMessage>,
) -> Result<Response> {
    let id = parse_ticket_id(&id)?;
    let author = author(&body.author)?;
    let text = free_text(&body.body, MAX_BODY).map_err(field("body"))?;
    let key = key_for(&headers, &format!("/v1/tickets/{id}/messages"), &(&author, &text))?;
    Ok(created(state.store.add_message(&id, &author, &text, state.clock.now(), key.as_ref()).await?))
}

/// A ticket's new status.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SetTicketStatus {
    /// `open`, `pending` or `closed`.
    status: TicketStatus,
    /// Who changes it: an agent's name or `system`.
    author: String,
}

/// Moves a ticket to a status; the change is recorded in its messages. Setting the status it
/// has changes nothing.
#[utoipa::path(put, path = "/v1/tickets/{id}/status", request_body = SetTicketStatus,
    params(("id" = String, Path, description = "Ticket id")),
    responses((status = 200, body = Ticket), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn set_ticket_status(
    State(state): State<CrmState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SetTicketStatus>,
) -> Result<Json<Ticket>> {
    let id = parse_ticket_id(&id)?;
    let author = author(&body.author)?;
    Ok(Json(state.store.set_ticket_status(&id, body.status, &author, state.clock.now()).await?))
}

/// Receives the `orders` topic (a Pub/Sub push): a confirmed `order.placed` of a signed-in
/// customer earns loyalty points at the customer's tier, on the merchandise subtotal in US
/// dollars, once per order (the order id is the ledger reference). Guests' and held orders,
/// other event types and unknown customers (logged) are acknowledged without effect; a
/// malformed message is a 400, so the broker dead-letters it.
#[utoipa::path(post, path = "/v1/events/orders", request_body(content = Object, description = "A Pub/Sub push envelope carrying an order.placed event"),
    responses((status = 204, description = "Applied, already applied, or ignored"), (status = 400, body = Problem)))]
async fn order_event(State(state): State<CrmState>, pushed: Pushed<serde_json::Value>) -> Result<StatusCode> {
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
