//! The one typed configuration: built-in defaults, then a TOML file, then environment
//! variables (env wins), then command-line flags; validated before anything starts.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use business_services::platform::Error;
use business_services::platform::admin::AdminToken;
use business_services::platform::audit;
use business_services::platform::db::{Db, redact};
use business_services::platform::faults::{FaultRule, FaultSettings, Faults};
use business_services::platform::identity::keys::{self, KeyRing};
use business_services::platform::identity::mesh::{Mesh, MeshSettings};
use business_services::platform::identity::operators::{Account, Operators};
use business_services::platform::identity::remote::{RemoteIssuer, TrustSettings};
use business_services::platform::identity::{self, Trust};
use business_services::platform::secret::Secret;
use business_services::{broker, cart, checkout, fraud, furniture, inventory, oms};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::registry::System;

/// Everything `boutique` can be told.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Folder of the SQLite files of systems that use the embedded default store.
    pub data_dir: PathBuf,
    /// Address every system listens on.
    pub host: IpAddr,
    /// Load the demo catalog and rates into empty stores at start.
    pub demo_data: bool,
    /// Where each system listens, is reached, and keeps its data.
    pub systems: BTreeMap<String, Deployment>,
    /// Connections to PostgreSQL this process may hold, shared evenly by the systems it runs
    /// there (at least 2 each): together they must stay under the server's `max_connections`.
    pub database_connections: u32,
    /// The break-glass operator's bearer token: the person `admin`, in the admin role, which
    /// opens every people's route; closed when unset.
    pub admin_token: Option<Secret>,
    /// Operator accounts, each with a name, a role and a token of their own, e.g.
    /// `[[operators]] name = "ada"`, `role = "support"`, `token = "…"` (see docs/SECURITY.md).
    pub operators: Vec<Account>,
    /// Where every write a person makes is recorded: `sqlite://<path>` or `postgres://…`;
    /// defaults to `<data_dir>/audit.db`.
    pub audit_database_url: Option<String>,
    /// Fault injection per system, e.g. `[[faults.catalog.rules]] latency_ms = 200`.
    pub faults: BTreeMap<String, FaultSettings>,
    /// External issuers whose service tokens every system accepts beside the local issuer's,
    /// e.g. `[[trust]] kind = "google"` on Cloud Run (see docs/SECURITY.md).
    pub trust: Vec<TrustSettings>,
    /// A service mesh whose sidecars vouch for callers by mTLS, e.g. `[mesh] callers =
    /// { "spiffe://cluster.local/ns/shop/sa/checkout" = "checkout" }` (see docs/SECURITY.md).
    pub mesh: Option<MeshSettings>,
    /// Cart settings.
    pub cart: cart::Settings,
    /// Inventory settings.
    pub inventory: inventory::Settings,
    /// Furniture ERP settings.
    pub furniture: furniture::Settings,
    /// Fraud engine settings.
    pub fraud: fraud::Settings,
    /// Checkout settings.
    pub checkout: checkout::Settings,
    /// Event broker settings.
    pub broker: broker::Settings,
    /// Order management settings.
    pub oms: oms::Settings,
    /// The MCP server's settings.
    pub mcp: mcp_server::settings::Settings,
    /// The Concierge's settings: its model, the Investigator's, prompts and budgets.
    pub concierge: concierge::ConciergeSettings,
    /// The web's settings: password hashing, session lifetime, cookies.
    pub web: web_widget::server::WebSettings,
}

/// Where one system runs and keeps its data. Every field is optional.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deployment {
    /// Port to listen on (0 picks a free one); defaults to the system's own port.
    pub port: Option<u16>,
    /// Base URL peers use to reach it; defaults to this process or `http://<host>:<port>`.
    pub url: Option<String>,
    /// `sqlite://<path>` or `postgres://…`; defaults to `<data_dir>/<system>.db`.
    pub database_url: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("data"),
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            demo_data: true,
            systems: BTreeMap::new(),
            // Room under PostgreSQL's default limit of 100 for tools, migrations and a second
            // process during a rolling restart.
            database_connections: 64,
            admin_token: None,
            operators: Vec::new(),
            audit_database_url: None,
            // The legacy ERP is slow by nature; raise or lower it here or at run time.
            faults: BTreeMap::from([(
                "furniture".to_owned(),
                FaultSettings { rules: vec![FaultRule { latency_ms: 120, ..FaultRule::default() }] },
            )]),
            trust: Vec::new(),
            mesh: None,
            cart: cart::Settings::default(),
            inventory: inventory::Settings::default(),
            furniture: furniture::Settings::default(),
            fraud: fraud::Settings::default(),
            checkout: checkout::Settings::default(),
            broker: broker::Settings::default(),
            oms: oms::Settings::default(),
            mcp: mcp_server::settings::Settings::default(),
            concierge: concierge::ConciergeSettings::default(),
            web: web_widget::server::WebSettings::default(),
        }
    }
}

