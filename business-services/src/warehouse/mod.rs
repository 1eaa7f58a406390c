//! Warehouse: shipments and parcels, carrier choice, tracking numbers and tracking events.
//!
//! Order management ships each order once (idempotent on the order id). Standard items are
//! packed first-fit decreasing by weight into swift-parcel parcels of at most 20 kg; oversized
//! items travel as one boutique-freight consignment carrying the booked delivery slot. Tracking
//! numbers are the carrier's two letters, nine random digits and a Luhn check digit.
//!
//! A shipment moves created → picked → packed → shipped → delivered, or to cancelled before it
//! ships, or to returned after. Every move is a tracking event and, in the same transaction, a
//! `shipment.status_changed` event in the outbox (topic `shipments`, keyed by the order id).

pub mod api;
pub mod client;
pub mod domain;
pub mod store;

use std::sync::Arc;

use axum::Router;
use sqlx::migrate::Migrator;
use utoipa::OpenApi;

use crate::platform::clock::Clock;
use crate::platform::db::Db;
use crate::platform::faults::Faults;
use crate::platform::http::{self, ReadinessCheck};
use store::WarehouseStore;

/// The warehouse's schema migrations.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations/warehouse");

/// The warehouse's HTTP service over its migrated `db`, with `faults` injected.
pub fn service(db: &Db, faults: &Faults, clock: Arc<dyn Clock>) -> Router {
    let state = api::WarehouseState { store: WarehouseStore::new(db.clone()), clock };
    http::service(api::routes(state), api::ApiDoc::openapi(), vec![ReadinessCheck::database(db)], faults)
}
