//! The typed client other systems use to read and empty carts.

use std::time::Duration;

// The types on this client's wire, for its callers.
pub use super::domain::{Cart, CartId};
use crate::platform::client::PeerClient;
use crate::platform::http::ReadinessCheck;
use crate::platform::{Error, Result};

/// Reads and empties carts on the cart service.
#[derive(Debug, Clone)]
pub struct CartClient {
    peer: PeerClient,
}

impl CartClient {
    /// A client of the cart service at `base_url`, giving each call `deadline`.
    pub fn new(base_url: &str, deadline: Duration) -> Self {
        CartClient { peer: PeerClient::new("cart", base_url, deadline) }
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

    /// A readiness check that the cart service answers.
    pub fn readiness(&self) -> ReadinessCheck {
        ReadinessCheck::peer(&self.peer)
    }
}
