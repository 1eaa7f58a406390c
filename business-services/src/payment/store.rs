//! The payment tables. Every change is one transaction with a guarded `UPDATE`, so concurrent
//! captures, voids and refunds of one authorization serialize on its row: a capture races a
//! void and exactly one wins; refunds never add up to more than was captured.

use sqlx::{AnyConnection, FromRow};
use time::OffsetDateTime;

use super::domain::{
    Action, Answer, Authorization, AuthorizationId, AuthorizationStatus, CardBrand, DeclineCode, Refund, RefundId,
};
use crate::money::{CurrencyCode, Money};
use crate::platform::clock::{from_millis, to_millis};
use crate::platform::db::Db;
use crate::platform::idempotency::{self, Claim, Outcome};
use crate::platform::{Error, Result};

/// An authorization the network answered, to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuthorization {
    /// Its id.
    pub id: AuthorizationId,
    /// The caller's reference.
    pub reference: String,
    /// The amount asked for.
    pub amount: Money,
    /// The card's network.
    pub brand: CardBrand,
    /// The card number's last four digits.
    pub last4: String,
    /// What the issuer answered.
    pub answer: Answer,
}

/// Reads and writes authorizations and refunds.
#[derive(Debug, Clone)]
pub struct PaymentStore {
    db: Db,
}

#[derive(FromRow)]
struct AuthorizationRow {
    id: String,
    reference: String,
    amount_minor: i64,
    currency: String,
    brand: String,
    last4: String,
    status: String,
    decline_code: Option<String>,
    capture_decline_code: Option<String>,
    captured_minor: i64,
    refunded_minor: i64,
    created_at: i64,
}

const COLUMNS: &str = "id, reference, amount_minor, currency, brand, last4, status, decline_code, \
     capture_decline_code, captured_minor, refunded_minor, created_at";

/// An authorization with what the issuer will answer to its capture.
struct Stored {
    authorization: Authorization,
    capture_decline: Option<DeclineCode>,
}

impl TryFrom<AuthorizationRow> for Stored {
    type Error = Error;

    fn try_from(row: AuthorizationRow) -> Result<Stored> {
        let corrupt =
            |why: String| Error::Internal { detail: format!("stored authorization {} is invalid: {why}", row.id) };
        let currency = CurrencyCode::parse(&row.currency).map_err(corrupt)?;
        let code = |code: Option<String>| code.map(|c| DeclineCode::parse(&c)).transpose().map_err(corrupt);
        Ok(Stored {
            authorization: Authorization {
                id: AuthorizationId::parse(&row.id).map_err(corrupt)?,
                amount: Money::new(currency, row.amount_minor),
                brand: CardBrand::parse(&row.brand).map_err(corrupt)?,
                status: AuthorizationStatus::parse(&row.status).map_err(corrupt)?,
                decline_code: code(row.decline_code)?,
                captured: Money::new(currency, row.captured_minor),
                refunded: Money::new(currency, row.refunded_minor),
                created_at: from_millis(row.created_at),
                reference: row.reference,
                last4: row.last4,
            },
            capture_decline: code(row.capture_decline_code)?,
        })
    }
}

