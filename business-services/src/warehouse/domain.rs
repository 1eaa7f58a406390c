//! Shipments, parcels, carrier choice, tracking numbers and the shipment status machine: no I/O.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::contracts::order::{Address, OrderId};
use crate::contracts::product::{Dimensions, ProductId, StockClass};
use crate::contracts::shipment::{STATUSES, ShipmentId, ShipmentStatus};
use crate::platform::FieldError;
use crate::platform::id::{check_hex_id, random_hex_id, string_id};
use crate::platform::idempotency::check_reference;

/// The heaviest parcel the parcel carrier takes, in grams.
pub const MAX_PARCEL_GRAMS: u32 = 20_000;
/// The most lines one shipment may hold.
pub const MAX_LINES: usize = 50;
/// The most units of one product one line may hold.
pub const MAX_QUANTITY: u32 = 99;
/// The heaviest unit of any product the warehouse handles, in grams (a large wardrobe).
pub const MAX_UNIT_GRAMS: u32 = 1_000_000;

string_id!(
    /// A parcel id, `pcl_` and 32 hex digits.
    ParcelId,
    example = "pcl_7c9e6679742540de944be07fc1f90ae7",
    check = |id| check_hex_id(id, "pcl_", "a parcel id"),
);

impl ParcelId {
    /// A new random id.
    pub fn generate() -> Self {
        ParcelId(random_hex_id("pcl_"))
    }
}

/// What applying a status to a shipment does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The shipment moves to the new status.
    Moved,
    /// It is in that status already: nothing changes (a repeated tracking update).
    Unchanged,
}

impl ShipmentStatus {
    /// Whether a shipment may move from this status straight to `to`: forward along
    /// created → picked → packed → shipped → delivered, cancelled before it ships, returned after.
    pub fn can_move_to(self, to: ShipmentStatus) -> bool {
        use ShipmentStatus::*;
        matches!(
            (self, to),
            (Created, Picked)
                | (Picked, Packed)
                | (Packed, Shipped)
                | (Shipped, Delivered)
                | (Created | Picked | Packed, Cancelled)
                | (Shipped, Returned)
        )
    }

    /// What applying `to` does; a move the machine does not allow is refused, naming both.
    pub fn apply(self, to: ShipmentStatus) -> Result<Change, String> {
        if self == to {
            Ok(Change::Unchanged)
        } else if self.can_move_to(to) {
            Ok(Change::Moved)
        } else {
            Err(format!(
                "a shipment cannot go from {} to {}{}",
                self.as_str(),
                to.as_str(),
                match self {
                    ShipmentStatus::Delivered | ShipmentStatus::Cancelled | ShipmentStatus::Returned =>
                        ": it has ended".to_owned(),
                    _ => format!("; next it can be {}", self.successors().join(" or ")),
                }
            ))
        }
    }

    fn successors(self) -> Vec<&'static str> {
        STATUSES.into_iter().filter(|to| self.can_move_to(*to)).map(ShipmentStatus::as_str).collect()
    }
}

/// The carrier a parcel travels with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Carrier {
    /// Parcels of standard items, up to 20 kg each; tracking numbers `SP…`.
    SwiftParcel,
    /// Oversized furniture in one consignment with a delivery slot; tracking numbers `BF…`.
    BoutiqueFreight,
}

impl Carrier {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Carrier::SwiftParcel => "swift-parcel",
            Carrier::BoutiqueFreight => "boutique-freight",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Result<Self, String> {
        [Carrier::SwiftParcel, Carrier::BoutiqueFreight]
            .into_iter()
            .find(|c| c.as_str() == name)
            .ok_or_else(|| format!("'{name}' is not a carrier"))
    }

    /// The two letters its tracking numbers start with.
    pub fn prefix(self) -> &'static str {
        match self {
            Carrier::SwiftParcel => "SP",
            Carrier::BoutiqueFreight => "BF",
        }
    }
}

/// The Luhn check digit of `digits` (the digit that makes the whole string pass Luhn).
fn luhn_check_digit(digits: &[u8]) -> u8 {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let d = u32::from(*d);
            if i % 2 == 0 { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { d }
        })
        .sum();
    u8::try_from((10 - sum % 10) % 10).unwrap_or(0)
}

/// A tracking number of `carrier` over nine `digits` (each 0–9): the carrier's two letters, the
/// nine digits, then their Luhn check digit, so a mistyped digit or swapped neighbours are caught.
pub fn tracking_number(carrier: Carrier, digits: [u8; 9]) -> String {
    let check = luhn_check_digit(&digits);
    let body: String = digits.iter().chain(std::iter::once(&check)).map(|d| char::from(b'0' + d % 10)).collect();
    format!("{}{body}", carrier.prefix())
}

