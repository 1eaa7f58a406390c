//! Currency: supported currencies, reference rates and exact integer conversion.

pub mod api;
pub mod client;
pub mod domain;
pub mod store;

use axum::Router;
use sqlx::migrate::Migrator;
use time::OffsetDateTime;
use utoipa::OpenApi;

use crate::platform::Result;
use crate::platform::db::Db;
use crate::platform::faults::Faults;
use crate::platform::http::{self, ReadinessCheck};
use store::RateStore;

/// The currency service's schema migrations.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations/currency");

/// The currency service over its migrated `db`, with `faults` injected.
pub fn service(db: &Db, faults: &Faults) -> Router {
    let checks = vec![ReadinessCheck::database(db)];
    http::service(api::routes(RateStore::new(db.clone())), api::ApiDoc::openapi(), checks, faults)
}

/// Publishes the demo reference rates where none exist yet; returns how many were added.
pub async fn seed_demo_data(db: &Db, now: OffsetDateTime) -> Result<usize> {
    RateStore::new(db.clone()).insert_demo_rates(now).await
}
