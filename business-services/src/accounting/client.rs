//! The typed client other systems (the OMS) use to post to the ledger.

use std::time::Duration;

// The types on this client's wire, for its callers.
pub use super::domain::{JournalEntry, Refund, RevenueRecognition, Sale, TrialBalance};
use crate::contracts::order::OrderId;
use crate::platform::client::{Peer, PeerClient};
use crate::platform::http::ReadinessCheck;
use crate::platform::{Error, Result};

/// Calls the accounting service. Every posting is idempotent on a business key (the order
/// id, the refund's reference), so every call is retried after transient failures.
#[derive(Debug, Clone)]
pub struct AccountingClient {
    peer: PeerClient,
}

impl AccountingClient {
    /// A client of accounting at `peer`, giving each call `deadline`.
    pub fn new(peer: &Peer, deadline: Duration) -> Self {
        AccountingClient { peer: PeerClient::to("accounting", peer, deadline) }
    }

    /// Records an order's sale (revenue deferred until it ships); once per order. Other
    /// amounts for an order already recorded are an [`Error::Upstream`] 422 on `order_id`.
    pub async fn record_sale(&self, sale: &Sale) -> Result<JournalEntry> {
        self.post("/v1/journal/sales", sale, &format!("sale-{}", sale.order_id)).await
    }

    /// Recognises a shipped order's revenue; once per order. Without a recorded sale it is
    /// [`Error::Conflict`].
    pub async fn recognize_revenue(&self, order_id: &OrderId) -> Result<JournalEntry> {
        let request = RevenueRecognition { order_id: order_id.clone() };
        self.post("/v1/journal/revenue-recognitions", &request, &format!("recognition-{order_id}")).await
    }

    /// Records a refund; once per reference. More than the sale's total is an
    /// [`Error::Upstream`] 422 on `amount`; without a recorded sale, [`Error::Conflict`].
    pub async fn record_refund(&self, refund: &Refund) -> Result<JournalEntry> {
        self.post("/v1/journal/refunds", refund, &format!("refund-{}", refund.reference)).await
    }

    /// The trial balance.
    pub async fn trial_balance(&self) -> Result<TrialBalance> {
        let path = "/v1/trial-balance";
        self.peer.get(path).await?.ok_or_else(|| self.peer.unserved(path))
    }

    async fn post<B: serde::Serialize>(&self, path: &str, body: &B, key: &str) -> Result<JournalEntry> {
        self.peer
            .post(path, body, Some(key))
            .await
            .map_err(Error::peer_conflict)?
            .ok_or_else(|| self.peer.unserved(path))
    }

    /// A readiness check that accounting answers.
    pub fn readiness(&self) -> ReadinessCheck {
        ReadinessCheck::peer(&self.peer)
    }
}
