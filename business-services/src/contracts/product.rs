//! The product facts other systems carry: its id, how it travels and its packaged size.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::platform::id::{check_slug, string_id};

string_id!(
    /// A product id: a lowercase slug such as `walnut-dining-table` (1 to 64 of `a-z`, `0-9`, `-`).
    ProductId,
    example = "walnut-dining-table",
    pattern = "^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$",
    check = |id| check_slug(id, 64),
);

/// How an item travels: parcels, or freight handled by the furniture logistics ERP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StockClass {
    /// Ships as a parcel from the warehouse.
    Standard,
    /// Too big for parcels: shipped as freight with a delivery slot.
    Oversized,
}

impl StockClass {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            StockClass::Standard => "standard",
            StockClass::Oversized => "oversized",
        }
    }

    /// Parses a stored or requested name.
    pub fn parse(name: &str) -> Result<Self, String> {
        match name {
            "standard" => Ok(StockClass::Standard),
            "oversized" => Ok(StockClass::Oversized),
            other => Err(format!("'{other}' is not a stock class: use standard or oversized")),
        }
    }
}

/// Packaged size in millimetres.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Dimensions {
    /// Longest side.
    pub length: u32,
    /// Second side.
    pub width: u32,
    /// Height.
    pub height: u32,
}
