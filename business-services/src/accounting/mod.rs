//! Accounting: a double-entry ledger with revenue recognised at shipment; the trial balance
//! always balances.
//!
//! Amounts are integer minor units per currency, never floats, and every entry balances in
//! each currency: the domain refuses to build one that does not, and the store checks again
//! before writing it. Entries are posted once per business key, so callers retry freely.
//!
//! # Chart of accounts
//!
//! | account | kind | normal side |
//! |---|---|---|
//! | `payment_clearing` | asset: money the payment gateway owes the store | debit |
//! | `deferred_revenue` | liability: orders paid for, not yet shipped | credit |
//! | `merchandise_revenue` | revenue: merchandise shipped, gross of discounts | credit |
//! | `shipping_revenue` | revenue: parcel shipping and freight of shipped orders | credit |
//! | `discounts` | contra-revenue: loyalty discounts given | debit |
//! | `refunds` | contra-revenue: money given back | debit |
//!
//! There is no `tax_payable` account: receipts carry no tax yet, and posting zeros would only
//! hide that. When checkout charges tax, the sale will credit `tax_payable` with it (tax is
//! owed, never revenue) and recognition will leave it alone.
//!
//! # Entries of one order
//!
//! With the receipt's `subtotal`, `discount`, `shipping`, `freight` and
//! `total = subtotal − discount + shipping + freight`, and `gross = subtotal + shipping + freight`:
//!
//! | when | kind | debit | credit |
//! |---|---|---|---|
//! | placed (`POST /v1/journal/sales`) | `sale` | payment_clearing `total`; discounts `discount` | deferred_revenue `gross` |
//! | shipped (`POST /v1/journal/revenue-recognitions`) | `revenue_recognition` | deferred_revenue `gross` | merchandise_revenue `subtotal`; shipping_revenue `shipping + freight` |
//! | refunded (`POST /v1/journal/refunds`) | `refund` | refunds `amount` | payment_clearing `amount` |
//!
//! Each balances: `total + discount = gross`, and `gross = subtotal + (shipping + freight)`.
//! The discount is posted once, at the sale, to its contra-revenue account and stays there:
//! recognition moves the gross out of deferred revenue, so once an order ships its deferred
//! revenue is zero and **net merchandise revenue = merchandise_revenue − discounts**, as an
//! income statement shows it. Lines of zero are left out (an order without a discount has no
//! discounts line). A refund is capped by what the sale charged: an order's refunds never add up
//! to more than its `total`.
//!
//! Idempotency: one sale and one recognition per order id (the same sale with other amounts is
//! refused), one refund per reference. The trial balance sums every line per currency and
//! account in SQL.

pub mod api;
pub mod client;
pub mod domain;
pub(crate) mod store;

use sqlx::migrate::Migrator;
use utoipa::OpenApi;

use crate::platform::events::BoxFuture;
use crate::platform::http::{self, ReadinessCheck};
use crate::platform::identity::access::{Access, FINANCE, Grant, OMS};
use crate::platform::system::{BuildError, Built, Context, Descriptor, System};
use store::AccountingStore;

/// The accounting service's schema migrations.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations/accounting");

/// The ledger, as the launcher starts it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Accounting;

static DESCRIPTOR: Descriptor = Descriptor {
    name: "accounting",
    summary: "The double-entry ledger.",
    default_port: 8093,
    migrator: Some(&MIGRATOR),
    peers: &[],
    publishes: &[],
    consumes: &[],
    access: Access::Routes(&[
        Grant::get("/v1/journal", &[FINANCE]),
        Grant::post("/v1/journal/sales", &[OMS]),
        Grant::post("/v1/journal/revenue-recognitions", &[OMS]),
        Grant::post("/v1/journal/refunds", &[OMS, FINANCE]),
        Grant::get("/v1/journal/{id}", &[FINANCE]),
        Grant::get("/v1/trial-balance", &[FINANCE]),
    ]),
};

impl System for Accounting {
    fn descriptor(&self) -> &'static Descriptor {
        &DESCRIPTOR
    }

    fn build<'a>(&'a self, context: Context<'a>) -> BoxFuture<'a, Result<Built, BuildError>> {
        Box::pin(async move {
            let db = context.db()?;
            let state = api::AccountingState { store: AccountingStore::new(db.clone()), clock: context.clock.clone() };
            let checks = vec![ReadinessCheck::database(db)];
            Ok(Built::router(http::service(api::routes(state), api::ApiDoc::openapi(), checks, context.faults)))
        })
    }
}
