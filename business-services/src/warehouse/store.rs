//! The warehouse tables: shipments, their parcels, tracking events and the outbox.
//!
//! A status change locks its shipment's row first (a no-op `UPDATE`, portable to both engines),
//! so concurrent tracking updates of one shipment apply one after the other, each seeing the
//! status the previous one left; the change, its tracking event and its outbox event commit
//! together or not at all.

use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::{Any, AnyConnection, Transaction};
use time::OffsetDateTime;

use super::domain::{
    Carrier, Change, FreightSlot, NewShipment, Parcel, ParcelId, Shipment, Tracking, TrackingEvent, TrackingUpdate,
    plan_parcels, random_tracking_number,
};

use crate::contracts::order::OrderId;
use crate::contracts::shipment::{SHIPMENT_STATUS_CHANGED, ShipmentId, ShipmentStatus, ShipmentStatusChanged, TOPIC};
use crate::platform::clock::{from_millis, to_millis};
use crate::platform::db::Db;
use crate::platform::idempotency::Outcome;
use crate::platform::outbox::OutboxEvent;
use crate::platform::{Error, Result};

/// How many fresh tracking numbers are tried when one is taken (one in a billion each).
const TRACKING_NUMBER_ATTEMPTS: u32 = 5;

type Tx = Transaction<'static, Any>;

/// Reads and writes shipments.
#[derive(Debug, Clone)]
pub struct WarehouseStore {
    db: Db,
}

fn encode<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Internal { detail: format!("could not encode shipment data: {e}") })
}

fn decode<T: DeserializeOwned>(text: &str) -> Result<T> {
    serde_json::from_str(text)
        .map_err(|e| Error::Internal { detail: format!("stored shipment data is unreadable: {e}") })
}

fn corrupt(why: String) -> Error {
    Error::Internal { detail: format!("a stored shipment is invalid: {why}") }
}

impl WarehouseStore {
    /// A store over `db`, migrated with the warehouse migrations.
    pub fn new(db: Db) -> Self {
        WarehouseStore { db }
    }

    /// Registers the shipment of `request`'s order, packed into parcels, at `now`. Idempotent on
    /// the order: the same request again gives the existing shipment back (whatever its status
    /// now); another request for the same order is a 422 on `order_id`.
    pub async fn create(&self, request: &NewShipment, now: OffsetDateTime) -> Result<Outcome<Shipment>> {
        let mut tx = self.db.begin_write().await?;
        let id = ShipmentId::generate();
        // Claims the order: a concurrent request for it waits here, then finds this shipment.
        let claimed = sqlx::query(
            "INSERT INTO shipments (id, order_id, reference, status, destination, fingerprint, created_at, updated_at) \
             VALUES ($1, $2, $3, 'created', $4, $5, $6, $6) ON CONFLICT (order_id) DO NOTHING",
        )
        .bind(id.as_str())
        .bind(request.order_id.as_str())
        .bind(&request.reference)
        .bind(encode(&request.destination)?)
        .bind(request.fingerprint())
        .bind(to_millis(now))
        .execute(&mut *tx)
        .await?;
        if claimed.rows_affected() == 0 {
            drop(tx);
            return self.existing(request).await.map(Outcome::Replayed);
        }
        for (position, planned) in plan_parcels(&request.lines).into_iter().enumerate() {
            let slot = match planned.carrier {
                Carrier::BoutiqueFreight => request.freight_booking.as_ref().map(encode).transpose()?,
                Carrier::SwiftParcel => None,
            };
            insert_parcel(
                &mut tx,
                &id,
                position,
                planned.carrier,
                planned.weight_grams,
                &encode(&planned.lines)?,
                slot,
            )
            .await?;
        }
        let created = TrackingUpdate { status: ShipmentStatus::Created, location: None, note: None };
        insert_tracking_event(&mut tx, &id, &created, now).await?;
        let shipment = load_shipment(&mut tx, &id).await?.ok_or_else(|| vanished(&id))?;
        tx.commit().await?;
        Ok(Outcome::Done(shipment))
    }

