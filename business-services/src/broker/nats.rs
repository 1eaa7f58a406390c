//! NATS JetStream backend: [`NatsQueue`] implements [`Publisher`] and [`Queue`].
//!
//! Mapping (every name starts with the queue's `prefix`, `boutique` in production, so test runs
//! do not see each other):
//! - a topic is the stream `<prefix>-topic-<topic>` over the subjects `<prefix>.<topic>.>`, with
//!   interest retention (a message is kept until every subscription acknowledged it). Messages
//!   are published on `<prefix>.<topic>.new`; the message id goes in `Nats-Msg-Id`, so publishing
//!   an id again within the stream's duplicate window (two minutes) changes nothing. The id,
//!   ordering key and publication time travel in `Boutique-*` headers, each attribute in a
//!   `Boutique-Attr-<name>` header, the data as the payload.
//! - a subscription is the durable pull consumer named after it on its topic's stream
//!   (delivering what is published after it exists); its endpoint and attempts live in the
//!   consumer's description, so another process finds them, and `subscription` reads them from
//!   the server, so a change made by any process reaches the pushers. `lease` fetches with the
//!   consumer's `ack_wait` set to the lease, `ack` acks, `nack` naks with the retry delay, and
//!   on the last attempt publishes the message to the dead-letter stream `<prefix>-dead`
//!   (subject `<prefix>-dead.<subscription>`, with the error, attempts and time in headers)
//!   before terminating the original.
//! - `replay` republishes a dead letter on `<prefix>.<topic>.replay.<subscription>`, which the
//!   subscription's consumer reads like any other message (so it gets fresh attempts), then
//!   deletes it from the dead-letter stream. The other subscriptions of the topic also receive
//!   it and acknowledge it unseen (NATS 2.9 consumers take one filter subject), so until their
//!   next lease it counts in their backlog.
//!
//! Limits:
//! - Per-key order is enforced in this process: `lease` hands out a message only when no
//!   earlier message with its key is still unacknowledged, and puts later ones back (a nak with
//!   a growing delay, not counted as an attempt). So one process drives a subscription, and
//!   after a restart the messages already delivered once may come back out of order.
//! - An empty ordering key means no order: such messages are handed out concurrently.
//! - Stats: the backlog is the consumer's pending plus unacknowledged counts; the oldest
//!   unacknowledged age is that of the first stream message past the consumer's ack floor
//!   (an upper bound when later messages were acknowledged out of order); acknowledgements
//!   and delivery lag are recorded by this process, so they cover its last five minutes only.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::fmt::Display;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{self, consumer, stream};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::queue::{DeadLetter, Delivery, Queue, Subscription, SubscriptionStats};
use crate::platform::events::Message;
use crate::platform::events::{BoxFuture, Publisher};
use crate::platform::{Error, Result};

const MESSAGE_ID: &str = "Boutique-Message-Id";
const ORDERING_KEY: &str = "Boutique-Ordering-Key";
const PUBLISH_TIME: &str = "Boutique-Publish-Time";
const ATTRIBUTE: &str = "Boutique-Attr-";
const ERROR: &str = "Boutique-Error";
const ATTEMPTS: &str = "Boutique-Attempts";
const DEAD_AT: &str = "Boutique-Dead-At";
const TOPIC: &str = "Boutique-Topic";
/// Headers a dead letter adds to the message, dropped again when it is replayed.
const DEAD_LETTER_HEADERS: [&str; 4] = [ERROR, ATTEMPTS, DEAD_AT, TOPIC];
/// How long a request to the server may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// The window over which acknowledgements and delivery lag are reported.
const STATS_WINDOW: time::Duration = time::Duration::minutes(5);

/// The NATS JetStream backend.
#[derive(Debug)]
pub struct NatsQueue {
    client: async_nats::Client,
    jetstream: jetstream::Context,
    prefix: String,
    /// Topics whose stream is known to exist.
    streams: Mutex<HashSet<String>>,
    subscriptions: Mutex<HashMap<String, SubscriptionState>>,
}

/// What the consumer's description records about its subscription.
#[derive(Debug, Serialize, Deserialize)]
struct ConsumerMeta {
    endpoint: String,
    max_attempts: u32,
}

