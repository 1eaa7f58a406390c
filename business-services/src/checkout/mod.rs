//! Checkout: the order saga across cart, catalog, currency, inventory, CRM, payment, the
//! furniture ERP and the fraud engine. One saga per `Idempotency-Key`; the order and its
//! `orders` event are written in one transaction; interrupted sagas are finished or
//! compensated by recovery.

pub mod api;
pub mod client;
pub mod domain;
pub(crate) mod saga;
pub(crate) mod store;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use sqlx::migrate::Migrator;
use tokio_util::sync::CancellationToken;
use utoipa::OpenApi;

use crate::cart::client::CartClient;
use crate::catalog::client::CatalogClient;
use crate::contracts::order;
use crate::crm::client::CrmClient;
use crate::currency::client::CurrencyClient;
use crate::fraud::client::FraudClient;
use crate::furniture::client::FurnitureClient;
use crate::inventory::client::InventoryClient;
use crate::payment::client::PaymentClient;
use crate::platform::FieldError;
use crate::platform::clock::Clock;
use crate::platform::db::Db;
use crate::platform::events::BoxFuture;
use crate::platform::faults::Faults;
use crate::platform::http::{self, ReadinessCheck};
use crate::platform::identity::Credentials;
use crate::platform::identity::access::{Access, Grant, MCP, WEB};
use crate::platform::system::{self, BuildError, Built, Context, Descriptor, System};
use crate::platform::tasks;
use saga::Peers;
pub use saga::{CrashPoint, Settings};
use store::CheckoutStore;

/// The checkout's schema migrations.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations/checkout");

/// How often unfinished sagas are looked for.
const RECOVERY_INTERVAL: Duration = Duration::from_secs(10);

/// Where the checkout finds the systems it calls.
#[derive(Debug, Clone)]
pub struct PeerUrls {
    /// The cart service.
    pub cart: String,
    /// The catalog.
    pub catalog: String,
    /// The currency service.
    pub currency: String,
    /// Inventory.
    pub inventory: String,
    /// The CRM.
    pub crm: String,
    /// The payment gateway.
    pub payment: String,
    /// The furniture ERP.
    pub furniture: String,
    /// The fraud engine.
    pub fraud: String,
}

impl PeerUrls {
    /// Each peer's URL, as `url_of` gives it by name.
    pub fn resolve<E>(url_of: impl Fn(&str) -> Result<String, E>) -> Result<PeerUrls, E> {
        Ok(PeerUrls {
            cart: url_of("cart")?,
            catalog: url_of("catalog")?,
            currency: url_of("currency")?,
            inventory: url_of("inventory")?,
            crm: url_of("crm")?,
            payment: url_of("payment")?,
            furniture: url_of("furniture")?,
            fraud: url_of("fraud")?,
        })
    }
}

/// The checkout service: its routes and its recovery loop.
#[derive(Debug, Clone)]
pub struct CheckoutService {
    checkout: saga::Checkout,
    peers: Peers,
}

impl CheckoutService {
    /// The checkout over its migrated `db`, calling the systems at `urls` with `credentials`.
    pub fn new(
        db: &Db,
        urls: &PeerUrls,
        credentials: &Credentials,
        settings: &Settings,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let ms = |ms: u32| Duration::from_millis(ms.into());
        let peer = ms(settings.peer_deadline_ms);
        let at = |url: &str| credentials.at(url);
        let peers = Peers {
            cart: CartClient::new(&at(&urls.cart), peer),
            catalog: CatalogClient::new(&at(&urls.catalog), peer),
            currency: CurrencyClient::new(&at(&urls.currency), peer),
            inventory: InventoryClient::new(&at(&urls.inventory), peer),
            crm: CrmClient::new(&at(&urls.crm), peer),
            payment: PaymentClient::new(&at(&urls.payment), ms(settings.payment_deadline_ms)),
            furniture: FurnitureClient::new(&at(&urls.furniture), ms(settings.freight_deadline_ms)),
            fraud: FraudClient::new(&at(&urls.fraud), peer, &settings.fraud_key_id, settings.fraud_secret.expose()),
        };
        let checkout = saga::Checkout::new(peers.clone(), CheckoutStore::new(db.clone()), clock, settings.clone());
        CheckoutService { checkout, peers }
    }

    /// The same service with the crash hook of [`saga::Checkout::crash_at`], for tests.
    pub fn crash_at(self, point: saga::CrashPoint) -> Self {
        CheckoutService { checkout: self.checkout.crash_at(point), ..self }
    }

    /// The saga runner.
    pub fn checkout(&self) -> &saga::Checkout {
        &self.checkout
    }

    /// The HTTP service, with `faults` injected; ready when its store and every peer answer.
    pub fn router(&self, db: &Db, faults: &Faults) -> Router {
        let checks = vec![
            ReadinessCheck::database(db),
            self.peers.cart.readiness(),
            self.peers.catalog.readiness(),
            self.peers.currency.readiness(),
            self.peers.inventory.readiness(),
            self.peers.crm.readiness(),
            self.peers.payment.readiness(),
            self.peers.furniture.readiness(),
            self.peers.fraud.readiness(),
        ];
        http::service(api::routes(self.checkout.clone()), api::ApiDoc::openapi(), checks, faults)
    }

    /// Recovers interrupted sagas now and then every few seconds until `shutdown`.
    pub async fn run_recovery(self, shutdown: CancellationToken) {
        let recover = || async { self.checkout.recover().await.map(|settled| settled as u64) };
        tasks::every(RECOVERY_INTERVAL, shutdown, "recover interrupted checkouts", recover).await;
    }
}

/// The checkout, as the launcher starts it. A [`saga::CrashPoint`] among the process's
/// extensions makes it crash there (for the crash tests).
#[derive(Debug, Clone, Copy, Default)]
pub struct Checkout;

static DESCRIPTOR: Descriptor = Descriptor {
    name: "checkout",
    summary: "The order saga.",
    default_port: 8089,
    migrator: Some(&MIGRATOR),
    peers: &["cart", "catalog", "currency", "inventory", "crm", "payment", "furniture", "fraud"],
    publishes: &[order::TOPIC],
    consumes: &[],
    access: Access::Routes(&[
        Grant::post("/v1/checkout", &[WEB]),
        Grant::get("/v1/orders", &[WEB, MCP]),
        Grant::get("/v1/orders/{order_id}", &[WEB, MCP]),
    ]),
};

impl System for Checkout {
    fn descriptor(&self) -> &'static Descriptor {
        &DESCRIPTOR
    }

    fn check_settings(&self, settings: &serde_json::Value) -> Result<(), FieldError> {
        system::parse_settings::<Settings>(settings).map(|_| ())
    }

    fn build<'a>(&'a self, context: Context<'a>) -> BoxFuture<'a, Result<Built, BuildError>> {
        Box::pin(async move {
            let db = context.db()?;
            let urls = PeerUrls::resolve(|name| context.peer(name).map(|peer| peer.url))?;
            let settings = context.settings()?;
            let mut service = CheckoutService::new(db, &urls, context.credentials, &settings, context.clock.clone());
            if let Some(point) = context.extension::<saga::CrashPoint>() {
                service = service.crash_at(point);
            }
            let router = service.router(db, context.faults);
            Ok(Built::router(router).with_task(service.run_recovery(context.shutdown.clone())))
        })
    }
}
