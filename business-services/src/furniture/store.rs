//! The freight tables. A reservation takes its slot's row lock before it counts the slot's
//! active reservations, so concurrent reservations of one slot never overfill it (PostgreSQL
//! serializes them on the row; SQLite on its write lock).

use std::collections::HashMap;

use sqlx::{AnyConnection, FromRow};
use time::OffsetDateTime;

use super::domain::{
    Destination, FreightItem, HOLD, QUOTE_VALIDITY, Quote, QuoteId, QuoteRequest, ReservationAction, ReservationStatus,
    Slot, SlotId, SlotReservation, SlotReservationId, SlotReservationRequest, Zone, format_date, offered_slots,
    remaining,
};
use crate::contracts::product::{Dimensions, ProductId};
use crate::money::{CurrencyCode, Money};
use crate::platform::clock::{from_millis, to_millis};
use crate::platform::db::Db;
use crate::platform::{Error, Result};

/// What a create did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<T> {
    /// Made now.
    Created(T),
    /// Made before by the same request; this is it.
    Replayed(T),
}

/// Reads and writes quotes, slots and reservations.
#[derive(Debug, Clone)]
pub struct FurnitureStore {
    db: Db,
    capacity: u32,
}

/// Which reservations hold a place at `$1` (milliseconds).
const ACTIVE: &str = "(status = 'confirmed' OR (status = 'held' AND expires_at > $1))";

fn corrupt(what: &str, why: impl std::fmt::Display) -> Error {
    Error::Internal { detail: format!("a stored {what} is unreadable: {why}") }
}

fn encode<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Internal { detail: format!("could not encode a request: {e}") })
}

#[derive(FromRow)]
struct QuoteRow {
    id: String,
    country: String,
    postal_code: String,
    zone: String,
    cost_minor: i64,
    currency: String,
    created_at: i64,
    expires_at: i64,
}

#[derive(FromRow)]
struct ReservationRow {
    id: String,
    reference: String,
    quote_id: String,
    slot_id: String,
    status: String,
    cost_minor: i64,
    currency: String,
    expires_at: i64,
}

impl ReservationRow {
    fn status(&self) -> Result<ReservationStatus> {
        ReservationStatus::parse(&self.status).map_err(|e| corrupt("reservation", e))
    }

    fn slot(&self) -> Result<SlotId> {
        SlotId::parse(&self.slot_id).map_err(|e| corrupt("reservation", e))
    }
}

const QUOTE_COLUMNS: &str = "id, country, postal_code, zone, cost_minor, currency, created_at, expires_at";
const RESERVATION_COLUMNS: &str = "id, reference, quote_id, slot_id, status, cost_minor, currency, expires_at";

impl FurnitureStore {
    /// A store over `db` (migrated with the furniture migrations) whose slots each take
    /// `capacity` reservations.
    pub fn new(db: Db, capacity: u32) -> Self {
        FurnitureStore { db, capacity }
    }