/// A new random tracking number of `carrier`.
pub fn random_tracking_number(carrier: Carrier) -> String {
    let mut digits = [0; 9];
    for digit in &mut digits {
        *digit = fastrand::u8(0..10);
    }
    tracking_number(carrier, digits)
}

/// Checks a tracking number's form and check digit.
pub fn check_tracking_number(text: &str) -> Result<(), String> {
    let valid = [Carrier::SwiftParcel, Carrier::BoutiqueFreight].into_iter().any(|carrier| {
        text.strip_prefix(carrier.prefix()).is_some_and(|rest| {
            rest.len() == 10 && rest.bytes().all(|b| b.is_ascii_digit()) && {
                let digits: Vec<u8> = rest.bytes().map(|b| b - b'0').collect();
                luhn_check_digit(&digits[..9]) == digits[9]
            }
        })
    });
    if valid {
        Ok(())
    } else {
        Err("is not a tracking number: expected SP or BF, nine digits and a check digit, e.g. SP1234567897".into())
    }
}

/// One product line of a shipment, with what packing needs to know of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShipmentLine {
    /// The product.
    pub product_id: ProductId,
    /// Units, 1 to 99.
    pub quantity: u32,
    /// Parcel or freight.
    pub stock_class: StockClass,
    /// Packaged weight per unit.
    pub weight_grams: u32,
    /// Packaged size per unit.
    pub dimensions_mm: Dimensions,
}

/// The delivery slot booked for the oversized lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FreightSlot {
    /// The furniture ERP's slot reservation.
    pub reservation_id: String,
    /// Delivery date, `YYYY-MM-DD`.
    pub date: String,
    /// Delivery window, e.g. `08:00-12:00`.
    pub window: String,
}

/// A request to ship an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewShipment {
    /// The order: one shipment per order, so sending it again returns the same shipment.
    pub order_id: OrderId,
    /// The order's business reference, for the packing slip.
    pub reference: String,
    /// Where it goes.
    pub destination: Address,
    /// 1 to 50 lines, each product at most once.
    pub lines: Vec<ShipmentLine>,
    /// The delivery slot; required when (and only when) a line is oversized.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freight_booking: Option<FreightSlot>,
}

impl NewShipment {
    /// Checks the request; names the first bad field.
    pub fn validate(&self) -> Result<(), FieldError> {
        let bad = |field: &str, why: String| Err(FieldError::new(field.to_owned(), why));
        check_reference(&self.reference).map_err(|why| FieldError::new("reference", why))?;
        self.destination.validate("destination")?;
        if !(1..=MAX_LINES).contains(&self.lines.len()) {
            return bad("lines", format!("send 1 to {MAX_LINES} lines, got {}", self.lines.len()));
        }
        for (index, line) in self.lines.iter().enumerate() {
            let field = |name: &str| format!("lines[{index}].{name}");
            if !(1..=MAX_QUANTITY).contains(&line.quantity) {
                return bad(&field("quantity"), format!("must be between 1 and {MAX_QUANTITY}, got {}", line.quantity));
            }
            if !(1..=MAX_UNIT_GRAMS).contains(&line.weight_grams) {
                return bad(&field("weight_grams"), format!("must be between 1 and {MAX_UNIT_GRAMS}"));
            }
            if line.stock_class == StockClass::Standard && line.weight_grams > MAX_PARCEL_GRAMS {
                return bad(
                    &field("weight_grams"),
                    format!("a standard item ships in parcels of at most {MAX_PARCEL_GRAMS} g; ship it as oversized"),
                );
            }
            let Dimensions { length, width, height } = line.dimensions_mm;
            if length == 0 || width == 0 || height == 0 {
                return bad(&field("dimensions_mm"), "every side must be at least 1 mm".to_owned());
            }
            if self.lines[..index].iter().any(|earlier| earlier.product_id == line.product_id) {
                return bad(
                    &field("product_id"),
                    format!("'{}' appears on two lines; put its whole quantity on one line", line.product_id),
                );
            }
        }
        let oversized = self.lines.iter().any(|line| line.stock_class == StockClass::Oversized);
        match (&self.freight_booking, oversized) {
            (None, true) => {
                bad("freight_booking", "oversized lines travel as freight: send their delivery slot".into())
            }
            (Some(_), false) => {
                bad("freight_booking", "is only for oversized lines; this shipment has none, leave it out".into())
            }
            (Some(slot), true) => {
                for (name, value) in
                    [("reservation_id", &slot.reservation_id), ("date", &slot.date), ("window", &slot.window)]
                {
                    if !(1..=64).contains(&value.trim().len()) {
                        return bad(&format!("freight_booking.{name}"), "must be 1 to 64 characters".into());
                    }
                }
                Ok(())
            }
            (None, false) => Ok(()),
        }
    }

