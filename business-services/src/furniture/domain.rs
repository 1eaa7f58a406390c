//! Freight: delivery zones, the tariff, delivery slots and the life of a slot reservation.
//!
//! The tariff, in US cents (see [`Zone::tariff`]): each quote pays its zone's base once, then
//! every unit pays the zone's rate per chargeable kilogram, plus a two-person handling fee when
//! it is heavier than 40 chargeable kilograms.
//!
//! | zone | where | base | per kg |
//! |---|---|---|---|
//! | A | the warehouse's metro area (US postal codes 94…) | $49.00 | $0.80 |
//! | B | the rest of the US | $89.00 | $1.40 |
//! | C | Canada | $129.00 | $1.90 |
//! | D | GB, DE, FR, NL, JP | $249.00 | $3.20 |

use std::fmt;

use serde::{Deserialize, Serialize};
use time::{Date, Duration, Month, OffsetDateTime, Weekday};
use utoipa::ToSchema;

use crate::contracts::product::{Dimensions, ProductId};
use crate::money::{CurrencyCode, Money};
use crate::platform::FieldError;
use crate::platform::id::{check_hex_id, random_hex_id, string_id};

/// How long a quote can be reserved against.
pub const QUOTE_VALIDITY: Duration = Duration::minutes(30);
/// How long a reservation holds its place unless confirmed.
pub const HOLD: Duration = Duration::minutes(30);
/// Days of delivery slots a quote offers, from tomorrow.
pub const QUOTE_DAYS: u32 = 14;
/// The most item lines one quote may hold.
pub const MAX_LINES: usize = 20;
/// The most units of one line.
pub const MAX_QUANTITY: u32 = 10;
/// The heaviest unit the ERP moves, in grams.
pub const MAX_WEIGHT_GRAMS: u32 = 500_000;
/// The longest side of a unit, in millimetres.
pub const MAX_SIDE_MM: u32 = 5_000;
/// Cubic millimetres billed as one kilogram (5,000 cm³ per kg, the carriers' divisor).
pub const VOLUMETRIC_DIVISOR: u64 = 5_000_000;
/// Two-person handling, per unit heavier than [`HANDLING_ABOVE_KG`], in US cents.
pub const HANDLING_FEE: i64 = 3_500;
/// Chargeable kilograms above which a unit needs two people.
pub const HANDLING_ABOVE_KG: u64 = 40;
/// Countries freight ships to outside North America (zone D).
pub const OVERSEAS: [&str; 5] = ["GB", "DE", "FR", "NL", "JP"];

/// Defines an id issued by this system: a prefix and 32 lowercase hex digits.
macro_rules! issued_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $example:literal) => {
        string_id!($(#[$doc])* $name, example = $example, check = |id| check_hex_id(id, $prefix, "an id this system issued"));

        impl $name {
            /// A new random id.
            pub fn generate() -> Self {
                $name(random_hex_id($prefix))
            }
        }
    };
}

issued_id!(
    /// A freight quote's id.
    QuoteId,
    "fq_",
    "fq_3f2b9c0d4e5f46a7b8c9d0e1f2a3b4c5"
);
issued_id!(
    /// A slot reservation's id.
    SlotReservationId,
    "sr_",
    "sr_0a1b2c3d4e5f46a7b8c9d0e1f2a3b4c5"
);

/// Where freight goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Destination {
    /// ISO 3166-1 alpha-2 country code, e.g. `US`.
    #[schema(example = "US")]
    pub country: String,
    /// Postal code in the country's format: US `94107`, Canada `K1A 0B1`.
    #[schema(example = "94107")]
    pub postal_code: String,
}

/// A delivery zone: what a destination pays per shipment and per kilogram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum Zone {
    /// The warehouse's metro area.
    A,
    /// The rest of the US.
    B,
    /// Canada.
    C,
    /// Overseas: GB, DE, FR, NL, JP.
    D,
}

/// A zone's prices in US cents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tariff {
    /// Paid once per quote.
    pub base: i64,
    /// Paid per chargeable kilogram of every unit.
    pub per_kg: i64,
}