    /// Stores a quote of `request` (validated, canonical) to `zone` costing `cost`, made at
    /// `now`; a repeated `idempotency_key` with the same request answers the first quote.
    pub async fn create_quote(
        &self,
        request: &QuoteRequest,
        zone: Zone,
        cost: Money,
        now: OffsetDateTime,
        idempotency_key: Option<&str>,
    ) -> Result<Outcome<Quote>> {
        let fingerprint = encode(request)?;
        if let Some(key) = idempotency_key
            && let Some(quote) = self.quote_by_key(key, &fingerprint, now).await?
        {
            return Ok(Outcome::Replayed(quote));
        }
        let id = QuoteId::generate();
        let mut tx = self.db.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO freight_quotes (id, country, postal_code, zone, cost_minor, currency, created_at, expires_at, \
             idempotency_key, fingerprint) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (idempotency_key) DO NOTHING",
        )
        .bind(id.as_str())
        .bind(&request.destination.country)
        .bind(&request.destination.postal_code)
        .bind(zone.as_str())
        .bind(cost.minor_units)
        .bind(cost.currency.as_str())
        .bind(to_millis(now))
        .bind(to_millis(now + QUOTE_VALIDITY))
        .bind(idempotency_key)
        .bind(&fingerprint)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            // A concurrent request with the same key got there first.
            drop(tx);
            let key = idempotency_key.unwrap_or_default();
            return match self.quote_by_key(key, &fingerprint, now).await? {
                Some(quote) => Ok(Outcome::Replayed(quote)),
                None => Err(Error::Internal { detail: format!("quote for Idempotency-Key '{key}' vanished") }),
            };
        }
        for (line, item) in request.items.iter().enumerate() {
            sqlx::query(
                "INSERT INTO freight_quote_items (quote_id, line, product_id, quantity, weight_grams, length_mm, \
                 width_mm, height_mm) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(id.as_str())
            .bind(i64::try_from(line).unwrap_or(i64::MAX))
            .bind(item.product_id.as_str())
            .bind(i64::from(item.quantity))
            .bind(i64::from(item.weight_grams))
            .bind(i64::from(item.dimensions_mm.length))
            .bind(i64::from(item.dimensions_mm.width))
            .bind(i64::from(item.dimensions_mm.height))
            .execute(&mut *tx)
            .await?;
        }
        let quote = load_quote(&mut tx, &id, now, self.capacity).await?;
        tx.commit().await?;
        quote.map(Outcome::Created).ok_or_else(|| Error::Internal { detail: format!("quote '{id}' vanished") })
    }

    async fn quote_by_key(&self, key: &str, fingerprint: &str, now: OffsetDateTime) -> Result<Option<Quote>> {
        let found: Option<(String, String)> =
            sqlx::query_as("SELECT id, fingerprint FROM freight_quotes WHERE idempotency_key = $1")
                .bind(key)
                .fetch_optional(self.db.pool())
                .await?;
        let Some((id, stored)) = found else {
            return Ok(None);
        };
        if stored != fingerprint {
            return Err(Error::invalid(
                "Idempotency-Key",
                "was already used for a different quote request; send a new key for a new request",
            ));
        }
        let id = QuoteId::parse(&id).map_err(|e| corrupt("quote", e))?;
        let mut connection = self.db.pool().acquire().await?;
        load_quote(&mut connection, &id, now, self.capacity).await
    }

    /// The quote `id`, its slots showing their free places at `now`.
    pub async fn quote(&self, id: &QuoteId, now: OffsetDateTime) -> Result<Option<Quote>> {
        let mut connection = self.db.pool().acquire().await?;
        load_quote(&mut connection, id, now, self.capacity).await
    }

    /// `slots` with their free places at `now`.
    pub async fn availability(&self, slots: &[SlotId], now: OffsetDateTime) -> Result<Vec<Slot>> {
        let mut connection = self.db.pool().acquire().await?;
        availability(&mut connection, slots, now, self.capacity).await
    }

    /// Holds a place in a slot of a quote until `now` + the hold time; the same reference with
    /// the same request answers the same reservation.
    pub async fn reserve(
        &self,
        request: &SlotReservationRequest,
        slot: SlotId,
        now: OffsetDateTime,
    ) -> Result<Outcome<SlotReservation>> {
        if let Some(existing) = self.replay(request, slot, now).await? {
            return Ok(Outcome::Replayed(existing));
        }
        let mut tx = self.db.begin_write().await?;
        let quote: Option<(i64, i64, i64, String)> =
            sqlx::query_as("SELECT created_at, expires_at, cost_minor, currency FROM freight_quotes WHERE id = $1")
                .bind(request.quote_id.as_str())
                .fetch_optional(&mut *tx)
                .await?;
        let Some((created_at, expires_at, cost_minor, currency)) = quote else {
            return Err(Error::invalid("quote_id", format!("there is no quote '{}'", request.quote_id)));
        };
        if expires_at <= to_millis(now) {
            return Err(Error::Conflict {
                detail: format!(
                    "quote '{}' expired at {}; ask for a new quote and reserve against it",
                    request.quote_id,
                    rfc3339(from_millis(expires_at))
                ),
            });
        }
        let offered = offered_slots(from_millis(created_at));
        if !offered.contains(&slot) {
            let (first, last) = (offered.first(), offered.last());
            let range = first.zip(last).map(|(a, b)| format!("{a} to {b}")).unwrap_or_default();
            return Err(Error::invalid(
                "slot_id",
                format!("quote '{}' does not offer slot {slot}; pick one of its slots, {range}", request.quote_id),
            ));
        }
        lock_slot(&mut tx, slot, now).await?;
        if reference_taken(&mut tx, &request.reference).await? {
            // A concurrent request with the same reference reserved while this one waited.
            drop(tx);
            return self.replay_after_race(request, slot, now).await;
        }
        if taken(&mut tx, slot, now, None).await? >= i64::from(self.capacity) {
            let free = availability(&mut tx, &offered, now, self.capacity).await?;
            return Err(Error::Conflict { detail: full_slot(slot, &free) });
        }
        let id = SlotReservationId::generate();
        let inserted = sqlx::query(
            "INSERT INTO slot_reservations (id, reference, quote_id, slot_id, slot_date, status, cost_minor, currency, \
             created_at, expires_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'held', $6, $7, $8, $9, $8) \
             ON CONFLICT (reference) DO NOTHING",
        )
        .bind(id.as_str())
        .bind(&request.reference)
        .bind(request.quote_id.as_str())
        .bind(slot.to_string())
        .bind(format_date(slot.date))
        .bind(cost_minor)
        .bind(currency)
        .bind(to_millis(now))
        .bind(to_millis(now + HOLD))
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            // A concurrent request with the same reference got there first.
            drop(tx);
            return self.replay_after_race(request, slot, now).await;
        }
        let reservation = load_reservation(&mut tx, &id, now, self.capacity).await?;
        tx.commit().await?;
        reservation
            .map(Outcome::Created)
            .ok_or_else(|| Error::Internal { detail: format!("reservation '{id}' vanished") })
    }

    /// The reservation made before with `request`'s reference, if it was made by the same
    /// request; a different request with the reference is refused.
    async fn replay(
        &self,
        request: &SlotReservationRequest,
        slot: SlotId,
        now: OffsetDateTime,
    ) -> Result<Option<SlotReservation>> {
        let mut connection = self.db.pool().acquire().await?;
        let sql = format!("SELECT {RESERVATION_COLUMNS} FROM slot_reservations WHERE reference = $1");
        let row: Option<ReservationRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(&request.reference).fetch_optional(&mut *connection).await?;
        let Some(row) = row else {
            return Ok(None);
        };
        if row.quote_id != request.quote_id.as_str() || row.slot()? != slot {
            return Err(Error::invalid(
                "reference",
                format!(
                    "was already used to reserve slot {} on quote '{}'; use a new reference for a new reservation",
                    row.slot_id, row.quote_id
                ),
            ));
        }
        reservation_from(&mut connection, row, now, self.capacity).await.map(Some)
    }

    /// The reservation a concurrent request with the same reference made.
    async fn replay_after_race(
        &self,
        request: &SlotReservationRequest,
        slot: SlotId,
        now: OffsetDateTime,
    ) -> Result<Outcome<SlotReservation>> {
        self.replay(request, slot, now).await?.map(Outcome::Replayed).ok_or_else(|| Error::Internal {
            detail: format!("the reservation with reference '{}' vanished", request.reference),
        })
    }

    /// The reservation `id`.
    pub async fn reservation(&self, id: &SlotReservationId, now: OffsetDateTime) -> Result<Option<SlotReservation>> {
        let mut connection = self.db.pool().acquire().await?;
        load_reservation(&mut connection, id, now, self.capacity).await
    }

    /// The reservation made under `reference`, if any: what a caller that crashed before
    /// recording its reservation had done.
    pub async fn reservation_by_reference(
        &self,
        reference: &str,
        now: OffsetDateTime,
    ) -> Result<Option<SlotReservation>> {
        let mut connection = self.db.pool().acquire().await?;
        let sql = format!("SELECT {RESERVATION_COLUMNS} FROM slot_reservations WHERE reference = $1");
        let row: Option<ReservationRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(reference).fetch_optional(&mut *connection).await?;
        match row {
            Some(row) => reservation_from(&mut connection, row, now, self.capacity).await.map(Some),
            None => Ok(None),
        }
    }

    /// Confirms or cancels the reservation `id`; `None` when there is none. Repeating an
    /// action changes nothing. Confirming a hold that lapsed takes its place again if the slot
    /// still has room.
    pub async fn change(
        &self,
        id: &SlotReservationId,
        action: ReservationAction,
        now: OffsetDateTime,
    ) -> Result<Option<SlotReservation>> {
        let mut tx = self.db.begin_write().await?;
        let sql = format!("SELECT {RESERVATION_COLUMNS} FROM slot_reservations WHERE id = $1");
        let row: Option<ReservationRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id.as_str()).fetch_optional(&mut *tx).await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let status = row.status()?;
        let next = status
            .after(action)
            .map_err(|why| Error::Conflict { detail: format!("reservation '{id}' cannot be confirmed: {why}") })?;
        if let Some(next) = next {
            let lapsed = status == ReservationStatus::Held && row.expires_at <= to_millis(now);
            if action == ReservationAction::Confirm && lapsed {
                let slot = row.slot()?;
                lock_slot(&mut tx, slot, now).await?;
                if taken(&mut tx, slot, now, Some(id)).await? >= i64::from(self.capacity) {
                    return Err(Error::Conflict {
                        detail: format!(
                            "the hold of reservation '{id}' lapsed at {} and slot {slot} has filled up since; \
                             cancel it and reserve another slot",
                            rfc3339(from_millis(row.expires_at))
                        ),
                    });
                }
            }
            sqlx::query("UPDATE slot_reservations SET status = $2, updated_at = $3 WHERE id = $1")
                .bind(id.as_str())
                .bind(next.as_str())
                .bind(to_millis(now))
                .execute(&mut *tx)
                .await?;
        }
        let reservation = load_reservation(&mut tx, id, now, self.capacity).await?;
        tx.commit().await?;
        Ok(reservation)
    }
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339).unwrap_or_else(|_| at.to_string())
}

