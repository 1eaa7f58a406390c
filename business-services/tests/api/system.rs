//! One shape for every system: a system the store has never seen, described in this file,
//! joins the thirteen business systems with one wiring line, and the launcher gives it what
//! its descriptor asks for: its peers' addresses, a subscription to the topic it consumes, and
//! the events the checkout publishes there.

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use business_services::SYSTEMS;
use business_services::contracts::order::{self, OrderPlaced};
use business_services::payment::test_cards::approved_card_number;
use business_services::platform::events::{BoxFuture, Pushed};
use business_services::platform::identity::access::{Access, BROKER, Grant};
use business_services::platform::system::{BuildError, Built, Consumes, Context, Descriptor, System};
use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{Stack, StackSetup, on_each_backend};
use crate::http::{client, json};

/// A seventeenth system: it asks the catalog nothing but knows where it is, and keeps the
/// order ids it is pushed.
struct Gazette;

static GAZETTE: Descriptor = Descriptor {
    name: "gazette",
    summary: "Announces every order (a test's system).",
    default_port: 8199,
    migrator: None,
    peers: &["catalog"],
    publishes: &[],
    consumes: &[Consumes { subscription: "gazette-orders", topic: order::TOPIC, path: "/v1/events/orders" }],
    access: Access::Routes(&[Grant::post("/v1/events/orders", &[BROKER]), Grant::get("/catalog", &[])]),
};

/// The order ids the gazette was pushed, across the tests of this file.
fn announced() -> &'static Mutex<Vec<String>> {
    static ANNOUNCED: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    ANNOUNCED.get_or_init(Mutex::default)
}

async fn announce(pushed: Pushed<OrderPlaced>) -> StatusCode {
    announced().lock().unwrap().push(pushed.payload.order.order_id.to_string());
    StatusCode::NO_CONTENT
}

impl System for Gazette {
    fn descriptor(&self) -> &'static Descriptor {
        &GAZETTE
    }

    fn build<'a>(&'a self, context: Context<'a>) -> BoxFuture<'a, Result<Built, BuildError>> {
        Box::pin(async move {
            let catalog = context.peer("catalog")?.url;
            let router = Router::new()
                .route("/v1/events/orders", post(announce))
                .route("/catalog", get(|State(catalog): State<String>| async move { catalog }))
                .with_state(catalog);
            Ok(Built::router(router))
        })
    }
}

#[tokio::test]
async fn a_new_system_joins_with_one_line_and_gets_its_peers_and_events() {
    on_each_backend(|backend| async move {
        // The one wiring line.
        let systems: Vec<&dyn System> = SYSTEMS.iter().copied().chain([&Gazette as &dyn System]).collect();
        let stack = Stack::start(backend, &systems, StackSetup::default()).await;

        let catalog = client().get(stack.url("gazette", "/catalog")).send().await.unwrap().text().await.unwrap();
        assert_eq!(catalog, stack.urls["catalog"], "its declared peer's address");

        let add = json!({"product_id": "velvet-cushion", "quantity": 1});
        let added = client().post(stack.url("cart", "/v1/carts/gazette-cart/items")).json(&add).send().await.unwrap();
        json(added, StatusCode::OK).await;
        let order = json!({
            "cart_id": "gazette-cart",
            "email": "ana@example.com",
            "currency": "USD",
            "shipping_address": {"name": "Ana Ruiz", "line1": "1 Market St", "city": "San Francisco",
                "region": "CA", "postal_code": "94105", "country": "US"},
            "card": {"number": approved_card_number(), "exp_month": 12, "exp_year": 2035, "cvv": "123"},
        });
        let placed = client()
            .post(stack.url("checkout", "/v1/checkout"))
            .header("idempotency-key", uuid::Uuid::new_v4().to_string())
            .json(&order)
            .send()
            .await
            .unwrap();
        let receipt = json(placed, StatusCode::CREATED).await;
        let order_id = receipt["order_id"].as_str().unwrap().to_owned();

        // The checkout's outbox is relayed to the broker, which pushes it to the subscription
        // the gazette's descriptor asked for.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while !announced().lock().unwrap().contains(&order_id) {
            assert!(tokio::time::Instant::now() < deadline, "order {order_id} was never pushed to the gazette");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
}
