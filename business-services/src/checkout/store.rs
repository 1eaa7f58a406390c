//! The checkout's tables: sagas, orders and the outbox.

use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

use super::domain::SagaState;

use crate::contracts::order::{OrderId, Receipt};
use crate::platform::clock::to_millis;
use crate::platform::db::Db;
use crate::platform::outbox::OutboxEvent;
use crate::platform::{Error, Result};

/// A saga as stored.
#[derive(Debug, Clone)]
pub struct SagaRecord<P> {
    /// Its id.
    pub id: String,
    /// What the key was first used for.
    pub fingerprint: String,
    /// Its state.
    pub state: SagaState,
    /// What its steps produced.
    pub progress: P,
    /// The answer, once it has ended.
    pub outcome: Option<(u16, String)>,
}

/// Whether a key was claimed.
#[derive(Debug)]
pub enum Claim<P> {
    /// A new saga holds the key.
    New,
    /// The key belongs to this saga already.
    Existing(SagaRecord<P>),
}

/// Reads and writes sagas, orders and outbox events.
#[derive(Debug, Clone)]
pub struct CheckoutStore {
    db: Db,
}

type SagaRow = (String, String, String, String, Option<i64>, Option<String>);

const SAGA_COLUMNS: &str = "id, fingerprint, state, progress, outcome_status, outcome";

fn encode<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Internal { detail: format!("could not encode saga data: {e}") })
}

fn decode<T: DeserializeOwned>(text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| Error::Internal { detail: format!("stored saga data is unreadable: {e}") })
}

impl CheckoutStore {
    /// A store over `db`, migrated with the checkout migrations.
    pub fn new(db: Db) -> Self {
        CheckoutStore { db }
    }

    /// Starts saga `id` under `key`, unless the key already has one.
    pub async fn claim<P: Serialize + DeserializeOwned>(
        &self,
        id: &str,
        key: &str,
        fingerprint: &str,
        progress: &P,
        now: OffsetDateTime,
    ) -> Result<Claim<P>> {
        let inserted = sqlx::query(
            "INSERT INTO checkout_sagas (id, idempotency_key, fingerprint, state, progress, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (idempotency_key) DO NOTHING",
        )
        .bind(id)
        .bind(key)
        .bind(fingerprint)
        .bind(SagaState::Started.as_str())
        .bind(encode(progress)?)
        .bind(to_millis(now))
        .execute(self.db.pool())
        .await?;
        if inserted.rows_affected() == 1 {
            return Ok(Claim::New);
        }
        match self.by_key(key).await? {
            Some(existing) => Ok(Claim::Existing(existing)),
            // The holder freed the key between our insert and read: the caller may try again.
            None => {
                Err(Error::Conflict { detail: "a checkout with this key just ended; send the request again".into() })
            }
        }
    }

    /// The saga holding `key`.
    pub async fn by_key<P: DeserializeOwned>(&self, key: &str) -> Result<Option<SagaRecord<P>>> {
        let sql = format!("SELECT {SAGA_COLUMNS} FROM checkout_sagas WHERE idempotency_key = $1");
        let row: Option<SagaRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(key).fetch_optional(self.db.pool()).await?;
        row.map(saga_record).transpose()
    }

    /// Sagas that have not ended and have not moved since `stale_before`, oldest first.
    pub async fn unfinished<P: DeserializeOwned>(&self, stale_before: OffsetDateTime) -> Result<Vec<SagaRecord<P>>> {
        let sql = format!(
            "SELECT {SAGA_COLUMNS} FROM checkout_sagas WHERE state NOT IN ($1, $2) AND updated_at < $3 ORDER BY created_at"
        );
        let rows: Vec<SagaRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(SagaState::Completed.as_str())
            .bind(SagaState::Failed.as_str())
            .bind(to_millis(stale_before))
            .fetch_all(self.db.pool())
            .await?;
        rows.into_iter().map(saga_record).collect()
    }

