//! A shipment as order management and the MCP server see it: its id, its status, and the
//! `shipment.status_changed` event on the `shipments` topic.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::order::OrderId;
use crate::platform::id::{check_hex_id, random_hex_id, string_id};

/// The topic shipment events are published on.
pub const TOPIC: &str = "shipments";
/// The type attribute of the [`ShipmentStatusChanged`] event.
pub const SHIPMENT_STATUS_CHANGED: &str = "shipment.status_changed";

string_id!(
    /// A shipment id, `shp_` and 32 hex digits, chosen by the warehouse.
    ShipmentId,
    example = "shp_0f8fad5bd9cb469fa16570867728950e",
    check = |id| check_hex_id(id, "shp_", "a shipment id"),
);

impl ShipmentId {
    /// A new random id.
    pub fn generate() -> Self {
        ShipmentId(random_hex_id("shp_"))
    }
}

/// Where a shipment stands. Its parcels travel together and share its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ShipmentStatus {
    /// Registered; nothing has been picked yet.
    Created,
    /// The units are off the shelves.
    Picked,
    /// Packed into its parcels and labelled.
    Packed,
    /// Handed to the carriers.
    Shipped,
    /// Delivered to the customer.
    Delivered,
    /// Stopped before it left the warehouse.
    Cancelled,
    /// Came back to the warehouse after shipping.
    Returned,
}

/// Every status, for parsing and tests.
pub const STATUSES: [ShipmentStatus; 7] = [
    ShipmentStatus::Created,
    ShipmentStatus::Picked,
    ShipmentStatus::Packed,
    ShipmentStatus::Shipped,
    ShipmentStatus::Delivered,
    ShipmentStatus::Cancelled,
    ShipmentStatus::Returned,
];

impl ShipmentStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ShipmentStatus::Created => "created",
            ShipmentStatus::Picked => "picked",
            ShipmentStatus::Packed => "packed",
            ShipmentStatus::Shipped => "shipped",
            ShipmentStatus::Delivered => "delivered",
            ShipmentStatus::Cancelled => "cancelled",
            ShipmentStatus::Returned => "returned",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Result<Self, String> {
        STATUSES.into_iter().find(|s| s.as_str() == name).ok_or_else(|| format!("'{name}' is not a shipment status"))
    }
}

/// The `shipment.status_changed` event on the `shipments` topic, keyed by the order id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipmentStatusChanged {
    /// The shipment.
    pub shipment_id: ShipmentId,
    /// Its order.
    pub order_id: OrderId,
    /// The status it reached.
    pub status: ShipmentStatus,
    /// Its parcels' tracking numbers.
    pub tracking_numbers: Vec<String>,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}
