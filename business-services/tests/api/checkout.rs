//! The checkout saga over HTTP, with every system it calls running for real.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::http::Extensions;
use business_services::checkout::CrashPoint;
use business_services::checkout::domain::SagaState;
use business_services::checkout::{CheckoutService, PeerUrls, Settings as CheckoutSettings};
use business_services::payment::test_cards::approved_card_number;
use business_services::platform::clock::ManualClock;
use business_services::platform::faults::{FaultRule, FaultSettings, Faults};
use business_services::platform::system::System;
use business_services::platform::testing::{Backend, on_each_backend};
use business_services::{cart, catalog, checkout, crm, currency, fraud, furniture, inventory, payment};
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::harness::Served;
use crate::harness::Stack;
use crate::harness::StackSetup;
use crate::harness::strict_trust;
use crate::http::{assert_problem, client, json};

const APPROVED: &str = "4242 4242 4242 4242";
const DECLINED_FUNDS: &str = "4000 0000 0000 9995";
const GATEWAY_ERROR: &str = "4000 0000 0000 0119";

/// The whole store behind the checkout, started by the launcher as the binary starts it: each
/// system with its own store and fault switch.
struct Shop {
    stack: Stack,
    clock: Arc<ManualClock>,
}

#[derive(Default)]
struct Options {
    fraud: fraud::Settings,
    crash_at: Option<CrashPoint>,
}

/// The checkout and every system it calls.
const SYSTEMS: &[&dyn System] = &[
    &catalog::Catalog,
    &currency::Currency,
    &cart::Cart,
    &inventory::Inventory,
    &crm::Crm,
    &payment::Payment,
    &furniture::Furniture,
    &fraud::Fraud,
    &checkout::Checkout,
];

impl Shop {
    async fn start(backend: Backend) -> Shop {
        Shop::with(backend, Options::default()).await
    }

    async fn with(backend: Backend, options: Options) -> Shop {
        let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
        let mut extensions = Extensions::new();
        if let Some(point) = options.crash_at {
            extensions.insert(point);
        }
        let setup = StackSetup {
            clock: clock.clone(),
            settings: BTreeMap::from([("fraud", serde_json::to_value(&options.fraud).unwrap())]),
            extensions,
            ..StackSetup::default()
        };
        Shop { stack: Stack::start(backend, SYSTEMS, setup).await, clock }
    }

    fn url(&self, system: &str, path: &str) -> String {
        self.stack.url(system, path)
    }

    fn fail(&self, system: &str, method: &str, path: &str) {
        let rule =
            FaultRule { method: Some(method.into()), path: Some(path.into()), error_rate: 1.0, ..FaultRule::default() };
        self.stack.faults[system].set(FaultSettings { rules: vec![rule] });
    }

    async fn add(&self, cart: &str, product: &str, quantity: u32) {
        let response = client()
            .post(self.url("cart", &format!("/v1/carts/{cart}/items")))
            .json(&json!({"product_id": product, "quantity": quantity}))
            .send()
            .await
            .unwrap();
        json(response, StatusCode::OK).await;
    }

