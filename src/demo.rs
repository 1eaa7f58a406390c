//! Demo orders: what the evals (and the tests and benchmarks) place before they ask about
//! orders, through the same cart and checkout APIs a storefront uses.

use anyhow::{Context, bail};
use business_services::payment::test_cards::approved_card_number;
use business_services::platform::identity::Credentials;
use serde_json::{Value, json};

/// The product every demo order buys: a parcel item, in stock.
pub const PRODUCT: &str = "organic-cotton-pocket-tee";

/// Places an order of `quantity` of [`PRODUCT`] for `customer` with a fresh approved card, at
/// the cart and checkout services at `cart_url` and `checkout_url`, calling them as the
/// storefront does with its `web` credentials; returns its id.
pub async fn place_order(
    web: &Credentials,
    cart_url: &str,
    checkout_url: &str,
    customer: &str,
    quantity: u32,
) -> anyhow::Result<String> {
    let http = reqwest::Client::new();
    let cart = format!("demo-{}", uuid::Uuid::new_v4().simple());
    let added = http
        .post(format!("{cart_url}/v1/carts/{cart}/items"))
        .bearer_auth(web.token_for("cart"))
        .json(&json!({ "product_id": PRODUCT, "quantity": quantity }))
        .send()
        .await
        .context("the cart service did not answer")?;
    if !added.status().is_success() {
        bail!("the cart refused the item: {}", added.text().await.unwrap_or_default());
    }
    let placed = http
        .post(format!("{checkout_url}/v1/checkout"))
        .bearer_auth(web.token_for("checkout"))
        .header("idempotency-key", uuid::Uuid::new_v4().to_string())
        .json(&json!({
            "cart_id": cart, "customer_id": customer, "email": format!("{customer}@example.com"), "currency": "USD",
            "shipping_address": {"name": "Demo", "line1": "1 Main St", "city": "Springfield", "postal_code": "10001", "country": "US"},
            "card": {"number": approved_card_number(), "exp_month": 12, "exp_year": 2035, "cvv": "123"},
        }))
        .send()
        .await
        .context("the checkout did not answer")?;
    if placed.status().as_u16() != 201 {
        bail!("the checkout refused the order: {}", placed.text().await.unwrap_or_default());
    }
    let receipt: Value = placed.json().await.context("the checkout's receipt is not JSON")?;
    receipt["order_id"].as_str().map(str::to_owned).context("the receipt has no order id")
}
