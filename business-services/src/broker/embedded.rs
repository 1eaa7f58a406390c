//! The embedded backend: a durable queue on the SQL store (SQLite or PostgreSQL), so one
//! machine needs no broker process. Every (subscription, message) pair is a delivery row that
//! tracks its attempts, its lease and its end (acknowledged or dead).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use time::OffsetDateTime;
use tokio::sync::Notify;

use super::queue::{DeadLetter, Delivery, Queue, Subscription, SubscriptionStats};
use crate::platform::clock::{Clock, from_millis, to_millis};
use crate::platform::db::Db;
use crate::platform::events::Message;
use crate::platform::events::{BoxFuture, Publisher};
use crate::platform::{Error, Result};

/// How far back the delivery-lag figures look.
const RECENT: time::Duration = time::Duration::minutes(5);

/// The embedded, durable queue.
#[derive(Debug, Clone)]
pub struct EmbeddedQueue {
    db: Db,
    clock: Arc<dyn Clock>,
    published: Arc<Notify>,
}

type MessageRow = (String, String, String, String, String, i64);
type SubscriptionRow = (String, String, String, i64);

/// A dead delivery with its message.
#[derive(sqlx::FromRow)]
struct DeadRow {
    subscription: String,
    attempts: i64,
    last_error: String,
    settled_at: i64,
    id: String,
    topic: String,
    ordering_key: String,
    data: String,
    attributes: String,
    publish_time: i64,
}

impl EmbeddedQueue {
    /// A queue over `db`, migrated with the broker's migrations.
    pub fn new(db: Db, clock: Arc<dyn Clock>) -> Self {
        EmbeddedQueue { db, clock, published: Arc::new(Notify::new()) }
    }

    /// Woken on every publication, so an idle pusher delivers at once.
    pub fn publications(&self) -> Arc<Notify> {
        self.published.clone()
    }

    /// Every subscription.
    pub async fn subscriptions(&self) -> Result<Vec<Subscription>> {
        let rows: Vec<SubscriptionRow> =
            sqlx::query_as("SELECT name, topic, endpoint, max_attempts FROM subscriptions ORDER BY name")
                .fetch_all(self.db.pool())
                .await?;
        Ok(rows.into_iter().map(decode_subscription).collect())
    }

    /// Forgets acknowledged deliveries settled before `before`, and messages no subscription
    /// still needs; returns how many deliveries went.
    pub async fn prune(&self, before: OffsetDateTime) -> Result<u64> {
        let mut tx = self.db.begin_write().await?;
        let deliveries = sqlx::query("DELETE FROM deliveries WHERE state = 'acked' AND settled_at < $1")
            .bind(to_millis(before))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query(
            "DELETE FROM messages WHERE publish_time < $1 AND NOT EXISTS \
             (SELECT 1 FROM deliveries d WHERE d.message_id = messages.id)",
        )
        .bind(to_millis(before))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(deliveries)
    }

