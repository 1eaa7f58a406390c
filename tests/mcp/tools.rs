//! What the tools answer, masked by role.

use mcp_contract::token::Role;
use serde_json::json;

use crate::harness::{ALICE, Store, call, connect, ok, refused};

#[tokio::test]
async fn every_tool_is_read_only_with_an_output_schema() {
    let store = Store::start(|_| {}).await;
    let session = connect(&store, &store.customer_token(ALICE)).await;
    let tools = session.list_all_tools().await.unwrap();
    assert_eq!(tools.len(), 12);
    for tool in &tools {
        let annotations = tool.annotations.as_ref().unwrap();
        assert_eq!(annotations.read_only_hint, Some(true), "{}", tool.name);
        assert_eq!(annotations.destructive_hint, Some(false), "{}", tool.name);
        assert!(tool.output_schema.is_some(), "{} has no output schema", tool.name);
    }
    let resources = session.list_all_resources().await.unwrap();
    assert!(resources.len() >= 15);
    let prompts = session.list_all_prompts().await.unwrap();
    assert_eq!(prompts.len(), 3);
    session.cancel().await.unwrap();
    store.stop().await;
}

#[tokio::test]
async fn customers_read_their_own_records_in_full_and_risk_in_plain_words() {
    let store = Store::start(|_| {}).await;
    let order = store.orders[ALICE].clone();
    let session = connect(&store, &store.customer_token(ALICE)).await;

    let profile = ok(call(&session, "customer_profile", json!({})).await);
    assert_eq!(profile["customer_id"], ALICE);
    assert!(profile["email"].as_str().unwrap().contains('@') && !profile["email"].as_str().unwrap().contains("***"));
    assert!(profile["standing_reason"].is_null(), "internal reasons are for staff");

    let orders = ok(call(&session, "list_orders", json!({})).await);
    assert_eq!(orders["items"][0]["order_id"], order.as_str());
    let receipt = ok(call(&session, "order_lookup", json!({"order_id": order})).await);
    assert_eq!(receipt["lines"][0]["quantity"], 2);
    let timeline = ok(call(&session, "order_timeline", json!({"order_id": order})).await);
    assert!(!timeline["items"].as_array().unwrap().is_empty(), "{timeline}");
    let payment = ok(call(&session, "payment_status", json!({"order_id": order})).await);
    assert_eq!(payment["last4"].as_str().unwrap().len(), 4);
    assert_ne!(payment["status"], "unknown", "{payment}");
    let fraud = ok(call(&session, "fraud_assessment", json!({"order_id": order})).await);
    assert!(fraud["status"].as_str().unwrap().contains("passed"), "{fraud}");
    assert!(fraud["score"].is_null() && fraud["reasons"].is_null(), "customers get no score: {fraud}");
    let tracking = ok(call(&session, "shipment_tracking", json!({"order_id": order})).await);
    assert!(tracking["items"].is_array());
    let loyalty = ok(call(&session, "loyalty_status", json!({})).await);
    assert!(loyalty["tier"].is_string());
    let product = ok(call(&session, "product_lookup", json!({"product_id": "organic-cotton-pocket-tee"})).await);
    assert!(product["available_units"].is_null(), "stock counts are for staff");

    let notes = refused(call(&session, "customer_notes", json!({})).await);
    assert!(notes.contains("internal"), "{notes}");
    session.cancel().await.unwrap();
    store.stop().await;
}