    async fn checkout(&self, key: &str, body: &Value) -> reqwest::Response {
        client()
            .post(self.url("checkout", "/v1/checkout"))
            .header("idempotency-key", key)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    async fn stock(&self, product: &str) -> (i64, i64) {
        let stock = json(
            client().get(self.url("inventory", &format!("/v1/stock/{product}"))).send().await.unwrap(),
            StatusCode::OK,
        )
        .await;
        (stock["on_hand"].as_i64().unwrap(), stock["reserved"].as_i64().unwrap())
    }

    async fn count(&self, system: &str, sql: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned())).fetch_one(self.stack.db(system).pool()).await.unwrap()
    }

    /// Nothing is left half-done: no held stock, no open authorization, no held freight slot.
    async fn assert_nothing_held(&self) {
        assert_eq!(
            self.count("inventory", "SELECT COUNT(*) FROM reservations WHERE status = 'held'").await,
            0,
            "held stock"
        );
        assert_eq!(
            self.count("inventory", "SELECT COUNT(*) FROM stock WHERE reserved <> 0").await,
            0,
            "reserved units"
        );
        assert_eq!(
            self.count("payment", "SELECT COUNT(*) FROM authorizations WHERE status = 'authorized'").await,
            0,
            "open authorizations"
        );
        assert_eq!(
            self.count("furniture", "SELECT COUNT(*) FROM slot_reservations WHERE status = 'held'").await,
            0,
            "held slots"
        );
    }

    async fn charges(&self) -> i64 {
        self.count("payment", "SELECT COUNT(*) FROM authorizations WHERE status = 'captured'").await
    }

    async fn orders(&self) -> i64 {
        self.count("checkout", "SELECT COUNT(*) FROM orders").await
    }

    /// A new checkout process on the same store, for recovery after a crash.
    fn restarted_checkout(&self) -> CheckoutService {
        let urls = PeerUrls::resolve(|name| Ok::<_, ()>(self.stack.urls[name].clone())).unwrap();
        let credentials = strict_trust().credentials("checkout");
        let settings = CheckoutSettings::default();
        CheckoutService::new(self.stack.db("checkout"), &urls, &credentials, &settings, self.clock.clone())
    }
}

fn order(cart: &str, card: &str) -> Value {
    json!({
        "cart_id": cart,
        "email": "ana@example.com",
        "currency": "USD",
        "shipping_address": {"name": "Ana Ruiz", "line1": "1 Market St", "city": "San Francisco", "region": "CA",
            "postal_code": "94105", "country": "US"},
        "card": {"number": card, "exp_month": 12, "exp_year": 2035, "cvv": "123"},
    })
}

fn key() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[tokio::test]
async fn a_guest_order_is_reserved_charged_committed_and_recorded() {
    on_each_backend(|backend| async move {
        let shop = Shop::start(backend).await;
        shop.add("c1", "organic-cotton-pocket-tee", 2).await;
        shop.add("c1", "velvet-cushion", 1).await;
        let (tee_before, _) = shop.stock("organic-cotton-pocket-tee").await;

        let mut body = order("c1", APPROVED);
        body["currency"] = json!("EUR");
        let receipt = json(shop.checkout(&key(), &body).await, StatusCode::CREATED).await;
        assert_eq!(receipt["status"], "confirmed");
        assert!(receipt["order_id"].as_str().unwrap().starts_with("ord_"));
        assert!(receipt.get("tracking_id").is_none(), "tracking numbers are the carrier's, issued as parcels ship");
        assert_eq!(receipt["items"].as_array().unwrap().len(), 2);
        assert_eq!(receipt["total"]["currency"], "EUR");
        // 2 × 28.00 + 36.00 = 92.00 USD: under the free-shipping threshold.
        assert!(receipt["shipping"]["minor_units"].as_i64().unwrap() > 0);
        assert_eq!(receipt["discount"]["minor_units"], 0, "guests get no loyalty discount");
        let total = receipt["total"]["minor_units"].as_i64().unwrap();
        let parts =
            receipt["subtotal"]["minor_units"].as_i64().unwrap() + receipt["shipping"]["minor_units"].as_i64().unwrap();
        assert_eq!(total, parts);
        assert_eq!(receipt["payment"]["last4"], "4242");
        assert_eq!(receipt["payment"]["brand"], "visa");

        assert_eq!(shop.stock("organic-cotton-pocket-tee").await, (tee_before - 2, 0), "stock committed, none held");
        assert_eq!(shop.charges().await, 1);
        let charged: i64 = shop.count("payment", "SELECT captured_minor FROM authorizations").await;
        assert_eq!(charged, total, "the card is charged the receipt's total");
        assert_eq!(shop.count("checkout", "SELECT COUNT(*) FROM outbox WHERE topic = 'orders'").await, 1, "one event");
        shop.assert_nothing_held().await;

        let order_id = receipt["order_id"].as_str().unwrap();
        let stored = json(
            client().get(shop.url("checkout", &format!("/v1/orders/{order_id}"))).send().await.unwrap(),
            StatusCode::OK,
        )
        .await;
        assert_eq!(stored, receipt);
        let events: String =
            sqlx::query_scalar("SELECT payload FROM outbox").fetch_one(shop.stack.db("checkout").pool()).await.unwrap();
        assert!(!events.contains("4242 4242") && !events.contains("4242424242424242"), "no card number in the event");
    })
    .await;
}

