//! The cart service over HTTP.

use reqwest::StatusCode;
use serde_json::{Value, json as body};

use crate::harness::{CartApp, on_each_backend};
use crate::http::{assert_problem, client, json};

impl CartApp {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.served.url)
    }

    async fn add(&self, cart: &str, product: &str, quantity: u32) -> reqwest::Response {
        client()
            .post(self.url(&format!("/v1/carts/{cart}/items")))
            .json(&body!({"product_id": product, "quantity": quantity}))
            .send()
            .await
            .unwrap()
    }

    async fn cart(&self, cart: &str) -> Value {
        json(client().get(self.url(&format!("/v1/carts/{cart}"))).send().await.unwrap(), StatusCode::OK).await
    }

    async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(self.store.db.pool())
            .await
            .unwrap()
    }
}

fn lines(cart: &Value) -> Vec<(String, u64)> {
    cart["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| (item["product_id"].as_str().unwrap().to_owned(), item["quantity"].as_u64().unwrap()))
        .collect()
}

fn line(product: &str, quantity: u64) -> (String, u64) {
    (product.to_owned(), quantity)
}

#[tokio::test]
async fn add_set_remove_and_empty() {
    on_each_backend(|backend| async move {
        let app = CartApp::start(backend).await;
        assert_eq!(lines(&app.cart("session-1").await), vec![]);

        json(app.add("session-1", "oak-bookcase", 1).await, StatusCode::OK).await;
        json(app.add("session-1", "velvet-cushion", 2).await, StatusCode::OK).await;
        let cart = json(app.add("session-1", "oak-bookcase", 2).await, StatusCode::OK).await;
        assert_eq!(lines(&cart), vec![line("oak-bookcase", 3), line("velvet-cushion", 2)]);
        assert_eq!(cart["item_count"], 5);
        assert!(cart["expires_at"].as_str().is_some());

        let set = client()
            .put(app.url("/v1/carts/session-1/items/velvet-cushion"))
            .json(&body!({"quantity": 7}))
            .send()
            .await
            .unwrap();
        assert_eq!(lines(&json(set, StatusCode::OK).await), vec![line("oak-bookcase", 3), line("velvet-cushion", 7)]);

        let zero = client()
            .put(app.url("/v1/carts/session-1/items/oak-bookcase"))
            .json(&body!({"quantity": 0}))
            .send()
            .await
            .unwrap();
        assert_eq!(lines(&json(zero, StatusCode::OK).await), vec![line("velvet-cushion", 7)]);

        let removed = client().delete(app.url("/v1/carts/session-1/items/velvet-cushion")).send().await.unwrap();
        assert_eq!(lines(&json(removed, StatusCode::OK).await), vec![]);

        json(app.add("session-1", "cast-iron-skillet", 1).await, StatusCode::OK).await;
        let emptied = client().delete(app.url("/v1/carts/session-1")).send().await.unwrap();
        assert_eq!(emptied.status(), StatusCode::NO_CONTENT);
        let cart = app.cart("session-1").await;
        assert_eq!((lines(&cart), cart["item_count"].as_u64()), (vec![], Some(0)));
        assert!(cart["expires_at"].is_null());

        assert_eq!(lines(&app.cart("session-2").await), vec![], "carts are separate");
    })
    .await;
}

#[tokio::test]
async fn bad_input_names_the_field_and_writes_nothing() {
    on_each_backend(|backend| async move {
        let app = CartApp::start(backend).await;
        let post = |cart: &str, raw: &str, content_type: &str| {
            client()
                .post(app.url(&format!("/v1/carts/{cart}/items")))
                .header("content-type", content_type)
                .body(raw.to_owned())
                .send()
        };
        let json_type = "application/json";
        let cases = [
            ("s", r#"{"product_id": "no-such-product", "quantity": 1}"#, "product_id"),
            ("s", r#"{"product_id": "Oak Bookcase", "quantity": 1}"#, "product_id"),
            ("s", r#"{"product_id": "oak-bookcase", "quantity": 0}"#, "quantity"),
            ("s", r#"{"product_id": "oak-bookcase", "quantity": 100}"#, "quantity"),
            ("s", r#"{"product_id": "oak-bookcase", "quantity": -1}"#, "quantity"),
            ("s", r#"{"product_id": "oak-bookcase", "quantity": "two"}"#, "quantity"),
            ("s", r#"{"product_id": "oak-bookcase"}"#, "quantity"),
            ("s", r#"{"product_id": "oak-bookcase", "quantity": 1, "colour": "red"}"#, "colour"),
            ("bad%20cart", r#"{"product_id": "oak-bookcase", "quantity": 1}"#, "cart_id"),
        ];
        for (cart, raw, field) in cases {
            assert_problem(post(cart, raw, json_type).await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY, Some(field))
                .await;
        }
        assert_problem(post("s", "{not json", json_type).await.unwrap(), StatusCode::BAD_REQUEST, None).await;
        assert_problem(
            post("s", r#"{"product_id": "oak-bookcase", "quantity": 1}"#, "text/plain").await.unwrap(),
            StatusCode::BAD_REQUEST,
            None,
        )
        .await;
        assert_eq!((app.count("carts").await, app.count("cart_items").await), (0, 0), "nothing was written");

        // Past the per-product limit: refused, and the line keeps its quantity.
        json(app.add("s", "oak-bookcase", 98).await, StatusCode::OK).await;
        assert_problem(app.add("s", "oak-bookcase", 2).await, StatusCode::UNPROCESSABLE_ENTITY, Some("quantity")).await;
        assert_eq!(lines(&app.cart("s").await), vec![line("oak-bookcase", 98)]);
    })
    .await;
}

#[tokio::test]
async fn concurrent_updates_of_one_cart_all_count() {
    on_each_backend(|backend| async move {
        let app = CartApp::start(backend).await;
        let adds = (0..40).map(|i| {
            let product = if i % 2 == 0 { "oak-bookcase" } else { "velvet-cushion" };
            app.add("shared", product, 1)
        });
        for response in futures_util::future::join_all(adds).await {
            assert_eq!(response.status(), StatusCode::OK);
        }
        let cart = app.cart("shared").await;
        assert_eq!(lines(&cart), vec![line("oak-bookcase", 20), line("velvet-cushion", 20)]);

        // Racing past the limit: exactly the adds that fit succeed.
        json(app.add("limit", "cast-iron-skillet", 95).await, StatusCode::OK).await;
        let racing = futures_util::future::join_all((0..10).map(|_| app.add("limit", "cast-iron-skillet", 1))).await;
        let accepted = racing.iter().filter(|r| r.status() == StatusCode::OK).count();
        let refused = racing.iter().filter(|r| r.status() == StatusCode::UNPROCESSABLE_ENTITY).count();
        assert_eq!((accepted, refused), (4, 6));
        assert_eq!(lines(&app.cart("limit").await), vec![line("cast-iron-skillet", 99)]);
    })
    .await;
}

#[tokio::test]
async fn an_idempotency_key_adds_once() {
    on_each_backend(|backend| async move {
        let app = CartApp::start(backend).await;
        let add_with_key = |key: &'static str, quantity: u32| {
            client()
                .post(app.url("/v1/carts/k/items"))
                .header("idempotency-key", key)
                .json(&body!({"product_id": "linen-duvet-cover", "quantity": quantity}))
                .send()
        };
        let first = add_with_key("key-1", 2).await.unwrap();
        assert!(first.headers().get("idempotent-replayed").is_none());
        let first = json(first, StatusCode::OK).await;
        let again = add_with_key("key-1", 2).await.unwrap();
        assert_eq!(again.headers()["idempotent-replayed"], "true");
        assert_eq!(json(again, StatusCode::OK).await, first, "same key, same answer");
        assert_eq!(lines(&app.cart("k").await), vec![line("linen-duvet-cover", 2)]);

        let storm = futures_util::future::join_all((0..20).map(|_| add_with_key("key-2", 1))).await;
        assert!(storm.iter().all(|r| r.as_ref().is_ok_and(|r| r.status() == StatusCode::OK)));
        assert_eq!(lines(&app.cart("k").await), vec![line("linen-duvet-cover", 3)], "20 concurrent retries add once");

        let reused = add_with_key("key-1", 5).await.unwrap();
        assert_problem(reused, StatusCode::UNPROCESSABLE_ENTITY, Some("Idempotency-Key")).await;
        let blank = client()
            .post(app.url("/v1/carts/k/items"))
            .header("idempotency-key", "")
            .json(&body!({"product_id": "linen-duvet-cover", "quantity": 1}))
            .send()
            .await
            .unwrap();
        assert_problem(blank, StatusCode::UNPROCESSABLE_ENTITY, Some("Idempotency-Key")).await;
        assert_eq!(lines(&app.cart("k").await), vec![line("linen-duvet-cover", 3)]);
    })
    .await;
}

#[tokio::test]
async fn abandoned_carts_expire_and_are_swept() {
    on_each_backend(|backend| async move {
        let app = CartApp::start(backend).await;
        json(app.add("old", "wool-check-throw", 1).await, StatusCode::OK).await;
        app.clock.advance(time::Duration::days(6));
        json(app.add("recent", "wool-check-throw", 1).await, StatusCode::OK).await;
        assert_eq!(lines(&app.cart("old").await), vec![line("wool-check-throw", 1)], "not abandoned yet");

        app.clock.advance(time::Duration::days(1) + time::Duration::seconds(1));
        assert_eq!(lines(&app.cart("old").await), vec![], "abandoned after 7 days untouched");
        assert_eq!(lines(&app.cart("recent").await), vec![line("wool-check-throw", 1)]);

        // A new add to an abandoned cart starts afresh: old lines never come back.
        json(app.add("old", "velvet-cushion", 1).await, StatusCode::OK).await;
        assert_eq!(lines(&app.cart("old").await), vec![line("velvet-cushion", 1)]);

        app.clock.advance(time::Duration::days(8));
        assert_eq!(app.count("carts").await, 2);
        assert_eq!(app.service.sweep().await.unwrap(), 2);
        assert_eq!((app.count("carts").await, app.count("cart_items").await), (0, 0));
    })
    .await;
}

#[tokio::test]
async fn merging_a_guest_cart_adds_up_and_caps() {
    on_each_backend(|backend| async move {
        let app = CartApp::start(backend).await;
        json(app.add("guest", "oak-bookcase", 60).await, StatusCode::OK).await;
        json(app.add("guest", "velvet-cushion", 1).await, StatusCode::OK).await;
        json(app.add("customer-7", "oak-bookcase", 50).await, StatusCode::OK).await;
        let merge = |from: &str| {
            client().post(app.url("/v1/carts/customer-7/merge")).json(&body!({"from_cart_id": from})).send()
        };
        let merged = json(merge("guest").await.unwrap(), StatusCode::OK).await;
        assert_eq!(lines(&merged), vec![line("oak-bookcase", 99), line("velvet-cushion", 1)]);
        assert_eq!(lines(&app.cart("guest").await), vec![], "the guest cart is gone");
        assert_problem(merge("customer-7").await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY, Some("from_cart_id"))
            .await;
    })
    .await;
}

#[tokio::test]
async fn a_catalog_outage_is_a_503_naming_it_and_writes_nothing() {
    on_each_backend(|backend| async move {
        let app = CartApp::start(backend).await;
        app.catalog.served.stop();
        // Wait until the catalog's listener is gone (it stops accepting at once).
        let problem =
            assert_problem(app.add("s", "oak-bookcase", 1).await, StatusCode::SERVICE_UNAVAILABLE, None).await;
        assert!(problem["detail"].as_str().unwrap().starts_with("catalog is unavailable"), "{problem}");
        assert_eq!(app.count("carts").await, 0);
        let ready = json(client().get(app.url("/readyz")).send().await.unwrap(), StatusCode::SERVICE_UNAVAILABLE).await;
        assert_eq!(ready["checks"][1]["name"], "catalog");
    })
    .await;
}