/// What this process knows about one subscription.
#[derive(Debug)]
struct SubscriptionState {
    topic: String,
    max_attempts: u32,
    consumer: consumer::PullConsumer,
    ack_wait: Duration,
    /// Per ordering key, the stream sequences of its messages seen and not yet settled.
    keys: HashMap<String, BTreeSet<u64>>,
    /// Times a message was put back because an earlier one of its key was unsettled.
    skips: HashMap<u64, u32>,
    /// When messages were acknowledged, and their delivery lag in ms, over the stats window.
    acks: VecDeque<(OffsetDateTime, u64)>,
}

/// What `lease` does with one fetched message.
enum Fetched {
    Deliver(Delivery),
    PutBack { reply: String, delay: Duration },
    Discard { reply: String },
}

impl NatsQueue {
    /// Connects to the server at `url` (e.g. `nats://127.0.0.1:4222`); every stream and subject
    /// name starts with `prefix` (letters, digits, `-` and `_`; `boutique` in production).
    pub async fn connect(url: &str, prefix: &str) -> Result<Self> {
        check_token("prefix", prefix)?;
        let client =
            async_nats::connect(url).await.map_err(|e| unavailable(format!("cannot connect to {url}: {e}")))?;
        let mut jetstream = jetstream::new(client.clone());
        jetstream.set_timeout(REQUEST_TIMEOUT);
        Ok(NatsQueue {
            client,
            jetstream,
            prefix: prefix.to_owned(),
            streams: Mutex::new(HashSet::new()),
            subscriptions: Mutex::new(HashMap::new()),
        })
    }

    /// The prefix of its stream and subject names.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Deletes every stream of this queue's prefix (topics, subscriptions, dead letters).
    pub async fn delete_streams(&self) -> Result<()> {
        let mut names = self.jetstream.stream_names();
        let mut doomed = Vec::new();
        while let Some(name) = names.next().await {
            let name = name.map_err(unavailable)?;
            if name.starts_with(&format!("{}-", self.prefix)) {
                doomed.push(name);
            }
        }
        for name in doomed {
            self.jetstream.delete_stream(&name).await.map_err(unavailable)?;
        }
        lock(&self.streams).clear();
        lock(&self.subscriptions).clear();
        Ok(())
    }

    fn topic_stream(&self, topic: &str) -> String {
        format!("{}-topic-{topic}", self.prefix)
    }

    fn dead_stream(&self) -> String {
        format!("{}-dead", self.prefix)
    }

    fn dead_subject(&self, subscription: &str) -> String {
        format!("{}-dead.{subscription}", self.prefix)
    }

    fn replay_subject(&self, topic: &str, subscription: &str) -> String {
        format!("{}.{topic}.replay.{subscription}", self.prefix)
    }

    async fn topic(&self, topic: &str) -> Result<stream::Stream> {
        check_token("topic", topic)?;
        let name = self.topic_stream(topic);
        if lock(&self.streams).contains(topic) {
            return self.jetstream.get_stream(&name).await.map_err(unavailable);
        }
        let stream = self
            .jetstream
            .get_or_create_stream(stream::Config {
                name,
                subjects: vec![format!("{}.{topic}.>", self.prefix)],
                retention: stream::RetentionPolicy::Interest,
                allow_direct: true,
                duplicate_window: Duration::from_secs(120),
                ..Default::default()
            })
            .await
            .map_err(unavailable)?;
        lock(&self.streams).insert(topic.to_owned());
        Ok(stream)
    }

    async fn dead(&self) -> Result<stream::Stream> {
        self.jetstream
            .get_or_create_stream(stream::Config {
                name: self.dead_stream(),
                subjects: vec![format!("{}-dead.>", self.prefix)],
                allow_direct: true,
                duplicate_window: Duration::from_secs(120),
                ..Default::default()
            })
            .await
            .map_err(unavailable)
    }

