//! The business systems this binary can run, and how each is wired to its store and peers.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use business_services::accounting::client::AccountingClient;
use business_services::broker::BrokerService;
use business_services::broker::pubsub::{PubSubAuth, PubSubPublisher};
use business_services::broker::queue::{Publisher, Queue, Subscription};
use business_services::broker::relay::Relay;
use business_services::cart::CartService;
use business_services::checkout::{CheckoutService, PeerUrls};
use business_services::fraud::signing::HmacSigner;
use business_services::inventory::InventoryService;
use business_services::oms::OmsService;
use business_services::platform::clock::{Clock, SystemClock};
use business_services::platform::db::Db;
use business_services::platform::http::serve;
use business_services::{
    accounting, broker, cart, catalog, checkout, crm, currency, fraud, furniture, inventory, oms, payment, warehouse,
};
use sqlx::migrate::Migrator;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::Config;

/// A business system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum System {
    /// Products, categories, prices.
    Catalog,
    /// Currencies and conversion.
    Currency,
    /// Shopping carts.
    Cart,
    /// Stock ledger and reservations.
    Inventory,
    /// Customers, loyalty, notes and tickets.
    Crm,
    /// The card payment gateway.
    Payment,
    /// The furniture logistics ERP.
    Furniture,
    /// The fraud engine.
    Fraud,
    /// The order saga.
    Checkout,
    /// The event broker.
    Broker,
    /// Order management.
    Oms,
    /// Shipments and tracking.
    Warehouse,
    /// The double-entry ledger.
    Accounting,
    /// The read-only MCP server over the others.
    Mcp,
    /// The customer-service agent, delegating to the Investigator through the MCP server.
    Concierge,
    /// The storefront, the chat widget and the CRM dashboard.
    Web,
}

impl System {
    /// Every system, in start order: a system starts after the peers it calls.
    pub const ALL: &'static [System] = &[
        System::Catalog,
        System::Currency,
        System::Cart,
        System::Inventory,
        System::Crm,
        System::Payment,
        System::Furniture,
        System::Fraud,
        System::Checkout,
        System::Broker,
        System::Oms,
        System::Warehouse,
        System::Accounting,
        System::Mcp,
        System::Concierge,
        System::Web,
    ];

    /// The name used on the command line, in configuration and as the PostgreSQL schema.
    pub fn name(self) -> &'static str {
        match self {
            System::Catalog => "catalog",
            System::Currency => "currency",
            System::Cart => "cart",
            System::Inventory => "inventory",
            System::Crm => "crm",
            System::Payment => "payment",
            System::Furniture => "furniture",
            System::Fraud => "fraud",
            System::Checkout => "checkout",
            System::Broker => "broker",
            System::Oms => "oms",
            System::Warehouse => "warehouse",
            System::Accounting => "accounting",
            System::Mcp => "mcp",
            System::Concierge => "concierge",
            System::Web => "web",
        }
    }

    /// The port it listens on unless configured otherwise: the web on 8080 (Online Boutique's
    /// frontend port), the others from 8081 on, in start order.
    pub fn default_port(self) -> u16 {
        if self == System::Web {
            return 8080;
        }
        let index = System::ALL.iter().position(|system| *system == self).unwrap_or_default();
        8081 + u16::try_from(index).unwrap_or_default()
    }

    /// The system called `name`.
    pub fn parse(name: &str) -> Option<System> {
        System::ALL.iter().copied().find(|system| system.name() == name)
    }

    /// All names, for error messages.
    pub fn names() -> String {
        System::ALL.iter().map(|s| s.name()).collect::<Vec<_>>().join(", ")
    }

    /// Its store's migrations; `None` for the MCP server, which keeps no SQL store.
    fn migrator(self) -> Option<&'static Migrator> {
        Some(match self {
            System::Catalog => &catalog::MIGRATOR,
            System::Currency => &currency::MIGRATOR,
            System::Cart => &cart::MIGRATOR,
            System::Inventory => &inventory::MIGRATOR,
            System::Crm => &crm::MIGRATOR,
            System::Payment => &payment::MIGRATOR,
            System::Furniture => &furniture::MIGRATOR,
            System::Fraud => &fraud::MIGRATOR,
            System::Checkout => &checkout::MIGRATOR,
            System::Broker => &broker::MIGRATOR,
            System::Oms => &oms::MIGRATOR,
            System::Warehouse => &warehouse::MIGRATOR,
            System::Accounting => &accounting::MIGRATOR,
            System::Concierge => &concierge::MIGRATOR,
            System::Web => &web_widget::server::MIGRATOR,
            System::Mcp => return None,
        })
    }
}

