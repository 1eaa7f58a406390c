//! The systems this binary composes from the agent and web crates: the read-only MCP server,
//! the Concierge and the web. Each describes itself like a business system; they share the MCP
//! token key, which the process provides as an extension ([`TokenKey`]).

use std::time::Duration;

use business_services::contracts::{order, shipment};
use business_services::platform::db::Db;
use business_services::platform::events::BoxFuture;
use business_services::platform::identity::Credentials;
use business_services::platform::identity::access::Access;
use business_services::platform::system::{self, BuildError, Built, Consumes, Context, Descriptor, SeedResult, System};
use mcp_contract::token::TokenKey;
use mcp_server::McpServer;
use mcp_server::backoffice::SystemUrls;
use serde_json::Value;
use time::OffsetDateTime;

/// The token key every one of these systems needs.
fn token_key(context: &Context<'_>) -> Result<TokenKey, BuildError> {
    context
        .extension::<TokenKey>()
        .ok_or_else(|| format!("{}: the process provides no MCP token key", context.name).into())
}

/// The read-only MCP server over the back-office systems.
#[derive(Debug, Clone, Copy, Default)]
pub struct Mcp;

static MCP: Descriptor = Descriptor {
    name: "mcp",
    summary: "The read-only MCP server over the others.",
    default_port: 8094,
    migrator: None,
    peers: &["crm", "checkout", "oms", "warehouse", "fraud", "payment", "catalog", "inventory", "mcp"],
    publishes: &[],
    consumes: &[
        Consumes { subscription: "mcp-orders", topic: order::TOPIC, path: mcp_server::http::ORDER_EVENTS_PATH },
        Consumes {
            subscription: "mcp-shipments",
            topic: shipment::TOPIC,
            path: mcp_server::http::SHIPMENT_EVENTS_PATH,
        },
    ],
    access: Access::Own,
};

impl System for Mcp {
    fn descriptor(&self) -> &'static Descriptor {
        &MCP
    }

    fn check_settings(&self, settings: &Value) -> Result<(), business_services::platform::FieldError> {
        system::parse_settings::<mcp_server::settings::Settings>(settings).map(|_| ())
    }

    fn build<'a>(&'a self, context: Context<'a>) -> BoxFuture<'a, Result<Built, BuildError>> {
        Box::pin(async move {
            let settings: mcp_server::settings::Settings = context.settings()?;
            let urls = mcp_peers(|name| context.peer(name).map(|peer| peer.url), context.credentials)?;
            // Its own public URL: its tokens' audience.
            let resource = format!("{}/mcp", context.peer("mcp")?.url);
            let server = McpServer::build(&settings, &urls, context.data_dir, &resource, token_key(&context)?).await?;
            let every = Duration::from_secs(settings.resync_secs);
            let indexer = server.indexer().clone().run(every, context.shutdown.clone());
            Ok(Built::router(server.router(context.shutdown.clone())).with_task(indexer))
        })
    }
}

/// The MCP server's peers, each where `url_of` says, called with `credentials`.
pub fn mcp_peers<E>(url_of: impl Fn(&str) -> Result<String, E>, credentials: &Credentials) -> Result<SystemUrls, E> {
    Ok(SystemUrls {
        crm: url_of("crm")?,
        checkout: url_of("checkout")?,
        oms: url_of("oms")?,
        warehouse: url_of("warehouse")?,
        fraud: url_of("fraud")?,
        payment: url_of("payment")?,
        catalog: url_of("catalog")?,
        inventory: url_of("inventory")?,
        credentials: credentials.clone(),
    })
}

/// The customer-service agent, delegating to the Investigator through the MCP server.
#[derive(Debug, Clone, Copy, Default)]
pub struct Concierge;

static CONCIERGE: Descriptor = Descriptor {
    name: "concierge",
    summary: "The customer-service agent, delegating to the Investigator through the MCP server.",
    default_port: 8095,
    migrator: Some(&concierge::MIGRATOR),
    peers: &["mcp", "catalog", "cart", "crm"],
    publishes: &[],
    consumes: &[],
    access: Access::Own,
};

impl System for Concierge {
    fn descriptor(&self) -> &'static Descriptor {
        &CONCIERGE
    }

    fn build<'a>(&'a self, context: Context<'a>) -> BoxFuture<'a, Result<Built, BuildError>> {
        Box::pin(async move {
            let settings: concierge::ConciergeSettings = context.settings()?;
            let peers = concierge_peers(|name| context.peer(name).map(|peer| peer.url), context.credentials)?;
            let key = token_key(&context)?;
            let agent = concierge::build(&settings, context.db()?, &peers, key.clone(), Default::default())
                .await
                .map_err(|why| format!("configuration key `{why}`"))?;
            Ok(Built::router(concierge::router(agent, key)))
        })
    }
}

/// The Concierge's peers, each where `url_of` says, called with `credentials`.
pub fn concierge_peers<E>(
    url_of: impl Fn(&str) -> Result<String, E>,
    credentials: &Credentials,
) -> Result<concierge::Peers, E> {
    Ok(concierge::Peers {
        mcp: format!("{}/mcp", url_of("mcp")?),
        catalog: url_of("catalog")?,
        cart: url_of("cart")?,
        crm: url_of("crm")?,
        credentials: credentials.clone(),
    })
}

/// The storefront, the chat widget and the CRM dashboard.
#[derive(Debug, Clone, Copy, Default)]
pub struct Web;

static WEB: Descriptor = Descriptor {
    name: "web",
    summary: "The storefront, the chat widget and the CRM dashboard.",
    // Online Boutique's frontend port.
    default_port: 8080,
    migrator: Some(&web_widget::server::MIGRATOR),
    peers: &["catalog", "currency", "cart", "checkout", "crm", "mcp", "concierge"],
    publishes: &[],
    consumes: &[],
    access: Access::Own,
};

impl System for Web {
    fn descriptor(&self) -> &'static Descriptor {
        &WEB
    }

    fn check_settings(&self, settings: &Value) -> Result<(), business_services::platform::FieldError> {
        system::parse_settings::<web_widget::server::WebSettings>(settings).map(|_| ())
    }

    fn seed<'a>(&'a self, db: &'a Db, settings: &'a Value, _now: OffsetDateTime) -> BoxFuture<'a, SeedResult> {
        Box::pin(async move {
            let settings: web_widget::server::WebSettings = system::parse_settings(settings)?;
            Ok(web_widget::server::seed_demo_accounts(db, settings.password_iterations).await?)
        })
    }

    fn build<'a>(&'a self, context: Context<'a>) -> BoxFuture<'a, Result<Built, BuildError>> {
        Box::pin(async move {
            let settings: web_widget::server::WebSettings = context.settings()?;
            let db = context.db()?;
            let peer = |name: &str| context.peer(name).map(|peer| peer.url);
            let urls = web_widget::server::PeerUrls {
                catalog: peer("catalog")?,
                currency: peer("currency")?,
                cart: peer("cart")?,
                checkout: peer("checkout")?,
                crm: peer("crm")?,
                mcp: format!("{}/mcp", peer("mcp")?),
                concierge: peer("concierge")?,
                credentials: context.credentials.clone(),
            };
            let router = web_widget::server::router(&settings, db, &urls, token_key(&context)?);
            let sweeper = web_widget::server::run_session_sweeper(settings, db.clone(), context.shutdown.clone());
            Ok(Built::router(router).with_task(sweeper))
        })
    }
}