    /// The subscription's state, from this process or else from its consumer on the server.
    async fn known(&self, subscription: &str) -> Result<()> {
        check_token("subscription", subscription)?;
        if lock(&self.subscriptions).contains_key(subscription) {
            return Ok(());
        }
        for (topic, stream) in self.topic_streams().await? {
            if let Ok(consumer) = stream.get_consumer::<consumer::pull::Config>(subscription).await {
                self.remember(subscription, &topic, consumer);
                return Ok(());
            }
        }
        Err(Error::not_found("subscription", subscription))
    }

    fn remember(&self, subscription: &str, topic: &str, consumer: consumer::PullConsumer) {
        let info = consumer.cached_info();
        let meta = read_meta(info.config.description.as_deref());
        let ack_wait = info.config.ack_wait;
        let mut subscriptions = lock(&self.subscriptions);
        let state = subscriptions.entry(subscription.to_owned()).or_insert_with(|| SubscriptionState {
            topic: topic.to_owned(),
            max_attempts: meta.max_attempts,
            consumer: consumer.clone(),
            ack_wait,
            keys: HashMap::new(),
            skips: HashMap::new(),
            acks: VecDeque::new(),
        });
        state.topic = topic.to_owned();
        state.max_attempts = meta.max_attempts;
        state.ack_wait = ack_wait;
        state.consumer = consumer;
    }

    /// Every topic stream of this prefix, with its topic.
    async fn topic_streams(&self) -> Result<Vec<(String, stream::Stream)>> {
        let start = format!("{}-topic-", self.prefix);
        let mut names = self.jetstream.stream_names();
        let mut topics = Vec::new();
        while let Some(name) = names.next().await {
            if let Some(topic) = name.map_err(unavailable)?.strip_prefix(&start) {
                topics.push(topic.to_owned());
            }
        }
        let mut streams = Vec::new();
        for topic in topics {
            let stream = self.jetstream.get_stream(self.topic_stream(&topic)).await.map_err(unavailable)?;
            streams.push((topic, stream));
        }
        Ok(streams)
    }

    fn consumer_config(
        &self,
        subscription: &str,
        topic: &str,
        meta: &ConsumerMeta,
        ack_wait: Duration,
    ) -> Result<consumer::pull::Config> {
        let description = serde_json::to_string(meta)
            .map_err(|e| Error::Internal { detail: format!("cannot describe subscription {subscription}: {e}") })?;
        Ok(consumer::pull::Config {
            durable_name: Some(subscription.to_owned()),
            description: Some(description),
            deliver_policy: consumer::DeliverPolicy::New,
            ack_policy: consumer::AckPolicy::Explicit,
            ack_wait,
            // Attempts are counted and enforced here: put-backs for ordering are not attempts.
            max_deliver: -1,
            max_ack_pending: 20_000,
            filter_subject: format!("{}.{topic}.>", self.prefix),
            ..Default::default()
        })
    }

    /// Sets the consumer's `ack_wait` to `lease` when it differs.
    async fn lease_for(&self, subscription: &str, lease: Duration) -> Result<consumer::PullConsumer> {
        let (consumer, topic, current, max_attempts) = {
            let subscriptions = lock(&self.subscriptions);
            let state =
                subscriptions.get(subscription).ok_or_else(|| Error::not_found("subscription", subscription))?;
            (state.consumer.clone(), state.topic.clone(), state.ack_wait, state.max_attempts)
        };
        if current == lease {
            return Ok(consumer);
        }
        let mut meta = read_meta(consumer.cached_info().config.description.as_deref());
        meta.max_attempts = max_attempts;
        let config = self.consumer_config(subscription, &topic, &meta, lease)?;
        let consumer = self.topic(&topic).await?.create_consumer(config).await.map_err(unavailable)?;
        self.remember(subscription, &topic, consumer.clone());
        Ok(consumer)
    }