impl fmt::Display for System {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// Opens (creating and migrating as needed) the store of each of `systems`.
pub async fn open_stores(config: &Config, systems: &[System]) -> anyhow::Result<BTreeMap<System, Db>> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("could not create the data directory {}", config.data_dir.display()))?;
    // The systems on PostgreSQL share the process's connection budget; SQLite files are apart.
    let on_postgres =
        |system: &System| system.migrator().is_some() && config.database_url(*system).starts_with("postgres");
    let sharing = u32::try_from(systems.iter().filter(|system| on_postgres(system)).count()).unwrap_or(u32::MAX);
    let share = (config.database_connections / sharing.max(1)).max(2);
    let mut stores = BTreeMap::new();
    for &system in systems {
        let Some(migrator) = system.migrator() else { continue };
        let pool = on_postgres(&system).then_some(share);
        let db = Db::open_with_pool(&config.database_url(system), system.name(), migrator, pool)
            .await
            .with_context(|| format!("{system}: the store could not be opened"))?;
        stores.insert(system, db);
    }
    Ok(stores)
}

/// Background work of a system (sweepers, recovery), run until shutdown.
type BoxedTask = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

/// Systems running in this process, and the tasks serving them.
pub struct Running {
    /// Each system's address.
    pub addresses: Vec<(System, SocketAddr)>,
    tasks: JoinSet<anyhow::Result<()>>,
    stores: BTreeMap<System, Db>,
}

impl Running {
    /// Waits until every server has stopped (after shutdown), then closes the stores.
    pub async fn finish(mut self) -> anyhow::Result<()> {
        let mut outcome = Ok(());
        while let Some(result) = self.tasks.join_next().await {
            if let Err(error) = result.map_err(anyhow::Error::from).and_then(|served| served) {
                outcome = Err(error);
            }
        }
        for db in self.stores.values() {
            db.close().await;
        }
        outcome
    }
}

