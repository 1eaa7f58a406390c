//! Asynchronous fulfilment under failure: 1,000 orders pushed to order management, which
//! drives the warehouse and accounting, while 20% of deliveries fail at random, a warehouse
//! outage dead-letters a batch (replayed afterwards) and the pusher restarts mid-stream. On
//! the embedded backend (SQLite and PostgreSQL) and on NATS JetStream.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use business_services::broker::embedded::EmbeddedQueue;
use business_services::broker::nats::NatsQueue;
use business_services::broker::push::{PushSettings, PushTokens, Pusher};
use business_services::broker::queue::{Queue, Subscription};
use business_services::contracts::order::{ORDER_PLACED, OrderStatus};
use business_services::platform::clock::SystemClock;
use business_services::platform::events::{EVENT_ID, Message, TYPE};
use business_services::platform::faults::{FaultRule, FaultSettings};
use business_services::platform::system::{PushTarget, System};
use business_services::platform::testing::{self, Backend, on_each_backend};
use business_services::{accounting, broker, oms, warehouse};
use time::OffsetDateTime;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::harness::Stack;
use crate::harness::StackSetup;
use crate::harness::{TestDb, order_placed, strict_trust};
use std::collections::BTreeMap;

const ORDERS: usize = 1_000;
const OUTAGE_ORDERS: usize = 10;
const SUBSCRIPTION: &str = "oms-orders";

/// Order management, the warehouse and accounting, started by the launcher, each with its
/// store and fault switch.
struct Fulfilment {
    stack: Stack,
}

impl Fulfilment {
    async fn start(backend: Backend) -> Fulfilment {
        let settings = oms::Settings { peer_deadline_ms: 5_000 };
        let setup = StackSetup {
            settings: BTreeMap::from([("oms", serde_json::to_value(settings).unwrap())]),
            demo_data: false,
            ..StackSetup::default()
        };
        let systems: &[&dyn System] = &[&warehouse::Warehouse, &accounting::Accounting, &oms::Oms];
        Fulfilment { stack: Stack::start(backend, systems, setup).await }
    }

