//! Payment gateway: card validation, authorize / capture / void / refund, idempotent on a key.
//!
//! A card payment gateway as a real one behaves in test mode. Of a card it stores only the
//! brand and last four digits: never the number or the security code, and it never logs them.
//! Authorizations require an `Idempotency-Key`: a retried request charges once. Declines are
//! recorded, as real gateways do, and answered like approvals (201) with a `decline_code`.
//!
//! # Test cards
//!
//! Any expiry date not in the past and any security code of the right length (3 digits, 4 for
//! Amex) work with these numbers, all of which pass the Luhn check:
//!
//! | number                | what happens |
//! |-----------------------|--------------|
//! | `4242 4242 4242 4242` | approved |
//! | `4000 0000 0000 0002` | declined, `card_declined` |
//! | `4000 0000 0000 9995` | declined, `insufficient_funds` |
//! | `4000 0000 0000 0069` | declined, `expired_card` |
//! | `4000 0000 0000 0119` | the card network fails: 503, nothing recorded |
//! | `4000 0000 0000 3220` | the card network hangs 30 s, then fails: a timeout for any caller |
//! | `4000 0000 0000 0341` | approved, but its capture is declined: 409 `capture_declined` |
//!
//! Any other valid number is approved.

pub mod api;
pub mod client;
pub mod domain;
pub(crate) mod store;
pub mod test_cards;

use sqlx::migrate::Migrator;
use utoipa::OpenApi;

use crate::platform::events::BoxFuture;
use crate::platform::http::{self, ReadinessCheck};
use crate::platform::identity::access::{Access, CHECKOUT, Grant, MCP, SUPPORT};
use crate::platform::system::{BuildError, Built, Context, Descriptor, System};
use store::PaymentStore;

/// The payment gateway's schema migrations.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations/payment");

/// The payment gateway, as the launcher starts it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Payment;

static DESCRIPTOR: Descriptor = Descriptor {
    name: "payment",
    summary: "The card payment gateway.",
    default_port: 8086,
    migrator: Some(&MIGRATOR),
    peers: &[],
    publishes: &[],
    consumes: &[],
    access: Access::Routes(&[
        Grant::post("/v1/authorizations", &[CHECKOUT]),
        Grant::get("/v1/authorizations", &[CHECKOUT, MCP]),
        Grant::get("/v1/authorizations/{id}", &[CHECKOUT, MCP]),
        Grant::post("/v1/authorizations/{id}/capture", &[CHECKOUT]),
        Grant::post("/v1/authorizations/{id}/void", &[CHECKOUT]),
        Grant::post("/v1/authorizations/{id}/refunds", &[CHECKOUT, SUPPORT]),
    ]),
};

impl System for Payment {
    fn descriptor(&self) -> &'static Descriptor {
        &DESCRIPTOR
    }

    fn build<'a>(&'a self, context: Context<'a>) -> BoxFuture<'a, Result<Built, BuildError>> {
        Box::pin(async move {
            let db = context.db()?;
            let state = api::PaymentState { store: PaymentStore::new(db.clone()), clock: context.clock.clone() };
            let checks = vec![ReadinessCheck::database(db)];
            Ok(Built::router(http::service(api::routes(state), api::ApiDoc::openapi(), checks, context.faults)))
        })
    }
}
