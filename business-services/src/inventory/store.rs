//! The inventory tables.
//!
//! Every change is one transaction that first releases the holds that have expired, so no
//! stock stays held past its time even between sweeps. Stock rows are changed one product at
//! a time in product-id order, each with a guarded `UPDATE`, so concurrent checkouts of the last
//! unit serialize on its row and exactly one wins; the CHECK on `stock` refuses anything that
//! would make stock negative or promise more than is on hand.

use sqlx::{Any, AnyConnection, Transaction};
use time::OffsetDateTime;

use super::domain::{
    MAX_ON_HAND, Movement, MovementKind, NewMovement, RecordedMovement, Reservation, ReservationId, ReservationLine,
    ReservationStatus, ReserveRequest, Shortage, Stock, describe_shortages,
};
use crate::contracts::product::ProductId;
use crate::platform::clock::{from_millis, to_millis};
use crate::platform::db::Db;
use crate::platform::idempotency::{self, Claim, Outcome};
use crate::platform::{Error, Result};

/// Reads and writes stock and reservations.
#[derive(Debug, Clone)]
pub struct InventoryStore {
    db: Db,
}

type Tx = Transaction<'static, Any>;

impl InventoryStore {
    /// A store over `db`, migrated with the inventory migrations.
    pub fn new(db: Db) -> Self {
        InventoryStore { db }
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The stock of one product; `None` when inventory does not stock it.
    pub async fn stock(&self, product: &ProductId) -> Result<Option<Stock>> {
        let mut connection = self.db.pool().acquire().await?;
        load_stock(&mut connection, product).await
    }

    /// The stock of each of `products` that inventory stocks, in the order asked.
    pub async fn stocks(&self, products: &[ProductId]) -> Result<Vec<Stock>> {
        if products.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (1..=products.len()).map(|n| format!("${n}")).collect();
        let sql = format!(
            "SELECT product_id, on_hand, reserved FROM stock WHERE product_id IN ({})",
            placeholders.join(", ")
        );
        let mut query = sqlx::query_as::<_, (String, i64, i64)>(sqlx::AssertSqlSafe(sql));
        for product in products {
            query = query.bind(product.as_str().to_owned());
        }
        let found = query.fetch_all(self.db.pool()).await?.into_iter().map(stock_row).collect::<Result<Vec<_>>>()?;
        Ok(products.iter().filter_map(|product| found.iter().find(|s| &s.product_id == product).cloned()).collect())
    }

    /// Up to `limit` stocked products after `after`, in product-id order.
    pub async fn list(&self, after: Option<&ProductId>, limit: u32) -> Result<Vec<Stock>> {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT product_id, on_hand, reserved FROM stock WHERE product_id > $1 ORDER BY product_id LIMIT $2",
        )
        .bind(after.map_or("", ProductId::as_str))
        .bind(i64::from(limit))
        .fetch_all(self.db.pool())
        .await?;
        rows.into_iter().map(stock_row).collect()
    }

    /// Records a receipt or adjustment of `product` at `now`, at most once per idempotency key.
    /// A product's first movement starts stocking it. Refused (422 on `delta`) when it would
    /// leave fewer units on hand than zero or than are reserved, or more than [`MAX_ON_HAND`].
    pub async fn record_movement(
        &self,
        product: &ProductId,
        movement: &NewMovement,
        now: OffsetDateTime,
        claim: Option<&Claim>,
    ) -> Result<Outcome<RecordedMovement>> {
        let mut tx = self.db.begin_write().await?;
        release_expired(&mut tx, now).await?;
        if let Some(claim) = claim
            && !idempotency::claim(&mut tx, claim, now).await?
        {
            drop(tx);
            return idempotency::replay_taken(&self.db, claim).await;
        }
        sqlx::query(
            "INSERT INTO stock (product_id, on_hand, reserved, updated_at) VALUES ($1, 0, 0, $2) \
             ON CONFLICT (product_id) DO NOTHING",
        )
        .bind(product.as_str())
        .bind(to_millis(now))
        .execute(&mut *tx)
        .await?;
        let changed = sqlx::query(
            "UPDATE stock SET on_hand = on_hand + $2, updated_at = $3 \
             WHERE product_id = $1 AND on_hand + $2 >= reserved AND on_hand + $2 <= $4",
        )
        .bind(product.as_str())
        .bind(movement.delta)
        .bind(to_millis(now))
        .bind(MAX_ON_HAND)
        .execute(&mut *tx)
        .await?;
        let stock = load_stock(&mut tx, product).await?.ok_or_else(|| vanished(product))?;
        if changed.rows_affected() == 0 {
            let why = movement.refusal(&stock).unwrap_or_else(|| "would make the stock negative".to_owned());
            return Err(Error::invalid("delta", why));
        }
        let movement =
            insert_movement(&mut tx, product, movement.delta, movement.kind, &movement.reference, now).await?;
        let recorded = RecordedMovement { movement, stock };
        if let Some(claim) = claim {
            idempotency::record(&mut tx, claim, &recorded).await?;
        }
        tx.commit().await?;
        Ok(Outcome::Done(recorded))
    }

