//! The pusher: delivers a subscription's messages to its endpoint in Pub/Sub's push envelope.
//! A 2xx answer acknowledges; any other answer or no answer in time is retried with
//! exponential backoff and jitter, and after the subscription's attempts the message is
//! dead-lettered. One message per ordering key is in flight at a time; keys run concurrently.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::queue::{Delivery, Queue, Subscription};
use crate::platform::FieldError;
use crate::platform::Result;
use crate::platform::client::RequestSigner;
use crate::platform::events::{PushEnvelope, TRACEPARENT};
use crate::platform::identity::Credentials;
use crate::platform::system::PushTarget;

/// How deliveries are made and retried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PushSettings {
    /// Deliveries leased per round.
    pub batch: u32,
    /// Milliseconds an endpoint has to answer (the ack deadline).
    pub ack_deadline_ms: u32,
    /// First retry delay in milliseconds; it doubles per attempt, with jitter.
    pub retry_base_ms: u32,
    /// Longest retry delay in milliseconds.
    pub retry_max_ms: u32,
    /// Milliseconds between looks at an idle subscription (publications wake it sooner).
    pub idle_poll_ms: u32,
}

impl Default for PushSettings {
    fn default() -> Self {
        PushSettings {
            batch: 32,
            ack_deadline_ms: 10_000,
            retry_base_ms: 1_000,
            retry_max_ms: 60_000,
            idle_poll_ms: 500,
        }
    }
}

impl PushSettings {
    /// Checks the values; names the first bad key (under `push.`).
    pub fn validate(&self) -> Result<(), FieldError> {
        if !(1..=1000).contains(&self.batch) {
            return Err(FieldError::new("push.batch", "must be between 1 and 1000"));
        }
        if !(100..=600_000).contains(&self.ack_deadline_ms) {
            return Err(FieldError::new("push.ack_deadline_ms", "must be between 100 and 600000"));
        }
        if self.retry_base_ms == 0 || self.retry_base_ms > self.retry_max_ms {
            return Err(FieldError::new("push.retry_base_ms", "must be at least 1 and at most retry_max_ms"));
        }
        if self.idle_poll_ms == 0 {
            return Err(FieldError::new("push.idle_poll_ms", "must be at least 1"));
        }
        Ok(())
    }

    /// The delay before the retry that follows `attempts` deliveries: exponential, capped,
    /// with full jitter over its upper half so retrying messages spread out.
    pub fn backoff(&self, attempts: u32) -> Duration {
        let ceiling = u64::from(self.retry_base_ms)
            .saturating_mul(1_u64 << attempts.min(20))
            .min(u64::from(self.retry_max_ms))
            .max(1);
        Duration::from_millis(fastrand::u64(ceiling / 2..=ceiling))
    }
}

/// Service tokens for pushes to the store's own consumers: each endpoint's origin names the
/// consuming system, the token's audience. Endpoints elsewhere get no token.
#[derive(Debug, Clone)]
pub struct PushTokens {
    credentials: Credentials,
    consumers: Arc<BTreeMap<String, String>>,
}

impl PushTokens {
    /// Tokens minted from the broker's `credentials` for the consumers of `targets`.
    pub fn new(credentials: Credentials, targets: &[PushTarget]) -> PushTokens {
        let consumers =
            targets.iter().filter_map(|target| Some((origin(&target.endpoint)?, target.consumer.clone()))).collect();
        PushTokens { credentials, consumers: Arc::new(consumers) }
    }

    fn token_for(&self, endpoint: &str) -> Option<String> {
        let consumer = self.consumers.get(&origin(endpoint)?)?;
        Some(self.credentials.token_for(consumer))
    }
}

fn origin(endpoint: &str) -> Option<String> {
    reqwest::Url::parse(endpoint).ok().map(|url| url.origin().ascii_serialization())
}

/// Pushes the messages of subscriptions to their endpoints.
#[derive(Debug, Clone)]
pub struct Pusher {
    queue: Arc<dyn Queue>,
    http: reqwest::Client,
    settings: PushSettings,
    signer: Option<Arc<dyn RequestSigner>>,
    tokens: Option<PushTokens>,
    wake: Arc<Notify>,
}

impl Pusher {
    /// A pusher draining `queue`, woken by `wake` when something is published; pushes are
    /// signed by `signer` for endpoints that authenticate their callers.
    pub fn new(
        queue: Arc<dyn Queue>,
        settings: PushSettings,
        signer: Option<Arc<dyn RequestSigner>>,
        wake: Arc<Notify>,
    ) -> Self {
        Pusher { queue, http: reqwest::Client::new(), settings, signer, tokens: None, wake }
    }