/// A configuration key with a bad value.
#[derive(Debug, thiserror::Error)]
#[error("configuration key `{key}`{source_hint}: {message}")]
pub struct ConfigError {
    key: String,
    source_hint: String,
    message: String,
}

impl ConfigError {
    fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        let key = key.into();
        let source_hint = env_name(&key).map(|name| format!(" (environment: {name})")).unwrap_or_default();
        ConfigError { key, source_hint, message: message.into() }
    }
}

/// Checks that `url`, the value of `key`, names a store this binary can open.
fn check_database_url(key: &str, url: &str) -> Result<(), ConfigError> {
    if ["sqlite:", "postgres:", "postgresql:"].iter().any(|scheme| url.starts_with(scheme)) {
        return Ok(());
    }
    Err(ConfigError::new(
        key,
        format!("expected sqlite://<path> or postgres://<user>@<host>/<database>, got '{}'", redact(url)),
    ))
}

/// The environment variable that sets `key`.
fn env_name(key: &str) -> Option<String> {
    let parts: Vec<&str> = key.split('.').collect();
    match parts.as_slice() {
        ["systems", system, field] => Some(format!("{}_{}", system.to_uppercase(), field.to_uppercase())),
        _ => Some(format!("BOUTIQUE_{}", key.replace('.', "__").to_uppercase())),
    }
}

impl Config {
    /// The systems' signing keys in `<data_dir>/keys/service` (made on first use), shared by
    /// every process of one store.
    pub fn service_keys(&self) -> anyhow::Result<KeyRing> {
        let folder = self.data_dir.join("keys").join("service");
        Ok(KeyRing::open(&folder, keys::RETIRE_AFTER_SECS, identity::unix_now())?)
    }

    /// Where the MCP capability tokens' signing keys are: a ring apart from the systems'.
    pub fn capability_keys(&self) -> PathBuf {
        self.data_dir.join("keys").join("capability")
    }

    /// What this process's systems sign their calls with and trust: the local issuer's keys in
    /// `<data_dir>/keys/service` (made on first use) and the configured external issuers.
    pub fn trust(&self) -> anyhow::Result<Trust> {
        let keys = self.service_keys()?;
        let issuers = self.trust.iter().map(|settings| Arc::new(RemoteIssuer::new(settings))).collect();
        let mesh = self.mesh.clone().map(|settings| Arc::new(Mesh::new(settings)));
        Ok(Trust { issuers, mesh, operators: self.operators.clone(), ..Trust::local(Arc::new(keys)) })
    }

    /// Where people's writes are recorded.
    pub fn audit_database_url(&self) -> String {
        self.audit_database_url.clone().unwrap_or_else(|| Db::sqlite_url(&self.data_dir, audit::STORE))
    }

    /// This configuration for a store of its own in `data_dir`, as the evals, the tests and the
    /// benchmarks start one: every system on a free port with its SQLite file there, no injected
    /// faults, keyword-only search (embedding the corpus would only cost CPU).
    pub fn private_store(&self, data_dir: &Path) -> Config {
        let mut config = Config { data_dir: data_dir.to_path_buf(), ..self.clone() };
        for system in System::all() {
            config.systems.insert(system.name().into(), Deployment { port: Some(0), ..Deployment::default() });
        }
        config.faults.clear();
        config.mcp.embedder = mcp_server::settings::EmbedderSettings::None;
        // Its accounts are the demo ones, whose password is published: a slow hash guards nothing.
        config.web.password_iterations = 1_000;
        config
    }