impl Zone {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Zone::A => "A",
            Zone::B => "B",
            Zone::C => "C",
            Zone::D => "D",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Result<Self, String> {
        match name {
            "A" => Ok(Zone::A),
            "B" => Ok(Zone::B),
            "C" => Ok(Zone::C),
            "D" => Ok(Zone::D),
            other => Err(format!("'{other}' is not a zone: use A, B, C or D")),
        }
    }

    /// The zone's prices.
    pub fn tariff(self) -> Tariff {
        match self {
            Zone::A => Tariff { base: 4_900, per_kg: 80 },
            Zone::B => Tariff { base: 8_900, per_kg: 140 },
            Zone::C => Tariff { base: 12_900, per_kg: 190 },
            Zone::D => Tariff { base: 24_900, per_kg: 320 },
        }
    }
}

impl Destination {
    /// The destination written canonically (trimmed, upper case) and its zone; names the bad
    /// field when freight cannot go there.
    pub fn route(&self) -> Result<(Destination, Zone), FieldError> {
        let country = self.country.trim().to_ascii_uppercase();
        let postal_code = self.postal_code.trim().to_ascii_uppercase();
        if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(FieldError::new(
                "destination.country",
                format!("'{}' is not an ISO 3166-1 alpha-2 code; use e.g. US or CA", self.country),
            ));
        }
        let (zone, postal_ok, format) = match country.as_str() {
            "US" => {
                let zone = if postal_code.starts_with("94") { Zone::A } else { Zone::B };
                (
                    zone,
                    postal_code.len() == 5 && postal_code.bytes().all(|b| b.is_ascii_digit()),
                    "5 digits, e.g. 94107",
                )
            }
            "CA" => (Zone::C, is_canadian_postal_code(&postal_code), "'A1A 1A1', e.g. K1A 0B1"),
            overseas if OVERSEAS.contains(&overseas) => {
                let ok = (2..=10).contains(&postal_code.len())
                    && postal_code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b' ' || b == b'-');
                (Zone::D, ok, "2 to 10 letters, digits, spaces or dashes")
            }
            other => {
                return Err(FieldError::new(
                    "destination.country",
                    format!("freight does not ship to {other}; it ships to US, CA, {}", OVERSEAS.join(", ")),
                ));
            }
        };
        if !postal_ok {
            return Err(FieldError::new(
                "destination.postal_code",
                format!("'{}' is not a postal code of {country}: use {format}", self.postal_code),
            ));
        }
        Ok((Destination { country, postal_code }, zone))
    }
}

fn is_canadian_postal_code(code: &str) -> bool {
    let bytes = code.as_bytes();
    bytes.len() == 7
        && bytes.iter().enumerate().all(|(i, b)| match i {
            0 | 2 | 5 => b.is_ascii_uppercase(),
            3 => *b == b' ',
            _ => b.is_ascii_digit(),
        })
}

/// Units of one product to move.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FreightItem {
    /// The product.
    pub product_id: ProductId,
    /// Units, 1 to 10.
    pub quantity: u32,
    /// Packaged weight of one unit in grams, 1 to 500,000.
    pub weight_grams: u32,
    /// Packaged size of one unit in millimetres, each side 1 to 5,000.
    pub dimensions_mm: Dimensions,
}

impl FreightItem {
    /// Checks the line at `index` of a request; names the bad field.
    pub fn validate(&self, index: usize) -> Result<(), FieldError> {
        let field = |name: &str| format!("items[{index}].{name}");
        let within = |value: u32, max: u32, name: &str| {
            if (1..=max).contains(&value) {
                Ok(())
            } else {
                Err(FieldError::new(field(name), format!("must be between 1 and {max}, got {value}")))
            }
        };
        within(self.quantity, MAX_QUANTITY, "quantity")?;
        within(self.weight_grams, MAX_WEIGHT_GRAMS, "weight_grams")?;
        let Dimensions { length, width, height } = self.dimensions_mm;
        within(length, MAX_SIDE_MM, "dimensions_mm.length")?;
        within(width, MAX_SIDE_MM, "dimensions_mm.width")?;
        within(height, MAX_SIDE_MM, "dimensions_mm.height")
    }
}

/// What to quote: items and where they go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuoteRequest {
    /// Where the items go.
    pub destination: Destination,
    /// 1 to 20 lines.
    pub items: Vec<FreightItem>,
}

