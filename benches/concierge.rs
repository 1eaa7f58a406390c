//! Our own overhead per delegated Concierge turn, run with `scripts/cargo bench --bench concierge`.
//!
//! Starts the whole store in this process (as `boutique up` does, with keyword-only search) and
//! a Concierge whose model is scripted, so model time is zero. Side by side, one after another:
//! - the floor: what an order-status investigation must read, by a plain MCP client (a session
//!   and the same three tool calls);
//! - a direct turn: the model answers at once (HTTP, session check, rate limit, conversation
//!   store);
//! - a delegated turn: the model calls `investigate`, the Investigator mints its token and reads
//!   through MCP, the model answers.
//!
//! The delegated turn less the floor is what the agent layer adds. Turns: `BENCH_TURNS`
//! (default 200).

use std::sync::Arc;
use std::time::{Duration, Instant};

use boutique::config::Config;
use boutique::registry::System;
use boutique::systems::{self};
use llm::scripted::{self, ScriptedModel};
use llm::{ChatRequest, Message};
use mcp_contract::token::{Grant, Role, TokenKey, unix_now};
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, ClientConfig};
use rmcp::transport::streamable_http_client::{StreamableHttpClientTransport, StreamableHttpClientTransportConfig};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

mod support;
use support::{env_number, ms, percentile};

/// The customer whose order every turn asks about.
const CUSTOMER: &str = "cus-1001";
/// What a user types for a turn the model answers without tools.
const DIRECT: &str = "hello";

/// The model: `investigate` for a question about the order, then (or at once, for [`DIRECT`]) a
/// short answer.
fn scripted_model() -> ScriptedModel {
    ScriptedModel::new("bench-scripted", |request: &ChatRequest| match request.messages.last() {
        Some(Message::User { text }) if text != DIRECT => {
            scripted::call("investigate", json!({ "topic": "order_status" }))
        }
        _ => scripted::text("Your order is on its way."),
    })
}

/// Latencies of `turns` runs of `run`, sorted.
async fn measure<F, Fut>(turns: usize, mut run: F) -> Vec<Duration>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut latencies = Vec::with_capacity(turns);
    for _ in 0..turns {
        let started = Instant::now();
        run().await;
        latencies.push(started.elapsed());
    }
    latencies.sort();
    latencies
}

struct Store {
    config: Config,
    shutdown: CancellationToken,
    running: systems::Running,
    _data: tempfile::TempDir,
}

impl Store {
    /// The whole store, with rate limits out of the way, and one order of [`CUSTOMER`]'s.
    async fn start() -> Store {
        let data = tempfile::tempdir().expect("temp dir");
        let mut config = Config::default().private_store(data.path());
        config.mcp.calls_per_minute = 1_000_000;
        config.mcp.burst = 1_000_000;
        let shutdown = CancellationToken::new();
        let running = systems::start(&config, System::all(), &shutdown).await.expect("the store starts");
        running.locate(&mut config);
        let store = Store { config, shutdown, running, _data: data };
        boutique::demo::place_order(
            &store.config.trust().expect("the store's keys").credentials("web"),
            &store.url(System::named("cart")),
            &store.url(System::named("checkout")),
            CUSTOMER,
            1,
        )
        .await
        .expect("an order");
        store
    }

    fn url(&self, system: System) -> String {
        self.config.url_of(system.name())
    }

    fn key(&self) -> TokenKey {
        boutique::mcp::token_key(&self.config).expect("the token key")
    }

    fn token(&self, audience: &str) -> String {
        let grant = Grant {
            subject: CUSTOMER.into(),
            role: Role::Customer,
            customer: Some(CUSTOMER.into()),
            ttl: Duration::from_secs(3600),
        };
        self.key().mint(&grant, audience, unix_now()).expect("a token")
    }

    /// A Concierge answering with the scripted model, on a free port; its base URL.
    async fn concierge(&self) -> String {
        let mut settings = concierge::ConciergeSettings::default();
        settings.limits.messages_per_minute = 1_000_000;
        settings.limits.burst = 1_000_000;
        let models = concierge::ModelOverrides { concierge: Some(Arc::new(scripted_model())), investigator: None };
        systems::serve_concierge(&self.config, &settings, models, "bench-concierge").await.expect("the Concierge")
    }

