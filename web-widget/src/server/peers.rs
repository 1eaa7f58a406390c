//! The systems the web calls: catalog, currency, cart, checkout and CRM over their HTTP APIs,
//! the Concierge with a session token, and the read-only MCP server with a capability token
//! minted for the signed-in user (so the dashboard and the order pages see exactly what that
//! role may see, masked and audited like any MCP client).

use std::time::Duration;

use business_services::cart::client::{Cart, CartClient};
use business_services::catalog::client::{CatalogClient, Categories, Product};
use business_services::checkout::client::{CheckoutClient, Receipt};
use business_services::crm::client::{CrmClient, Customer};
use business_services::currency::client::CurrencyClient;
use business_services::currency::domain::Rate;
use business_services::platform::identity::Credentials;
use business_services::platform::{Error, Result};
use investigator::mcp::{CapabilityToken, McpSession};
use mcp_contract::token::{Grant, TokenKey, unix_now};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::accounts::Account;

/// How long a page waits for any one system.
const DEADLINE: Duration = Duration::from_secs(10);
/// How long a token minted for one page's or one message's calls lives.
const TOKEN_TTL: Duration = Duration::from_secs(300);
/// The most MCP tool calls one page makes.
const MCP_CALLS_PER_PAGE: u32 = 40;
/// The most products a listing shows.
const PRODUCTS_PER_PAGE: u32 = 100;
/// The most customers a staff search finds.
const CUSTOMERS_PER_SEARCH: u32 = 25;

/// Where the web finds each system it calls.
#[derive(Debug, Clone)]
pub struct PeerUrls {
    /// Products and pictures.
    pub catalog: String,
    /// Exchange rates.
    pub currency: String,
    /// Carts.
    pub cart: String,
    /// Orders.
    pub checkout: String,
    /// Customers (staff search).
    pub crm: String,
    /// The read-only MCP endpoint (`…/mcp`).
    pub mcp: String,
    /// The Concierge.
    pub concierge: String,
    /// What the web presents to the business systems.
    pub credentials: Credentials,
}

/// Typed calls to the web's peers.
#[derive(Clone)]
pub struct Peers {
    catalog: CatalogClient,
    currency: CurrencyClient,
    cart: CartClient,
    checkout: CheckoutClient,
    crm: CrmClient,
    mcp_url: String,
    concierge_url: String,
    key: TokenKey,
    http: reqwest::Client,
}

impl Peers {
    /// Clients of the systems at `urls`; tokens are signed with `key`.
    pub fn new(urls: &PeerUrls, key: TokenKey) -> Peers {
        Peers {
            catalog: CatalogClient::new(&urls.credentials.at(&urls.catalog), DEADLINE),
            currency: CurrencyClient::new(&urls.credentials.at(&urls.currency), DEADLINE),
            cart: CartClient::new(&urls.credentials.at(&urls.cart), DEADLINE),
            checkout: CheckoutClient::new(&urls.credentials.at(&urls.checkout), DEADLINE),
            crm: CrmClient::new(&urls.credentials.at(&urls.crm), DEADLINE),
            mcp_url: urls.mcp.clone(),
            concierge_url: urls.concierge.trim_end_matches('/').to_owned(),
            key,
            http: reqwest::Client::new(),
        }
    }

    /// Products, in `category` if given.
    pub async fn products(&self, category: Option<&str>) -> Result<Vec<Product>> {
        self.catalog.products(category, PRODUCTS_PER_PAGE).await
    }

    /// The product `id`, if the catalog has it.
    pub async fn product(&self, id: &str) -> Result<Option<Product>> {
        self.catalog.find_product(id).await
    }

    /// Category names with their sizes.
    pub async fn categories(&self) -> Result<Categories> {
        self.catalog.categories().await
    }

    /// A product's picture: its bytes and content type; `None` when the catalog has none, and
    /// the catalog's refusal (a malformed id is a 422) as an error, never as a picture.
    pub async fn picture(&self, id: &str) -> Result<Option<(Vec<u8>, String)>> {
        let picture = self.catalog.picture(id).await?;
        Ok(picture.map(|picture| (picture.bytes, picture.content_type)))
    }

