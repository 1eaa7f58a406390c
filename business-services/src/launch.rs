//! Starts any list of [`System`]s the same way, whoever asks (the binary, the tests, the
//! benchmarks): seeds their stores if asked, resolves their peers, builds them, creates the
//! consumers' subscriptions through the broker, relays the publishers' outboxes, and serves
//! each on its listener until shutdown.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::http::Extensions;
use axum::middleware;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::broker::pubsub::{PubSubAuth, PubSubPublisher};
use crate::broker::relay::Relay;
use crate::platform::audit::AuditTrail;
use crate::platform::clock::Clock;
use crate::platform::db::Db;
use crate::platform::events::Publisher;
use crate::platform::faults::Faults;
use crate::platform::http::serve;
use crate::platform::identity::access::{self, Access, Door, Grant};
use crate::platform::identity::operators::Operators;
use crate::platform::identity::{Credentials, Trust};
use crate::platform::system::{BuildError, Context, PushTarget, System};

/// The name publishers reach the broker by when it runs in another process.
const BROKER: &str = "broker";

/// A system to run in this process.
pub struct Local {
    /// What it is.
    pub system: &'static dyn System,
    /// Where it listens (bound already, so peers know its address before it is built).
    pub listener: TcpListener,
    /// Its migrated store, if it keeps one.
    pub db: Option<Db>,
    /// Its fault switch.
    pub faults: Faults,
    /// Its settings section (`null` for the defaults).
    pub settings: Value,
}

/// What to start, and how to reach what runs elsewhere.
pub struct Plan {
    /// Every system there is (the registry): consumers elsewhere get their subscriptions too.
    pub registry: Vec<&'static dyn System>,
    /// The systems to run here.
    pub local: Vec<Local>,
    /// Base URLs of systems by name: configured ones, and those of systems elsewhere. A local
    /// system without one is reached at its listener's address.
    pub urls: BTreeMap<&'static str, String>,
    /// The clock every system reads.
    pub clock: Arc<dyn Clock>,
    /// Services shared by type (the MCP token key, test hooks).
    pub extensions: Extensions,
    /// The folder of local state.
    pub data_dir: PathBuf,
    /// Load demo data into empty stores first.
    pub demo_data: bool,
    /// The keys its systems sign their calls with, and the issuers and people their doors trust.
    pub trust: Trust,
    /// Where the doors record people's writes.
    pub audit: AuditTrail,
}

