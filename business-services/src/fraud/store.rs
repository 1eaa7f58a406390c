//! The fraud engine's tables: its assessment history (the features of the next assessments
//! are SQL over it), the review queue and the signatures it has seen.

use futures_util::TryStreamExt;
use sqlx::{AnyConnection, FromRow};
use time::{Duration, OffsetDateTime};

use super::domain::{
    Assessment, AssessmentId, AssessmentRequest, Decision, Features, Policy, Reason, Review, ReviewDecision,
    ReviewStatus, SeenOrder, score,
};
use crate::platform::clock::{from_millis, to_millis};
use crate::platform::db::Db;
use crate::platform::page::{self, Page};
use crate::platform::{Error, Result};

/// What an assessment request did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Scored now.
    Assessed(Assessment),
    /// Scored before for the same request; this is that assessment, not scored again.
    Replayed(Assessment),
}

/// Reads and writes assessments, reviews and seen signatures.
#[derive(Debug, Clone)]
pub struct FraudStore {
    db: Db,
}

#[derive(FromRow)]
struct AssessmentRow {
    id: String,
    reference: String,
    score: i64,
    decision: String,
    reasons: String,
    created_at: i64,
}

impl TryFrom<AssessmentRow> for Assessment {
    type Error = Error;

    fn try_from(row: AssessmentRow) -> Result<Assessment> {
        let corrupt =
            |why: String| Error::Internal { detail: format!("stored assessment '{}' is unreadable: {why}", row.id) };
        Ok(Assessment {
            id: AssessmentId::parse(&row.id).map_err(corrupt)?,
            score: u8::try_from(row.score).map_err(|e| corrupt(e.to_string()))?,
            decision: Decision::parse(&row.decision).map_err(corrupt)?,
            reasons: serde_json::from_str::<Vec<Reason>>(&row.reasons).map_err(|e| corrupt(e.to_string()))?,
            created_at: from_millis(row.created_at),
            reference: row.reference,
        })
    }
}

/// An assessment and the request it was made for.
#[derive(FromRow)]
struct StoredRequest {
    #[sqlx(flatten)]
    assessment: AssessmentRow,
    request: String,
}

#[derive(FromRow)]
struct ReviewRow {
    #[sqlx(flatten)]
    assessment: AssessmentRow,
    status: String,
    analyst: Option<String>,
    note: Option<String>,
    decided_at: Option<i64>,
}

impl ReviewRow {
    /// The review and its position in the queue.
    fn into_review(self) -> Result<(String, Review)> {
        let status = ReviewStatus::parse(&self.status).map_err(|why| Error::Internal { detail: why })?;
        let key = queue_key(self.assessment.created_at, &self.assessment.id);
        let review = Review {
            assessment: Assessment::try_from(self.assessment)?,
            status,
            analyst: self.analyst,
            note: self.note,
            decided_at: self.decided_at.map(from_millis),
        };
        Ok((key, review))
    }
}

/// The queue orders reviews by the time of their assessment, then id: as a cursor key,
/// zero-padded milliseconds and the id.
fn queue_key(created_at: i64, id: &str) -> String {
    format!("{created_at:020}:{id}")
}

const ASSESSMENT_COLUMNS: &str = "a.id, a.reference, a.score, a.decision, a.reasons, a.created_at";

fn encode<T: serde::Serialize>(value: &T, what: &str) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Internal { detail: format!("could not encode the {what}: {e}") })
}

/// Which earlier orders a velocity feature counts.
enum Subject<'a> {
    Card(&'a str),
    Customer { id: Option<&'a str>, email: &'a str },
    Address { country: &'a str, postal_code: &'a str },
}

impl FraudStore {
    /// A store over `db`, migrated with the fraud engine's migrations.
    pub fn new(db: Db) -> Self {
        FraudStore { db }
    }

