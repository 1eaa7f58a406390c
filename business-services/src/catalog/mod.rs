//! Catalog: products, categories, prices (integer minor units), pictures and stock class.

pub mod api;
pub mod client;
pub mod domain;
pub mod seed;
pub mod store;

use axum::Router;
use sqlx::migrate::Migrator;
use utoipa::OpenApi;

use crate::platform::db::Db;
use crate::platform::faults::Faults;
use crate::platform::http::{self, ReadinessCheck};
use crate::platform::{Error, Result};
use store::CatalogStore;

/// The catalog's schema migrations.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations/catalog");

/// The catalog service over its migrated `db`, with `faults` injected.
pub fn service(db: &Db, faults: &Faults) -> Router {
    let checks = vec![ReadinessCheck::database(db)];
    http::service(api::routes(CatalogStore::new(db.clone())), api::ApiDoc::openapi(), checks, faults)
}

/// Loads the demo products into an empty catalog; returns how many were added.
pub async fn seed_demo_data(db: &Db) -> Result<usize> {
    let store = CatalogStore::new(db.clone());
    if store.count().await? > 0 {
        return Ok(0);
    }
    let products = seed::demo_products().map_err(|detail| Error::Internal { detail })?;
    store.insert_new(&products).await?;
    Ok(products.len())
}