    /// Every published exchange rate.
    pub async fn rates(&self) -> Result<Vec<Rate>> {
        self.currency.rates().await
    }

    /// The cart `id`.
    pub async fn cart(&self, id: &str) -> Result<Cart> {
        self.cart.cart_named(id).await
    }

    /// Adds `quantity` of `product` to the cart `id`.
    pub async fn add_to_cart(&self, id: &str, product: &str, quantity: u32) -> Result<()> {
        self.cart.add_item(id, product, quantity).await
    }

    /// Empties the cart `id`.
    pub async fn empty_cart(&self, id: &str) -> Result<()> {
        self.cart.empty(id).await
    }

    /// Places an order: `order` is the checkout API's request, sent once per `idempotency_key`.
    pub async fn place_order(&self, order: &impl Serialize, idempotency_key: &str) -> Result<Receipt> {
        self.checkout.place_order(order, idempotency_key).await
    }

    /// The customer `id`, as the CRM holds them (their own details, to fill in their forms).
    pub async fn customer(&self, id: &str) -> Result<Option<Customer>> {
        self.crm.find_customer(id).await
    }

    /// Customers whose name or email contains `text` (staff search).
    pub async fn search_customers(&self, text: &str) -> Result<Vec<Customer>> {
        self.crm.search(text, CUSTOMERS_PER_SEARCH).await
    }

    /// An MCP session reading as `account`, about `customer` (themselves, for customers).
    pub async fn mcp(&self, account: &Account, customer: &str) -> Result<Mcp> {
        let token = self.mint(account, Some(customer), &self.mcp_url)?;
        let session = McpSession::connect(&self.mcp_url, &CapabilityToken::new(token), MCP_CALLS_PER_PAGE)
            .await
            .map_err(|error| Error::Unavailable { dependency: "mcp".into(), detail: error.to_string() })?;
        Ok(Mcp { session })
    }

    /// A session token for the Concierge, for `account` (about `customer`, for staff).
    pub fn concierge_token(&self, account: &Account, customer: Option<&str>) -> Result<String> {
        self.mint(account, customer, concierge::session::AUDIENCE)
    }

    /// A request to the Concierge's `path`, carrying `token`.
    pub fn concierge(&self, method: reqwest::Method, path: &str, token: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}{path}", self.concierge_url)).bearer_auth(token)
    }

    fn mint(&self, account: &Account, customer: Option<&str>, audience: &str) -> Result<String> {
        let grant = Grant {
            subject: account.subject.clone(),
            role: account.role,
            customer: account.customer.clone().or_else(|| customer.map(str::to_owned)),
            ttl: TOKEN_TTL,
        };
        self.key.mint(&grant, audience, unix_now()).map_err(|error| Error::Internal { detail: error.to_string() })
    }
}

/// An MCP session for one page.
pub struct Mcp {
    session: McpSession,
}

impl Mcp {
    /// Calls `tool` with `arguments`: `Ok(None)` when the server refuses (not found, not
    /// permitted), with the refusal logged.
    pub async fn read<T: DeserializeOwned>(&self, tool: &str, arguments: Value) -> Result<Option<T>> {
        match self.session.read(tool, arguments).await {
            Ok(Ok(value)) => Ok(Some(value)),
            Ok(Err(refusal)) => {
                tracing::info!(tool, %refusal, "The MCP server refused a read.");
                Ok(None)
            }
            Err(error) => Err(Error::Unavailable { dependency: "mcp".into(), detail: error.to_string() }),
        }
    }

    /// Ends the session.
    pub async fn close(self) {
        self.session.close().await;
    }
}

/// The error for a `peer` that could not be reached.
pub fn unavailable(peer: &str, error: &reqwest::Error) -> Error {
    Error::Unavailable { dependency: peer.to_owned(), detail: error.to_string() }
}
