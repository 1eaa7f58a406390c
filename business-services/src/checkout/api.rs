//! The checkout's HTTP routes.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::domain::check_email;

use super::saga::{Checkout, OrderRequest};
use crate::cart::client::CartId;
use crate::contracts::order::{
    Address, Amounts, FreightBooking, OrderId, OrderStatus, PaymentSummary, Receipt, ReceiptLine,
};
use crate::crm::client::CustomerId;
use crate::money::{CurrencyCode, Money};
use crate::payment::client::CardDetails;
use crate::platform::clock::to_millis;
use crate::platform::error::{Error, Problem, Result};
use crate::platform::extract::{ApiJson, ApiQuery};
use crate::platform::idempotency::required_key;
use crate::platform::page::{self, Page};

/// The checkout's routes.
pub fn routes(checkout: Checkout) -> Router {
    Router::new()
        .route("/v1/checkout", post(place_order))
        .route("/v1/orders", get(list_orders))
        .route("/v1/orders/{order_id}", get(get_order))
        .with_state(checkout)
}

/// The checkout's OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(title = "checkout", description = "Places orders: one saga per Idempotency-Key across stock, freight, fraud and payment."),
    paths(place_order, get_order, list_orders),
    components(schemas(PlaceOrder, CardDetails, Address, Receipt, ReceiptLine, Amounts, FreightBooking, PaymentSummary, OrderStatus, Money, Page<Receipt>, Problem))
)]
pub struct ApiDoc;

/// An order to place.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PlaceOrder {
    /// The cart to buy.
    cart_id: String,
    /// The signed-in customer (loyalty discount, account standing); absent for guests.
    customer_id: Option<String>,
    /// Where the confirmation goes.
    email: String,
    /// Currency to pay in (default USD).
    currency: Option<String>,
    /// Where the order goes.
    shipping_address: Address,
    /// The card's billing address (default: the shipping address).
    billing_address: Option<Address>,
    /// The card; never stored or logged: only brand and last four digits are kept.
    card: CardDetails,
    /// Preferred freight delivery slot for oversized items, e.g. `2026-11-27-am`.
    delivery_slot: Option<String>,
}

impl PlaceOrder {
    fn validate(self) -> Result<(OrderRequest, CardDetails)> {
        let cart_id = CartId::parse(&self.cart_id).map_err(|e| Error::invalid("cart_id", e))?;
        let customer_id = self
            .customer_id
            .as_deref()
            .map(CustomerId::parse)
            .transpose()
            .map_err(|e| Error::invalid("customer_id", e))?;
        let email = check_email(&self.email).map_err(|e| Error::invalid("email", e))?;
        let currency = match &self.currency {
            Some(code) => CurrencyCode::parse(code).map_err(|e| Error::invalid("currency", e))?,
            None => CurrencyCode::USD,
        };
        self.shipping_address.validate("shipping_address")?;
        let billing_address = match self.billing_address {
            Some(address) => {
                address.validate("billing_address")?;
                address
            }
            None => self.shipping_address.clone(),
        };
        let request = OrderRequest {
            cart_id,
            customer_id,
            email,
            currency,
            shipping_address: self.shipping_address,
            billing_address,
            delivery_slot: self.delivery_slot,
        };
        Ok((request, self.card))
    }
}

/// Places an order from a cart. Retries with the same `Idempotency-Key` get the first answer
/// and never charge twice.
#[utoipa::path(post, path = "/v1/checkout", request_body = PlaceOrder,
    params(("Idempotency-Key" = String, Header, description = "One key per order attempt")),
    responses((status = 201, body = Receipt), (status = 402, body = Problem), (status = 403, body = Problem),
               (status = 409, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem)))]
async fn place_order(
    State(checkout): State<Checkout>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<PlaceOrder>,
) -> Result<Response> {
    let key = required_key(&headers)?;
    let (request, card) = body.validate()?;
    let answer = checkout.place(&key, request, card).await?;
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let content_type = if status.is_success() { "application/json" } else { "application/problem+json" };
    let mut response = (status, [(header::CONTENT_TYPE, content_type)], answer.body).into_response();
    if answer.replayed {
        response.headers_mut().insert(HeaderName::from_static("idempotent-replayed"), HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// Gets an order's receipt.
#[utoipa::path(get, path = "/v1/orders/{order_id}", params(("order_id" = String, Path, description = "Order id")),
    responses((status = 200, body = Receipt), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn get_order(State(checkout): State<Checkout>, Path(order_id): Path<String>) -> Result<Json<Receipt>> {
    let id = OrderId::parse(&order_id).map_err(|e| Error::invalid("order_id", e))?;
    checkout.store().order(&id).await?.map(Json).ok_or_else(|| Error::not_found("order", order_id))
}

/// Whose orders to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListOrders {
    /// The customer.
    customer_id: String,
    /// Page size, 1 to 100 (default 20).
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Lists a customer's orders, newest first.
#[utoipa::path(get, path = "/v1/orders", params(ListOrders),
    responses((status = 200, body = Page<Receipt>), (status = 422, body = Problem)))]
async fn list_orders(
    State(checkout): State<Checkout>,
    ApiQuery(query): ApiQuery<ListOrders>,
) -> Result<Json<Page<Receipt>>> {
    let customer = CustomerId::parse(&query.customer_id).map_err(|e| Error::invalid("customer_id", e))?;
    let limit = page::limit(query.limit)?;
    let before = query
        .cursor
        .map(|cursor| {
            page::decode_cursor(&cursor)?
                .parse::<i64>()
                .map_err(|_| Error::invalid("cursor", "is not a cursor this service issued; start again without it"))
        })
        .transpose()?;
    let rows = checkout.store().orders_of(&customer.to_string(), before, limit + 1).await?;
    Ok(Json(page::paginate(rows, limit, |receipt| to_millis(receipt.created_at).to_string())))
}