    /// Receives `units` of each product as the opening stock, all or none, and only into an
    /// empty store; returns how many products were stocked.
    pub async fn receive_opening_stock(
        &self,
        units: &[(ProductId, i64)],
        reference: &str,
        now: OffsetDateTime,
    ) -> Result<usize> {
        let mut tx = self.db.begin_write().await?;
        let stocked: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM stock").fetch_one(&mut *tx).await?;
        if stocked > 0 {
            return Ok(0);
        }
        for (product, quantity) in units {
            sqlx::query("INSERT INTO stock (product_id, on_hand, reserved, updated_at) VALUES ($1, $2, 0, $3)")
                .bind(product.as_str())
                .bind(quantity)
                .bind(to_millis(now))
                .execute(&mut *tx)
                .await?;
            insert_movement(&mut tx, product, *quantity, MovementKind::Receipt, reference, now).await?;
        }
        tx.commit().await?;
        Ok(units.len())
    }

    /// Holds the stock `request` asks for until `now` plus its TTL: every line or none.
    ///
    /// Idempotent on the reference: the same reference with the same lines gives the existing
    /// reservation back (whatever its status now); with other lines it is a 422 on `reference`.
    /// Too few units of any line is a conflict naming each short product and what is available.
    pub async fn reserve(&self, request: &ReserveRequest, now: OffsetDateTime) -> Result<Outcome<Reservation>> {
        let mut tx = self.db.begin_write().await?;
        release_expired(&mut tx, now).await?;
        let id = ReservationId::generate();
        let expires_at = now + time::Duration::seconds(i64::from(request.ttl_secs));
        // Claims the reference: a concurrent request with the same one waits here for this
        // transaction, then finds the reservation it made (or a free reference if it failed).
        let claimed = sqlx::query(
            "INSERT INTO reservations (id, reference, status, created_at, expires_at, updated_at) \
             VALUES ($1, $2, 'held', $3, $4, $3) ON CONFLICT (reference) DO NOTHING",
        )
        .bind(id.as_str())
        .bind(&request.reference)
        .bind(to_millis(now))
        .bind(to_millis(expires_at))
        .execute(&mut *tx)
        .await?;
        if claimed.rows_affected() == 0 {
            drop(tx);
            return self.existing(request).await.map(Outcome::Replayed);
        }
        let mut lines: Vec<(usize, &ReservationLine)> = request.lines.iter().enumerate().collect();
        lines.sort_by(|a, b| a.1.product_id.cmp(&b.1.product_id));
        let mut shortages = Vec::new();
        for (index, line) in lines {
            let held = sqlx::query(
                "UPDATE stock SET reserved = reserved + $2, updated_at = $3 \
                 WHERE product_id = $1 AND on_hand - reserved >= $2",
            )
            .bind(line.product_id.as_str())
            .bind(i64::from(line.quantity))
            .bind(to_millis(now))
            .execute(&mut *tx)
            .await?;
            if held.rows_affected() == 1 {
                sqlx::query("INSERT INTO reservation_lines (reservation_id, product_id, quantity) VALUES ($1, $2, $3)")
                    .bind(id.as_str())
                    .bind(line.product_id.as_str())
                    .bind(i64::from(line.quantity))
                    .execute(&mut *tx)
                    .await?;
                continue;
            }
            match load_stock(&mut tx, &line.product_id).await? {
                Some(stock) => shortages.push(Shortage {
                    product_id: line.product_id.clone(),
                    requested: line.quantity,
                    available: stock.available,
                }),
                None => {
                    return Err(Error::invalid(
                        format!("lines[{index}].product_id"),
                        format!(
                            "inventory does not stock '{}': only standard items that were ever received are \
                             reserved here (oversized furniture is reserved with the furniture ERP)",
                            line.product_id
                        ),
                    ));
                }
            }
        }
        if !shortages.is_empty() {
            return Err(Error::Conflict { detail: describe_shortages(&shortages) });
        }
        let reservation = load_reservation(&mut tx, &id).await?.ok_or_else(|| reservation_vanished(&id))?;
        tx.commit().await?;
        Ok(Outcome::Done(reservation))
    }