    async fn existing(&self, request: &NewShipment) -> Result<Shipment> {
        let mut connection = self.db.pool().acquire().await?;
        let row: (String, String) = sqlx::query_as("SELECT id, fingerprint FROM shipments WHERE order_id = $1")
            .bind(request.order_id.as_str())
            .fetch_one(&mut *connection)
            .await?;
        let id = ShipmentId::parse(&row.0).map_err(corrupt)?;
        if row.1 != request.fingerprint() {
            return Err(Error::invalid(
                "order_id",
                format!(
                    "order {} already has shipment {id} with other lines or another address; an order ships once",
                    request.order_id
                ),
            ));
        }
        load_shipment(&mut connection, &id).await?.ok_or_else(|| vanished(&id))
    }

    /// One shipment.
    pub async fn shipment(&self, id: &ShipmentId) -> Result<Option<Shipment>> {
        let mut connection = self.db.pool().acquire().await?;
        load_shipment(&mut connection, id).await
    }

    /// The shipments of an order (at most one).
    pub async fn shipments_of(&self, order: &OrderId) -> Result<Vec<Shipment>> {
        let mut connection = self.db.pool().acquire().await?;
        let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM shipments WHERE order_id = $1 ORDER BY id")
            .bind(order.as_str())
            .fetch_all(&mut *connection)
            .await?;
        let mut shipments = Vec::with_capacity(ids.len());
        for id in ids {
            let id = ShipmentId::parse(&id).map_err(corrupt)?;
            shipments.push(load_shipment(&mut connection, &id).await?.ok_or_else(|| vanished(&id))?);
        }
        Ok(shipments)
    }

    /// Applies a tracking update at `now`: a move records a tracking event and, in the same
    /// transaction, a `shipment.status_changed` event; the status it already has changes
    /// nothing (a replay); a move the status machine refuses is a conflict naming both statuses.
    pub async fn record(
        &self,
        id: &ShipmentId,
        update: &TrackingUpdate,
        now: OffsetDateTime,
    ) -> Result<Outcome<Shipment>> {
        let mut tx = self.db.begin_write().await?;
        let locked = sqlx::query("UPDATE shipments SET updated_at = updated_at WHERE id = $1")
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?;
        if locked.rows_affected() == 0 {
            return Err(Error::not_found("shipment", id.as_str()));
        }
        let current = load_shipment(&mut tx, id).await?.ok_or_else(|| vanished(id))?;
        match current.status.apply(update.status) {
            Err(why) => return Err(Error::Conflict { detail: format!("shipment {id}: {why}") }),
            Ok(Change::Unchanged) => return Ok(Outcome::Replayed(current)),
            Ok(Change::Moved) => {}
        }
        sqlx::query("UPDATE shipments SET status = $2, updated_at = $3 WHERE id = $1")
            .bind(id.as_str())
            .bind(update.status.as_str())
            .bind(to_millis(now))
            .execute(&mut *tx)
            .await?;
        insert_tracking_event(&mut tx, id, update, now).await?;
        let shipment = load_shipment(&mut tx, id).await?.ok_or_else(|| vanished(id))?;
        let event = ShipmentStatusChanged {
            shipment_id: shipment.id.clone(),
            order_id: shipment.order_id.clone(),
            status: shipment.status,
            tracking_numbers: shipment.parcels.iter().map(|p| p.tracking_number.clone()).collect(),
            at: shipment.updated_at,
        };
        OutboxEvent::new(TOPIC, SHIPMENT_STATUS_CHANGED, shipment.order_id.as_str(), &event)?
            .append(&mut tx, now)
            .await?;
        tx.commit().await?;
        Ok(Outcome::Done(shipment))
    }

