//! The oms system over HTTP, with a real warehouse and a ledger stand-in served over HTTP.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode as AxumStatus;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use business_services::accounting::domain::Sale;
use business_services::contracts::order::{
    Address, Amounts, FreightBooking, ORDER_PLACED, OrderId, OrderPlaced, OrderStatus, PaymentSummary, PricedLine,
    Receipt, ReceiptLine,
};
use business_services::contracts::product::{Dimensions, ProductId, StockClass};
use business_services::money::{CurrencyCode, Money};
use business_services::oms::ledger::{Ledger, LedgerFuture};
use business_services::oms::{self, OmsService, Settings};
use business_services::platform::client::PeerClient;
use business_services::platform::clock::SystemClock;
use business_services::platform::events::{Message, PushEnvelope, TYPE};
use business_services::platform::faults::{FaultRule, FaultSettings, Faults};
use business_services::platform::testing::Backend;
use reqwest::StatusCode;
use serde_json::{Value, json as body};
use time::OffsetDateTime;

use crate::harness::{Served, TestDb, on_each_backend, peer};
use crate::http::{assert_problem, client, json};
use crate::warehouse::WarehouseApp;

/// What the ledger stand-in received, and whether it fails.
#[derive(Debug, Default)]
struct LedgerBook {
    sales: Mutex<Vec<Value>>,
    revenue: Mutex<Vec<String>>,
    failing: AtomicBool,
}

fn unavailable() -> Response {
    (
        AxumStatus::SERVICE_UNAVAILABLE,
        Json(body!({"type": "/problems/x", "title": "down", "status": 503, "detail": "ledger down"})),
    )
        .into_response()
}

async fn sales(State(book): State<Arc<LedgerBook>>, Json(sale): Json<Value>) -> Response {
    if book.failing.load(Ordering::SeqCst) {
        return unavailable();
    }
    book.sales.lock().unwrap().push(sale);
    AxumStatus::NO_CONTENT.into_response()
}

async fn revenue(State(book): State<Arc<LedgerBook>>, Json(request): Json<Value>) -> Response {
    if book.failing.load(Ordering::SeqCst) {
        return unavailable();
    }
    book.revenue.lock().unwrap().push(request["order_id"].as_str().unwrap().to_owned());
    AxumStatus::NO_CONTENT.into_response()
}

/// The ledger as order management sees it, over HTTP to the stand-in.
#[derive(Debug)]
struct HttpLedger {
    peer: PeerClient,
}

impl Ledger for HttpLedger {
    fn record_sale<'a>(&'a self, sale: &'a Sale) -> LedgerFuture<'a> {
        Box::pin(async move {
            self.peer.post::<_, ()>("/sales", sale, Some(sale.order_id.as_str())).await?;
            Ok(())
        })
    }

    fn recognize_revenue<'a>(&'a self, order_id: &'a OrderId) -> LedgerFuture<'a> {
        Box::pin(async move {
            let request = body!({"order_id": order_id});
            self.peer.post::<_, ()>("/revenue", &request, Some(order_id.as_str())).await?;
            Ok(())
        })
    }
}

struct OmsApp {
    served: Served,
    store: TestDb,
    warehouse: WarehouseApp,
    book: Arc<LedgerBook>,
    _ledger: Served,
}