/// Why `slot` cannot be reserved, and which slot of `offered` to try instead.
fn full_slot(slot: SlotId, offered: &[Slot]) -> String {
    let id = slot.to_string();
    let later = offered.iter().skip_while(|s| s.id <= id).find(|s| s.remaining > 0);
    let suggestion = later.or_else(|| offered.iter().find(|s| s.remaining > 0));
    match suggestion {
        Some(free) => format!(
            "slot {id} is full; the next free slot is {} ({} on {}): reserve that one instead",
            free.id,
            free.window.hours(),
            free.date
        ),
        None => format!("slot {id} is full and so is every other slot of this quote; ask for a new quote later"),
    }
}

/// Takes the row lock of `slot` until the transaction ends.
async fn lock_slot(connection: &mut AnyConnection, slot: SlotId, now: OffsetDateTime) -> Result<()> {
    sqlx::query(
        "INSERT INTO delivery_slots (id, last_reserved_at) VALUES ($1, $2) \
         ON CONFLICT (id) DO UPDATE SET last_reserved_at = excluded.last_reserved_at",
    )
    .bind(slot.to_string())
    .bind(to_millis(now))
    .execute(&mut *connection)
    .await?;
    Ok(())
}

/// Whether a reservation with `reference` exists.
async fn reference_taken(connection: &mut AnyConnection, reference: &str) -> Result<bool> {
    let found: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM slot_reservations WHERE reference = $1")
        .bind(reference)
        .fetch_one(&mut *connection)
        .await?;
    Ok(found > 0)
}

