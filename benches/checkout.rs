//! Checkout latency and throughput, run with `scripts/cargo bench --bench checkout`.
//!
//! Starts the whole store in this process on SQLite (as `boutique up` does), gives every
//! system the checkout calls the same added latency L through fault injection, and measures
//! checkout latency percentiles for several L, then checkout throughput beside the raw rate of
//! single-row durable commits on the same disk: each order needs durable commits, so that
//! rate is the ceiling. Last, checkout p99 with accounting stalled 2 s per message beside the
//! same run's unstalled figure: fulfilment is asynchronous, so the customer must not notice.
//! Sizes: `BENCH_ORDERS` (default 200), `BENCH_CONCURRENCY` (default 8).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use boutique::config::{Config, Deployment};
use boutique::registry::System;
use boutique::systems::{self};
use business_services::payment::test_cards::approved_card_number;
use business_services::platform::db::Db;
use business_services::platform::faults::{FaultRule, FaultSettings};
use business_services::platform::identity::Credentials;
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

mod support;
use support::{env_number, ms, percentile};

/// The systems a checkout calls, each of which gets the added latency.
const DOWNSTREAM: [&str; 8] = ["cart", "catalog", "currency", "inventory", "crm", "payment", "furniture", "fraud"];

/// The product every benchmark order buys (a parcel item; stock is topped up first).
const PRODUCT: &str = "organic-cotton-pocket-tee";

/// The operator's admin token of the benchmark's store (restocking is an operator's write).
const ADMIN_TOKEN: &str = "an-operator-token-for-the-benchmark";

struct Shop {
    urls: BTreeMap<&'static str, String>,
    /// The storefront's credentials: orders are prepared and placed as the web places them.
    web: Credentials,
    shutdown: CancellationToken,
    running: systems::Running,
    _data: tempfile::TempDir,
}

impl Shop {
    async fn start(latency_ms: u32, stalled_accounting: bool) -> Shop {
        let data = tempfile::tempdir().expect("temp dir");
        let mut config =
            Config { data_dir: data.path().to_path_buf(), admin_token: Some(ADMIN_TOKEN.into()), ..Config::default() };
        for system in System::all() {
            config.systems.insert(system.name().into(), Deployment { port: Some(0), ..Deployment::default() });
        }
        config.faults.clear();
        if latency_ms > 0 {
            for name in DOWNSTREAM {
                let rule = FaultRule { latency_ms, ..FaultRule::default() };
                config.faults.insert(name.into(), FaultSettings { rules: vec![rule] });
            }
        }
        if stalled_accounting {
            let rule = FaultRule { latency_ms: 2_000, path: Some("/v1/journal/**".into()), ..FaultRule::default() };
            config.faults.insert("accounting".into(), FaultSettings { rules: vec![rule] });
        }
        let shutdown = CancellationToken::new();
        let running = systems::start(&config, System::all(), &shutdown).await.expect("the store starts");
        let urls = running.addresses.iter().map(|(name, address)| (*name, format!("http://{address}"))).collect();
        let web = config.trust().expect("the store's keys").credentials("web");
        Shop { urls, web, shutdown, running, _data: data }
    }

    fn url(&self, system: &str, path: &str) -> String {
        format!("{}{path}", self.urls[system])
    }

    async fn stop(self) {
        self.shutdown.cancel();
        self.running.finish().await.expect("clean shutdown");
    }
}

/// Prepares one order (a customer and a cart), untimed, and returns the checkout body.
async fn prepare(http: &reqwest::Client, shop: &Shop, n: usize) -> Value {
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let email = format!("bench-{tag}@example.com");
    let customer: Value = http
        .post(shop.url("crm", "/v1/customers"))
        .bearer_auth(shop.web.token_for("crm"))
        .json(&json!({"email": email, "name": format!("Bench Customer {n}")}))
        .send()
        .await
        .expect("crm answers")
        .json()
        .await
        .expect("customer JSON");
    let cart = format!("bench-{tag}");
    let added = http
        .post(shop.url("cart", &format!("/v1/carts/{cart}/items")))
        .bearer_auth(shop.web.token_for("cart"))
        .json(&json!({"product_id": PRODUCT, "quantity": 1}))
        .send()
        .await
        .expect("cart answers");
    assert!(added.status().is_success(), "adding to the cart failed: {}", added.text().await.unwrap_or_default());
    json!({
        "cart_id": cart,
        "customer_id": customer["id"],
        "email": email,
        "currency": "EUR",
        "shipping_address": {"name": "Bench", "line1": format!("{n} Main St"), "city": "Springfield",
            "postal_code": format!("{:05}", 10_000 + n), "country": "US"},
        "card": {"number": approved_card_number(), "exp_month": 12, "exp_year": 2035, "cvv": "123"},
    })
}