impl OmsApp {
    async fn start(backend: Backend) -> OmsApp {
        let warehouse = WarehouseApp::start(backend).await;
        let book = Arc::new(LedgerBook::default());
        let ledger_router =
            Router::new().route("/sales", post(sales)).route("/revenue", post(revenue)).with_state(book.clone());
        let ledger_served = Served::start(ledger_router).await;
        let ledger =
            HttpLedger { peer: PeerClient::to("accounting", &peer(&ledger_served.url), Duration::from_secs(2)) };
        let store = TestDb::open(backend, "oms", &oms::MIGRATOR).await;
        let settings = Settings { peer_deadline_ms: 2000 };
        let service = OmsService::new(
            &store.db,
            &peer(&warehouse.served.url),
            Arc::new(ledger),
            &settings,
            Arc::new(SystemClock),
        );
        let served = Served::start(service.router(&store.db, &Faults::default())).await;
        OmsApp { served, store, warehouse, book, _ledger: ledger_served }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.served.url)
    }

    async fn push(&self, topic: &str, envelope: &Value) -> StatusCode {
        let response = client().post(self.url(&format!("/v1/events/{topic}"))).json(envelope).send().await.unwrap();
        response.status()
    }

    async fn order(&self, id: &OrderId) -> Value {
        json(client().get(self.url(&format!("/v1/orders/{id}"))).send().await.unwrap(), StatusCode::OK).await
    }

    async fn operator(&self, id: &OrderId, action: &str) -> reqwest::Response {
        client().post(self.url(&format!("/v1/orders/{id}/{action}"))).send().await.unwrap()
    }

    fn sales(&self) -> Vec<Value> {
        self.book.sales.lock().unwrap().clone()
    }

    fn revenue(&self) -> Vec<String> {
        self.book.revenue.lock().unwrap().clone()
    }

    async fn shipments(&self, order: &OrderId) -> Vec<Value> {
        let url = self.warehouse.url(&format!("/v1/shipments?order_id={order}"));
        json(client().get(url).send().await.unwrap(), StatusCode::OK).await["items"].as_array().unwrap().clone()
    }

    async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(self.store.db.pool())
            .await
            .unwrap()
    }

    /// Publishes the warehouse's unpublished events to order management, as the relay would;
    /// answers the statuses order management gave.
    async fn relay_shipments(&self) -> Vec<StatusCode> {
        let rows: Vec<(String, String, String, String)> = sqlx::query_as(
            "SELECT id, ordering_key, payload, attributes FROM outbox WHERE published_at IS NULL ORDER BY created_at, id",
        )
        .fetch_all(self.warehouse.store.db.pool())
        .await
        .unwrap();
        let mut statuses = Vec::new();
        for (id, key, payload, attributes) in rows {
            let message = Message {
                id: id.clone(),
                topic: "shipments".into(),
                ordering_key: key,
                data: payload.into_bytes(),
                attributes: serde_json::from_str(&attributes).unwrap(),
                publish_time: OffsetDateTime::now_utc(),
            };
            let status = self.push("shipments", &envelope(&message, "oms-shipments")).await;
            if status.is_success() {
                sqlx::query("UPDATE outbox SET published_at = 1 WHERE id = $1")
                    .bind(&id)
                    .execute(self.warehouse.store.db.pool())
                    .await
                    .unwrap();
            }
            statuses.push(status);
        }
        statuses
    }

    async fn shipment_event(&self, order: &OrderId, status: &str) {
        let shipment = self.shipments(order).await.pop().unwrap();
        json(self.warehouse.event(&shipment, status).await, StatusCode::OK).await;
    }
}

fn envelope(message: &Message, subscription: &str) -> Value {
    serde_json::to_value(PushEnvelope::wrap(message, subscription)).unwrap()
}

fn money(minor: i64) -> Money {
    Money::new(CurrencyCode::parse("EUR").unwrap(), minor)
}

fn address() -> Address {
    Address {
        name: "Ana Lima".into(),
        line1: "1 Main St".into(),
        line2: None,
        city: "Springfield".into(),
        region: None,
        postal_code: "12345".into(),
        country: "US".into(),
    }
}

fn priced(id: &str, quantity: u32, class: StockClass, grams: u32) -> PricedLine {
    PricedLine {
        product_id: ProductId::parse(id).unwrap(),
        name: id.into(),
        quantity,
        unit_price: Money::new(CurrencyCode::USD, 2_500),
        stock_class: class,
        weight_grams: grams,
        dimensions_mm: Dimensions { length: 400, width: 300, height: 200 },
    }
}

