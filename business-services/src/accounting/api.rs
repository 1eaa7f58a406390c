//! The accounting service's HTTP routes.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi};

use super::domain::{
    Account, AccountBalance, CurrencyBalance, EntryKind, JournalEntry, JournalEntryId, Line, Refund,
    RevenueRecognition, Sale, SaleAmounts, Side, TrialBalance,
};
use super::store::{AccountingStore, After};
use crate::contracts::order::OrderId;
use crate::platform::clock::{Clock, to_millis};
use crate::platform::error::{Error, Problem, Result};
use crate::platform::extract::{ApiJson, ApiQuery};
use crate::platform::page::{self, Page};

/// What the accounting routes need.
#[derive(Debug, Clone)]
pub struct AccountingState {
    /// The ledger.
    pub store: AccountingStore,
    /// The time source for posting times.
    pub clock: Arc<dyn Clock>,
}

/// The accounting service's routes.
pub fn routes(state: AccountingState) -> Router {
    Router::new()
        .route("/v1/journal", get(list_entries))
        .route("/v1/journal/sales", post(record_sale))
        .route("/v1/journal/revenue-recognitions", post(recognize_revenue))
        .route("/v1/journal/refunds", post(record_refund))
        .route("/v1/journal/{id}", get(get_entry))
        .route("/v1/trial-balance", get(trial_balance))
        .with_state(state)
}

/// The accounting service's OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "accounting",
        description = "A double-entry ledger: sales defer revenue, shipments recognise it, refunds give it back; the \
            trial balance balances in every currency."
    ),
    paths(record_sale, recognize_revenue, record_refund, list_entries, get_entry, trial_balance),
    components(schemas(
        Sale,
        RevenueRecognition,
        Refund,
        JournalEntry,
        Line,
        Account,
        Side,
        EntryKind,
        Page<JournalEntry>,
        TrialBalance,
        CurrencyBalance,
        AccountBalance,
        Problem
    ))
)]
pub struct ApiDoc;

/// Records the sale of an order at its placement: Dr payment_clearing total, Dr discounts
/// discount, Cr deferred_revenue subtotal + shipping + freight. Idempotent on `order_id`: the
/// same sale again answers 200 (with `Idempotent-Replayed: true`) and the entry posted first;
/// other amounts for the order are a 422 on `order_id`.
#[utoipa::path(post, path = "/v1/journal/sales", request_body = Sale,
    responses((status = 201, body = JournalEntry), (status = 200, body = JournalEntry, description = "A replay"),
              (status = 422, body = Problem)))]
async fn record_sale(State(state): State<AccountingState>, ApiJson(sale): ApiJson<Sale>) -> Result<Response> {
    let amounts = SaleAmounts::parse(&sale.amounts)?;
    let outcome = state.store.record_sale(&sale.order_id, &amounts, state.clock.now()).await?;
    Ok(outcome.into_response(StatusCode::CREATED, StatusCode::OK))
}

/// Recognises an order's revenue at its shipment: Dr deferred_revenue subtotal + shipping +
/// freight, Cr merchandise_revenue subtotal, Cr shipping_revenue shipping + freight.
/// Idempotent on `order_id`; an order without a recorded sale is a 409.
#[utoipa::path(post, path = "/v1/journal/revenue-recognitions", request_body = RevenueRecognition,
    responses((status = 201, body = JournalEntry), (status = 200, body = JournalEntry, description = "A replay"),
              (status = 409, body = Problem, description = "No sale recorded for the order"), (status = 422, body = Problem)))]
async fn recognize_revenue(
    State(state): State<AccountingState>,
    ApiJson(request): ApiJson<RevenueRecognition>,
) -> Result<Response> {
    let outcome = state.store.recognize_revenue(&request.order_id, state.clock.now()).await?;
    Ok(outcome.into_response(StatusCode::CREATED, StatusCode::OK))
}

/// Records a refund: Dr refunds amount, Cr payment_clearing amount. Idempotent on `reference`
/// (the same reference with another order or amount is a 422 on `reference`). An order's
/// refunds never exceed its sale's total (422 on `amount`); without a sale, 409.
#[utoipa::path(post, path = "/v1/journal/refunds", request_body = Refund,
    responses((status = 201, body = JournalEntry), (status = 200, body = JournalEntry, description = "A replay"),
              (status = 409, body = Problem, description = "No sale recorded for the order"), (status = 422, body = Problem)))]
async fn record_refund(State(state): State<AccountingState>, ApiJson(refund): ApiJson<Refund>) -> Result<Response> {
    let outcome = state.store.record_refund(&refund, state.clock.now()).await?;
    Ok(outcome.into_response(StatusCode::CREATED, StatusCode::OK))
}

/// Which entries to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListEntries {
    /// Only the entries of this order.
    order_id: Option<String>,
    /// Page size, 1 to 100 (default 20).
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

fn parse_after(cursor: &str) -> Result<After> {
    let key = page::decode_cursor(cursor)?;
    key.split_once(':')
        .and_then(|(at, id)| Some(After { created_at: at.parse().ok()?, id: id.to_owned() }))
        .ok_or_else(|| Error::invalid("cursor", "is not a cursor this service issued; start again without it"))
}

/// Lists journal entries, oldest first: all, or one order's.
#[utoipa::path(get, path = "/v1/journal", params(ListEntries),
    responses((status = 200, body = Page<JournalEntry>), (status = 422, body = Problem)))]
async fn list_entries(
    State(state): State<AccountingState>,
    ApiQuery(query): ApiQuery<ListEntries>,
) -> Result<Json<Page<JournalEntry>>> {
    let limit = page::limit(query.limit)?;
    let order = query.order_id.map(|id| OrderId::parse(&id).map_err(|e| Error::invalid("order_id", e))).transpose()?;
    let after = query.cursor.as_deref().map(parse_after).transpose()?;
    let rows = state.store.entries(order.as_ref(), after.as_ref(), limit + 1).await?;
    Ok(Json(page::paginate(rows, limit, |entry| format!("{}:{}", to_millis(entry.created_at), entry.id))))
}

/// Gets one journal entry.
#[utoipa::path(get, path = "/v1/journal/{id}", params(("id" = String, Path, description = "Journal entry id")),
    responses((status = 200, body = JournalEntry), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn get_entry(State(state): State<AccountingState>, Path(id): Path<String>) -> Result<Json<JournalEntry>> {
    let id = JournalEntryId::parse(&id).map_err(|e| Error::invalid("id", e))?;
    state.store.entry(&id).await?.map(Json).ok_or_else(|| Error::not_found("journal entry", id.as_str()))
}

/// The trial balance: per currency, every account's debit and credit totals and balance, and
/// whether debits equal credits.
#[utoipa::path(get, path = "/v1/trial-balance", responses((status = 200, body = TrialBalance)))]
async fn trial_balance(State(state): State<AccountingState>) -> Result<Json<TrialBalance>> {
    Ok(Json(state.store.trial_balance().await?))
}
