//! Fraud engine (the system in another cloud): risk scores with reasons, a review queue, signed
//! callers.
//!
//! Every assessment is scored from features gathered over the engine's own history of earlier
//! orders (amount against the customer's usual, velocity per card, customer and shipping
//! address, account age and standing, billing/shipping mismatch; see [`domain`]) and stored
//! with those features. That history is its earlier assessments and the confirmed orders it
//! consumes from the `orders` topic (`POST /v1/events/orders`, pushed by the broker and signed
//! like any caller), each order counted once by its checkout reference
//! ([`domain::SeenOrder`]). Scores from [`Settings::review_at`] are queued for an analyst; from
//! [`Settings::block_at`], or for suspended accounts, blocked. Callers sign every request
//! ([`signing`]).

pub mod api;
pub mod client;
pub mod domain;
pub mod signing;
pub mod store;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use serde::{Deserialize, Serialize};
use sqlx::migrate::Migrator;
use utoipa::OpenApi;

use crate::money::CurrencyCode;
use crate::platform::clock::Clock;
use crate::platform::db::Db;
use crate::platform::faults::Faults;
use crate::platform::http::{self, ReadinessCheck};
use domain::{Policy, Thresholds};
use store::FraudStore;

/// The fraud engine's schema migrations.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations/fraud");

/// The key id of the demo caller that the one-machine default configures.
pub const DEMO_KEY_ID: &str = "checkout";
/// The demo caller's secret: for the one-machine default only; configure real secrets in any
/// deployment.
pub const DEMO_SECRET: &str = "demo-only-checkout-to-fraud-signing-secret";
/// The event broker's key id: it signs the pushes of order events to the fraud engine.
pub const BROKER_KEY_ID: &str = "broker";
/// The broker's demo secret: for the one-machine default only.
pub const BROKER_DEMO_SECRET: &str = "demo-only-broker-to-fraud-signing-secret";
/// The read-only MCP server's key id: it reads assessments.
pub const MCP_KEY_ID: &str = "mcp";
/// The MCP server's demo secret: for the one-machine default only.
pub const MCP_DEMO_SECRET: &str = "demo-only-mcp-server-to-fraud-signing-secret";

/// The fraud engine's settings.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Scores from this on are held for review.
    pub review_at: u8,
    /// Scores from this on are blocked.
    pub block_at: u8,
    /// The callers' shared secrets (at least 32 characters) by key id.
    pub callers: BTreeMap<String, String>,
    /// Per currency code, the amount in minor units above which a customer's first purchase
    /// counts as large. Currencies without a limit never fire that rule.
    pub large_first_purchase: BTreeMap<String, i64>,
}

/// Shows the callers' key ids, never their secrets.
impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("review_at", &self.review_at)
            .field("block_at", &self.block_at)
            .field("callers", &self.callers.keys().map(|key_id| (key_id, "***")).collect::<BTreeMap<_, _>>())
            .field("large_first_purchase", &self.large_first_purchase)
            .finish()
    }
}

impl Default for Settings {
    fn default() -> Self {
        let limits = [("USD", 100_000), ("EUR", 100_000), ("GBP", 80_000), ("CAD", 140_000), ("JPY", 150_000)];
        Settings {
            review_at: 50,
            block_at: 80,
            callers: BTreeMap::from([
                (DEMO_KEY_ID.to_owned(), DEMO_SECRET.to_owned()),
                (BROKER_KEY_ID.to_owned(), BROKER_DEMO_SECRET.to_owned()),
                (MCP_KEY_ID.to_owned(), MCP_DEMO_SECRET.to_owned()),
            ]),
            large_first_purchase: limits.into_iter().map(|(code, limit)| (code.to_owned(), limit)).collect(),
        }
    }
}

impl Settings {
    /// Checks the values; names the first bad key.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if !(1..=100).contains(&self.block_at) {
            return Err(("block_at", format!("must be between 1 and 100, got {}", self.block_at)));
        }
        if self.review_at == 0 || self.review_at >= self.block_at {
            return Err((
                "review_at",
                format!("must be at least 1 and below block_at ({}), got {}", self.block_at, self.review_at),
            ));
        }
        if self.callers.is_empty() {
            return Err(("callers", "name at least one caller: key id = secret".into()));
        }
        for (key_id, secret) in &self.callers {
            let valid_id = (1..=64).contains(&key_id.len())
                && key_id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
            if !valid_id {
                return Err(("callers", format!("key id '{key_id}' must be 1 to 64 of A-Z a-z 0-9 . _ -")));
            }
            if secret.chars().count() < signing::MIN_SECRET_LEN {
                return Err((
                    "callers",
                    format!("the secret of '{key_id}' must be at least {} characters", signing::MIN_SECRET_LEN),
                ));
            }
        }
        for (code, limit) in &self.large_first_purchase {
            CurrencyCode::parse(code).map_err(|e| ("large_first_purchase", e))?;
            if *limit <= 0 {
                return Err(("large_first_purchase", format!("the limit for {code} must be positive")));
            }
        }
        Ok(())
    }

    /// The scoring policy these settings describe (currencies that do not parse are left out;
    /// [`Settings::validate`] refuses them).
    pub fn policy(&self) -> Policy {
        Policy {
            thresholds: Thresholds { review_at: self.review_at, block_at: self.block_at },
            large_first_purchase: self
                .large_first_purchase
                .iter()
                .filter_map(|(code, limit)| CurrencyCode::parse(code).ok().map(|code| (code, *limit)))
                .collect(),
        }
    }
}

/// The fraud engine over its migrated `db`, with `faults` injected, telling time by `clock`.
pub fn service(db: &Db, faults: &Faults, settings: &Settings, clock: Arc<dyn Clock>) -> Router {
    let state = api::FraudState {
        store: FraudStore::new(db.clone()),
        clock,
        policy: Arc::new(settings.policy()),
        callers: Arc::new(settings.callers.clone()),
    };
    http::service(api::routes(state), api::ApiDoc::openapi(), vec![ReadinessCheck::database(db)], faults)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_validated() {
        assert_eq!(Settings::default().validate(), Ok(()));
        let key = |settings: Settings| settings.validate().unwrap_err().0;
        assert_eq!(key(Settings { review_at: 80, ..Settings::default() }), "review_at");
        assert_eq!(key(Settings { review_at: 0, ..Settings::default() }), "review_at");
        assert_eq!(key(Settings { block_at: 101, ..Settings::default() }), "block_at");
        let short = BTreeMap::from([("checkout".to_owned(), "too-short".to_owned())]);
        assert_eq!(key(Settings { callers: short, ..Settings::default() }), "callers");
        assert_eq!(key(Settings { callers: BTreeMap::new(), ..Settings::default() }), "callers");
        let odd = BTreeMap::from([("a b".to_owned(), DEMO_SECRET.to_owned())]);
        assert_eq!(key(Settings { callers: odd, ..Settings::default() }), "callers");
        let limits = BTreeMap::from([("XXX".to_owned(), 1)]);
        assert_eq!(key(Settings { large_first_purchase: limits, ..Settings::default() }), "large_first_purchase");
        assert!(DEMO_SECRET.len() >= signing::MIN_SECRET_LEN);
        let shown = format!("{:?}", Settings::default());
        assert!(shown.contains(DEMO_KEY_ID) && !shown.contains(DEMO_SECRET), "{shown}");
        let policy = Settings::default().policy();
        assert_eq!(policy.large_first_purchase.get(&CurrencyCode::USD), Some(&100_000));
        assert_eq!(policy.thresholds, Thresholds { review_at: 50, block_at: 80 });
    }
}
