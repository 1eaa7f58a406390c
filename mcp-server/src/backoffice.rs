//! The business systems' read APIs, as the MCP server reaches them: GET only, under the
//! read-only [`identity::MCP_SERVER`] identity that every system refuses writes from. This
//! type has no method that writes, and the systems would refuse one if it did.

use std::sync::Arc;
use std::time::Duration;

use business_services::catalog::domain::Product;

use business_services::contracts::order::{OrderId, Receipt};
use business_services::contracts::product::ProductId;
use business_services::crm::domain::{Customer, LoyaltyStatus, Note, Ticket};
use business_services::fraud::domain::Assessment;
use business_services::inventory::domain::Stock;
use business_services::oms::domain::{Order, OrderDetail};
use business_services::payment::domain::Authorization;
use business_services::platform::client::{PeerClient, RequestSigner};
use business_services::platform::identity;
use business_services::platform::page::Page;
use business_services::platform::{Error, Result};
use business_services::warehouse::domain::{Shipment, Tracking};
use serde::de::DeserializeOwned;

/// How long a read may take before the tool reports the system as unavailable.
const DEADLINE: Duration = Duration::from_secs(5);
/// The page size asked for when reading whole lists.
const PAGE: u32 = 100;
/// The most pages read for one list: a bound on work, not a limit anyone should reach.
const MAX_PAGES: usize = 100;

/// Where the systems the server reads are.
#[derive(Debug, Clone)]
pub struct SystemUrls {
    /// Customers, loyalty, notes, tickets.
    pub crm: String,
    /// Receipts.
    pub checkout: String,
    /// Order lifecycles.
    pub oms: String,
    /// Shipments.
    pub warehouse: String,
    /// Risk assessments (signed requests).
    pub fraud: String,
    /// Card authorizations.
    pub payment: String,
    /// Products.
    pub catalog: String,
    /// Stock levels.
    pub inventory: String,
}

/// Read-only clients of the business systems.
#[derive(Debug, Clone)]
pub struct BackOffice {
    crm: PeerClient,
    checkout: PeerClient,
    oms: PeerClient,
    warehouse: PeerClient,
    fraud: PeerClient,
    payment: PeerClient,
    catalog: PeerClient,
    inventory: PeerClient,
}

fn reader(system: &'static str, url: &str) -> PeerClient {
    PeerClient::new(system, url, DEADLINE).with_identity(identity::MCP_SERVER)
}

impl BackOffice {
    /// Clients of the systems at `urls`; fraud requests are signed by `fraud_signer`.
    pub fn new(urls: &SystemUrls, fraud_signer: Arc<dyn RequestSigner>) -> BackOffice {
        BackOffice {
            crm: reader("crm", &urls.crm),
            checkout: reader("checkout", &urls.checkout),
            oms: reader("oms", &urls.oms),
            warehouse: reader("warehouse", &urls.warehouse),
            fraud: reader("fraud", &urls.fraud).with_signer(fraud_signer),
            payment: reader("payment", &urls.payment),
            catalog: reader("catalog", &urls.catalog),
            inventory: reader("inventory", &urls.inventory),
        }
    }

    /// A customer's record.
    pub async fn customer(&self, id: &str) -> Result<Option<Customer>> {
        self.crm.get(&format!("/v1/customers/{}", segment(id)?)).await
    }

    /// Every customer (for the indexer).
    pub async fn customers(&self) -> Result<Vec<Customer>> {
        all_pages(&self.crm, "/v1/customers?").await
    }

    /// A customer's loyalty standing.
    pub async fn loyalty(&self, customer: &str) -> Result<Option<LoyaltyStatus>> {
        self.crm.get(&format!("/v1/customers/{}/loyalty", segment(customer)?)).await
    }

    /// A customer's notes, oldest first.
    pub async fn notes(&self, customer: &str) -> Result<Vec<Note>> {
        all_pages(&self.crm, &format!("/v1/customers/{}/notes?", segment(customer)?)).await
    }