    async fn existing(&self, request: &ReserveRequest) -> Result<Reservation> {
        let mut connection = self.db.pool().acquire().await?;
        let id: String = sqlx::query_scalar("SELECT id FROM reservations WHERE reference = $1")
            .bind(&request.reference)
            .fetch_one(&mut *connection)
            .await?;
        let id = ReservationId::parse(&id).map_err(|why| Error::Internal { detail: format!("stored {why}") })?;
        let reservation = load_reservation(&mut connection, &id).await?.ok_or_else(|| reservation_vanished(&id))?;
        if !request.matches(&reservation) {
            return Err(Error::invalid(
                "reference",
                format!(
                    "reservation {} already uses this reference for other lines; send a new reference for a new reservation",
                    reservation.id
                ),
            ));
        }
        Ok(reservation)
    }

    /// One reservation.
    pub async fn reservation(&self, id: &ReservationId) -> Result<Option<Reservation>> {
        let mut connection = self.db.pool().acquire().await?;
        load_reservation(&mut connection, id).await
    }

    /// The reservation made under `reference`, if any: what a caller that crashed before
    /// recording its reservation had done.
    pub async fn reservation_by_reference(&self, reference: &str) -> Result<Option<Reservation>> {
        let mut connection = self.db.pool().acquire().await?;
        let id: Option<String> = sqlx::query_scalar("SELECT id FROM reservations WHERE reference = $1")
            .bind(reference)
            .fetch_optional(&mut *connection)
            .await?;
        match id {
            Some(id) => {
                let id = ReservationId::parse(&id).map_err(|detail| Error::Internal { detail })?;
                load_reservation(&mut connection, &id).await
            }
            None => Ok(None),
        }
    }

    /// Commits a held reservation at `now`: its units leave the stock on hand as sales.
    /// Committing a committed reservation returns it; a released one is a conflict.
    pub async fn commit(&self, id: &ReservationId, now: OffsetDateTime) -> Result<Reservation> {
        self.finish(id, ReservationStatus::Committed, now).await
    }

    /// Releases a held reservation at `now`: its units can be reserved again. Releasing a
    /// released reservation returns it; a committed one is a conflict.
    pub async fn release(&self, id: &ReservationId, now: OffsetDateTime) -> Result<Reservation> {
        self.finish(id, ReservationStatus::Released, now).await
    }

    async fn finish(&self, id: &ReservationId, to: ReservationStatus, now: OffsetDateTime) -> Result<Reservation> {
        let mut tx = self.db.begin_write().await?;
        release_expired(&mut tx, now).await?;
        let reference: Option<String> = sqlx::query_scalar(
            "UPDATE reservations SET status = $2, updated_at = $3 WHERE id = $1 AND status = 'held' RETURNING reference",
        )
        .bind(id.as_str())
        .bind(to.as_str())
        .bind(to_millis(now))
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(reference) = reference {
            settle(&mut tx, id.as_str(), &reference, to, now).await?;
        }
        let reservation =
            load_reservation(&mut tx, id).await?.ok_or_else(|| Error::not_found("reservation", id.as_str()))?;
        match (reservation.status, to) {
            (status, to) if status == to => {}
            (ReservationStatus::Released, _) => {
                return Err(Error::Conflict {
                    detail: format!(
                        "reservation {id} was released (by its caller, or because its hold expired at {}), so its \
                         units may have gone to other customers; reserve them again",
                        rfc3339(reservation.expires_at)
                    ),
                });
            }
            _ => {
                return Err(Error::Conflict {
                    detail: format!(
                        "reservation {id} was committed: its units were sold and left the stock; record a receipt \
                         to put returned units back"
                    ),
                });
            }
        }
        tx.commit().await?;
        Ok(reservation)
    }

    /// Releases every held reservation that expired by `now`; returns how many.
    pub async fn release_expired(&self, now: OffsetDateTime) -> Result<u64> {
        let mut tx = self.db.begin_write().await?;
        let released = release_expired(&mut tx, now).await?;
        tx.commit().await?;
        Ok(released)
    }
}

/// Releases the held reservations that expired by `now`, within `tx`. A concurrent transaction
/// doing the same waits on the reservation rows and then finds them released already.
async fn release_expired(tx: &mut Tx, now: OffsetDateTime) -> Result<u64> {
    let expired: Vec<(String, String)> = sqlx::query_as(
        "UPDATE reservations SET status = 'released', updated_at = $1 \
         WHERE status = 'held' AND expires_at <= $1 RETURNING id, reference",
    )
    .bind(to_millis(now))
    .fetch_all(&mut **tx)
    .await?;
    for (id, reference) in &expired {
        settle(tx, id, reference, ReservationStatus::Released, now).await?;
    }
    Ok(expired.len() as u64)
}

