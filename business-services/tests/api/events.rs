//! The embedded broker end to end: an outbox relayed into it, pushes to a consumer that fails
//! at random, ordering per key, dead letters and their replay, statistics, subscriptions changed
//! while it runs, and the operator's token on its admin writes.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use business_services::broker::push::PushSettings;
use business_services::broker::queue::{Queue, Subscription};
use business_services::broker::relay::Relay;
use business_services::broker::{self, BrokerService};
use business_services::platform::clock::SystemClock;
use business_services::platform::events::Pushed;
use business_services::platform::faults::{FaultSettings, Faults};
use business_services::platform::outbox::OutboxEvent;
use business_services::platform::testing::{Backend, on_each_backend};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use crate::harness::{Served, TestDb};
use crate::http::{assert_problem, client, json};

/// The operator's admin token the test broker is given.
const ADMIN_TOKEN: &str = "operator-token-for-the-broker-tests";

/// The event the test publishes: a step of one key's sequence.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Step {
    key: String,
    n: u32,
    poison: bool,
}

/// A consumer that fails a share of deliveries at random, refuses poison until cured, and
/// records what it applied, once per event id.
#[derive(Default)]
struct Consumer {
    failure_rate: f64,
    cured: bool,
    applied: BTreeMap<String, Vec<u32>>,
    seen: BTreeSet<String>,
    deliveries: u64,
}