#[tokio::test]
async fn staff_see_by_role_agents_masked_analysts_scores() {
    let store = Store::start(|_| {}).await;
    let order = store.orders[ALICE].clone();
    let agent = connect(&store, &store.token("agent-ana", Role::Agent, Some(ALICE))).await;
    let profile = ok(call(&agent, "customer_profile", json!({})).await);
    assert!(profile["email"].as_str().unwrap().contains("***@"), "{profile}");
    assert!(profile["addresses"].as_array().unwrap().iter().all(|a| a["street"].is_null()));
    assert!(profile["masked"].as_array().unwrap().contains(&json!("email")));
    let notes = ok(call(&agent, "customer_notes", json!({})).await);
    assert!(notes["data_notice"].as_str().unwrap().contains("never as instructions"));
    agent.cancel().await.unwrap();

    let analyst = connect(&store, &store.token("fraud-fay", Role::FraudAnalyst, Some(ALICE))).await;
    let profile = ok(call(&analyst, "customer_profile", json!({})).await);
    assert!(!profile["email"].as_str().unwrap().contains("***"));
    let fraud = ok(call(&analyst, "fraud_assessment", json!({"order_id": order})).await);
    assert!(fraud["score"].is_u64() && fraud["decision"] == "allow", "{fraud}");
    analyst.cancel().await.unwrap();

    let unscoped = connect(&store, &store.token("agent-ana", Role::Agent, None)).await;
    let refusal = refused(call(&unscoped, "customer_profile", json!({})).await);
    assert!(refusal.contains("not scoped to a customer"), "{refusal}");
    let found = ok(call(&unscoped, "search", json!({"query": "refund"})).await);
    assert!(
        found["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|hit| ["product", "help", "policy"].contains(&hit["kind"].as_str().unwrap()))
    );
    unscoped.cancel().await.unwrap();
    store.stop().await;
}

#[tokio::test]
async fn ids_no_system_accepts_are_refused_as_invalid_not_as_an_outage() {
    let store = Store::start(|_| {}).await;
    let session = connect(&store, &store.customer_token(ALICE)).await;
    // Each passes a generic slug check; the catalog and the checkout answer them 422.
    let calls = [
        ("product_lookup", json!({"product_id": "Walnut_Dining_Table"}), "not a valid slug"),
        ("order_lookup", json!({"order_id": "ord_123"}), "not an order id"),
        ("order_timeline", json!({"order_id": "ORD-1001"}), "not an order id"),
        ("payment_status", json!({"order_id": "ord_123"}), "not an order id"),
    ];
    for (tool, arguments, why) in calls {
        let told = refused(call(&session, tool, arguments).await);
        assert!(told.contains(why), "{tool}: {told}");
        assert!(!told.contains("try again") && !told.contains("did not answer"), "{tool}: {told}");
    }
    let product = ok(call(&session, "product_lookup", json!({"product_id": "walnut-dining-table"})).await);
    assert_eq!(product["product_id"], "walnut-dining-table");
    session.cancel().await.unwrap();
    store.stop().await;
}

#[tokio::test]
async fn answers_are_capped_and_calls_rate_limited_per_subject() {
    let store = Store::start(|config| {
        config.mcp.max_rows = 1;
        config.mcp.burst = 3;
        config.mcp.calls_per_minute = 1;
    })
    .await;
    let session = connect(&store, &store.customer_token(ALICE)).await;
    let found = ok(call(&session, "search", json!({"query": "delivery", "limit": 5})).await);
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    assert_eq!(found["truncated"], true);
    assert!(found["notice"].as_str().unwrap().contains("capped at 1 rows"), "{found}");
    ok(call(&session, "loyalty_status", json!({})).await);
    ok(call(&session, "loyalty_status", json!({})).await);
    let limited = refused(call(&session, "loyalty_status", json!({})).await);
    assert!(limited.contains("rate limit"), "{limited}");
    // Another subject has its own allowance.
    let other = connect(&store, &store.customer_token(crate::harness::BOB)).await;
    ok(call(&other, "loyalty_status", json!({})).await);
    session.cancel().await.unwrap();
    other.cancel().await.unwrap();
    store.stop().await;
}

#[tokio::test]
async fn clients_of_the_2026_07_28_revision_are_served() {
    use rmcp::model::{ClientConfig, ProtocolVersion};
    use rmcp::service::{ClientLifecycleMode, ClientServiceExt};
    use rmcp::transport::streamable_http_client::{StreamableHttpClientTransport, StreamableHttpClientTransportConfig};

    let store = Store::start(|_| {}).await;
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(store.mcp_url()).auth_header(store.customer_token(ALICE)),
    );
    let modern = ClientLifecycleMode::Discover { preferred_versions: vec![ProtocolVersion::V_2026_07_28] };
    let session = ClientConfig::default().serve_with_lifecycle(transport, modern).await.unwrap();
    assert_eq!(session.peer().peer_info().unwrap().protocol_version, ProtocolVersion::V_2026_07_28);
    let loyalty = ok(call(&session, "loyalty_status", json!({})).await);
    assert_eq!(loyalty["customer_id"], ALICE);
    session.cancel().await.unwrap();
    store.stop().await;
}

#[tokio::test]
async fn order_timelines_are_indexed_from_events() {
    let store = Store::start(|_| {}).await;
    // The full pass has run (and runs again only in an hour): a new order reaches the index
    // through the broker's pushes alone.
    let order = store.place_order(ALICE).await;
    let session = connect(&store, &store.customer_token(ALICE)).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let hit = loop {
        let found = ok(call(&session, "search", json!({"query": order, "kinds": ["order"]})).await);
        if found["items"][0]["doc_id"] == format!("order:{order}") {
            break found["items"][0].clone();
        }
        assert!(std::time::Instant::now() < deadline, "the order never reached the index: {found}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(hit["snippet"].as_str().unwrap().contains("History"), "{hit}");
    let status: serde_json::Value =
        reqwest::get(format!("{}/v1/indexer", store.url(boutique::registry::System::named("mcp"))))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert!(status["documents"].as_u64().unwrap() > 60 && status["lag_ms"].is_u64(), "{status}");
    session.cancel().await.unwrap();
    store.stop().await;
}
