//! The typed client other systems use to read customers, award points and open tickets.

use std::time::Duration;

use serde::Serialize;

// The types on this client's wire, and the loyalty rules, for its callers.
pub use super::customers::domain::{Address, Customer, Note};
pub use super::domain::{CustomerId, Standing};
pub use super::loyalty::domain::{LoyaltyStatus, Tier, check_reference, tier_for};
pub use super::tickets::domain::{Channel, NewTicket, Priority, Ticket};
use crate::platform::client::{Peer, PeerClient, escaped};
use crate::platform::http::ReadinessCheck;
use crate::platform::page::Page;
use crate::platform::{Error, Result};

/// Calls the CRM service.
#[derive(Debug, Clone)]
pub struct CrmClient {
    peer: PeerClient,
}

/// A points entry as the CRM expects it.
#[derive(Debug, Serialize)]
struct PointsEntry<'a> {
    delta: i64,
    reason: &'a str,
    reference: &'a str,
}

/// A ticket opened by another system: its first message is signed `system`.
#[derive(Debug, Serialize)]
struct SystemTicket<'a> {
    #[serde(flatten)]
    ticket: &'a NewTicket,
    author: &'static str,
}

impl CrmClient {
    /// A client of the CRM at `peer`, giving each call `deadline`.
    pub fn new(peer: &Peer, deadline: Duration) -> Self {
        CrmClient { peer: PeerClient::to("crm", peer, deadline) }
    }

    /// One customer with addresses, standing, tier and discount; `None` when there is no such customer.
    pub async fn customer(&self, id: &CustomerId) -> Result<Option<Customer>> {
        self.peer.get(&format!("/v1/customers/{id}")).await
    }

    /// The customer `id` as a caller was given it; `None` when there is no such customer (a
    /// malformed id is the CRM's refusal, an error).
    pub async fn find_customer(&self, id: &str) -> Result<Option<Customer>> {
        self.peer.get(&format!("/v1/customers/{}", escaped(id))).await
    }

    /// Up to `limit` customers whose name or email contains `text`.
    pub async fn search(&self, text: &str, limit: u32) -> Result<Vec<Customer>> {
        let path = format!("/v1/customers?limit={limit}&q={}", escaped(text));
        let page: Option<Page<Customer>> = self.peer.get(&path).await?;
        Ok(page.map(|page| page.items).unwrap_or_default())
    }

    /// Every customer, page by page.
    pub async fn customers(&self) -> Result<Vec<Customer>> {
        self.peer.get_all("/v1/customers?").await
    }

    /// A customer's loyalty standing; `None` when there is no such customer.
    pub async fn loyalty(&self, customer: &str) -> Result<Option<LoyaltyStatus>> {
        self.peer.get(&format!("/v1/customers/{}/loyalty", escaped(customer))).await
    }

    /// A customer's notes, oldest first.
    pub async fn notes(&self, customer: &str) -> Result<Vec<Note>> {
        self.peer.get_all(&format!("/v1/customers/{}/notes?", escaped(customer))).await
    }

    /// A customer's tickets with their messages.
    pub async fn tickets(&self, customer: &str) -> Result<Vec<Ticket>> {
        self.peer.get_all(&format!("/v1/customers/{}/tickets?", escaped(customer))).await
    }

    /// Adds (or, when `delta` is negative, takes) points once per `reference`, e.g. an order id.
    ///
    /// The CRM records one entry per reference, so the call is retried after transient failures
    /// (the reference doubles as the idempotency key) and is safe to repeat. Answers with the
    /// customer's loyalty status after the entry.
    pub async fn award_points(
        &self,
        id: &CustomerId,
        delta: i64,
        reason: &str,
        reference: &str,
    ) -> Result<LoyaltyStatus> {
        // The reference travels as a header too: refuse what no header could carry.
        check_reference(reference).map_err(|message| Error::invalid("reference", message))?;
        let entry = PointsEntry { delta, reason, reference };
        self.peer
            .post(&format!("/v1/customers/{id}/loyalty/entries"), &entry, Some(reference))
            .await?
            .ok_or_else(|| Error::not_found("customer", id.as_str()))
    }

    /// Opens a support ticket for a customer, signed `system`; the same `idempotency_key` opens it once.
    pub async fn open_ticket(&self, id: &CustomerId, ticket: &NewTicket, idempotency_key: &str) -> Result<Ticket> {
        let body = SystemTicket { ticket, author: "system" };
        self.peer
            .post(&format!("/v1/customers/{id}/tickets"), &body, Some(idempotency_key))
            .await?
            .ok_or_else(|| Error::not_found("customer", id.as_str()))
    }

    /// A readiness check that the CRM answers.
    pub fn readiness(&self) -> ReadinessCheck {
        let peer = self.peer.clone();
        ReadinessCheck::new("crm", move || {
            let peer = peer.clone();
            async move { peer.healthz().await }
        })
    }
}