    async fn insert(&self, message: &Message) -> Result<bool> {
        let attributes = serde_json::to_string(&message.attributes)
            .map_err(|e| Error::Internal { detail: format!("could not encode attributes: {e}") })?;
        let mut tx = self.db.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO messages (id, seq, topic, ordering_key, data, attributes, publish_time) \
             VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM messages), $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&message.id)
        .bind(&message.topic)
        .bind(&message.ordering_key)
        .bind(STANDARD.encode(&message.data))
        .bind(attributes)
        .bind(to_millis(message.publish_time))
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if inserted {
            sqlx::query(
                "INSERT INTO deliveries (subscription, message_id, seq, ordering_key, state, due_at, publish_time) \
                 SELECT s.name, m.id, m.seq, m.ordering_key, 'pending', m.publish_time, m.publish_time \
                 FROM subscriptions s JOIN messages m ON m.id = $1 WHERE s.topic = m.topic",
            )
            .bind(&message.id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(inserted)
    }

    async fn lease_now(&self, subscription: &str, max: usize, lease: Duration) -> Result<Vec<Delivery>> {
        let now = to_millis(self.clock.now());
        let until = now.saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX));
        let mut tx = self.db.begin_write().await?;
        // Due deliveries whose key has no earlier message still unacknowledged; a lease that
        // ran out counts as a failed attempt and is due again.
        let due: Vec<(String, i64)> = sqlx::query_as(
            "SELECT d.message_id, d.attempts FROM deliveries d \
             WHERE d.subscription = $1 AND d.state IN ('pending', 'leased') AND d.due_at <= $2 \
             AND NOT EXISTS (SELECT 1 FROM deliveries e WHERE e.subscription = d.subscription \
                 AND e.ordering_key = d.ordering_key AND e.seq < d.seq AND e.state IN ('pending', 'leased')) \
             ORDER BY d.seq LIMIT $3",
        )
        .bind(subscription)
        .bind(now)
        .bind(i64::try_from(max).unwrap_or(i64::MAX))
        .fetch_all(&mut *tx)
        .await?;
        let mut deliveries = Vec::with_capacity(due.len());
        for (message_id, attempts) in due {
            let claimed = sqlx::query(
                "UPDATE deliveries SET state = 'leased', due_at = $3, attempts = attempts + 1 \
                 WHERE subscription = $1 AND message_id = $2 AND state IN ('pending', 'leased') AND due_at <= $4",
            )
            .bind(subscription)
            .bind(&message_id)
            .bind(until)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if claimed == 0 {
                continue;
            }
            let row: MessageRow = sqlx::query_as(
                "SELECT id, topic, ordering_key, data, attributes, publish_time FROM messages WHERE id = $1",
            )
            .bind(&message_id)
            .fetch_one(&mut *tx)
            .await?;
            deliveries.push(Delivery {
                subscription: subscription.to_owned(),
                message: decode_message(row)?,
                attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                handle: message_id,
            });
        }
        tx.commit().await?;
        Ok(deliveries)
    }

    async fn settle_failure(&self, delivery: &Delivery, retry_in: Duration, error: &str) -> Result<bool> {
        let now = to_millis(self.clock.now());
        let max_attempts: i64 = sqlx::query_scalar("SELECT max_attempts FROM subscriptions WHERE name = $1")
            .bind(&delivery.subscription)
            .fetch_optional(self.db.pool())
            .await?
            .ok_or_else(|| Error::not_found("subscription", &delivery.subscription))?;
        let dead = i64::from(delivery.attempts) + 1 >= max_attempts;
        let error: String = error.chars().take(1000).collect();
        let retry_at = now.saturating_add(i64::try_from(retry_in.as_millis()).unwrap_or(i64::MAX));
        let (state, due_at, settled_at) = if dead { ("dead", now, Some(now)) } else { ("pending", retry_at, None) };
        sqlx::query(
            "UPDATE deliveries SET state = $3, due_at = $4, settled_at = $5, last_error = $6 \
             WHERE subscription = $1 AND message_id = $2 AND state = 'leased'",
        )
        .bind(&delivery.subscription)
        .bind(&delivery.handle)
        .bind(state)
        .bind(due_at)
        .bind(settled_at)
        .bind(error)
        .execute(self.db.pool())
        .await?;
        if dead {
            tracing::warn!(subscription = delivery.subscription, message = delivery.handle, "Message dead-lettered.");
        }
        Ok(dead)
    }

    async fn dead(&self, subscription: Option<&str>, limit: u32) -> Result<Vec<DeadLetter>> {
        let rows: Vec<DeadRow> = sqlx::query_as(
            "SELECT d.subscription, d.attempts, d.last_error, d.settled_at, m.id, m.topic, m.ordering_key, m.data, \
             m.attributes, m.publish_time FROM deliveries d JOIN messages m ON m.id = d.message_id \
             WHERE d.state = 'dead' AND ($1 = '' OR d.subscription = $1) ORDER BY d.settled_at, d.seq LIMIT $2",
        )
        .bind(subscription.unwrap_or_default())
        .bind(i64::from(limit))
        .fetch_all(self.db.pool())
        .await?;
        rows.into_iter()
            .map(
                |DeadRow {
                     subscription,
                     attempts,
                     last_error,
                     settled_at,
                     id,
                     topic,
                     ordering_key,
                     data,
                     attributes,
                     publish_time,
                 }| {
                    let message = decode_message((id, topic, ordering_key, data, attributes, publish_time))?;
                    let data =
                        String::from_utf8(message.data.clone()).unwrap_or_else(|_| STANDARD.encode(&message.data));
                    Ok(DeadLetter {
                        subscription,
                        message_id: message.id,
                        topic: message.topic,
                        ordering_key: message.ordering_key,
                        attributes: message.attributes,
                        data,
                        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                        last_error,
                        dead_at: from_millis(settled_at),
                    })
                },
            )
            .collect()
    }

    async fn statistics(&self) -> Result<Vec<SubscriptionStats>> {
        let now = to_millis(self.clock.now());
        let recent = to_millis(self.clock.now() - RECENT);
        let rows: Vec<(String, i64, i64, i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT s.name, \
               CAST(COALESCE(SUM(CASE WHEN d.state IN ('pending', 'leased') THEN 1 ELSE 0 END), 0) AS BIGINT), \
               CAST(COALESCE(MIN(CASE WHEN d.state IN ('pending', 'leased') THEN d.publish_time END), $1) AS BIGINT), \
               CAST(COALESCE(SUM(CASE WHEN d.state = 'dead' THEN 1 ELSE 0 END), 0) AS BIGINT), \
               CAST(COALESCE(SUM(CASE WHEN d.state = 'acked' AND d.settled_at >= $2 THEN 1 ELSE 0 END), 0) AS BIGINT), \
               CAST(COALESCE(AVG(CASE WHEN d.state = 'acked' AND d.settled_at >= $2 THEN d.settled_at - d.publish_time END), 0) AS BIGINT), \
               CAST(COALESCE(MAX(CASE WHEN d.state = 'acked' AND d.settled_at >= $2 THEN d.settled_at - d.publish_time END), 0) AS BIGINT) \
             FROM subscriptions s LEFT JOIN deliveries d ON d.subscription = s.name GROUP BY s.name ORDER BY s.name",
        )
        .bind(now)
        .bind(recent)
        .fetch_all(self.db.pool())
        .await?;
        let count = |n: i64| u64::try_from(n).unwrap_or_default();
        Ok(rows
            .into_iter()
            .map(|(subscription, backlog, oldest, dead, acked, mean, max)| SubscriptionStats {
                subscription,
                backlog: count(backlog),
                oldest_unacked_ms: count(now - oldest),
                dead_letters: count(dead),
                acked_recently: count(acked),
                mean_delivery_lag_ms: count(mean),
                max_delivery_lag_ms: count(max),
            })
            .collect())
    }
}

