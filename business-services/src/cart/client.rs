//! The typed client other systems and the storefront use to read, fill and empty carts.

use std::time::Duration;

use serde::Serialize;

// The types on this client's wire, for its callers.
pub use super::domain::{Cart, CartId};
use crate::platform::client::{Peer, PeerClient};
use crate::platform::http::ReadinessCheck;
use crate::platform::{Error, Result};

/// Reads, fills and empties carts on the cart service.
#[derive(Debug, Clone)]
pub struct CartClient {
    peer: PeerClient,
}

/// One line added to a cart.
#[derive(Serialize)]
struct AddItem<'a> {
    product_id: &'a str,
    quantity: u32,
}

impl CartClient {
    /// A client of the cart service at `peer`, giving each call `deadline`.
    pub fn new(peer: &Peer, deadline: Duration) -> Self {
        CartClient { peer: PeerClient::to("cart", peer, deadline) }
    }

    /// The cart `id` (empty if it never existed or was abandoned).
    pub async fn cart(&self, id: &CartId) -> Result<Cart> {
        self.peer.get(&format!("/v1/carts/{id}")).await?.ok_or_else(|| Error::Upstream {
            dependency: "cart".into(),
            status: 404,
            detail: "the cart route is missing: is CART_URL pointing at the cart service?".into(),
            field: None,
        })
    }

    /// Empties the cart `id`.
    pub async fn clear(&self, id: &CartId) -> Result<()> {
        self.peer.delete::<()>(&format!("/v1/carts/{id}")).await.map(drop)
    }

    /// The cart `id` as the storefront names it; a 404 means the URL is not the cart service's.
    pub async fn cart_named(&self, id: &str) -> Result<Cart> {
        self.peer.get(&format!("/v1/carts/{id}")).await?.ok_or_else(|| self.peer.unserved("/v1/carts"))
    }

    /// Adds `quantity` of `product` to the cart `id`, once (under a fresh idempotency key).
    pub async fn add_item(&self, id: &str, product: &str, quantity: u32) -> Result<()> {
        let item = AddItem { product_id: product, quantity };
        let key = uuid::Uuid::new_v4().to_string();
        self.peer.post::<_, serde_json::Value>(&format!("/v1/carts/{id}/items"), &item, Some(&key)).await.map(drop)
    }

    /// Empties the cart `id` as the storefront names it.
    pub async fn empty(&self, id: &str) -> Result<()> {
        self.peer.delete::<serde_json::Value>(&format!("/v1/carts/{id}")).await.map(drop)
    }

    /// A readiness check that the cart service answers.
    pub fn readiness(&self) -> ReadinessCheck {
        ReadinessCheck::peer(&self.peer)
    }
}