    /// Reads a message as it travels in the stream.
    fn decode(
        &self,
        topic: &str,
        headers: Option<&HeaderMap>,
        payload: &[u8],
        sequence: u64,
        stored: OffsetDateTime,
    ) -> Message {
        let header = |name: &str| headers.and_then(|h| h.get(name)).map(|v| v.as_str().to_owned());
        let mut attributes = BTreeMap::new();
        if let Some(headers) = headers {
            for (name, values) in headers.iter() {
                let name: &str = name.as_ref();
                if let (Some(attribute), Some(value)) = (name.strip_prefix(ATTRIBUTE), values.first()) {
                    attributes.insert(attribute.to_owned(), value.as_str().to_owned());
                }
            }
        }
        Message {
            id: header(MESSAGE_ID).unwrap_or_else(|| format!("{}-{topic}-{sequence}", self.prefix)),
            topic: topic.to_owned(),
            ordering_key: header(ORDERING_KEY).unwrap_or_default(),
            data: payload.to_vec(),
            attributes,
            publish_time: header(PUBLISH_TIME).and_then(|t| OffsetDateTime::parse(&t, &Rfc3339).ok()).unwrap_or(stored),
        }
    }

    /// Sends an acknowledgement of some kind to a delivery's reply subject and waits until the
    /// server has applied it.
    async fn acknowledge(&self, reply: &str, kind: jetstream::AckKind) -> Result<()> {
        let request = self.client.request(reply.to_owned(), kind.into());
        match tokio::time::timeout(REQUEST_TIMEOUT, request).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(unavailable(e)),
            Err(_) => Err(unavailable(format!("no answer to an acknowledgement within {REQUEST_TIMEOUT:?}"))),
        }
    }

    /// Forgets a settled delivery's place in its key's order.
    fn settle(&self, delivery: &Delivery, sequence: u64, acked: bool) {
        let mut subscriptions = lock(&self.subscriptions);
        let Some(state) = subscriptions.get_mut(&delivery.subscription) else { return };
        let key = &delivery.message.ordering_key;
        if let Some(sequences) = state.keys.get_mut(key) {
            sequences.remove(&sequence);
            if sequences.is_empty() {
                state.keys.remove(key);
            }
        }
        state.skips.remove(&sequence);
        if acked {
            let now = OffsetDateTime::now_utc();
            let lag = (now - delivery.message.publish_time).whole_milliseconds().max(0);
            state.acks.push_back((now, u64::try_from(lag).unwrap_or(u64::MAX)));
            prune(&mut state.acks, now);
        }
    }

    /// The dead letters of a subscription (or all) with their stream sequences, oldest first.
    async fn dead_entries(
        &self,
        subscription: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(u64, String, HeaderMap, Vec<u8>, OffsetDateTime)>> {
        let dead = self.dead().await?;
        let filter = match subscription {
            Some(subscription) => self.dead_subject(subscription),
            None => format!("{}-dead.>", self.prefix),
        };
        let mut entries = Vec::new();
        let mut next = 1;
        while entries.len() < limit {
            match dead.direct_get_next_for_subject(filter.clone(), Some(next)).await {
                Ok(message) => {
                    next = message.sequence + 1;
                    let subscription = message.subject.as_str().rsplit('.').next().unwrap_or_default().to_owned();
                    entries.push((
                        message.sequence,
                        subscription,
                        message.headers,
                        message.payload.to_vec(),
                        message.time,
                    ));
                }
                Err(e) if matches!(e.kind(), stream::DirectGetErrorKind::NotFound) => break,
                Err(e) => return Err(unavailable(e)),
            }
        }
        Ok(entries)
    }
}

impl Publisher for NatsQueue {
    fn publish<'a>(&'a self, message: &'a Message) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let mut headers = HeaderMap::new();
            headers.insert(async_nats::header::NATS_MESSAGE_ID, header_value("id", &message.id)?);
            headers.insert(MESSAGE_ID, header_value("id", &message.id)?);
            if !message.ordering_key.is_empty() {
                headers.insert(ORDERING_KEY, header_value("ordering_key", &message.ordering_key)?);
            }
            let time = message
                .publish_time
                .format(&Rfc3339)
                .map_err(|e| Error::invalid("publish_time", format!("cannot be written as RFC 3339: {e}")))?;
            headers.insert(PUBLISH_TIME, header_value("publish_time", &time)?);
            for (name, value) in &message.attributes {
                let field = format!("attributes.{name}");
                let header = async_nats::HeaderName::from_str(&format!("{ATTRIBUTE}{name}"))
                    .map_err(|_| Error::invalid(&field, "attribute names are printable ASCII without ':'"))?;
                headers.insert(header, header_value(&field, value)?);
            }
            self.topic(&message.topic).await?;
            let subject = format!("{}.{}.new", self.prefix, message.topic);
            let ack = self
                .jetstream
                .publish_with_headers(subject, headers, message.data.clone().into())
                .await
                .map_err(unavailable)?;
            ack.await.map_err(unavailable)?;
            Ok(())
        })
    }
}