    /// Identifies the request, to tell a retry (lines in any order) from a different request.
    pub fn fingerprint(&self) -> String {
        let mut lines: Vec<String> = self
            .lines
            .iter()
            .map(|l| {
                let d = l.dimensions_mm;
                format!(
                    "{}x{}:{}:{}g:{}x{}x{}",
                    l.product_id,
                    l.quantity,
                    l.stock_class.as_str(),
                    l.weight_grams,
                    d.length,
                    d.width,
                    d.height
                )
            })
            .collect();
        lines.sort();
        let slot = self.freight_booking.as_ref().map(|s| format!("{}|{}|{}", s.reservation_id, s.date, s.window));
        serde_json::json!({
            "reference": self.reference,
            "destination": self.destination,
            "lines": lines,
            "slot": slot,
        })
        .to_string()
    }
}

/// Units of one product in a parcel.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
pub struct ParcelLine {
    /// The product.
    pub product_id: ProductId,
    /// Units in this parcel.
    pub quantity: u32,
}

/// A parcel as packing plans it, before it gets an id and a tracking number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedParcel {
    /// Who carries it.
    pub carrier: Carrier,
    /// Its weight.
    pub weight_grams: u32,
    /// What is in it, by product id.
    pub lines: Vec<ParcelLine>,
}

/// Packs the lines of a valid [`NewShipment`] into parcels.
///
/// Standard units are packed first-fit decreasing by weight: units sorted heaviest first (ties
/// by product id), each into the first parcel that stays within 20 kg with it, else into a new
/// parcel; so no parcel exceeds 20 kg and few are used. Oversized lines all go, whole, into one
/// freight consignment, which comes last.
pub fn plan_parcels(lines: &[ShipmentLine]) -> Vec<PlannedParcel> {
    let mut units: Vec<(&ProductId, u32)> = lines
        .iter()
        .filter(|line| line.stock_class == StockClass::Standard)
        .flat_map(|line| std::iter::repeat_n((&line.product_id, line.weight_grams), line.quantity as usize))
        .collect();
    units.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let mut parcels: Vec<PlannedParcel> = Vec::new();
    for (product, grams) in units {
        let index = match parcels.iter().position(|p| p.weight_grams + grams <= MAX_PARCEL_GRAMS) {
            Some(index) => index,
            None => {
                parcels.push(PlannedParcel { carrier: Carrier::SwiftParcel, weight_grams: 0, lines: Vec::new() });
                parcels.len() - 1
            }
        };
        let parcel = &mut parcels[index];
        parcel.weight_grams += grams;
        match parcel.lines.iter_mut().find(|line| &line.product_id == product) {
            Some(line) => line.quantity += 1,
            None => parcel.lines.push(ParcelLine { product_id: product.clone(), quantity: 1 }),
        }
    }
    for parcel in &mut parcels {
        parcel.lines.sort();
    }
    let oversized: Vec<&ShipmentLine> = lines.iter().filter(|line| line.stock_class == StockClass::Oversized).collect();
    if !oversized.is_empty() {
        let mut freight_lines: Vec<ParcelLine> = oversized
            .iter()
            .map(|line| ParcelLine { product_id: line.product_id.clone(), quantity: line.quantity })
            .collect();
        freight_lines.sort();
        parcels.push(PlannedParcel {
            carrier: Carrier::BoutiqueFreight,
            weight_grams: oversized.iter().map(|line| line.weight_grams.saturating_mul(line.quantity)).sum(),
            lines: freight_lines,
        });
    }
    parcels
}

/// One parcel (or freight consignment) of a shipment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Parcel {
    /// Its id.
    pub id: ParcelId,
    /// Who carries it.
    pub carrier: Carrier,
    /// The carrier's tracking number.
    pub tracking_number: String,
    /// Its weight.
    pub weight_grams: u32,
    /// What is in it.
    pub lines: Vec<ParcelLine>,
    /// Its status: the shipment's.
    pub status: ShipmentStatus,
    /// The delivery slot, for freight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_slot: Option<FreightSlot>,
}