    /// Assesses `request` (validated, canonical) at `now` under `policy`: gathers its
    /// features from the history, scores them, stores the assessment with its features, and
    /// queues it for review when so decided. A repeated reference with the same request
    /// answers the first assessment.
    pub async fn assess(&self, request: &AssessmentRequest, now: OffsetDateTime, policy: &Policy) -> Result<Outcome> {
        let fingerprint = encode(request, "request")?;
        if let Some(existing) = self.by_reference(&request.reference, &fingerprint).await? {
            return Ok(Outcome::Replayed(existing));
        }
        let mut tx = self.db.begin_write().await?;
        let features = gather(&mut tx, request, now, policy).await?;
        let verdict = score(&features);
        let decision = policy.thresholds.decide(verdict.score, features.standing);
        let id = AssessmentId::generate();
        let inserted = sqlx::query(
            "INSERT INTO assessments (id, reference, request, customer_id, email, amount_minor, currency, \
             card_fingerprint, shipping_country, shipping_postal_code, features, score, decision, reasons, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
             ON CONFLICT (reference) DO NOTHING",
        )
        .bind(id.as_str())
        .bind(&request.reference)
        .bind(&fingerprint)
        .bind(request.customer_id.as_deref())
        .bind(&request.email)
        .bind(request.amount.minor_units)
        .bind(request.amount.currency.as_str())
        .bind(&request.card.fingerprint)
        .bind(&request.shipping.country)
        .bind(&request.shipping.postal_code)
        .bind(encode(&features, "features")?)
        .bind(i64::from(verdict.score))
        .bind(decision.as_str())
        .bind(encode(&verdict.reasons, "reasons")?)
        .bind(to_millis(now))
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            // A concurrent request with the same reference was assessed first.
            drop(tx);
            return self.by_reference(&request.reference, &fingerprint).await?.map(Outcome::Replayed).ok_or_else(
                || Error::Internal { detail: format!("the assessment of '{}' vanished", request.reference) },
            );
        }
        if decision == Decision::Review {
            sqlx::query("INSERT INTO reviews (assessment_id, status, created_at) VALUES ($1, 'pending', $2)")
                .bind(id.as_str())
                .bind(to_millis(now))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(Outcome::Assessed(Assessment {
            id,
            reference: request.reference.clone(),
            score: verdict.score,
            decision,
            reasons: verdict.reasons,
            created_at: from_millis(to_millis(now)),
        }))
    }

    /// The assessment of `reference`, if the same request was assessed; a different request
    /// with the reference is refused.
    async fn by_reference(&self, reference: &str, fingerprint: &str) -> Result<Option<Assessment>> {
        let sql = format!("SELECT {ASSESSMENT_COLUMNS}, a.request FROM assessments a WHERE a.reference = $1");
        let found: Option<StoredRequest> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(reference).fetch_optional(self.db.pool()).await?;
        let Some(found) = found else {
            return Ok(None);
        };
        if found.request != fingerprint {
            return Err(Error::invalid(
                "reference",
                "was already assessed with a different request; use a new reference for a new order",
            ));
        }
        Assessment::try_from(found.assessment).map(Some)
    }

    /// The assessment made under the caller's `reference`, if any.
    pub async fn assessment_of(&self, reference: &str) -> Result<Option<Assessment>> {
        let sql = format!("SELECT {ASSESSMENT_COLUMNS} FROM assessments a WHERE a.reference = $1");
        let row: Option<AssessmentRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(reference).fetch_optional(self.db.pool()).await?;
        row.map(Assessment::try_from).transpose()
    }