impl Queue for NatsQueue {
    fn subscribe<'a>(&'a self, subscription: &'a Subscription) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            check_token("name", &subscription.name)?;
            if subscription.max_attempts == 0 {
                return Err(Error::invalid("max_attempts", "must be at least 1"));
            }
            if subscription.endpoint.trim().is_empty() {
                return Err(Error::invalid("endpoint", "must be the URL deliveries are POSTed to"));
            }
            let other_topic = lock(&self.subscriptions)
                .get(&subscription.name)
                .map(|state| state.topic.clone())
                .filter(|topic| *topic != subscription.topic);
            if let Some(topic) = other_topic {
                return Err(Error::Conflict {
                    detail: format!(
                        "subscription {} already receives topic {topic}: pick another name",
                        subscription.name
                    ),
                });
            }
            let stream = self.topic(&subscription.topic).await?;
            let ack_wait = match stream.consumer_info(&subscription.name).await {
                Ok(info) => info.config.ack_wait,
                Err(_) => Duration::from_secs(30),
            };
            let meta =
                ConsumerMeta { endpoint: subscription.endpoint.clone(), max_attempts: subscription.max_attempts };
            let config = self.consumer_config(&subscription.name, &subscription.topic, &meta, ack_wait)?;
            let consumer = stream.create_consumer(config).await.map_err(unavailable)?;
            self.remember(&subscription.name, &subscription.topic, consumer);
            Ok(())
        })
    }

    fn subscription<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Subscription>> {
        Box::pin(async move {
            self.known(name).await?;
            let (topic, mut consumer) = {
                let subscriptions = lock(&self.subscriptions);
                let state = subscriptions.get(name).ok_or_else(|| Error::not_found("subscription", name))?;
                (state.topic.clone(), state.consumer.clone())
            };
            // The consumer's description on the server is the truth: another process may have
            // changed it since this one cached it.
            let meta = read_meta(consumer.info().await.map_err(unavailable)?.config.description.as_deref());
            self.remember(name, &topic, consumer);
            Ok(Subscription { name: name.to_owned(), topic, endpoint: meta.endpoint, max_attempts: meta.max_attempts })
        })
    }

    fn lease<'a>(&'a self, subscription: &'a str, max: usize, lease: Duration) -> BoxFuture<'a, Result<Vec<Delivery>>> {
        Box::pin(async move {
            self.known(subscription).await?;
            if max == 0 {
                return Ok(Vec::new());
            }
            let consumer = self.lease_for(subscription, lease).await?;
            let mut batch = consumer.fetch().max_messages(max).messages().await.map_err(unavailable)?;
            let mut fetched = Vec::new();
            while let Some(message) = batch.next().await {
                let message = message.map_err(unavailable)?;
                let Some(reply) = message.reply.as_ref().map(|r| r.as_str().to_owned()) else { continue };
                let info = message.info().map_err(unavailable)?;
                let (sequence, delivered, stored) = (info.stream_sequence, info.delivered, info.published);
                let subject = message.subject.as_str();
                let mut subscriptions = lock(&self.subscriptions);
                let Some(state) = subscriptions.get_mut(subscription) else { continue };
                if subject.contains(".replay.") && !subject.ends_with(&format!(".replay.{subscription}")) {
                    fetched.push(Fetched::Discard { reply });
                    continue;
                }
                let decoded = self.decode(&state.topic, message.headers.as_ref(), &message.payload, sequence, stored);
                if !decoded.ordering_key.is_empty() {
                    let sequences = state.keys.entry(decoded.ordering_key.clone()).or_default();
                    sequences.insert(sequence);
                    if sequences.first() != Some(&sequence) {
                        let skips = state.skips.entry(sequence).or_default();
                        *skips += 1;
                        fetched.push(Fetched::PutBack { reply, delay: put_back_delay(*skips) });
                        continue;
                    }
                }
                let skipped = i64::from(state.skips.get(&sequence).copied().unwrap_or_default());
                let attempts = u32::try_from((delivered - 1 - skipped).max(0)).unwrap_or(u32::MAX);
                fetched.push(Fetched::Deliver(Delivery {
                    subscription: subscription.to_owned(),
                    message: decoded,
                    attempts,
                    handle: format!("{sequence}:{reply}"),
                }));
            }
            let mut deliveries = Vec::new();
            for outcome in fetched {
                match outcome {
                    Fetched::Deliver(delivery) => deliveries.push(delivery),
                    Fetched::PutBack { reply, delay } => {
                        self.acknowledge(&reply, jetstream::AckKind::Nak(Some(delay))).await?;
                    }
                    Fetched::Discard { reply } => self.acknowledge(&reply, jetstream::AckKind::Ack).await?,
                }
            }
            Ok(deliveries)
        })
    }

    fn ack<'a>(&'a self, delivery: &'a Delivery) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let (sequence, reply) = parse_handle(&delivery.handle)?;
            self.acknowledge(reply, jetstream::AckKind::Ack).await?;
            self.settle(delivery, sequence, true);
            Ok(())
        })
    }

    fn nack<'a>(&'a self, delivery: &'a Delivery, retry_in: Duration, error: &'a str) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move {
            let (sequence, reply) = parse_handle(&delivery.handle)?;
            self.known(&delivery.subscription).await?;
            let max_attempts =
                lock(&self.subscriptions).get(&delivery.subscription).map(|state| state.max_attempts).unwrap_or(1);
            if delivery.attempts + 1 < max_attempts {
                self.acknowledge(reply, jetstream::AckKind::Nak(Some(retry_in))).await?;
                return Ok(false);
            }
            self.dead().await?;
            let message = &delivery.message;
            let mut headers = HeaderMap::new();
            let dead_id = format!("{}-{sequence}", delivery.subscription);
            headers.insert(async_nats::header::NATS_MESSAGE_ID, header_value("handle", &dead_id)?);
            headers.insert(MESSAGE_ID, header_value("id", &message.id)?);
            if !message.ordering_key.is_empty() {
                headers.insert(ORDERING_KEY, header_value("ordering_key", &message.ordering_key)?);
            }
            let time = |at: OffsetDateTime| at.format(&Rfc3339).unwrap_or_default();
            headers.insert(PUBLISH_TIME, header_value("publish_time", &time(message.publish_time))?);
            for (name, value) in &message.attributes {
                if let Ok(header) = async_nats::HeaderName::from_str(&format!("{ATTRIBUTE}{name}")) {
                    headers.insert(header, header_value("attributes", value)?);
                }
            }
            let one_line: String = error.chars().map(|c| if c.is_control() { ' ' } else { c }).take(1000).collect();
            headers.insert(ERROR, header_value("error", &one_line)?);
            headers.insert(ATTEMPTS, (delivery.attempts + 1).to_string());
            headers.insert(DEAD_AT, header_value("dead_at", &time(OffsetDateTime::now_utc()))?);
            headers.insert(TOPIC, header_value("topic", &message.topic)?);
            let ack = self
                .jetstream
                .publish_with_headers(self.dead_subject(&delivery.subscription), headers, message.data.clone().into())
                .await
                .map_err(unavailable)?;
            ack.await.map_err(unavailable)?;
            self.acknowledge(reply, jetstream::AckKind::Term).await?;
            self.settle(delivery, sequence, false);
            Ok(true)
        })
    }

    fn dead_letters<'a>(&'a self, subscription: Option<&'a str>, limit: u32) -> BoxFuture<'a, Result<Vec<DeadLetter>>> {
        Box::pin(async move {
            if let Some(subscription) = subscription {
                check_token("subscription", subscription)?;
            }
            let limit = usize::try_from(limit).unwrap_or(usize::MAX);
            let entries = self.dead_entries(subscription, limit).await?;
            Ok(entries
                .into_iter()
                .map(|(sequence, subscription, headers, payload, stored)| {
                    let header = |name: &str| headers.get(name).map(|v| v.as_str().to_owned());
                    let topic = header(TOPIC).unwrap_or_default();
                    let message = self.decode(&topic, Some(&headers), &payload, sequence, stored);
                    DeadLetter {
                        subscription,
                        message_id: message.id,
                        topic,
                        ordering_key: message.ordering_key,
                        attributes: message.attributes,
                        data: String::from_utf8(payload).unwrap_or_else(|e| STANDARD.encode(e.as_bytes())),
                        attempts: header(ATTEMPTS).and_then(|a| a.parse().ok()).unwrap_or_default(),
                        last_error: header(ERROR).unwrap_or_default(),
                        dead_at: header(DEAD_AT)
                            .and_then(|t| OffsetDateTime::parse(&t, &Rfc3339).ok())
                            .unwrap_or(stored),
                    }
                })
                .collect())
        })
    }

    fn replay<'a>(&'a self, subscription: &'a str, message_id: Option<&'a str>) -> BoxFuture<'a, Result<u64>> {
        Box::pin(async move {
            self.known(subscription).await?;
            let topic = lock(&self.subscriptions)
                .get(subscription)
                .map(|state| state.topic.clone())
                .ok_or_else(|| Error::not_found("subscription", subscription))?;
            let dead = self.dead().await?;
            let mut replayed = 0;
            for (sequence, _, headers, payload, _) in self.dead_entries(Some(subscription), usize::MAX).await? {
                let id = headers.get(MESSAGE_ID).map(|v| v.as_str().to_owned()).unwrap_or_default();
                if message_id.is_some_and(|wanted| wanted != id) {
                    continue;
                }
                let mut replay = HeaderMap::new();
                let dedup: &str = async_nats::header::NATS_MESSAGE_ID.as_ref();
                for (name, values) in headers.iter() {
                    let text: &str = name.as_ref();
                    if DEAD_LETTER_HEADERS.contains(&text) || text == dedup {
                        continue;
                    }
                    if let Some(value) = values.first() {
                        replay.insert(name.clone(), value.clone());
                    }
                }
                // Replaying one dead letter twice (after a failure below) publishes it once.
                let replay_id = format!("replay-{subscription}-{sequence}");
                replay.insert(async_nats::header::NATS_MESSAGE_ID, header_value("message_id", &replay_id)?);
                let ack = self
                    .jetstream
                    .publish_with_headers(self.replay_subject(&topic, subscription), replay, payload.into())
                    .await
                    .map_err(unavailable)?;
                ack.await.map_err(unavailable)?;
                dead.delete_message(sequence).await.map_err(unavailable)?;
                replayed += 1;
            }
            Ok(replayed)
        })
    }

    fn stats(&self) -> BoxFuture<'_, Result<Vec<SubscriptionStats>>> {
        Box::pin(async move {
            let dead = self.dead().await?;
            let mut dead_counts: HashMap<String, u64> = HashMap::new();
            let mut subjects = dead.info_with_subjects(format!("{}-dead.>", self.prefix)).await.map_err(unavailable)?;
            while let Some(entry) = subjects.next().await {
                let (subject, count) = entry.map_err(unavailable)?;
                let subscription = subject.rsplit('.').next().unwrap_or_default().to_owned();
                dead_counts.insert(subscription, u64::try_from(count).unwrap_or(u64::MAX));
            }
            let now = OffsetDateTime::now_utc();
            let mut stats = Vec::new();
            for (topic, stream) in self.topic_streams().await? {
                let mut consumers = stream.consumers();
                let mut infos = Vec::new();
                while let Some(info) = consumers.next().await {
                    infos.push(info.map_err(unavailable)?);
                }
                for info in infos {
                    let backlog = info.num_pending + u64::try_from(info.num_ack_pending).unwrap_or(u64::MAX);
                    let mut oldest_unacked_ms = 0;
                    if backlog > 0 {
                        let filter = format!("{}.{topic}.>", self.prefix);
                        let next = info.ack_floor.stream_sequence + 1;
                        if let Ok(message) = stream.direct_get_next_for_subject(filter, Some(next)).await {
                            let published = self
                                .decode(&topic, Some(&message.headers), &[], message.sequence, message.time)
                                .publish_time;
                            oldest_unacked_ms =
                                u64::try_from((now - published).whole_milliseconds().max(0)).unwrap_or(u64::MAX);
                        }
                    }
                    let (acked_recently, mean_delivery_lag_ms, max_delivery_lag_ms) = {
                        let mut subscriptions = lock(&self.subscriptions);
                        match subscriptions.get_mut(&info.name) {
                            Some(state) => {
                                prune(&mut state.acks, now);
                                let count = state.acks.len() as u64;
                                let total: u64 = state.acks.iter().map(|(_, lag)| lag).sum();
                                let max = state.acks.iter().map(|(_, lag)| *lag).max().unwrap_or_default();
                                (count, total.checked_div(count).unwrap_or_default(), max)
                            }
                            None => (0, 0, 0),
                        }
                    };
                    stats.push(SubscriptionStats {
                        dead_letters: dead_counts.get(&info.name).copied().unwrap_or_default(),
                        subscription: info.name,
                        backlog,
                        oldest_unacked_ms,
                        acked_recently,
                        mean_delivery_lag_ms,
                        max_delivery_lag_ms,
                    });
                }
            }
            stats.sort_by(|a, b| a.subscription.cmp(&b.subscription));
            Ok(stats)
        })
    }
}

