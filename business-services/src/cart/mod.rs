//! Cart: one cart per session or signed-in customer; safe under concurrent updates; abandoned
//! carts expire.

pub mod api;
pub mod client;
pub mod domain;
pub(crate) mod store;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use serde::{Deserialize, Serialize};
use sqlx::migrate::Migrator;
use tokio_util::sync::CancellationToken;
use utoipa::OpenApi;

use crate::catalog::client::CatalogClient;
use crate::platform::FieldError;
use crate::platform::client::Peer;
use crate::platform::clock::Clock;
use crate::platform::db::Db;
use crate::platform::events::BoxFuture;
use crate::platform::faults::Faults;
use crate::platform::http::{self, ReadinessCheck};
use crate::platform::idempotency;
use crate::platform::identity::access::{Access, CHECKOUT, CONCIERGE, Grant, WEB};
use crate::platform::system::{self, BuildError, Built, Context, Descriptor, System};
use crate::platform::tasks;
use domain::AbandonPolicy;
use store::CartStore;

/// The cart service's schema migrations.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations/cart");

/// How long idempotency keys are remembered.
const IDEMPOTENCY_KEY_RETENTION: time::Duration = time::Duration::hours(24);

/// The cart service's settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Hours after its last change when a cart counts as abandoned and is dropped.
    pub abandoned_after_hours: u32,
    /// Seconds between sweeps that delete abandoned carts.
    pub sweep_interval_secs: u32,
    /// Milliseconds the catalog has to answer a product check.
    pub catalog_deadline_ms: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { abandoned_after_hours: 24 * 7, sweep_interval_secs: 600, catalog_deadline_ms: 1500 }
    }
}

impl Settings {
    /// The abandonment policy these settings describe.
    pub fn policy(&self) -> AbandonPolicy {
        AbandonPolicy { after: time::Duration::hours(i64::from(self.abandoned_after_hours)) }
    }
}

impl crate::platform::system::Settings for Settings {
    /// Checks the values; names the first bad key.
    fn validate(&self) -> Result<(), FieldError> {
        if self.abandoned_after_hours == 0 {
            return Err(FieldError::new("abandoned_after_hours", "must be at least 1"));
        }
        if self.sweep_interval_secs == 0 {
            return Err(FieldError::new("sweep_interval_secs", "must be at least 1"));
        }
        if !(10..=60_000).contains(&self.catalog_deadline_ms) {
            return Err(FieldError::new("catalog_deadline_ms", "must be between 10 and 60000"));
        }
        Ok(())
    }
}

/// The cart service: its routes and its background sweeper.
#[derive(Debug, Clone)]
pub struct CartService {
    db: Db,
    state: api::CartState,
    sweep_interval: Duration,
}

impl CartService {
    /// The cart service over its migrated `db`, checking products with the `catalog`.
    pub fn new(db: &Db, catalog: &Peer, settings: &Settings, clock: Arc<dyn Clock>) -> Self {
        let catalog = CatalogClient::new(catalog, Duration::from_millis(settings.catalog_deadline_ms.into()));
        let store = CartStore::new(db.clone(), settings.policy());
        CartService {
            db: db.clone(),
            state: api::CartState { store, catalog, clock },
            sweep_interval: Duration::from_secs(settings.sweep_interval_secs.into()),
        }
    }

    /// The HTTP service, with `faults` injected; `db` answers its readiness probe.
    pub fn router(&self, db: &Db, faults: &Faults) -> Router {
        let checks = vec![ReadinessCheck::database(db), self.state.catalog.readiness()];
        http::service(api::routes(self.state.clone()), api::ApiDoc::openapi(), checks, faults)
    }

    /// Deletes abandoned carts and expired idempotency keys once.
    pub async fn sweep(&self) -> crate::platform::Result<u64> {
        let now = self.state.clock.now();
        let carts = self.state.store.delete_abandoned(now).await?;
        idempotency::forget_before(&self.db, now - IDEMPOTENCY_KEY_RETENTION).await?;
        Ok(carts)
    }

    /// Sweeps at the configured interval until `shutdown`.
    pub async fn run_sweeper(self, shutdown: CancellationToken) {
        tasks::every(self.sweep_interval, shutdown, "drop abandoned carts", || self.sweep()).await;
    }
}

/// The cart service, as the launcher starts it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cart;

static DESCRIPTOR: Descriptor = Descriptor {
    name: "cart",
    summary: "Shopping carts.",
    default_port: 8083,
    migrator: Some(&MIGRATOR),
    peers: &["catalog"],
    publishes: &[],
    consumes: &[],
    access: Access::Routes(&[
        Grant::get("/v1/carts/{cart_id}", &[WEB, CHECKOUT, CONCIERGE]),
        Grant::new("DELETE", "/v1/carts/{cart_id}", &[WEB, CHECKOUT]),
        Grant::post("/v1/carts/{cart_id}/items", &[WEB, CONCIERGE]),
        Grant::put("/v1/carts/{cart_id}/items/{product_id}", &[WEB]),
        Grant::new("DELETE", "/v1/carts/{cart_id}/items/{product_id}", &[WEB]),
        Grant::post("/v1/carts/{cart_id}/merge", &[WEB]),
    ]),
};

impl System for Cart {
    fn descriptor(&self) -> &'static Descriptor {
        &DESCRIPTOR
    }

    fn check_settings(&self, settings: &serde_json::Value) -> Result<(), FieldError> {
        system::parse_settings::<Settings>(settings).map(|_| ())
    }

    fn build<'a>(&'a self, context: Context<'a>) -> BoxFuture<'a, Result<Built, BuildError>> {
        Box::pin(async move {
            let db = context.db()?;
            let service = CartService::new(db, &context.peer("catalog")?, &context.settings()?, context.clock.clone());
            let router = service.router(db, context.faults);
            Ok(Built::router(router).with_task(service.run_sweeper(context.shutdown.clone())))
        })
    }
}
