//! The ledger's tables.
//!
//! Posting is one transaction: the entry's posting key is claimed with `ON CONFLICT DO
//! NOTHING` first, so a concurrent duplicate waits for it and then finds the entry posted; the
//! lines are checked to balance before they are written. Refunds raise the sale's refunded
//! amount with a guarded `UPDATE`, so concurrent refunds of one order never exceed its total.

use std::collections::BTreeMap;

use futures_util::TryStreamExt;
use sqlx::{Any, AnyConnection, Transaction};
use time::OffsetDateTime;

use super::domain::{
    Account, AccountTotals, EntryKind, JournalEntry, JournalEntryId, Line, Posting, Refund, SaleAmounts, Side,
    TrialBalance, check_balanced, recognition_posting, refund_posting, sale_posting,
};
use crate::contracts::order::OrderId;
use crate::money::{CurrencyCode, Money};
use crate::platform::clock::{from_millis, to_millis};
use crate::platform::db::Db;
use crate::platform::idempotency::Outcome;
use crate::platform::{Error, Result};

type Tx = Transaction<'static, Any>;

/// Reads and writes the ledger.
#[derive(Debug, Clone)]
pub struct AccountingStore {
    db: Db,
}

/// Where a page of entries starts: after this entry's time and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct After {
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    /// The entry id.
    pub id: String,
}

/// A recorded sale: its amounts and how much of it was refunded.
struct StoredSale {
    amounts: SaleAmounts,
    refunded: i64,
}

impl AccountingStore {
    /// A store over `db`, migrated with the accounting migrations.
    pub fn new(db: Db) -> Self {
        AccountingStore { db }
    }

    /// Records the sale of `order_id` once: the same amounts again answer the entry posted
    /// first; other amounts are a 422 on `order_id`.
    pub async fn record_sale(
        &self,
        order_id: &OrderId,
        sale: &SaleAmounts,
        now: OffsetDateTime,
    ) -> Result<Outcome<JournalEntry>> {
        let posting = sale_posting(order_id, sale).map_err(|why| Error::invalid("amounts", why))?;
        let key = posting.key();
        let mut tx = self.db.begin_write().await?;
        let Some(entry) = post(&mut tx, posting, now).await? else {
            drop(tx);
            let mut connection = self.db.pool().acquire().await?;
            let stored = load_sale(&mut connection, order_id).await?.ok_or_else(|| vanished(&key))?;
            if stored.amounts != *sale {
                return Err(Error::invalid(
                    "order_id",
                    format!(
                        "the sale of {order_id} was already recorded with other amounts; record a refund to correct it"
                    ),
                ));
            }
            return load_by_key(&mut connection, &key).await?.map(Outcome::Replayed).ok_or_else(|| vanished(&key));
        };
        sqlx::query(
            "INSERT INTO sales (order_id, entry_id, currency, subtotal_minor, discount_minor, shipping_minor, \
             freight_minor, total_minor) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(order_id.as_str())
        .bind(entry.id.as_str())
        .bind(sale.currency.as_str())
        .bind(sale.subtotal)
        .bind(sale.discount)
        .bind(sale.shipping)
        .bind(sale.freight)
        .bind(sale.total)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Outcome::Done(entry))
    }

    /// Recognises the revenue of `order_id`'s sale once; a conflict when no sale is recorded.
    pub async fn recognize_revenue(&self, order_id: &OrderId, now: OffsetDateTime) -> Result<Outcome<JournalEntry>> {
        let mut tx = self.db.begin_write().await?;
        let sale = load_sale(&mut tx, order_id).await?.ok_or_else(|| no_sale(order_id))?;
        let posting = recognition_posting(order_id, &sale.amounts).map_err(|detail| Error::Internal { detail })?;
        let key = posting.key();
        match post(&mut tx, posting, now).await? {
            Some(entry) => {
                tx.commit().await?;
                Ok(Outcome::Done(entry))
            }
            None => {
                drop(tx);
                self.by_key(&key).await?.map(Outcome::Replayed).ok_or_else(|| vanished(&key))
            }
        }
    }

