//! Event broker: topics, push subscriptions, retries with backoff, dead letters. Backends:
//! embedded (durable, on the SQL store: the default), NATS JetStream, and Google Pub/Sub for
//! publishing (Pub/Sub pushes by itself, with the same envelope).
//!
//! Publishers write events to their outbox; a [`relay::Relay`] publishes them; a
//! [`push::Pusher`] per subscription POSTs them to consumers in Pub/Sub's push envelope.

pub mod api;
pub mod embedded;
pub mod nats;
pub mod pubsub;
pub mod push;
pub mod queue;
pub mod relay;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use serde::{Deserialize, Serialize};
use sqlx::migrate::Migrator;
use tokio_util::sync::CancellationToken;
use utoipa::OpenApi;

use crate::contracts::keys::{BROKER_DEMO_SECRET, BROKER_KEY_ID};
use crate::platform::FieldError;
use crate::platform::client::RequestSigner;
use crate::platform::clock::Clock;
use crate::platform::db::Db;
use crate::platform::events::BoxFuture;
use crate::platform::events::Publisher;
use crate::platform::faults::Faults;
use crate::platform::http::{self, ReadinessCheck};
use crate::platform::identity::access::{ADMIN, Access, CHECKOUT, Grant, WAREHOUSE};
use crate::platform::secret::Secret;
use crate::platform::signing::HmacSigner;
use crate::platform::system::{self, BuildError, Built, Context, Descriptor, System};
use crate::platform::tasks;
use embedded::EmbeddedQueue;
use push::{PushSettings, PushTokens, Pusher};
use queue::Queue;
use queue::Subscription;

/// The embedded broker's schema migrations.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations/broker");

/// How long acknowledged deliveries are kept for the lag figures and inspection.
const RETENTION: time::Duration = time::Duration::hours(1);

/// The broker's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Deliveries before a message is dead-lettered, for subscriptions that do not say.
    pub max_attempts: u32,
    /// How pushes are made and retried.
    pub push: PushSettings,
    /// Key id the broker signs pushes with (consumers that check signatures know it).
    pub signing_key_id: String,
    /// Secret of that key (at least 32 characters).
    pub signing_secret: Secret,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_attempts: 8,
            push: PushSettings::default(),
            signing_key_id: BROKER_KEY_ID.into(),
            signing_secret: BROKER_DEMO_SECRET.into(),
        }
    }
}

impl crate::platform::system::Settings for Settings {
    /// Checks the values; names the first bad key.
    fn validate(&self) -> Result<(), FieldError> {
        if !(1..=100).contains(&self.max_attempts) {
            return Err(FieldError::new("max_attempts", "must be between 1 and 100"));
        }
        if self.signing_secret.chars() < 32 {
            return Err(FieldError::new("signing_secret", "must be at least 32 characters"));
        }
        self.push.validate().map_err(|error| error.within("push"))
    }
}

/// The embedded broker: its API, its pushers and its housekeeping.
#[derive(Debug, Clone)]
pub struct BrokerService {
    queue: EmbeddedQueue,
    settings: Settings,
    clock: Arc<dyn Clock>,
    signer: Option<Arc<dyn RequestSigner>>,
    tokens: Option<PushTokens>,
}

impl BrokerService {
    /// The broker over its migrated `db`; pushes are signed by `signer` when given.
    pub fn new(db: &Db, settings: &Settings, clock: Arc<dyn Clock>, signer: Option<Arc<dyn RequestSigner>>) -> Self {
        BrokerService {
            queue: EmbeddedQueue::new(db.clone(), clock.clone()),
            settings: settings.clone(),
            clock,
            signer,
            tokens: None,
        }
    }

    /// The same broker, presenting service tokens to the store's own consumers.
    pub fn with_tokens(mut self, tokens: PushTokens) -> Self {
        self.tokens = Some(tokens);
        self
    }

