//! Catalog: products, categories, prices (integer minor units), pictures and stock class.

pub mod api;
pub mod client;
pub mod domain;
pub mod seed;
pub(crate) mod store;

use sqlx::migrate::Migrator;
use utoipa::OpenApi;

use crate::platform::db::Db;
use crate::platform::events::BoxFuture;
use crate::platform::http::{self, ReadinessCheck};
use crate::platform::identity::access::{Access, CART, CHECKOUT, CONCIERGE, Grant, MCP, WEB};
use crate::platform::system::{BuildError, Built, Context, Descriptor, SeedResult, System};
use crate::platform::{Error, Result};
use store::CatalogStore;
use time::OffsetDateTime;

/// The catalog's schema migrations.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations/catalog");

/// The catalog, as the launcher starts it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Catalog;

static DESCRIPTOR: Descriptor = Descriptor {
    name: "catalog",
    summary: "Products, categories, prices.",
    default_port: 8081,
    migrator: Some(&MIGRATOR),
    peers: &[],
    publishes: &[],
    consumes: &[],
    access: Access::Routes(&[
        Grant::get("/v1/products", &[WEB, CART, CHECKOUT, MCP, CONCIERGE]),
        Grant::get("/v1/products/{id}", &[WEB, CART, CHECKOUT, MCP, CONCIERGE]),
        Grant::get("/v1/products/{id}/picture", &[WEB]),
        Grant::get("/v1/categories", &[WEB, MCP, CONCIERGE]),
    ]),
};

impl System for Catalog {
    fn descriptor(&self) -> &'static Descriptor {
        &DESCRIPTOR
    }

    fn seed<'a>(
        &'a self,
        db: &'a Db,
        _settings: &'a serde_json::Value,
        _now: OffsetDateTime,
    ) -> BoxFuture<'a, SeedResult> {
        Box::pin(async move { Ok(seed_demo_data(db).await?) })
    }

    fn build<'a>(&'a self, context: Context<'a>) -> BoxFuture<'a, Result<Built, BuildError>> {
        Box::pin(async move {
            let db = context.db()?;
            let checks = vec![ReadinessCheck::database(db)];
            let routes = api::routes(CatalogStore::new(db.clone()));
            Ok(Built::router(http::service(routes, api::ApiDoc::openapi(), checks, context.faults)))
        })
    }
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