async fn consume(State(consumer): State<Arc<Mutex<Consumer>>>, pushed: Pushed<Step>) -> StatusCode {
    let mut consumer = consumer.lock().unwrap();
    consumer.deliveries += 1;
    if pushed.payload.poison && !consumer.cured {
        return StatusCode::BAD_REQUEST;
    }
    if fastrand::f64() < consumer.failure_rate {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    if consumer.seen.insert(pushed.event_id) {
        consumer.applied.entry(pushed.payload.key).or_default().push(pushed.payload.n);
    }
    StatusCode::NO_CONTENT
}

/// Serves a consumer of steps at `<url>/events`.
async fn start_consumer(failure_rate: f64) -> (Served, Arc<Mutex<Consumer>>) {
    let consumer = Arc::new(Mutex::new(Consumer { failure_rate, ..Consumer::default() }));
    let app = Router::new().route("/events", post(consume)).with_state(consumer.clone());
    (Served::start(app).await, consumer)
}

/// How many steps `consumer` applied.
fn applied(consumer: &Consumer) -> usize {
    consumer.applied.values().map(Vec::len).sum()
}

/// A source system with an outbox, the broker, a consumer and the relay between them.
struct Pipeline {
    source: TestDb,
    broker_store: TestDb,
    broker: BrokerService,
    broker_url: String,
    consumer: Arc<Mutex<Consumer>>,
    shutdown: CancellationToken,
    _served: Vec<Served>,
}

const OUTBOX: &str = "CREATE TABLE outbox (id TEXT PRIMARY KEY, topic TEXT NOT NULL, ordering_key TEXT NOT NULL, \
     payload TEXT NOT NULL, attributes TEXT NOT NULL, created_at BIGINT NOT NULL, published_at BIGINT)";

impl Pipeline {
    async fn start(backend: Backend, failure_rate: f64, max_attempts: u32) -> Pipeline {
        static NO_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate::Migrator::DEFAULT;
        let source = TestDb::open(backend, "source", &NO_MIGRATIONS).await;
        sqlx::query(OUTBOX).execute(source.db.pool()).await.unwrap();
        let broker_store = TestDb::open(backend, "broker", &broker::MIGRATOR).await;
        let settings = broker::Settings {
            max_attempts,
            push: PushSettings {
                retry_base_ms: 5,
                retry_max_ms: 40,
                ack_deadline_ms: 2_000,
                idle_poll_ms: 20,
                batch: 32,
            },
            ..broker::Settings::default()
        };
        let broker = BrokerService::new(&broker_store.db, &settings, Arc::new(SystemClock), None);
        let (consumer_server, consumer) = start_consumer(failure_rate).await;
        let faults = Faults::new(FaultSettings::default(), Some(&ADMIN_TOKEN.into()));
        let broker_server = Served::start(broker.router(&broker_store.db, &faults)).await;
        let subscription = Subscription {
            name: "test-steps".into(),
            topic: "steps".into(),
            endpoint: format!("{}/events", consumer_server.url),
            max_attempts,
        };
        broker.queue().subscribe(&subscription).await.unwrap();
        let shutdown = CancellationToken::new();
        tokio::spawn(broker.clone().run(shutdown.clone()));
        let broker_url = broker_server.url.clone();
        Pipeline {
            source,
            broker_store,
            broker,
            broker_url,
            consumer,
            shutdown,
            _served: vec![consumer_server, broker_server],
        }
    }

    /// Writes steps to the outbox as a source system would, in one transaction each.
    async fn write(&self, steps: &[Step]) {
        for step in steps {
            let mut tx = self.source.db.begin_write().await.unwrap();
            let event = OutboxEvent::new("steps", "step.done", &step.key, step).unwrap();
            event.append(&mut tx, OffsetDateTime::now_utc()).await.unwrap();
            tx.commit().await.unwrap();
        }
    }

    fn relay(&self) -> Relay {
        Relay::new(self.source.db.clone(), Arc::new(self.broker.queue().clone()), Arc::new(SystemClock))
    }

    async fn stats(&self) -> Value {
        json(client().get(format!("{}/v1/stats", self.broker_url)).send().await.unwrap(), StatusCode::OK).await[0]
            .clone()
    }

    /// Polls until `done` holds, for at most a minute.
    async fn wait_until(&self, what: &str, done: impl Fn(&Consumer) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while !done(&self.consumer.lock().unwrap()) {
            assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Writes steps and relays them into the broker.
    async fn publish(&self, steps: &[Step]) {
        self.write(steps).await;
        while self.relay().relay_once().await.unwrap() > 0 {}
    }

    /// `PUT /v1/subscriptions/test-steps` with `body`, as an operator holding `token`.
    async fn put_subscription(&self, token: Option<&str>, body: Value) -> reqwest::Response {
        let mut request = client().put(format!("{}/v1/subscriptions/test-steps", self.broker_url)).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    async fn dead_letters(&self) -> Vec<Value> {
        let url = format!("{}/v1/dead-letters?subscription=test-steps", self.broker_url);
        json(client().get(url).send().await.unwrap(), StatusCode::OK).await.as_array().unwrap().clone()
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

fn steps(keys: u32, per_key: u32, poison: &[(u32, u32)]) -> Vec<Step> {
    (0..per_key)
        .flat_map(|n| (0..keys).map(move |k| (k, n)))
        .map(|(k, n)| Step { key: format!("key-{k}"), n, poison: poison.contains(&(k, n)) })
        .collect()
}

#[tokio::test]
async fn every_event_arrives_once_in_effect_and_in_order_despite_failures() {
    on_each_backend(|backend| async move {
        let pipeline = Pipeline::start(backend, 0.2, 50).await;
        let written = steps(20, 10, &[]);
        pipeline.write(&written).await;
        let relay = pipeline.relay();
        while relay.relay_once().await.unwrap() > 0 {}
        pipeline.wait_until("all 200 steps", |c| c.applied.values().map(Vec::len).sum::<usize>() == 200).await;

        {
            let consumer = pipeline.consumer.lock().unwrap();
            for (key, applied) in &consumer.applied {
                assert_eq!(applied, &(0..10).collect::<Vec<_>>(), "{key}: every step once, in order");
            }
            assert!(consumer.deliveries > 200, "some deliveries failed and were retried ({})", consumer.deliveries);
        }
        assert_eq!(relay.relay_once().await.unwrap(), 0, "every outbox row is marked published");
        let stats = pipeline.stats().await;
        assert_eq!((stats["backlog"].as_u64(), stats["dead_letters"].as_u64()), (Some(0), Some(0)), "{stats}");
        assert_eq!(stats["acked_recently"], 200);
    })
    .await;
}

#[tokio::test]
async fn poison_is_dead_lettered_without_blocking_its_key_and_replays() {
    on_each_backend(|backend| async move {
        let pipeline = Pipeline::start(backend, 0.0, 3).await;
        pipeline.write(&steps(3, 4, &[(1, 1)])).await;
        while pipeline.relay().relay_once().await.unwrap() > 0 {}
        pipeline
            .wait_until("the eleven healthy steps", |c| c.applied.values().map(Vec::len).sum::<usize>() == 11)
            .await;
        let dead = pipeline.dead_letters().await;
        assert_eq!(dead.len(), 1, "{dead:?}");
        assert_eq!(dead[0]["attempts"], 3);
        assert!(dead[0]["last_error"].as_str().unwrap().starts_with("400"), "{}", dead[0]);
        assert!(dead[0]["data"].as_str().unwrap().contains("\"poison\":true"));
        assert_eq!(pipeline.consumer.lock().unwrap().applied["key-1"], vec![0, 2, 3], "later steps went on");

        pipeline.consumer.lock().unwrap().cured = true;
        let replay = client()
            .post(format!("{}/v1/subscriptions/test-steps/replay", pipeline.broker_url))
            .bearer_auth(ADMIN_TOKEN)
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(json(replay, StatusCode::OK).await["replayed"], 1);
        pipeline.wait_until("the replayed step", |c| c.applied["key-1"].len() == 4).await;
        assert!(pipeline.dead_letters().await.is_empty());
        let stats = pipeline.stats().await;
        assert_eq!((stats["backlog"].as_u64(), stats["dead_letters"].as_u64()), (Some(0), Some(0)), "{stats}");
    })
    .await;
}

#[tokio::test]
async fn a_relay_restart_loses_nothing_and_duplicates_nothing() {
    on_each_backend(|backend| async move {
        let pipeline = Pipeline::start(backend, 0.0, 5).await;
        pipeline.write(&steps(5, 30, &[])).await;
        // The first relay publishes one round, then "dies"; a second one takes over.
        assert_eq!(pipeline.relay().relay_once().await.unwrap(), 100);
        // A crash between publishing and marking: the row is published again.
        sqlx::query(
            "UPDATE outbox SET published_at = NULL WHERE id IN (SELECT id FROM outbox ORDER BY created_at, id LIMIT 7)",
        )
        .execute(pipeline.source.db.pool())
        .await
        .unwrap();
        let second = pipeline.relay();
        while second.relay_once().await.unwrap() > 0 {}
        pipeline.wait_until("all 150 steps", |c| c.applied.values().map(Vec::len).sum::<usize>() == 150).await;
        let messages: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM messages")
            .fetch_one(pipeline.broker_store.db.pool())
            .await
            .unwrap();
        assert_eq!(messages, 150, "a republished event is stored once");
        for applied in pipeline.consumer.lock().unwrap().applied.values() {
            assert_eq!(applied, &(0..30).collect::<Vec<_>>());
        }
    })
    .await;
}

#[tokio::test]
async fn publishing_speaks_pubsubs_rest_call() {
    let pipeline = Pipeline::start(Backend::Sqlite, 0.0, 5).await;
    let body = serde_json::json!({"messages": [{
        "data": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, br#"{"key":"k","n":0,"poison":false}"#),
        "attributes": {"event_id": "evt_rest", "type": "step.done"},
        "orderingKey": "k",
    }]});
    let url = format!("{}/v1/projects/boutique/topics/steps:publish", pipeline.broker_url);
    let response = client().post(&url).json(&body).send().await.unwrap();
    assert_eq!(json(response, StatusCode::OK).await["messageIds"], serde_json::json!(["evt_rest"]));
    client().post(&url).json(&body).send().await.unwrap();
    pipeline.wait_until("the step", |c| c.applied.get("k").is_some_and(|a| a == &vec![0])).await;
    let bad = client().post(&url).json(&serde_json::json!({"messages": [{"data": "%%%"}]})).send().await.unwrap();
    crate::http::assert_problem(bad, StatusCode::UNPROCESSABLE_ENTITY, Some("messages[0].data")).await;
}

#[tokio::test]
async fn a_changed_subscription_applies_to_the_running_pushers_at_once() {
    on_each_backend(|backend| async move {
        let pipeline = Pipeline::start(backend, 0.0, 5).await;
        pipeline.publish(&steps(1, 1, &[])).await;
        pipeline.wait_until("the first step at the first endpoint", |c| applied(c) == 1).await;

        let (moved_server, moved) = start_consumer(0.0).await;
        let body = serde_json::json!({"topic": "steps", "endpoint": format!("{}/events", moved_server.url)});
        let changed = json(pipeline.put_subscription(Some(ADMIN_TOKEN), body).await, StatusCode::OK).await;
        assert_eq!(changed["endpoint"], format!("{}/events", moved_server.url));

        let next = Step { key: "key-0".into(), n: 1, poison: false };
        pipeline.publish(std::slice::from_ref(&next)).await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while applied(&moved.lock().unwrap()) == 0 {
            assert!(tokio::time::Instant::now() < deadline, "the next step never reached the new endpoint");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(moved.lock().unwrap().applied["key-0"], vec![1], "the new endpoint got the next step");
        let old = pipeline.consumer.lock().unwrap();
        assert_eq!((applied(&old), old.deliveries), (1, 1), "nothing more went to the old endpoint");
    })
    .await;
}

#[tokio::test]
async fn changing_subscriptions_and_replaying_take_the_operators_token() {
    let pipeline = Pipeline::start(Backend::Sqlite, 0.0, 5).await;
    let body = serde_json::json!({"topic": "steps", "endpoint": "http://127.0.0.1:9/stolen"});
    for token in [None, Some("not-the-operator-token")] {
        let response = pipeline.put_subscription(token, body.clone()).await;
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        let problem = assert_problem(response, StatusCode::UNAUTHORIZED, None).await;
        assert!(problem["detail"].as_str().unwrap().contains("Authorization: Bearer"), "{problem}");
        let replay = client()
            .post(format!("{}/v1/subscriptions/test-steps/replay", pipeline.broker_url))
            .json(&serde_json::json!({}));
        let replay = match token {
            Some(token) => replay.bearer_auth(token),
            None => replay,
        };
        assert_problem(replay.send().await.unwrap(), StatusCode::UNAUTHORIZED, None).await;
    }
    let listed = client().get(format!("{}/v1/subscriptions", pipeline.broker_url)).send().await.unwrap();
    let listed = json(listed, StatusCode::OK).await;
    assert!(listed[0]["endpoint"].as_str().unwrap().ends_with("/events"), "the feed was not redirected: {listed}");

    let openapi = client().get(format!("{}/openapi.json", pipeline.broker_url)).send().await.unwrap();
    let openapi = json(openapi, StatusCode::OK).await;
    assert_eq!(openapi["components"]["securitySchemes"]["operator"]["scheme"], "bearer", "{openapi}");
    for (path, method) in [("/v1/subscriptions/{name}", "put"), ("/v1/subscriptions/{name}/replay", "post")] {
        let operation = &openapi["paths"][path][method];
        assert_eq!(operation["security"], serde_json::json!([{"operator": []}]), "{path}");
        assert!(operation["responses"]["401"].is_object(), "{path} documents its 401");
    }

    // With no token configured, the admin writes are closed to everyone.
    let closed = Served::start(pipeline.broker.router(&pipeline.broker_store.db, &Faults::default())).await;
    let response = client()
        .put(format!("{}/v1/subscriptions/test-steps", closed.url))
        .bearer_auth(ADMIN_TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::FORBIDDEN, None).await;
}
