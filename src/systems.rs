//! How this binary starts systems: every one through the same
//! launcher, from its descriptor, with its store, port, settings and peers taken from the
//! configuration.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use axum::http::Extensions;
use business_services::launch::{self, Launched, Local, Plan};
use business_services::platform::audit::{self, AuditTrail};
use business_services::platform::clock::SystemClock;
use business_services::platform::db::Db;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::apps;
use crate::config::Config;
use crate::registry::System;

/// Opens (creating and migrating as needed) the store of each of `systems` that keeps one.
pub async fn open_stores(config: &Config, systems: &[System]) -> anyhow::Result<BTreeMap<System, Db>> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("could not create the data directory {}", config.data_dir.display()))?;
    let migrator = |system: &System| system.get().descriptor().migrator;
    // The systems on PostgreSQL share the process's connection budget; SQLite files are apart.
    let on_postgres =
        |system: &System| migrator(system).is_some() && config.database_url(system.name()).starts_with("postgres");
    let sharing = u32::try_from(systems.iter().filter(|system| on_postgres(system)).count()).unwrap_or(u32::MAX);
    let share = (config.database_connections / sharing.max(1)).max(2);
    let mut stores = BTreeMap::new();
    for &system in systems {
        let Some(migrator) = migrator(&system) else { continue };
        let pool = on_postgres(&system).then_some(share);
        let db = Db::open_with_pool(&config.database_url(system.name()), system.name(), migrator, pool)
            .await
            .with_context(|| format!("{system}: the store could not be opened"))?;
        stores.insert(system, db);
    }
    Ok(stores)
}

/// The audit trail of people's writes, in its own store.
pub async fn open_audit_trail(config: &Config) -> anyhow::Result<AuditTrail> {
    let url = config.audit_database_url();
    // A trail takes a write per person's write: two connections are plenty on a shared server.
    let pool = url.starts_with("postgres").then_some(2);
    let db = Db::open_with_pool(&url, audit::STORE, &audit::MIGRATOR, pool)
        .await
        .context("the audit trail's store could not be opened")?;
    Ok(AuditTrail::new(db, Arc::new(SystemClock)))
}

/// Systems running in this process.
pub struct Running {
    /// Each system's name and address.
    pub addresses: Vec<(&'static str, std::net::SocketAddr)>,
    launched: Launched,
    stores: BTreeMap<System, Db>,
    audit: AuditTrail,
}

impl Running {
    /// Points each running system's URL in `config` at the address it is served on, so that
    /// what is started next (a Concierge of its own, say) finds them.
    pub fn locate(&self, config: &mut Config) {
        for (name, address) in &self.addresses {
            config.systems.entry((*name).into()).or_default().url = Some(format!("http://{address}"));
        }
    }

    /// Waits until every server has stopped (after shutdown), then closes the stores.
    pub async fn finish(self) -> anyhow::Result<()> {
        let outcome = self.launched.finish().await.map_err(|error| anyhow::anyhow!(error));
        for db in self.stores.values() {
            db.close().await;
        }
        self.audit.close().await;
        outcome
    }
}

/// Starts `systems`: opens their stores, seeds demo data if configured, binds their ports,
/// and serves them until `shutdown` is cancelled.
pub async fn start(config: &Config, systems: &[System], shutdown: &CancellationToken) -> anyhow::Result<Running> {
    if systems.contains(&System::named("fraud"))
        && systems.contains(&System::named("checkout"))
        && config.fraud.callers.get(&config.checkout.fraud_key_id) != Some(&config.checkout.fraud_secret)
    {
        anyhow::bail!(
            "configuration key `checkout.fraud_secret`: the fraud engine must know the checkout's signing key: \
             set fraud.callers.{} to the same secret",
            config.checkout.fraud_key_id
        );
    }
    let stores = open_stores(config, systems).await?;
    let sections = config.sections();
    // Bind every port first, so peers in this process are wired to the real addresses
    // (ports configured as 0 are only known after binding).
    let mut local = Vec::new();
    for &system in systems {
        let address = std::net::SocketAddr::new(config.host, config.port(system.name()));
        let listener = TcpListener::bind(address).await.with_context(|| {
            format!("{system}: could not listen on {address}; set {}_PORT to a free port", system.name().to_uppercase())
        })?;
        local.push(Local {
            system: system.get(),
            listener,
            db: stores.get(&system).cloned(),
            faults: config.faults(system.name()),
            settings: sections.get(system.name()).cloned().unwrap_or_default(),
        });
    }
    let running_here = |name: &str| systems.iter().any(|system| system.name() == name);
    // Where the others are: their configured URL; and the configured URL of a local one wins
    // over its address.
    let urls = System::all()
        .iter()
        .filter_map(|system| {
            let configured = config.deployment(system.name()).url;
            let url = configured.or_else(|| (!running_here(system.name())).then(|| config.url_of(system.name())))?;
            Some((system.name(), url))
        })
        .collect();
    let mut extensions = Extensions::new();
    extensions.insert(crate::mcp::token_key(config)?);
    let audit = open_audit_trail(config).await?;
    let plan = Plan {
        registry: System::all().iter().map(|system| system.get()).collect(),
        local,
        urls,
        clock: Arc::new(SystemClock),
        extensions,
        data_dir: config.data_dir.clone(),
        demo_data: config.demo_data,
        trust: config.trust()?,
        audit: audit.clone(),
    };
    let launched = launch::launch(plan, shutdown).await.map_err(|error| anyhow::anyhow!(error))?;
    Ok(Running { addresses: launched.addresses.clone(), launched, stores, audit })
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
    let credentials = config.trust()?.credentials("concierge");
    let peers = apps::concierge_peers(|name| Ok::<_, std::convert::Infallible>(config.url_of(name)), &credentials)?;
    let agent = concierge::build(settings, &db, &peers, key.clone(), models)
        .await
        .map_err(|why| anyhow::anyhow!("configuration key `{why}`"))?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(axum::serve(listener, concierge::router(agent, key)).into_future());
    Ok(base)
}

/// The data directory as shown to the user.
pub fn shown_path(path: &Path) -> String {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()).display().to_string()
}