/// How long a message waits when put back behind an earlier one of its key: growing from
/// 100 ms to 5 s, so a long-blocked key does not spin.
fn put_back_delay(skips: u32) -> Duration {
    Duration::from_millis((100_u64 << skips.saturating_sub(1).min(6)).min(5_000))
}

fn prune(acks: &mut VecDeque<(OffsetDateTime, u64)>, now: OffsetDateTime) {
    while acks.front().is_some_and(|(at, _)| now - *at > STATS_WINDOW) {
        acks.pop_front();
    }
}

fn read_meta(description: Option<&str>) -> ConsumerMeta {
    description
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or(ConsumerMeta { endpoint: String::new(), max_attempts: 5 })
}

fn parse_handle(handle: &str) -> Result<(u64, &str)> {
    handle
        .split_once(':')
        .and_then(|(sequence, reply)| Some((sequence.parse().ok()?, reply)))
        .filter(|(_, reply)| reply.starts_with("$JS.ACK."))
        .ok_or_else(|| Error::invalid("handle", "is not a handle this NATS queue gave out"))
}

fn header_value(field: &str, value: &str) -> Result<async_nats::HeaderValue> {
    async_nats::HeaderValue::from_str(value).map_err(|_| Error::invalid(field, "cannot contain line breaks"))
}

