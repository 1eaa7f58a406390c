//! One shape for every system. A [`System`] describes itself (name, default port, store,
//! settings, the peers it calls, the topics it publishes and consumes, demo data) and builds
//! itself from a [`Context`] into a router and its background tasks. The launcher
//! ([`crate::launch`]) starts any list of them the same way: the binary, the tests and the
//! benchmarks alike.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;

use axum::Router;
use axum::http::Extensions;
use serde::de::DeserializeOwned;
use serde_json::Value;
use sqlx::migrate::Migrator;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use super::client::Peer;
use super::clock::Clock;
use super::db::Db;
use super::error::FieldError;
use super::events::{BoxFuture, Publisher};
use super::faults::Faults;
use super::identity::Credentials;
use super::identity::access::Access;

/// Background work of a system (sweepers, recovery, pushers), run until shutdown.
pub type Task = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Why a system could not be built: a bad setting, a missing store or peer, a failed start.
pub type BuildError = Box<dyn std::error::Error + Send + Sync>;

/// What a system is: the facts the launcher, the configuration and the docs read.
#[derive(Debug)]
pub struct Descriptor {
    /// The name on the command line, in configuration, in environment variables
    /// (`<NAME>_URL`) and as the PostgreSQL schema.
    pub name: &'static str,
    /// What it does, in one line.
    pub summary: &'static str,
    /// The port it listens on unless configured otherwise.
    pub default_port: u16,
    /// Its store's migrations; `None` for a system that keeps no SQL store.
    pub migrator: Option<&'static Migrator>,
    /// The systems it calls, by name: [`Context::peer`] answers only for these.
    pub peers: &'static [&'static str],
    /// The topics its outbox publishes to; the launcher relays its outbox when there are any.
    pub publishes: &'static [&'static str],
    /// The topics it consumes, each pushed to one of its paths.
    pub consumes: &'static [Consumes],
    /// Who may call which of its routes.
    pub access: Access,
}

/// A business system, as the process that runs it sees it: its [`Descriptor`], and how it
/// checks its settings, seeds its store and builds itself.
pub trait System: Send + Sync + 'static {
    /// What it is.
    fn descriptor(&self) -> &'static Descriptor;

    /// Checks its settings section (`null` when the configuration has none); names the first
    /// bad field.
    fn check_settings(&self, _settings: &Value) -> Result<(), FieldError> {
        Ok(())
    }

    /// Loads demo data into its empty, migrated store; returns how many records were added.
    fn seed<'a>(&'a self, _db: &'a Db, _settings: &'a Value, _now: OffsetDateTime) -> BoxFuture<'a, SeedResult> {
        Box::pin(async { Ok(0) })
    }

    /// Builds its HTTP service and background tasks.
    fn build<'a>(&'a self, context: Context<'a>) -> BoxFuture<'a, Result<Built, BuildError>>;
}

/// What seeding returns: records added, or why it failed.
pub type SeedResult = Result<usize, BuildError>;

/// A push subscription a consumer declares: events on `topic` are POSTed to `path`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Consumes {
    /// The subscription's name, e.g. `oms-orders`.
    pub subscription: &'static str,
    /// The topic.
    pub topic: &'static str,
    /// The consumer's push path, a constant of its `api.rs`.
    pub path: &'static str,
}

/// A consumer's subscription with its endpoint resolved, handed to the broker to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushTarget {
    /// The consuming system: the audience of the broker's tokens.
    pub consumer: String,
    /// The subscription's name.
    pub subscription: String,
    /// The topic.
    pub topic: String,
    /// The URL events are POSTed to.
    pub endpoint: String,
}

/// What a built system hands the launcher.
pub struct Built {
    /// Its HTTP service.
    pub router: Router,
    /// Its background work.
    pub tasks: Vec<Task>,
    /// The queue it offers publishers in the same process (the broker's), instead of its
    /// HTTP publish call.
    pub publisher: Option<Arc<dyn Publisher>>,
}

impl Built {
    /// A system that is only its router.
    pub fn router(router: Router) -> Built {
        Built { router, tasks: Vec::new(), publisher: None }
    }

    /// The same with `task` running beside it.
    pub fn with_task(mut self, task: impl Future<Output = ()> + Send + 'static) -> Built {
        self.tasks.push(Box::pin(task));
        self
    }
}

/// Everything a system is built from.
pub struct Context<'a> {
    /// The system being built.
    pub name: &'static str,
    /// Its migrated store, if it keeps one.
    pub db: Option<&'a Db>,
    /// Its settings section (`null` when unset).
    pub settings: &'a Value,
    /// Its fault switch, with the operator token that opens it.
    pub faults: &'a Faults,
    /// The clock every system in the process reads.
    pub clock: Arc<dyn Clock>,
    /// Cancelled when the process shuts down.
    pub shutdown: &'a CancellationToken,
    /// The folder of local state (SQLite files, model caches, keys).
    pub data_dir: &'a Path,
    /// Services the process shares with the systems that need them (the MCP token key, test
    /// hooks), by type.
    pub extensions: &'a Extensions,
    /// The base URLs of its declared peers.
    pub peers: &'a BTreeMap<&'static str, String>,
    /// What it presents when it calls them.
    pub credentials: &'a Credentials,
    /// The subscriptions of every consumer, for the broker to create.
    pub consumers: &'a [PushTarget],
}

impl Context<'_> {
    /// Its store; an error for a system built without one.
    pub fn db(&self) -> Result<&Db, BuildError> {
        self.db.ok_or_else(|| format!("{}: its store was not opened", self.name).into())
    }

    /// How to call `peer`, which it must declare in [`Descriptor::peers`].
    pub fn peer(&self, peer: &str) -> Result<Peer, BuildError> {
        let url = self.peers.get(peer).ok_or_else(|| -> BuildError {
            format!("{}: `{peer}` is not among the peers it declares, so it has no address", self.name).into()
        })?;
        Ok(Peer { url: url.clone(), credentials: self.credentials.clone() })
    }

    /// Its settings, typed; the defaults when the section is unset.
    pub fn settings<T: Settings>(&self) -> Result<T, BuildError> {
        parse_settings(self.settings).map_err(|error| format!("{}.{error}", self.name).into())
    }

    /// The shared service of type `T`, if the process provides one.
    pub fn extension<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        self.extensions.get::<T>().cloned()
    }
}

/// A system's typed settings section.
pub trait Settings: DeserializeOwned + Default {
    /// Checks the values; names the first bad field.
    fn validate(&self) -> Result<(), FieldError> {
        Ok(())
    }
}

/// Reads and checks a settings section (`null` gives the defaults).
pub fn parse_settings<T: Settings>(section: &Value) -> Result<T, FieldError> {
    let settings = match section {
        Value::Null => T::default(),
        section => serde_path_to_error::deserialize(section).map_err(|error| {
            let field = error.path().to_string();
            FieldError::new(if field == "." { String::new() } else { field }, error.into_inner().to_string())
        })?,
    };
    settings.validate()?;
    Ok(settings)
}
