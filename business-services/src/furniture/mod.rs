//! Furniture logistics ERP (the legacy on-prem system): freight quotes, delivery slots, slot
//! reservations.
//!
//! Freight is priced by zone and chargeable weight (see [`domain`] for the tariff). A quote
//! offers the delivery slots of the next 14 days from tomorrow, two windows a day and none on
//! Sundays; each slot takes [`Settings::slot_capacity`] reservations. A reservation holds its
//! place for 30 minutes unless confirmed; confirmed and cancelled reservations stay as they are.
//! The ERP is slow and flaky by nature: that comes from fault injection in configuration.

pub mod api;
pub mod client;
pub mod domain;
pub mod store;

use std::sync::Arc;

use axum::Router;
use serde::{Deserialize, Serialize};
use sqlx::migrate::Migrator;
use utoipa::OpenApi;

use crate::platform::clock::Clock;
use crate::platform::db::Db;
use crate::platform::faults::Faults;
use crate::platform::http::{self, ReadinessCheck};
use store::FurnitureStore;

/// The furniture ERP's schema migrations.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations/furniture");

/// The furniture ERP's settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Reservations one delivery slot takes (held and confirmed together).
    pub slot_capacity: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { slot_capacity: 4 }
    }
}

impl Settings {
    /// Checks the values; names the first bad key.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if !(1..=1_000).contains(&self.slot_capacity) {
            return Err(("slot_capacity", "must be between 1 and 1000".into()));
        }
        Ok(())
    }
}

/// The furniture ERP over its migrated `db`, with `faults` injected, telling time by `clock`.
pub fn service(db: &Db, faults: &Faults, settings: &Settings, clock: Arc<dyn Clock>) -> Router {
    let state = api::FurnitureState { store: FurnitureStore::new(db.clone(), settings.slot_capacity), clock };
    http::service(api::routes(state), api::ApiDoc::openapi(), vec![ReadinessCheck::database(db)], faults)
}