/// Systems running in this process.
pub struct Launched {
    /// Each system's name and address.
    pub addresses: Vec<(&'static str, SocketAddr)>,
    /// Where each system is reached, local or not.
    pub urls: BTreeMap<&'static str, String>,
    tasks: JoinSet<Result<(), BuildError>>,
}

impl Launched {
    /// Waits until every server has stopped (after shutdown); the first failure, if any.
    pub async fn finish(mut self) -> Result<(), BuildError> {
        let mut outcome = Ok(());
        while let Some(result) = self.tasks.join_next().await {
            if let Err(error) = result.map_err(BuildError::from).and_then(|served| served) {
                outcome = Err(error);
            }
        }
        outcome
    }
}

/// Starts `plan`'s local systems, serving them until `shutdown` is cancelled.
pub async fn launch(plan: Plan, shutdown: &CancellationToken) -> Result<Launched, BuildError> {
    let Plan { registry, local, mut urls, clock, extensions, data_dir, demo_data, trust, audit } = plan;
    if demo_data {
        for unit in &local {
            let Some(db) = &unit.db else { continue };
            let name = unit.system.descriptor().name;
            let added = unit
                .system
                .seed(db, &unit.settings, clock.now())
                .await
                .map_err(|error| format!("{name}: loading demo data failed: {error}"))?;
            if added > 0 {
                tracing::info!(system = name, added, "Loaded demo data.");
            }
        }
    }
    for unit in &local {
        let address = reachable(unit.listener.local_addr()?);
        urls.entry(unit.system.descriptor().name).or_insert_with(|| format!("http://{address}"));
    }
    let consumers = consumers(&registry, &urls);

    let mut tasks = JoinSet::new();
    let mut servers = Vec::new();
    let mut local_publisher = None;
    for unit in &local {
        let system = unit.system;
        let peers = system
            .descriptor()
            .peers
            .iter()
            .filter_map(|peer| urls.get(peer).map(|url| (*peer, url.clone())))
            .collect::<BTreeMap<_, _>>();
        let credentials = trust.credentials(system.descriptor().name);
        let context = Context {
            name: system.descriptor().name,
            db: unit.db.as_ref(),
            settings: &unit.settings,
            faults: &unit.faults,
            clock: clock.clone(),
            shutdown,
            data_dir: &data_dir,
            extensions: &extensions,
            peers: &peers,
            credentials: &credentials,
            consumers: &consumers,
        };
        let built = system.build(context).await.map_err(|error| format!("{}: {error}", system.descriptor().name))?;
        let router = match system.descriptor().access {
            Access::Routes(grants) => built.router.route_layer(middleware::from_fn_with_state(
                door(&trust, system.descriptor().name, grants, &unit.faults, &audit)?,
                access::guard,
            )),
            Access::Own => built.router,
        };
        for task in built.tasks {
            tasks.spawn(async move {
                task.await;
                Ok(())
            });
        }
        local_publisher = local_publisher.or(built.publisher);
        servers.push(router);
    }

    let publishers: Vec<_> = local.iter().filter(|unit| !unit.system.descriptor().publishes.is_empty()).collect();
    let broker = match (local_publisher, urls.get(BROKER)) {
        (Some(publisher), _) => Some(Broker::Local(publisher)),
        (None, Some(url)) => Some(Broker::Remote(url)),
        (None, None) => None,
    };
    if let Some(broker) = broker {
        for unit in publishers {
            let publisher = match &broker {
                Broker::Local(publisher) => publisher.clone(),
                Broker::Remote(url) => remote_publisher(url, trust.credentials(unit.system.descriptor().name)).await?,
            };
            let db = unit
                .db
                .clone()
                .ok_or_else(|| format!("{}: publishes without a store", unit.system.descriptor().name))?;
            let relay = Relay::new(db, publisher, clock.clone());
            let what = format!("relay the {} outbox", unit.system.descriptor().name);
            let shutdown = shutdown.clone();
            tasks.spawn(async move {
                relay.run(&what, shutdown).await;
                Ok(())
            });
        }
    } else if !publishers.is_empty() {
        tracing::warn!("No broker is known: events stay in the publishers' outboxes until one is.");
    }

    let mut addresses = Vec::new();
    for (unit, router) in local.into_iter().zip(servers) {
        let name = unit.system.descriptor().name;
        addresses.push((name, unit.listener.local_addr()?));
        let shutdown = shutdown.clone();
        tasks.spawn(async move {
            serve(unit.listener, router, shutdown)
                .await
                .map_err(|error| format!("{name}: the server failed: {error}").into())
        });
    }
    Ok(Launched { addresses, urls, tasks })
}

/// Where publishers send: the broker's queue in this process, or its URL.
enum Broker<'a> {
    Local(Arc<dyn Publisher>),
    Remote(&'a String),
}

/// The door of `system`: `grants` checked against tokens the process trusts; its people's
/// routes opened by the operator accounts and the admin token of its fault switch, their writes
/// recorded in `audit`.
fn door(
    trust: &Trust,
    system: &'static str,
    grants: &'static [Grant],
    faults: &Faults,
    audit: &AuditTrail,
) -> Result<Door, BuildError> {
    let operators = Operators::new(faults.admin_token().clone(), &trust.operators)?;
    let door = Door::new(system, grants, Arc::new(trust.verifier(system))).opened_to(operators, audit.clone());
    Ok(match trust.admitted_everywhere {
        Some(caller) => door.admitting_everywhere(caller),
        None => door,
    })
}

/// The subscriptions of every consumer whose address is known.
fn consumers(registry: &[&'static dyn System], urls: &BTreeMap<&'static str, String>) -> Vec<PushTarget> {
    registry
        .iter()
        .filter_map(|system| {
            let descriptor = system.descriptor();
            Some((descriptor.name, descriptor.consumes, urls.get(descriptor.name)?))
        })
        .flat_map(|(name, consumes, url)| {
            consumes.iter().map(move |consumes| PushTarget {
                consumer: name.to_owned(),
                subscription: consumes.subscription.to_owned(),
                topic: consumes.topic.to_owned(),
                endpoint: format!("{url}{}", consumes.path),
            })
        })
        .collect()
}

/// The broker in another process, through its Pub/Sub-compatible publish call, called with
/// the publisher's `credentials`.
async fn remote_publisher(url: &str, credentials: Credentials) -> Result<Arc<dyn Publisher>, BuildError> {
    let auth = PubSubAuth::Service(credentials);
    Ok(Arc::new(PubSubPublisher::new(url, "boutique", auth, Duration::from_secs(5)).await?))
}

/// An address to connect to: a wildcard listen address is not one.
pub fn reachable(address: SocketAddr) -> SocketAddr {
    let host = if address.ip().is_unspecified() { IpAddr::V4(Ipv4Addr::LOCALHOST) } else { address.ip() };
    SocketAddr::new(host, address.port())
}
