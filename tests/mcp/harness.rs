//! The whole store in this process with two customers' orders placed, and MCP clients of it.

use std::collections::BTreeMap;
use std::time::Duration;

use boutique::config::Config;
use boutique::registry::System;
use boutique::systems;
use business_services::platform::identity::{Credentials, Trust};
use mcp_contract::token::{Grant, Role, unix_now};
use rmcp::RoleClient;
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, CallToolResult, ClientConfig};
use rmcp::service::RunningService;
use rmcp::transport::streamable_http_client::{StreamableHttpClientTransport, StreamableHttpClientTransportConfig};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// The customers who have orders.
pub const ALICE: &str = "cus-1001";
/// The other one.
pub const BOB: &str = "cus-1002";

/// The operator's admin token of every store the tests start.
pub const ADMIN_TOKEN: &str = "an-operator-token-for-the-mcp-tests";

/// A running store.
pub struct Store {
    /// Its configuration (data folder, MCP settings).
    pub config: Config,
    /// The store's keys and issuers, opened once.
    trust: Trust,
    urls: BTreeMap<System, String>,
    shutdown: CancellationToken,
    running: Option<systems::Running>,
    _data: tempfile::TempDir,
    /// One order of Alice's and one of Bob's.
    pub orders: BTreeMap<&'static str, String>,
}

impl Store {
    /// Starts every system on free ports with keyword-only search (unless `tune` says
    /// otherwise), and places an order for Alice and one for Bob.
    pub async fn start(tune: impl FnOnce(&mut Config)) -> Store {
        let data = tempfile::tempdir().unwrap();
        let mut config = Config::default().private_store(data.path());
        config.mcp.resync_secs = 3600;
        config.admin_token = Some(ADMIN_TOKEN.into());
        tune(&mut config);
        let shutdown = CancellationToken::new();
        let running = systems::start(&config, System::all(), &shutdown).await.unwrap();
        running.locate(&mut config);
        let urls = running
            .addresses
            .iter()
            .map(|(name, address)| (System::named(name), format!("http://{address}")))
            .collect();
        let trust = config.trust().expect("the store's keys");
        let mut store =
            Store { config, trust, urls, shutdown, running: Some(running), _data: data, orders: BTreeMap::new() };
        for customer in [ALICE, BOB] {
            let order = store.place_order(customer).await;
            store.orders.insert(customer, order);
        }
        store.wait_for_fulfilment().await;
        store
    }

    /// The base URL of `system`.
    pub fn url(&self, system: System) -> &str {
        &self.urls[&system]
    }

    /// The credentials of the system `caller`, from the store's keys: to call a system as it would.
    pub fn caller(&self, caller: &str) -> Credentials {
        self.trust.credentials(caller)
    }

    /// `path` of `system` as JSON, read as the MCP server reads it (its `mcp` identity).
    pub async fn read(&self, system: &str, path: &str) -> Value {
        let url = format!("{}{path}", self.url(System::named(system)));
        let token = self.caller("mcp").token_for(system);
        let response = reqwest::Client::new().get(&url).bearer_auth(token).send().await.unwrap();
        assert!(response.status().is_success(), "{url}: {}", response.status());
        response.json().await.unwrap()
    }

    /// The MCP endpoint.
    pub fn mcp_url(&self) -> String {
        format!("{}/mcp", self.url(System::named("mcp")))
    }

    /// A token for `subject` in `role` reading `customer`, valid for 10 minutes.
    pub fn token(&self, subject: &str, role: Role, customer: Option<&str>) -> String {
        let grant = Grant {
            subject: subject.into(),
            role,
            customer: customer.map(str::to_owned),
            ttl: Duration::from_secs(600),
        };
        boutique::mcp::token_key(&self.config).unwrap().mint(&grant, &self.mcp_url(), unix_now()).unwrap()
    }

    /// A customer's own token.
    pub fn customer_token(&self, customer: &str) -> String {
        self.token(customer, Role::Customer, Some(customer))
    }

