//! Idempotency keys: a write sent again with the same `Idempotency-Key` is done once and
//! answered as it was the first time; the same key with a different request is refused.
//!
//! A system that uses this keeps, in its own schema, the table
//!
//! ```sql
//! CREATE TABLE idempotency_keys (
//!     key          TEXT PRIMARY KEY,
//!     fingerprint  TEXT NOT NULL,
//!     response     TEXT NOT NULL,
//!     created_at   BIGINT NOT NULL
//! );
//! ```
//!
//! and, inside the transaction that does the write, [`claim`]s the key first and [`record`]s
//! the answer last. A concurrent request with the same key waits on the key's row until that
//! transaction ends, then replays what it recorded; if it rolled back, the key is free again.

use axum::Json;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::{Any, Transaction};
use time::OffsetDateTime;

use super::clock::to_millis;
use super::db::Db;
use super::error::{Error, Result};

/// The header that carries the key.
pub const HEADER: &str = "Idempotency-Key";

/// The `Idempotency-Key` header when one was sent; a malformed key is a 422 naming the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionalKey(pub Option<String>);

/// The `Idempotency-Key` header, required: a missing or malformed key is a 422 naming it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequiredKey(pub String);

/// 1 to `max` visible ASCII characters: what keys and references may hold.
fn visible_ascii(text: &str, max: usize) -> bool {
    (1..=max).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_graphic())
}

/// Checks a caller's business reference (an order id, a delivery note): the key that makes a
/// write idempotent or finds it again. 1 to 128 visible ASCII characters.
pub fn check_reference(reference: &str) -> Result<(), String> {
    if visible_ascii(reference, 128) {
        Ok(())
    } else {
        Err("use 1 to 128 visible ASCII characters, e.g. the order id".to_owned())
    }
}

/// The `Idempotency-Key` header of `headers`, if sent; a malformed key is a 422 naming it.
pub fn optional_key(headers: &HeaderMap) -> Result<Option<String>> {
    let Some(value) = headers.get(HEADER) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .filter(|key| visible_ascii(key, 255))
        .map(|key| Some(key.to_owned()))
        .ok_or_else(|| Error::invalid(HEADER, "use 1 to 255 visible ASCII characters, e.g. a UUID"))
}

/// The `Idempotency-Key` header of `headers`; a missing or malformed key is a 422 naming it.
pub fn required_key(headers: &HeaderMap) -> Result<String> {
    optional_key(headers)?.ok_or_else(|| {
        Error::invalid(
            HEADER,
            "is required: send a new unique key (e.g. a UUID) with each request, the same on retries",
        )
    })
}

impl<S: Send + Sync> FromRequestParts<S> for OptionalKey {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self> {
        optional_key(&parts.headers).map(OptionalKey)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequiredKey {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self> {
        required_key(&parts.headers).map(RequiredKey)
    }
}

/// One request's use of a key: the key as stored and what the request asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    key: String,
    fingerprint: String,
}

impl Claim {
    /// The caller's `key` within `scope` (e.g. the route and resource it was sent to), for a
    /// request described by `fingerprint`. A fingerprint must hold no secrets: it is stored.
    pub fn new(scope: &str, key: &str, fingerprint: String) -> Self {
        Claim { key: format!("{scope}/{key}"), fingerprint }
    }
}

/// Claims the key inside the write's transaction: `true` when this request is the first to
/// use it, `false` when a committed request already holds it (then [`replay`] its answer).
pub async fn claim(tx: &mut Transaction<'static, Any>, claim: &Claim, now: OffsetDateTime) -> Result<bool> {
    let result = sqlx::query(
        "INSERT INTO idempotency_keys (key, fingerprint, response, created_at) VALUES ($1, $2, '', $3) \
         ON CONFLICT (key) DO NOTHING",
    )
    .bind(&claim.key)
    .bind(&claim.fingerprint)
    .bind(to_millis(now))
    .execute(&mut **tx)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Records the answer to a claimed key, in the same transaction as the write.
pub async fn record<T: Serialize>(tx: &mut Transaction<'static, Any>, claim: &Claim, response: &T) -> Result<()> {
    let json = serde_json::to_string(response)
        .map_err(|e| Error::Internal { detail: format!("could not encode the answer to record: {e}") })?;
    sqlx::query("UPDATE idempotency_keys SET response = $2 WHERE key = $1")
        .bind(&claim.key)
        .bind(json)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The answer recorded for the key; `None` when the key is unused. The same key sent with a
/// different request is a 422 naming the header.
pub async fn replay<T: DeserializeOwned>(db: &Db, claim: &Claim) -> Result<Option<T>> {
    let row: Option<(String, String)> =
        sqlx::query_as("SELECT fingerprint, response FROM idempotency_keys WHERE key = $1")
            .bind(&claim.key)
            .fetch_optional(db.pool())
            .await?;
    let Some((fingerprint, response)) = row else {
        return Ok(None);
    };
    if fingerprint != claim.fingerprint {
        return Err(Error::invalid(
            HEADER,
            "was already used for a different request; send a new key for a new request",
        ));
    }
    serde_json::from_str(&response)
        .map(Some)
        .map_err(|e| Error::Internal { detail: format!("a recorded answer could not be read: {e}") })
}

/// The answer to replay after [`claim`] found the key taken: what the first request recorded.
pub async fn replay_taken<T: DeserializeOwned>(db: &Db, claim: &Claim) -> Result<Outcome<T>> {
    replay(db, claim).await?.map(Outcome::Replayed).ok_or_else(|| Error::Conflict {
        detail: "the request recorded under this Idempotency-Key was just forgotten; send it again".into(),
    })
}

/// Deletes keys claimed before `before`; returns how many.
pub async fn forget_before(db: &Db, before: OffsetDateTime) -> Result<u64> {
    let result = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
        .bind(to_millis(before))
        .execute(db.pool())
        .await?;
    Ok(result.rows_affected())
}

/// What an idempotent write did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<T> {
    /// It was done now; this is its result.
    Done(T),
    /// It had been done before (same key or business reference); this is that result.
    Replayed(T),
}

impl<T: Serialize> Outcome<T> {
    /// The answer: `done` with the body the first time; a replay is marked with the header
    /// `Idempotent-Replayed: true` and answered `replayed`.
    pub fn into_response(self, done: StatusCode, replayed: StatusCode) -> Response {
        match self {
            Outcome::Done(body) => (done, Json(body)).into_response(),
            Outcome::Replayed(body) => (
                replayed,
                [(HeaderName::from_static("idempotent-replayed"), HeaderValue::from_static("true"))],
                Json(body),
            )
                .into_response(),
        }
    }
}
