//! What order management needs of the accounting ledger, as a trait: the accounting client
//! implements it, and tests stand a ledger of their own behind it.

use std::future::Future;
use std::pin::Pin;

use crate::accounting::client::AccountingClient;
use crate::accounting::client::Sale;
use crate::contracts::order::OrderId;
use crate::platform::Result;

/// A boxed future, as the ledger's methods return.
pub type LedgerFuture<'a> = Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>>;

/// The accounting ledger. Both calls must be idempotent on the order id: order management
/// calls them again after a failure or a redelivered event.
pub trait Ledger: Send + Sync + std::fmt::Debug {
    /// Records the sale of an order (once per order).
    fn record_sale<'a>(&'a self, sale: &'a Sale) -> LedgerFuture<'a>;

    /// Recognizes the revenue of a shipped order (once per order).
    fn recognize_revenue<'a>(&'a self, order_id: &'a OrderId) -> LedgerFuture<'a>;
}

/// The accounting system is the ledger.
impl Ledger for AccountingClient {
    fn record_sale<'a>(&'a self, sale: &'a Sale) -> LedgerFuture<'a> {
        Box::pin(async move { AccountingClient::record_sale(self, sale).await.map(drop) })
    }

    fn recognize_revenue<'a>(&'a self, order_id: &'a OrderId) -> LedgerFuture<'a> {
        Box::pin(async move { AccountingClient::recognize_revenue(self, order_id).await.map(drop) })
    }
}