/// An `order.placed` event of a new order: two cushions and, with `freight`, a table.
fn placed(status: OrderStatus, freight: bool) -> OrderPlaced {
    let order_id = OrderId::generate();
    let mut lines = vec![priced("velvet-cushion", 2, StockClass::Standard, 500)];
    if freight {
        lines.push(priced("walnut-dining-table", 1, StockClass::Oversized, 60_000));
    }
    let items: Vec<ReceiptLine> = lines
        .iter()
        .map(|line| ReceiptLine {
            product_id: line.product_id.clone(),
            name: line.name.clone(),
            quantity: line.quantity,
            unit_price: money(2_300),
            line_total: money(2_300 * i64::from(line.quantity)),
        })
        .collect();
    let subtotal: i64 = items.iter().map(|item| item.line_total.minor_units).sum();
    let freight_cost = if freight { 9_900 } else { 0 };
    OrderPlaced {
        order: Receipt {
            order_id: order_id.clone(),
            status,
            reference: format!("checkout-{order_id}"),
            email: "ana@example.com".into(),
            customer_id: None,
            loyalty_tier: None,
            shipping_address: address(),
            amounts: Amounts {
                items,
                subtotal: money(subtotal),
                discount: money(0),
                shipping: money(0),
                freight: money(freight_cost),
                total: money(subtotal + freight_cost),
            },
            freight_booking: freight.then(|| FreightBooking {
                reservation_id: "slt_1".into(),
                date: "2026-11-27".into(),
                window: "08:00-12:00".into(),
                cost: money(freight_cost),
            }),
            payment: PaymentSummary { authorization_id: "auth_1".into(), brand: "visa".into(), last4: "4242".into() },
            created_at: OffsetDateTime::now_utc(),
        },
        lines,
        reference: format!("checkout-{order_id}"),
        card_fingerprint: "f".repeat(64),
        billing_address: address(),
        reservation_id: None,
    }
}

fn placed_envelope(event: &OrderPlaced) -> Value {
    let message = Message {
        id: format!("evt_{}", uuid::Uuid::new_v4().simple()),
        topic: "orders".into(),
        ordering_key: event.order.order_id.to_string(),
        data: serde_json::to_vec(event).unwrap(),
        attributes: BTreeMap::from([(TYPE.to_owned(), ORDER_PLACED.to_owned())]),
        publish_time: OffsetDateTime::now_utc(),
    };
    envelope(&message, "oms-orders")
}

