//! The warehouse system over HTTP.

use std::time::Duration;

use business_services::contracts::order::OrderId;
use business_services::contracts::shipment::ShipmentStatus;
use business_services::platform::Error;
use business_services::platform::faults::Faults;
use business_services::platform::testing::Backend;
use business_services::warehouse::client::WarehouseClient;
use business_services::warehouse::domain::TrackingUpdate;
use business_services::warehouse::{self};
use reqwest::StatusCode;
use serde_json::{Value, json as body};

use crate::harness::Setup;
use crate::harness::{Served, TestDb, on_each_backend, peer};
use crate::http::{assert_problem, client, json};

/// A warehouse, with faults other systems' tests can switch on.
pub struct WarehouseApp {
    pub served: Served,
    pub store: TestDb,
    pub faults: Faults,
}

impl WarehouseApp {
    pub async fn start(backend: Backend) -> WarehouseApp {
        let store = TestDb::open(backend, "warehouse", &warehouse::MIGRATOR).await;
        let faults = Faults::default();
        let served =
            Served::system(&warehouse::Warehouse, &store, Setup { faults: faults.clone(), ..Setup::default() }).await;
        WarehouseApp { served, store, faults }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.served.url)
    }

    async fn create(&self, request: &Value) -> reqwest::Response {
        client().post(self.url("/v1/shipments")).json(request).send().await.unwrap()
    }

    pub async fn event(&self, shipment: &Value, status: &str) -> reqwest::Response {
        let id = shipment["id"].as_str().unwrap();
        let update = body!({"status": status, "location": "Reno depot"});
        client().post(self.url(&format!("/v1/shipments/{id}/events"))).json(&update).send().await.unwrap()
    }

    /// (type, ordering key, payload) of the outbox rows, oldest first.
    async fn outbox(&self) -> Vec<(String, String, Value)> {
        let rows: Vec<(String, String, String, String)> =
            sqlx::query_as("SELECT topic, ordering_key, payload, attributes FROM outbox ORDER BY created_at, id")
                .fetch_all(self.store.db.pool())
                .await
                .unwrap();
        rows.into_iter()
            .map(|(topic, key, payload, attributes)| {
                assert_eq!(topic, "shipments");
                let attributes: Value = serde_json::from_str(&attributes).unwrap();
                (attributes["type"].as_str().unwrap().to_owned(), key, serde_json::from_str(&payload).unwrap())
            })
            .collect()
    }
}

fn address() -> Value {
    body!({"name": "Ana Lima", "line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"})
}

fn line(product: &str, quantity: u32, grams: u32, class: &str) -> Value {
    body!({"product_id": product, "quantity": quantity, "stock_class": class, "weight_grams": grams,
           "dimensions_mm": {"length": 400, "width": 300, "height": 200}})
}

fn request(order: &OrderId, lines: Vec<Value>, slot: bool) -> Value {
    let mut request =
        body!({"order_id": order, "reference": format!("checkout-{order}"), "destination": address(), "lines": lines});
    if slot {
        request["freight_booking"] = body!({"reservation_id": "slt_1", "date": "2026-11-27", "window": "08:00-12:00"});
    }
    request
}

