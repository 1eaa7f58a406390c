//! The inventory system over HTTP.

use std::sync::Arc;
use std::time::Duration;

use business_services::contracts::product::ProductId;
use business_services::inventory::client::InventoryClient;
use business_services::inventory::domain::{ReservationLine, ReservationStatus, ReserveRequest};
use business_services::inventory::{self, InventoryService, Settings};
use business_services::platform::Error;
use business_services::platform::clock::{Clock, ManualClock};
use business_services::platform::testing::Backend;
use reqwest::StatusCode;
use serde_json::{Value, json as body};
use time::OffsetDateTime;

use crate::harness::Setup;
use crate::harness::{Served, TestDb, on_each_backend, peer};
use crate::http::{assert_problem, client, json};

/// Inventory with the demo stock, on a manual clock.
struct InventoryApp {
    served: Served,
    clock: Arc<ManualClock>,
    service: InventoryService,
    store: TestDb,
}

impl InventoryApp {
    async fn start(backend: Backend) -> InventoryApp {
        let store = TestDb::open(backend, "inventory", &inventory::MIGRATOR).await;
        let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
        assert_eq!(inventory::seed_demo_data(&store.db, clock.now()).await.unwrap(), 28);
        assert_eq!(inventory::seed_demo_data(&store.db, clock.now()).await.unwrap(), 0, "seeds once");
        let service = InventoryService::new(&store.db, &Settings::default(), clock.clone());
        let served = Served::system(&inventory::Inventory, &store, Setup::on(clock.clone())).await;
        InventoryApp { served, clock, service, store }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.served.url)
    }

    async fn reserve(&self, reference: &str, lines: &[(&str, u32)], ttl_secs: Option<u32>) -> reqwest::Response {
        let lines: Vec<Value> = lines.iter().map(|(p, q)| body!({"product_id": p, "quantity": q})).collect();
        let mut request = body!({"reference": reference, "lines": lines});
        if let Some(ttl) = ttl_secs {
            request["ttl_secs"] = ttl.into();
        }
        client().post(self.url("/v1/reservations")).json(&request).send().await.unwrap()
    }

    async fn act(&self, reservation: &Value, action: &str) -> reqwest::Response {
        let id = reservation["id"].as_str().unwrap();
        client().post(self.url(&format!("/v1/reservations/{id}/{action}"))).send().await.unwrap()
    }

    /// (on hand, reserved, available) of a product.
    async fn stock(&self, product: &str) -> (i64, i64, i64) {
        let stock =
            json(client().get(self.url(&format!("/v1/stock/{product}"))).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(stock["product_id"], product);
        let number = |name: &str| stock[name].as_i64().unwrap();
        (number("on_hand"), number("reserved"), number("available"))
    }

    async fn movement(&self, product: &str, request: Value, key: Option<&str>) -> reqwest::Response {
        let mut post = client().post(self.url(&format!("/v1/stock/{product}/movements"))).json(&request);
        if let Some(key) = key {
            post = post.header("idempotency-key", key);
        }
        post.send().await.unwrap()
    }

    async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(self.store.db.pool())
            .await
            .unwrap()
    }

    async fn sales(&self, product: &str) -> Vec<(i64, String)> {
        sqlx::query_as(
            "SELECT delta, reference FROM stock_movements WHERE kind = 'sale' AND product_id = $1 ORDER BY at",
        )
        .bind(product)
        .fetch_all(self.store.db.pool())
        .await
        .unwrap()
    }
}

