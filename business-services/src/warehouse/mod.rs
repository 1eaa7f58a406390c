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
pub(crate) mod store;

use sqlx::migrate::Migrator;
use utoipa::OpenApi;

use crate::contracts::shipment;
use crate::platform::events::BoxFuture;
use crate::platform::http::{self, ReadinessCheck};
use crate::platform::identity::access::{Access, FULFILMENT, Grant, MCP, OMS, WEB};
use crate::platform::system::{BuildError, Built, Context, Descriptor, System};
use store::WarehouseStore;

/// The warehouse's schema migrations.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations/warehouse");

/// The warehouse, as the launcher starts it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Warehouse;

static DESCRIPTOR: Descriptor = Descriptor {
    name: "warehouse",
    summary: "Shipments and tracking.",
    default_port: 8092,
    migrator: Some(&MIGRATOR),
    peers: &[],
    publishes: &[shipment::TOPIC],
    consumes: &[],
    access: Access::Routes(&[
        Grant::post("/v1/shipments", &[OMS]),
        Grant::get("/v1/shipments", &[OMS, MCP]),
        Grant::get("/v1/shipments/{id}", &[OMS, MCP]),
        Grant::post("/v1/shipments/{id}/events", &[FULFILMENT]),
        Grant::get("/v1/tracking/{tracking_number}", &[MCP, WEB]),
    ]),
};

impl System for Warehouse {
    fn descriptor(&self) -> &'static Descriptor {
        &DESCRIPTOR
    }

    fn build<'a>(&'a self, context: Context<'a>) -> BoxFuture<'a, Result<Built, BuildError>> {
        Box::pin(async move {
            let db = context.db()?;
            let state = api::WarehouseState { store: WarehouseStore::new(db.clone()), clock: context.clock.clone() };
            let checks = vec![ReadinessCheck::database(db)];
            Ok(Built::router(http::service(api::routes(state), api::ApiDoc::openapi(), checks, context.faults)))
        })
    }
}