impl QuoteRequest {
    /// The request written canonically and its zone; names the first bad field.
    pub fn validate(&self) -> Result<(QuoteRequest, Zone), FieldError> {
        let (destination, zone) = self.destination.route()?;
        if !(1..=MAX_LINES).contains(&self.items.len()) {
            return Err(FieldError::new(
                "items",
                format!("must hold 1 to {MAX_LINES} lines, got {}", self.items.len()),
            ));
        }
        self.items.iter().enumerate().try_for_each(|(index, item)| item.validate(index))?;
        Ok((QuoteRequest { destination, items: self.items.clone() }, zone))
    }
}

/// The billed weight of one unit: its actual or its volumetric weight, whichever is more,
/// rounded up to a whole kilogram.
pub fn chargeable_kg(weight_grams: u32, dimensions: Dimensions) -> u64 {
    let actual = u64::from(weight_grams).div_ceil(1_000);
    let volume = u128::from(dimensions.length) * u128::from(dimensions.width) * u128::from(dimensions.height);
    let volumetric = volume.div_ceil(u128::from(VOLUMETRIC_DIVISOR));
    actual.max(u64::try_from(volumetric).unwrap_or(u64::MAX))
}

/// What moving `items` to `zone` costs, in US cents; `None` if it would not fit in 64 bits
/// (never for validated requests).
pub fn freight_cost(zone: Zone, items: &[FreightItem]) -> Option<Money> {
    let tariff = zone.tariff();
    items.iter().try_fold(Money::new(CurrencyCode::USD, tariff.base), |total, item| {
        let kg = i64::try_from(chargeable_kg(item.weight_grams, item.dimensions_mm)).ok()?;
        let handling = if kg.unsigned_abs() > HANDLING_ABOVE_KG { HANDLING_FEE } else { 0 };
        let unit = tariff.per_kg.checked_mul(kg)?.checked_add(handling)?;
        total.checked_add(Money::new(CurrencyCode::USD, unit.checked_mul(i64::from(item.quantity))?))
    })
}

/// A delivery window of a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
pub enum SlotWindow {
    /// Morning delivery.
    #[serde(rename = "08:00-12:00")]
    Morning,
    /// Afternoon delivery.
    #[serde(rename = "13:00-17:00")]
    Afternoon,
}

impl SlotWindow {
    /// The suffix of slot ids in this window.
    pub fn suffix(self) -> &'static str {
        match self {
            SlotWindow::Morning => "am",
            SlotWindow::Afternoon => "pm",
        }
    }

    /// The hours, as shown to customers.
    pub fn hours(self) -> &'static str {
        match self {
            SlotWindow::Morning => "08:00-12:00",
            SlotWindow::Afternoon => "13:00-17:00",
        }
    }
}

/// A delivery slot: a date and a window, written `YYYY-MM-DD-am` or `YYYY-MM-DD-pm`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SlotId {
    /// The delivery date (the warehouse keeps UTC dates).
    pub date: Date,
    /// The window.
    pub window: SlotWindow,
}

impl SlotId {
    /// Parses `YYYY-MM-DD-am` or `YYYY-MM-DD-pm`.
    pub fn parse(id: &str) -> Result<Self, String> {
        let bad = || format!("'{id}' is not a slot id: use YYYY-MM-DD-am or YYYY-MM-DD-pm, e.g. 2025-06-03-am");
        let (date, suffix) = id.rsplit_once('-').ok_or_else(bad)?;
        let window = match suffix {
            "am" => SlotWindow::Morning,
            "pm" => SlotWindow::Afternoon,
            _ => return Err(bad()),
        };
        Ok(SlotId { date: parse_date(date).map_err(|_| bad())?, window })
    }

    /// The slot with `remaining` free places.
    pub fn with_remaining(self, remaining: u32) -> Slot {
        Slot { id: self.to_string(), date: format_date(self.date), window: self.window, remaining }
    }
}

impl fmt::Display for SlotId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", format_date(self.date), self.window.suffix())
    }
}