/// Starts `systems`: opens their stores, seeds demo data if configured, binds their ports,
/// and serves them until `shutdown` is cancelled.
pub async fn start(config: &Config, systems: &[System], shutdown: &CancellationToken) -> anyhow::Result<Running> {
    if systems.contains(&System::Fraud)
        && systems.contains(&System::Checkout)
        && config.fraud.callers.get(&config.checkout.fraud_key_id) != Some(&config.checkout.fraud_secret)
    {
        anyhow::bail!(
            "configuration key `checkout.fraud_secret`: the fraud engine must know the checkout's signing key: \
             set fraud.callers.{} to the same secret",
            config.checkout.fraud_key_id
        );
    }
    let stores = open_stores(config, systems).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    if config.demo_data {
        seed(config, &stores, clock.now()).await?;
    }
    // Bind every port first, so peers in this process are wired to the real addresses
    // (ports configured as 0 are only known after binding).
    let mut listeners = Vec::new();
    for &system in systems {
        let address = SocketAddr::new(config.host, config.port(system));
        let listener = TcpListener::bind(address).await.with_context(|| {
            format!("{system}: could not listen on {address}; set {}_PORT to a free port", system.name().to_uppercase())
        })?;
        listeners.push((system, listener));
    }
    let local: BTreeMap<System, SocketAddr> = listeners
        .iter()
        .map(|(system, listener)| Ok((*system, listener.local_addr()?)))
        .collect::<std::io::Result<_>>()?;
    let peer_url = |peer: System| peer_url(config, &local, peer);

    let mut tasks = JoinSet::new();
    let mut background = |task: BoxedTask| {
        tasks.spawn(async move {
            task.await;
            Ok(())
        });
    };
    // Publishers in this process hand their outbox straight to the local broker.
    let broker = match systems.contains(&System::Broker) {
        true => {
            let signer = HmacSigner::new(&config.broker.signing_key_id, &config.broker.signing_secret, clock.clone());
            let service =
                BrokerService::new(&stores[&System::Broker], &config.broker, clock.clone(), Some(Arc::new(signer)));
            for subscription in default_subscriptions(config, &local) {
                service.queue().subscribe(&subscription).await.context("broker: subscribing the consumers failed")?;
            }
            Some(service)
        }
        false => None,
    };
    // Publishers hand their outbox to the broker: in this process directly, else through the
    // broker's Pub/Sub-compatible publish call.
    let publisher: Arc<dyn Publisher> = match &broker {
        Some(broker) => Arc::new(broker.queue().clone()),
        None => Arc::new(
            PubSubPublisher::new(&peer_url(System::Broker), "boutique", PubSubAuth::None, Duration::from_secs(5))
                .await?,
        ),
    };
    let relay_outbox = |name: &'static str, db: &Db| -> BoxedTask {
        Box::pin(Relay::new(db.clone(), publisher.clone(), clock.clone()).run(name, shutdown.clone()))
    };
    let mut routers = Vec::new();
    for (system, listener) in listeners {
        let faults = config.faults(system);
        let router: Router = match (system, stores.get(&system)) {
            (System::Mcp, _) => {
                let server = crate::mcp::server(config, peer_url).await?;
                let every = Duration::from_secs(config.mcp.resync_secs);
                background(Box::pin(server.indexer().clone().run(every, shutdown.clone())));
                server.router(shutdown.clone())
            }
            (_, None) => anyhow::bail!("{system}: its store was not opened"),
            (System::Concierge, Some(db)) => {
                let peers = concierge_peers(peer_url);
                let key = crate::mcp::token_key(config)?;
                let built = concierge::build(&config.concierge, db, &peers, key.clone(), Default::default()).await;
                let agent = built.map_err(|why| anyhow::anyhow!("configuration key `{why}`"))?;
                concierge::router(agent, key)
            }
            (System::Web, Some(db)) => {
                let key = crate::mcp::token_key(config)?;
                background(Box::pin(web_widget::server::run_session_sweeper(
                    config.web.clone(),
                    db.clone(),
                    shutdown.clone(),
                )));
                web_widget::server::router(&config.web, db, &web_peers(peer_url), key)
            }
            (System::Catalog, Some(db)) => catalog::service(db, &faults),
            (System::Currency, Some(db)) => currency::service(db, &faults),
            (System::Cart, Some(db)) => {
                let service = CartService::new(db, &peer_url(System::Catalog), &config.cart, clock.clone());
                background(Box::pin(service.clone().run_sweeper(shutdown.clone())));
                service.router(db, &faults)
            }
            (System::Inventory, Some(db)) => {
                let service = InventoryService::new(db, &config.inventory, clock.clone());
                background(Box::pin(service.clone().run_sweeper(shutdown.clone())));
                service.router(db, &faults)
            }
            (System::Crm, Some(db)) => crm::service(db, &faults, clock.clone()),
            (System::Payment, Some(db)) => payment::service(db, &faults, clock.clone()),
            (System::Furniture, Some(db)) => furniture::service(db, &faults, &config.furniture, clock.clone()),
            (System::Fraud, Some(db)) => fraud::service(db, &faults, &config.fraud, clock.clone()),
            (System::Checkout, Some(db)) => {
                let urls = PeerUrls {
                    cart: peer_url(System::Cart),
                    catalog: peer_url(System::Catalog),
                    currency: peer_url(System::Currency),
                    inventory: peer_url(System::Inventory),
                    crm: peer_url(System::Crm),
                    payment: peer_url(System::Payment),
                    furniture: peer_url(System::Furniture),
                    fraud: peer_url(System::Fraud),
                };
                let service = CheckoutService::new(db, &urls, &config.checkout, clock.clone());
                background(Box::pin(service.clone().run_recovery(shutdown.clone())));
                background(relay_outbox("relay the checkout outbox", db));
                service.router(db, &faults)
            }
            (System::Broker, Some(db)) => {
                let broker = broker.clone().context("the broker service is created with the broker")?;
                background(Box::pin(broker.clone().run(shutdown.clone())));
                broker.router(db, &faults)
            }
            (System::Oms, Some(db)) => {
                let deadline = Duration::from_millis(config.oms.peer_deadline_ms.into());
                let ledger = Arc::new(AccountingClient::new(&peer_url(System::Accounting), deadline));
                OmsService::new(db, &peer_url(System::Warehouse), ledger, &config.oms, clock.clone())
                    .router(db, &faults)
            }
            (System::Warehouse, Some(db)) => {
                background(relay_outbox("relay the warehouse outbox", db));
                warehouse::service(db, &faults, clock.clone())
            }
            (System::Accounting, Some(db)) => accounting::service(db, &faults, clock.clone()),
        };
        routers.push((system, listener, router));
    }
    let mut addresses = Vec::new();
    for (system, listener, router) in routers {
        addresses.push((system, local[&system]));
        let shutdown = shutdown.clone();
        tasks.spawn(async move {
            serve(listener, router, shutdown).await.with_context(|| format!("{system}: the server failed"))
        });
    }
    Ok(Running { addresses, tasks, stores })
}

