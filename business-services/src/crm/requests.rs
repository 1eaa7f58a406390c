//! What the CRM's handlers share: their state, the checks of ids and authors, idempotency keys,
//! the answer to a create, and list pages.

use std::sync::Arc;

use axum::Json;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use super::domain::{CustomerId, MAX_AUTHOR, single_line};
use super::store::{After, CrmStore, IdempotencyKey, Outcome};
use crate::platform::clock::Clock;
use crate::platform::error::{Error, Result};
use crate::platform::idempotency::optional_key;
use crate::platform::page;

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

const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// Parses a customer id from a path.
pub(super) fn parse_customer_id(id: &str) -> Result<CustomerId> {
    CustomerId::parse(id).map_err(|e| Error::invalid("id", e))
}

/// Names `field` in a failed check.
pub(super) fn field(name: &'static str) -> impl FnOnce(String) -> Error {
    move |message| Error::invalid(name, message)
}

/// Checks the author of a note, message or status change.
pub(super) fn author(text: &str) -> Result<String> {
    single_line(text, MAX_AUTHOR).map_err(field("author"))
}

/// The request's idempotency key, scoped to `path`, with the checked request as fingerprint.
pub(super) fn key_for(headers: &HeaderMap, path: &str, request: &impl Serialize) -> Result<Option<IdempotencyKey>> {
    let Some(key) = optional_key(headers)? else {
        return Ok(None);
    };
    let fingerprint = serde_json::to_string(request)
        .map_err(|e| Error::Internal { detail: format!("could not fingerprint the request: {e}") })?;
    Ok(Some(IdempotencyKey { key: format!("{path} {key}"), fingerprint }))
}

/// 201 with what was created; a replay says so in a header.
pub(super) fn created<T: Serialize>(outcome: Outcome<T>) -> Response {
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
pub(super) struct ListPage {
    /// Page size, 1 to 100 (default 20).
    pub(super) limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub(super) cursor: Option<String>,
}

impl ListPage {
    /// The page's position and size, checked.
    pub(super) fn parse(&self) -> Result<(After, u32)> {
        let limit = page::limit(self.limit)?;
        let after = self.cursor.as_deref().map(After::from_cursor).transpose()?.unwrap_or_else(After::start);
        Ok((after, limit))
    }
}