#[tokio::test]
async fn reserve_commit_and_release_move_the_stock() {
    on_each_backend(|backend| async move {
        let app = InventoryApp::start(backend).await;
        assert_eq!(app.stock("velvet-cushion").await, (25, 0, 25));

        let created = app.reserve("order-1", &[("wool-check-throw", 2), ("velvet-cushion", 3)], None).await;
        let held = json(created, StatusCode::CREATED).await;
        assert_eq!(held["status"], "held");
        assert_eq!(held["reference"], "order-1");
        assert_eq!(
            held["lines"],
            body!([{"product_id": "velvet-cushion", "quantity": 3}, {"product_id": "wool-check-throw", "quantity": 2}])
        );
        let created_at =
            OffsetDateTime::parse(held["created_at"].as_str().unwrap(), &time::format_description::well_known::Rfc3339)
                .unwrap();
        let expires_at =
            OffsetDateTime::parse(held["expires_at"].as_str().unwrap(), &time::format_description::well_known::Rfc3339)
                .unwrap();
        assert_eq!(expires_at - created_at, time::Duration::seconds(900), "held 900 s by default");
        assert_eq!(app.stock("velvet-cushion").await, (25, 3, 22));
        assert_eq!(app.stock("wool-check-throw").await, (25, 2, 23));

        let committed = json(app.act(&held, "commit").await, StatusCode::OK).await;
        assert_eq!(committed["status"], "committed");
        assert_eq!(app.stock("velvet-cushion").await, (22, 0, 22), "sold units leave the stock");
        assert_eq!(app.stock("wool-check-throw").await, (23, 0, 23));
        assert_eq!(app.sales("velvet-cushion").await, vec![(-3, "order-1".to_owned())], "one sale in the ledger");
        assert_eq!(
            json(app.act(&held, "commit").await, StatusCode::OK).await,
            committed,
            "committing again is a no-op"
        );
        assert_eq!(app.stock("velvet-cushion").await, (22, 0, 22));
        assert_eq!(app.sales("velvet-cushion").await.len(), 1);
        let problem = assert_problem(app.act(&held, "release").await, StatusCode::CONFLICT, None).await;
        assert!(problem["detail"].as_str().unwrap().contains("committed"), "{problem}");

        let second = json(app.reserve("order-2", &[("velvet-cushion", 5)], Some(60)).await, StatusCode::CREATED).await;
        assert_eq!(app.stock("velvet-cushion").await, (22, 5, 17));
        let released = json(app.act(&second, "release").await, StatusCode::OK).await;
        assert_eq!(released["status"], "released");
        assert_eq!(app.stock("velvet-cushion").await, (22, 0, 22), "released units are available again");
        assert_eq!(
            json(app.act(&second, "release").await, StatusCode::OK).await,
            released,
            "releasing again is a no-op"
        );
        let problem = assert_problem(app.act(&second, "commit").await, StatusCode::CONFLICT, None).await;
        assert!(problem["detail"].as_str().unwrap().contains("released"), "{problem}");
        assert_eq!(app.stock("velvet-cushion").await, (22, 0, 22));

        let id = second["id"].as_str().unwrap();
        let fetched =
            json(client().get(app.url(&format!("/v1/reservations/{id}"))).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(fetched, released);
        let unknown =
            client().get(app.url("/v1/reservations/rsv_00000000000000000000000000000000")).send().await.unwrap();
        assert_problem(unknown, StatusCode::NOT_FOUND, None).await;
        let unknown = client()
            .post(app.url("/v1/reservations/rsv_00000000000000000000000000000000/commit"))
            .send()
            .await
            .unwrap();
        assert_problem(unknown, StatusCode::NOT_FOUND, None).await;
        let malformed = client().get(app.url("/v1/reservations/42")).send().await.unwrap();
        assert_problem(malformed, StatusCode::UNPROCESSABLE_ENTITY, Some("id")).await;
    })
    .await;
}

#[tokio::test]
async fn out_of_stock_is_a_409_that_holds_nothing() {
    on_each_backend(|backend| async move {
        let app = InventoryApp::start(backend).await;
        let response = app.reserve("order-1", &[("velvet-cushion", 1), ("leather-chelsea-boots", 4)], None).await;
        let problem = assert_problem(response, StatusCode::CONFLICT, None).await;
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains("'leather-chelsea-boots': 4 requested, 3 available"), "{detail}");
        assert!(!detail.contains("velvet-cushion"), "only the short line is named: {detail}");
        assert_eq!(app.stock("velvet-cushion").await, (25, 0, 25), "the other line was not held");
        assert_eq!(app.stock("leather-chelsea-boots").await, (3, 0, 3));
        assert_eq!((app.count("reservations").await, app.count("reservation_lines").await), (0, 0));

        // The reference stays free: the same order can try again with fewer boots.
        let retry = app.reserve("order-1", &[("velvet-cushion", 1), ("leather-chelsea-boots", 3)], None).await;
        json(retry, StatusCode::CREATED).await;
        assert_eq!(app.stock("leather-chelsea-boots").await, (3, 3, 0));
    })
    .await;
}

