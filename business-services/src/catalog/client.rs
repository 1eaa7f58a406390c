//! The typed client other systems use to read the catalog.

use std::time::Duration;

use super::domain::Product;

use crate::contracts::product::ProductId;
use crate::platform::Result;
use crate::platform::client::PeerClient;
use crate::platform::http::ReadinessCheck;
use crate::platform::page::Page;

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

    /// Up to `limit` products whose text holds every word of `query`.
    pub async fn search(&self, query: &str, limit: u32) -> Result<Vec<Product>> {
        let query: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("q", query)
            .append_pair("limit", &limit.to_string())
            .finish();
        let page: Option<Page<Product>> = self.peer.get(&format!("/v1/products?{query}")).await?;
        Ok(page.map(|page| page.items).unwrap_or_default())
    }

    /// A readiness check that the catalog answers.
    pub fn readiness(&self) -> ReadinessCheck {
        ReadinessCheck::peer(&self.peer)
    }
}
