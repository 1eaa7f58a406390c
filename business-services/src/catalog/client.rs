//! The typed client other systems use to read the catalog.

use std::time::Duration;

// The types on this client's wire, for its callers.
pub use super::api::Categories;
pub use super::domain::Product;
use crate::contracts::product::ProductId;
use crate::platform::Result;
use crate::platform::client::{Peer, PeerClient, RawBody, escaped};
use crate::platform::http::ReadinessCheck;
use crate::platform::page::Page;

/// Reads products from the catalog service.
#[derive(Debug, Clone)]
pub struct CatalogClient {
    peer: PeerClient,
}

impl CatalogClient {
    /// A client of the catalog at `peer`, giving each call `deadline`.
    pub fn new(peer: &Peer, deadline: Duration) -> Self {
        CatalogClient { peer: PeerClient::to("catalog", peer, deadline) }
    }

    /// The product `id` as a caller was given it; `None` when the catalog has no such product
    /// (a malformed id is the catalog's refusal, an error).
    pub async fn find_product(&self, id: &str) -> Result<Option<Product>> {
        self.peer.get(&format!("/v1/products/{}", escaped(id))).await
    }

    /// Up to `limit` products, in `category` if given.
    pub async fn products(&self, category: Option<&str>, limit: u32) -> Result<Vec<Product>> {
        let mut path = format!("/v1/products?limit={limit}");
        if let Some(category) = category {
            path.push_str(&format!("&category={}", escaped(category)));
        }
        let page: Option<Page<Product>> = self.peer.get(&path).await?;
        Ok(page.map(|page| page.items).unwrap_or_default())
    }

    /// Every product, page by page.
    pub async fn all_products(&self) -> Result<Vec<Product>> {
        self.peer.get_all("/v1/products?").await
    }

    /// Category names with their sizes (none if the catalog serves no categories).
    pub async fn categories(&self) -> Result<Categories> {
        Ok(self.peer.get("/v1/categories").await?.unwrap_or(Categories { categories: vec![] }))
    }

    /// A product's picture as the catalog sends it; `None` when it has none, and the catalog's
    /// refusal (a malformed id is a 422) as an error.
    pub async fn picture(&self, id: &str) -> Result<Option<RawBody>> {
        self.peer.get_raw(&format!("/v1/products/{}/picture", escaped(id))).await
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
