//! Order management: the order lifecycle as an explicit state machine, driving warehouse and accounting from events.
//!
//! It consumes the `orders` topic (`order.placed`: create the order, then allocate it: the
//! warehouse ships it and the ledger records the sale) and the `shipments` topic
//! (`shipment.status_changed`: picking, shipped with its revenue recognized, delivered).
//! Operators release held orders, cancel orders before they ship and record return requests.
//! Every move is kept in the order's history with its cause; every event is applied once.

pub mod api;
pub mod client;
pub mod domain;
pub mod fulfilment;
pub mod ledger;
pub(crate) mod store;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use serde::{Deserialize, Serialize};
use sqlx::migrate::Migrator;
use utoipa::OpenApi;

use crate::accounting::client::AccountingClient;
use crate::contracts::{order, shipment};
use crate::platform::FieldError;
use crate::platform::client::Peer;
use crate::platform::clock::Clock;
use crate::platform::db::Db;
use crate::platform::events::BoxFuture;
use crate::platform::faults::Faults;
use crate::platform::http::{self, ReadinessCheck};
use crate::platform::identity::access::{Access, BROKER, Grant, MCP, RISK, SUPPORT};
use crate::platform::system::{self, BuildError, Built, Consumes, Context, Descriptor, System};
use crate::warehouse::client::WarehouseClient;
use fulfilment::Fulfilment;
use ledger::Ledger;
use store::OmsStore;

/// Order management's schema migrations.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations/oms");

/// Order management's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Milliseconds each warehouse call may take.
    pub peer_deadline_ms: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { peer_deadline_ms: 1500 }
    }
}

impl crate::platform::system::Settings for Settings {
    /// Checks the values; names the first bad key.
    fn validate(&self) -> Result<(), FieldError> {
        if !(10..=60_000).contains(&self.peer_deadline_ms) {
            return Err(FieldError::new("peer_deadline_ms", "must be between 10 and 60000"));
        }
        Ok(())
    }
}

/// Order management: its workflow and routes.
#[derive(Debug, Clone)]
pub struct OmsService {
    fulfilment: Fulfilment,
    warehouse: WarehouseClient,
}

impl OmsService {
    /// Order management over its migrated `db`, shipping with the `warehouse` and booking
    /// with `ledger`.
    pub fn new(db: &Db, warehouse: &Peer, ledger: Arc<dyn Ledger>, settings: &Settings, clock: Arc<dyn Clock>) -> Self {
        let warehouse = WarehouseClient::new(warehouse, Duration::from_millis(settings.peer_deadline_ms.into()));
        let fulfilment = Fulfilment::new(OmsStore::new(db.clone()), warehouse.clone(), ledger, clock);
        OmsService { fulfilment, warehouse }
    }

    /// The workflow, for direct use.
    pub fn fulfilment(&self) -> &Fulfilment {
        &self.fulfilment
    }

    /// The HTTP service, with `faults` injected; ready when its store and the warehouse answer.
    pub fn router(&self, db: &Db, faults: &Faults) -> Router {
        let checks = vec![ReadinessCheck::database(db), self.warehouse.readiness()];
        http::service(api::routes(self.fulfilment.clone()), api::ApiDoc::openapi(), checks, faults)
    }
}

/// Order management, as the launcher starts it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Oms;

static DESCRIPTOR: Descriptor = Descriptor {
    name: "oms",
    summary: "Order management.",
    default_port: 8091,
    migrator: Some(&MIGRATOR),
    peers: &["warehouse", "accounting"],
    publishes: &[],
    consumes: &[
        Consumes { subscription: "oms-orders", topic: order::TOPIC, path: api::ORDER_EVENTS_PATH },
        Consumes { subscription: "oms-shipments", topic: shipment::TOPIC, path: api::SHIPMENT_EVENTS_PATH },
    ],
    access: Access::Routes(&[
        Grant::post(api::ORDER_EVENTS_PATH, &[BROKER]),
        Grant::post(api::SHIPMENT_EVENTS_PATH, &[BROKER]),
        Grant::get("/v1/orders", &[MCP, SUPPORT, RISK]),
        Grant::get("/v1/orders/{id}", &[MCP, SUPPORT, RISK]),
        Grant::post("/v1/orders/{id}/release", &[RISK]),
        Grant::post("/v1/orders/{id}/cancel", &[SUPPORT]),
        Grant::post("/v1/orders/{id}/return-request", &[SUPPORT]),
    ]),
};

impl System for Oms {
    fn descriptor(&self) -> &'static Descriptor {
        &DESCRIPTOR
    }

    fn check_settings(&self, settings: &serde_json::Value) -> Result<(), FieldError> {
        system::parse_settings::<Settings>(settings).map(|_| ())
    }

    fn build<'a>(&'a self, context: Context<'a>) -> BoxFuture<'a, Result<Built, BuildError>> {
        Box::pin(async move {
            let db = context.db()?;
            let settings: Settings = context.settings()?;
            let deadline = Duration::from_millis(settings.peer_deadline_ms.into());
            let ledger = Arc::new(AccountingClient::new(&context.peer("accounting")?, deadline));
            let service = OmsService::new(db, &context.peer("warehouse")?, ledger, &settings, context.clock.clone());
            Ok(Built::router(service.router(db, context.faults)))
        })
    }
}