#[tokio::test]
async fn orders_are_packed_into_parcels_and_freight_once() {
    on_each_backend(|backend| async move {
        let app = WarehouseApp::start(backend).await;
        let order = OrderId::generate();
        let lines = vec![
            line("cast-iron-skillet", 3, 4_000, "standard"),
            line("stoneware-vase", 2, 9_000, "standard"),
            line("velvet-cushion", 4, 500, "standard"),
            line("walnut-dining-table", 1, 60_000, "oversized"),
        ];
        let created = json(app.create(&request(&order, lines.clone(), true)).await, StatusCode::CREATED).await;
        assert!(created["id"].as_str().unwrap().starts_with("shp_"), "{created}");
        assert_eq!(created["order_id"], order.as_str());
        assert_eq!(created["status"], "created");
        let parcels = created["parcels"].as_array().unwrap();
        let summary: Vec<(String, i64, Value)> = parcels
            .iter()
            .map(|p| (p["carrier"].as_str().unwrap().to_owned(), p["weight_grams"].as_i64().unwrap(), p["lines"].clone()))
            .collect();
        assert_eq!(
            summary,
            vec![
                (
                    "swift-parcel".into(),
                    20_000,
                    body!([{"product_id": "stoneware-vase", "quantity": 2}, {"product_id": "velvet-cushion", "quantity": 4}])
                ),
                ("swift-parcel".into(), 12_000, body!([{"product_id": "cast-iron-skillet", "quantity": 3}])),
                ("boutique-freight".into(), 60_000, body!([{"product_id": "walnut-dining-table", "quantity": 1}])),
            ]
        );
        for parcel in parcels {
            let number = parcel["tracking_number"].as_str().unwrap();
            let prefix = if parcel["carrier"] == "swift-parcel" { "SP" } else { "BF" };
            assert!(number.starts_with(prefix) && number.len() == 12, "{number}");
            assert_eq!(parcel["status"], "created");
        }
        assert_eq!(parcels[2]["delivery_slot"]["date"], "2026-11-27");
        assert!(parcels[0].get("delivery_slot").is_none());

        // The same order again, lines in another order: the same shipment.
        let mut reordered = lines.clone();
        reordered.reverse();
        let again = app.create(&request(&order, reordered, true)).await;
        assert_eq!(again.headers()["idempotent-replayed"], "true");
        assert_eq!(json(again, StatusCode::OK).await, created);
        // Other lines for the same order: refused.
        let other = app.create(&request(&order, vec![line("velvet-cushion", 1, 500, "standard")], false)).await;
        assert_problem(other, StatusCode::UNPROCESSABLE_ENTITY, Some("order_id")).await;

        // Ten concurrent requests for a new order: one shipment.
        let storm_order = OrderId::generate();
        let storm_request = request(&storm_order, vec![line("velvet-cushion", 2, 500, "standard")], false);
        let warehouse = WarehouseClient::new(&peer(&app.served.url), Duration::from_secs(5));
        let shipments = futures_util::future::join_all((0..10).map(|_| create_via(&warehouse, &storm_request))).await;
        assert!(shipments.windows(2).all(|w| w[0] == w[1]), "{shipments:?}");
        let listed = warehouse.shipments_of(&storm_order).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].id.as_str(), shipments[0]);
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM shipments").fetch_one(app.store.db.pool()).await.unwrap();
        assert_eq!(count, 2);
        assert!(app.outbox().await.is_empty(), "creating publishes nothing");

        let fetched = warehouse.shipment(&listed[0].id).await.unwrap().unwrap();
        assert_eq!(fetched, listed[0]);
        assert!(warehouse.shipments_of(&OrderId::generate()).await.unwrap().is_empty());
    })
    .await;
}

/// Creates a shipment through the typed client and answers its id.
async fn create_via(warehouse: &WarehouseClient, request: &Value) -> String {
    let request = serde_json::from_value(request.clone()).unwrap();
    warehouse.create_shipment(&request).await.unwrap().id.to_string()
}