#[tokio::test]
async fn oversized_items_go_through_the_furniture_erp_and_freight_shows_on_the_receipt() {
    on_each_backend(|backend| async move {
        let shop = Shop::start(backend).await;
        shop.add("c1", "walnut-dining-table", 1).await;
        shop.add("c1", "brass-table-lamp", 1).await;
        let receipt = json(shop.checkout(&key(), &order("c1", APPROVED)).await, StatusCode::CREATED).await;
        let freight = receipt["freight"]["minor_units"].as_i64().unwrap();
        assert!(freight > 4900, "zone A base plus weight: {freight}");
        let booking = &receipt["freight_booking"];
        assert!(booking["reservation_id"].as_str().unwrap().starts_with("sr_"));
        assert!(booking["date"].as_str().unwrap().len() == 10 && booking["window"].as_str().unwrap().contains(':'));
        assert_eq!(booking["cost"]["minor_units"], freight);
        assert_eq!(
            shop.count("furniture", "SELECT COUNT(*) FROM slot_reservations WHERE status = 'confirmed'").await,
            1
        );
        let total = receipt["total"]["minor_units"].as_i64().unwrap();
        let sum = ["subtotal", "shipping", "freight"]
            .iter()
            .map(|k| receipt[k]["minor_units"].as_i64().unwrap())
            .sum::<i64>();
        assert_eq!(total, sum, "freight is part of the total");
        // Only the lamp went through inventory; the table is freight stock.
        assert_eq!(shop.count("inventory", "SELECT COUNT(*) FROM reservation_lines").await, 1);
        shop.assert_nothing_held().await;

        // A country the ERP does not ship freight to is named on our field.
        shop.add("c2", "oak-bookcase", 1).await;
        let mut abroad = order("c2", APPROVED);
        abroad["shipping_address"]["country"] = json!("BR");
        abroad["shipping_address"]["postal_code"] = json!("01310-100");
        assert_problem(
            shop.checkout(&key(), &abroad).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("shipping_address.country"),
        )
        .await;
        shop.assert_nothing_held().await;
    })
    .await;
}

#[tokio::test]
async fn loyalty_tiers_get_their_discounts() {
    on_each_backend(|backend| async move {
        let shop = Shop::start(backend).await;
        for (customer, bps) in [("cus-1001", 1500), ("cus-1002", 1000), ("cus-1003", 500), ("cus-1009", 0)] {
            let cart = format!("cart-{customer}");
            shop.add(&cart, "linen-duvet-cover", 1).await;
            let mut body = order(&cart, &approved_card_number());
            body["customer_id"] = json!(customer);
            let receipt = json(shop.checkout(&key(), &body).await, StatusCode::CREATED).await;
            let subtotal = receipt["subtotal"]["minor_units"].as_i64().unwrap();
            assert_eq!(subtotal, 18_900);
            assert_eq!(receipt["discount"]["minor_units"].as_i64().unwrap(), subtotal * bps / 10_000, "{customer}");
            assert_eq!(receipt["loyalty_tier"].is_string(), bps > 0, "{customer}: {receipt}");
            assert_eq!(receipt["shipping"]["minor_units"], 0, "free shipping from $100");
            let total = receipt["total"]["minor_units"].as_i64().unwrap();
            assert_eq!(total, subtotal - subtotal * bps / 10_000);
        }
        let mut unknown = order("cart-x", APPROVED);
        shop.add("cart-x", "velvet-cushion", 1).await;
        unknown["customer_id"] = json!("cus-9999");
        assert_problem(shop.checkout(&key(), &unknown).await, StatusCode::UNPROCESSABLE_ENTITY, Some("customer_id"))
            .await;
        shop.assert_nothing_held().await;
    })
    .await;
}

