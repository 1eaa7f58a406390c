//! The order-management tables: orders, their history and the events applied.
//!
//! A state change is one transaction: it claims the event id (when an event causes it), moves
//! the order with a guarded `UPDATE … WHERE state = from`, and appends to the history. A
//! concurrent delivery of the same event waits on the event id's row and then finds it applied.

use sqlx::{Any, AnyConnection, Transaction};
use time::OffsetDateTime;

use super::domain::{Order, OrderDetail, OrderState, Transition};
use crate::contracts::order::{OrderId, OrderPlaced};
use crate::contracts::shipment::ShipmentId;
use crate::money::{CurrencyCode, Money};
use crate::platform::clock::{from_millis, to_millis};
use crate::platform::db::Db;
use crate::platform::{Error, Result};

type Tx = Transaction<'static, Any>;

/// What a state change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The order moved.
    Moved,
    /// Its event had been applied already: nothing changed.
    AlreadyApplied,
}

/// An order with what allocation works from.
#[derive(Debug, Clone)]
pub struct OrderRecord {
    /// The order as shown.
    pub order: Order,
    /// Its order.placed event.
    pub placed: OrderPlaced,
}

/// Reads and writes orders.
#[derive(Debug, Clone)]
pub struct OmsStore {
    db: Db,
}

fn corrupt(why: impl std::fmt::Display) -> Error {
    Error::Internal { detail: format!("a stored order is invalid: {why}") }
}

const ORDER_COLUMNS: &str = "id, state, placed, email, customer_id, currency, total_minor, shipment_id, \
                             sale_recorded, revenue_recognized, created_at, updated_at";

type OrderRow = (String, String, String, String, Option<String>, String, i64, Option<String>, i64, i64, i64, i64);

fn order_row(row: OrderRow) -> Result<OrderRecord> {
    let (id, state, placed, email, customer_id, currency, total, shipment_id, sale, revenue, created_at, updated_at) =
        row;
    let order = Order {
        id: OrderId::parse(&id).map_err(corrupt)?,
        state: OrderState::parse(&state).map_err(corrupt)?,
        email,
        customer_id,
        total: Money::new(CurrencyCode::parse(&currency).map_err(corrupt)?, total),
        shipment_id: shipment_id.as_deref().map(ShipmentId::parse).transpose().map_err(corrupt)?,
        sale_recorded: sale == 1,
        revenue_recognized: revenue == 1,
        placed_at: from_millis(created_at),
        updated_at: from_millis(updated_at),
    };
    Ok(OrderRecord { order, placed: serde_json::from_str(&placed).map_err(corrupt)? })
}

impl OmsStore {
    /// A store over `db`, migrated with the order-management migrations.
    pub fn new(db: Db) -> Self {
        OmsStore { db }
    }

    /// Whether the event was applied.
    pub async fn is_processed(&self, event_id: &str) -> Result<bool> {
        let found: Option<String> = sqlx::query_scalar("SELECT event_id FROM processed_events WHERE event_id = $1")
            .bind(event_id)
            .fetch_optional(self.db.pool())
            .await?;
        Ok(found.is_some())
    }