#[tokio::test]
async fn tracking_updates_follow_the_status_machine_and_publish_once() {
    on_each_backend(|backend| async move {
        let app = WarehouseApp::start(backend).await;
        let order = OrderId::generate();
        let shipment = json(
            app.create(&request(&order, vec![line("velvet-cushion", 1, 500, "standard")], false)).await,
            StatusCode::CREATED,
        )
        .await;
        let skipped = assert_problem(app.event(&shipment, "delivered").await, StatusCode::CONFLICT, None).await;
        assert!(skipped["detail"].as_str().unwrap().contains("from created to delivered"), "{skipped}");

        for status in ["picked", "packed", "shipped"] {
            let moved = json(app.event(&shipment, status).await, StatusCode::OK).await;
            assert_eq!(moved["status"], status);
            assert_eq!(moved["parcels"][0]["status"], status);
        }
        let repeated = app.event(&shipment, "shipped").await;
        assert_eq!(repeated.headers()["idempotent-replayed"], "true");
        assert_eq!(json(repeated, StatusCode::OK).await["status"], "shipped");
        let late = assert_problem(app.event(&shipment, "cancelled").await, StatusCode::CONFLICT, None).await;
        assert!(late["detail"].as_str().unwrap().contains("from shipped to cancelled"), "{late}");

        let outbox = app.outbox().await;
        let statuses: Vec<&str> = outbox.iter().map(|(_, _, payload)| payload["status"].as_str().unwrap()).collect();
        assert_eq!(statuses, vec!["picked", "packed", "shipped"], "one event per move, none for the repeat");
        let tracking_number = shipment["parcels"][0]["tracking_number"].as_str().unwrap();
        for (kind, key, payload) in &outbox {
            assert_eq!(kind, "shipment.status_changed");
            assert_eq!(key, order.as_str());
            assert_eq!(payload["shipment_id"], shipment["id"]);
            assert_eq!(payload["order_id"], order.as_str());
            assert_eq!(payload["tracking_numbers"], body!([tracking_number]));
        }

        let tracking = json(
            client().get(app.url(&format!("/v1/tracking/{tracking_number}"))).send().await.unwrap(),
            StatusCode::OK,
        )
        .await;
        assert_eq!(tracking["parcel"]["tracking_number"], tracking_number);
        assert_eq!(tracking["shipment"]["id"], shipment["id"]);
        let events: Vec<&str> =
            tracking["events"].as_array().unwrap().iter().map(|e| e["status"].as_str().unwrap()).collect();
        assert_eq!(events, vec!["shipped", "packed", "picked", "created"], "newest first");
        assert_eq!(tracking["events"][0]["location"], "Reno depot");

        // Cancelling before shipping, through the client; a cancelled shipment has ended.
        let warehouse = WarehouseClient::new(&peer(&app.served.url), Duration::from_secs(5));
        let shipped = warehouse.shipments_of(&order).await.unwrap();
        assert_eq!(shipped[0].status, ShipmentStatus::Shipped);
        let second_order = OrderId::generate();
        let second = json(
            app.create(&request(&second_order, vec![line("velvet-cushion", 1, 500, "standard")], false)).await,
            StatusCode::CREATED,
        )
        .await;
        let second_id = serde_json::from_value(second["id"].clone()).unwrap();
        let cancel =
            TrackingUpdate { status: ShipmentStatus::Cancelled, location: None, note: Some("customer".into()) };
        assert_eq!(warehouse.record_event(&second_id, &cancel).await.unwrap().status, ShipmentStatus::Cancelled);
        assert_eq!(warehouse.record_event(&second_id, &cancel).await.unwrap().status, ShipmentStatus::Cancelled);
        let pick = TrackingUpdate { status: ShipmentStatus::Picked, location: None, note: None };
        assert!(matches!(warehouse.record_event(&second_id, &pick).await, Err(Error::Conflict { .. })));
        assert_eq!(app.outbox().await.len(), 4);
    })
    .await;
}

#[tokio::test]
async fn bad_requests_name_the_field_and_write_nothing() {
    on_each_backend(|backend| async move {
        let app = WarehouseApp::start(backend).await;
        let order = OrderId::generate();
        let standard = || line("velvet-cushion", 1, 500, "standard");
        let mut bad_country = request(&order, vec![standard()], false);
        bad_country["destination"]["country"] = "usa".into();
        let cases = [
            (request(&order, vec![], false), "lines"),
            (request(&order, vec![line("walnut-dining-table", 1, 60_000, "oversized")], false), "freight_booking"),
            (request(&order, vec![standard()], true), "freight_booking"),
            (request(&order, vec![line("velvet-cushion", 0, 500, "standard")], false), "lines[0].quantity"),
            (request(&order, vec![line("velvet-cushion", 1, 30_000, "standard")], false), "lines[0].weight_grams"),
            (request(&order, vec![standard(), standard()], false), "lines[1].product_id"),
            (request(&order, vec![line("velvet-cushion", 1, 500, "huge")], false), "lines[0].stock_class"),
            (bad_country, "destination.country"),
            (
                body!({"order_id": "ord_1", "reference": "r", "destination": address(), "lines": [standard()]}),
                "order_id",
            ),
        ];
        for (request, field) in cases {
            assert_problem(app.create(&request).await, StatusCode::UNPROCESSABLE_ENTITY, Some(field)).await;
        }
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM shipments").fetch_one(app.store.db.pool()).await.unwrap();
        assert_eq!(count, 0);

        let unknown = body!({"id": "shp_00000000000000000000000000000000"});
        assert_problem(app.event(&unknown, "picked").await, StatusCode::NOT_FOUND, None).await;
        let shipment = json(app.create(&request(&order, vec![standard()], false)).await, StatusCode::CREATED).await;
        assert_problem(app.event(&shipment, "lost").await, StatusCode::UNPROCESSABLE_ENTITY, Some("status")).await;
        let get = |path: &str| client().get(app.url(path)).send();
        assert_problem(get("/v1/shipments/42").await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY, Some("id")).await;
        assert_problem(
            get("/v1/shipments?order_id=x").await.unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("order_id"),
        )
        .await;
        assert_problem(
            get("/v1/tracking/SP1234567898").await.unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("tracking_number"),
        )
        .await;
        assert_problem(get("/v1/tracking/SP1234567897").await.unwrap(), StatusCode::NOT_FOUND, None).await;
    })
    .await;
}
