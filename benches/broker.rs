//! Broker throughput and delivery lag per backend: `scripts/cargo bench --bench broker`.
//!
//! Publishes `BENCH_MESSAGES` (default 2,000) messages over 64 ordering keys to a subscription
//! whose endpoint answers at once, and reports the publish rate, the delivery rate (first
//! publication to last delivery) and the per-message lag (publication to arrival) — on the
//! embedded backend (SQLite, as `boutique up` runs it) and on NATS JetStream when a server
//! answers at 127.0.0.1:4222.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use business_services::broker;
use business_services::broker::embedded::EmbeddedQueue;
use business_services::broker::nats::NatsQueue;
use business_services::broker::push::{PushSettings, Pusher};
use business_services::broker::queue::{Queue, Subscription};
use business_services::platform::clock::SystemClock;
use business_services::platform::db::Db;
use business_services::platform::events::{Message, Pushed};
use business_services::platform::testing;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

async fn arrive(State(arrivals): State<Arrivals>, pushed: Pushed<serde_json::Value>) -> StatusCode {
    arrivals.lock().expect("lock").entry(pushed.event_id).or_insert_with(Instant::now);
    StatusCode::NO_CONTENT
}

async fn measure(name: &str, queue: Arc<dyn Queue>, wake: Arc<Notify>, messages: usize) {
    let arrivals: Arrivals = Arc::default();
    let app = Router::new().route("/events", post(arrive)).with_state(arrivals.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let endpoint = format!("http://{}/events", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let topic = format!("bench{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let subscription = Subscription { name: format!("{topic}-sub"), topic: topic.clone(), endpoint, max_attempts: 5 };
    queue.subscribe(&subscription).await.expect("subscribe");
    let shutdown = CancellationToken::new();
    let settings = PushSettings { batch: 64, idle_poll_ms: 5, ..PushSettings::default() };
    tokio::spawn(Pusher::new(queue.clone(), settings, None, wake).run(subscription.name, shutdown.clone()));

    let mut published = HashMap::with_capacity(messages);
    let started = Instant::now();
    for n in 0..messages {
        let id = format!("evt_{}", uuid::Uuid::new_v4().simple());
        let message = Message {
            id: id.clone(),
            topic: topic.clone(),
            ordering_key: format!("key-{}", n % 64),
            data: format!("{{\"n\":{n}}}").into_bytes(),
            attributes: Default::default(),
            publish_time: time::OffsetDateTime::now_utc(),
        };
        published.insert(id, Instant::now());
        queue.publish(&message).await.expect("publish");
    }
    let publishing = started.elapsed();
    let deadline = Instant::now() + Duration::from_secs(300);
    while arrivals.lock().expect("lock").len() < messages {
        assert!(Instant::now() < deadline, "{name}: not every message arrived");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let delivering = started.elapsed();
    shutdown.cancel();
    let arrivals = arrivals.lock().expect("lock");
    let mut lags: Vec<Duration> = published.iter().map(|(id, at)| arrivals[id].duration_since(*at)).collect();
    lags.sort();
    let at = |p: f64| lags[((p / 100.0) * lags.len() as f64).ceil() as usize - 1].as_secs_f64() * 1000.0;
    println!(
        "| {name} | {:.0} msg/s | {:.0} msg/s | {:.1} ms | {:.1} ms |",
        messages as f64 / publishing.as_secs_f64(),
        messages as f64 / delivering.as_secs_f64(),
        at(50.0),
        at(99.0)
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let messages = std::env::var("BENCH_MESSAGES").ok().and_then(|v| v.parse().ok()).unwrap_or(2_000);
        println!("broker benchmark: {messages} messages over 64 ordering keys, one subscription\n");
        println!("| backend | publish | delivery | lag p50 | lag p99 |");
        println!("|---|---|---|---|---|");
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Db::open(&Db::sqlite_url(dir.path(), "broker"), "broker", &broker::MIGRATOR).await.expect("open");
        let embedded = EmbeddedQueue::new(db, Arc::new(SystemClock));
        let wake = embedded.publications();
        measure("embedded (SQLite)", Arc::new(embedded), wake, messages).await;
        if testing::nats_available() {
            let prefix = format!("bench{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
            let nats = Arc::new(NatsQueue::connect(&testing::nats_url(), &prefix).await.expect("connect"));
            measure("NATS JetStream", nats.clone(), Arc::new(Notify::new()), messages).await;
            nats.delete_streams().await.expect("clean up");
        }
    });
}
