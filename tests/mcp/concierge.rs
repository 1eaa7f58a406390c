//! The Concierge over its HTTP API with the offline model, against live data: each core intent
//! is answered with the facts the MCP server holds for the signed-in customer.

use std::time::Duration;

use boutique::registry::System;
use mcp_contract::token::{Grant, Role, unix_now};
use serde_json::{Value, json};

use crate::harness::{ALICE, BOB, Store, call, connect, ok};

/// A session token for `subject` in `role`, serving `customer`.
pub fn session(store: &Store, subject: &str, role: Role, customer: Option<&str>) -> String {
    let grant =
        Grant { subject: subject.into(), role, customer: customer.map(str::to_owned), ttl: Duration::from_secs(600) };
    boutique::mcp::token_key(&store.config).unwrap().mint(&grant, concierge::session::AUDIENCE, unix_now()).unwrap()
}

/// Opens a conversation; returns its id.
pub async fn open(base: &str, token: &str, body: Value) -> String {
    let response = reqwest::Client::new()
        .post(format!("{base}/v1/conversations"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201, "{}", response.text().await.unwrap());
    response.json::<Value>().await.unwrap()["conversation_id"].as_str().unwrap().to_owned()
}

/// Sends `text`; returns the reply and the turn's events.
pub async fn ask(base: &str, token: &str, conversation: &str, text: &str) -> (String, Vec<Value>) {
    let response = reqwest::Client::new()
        .post(format!("{base}/v1/conversations/{conversation}/messages"))
        .bearer_auth(token)
        .json(&json!({ "text": text }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200, "{}", response.text().await.unwrap());
    let body: Value = response.json().await.unwrap();
    (body["reply"].as_str().unwrap_or_default().to_owned(), body["events"].as_array().unwrap().clone())
}

/// The tools a turn ran.
pub fn tools_run(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter(|event| event["type"] == "tool")
        .map(|event| event["name"].as_str().unwrap().to_owned())
        .collect()
}

/// Words for an order state, as the offline model says them.
fn said(state: &str) -> &str {
    match state {
        "confirmed" => "confirmed",
        "allocated" => "allocated",
        "picking" => "picked",
        "shipped" => "shipped",
        "delivered" => "delivered",
        other => other,
    }
}

#[tokio::test]
async fn each_core_intent_is_answered_from_live_data() {
    // Nine questions at once, of three or four MCP calls each: more than the default bursts allow.
    let store = Store::start(|config| {
        config.mcp.burst = 60;
        config.concierge.limits.burst = 20;
    })
    .await;
    let base = store.url(System::named("concierge")).to_owned();
    let token = session(&store, ALICE, Role::Customer, Some(ALICE));
    let conversation = open(&base, &token, json!({})).await;
    let order = store.orders[ALICE].clone();
    // The truth, read through the MCP server by a staff token for Alice's data.
    let mcp = connect(&store, &store.token("truth-agent", Role::Agent, Some(ALICE))).await;
    let timeline = ok(call(&mcp, "order_timeline", json!({ "order_id": order })).await);
    let state = timeline["state"].as_str().unwrap().to_owned();
    let loyalty = ok(call(&mcp, "loyalty_status", json!({})).await);
    let product = ok(call(&mcp, "product_lookup", json!({ "product_id": "organic-cotton-pocket-tee" })).await);
    let shipments = ok(call(&mcp, "shipment_tracking", json!({ "order_id": order })).await);

    let (reply, events) = ask(&base, &token, &conversation, "What's the status of my order?").await;
    assert_eq!(tools_run(&events), ["investigate"]);
    assert!(reply.contains(&order) && reply.contains(said(&state)), "{reply} / {state}");

    let (reply, _) = ask(&base, &token, &conversation, &format!("Where is my parcel for {order}?")).await;
    assert!(reply.contains(&order), "{reply}");
    for parcel in
        shipments["items"].as_array().unwrap().iter().flat_map(|shipment| shipment["parcels"].as_array().unwrap())
    {
        assert!(reply.contains(parcel["tracking_number"].as_str().unwrap()), "{reply} / {parcel}");
    }

    let (reply, _) = ask(&base, &token, &conversation, "When will my order arrive?").await;
    match state.as_str() {
        "shipped" => assert!(reply.contains("should arrive between"), "{reply}"),
        "delivered" => assert!(reply.contains("was delivered on"), "{reply}"),
        _ => assert!(reply.contains("has not shipped yet"), "{reply}"),
    }

    let (reply, _) = ask(&base, &token, &conversation, "Can I return it?").await;
    match state.as_str() {
        "delivered" => assert!(reply.contains("can be returned until"), "{reply}"),
        "shipped" => assert!(reply.contains("Once it is delivered you can return it within 30 days"), "{reply}"),
        _ => assert!(reply.contains("can be cancelled instead"), "{reply}"),
    }

    let (reply, _) = ask(&base, &token, &conversation, "Did I get my refund?").await;
    assert!(reply.contains("There is no refund"), "{reply}");

    let (reply, _) = ask(&base, &token, &conversation, "How many loyalty points do I have?").await;
    let tier = loyalty["tier"].as_str().unwrap();
    assert!(reply.to_lowercase().contains(tier), "{reply} / {tier}");
    assert!(reply.contains(&format!("{} points", loyalty["points"])), "{reply} / {loyalty}");

    let (reply, _) = ask(&base, &token, &conversation, "Why is my order on hold?").await;
    assert!(reply.contains("is not on hold"), "{reply}");

    let (reply, events) = ask(&base, &token, &conversation, "Is the organic cotton pocket tee in stock?").await;
    assert_eq!(tools_run(&events), ["search_products", "investigate"]);
    assert!(reply.contains(product["name"].as_str().unwrap()), "{reply}");
    assert!(reply.contains(&product["availability"].as_str().unwrap().replace('_', " ")), "{reply} / {product}");

    let (reply, events) = ask(&base, &token, &conversation, "Write me a poem about the sea").await;
    assert!(tools_run(&events).is_empty() && reply.starts_with("Sorry, I can't help with that"), "{reply}");

    // Nothing of Bob's reached Alice.
    let shown: Value = reqwest::Client::new()
        .get(format!("{base}/v1/conversations/{conversation}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!shown.to_string().contains(&store.orders[BOB]) && !shown.to_string().contains(BOB));
    assert_eq!(shown["provider"], "offline:rules-1");
    assert_eq!(shown["prompts_hash"], concierge::prompts::Prompts::built_in().hash);
    assert_eq!(shown["messages"].as_array().unwrap().len(), 18, "nine questions, nine answers");

    // Delivered: the answers follow the carrier's scans, and the return window opens.
    store.advance_shipment(&order, "delivered", "Springfield depot", "Left with a neighbour").await;
    let timeline = ok(call(&mcp, "order_timeline", json!({ "order_id": order })).await);
    let delivered_on = &timeline["items"].as_array().unwrap().last().unwrap()["at"].as_str().unwrap()[..10];
    let (reply, _) = ask(&base, &token, &conversation, "When will my order arrive?").await;
    assert!(reply.contains(&format!("was delivered on {delivered_on}")), "{reply}");
    let (reply, _) = ask(&base, &token, &conversation, "Can I return it?").await;
    // The delivery day and the 30 after it.
    assert!(reply.contains("can be returned until") && reply.contains("(31 days left)"), "{reply}");
    let (reply, _) = ask(&base, &token, &conversation, &format!("Where is my parcel for {order}?")).await;
    assert!(reply.contains(&format!("Last carrier scan: delivered on {delivered_on}")), "{reply}");
    assert!(!reply.contains("neighbour"), "carrier-written text is not repeated: {reply}");

    // The cart the widget is beside.
    let cart = format!("widget-{}", uuid::Uuid::new_v4().simple());
    let added = reqwest::Client::new()
        .post(format!("{}/v1/carts/{cart}/items", store.url(System::named("cart"))))
        .bearer_auth(store.caller("web").token_for("cart"))
        .json(&json!({ "product_id": "cast-iron-skillet", "quantity": 3 }))
        .send()
        .await
        .unwrap();
    assert!(added.status().is_success());
    let beside = open(&base, &token, json!({ "cart_id": cart })).await;
    let (reply, events) = ask(&base, &token, &beside, "What's in my cart?").await;
    assert_eq!(tools_run(&events), ["view_cart"]);
    assert!(reply.contains("3 × Cast Iron Skillet"), "{reply}");
    let (reply, _) = ask(&base, &token, &conversation, "What's in my cart?").await;
    assert!(reply.starts_with("I can only see the cart of the storefront page"), "no cart beside it: {reply}");
    store.stop().await;
}

#[tokio::test]
async fn talking_to_a_human_opens_a_ticket_only_when_the_user_confirms() {
    let store = Store::start(|_| {}).await;
    let base = store.url(System::named("concierge")).to_owned();
    let token = session(&store, BOB, Role::Customer, Some(BOB));
    let conversation = open(&base, &token, json!({})).await;
    let http = reqwest::Client::new();
    let tickets = || async {
        store.read("crm", &format!("/v1/customers/{BOB}/tickets")).await["items"].as_array().unwrap().len()
    };
    let before = tickets().await;
    let confirm = format!("{base}/v1/conversations/{conversation}/handover");
    let early = http.post(&confirm).bearer_auth(&token).send().await.unwrap();
    assert_eq!(early.status().as_u16(), 409, "nothing to confirm yet");

    let (reply, events) = ask(&base, &token, &conversation, "I want to talk to a human please").await;
    assert!(events.iter().any(|event| event["type"] == "handover"), "{events:?}");
    assert!(reply.contains("Please confirm"), "{reply}");
    assert_eq!(tickets().await, before, "no ticket before the user confirms");

    let confirmed: Value = http.post(&confirm).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    let ticket_id = confirmed["ticket_id"].as_str().unwrap().to_owned();
    let again: Value = http.post(&confirm).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert_eq!(again["ticket_id"], ticket_id.as_str(), "confirming twice opens one ticket");
    assert_eq!(tickets().await, before + 1);
    let ticket = store.read("crm", &format!("/v1/tickets/{ticket_id}")).await;
    assert!(ticket.to_string().contains("talk to a human"), "the transcript travels with it: {ticket}");
    store.stop().await;
}

#[tokio::test]
async fn answers_stream_as_server_sent_events_and_sessions_are_enforced() {
    let store = Store::start(|_| {}).await;
    let base = store.url(System::named("concierge")).to_owned();
    let alice = session(&store, ALICE, Role::Customer, Some(ALICE));
    let bob = session(&store, BOB, Role::Customer, Some(BOB));
    let conversation = open(&base, &alice, json!({})).await;
    let http = reqwest::Client::new();
    let url = format!("{base}/v1/conversations/{conversation}/messages");

    let response = http
        .post(&url)
        .bearer_auth(&alice)
        .header("accept", "text/event-stream")
        .json(&json!({ "text": "How many points do I have?" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut body = String::new();
    let mut response = response;
    while let Some(bytes) = response.chunk().await.unwrap() {
        body.push_str(&String::from_utf8_lossy(&bytes));
    }
    let kinds: Vec<&str> = body.lines().filter_map(|line| line.strip_prefix("event: ")).collect();
    assert_eq!(kinds.first(), Some(&"tool"));
    assert!(kinds.iter().filter(|kind| **kind == "text").count() > 3, "the answer comes in pieces: {kinds:?}");
    assert_eq!(kinds.last(), Some(&"done"));

    let status = |response: reqwest::Response| response.status().as_u16();
    let unsigned = http.post(&url).json(&json!({ "text": "hi" })).send().await.unwrap();
    assert_eq!(status(unsigned), 401);
    let not_theirs = http.post(&url).bearer_auth(&bob).json(&json!({ "text": "hi" })).send().await.unwrap();
    assert_eq!(status(not_theirs), 404, "another session's conversation does not exist for Bob");
    let mcp_token = store.customer_token(ALICE);
    let wrong_audience = http.post(&url).bearer_auth(&mcp_token).json(&json!({ "text": "hi" })).send().await.unwrap();
    assert_eq!(status(wrong_audience), 401, "an MCP capability token is not a session");
    let choose = http
        .post(format!("{base}/v1/conversations"))
        .bearer_auth(&alice)
        .json(&json!({ "customer_id": BOB }))
        .send()
        .await
        .unwrap();
    assert_eq!(status(choose), 422, "customers cannot choose whose data to read");
    let long = http.post(&url).bearer_auth(&alice).json(&json!({ "text": "x".repeat(5000) })).send().await.unwrap();
    assert_eq!(status(long), 422);
    store.stop().await;
}

#[tokio::test]
async fn a_held_order_is_explained_without_the_fraud_score() {
    // Every first purchase over one cent counts as large, and any score is held for review.
    let store = Store::start(|config| {
        config.fraud.review_at = 1;
        config.fraud.block_at = 100;
        config.fraud.large_first_purchase.insert("USD".into(), 1);
    })
    .await;
    let base = store.url(System::named("concierge")).to_owned();
    let token = session(&store, ALICE, Role::Customer, Some(ALICE));
    let conversation = open(&base, &token, json!({})).await;
    let (reply, events) = ask(&base, &token, &conversation, "Why is my order on hold?").await;
    assert_eq!(tools_run(&events), ["investigate"]);
    let order = &store.orders[ALICE];
    assert!(reply.contains(&format!("Your order {order} is on hold for a routine security review")), "{reply}");
    assert!(!reply.contains("score") && !reply.contains("large"), "customers get no reasons: {reply}");
    store.stop().await;
}