/// The (from, to, cause) of an order's history.
fn history(order: &Value) -> Vec<(Option<String>, String, String)> {
    order["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["from"].as_str().map(str::to_owned),
                t["to"].as_str().unwrap().to_owned(),
                t["cause"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn event_id(envelope: &Value) -> String {
    envelope["message"]["messageId"].as_str().unwrap().to_owned()
}

fn down() -> FaultSettings {
    FaultSettings { rules: vec![FaultRule { error_rate: 1.0, ..FaultRule::default() }] }
}

#[tokio::test]
async fn a_placed_order_is_allocated_once_however_often_it_is_delivered() {
    on_each_backend(|backend| async move {
        let app = OmsApp::start(backend).await;
        let event = placed(OrderStatus::Confirmed, true);
        let id = event.order.order_id.clone();
        let delivery = placed_envelope(&event);
        assert_eq!(app.push("orders", &delivery).await, StatusCode::NO_CONTENT);

        let order = app.order(&id).await;
        assert_eq!(order["state"], "allocated");
        assert_eq!(order["sale_recorded"], true);
        assert_eq!(order["revenue_recognized"], false);
        assert_eq!(order["total"]["minor_units"], event.order.amounts.total.minor_units);
        let evt = event_id(&delivery);
        assert_eq!(
            history(&order),
            vec![(None, "confirmed".into(), evt.clone()), (Some("confirmed".into()), "allocated".into(), evt.clone())]
        );
        let shipments = app.shipments(&id).await;
        assert_eq!(shipments.len(), 1);
        assert_eq!(order["shipment_id"], shipments[0]["id"]);
        let carriers: Vec<&str> =
            shipments[0]["parcels"].as_array().unwrap().iter().map(|p| p["carrier"].as_str().unwrap()).collect();
        assert_eq!(carriers, vec!["swift-parcel", "boutique-freight"]);
        assert_eq!(shipments[0]["parcels"][1]["delivery_slot"]["date"], "2026-11-27");
        let sales = app.sales();
        assert_eq!(sales.len(), 1);
        assert_eq!(sales[0]["order_id"], id.as_str());
        assert_eq!(sales[0]["amounts"]["total"], serde_json::to_value(event.order.amounts.total).unwrap());

        // Delivered again: acknowledged, nothing more happens.
        assert_eq!(app.push("orders", &delivery).await, StatusCode::NO_CONTENT);
        assert_eq!(app.sales().len(), 1);
        assert_eq!(history(&app.order(&id).await).len(), 2);

        // Ten concurrent deliveries of a new order: one order, one shipment, one sale.
        let event = placed(OrderStatus::Confirmed, false);
        let id = event.order.order_id.clone();
        let delivery = placed_envelope(&event);
        let statuses = futures_util::future::join_all((0..10).map(|_| app.push("orders", &delivery))).await;
        assert!(
            statuses.iter().all(|s| *s == StatusCode::NO_CONTENT || *s == StatusCode::SERVICE_UNAVAILABLE),
            "{statuses:?}"
        );
        // The broker redelivers what was not acknowledged.
        assert_eq!(app.push("orders", &delivery).await, StatusCode::NO_CONTENT);
        assert_eq!(app.order(&id).await["state"], "allocated");
        assert_eq!(app.shipments(&id).await.len(), 1);
        assert_eq!(app.sales().iter().filter(|s| s["order_id"] == id.as_str()).count(), 1);
        assert_eq!(app.count("orders").await, 2);
        assert_eq!(history(&app.order(&id).await).len(), 2);
    })
    .await;
}

#[tokio::test]
async fn a_failed_peer_is_retried_by_redelivery_and_allocates_once() {
    on_each_backend(|backend| async move {
        let app = OmsApp::start(backend).await;

        // The warehouse is down: 503, the order waits confirmed, nothing is booked.
        let event = placed(OrderStatus::Confirmed, false);
        let id = event.order.order_id.clone();
        let delivery = placed_envelope(&event);
        app.warehouse.faults.set(down());
        assert_eq!(app.push("orders", &delivery).await, StatusCode::SERVICE_UNAVAILABLE);
        let order = app.order(&id).await;
        assert_eq!(order["state"], "confirmed");
        assert!(order.get("shipment_id").is_none());
        assert!(app.sales().is_empty());
        app.warehouse.faults.set(FaultSettings::default());
        assert_eq!(app.push("orders", &delivery).await, StatusCode::NO_CONTENT);
        assert_eq!(app.order(&id).await["state"], "allocated");
        assert_eq!((app.shipments(&id).await.len(), app.sales().len()), (1, 1));

        // The ledger is down: the shipment is made and kept, the sale waits for the redelivery.
        let event = placed(OrderStatus::Confirmed, false);
        let id = event.order.order_id.clone();
        let delivery = placed_envelope(&event);
        app.book.failing.store(true, Ordering::SeqCst);
        assert_eq!(app.push("orders", &delivery).await, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(app.push("orders", &delivery).await, StatusCode::SERVICE_UNAVAILABLE);
        let order = app.order(&id).await;
        assert_eq!(order["state"], "confirmed");
        let shipments = app.shipments(&id).await;
        assert_eq!(shipments.len(), 1);
        assert_eq!(order["shipment_id"], shipments[0]["id"], "progress is kept");
        app.book.failing.store(false, Ordering::SeqCst);
        assert_eq!(app.push("orders", &delivery).await, StatusCode::NO_CONTENT);
        let order = app.order(&id).await;
        assert_eq!(order["state"], "allocated");
        assert_eq!(order["shipment_id"], shipments[0]["id"]);
        assert_eq!(app.shipments(&id).await.len(), 1);
        assert_eq!(app.sales().iter().filter(|s| s["order_id"] == id.as_str()).count(), 1);
        assert_eq!(history(&order).len(), 2, "created, then allocated once");
    })
    .await;
}

#[tokio::test]
async fn a_held_order_waits_until_released() {
    on_each_backend(|backend| async move {
        let app = OmsApp::start(backend).await;
        let event = placed(OrderStatus::OnHold, false);
        let id = event.order.order_id.clone();
        let delivery = placed_envelope(&event);
        assert_eq!(app.push("orders", &delivery).await, StatusCode::NO_CONTENT);
        assert_eq!(app.push("orders", &delivery).await, StatusCode::NO_CONTENT);
        assert_eq!(app.order(&id).await["state"], "on_hold");
        assert!(app.shipments(&id).await.is_empty());
        assert!(app.sales().is_empty());

        // Released while the ledger is down: confirmed, and the release can be retried.
        app.book.failing.store(true, Ordering::SeqCst);
        assert_problem(app.operator(&id, "release").await, StatusCode::SERVICE_UNAVAILABLE, None).await;
        assert_eq!(app.order(&id).await["state"], "confirmed");
        app.book.failing.store(false, Ordering::SeqCst);
        let released = json(app.operator(&id, "release").await, StatusCode::OK).await;
        assert_eq!(released["state"], "allocated");
        assert_eq!(
            history(&released),
            vec![
                (None, "on_hold".into(), event_id(&delivery)),
                (Some("on_hold".into()), "confirmed".into(), "operator:release".into()),
                (Some("confirmed".into()), "allocated".into(), "operator:release".into()),
            ]
        );
        assert_eq!((app.shipments(&id).await.len(), app.sales().len()), (1, 1));
        let again = assert_problem(app.operator(&id, "release").await, StatusCode::CONFLICT, None).await;
        assert!(again["detail"].as_str().unwrap().contains("not on hold"), "{again}");
    })
    .await;
}

#[tokio::test]
async fn shipment_events_move_the_order_and_recognize_revenue_once() {
    on_each_backend(|backend| async move {
        let app = OmsApp::start(backend).await;
        let event = placed(OrderStatus::Confirmed, false);
        let id = event.order.order_id.clone();
        assert_eq!(app.push("orders", &placed_envelope(&event)).await, StatusCode::NO_CONTENT);

        app.shipment_event(&id, "picked").await;
        app.shipment_event(&id, "packed").await;
        assert_eq!(app.relay_shipments().await, vec![StatusCode::NO_CONTENT; 2]);
        assert_eq!(app.order(&id).await["state"], "picking", "packed is acknowledged without a move");

        app.shipment_event(&id, "shipped").await;
        app.book.failing.store(true, Ordering::SeqCst);
        assert_eq!(app.relay_shipments().await, vec![StatusCode::SERVICE_UNAVAILABLE]);
        let order = app.order(&id).await;
        assert_eq!((order["state"].as_str(), order["revenue_recognized"].as_bool()), (Some("picking"), Some(false)));
        app.book.failing.store(false, Ordering::SeqCst);
        assert_eq!(app.relay_shipments().await, vec![StatusCode::NO_CONTENT]);
        let order = app.order(&id).await;
        assert_eq!((order["state"].as_str(), order["revenue_recognized"].as_bool()), (Some("shipped"), Some(true)));
        assert_eq!(app.revenue(), vec![id.to_string()]);

        // The broker delivers the shipped event again: nothing happens.
        sqlx::query("UPDATE outbox SET published_at = NULL").execute(app.warehouse.store.db.pool()).await.unwrap();
        assert_eq!(app.relay_shipments().await, vec![StatusCode::NO_CONTENT; 3]);
        assert_eq!(app.revenue().len(), 1, "revenue recognized once");

        let cancel = assert_problem(app.operator(&id, "cancel").await, StatusCode::CONFLICT, None).await;
        assert!(cancel["detail"].as_str().unwrap().contains("from shipped to cancelled"), "{cancel}");
        let early = assert_problem(app.operator(&id, "return-request").await, StatusCode::CONFLICT, None).await;
        assert!(early["detail"].as_str().unwrap().contains("from shipped to return_requested"), "{early}");

        app.shipment_event(&id, "delivered").await;
        assert_eq!(app.relay_shipments().await, vec![StatusCode::NO_CONTENT]);
        assert_eq!(app.order(&id).await["state"], "delivered");
        let returned = json(app.operator(&id, "return-request").await, StatusCode::OK).await;
        assert_eq!(returned["state"], "return_requested");
        assert_eq!(json(app.operator(&id, "return-request").await, StatusCode::OK).await["state"], "return_requested");
        let steps: Vec<String> = history(&returned).into_iter().map(|(_, to, _)| to).collect();
        assert_eq!(steps, vec!["confirmed", "allocated", "picking", "shipped", "delivered", "return_requested"]);
        assert_eq!(history(&returned)[5].2, "operator:return-request");
    })
    .await;
}

#[tokio::test]
async fn orders_are_cancelled_only_before_they_ship() {
    on_each_backend(|backend| async move {
        let app = OmsApp::start(backend).await;
        let event = placed(OrderStatus::Confirmed, true);
        let id = event.order.order_id.clone();
        assert_eq!(app.push("orders", &placed_envelope(&event)).await, StatusCode::NO_CONTENT);
        app.shipment_event(&id, "picked").await;
        assert_eq!(app.relay_shipments().await, vec![StatusCode::NO_CONTENT]);

        // The warehouse is down: the cancellation fails and changes nothing.
        app.warehouse.faults.set(down());
        assert_problem(app.operator(&id, "cancel").await, StatusCode::SERVICE_UNAVAILABLE, None).await;
        assert_eq!(app.order(&id).await["state"], "picking");
        app.warehouse.faults.set(FaultSettings::default());

        let cancelled = json(app.operator(&id, "cancel").await, StatusCode::OK).await;
        assert_eq!(cancelled["state"], "cancelled");
        assert_eq!(
            history(&cancelled).last().unwrap(),
            &(Some("picking".into()), "cancelled".into(), "operator:cancel".into())
        );
        assert_eq!(app.shipments(&id).await[0]["status"], "cancelled", "the shipment was cancelled first");
        assert_eq!(
            json(app.operator(&id, "cancel").await, StatusCode::OK).await,
            cancelled,
            "cancelling again changes nothing"
        );
        // The warehouse's cancelled event is acknowledged without a move.
        assert_eq!(app.relay_shipments().await, vec![StatusCode::NO_CONTENT]);
        assert_eq!(app.order(&id).await, cancelled);
        for action in ["release", "return-request"] {
            assert_problem(app.operator(&id, action).await, StatusCode::CONFLICT, None).await;
        }

        // A held order is cancelled without the warehouse.
        let held = placed(OrderStatus::OnHold, false);
        assert_eq!(app.push("orders", &placed_envelope(&held)).await, StatusCode::NO_CONTENT);
        app.warehouse.faults.set(down());
        let cancelled = json(app.operator(&held.order.order_id, "cancel").await, StatusCode::OK).await;
        assert_eq!(cancelled["state"], "cancelled");
    })
    .await;
}

#[tokio::test]
async fn malformed_messages_are_400_and_other_types_are_acknowledged() {
    on_each_backend(|backend| async move {
        let app = OmsApp::start(backend).await;
        let post = |topic: &str, raw: String| {
            client()
                .post(app.url(&format!("/v1/events/{topic}")))
                .header("content-type", "application/json")
                .body(raw)
                .send()
        };
        assert_problem(post("orders", "{".into()).await.unwrap(), StatusCode::BAD_REQUEST, None).await;
        let mut not_base64 = placed_envelope(&placed(OrderStatus::Confirmed, false));
        not_base64["message"]["data"] = "%%%".into();
        assert_problem(post("orders", not_base64.to_string()).await.unwrap(), StatusCode::BAD_REQUEST, None).await;
        let wrong = Message {
            id: "evt_wrong".into(),
            topic: "orders".into(),
            ordering_key: "k".into(),
            data: br#"{"order": 1}"#.to_vec(),
            attributes: BTreeMap::from([(TYPE.to_owned(), ORDER_PLACED.to_owned())]),
            publish_time: OffsetDateTime::now_utc(),
        };
        assert_problem(
            post("orders", envelope(&wrong, "oms-orders").to_string()).await.unwrap(),
            StatusCode::BAD_REQUEST,
            None,
        )
        .await;
        let bad_shipment = Message {
            attributes: BTreeMap::from([(TYPE.to_owned(), "shipment.status_changed".to_owned())]),
            ..wrong.clone()
        };
        assert_problem(
            post("shipments", envelope(&bad_shipment, "oms-shipments").to_string()).await.unwrap(),
            StatusCode::BAD_REQUEST,
            None,
        )
        .await;
        let other_type =
            Message { attributes: BTreeMap::from([(TYPE.to_owned(), "order.refunded".to_owned())]), ..wrong };
        assert_eq!(app.push("orders", &envelope(&other_type, "oms-orders")).await, StatusCode::NO_CONTENT);
        assert_eq!((app.count("orders").await, app.count("processed_events").await), (0, 0));

        let unknown = client().get(app.url(&format!("/v1/orders/{}", OrderId::generate()))).send().await.unwrap();
        assert_problem(unknown, StatusCode::NOT_FOUND, None).await;
        let bad = client().get(app.url("/v1/orders/42")).send().await.unwrap();
        assert_problem(bad, StatusCode::UNPROCESSABLE_ENTITY, Some("id")).await;
        let bad_state = client().get(app.url("/v1/orders?state=lost")).send().await.unwrap();
        assert_problem(bad_state, StatusCode::UNPROCESSABLE_ENTITY, Some("state")).await;
        let bad_cursor = client().get(app.url("/v1/orders?cursor=bm9wZQ")).send().await.unwrap();
        assert_problem(bad_cursor, StatusCode::UNPROCESSABLE_ENTITY, Some("cursor")).await;
    })
    .await;
}

#[tokio::test]
async fn orders_are_listed_a_page_at_a_time_and_by_state() {
    on_each_backend(|backend| async move {
        let app = OmsApp::start(backend).await;
        let mut ids = Vec::new();
        for status in [
            OrderStatus::Confirmed,
            OrderStatus::OnHold,
            OrderStatus::Confirmed,
            OrderStatus::OnHold,
            OrderStatus::OnHold,
        ] {
            let event = placed(status, false);
            assert_eq!(app.push("orders", &placed_envelope(&event)).await, StatusCode::NO_CONTENT);
            ids.push(event.order.order_id.to_string());
        }
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut url = app.url("/v1/orders?limit=2");
            if let Some(cursor) = &cursor {
                url.push_str(&format!("&cursor={cursor}"));
            }
            let page = json(client().get(url).send().await.unwrap(), StatusCode::OK).await;
            seen.extend(page["items"].as_array().unwrap().iter().map(|o| o["id"].as_str().unwrap().to_owned()));
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        let mut sorted_seen = seen.clone();
        sorted_seen.sort();
        let mut sorted_ids = ids.clone();
        sorted_ids.sort();
        assert_eq!(sorted_seen, sorted_ids, "every order once");
        let held = json(client().get(app.url("/v1/orders?state=on_hold")).send().await.unwrap(), StatusCode::OK).await;
        let held: Vec<&str> = held["items"].as_array().unwrap().iter().map(|o| o["state"].as_str().unwrap()).collect();
        assert_eq!(held, vec!["on_hold"; 3]);
    })
    .await;
}