    async fn count(&self, system: &str, sql: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned())).fetch_one(self.stack.db(system).pool()).await.unwrap()
    }

    async fn allocated(&self) -> i64 {
        self.count("oms", "SELECT COUNT(*) FROM orders WHERE state = 'allocated'").await
    }

    async fn wait_for_allocated(&self, expected: i64) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(240);
        while self.allocated().await < expected {
            assert!(
                tokio::time::Instant::now() < deadline,
                "only {} of {expected} orders allocated",
                self.allocated().await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn fail(path: &str, error_rate: f64) -> FaultSettings {
    FaultSettings {
        rules: vec![FaultRule {
            method: Some("POST".into()),
            path: Some(path.into()),
            error_rate,
            ..FaultRule::default()
        }],
    }
}

fn order_message() -> Message {
    let placed = order_placed(None, OrderStatus::Confirmed, "fp", &[(2_800, 1), (3_600, 2)]);
    let id = format!("evt_{}", uuid::Uuid::new_v4().simple());
    Message {
        id: id.clone(),
        topic: "orders".into(),
        ordering_key: placed.order.order_id.to_string(),
        data: serde_json::to_vec(&placed).unwrap(),
        attributes: [(TYPE.to_owned(), ORDER_PLACED.to_owned()), (EVENT_ID.to_owned(), id)].into(),
        publish_time: OffsetDateTime::now_utc(),
    }
}

/// Pushes the subscription to order management, as the broker does (with its service token),
/// until the returned token is cancelled.
fn start_pusher(queue: Arc<dyn Queue>, subscription: &Subscription, wake: Arc<Notify>) -> CancellationToken {
    let settings =
        PushSettings { retry_base_ms: 5, retry_max_ms: 50, ack_deadline_ms: 10_000, idle_poll_ms: 20, batch: 32 };
    let target = PushTarget {
        consumer: "oms".into(),
        subscription: subscription.name.clone(),
        topic: subscription.topic.clone(),
        endpoint: subscription.endpoint.clone(),
    };
    let tokens = PushTokens::new(strict_trust().credentials("broker"), &[target]);
    let shutdown = CancellationToken::new();
    let pusher = Pusher::new(queue, settings, None, wake).with_tokens(tokens);
    tokio::spawn(pusher.run(subscription.name.clone(), shutdown.clone()));
    shutdown
}

/// The whole scenario on one queue; `reopen` gives a fresh handle on the same queue, as a
/// restarted process would have.
async fn scenario<Q, R, Fut>(queue: Arc<Q>, reopen: R, backend: Backend)
where
    Q: Queue + 'static,
    R: Fn() -> Fut,
    Fut: Future<Output = Arc<Q>>,
{
    let shop = Fulfilment::start(backend).await;
    let subscription = Subscription {
        name: SUBSCRIPTION.into(),
        topic: "orders".into(),
        endpoint: format!("{}/v1/events/orders", shop.stack.urls["oms"]),
        max_attempts: 4,
    };
    queue.subscribe(&subscription).await.unwrap();
    let wake = Arc::new(Notify::new());

    // A warehouse outage: these orders use up their attempts and land in the dead-letter store.
    shop.stack.faults["warehouse"].set(fail("/v1/shipments", 1.0));
    let pusher = start_pusher(queue.clone(), &subscription, wake.clone());
    for _ in 0..OUTAGE_ORDERS {
        queue.publish(&order_message()).await.unwrap();
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while queue.dead_letters(Some(SUBSCRIPTION), 100).await.unwrap().len() < OUTAGE_ORDERS {
        assert!(tokio::time::Instant::now() < deadline, "the outage's orders were not dead-lettered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    shop.stack.faults["warehouse"].set(FaultSettings::default());

    // 1,000 orders while order management fails one delivery in five; the pusher dies halfway.
    shop.stack.faults["oms"].set(fail("/v1/events/orders", 0.2));
    for _ in 0..ORDERS {
        queue.publish(&order_message()).await.unwrap();
    }
    shop.wait_for_allocated(ORDERS as i64 / 2).await;
    pusher.cancel();
    let queue = reopen().await;
    let pusher = start_pusher(queue.clone(), &subscription, wake.clone());
    // Every message ends acknowledged or dead: 4 attempts at 20% failure leave about 0.2^4
    // of them (1.6 in 1,000) dead-lettered besides the outage's.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(240);
    loop {
        let stats = queue.stats().await.unwrap();
        let backlog = stats.iter().find(|s| s.subscription == SUBSCRIPTION).map_or(0, |s| s.backlog);
        let dead = queue.dead_letters(Some(SUBSCRIPTION), 1000).await.unwrap().len() as i64;
        if backlog == 0 && shop.allocated().await + dead == (ORDERS + OUTAGE_ORDERS) as i64 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the backlog did not drain ({backlog} left)");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The operator fixes the consumer and replays the dead letters; they complete.
    shop.stack.faults["oms"].set(FaultSettings::default());
    assert!(queue.replay(SUBSCRIPTION, None).await.unwrap() >= OUTAGE_ORDERS as u64);
    shop.wait_for_allocated((ORDERS + OUTAGE_ORDERS) as i64).await;
    pusher.cancel();

    let total = (ORDERS + OUTAGE_ORDERS) as i64;
    assert_eq!(shop.count("warehouse", "SELECT COUNT(*) FROM shipments").await, total, "one shipment per order");
    assert_eq!(shop.count("accounting", "SELECT COUNT(*) FROM sales").await, total, "one sale per order");
    assert_eq!(
        shop.count("accounting", "SELECT COUNT(*) FROM journal_entries WHERE kind = 'sale'").await,
        total,
        "one journal entry per sale"
    );
    let balance: serde_json::Value = crate::http::json(
        crate::http::client().get(format!("{}/v1/trial-balance", shop.stack.urls["accounting"])).send().await.unwrap(),
        reqwest::StatusCode::OK,
    )
    .await;
    assert_eq!(balance["balanced"], true, "{balance}");
    assert!(queue.dead_letters(Some(SUBSCRIPTION), 100).await.unwrap().is_empty(), "every dead letter completed");
}

#[tokio::test]
async fn a_thousand_orders_survive_failures_outages_and_a_restart_on_the_embedded_broker() {
    on_each_backend(|backend| async move {
        let store = TestDb::open(backend, "broker", &broker::MIGRATOR).await;
        let db = store.db.clone();
        let queue = Arc::new(EmbeddedQueue::new(db.clone(), Arc::new(SystemClock)));
        let reopen = || {
            let db = db.clone();
            async move { Arc::new(EmbeddedQueue::new(db, Arc::new(SystemClock))) }
        };
        scenario(queue, reopen, backend).await;
    })
    .await;
}

#[tokio::test]
async fn a_thousand_orders_survive_failures_outages_and_a_restart_on_nats() {
    if !testing::nats_available() {
        return;
    }
    let prefix = format!("test{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let queue = Arc::new(NatsQueue::connect(&testing::nats_url(), &prefix).await.unwrap());
    let same_prefix = prefix.clone();
    let reopen = move || {
        let prefix = same_prefix.clone();
        async move { Arc::new(NatsQueue::connect(&testing::nats_url(), &prefix).await.unwrap()) }
    };
    let outcome = tokio::spawn(async move { scenario(queue, reopen, Backend::Sqlite).await }).await;
    NatsQueue::connect(&testing::nats_url(), &prefix).await.unwrap().delete_streams().await.unwrap();
    if let Err(failure) = outcome {
        std::panic::resume_unwind(failure.into_panic());
    }
}
