//! The transactional outbox: a system writes the events of a change in the same transaction
//! as the change, and a relay publishes them afterwards, in order, at least once. So no event
//! is lost when the broker is down, and none is published for a change that rolled back.
//!
//! A system that publishes keeps, in its own schema, the table
//!
//! ```sql
//! CREATE TABLE outbox (
//!     id            TEXT PRIMARY KEY,
//!     topic         TEXT NOT NULL,
//!     ordering_key  TEXT NOT NULL,
//!     payload       TEXT NOT NULL,
//!     attributes    TEXT NOT NULL,
//!     created_at    BIGINT NOT NULL,
//!     published_at  BIGINT
//! );
//! CREATE INDEX outbox_unpublished ON outbox (published_at, created_at);
//! ```

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::{Any, Transaction};
use time::OffsetDateTime;

use super::clock::to_millis;
use super::error::{Error, Result};
use super::events::{TRACEPARENT, TYPE};
use super::trace::TraceContext;

/// An event to publish once the transaction that wrote it commits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEvent {
    /// Its id (consumers deduplicate on it).
    pub id: String,
    /// The topic, e.g. `orders`.
    pub topic: &'static str,
    /// Events with one key are delivered in order.
    pub ordering_key: String,
    /// The JSON payload.
    pub payload: String,
    /// JSON object of string attributes (event type, trace context).
    pub attributes: String,
}

impl OutboxEvent {
    /// A new event of `event_type` on `topic`, keyed by `ordering_key`, carrying the trace
    /// context of the request being served.
    pub fn new<T: Serialize>(topic: &'static str, event_type: &str, ordering_key: &str, payload: &T) -> Result<Self> {
        let encode = |e: serde_json::Error| Error::Internal { detail: format!("could not encode an event: {e}") };
        let mut attributes = BTreeMap::from([(TYPE.to_owned(), event_type.to_owned())]);
        if let Some(context) = TraceContext::current() {
            attributes.insert(TRACEPARENT.to_owned(), context.child_header());
        }
        Ok(OutboxEvent {
            id: format!("evt_{}", uuid::Uuid::new_v4().simple()),
            topic,
            ordering_key: ordering_key.to_owned(),
            payload: serde_json::to_string(payload).map_err(encode)?,
            attributes: serde_json::to_string(&attributes).map_err(encode)?,
        })
    }

    /// Writes the event inside `tx`; writing the same event again changes nothing.
    pub async fn append(&self, tx: &mut Transaction<'static, Any>, now: OffsetDateTime) -> Result<()> {
        sqlx::query(
            "INSERT INTO outbox (id, topic, ordering_key, payload, attributes, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(&self.id)
        .bind(self.topic)
        .bind(&self.ordering_key)
        .bind(&self.payload)
        .bind(&self.attributes)
        .bind(to_millis(now))
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}
