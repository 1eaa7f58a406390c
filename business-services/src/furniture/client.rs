//! The typed client checkout uses to quote freight and reserve delivery slots.

use std::time::Duration;

// The types on this client's wire, for its callers.
pub use super::domain::{
    Destination, FreightItem, Quote, QuoteId, QuoteRequest, ReservationStatus, SlotReservation, SlotReservationId,
    SlotReservationRequest,
};
use crate::platform::client::{Peer, PeerClient};
use crate::platform::http::ReadinessCheck;
use crate::platform::{Error, Result};

/// Calls the furniture logistics ERP.
#[derive(Debug, Clone)]
pub struct FurnitureClient {
    peer: PeerClient,
}

impl FurnitureClient {
    /// A client of the ERP at `peer`, giving each call `deadline`.
    pub fn new(peer: &Peer, deadline: Duration) -> Self {
        FurnitureClient { peer: PeerClient::to("furniture", peer, deadline) }
    }

    /// Quotes freight for `request`. Retried safely: every attempt carries the same
    /// idempotency key, so retries answer the same quote.
    pub async fn quote(&self, request: &QuoteRequest) -> Result<Quote> {
        let key = uuid::Uuid::new_v4().to_string();
        let path = "/v1/freight-quotes";
        self.peer.post(path, request, Some(&key)).await?.ok_or_else(|| missing_route(path))
    }

    /// Holds a place in `slot_id` of the quote `quote_id` under the caller's `reference`.
    /// Retried safely: the same reference answers the same reservation. A slot that filled up
    /// meanwhile is [`Error::Conflict`].
    pub async fn reserve_slot(&self, quote_id: &QuoteId, slot_id: &str, reference: &str) -> Result<SlotReservation> {
        let request = SlotReservationRequest {
            quote_id: quote_id.clone(),
            slot_id: slot_id.to_owned(),
            reference: reference.to_owned(),
        };
        let path = "/v1/slot-reservations";
        self.peer
            .post(path, &request, Some(reference))
            .await
            .map_err(Error::peer_conflict)?
            .ok_or_else(|| missing_route(path))
    }

    /// Confirms the reservation `id`; confirming again changes nothing, so it is retried. A
    /// cancelled reservation, or a lapsed hold whose slot filled up, is [`Error::Conflict`].
    pub async fn confirm(&self, id: &SlotReservationId) -> Result<SlotReservation> {
        self.change(id, "confirm").await
    }

    /// Cancels the reservation `id` and frees its place; cancelling again changes nothing,
    /// so it is retried.
    pub async fn cancel(&self, id: &SlotReservationId) -> Result<SlotReservation> {
        self.change(id, "cancel").await
    }

    async fn change(&self, id: &SlotReservationId, action: &str) -> Result<SlotReservation> {
        let key = format!("{action}-{id}");
        let path = format!("/v1/slot-reservations/{id}/{action}");
        self.peer
            .post(&path, &serde_json::json!({}), Some(&key))
            .await
            .map_err(Error::peer_conflict)?
            .ok_or_else(|| Error::not_found("slot reservation", id.as_str()))
    }

    /// The reservation `id`; `None` when the ERP has none.
    pub async fn reservation(&self, id: &SlotReservationId) -> Result<Option<SlotReservation>> {
        self.peer.get(&format!("/v1/slot-reservations/{id}")).await
    }

    /// The reservation made under `reference`, if any: what a caller that crashed before
    /// recording its booking had done.
    pub async fn by_reference(&self, reference: &str) -> Result<Option<SlotReservation>> {
        let reference: String = form_urlencoded::byte_serialize(reference.as_bytes()).collect();
        let path = format!("/v1/slot-reservations?reference={reference}");
        let found: Vec<SlotReservation> = self.peer.get(&path).await?.ok_or_else(|| missing_route(&path))?;
        Ok(found.into_iter().next())
    }

    /// A readiness check that the ERP answers.
    pub fn readiness(&self) -> ReadinessCheck {
        let peer = self.peer.clone();
        ReadinessCheck::new("furniture", move || {
            let peer = peer.clone();
            async move { peer.healthz().await }
        })
    }
}

/// A 404 from a collection route: the ERP is not where the client was told it is.
fn missing_route(path: &str) -> Error {
    Error::Upstream {
        dependency: "furniture".into(),
        status: 404,
        detail: format!("POST {path} was not found: check the furniture URL"),
        field: None,
    }
}
