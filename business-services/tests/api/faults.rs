//! Fault injection and its admin endpoint, on one system (the mechanism is shared by all).

use business_services::platform::faults::{FaultRule, FaultSettings, Faults};
use business_services::platform::testing::Backend;
use reqwest::StatusCode;
use serde_json::json;

use crate::harness::CatalogApp;
use crate::http::{assert_problem, client, json, plain};

const TOKEN: &str = "admin-token-for-tests";

#[tokio::test]
async fn configured_faults_fail_matching_routes_only() {
    let failing_products = FaultSettings {
        rules: vec![FaultRule { path: Some("/v1/products/*".into()), error_rate: 1.0, ..FaultRule::default() }],
    };
    let app = CatalogApp::with_faults(Backend::Sqlite, &Faults::new(failing_products, None)).await;
    let base = &app.served.url;
    let failed = client().get(format!("{base}/v1/products/oak-bookcase")).send().await.unwrap();
    let problem = assert_problem(failed, StatusCode::SERVICE_UNAVAILABLE, None).await;
    assert!(problem["detail"].as_str().unwrap().contains("injected fault"));
    json(client().get(format!("{base}/v1/products")).send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(client().get(format!("{base}/healthz")).send().await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn the_admin_endpoint_changes_faults_at_run_time_behind_its_token() {
    let faults = Faults::new(FaultSettings::default(), Some(&TOKEN.into()));
    let app = CatalogApp::with_faults(Backend::Sqlite, &faults).await;
    let url = format!("{}/admin/faults", app.served.url);
    let fail_everything = json!({"rules": [{"error_rate": 1.0}]});

    let anonymous = plain().put(&url).json(&fail_everything).send().await.unwrap();
    assert_eq!(anonymous.headers()["www-authenticate"], "Bearer");
    assert_problem(anonymous, StatusCode::UNAUTHORIZED, None).await;
    let wrong = plain().put(&url).bearer_auth("wrong-token-wrong-token").json(&fail_everything).send().await.unwrap();
    assert_problem(wrong, StatusCode::UNAUTHORIZED, None).await;
    let invalid =
        plain().put(&url).bearer_auth(TOKEN).json(&json!({"rules": [{"error_rate": 2}]})).send().await.unwrap();
    assert_problem(invalid, StatusCode::UNPROCESSABLE_ENTITY, Some("rules[0].error_rate")).await;

    let set = plain().put(&url).bearer_auth(TOKEN).json(&fail_everything).send().await.unwrap();
    assert_eq!(json(set, StatusCode::OK).await, json!({"rules": [{"latency_ms": 0, "error_rate": 1.0}]}));
    let products = client().get(format!("{}/v1/products", app.served.url)).send().await.unwrap();
    assert_eq!(products.status(), StatusCode::SERVICE_UNAVAILABLE);
    let shown = plain().get(&url).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(json(shown, StatusCode::OK).await["rules"][0]["error_rate"], 1.0);

    plain().put(&url).bearer_auth(TOKEN).json(&json!({"rules": []})).send().await.unwrap();
    json(client().get(format!("{}/v1/products", app.served.url)).send().await.unwrap(), StatusCode::OK).await;
}

#[tokio::test]
async fn without_a_token_the_admin_endpoint_is_closed() {
    let app = CatalogApp::start(Backend::Sqlite).await;
    let url = format!("{}/admin/faults", app.served.url);
    let response = plain().get(&url).bearer_auth("any-token-at-all").send().await.unwrap();
    let problem = assert_problem(response, StatusCode::FORBIDDEN, None).await;
    assert!(problem["detail"].as_str().unwrap().contains("BOUTIQUE_ADMIN_TOKEN"));
    // No credential at all is a 401, closed or not: it says what to send.
    let response = plain().get(&url).send().await.unwrap();
    assert_problem(response, StatusCode::UNAUTHORIZED, None).await;
}