    async fn stop(self) {
        self.shutdown.cancel();
        self.running.finish().await.expect("clean shutdown");
    }
}

/// What an order-status investigation reads, by a plain MCP client.
async fn floor(mcp_url: &str, token: &str) {
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(mcp_url.to_owned()).auth_header(token.to_owned()),
    );
    let client = ClientConfig::default().serve(transport).await.expect("an MCP session");
    let call = |tool: &str, arguments: Value| {
        let arguments = arguments.as_object().cloned().unwrap_or_default();
        client.call_tool(CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments))
    };
    let orders = call("list_orders", json!({ "limit": 20 })).await.expect("list_orders");
    let order_id = orders.structured_content.expect("orders")["items"][0]["order_id"].clone();
    call("order_lookup", json!({ "order_id": order_id })).await.expect("order_lookup");
    call("order_timeline", json!({ "order_id": order_id })).await.expect("order_timeline");
    client.cancel().await.expect("the session closes");
}

/// One turn in a fresh conversation (opened untimed by the caller).
async fn turn(http: &reqwest::Client, base: &str, session: &str, conversation: &str, text: &str) {
    let response = http
        .post(format!("{base}/v1/conversations/{conversation}/messages"))
        .bearer_auth(session)
        .json(&json!({ "text": text }))
        .send()
        .await
        .expect("the Concierge answers");
    assert!(response.status().is_success());
    let body: Value = response.json().await.expect("JSON");
    assert!(body["reply"].is_string(), "{body}");
}

async fn open(http: &reqwest::Client, base: &str, session: &str) -> String {
    let opened: Value = http
        .post(format!("{base}/v1/conversations"))
        .bearer_auth(session)
        .json(&json!({}))
        .send()
        .await
        .expect("the Concierge answers")
        .json()
        .await
        .expect("JSON");
    opened["conversation_id"].as_str().expect("an id").to_owned()
}

fn report(name: &str, latencies: &[Duration]) {
    println!(
        "{name:<16} p50 {:>7.2} ms  p95 {:>7.2} ms  p99 {:>7.2} ms",
        ms(percentile(latencies, 50.0)),
        ms(percentile(latencies, 95.0)),
        ms(percentile(latencies, 99.0)),
    );
}

#[tokio::main]
async fn main() {
    let turns = env_number("BENCH_TURNS", 200);
    let store = Store::start().await;
    let base = store.concierge().await;
    let http = reqwest::Client::new();
    let session = store.token(concierge::session::AUDIENCE);
    let mcp_url = format!("{}/mcp", store.url(System::named("mcp")));
    let mcp_token = store.token(&mcp_url);

    // Warm every path once.
    floor(&mcp_url, &mcp_token).await;
    let conversation = open(&http, &base, &session).await;
    turn(&http, &base, &session, &conversation, "where is my order?").await;

    println!("{turns} turns each, one at a time; model time is zero");
    let floor_latencies = measure(turns, || floor(&mcp_url, &mcp_token)).await;
    let mut conversations = Vec::with_capacity(turns * 2);
    for _ in 0..turns * 2 {
        conversations.push(open(&http, &base, &session).await);
    }
    let (direct_ids, delegated_ids) = conversations.split_at(turns);
    let mut direct_ids = direct_ids.iter();
    let direct = measure(turns, || turn(&http, &base, &session, direct_ids.next().expect("an id"), DIRECT)).await;
    let mut delegated_ids = delegated_ids.iter();
    let delegated = measure(turns, || {
        turn(&http, &base, &session, delegated_ids.next().expect("an id"), "what is the status of my order?")
    })
    .await;

    report("MCP floor", &floor_latencies);
    report("direct turn", &direct);
    report("delegated turn", &delegated);
    let (floor_p50, delegated_p50, direct_p50) =
        (percentile(&floor_latencies, 50.0), percentile(&delegated, 50.0), percentile(&direct, 50.0));
    println!(
        "overhead per delegated turn (p50): {:.2} ms over the MCP floor, {:.2}x the floor; a direct turn is {:.2}x the floor",
        ms(delegated_p50.saturating_sub(floor_p50)),
        delegated_p50.as_secs_f64() / floor_p50.as_secs_f64(),
        direct_p50.as_secs_f64() / floor_p50.as_secs_f64(),
    );
    store.stop().await;
}
