//! Test harness: real routers on 127.0.0.1:0 over a fresh store per test, on SQLite and on
//! PostgreSQL (`TEST_POSTGRES_URL`, default the local server; skipped with a printed reason
//! when it cannot be reached).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use axum::Router;
use axum::http::Extensions;
use business_services::cart::{CartService, Settings};
use business_services::launch::{Local, Plan, launch};
use business_services::platform::audit::{self, AuditTrail};
use business_services::platform::client::Peer;
use business_services::platform::clock::ManualClock;
use business_services::platform::clock::{Clock, SystemClock};
use business_services::platform::db::Db;
use business_services::platform::faults::{FaultSettings, Faults};
use business_services::platform::http::serve;
use business_services::platform::identity::Trust;
use business_services::platform::identity::keys::KeyRing;
use business_services::platform::secret::Secret;
use business_services::platform::system::System;
pub use business_services::platform::testing::on_each_backend;
use business_services::platform::testing::{Backend, postgres_url};
use business_services::{cart, catalog, currency};
use serde::Serialize;
use serde_json::Value;
use sqlx::Executor;
use sqlx::migrate::Migrator;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

/// A fresh, migrated store; removed when dropped.
pub struct TestDb {
    pub db: Db,
    cleanup: Cleanup,
}

enum Cleanup {
    Directory { _dir: tempfile::TempDir },
    Schema(String),
}

impl TestDb {
    pub async fn open(backend: Backend, system: &str, migrator: &Migrator) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let db = Db::open(&Db::sqlite_url(dir.path(), system), system, migrator).await.expect("open SQLite");
                TestDb { db, cleanup: Cleanup::Directory { _dir: dir } }
            }
            Backend::Postgres => {
                let schema = format!("test_{system}_{}", uuid::Uuid::new_v4().simple());
                let db = Db::open(&postgres_url(), &schema, migrator).await.expect("open PostgreSQL");
                TestDb { db, cleanup: Cleanup::Schema(schema) }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Cleanup::Schema(schema) = &self.cleanup {
            let schema = schema.clone();
            // Drop runs inside the test's runtime: clean up on a thread with its own.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                runtime.block_on(async {
                    let pool = sqlx::PgPool::connect(&postgres_url()).await.expect("connect for cleanup");
                    // Never wait forever on a lock a finished test left behind.
                    let drop = format!("SET lock_timeout = '10s'; DROP SCHEMA \"{schema}\" CASCADE");
                    if let Err(error) = pool.execute(sqlx::AssertSqlSafe(drop)).await {
                        eprintln!("note: test schema {schema} was left behind: {error}");
                    }
                });
            })
            .join();
        }
    }
}

/// The name the tests call systems by: every system they start admits it on every route, as
/// whichever peer would call there (the route tables themselves are tested in `access.rs`).
pub const HARNESS: &str = "harness";

/// The key ring of the systems the tests start: they sign and check tokens with it.
fn keys() -> Arc<KeyRing> {
    static KEYS: OnceLock<Arc<KeyRing>> = OnceLock::new();
    KEYS.get_or_init(|| Arc::new(KeyRing::ephemeral().expect("a key"))).clone()
}

/// What the systems the tests start trust: the test keys, and [`HARNESS`] everywhere.
pub fn trust() -> Trust {
    Trust { admitted_everywhere: Some(HARNESS), ..strict_trust() }
}

/// The same keys with no caller admitted everywhere: the route tables as in production.
pub fn strict_trust() -> Trust {
    Trust::local(keys())
}

/// A typed client's view of the system at `url`, called as [`HARNESS`].
pub fn peer(url: &str) -> Peer {
    strict_trust().credentials(HARNESS).at(url)
}