    /// Loads the configuration from `file` (if it exists; an explicitly named file must),
    /// the environment and `data_dir` from the command line.
    pub fn load(file: Option<&Path>, data_dir: Option<&Path>) -> anyhow::Result<Config> {
        let default_file = Path::new("boutique.toml");
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(file) if !file.is_file() => anyhow::bail!("configuration file {} does not exist", file.display()),
            Some(file) => figment = figment.merge(Toml::file_exact(file)),
            None if default_file.is_file() => figment = figment.merge(Toml::file_exact(default_file)),
            None => {}
        }
        figment = figment
            .merge(Env::prefixed("BOUTIQUE_").split("__"))
            .merge(Env::raw().filter_map(|key| system_env_key(key.as_str()).map(Into::into)));
        if let Some(data_dir) = data_dir {
            figment = figment.merge(Serialized::default("data_dir", data_dir));
        }
        let config: Config = figment.extract().map_err(|errors| {
            let described: Vec<String> = errors
                .into_iter()
                .map(|error| {
                    let key = error.path.join(".").to_lowercase();
                    let source = error.metadata.as_ref().map_or("defaults".to_owned(), |m| match &m.source {
                        Some(source) => format!("{} {source}", m.name),
                        None => m.name.to_string(),
                    });
                    ConfigError::new(key, format!("{} (value from {source})", error.kind)).to_string()
                })
                .collect();
            anyhow::anyhow!("invalid configuration: {}", described.join("; "))
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks every value and names the first bad key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.data_dir.as_os_str().is_empty() {
            return Err(ConfigError::new("data_dir", "must name a folder"));
        }
        if self.database_connections < 2 {
            return Err(ConfigError::new("database_connections", "must be at least 2"));
        }
        for (name, deployment) in &self.systems {
            let key = |field: &str| format!("systems.{name}.{field}");
            if System::parse(name).is_none() {
                return Err(ConfigError::new(
                    format!("systems.{name}"),
                    format!("no such system; known: {}", System::names()),
                ));
            }
            if let Some(url) = &deployment.url
                && !(url.starts_with("http://") || url.starts_with("https://"))
            {
                return Err(ConfigError::new(
                    key("url"),
                    format!("expected an http(s) URL such as http://{name}:8080, got '{url}'"),
                ));
            }
            if let Some(url) = &deployment.database_url {
                check_database_url(&key("database_url"), url)?;
            }
        }
        if let Some(url) = &self.audit_database_url {
            check_database_url("audit_database_url", url)?;
        }
        for (name, settings) in &self.faults {
            if System::parse(name).is_none() {
                return Err(ConfigError::new(
                    format!("faults.{name}"),
                    format!("no such system; known: {}", System::names()),
                ));
            }
            if let Err(Error::Invalid { field, message }) = settings.validate() {
                return Err(ConfigError::new(format!("faults.{name}.{field}"), message));
            }
        }
        if self.admin_token.as_ref().is_some_and(|token| token.chars() < 16) {
            return Err(ConfigError::new("admin_token", "must be at least 16 characters"));
        }
        if let Some(id) = self.mesh.iter().flat_map(|mesh| mesh.callers.keys()).find(|id| !id.starts_with("spiffe://"))
        {
            return Err(ConfigError::new(
                "mesh.callers",
                format!("'{id}' is not a SPIFFE id: expected spiffe://<trust domain>/ns/<namespace>/sa/<account>"),
            ));
        }
        if let Err(error) = Operators::new(AdminToken::new(self.admin_token.as_ref()), &self.operators) {
            return Err(ConfigError::new("operators", error.to_string()));
        }
        let sections = self.sections();
        for system in System::all() {
            let section = sections.get(system.name()).cloned().unwrap_or_default();
            system.get().check_settings(&section).map_err(|error| {
                let key = if error.field.is_empty() {
                    system.name().to_owned()
                } else {
                    format!("{}.{}", system.name(), error.field)
                };
                ConfigError::new(key, error.message)
            })?;
        }
        Ok(())
    }

    /// Each system's settings section by name (`null` where it has none): what its descriptor
    /// checks and builds from.
    pub fn sections(&self) -> BTreeMap<String, serde_json::Value> {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(sections)) => sections.into_iter().collect(),
            _ => BTreeMap::new(),
        }
    }

    /// The deployment settings of the system called `name`.
    pub fn deployment(&self, name: &str) -> Deployment {
        self.systems.get(name).cloned().unwrap_or_default()
    }

    /// The port the system called `name` listens on.
    pub fn port(&self, name: &str) -> u16 {
        self.deployment(name).port.unwrap_or_else(|| System::named(name).default_port())
    }

    /// The live fault settings of the system called `name`, with the admin token that opens them.
    pub fn faults(&self, name: &str) -> Faults {
        Faults::new(self.faults.get(name).cloned().unwrap_or_default(), self.admin_token.as_ref())
    }

    /// The database URL of the system called `name`.
    pub fn database_url(&self, name: &str) -> String {
        self.deployment(name).database_url.unwrap_or_else(|| Db::sqlite_url(&self.data_dir, name))
    }

    /// Where the system called `name` is reached from another process: its configured URL,
    /// else its default address.
    pub fn url_of(&self, name: &str) -> String {
        if let Some(url) = self.deployment(name).url {
            return url;
        }
        let address = business_services::launch::reachable(std::net::SocketAddr::new(self.host, self.port(name)));
        format!("http://{address}")
    }
}