    /// The same pusher, presenting service tokens to the store's own consumers.
    pub fn with_tokens(mut self, tokens: PushTokens) -> Self {
        self.tokens = Some(tokens);
        self
    }

    /// Delivers the subscription named `subscription` until `shutdown`. Its endpoint is read
    /// from the queue for every batch, so a changed subscription applies from the next one.
    pub async fn run(self, subscription: String, shutdown: CancellationToken) {
        let lease = Duration::from_millis(u64::from(self.settings.ack_deadline_ms) + 1_000);
        let idle = Duration::from_millis(self.settings.idle_poll_ms.into());
        // A lease is a short transaction: it is never cancelled halfway, only not begun.
        while !shutdown.is_cancelled() {
            let woken = self.wake.notified();
            match self.round(&subscription, lease).await {
                Ok(true) => {}
                Ok(false) => {
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = woken => {}
                        _ = tokio::time::sleep(idle) => {}
                    }
                }
                Err(error) => {
                    tracing::warn!(subscription, %error, "Reading the subscription or leasing failed; will retry.");
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep(idle) => {}
                    }
                }
            }
        }
    }

    /// Leases one batch and delivers it where the subscription says now; returns whether there
    /// was anything to deliver.
    async fn round(&self, name: &str, lease: Duration) -> Result<bool> {
        let deliveries = self.queue.lease(name, self.settings.batch as usize, lease).await?;
        if deliveries.is_empty() {
            return Ok(false);
        }
        // Read after leasing: a message published after a change is leased after it, so it goes
        // where the subscription says now. (On failure the leases run out and come back.)
        let subscription = self.queue.subscription(name).await?;
        futures_util::future::join_all(deliveries.iter().map(|d| self.deliver(&subscription, d))).await;
        Ok(true)
    }

    #[tracing::instrument(name = "push", skip_all, fields(subscription = subscription.name, message = delivery.message.id))]
    async fn deliver(&self, subscription: &Subscription, delivery: &Delivery) {
        let outcome = self.post(subscription, delivery).await;
        let settled = match &outcome {
            Ok(()) => self.queue.ack(delivery).await,
            Err(error) => {
                let retry_in = self.settings.backoff(delivery.attempts);
                self.queue.nack(delivery, retry_in, error).await.map(drop)
            }
        };
        if let Err(error) = settled {
            // The lease runs out and the message is delivered again: at least once.
            tracing::warn!(%error, "Recording a delivery's outcome failed.");
        }
    }

    async fn post(&self, subscription: &Subscription, delivery: &Delivery) -> Result<(), String> {
        let envelope = PushEnvelope::wrap(&delivery.message, &subscription.name);
        let body = serde_json::to_vec(&envelope).map_err(|e| format!("could not encode the envelope: {e}"))?;
        let mut request = self
            .http
            .post(&subscription.endpoint)
            .timeout(Duration::from_millis(self.settings.ack_deadline_ms.into()))
            .header("content-type", "application/json");
        if let Some(traceparent) = delivery.message.attributes.get(TRACEPARENT) {
            request = request.header("traceparent", traceparent);
        }
        if let Some(token) = self.tokens.as_ref().and_then(|tokens| tokens.token_for(&subscription.endpoint)) {
            request = request.bearer_auth(token);
        }
        if let Some(signer) = &self.signer {
            let path = reqwest::Url::parse(&subscription.endpoint).map(|url| url.path().to_owned()).unwrap_or_default();
            for (name, value) in signer.sign(&reqwest::Method::POST, &path, &body) {
                request = request.header(name, value);
            }
        }
        let response = request.body(body).send().await.map_err(|e| {
            if e.is_timeout() {
                format!("no answer within {} ms", self.settings.ack_deadline_ms)
            } else {
                e.to_string()
            }
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let text: String = response.text().await.unwrap_or_default().chars().take(300).collect();
        Err(format!("{status}: {text}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_base_and_is_capped() {
        let settings = PushSettings { retry_base_ms: 100, retry_max_ms: 1_000, ..PushSettings::default() };
        for attempts in 0..30 {
            let ceiling = (100_u64 << attempts.min(20)).min(1_000);
            let delay = settings.backoff(attempts).as_millis() as u64;
            assert!(delay >= ceiling / 2 && delay <= ceiling, "attempt {attempts}: {delay} ms");
        }
        assert!(PushSettings { retry_base_ms: 0, ..PushSettings::default() }.validate().is_err());
    }
}
