//! The cart service's HTTP routes.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::{OpenApi, ToSchema};

use super::domain::{Cart, CartChange, CartId, CartItem, check_quantity};
use super::store::CartStore;
use crate::catalog::client::CatalogClient;
use crate::contracts::product::ProductId;
use crate::platform::clock::Clock;
use crate::platform::error::{Error, Problem, Result};
use crate::platform::extract::ApiJson;
use crate::platform::idempotency::{Claim, optional_key};

/// What the cart routes need.
#[derive(Debug, Clone)]
pub struct CartState {
    /// The carts.
    pub store: CartStore,
    /// Where products are checked before they go into a cart.
    pub catalog: CatalogClient,
    /// The time source for expiry.
    pub clock: Arc<dyn Clock>,
}

/// The cart service's routes.
pub fn routes(state: CartState) -> Router {
    Router::new()
        .route("/v1/carts/{cart_id}", get(get_cart).delete(empty_cart))
        .route("/v1/carts/{cart_id}/items", post(add_item))
        .route("/v1/carts/{cart_id}/items/{product_id}", put(set_item).delete(remove_item))
        .route("/v1/carts/{cart_id}/merge", post(merge_carts))
        .with_state(state)
}

/// The cart service's OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(title = "cart", description = "Shopping carts per session or signed-in customer; abandoned carts expire."),
    paths(get_cart, empty_cart, add_item, set_item, remove_item, merge_carts),
    components(schemas(Cart, CartItem, AddItem, SetQuantity, MergeCarts, Problem))
)]
pub struct ApiDoc;

fn parse_cart_id(id: &str, field: &str) -> Result<CartId> {
    CartId::parse(id).map_err(|e| Error::invalid(field, e))
}

fn parse_product_id(id: &str) -> Result<ProductId> {
    ProductId::parse(id).map_err(|e| Error::invalid("product_id", e))
}

impl CartState {
    async fn ensure_in_catalog(&self, product: &ProductId) -> Result<()> {
        match self.catalog.product(product).await? {
            Some(_) => Ok(()),
            None => Err(Error::invalid("product_id", format!("the catalog has no product '{product}'"))),
        }
    }

    async fn change(&self, id: &CartId, change: CartChange, headers: &HeaderMap) -> Result<Response> {
        let claim = optional_key(headers)?.map(|key| Claim::new(id.as_str(), &key, change.fingerprint(id)));
        let outcome = self.store.change(id, self.clock.now(), &change, claim.as_ref()).await?;
        Ok(outcome.into_response(StatusCode::OK, StatusCode::OK))
    }
}

/// Gets a cart; a cart that never existed or was abandoned is empty.
#[utoipa::path(get, path = "/v1/carts/{cart_id}", params(("cart_id" = String, Path, description = "Session or customer id")),
    responses((status = 200, body = Cart), (status = 422, body = Problem)))]
async fn get_cart(State(state): State<CartState>, Path(cart_id): Path<String>) -> Result<Json<Cart>> {
    let id = parse_cart_id(&cart_id, "cart_id")?;
    Ok(Json(state.store.get(&id, state.clock.now()).await?))
}

/// Empties a cart.
#[utoipa::path(delete, path = "/v1/carts/{cart_id}", params(("cart_id" = String, Path, description = "Session or customer id")),
    responses((status = 204, description = "The cart is empty"), (status = 422, body = Problem)))]
async fn empty_cart(State(state): State<CartState>, Path(cart_id): Path<String>) -> Result<StatusCode> {
    let id = parse_cart_id(&cart_id, "cart_id")?;
    state.store.change(&id, state.clock.now(), &CartChange::Clear, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A product to add to a cart.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct AddItem {
    /// The product.
    product_id: String,
    /// How many to add, 1 to 99.
    quantity: u32,
}

/// Adds a product to a cart. Send an `Idempotency-Key` header so a retried request adds once.
#[utoipa::path(post, path = "/v1/carts/{cart_id}/items", request_body = AddItem,
    params(("cart_id" = String, Path, description = "Session or customer id"),
           ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses((status = 200, body = Cart), (status = 422, body = Problem), (status = 503, body = Problem)))]
async fn add_item(
    State(state): State<CartState>,
    Path(cart_id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<AddItem>,
) -> Result<Response> {
    let id = parse_cart_id(&cart_id, "cart_id")?;
    let product = parse_product_id(&body.product_id)?;
    let quantity = check_quantity(body.quantity, false).map_err(|e| Error::invalid("quantity", e))?;
    state.ensure_in_catalog(&product).await?;
    state.change(&id, CartChange::Add(product, quantity), &headers).await
}

/// A new quantity for a cart line.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SetQuantity {
    /// 0 to 99; 0 removes the line.
    quantity: u32,
}

/// Sets the quantity of a product in a cart.
#[utoipa::path(put, path = "/v1/carts/{cart_id}/items/{product_id}", request_body = SetQuantity,
    params(("cart_id" = String, Path, description = "Session or customer id"), ("product_id" = ProductId, Path, description = "Product id")),
    responses((status = 200, body = Cart), (status = 422, body = Problem), (status = 503, body = Problem)))]
async fn set_item(
    State(state): State<CartState>,
    Path((cart_id, product_id)): Path<(String, String)>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<SetQuantity>,
) -> Result<Response> {
    let id = parse_cart_id(&cart_id, "cart_id")?;
    let product = parse_product_id(&product_id)?;
    let quantity = check_quantity(body.quantity, true).map_err(|e| Error::invalid("quantity", e))?;
    if quantity > 0 {
        state.ensure_in_catalog(&product).await?;
    }
    state.change(&id, CartChange::Set(product, quantity), &headers).await
}

/// Removes a product from a cart.
#[utoipa::path(delete, path = "/v1/carts/{cart_id}/items/{product_id}",
    params(("cart_id" = String, Path, description = "Session or customer id"), ("product_id" = ProductId, Path, description = "Product id")),
    responses((status = 200, body = Cart), (status = 422, body = Problem)))]
async fn remove_item(
    State(state): State<CartState>,
    Path((cart_id, product_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response> {
    let id = parse_cart_id(&cart_id, "cart_id")?;
    let product = parse_product_id(&product_id)?;
    state.change(&id, CartChange::Remove(product), &headers).await
}

/// The cart to merge into this one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct MergeCarts {
    /// The guest cart whose lines move into this cart; it is deleted afterwards.
    from_cart_id: String,
}

/// Merges a guest cart into a customer's cart at sign-in: quantities add up, capped at 99.
#[utoipa::path(post, path = "/v1/carts/{cart_id}/merge", request_body = MergeCarts,
    params(("cart_id" = String, Path, description = "The cart that receives the lines"),
           ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses((status = 200, body = Cart), (status = 422, body = Problem)))]
async fn merge_carts(
    State(state): State<CartState>,
    Path(cart_id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<MergeCarts>,
) -> Result<Response> {
    let id = parse_cart_id(&cart_id, "cart_id")?;
    let from = parse_cart_id(&body.from_cart_id, "from_cart_id")?;
    if from == id {
        return Err(Error::invalid("from_cart_id", "must name another cart than the one merged into"));
    }
    state.change(&id, CartChange::Absorb(from), &headers).await
}
