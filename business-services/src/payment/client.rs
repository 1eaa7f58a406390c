//! The typed client other systems (checkout) use to take card payments.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;

// The types on this client's wire, for its callers.
pub use super::domain::{Authorization, AuthorizationId, AuthorizationStatus, AuthorizeRequest, CardDetails, Refund};
use crate::money::Money;
use crate::platform::client::{Peer, PeerClient, escaped};
use crate::platform::http::ReadinessCheck;
use crate::platform::page::{self, Page};
use crate::platform::{Error, Result};

/// Calls the payment gateway. Every write it makes is idempotent (authorizations and refunds
/// by their key, captures and voids by nature), so every call is retried after transient
/// failures.
#[derive(Debug, Clone)]
pub struct PaymentClient {
    peer: PeerClient,
}

#[derive(Serialize, Deserialize)]
struct RefundBody {
    amount: Money,
}

impl PaymentClient {
    /// A client of the gateway at `peer`, giving each call `deadline`.
    pub fn new(peer: &Peer, deadline: Duration) -> Self {
        PaymentClient { peer: PeerClient::to("payment", peer, deadline) }
    }

    /// Authorizes a card payment; a decline is `Ok` with `status: declined` and its code.
    /// Use one `idempotency_key` per payment, the same on every retry: it charges once.
    pub async fn authorize(&self, request: &AuthorizeRequest, idempotency_key: &str) -> Result<Authorization> {
        let path = "/v1/authorizations";
        self.peer.post(path, request, Some(idempotency_key)).await?.ok_or_else(|| self.peer.unserved(path))
    }

    /// Captures the whole authorized amount. A declined or voided authorization, or a capture
    /// the issuer declines (detail starting `capture_declined`), is [`Error::Conflict`].
    pub async fn capture(&self, id: &AuthorizationId) -> Result<Authorization> {
        self.act(id, "capture").await
    }

    /// Voids an authorization. A captured one is [`Error::Conflict`]: refund it instead.
    pub async fn void(&self, id: &AuthorizationId) -> Result<Authorization> {
        self.act(id, "void").await
    }

    async fn act(&self, id: &AuthorizationId, action: &str) -> Result<Authorization> {
        // Both are idempotent on the authorization: the key only tells the client to retry.
        let key = format!("{action}-{id}");
        self.peer
            .post(&format!("/v1/authorizations/{id}/{action}"), &json!({}), Some(&key))
            .await
            .map_err(Error::peer_conflict)?
            .ok_or_else(|| Error::not_found("authorization", id.as_str()))
    }

    /// Refunds `amount` of a captured payment, once per `idempotency_key`. A payment that was
    /// not captured is [`Error::Conflict`].
    pub async fn refund(&self, id: &AuthorizationId, amount: Money, idempotency_key: &str) -> Result<Refund> {
        self.peer
            .post(&format!("/v1/authorizations/{id}/refunds"), &RefundBody { amount }, Some(idempotency_key))
            .await
            .map_err(Error::peer_conflict)?
            .ok_or_else(|| Error::not_found("authorization", id.as_str()))
    }

    /// One authorization; `None` when the gateway has no such authorization.
    pub async fn authorization(&self, id: &AuthorizationId) -> Result<Option<Authorization>> {
        self.peer.get(&format!("/v1/authorizations/{id}")).await
    }

    /// The authorization `id` as a caller was given it; `None` when the gateway has none.
    pub async fn find_authorization(&self, id: &str) -> Result<Option<Authorization>> {
        self.peer.get(&format!("/v1/authorizations/{}", escaped(id))).await
    }

    /// Every authorization made under `reference`, oldest first: what a caller that crashed
    /// mid-payment had done.
    pub async fn by_reference(&self, reference: &str) -> Result<Vec<Authorization>> {
        let reference: String = form_urlencoded::byte_serialize(reference.as_bytes()).collect();
        let mut found = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/v1/authorizations?reference={reference}&limit={}", page::MAX_LIMIT);
            if let Some(cursor) = &cursor {
                path.push_str(&format!("&cursor={cursor}"));
            }
            let page: Page<Authorization> = self.peer.get(&path).await?.ok_or_else(|| self.peer.unserved(&path))?;
            found.extend(page.items);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(found),
            }
        }
    }

    /// A readiness check that the gateway answers.
    pub fn readiness(&self) -> ReadinessCheck {
        let peer = self.peer.clone();
        ReadinessCheck::new("payment", move || {
            let peer = peer.clone();
            async move { peer.healthz().await }
        })
    }
}