    /// The assessment `id`.
    pub async fn assessment(&self, id: &AssessmentId) -> Result<Option<Assessment>> {
        let sql = format!("SELECT {ASSESSMENT_COLUMNS} FROM assessments a WHERE a.id = $1");
        let row: Option<AssessmentRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id.as_str()).fetch_optional(self.db.pool()).await?;
        row.map(Assessment::try_from).transpose()
    }

    /// Up to `limit + 1` reviews in `status`, oldest first, after the cursor key `after`.
    pub async fn reviews(&self, status: ReviewStatus, after: Option<&str>, limit: u32) -> Result<Page<Review>> {
        let (after_time, after_id) = match after {
            Some(key) => {
                let (time, id) = key.split_once(':').ok_or_else(bad_cursor)?;
                (time.parse::<i64>().map_err(|_| bad_cursor())?, id.to_owned())
            }
            None => (i64::MIN, String::new()),
        };
        let sql = format!(
            "SELECT {ASSESSMENT_COLUMNS}, r.status, r.analyst, r.note, r.decided_at \
             FROM reviews r JOIN assessments a ON a.id = r.assessment_id \
             WHERE r.status = $1 AND (a.created_at > $2 OR (a.created_at = $2 AND a.id > $3)) \
             ORDER BY a.created_at, a.id LIMIT $4"
        );
        let rows: Vec<ReviewRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(status.as_str())
            .bind(after_time)
            .bind(after_id)
            .bind(i64::from(limit) + 1)
            .fetch_all(self.db.pool())
            .await?;
        let keyed = rows.into_iter().map(ReviewRow::into_review).collect::<Result<Vec<_>>>()?;
        let page = page::paginate(keyed, limit, |(key, _)| key.clone());
        Ok(Page { items: page.items.into_iter().map(|(_, review)| review).collect(), next_cursor: page.next_cursor })
    }

    /// Records an analyst's `decision` on the review of `id` at `now`, once.
    pub async fn decide(&self, id: &AssessmentId, decision: &ReviewDecision, now: OffsetDateTime) -> Result<Review> {
        let mut tx = self.db.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE reviews SET status = $2, analyst = $3, note = $4, decided_at = $5 \
             WHERE assessment_id = $1 AND status = 'pending'",
        )
        .bind(id.as_str())
        .bind(decision.outcome.status().as_str())
        .bind(decision.analyst.trim())
        .bind(&decision.note)
        .bind(to_millis(now))
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(self.why_undecidable(&mut tx, id).await?);
        }
        let review = load_review(&mut tx, id).await?;
        tx.commit().await?;
        review.ok_or_else(|| Error::Internal { detail: format!("the review of '{id}' vanished") })
    }

    /// Why the review of `id` could not be decided.
    async fn why_undecidable(&self, connection: &mut AnyConnection, id: &AssessmentId) -> Result<Error> {
        if let Some(review) = load_review(connection, id).await? {
            let by = review.analyst.unwrap_or_default();
            return Ok(Error::Conflict {
                detail: format!("the review of '{id}' was already decided: {} by {by}", review.status.as_str()),
            });
        }
        let sql = "SELECT decision FROM assessments WHERE id = $1";
        let decision: Option<String> =
            sqlx::query_scalar(sql).bind(id.as_str()).fetch_optional(&mut *connection).await?;
        Ok(match decision {
            Some(decision) => Error::Conflict {
                detail: format!(
                    "assessment '{id}' was decided '{decision}', not sent to review: there is nothing to decide"
                ),
            },
            None => Error::not_found("assessment", id.as_str()),
        })
    }

    /// Records a confirmed order told by event `event_id` in the history, once per order;
    /// `false` when it was recorded before.
    pub async fn record_order(&self, order: &SeenOrder, event_id: &str) -> Result<bool> {
        let inserted = sqlx::query(
            "INSERT INTO orders_seen (order_id, reference, event_id, customer_id, email, amount_minor, currency, \
             card_fingerprint, shipping_country, shipping_postal_code, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (order_id) DO NOTHING",
        )
        .bind(&order.order_id)
        .bind(&order.reference)
        .bind(event_id)
        .bind(order.customer_id.as_deref())
        .bind(&order.email)
        .bind(order.amount.minor_units)
        .bind(order.amount.currency.as_str())
        .bind(&order.card_fingerprint)
        .bind(&order.shipping.country)
        .bind(&order.shipping.postal_code)
        .bind(to_millis(order.placed_at))
        .execute(self.db.pool())
        .await?;
        Ok(inserted.rows_affected() == 1)
    }

    /// Remembers the signature of an accepted request until `forget_after`; `false` if it was
    /// seen before. Forgets signatures whose time has passed at `now`.
    pub async fn remember_signature(
        &self,
        signature: &str,
        key_id: &str,
        forget_after: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool> {
        sqlx::query("DELETE FROM seen_signatures WHERE forget_after < $1")
            .bind(to_millis(now))
            .execute(self.db.pool())
            .await?;
        let inserted = sqlx::query(
            "INSERT INTO seen_signatures (signature, key_id, forget_after) VALUES ($1, $2, $3) \
             ON CONFLICT (signature) DO NOTHING",
        )
        .bind(signature)
        .bind(key_id)
        .bind(to_millis(forget_after))
        .execute(self.db.pool())
        .await?;
        Ok(inserted.rows_affected() == 1)
    }
}

fn bad_cursor() -> Error {
    Error::invalid("cursor", "is not a cursor this service issued; start again without it")
}

