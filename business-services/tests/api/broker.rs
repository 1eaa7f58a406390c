//! The event broker backends over their conformance suite: [`queue_conformance`] asserts what
//! the `Queue` trait documents, on any backend (NATS here when a server answers; the embedded
//! backend runs it too); a running pusher follows a changed subscription on each backend; and
//! the Pub/Sub publisher is checked against a fake Pub/Sub and a fake OAuth token endpoint.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use business_services::broker;
use business_services::broker::embedded::EmbeddedQueue;
use business_services::broker::nats::NatsQueue;
use business_services::broker::pubsub::{PubSubAuth, PubSubPublisher, SCOPE};
use business_services::broker::push::{PushSettings, Pusher};
use business_services::broker::queue::{Delivery, Queue, Subscription, SubscriptionStats};
use business_services::platform::clock::SystemClock;
use business_services::platform::events::Publisher;
use business_services::platform::events::{Message, Pushed};
use business_services::platform::testing;
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::harness::{Served, TestDb};

/// How long the suite waits for something the backend does asynchronously.
const PATIENCE: Duration = Duration::from_secs(15);
const LONG_LEASE: Duration = Duration::from_secs(30);

fn message(topic: &str, key: &str, label: &str) -> Message {
    Message {
        id: format!("evt_{}", uuid::Uuid::new_v4().simple()),
        topic: topic.to_owned(),
        ordering_key: key.to_owned(),
        data: serde_json::to_vec(&json!({ "label": label, "text": "é ✓" })).unwrap(),
        attributes: BTreeMap::from([
            ("type".to_owned(), "test.happened".to_owned()),
            ("traceparent".to_owned(), "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".to_owned()),
        ]),
        publish_time: OffsetDateTime::now_utc(),
    }
}

async fn subscribe(queue: &dyn Queue, topic: &str, name: &str, max_attempts: u32) -> String {
    let subscription = Subscription {
        name: name.to_owned(),
        topic: topic.to_owned(),
        endpoint: "http://127.0.0.1:9/events".to_owned(),
        max_attempts,
    };
    queue.subscribe(&subscription).await.unwrap();
    name.to_owned()
}

