//! CRM: customers, addresses, loyalty tiers and points, account standing, notes and tickets.
//!
//! Checkout reads a customer's tier and discount through [`client::CrmClient`]. The CRM
//! consumes the `orders` topic (`POST /v1/events/orders`, a Pub/Sub push): a confirmed order
//! of a signed-in customer earns points on its merchandise subtotal in US dollars at the
//! customer's tier, once per order: the order id is the ledger reference, unique per customer
//! and written in the same transaction as the points, so a redelivered event (under any event
//! id) changes nothing. Guests' orders, orders held for review and orders of customers the CRM
//! does not know earn nothing and are acknowledged. Agents read
//! and write notes and tickets through the CRM dashboard, and AI agents read them through the
//! read-only MCP server: note and message bodies are untrusted text.
//!
//! Loyalty rules (`loyalty::domain`): discount bronze 0 %, silver 5 %, gold 10 %, platinum 15 % (none
//! while suspended); points per whole US dollar 1, 2, 3, 4; tiers by lifetime points at 1,000,
//! 5,000 and 20,000.
//!
//! # Parts
//!
//! Three parts over one store and one HTTP service, each with its `domain`, `store` and `api`:
//! `customers` (accounts, addresses, standing, notes), `loyalty` (tiers, points, the ledger, the
//! points orders earn) and `tickets` (tickets and their messages). What they share stays here:
//! the store with its idempotent creates and pages (`store`), the state, routes, OpenAPI
//! document and request helpers ([`api`]), the id macros and text checks (`domain`), the demo
//! data ([`seed`]) and the typed client ([`client`]), whose re-exports are the CRM's types for
//! other systems.
//!
//! # Demo customers
//!
//! [`seed_demo_data`] loads these from `seed/crm/customers.json` into an empty store, at times
//! relative to the moment it runs:
//!
//! | id | name | tier | standing | country | story |
//! |---|---|---|---|---|---|
//! | `cus-1001` | Margaret Okafor | platinum | good | US | Five-year VIP who gets early access to every furniture drop; asks about the spring preview. |
//! | `cus-1002` | Daniel Weber | gold | good | DE | Linen sofa delivered three weeks late after two missed slots; 500 goodwill points; freight refund still pending. |
//! | `cus-1003` | Aiko Tanaka | silver | good | JP | Brass lamp arrived with a dented shade; replacement sent by express, ticket closed. |
//! | `cus-1004` | Oliver Bennett | gold | good | GB / CA | Bills to his UK card, ships to his daughter in Toronto; customs charge refunded. |
//! | `cus-1005` | Emre Yılmaz | silver | good | TR | Return of a wool throw in progress: parcel dropped off, refund awaits inspection. |
//! | `cus-1006` | Sophie Tremblay | silver | good | CA | Moved from Montréal to Québec City; new default address, shipped order redirected. |
//! | `cus-1007` | Marcus Reed | silver | watch | US | Three "not received" chargebacks despite delivery photos; a disputed charge is open. |
//! | `cus-1008` | Jordan Blake | bronze | suspended | US | Nine-day-old account, confirmed card testing. **Ticket message tries to instruct an AI agent** to refund to card 4242…. |
//! | `cus-1009` | Hannah Schmidt | bronze | good | DE | Brand-new account (2 days); asked whether the oak desk fits through her door. |
//! | `cus-1010` | Priya Nair | platinum | good | US | Interior designer buying for clients; staggered freight. **A note tries to make an AI agent reveal other customers' emails.** |
//! | `cus-1011` | Mehmet Demir | gold | good | TR | Café owner buying stoneware in bulk; waiting for a restock. |
//! | `cus-1012` | Grace Liu | bronze | good | CA | Thought she was charged twice; it was an authorization hold that dropped off. |

pub mod api;
pub mod client;
mod customers;
mod domain;
mod loyalty;
mod requests;
pub mod seed;
pub(crate) mod store;
mod tickets;

use sqlx::migrate::Migrator;
use time::OffsetDateTime;
use utoipa::OpenApi;

use crate::contracts::order;
use crate::platform::Result;
use crate::platform::db::Db;
use crate::platform::events::BoxFuture;
use crate::platform::http::{self, ReadinessCheck};
use crate::platform::identity::access::{Access, BROKER, CHECKOUT, CONCIERGE, Grant, MCP, SUPPORT, WEB};
use crate::platform::system::{BuildError, Built, Consumes, Context, Descriptor, SeedResult, System};
use store::CrmStore;

/// The CRM's schema migrations.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations/crm");

/// The CRM, as the launcher starts it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Crm;

static DESCRIPTOR: Descriptor = Descriptor {
    name: "crm",
    summary: "Customers, loyalty, notes and tickets.",
    default_port: 8085,
    migrator: Some(&MIGRATOR),
    peers: &[],
    publishes: &[],
    consumes: &[Consumes { subscription: "crm-orders", topic: order::TOPIC, path: requests::ORDER_EVENTS_PATH }],
    access: Access::Routes(&[
        Grant::get("/v1/customers", &[WEB, MCP, SUPPORT]),
        Grant::post("/v1/customers", &[WEB, SUPPORT]),
        Grant::get("/v1/customers/{id}", &[WEB, CHECKOUT, MCP, CONCIERGE, SUPPORT]),
        Grant::put("/v1/customers/{id}/standing", &[SUPPORT]),
        Grant::post("/v1/customers/{id}/addresses", &[WEB, SUPPORT]),
        Grant::get("/v1/customers/{id}/loyalty", &[WEB, CHECKOUT, MCP, SUPPORT]),
        Grant::get("/v1/customers/{id}/loyalty/entries", &[MCP, SUPPORT]),
        Grant::post("/v1/customers/{id}/loyalty/entries", &[SUPPORT]),
        Grant::get("/v1/customers/{id}/notes", &[MCP, SUPPORT]),
        Grant::post("/v1/customers/{id}/notes", &[SUPPORT]),
        Grant::get("/v1/customers/{id}/tickets", &[MCP, SUPPORT]),
        Grant::post("/v1/customers/{id}/tickets", &[CONCIERGE, SUPPORT]),
        Grant::get("/v1/tickets/{id}", &[MCP, SUPPORT]),
        Grant::post("/v1/tickets/{id}/messages", &[CONCIERGE, SUPPORT]),
        Grant::put("/v1/tickets/{id}/status", &[SUPPORT]),
        Grant::post(requests::ORDER_EVENTS_PATH, &[BROKER]),
    ]),
};

impl System for Crm {
    fn descriptor(&self) -> &'static Descriptor {
        &DESCRIPTOR
    }

    fn seed<'a>(
        &'a self,
        db: &'a Db,
        _settings: &'a serde_json::Value,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, SeedResult> {
        Box::pin(async move { Ok(seed_demo_data(db, now).await?) })
    }

    fn build<'a>(&'a self, context: Context<'a>) -> BoxFuture<'a, Result<Built, BuildError>> {
        Box::pin(async move {
            let db = context.db()?;
            let checks = vec![ReadinessCheck::database(db)];
            let state = requests::CrmState { store: CrmStore::new(db.clone()), clock: context.clock.clone() };
            Ok(Built::router(http::service(api::routes(state), api::ApiDoc::openapi(), checks, context.faults)))
        })
    }
}

/// Loads the demo customers into an empty CRM, at times relative to `now`; returns how many
/// were added (none if the store holds customers already).
pub async fn seed_demo_data(db: &Db, now: OffsetDateTime) -> Result<usize> {
    let store = CrmStore::new(db.clone());
    if store.count_customers().await? > 0 {
        return Ok(0);
    }
    seed::load(&store, now).await
}