/// Applies a reservation that just left `held` for `to` to the stock, line by line in product
/// order: released units become available; committed units leave as sales.
async fn settle(tx: &mut Tx, id: &str, reference: &str, to: ReservationStatus, now: OffsetDateTime) -> Result<()> {
    let lines: Vec<(String, i64)> = sqlx::query_as(
        "SELECT product_id, quantity FROM reservation_lines WHERE reservation_id = $1 ORDER BY product_id",
    )
    .bind(id)
    .fetch_all(&mut **tx)
    .await?;
    for (product, quantity) in lines {
        let sql = match to {
            ReservationStatus::Committed => {
                "UPDATE stock SET on_hand = on_hand - $2, reserved = reserved - $2, updated_at = $3 WHERE product_id = $1"
            }
            _ => "UPDATE stock SET reserved = reserved - $2, updated_at = $3 WHERE product_id = $1",
        };
        sqlx::query(sql).bind(&product).bind(quantity).bind(to_millis(now)).execute(&mut **tx).await?;
        if to == ReservationStatus::Committed {
            let product = parse_product(&product)?;
            insert_movement(tx, &product, -quantity, MovementKind::Sale, reference, now).await?;
        }
    }
    Ok(())
}

async fn insert_movement(
    tx: &mut Tx,
    product: &ProductId,
    delta: i64,
    kind: MovementKind,
    reference: &str,
    now: OffsetDateTime,
) -> Result<Movement> {
    let movement = Movement {
        id: format!("mov_{}", uuid::Uuid::new_v4().simple()),
        product_id: product.clone(),
        delta,
        kind,
        reference: reference.to_owned(),
        at: from_millis(to_millis(now)),
    };
    sqlx::query(
        "INSERT INTO stock_movements (id, product_id, delta, kind, reference, at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&movement.id)
    .bind(product.as_str())
    .bind(delta)
    .bind(kind.as_str())
    .bind(reference)
    .bind(to_millis(now))
    .execute(&mut **tx)
    .await?;
    Ok(movement)
}

async fn load_stock(connection: &mut AnyConnection, product: &ProductId) -> Result<Option<Stock>> {
    let row: Option<(String, i64, i64)> =
        sqlx::query_as("SELECT product_id, on_hand, reserved FROM stock WHERE product_id = $1")
            .bind(product.as_str())
            .fetch_optional(connection)
            .await?;
    row.map(stock_row).transpose()
}

fn stock_row((product, on_hand, reserved): (String, i64, i64)) -> Result<Stock> {
    Ok(Stock::new(parse_product(&product)?, on_hand, reserved))
}

async fn load_reservation(connection: &mut AnyConnection, id: &ReservationId) -> Result<Option<Reservation>> {
    let row: Option<(String, String, i64, i64)> =
        sqlx::query_as("SELECT reference, status, created_at, expires_at FROM reservations WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&mut *connection)
            .await?;
    let Some((reference, status, created_at, expires_at)) = row else {
        return Ok(None);
    };
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT product_id, quantity FROM reservation_lines WHERE reservation_id = $1 ORDER BY product_id",
    )
    .bind(id.as_str())
    .fetch_all(&mut *connection)
    .await?;
    let corrupt = |why: String| Error::Internal { detail: format!("stored reservation {id} is invalid: {why}") };
    let lines = rows
        .into_iter()
        .map(|(product, quantity)| {
            Ok(ReservationLine {
                product_id: parse_product(&product)?,
                quantity: u32::try_from(quantity).map_err(|e| corrupt(e.to_string()))?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Some(Reservation {
        id: id.clone(),
        reference,
        status: ReservationStatus::parse(&status).map_err(corrupt)?,
        lines,
        created_at: from_millis(created_at),
        expires_at: from_millis(expires_at),
    }))
}

fn parse_product(id: &str) -> Result<ProductId> {
    ProductId::parse(id).map_err(|why| Error::Internal { detail: format!("stored product id is invalid: {why}") })
}

fn vanished(product: &ProductId) -> Error {
    Error::Internal { detail: format!("the stock row of '{product}' vanished inside its transaction") }
}

fn reservation_vanished(id: &ReservationId) -> Error {
    Error::Internal { detail: format!("reservation {id} vanished inside its transaction") }
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339).unwrap_or_else(|_| at.to_string())
}