    /// Records a refund once per reference; refunds of an order never add up to more than
    /// its sale's total.
    pub async fn record_refund(&self, refund: &Refund, now: OffsetDateTime) -> Result<Outcome<JournalEntry>> {
        let posting = refund_posting(refund)?;
        let key = posting.key();
        let lines = posting.lines.clone();
        let mut tx = self.db.begin_write().await?;
        let Some(entry) = post(&mut tx, posting, now).await? else {
            drop(tx);
            let existing = self.by_key(&key).await?.ok_or_else(|| vanished(&key))?;
            if existing.order_id != refund.order_id || existing.lines != lines {
                return Err(Error::invalid(
                    "reference",
                    format!(
                        "was already used by refund {} of another order or amount; send a new reference for a new refund",
                        existing.id
                    ),
                ));
            }
            return Ok(Outcome::Replayed(existing));
        };
        let raised = sqlx::query(
            "UPDATE sales SET refunded_minor = refunded_minor + $2 \
             WHERE order_id = $1 AND currency = $3 AND refunded_minor + $2 <= total_minor",
        )
        .bind(refund.order_id.as_str())
        .bind(refund.amount.minor_units)
        .bind(refund.amount.currency.as_str())
        .execute(&mut *tx)
        .await?;
        if raised.rows_affected() == 0 {
            let sale = load_sale(&mut tx, &refund.order_id).await?.ok_or_else(|| no_sale(&refund.order_id))?;
            return Err(refusal(refund, &sale));
        }
        tx.commit().await?;
        Ok(Outcome::Done(entry))
    }

    /// The entry `id`.
    pub async fn entry(&self, id: &JournalEntryId) -> Result<Option<JournalEntry>> {
        let mut connection = self.db.pool().acquire().await?;
        let row: Option<HeaderRow> =
            sqlx::query_as("SELECT id, order_id, kind, reference, created_at FROM journal_entries WHERE id = $1")
                .bind(id.as_str())
                .fetch_optional(&mut *connection)
                .await?;
        match row {
            Some(row) => complete(&mut connection, row).await.map(Some),
            None => Ok(None),
        }
    }

    /// Up to `limit` entries after `after`, of one order or of all, oldest first.
    pub async fn entries(
        &self,
        order_id: Option<&OrderId>,
        after: Option<&After>,
        limit: u32,
    ) -> Result<Vec<JournalEntry>> {
        let mut connection = self.db.pool().acquire().await?;
        let rows: Vec<HeaderRow> = sqlx::query_as(
            "SELECT id, order_id, kind, reference, created_at FROM journal_entries \
             WHERE ($1 = '' OR order_id = $1) AND (created_at > $2 OR (created_at = $2 AND id > $3)) \
             ORDER BY created_at, id LIMIT $4",
        )
        .bind(order_id.map_or("", OrderId::as_str))
        .bind(after.map_or(i64::MIN, |after| after.created_at))
        .bind(after.map_or("", |after| after.id.as_str()))
        .bind(i64::from(limit))
        .fetch_all(&mut *connection)
        .await?;
        let mut entries = Vec::with_capacity(rows.len());
        for row in rows {
            entries.push(complete(&mut connection, row).await?);
        }
        Ok(entries)
    }

