//! The business systems' read APIs, as the MCP server reaches them: GET only, with the `mcp`
//! service identity, which each system's route table admits on the reads the server needs and
//! nowhere else. This type has no method that writes, and the systems would refuse one if it did.

use std::sync::Arc;
use std::time::Duration;

use business_services::catalog::client::{CatalogClient, Product};
use business_services::checkout::client::{CheckoutClient, OrderId, Receipt};
use business_services::contracts::product::ProductId;
use business_services::crm::client::{CrmClient, Customer, LoyaltyStatus, Note, Ticket};
use business_services::fraud::client::{Assessment, FraudClient};
use business_services::inventory::client::{InventoryClient, Stock};
use business_services::oms::client::{OmsClient, Order, OrderDetail};
use business_services::payment::client::{Authorization, PaymentClient};
use business_services::platform::client::RequestSigner;
use business_services::platform::identity::Credentials;
use business_services::platform::page::MAX_LIMIT;
use business_services::platform::{Error, Result};
use business_services::warehouse::client::{Shipment, Tracking, WarehouseClient};

/// How long a read may take before the tool reports the system as unavailable.
const DEADLINE: Duration = Duration::from_secs(5);

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
    /// What the server presents to them: the `mcp` identity, which every system admits on the
    /// read routes it needs and nowhere else.
    pub credentials: Credentials,
}

/// Read-only clients of the business systems.
#[derive(Debug, Clone)]
pub struct BackOffice {
    crm: CrmClient,
    checkout: CheckoutClient,
    oms: OmsClient,
    warehouse: WarehouseClient,
    fraud: FraudClient,
    payment: PaymentClient,
    catalog: CatalogClient,
    inventory: InventoryClient,
}

impl BackOffice {
    /// Clients of the systems at `urls`; fraud requests are signed by `fraud_signer`.
    pub fn new(urls: &SystemUrls, fraud_signer: Arc<dyn RequestSigner>) -> BackOffice {
        BackOffice {
            crm: CrmClient::new(&urls.credentials.at(&urls.crm), DEADLINE),
            checkout: CheckoutClient::new(&urls.credentials.at(&urls.checkout), DEADLINE),
            oms: OmsClient::new(&urls.credentials.at(&urls.oms), DEADLINE),
            warehouse: WarehouseClient::new(&urls.credentials.at(&urls.warehouse), DEADLINE),
            fraud: FraudClient::signed_by(&urls.credentials.at(&urls.fraud), DEADLINE, fraud_signer),
            payment: PaymentClient::new(&urls.credentials.at(&urls.payment), DEADLINE),
            catalog: CatalogClient::new(&urls.credentials.at(&urls.catalog), DEADLINE),
            inventory: InventoryClient::new(&urls.credentials.at(&urls.inventory), DEADLINE),
        }
    }

    /// A customer's record.
    pub async fn customer(&self, id: &str) -> Result<Option<Customer>> {
        self.crm.find_customer(segment(id)?).await
    }

    /// Every customer (for the indexer).
    pub async fn customers(&self) -> Result<Vec<Customer>> {
        self.crm.customers().await
    }

    /// A customer's loyalty standing.
    pub async fn loyalty(&self, customer: &str) -> Result<Option<LoyaltyStatus>> {
        self.crm.loyalty(segment(customer)?).await
    }

    /// A customer's notes, oldest first.
    pub async fn notes(&self, customer: &str) -> Result<Vec<Note>> {
        self.crm.notes(segment(customer)?).await
    }

    /// A customer's tickets with their messages.
    pub async fn tickets(&self, customer: &str) -> Result<Vec<Ticket>> {
        self.crm.tickets(segment(customer)?).await
    }

    /// An order's receipt.
    pub async fn receipt(&self, order: &OrderId) -> Result<Option<Receipt>> {
        self.checkout.receipt(order).await
    }

    /// A customer's latest `limit` receipts, newest first.
    pub async fn receipts_of(&self, customer: &str, limit: u32) -> Result<Vec<Receipt>> {
        self.checkout.receipts_of(segment(customer)?, limit).await
    }

    /// An order's lifecycle in order management, with its history.
    pub async fn lifecycle(&self, order: &str) -> Result<Option<OrderDetail>> {
        self.oms.order(segment(order)?).await
    }

    /// The orders order management holds, newest first, at most `limit` (for the indexer).
    pub async fn recent_orders(&self, limit: u32) -> Result<Vec<Order>> {
        self.oms.orders(limit.min(MAX_LIMIT)).await
    }

    /// An order's shipments.
    pub async fn shipments(&self, order: &str) -> Result<Vec<Shipment>> {
        self.warehouse.find_shipments(segment(order)?).await
    }

    /// A parcel's shipment with the carriers' tracking events, newest first.
    pub async fn tracking(&self, tracking_number: &str) -> Result<Option<Tracking>> {
        self.warehouse.tracking(segment(tracking_number)?).await
    }

    /// A card authorization.
    pub async fn authorization(&self, id: &str) -> Result<Option<Authorization>> {
        self.payment.find_authorization(segment(id)?).await
    }

    /// The fraud assessment made under a checkout reference.
    pub async fn assessment(&self, reference: &str) -> Result<Option<Assessment>> {
        self.fraud.by_reference(segment(reference)?).await
    }

    /// A product.
    pub async fn product(&self, id: &ProductId) -> Result<Option<Product>> {
        self.catalog.product(id).await
    }

    /// Every product (for the indexer).
    pub async fn products(&self) -> Result<Vec<Product>> {
        self.catalog.all_products().await
    }

    /// A product's stock; `None` for products the warehouse does not stock (freight items).
    pub async fn stock(&self, product: &ProductId) -> Result<Option<Stock>> {
        self.inventory.stock(product).await
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
