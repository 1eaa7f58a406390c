//! An order as the systems after checkout see it: its id, addresses, lines, amounts, receipt,
//! and the `order.placed` event on the `orders` topic.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::product::{Dimensions, ProductId, StockClass};
use crate::money::{CurrencyCode, Money};
use crate::platform::FieldError;
use crate::platform::id::{check_hex_id, random_hex_id, string_id};

/// The topic order events are published on.
pub const TOPIC: &str = "orders";

string_id!(
    /// An order id, `ord_` and 32 hex digits.
    OrderId,
    example = "ord_6f1c2a9e0b7d4c1e8a2f3b4c5d6e7f80",
    check = |id| check_hex_id(id, "ord_", "an order id"),
);

impl OrderId {
    /// A new random id.
    pub fn generate() -> Self {
        OrderId(random_hex_id("ord_"))
    }
}

/// A postal address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Address {
    /// Who receives it.
    pub name: String,
    /// Street and number.
    pub line1: String,
    /// Flat, floor, building.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    /// City.
    pub city: String,
    /// State, province or county, where used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Postal code.
    pub postal_code: String,
    /// ISO 3166-1 alpha-2 country code, e.g. `US`.
    pub country: String,
}

impl Address {
    /// Checks every field; names the first bad one under `prefix`.
    pub fn validate(&self, prefix: &str) -> Result<(), FieldError> {
        let field = |name: &str| format!("{prefix}.{name}");
        let text = |name: &str, value: &str, max: usize| {
            let length = value.trim().chars().count();
            if (1..=max).contains(&length) {
                Ok(())
            } else {
                Err(FieldError::new(field(name), format!("must be 1 to {max} characters")))
            }
        };
        text("name", &self.name, 100)?;
        text("line1", &self.line1, 200)?;
        if let Some(line2) = &self.line2 {
            text("line2", line2, 200)?;
        }
        text("city", &self.city, 100)?;
        if let Some(region) = &self.region {
            text("region", region, 100)?;
        }
        text("postal_code", &self.postal_code, 12)?;
        if self.country.len() != 2 || !self.country.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(FieldError::new(field("country"), "use the two-letter ISO 3166 code in capitals, e.g. US"));
        }
        Ok(())
    }
}

/// A cart line with what the catalog says about its product, priced in USD.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricedLine {
    /// The product.
    pub product_id: ProductId,
    /// Its name at the time of the order.
    pub name: String,
    /// How many.
    pub quantity: u32,
    /// Unit price in the catalog's currency.
    pub unit_price: Money,
    /// Parcel or freight.
    pub stock_class: StockClass,
    /// Packaged weight per unit.
    pub weight_grams: u32,
    /// Packaged size per unit.
    pub dimensions_mm: Dimensions,
}

/// The merchandise subtotal of `lines` in the catalog's currency, or `None` on overflow.
pub fn merchandise_subtotal(lines: &[PricedLine]) -> Option<Money> {
    lines.iter().try_fold(Money::zero(CurrencyCode::USD), |sum, line| {
        sum.checked_add(line.unit_price.checked_mul(i64::from(line.quantity))?)
    })
}

/// One line of a receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReceiptLine {
    /// The product.
    pub product_id: ProductId,
    /// Its name.
    pub name: String,
    /// How many.
    pub quantity: u32,
    /// Unit price in the order's currency.
    pub unit_price: Money,
    /// `unit_price × quantity`.
    pub line_total: Money,
}

/// Amounts of an order in the customer's currency; they add up exactly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Amounts {
    /// The lines.
    pub items: Vec<ReceiptLine>,
    /// Sum of the line totals.
    pub subtotal: Money,
    /// Loyalty discount on the subtotal (a positive amount taken off).
    pub discount: Money,
    /// Parcel shipping.
    pub shipping: Money,
    /// Freight for oversized items.
    pub freight: Money,
    /// `subtotal − discount + shipping + freight`: what the card is charged.
    pub total: Money,
}

/// Where an order stands when checkout ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Paid and on its way to fulfilment.
    Confirmed,
    /// Authorized but held for a fraud review before the card is charged.
    OnHold,
}

/// Freight booked for oversized items.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FreightBooking {
    /// The ERP's slot reservation.
    pub reservation_id: String,
    /// Delivery date, `YYYY-MM-DD`.
    pub date: String,
    /// Delivery window, e.g. `08:00-12:00`.
    pub window: String,
    /// What the freight costs, in the order's currency.
    pub cost: Money,
}

/// How the order was paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PaymentSummary {
    /// The gateway's authorization.
    pub authorization_id: String,
    /// Card brand.
    pub brand: String,
    /// Last four digits of the card.
    pub last4: String,
}

/// What the customer gets back from checkout. It carries no tracking number: the warehouse's
/// carriers issue those as parcels ship, and the order's page shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Receipt {
    /// The order.
    pub order_id: OrderId,
    /// Confirmed, or held for review.
    pub status: OrderStatus,
    /// The saga's reference, which the order's payment authorization and fraud assessment carry:
    /// how a reader finds them. Empty on receipts written before it was recorded.
    #[serde(default)]
    pub reference: String,
    /// Who ordered (for the confirmation email).
    pub email: String,
    /// The signed-in customer, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    /// The loyalty tier the discount came from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loyalty_tier: Option<String>,
    /// Where it goes.
    pub shipping_address: Address,
    /// Prices in the customer's currency.
    #[serde(flatten)]
    pub amounts: Amounts,
    /// Freight booking for oversized items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freight_booking: Option<FreightBooking>,
    /// How it was paid.
    pub payment: PaymentSummary,
    /// When the order was placed.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

/// The type attribute of the [`OrderPlaced`] event.
pub const ORDER_PLACED: &str = "order.placed";

/// The `order.placed` event on the `orders` topic: what fulfilment, accounting, loyalty and
/// fraud need to know of a new order. It never holds card data beyond the receipt's brand and
/// last four digits and a keyed hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderPlaced {
    /// The receipt, as the customer got it.
    pub order: Receipt,
    /// The lines with their catalog facts (USD prices, stock class, weight, size).
    pub lines: Vec<PricedLine>,
    /// The saga's reference, which every downstream record of the order carries.
    pub reference: String,
    /// Keyed hash of the card number, for velocity checks.
    pub card_fingerprint: String,
    /// The card's billing address.
    pub billing_address: Address,
    /// The committed stock reservation of the parcel lines.
    pub reservation_id: Option<String>,
}