/// Reservations holding a place in `slot` at `now`, leaving out `excluding`.
async fn taken(
    connection: &mut AnyConnection,
    slot: SlotId,
    now: OffsetDateTime,
    excluding: Option<&SlotReservationId>,
) -> Result<i64> {
    let sql = format!("SELECT COUNT(*) FROM slot_reservations WHERE {ACTIVE} AND slot_id = $2 AND id <> $3");
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(to_millis(now))
        .bind(slot.to_string())
        .bind(excluding.map(SlotReservationId::as_str).unwrap_or_default())
        .fetch_one(&mut *connection)
        .await?)
}

/// `slots` (in order) with their free places at `now`.
async fn availability(
    connection: &mut AnyConnection,
    slots: &[SlotId],
    now: OffsetDateTime,
    capacity: u32,
) -> Result<Vec<Slot>> {
    let (Some(first), Some(last)) = (slots.iter().min(), slots.iter().max()) else {
        return Ok(Vec::new());
    };
    let sql = format!(
        "SELECT slot_id, COUNT(*) FROM slot_reservations WHERE {ACTIVE} AND slot_date >= $2 AND slot_date <= $3 \
         GROUP BY slot_id"
    );
    let counts: HashMap<String, i64> = sqlx::query_as::<_, (String, i64)>(sqlx::AssertSqlSafe(sql))
        .bind(to_millis(now))
        .bind(format_date(first.date))
        .bind(format_date(last.date))
        .fetch_all(&mut *connection)
        .await?
        .into_iter()
        .collect();
    Ok(slots
        .iter()
        .map(|slot| {
            let id = slot.to_string();
            slot.with_remaining(remaining(capacity, counts.get(&id).copied().unwrap_or(0)))
        })
        .collect())
}

