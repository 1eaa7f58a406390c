//! What an event backend does, behind one pair of traits with one conformance suite
//! (`tests/api/broker.rs`): [`Publisher`] for every backend (embedded, NATS JetStream, Google
//! Pub/Sub; it lives in `platform::events`, beside the message, as every publisher needs it), [`Queue`] for the backends whose subscriptions our pusher drives (embedded and
//! NATS; Pub/Sub pushes by itself).

use std::fmt::Debug;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::platform::Result;
use crate::platform::events::{BoxFuture, Message, Publisher};

/// A push subscription: every message published on `topic` after it exists is POSTed to
/// `endpoint` until acknowledged, or dead-lettered after `max_attempts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Subscription {
    /// Its name, e.g. `oms-orders`.
    pub name: String,
    /// The topic it receives.
    pub topic: String,
    /// Where deliveries are POSTed, in Pub/Sub's push envelope.
    pub endpoint: String,
    /// Deliveries before a message is dead-lettered.
    pub max_attempts: u32,
}

/// A message handed to the pusher for one subscription, leased until acked or nacked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The subscription.
    pub subscription: String,
    /// The message.
    pub message: Message,
    /// Deliveries made before this one.
    pub attempts: u32,
    /// The backend's handle of this delivery (acks and nacks name it).
    pub handle: String,
}

/// A message that used up its attempts, kept where an operator can see and replay it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeadLetter {
    /// The subscription that gave up.
    pub subscription: String,
    /// The message id.
    pub message_id: String,
    /// The topic.
    pub topic: String,
    /// The ordering key.
    pub ordering_key: String,
    /// Attributes (event type, trace context).
    pub attributes: std::collections::BTreeMap<String, String>,
    /// The payload as text (base64 if it is not UTF-8).
    pub data: String,
    /// Deliveries made.
    pub attempts: u32,
    /// What the endpoint last answered.
    pub last_error: String,
    /// When it was dead-lettered.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub dead_at: OffsetDateTime,
}

/// How a subscription is doing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SubscriptionStats {
    /// The subscription.
    pub subscription: String,
    /// Messages not yet acknowledged (waiting, in flight or waiting to be retried).
    pub backlog: u64,
    /// Age of the oldest unacknowledged message, in milliseconds.
    pub oldest_unacked_ms: u64,
    /// Messages in the dead-letter store.
    pub dead_letters: u64,
    /// Messages acknowledged in the last five minutes.
    pub acked_recently: u64,
    /// Mean time from publication to acknowledgement over the last five minutes, ms.
    pub mean_delivery_lag_ms: u64,
    /// Longest such time over the last five minutes, ms.
    pub max_delivery_lag_ms: u64,
}

/// A backend whose push subscriptions our pusher drives.
pub trait Queue: Publisher {
    /// Creates `subscription`, or updates its endpoint and attempts.
    fn subscribe<'a>(&'a self, subscription: &'a Subscription) -> BoxFuture<'a, Result<()>>;

    /// The subscription `name` as it stands now, as the backend holds it (another process may
    /// have changed it): pushers read it for every batch, so a change applies at once.
    fn subscription<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Subscription>>;

    /// Up to `max` deliveries due on `subscription`, at most one per ordering key and never
    /// one whose key has an earlier message still unacknowledged; each is leased for `lease`
    /// (redelivered if neither acked nor nacked by then).
    fn lease<'a>(&'a self, subscription: &'a str, max: usize, lease: Duration) -> BoxFuture<'a, Result<Vec<Delivery>>>;

    /// The endpoint acknowledged `delivery`.
    fn ack<'a>(&'a self, delivery: &'a Delivery) -> BoxFuture<'a, Result<()>>;

    /// The endpoint failed `delivery` with `error`: deliver again after `retry_in`, or
    /// dead-letter it if that was its last attempt. Returns whether it was dead-lettered.
    fn nack<'a>(&'a self, delivery: &'a Delivery, retry_in: Duration, error: &'a str) -> BoxFuture<'a, Result<bool>>;

    /// Dead letters, of one subscription or all, oldest first.
    fn dead_letters<'a>(&'a self, subscription: Option<&'a str>, limit: u32) -> BoxFuture<'a, Result<Vec<DeadLetter>>>;

    /// Puts dead letters (one message, or all of a subscription when `message_id` is `None`)
    /// back for delivery with fresh attempts; returns how many.
    fn replay<'a>(&'a self, subscription: &'a str, message_id: Option<&'a str>) -> BoxFuture<'a, Result<u64>>;

    /// How every subscription is doing.
    fn stats(&self) -> BoxFuture<'_, Result<Vec<SubscriptionStats>>>;
}