/// The shipment of one order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Shipment {
    /// Its id.
    pub id: ShipmentId,
    /// The order it ships.
    pub order_id: OrderId,
    /// The order's business reference.
    pub reference: String,
    /// Where it stands.
    pub status: ShipmentStatus,
    /// Where it goes.
    pub destination: Address,
    /// Its parcels: the parcel-carrier parcels first, then any freight consignment.
    pub parcels: Vec<Parcel>,
    /// When it was registered.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// When its status last changed.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

/// A tracking update: a status reached, where, and a note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrackingUpdate {
    /// The status the shipment reached.
    pub status: ShipmentStatus,
    /// Where, e.g. a depot, up to 200 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// A note, up to 200 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl TrackingUpdate {
    /// Checks the free-text fields; names the first bad one.
    pub fn validate(&self) -> Result<(), FieldError> {
        for (field, value) in [("location", &self.location), ("note", &self.note)] {
            if let Some(value) = value
                && !(1..=200).contains(&value.trim().chars().count())
            {
                return Err(FieldError::new(field, "must be 1 to 200 characters, or left out"));
            }
        }
        Ok(())
    }
}

/// A recorded tracking event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TrackingEvent {
    /// The status reached.
    pub status: ShipmentStatus,
    /// Where.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// A note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// When it was recorded.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
}