#[tokio::test]
async fn the_same_key_gives_one_order_and_one_charge_even_concurrently() {
    on_each_backend(|backend| async move {
        let shop = Shop::start(backend).await;
        shop.add("twice", "cast-iron-skillet", 1).await;
        let body = order("twice", APPROVED);
        let first = json(shop.checkout("key-1", &body).await, StatusCode::CREATED).await;
        let again = shop.checkout("key-1", &body).await;
        assert_eq!(again.headers()["idempotent-replayed"], "true");
        assert_eq!(json(again, StatusCode::CREATED).await, first, "same key, same answer");
        assert_eq!((shop.orders().await, shop.charges().await), (1, 1));

        let mut other = body.clone();
        other["email"] = json!("someone-else@example.com");
        assert_problem(shop.checkout("key-1", &other).await, StatusCode::UNPROCESSABLE_ENTITY, Some("Idempotency-Key"))
            .await;

        shop.add("storm", "beeswax-taper-candles", 2).await;
        let (before, _) = shop.stock("beeswax-taper-candles").await;
        let storm_body = order("storm", &approved_card_number());
        let storm = futures_util::future::join_all((0..20).map(|_| shop.checkout("key-2", &storm_body))).await;
        let mut receipts = Vec::new();
        for response in storm {
            receipts.push(json(response, StatusCode::CREATED).await);
        }
        assert!(receipts.windows(2).all(|pair| pair[0] == pair[1]), "20 duplicates, one receipt");
        assert_eq!((shop.orders().await, shop.charges().await), (2, 2), "one more order, one more charge");
        assert_eq!(shop.stock("beeswax-taper-candles").await, (before - 2, 0), "stock taken once");
        assert_eq!(shop.count("fraud", "SELECT COUNT(*) FROM assessments").await, 2, "scored once per order");
        shop.assert_nothing_held().await;
    })
    .await;
}

#[tokio::test]
async fn the_last_unit_is_sold_once() {
    on_each_backend(|backend| async move {
        let shop = Shop::start(backend).await;
        assert_eq!(shop.stock("marble-side-table").await, (1, 0));
        for n in 0..8 {
            shop.add(&format!("race-{n}"), "marble-side-table", 1).await;
        }
        let shop = &shop;
        let attempts = futures_util::future::join_all((0..8).map(|n| async move {
            shop.checkout(&key(), &order(&format!("race-{n}"), &approved_card_number())).await
        }))
        .await;
        let statuses: Vec<StatusCode> = attempts.iter().map(reqwest::Response::status).collect();
        assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CREATED).count(), 1, "{statuses:?}");
        assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CONFLICT).count(), 7, "{statuses:?}");
        assert_eq!(shop.stock("marble-side-table").await, (0, 0));
        assert_eq!((shop.orders().await, shop.charges().await), (1, 1));
        shop.assert_nothing_held().await;
    })
    .await;
}