    /// A customer's tickets with their messages.
    pub async fn tickets(&self, customer: &str) -> Result<Vec<Ticket>> {
        all_pages(&self.crm, &format!("/v1/customers/{}/tickets?", segment(customer)?)).await
    }

    /// An order's receipt.
    pub async fn receipt(&self, order: &OrderId) -> Result<Option<Receipt>> {
        self.checkout.get(&format!("/v1/orders/{order}")).await
    }

    /// A customer's latest `limit` receipts, newest first.
    pub async fn receipts_of(&self, customer: &str, limit: u32) -> Result<Vec<Receipt>> {
        let path = format!("/v1/orders?customer_id={}&limit={limit}", segment(customer)?);
        Ok(self.checkout.get::<Page<Receipt>>(&path).await?.map(|page| page.items).unwrap_or_default())
    }

    /// An order's lifecycle in order management, with its history.
    pub async fn lifecycle(&self, order: &str) -> Result<Option<OrderDetail>> {
        self.oms.get(&format!("/v1/orders/{}", segment(order)?)).await
    }

    /// The orders order management holds, newest first, at most `limit` (for the indexer).
    pub async fn recent_orders(&self, limit: u32) -> Result<Vec<Order>> {
        let path = format!("/v1/orders?limit={}", limit.min(PAGE));
        Ok(self.oms.get::<Page<Order>>(&path).await?.map(|page| page.items).unwrap_or_default())
    }

    /// An order's shipments.
    pub async fn shipments(&self, order: &str) -> Result<Vec<Shipment>> {
        let path = format!("/v1/shipments?order_id={}", segment(order)?);
        Ok(self.warehouse.get::<Page<Shipment>>(&path).await?.map(|page| page.items).unwrap_or_default())
    }

    /// A parcel's shipment with the carriers' tracking events, newest first.
    pub async fn tracking(&self, tracking_number: &str) -> Result<Option<Tracking>> {
        self.warehouse.get(&format!("/v1/tracking/{}", segment(tracking_number)?)).await
    }

    /// A card authorization.
    pub async fn authorization(&self, id: &str) -> Result<Option<Authorization>> {
        self.payment.get(&format!("/v1/authorizations/{}", segment(id)?)).await
    }

    /// The fraud assessment made under a checkout reference.
    pub async fn assessment(&self, reference: &str) -> Result<Option<Assessment>> {
        let path = format!("/v1/assessments?reference={}", segment(reference)?);
        Ok(self.fraud.get::<Page<Assessment>>(&path).await?.and_then(|page| page.items.into_iter().next()))
    }

    /// A product.
    pub async fn product(&self, id: &ProductId) -> Result<Option<Product>> {
        self.catalog.get(&format!("/v1/products/{id}")).await
    }

    /// Every product (for the indexer).
    pub async fn products(&self) -> Result<Vec<Product>> {
        all_pages(&self.catalog, "/v1/products?").await
    }

    /// A product's stock; `None` for products the warehouse does not stock (freight items).
    pub async fn stock(&self, product: &ProductId) -> Result<Option<Stock>> {
        self.inventory.get(&format!("/v1/stock/{product}")).await
    }
}

/// Checks that an id is safe as one path segment or query value: ids here are slugs. (Ids a
/// caller types are parsed into their newtypes first, which are.)
fn segment(id: &str) -> Result<&str> {
    let ok = (1..=100).contains(&id.len()) && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
    if ok {
        Ok(id)
    } else {
        Err(Error::invalid(
            "id",
            format!("`{}` is not an id: letters, digits, - and _ only", id.chars().take(40).collect::<String>()),
        ))
    }
}

async fn all_pages<T: DeserializeOwned>(client: &PeerClient, path: &str) -> Result<Vec<T>> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut url = format!("{path}limit={PAGE}");
        if let Some(cursor) = &cursor {
            url.push_str("&cursor=");
            url.extend(form_urlencoded::byte_serialize(cursor.as_bytes()));
        }
        let Some(page) = client.get::<Page<T>>(&url).await? else {
            return Ok(items);
        };
        items.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(items),
        }
    }
    Ok(items)
}