fn decode_subscription((name, topic, endpoint, max_attempts): SubscriptionRow) -> Subscription {
    Subscription { name, topic, endpoint, max_attempts: u32::try_from(max_attempts).unwrap_or(u32::MAX) }
}

fn decode_message((id, topic, ordering_key, data, attributes, publish_time): MessageRow) -> Result<Message> {
    let corrupt = |why: String| Error::Internal { detail: format!("stored message {id} is unreadable: {why}") };
    let data = STANDARD.decode(&data).map_err(|e| corrupt(e.to_string()))?;
    let attributes: BTreeMap<String, String> = serde_json::from_str(&attributes).map_err(|e| corrupt(e.to_string()))?;
    Ok(Message { id, topic, ordering_key, data, attributes, publish_time: from_millis(publish_time) })
}

impl Publisher for EmbeddedQueue {
    fn publish<'a>(&'a self, message: &'a Message) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            // Two publishers may pick the same sequence number on PostgreSQL: the loser retries.
            let mut attempt = 0;
            loop {
                match self.insert(message).await {
                    Ok(_) => break,
                    Err(Error::Database(error))
                        if attempt < 5
                            && error
                                .as_database_error()
                                .is_some_and(|e| e.kind() == sqlx::error::ErrorKind::UniqueViolation) =>
                    {
                        attempt += 1;
                    }
                    Err(error) => return Err(error),
                }
            }
            self.published.notify_waiters();
            Ok(())
        })
    }
}