/// Names that become parts of stream, consumer and subject names.
fn check_token(field: &str, value: &str) -> Result<()> {
    if value.is_empty() || value.len() > 64 || !value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(Error::invalid(field, "use 1 to 64 letters, digits, '-' or '_'"));
    }
    Ok(())
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn unavailable(error: impl Display) -> Error {
    Error::Unavailable { dependency: "nats".to_owned(), detail: error.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_backs_wait_longer_each_time_up_to_five_seconds() {
        assert_eq!(put_back_delay(1), Duration::from_millis(100));
        assert_eq!(put_back_delay(2), Duration::from_millis(200));
        assert_eq!(put_back_delay(30), Duration::from_secs(5));
    }

    #[test]
    fn handles_carry_the_stream_sequence() {
        assert_eq!(parse_handle("42:$JS.ACK.s.c.1.42.1.0.0").ok(), Some((42, "$JS.ACK.s.c.1.42.1.0.0")));
        assert!(parse_handle("x:$JS.ACK.s").is_err());
        assert!(parse_handle("42:_INBOX.x").is_err());
    }

    #[test]
    fn names_must_fit_in_subjects() {
        assert!(check_token("topic", "orders").is_ok());
        assert!(check_token("topic", "orders.>").is_err());
        assert!(check_token("topic", "").is_err());
    }
}