/// Runs `orders` checkouts, `concurrency` at a time; returns each latency and the wall time.
async fn run_checkouts(shop: &Shop, orders: usize, concurrency: usize) -> (Vec<Duration>, Duration) {
    let http = reqwest::Client::new();
    let mut bodies = Vec::with_capacity(orders);
    for n in 0..orders {
        bodies.push(prepare(&http, shop, n).await);
    }
    let url = shop.url("checkout", "/v1/checkout");
    let started = Instant::now();
    let latencies: Vec<Duration> = futures_util::stream::iter(bodies)
        .map(|body| {
            let (http, url) = (http.clone(), url.clone());
            async move {
                let begun = Instant::now();
                let response = http
                    .post(url)
                    .bearer_auth(shop.web.token_for("checkout"))
                    .header("idempotency-key", uuid::Uuid::new_v4().to_string())
                    .json(&body)
                    .send()
                    .await
                    .expect("checkout answers");
                let status = response.status();
                assert_eq!(status.as_u16(), 201, "checkout failed: {}", response.text().await.unwrap_or_default());
                begun.elapsed()
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    (latencies, started.elapsed())
}

async fn top_up_stock(shop: &Shop, units: i64) {
    let response = reqwest::Client::new()
        .post(shop.url("inventory", &format!("/v1/stock/{PRODUCT}/movements")))
        .bearer_auth(ADMIN_TOKEN)
        .header("idempotency-key", uuid::Uuid::new_v4().to_string())
        .json(&json!({"delta": units, "kind": "receipt", "reference": "benchmark"}))
        .send()
        .await
        .expect("inventory answers");
    assert!(response.status().is_success(), "restocking failed: {}", response.text().await.unwrap_or_default());
}

/// Single-row durable commits per second on SQLite as the store opens it, `concurrency` writers.
async fn raw_commit_rate(commits: usize, concurrency: usize) -> f64 {
    let dir = tempfile::tempdir().expect("temp dir");
    static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate::Migrator::DEFAULT;
    let db = Db::open(&Db::sqlite_url(dir.path(), "raw"), "raw", &MIGRATOR).await.expect("open SQLite");
    sqlx::query("CREATE TABLE commits (id TEXT PRIMARY KEY, value BIGINT NOT NULL)")
        .execute(db.pool())
        .await
        .expect("create");
    let started = Instant::now();
    futures_util::stream::iter(0..commits)
        .map(|n| {
            let db = db.clone();
            async move {
                sqlx::query("INSERT INTO commits (id, value) VALUES ($1, $2)")
                    .bind(uuid::Uuid::new_v4().to_string())
                    .bind(n as i64)
                    .execute(db.pool())
                    .await
                    .expect("insert");
            }
        })
        .buffer_unordered(concurrency)
        .collect::<Vec<()>>()
        .await;
    let rate = commits as f64 / started.elapsed().as_secs_f64();
    db.close().await;
    rate
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let orders = env_number("BENCH_ORDERS", 200);
        let concurrency = env_number("BENCH_CONCURRENCY", 8);
        println!("checkout benchmark: {orders} orders per row, {concurrency} at a time, SQLite, one process\n");
        println!("| added latency L per downstream call | p50 | p99 | p99 / L | throughput |");
        println!("|---|---|---|---|---|");
        let mut baseline_throughput = 0.0;
        for latency_ms in [0_u32, 20, 50] {
            let shop = Shop::start(latency_ms, false).await;
            top_up_stock(&shop, 1_000_000).await;
            run_checkouts(&shop, concurrency.max(4), concurrency).await; // warm-up
            let (mut latencies, wall) = run_checkouts(&shop, orders, concurrency).await;
            latencies.sort();
            let throughput = orders as f64 / wall.as_secs_f64();
            if latency_ms == 0 {
                baseline_throughput = throughput;
            }
            let (p50, p99) = (percentile(&latencies, 50.0), percentile(&latencies, 99.0));
            let ratio =
                if latency_ms == 0 { "-".to_owned() } else { format!("{:.1}", ms(p99) / f64::from(latency_ms)) };
            println!(
                "| {latency_ms} ms | {:.1} ms | {:.1} ms | {ratio} | {throughput:.0} orders/s |",
                ms(p50),
                ms(p99)
            );
            shop.stop().await;
        }
        println!("\n| fulfilment | p50 | p99 | throughput |");
        println!("|---|---|---|---|");
        for stalled in [false, true] {
            let shop = Shop::start(0, stalled).await;
            top_up_stock(&shop, 1_000_000).await;
            run_checkouts(&shop, concurrency.max(4), concurrency).await;
            let (mut latencies, wall) = run_checkouts(&shop, orders, concurrency).await;
            latencies.sort();
            let label = if stalled { "accounting stalled 2 s per message" } else { "nothing stalled" };
            let (p50, p99) = (percentile(&latencies, 50.0), percentile(&latencies, 99.0));
            println!(
                "| {label} | {:.1} ms | {:.1} ms | {:.0} orders/s |",
                ms(p50),
                ms(p99),
                orders as f64 / wall.as_secs_f64()
            );
            shop.stop().await;
        }
        let raw = raw_commit_rate(orders * 5, concurrency).await;
        println!("\nraw single-row durable commits on SQLite: {raw:.0}/s, {concurrency} writers");
        println!(
            "checkout throughput at L = 0 is {:.3} of the raw commit rate ({:.1} commits' worth per order)",
            baseline_throughput / raw,
            raw / baseline_throughput
        );
    });
}
