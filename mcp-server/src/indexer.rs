//! Keeps the search index fresh: a full pass over the seeded and current data at start and then
//! periodically (catalog, help content, CRM notes and tickets, order timelines), and, between
//! passes, the orders named by `orders` and `shipments` events pushed by the broker. Events are
//! only hints: the indexer re-reads the order from the systems, so a forged push cannot put
//! anything into the index. It is the only writer of the index; no tool writes.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use business_services::oms::domain::OrderDetail;
use mcp_contract::content;
use mcp_contract::token::unix_now;
use mcp_contract::views::name_of;
use serde::Serialize;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::backoffice::BackOffice;
use crate::search::SearchEngine;
use crate::search::document::{DocKind, Document};

/// How many of the latest orders a full pass indexes.
const RECENT_ORDERS: u32 = 100;
/// How soon an order fulfilment did not know yet is read again.
const RETRY: Duration = Duration::from_secs(1);
/// The most orders waiting to be re-read: a flood of pushes cannot grow the queue without end
/// (the next full pass finds whatever was dropped).
const MAX_PENDING: usize = 10_000;
/// How long an order named by an event is retried before the next full pass is left to find it.
const GIVE_UP: Duration = Duration::from_secs(600);

/// What the indexer has done, for `GET /v1/indexer`.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Status {
    /// Searchable documents.
    pub documents: usize,
    /// The vector engine.
    pub engine: String,
    /// The embedding model, or `null` when search is keyword-only.
    pub model: Option<String>,
    /// When the last full pass finished, Unix seconds.
    pub last_full_pass: Option<i64>,
    /// How long it took, milliseconds.
    pub last_full_pass_ms: Option<u64>,
    /// Orders named by events and not yet re-indexed.
    pub pending_orders: usize,
    /// Age of the oldest pending event, milliseconds: the index's lag behind the events.
    pub lag_ms: u64,
    /// The last failure, if the last attempt failed.
    pub last_error: Option<String>,
}

/// The index's only writer.
#[derive(Debug, Clone)]
pub struct Indexer {
    backoffice: BackOffice,
    search: SearchEngine,
    pending: Arc<Mutex<BTreeMap<String, Instant>>>,
    wake: Arc<Notify>,
    status: Arc<Mutex<Status>>,
}

impl Indexer {
    /// An indexer reading `backoffice` into `search`.
    pub fn new(backoffice: BackOffice, search: SearchEngine) -> Indexer {
        let status = Status {
            engine: search.engine().to_owned(),
            model: search.model().map(str::to_owned),
            ..Status::default()
        };
        Indexer {
            backoffice,
            search,
            pending: Arc::default(),
            wake: Arc::default(),
            status: Arc::new(Mutex::new(status)),
        }
    }

    /// What it has done so far.
    pub fn status(&self) -> Status {
        let mut status = lock(&self.status).clone();
        let pending = lock(&self.pending);
        status.documents = self.search.len();
        status.pending_orders = pending.len();
        status.lag_ms = pending.values().min().map_or(0, |oldest| oldest.elapsed().as_millis() as u64);
        status
    }

    /// Notes that `order_id` changed (from an event); it is re-read soon.
    pub fn hint(&self, order_id: &str) {
        let mut pending = lock(&self.pending);
        if pending.len() >= MAX_PENDING && !pending.contains_key(order_id) {
            tracing::warn!(order = %order_id, "Too many orders waiting to be indexed; the next full pass finds this one.");
            return;
        }
        pending.entry(order_id.to_owned()).or_insert_with(Instant::now);
        drop(pending);
        self.wake.notify_one();
    }