async fn load_quote(
    connection: &mut AnyConnection,
    id: &QuoteId,
    now: OffsetDateTime,
    capacity: u32,
) -> Result<Option<Quote>> {
    let sql = format!("SELECT {QUOTE_COLUMNS} FROM freight_quotes WHERE id = $1");
    let row: Option<QuoteRow> =
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id.as_str()).fetch_optional(&mut *connection).await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let lines: Vec<(String, i64, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT product_id, quantity, weight_grams, length_mm, width_mm, height_mm FROM freight_quote_items \
         WHERE quote_id = $1 ORDER BY line",
    )
    .bind(id.as_str())
    .fetch_all(&mut *connection)
    .await?;
    let number = |value: i64| u32::try_from(value).map_err(|e| corrupt("quote line", e));
    let items = lines
        .into_iter()
        .map(|(product_id, quantity, weight, length, width, height)| {
            Ok(FreightItem {
                product_id: ProductId::parse(&product_id).map_err(|e| corrupt("quote line", e))?,
                quantity: number(quantity)?,
                weight_grams: number(weight)?,
                dimensions_mm: Dimensions { length: number(length)?, width: number(width)?, height: number(height)? },
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let slots = availability(connection, &offered_slots(from_millis(row.created_at)), now, capacity).await?;
    Ok(Some(Quote {
        id: QuoteId::parse(&row.id).map_err(|e| corrupt("quote", e))?,
        destination: Destination { country: row.country, postal_code: row.postal_code },
        zone: Zone::parse(&row.zone).map_err(|e| corrupt("quote", e))?,
        cost: Money::new(CurrencyCode::parse(&row.currency).map_err(|e| corrupt("quote", e))?, row.cost_minor),
        items,
        slots,
        expires_at: from_millis(row.expires_at),
    }))
}

async fn load_reservation(
    connection: &mut AnyConnection,
    id: &SlotReservationId,
    now: OffsetDateTime,
    capacity: u32,
) -> Result<Option<SlotReservation>> {
    let sql = format!("SELECT {RESERVATION_COLUMNS} FROM slot_reservations WHERE id = $1");
    let row: Option<ReservationRow> =
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id.as_str()).fetch_optional(&mut *connection).await?;
    match row {
        Some(row) => reservation_from(connection, row, now, capacity).await.map(Some),
        None => Ok(None),
    }
}

async fn reservation_from(
    connection: &mut AnyConnection,
    row: ReservationRow,
    now: OffsetDateTime,
    capacity: u32,
) -> Result<SlotReservation> {
    let slot = row.slot()?;
    let free = remaining(capacity, taken(connection, slot, now, None).await?);
    Ok(SlotReservation {
        id: SlotReservationId::parse(&row.id).map_err(|e| corrupt("reservation", e))?,
        quote_id: QuoteId::parse(&row.quote_id).map_err(|e| corrupt("reservation", e))?,
        slot: slot.with_remaining(free),
        status: row.status()?,
        cost: Money::new(CurrencyCode::parse(&row.currency).map_err(|e| corrupt("reservation", e))?, row.cost_minor),
        reference: row.reference,
        expires_at: from_millis(row.expires_at),
    })
}
