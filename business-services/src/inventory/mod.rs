//! Inventory: the stock ledger of standard items and reservations with a TTL.
//!
//! Oversized furniture is stocked by the furniture ERP, not here. Each product's stock is a
//! ledger of movements (receipts, stock-take adjustments, sales) and the levels they add up to:
//! units on hand and units reserved, changed in the same transaction as each movement, never
//! negative and never reserving more than is on hand — also when checkouts race for the last unit.
//!
//! A checkout reserves the standard items of an order under its own reference (retrying with
//! the same reference reserves once), then commits the reservation once payment is authorized,
//! or releases it. A hold not committed within its TTL is released: by the sweeper, and by every
//! write before it does anything else, so stock is never held past its time.

pub mod api;
pub mod client;
pub mod domain;
pub(crate) mod store;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use serde::{Deserialize, Serialize};
use sqlx::migrate::Migrator;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use utoipa::OpenApi;

use crate::contracts::product::ProductId;
use crate::platform::FieldError;
use crate::platform::clock::Clock;
use crate::platform::db::Db;
use crate::platform::events::BoxFuture;
use crate::platform::faults::Faults;
use crate::platform::http::{self, ReadinessCheck};
use crate::platform::identity::access::{Access, CHECKOUT, FULFILMENT, Grant, MCP, WEB};
use crate::platform::system::{self, BuildError, Built, Context, Descriptor, SeedResult, System};
use crate::platform::tasks;
use crate::platform::{Error, Result, idempotency};
use store::InventoryStore;

/// The inventory service's schema migrations.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations/inventory");

/// The inventory service's settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Seconds between sweeps that release expired reservations.
    pub sweep_interval_secs: u32,
    /// Hours a stock movement's idempotency key is remembered.
    pub idempotency_key_retention_hours: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { sweep_interval_secs: 30, idempotency_key_retention_hours: 24 }
    }
}

impl crate::platform::system::Settings for Settings {
    /// Checks the values; names the first bad key.
    fn validate(&self) -> Result<(), FieldError> {
        if !(1..=3600).contains(&self.sweep_interval_secs) {
            return Err(FieldError::new("sweep_interval_secs", "must be between 1 and 3600"));
        }
        if !(1..=24 * 30).contains(&self.idempotency_key_retention_hours) {
            return Err(FieldError::new("idempotency_key_retention_hours", "must be between 1 and 720"));
        }
        Ok(())
    }
}

/// The inventory service: its routes and its sweeper of expired reservations.
#[derive(Debug, Clone)]
pub struct InventoryService {
    state: api::InventoryState,
    sweep_interval: Duration,
    key_retention: time::Duration,
}

impl InventoryService {
    /// The inventory service over its migrated `db`.
    pub fn new(db: &Db, settings: &Settings, clock: Arc<dyn Clock>) -> Self {
        InventoryService {
            state: api::InventoryState { store: InventoryStore::new(db.clone()), clock },
            sweep_interval: Duration::from_secs(settings.sweep_interval_secs.into()),
            key_retention: time::Duration::hours(settings.idempotency_key_retention_hours.into()),
        }
    }

    /// The HTTP service, with `faults` injected; `db` answers its readiness probe.
    pub fn router(&self, db: &Db, faults: &Faults) -> Router {
        let checks = vec![ReadinessCheck::database(db)];
        http::service(api::routes(self.state.clone()), api::ApiDoc::openapi(), checks, faults)
    }

    /// Releases expired reservations and forgets old idempotency keys once; returns how many
    /// reservations were released.
    pub async fn sweep(&self) -> Result<u64> {
        let now = self.state.clock.now();
        let released = self.state.store.release_expired(now).await?;
        idempotency::forget_before(self.state.store.db(), now - self.key_retention).await?;
        Ok(released)
    }

    /// Sweeps at the configured interval until `shutdown`.
    pub async fn run_sweeper(self, shutdown: CancellationToken) {
        tasks::every(self.sweep_interval, shutdown, "release expired reservations", || self.sweep()).await;
    }
}

/// The demo opening stock: units of each standard product of the demo catalog (25 each, but
/// one `marble-side-table`, to show the race for the last unit, and three
/// `leather-chelsea-boots`).
static OPENING_STOCK: &str = include_str!("../../seed/inventory/opening-stock.json");

/// One product's opening stock.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OpeningStock {
    product_id: ProductId,
    units: i64,
}

/// Receives the demo opening stock into an empty store; returns how many products were stocked.
pub async fn seed_demo_data(db: &Db, now: OffsetDateTime) -> Result<usize> {
    let stock: Vec<OpeningStock> = serde_json::from_str(OPENING_STOCK)
        .map_err(|error| Error::Internal { detail: format!("seed/inventory/opening-stock.json: {error}") })?;
    let units: Vec<_> = stock.into_iter().map(|line| (line.product_id, line.units)).collect();
    InventoryStore::new(db.clone()).receive_opening_stock(&units, "demo-opening-stock", now).await
}

/// Inventory, as the launcher starts it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Inventory;

static DESCRIPTOR: Descriptor = Descriptor {
    name: "inventory",
    summary: "Stock ledger and reservations.",
    default_port: 8084,
    migrator: Some(&MIGRATOR),
    peers: &[],
    publishes: &[],
    consumes: &[],
    access: Access::Routes(&[
        Grant::get("/v1/stock", &[MCP, WEB]),
        Grant::get("/v1/stock/{product_id}", &[MCP, WEB, CHECKOUT]),
        Grant::post("/v1/stock/{product_id}/movements", &[FULFILMENT]),
        Grant::post("/v1/reservations", &[CHECKOUT]),
        Grant::get("/v1/reservations", &[CHECKOUT]),
        Grant::get("/v1/reservations/{id}", &[CHECKOUT]),
        Grant::post("/v1/reservations/{id}/commit", &[CHECKOUT]),
        Grant::post("/v1/reservations/{id}/release", &[CHECKOUT]),
    ]),
};

impl System for Inventory {
    fn descriptor(&self) -> &'static Descriptor {
        &DESCRIPTOR
    }

    fn check_settings(&self, settings: &serde_json::Value) -> std::result::Result<(), FieldError> {
        system::parse_settings::<Settings>(settings).map(|_| ())
    }

    fn seed<'a>(
        &'a self,
        db: &'a Db,
        _settings: &'a serde_json::Value,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, SeedResult> {
        Box::pin(async move { Ok(seed_demo_data(db, now).await?) })
    }

    fn build<'a>(&'a self, context: Context<'a>) -> BoxFuture<'a, std::result::Result<Built, BuildError>> {
        Box::pin(async move {
            let db = context.db()?;
            let service = InventoryService::new(db, &context.settings()?, context.clock.clone());
            let router = service.router(db, context.faults);
            Ok(Built::router(router).with_task(service.run_sweeper(context.shutdown.clone())))
        })
    }
}
