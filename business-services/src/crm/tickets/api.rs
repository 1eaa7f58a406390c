//! The tickets' routes: a customer's tickets, a ticket, its messages and its status.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::ToSchema;

use super::domain::{Channel, MAX_SUBJECT, NewTicket, Priority, Ticket, TicketId, TicketMessage, TicketStatus};
use crate::crm::domain::{MAX_BODY, free_text, single_line};
use crate::crm::requests::{CrmState, ListPage, author, created, field, key_for, parse_customer_id};
use crate::platform::error::{Error, Problem, Result};
use crate::platform::extract::{ApiJson, ApiQuery};
use crate::platform::page::Page;

/// The tickets' routes.
pub(in crate::crm) fn routes() -> Router<CrmState> {
    Router::new()
        .route("/v1/customers/{id}/tickets", get(list_tickets).post(open_ticket))
        .route("/v1/tickets/{id}", get(get_ticket))
        .route("/v1/tickets/{id}/messages", post(add_message))
        .route("/v1/tickets/{id}/status", put(set_ticket_status))
}

fn parse_ticket_id(id: &str) -> Result<TicketId> {
    TicketId::parse(id).map_err(|e| Error::invalid("id", e))
}

/// A new ticket and its first message.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(in crate::crm) struct OpenTicket {
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
pub(in crate::crm) async fn open_ticket(
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
pub(in crate::crm) async fn list_tickets(
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
pub(in crate::crm) async fn get_ticket(State(state): State<CrmState>, Path(id): Path<String>) -> Result<Json<Ticket>> {
    let id = parse_ticket_id(&id)?;
    state.store.ticket(&id).await?.map(Json).ok_or_else(|| Error::not_found("ticket", id.as_str()))
}

/// A new message on a ticket.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(in crate::crm) struct AddMessage {
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
pub(in crate::crm) async fn add_message(
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
pub(in crate::crm) struct SetTicketStatus {
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
pub(in crate::crm) async fn set_ticket_status(
    State(state): State<CrmState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SetTicketStatus>,
) -> Result<Json<Ticket>> {
    let id = parse_ticket_id(&id)?;
    let author = author(&body.author)?;
    Ok(Json(state.store.set_ticket_status(&id, body.status, &author, state.clock.now()).await?))
}
