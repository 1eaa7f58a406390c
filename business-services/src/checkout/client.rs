//! The typed client the storefront and the back office use to place orders and read receipts.

use std::time::Duration;

use serde::Serialize;

// The types on this client's wire, for its callers.
pub use crate::contracts::order::{OrderId, Receipt};
use crate::platform::Result;
use crate::platform::client::{Peer, PeerClient, escaped};
use crate::platform::page::Page;

/// Calls the checkout service.
#[derive(Debug, Clone)]
pub struct CheckoutClient {
    peer: PeerClient,
}

impl CheckoutClient {
    /// A client of the checkout at `peer`, giving each call `deadline`.
    pub fn new(peer: &Peer, deadline: Duration) -> Self {
        CheckoutClient { peer: PeerClient::to("checkout", peer, deadline) }
    }

    /// Places an order: `order` is the checkout API's request, placed once per
    /// `idempotency_key` (and so retried after transient failures).
    pub async fn place_order(&self, order: &impl Serialize, idempotency_key: &str) -> Result<Receipt> {
        let path = "/v1/checkout";
        self.peer.post(path, order, Some(idempotency_key)).await?.ok_or_else(|| self.peer.unserved(path))
    }

    /// An order's receipt; `None` when the checkout has no such order.
    pub async fn receipt(&self, order: &OrderId) -> Result<Option<Receipt>> {
        self.peer.get(&format!("/v1/orders/{order}")).await
    }

    /// A customer's latest `limit` receipts, newest first.
    pub async fn receipts_of(&self, customer: &str, limit: u32) -> Result<Vec<Receipt>> {
        let path = format!("/v1/orders?customer_id={}&limit={limit}", escaped(customer));
        Ok(self.peer.get::<Page<Receipt>>(&path).await?.map(|page| page.items).unwrap_or_default())
    }
}
