//! Test harness: real routers on 127.0.0.1:0 over a fresh store per test, on SQLite and on
//! PostgreSQL (`TEST_POSTGRES_URL`, default the local server; skipped with a printed reason
//! when it cannot be reached).

use std::sync::Arc;

use axum::Router;
use business_services::cart::{CartService, Settings};
use business_services::platform::clock::ManualClock;
use business_services::platform::db::Db;
use business_services::platform::faults::Faults;
use business_services::platform::http::serve;
pub use business_services::platform::testing::on_each_backend;
use business_services::platform::testing::{Backend, postgres_url};
use business_services::{cart, catalog, currency};
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
                    pool.execute(sqlx::AssertSqlSafe(format!("DROP SCHEMA \"{schema}\" CASCADE")))
                        .await
                        .expect("drop schema");
                });
            })
            .join();
        }
    }
}

/// A system served on a free port.
pub struct Served {
    pub url: String,
    shutdown: CancellationToken,
}

impl Served {
    pub async fn start(router: Router) -> Served {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let shutdown = CancellationToken::new();
        tokio::spawn(serve(listener, router, shutdown.clone()));
        Served { url, shutdown }
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
        CatalogApp { served: Served::start(catalog::service(&store.db, faults)).await, store }
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
        CurrencyApp { served: Served::start(currency::service(&store.db, &Faults::default())).await, _store: store }
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
        let service = CartService::new(&store.db, &catalog.served.url, &settings, clock.clone());
        let served = Served::start(service.router(&store.db, &Faults::default())).await;
        CartApp { served, catalog, clock, service, store }
    }
}
