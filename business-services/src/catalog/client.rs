//! The typed client other systems use to read the catalog.

use std::time::Duration;

use super::domain::{Product, ProductId};
use crate::platform::Result;
use crate::platform::client::PeerClient;
use crate::platform::http::ReadinessCheck;

/// Reads products from the catalog service.
#[derive(Debug, Clone)]
pub struct CatalogClient {
    peer: PeerClient,
}

impl CatalogClient {
    /// A client of the catalog at `base_url`, giving each call `deadline`.
    pub fn new(base_url: &str, deadline: Duration) -> Self {
        CatalogClient { peer: PeerClient::new("catalog", base_url, deadline) }
    }

    /// One product; `None` when the catalog has no such product.
    pub async fn product(&self, id: &ProductId) -> Result<Option<Product>> {
        self.peer.get(&format!("/v1/products/{id}")).await
    }

    /// A readiness check that the catalog answers.
    pub fn readiness(&self) -> ReadinessCheck {
        ReadinessCheck::peer(&self.peer)
    }
}