/// `YYYY-MM-DD`.
pub fn format_date(date: Date) -> String {
    format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day())
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Result<Date, String> {
    let bad = || format!("'{text}' is not a date: use YYYY-MM-DD, e.g. 2025-06-03");
    let mut parts = text.split('-');
    let (Some(year), Some(month), Some(day), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    if year.len() != 4 || month.len() != 2 || day.len() != 2 {
        return Err(bad());
    }
    let year: i32 = year.parse().map_err(|_| bad())?;
    let month = month.parse::<u8>().ok().and_then(|m| Month::try_from(m).ok()).ok_or_else(bad)?;
    let day: u8 = day.parse().map_err(|_| bad())?;
    Date::from_calendar_date(year, month, day).map_err(|_| bad())
}

/// The delivery slots of `days` days from `first`: two windows a day, none on Sundays.
pub fn slots_from(first: Date, days: u32) -> Vec<SlotId> {
    (0..days)
        .filter_map(|offset| first.checked_add(Duration::days(offset.into())))
        .filter(|date| date.weekday() != Weekday::Sunday)
        .flat_map(|date| [SlotWindow::Morning, SlotWindow::Afternoon].map(|window| SlotId { date, window }))
        .collect()
}

/// The slots a quote made at `quoted_at` offers: the next [`QUOTE_DAYS`] days from tomorrow.
pub fn offered_slots(quoted_at: OffsetDateTime) -> Vec<SlotId> {
    quoted_at.date().next_day().map(|tomorrow| slots_from(tomorrow, QUOTE_DAYS)).unwrap_or_default()
}

/// Free places of a slot holding `capacity` reservations when `taken` are active.
pub fn remaining(capacity: u32, taken: i64) -> u32 {
    u32::try_from(i64::from(capacity).saturating_sub(taken).max(0)).unwrap_or(0)
}

/// A delivery slot and its free places.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Slot {
    /// `<date>-am` or `<date>-pm`.
    #[schema(example = "2025-06-03-am")]
    pub id: String,
    /// Delivery date, YYYY-MM-DD.
    #[schema(example = "2025-06-03")]
    pub date: String,
    /// Delivery window.
    pub window: SlotWindow,
    /// Reservations it can still take.
    pub remaining: u32,
}

/// A freight quote: the price of moving the items, and the slots they can be delivered in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Quote {
    /// The quote's id.
    pub id: QuoteId,
    /// Where the items go, written canonically.
    pub destination: Destination,
    /// The destination's zone.
    pub zone: Zone,
    /// What the freight costs, in USD.
    pub cost: Money,
    /// The items quoted.
    pub items: Vec<FreightItem>,
    /// Delivery slots of the next 14 days from the day after the quote (no Sundays), with
    /// their free places now.
    pub slots: Vec<Slot>,
    /// Until when a slot can be reserved against this quote.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: OffsetDateTime,
}

/// Where a slot reservation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReservationStatus {
    /// Holds a place until `expires_at`, unless confirmed.
    Held,
    /// Holds its place for good.
    Confirmed,
    /// Holds nothing.
    Cancelled,
}

/// What can be done to a reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReservationAction {
    /// Keep the place for good.
    Confirm,
    /// Give the place back.
    Cancel,
}

impl ReservationStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ReservationStatus::Held => "held",
            ReservationStatus::Confirmed => "confirmed",
            ReservationStatus::Cancelled => "cancelled",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Result<Self, String> {
        match name {
            "held" => Ok(ReservationStatus::Held),
            "confirmed" => Ok(ReservationStatus::Confirmed),
            "cancelled" => Ok(ReservationStatus::Cancelled),
            other => Err(format!("'{other}' is not a reservation status")),
        }
    }

    /// The status after `action`: `Ok(None)` when the reservation is already there (repeats
    /// change nothing), `Err` when the action is not possible any more.
    pub fn after(self, action: ReservationAction) -> Result<Option<ReservationStatus>, String> {
        use ReservationAction::{Cancel, Confirm};
        use ReservationStatus::{Cancelled, Confirmed, Held};
        match (self, action) {
            (Held, Confirm) => Ok(Some(Confirmed)),
            (Held | Confirmed, Cancel) => Ok(Some(Cancelled)),
            (Confirmed, Confirm) | (Cancelled, Cancel) => Ok(None),
            (Cancelled, Confirm) => Err("it was cancelled: reserve a slot again with a new reference".to_owned()),
        }
    }
}

