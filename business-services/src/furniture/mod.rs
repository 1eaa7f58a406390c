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
pub(crate) mod store;

use serde::{Deserialize, Serialize};
use sqlx::migrate::Migrator;
use utoipa::OpenApi;

use crate::platform::FieldError;
use crate::platform::events::BoxFuture;
use crate::platform::http::{self, ReadinessCheck};
use crate::platform::identity::access::{Access, CHECKOUT, Grant, WEB};
use crate::platform::system::{self, BuildError, Built, Context, Descriptor, System};
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

impl crate::platform::system::Settings for Settings {
    /// Checks the values; names the first bad key.
    fn validate(&self) -> Result<(), FieldError> {
        if !(1..=1_000).contains(&self.slot_capacity) {
            return Err(FieldError::new("slot_capacity", "must be between 1 and 1000"));
        }
        Ok(())
    }
}

/// The furniture ERP, as the launcher starts it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Furniture;

static DESCRIPTOR: Descriptor = Descriptor {
    name: "furniture",
    summary: "The furniture logistics ERP.",
    default_port: 8087,
    migrator: Some(&MIGRATOR),
    peers: &[],
    publishes: &[],
    consumes: &[],
    access: Access::Routes(&[
        Grant::post("/v1/freight-quotes", &[CHECKOUT]),
        Grant::get("/v1/freight-quotes/{id}", &[CHECKOUT]),
        Grant::get("/v1/slots", &[CHECKOUT, WEB]),
        Grant::post("/v1/slot-reservations", &[CHECKOUT]),
        Grant::get("/v1/slot-reservations", &[CHECKOUT]),
        Grant::get("/v1/slot-reservations/{id}", &[CHECKOUT]),
        Grant::post("/v1/slot-reservations/{id}/confirm", &[CHECKOUT]),
        Grant::post("/v1/slot-reservations/{id}/cancel", &[CHECKOUT]),
    ]),
};

impl System for Furniture {
    fn descriptor(&self) -> &'static Descriptor {
        &DESCRIPTOR
    }

    fn check_settings(&self, settings: &serde_json::Value) -> Result<(), crate::platform::FieldError> {
        system::parse_settings::<Settings>(settings).map(|_| ())
    }

    fn build<'a>(&'a self, context: Context<'a>) -> BoxFuture<'a, Result<Built, BuildError>> {
        Box::pin(async move {
            let db = context.db()?;
            let settings: Settings = context.settings()?;
            let store = FurnitureStore::new(db.clone(), settings.slot_capacity);
            let state = api::FurnitureState { store, clock: context.clock.clone() };
            let checks = vec![ReadinessCheck::database(db)];
            Ok(Built::router(http::service(api::routes(state), api::ApiDoc::openapi(), checks, context.faults)))
        })
    }
}