    /// Every account's debit and credit totals per currency, saturating at `i64::MAX`.
    ///
    /// Each line is bounded at the door, their number is not: the lines are added up here, where
    /// the sums saturate, and not by SQL's `SUM`, which fails on overflow.
    pub async fn trial_balance(&self) -> Result<TrialBalance> {
        let mut lines = sqlx::query_as::<_, (String, String, i64, i64)>(
            "SELECT currency, account, debit_minor, credit_minor FROM journal_lines",
        )
        .fetch(self.db.pool());
        let mut sums: BTreeMap<(String, String), (i64, i64)> = BTreeMap::new();
        while let Some((currency, account, debit, credit)) = lines.try_next().await? {
            let sum = sums.entry((currency, account)).or_default();
            *sum = (sum.0.saturating_add(debit), sum.1.saturating_add(credit));
        }
        let totals = sums
            .into_iter()
            .map(|((currency, account), (debit, credit))| {
                Ok(AccountTotals {
                    currency: CurrencyCode::parse(&currency).map_err(corrupt)?,
                    account: Account::parse(&account).map_err(corrupt)?,
                    debit,
                    credit,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(TrialBalance::from_totals(totals))
    }

    async fn by_key(&self, key: &str) -> Result<Option<JournalEntry>> {
        let mut connection = self.db.pool().acquire().await?;
        load_by_key(&mut connection, key).await
    }
}

/// Posts `posting` at `now` within `tx`; `None` when an entry with its key was posted first.
async fn post(tx: &mut Tx, posting: Posting, now: OffsetDateTime) -> Result<Option<JournalEntry>> {
    check_balanced(&posting.lines).map_err(|detail| Error::Internal { detail })?;
    let id = JournalEntryId::generate();
    let claimed = sqlx::query(
        "INSERT INTO journal_entries (id, posting_key, order_id, kind, reference, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (posting_key) DO NOTHING",
    )
    .bind(id.as_str())
    .bind(posting.key())
    .bind(posting.order_id.as_str())
    .bind(posting.kind.as_str())
    .bind(posting.reference.as_deref())
    .bind(to_millis(now))
    .execute(&mut **tx)
    .await?;
    if claimed.rows_affected() == 0 {
        return Ok(None);
    }
    for (line_no, line) in posting.lines.iter().enumerate() {
        let (side, amount) = line.side_and_amount().ok_or_else(|| Error::Internal {
            detail: format!("line {line_no} of entry {id} is not one positive debit or credit"),
        })?;
        let (debit, credit) = match side {
            Side::Debit => (amount.minor_units, 0),
            Side::Credit => (0, amount.minor_units),
        };
        sqlx::query(
            "INSERT INTO journal_lines (entry_id, line_no, account, currency, debit_minor, credit_minor) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id.as_str())
        .bind(i64::try_from(line_no).unwrap_or(i64::MAX))
        .bind(line.account.as_str())
        .bind(amount.currency.as_str())
        .bind(debit)
        .bind(credit)
        .execute(&mut **tx)
        .await?;
    }
    Ok(Some(posting.into_entry(id, from_millis(to_millis(now)))))
}

type HeaderRow = (String, String, String, Option<String>, i64);

async fn load_by_key(connection: &mut AnyConnection, key: &str) -> Result<Option<JournalEntry>> {
    let row: Option<HeaderRow> =
        sqlx::query_as("SELECT id, order_id, kind, reference, created_at FROM journal_entries WHERE posting_key = $1")
            .bind(key)
            .fetch_optional(&mut *connection)
            .await?;
    match row {
        Some(row) => complete(connection, row).await.map(Some),
        None => Ok(None),
    }
}

/// The entry of a header row, with its lines.
async fn complete(
    connection: &mut AnyConnection,
    (id, order_id, kind, reference, created_at): HeaderRow,
) -> Result<JournalEntry> {
    let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT account, currency, debit_minor, credit_minor FROM journal_lines WHERE entry_id = $1 ORDER BY line_no",
    )
    .bind(&id)
    .fetch_all(&mut *connection)
    .await?;
    let lines = rows
        .into_iter()
        .map(|(account, currency, debit, credit)| {
            let account = Account::parse(&account).map_err(corrupt)?;
            let currency = CurrencyCode::parse(&currency).map_err(corrupt)?;
            let (side, amount) = if debit > 0 { (Side::Debit, debit) } else { (Side::Credit, credit) };
            Ok(Line::new(account, side, Money::new(currency, amount)))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(JournalEntry {
        id: JournalEntryId::parse(&id).map_err(corrupt)?,
        order_id: OrderId::parse(&order_id).map_err(corrupt)?,
        kind: EntryKind::parse(&kind).map_err(corrupt)?,
        reference,
        lines,
        created_at: from_millis(created_at),
    })
}

async fn load_sale(connection: &mut AnyConnection, order_id: &OrderId) -> Result<Option<StoredSale>> {
    let row: Option<(String, i64, i64, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT currency, subtotal_minor, discount_minor, shipping_minor, freight_minor, total_minor, refunded_minor \
         FROM sales WHERE order_id = $1",
    )
    .bind(order_id.as_str())
    .fetch_optional(connection)
    .await?;
    row.map(|(currency, subtotal, discount, shipping, freight, total, refunded)| {
        Ok(StoredSale {
            amounts: SaleAmounts {
                currency: CurrencyCode::parse(&currency).map_err(corrupt)?,
                subtotal,
                discount,
                shipping,
                freight,
                total,
            },
            refunded,
        })
    })
    .transpose()
}

/// Why `refund` cannot be applied to `sale`.
fn refusal(refund: &Refund, sale: &StoredSale) -> Error {
    let currency = sale.amounts.currency;
    if refund.amount.currency != currency {
        return Error::invalid(
            "amount.currency",
            format!("must be {currency}, the currency of order {}", refund.order_id),
        );
    }
    let left = Money::new(currency, sale.amounts.total.saturating_sub(sale.refunded));
    Error::invalid(
        "amount",
        format!(
            "refunds of order {} may not exceed its total of {}: {} was refunded already, so at most {left} remains",
            refund.order_id,
            Money::new(currency, sale.amounts.total),
            Money::new(currency, sale.refunded)
        ),
    )
}

fn no_sale(order_id: &OrderId) -> Error {
    Error::Conflict {
        detail: format!("no sale recorded for order {order_id}: record its sale (POST /v1/journal/sales) first"),
    }
}

fn vanished(key: &str) -> Error {
    Error::Internal { detail: format!("the entry posted under '{key}' vanished") }
}

fn corrupt(why: String) -> Error {
    Error::Internal { detail: format!("a stored ledger row is invalid: {why}") }
}