/// Checks a caller's reservation reference: 1 to 128 visible ASCII characters.
pub fn check_reference(reference: &str) -> Result<(), String> {
    if (1..=128).contains(&reference.len()) && reference.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(())
    } else {
        Err("use 1 to 128 visible ASCII characters, e.g. the order id".to_owned())
    }
}

/// A request to reserve a slot of a quote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlotReservationRequest {
    /// The quote the delivery was priced by.
    pub quote_id: QuoteId,
    /// One of the quote's slots.
    #[schema(example = "2025-06-03-am")]
    pub slot_id: String,
    /// The caller's reference (e.g. the order id): reserving again with it returns the same
    /// reservation.
    #[schema(example = "order-8c1f")]
    pub reference: String,
}

/// A delivery slot reserved for a quote's items.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SlotReservation {
    /// The reservation's id.
    pub id: SlotReservationId,
    /// The quote it was made against.
    pub quote_id: QuoteId,
    /// The slot, with its free places now.
    pub slot: Slot,
    /// Where it stands.
    pub status: ReservationStatus,
    /// The caller's reference.
    pub reference: String,
    /// The quote's cost.
    pub cost: Money,
    /// When a held reservation stops holding its place unless confirmed.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn item(quantity: u32, weight_grams: u32, (length, width, height): (u32, u32, u32)) -> FreightItem {
        FreightItem {
            product_id: ProductId::parse("oak-bookcase").unwrap(),
            quantity,
            weight_grams,
            dimensions_mm: Dimensions { length, width, height },
        }
    }

    fn destination(country: &str, postal_code: &str) -> Destination {
        Destination { country: country.into(), postal_code: postal_code.into() }
    }

    #[test]
    fn destinations_find_their_zone() {
        let zone = |country, postal| destination(country, postal).route().map(|(_, zone)| zone);
        assert_eq!(zone("US", "94107"), Ok(Zone::A));
        assert_eq!(zone("us", " 10001 "), Ok(Zone::B));
        assert_eq!(zone("CA", "k1a 0b1"), Ok(Zone::C));
        assert_eq!(zone("GB", "SW1A 1AA"), Ok(Zone::D));
        assert_eq!(zone("JP", "100-0001"), Ok(Zone::D));
        let (canonical, _) = destination("ca", " k1a 0b1").route().unwrap();
        assert_eq!(canonical, destination("CA", "K1A 0B1"));
    }

    #[test]
    fn bad_destinations_name_the_field() {
        let field = |country, postal| destination(country, postal).route().unwrap_err().field;
        assert_eq!(field("BR", "01000-000"), "destination.country");
        assert!(destination("BR", "01000").route().unwrap_err().message.contains("freight does not ship to BR"));
        assert_eq!(field("USA", "94107"), "destination.country");
        assert_eq!(field("US", "9410"), "destination.postal_code");
        assert_eq!(field("US", "94107-1234"), "destination.postal_code");
        assert_eq!(field("CA", "K1A0B1"), "destination.postal_code");
        assert_eq!(field("CA", "11A 0B1"), "destination.postal_code");
        assert_eq!(field("DE", "1"), "destination.postal_code");
        assert_eq!(field("DE", "10115_"), "destination.postal_code");
        assert_eq!(field("FR", "75001750017"), "destination.postal_code");
    }

    #[test]
    fn chargeable_weight_is_the_larger_rounded_up() {
        // 1 m³ weighs 200 kg by volume.
        assert_eq!(chargeable_kg(12_000, Dimensions { length: 1000, width: 1000, height: 1000 }), 200);
        assert_eq!(chargeable_kg(250_000, Dimensions { length: 1000, width: 1000, height: 1000 }), 250);
        assert_eq!(chargeable_kg(1, Dimensions { length: 1, width: 1, height: 1 }), 1);
        assert_eq!(chargeable_kg(40_001, Dimensions { length: 10, width: 10, height: 10 }), 41);
        // 5,000,001 mm³ is just over one volumetric kilogram.
        assert_eq!(chargeable_kg(500, Dimensions { length: 5_000_001, width: 1, height: 1 }), 2);
    }

    #[test]
    fn costs_match_hand_computed_figures() {
        let cents = |zone, items: &[FreightItem]| freight_cost(zone, items).unwrap().minor_units;
        // 30 kg, small: actual weight, no handling. A: 4900 + 80 × 30.
        let light = item(1, 30_000, (500, 400, 300));
        assert_eq!(cents(Zone::A, std::slice::from_ref(&light)), 4_900 + 2_400);
        // 2 × a 1200 × 800 × 600 box of 35 kg: volumetric 115.2 → 116 kg, handling.
        // B: 8900 + 2 × (140 × 116 + 3500).
        let bulky = item(2, 35_000, (1200, 800, 600));
        assert_eq!(cents(Zone::B, std::slice::from_ref(&bulky)), 8_900 + 2 * (140 * 116 + 3_500));
        // Exactly 40 kg needs no second person; 40.001 kg does.
        assert_eq!(cents(Zone::C, &[item(1, 40_000, (100, 100, 100))]), 12_900 + 190 * 40);
        assert_eq!(cents(Zone::C, &[item(1, 40_001, (100, 100, 100))]), 12_900 + 190 * 41 + 3_500);
        // Lines add up; the base is paid once.
        assert_eq!(cents(Zone::D, &[light, bulky]), 24_900 + 320 * 30 + 2 * (320 * 116 + 3_500));
        assert_eq!(freight_cost(Zone::D, &[]).unwrap().currency, CurrencyCode::USD);
    }

    #[test]
    fn requests_are_checked_line_by_line() {
        let request = |items| QuoteRequest { destination: destination("US", "94107"), items };
        assert_eq!(request(vec![]).validate().unwrap_err().field, "items");
        assert_eq!(request(vec![item(1, 1, (1, 1, 1)); 21]).validate().unwrap_err().field, "items");
        let cases = [
            (item(0, 1, (1, 1, 1)), "items[1].quantity"),
            (item(11, 1, (1, 1, 1)), "items[1].quantity"),
            (item(1, 0, (1, 1, 1)), "items[1].weight_grams"),
            (item(1, 500_001, (1, 1, 1)), "items[1].weight_grams"),
            (item(1, 1, (0, 1, 1)), "items[1].dimensions_mm.length"),
            (item(1, 1, (1, 5_001, 1)), "items[1].dimensions_mm.width"),
            (item(1, 1, (1, 1, 0)), "items[1].dimensions_mm.height"),
        ];
        for (bad, field) in cases {
            assert_eq!(request(vec![item(1, 1, (1, 1, 1)), bad]).validate().unwrap_err().field, field);
        }
        let max = item(10, 500_000, (5_000, 5_000, 5_000));
        assert!(request(vec![max; 20]).validate().is_ok());
    }

    #[test]
    fn slots_skip_sundays_and_start_tomorrow() {
        // 2025-06-06 is a Friday: tomorrow is Saturday, then Sunday is skipped.
        let friday = Date::from_calendar_date(2025, Month::June, 6).unwrap();
        let quoted_at = friday.with_hms(23, 59, 0).unwrap().assume_utc();
        let slots = offered_slots(quoted_at);
        assert_eq!(slots.len(), 2 * 12, "14 days hold two Sundays");
        let ids: Vec<String> = slots.iter().take(3).map(ToString::to_string).collect();
        assert_eq!(ids, ["2025-06-07-am", "2025-06-07-pm", "2025-06-09-am"]);
        assert_eq!(slots.last().unwrap().to_string(), "2025-06-20-pm");
        assert!(slots.iter().all(|slot| slot.date.weekday() != Weekday::Sunday));
        assert!(slots.windows(2).all(|pair| pair[0] < pair[1]));
    }

    #[test]
    fn slot_ids_round_trip_and_reject_garbage() {
        let slot = SlotId::parse("2025-06-03-pm").unwrap();
        assert_eq!((slot.to_string(), slot.window), ("2025-06-03-pm".to_owned(), SlotWindow::Afternoon));
        for bad in ["2025-06-03", "2025-06-03-noon", "2025-13-03-am", "2025-02-30-am", "25-06-03-am", "x-am"] {
            assert!(SlotId::parse(bad).is_err(), "{bad}");
        }
        let shown = slot.with_remaining(3);
        assert_eq!((shown.date.as_str(), shown.remaining), ("2025-06-03", 3));
    }

    #[test]
    fn reservations_move_forward_only() {
        use ReservationAction::{Cancel, Confirm};
        use ReservationStatus::{Cancelled, Confirmed, Held};
        assert_eq!(Held.after(Confirm), Ok(Some(Confirmed)));
        assert_eq!(Held.after(Cancel), Ok(Some(Cancelled)));
        assert_eq!(Confirmed.after(Confirm), Ok(None));
        assert_eq!(Confirmed.after(Cancel), Ok(Some(Cancelled)));
        assert_eq!(Cancelled.after(Cancel), Ok(None));
        assert!(Cancelled.after(Confirm).is_err());
    }

    #[test]
    fn ids_and_references_are_checked() {
        let id = QuoteId::generate();
        assert_eq!(QuoteId::parse(id.as_str()), Ok(id.clone()));
        assert!(SlotReservationId::parse(id.as_str()).is_err(), "prefixes tell ids apart");
        assert!(QuoteId::parse("fq_XYZ").is_err());
        assert!(check_reference("order-1").is_ok());
        assert!(check_reference("").is_err());
        assert!(check_reference("has space").is_err());
        assert_eq!(remaining(4, 1), 3);
        assert_eq!(remaining(4, 9), 0);
    }

    fn any_item() -> impl Strategy<Value = FreightItem> {
        (1..=MAX_QUANTITY, 1..=MAX_WEIGHT_GRAMS, 1..=MAX_SIDE_MM, 1..=MAX_SIDE_MM, 1..=MAX_SIDE_MM)
            .prop_map(|(quantity, weight, l, w, h)| item(quantity, weight, (l, w, h)))
    }

    fn any_zone() -> impl Strategy<Value = Zone> {
        prop_oneof![Just(Zone::A), Just(Zone::B), Just(Zone::C), Just(Zone::D)]
    }

    proptest! {
        #[test]
        fn chargeable_weight_covers_both_weights(weight in 1..=MAX_WEIGHT_GRAMS, l in 1..=MAX_SIDE_MM,
            w in 1..=MAX_SIDE_MM, h in 1..=MAX_SIDE_MM) {
            let kg = chargeable_kg(weight, Dimensions { length: l, width: w, height: h });
            prop_assert!(kg * 1_000 >= u64::from(weight));
            prop_assert!(u128::from(kg) * 5_000_000 >= u128::from(l) * u128::from(w) * u128::from(h));
            // Rounded up by less than a kilogram.
            let actual_kg = u64::from(weight).div_ceil(1_000);
            let volumetric_kg = (u128::from(l) * u128::from(w) * u128::from(h)).div_ceil(5_000_000);
            prop_assert_eq!(kg, actual_kg.max(u64::try_from(volumetric_kg).unwrap()));
        }

        #[test]
        fn cost_is_base_plus_the_lines(zone in any_zone(), items in proptest::collection::vec(any_item(), 1..=MAX_LINES)) {
            let total = freight_cost(zone, &items).unwrap().minor_units;
            let lines: i64 = items.iter().map(|item| freight_cost(zone, std::slice::from_ref(item)).unwrap().minor_units
                - zone.tariff().base).sum();
            prop_assert_eq!(total, zone.tariff().base + lines);
            prop_assert!(total > 0);
        }

        #[test]
        fn cost_grows_with_weight_quantity_and_distance(item in any_item(), extra_grams in 0..=100_000_u32) {
            let heavier = FreightItem { weight_grams: (item.weight_grams + extra_grams).min(MAX_WEIGHT_GRAMS), ..item.clone() };
            let more = FreightItem { quantity: (item.quantity + 1).min(MAX_QUANTITY), ..item.clone() };
            for zone in [Zone::A, Zone::B, Zone::C, Zone::D] {
                let base = freight_cost(zone, std::slice::from_ref(&item)).unwrap().minor_units;
                prop_assert!(freight_cost(zone, std::slice::from_ref(&heavier)).unwrap().minor_units >= base);
                prop_assert!(freight_cost(zone, std::slice::from_ref(&more)).unwrap().minor_units >= base);
            }
            let by_zone: Vec<i64> = [Zone::A, Zone::B, Zone::C, Zone::D].iter()
                .map(|zone| freight_cost(*zone, std::slice::from_ref(&item)).unwrap().minor_units).collect();
            prop_assert!(by_zone.windows(2).all(|pair| pair[0] < pair[1]));
        }
    }
}