    /// Records that saga `id` reached `state` with `progress`.
    pub async fn save<P: Serialize>(
        &self,
        id: &str,
        state: SagaState,
        progress: &P,
        now: OffsetDateTime,
    ) -> Result<()> {
        sqlx::query("UPDATE checkout_sagas SET state = $2, progress = $3, updated_at = $4 WHERE id = $1")
            .bind(id)
            .bind(state.as_str())
            .bind(encode(progress)?)
            .bind(to_millis(now))
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// Ends saga `id` as failed with the problem the caller got. With `free_key` the key is
    /// released, so the same request can be tried again (after transient failures).
    pub async fn fail(&self, id: &str, status: u16, problem: &str, free_key: bool, now: OffsetDateTime) -> Result<()> {
        let key_update = if free_key { ", idempotency_key = 'retired:' || id" } else { "" };
        let sql = format!(
            "UPDATE checkout_sagas SET state = $2, outcome_status = $3, outcome = $4, updated_at = $5{key_update} WHERE id = $1"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(SagaState::Failed.as_str())
            .bind(i64::from(status))
            .bind(problem)
            .bind(to_millis(now))
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// Writes the order and its event and ends saga `id`, all in one transaction.
    pub async fn complete(&self, id: &str, receipt: &Receipt, event: &OutboxEvent, now: OffsetDateTime) -> Result<()> {
        let receipt_json = encode(receipt)?;
        let mut tx = self.db.begin_write().await?;
        sqlx::query(
            "INSERT INTO orders (id, saga_id, customer_id, email, status, currency, total_minor, receipt, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (saga_id) DO NOTHING",
        )
        .bind(receipt.order_id.as_str())
        .bind(id)
        .bind(receipt.customer_id.as_deref())
        .bind(&receipt.email)
        .bind(encode(&receipt.status)?.trim_matches('"').to_owned())
        .bind(receipt.amounts.total.currency.as_str())
        .bind(receipt.amounts.total.minor_units)
        .bind(&receipt_json)
        .bind(to_millis(receipt.created_at))
        .execute(&mut *tx)
        .await?;
        event.append(&mut tx, now).await?;
        sqlx::query(
            "UPDATE checkout_sagas SET state = $2, outcome_status = 201, outcome = $3, updated_at = $4 WHERE id = $1",
        )
        .bind(id)
        .bind(SagaState::Completed.as_str())
        .bind(&receipt_json)
        .bind(to_millis(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// One order's receipt.
    pub async fn order(&self, id: &OrderId) -> Result<Option<Receipt>> {
        let receipt: Option<String> = sqlx::query_scalar("SELECT receipt FROM orders WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(self.db.pool())
            .await?;
        receipt.as_deref().map(decode).transpose()
    }

    /// Up to `limit` receipts of `customer_id`, newest first, placed before `before` (ms).
    pub async fn orders_of(&self, customer_id: &str, before: Option<i64>, limit: u32) -> Result<Vec<Receipt>> {
        let receipts: Vec<String> = sqlx::query_scalar(
            "SELECT receipt FROM orders WHERE customer_id = $1 AND created_at < $2 ORDER BY created_at DESC, id LIMIT $3",
        )
        .bind(customer_id)
        .bind(before.unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(self.db.pool())
        .await?;
        receipts.iter().map(|receipt| decode(receipt)).collect()
    }
}

fn saga_record<P: DeserializeOwned>(
    (id, fingerprint, state, progress, outcome_status, outcome): SagaRow,
) -> Result<SagaRecord<P>> {
    let state = SagaState::parse(&state)
        .ok_or_else(|| Error::Internal { detail: format!("saga {id} has an unknown state '{state}'") })?;
    let outcome = outcome_status.zip(outcome).map(|(status, body)| (u16::try_from(status).unwrap_or(500), body));
    Ok(SagaRecord { progress: decode(&progress)?, id, fingerprint, state, outcome })
}