async fn load_review(connection: &mut AnyConnection, id: &AssessmentId) -> Result<Option<Review>> {
    let sql = format!(
        "SELECT {ASSESSMENT_COLUMNS}, r.status, r.analyst, r.note, r.decided_at \
         FROM reviews r JOIN assessments a ON a.id = r.assessment_id WHERE r.assessment_id = $1"
    );
    let row: Option<ReviewRow> =
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id.as_str()).fetch_optional(&mut *connection).await?;
    row.map(|row| row.into_review().map(|(_, review)| review)).transpose()
}

/// The features of `request` at `now`, from the history of earlier orders (`order_history`:
/// assessments, and confirmed orders not assessed here).
async fn gather(
    connection: &mut AnyConnection,
    request: &AssessmentRequest,
    now: OffsetDateTime,
    policy: &Policy,
) -> Result<Features> {
    let customer = Subject::Customer { id: request.customer_id.as_deref(), email: &request.email };
    let (previous_count, previous_total) = amount_history(connection, request).await?;
    let (card_last_hour, card_last_day) = velocity(connection, &Subject::Card(&request.card.fingerprint), now).await?;
    let (customer_last_hour, customer_last_day) = velocity(connection, &customer, now).await?;
    let address = Subject::Address { country: &request.shipping.country, postal_code: &request.shipping.postal_code };
    let (address_last_hour, address_last_day) = velocity(connection, &address, now).await?;
    Ok(Features {
        amount: request.amount.minor_units,
        previous_count,
        previous_total,
        first_purchase_limit: policy.large_first_purchase.get(&request.amount.currency).copied(),
        card_last_hour,
        card_last_day,
        customer_last_hour,
        customer_last_day,
        address_last_hour,
        address_last_day,
        account_age_secs: request.account_created_at.map(|at| (now - at).whole_seconds().max(0)),
        country_mismatch: request.billing.country != request.shipping.country,
        standing: request.standing(),
    })
}

fn count(value: i64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

/// How many earlier orders the customer (or their email) had in the request's currency, and
/// their total, saturating at `i64::MAX`.
///
/// Each amount is bounded at the door, their number is not: the sum is taken here, where it
/// saturates, and not by SQL's `SUM`, which fails on overflow and would fail every later
/// assessment of the customer with it.
async fn amount_history(connection: &mut AnyConnection, request: &AssessmentRequest) -> Result<(u32, i64)> {
    let mut amounts = sqlx::query_scalar::<_, i64>(
        "SELECT amount_minor FROM order_history WHERE currency = $1 AND (email = $2 OR customer_id = $3)",
    )
    .bind(request.amount.currency.as_str())
    .bind(&request.email)
    .bind(request.customer_id.as_deref())
    .fetch(&mut *connection);
    let (mut orders, mut total) = (0_u32, 0_i64);
    while let Some(amount) = amounts.try_next().await? {
        orders = orders.saturating_add(1);
        total = total.saturating_add(amount);
    }
    Ok((orders, total))
}

/// Earlier orders of `subject` in the hour and in the 24 hours before `now`.
async fn velocity(connection: &mut AnyConnection, subject: &Subject<'_>, now: OffsetDateTime) -> Result<(u32, u32)> {
    let (condition, values): (&str, Vec<Option<&str>>) = match subject {
        Subject::Card(fingerprint) => ("card_fingerprint = $3", vec![Some(fingerprint)]),
        Subject::Customer { id, email } => ("(email = $3 OR customer_id = $4)", vec![Some(email), *id]),
        Subject::Address { country, postal_code } => {
            ("shipping_country = $3 AND shipping_postal_code = $4", vec![Some(country), Some(postal_code)])
        }
    };
    let sql = format!(
        "SELECT CAST(COALESCE(SUM(CASE WHEN created_at > $1 THEN 1 ELSE 0 END), 0) AS BIGINT), COUNT(*) \
         FROM order_history WHERE created_at > $2 AND {condition}"
    );
    let mut query = sqlx::query_as::<_, (i64, i64)>(sqlx::AssertSqlSafe(sql))
        .bind(to_millis(now - Duration::HOUR))
        .bind(to_millis(now - Duration::DAY));
    for value in values {
        query = query.bind(value);
    }
    let (hour, day) = query.fetch_one(&mut *connection).await?;
    Ok((count(hour), count(day)))
}