impl PaymentStore {
    /// A store over `db`, migrated with the payment migrations.
    pub fn new(db: Db) -> Self {
        PaymentStore { db }
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Records an authorization the network answered, once per idempotency key: a request
    /// that finds the key taken gets the authorization recorded under it.
    pub async fn authorize(
        &self,
        new: &NewAuthorization,
        claim: &Claim,
        now: OffsetDateTime,
    ) -> Result<Outcome<Authorization>> {
        let mut tx = self.db.begin_write().await?;
        if !idempotency::claim(&mut tx, claim, now).await? {
            drop(tx);
            return idempotency::replay_taken(&self.db, claim).await;
        }
        let (status, decline, capture_decline) = match new.answer {
            Answer::Approve { capture_decline } => (AuthorizationStatus::Authorized, None, capture_decline),
            Answer::Decline(code) => (AuthorizationStatus::Declined, Some(code), None),
        };
        sqlx::query(
            "INSERT INTO authorizations (id, reference, amount_minor, currency, brand, last4, status, decline_code, \
             capture_decline_code, captured_minor, refunded_minor, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, 0, $10, $10)",
        )
        .bind(new.id.as_str())
        .bind(&new.reference)
        .bind(new.amount.minor_units)
        .bind(new.amount.currency.as_str())
        .bind(new.brand.as_str())
        .bind(&new.last4)
        .bind(status.as_str())
        .bind(decline.map(DeclineCode::as_str))
        .bind(capture_decline.map(DeclineCode::as_str))
        .bind(to_millis(now))
        .execute(&mut *tx)
        .await?;
        let authorization = load(&mut tx, &new.id).await?.ok_or_else(|| vanished(&new.id))?.authorization;
        idempotency::record(&mut tx, claim, &authorization).await?;
        tx.commit().await?;
        Ok(Outcome::Done(authorization))
    }

    /// One authorization.
    pub async fn authorization(&self, id: &AuthorizationId) -> Result<Option<Authorization>> {
        let mut connection = self.db.pool().acquire().await?;
        Ok(load(&mut connection, id).await?.map(|stored| stored.authorization))
    }

    /// Up to `limit` authorizations made under `reference` after `after`, oldest first.
    pub async fn by_reference(
        &self,
        reference: &str,
        after: Option<&AuthorizationId>,
        limit: u32,
    ) -> Result<Vec<Authorization>> {
        let sql = format!("SELECT {COLUMNS} FROM authorizations WHERE reference = $1 AND id > $2 ORDER BY id LIMIT $3");
        let rows: Vec<AuthorizationRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(reference)
            .bind(after.map_or("", AuthorizationId::as_str))
            .bind(i64::from(limit))
            .fetch_all(self.db.pool())
            .await?;
        rows.into_iter().map(|row| Stored::try_from(row).map(|stored| stored.authorization)).collect()
    }

    /// Captures the whole amount of an authorization at `now`. Capturing a captured
    /// authorization returns it; a declined or voided one is a conflict. When the issuer
    /// declines the capture, the decline is recorded and the answer is a conflict whose detail
    /// starts with `capture_declined`.
    pub async fn capture(&self, id: &AuthorizationId, now: OffsetDateTime) -> Result<Authorization> {
        let mut tx = self.db.begin_write().await?;
        sqlx::query(
            "UPDATE authorizations SET status = 'captured', captured_minor = amount_minor, updated_at = $2 \
             WHERE id = $1 AND status = 'authorized' AND capture_decline_code IS NULL",
        )
        .bind(id.as_str())
        .bind(to_millis(now))
        .execute(&mut *tx)
        .await?;
        let stored = load(&mut tx, id).await?.ok_or_else(|| Error::not_found("authorization", id.as_str()))?;
        if let Some(why) = stored.authorization.refusal(Action::Capture) {
            return Err(Error::Conflict { detail: why });
        }
        if let (AuthorizationStatus::Authorized, Some(code)) = (stored.authorization.status, stored.capture_decline) {
            sqlx::query("UPDATE authorizations SET decline_code = $2, updated_at = $3 WHERE id = $1")
                .bind(id.as_str())
                .bind(code.as_str())
                .bind(to_millis(now))
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            return Err(Error::Conflict {
                detail: format!(
                    "{}: the issuer declined capturing authorization {id}; nothing was charged: void it and ask \
                     the customer for another card",
                    code.as_str()
                ),
            });
        }
        tx.commit().await?;
        Ok(stored.authorization)
    }

    /// Voids an authorization at `now`: the hold is cancelled. Voiding a voided authorization
    /// returns it; a captured one is a conflict (refund it instead), as is a declined one.
    pub async fn void(&self, id: &AuthorizationId, now: OffsetDateTime) -> Result<Authorization> {
        let mut tx = self.db.begin_write().await?;
        sqlx::query(
            "UPDATE authorizations SET status = 'voided', updated_at = $2 WHERE id = $1 AND status = 'authorized'",
        )
        .bind(id.as_str())
        .bind(to_millis(now))
        .execute(&mut *tx)
        .await?;
        let stored = load(&mut tx, id).await?.ok_or_else(|| Error::not_found("authorization", id.as_str()))?;
        if let Some(why) = stored.authorization.refusal(Action::Void) {
            return Err(Error::Conflict { detail: why });
        }
        tx.commit().await?;
        Ok(stored.authorization)
    }

    /// Refunds `amount` of a captured authorization at `now`, once per idempotency key. Only
    /// captured authorizations are refunded (else a conflict); all refunds together stay
    /// within the captured amount (else a 422 on `amount`).
    pub async fn refund(
        &self,
        id: &AuthorizationId,
        amount: Money,
        claim: &Claim,
        now: OffsetDateTime,
    ) -> Result<Outcome<Refund>> {
        let mut tx = self.db.begin_write().await?;
        if !idempotency::claim(&mut tx, claim, now).await? {
            drop(tx);
            return idempotency::replay_taken(&self.db, claim).await;
        }
        let refunded = sqlx::query(
            "UPDATE authorizations SET refunded_minor = refunded_minor + $2, updated_at = $4 \
             WHERE id = $1 AND status = 'captured' AND currency = $3 AND refunded_minor + $2 <= captured_minor",
        )
        .bind(id.as_str())
        .bind(amount.minor_units)
        .bind(amount.currency.as_str())
        .bind(to_millis(now))
        .execute(&mut *tx)
        .await?;
        if refunded.rows_affected() == 0 {
            let stored = load(&mut tx, id).await?.ok_or_else(|| Error::not_found("authorization", id.as_str()))?;
            return Err(refund_refusal(&stored.authorization, amount));
        }
        let refund = Refund {
            id: RefundId::generate(),
            authorization_id: id.clone(),
            amount,
            created_at: from_millis(to_millis(now)),
        };
        sqlx::query(
            "INSERT INTO refunds (id, authorization_id, amount_minor, currency, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(refund.id.as_str())
        .bind(id.as_str())
        .bind(amount.minor_units)
        .bind(amount.currency.as_str())
        .bind(to_millis(now))
        .execute(&mut *tx)
        .await?;
        idempotency::record(&mut tx, claim, &refund).await?;
        tx.commit().await?;
        Ok(Outcome::Done(refund))
    }
}

/// Why refunding `amount` of `authorization` was refused.
fn refund_refusal(authorization: &Authorization, amount: Money) -> Error {
    if let Some(why) = authorization.refusal(Action::Refund) {
        return Error::Conflict { detail: why };
    }
    if amount.currency != authorization.captured.currency {
        return Error::invalid(
            "amount.currency",
            format!("refund in {}, the currency the payment was captured in", authorization.captured.currency),
        );
    }
    let refundable = Money::new(
        authorization.captured.currency,
        authorization.captured.minor_units - authorization.refunded.minor_units,
    );
    Error::invalid(
        "amount",
        format!(
            "exceeds what can still be refunded: {refundable} of {} captured ({} refunded already)",
            authorization.captured, authorization.refunded
        ),
    )
}

async fn load(connection: &mut AnyConnection, id: &AuthorizationId) -> Result<Option<Stored>> {
    let sql = format!("SELECT {COLUMNS} FROM authorizations WHERE id = $1");
    let row: Option<AuthorizationRow> =
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id.as_str()).fetch_optional(connection).await?;
    row.map(Stored::try_from).transpose()
}

fn vanished(id: &AuthorizationId) -> Error {
    Error::Internal { detail: format!("authorization {id} vanished inside its transaction") }
}
