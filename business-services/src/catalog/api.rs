//! The catalog's HTTP routes.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::domain::{Category, Product, ProductFilter, SearchTerms};

use super::store::CatalogStore;
use crate::contracts::product::{ProductId, StockClass};
use crate::platform::error::{Error, Problem, Result};
use crate::platform::extract::ApiQuery;
use crate::platform::page::{self, Page};

/// The catalog's routes over `store`.
pub fn routes(store: CatalogStore) -> Router {
    Router::new()
        .route("/v1/products", get(list_products))
        .route("/v1/products/{id}", get(get_product))
        .route("/v1/products/{id}/picture", get(get_picture))
        .route("/v1/categories", get(list_categories))
        .with_state(store)
}

/// The catalog's OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(title = "catalog", description = "Products, categories, prices and stock classes."),
    paths(list_products, get_product, get_picture, list_categories),
    components(schemas(Product, Page<Product>, Categories, CategoryEntry, Problem))
)]
pub struct ApiDoc;

/// Filters and paging of a product list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListProducts {
    /// Only products in this category, e.g. `furniture` or `kitchen`.
    category: Option<String>,
    /// Keywords that must all occur in the name, description or categories.
    q: Option<String>,
    /// Only `standard` (parcel) or `oversized` (freight) products.
    stock_class: Option<String>,
    /// Page size, 1 to 100 (default 20).
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

impl ListProducts {
    fn filter(self) -> Result<(ProductFilter, u32)> {
        let limit = page::limit(self.limit)?;
        let filter = ProductFilter {
            category: self
                .category
                .map(|c| Category::parse(&c))
                .transpose()
                .map_err(|e| Error::invalid("category", e))?,
            stock_class: self
                .stock_class
                .map(|c| StockClass::parse(&c))
                .transpose()
                .map_err(|e| Error::invalid("stock_class", e))?,
            search: self.q.map(|q| SearchTerms::parse(&q)).transpose().map_err(|e| Error::invalid("q", e))?.flatten(),
            after: self
                .cursor
                .map(|cursor| page::decode_cursor(&cursor).and_then(|key| parse_id(&key, "cursor")))
                .transpose()?,
        };
        Ok((filter, limit))
    }
}

fn parse_id(id: &str, field: &str) -> Result<ProductId> {
    ProductId::parse(id).map_err(|e| Error::invalid(field, e))
}

/// Lists products, filtered and paginated.
#[utoipa::path(get, path = "/v1/products", params(ListProducts),
    responses((status = 200, body = Page<Product>), (status = 422, body = Problem)))]
async fn list_products(
    State(store): State<CatalogStore>,
    ApiQuery(query): ApiQuery<ListProducts>,
) -> Result<Json<Page<Product>>> {
    let (filter, limit) = query.filter()?;
    let rows = store.list(&filter, limit + 1).await?;
    Ok(Json(page::paginate(rows, limit, |product| product.id.to_string())))
}

/// Gets one product.
#[utoipa::path(get, path = "/v1/products/{id}", params(("id" = ProductId, Path, description = "Product id")),
    responses((status = 200, body = Product), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn get_product(State(store): State<CatalogStore>, Path(id): Path<String>) -> Result<Json<Product>> {
    let id = parse_id(&id, "id")?;
    store.get(&id).await?.map(Json).ok_or_else(|| Error::not_found("product", id.as_str()))
}

/// Gets a product's picture.
#[utoipa::path(get, path = "/v1/products/{id}/picture", params(("id" = ProductId, Path, description = "Product id")),
    responses((status = 200, content_type = "image/svg+xml", body = String), (status = 404, body = Problem)))]
async fn get_picture(State(store): State<CatalogStore>, Path(id): Path<String>) -> Result<Response> {
    let id = parse_id(&id, "id")?;
    let picture = store.picture(&id).await?.ok_or_else(|| Error::not_found("picture of product", id.as_str()))?;
    let headers = [
        (header::CONTENT_TYPE, picture.media_type),
        (header::CACHE_CONTROL, "public, max-age=3600".to_owned()),
        // An SVG can carry script: served on its own, it may run none and load nothing.
        (header::CONTENT_SECURITY_POLICY, "default-src 'none'; style-src 'unsafe-inline'".to_owned()),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
    ];
    Ok((headers, picture.body).into_response())
}

/// Every category and how many products it holds.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Categories {
    /// Categories by name.
    pub categories: Vec<CategoryEntry>,
}

/// A category and its size.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CategoryEntry {
    /// The category slug.
    pub name: Category,
    /// How many products it holds.
    pub products: i64,
}

/// Lists categories.
#[utoipa::path(get, path = "/v1/categories", responses((status = 200, body = Categories)))]
async fn list_categories(State(store): State<CatalogStore>) -> Result<Json<Categories>> {
    let categories = store
        .categories()
        .await?
        .into_iter()
        .map(|count| CategoryEntry { name: count.category, products: count.products })
        .collect();
    Ok(Json(Categories { categories }))
}
