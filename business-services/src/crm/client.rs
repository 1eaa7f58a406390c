//! The typed client other systems use to read customers, award points and open tickets.

use std::time::Duration;

use serde::Serialize;

// The types on this client's wire, for its callers.
pub use super::domain::{Customer, CustomerId, LoyaltyStatus, NewTicket, Standing, Ticket, check_reference};
use crate::platform::client::PeerClient;
use crate::platform::http::ReadinessCheck;
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
    /// A client of the CRM at `base_url`, giving each call `deadline`.
    pub fn new(base_url: &str, deadline: Duration) -> Self {
        CrmClient { peer: PeerClient::new("crm", base_url, deadline) }
    }

    /// One customer with addresses, standing, tier and discount; `None` when there is no such customer.
    pub async fn customer(&self, id: &CustomerId) -> Result<Option<Customer>> {
        self.peer.get(&format!("/v1/customers/{id}")).await
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
