//! The typed client other systems (checkout) use to hold, commit and release stock.

use std::time::Duration;

use serde_json::json;

// The types on this client's wire, for its callers.
pub use super::domain::{Reservation, ReservationId, ReservationLine, ReservationStatus, ReserveRequest, Stock};
use crate::contracts::product::ProductId;
use crate::platform::client::{Peer, PeerClient};
use crate::platform::http::ReadinessCheck;
use crate::platform::{Error, Result};

/// Calls the inventory service. Every write it makes is idempotent, so every call is retried
/// after transient failures.
#[derive(Debug, Clone)]
pub struct InventoryClient {
    peer: PeerClient,
}

impl InventoryClient {
    /// A client of inventory at `peer`, giving each call `deadline`.
    pub fn new(peer: &Peer, deadline: Duration) -> Self {
        InventoryClient { peer: PeerClient::to("inventory", peer, deadline) }
    }

    /// Holds stock. Retried safely: inventory reserves once per reference. Too few units is
    /// [`Error::Conflict`] naming the short products and what is available.
    pub async fn reserve(&self, request: &ReserveRequest) -> Result<Reservation> {
        let path = "/v1/reservations";
        self.peer
            .post(path, request, Some(&request.reference))
            .await
            .map_err(Error::peer_conflict)?
            .ok_or_else(|| self.peer.unserved(path))
    }

    /// Commits a held reservation: its units are sold. A released (or expired) reservation is
    /// [`Error::Conflict`].
    pub async fn commit(&self, id: &ReservationId) -> Result<Reservation> {
        self.finish(id, "commit").await
    }

    /// Releases a held reservation. A committed reservation is [`Error::Conflict`].
    pub async fn release(&self, id: &ReservationId) -> Result<Reservation> {
        self.finish(id, "release").await
    }

    async fn finish(&self, id: &ReservationId, action: &str) -> Result<Reservation> {
        // Both are idempotent on the reservation: the key only tells the client to retry.
        let key = format!("{action}-{id}");
        self.peer
            .post(&format!("/v1/reservations/{id}/{action}"), &json!({}), Some(&key))
            .await
            .map_err(Error::peer_conflict)?
            .ok_or_else(|| Error::not_found("reservation", id.as_str()))
    }

    /// Puts the units of a committed reservation back on the shelf, once however often it is
    /// called: a receipt per line, keyed by the reservation and the product.
    pub async fn return_units(&self, reservation: &Reservation) -> Result<()> {
        for line in &reservation.lines {
            let path = format!("/v1/stock/{}/movements", line.product_id);
            let body = json!({
                "delta": line.quantity,
                "kind": "receipt",
                "reference": format!("return-{}", reservation.reference),
            });
            let key = format!("return-{}-{}", reservation.id, line.product_id);
            let _: serde_json::Value =
                self.peer.post(&path, &body, Some(&key)).await?.ok_or_else(|| self.peer.unserved(&path))?;
        }
        Ok(())
    }

    /// One reservation; `None` when inventory has no such reservation.
    pub async fn reservation(&self, id: &ReservationId) -> Result<Option<Reservation>> {
        self.peer.get(&format!("/v1/reservations/{id}")).await
    }

    /// The reservation made under `reference`, if any: what a caller that crashed before
    /// recording its reservation had done.
    pub async fn by_reference(&self, reference: &str) -> Result<Option<Reservation>> {
        let reference: String = form_urlencoded::byte_serialize(reference.as_bytes()).collect();
        let path = format!("/v1/reservations?reference={reference}");
        let found: Vec<Reservation> = self.peer.get(&path).await?.ok_or_else(|| self.peer.unserved(&path))?;
        Ok(found.into_iter().next())
    }

    /// The stock of one product; `None` when inventory does not stock it.
    pub async fn stock(&self, product: &ProductId) -> Result<Option<Stock>> {
        self.peer.get(&format!("/v1/stock/{product}")).await
    }

    /// A readiness check that inventory answers.
    pub fn readiness(&self) -> ReadinessCheck {
        let peer = self.peer.clone();
        ReadinessCheck::new("inventory", move || {
            let peer = peer.clone();
            async move { peer.healthz().await }
        })
    }
}