/// Leases until a delivery of `id` comes, returning everything leased on the way.
async fn lease_until(queue: &dyn Queue, subscription: &str, id: &str, lease: Duration) -> Vec<Delivery> {
    let deadline = Instant::now() + PATIENCE;
    let mut leased = Vec::new();
    loop {
        leased.extend(queue.lease(subscription, 10, lease).await.unwrap());
        if leased.iter().any(|d| d.message.id == id) {
            return leased;
        }
        assert!(Instant::now() < deadline, "{id} was not delivered on {subscription} within {PATIENCE:?}: {leased:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn find<'a>(deliveries: &'a [Delivery], id: &str) -> &'a Delivery {
    deliveries.iter().find(|d| d.message.id == id).unwrap()
}

async fn stats_of(queue: &dyn Queue, subscription: &str) -> SubscriptionStats {
    queue.stats().await.unwrap().into_iter().find(|s| s.subscription == subscription).unwrap()
}

/// Waits until the subscription's stats satisfy `check`.
async fn stats_until(
    queue: &dyn Queue,
    subscription: &str,
    check: impl Fn(&SubscriptionStats) -> bool,
) -> SubscriptionStats {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let stats = stats_of(queue, subscription).await;
        if check(&stats) {
            return stats;
        }
        assert!(Instant::now() < deadline, "stats of {subscription} never got there: {stats:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn assert_intact(delivered: &Message, published: &Message) {
    assert_eq!(delivered.id, published.id);
    assert_eq!(delivered.topic, published.topic);
    assert_eq!(delivered.ordering_key, published.ordering_key);
    assert_eq!(delivered.data, published.data);
    assert_eq!(delivered.attributes, published.attributes);
    let drift = (delivered.publish_time - published.publish_time).abs();
    assert!(drift < time::Duration::seconds(1), "publish time moved by {drift}");
}

/// Asserts the semantics the `Queue` trait documents. Each part uses its own topic, named
/// `<topic>_<part>`, so their subscriptions do not see each other's messages.
pub async fn queue_conformance(queue: &dyn Queue, topic: &str) {
    delivers_intact_once_and_acks(queue, &format!("{topic}_basic")).await;
    redelivers_after_a_nack_no_earlier_than_asked(queue, &format!("{topic}_retry")).await;
    keeps_per_key_order(queue, &format!("{topic}_order")).await;
    redelivers_when_a_lease_expires(queue, &format!("{topic}_lease")).await;
    dead_letters_and_replays(queue, &format!("{topic}_dead")).await;
    a_changed_subscription_is_read_back_and_applies(queue, &format!("{topic}_changed")).await;
}

async fn delivers_intact_once_and_acks(queue: &dyn Queue, topic: &str) {
    let subscription = subscribe(queue, topic, &format!("{topic}-sub"), 3).await;
    let (a, b) = (message(topic, "k-a", "a"), message(topic, "k-b", "b"));
    queue.publish(&a).await.unwrap();
    queue.publish(&a).await.unwrap();
    queue.publish(&b).await.unwrap();

    let mut leased = lease_until(queue, &subscription, &a.id, LONG_LEASE).await;
    if !leased.iter().any(|d| d.message.id == b.id) {
        leased.extend(lease_until(queue, &subscription, &b.id, LONG_LEASE).await);
    }
    let delivered = find(&leased, &a.id);
    assert_intact(&delivered.message, &a);
    assert_eq!((delivered.attempts, delivered.subscription.as_str()), (0, subscription.as_str()));
    assert_eq!(leased.iter().filter(|d| d.message.id == a.id).count(), 1, "a duplicate id was delivered twice");
    assert!(queue.lease(&subscription, 10, LONG_LEASE).await.unwrap().is_empty(), "leased messages came again");

    let stats = stats_until(queue, &subscription, |s| s.backlog == 2).await;
    assert!(stats.oldest_unacked_ms < 60_000, "{stats:?}");
    assert_eq!(stats.dead_letters, 0);
    for delivery in &leased {
        queue.ack(delivery).await.unwrap();
    }
    let stats = stats_until(queue, &subscription, |s| s.backlog == 0).await;
    assert_eq!(stats.oldest_unacked_ms, 0, "{stats:?}");
    assert!(stats.acked_recently >= 2, "{stats:?}");
    assert!(stats.max_delivery_lag_ms >= stats.mean_delivery_lag_ms, "{stats:?}");
    assert!(queue.lease(&subscription, 10, LONG_LEASE).await.unwrap().is_empty(), "acked messages came again");
}

async fn redelivers_after_a_nack_no_earlier_than_asked(queue: &dyn Queue, topic: &str) {
    let subscription = subscribe(queue, topic, &format!("{topic}-sub"), 5).await;
    let c = message(topic, "k-c", "c");
    queue.publish(&c).await.unwrap();
    let leased = lease_until(queue, &subscription, &c.id, LONG_LEASE).await;
    let retry_in = Duration::from_millis(1500);
    let nacked_at = Instant::now();
    assert!(!queue.nack(find(&leased, &c.id), retry_in, "503 from the endpoint").await.unwrap());
    assert!(queue.lease(&subscription, 10, LONG_LEASE).await.unwrap().is_empty(), "redelivered at once");

    let leased = lease_until(queue, &subscription, &c.id, LONG_LEASE).await;
    let waited = nacked_at.elapsed();
    assert!(waited + Duration::from_millis(100) >= retry_in, "redelivered after {waited:?}");
    let again = find(&leased, &c.id);
    assert_eq!(again.attempts, 1);
    assert_intact(&again.message, &c);
    queue.ack(again).await.unwrap();
    stats_until(queue, &subscription, |s| s.backlog == 0).await;
}

async fn keeps_per_key_order(queue: &dyn Queue, topic: &str) {
    let subscription = subscribe(queue, topic, &format!("{topic}-sub"), 5).await;
    let (k1a, k1b, k2a) = (message(topic, "k1", "k1-a"), message(topic, "k1", "k1-b"), message(topic, "k2", "k2-a"));
    for m in [&k1a, &k1b, &k2a] {
        queue.publish(m).await.unwrap();
    }
    let mut leased = lease_until(queue, &subscription, &k1a.id, LONG_LEASE).await;
    if !leased.iter().any(|d| d.message.id == k2a.id) {
        leased.extend(lease_until(queue, &subscription, &k2a.id, LONG_LEASE).await);
    }
    leased.extend(queue.lease(&subscription, 10, LONG_LEASE).await.unwrap());
    assert!(!leased.iter().any(|d| d.message.id == k1b.id), "k1-b was handed out while k1-a was unacked");

    // A retry keeps the key busy too.
    assert!(!queue.nack(find(&leased, &k1a.id), Duration::from_millis(200), "try again").await.unwrap());
    let retried = lease_until(queue, &subscription, &k1a.id, LONG_LEASE).await;
    assert!(!retried.iter().any(|d| d.message.id == k1b.id), "k1-b overtook k1-a's retry");
    queue.ack(find(&retried, &k1a.id)).await.unwrap();

    let later = lease_until(queue, &subscription, &k1b.id, LONG_LEASE).await;
    let b = find(&later, &k1b.id);
    assert_eq!(b.attempts, 0, "waiting behind k1-a is not an attempt");
    assert_intact(&b.message, &k1b);
    queue.ack(b).await.unwrap();
    queue.ack(find(&leased, &k2a.id)).await.unwrap();
    stats_until(queue, &subscription, |s| s.backlog == 0).await;
}

async fn redelivers_when_a_lease_expires(queue: &dyn Queue, topic: &str) {
    let subscription = subscribe(queue, topic, &format!("{topic}-sub"), 5).await;
    let d = message(topic, "k-d", "d");
    queue.publish(&d).await.unwrap();
    let lease = Duration::from_secs(1);
    let first = lease_until(queue, &subscription, &d.id, lease).await;
    assert_eq!(find(&first, &d.id).attempts, 0);
    let leased_at = Instant::now();
    let again = lease_until(queue, &subscription, &d.id, lease).await;
    assert!(leased_at.elapsed() + Duration::from_millis(100) >= lease, "redelivered inside the lease");
    let again = find(&again, &d.id);
    assert_eq!(again.attempts, 1);
    queue.ack(again).await.unwrap();
    stats_until(queue, &subscription, |s| s.backlog == 0).await;
}

async fn dead_letters_and_replays(queue: &dyn Queue, topic: &str) {
    let subscription = subscribe(queue, topic, &format!("{topic}-sub"), 2).await;
    let bystander = subscribe(queue, topic, &format!("{topic}-other"), 2).await;
    let e = message(topic, "k-e", "e");
    queue.publish(&e).await.unwrap();
    let seen = lease_until(queue, &bystander, &e.id, LONG_LEASE).await;
    queue.ack(find(&seen, &e.id)).await.unwrap();

    let first = lease_until(queue, &subscription, &e.id, LONG_LEASE).await;
    assert!(!queue.nack(find(&first, &e.id), Duration::from_millis(10), "HTTP 500: first").await.unwrap());
    let last = lease_until(queue, &subscription, &e.id, LONG_LEASE).await;
    let last = find(&last, &e.id);
    assert_eq!(last.attempts, 1);
    assert!(queue.nack(last, Duration::from_millis(10), "HTTP 500: still broken").await.unwrap(), "not dead-lettered");

    let dead = queue.dead_letters(Some(&subscription), 10).await.unwrap();
    assert_eq!(dead.len(), 1, "{dead:?}");
    let letter = &dead[0];
    assert_eq!((letter.subscription.as_str(), letter.message_id.as_str()), (subscription.as_str(), e.id.as_str()));
    assert_eq!((letter.topic.as_str(), letter.ordering_key.as_str()), (topic, "k-e"));
    assert_eq!(letter.attributes, e.attributes);
    assert_eq!(letter.data.as_bytes(), e.data.as_slice());
    assert_eq!(letter.attempts, 2);
    assert!(letter.last_error.contains("still broken"), "{letter:?}");
    assert!(queue.dead_letters(None, 1000).await.unwrap().iter().any(|l| l.message_id == e.id));
    assert!(queue.dead_letters(Some(&bystander), 10).await.unwrap().is_empty());
    let stats = stats_until(queue, &subscription, |s| s.backlog == 0).await;
    assert_eq!(stats.dead_letters, 1, "{stats:?}");
    assert!(queue.lease(&subscription, 10, LONG_LEASE).await.unwrap().is_empty(), "a dead letter was delivered");

    assert_eq!(queue.replay(&subscription, Some("evt_unknown")).await.unwrap(), 0);
    assert_eq!(queue.replay(&subscription, Some(&e.id)).await.unwrap(), 1);
    assert!(queue.dead_letters(Some(&subscription), 10).await.unwrap().is_empty());
    let replayed = lease_until(queue, &subscription, &e.id, LONG_LEASE).await;
    let replayed = find(&replayed, &e.id);
    assert_eq!(replayed.attempts, 0, "a replay starts with fresh attempts");
    assert_intact(&replayed.message, &e);
    queue.ack(replayed).await.unwrap();
    let stats = stats_until(queue, &subscription, |s| s.backlog == 0).await;
    assert_eq!(stats.dead_letters, 0, "{stats:?}");
    assert!(
        !queue.lease(&bystander, 10, LONG_LEASE).await.unwrap().iter().any(|d| d.message.id == e.id),
        "a replay reached another subscription"
    );
    assert_eq!(queue.replay(&subscription, None).await.unwrap(), 0);
}

async fn a_changed_subscription_is_read_back_and_applies(queue: &dyn Queue, topic: &str) {
    let name = subscribe(queue, topic, &format!("{topic}-sub"), 5).await;
    assert_eq!(queue.subscription(&name).await.unwrap().endpoint, "http://127.0.0.1:9/events");
    let changed = Subscription {
        name: name.clone(),
        topic: topic.to_owned(),
        endpoint: "http://127.0.0.1:9/moved".to_owned(),
        max_attempts: 1,
    };
    queue.subscribe(&changed).await.unwrap();
    assert_eq!(queue.subscription(&name).await.unwrap(), changed);
    let error = queue.subscription(&format!("{topic}-none")).await.unwrap_err().to_string();
    assert!(error.contains("not found"), "{error}");

    let f = message(topic, "k-f", "f");
    queue.publish(&f).await.unwrap();
    let leased = lease_until(queue, &name, &f.id, LONG_LEASE).await;
    let dead = queue.nack(find(&leased, &f.id), Duration::from_millis(10), "HTTP 500").await.unwrap();
    assert!(dead, "the lowered attempts did not apply: dead-lettered after one");
}

/// Endpoints that record the ids of the messages pushed to them, per path.
type Received = Arc<Mutex<BTreeMap<String, Vec<String>>>>;

async fn receive(State(received): State<Received>, Path(endpoint): Path<String>, pushed: Pushed<Value>) -> StatusCode {
    received.lock().unwrap().entry(endpoint).or_default().push(pushed.event_id);
    StatusCode::NO_CONTENT
}

/// Polls until `endpoint` received the message `id`.
async fn received_at(received: &Received, endpoint: &str, id: &str) {
    let deadline = Instant::now() + PATIENCE;
    while !received.lock().unwrap().get(endpoint).is_some_and(|ids| ids.iter().any(|got| got == id)) {
        assert!(Instant::now() < deadline, "{id} never reached {endpoint}: {:?}", received.lock().unwrap());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A pusher delivering to one endpoint keeps running while the subscription is moved to
/// another: the next message goes to the new one, and nothing more to the old.
async fn a_running_pusher_follows_a_changed_endpoint(queue: Arc<dyn Queue>, topic: &str) {
    let received = Received::default();
    let endpoints = Served::start(Router::new().route("/{endpoint}", post(receive)).with_state(received.clone())).await;
    let mut subscription = Subscription {
        name: format!("{topic}-sub"),
        topic: topic.to_owned(),
        endpoint: format!("{}/old", endpoints.url),
        max_attempts: 5,
    };
    queue.subscribe(&subscription).await.unwrap();
    let settings = PushSettings { idle_poll_ms: 20, retry_base_ms: 10, retry_max_ms: 50, ..PushSettings::default() };
    let shutdown = CancellationToken::new();
    let pusher = Pusher::new(queue.clone(), settings, None, Arc::new(Notify::new()));
    tokio::spawn(pusher.run(subscription.name.clone(), shutdown.clone()));
    let _stop = shutdown.drop_guard();

    let first = message(topic, "k", "first");
    queue.publish(&first).await.unwrap();
    received_at(&received, "old", &first.id).await;

    subscription.endpoint = format!("{}/new", endpoints.url);
    queue.subscribe(&subscription).await.unwrap();
    let next = message(topic, "k", "next");
    queue.publish(&next).await.unwrap();
    received_at(&received, "new", &next.id).await;
    assert_eq!(received.lock().unwrap()["old"], vec![first.id], "the old endpoint got only the first");
}

#[tokio::test]
async fn a_running_pusher_follows_a_changed_endpoint_on_the_embedded_queue() {
    testing::on_each_backend(|backend| async move {
        let store = TestDb::open(backend, "broker", &broker::MIGRATOR).await;
        let queue = Arc::new(EmbeddedQueue::new(store.db.clone(), Arc::new(SystemClock)));
        a_running_pusher_follows_a_changed_endpoint(queue, "moving").await;
    })
    .await;
}

#[tokio::test]
async fn a_running_pusher_follows_a_changed_endpoint_on_nats() {
    on_nats(|queue| async move { a_running_pusher_follows_a_changed_endpoint(queue, "moving").await }).await;
}

/// Runs `scenario` on a fresh NATS prefix, then deletes its streams even when it failed.
async fn on_nats<F, Fut>(scenario: F)
where
    F: FnOnce(Arc<NatsQueue>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    if !testing::nats_available() {
        return;
    }
    let prefix = format!("test{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let queue = Arc::new(NatsQueue::connect(&testing::nats_url(), &prefix).await.unwrap());
    let outcome = tokio::spawn(scenario(queue.clone())).await;
    queue.delete_streams().await.unwrap();
    if let Err(failure) = outcome {
        std::panic::resume_unwind(failure.into_panic());
    }
}

#[tokio::test]
async fn the_embedded_queue_passes_the_queue_conformance_suite() {
    testing::on_each_backend(|backend| async move {
        let store = TestDb::open(backend, "broker", &broker::MIGRATOR).await;
        let queue = EmbeddedQueue::new(store.db.clone(), Arc::new(SystemClock));
        queue_conformance(&queue, "events").await;
    })
    .await;
}

#[tokio::test]
async fn nats_jetstream_passes_the_queue_conformance_suite() {
    on_nats(|queue| async move {
        queue_conformance(queue.as_ref(), "events").await;

        // Another process finds the subscriptions on the server.
        let other = NatsQueue::connect(&testing::nats_url(), queue.prefix()).await.unwrap();
        let m = message("events_basic", "k", "later");
        other.publish(&m).await.unwrap();
        let leased = lease_until(&other, "events_basic-sub", &m.id, LONG_LEASE).await;
        other.ack(find(&leased, &m.id)).await.unwrap();

        // A change made by another process is what this one reads next.
        let mut changed = other.subscription("events_basic-sub").await.unwrap();
        changed.endpoint = "http://127.0.0.1:9/elsewhere".into();
        changed.max_attempts = 2;
        other.subscribe(&changed).await.unwrap();
        assert_eq!(queue.subscription("events_basic-sub").await.unwrap(), changed);
    })
    .await;
}

#[tokio::test]
async fn nats_rejects_names_that_do_not_fit_in_subjects() {
    on_nats(|queue| async move {
        let error = queue.publish(&message("orders.>", "k", "x")).await.unwrap_err().to_string();
        assert!(error.starts_with("topic:"), "{error}");
        let error = queue.lease("no-such-subscription", 1, LONG_LEASE).await.unwrap_err().to_string();
        assert!(error.contains("not found"), "{error}");
    })
    .await;
}

/// A private key made for these tests only (RSA 2048, PKCS#8); it protects nothing.
const TEST_KEY: &str = "-----BEGIN PRIVATE KEY-----\nMIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQCviQwdaT8SI42m\nIdvILpi1Q61xnl28VlH8kEv4fEXZptsB5K3W8x2/poWPE9p2/5DlgKh+QIX9rqgS\nBgFLG8Ew1SSl5NGEDOjG0jXcExTzHOIsUvpoKGDlxE+DlL8P5NjDXN5I0Mp5JWDS\nTUuy50791jKXpt1m6k9rtRR6XLAo39zXRfiu0+cKF7uSNwcgBnheysbA6PFogonK\nTLc6QaelHrY3bbdB7KzonCftV96bnDOv3bbTCXcJue8/cp+lDse7jdq6qX6DUTW1\nS4232maCUw87DBbObotygrxbSIwD1KxcCj7MgITTDcspodJMlxcy/T8NCPXbRkbC\nDRsYQ5JrAgMBAAECggEACizglefe7xc+g83cpqsE0SUeLcLnXh6G3CQlMz9I8Uf5\n1A9EgHxRUiW+AkA9Xr6L0LH3knH9EmqIdZsBgjAWr9T7Ld6owoXZDIVs99fnU/xt\no/Ifb+A/VbJehZsexDYY1qJQhFoOEp23EhnG9JTyAEblYeMbXHbiqbSyfjFXSNcw\nj0pMbsupU7XGkgKpaGN8VTXEcQ69IU6F8N4o/1voSpVurNk+N68p/uXI5MGyXfCq\nG6vA/PX7/BpaVzxYEMIl+RnxlXatFuA3PtMHLkdJE/TlmlEE7jVsPl7aTne5mlXv\n9xTloHEUzTuXYNRbhvSSGpqrdfknGDM79VDt3mQIuQKBgQDpAqMwp2AbN8FymrSF\n814bJTGlS23SjCG3VoN9LAbnzo/fSCqFI27JeRnJWBftSXK/8WTsYR9zpGnsWhK4\ndUQ4w+m9O5VMcQgdosRYptJTpfXBsnx9xCrWmpaPFLR2UMyhvfHXLDZM5Nfs0yKB\nq+Hv3TRtXujLExlFjoBy/62TVwKBgQDA2rXNjGYbyLGkShwMqQ9IFhQzh7r9bysq\nf+ijRxwcuwQBtLWc7loyAPGA2JidUJwj3mwT6kSEO3FnqoAX5mSwToHnfh4y6QZO\nYgZ/2DGPPUR3kWn6zVLWe6oXwgcbsU9zVZjcya9IA79cyxfaaU9DBN5yFVHkvnM1\n3Dl9WgZBDQKBgHNZ9ufTNGTFCWNu6weVH3VYyGcIHGorLVXR4m5JKXIAdIEY/NPE\nYsgix31BuzahMcmL+2Z5/lQFhNqZDMN8ajWf50rjAFpDar0hIwqwK1d1xWAKuE6a\nmop7JSXYHi6keWlo2xymqosOj0aSj3aaXNOeMqIiZiSCY/RnQ3eq04cpAoGBAJwK\nmt10w02pxmpa+HUZ+V5nVvMW2Kqk33VkxzQNnmZ0v1ouAGC4zsv0zXNmTZ3EEoJH\nPoWioMupWSn63+f2p/OrohpPhlnFCDA1ynJ42CjA9vwT8X9X0LXwm4Dbomq6vcFh\nOe0zVxraxWRsg6FaYiKk9uOx8nA11Px4cx/EzpilAoGBAItA8D4RQaJYAQIDJkP1\nhZVMZ0s/6GlwaToQ+F3wsXLgSSyRMy7uJVlUfRqOHT3gyHofvv9fCzaYGXN2K9SR\n8mmpOPG6cyPURcTqbrpigSsupRKyLnUpRbzLQmTHUztHtRKxW+zcOK6J5Dzu8Pa3\nR1Ukqr9fMc8LhsBxup4jlXp2\n-----END PRIVATE KEY-----";

/// What the fake Pub/Sub and OAuth endpoints saw.
#[derive(Default)]
struct Seen {
    published: Vec<(String, Value)>,
    token_requests: Vec<Value>,
    failures_left: u32,
}

type Shared = Arc<Mutex<Seen>>;

async fn fake_publish(
    State(seen): State<Shared>,
    Path((project, topic)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::Json<Value>,
) -> Response {
    let mut seen = seen.lock().unwrap();
    let Some(topic) = topic.strip_suffix(":publish") else { return StatusCode::NOT_FOUND.into_response() };
    if topic == "missing" {
        return StatusCode::NOT_FOUND.into_response();
    }
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if project == "secured" && authorization != "Bearer token-1" {
        return (StatusCode::UNAUTHORIZED, "missing or wrong bearer token").into_response();
    }
    if seen.failures_left > 0 {
        seen.failures_left -= 1;
        return (StatusCode::SERVICE_UNAVAILABLE, "try later").into_response();
    }
    seen.published.push((format!("{project}/{topic}/{authorization}"), body.0));
    axum::Json(json!({ "messageIds": [seen.published.len().to_string()] })).into_response()
}

async fn fake_token(State(seen): State<Shared>, Form(form): Form<BTreeMap<String, String>>) -> Response {
    let claims = form
        .get("assertion")
        .and_then(|jwt| jwt.split('.').nth(1))
        .and_then(|payload| URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok())
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok());
    let Some(claims) = claims else { return (StatusCode::BAD_REQUEST, "no JWT assertion").into_response() };
    seen.lock().unwrap().token_requests.push(json!({ "grant_type": form.get("grant_type"), "claims": claims }));
    axum::Json(json!({ "access_token": "token-1", "expires_in": 3600, "token_type": "Bearer" })).into_response()
}

async fn fake_google() -> (Served, Shared) {
    let seen = Shared::default();
    let router = Router::new()
        .route("/v1/projects/{project}/topics/{topic}", post(fake_publish))
        .route("/token", post(fake_token))
        .with_state(seen.clone());
    (Served::start(router).await, seen)
}

#[tokio::test]
async fn pubsub_publishes_with_a_service_account_token() {
    let (google, seen) = fake_google().await;
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("key.json");
    let key = json!({
        "type": "service_account",
        "project_id": "secured",
        "private_key_id": "test",
        "private_key": TEST_KEY,
        "client_email": "relay@secured.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": format!("{}/token", google.url),
    });
    std::fs::write(&key_file, key.to_string()).unwrap();
    let auth = PubSubAuth::KeyFile(key_file);
    let publisher = PubSubPublisher::new(&google.url, "secured", auth, Duration::from_secs(5)).await.unwrap();

    let first = message("orders", "ord_1", "placed");
    publisher.publish(&first).await.unwrap();
    seen.lock().unwrap().failures_left = 1;
    let second = message("orders", "", "retried");
    publisher.publish(&second).await.unwrap();

    let seen = seen.lock().unwrap();
    assert_eq!(seen.token_requests.len(), 1, "the token is fetched once and reused");
    let token_request = &seen.token_requests[0];
    assert_eq!(token_request["grant_type"], "urn:ietf:params:oauth:grant-type:jwt-bearer");
    assert_eq!(token_request["claims"]["iss"], "relay@secured.iam.gserviceaccount.com");
    assert_eq!(token_request["claims"]["scope"], SCOPE);
    assert_eq!(seen.published.len(), 2, "a 503 is retried and the message published once");
    let (target, body) = &seen.published[0];
    assert_eq!(target, "secured/orders/Bearer token-1");
    let sent = &body["messages"][0];
    assert_eq!(STANDARD.decode(sent["data"].as_str().unwrap()).unwrap(), first.data);
    assert_eq!(sent["orderingKey"], "ord_1");
    assert_eq!(sent["attributes"]["event_id"], first.id.as_str());
    assert_eq!(sent["attributes"]["type"], "test.happened");
    assert!(seen.published[1].1["messages"][0].get("orderingKey").is_none(), "an empty key is left out");
}

#[tokio::test]
async fn pubsub_without_auth_sends_no_token_and_reports_missing_topics() {
    let (google, seen) = fake_google().await;
    let publisher =
        PubSubPublisher::new(&google.url, "emulated", PubSubAuth::None, Duration::from_secs(5)).await.unwrap();
    publisher.publish(&message("orders", "k", "x")).await.unwrap();
    assert_eq!(seen.lock().unwrap().published[0].0, "emulated/orders/");

    let error = publisher.publish(&message("missing", "k", "x")).await.unwrap_err().to_string();
    assert!(error.contains("projects/emulated/topics/missing does not exist"), "{error}");

    let secured = PubSubPublisher::new(&google.url, "secured", PubSubAuth::None, Duration::from_secs(5)).await.unwrap();
    let error = secured.publish(&message("orders", "k", "x")).await.unwrap_err().to_string();
    assert!(error.contains("401"), "{error}");

    let bad_key = PubSubAuth::KeyFile("/nonexistent/key.json".into());
    let error = PubSubPublisher::new(&google.url, "secured", bad_key, Duration::from_secs(5)).await.unwrap_err();
    assert!(error.to_string().starts_with("key_file:"), "{error}");
}