#[tokio::test]
async fn bad_reservations_name_the_field_and_hold_nothing() {
    on_each_backend(|backend| async move {
        let app = InventoryApp::start(backend).await;
        let post = |raw: String| {
            client().post(app.url("/v1/reservations")).header("content-type", "application/json").body(raw).send()
        };
        let many: Vec<Value> = (0..51).map(|i| body!({"product_id": format!("p{i}"), "quantity": 1})).collect();
        let cases = [
            (body!({"reference": "o", "lines": []}), "lines"),
            (body!({"reference": "o", "lines": many}), "lines"),
            (body!({"reference": "o", "lines": [{"product_id": "velvet-cushion", "quantity": 0}]}), "lines[0].quantity"),
            (body!({"reference": "o", "lines": [{"product_id": "velvet-cushion", "quantity": 100}]}), "lines[0].quantity"),
            (body!({"reference": "o", "lines": [{"product_id": "Velvet Cushion", "quantity": 1}]}), "lines[0].product_id"),
            (
                body!({"reference": "o", "lines": [{"product_id": "velvet-cushion", "quantity": 1}, {"product_id": "walnut-dining-table", "quantity": 1}]}),
                "lines[1].product_id",
            ),
            (
                body!({"reference": "o", "lines": [{"product_id": "velvet-cushion", "quantity": 1}, {"product_id": "velvet-cushion", "quantity": 1}]}),
                "lines[1].product_id",
            ),
            (body!({"reference": "o", "lines": [{"product_id": "velvet-cushion", "quantity": 1}], "ttl_secs": 0}), "ttl_secs"),
            (body!({"reference": "o", "lines": [{"product_id": "velvet-cushion", "quantity": 1}], "ttl_secs": 3601}), "ttl_secs"),
            (body!({"reference": "", "lines": [{"product_id": "velvet-cushion", "quantity": 1}]}), "reference"),
            (body!({"lines": [{"product_id": "velvet-cushion", "quantity": 1}]}), "reference"),
        ];
        for (request, field) in cases {
            assert_problem(post(request.to_string()).await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY, Some(field)).await;
        }
        assert_eq!(app.count("reservations").await, 0);
        assert_eq!(app.stock("velvet-cushion").await, (25, 0, 25), "nothing was held");
    })
    .await;
}

#[tokio::test]
async fn the_same_reference_reserves_once() {
    on_each_backend(|backend| async move {
        let app = InventoryApp::start(backend).await;
        let first = app.reserve("order-7", &[("cast-iron-skillet", 2), ("velvet-cushion", 1)], None).await;
        let first = json(first, StatusCode::CREATED).await;
        let again = app.reserve("order-7", &[("velvet-cushion", 1), ("cast-iron-skillet", 2)], None).await;
        assert_eq!(again.headers()["idempotent-replayed"], "true");
        assert_eq!(json(again, StatusCode::OK).await, first, "the same lines in another order are the same request");
        assert_eq!(app.stock("cast-iron-skillet").await, (25, 2, 23), "held once");

        let other = app.reserve("order-7", &[("cast-iron-skillet", 3)], None).await;
        assert_problem(other, StatusCode::UNPROCESSABLE_ENTITY, Some("reference")).await;

        let storm =
            futures_util::future::join_all((0..10).map(|_| app.reserve("order-8", &[("terracotta-planter", 4)], None)))
                .await;
        let ids: Vec<Value> = futures_util::future::join_all(storm.into_iter().map(|response| async move {
            let status = response.status();
            assert!(matches!(status, StatusCode::OK | StatusCode::CREATED), "{status}");
            json(response, status).await["id"].clone()
        }))
        .await;
        assert!(ids.windows(2).all(|w| w[0] == w[1]), "10 concurrent retries get one reservation: {ids:?}");
        assert_eq!(app.stock("terracotta-planter").await, (25, 4, 21));
        assert_eq!(app.count("reservations").await, 2);
    })
    .await;
}