/// What a tracking number leads to: the parcel, its shipment, and the events, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Tracking {
    /// The parcel with that tracking number.
    pub parcel: Parcel,
    /// Its shipment.
    pub shipment: Shipment,
    /// The shipment's tracking events, newest first.
    pub events: Vec<TrackingEvent>,
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn line(id: &str, quantity: u32, grams: u32, class: StockClass) -> ShipmentLine {
        ShipmentLine {
            product_id: ProductId::parse(id).unwrap(),
            quantity,
            stock_class: class,
            weight_grams: grams,
            dimensions_mm: Dimensions { length: 300, width: 200, height: 100 },
        }
    }

    fn request(lines: Vec<ShipmentLine>, slot: bool) -> NewShipment {
        NewShipment {
            order_id: OrderId::generate(),
            reference: "checkout-1".into(),
            destination: Address {
                name: "Ana".into(),
                line1: "1 Main St".into(),
                line2: None,
                city: "Springfield".into(),
                region: None,
                postal_code: "12345".into(),
                country: "US".into(),
            },
            lines,
            freight_booking: slot.then(|| FreightSlot {
                reservation_id: "slot-1".into(),
                date: "2026-11-27".into(),
                window: "08:00-12:00".into(),
            }),
        }
    }

    #[test]
    fn the_status_machine_allows_exactly_its_moves() {
        use ShipmentStatus::*;
        let allowed = [
            (Created, Picked),
            (Picked, Packed),
            (Packed, Shipped),
            (Shipped, Delivered),
            (Created, Cancelled),
            (Picked, Cancelled),
            (Packed, Cancelled),
            (Shipped, Returned),
        ];
        for from in STATUSES {
            for to in STATUSES {
                let expected = if from == to {
                    Ok(Change::Unchanged)
                } else if allowed.contains(&(from, to)) {
                    Ok(Change::Moved)
                } else {
                    Err(())
                };
                assert_eq!(from.apply(to).map_err(drop), expected, "{from:?} -> {to:?}");
            }
        }
        let refusal = Shipped.apply(Cancelled).unwrap_err();
        assert!(
            refusal.contains("from shipped to cancelled") && refusal.contains("delivered or returned"),
            "{refusal}"
        );
        assert!(Delivered.apply(Returned).unwrap_err().contains("ended"));
        for status in STATUSES {
            assert_eq!(ShipmentStatus::parse(status.as_str()), Ok(status));
        }
    }

    #[test]
    fn tracking_numbers_carry_a_check_digit() {
        assert_eq!(tracking_number(Carrier::SwiftParcel, [1, 2, 3, 4, 5, 6, 7, 8, 9]), "SP1234567897");
        assert_eq!(check_tracking_number("SP1234567897"), Ok(()));
        assert!(check_tracking_number("SP1234567898").is_err(), "a wrong check digit");
        assert!(check_tracking_number("SP2134567897").is_err(), "swapped neighbours");
        assert!(check_tracking_number("XX1234567897").is_err());
        assert!(check_tracking_number("SP123456789").is_err());
        for carrier in [Carrier::SwiftParcel, Carrier::BoutiqueFreight] {
            for _ in 0..100 {
                let number = random_tracking_number(carrier);
                assert!(number.starts_with(carrier.prefix()) && number.len() == 12, "{number}");
                assert_eq!(check_tracking_number(&number), Ok(()), "{number}");
            }
        }
    }

    #[test]
    fn standard_units_pack_first_fit_decreasing_and_freight_goes_last() {
        let lines = vec![
            line("cast-iron-skillet", 3, 4_000, StockClass::Standard),
            line("stoneware-vase", 2, 9_000, StockClass::Standard),
            line("velvet-cushion", 4, 500, StockClass::Standard),
            line("walnut-dining-table", 1, 60_000, StockClass::Oversized),
        ];
        let parcels = plan_parcels(&lines);
        type Summary = (Carrier, u32, Vec<(String, u32)>);
        let summary: Vec<Summary> = parcels
            .iter()
            .map(|p| {
                (p.carrier, p.weight_grams, p.lines.iter().map(|l| (l.product_id.to_string(), l.quantity)).collect())
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (Carrier::SwiftParcel, 20_000, vec![("stoneware-vase".into(), 2), ("velvet-cushion".into(), 4)]),
                (Carrier::SwiftParcel, 12_000, vec![("cast-iron-skillet".into(), 3)]),
                (Carrier::BoutiqueFreight, 60_000, vec![("walnut-dining-table".into(), 1)]),
            ]
        );
    }

    #[test]
    fn requests_are_checked_field_by_field() {
        let standard = || line("velvet-cushion", 1, 500, StockClass::Standard);
        let oversized = || line("walnut-dining-table", 1, 60_000, StockClass::Oversized);
        assert_eq!(request(vec![standard()], false).validate(), Ok(()));
        assert_eq!(request(vec![standard(), oversized()], true).validate(), Ok(()));
        let field = |r: NewShipment| r.validate().unwrap_err().field;
        assert_eq!(field(request(vec![], false)), "lines");
        assert_eq!(field(request(vec![oversized()], false)), "freight_booking");
        assert_eq!(field(request(vec![standard()], true)), "freight_booking");
        assert_eq!(field(request(vec![standard(), standard()], false)), "lines[1].product_id");
        assert_eq!(
            field(request(vec![line("velvet-cushion", 0, 500, StockClass::Standard)], false)),
            "lines[0].quantity"
        );
        assert_eq!(
            field(request(vec![line("velvet-cushion", 1, 25_000, StockClass::Standard)], false)),
            "lines[0].weight_grams"
        );
        let mut bad_address = request(vec![standard()], false);
        bad_address.destination.country = "usa".into();
        assert_eq!(field(bad_address), "destination.country");
    }

    #[test]
    fn fingerprints_ignore_line_order_only() {
        let a = request(
            vec![
                line("velvet-cushion", 1, 500, StockClass::Standard),
                line("stoneware-vase", 2, 900, StockClass::Standard),
            ],
            false,
        );
        let mut b = a.clone();
        b.lines.reverse();
        assert_eq!(a.fingerprint(), b.fingerprint());
        b.lines[0].quantity = 3;
        assert_ne!(a.fingerprint(), b.fingerprint());
    }

    proptest! {
        #[test]
        fn packing_keeps_every_unit_and_the_weight_limit(
            specs in proptest::collection::vec((1u32..=99, 1u32..=20_000, any::<bool>()), 1..12)
        ) {
            let lines: Vec<ShipmentLine> = specs
                .iter()
                .enumerate()
                .map(|(i, (quantity, grams, big))| {
                    let class = if *big { StockClass::Oversized } else { StockClass::Standard };
                    line(&format!("product-{i}"), *quantity, *grams, class)
                })
                .collect();
            let parcels = plan_parcels(&lines);
            for line in &lines {
                let packed: u32 = parcels
                    .iter()
                    .flat_map(|p| &p.lines)
                    .filter(|l| l.product_id == line.product_id)
                    .map(|l| l.quantity)
                    .sum();
                prop_assert_eq!(packed, line.quantity);
            }
            let freight = parcels.iter().filter(|p| p.carrier == Carrier::BoutiqueFreight).count();
            prop_assert_eq!(freight, usize::from(lines.iter().any(|l| l.stock_class == StockClass::Oversized)));
            for parcel in parcels.iter().filter(|p| p.carrier == Carrier::SwiftParcel) {
                prop_assert!(parcel.weight_grams <= MAX_PARCEL_GRAMS && parcel.weight_grams > 0);
            }
        }
    }
}