/// Maps `CATALOG_URL`, `CART_DATABASE_URL`, `CURRENCY_PORT`… to `systems.<system>.<field>`, the
/// names peers are found by in Kubernetes and Cloud Run.
fn system_env_key(key: &str) -> Option<String> {
    let key = key.to_lowercase();
    System::all().iter().find_map(|system| {
        let field = key.strip_prefix(system.name())?.strip_prefix('_')?;
        matches!(field, "url" | "database_url" | "port").then(|| format!("systems.{}.{field}", system.name()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_variables_map_to_their_keys() {
        assert_eq!(system_env_key("CATALOG_URL").as_deref(), Some("systems.catalog.url"));
        assert_eq!(system_env_key("CART_DATABASE_URL").as_deref(), Some("systems.cart.database_url"));
        assert_eq!(system_env_key("CURRENCY_PORT").as_deref(), Some("systems.currency.port"));
        assert_eq!(system_env_key("CATALOG_SECRET"), None);
        assert_eq!(system_env_key("CATALOGUE_URL"), None);
        assert_eq!(system_env_key("PATH"), None);
    }

    #[test]
    fn a_mesh_is_read_from_the_file_and_its_callers_must_be_spiffe_ids() {
        let file = "[mesh]\ncallers = { \"spiffe://cluster.local/ns/shop/sa/web\" = \"web\" }\n";
        let config: Config =
            Figment::from(Serialized::defaults(Config::default())).merge(Toml::string(file)).extract().unwrap();
        let mesh = config.mesh.clone().unwrap();
        assert_eq!(mesh.proxies.len(), 2, "loopback by default: {:?}", mesh.proxies);
        assert!(config.validate().is_ok());
        let mut wrong = config;
        wrong.mesh = Some(MeshSettings { callers: BTreeMap::from([("web".into(), "web".into())]), ..mesh });
        let error = wrong.validate().unwrap_err().to_string();
        assert!(error.contains("`mesh.callers`") && error.contains("not a SPIFFE id"), "{error}");
    }

    #[test]
    fn errors_name_the_key_and_its_variable() {
        let mut config = Config::default();
        config.systems.insert("catalog".into(), Deployment { url: Some("catalog:8080".into()), ..Default::default() });
        let error = config.validate().unwrap_err().to_string();
        assert!(error.contains("`systems.catalog.url` (environment: CATALOG_URL)"), "{error}");
        assert!(error.contains("expected an http(s) URL"), "{error}");

        let mut config = Config::default();
        config.systems.insert("catalgo".into(), Deployment::default());
        let error = config.validate().unwrap_err().to_string();
        assert!(error.contains("`systems.catalgo`") && error.contains("known: catalog"), "{error}");

        let mut config = Config::default();
        config.cart.abandoned_after_hours = 0;
        let error = config.validate().unwrap_err().to_string();
        assert!(error.contains("BOUTIQUE_CART__ABANDONED_AFTER_HOURS"), "{error}");
    }
}
