//! The typed client other systems (order management) use to ship orders and follow shipments.

use std::time::Duration;

// The types on this client's wire, for its callers.
pub use super::domain::{FreightSlot, NewShipment, Shipment, ShipmentLine, Tracking, TrackingUpdate};

use crate::contracts::order::OrderId;
use crate::contracts::shipment::ShipmentId;
use crate::platform::client::{Peer, PeerClient, escaped};
use crate::platform::http::ReadinessCheck;
use crate::platform::page::Page;
use crate::platform::{Error, Result};

/// Calls the warehouse. Its writes are idempotent (on the order, on the status), so every call
/// is retried after transient failures.
#[derive(Debug, Clone)]
pub struct WarehouseClient {
    peer: PeerClient,
}

impl WarehouseClient {
    /// A client of the warehouse at `peer`, giving each call `deadline`.
    pub fn new(peer: &Peer, deadline: Duration) -> Self {
        WarehouseClient { peer: PeerClient::to("warehouse", peer, deadline) }
    }

    /// Ships an order. Retried safely: the warehouse ships each order once and answers a retry
    /// with the same shipment.
    pub async fn create_shipment(&self, request: &NewShipment) -> Result<Shipment> {
        let path = "/v1/shipments";
        self.peer.post(path, request, Some(request.order_id.as_str())).await?.ok_or_else(|| self.peer.unserved(path))
    }

    /// One shipment; `None` when the warehouse has no such shipment.
    pub async fn shipment(&self, id: &ShipmentId) -> Result<Option<Shipment>> {
        self.peer.get(&format!("/v1/shipments/{id}")).await
    }

    /// The shipments of an order (at most one).
    pub async fn shipments_of(&self, order: &OrderId) -> Result<Vec<Shipment>> {
        let path = format!("/v1/shipments?order_id={order}");
        let page: Page<Shipment> = self.peer.get(&path).await?.ok_or_else(|| self.peer.unserved("/v1/shipments"))?;
        Ok(page.items)
    }

    /// The shipments of the order `order` as a caller was given it (none if the warehouse
    /// answers 404).
    pub async fn find_shipments(&self, order: &str) -> Result<Vec<Shipment>> {
        let path = format!("/v1/shipments?order_id={}", escaped(order));
        Ok(self.peer.get::<Page<Shipment>>(&path).await?.map(|page| page.items).unwrap_or_default())
    }

    /// A parcel's shipment with the carriers' tracking events, newest first; `None` when the
    /// warehouse knows no such parcel.
    pub async fn tracking(&self, tracking_number: &str) -> Result<Option<Tracking>> {
        self.peer.get(&format!("/v1/tracking/{}", escaped(tracking_number))).await
    }

    /// Records a tracking update (e.g. cancelled). Retried safely: a status the shipment has
    /// already changes nothing. A move the shipment cannot make is [`Error::Conflict`].
    pub async fn record_event(&self, id: &ShipmentId, update: &TrackingUpdate) -> Result<Shipment> {
        let key = format!("{id}-{}", update.status.as_str());
        self.peer
            .post(&format!("/v1/shipments/{id}/events"), update, Some(&key))
            .await
            .map_err(Error::peer_conflict)?
            .ok_or_else(|| Error::not_found("shipment", id.as_str()))
    }

    /// A readiness check that the warehouse answers.
    pub fn readiness(&self) -> ReadinessCheck {
        ReadinessCheck::peer(&self.peer)
    }
}