    /// The parcel with `tracking_number`, its shipment and the shipment's events, newest first.
    pub async fn tracking(&self, tracking_number: &str) -> Result<Option<Tracking>> {
        let mut connection = self.db.pool().acquire().await?;
        let shipment_id: Option<String> =
            sqlx::query_scalar("SELECT shipment_id FROM parcels WHERE tracking_number = $1")
                .bind(tracking_number)
                .fetch_optional(&mut *connection)
                .await?;
        let Some(shipment_id) = shipment_id else {
            return Ok(None);
        };
        let id = ShipmentId::parse(&shipment_id).map_err(corrupt)?;
        let shipment = load_shipment(&mut connection, &id).await?.ok_or_else(|| vanished(&id))?;
        let parcel = shipment
            .parcels
            .iter()
            .find(|parcel| parcel.tracking_number == tracking_number)
            .cloned()
            .ok_or_else(|| vanished(&id))?;
        let rows: Vec<(String, Option<String>, Option<String>, i64)> = sqlx::query_as(
            "SELECT status, location, note, at FROM tracking_events WHERE shipment_id = $1 ORDER BY seq DESC",
        )
        .bind(id.as_str())
        .fetch_all(&mut *connection)
        .await?;
        let events = rows
            .into_iter()
            .map(|(status, location, note, at)| {
                Ok(TrackingEvent {
                    status: ShipmentStatus::parse(&status).map_err(corrupt)?,
                    location,
                    note,
                    at: from_millis(at),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(Tracking { parcel, shipment, events }))
    }
}

async fn insert_parcel(
    tx: &mut Tx,
    shipment: &ShipmentId,
    position: usize,
    carrier: Carrier,
    weight_grams: u32,
    lines: &str,
    slot: Option<String>,
) -> Result<()> {
    for _ in 0..TRACKING_NUMBER_ATTEMPTS {
        let inserted = sqlx::query(
            "INSERT INTO parcels (id, shipment_id, position, carrier, tracking_number, weight_grams, lines, delivery_slot) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (tracking_number) DO NOTHING",
        )
        .bind(ParcelId::generate().as_str())
        .bind(shipment.as_str())
        .bind(i64::try_from(position).unwrap_or(i64::MAX))
        .bind(carrier.as_str())
        .bind(random_tracking_number(carrier))
        .bind(i64::from(weight_grams))
        .bind(lines)
        .bind(slot.clone())
        .execute(&mut **tx)
        .await?;
        if inserted.rows_affected() == 1 {
            return Ok(());
        }
    }
    Err(Error::Internal { detail: "could not draw an unused tracking number; retry the request".into() })
}

async fn insert_tracking_event(
    tx: &mut Tx,
    shipment: &ShipmentId,
    update: &TrackingUpdate,
    now: OffsetDateTime,
) -> Result<()> {
    let seq: i64 = sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM tracking_events WHERE shipment_id = $1")
        .bind(shipment.as_str())
        .fetch_one(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO tracking_events (id, shipment_id, status, location, note, at, seq) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(format!("tev_{}", uuid::Uuid::new_v4().simple()))
    .bind(shipment.as_str())
    .bind(update.status.as_str())
    .bind(update.location.as_ref().map(|s| s.trim().to_owned()))
    .bind(update.note.as_ref().map(|s| s.trim().to_owned()))
    .bind(to_millis(now))
    .bind(seq + 1)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

type ShipmentRow = (String, String, String, String, i64, i64);
type ParcelRow = (String, String, String, i64, String, Option<String>);

async fn load_shipment(connection: &mut AnyConnection, id: &ShipmentId) -> Result<Option<Shipment>> {
    let row: Option<ShipmentRow> = sqlx::query_as(
        "SELECT order_id, reference, status, destination, created_at, updated_at FROM shipments WHERE id = $1",
    )
    .bind(id.as_str())
    .fetch_optional(&mut *connection)
    .await?;
    let Some((order_id, reference, status, destination, created_at, updated_at)) = row else {
        return Ok(None);
    };
    let status = ShipmentStatus::parse(&status).map_err(corrupt)?;
    let rows: Vec<ParcelRow> = sqlx::query_as(
        "SELECT id, carrier, tracking_number, weight_grams, lines, delivery_slot FROM parcels \
         WHERE shipment_id = $1 ORDER BY position",
    )
    .bind(id.as_str())
    .fetch_all(&mut *connection)
    .await?;
    let parcels = rows
        .into_iter()
        .map(|(parcel_id, carrier, tracking_number, weight_grams, lines, slot)| {
            Ok(Parcel {
                id: ParcelId::parse(&parcel_id).map_err(corrupt)?,
                carrier: Carrier::parse(&carrier).map_err(corrupt)?,
                tracking_number,
                weight_grams: u32::try_from(weight_grams).map_err(|e| corrupt(e.to_string()))?,
                lines: decode(&lines)?,
                status,
                delivery_slot: slot.as_deref().map(decode::<FreightSlot>).transpose()?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Some(Shipment {
        id: id.clone(),
        order_id: OrderId::parse(&order_id).map_err(corrupt)?,
        reference,
        status,
        destination: decode(&destination)?,
        parcels,
        created_at: from_millis(created_at),
        updated_at: from_millis(updated_at),
    }))
}

fn vanished(id: &ShipmentId) -> Error {
    Error::Internal { detail: format!("shipment {id} vanished inside its transaction") }
}