#[tokio::test]
async fn twenty_checkouts_race_for_the_last_unit_and_one_wins() {
    on_each_backend(|backend| async move {
        let app = InventoryApp::start(backend).await;
        assert_eq!(app.stock("marble-side-table").await, (1, 0, 1));
        let app = &app;
        let racing = (0..20).map(|i| async move {
            app.reserve(&format!("race-{i}"), &[("marble-side-table", 1)], None).await.status()
        });
        let statuses = futures_util::future::join_all(racing).await;
        let won = statuses.iter().filter(|s| **s == StatusCode::CREATED).count();
        let lost = statuses.iter().filter(|s| **s == StatusCode::CONFLICT).count();
        assert_eq!((won, lost), (1, 19), "{statuses:?}");
        assert_eq!(app.stock("marble-side-table").await, (1, 1, 0), "available ends at 0, never below");
        let reserved: i64 = sqlx::query_scalar("SELECT MIN(on_hand - reserved) FROM stock")
            .fetch_one(app.store.db.pool())
            .await
            .unwrap();
        assert!(reserved >= 0);
    })
    .await;
}

#[tokio::test]
async fn expired_holds_are_released() {
    on_each_backend(|backend| async move {
        let app = InventoryApp::start(backend).await;
        let first = json(app.reserve("slow-1", &[("marble-side-table", 1)], Some(60)).await, StatusCode::CREATED).await;
        assert_problem(app.reserve("fast-1", &[("marble-side-table", 1)], None).await, StatusCode::CONFLICT, None)
            .await;

        app.clock.advance(time::Duration::seconds(59));
        assert_problem(app.reserve("fast-2", &[("marble-side-table", 1)], None).await, StatusCode::CONFLICT, None)
            .await;

        // Past its TTL, the hold no longer blocks a reservation, even before any sweep.
        app.clock.advance(time::Duration::seconds(2));
        let second = json(app.reserve("fast-3", &[("marble-side-table", 1)], None).await, StatusCode::CREATED).await;
        let id = first["id"].as_str().unwrap();
        let expired =
            json(client().get(app.url(&format!("/v1/reservations/{id}"))).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(expired["status"], "released");
        assert_problem(app.act(&first, "commit").await, StatusCode::CONFLICT, None).await;
        assert_eq!(app.stock("marble-side-table").await, (1, 1, 0));

        // The sweeper releases what nobody touched.
        json(app.reserve("slow-2", &[("velvet-cushion", 4)], Some(30)).await, StatusCode::CREATED).await;
        assert_eq!(app.service.sweep().await.unwrap(), 0, "nothing expired yet");
        app.clock.advance(time::Duration::seconds(31));
        assert_eq!(app.stock("velvet-cushion").await, (25, 4, 21));
        assert_eq!(app.service.sweep().await.unwrap(), 1);
        assert_eq!(app.stock("velvet-cushion").await, (25, 0, 25));
        assert_eq!(app.service.sweep().await.unwrap(), 0);

        // A committed reservation never expires.
        json(app.act(&second, "commit").await, StatusCode::OK).await;
        app.clock.advance(time::Duration::hours(2));
        assert_eq!(app.service.sweep().await.unwrap(), 0);
        assert_eq!(app.stock("marble-side-table").await, (0, 0, 0));
    })
    .await;
}

#[tokio::test]
async fn movements_are_validated_and_counted_once() {
    on_each_backend(|backend| async move {
        let app = InventoryApp::start(backend).await;
        let receipt = body!({"delta": 5, "kind": "receipt", "reference": "po-1001"});
        let recorded =
            json(app.movement("velvet-cushion", receipt.clone(), Some("k-1")).await, StatusCode::CREATED).await;
        assert_eq!(recorded["movement"]["delta"], 5);
        assert_eq!(recorded["movement"]["kind"], "receipt");
        assert_eq!(
            recorded["stock"],
            body!({"product_id": "velvet-cushion", "on_hand": 30, "reserved": 0, "available": 30})
        );
        let replay = app.movement("velvet-cushion", receipt.clone(), Some("k-1")).await;
        assert_eq!(replay.headers()["idempotent-replayed"], "true");
        assert_eq!(json(replay, StatusCode::OK).await, recorded);
        let storm = futures_util::future::join_all(
            (0..10).map(|_| app.movement("velvet-cushion", receipt.clone(), Some("k-2"))),
        )
        .await;
        assert!(storm.iter().all(|r| r.status().is_success()));
        assert_eq!(app.stock("velvet-cushion").await, (35, 0, 35), "one key, one receipt");
        let reused = app
            .movement("velvet-cushion", body!({"delta": 6, "kind": "receipt", "reference": "po-1001"}), Some("k-1"))
            .await;
        assert_problem(reused, StatusCode::UNPROCESSABLE_ENTITY, Some("Idempotency-Key")).await;

        json(app.reserve("order-1", &[("velvet-cushion", 10)], None).await, StatusCode::CREATED).await;
        let count = |delta: i64| body!({"delta": delta, "kind": "adjustment", "reference": "stocktake-2026-11"});
        let problem = assert_problem(
            app.movement("velvet-cushion", count(-26), None).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("delta"),
        )
        .await;
        assert!(problem["detail"].as_str().unwrap().contains("remove at most 25 units"), "{problem}");
        json(app.movement("velvet-cushion", count(-25), None).await, StatusCode::CREATED).await;
        assert_eq!(app.stock("velvet-cushion").await, (10, 10, 0));

        let cases = [
            ("velvet-cushion", body!({"delta": -1, "kind": "receipt", "reference": "po-1"}), "delta"),
            ("velvet-cushion", body!({"delta": 0, "kind": "adjustment", "reference": "st-1"}), "delta"),
            ("velvet-cushion", body!({"delta": 1.5, "kind": "receipt", "reference": "po-1"}), "delta"),
            ("velvet-cushion", body!({"delta": i64::MIN, "kind": "adjustment", "reference": "st-1"}), "delta"),
            ("velvet-cushion", body!({"delta": i64::MAX, "kind": "receipt", "reference": "po-1"}), "delta"),
            ("velvet-cushion", body!({"delta": 1_000_001, "kind": "receipt", "reference": "po-1"}), "delta"),
            ("velvet-cushion", body!({"delta": -1, "kind": "sale", "reference": "o-1"}), "kind"),
            ("velvet-cushion", body!({"delta": 1, "kind": "gift", "reference": "o-1"}), "kind"),
            ("velvet-cushion", body!({"delta": 1, "kind": "receipt", "reference": ""}), "reference"),
            ("velvet-cushion", body!({"delta": 1, "kind": "receipt"}), "reference"),
            ("Velvet_Cushion", body!({"delta": 1, "kind": "receipt", "reference": "po-1"}), "product_id"),
            ("new-product", body!({"delta": -1, "kind": "adjustment", "reference": "st-1"}), "delta"),
        ];
        for (product, request, field) in cases {
            assert_problem(app.movement(product, request, None).await, StatusCode::UNPROCESSABLE_ENTITY, Some(field))
                .await;
        }
        let blank_key = app.movement("velvet-cushion", receipt.clone(), Some(" ")).await;
        assert_problem(blank_key, StatusCode::UNPROCESSABLE_ENTITY, Some("Idempotency-Key")).await;
        assert_eq!(app.stock("velvet-cushion").await, (10, 10, 0), "refused movements change nothing");
        let missing = client().get(app.url("/v1/stock/new-product")).send().await.unwrap();
        assert_problem(missing, StatusCode::NOT_FOUND, None).await;

        // A first receipt starts stocking a product.
        json(
            app.movement("new-product", body!({"delta": 7, "kind": "receipt", "reference": "po-2"}), None).await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(app.stock("new-product").await, (7, 0, 7));
        let ledger: i64 =
            sqlx::query_scalar("SELECT CAST(SUM(delta) AS BIGINT) FROM stock_movements WHERE product_id = $1")
                .bind("velvet-cushion")
                .fetch_one(app.store.db.pool())
                .await
                .unwrap();
        assert_eq!(ledger, 10, "the ledger adds up to the units on hand");
    })
    .await;
}

#[tokio::test]
async fn stock_lists_by_id_and_by_page() {
    on_each_backend(|backend| async move {
        let app = InventoryApp::start(backend).await;
        let query = |q: &str| {
            let url = app.url(&format!("/v1/stock{q}"));
            async move { client().get(url).send().await.unwrap() }
        };
        let named =
            json(query("?product_ids=velvet-cushion,walnut-dining-table,marble-side-table").await, StatusCode::OK)
                .await;
        assert_eq!(
            named,
            body!({"items": [
                {"product_id": "velvet-cushion", "on_hand": 25, "reserved": 0, "available": 25},
                {"product_id": "marble-side-table", "on_hand": 1, "reserved": 0, "available": 1},
            ]}),
            "in the order asked; oversized furniture is not stocked here"
        );
        assert_problem(
            query("?product_ids=velvet-cushion,Bad!").await,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("product_ids"),
        )
        .await;
        assert_problem(
            query("?product_ids=velvet-cushion&limit=5").await,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("limit"),
        )
        .await;
        let too_many: Vec<String> = (0..101).map(|i| format!("p{i}")).collect();
        let too_many = query(&format!("?product_ids={}", too_many.join(","))).await;
        assert_problem(too_many, StatusCode::UNPROCESSABLE_ENTITY, Some("product_ids")).await;

        let (mut ids, mut cursor) = (Vec::new(), None::<String>);
        loop {
            let q = cursor.as_ref().map_or("?limit=10".to_owned(), |c| format!("?limit=10&cursor={c}"));
            let page = json(query(&q).await, StatusCode::OK).await;
            ids.extend(page["items"].as_array().unwrap().iter().map(|s| s["product_id"].as_str().unwrap().to_owned()));
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        assert_eq!(ids.len(), 28, "every standard product of the demo catalog");
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert!(!ids.contains(&"walnut-dining-table".to_owned()));
    })
    .await;
}

#[tokio::test]
async fn the_client_reserves_commits_and_reports_conflicts() {
    on_each_backend(|backend| async move {
        let app = InventoryApp::start(backend).await;
        let inventory = InventoryClient::new(&peer(&app.served.url), Duration::from_secs(2));
        let product = ProductId::parse("marble-side-table").unwrap();
        let request = |reference: &str| ReserveRequest {
            reference: reference.into(),
            lines: vec![ReservationLine { product_id: product.clone(), quantity: 1 }],
            ttl_secs: 120,
        };
        let held = inventory.reserve(&request("order-1")).await.unwrap();
        assert_eq!(held.status, ReservationStatus::Held);
        assert_eq!(held.expires_at - held.created_at, time::Duration::seconds(120));
        assert_eq!(inventory.reserve(&request("order-1")).await.unwrap(), held, "retries are safe");
        match inventory.reserve(&request("order-2")).await {
            Err(Error::Conflict { detail }) => assert!(detail.contains("0 available"), "{detail}"),
            other => panic!("expected a conflict, got {other:?}"),
        }
        let stock = inventory.stock(&product).await.unwrap().unwrap();
        assert_eq!((stock.on_hand, stock.reserved, stock.available), (1, 1, 0));
        assert_eq!(inventory.stock(&ProductId::parse("walnut-dining-table").unwrap()).await.unwrap(), None);

        let committed = inventory.commit(&held.id).await.unwrap();
        assert_eq!(committed.status, ReservationStatus::Committed);
        assert_eq!(inventory.commit(&held.id).await.unwrap(), committed);
        assert!(matches!(inventory.release(&held.id).await, Err(Error::Conflict { .. })));
        assert_eq!(inventory.reservation(&held.id).await.unwrap(), Some(committed));
        let unknown = business_services::inventory::domain::ReservationId::generate();
        assert_eq!(inventory.reservation(&unknown).await.unwrap(), None);
        assert!(matches!(inventory.commit(&unknown).await, Err(Error::NotFound { .. })));
        assert_eq!(app.stock("marble-side-table").await, (0, 0, 0));
    })
    .await;
}

#[tokio::test]
async fn the_openapi_document_lists_every_route() {
    let app = InventoryApp::start(Backend::Sqlite).await;
    let document = json(client().get(app.url("/openapi.json")).send().await.unwrap(), StatusCode::OK).await;
    let paths: Vec<&str> = document["paths"].as_object().unwrap().keys().map(String::as_str).collect();
    for (path, method) in [
        ("/v1/stock", "get"),
        ("/v1/stock/{product_id}", "get"),
        ("/v1/stock/{product_id}/movements", "post"),
        ("/v1/reservations", "post"),
        ("/v1/reservations/{id}", "get"),
        ("/v1/reservations/{id}/commit", "post"),
        ("/v1/reservations/{id}/release", "post"),
    ] {
        assert!(document["paths"][path][method].is_object(), "{method} {path} missing from {paths:?}");
    }
    assert_eq!(paths.len(), 7);
    let delta = &document["components"]["schemas"]["MovementRequest"]["properties"]["delta"];
    let max = business_services::inventory::domain::MAX_DELTA;
    assert_eq!((delta["minimum"].as_i64(), delta["maximum"].as_i64()), (Some(-max), Some(max)), "{delta}");
}
