//! The outbox relay: publishes a system's outbox rows (see [`crate::platform::outbox`]) in
//! the order they were written, marks each one sent, and picks up where it stopped after a
//! restart. A failed publication stops the round, so a later event never overtakes it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::platform::clock::{Clock, to_millis};
use crate::platform::db::Db;
use crate::platform::events::Publisher;
use crate::platform::events::{EVENT_ID, Message};
use crate::platform::tasks;
use crate::platform::{Error, Result};

/// How often the relay looks for new outbox rows.
const INTERVAL: Duration = Duration::from_millis(100);

/// Publishes one system's outbox.
#[derive(Debug, Clone)]
pub struct Relay {
    source: Db,
    publisher: Arc<dyn Publisher>,
    clock: Arc<dyn Clock>,
}

impl Relay {
    /// A relay from the outbox in `source` to `publisher`.
    pub fn new(source: Db, publisher: Arc<dyn Publisher>, clock: Arc<dyn Clock>) -> Self {
        Relay { source, publisher, clock }
    }

    /// Publishes what is waiting, oldest first; returns how many were published.
    pub async fn relay_once(&self) -> Result<u64> {
        let rows: Vec<(String, String, String, String, String)> = sqlx::query_as(
            "SELECT id, topic, ordering_key, payload, attributes FROM outbox WHERE published_at IS NULL \
             ORDER BY created_at, id LIMIT 100",
        )
        .fetch_all(self.source.pool())
        .await?;
        let mut published = 0;
        for (id, topic, ordering_key, payload, attributes) in rows {
            let mut attributes: BTreeMap<String, String> = serde_json::from_str(&attributes)
                .map_err(|e| Error::Internal { detail: format!("outbox row {id} has unreadable attributes: {e}") })?;
            attributes.insert(EVENT_ID.to_owned(), id.clone());
            let message = Message {
                id: id.clone(),
                topic,
                ordering_key,
                data: payload.into_bytes(),
                attributes,
                publish_time: self.clock.now(),
            };
            self.publisher.publish(&message).await?;
            sqlx::query("UPDATE outbox SET published_at = $2 WHERE id = $1")
                .bind(&id)
                .bind(to_millis(self.clock.now()))
                .execute(self.source.pool())
                .await?;
            published += 1;
        }
        Ok(published)
    }

    /// Relays until `shutdown`.
    pub async fn run(self, name: &str, shutdown: CancellationToken) {
        tasks::every(INTERVAL, shutdown, name, || self.relay_once()).await;
    }
}
