//! Currency: supported currencies, reference rates and exact integer conversion.

pub mod api;
pub mod client;
pub mod domain;
pub(crate) mod store;

use sqlx::migrate::Migrator;
use time::OffsetDateTime;
use utoipa::OpenApi;

use crate::platform::Result;
use crate::platform::db::Db;
use crate::platform::events::BoxFuture;
use crate::platform::http::{self, ReadinessCheck};
use crate::platform::identity::access::{Access, CHECKOUT, Grant, WEB};
use crate::platform::system::{BuildError, Built, Context, Descriptor, SeedResult, System};
use store::RateStore;

/// The currency service's schema migrations.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations/currency");

/// The currency service, as the launcher starts it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Currency;

static DESCRIPTOR: Descriptor = Descriptor {
    name: "currency",
    summary: "Currencies and conversion rates.",
    default_port: 8082,
    migrator: Some(&MIGRATOR),
    peers: &[],
    publishes: &[],
    consumes: &[],
    access: Access::Routes(&[
        Grant::get("/v1/currencies", &[WEB, CHECKOUT]),
        Grant::get("/v1/conversions", &[WEB, CHECKOUT]),
    ]),
};

impl System for Currency {
    fn descriptor(&self) -> &'static Descriptor {
        &DESCRIPTOR
    }

    fn seed<'a>(
        &'a self,
        db: &'a Db,
        _settings: &'a serde_json::Value,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, SeedResult> {
        Box::pin(async move { Ok(seed_demo_data(db, now).await?) })
    }

    fn build<'a>(&'a self, context: Context<'a>) -> BoxFuture<'a, Result<Built, BuildError>> {
        Box::pin(async move {
            let db = context.db()?;
            let checks = vec![ReadinessCheck::database(db)];
            let routes = api::routes(RateStore::new(db.clone()));
            Ok(Built::router(http::service(routes, api::ApiDoc::openapi(), checks, context.faults)))
        })
    }
}

/// Publishes the demo reference rates where none exist yet; returns how many were added.
pub async fn seed_demo_data(db: &Db, now: OffsetDateTime) -> Result<usize> {
    RateStore::new(db.clone()).insert_demo_rates(now).await
}
