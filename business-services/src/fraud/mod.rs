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
//! ([`crate::platform::signing`]).

pub mod api;
pub mod client;
pub mod domain;
pub(crate) mod store;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sqlx::migrate::Migrator;
use utoipa::OpenApi;

use crate::contracts::keys::BROKER_DEMO_SECRET;
use crate::contracts::keys::BROKER_KEY_ID;
use crate::contracts::keys::CHECKOUT_DEMO_SECRET;
use crate::contracts::keys::CHECKOUT_KEY_ID;
use crate::contracts::keys::MCP_DEMO_SECRET;
use crate::contracts::keys::MCP_KEY_ID;
use crate::contracts::order;
use crate::money::CurrencyCode;
use crate::platform::FieldError;
use crate::platform::events::BoxFuture;
use crate::platform::http::{self, ReadinessCheck};
use crate::platform::identity::access::{Access, BROKER, CHECKOUT, Grant, MCP, RISK};
use crate::platform::secret::Secret;
use crate::platform::signing;
use crate::platform::system::{self, BuildError, Built, Consumes, Context, Descriptor, System};
use domain::{Policy, Thresholds};
use store::FraudStore;

/// The fraud engine's schema migrations.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations/fraud");

/// The fraud engine's settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Scores from this on are held for review.
    pub review_at: u8,
    /// Scores from this on are blocked.
    pub block_at: u8,
    /// The callers' shared secrets (at least 32 characters) by key id.
    pub callers: BTreeMap<String, Secret>,
    /// Per currency code, the amount in minor units above which a customer's first purchase
    /// counts as large. Currencies without a limit never fire that rule.
    pub large_first_purchase: BTreeMap<String, i64>,
}

impl Default for Settings {
    fn default() -> Self {
        let limits = [("USD", 100_000), ("EUR", 100_000), ("GBP", 80_000), ("CAD", 140_000), ("JPY", 150_000)];
        Settings {
            review_at: 50,
            block_at: 80,
            callers: BTreeMap::from([
                (CHECKOUT_KEY_ID.to_owned(), CHECKOUT_DEMO_SECRET.into()),
                (BROKER_KEY_ID.to_owned(), BROKER_DEMO_SECRET.into()),
                (MCP_KEY_ID.to_owned(), MCP_DEMO_SECRET.into()),
            ]),
            large_first_purchase: limits.into_iter().map(|(code, limit)| (code.to_owned(), limit)).collect(),
        }
    }
}

impl Settings {
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

impl crate::platform::system::Settings for Settings {
    /// Checks the values; names the first bad key.
    fn validate(&self) -> Result<(), FieldError> {
        if !(1..=100).contains(&self.block_at) {
            return Err(FieldError::new("block_at", format!("must be between 1 and 100, got {}", self.block_at)));
        }
        if self.review_at == 0 || self.review_at >= self.block_at {
            return Err(FieldError::new(
                "review_at",
                format!("must be at least 1 and below block_at ({}), got {}", self.block_at, self.review_at),
            ));
        }
        if self.callers.is_empty() {
            return Err(FieldError::new("callers", "name at least one caller: key id = secret"));
        }
        for (key_id, secret) in &self.callers {
            let valid_id = (1..=64).contains(&key_id.len())
                && key_id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
            if !valid_id {
                return Err(FieldError::new(
                    "callers",
                    format!("key id '{key_id}' must be 1 to 64 of A-Z a-z 0-9 . _ -"),
                ));
            }
            if secret.chars() < signing::MIN_SECRET_LEN {
                return Err(FieldError::new(
                    "callers",
                    format!("the secret of '{key_id}' must be at least {} characters", signing::MIN_SECRET_LEN),
                ));
            }
        }
        for (code, limit) in &self.large_first_purchase {
            CurrencyCode::parse(code).map_err(|e| FieldError::new("large_first_purchase", e))?;
            if *limit <= 0 {
                return Err(FieldError::new("large_first_purchase", format!("the limit for {code} must be positive")));
            }
        }
        Ok(())
    }
}

/// The fraud engine, as the launcher starts it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Fraud;

static DESCRIPTOR: Descriptor = Descriptor {
    name: "fraud",
    summary: "The fraud engine.",
    default_port: 8088,
    migrator: Some(&MIGRATOR),
    peers: &[],
    publishes: &[],
    consumes: &[Consumes { subscription: "fraud-orders", topic: order::TOPIC, path: api::ORDER_EVENTS_PATH }],
    access: Access::Routes(&[
        Grant::post("/v1/assessments", &[CHECKOUT]),
        Grant::get("/v1/assessments", &[CHECKOUT, MCP]),
        Grant::get("/v1/assessments/{id}", &[CHECKOUT, MCP]),
        Grant::get("/v1/reviews", &[MCP, RISK]),
        Grant::post("/v1/reviews/{assessment_id}/decision", &[RISK]),
        Grant::post(api::ORDER_EVENTS_PATH, &[BROKER]),
    ]),
};

impl System for Fraud {
    fn descriptor(&self) -> &'static Descriptor {
        &DESCRIPTOR
    }

    fn check_settings(&self, settings: &serde_json::Value) -> Result<(), crate::platform::FieldError> {
        system::parse_settings::<Settings>(settings).map(|_| ())
    }

    fn build<'a>(&'a self, context: Context<'a>) -> BoxFuture<'a, Result<Built, BuildError>> {
        Box::pin(async move {
            let db = context.db()?;
            let settings: Settings = context.settings()?;
            let state = api::FraudState {
                store: FraudStore::new(db.clone()),
                clock: context.clock.clone(),
                policy: Arc::new(settings.policy()),
                callers: Arc::new(settings.callers.clone()),
            };
            let checks = vec![ReadinessCheck::database(db)];
            Ok(Built::router(http::service(api::routes(state), api::ApiDoc::openapi(), checks, context.faults)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::system::Settings as _;

    #[test]
    fn settings_are_validated() {
        assert_eq!(Settings::default().validate(), Ok(()));
        let key = |settings: Settings| settings.validate().unwrap_err().field;
        assert_eq!(key(Settings { review_at: 80, ..Settings::default() }), "review_at");
        assert_eq!(key(Settings { review_at: 0, ..Settings::default() }), "review_at");
        assert_eq!(key(Settings { block_at: 101, ..Settings::default() }), "block_at");
        let short = BTreeMap::from([("checkout".to_owned(), "too-short".into())]);
        assert_eq!(key(Settings { callers: short, ..Settings::default() }), "callers");
        assert_eq!(key(Settings { callers: BTreeMap::new(), ..Settings::default() }), "callers");
        let odd = BTreeMap::from([("a b".to_owned(), CHECKOUT_DEMO_SECRET.into())]);
        assert_eq!(key(Settings { callers: odd, ..Settings::default() }), "callers");
        let limits = BTreeMap::from([("XXX".to_owned(), 1)]);
        assert_eq!(key(Settings { large_first_purchase: limits, ..Settings::default() }), "large_first_purchase");
        assert!(CHECKOUT_DEMO_SECRET.len() >= signing::MIN_SECRET_LEN);
        let shown = format!("{:?}", Settings::default());
        assert!(shown.contains(CHECKOUT_KEY_ID) && !shown.contains(CHECKOUT_DEMO_SECRET), "{shown}");
        let policy = Settings::default().policy();
        assert_eq!(policy.large_first_purchase.get(&CurrencyCode::USD), Some(&100_000));
        assert_eq!(policy.thresholds, Thresholds { review_at: 50, block_at: 80 });
    }
}