/// The system name at each origin the tests started, so a raw request gets a token for it,
/// with the token that stops it: once stopped, its port may serve something else.
fn origins() -> &'static Mutex<HashMap<String, (&'static str, CancellationToken)>> {
    static ORIGINS: OnceLock<Mutex<HashMap<String, (&'static str, CancellationToken)>>> = OnceLock::new();
    ORIGINS.get_or_init(Mutex::default)
}

/// A service token of [`HARNESS`] for the system serving `url`, if the tests started one there
/// that still runs.
pub fn token_for(url: &str) -> Option<String> {
    let origin = reqwest::Url::parse(url).ok()?.origin().ascii_serialization();
    let system = match origins().lock().unwrap().get(&origin) {
        Some((system, shutdown)) if !shutdown.is_cancelled() => *system,
        _ => return None,
    };
    Some(strict_trust().credentials(HARNESS).token_for(system))
}

/// A system served on a free port.
pub struct Served {
    pub url: String,
    shutdown: CancellationToken,
    /// The audit trail's store, kept while the system runs.
    _audit: Option<TestDb>,
}

/// A fresh audit trail on `backend`: its store (removed when dropped) and the trail.
pub async fn open_audit(backend: Backend) -> (TestDb, AuditTrail) {
    let store = TestDb::open(backend, audit::STORE, &audit::MIGRATOR).await;
    let trail = AuditTrail::new(store.db.clone(), Arc::new(SystemClock));
    (store, trail)
}

/// How a system under test is set up: what the launcher is given besides its store.
pub struct Setup {
    pub clock: Arc<dyn Clock>,
    /// Its settings section (`null` for the defaults).
    pub settings: Value,
    pub faults: Faults,
    /// Base URLs of the peers it calls.
    pub peers: BTreeMap<&'static str, String>,
    pub extensions: Extensions,
    pub trust: Trust,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            clock: Arc::new(SystemClock),
            settings: Value::Null,
            faults: Faults::default(),
            peers: BTreeMap::new(),
            extensions: Extensions::new(),
            trust: trust(),
        }
    }
}

impl Setup {
    /// The defaults on `clock`.
    pub fn on(clock: Arc<dyn Clock>) -> Setup {
        Setup { clock, ..Setup::default() }
    }

    /// The same with `settings` as its settings section.
    pub fn with_settings(self, settings: impl Serialize) -> Setup {
        Setup { settings: serde_json::to_value(settings).expect("settings serialize"), ..self }
    }
}

impl Served {
    /// A plain router (a fake peer, a consumer) on a free port.
    pub async fn start(router: Router) -> Served {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let shutdown = CancellationToken::new();
        tokio::spawn(serve(listener, router, shutdown.clone()));
        Served { url, shutdown, _audit: None }
    }

    /// `system` over `store`, built and served by the launcher as the binary serves it.
    pub async fn system(system: &'static dyn System, store: &TestDb, setup: Setup) -> Served {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let name = system.descriptor().name;
        let local =
            Local { system, listener, db: Some(store.db.clone()), faults: setup.faults, settings: setup.settings };
        let (audit_store, audit) = open_audit(Backend::Sqlite).await;
        let plan = Plan {
            registry: vec![system],
            local: vec![local],
            urls: setup.peers,
            clock: setup.clock,
            extensions: setup.extensions,
            data_dir: std::env::temp_dir(),
            demo_data: false,
            trust: setup.trust,
            audit,
        };
        let (urls, shutdown) = run(plan).await;
        Served { url: urls[name].clone(), shutdown, _audit: Some(audit_store) }
    }

