//! The typed client checkout uses to score orders, signing every request.

use std::sync::Arc;
use std::time::Duration;

// The types on this client's wire, for its callers.
pub use super::domain::{Assessment, AssessmentId, AssessmentRequest, CardSummary, Decision, Location};
use crate::platform::client::{Peer, PeerClient, RequestSigner, escaped};
use crate::platform::clock::SystemClock;
use crate::platform::http::ReadinessCheck;
use crate::platform::page::Page;
use crate::platform::signing::HmacSigner;
use crate::platform::{Error, Result};

/// Calls the fraud engine across the interconnect.
#[derive(Debug, Clone)]
pub struct FraudClient {
    peer: PeerClient,
}

impl FraudClient {
    /// A client of the engine at `peer`, giving each call `deadline` and signing every
    /// request as `key_id` with `secret`.
    pub fn new(peer: &Peer, deadline: Duration, key_id: &str, secret: &str) -> Self {
        let signer = HmacSigner::new(key_id, secret, Arc::new(SystemClock));
        FraudClient { peer: PeerClient::to("fraud", peer, deadline).with_signer(Arc::new(signer)) }
    }

    /// A client of the engine at `peer`, giving each call `deadline` and signing every
    /// request with `signer`.
    pub fn signed_by(peer: &Peer, deadline: Duration, signer: Arc<dyn RequestSigner>) -> Self {
        FraudClient { peer: PeerClient::to("fraud", peer, deadline).with_signer(signer) }
    }

    /// Scores an order. Retried safely: the same reference answers the same assessment.
    pub async fn assess(&self, request: &AssessmentRequest) -> Result<Assessment> {
        let path = "/v1/assessments";
        self.peer.post(path, request, Some(&request.reference)).await?.ok_or_else(|| Error::Upstream {
            dependency: "fraud".into(),
            status: 404,
            detail: format!("POST {path} was not found: check the fraud engine's URL"),
            field: None,
        })
    }

    /// The assessment `id`; `None` when the engine has none.
    pub async fn assessment(&self, id: &AssessmentId) -> Result<Option<Assessment>> {
        self.peer.get(&format!("/v1/assessments/{id}")).await
    }

    /// The assessment made under the checkout `reference`; `None` when there is none.
    pub async fn by_reference(&self, reference: &str) -> Result<Option<Assessment>> {
        let path = format!("/v1/assessments?reference={}", escaped(reference));
        Ok(self.peer.get::<Page<Assessment>>(&path).await?.and_then(|page| page.items.into_iter().next()))
    }

    /// A readiness check that the engine answers.
    pub fn readiness(&self) -> ReadinessCheck {
        let peer = self.peer.clone();
        ReadinessCheck::new("fraud", move || {
            let peer = peer.clone();
            async move { peer.healthz().await }
        })
    }
}
