//! The loyalty ledger: one row per change of a customer's points. Points are never stored as a
//! balance: the balance and lifetime points are sums over the ledger, so they cannot drift from
//! the entries that explain them.

use sqlx::AnyConnection;
use time::OffsetDateTime;

use super::domain::{EntryId, LoyaltyEntry, LoyaltyStatus, NewLoyaltyEntry, ORDER_REASON, OrderEarning, points_for};
use crate::crm::customers::store::load_customer;
use crate::crm::domain::CustomerId;
use crate::crm::store::{After, CrmStore, Outcome, corrupt, ensure_customer, lock_customer, newest_first};
use crate::platform::clock::{from_millis, to_millis};
use crate::platform::page::Page;
use crate::platform::{Error, Result};

impl CrmStore {
    /// A customer's points and tier; `None` if there is no such customer.
    pub async fn loyalty(&self, id: &CustomerId) -> Result<Option<LoyaltyStatus>> {
        let mut connection = self.db.pool().acquire().await?;
        load_loyalty(&mut connection, id).await
    }

    /// Records a points entry once per reference; the balance never goes below zero.
    ///
    /// The same reference again with the same delta and reason is a replay answered with the
    /// current status; with another delta or reason it is refused.
    pub async fn add_loyalty_entry(
        &self,
        customer: &CustomerId,
        entry: &NewLoyaltyEntry,
        now: OffsetDateTime,
    ) -> Result<Outcome<LoyaltyStatus>> {
        let mut tx = self.db.begin_write().await?;
        lock_customer(&mut tx, customer).await?;
        let recorded: Option<(i64, String)> =
            sqlx::query_as("SELECT delta, reason FROM loyalty_entries WHERE customer_id = $1 AND reference = $2")
                .bind(customer.as_str())
                .bind(&entry.reference)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some((delta, reason)) = recorded {
            if delta != entry.delta || reason != entry.reason {
                return Err(Error::invalid(
                    "reference",
                    format!(
                        "'{}' was already recorded with {delta} points for '{reason}'; use a new reference for a new entry",
                        entry.reference
                    ),
                ));
            }
            let status = load_loyalty(&mut tx, customer).await?;
            return status.map(Outcome::Replayed).ok_or_else(|| Error::not_found("customer", customer.as_str()));
        }
        let before =
            load_loyalty(&mut tx, customer).await?.ok_or_else(|| Error::not_found("customer", customer.as_str()))?;
        if before.points.saturating_add(entry.delta) < 0 {
            return Err(Error::invalid(
                "delta",
                format!("the balance is {} points; an entry may not take it below zero", before.points),
            ));
        }
        insert_entry(&mut tx, customer, &EntryId::generate(), entry, now).await?;
        let after =
            load_loyalty(&mut tx, customer).await?.ok_or_else(|| Error::not_found("customer", customer.as_str()))?;
        tx.commit().await?;
        Ok(Outcome::Created(after))
    }

    /// Awards the points a placed order earns at the customer's tier now, once per order: an
    /// order already awarded, or earning nothing (under a dollar), changes nothing. Returns the
    /// points added now. An unknown customer is [`Error::NotFound`].
    pub async fn award_order_points(&self, earning: &OrderEarning, now: OffsetDateTime) -> Result<i64> {
        let customer = &earning.customer_id;
        let mut tx = self.db.begin_write().await?;
        lock_customer(&mut tx, customer).await?;
        let awarded: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM loyalty_entries WHERE customer_id = $1 AND reference = $2")
                .bind(customer.as_str())
                .bind(&earning.reference)
                .fetch_optional(&mut *tx)
                .await?;
        if awarded.is_some() {
            return Ok(0);
        }
        let status =
            load_loyalty(&mut tx, customer).await?.ok_or_else(|| Error::not_found("customer", customer.as_str()))?;
        let points = points_for(status.tier, earning.amount);
        if points == 0 {
            return Ok(0);
        }
        let entry =
            NewLoyaltyEntry { delta: points, reason: ORDER_REASON.to_owned(), reference: earning.reference.clone() };
        insert_entry(&mut tx, customer, &EntryId::generate(), &entry, now).await?;
        tx.commit().await?;
        Ok(points)
    }

    /// A customer's ledger entries, newest first.
    pub async fn loyalty_entries(
        &self,
        customer: &CustomerId,
        after: &After,
        limit: u32,
    ) -> Result<Page<LoyaltyEntry>> {
        let mut connection = self.db.pool().acquire().await?;
        ensure_customer(&mut connection, customer).await?;
        let rows: Vec<(String, i64, String, String, i64)> = sqlx::query_as(
            "SELECT id, delta, reason, reference, created_at FROM loyalty_entries WHERE customer_id = $1 \
             AND (created_at < $2 OR (created_at = $2 AND id < $3)) ORDER BY created_at DESC, id DESC LIMIT $4",
        )
        .bind(customer.as_str())
        .bind(after.at)
        .bind(&after.id)
        .bind(i64::from(limit) + 1)
        .fetch_all(&mut *connection)
        .await?;
        let entries = rows
            .into_iter()
            .map(|(id, delta, reason, reference, at)| {
                let id = EntryId::parse(&id).map_err(|e| corrupt("ledger entry id", e))?;
                Ok(LoyaltyEntry { id, delta, reason, reference, at: from_millis(at) })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(newest_first(entries, limit, |e| (e.at, e.id.as_str())))
    }
}

/// Adds a ledger entry as is.
pub(in crate::crm) async fn insert_entry(
    connection: &mut AnyConnection,
    customer: &CustomerId,
    id: &EntryId,
    entry: &NewLoyaltyEntry,
    at: OffsetDateTime,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO loyalty_entries (id, customer_id, delta, reason, reference, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id.as_str())
    .bind(customer.as_str())
    .bind(entry.delta)
    .bind(&entry.reason)
    .bind(&entry.reference)
    .bind(to_millis(at))
    .execute(&mut *connection)
    .await?;
    Ok(())
}

async fn load_loyalty(connection: &mut AnyConnection, id: &CustomerId) -> Result<Option<LoyaltyStatus>> {
    Ok(load_customer(connection, id).await?.map(|c| LoyaltyStatus::new(c.points, c.lifetime_points, c.standing)))
}
