//! The catalog over HTTP.

use std::collections::BTreeSet;

use reqwest::StatusCode;

use crate::harness::{CatalogApp, on_each_backend};
use crate::http::{assert_problem, client, json};

#[tokio::test]
async fn pages_through_the_whole_seeded_catalog() {
    on_each_backend(|backend| async move {
        let app = CatalogApp::start(backend).await;
        let (mut ids, mut cursor, mut pages) = (Vec::new(), None::<String>, 0);
        loop {
            let mut url = format!("{}/v1/products?limit=7", app.served.url);
            if let Some(cursor) = &cursor {
                url.push_str(&format!("&cursor={cursor}"));
            }
            let page = json(client().get(url).send().await.unwrap(), StatusCode::OK).await;
            let items = page["items"].as_array().unwrap();
            assert!(items.len() <= 7);
            ids.extend(items.iter().map(|p| p["id"].as_str().unwrap().to_owned()));
            pages += 1;
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        assert_eq!(ids.len(), 36, "every seeded product once");
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "in id order, without repeats");
        assert_eq!(pages, 6);
    })
    .await;
}

#[tokio::test]
async fn filters_by_category_and_stock_class() {
    on_each_backend(|backend| async move {
        let app = CatalogApp::start(backend).await;
        let url = format!("{}/v1/products?category=furniture&stock_class=oversized&limit=100", app.served.url);
        let page = json(client().get(url).send().await.unwrap(), StatusCode::OK).await;
        let items = page["items"].as_array().unwrap();
        assert_eq!(items.len(), 8);
        for product in items {
            assert_eq!(product["stock_class"], "oversized");
            assert_eq!(product["categories"][0], "furniture");
            assert!(product["weight_grams"].as_u64().unwrap() >= 20_000, "{product}");
        }
        let kitchen = json(
            client().get(format!("{}/v1/products?category=kitchen", app.served.url)).send().await.unwrap(),
            StatusCode::OK,
        )
        .await;
        let kitchen = kitchen["items"].as_array().unwrap();
        assert!(!kitchen.is_empty());
        assert!(kitchen.iter().all(|p| p["categories"].as_array().unwrap().iter().any(|c| c == "kitchen")));
    })
    .await;
}

#[tokio::test]
async fn search_needs_every_keyword_and_takes_wildcards_literally() {
    on_each_backend(|backend| async move {
        let app = CatalogApp::start(backend).await;
        let search = |q: &str| {
            let url = format!("{}/v1/products?limit=100&q={}", app.served.url, q);
            async move {
                json(client().get(url).send().await.unwrap(), StatusCode::OK).await["items"].as_array().unwrap().clone()
            }
        };
        let walnut = search("WALNUT").await;
        assert!(walnut.len() >= 2);
        for product in &walnut {
            let text = format!("{} {}", product["name"], product["description"]).to_lowercase();
            assert!(text.contains("walnut"), "{product}");
        }
        let walnut_table = search("walnut%20dining").await;
        assert!(!walnut_table.is_empty() && walnut_table.len() < walnut.len());
        assert!(walnut_table.iter().any(|p| p["id"] == "walnut-dining-table"));
        let percent = search("%25").await;
        assert!(!percent.is_empty() && percent.len() < 36, "'%' is not a wildcard");
        assert!(
            percent
                .iter()
                .all(|p| p["description"].as_str().unwrap().contains('%') || p["name"].as_str().unwrap().contains('%'))
        );
        assert!(search("_").await.is_empty(), "'_' is not a wildcard (no product text holds one)");
        assert!(search("zebra-striped-unicorn").await.is_empty());
    })
    .await;
}

#[tokio::test]
async fn gets_products_pictures_and_categories() {
    on_each_backend(|backend| async move {
        let app = CatalogApp::start(backend).await;
        let base = &app.served.url;
        let product =
            json(client().get(format!("{base}/v1/products/oak-bookcase")).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(product["stock_class"], "oversized");
        assert_eq!(product["price"]["currency"], "USD");
        assert!(product["price"]["minor_units"].as_i64().unwrap() > 0);

        let picture = client().get(format!("{base}{}", product["picture_url"].as_str().unwrap())).send().await.unwrap();
        assert_eq!(picture.status(), StatusCode::OK);
        assert_eq!(picture.headers()["content-type"], "image/svg+xml");
        assert!(picture.headers()["content-security-policy"].to_str().unwrap().contains("default-src 'none'"));
        assert!(picture.text().await.unwrap().starts_with("<svg"));

        let categories =
            json(client().get(format!("{base}/v1/categories")).send().await.unwrap(), StatusCode::OK).await;
        let names: BTreeSet<&str> =
            categories["categories"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
        assert!(names.is_superset(&BTreeSet::from(["apparel", "home", "furniture"])));
        let furniture = categories["categories"].as_array().unwrap().iter().find(|c| c["name"] == "furniture").unwrap();
        assert_eq!(furniture["products"], 12);
    })
    .await;
}

#[tokio::test]
async fn bad_requests_name_the_field() {
    on_each_backend(|backend| async move {
        let app = CatalogApp::start(backend).await;
        let base = &app.served.url;
        let get = |path: String| async move { client().get(format!("{base}{path}")).send().await.unwrap() };
        assert_problem(get("/v1/products/no-such-thing".into()).await, StatusCode::NOT_FOUND, None).await;
        assert_problem(get("/v1/products/Not%20A%20Slug".into()).await, StatusCode::UNPROCESSABLE_ENTITY, Some("id"))
            .await;
        for (query, field) in [
            ("limit=0", "limit"),
            ("limit=101", "limit"),
            ("limit=ten", "limit"),
            ("stock_class=huge", "stock_class"),
            ("category=Bad%20Category", "category"),
            ("cursor=%25%25%25", "cursor"),
            ("colour=red", "colour"),
            ("q=a+b+c+d+e+f+g+h+i", "q"),
        ] {
            assert_problem(get(format!("/v1/products?{query}")).await, StatusCode::UNPROCESSABLE_ENTITY, Some(field))
                .await;
        }
        assert_problem(get("/v1/nothing-here".into()).await, StatusCode::NOT_FOUND, None).await;
    })
    .await;
}

#[tokio::test]
async fn serves_health_readiness_and_openapi() {
    on_each_backend(|backend| async move {
        let app = CatalogApp::start(backend).await;
        let base = &app.served.url;
        assert_eq!(client().get(format!("{base}/healthz")).send().await.unwrap().status(), StatusCode::OK);
        let ready = json(client().get(format!("{base}/readyz")).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(ready["ready"], true);
        let openapi = json(client().get(format!("{base}/openapi.json")).send().await.unwrap(), StatusCode::OK).await;
        for path in ["/v1/products", "/v1/products/{id}", "/v1/products/{id}/picture", "/v1/categories"] {
            assert!(openapi["paths"][path].is_object(), "{path} is documented");
        }
        assert!(openapi["components"]["schemas"]["Product"].is_object());

        app.store.db.close().await;
        let not_ready =
            json(client().get(format!("{base}/readyz")).send().await.unwrap(), StatusCode::SERVICE_UNAVAILABLE).await;
        assert_eq!(not_ready["checks"][0]["name"], "database");
        assert_eq!(not_ready["checks"][0]["ok"], false);
    })
    .await;
}