    /// The queue, to publish to in this process and to subscribe with.
    pub fn queue(&self) -> &EmbeddedQueue {
        &self.queue
    }

    /// The HTTP service, with `faults` injected; its admin writes (subscriptions, replays) take
    /// the operator's token that opens the faults too.
    pub fn router(&self, db: &Db, faults: &Faults) -> Router {
        let state = api::BrokerState {
            queue: self.queue.clone(),
            clock: self.clock.clone(),
            default_max_attempts: self.settings.max_attempts,
            admin_token: faults.admin_token().clone(),
        };
        http::service(api::routes(state), api::ApiDoc::openapi(), vec![ReadinessCheck::database(db)], faults)
    }

    /// Runs a pusher for every subscription (also those created later) and prunes settled
    /// deliveries, until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        let prune = tasks::every(Duration::from_secs(600), shutdown.clone(), "prune settled deliveries", || {
            self.queue.prune(self.clock.now() - RETENTION)
        });
        tokio::join!(prune, self.supervise(shutdown.clone()));
    }

    async fn supervise(&self, shutdown: CancellationToken) {
        let queue: Arc<dyn Queue> = Arc::new(self.queue.clone());
        let mut pusher = Pusher::new(queue, self.settings.push.clone(), self.signer.clone(), self.queue.publications());
        if let Some(tokens) = &self.tokens {
            pusher = pusher.with_tokens(tokens.clone());
        }
        let mut running = BTreeSet::new();
        let mut pushers = tokio::task::JoinSet::new();
        let mut ticks = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = ticks.tick() => {}
            }
            match self.queue.subscriptions().await {
                Ok(subscriptions) => {
                    for subscription in subscriptions {
                        if running.insert(subscription.name.clone()) {
                            pushers.spawn(pusher.clone().run(subscription.name, shutdown.clone()));
                        }
                    }
                }
                Err(error) => tracing::warn!(%error, "Listing subscriptions failed; will retry."),
            }
        }
        while pushers.join_next().await.is_some() {}
    }
}

/// The event broker, as the launcher starts it: it creates every consumer's subscription,
/// signs its pushes with its key, and hands publishers in its process its queue.
#[derive(Debug, Clone, Copy, Default)]
pub struct Broker;

static DESCRIPTOR: Descriptor = Descriptor {
    name: "broker",
    summary: "The event broker.",
    default_port: 8090,
    migrator: Some(&MIGRATOR),
    peers: &[],
    publishes: &[],
    consumes: &[],
    access: Access::Routes(&[
        Grant::post("/v1/projects/{project}/topics/{topic_action}", &[CHECKOUT, WAREHOUSE]),
        Grant::get("/v1/subscriptions", &[ADMIN]),
        Grant::put("/v1/subscriptions/{name}", &[ADMIN]),
        Grant::post("/v1/subscriptions/{name}/replay", &[ADMIN]),
        Grant::get("/v1/dead-letters", &[ADMIN]),
        Grant::get("/v1/stats", &[ADMIN]),
    ]),
};

impl System for Broker {
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
            let signer =
                HmacSigner::new(&settings.signing_key_id, settings.signing_secret.expose(), context.clock.clone());
            let tokens = PushTokens::new(context.credentials.clone(), context.consumers);
            let service =
                BrokerService::new(db, &settings, context.clock.clone(), Some(Arc::new(signer))).with_tokens(tokens);
            for consumer in context.consumers {
                let subscription = Subscription {
                    name: consumer.subscription.clone(),
                    topic: consumer.topic.clone(),
                    endpoint: consumer.endpoint.clone(),
                    max_attempts: settings.max_attempts,
                };
                service.queue().subscribe(&subscription).await?;
            }
            let publisher: Arc<dyn Publisher> = Arc::new(service.queue().clone());
            let router = service.router(db, context.faults);
            let built = Built::router(router).with_task(service.run(context.shutdown.clone()));
            Ok(Built { publisher: Some(publisher), ..built })
        })
    }
}