impl Queue for EmbeddedQueue {
    fn subscribe<'a>(&'a self, subscription: &'a Subscription) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let existing: Option<String> = sqlx::query_scalar("SELECT topic FROM subscriptions WHERE name = $1")
                .bind(&subscription.name)
                .fetch_optional(self.db.pool())
                .await?;
            if existing.as_ref().is_some_and(|topic| topic != &subscription.topic) {
                return Err(Error::Conflict {
                    detail: format!(
                        "subscription '{}' already receives another topic; choose another name",
                        subscription.name
                    ),
                });
            }
            sqlx::query(
                "INSERT INTO subscriptions (name, topic, endpoint, max_attempts, created_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (name) DO UPDATE SET endpoint = excluded.endpoint, max_attempts = excluded.max_attempts",
            )
            .bind(&subscription.name)
            .bind(&subscription.topic)
            .bind(&subscription.endpoint)
            .bind(i64::from(subscription.max_attempts.max(1)))
            .bind(to_millis(self.clock.now()))
            .execute(self.db.pool())
            .await?;
            Ok(())
        })
    }

    fn subscription<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Subscription>> {
        Box::pin(async move {
            let row: Option<SubscriptionRow> =
                sqlx::query_as("SELECT name, topic, endpoint, max_attempts FROM subscriptions WHERE name = $1")
                    .bind(name)
                    .fetch_optional(self.db.pool())
                    .await?;
            row.map(decode_subscription).ok_or_else(|| Error::not_found("subscription", name))
        })
    }

    fn lease<'a>(&'a self, subscription: &'a str, max: usize, lease: Duration) -> BoxFuture<'a, Result<Vec<Delivery>>> {
        Box::pin(self.lease_now(subscription, max, lease))
    }

    fn ack<'a>(&'a self, delivery: &'a Delivery) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            sqlx::query(
                "UPDATE deliveries SET state = 'acked', settled_at = $3 WHERE subscription = $1 AND message_id = $2 \
                 AND state = 'leased'",
            )
            .bind(&delivery.subscription)
            .bind(&delivery.handle)
            .bind(to_millis(self.clock.now()))
            .execute(self.db.pool())
            .await?;
            self.published.notify_waiters();
            Ok(())
        })
    }

    fn nack<'a>(&'a self, delivery: &'a Delivery, retry_in: Duration, error: &'a str) -> BoxFuture<'a, Result<bool>> {
        Box::pin(self.settle_failure(delivery, retry_in, error))
    }

    fn dead_letters<'a>(&'a self, subscription: Option<&'a str>, limit: u32) -> BoxFuture<'a, Result<Vec<DeadLetter>>> {
        Box::pin(self.dead(subscription, limit))
    }

    fn replay<'a>(&'a self, subscription: &'a str, message_id: Option<&'a str>) -> BoxFuture<'a, Result<u64>> {
        Box::pin(async move {
            let replayed = sqlx::query(
                "UPDATE deliveries SET state = 'pending', attempts = 0, due_at = $3, settled_at = NULL, last_error = '' \
                 WHERE subscription = $1 AND state = 'dead' AND ($2 = '' OR message_id = $2)",
            )
            .bind(subscription)
            .bind(message_id.unwrap_or_default())
            .bind(to_millis(self.clock.now()))
            .execute(self.db.pool())
            .await?
            .rows_affected();
            self.published.notify_waiters();
            Ok(replayed)
        })
    }

    fn stats(&self) -> BoxFuture<'_, Result<Vec<SubscriptionStats>>> {
        Box::pin(self.statistics())
    }
}