#[tokio::test]
async fn fraud_blocks_and_holds() {
    on_each_backend(|backend| async move {
        // A billing/shipping country mismatch scores 20 and a first purchase over $1,000 another 20.
        let fraud = fraud::Settings { review_at: 15, block_at: 40, ..fraud::Settings::default() };
        let shop = Shop::with(backend, Options { fraud, ..Options::default() }).await;

        shop.add("held", "wool-check-throw", 1).await;
        let mut held = order("held", APPROVED);
        held["billing_address"] = json!({"name": "Ana Ruiz", "line1": "1 High St", "city": "London", "postal_code": "SW1A 1AA", "country": "GB"});
        let receipt = json(shop.checkout(&key(), &held).await, StatusCode::CREATED).await;
        assert_eq!(receipt["status"], "on_hold", "review holds the order");
        assert_eq!(shop.charges().await, 0, "a held order is authorized, not charged");
        assert_eq!(shop.count("payment", "SELECT COUNT(*) FROM authorizations WHERE status = 'authorized'").await, 1);
        assert_eq!(shop.count("inventory", "SELECT COUNT(*) FROM reservations WHERE status = 'committed'").await, 1);

        shop.add("blocked", "linen-three-seat-sofa", 1).await;
        let mut blocked = order("blocked", &approved_card_number());
        blocked["email"] = json!("first-time@example.com");
        blocked["billing_address"] = held["billing_address"].clone();
        let problem = assert_problem(shop.checkout(&key(), &blocked).await, StatusCode::FORBIDDEN, None).await;
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains("nothing was charged") && !detail.contains("score"), "no fraud internals: {detail}");
        assert_eq!(shop.count("payment", "SELECT COUNT(*) FROM authorizations").await, 1, "a blocked order is never authorized");
        assert_eq!(shop.count("furniture", "SELECT COUNT(*) FROM slot_reservations WHERE status = 'held'").await, 0);
        assert_eq!(shop.count("inventory", "SELECT COUNT(*) FROM reservations WHERE status = 'held'").await, 0);

        // A suspended account is blocked whatever the score; an account on watch is held.
        shop.add("suspended", "velvet-cushion", 1).await;
        let mut suspended = order("suspended", &approved_card_number());
        suspended["customer_id"] = json!("cus-1008");
        assert_problem(shop.checkout(&key(), &suspended).await, StatusCode::FORBIDDEN, None).await;
        shop.add("watch", "velvet-cushion", 1).await;
        let mut watched = order("watch", &approved_card_number());
        watched["customer_id"] = json!("cus-1007");
        let receipt = json(shop.checkout(&key(), &watched).await, StatusCode::CREATED).await;
        assert_eq!(receipt["status"], "on_hold");
    })
    .await;
}

/// Each downstream failing at its step ends with nothing held and nothing charged.
#[tokio::test]
async fn every_failing_step_is_compensated() {
    on_each_backend(|backend| async move {
        let shop = Shop::start(backend).await;
        let cases: [(&str, &str, &str, &str, StatusCode); 8] = [
            ("inventory", "POST", "/v1/reservations", APPROVED, StatusCode::SERVICE_UNAVAILABLE),
            ("furniture", "POST", "/v1/slot-reservations", APPROVED, StatusCode::SERVICE_UNAVAILABLE),
            ("fraud", "POST", "/v1/assessments", APPROVED, StatusCode::SERVICE_UNAVAILABLE),
            ("payment", "POST", "/v1/authorizations", APPROVED, StatusCode::SERVICE_UNAVAILABLE),
            ("payment", "POST", "/v1/nothing", DECLINED_FUNDS, StatusCode::PAYMENT_REQUIRED),
            ("payment", "POST", "/v1/nothing", GATEWAY_ERROR, StatusCode::SERVICE_UNAVAILABLE),
            ("payment", "POST", "/v1/authorizations/*/capture", APPROVED, StatusCode::SERVICE_UNAVAILABLE),
            ("inventory", "POST", "/v1/reservations/*/commit", APPROVED, StatusCode::SERVICE_UNAVAILABLE),
        ];
        for (n, (system, method, path, card, expected)) in cases.into_iter().enumerate() {
            let cart = format!("failing-{n}");
            shop.add(&cart, "oak-writing-desk", 1).await;
            shop.add(&cart, "ceramic-pour-over-set", 1).await;
            shop.fail(system, method, path);
            let fresh_card = approved_card_number();
            let mut body = order(&cart, if card == APPROVED { &fresh_card } else { card });
            body["email"] = json!(format!("case-{n}@example.com"));
            let response = shop.checkout(&key(), &body).await;
            let problem = assert_problem(response, expected, None).await;
            shop.stack.faults[system].set(FaultSettings::default());
            assert_eq!(shop.orders().await, 0, "{system} {path}: no order");
            shop.assert_nothing_held().await;
            let refunded = shop.count("payment", "SELECT COUNT(*) FROM refunds").await;
            assert_eq!(shop.charges().await, refunded, "{system} {path}: every charge refunded ({problem})");
        }
        assert_eq!(
            shop.count("payment", "SELECT COUNT(*) FROM refunds").await,
            1,
            "only the commit failure came after a charge"
        );

        // A failure before any side effect: the cart is empty.
        assert_problem(
            shop.checkout(&key(), &order("never-filled", APPROVED)).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("cart_id"),
        )
        .await;
        shop.assert_nothing_held().await;
    })
    .await;
}

