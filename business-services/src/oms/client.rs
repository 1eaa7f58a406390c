//! The typed client the back office uses to read order lifecycles.

use std::time::Duration;

// The types on this client's wire, for its callers.
pub use super::domain::{Order, OrderDetail};
use crate::platform::Result;
use crate::platform::client::{Peer, PeerClient, escaped};
use crate::platform::page::Page;

/// Calls order management.
#[derive(Debug, Clone)]
pub struct OmsClient {
    peer: PeerClient,
}

impl OmsClient {
    /// A client of order management at `peer`, giving each call `deadline`.
    pub fn new(peer: &Peer, deadline: Duration) -> Self {
        OmsClient { peer: PeerClient::to("oms", peer, deadline) }
    }

    /// An order's lifecycle with its history; `None` when there is no such order.
    pub async fn order(&self, id: &str) -> Result<Option<OrderDetail>> {
        self.peer.get(&format!("/v1/orders/{}", escaped(id))).await
    }

    /// The orders held, newest first, at most `limit` (one page).
    pub async fn orders(&self, limit: u32) -> Result<Vec<Order>> {
        let path = format!("/v1/orders?limit={limit}");
        Ok(self.peer.get::<Page<Order>>(&path).await?.map(|page| page.items).unwrap_or_default())
    }
}
