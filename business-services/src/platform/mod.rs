//! What every business system shares: errors, extractors, the store, the HTTP service shell,
//! peer clients, service identities, the operator's credential, trace context, time and
//! pagination; and per-subject rate limits, for the services built over the systems.

pub mod admin;
pub mod audit;
pub mod client;
pub mod clock;
pub mod db;
pub mod error;
pub mod events;
pub mod extract;
pub mod faults;
pub mod http;
pub mod id;
pub mod idempotency;
pub mod identity;
pub mod openapi;
pub mod outbox;
pub mod page;
pub mod rate_limit;
pub mod secret;
pub mod signing;
pub mod system;
pub mod tasks;
#[cfg(feature = "testing")]
pub mod testing;
pub mod trace;

pub use error::{Error, FieldError, Problem, Result};