#[tokio::test]
async fn a_transient_failure_frees_the_key_for_a_retry() {
    on_each_backend(|backend| async move {
        let shop = Shop::start(backend).await;
        shop.add("retry", "ceramic-pour-over-set", 1).await;
        shop.fail("payment", "POST", "/v1/authorizations");
        let body = order("retry", APPROVED);
        assert_problem(shop.checkout("retry-key", &body).await, StatusCode::SERVICE_UNAVAILABLE, None).await;
        shop.stack.faults["payment"].set(FaultSettings::default());
        let receipt = json(shop.checkout("retry-key", &body).await, StatusCode::CREATED).await;
        assert_eq!(receipt["status"], "confirmed");
        assert_eq!((shop.orders().await, shop.charges().await), (1, 1));

        // A business refusal is final for its key: the same answer again.
        shop.add("declined", "ceramic-pour-over-set", 1).await;
        let declined = order("declined", DECLINED_FUNDS);
        let first =
            assert_problem(shop.checkout("declined-key", &declined).await, StatusCode::PAYMENT_REQUIRED, None).await;
        assert!(first["detail"].as_str().unwrap().contains("insufficient_funds"));
        let again =
            assert_problem(shop.checkout("declined-key", &declined).await, StatusCode::PAYMENT_REQUIRED, None).await;
        assert_eq!(first, again);
        assert_eq!(shop.count("payment", "SELECT COUNT(*) FROM authorizations WHERE status = 'declined'").await, 1);
    })
    .await;
}