/// The push subscriptions of the consumers: order management follows orders and shipments;
/// the CRM (loyalty points) and the fraud engine (velocity) follow orders; the MCP server's
/// indexer follows both to keep order timelines searchable.
fn default_subscriptions(config: &Config, local: &BTreeMap<System, SocketAddr>) -> Vec<Subscription> {
    let subscription = |name: &str, topic: &str, system: System, path: &str| Subscription {
        name: name.to_owned(),
        topic: topic.to_owned(),
        endpoint: format!("{}{path}", peer_url(config, local, system)),
        max_attempts: config.broker.max_attempts,
    };
    vec![
        subscription("oms-orders", "orders", System::Oms, "/v1/events/orders"),
        subscription("oms-shipments", "shipments", System::Oms, "/v1/events/shipments"),
        subscription("crm-orders", "orders", System::Crm, "/v1/events/orders"),
        subscription("fraud-orders", "orders", System::Fraud, "/v1/events/orders"),
        subscription("mcp-orders", "orders", System::Mcp, "/v1/events/orders"),
        subscription("mcp-shipments", "shipments", System::Mcp, "/v1/events/shipments"),
    ]
}

/// Where `system` is reached from another process: its configured URL, else its address.
pub fn url_of(config: &Config, system: System) -> String {
    peer_url(config, &BTreeMap::new(), system)
}

/// A Concierge of its own, beside the systems at `config`'s URLs: built from `settings` with
/// `models`, keeping its conversations in `<data_dir>/<store>.db`, serving on a free local port
/// until the process ends. Returns its base URL. `boutique chat --provider` and the evals run one.
pub async fn serve_concierge(
    config: &Config,
    settings: &concierge::ConciergeSettings,
    models: concierge::ModelOverrides,
    store: &str,
) -> anyhow::Result<String> {
    let key = crate::mcp::token_key(config)?;
    let db = Db::open(&Db::sqlite_url(&config.data_dir, store), store, &concierge::MIGRATOR).await?;
    let peers = concierge_peers(|system| url_of(config, system));
    let agent = concierge::build(settings, &db, &peers, key.clone(), models)
        .await
        .map_err(|why| anyhow::anyhow!("configuration key `{why}`"))?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(axum::serve(listener, concierge::router(agent, key)).into_future());
    Ok(base)
}

/// The Concierge's peers, each where `url_of` says.
pub fn concierge_peers(url_of: impl Fn(System) -> String) -> concierge::Peers {
    concierge::Peers {
        mcp: format!("{}/mcp", url_of(System::Mcp)),
        catalog: url_of(System::Catalog),
        cart: url_of(System::Cart),
        crm: url_of(System::Crm),
    }
}

/// The web's peers, each where `url_of` says.
fn web_peers(url_of: impl Fn(System) -> String) -> web_widget::server::PeerUrls {
    web_widget::server::PeerUrls {
        catalog: url_of(System::Catalog),
        currency: url_of(System::Currency),
        cart: url_of(System::Cart),
        checkout: url_of(System::Checkout),
        crm: url_of(System::Crm),
        mcp: format!("{}/mcp", url_of(System::Mcp)),
        concierge: url_of(System::Concierge),
    }
}

/// Where `peer` is reached: its configured URL, else this process if it runs here, else its
/// default address.
fn peer_url(config: &Config, local: &BTreeMap<System, SocketAddr>, peer: System) -> String {
    if let Some(url) = config.deployment(peer).url {
        return url;
    }
    let address = match local.get(&peer) {
        Some(address) => *address,
        None => SocketAddr::new(config.host, config.port(peer)),
    };
    // A wildcard listen address is not one to connect to.
    let host = if address.ip().is_unspecified() { IpAddr::V4(Ipv4Addr::LOCALHOST) } else { address.ip() };
    format!("http://{}", SocketAddr::new(host, address.port()))
}

async fn seed(config: &Config, stores: &BTreeMap<System, Db>, now: time::OffsetDateTime) -> anyhow::Result<()> {
    for (system, db) in stores {
        let added = match system {
            System::Catalog => catalog::seed_demo_data(db).await,
            System::Currency => currency::seed_demo_data(db, now).await,
            System::Inventory => inventory::seed_demo_data(db, now).await,
            System::Crm => crm::seed_demo_data(db, now).await,
            System::Web => web_widget::server::seed_demo_accounts(db, config.web.password_iterations)
                .await
                .map_err(business_services::platform::Error::from),
            _ => Ok(0),
        }
        .with_context(|| format!("{system}: loading demo data failed"))?;
        if added > 0 {
            tracing::info!(%system, added, "Loaded demo data.");
        }
    }
    Ok(())
}

/// The data directory as shown to the user.
pub fn shown_path(path: &Path) -> String {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()).display().to_string()
}