    /// Runs full passes every `every` and re-indexes hinted orders as they come, until
    /// `shutdown`.
    pub async fn run(self, every: Duration, shutdown: CancellationToken) {
        let mut next_pass = Instant::now();
        loop {
            if Instant::now() >= next_pass {
                // A pass cut short by shutdown is simply not finished: the systems it reads are
                // stopping too.
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    _ = self.full_pass() => {}
                }
                next_pass = Instant::now() + every;
            }
            let waiting = self.drain().await;
            let wake_at = if waiting { next_pass.min(Instant::now() + RETRY) } else { next_pass };
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = self.wake.notified() => {}
                () = tokio::time::sleep_until(wake_at.into()) => {}
            }
        }
    }

    /// Reads everything and indexes what changed. Returns the documents changed.
    pub async fn full_pass(&self) -> usize {
        let started = Instant::now();
        let outcome = self.read_everything().await;
        let mut status = lock(&self.status);
        match outcome {
            Ok(changed) => {
                status.last_full_pass = Some(unix_now());
                status.last_full_pass_ms = Some(started.elapsed().as_millis() as u64);
                status.last_error = None;
                tracing::info!(
                    changed,
                    documents = self.search.len(),
                    ms = started.elapsed().as_millis() as u64,
                    "Index pass done."
                );
                changed
            }
            Err(error) => {
                tracing::warn!(%error, "Index pass failed; retrying at the next pass.");
                status.last_error = Some(format!("{error:#}"));
                0
            }
        }
    }

    async fn read_everything(&self) -> anyhow::Result<usize> {
        let mut documents: Vec<Document> = content::articles().iter().map(Document::from).collect();
        documents.extend(self.backoffice.products().await?.into_iter().map(|product| Document {
            id: format!("product:{}", product.id),
            kind: DocKind::Product,
            title: product.name.clone(),
            text: format!(
                "{} Categories: {}. Price {}.",
                product.description,
                product.categories.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
                product.price
            ),
            customer_id: None,
            updated_at: 0,
        }));
        for customer in self.backoffice.customers().await? {
            let id = customer.id.to_string();
            documents.extend(self.backoffice.notes(&id).await?.into_iter().map(|note| Document {
                id: format!("note:{}", note.id),
                kind: DocKind::Note,
                title: format!("Note by {} on {}", note.author, customer.name),
                text: note.body,
                customer_id: Some(id.clone()),
                updated_at: note.created_at.unix_timestamp() * 1000,
            }));
            documents.extend(self.backoffice.tickets(&id).await?.into_iter().map(|ticket| {
                Document {
                    id: format!("ticket:{}", ticket.id),
                    kind: DocKind::Ticket,
                    title: format!("Ticket: {} ({})", ticket.subject, name_of(&ticket.status)),
                    text: ticket
                        .messages
                        .iter()
                        .map(|message| format!("{}: {}", message.author, message.body))
                        .collect::<Vec<_>>()
                        .join("\n"),
                    customer_id: Some(id.clone()),
                    updated_at: ticket.updated_at.unix_timestamp() * 1000,
                }
            }));
        }
        for order in self.backoffice.recent_orders(RECENT_ORDERS).await? {
            // A guest's order has no customer to scope its timeline to: not worth reading.
            if order.customer_id.is_some()
                && let Some(detail) = self.backoffice.lifecycle(order.id.as_str()).await?
            {
                documents.extend(timeline(&detail));
            }
        }
        self.search.upsert(documents).await
    }

    /// Re-indexes the orders named by events; whether some are still waiting.
    async fn drain(&self) -> bool {
        let orders: Vec<String> = lock(&self.pending).keys().cloned().collect();
        for order_id in orders {
            let outcome = async {
                match self.backoffice.lifecycle(&order_id).await? {
                    Some(detail) => Ok(self.search.upsert(timeline(&detail).into_iter().collect()).await?),
                    // Fulfilment has not heard of it yet: keep it pending, the next event or pass retries.
                    None => Err(anyhow::anyhow!("order management does not know {order_id} yet")),
                }
            };
            match outcome.await {
                Ok(_) => {
                    lock(&self.pending).remove(&order_id);
                }
                Err(error) => {
                    let mut pending = lock(&self.pending);
                    if pending.get(&order_id).is_some_and(|since| since.elapsed() > GIVE_UP) {
                        tracing::warn!(%error, order = %order_id, "Order event dropped; the next full pass indexes it.");
                        pending.remove(&order_id);
                    } else {
                        tracing::debug!(%error, order = %order_id, "Order not re-indexed yet.");
                    }
                }
            }
        }
        !lock(&self.pending).is_empty()
    }
}

/// The timeline document of an order; none for a guest's order (no customer to scope it to).
fn timeline(detail: &OrderDetail) -> Option<Document> {
    let order = &detail.order;
    let history = detail
        .history
        .iter()
        .map(|step| format!("{}: {} ({})", step.at.date(), name_of(&step.to), step.cause))
        .collect::<Vec<_>>()
        .join("; ");
    Some(Document {
        id: format!("order:{}", order.id),
        kind: DocKind::Order,
        title: format!("Order {} is {}", order.id, name_of(&order.state)),
        text: format!("Placed {} for {}. History: {history}.", order.placed_at.date(), order.total),
        customer_id: Some(order.customer_id.clone()?),
        updated_at: order.updated_at.unix_timestamp() * 1000,
    })
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