    /// Places an order of two T-shirts for `customer`; returns its id.
    pub async fn place_order(&self, customer: &str) -> String {
        let cart = self.url(System::named("cart"));
        boutique::demo::place_order(&self.caller("web"), cart, self.url(System::named("checkout")), customer, 2)
            .await
            .unwrap()
    }

    /// Moves `order`'s shipment on through each warehouse status up to `to` (one of `picked`,
    /// `packed`, `shipped`, `delivered`), as carrier scans at `location` noting `note`, and waits
    /// until order management has followed.
    pub async fn advance_shipment(&self, order: &str, to: &str, location: &str, note: &str) {
        const ALONG: [&str; 5] = ["created", "picked", "packed", "shipped", "delivered"];
        let http = reqwest::Client::new();
        let warehouse = self.url(System::named("warehouse"));
        let shipments = self.read("warehouse", &format!("/v1/shipments?order_id={order}")).await;
        let shipment = &shipments["items"][0];
        let from = ALONG.iter().position(|status| shipment["status"] == *status).unwrap();
        let to_index = ALONG.iter().position(|status| *status == to).unwrap();
        for status in &ALONG[from + 1..=to_index] {
            let scan = json!({ "status": status, "location": location, "note": note });
            let url = format!("{warehouse}/v1/shipments/{}/events", shipment["id"].as_str().unwrap());
            // Carrier scans are an operator's writes.
            let response = http.post(url).bearer_auth(ADMIN_TOKEN).json(&scan).send().await.unwrap();
            assert!(response.status().is_success(), "{}", response.text().await.unwrap_or_default());
        }
        let state = match to {
            "picked" | "packed" => "picking",
            other => other,
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while std::time::Instant::now() < deadline {
            if self.read("oms", &format!("/v1/orders/{order}")).await["state"] == state {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("order management did not follow {order}'s shipment to {to}");
    }

    /// Waits until order management and the MCP indexer have both orders.
    async fn wait_for_fulfilment(&self) {
        let http = reqwest::Client::new();
        // A full index pass embeds every document first: allow for a slow debug build.
        let deadline = std::time::Instant::now() + Duration::from_secs(300);
        while std::time::Instant::now() < deadline {
            let mut known = 0;
            for order in self.orders.values() {
                let url = format!("{}/v1/orders/{order}", self.url(System::named("oms")));
                let read = http.get(url).bearer_auth(self.caller("mcp").token_for("oms")).send().await;
                known += usize::from(read.is_ok_and(|r| r.status().is_success()));
            }
            let status = get_json(format!("{}/v1/indexer", self.url(System::named("mcp")))).await;
            if known == self.orders.len() && status["pending_orders"] == 0 && status["last_full_pass"].is_i64() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("fulfilment or the indexer did not catch up with the orders");
    }

    /// Stops the store.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(running) = self.running.take() {
            running.finish().await.unwrap();
        }
    }
}

/// The JSON document at `url`.
pub async fn get_json(url: String) -> Value {
    reqwest::get(url).await.unwrap().json().await.unwrap()
}

/// An MCP session over Streamable HTTP.
pub type Session = RunningService<RoleClient, ClientConfig>;

/// Connects with `token`.
pub async fn connect(store: &Store, token: &str) -> Session {
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(store.mcp_url()).auth_header(token),
    );
    ClientConfig::default().serve(transport).await.unwrap()
}

/// Calls `tool` with `arguments` (an object).
pub async fn call(session: &Session, tool: &str, arguments: Value) -> CallToolResult {
    let arguments = arguments.as_object().cloned().unwrap_or_default();
    session.call_tool(CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments)).await.unwrap()
}

/// The structured answer of a successful call.
pub fn ok(result: CallToolResult) -> Value {
    assert_ne!(result.is_error, Some(true), "the call failed: {result:?}");
    result.structured_content.expect("structured content")
}

/// The text of a failed call.
pub fn refused(result: CallToolResult) -> String {
    assert_eq!(result.is_error, Some(true), "the call should have failed: {result:?}");
    result.content.iter().filter_map(|c| c.as_text().map(|t| t.text.clone())).collect::<Vec<_>>().join("\n")
}