/// A process killed at every persisted step of the saga, and between every downstream call
/// and its record: recovery asks the owners what really happened and finishes the order (money
/// taken, or a held order's recorded authorization) or undoes everything, so no charge is left
/// without an order, no authorization open, no stock or slot held, and no key blocked.
#[tokio::test]
async fn a_kill_at_any_point_of_the_saga_is_finished_or_undone_from_what_the_owners_hold() {
    use CrashPoint::{After, Before};
    use SagaState::{Authorized, Captured, Committed, Completed, Reserved, Started};
    // Where the process dies, whether the order is held for review, whether it completes.
    let cases = [
        (After(Started), false, false),
        (Before(Reserved), false, false),
        (After(Reserved), false, false),
        (Before(Authorized), false, false),
        (After(Authorized), false, false),
        (Before(Captured), false, true),
        (After(Captured), false, true),
        (Before(Completed), false, true),
        (Before(Authorized), true, false),
        (After(Authorized), true, true),
        (Before(Committed), true, true),
        (After(Committed), true, true),
        (Before(Completed), true, true),
    ];
    on_each_backend(|backend| async move {
        for (point, held, completes) in cases {
            let case = format!("{point:?}{}", if held { ", held" } else { "" });
            let shop = Shop::with(backend, Options { crash_at: Some(point), ..Options::default() }).await;
            shop.add("crash", "walnut-wall-shelf", 1).await;
            shop.add("crash", "oak-bookcase", 1).await;
            let (before, _) = shop.stock("walnut-wall-shelf").await;
            let mut request = order("crash", APPROVED);
            if held {
                request["customer_id"] = json!("cus-1007"); // on watch: held for review
            }
            let crashed = shop.checkout("crash-key", &request).await;
            assert_eq!(crashed.status(), StatusCode::INTERNAL_SERVER_ERROR, "{case}: the process died");

            let restarted = shop.restarted_checkout();
            assert_eq!(restarted.checkout().recover().await.unwrap(), 0, "{case}: a fresh saga may still be running");
            shop.clock.advance(time::Duration::minutes(1));
            assert_eq!(restarted.checkout().recover().await.unwrap(), 1, "{case}: settled after it went stale");
            assert_eq!(restarted.checkout().recover().await.unwrap(), 0, "{case}: settled once");

            let open = "SELECT COUNT(*) FROM authorizations WHERE status = 'authorized'";
            let held_slots = "SELECT COUNT(*) FROM slot_reservations WHERE status = 'held'";
            let confirmed_slots = "SELECT COUNT(*) FROM slot_reservations WHERE status = 'confirmed'";
            assert_eq!(shop.count("furniture", held_slots).await, 0, "{case}: held slots");
            assert_eq!(shop.count("inventory", "SELECT COUNT(*) FROM reservations WHERE status = 'held'").await, 0);
            // The customer's retry with the same key gets the outcome: the order, or a new one.
            let retry = shop.restarted_checkout();
            let served = Served::start(retry.router(shop.stack.db("checkout"), &Faults::default())).await;
            let again = client()
                .post(format!("{}/v1/checkout", served.url))
                .header("idempotency-key", "crash-key")
                .json(&request)
                .send()
                .await
                .unwrap();
            let receipt = json(again, StatusCode::CREATED).await;
            if completes {
                let charged = if held { 0 } else { 1 };
                assert_eq!((shop.orders().await, shop.charges().await), (1, charged), "{case}: finished");
                assert_eq!(shop.count("payment", open).await, 1 - charged, "{case}: open authorizations");
                assert_eq!(shop.stock("walnut-wall-shelf").await, (before - 1, 0), "{case}: stock sold");
                assert_eq!(shop.count("furniture", confirmed_slots).await, 1, "{case}: slot confirmed");
                let status = if held { "on_hold" } else { "confirmed" };
                assert_eq!(receipt["status"], status, "{case}: the retry answers the recovered order");
                assert_eq!(shop.orders().await, 1, "{case}: and places no second one");
            } else {
                assert_eq!(shop.count("checkout", "SELECT COUNT(*) FROM orders").await, 1, "{case}: retried");
                assert_eq!(shop.count("payment", open).await, if held { 1 } else { 0 }, "{case}: one open hold");
                let (on_hand, reserved) = shop.stock("walnut-wall-shelf").await;
                assert_eq!((on_hand, reserved), (before - 1, 0), "{case}: only the retry's unit is sold");
                assert_eq!(shop.count("furniture", confirmed_slots).await, 1, "{case}: only the retry's slot");
                let captured = shop.count("payment", "SELECT COUNT(*) FROM authorizations WHERE status = 'captured'");
                assert_eq!(captured.await, if held { 0 } else { 1 }, "{case}: charged once, by the retry");
                let voided = shop.count("payment", "SELECT COUNT(*) FROM authorizations WHERE status = 'voided'");
                let first_authorized = matches!(point, Before(Authorized) | After(Authorized));
                assert_eq!(voided.await, i64::from(first_authorized), "{case}: the first hold voided");
            }
        }
    })
    .await;
}