    pub fn stop(&self) {
        self.shutdown.cancel();
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Launches `plan` until the returned token is cancelled; the systems' URLs by name.
async fn run(plan: Plan) -> (BTreeMap<&'static str, String>, CancellationToken) {
    let shutdown = CancellationToken::new();
    let launched = launch(plan, &shutdown).await.expect("the systems start");
    let urls = launched.urls.clone();
    for (name, url) in &urls {
        if let Ok(parsed) = reqwest::Url::parse(url) {
            origins().lock().unwrap().insert(parsed.origin().ascii_serialization(), (name, shutdown.clone()));
        }
    }
    // Dropping the launched set would stop its tasks: they run until shutdown.
    tokio::spawn(launched.finish());
    (urls, shutdown)
}

/// Several systems started together by the launcher, each over a fresh store, wired to each
/// other as the binary wires them (peers, subscriptions, outbox relays).
pub struct Stack {
    pub urls: BTreeMap<&'static str, String>,
    pub stores: BTreeMap<&'static str, TestDb>,
    pub faults: BTreeMap<&'static str, Faults>,
    /// Where the doors recorded people's writes.
    pub audit: AuditTrail,
    _audit_store: TestDb,
    shutdown: CancellationToken,
}

/// How a [`Stack`] is set up.
pub struct StackSetup {
    pub clock: Arc<dyn Clock>,
    /// Settings sections by system (the defaults where absent).
    pub settings: BTreeMap<&'static str, Value>,
    pub extensions: Extensions,
    /// Load the demo data into the stores.
    pub demo_data: bool,
    pub trust: Trust,
    /// The operator's admin token, opening operator routes; closed when `None`.
    pub admin_token: Option<Secret>,
}

impl Default for StackSetup {
    fn default() -> Self {
        StackSetup {
            clock: Arc::new(SystemClock),
            settings: BTreeMap::new(),
            extensions: Extensions::new(),
            demo_data: true,
            trust: trust(),
            admin_token: None,
        }
    }
}

impl Stack {
    /// Starts `systems` on `backend`.
    pub async fn start(backend: Backend, systems: &[&'static dyn System], setup: StackSetup) -> Stack {
        let mut stores = BTreeMap::new();
        let mut faults = BTreeMap::new();
        let mut local = Vec::new();
        for &system in systems {
            let descriptor = system.descriptor();
            let db = match descriptor.migrator {
                Some(migrator) => {
                    let store = TestDb::open(backend, descriptor.name, migrator).await;
                    let db = store.db.clone();
                    stores.insert(descriptor.name, store);
                    Some(db)
                }
                None => None,
            };
            let switch = Faults::new(FaultSettings::default(), setup.admin_token.as_ref());
            faults.insert(descriptor.name, switch.clone());
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let settings = setup.settings.get(descriptor.name).cloned().unwrap_or(Value::Null);
            local.push(Local { system, listener, db, faults: switch, settings });
        }
        let (audit_store, audit) = open_audit(backend).await;
        let plan = Plan {
            registry: systems.to_vec(),
            local,
            urls: BTreeMap::new(),
            clock: setup.clock,
            extensions: setup.extensions,
            data_dir: std::env::temp_dir(),
            demo_data: setup.demo_data,
            trust: setup.trust,
            audit: audit.clone(),
        };
        let (urls, shutdown) = run(plan).await;
        Stack { urls, stores, faults, audit, _audit_store: audit_store, shutdown }
    }

    /// `path` on `system`.
    pub fn url(&self, system: &str, path: &str) -> String {
        format!("{}{path}", self.urls[system])
    }

    /// The store of `system`.
    pub fn db(&self, system: &str) -> &Db {
        &self.stores[system].db
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A seeded catalog.
pub struct CatalogApp {
    pub served: Served,
    pub store: TestDb,
}

impl CatalogApp {
    pub async fn start(backend: Backend) -> CatalogApp {
        CatalogApp::with_faults(backend, &Faults::default()).await
    }

    pub async fn with_faults(backend: Backend, faults: &Faults) -> CatalogApp {
        let store = TestDb::open(backend, "catalog", &catalog::MIGRATOR).await;
        catalog::seed_demo_data(&store.db).await.expect("seed catalog");
        let served =
            Served::system(&catalog::Catalog, &store, Setup { faults: faults.clone(), ..Setup::default() }).await;
        CatalogApp { served, store }
    }
}

/// A seeded currency service.
pub struct CurrencyApp {
    pub served: Served,
    _store: TestDb,
}

impl CurrencyApp {
    pub async fn start(backend: Backend) -> CurrencyApp {
        let store = TestDb::open(backend, "currency", &currency::MIGRATOR).await;
        currency::seed_demo_data(&store.db, OffsetDateTime::now_utc()).await.expect("seed rates");
        CurrencyApp { served: Served::system(&currency::Currency, &store, Setup::default()).await, _store: store }
    }
}

/// A cart service on a manual clock, with the seeded catalog it checks products against.
pub struct CartApp {
    pub served: Served,
    pub catalog: CatalogApp,
    pub clock: Arc<ManualClock>,
    pub service: CartService,
    pub store: TestDb,
}

impl CartApp {
    pub async fn start(backend: Backend) -> CartApp {
        let catalog = CatalogApp::start(backend).await;
        let store = TestDb::open(backend, "cart", &cart::MIGRATOR).await;
        let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
        let settings = Settings { catalog_deadline_ms: 2000, ..Settings::default() };
        let service = CartService::new(&store.db, &peer(&catalog.served.url), &settings, clock.clone());
        let setup = Setup {
            peers: BTreeMap::from([("catalog", catalog.served.url.clone())]),
            ..Setup::on(clock.clone()).with_settings(&settings)
        };
        let served = Served::system(&cart::Cart, &store, setup).await;
        CartApp { served, catalog, clock, service, store }
    }
}

/// An `order.placed` event of a new order by `customer_id` (a guest when `None`) with `status`,
/// paid with the card `card_fingerprint`, shipped to postal code `94105`: its lines are
/// (USD unit cents, quantity), and its receipt is in USD without shipping or discount.
pub fn order_placed(
    customer_id: Option<&str>,
    status: business_services::contracts::order::OrderStatus,
    card_fingerprint: &str,
    lines: &[(i64, u32)],
) -> business_services::contracts::order::OrderPlaced {
    use business_services::contracts::order::{
        Address, Amounts, OrderId, OrderPlaced, PaymentSummary, PricedLine, Receipt, ReceiptLine,
    };
    use business_services::contracts::product::{Dimensions, ProductId, StockClass};
    use business_services::money::{CurrencyCode, Money};
    let usd = |minor| Money::new(CurrencyCode::USD, minor);
    let priced: Vec<PricedLine> = lines
        .iter()
        .enumerate()
        .map(|(index, (cents, quantity))| PricedLine {
            product_id: ProductId::parse(&format!("product-{index}")).unwrap(),
            name: format!("Product {index}"),
            quantity: *quantity,
            unit_price: usd(*cents),
            stock_class: StockClass::Standard,
            weight_grams: 500,
            dimensions_mm: Dimensions { length: 100, width: 100, height: 100 },
        })
        .collect();
    let items: Vec<ReceiptLine> = priced
        .iter()
        .map(|line| ReceiptLine {
            product_id: line.product_id.clone(),
            name: line.name.clone(),
            quantity: line.quantity,
            unit_price: line.unit_price,
            line_total: usd(line.unit_price.minor_units * i64::from(line.quantity)),
        })
        .collect();
    let subtotal = usd(items.iter().map(|item| item.line_total.minor_units).sum());
    let address = Address {
        name: "Ana Ruiz".into(),
        line1: "1 Market St".into(),
        line2: None,
        city: "San Francisco".into(),
        region: Some("CA".into()),
        postal_code: "94105".into(),
        country: "US".into(),
    };
    let order_id = OrderId::generate();
    OrderPlaced {
        order: Receipt {
            order_id: order_id.clone(),
            status,
            reference: format!("checkout-{order_id}"),
            email: "ana@example.com".into(),
            customer_id: customer_id.map(str::to_owned),
            loyalty_tier: None,
            shipping_address: address.clone(),
            amounts: Amounts { items, subtotal, discount: usd(0), shipping: usd(0), freight: usd(0), total: subtotal },
            freight_booking: None,
            payment: PaymentSummary { authorization_id: "auth_1".into(), brand: "visa".into(), last4: "4242".into() },
            created_at: OffsetDateTime::now_utc(),
        },
        lines: priced,
        reference: format!("checkout-{order_id}"),
        card_fingerprint: card_fingerprint.to_owned(),
        billing_address: address,
        reservation_id: None,
    }
}

/// The push envelope that delivers `event` of `event_type` with the id `event_id` to
/// `subscription`.
pub fn push_envelope<T: serde::Serialize>(
    event_id: &str,
    event_type: &str,
    ordering_key: &str,
    event: &T,
    subscription: &str,
) -> business_services::platform::events::PushEnvelope {
    use business_services::platform::events::{Message, PushEnvelope, TYPE};
    let message = Message {
        id: event_id.to_owned(),
        topic: "orders".to_owned(),
        ordering_key: ordering_key.to_owned(),
        data: serde_json::to_vec(event).unwrap(),
        attributes: std::collections::BTreeMap::from([(TYPE.to_owned(), event_type.to_owned())]),
        publish_time: OffsetDateTime::now_utc(),
    };
    PushEnvelope::wrap(&message, subscription)
}