    /// Records that the event was applied with no effect on any order.
    pub async fn mark_processed(&self, event_id: &str, now: OffsetDateTime) -> Result<()> {
        let mut tx = self.db.begin_write().await?;
        claim_event(&mut tx, event_id, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Creates the order of `placed` in `state`, caused by `event_id`, unless it exists. When
    /// `done`, the event is recorded as applied in the same transaction (nothing more follows).
    pub async fn create(
        &self,
        placed: &OrderPlaced,
        state: OrderState,
        event_id: &str,
        done: bool,
        now: OffsetDateTime,
    ) -> Result<()> {
        let receipt = &placed.order;
        let json = serde_json::to_string(placed)
            .map_err(|e| Error::Internal { detail: format!("could not encode the order: {e}") })?;
        let mut tx = self.db.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO orders (id, state, placed, email, customer_id, currency, total_minor, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) ON CONFLICT (id) DO NOTHING",
        )
        .bind(receipt.order_id.as_str())
        .bind(state.as_str())
        .bind(json)
        .bind(&receipt.email)
        .bind(receipt.customer_id.clone())
        .bind(receipt.amounts.total.currency.as_str())
        .bind(receipt.amounts.total.minor_units)
        .bind(to_millis(now))
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 1 {
            append_history(&mut tx, &receipt.order_id, None, state, event_id, now).await?;
        }
        if done {
            claim_event(&mut tx, event_id, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// One order with what allocation works from.
    pub async fn record(&self, id: &OrderId) -> Result<Option<OrderRecord>> {
        let mut connection = self.db.pool().acquire().await?;
        load(&mut connection, id).await
    }

    /// One order with its history.
    pub async fn detail(&self, id: &OrderId) -> Result<Option<OrderDetail>> {
        let mut connection = self.db.pool().acquire().await?;
        let Some(record) = load(&mut connection, id).await? else {
            return Ok(None);
        };
        let rows: Vec<(Option<String>, String, String, i64)> = sqlx::query_as(
            "SELECT from_state, to_state, cause, at FROM order_history WHERE order_id = $1 ORDER BY seq",
        )
        .bind(id.as_str())
        .fetch_all(&mut *connection)
        .await?;
        let history = rows
            .into_iter()
            .map(|(from, to, cause, at)| {
                Ok(Transition {
                    from: from.as_deref().map(OrderState::parse).transpose().map_err(corrupt)?,
                    to: OrderState::parse(&to).map_err(corrupt)?,
                    cause,
                    at: from_millis(at),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(OrderDetail { order: record.order, history }))
    }

    /// Up to `limit` orders, newest first, in `state` if given, placed before the order at
    /// `after` (its placing time in ms and its id).
    pub async fn list(&self, state: Option<OrderState>, after: Option<(i64, &str)>, limit: u32) -> Result<Vec<Order>> {
        let (before_ms, before_id) = after.unwrap_or((i64::MAX, ""));
        let sql = format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE ($1 = '' OR state = $1) \
             AND (created_at < $2 OR (created_at = $2 AND ($3 = '' OR id < $3))) \
             ORDER BY created_at DESC, id DESC LIMIT $4"
        );
        let rows: Vec<OrderRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(state.map_or("", OrderState::as_str))
            .bind(before_ms)
            .bind(before_id)
            .bind(i64::from(limit))
            .fetch_all(self.db.pool())
            .await?;
        rows.into_iter().map(|row| order_row(row).map(|record| record.order)).collect()
    }

    /// Takes the order's work lease until `until`: `false` when another delivery holds it.
    pub async fn take_lease(&self, id: &OrderId, now: OffsetDateTime, until: OffsetDateTime) -> Result<bool> {
        let taken = sqlx::query("UPDATE orders SET busy_until = $3 WHERE id = $1 AND busy_until <= $2")
            .bind(id.as_str())
            .bind(to_millis(now))
            .bind(to_millis(until))
            .execute(self.db.pool())
            .await?;
        Ok(taken.rows_affected() == 1)
    }

    /// Frees the order's work lease.
    pub async fn free_lease(&self, id: &OrderId) -> Result<()> {
        sqlx::query("UPDATE orders SET busy_until = 0 WHERE id = $1").bind(id.as_str()).execute(self.db.pool()).await?;
        Ok(())
    }

    /// Records the order's shipment (a step of allocation).
    pub async fn set_shipment(&self, id: &OrderId, shipment: &ShipmentId, now: OffsetDateTime) -> Result<()> {
        sqlx::query("UPDATE orders SET shipment_id = $2, updated_at = $3 WHERE id = $1")
            .bind(id.as_str())
            .bind(shipment.as_str())
            .bind(to_millis(now))
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// Records that the ledger has the order's sale (a step of allocation).
    pub async fn set_sale_recorded(&self, id: &OrderId, now: OffsetDateTime) -> Result<()> {
        sqlx::query("UPDATE orders SET sale_recorded = 1, updated_at = $2 WHERE id = $1")
            .bind(id.as_str())
            .bind(to_millis(now))
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// Moves the order from `from` to `to` because of `cause`, frees its lease, and, when
    /// `event_id` is given, records the event as applied, all in one transaction. With
    /// `revenue_recognized` it also records that the ledger recognized the revenue. An event
    /// applied already changes nothing; an order no longer in `from` is a conflict.
    pub async fn transition(
        &self,
        id: &OrderId,
        (from, to): (OrderState, OrderState),
        cause: &str,
        event_id: Option<&str>,
        revenue_recognized: bool,
        now: OffsetDateTime,
    ) -> Result<Applied> {
        from.check_move(to).map_err(|detail| Error::Conflict { detail })?;
        let mut tx = self.db.begin_write().await?;
        if let Some(event_id) = event_id
            && !claim_event(&mut tx, event_id, now).await?
        {
            return Ok(Applied::AlreadyApplied);
        }
        let moved = sqlx::query(
            "UPDATE orders SET state = $3, busy_until = 0, updated_at = $4, \
             revenue_recognized = CASE WHEN $5 = 1 THEN 1 ELSE revenue_recognized END \
             WHERE id = $1 AND state = $2",
        )
        .bind(id.as_str())
        .bind(from.as_str())
        .bind(to.as_str())
        .bind(to_millis(now))
        .bind(i64::from(revenue_recognized))
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() == 0 {
            return Err(Error::Conflict {
                detail: format!("order {id} left {} while it was being moved to {}; retry", from.as_str(), to.as_str()),
            });
        }
        append_history(&mut tx, id, Some(from), to, cause, now).await?;
        tx.commit().await?;
        Ok(Applied::Moved)
    }
}

/// Records `event_id` as applied: `false` when it was already.
async fn claim_event(tx: &mut Tx, event_id: &str, now: OffsetDateTime) -> Result<bool> {
    let claimed = sqlx::query(
        "INSERT INTO processed_events (event_id, applied_at) VALUES ($1, $2) ON CONFLICT (event_id) DO NOTHING",
    )
    .bind(event_id)
    .bind(to_millis(now))
    .execute(&mut **tx)
    .await?;
    Ok(claimed.rows_affected() == 1)
}

async fn append_history(
    tx: &mut Tx,
    id: &OrderId,
    from: Option<OrderState>,
    to: OrderState,
    cause: &str,
    now: OffsetDateTime,
) -> Result<()> {
    let seq: i64 = sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM order_history WHERE order_id = $1")
        .bind(id.as_str())
        .fetch_one(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO order_history (order_id, seq, from_state, to_state, cause, at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id.as_str())
    .bind(seq + 1)
    .bind(from.map(OrderState::as_str))
    .bind(to.as_str())
    .bind(cause)
    .bind(to_millis(now))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn load(connection: &mut AnyConnection, id: &OrderId) -> Result<Option<OrderRecord>> {
    let sql = format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1");
    let row: Option<OrderRow> =
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id.as_str()).fetch_optional(connection).await?;
    row.map(order_row).transpose()
}
