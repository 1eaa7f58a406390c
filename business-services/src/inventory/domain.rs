//! Stock levels, stock movements and reservations, and the rules for them.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::contracts::product::ProductId;
use crate::platform::FieldError;
use crate::platform::id::{check_hex_id, random_hex_id, string_id};
use crate::platform::idempotency::check_reference;

/// The most lines one reservation may hold.
pub const MAX_LINES: usize = 50;
/// The most units of one product one reservation may hold.
pub const MAX_QUANTITY: u32 = 99;
/// The longest a reservation may be held, in seconds.
pub const MAX_TTL_SECS: u32 = 3600;
/// How long a reservation is held when the request does not say, in seconds.
pub const DEFAULT_TTL_SECS: u32 = 900;
/// The largest change one stock movement may make, in units, either way.
pub const MAX_DELTA: i64 = 1_000_000;
/// The most units of one product that can be on hand: movements that would pass it are refused,
/// so stock levels (and their sums with any delta) never overflow.
pub const MAX_ON_HAND: i64 = 1_000_000_000_000;

string_id!(
    /// A reservation id, `rsv_` and 32 hex digits, chosen by inventory.
    ReservationId,
    example = "rsv_8f14e45fceea167a5a36dedd4bea2543",
    check = |id| check_hex_id(id, "rsv_", "a reservation id"),
);

impl ReservationId {
    /// A new random id.
    pub fn generate() -> Self {
        ReservationId(random_hex_id("rsv_"))
    }
}

/// How much of one product is in the warehouse and how much of it is held for checkouts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Stock {
    /// The product.
    pub product_id: ProductId,
    /// Units in the warehouse.
    pub on_hand: i64,
    /// Units held by reservations not yet committed or released.
    pub reserved: i64,
    /// Units that can still be reserved: on hand less reserved.
    pub available: i64,
}

impl Stock {
    /// The stock of `product_id` with `on_hand` units of which `reserved` are held.
    pub fn new(product_id: ProductId, on_hand: i64, reserved: i64) -> Self {
        Stock { product_id, on_hand, reserved, available: on_hand - reserved }
    }
}

/// Why stock changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MovementKind {
    /// Goods arrived: a delivery from a supplier or a customer return.
    Receipt,
    /// A stock-take correction, up or down.
    Adjustment,
    /// Units left with a committed reservation.
    Sale,
}

impl MovementKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            MovementKind::Receipt => "receipt",
            MovementKind::Adjustment => "adjustment",
            MovementKind::Sale => "sale",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Result<Self, String> {
        match name {
            "receipt" => Ok(MovementKind::Receipt),
            "adjustment" => Ok(MovementKind::Adjustment),
            "sale" => Ok(MovementKind::Sale),
            other => Err(format!("'{other}' is not a movement kind: use receipt or adjustment")),
        }
    }
}

/// A movement an operator records: a receipt or a stock-take adjustment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMovement {
    /// Units added (positive) or removed (negative).
    pub delta: i64,
    /// Receipt or adjustment.
    pub kind: MovementKind,
    /// The delivery note, purchase order or stock-take it comes from.
    pub reference: String,
}

impl NewMovement {
    /// Checks a movement sent by an operator; names the bad field. Sales are recorded only by
    /// committing reservations.
    pub fn parse(delta: i64, kind: &str, reference: String) -> Result<Self, FieldError> {
        let kind = match MovementKind::parse(kind) {
            Ok(MovementKind::Sale) => {
                return Err(FieldError::new(
                    "kind",
                    "sales are recorded by committing a reservation; use receipt or adjustment".to_owned(),
                ));
            }
            Ok(kind) => kind,
            Err(why) => return Err(FieldError::new("kind", why)),
        };
        if delta == 0 || !(-MAX_DELTA..=MAX_DELTA).contains(&delta) {
            return Err(FieldError::new(
                "delta",
                format!("must be a non-zero number of units between -{MAX_DELTA} and {MAX_DELTA}"),
            ));
        }
        if kind == MovementKind::Receipt && delta < 0 {
            return Err(FieldError::new(
                "delta",
                "a receipt adds stock: send a positive delta, or an adjustment to remove".to_owned(),
            ));
        }
        check_reference(&reference).map_err(|why| FieldError::new("reference", why))?;
        Ok(NewMovement { delta, kind, reference })
    }

    /// Identifies the movement, to tell a retried request from a different one.
    pub fn fingerprint(&self, product: &ProductId) -> String {
        format!("{product} {} {} {}", self.kind.as_str(), self.delta, self.reference)
    }

    /// Why this movement cannot be applied to `stock`, if it would leave fewer units on hand
    /// than zero or than are reserved, or more than [`MAX_ON_HAND`].
    pub fn refusal(&self, stock: &Stock) -> Option<String> {
        let after = stock.on_hand.checked_add(self.delta).filter(|after| *after <= MAX_ON_HAND);
        match after {
            None => Some(format!(
                "would leave more than {MAX_ON_HAND} units of '{}' on hand ({} are); add at most {} units",
                stock.product_id,
                stock.on_hand,
                MAX_ON_HAND.saturating_sub(stock.on_hand).max(0)
            )),
            Some(after) if after < stock.reserved => Some(format!(
                "would leave {after} units of '{}' on hand, but {} are on hand and {} reserved; \
                 remove at most {} units",
                stock.product_id, stock.on_hand, stock.reserved, stock.available
            )),
            Some(_) => None,
        }
    }
}

/// One entry of the stock ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Movement {
    /// The entry's id.
    pub id: String,
    /// The product.
    pub product_id: ProductId,
    /// Units added (positive) or removed (negative).
    pub delta: i64,
    /// Why.
    pub kind: MovementKind,
    /// The delivery, stock-take or reservation it comes from.
    pub reference: String,
    /// When it was recorded.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
}

/// A movement as recorded, with the stock it left.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RecordedMovement {
    /// The ledger entry.
    pub movement: Movement,
    /// The product's stock after it.
    pub stock: Stock,
}

/// Where a reservation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReservationStatus {
    /// The units are held until the reservation is committed, released or expires.
    Held,
    /// The units were sold: they left the stock on hand.
    Committed,
    /// The units are free again, released by the caller or because the hold expired.
    Released,
}

impl ReservationStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ReservationStatus::Held => "held",
            ReservationStatus::Committed => "committed",
            ReservationStatus::Released => "released",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Result<Self, String> {
        match name {
            "held" => Ok(ReservationStatus::Held),
            "committed" => Ok(ReservationStatus::Committed),
            "released" => Ok(ReservationStatus::Released),
            other => Err(format!("'{other}' is not a reservation status")),
        }
    }
}

/// Units of one product in a reservation.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReservationLine {
    /// The product; inventory must stock it.
    pub product_id: ProductId,
    /// Units, 1 to 99.
    pub quantity: u32,
}

/// A hold on stock for one checkout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Reservation {
    /// The reservation's id.
    pub id: ReservationId,
    /// The caller's reference, unique: reserving with it again returns this reservation.
    pub reference: String,
    /// Held, committed or released.
    pub status: ReservationStatus,
    /// The units held, by product id.
    pub lines: Vec<ReservationLine>,
    /// When it was made.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// When a hold not committed by then is released.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: OffsetDateTime,
}

fn default_ttl() -> u32 {
    DEFAULT_TTL_SECS
}

/// A request to hold stock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReserveRequest {
    /// The caller's unique reference, e.g. the order id: makes retries safe.
    pub reference: String,
    /// 1 to 50 lines, each product at most once.
    pub lines: Vec<ReservationLine>,
    /// Seconds to hold the units, 1 to 3600 (default 900).
    #[serde(default = "default_ttl")]
    #[schema(default = 900, minimum = 1, maximum = 3600)]
    pub ttl_secs: u32,
}

impl ReserveRequest {
    /// Checks the request; names the first bad field.
    pub fn validate(&self) -> Result<(), FieldError> {
        check_reference(&self.reference).map_err(|why| FieldError::new("reference", why))?;
        if !(1..=MAX_LINES).contains(&self.lines.len()) {
            return Err(FieldError::new(
                "lines".to_owned(),
                format!("send 1 to {MAX_LINES} lines, got {}", self.lines.len()),
            ));
        }
        for (index, line) in self.lines.iter().enumerate() {
            if !(1..=MAX_QUANTITY).contains(&line.quantity) {
                return Err(FieldError::new(
                    format!("lines[{index}].quantity"),
                    format!("must be between 1 and {MAX_QUANTITY}, got {}", line.quantity),
                ));
            }
            if self.lines[..index].iter().any(|earlier| earlier.product_id == line.product_id) {
                return Err(FieldError::new(
                    format!("lines[{index}].product_id"),
                    format!("'{}' appears on two lines; put its whole quantity on one line", line.product_id),
                ));
            }
        }
        if !(1..=MAX_TTL_SECS).contains(&self.ttl_secs) {
            return Err(FieldError::new(
                "ttl_secs".to_owned(),
                format!("must be between 1 and {MAX_TTL_SECS}, got {}", self.ttl_secs),
            ));
        }
        Ok(())
    }

    /// Whether `reservation` holds exactly the lines asked for, in any order.
    pub fn matches(&self, reservation: &Reservation) -> bool {
        let mut asked = self.lines.clone();
        let mut held = reservation.lines.clone();
        asked.sort();
        held.sort();
        asked == held
    }
}

/// A line that could not be reserved because too few units are available.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortage {
    /// The product.
    pub product_id: ProductId,
    /// Units asked for.
    pub requested: u32,
    /// Units that could be reserved.
    pub available: i64,
}

/// Describes the shortages that made a reservation fail, for the caller.
pub fn describe_shortages(shortages: &[Shortage]) -> String {
    let lines: Vec<String> = shortages
        .iter()
        .map(|s| format!("'{}': {} requested, {} available", s.product_id, s.requested, s.available.max(0)))
        .collect();
    format!("not enough stock, nothing was reserved: {}; lower the quantities or remove those lines", lines.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn product(id: &str) -> ProductId {
        ProductId::parse(id).unwrap()
    }

    fn line(id: &str, quantity: u32) -> ReservationLine {
        ReservationLine { product_id: product(id), quantity }
    }

    fn request(lines: Vec<ReservationLine>) -> ReserveRequest {
        ReserveRequest { reference: "order-1".into(), lines, ttl_secs: DEFAULT_TTL_SECS }
    }

    #[test]
    fn reservation_ids_round_trip_and_reject_others() {
        let id = ReservationId::generate();
        assert_eq!(ReservationId::parse(id.as_str()), Ok(id.clone()));
        for bad in
            ["", "rsv_", "rsv_XYZ", "auth_8f14e45fceea167a5a36dedd4bea2543", "rsv_8F14E45FCEEA167A5A36DEDD4BEA2543"]
        {
            assert!(ReservationId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn requests_are_checked_field_by_field() {
        let field = |request: ReserveRequest| request.validate().err().map(|error| error.field);
        assert_eq!(field(request(vec![line("velvet-cushion", 2)])), None);
        assert_eq!(field(request(vec![])).as_deref(), Some("lines"));
        assert_eq!(field(request(vec![line("a", 1); MAX_LINES + 1])).as_deref(), Some("lines"));
        assert_eq!(field(request(vec![line("a", 1), line("b", 0)])).as_deref(), Some("lines[1].quantity"));
        assert_eq!(field(request(vec![line("a", 100)])).as_deref(), Some("lines[0].quantity"));
        assert_eq!(
            field(request(vec![line("a", 1), line("b", 1), line("a", 2)])).as_deref(),
            Some("lines[2].product_id")
        );
        let no_ttl = ReserveRequest { ttl_secs: 0, ..request(vec![line("a", 1)]) };
        assert_eq!(field(no_ttl).as_deref(), Some("ttl_secs"));
        let long = ReserveRequest { ttl_secs: MAX_TTL_SECS + 1, ..request(vec![line("a", 1)]) };
        assert_eq!(field(long).as_deref(), Some("ttl_secs"));
        let blank = ReserveRequest { reference: "has space".into(), ..request(vec![line("a", 1)]) };
        assert_eq!(field(blank).as_deref(), Some("reference"));
    }

    #[test]
    fn the_ttl_defaults_when_left_out() {
        let parsed: ReserveRequest =
            serde_json::from_str(r#"{"reference": "o", "lines": [{"product_id": "a", "quantity": 1}]}"#).unwrap();
        assert_eq!(parsed.ttl_secs, DEFAULT_TTL_SECS);
    }

    #[test]
    fn operators_record_receipts_and_adjustments_only() {
        let parse = |delta, kind: &str| NewMovement::parse(delta, kind, "po-1".into()).map_err(|error| error.field);
        assert!(parse(5, "receipt").is_ok());
        assert!(parse(-5, "adjustment").is_ok());
        assert_eq!(parse(-5, "receipt"), Err("delta".to_owned()));
        assert_eq!(parse(0, "adjustment"), Err("delta".to_owned()));
        assert_eq!(parse(MAX_DELTA + 1, "receipt"), Err("delta".to_owned()));
        assert_eq!(parse(-1, "sale"), Err("kind".to_owned()));
        assert_eq!(parse(1, "gift"), Err("kind".to_owned()));
        assert_eq!(
            NewMovement::parse(1, "receipt", String::new()).map_err(|error| error.field),
            Err("reference".to_owned())
        );
    }

    #[test]
    fn stock_never_goes_below_what_is_reserved() {
        let stock = Stock::new(product("a"), 10, 4);
        let remove = |delta| NewMovement { delta, kind: MovementKind::Adjustment, reference: "count".into() };
        assert_eq!(remove(-6).refusal(&stock), None);
        let refusal = remove(-7).refusal(&stock).unwrap();
        assert!(refusal.contains("remove at most 6 units"), "{refusal}");
        assert!(remove(-11).refusal(&stock).is_some());
        let full = Stock::new(product("a"), MAX_ON_HAND - 5, 0);
        let add = |delta| NewMovement { delta, kind: MovementKind::Receipt, reference: "po".into() };
        assert_eq!(add(5).refusal(&full), None);
        let refusal = add(6).refusal(&full).unwrap();
        assert!(refusal.contains("add at most 5 units"), "{refusal}");
    }

    #[test]
    fn shortages_name_products_and_availability() {
        let text =
            describe_shortages(&[Shortage { product_id: product("marble-side-table"), requested: 2, available: 0 }]);
        assert!(text.contains("'marble-side-table': 2 requested, 0 available"), "{text}");
    }

    proptest! {
        #[test]
        fn movements_are_bounded_either_way_and_never_overflow(
            delta in prop_oneof![any::<i64>(), Just(i64::MIN), Just(i64::MAX), -MAX_DELTA - 2..=-MAX_DELTA + 2,
                                 MAX_DELTA - 2..=MAX_DELTA + 2],
            on_hand in prop_oneof![0..=MAX_ON_HAND, Just(MAX_ON_HAND)],
        ) {
            let parsed = NewMovement::parse(delta, "adjustment", "count-1".into());
            prop_assert_eq!(parsed.is_ok(), delta != 0 && (-MAX_DELTA..=MAX_DELTA).contains(&delta));
            if let Ok(movement) = parsed {
                let stock = Stock::new(product("a"), on_hand, 0);
                let after = on_hand + movement.delta;
                prop_assert_eq!(movement.refusal(&stock).is_none(), (0..=MAX_ON_HAND).contains(&after));
            }
        }

        #[test]
        fn the_same_lines_in_any_order_match(quantities in proptest::collection::vec(1_u32..=99, 1..10), seed in any::<u64>()) {
            let lines: Vec<_> = quantities.iter().enumerate().map(|(i, q)| line(&format!("p{i}"), *q)).collect();
            let mut shuffled = lines.clone();
            fastrand::Rng::with_seed(seed).shuffle(&mut shuffled);
            let reservation = Reservation {
                id: ReservationId::generate(),
                reference: "order-1".into(),
                status: ReservationStatus::Held,
                lines: shuffled,
                created_at: OffsetDateTime::UNIX_EPOCH,
                expires_at: OffsetDateTime::UNIX_EPOCH,
            };
            prop_assert!(request(lines.clone()).matches(&reservation));
            let mut changed = lines;
            changed[0].quantity = if changed[0].quantity == 1 { 2 } else { changed[0].quantity - 1 };
            prop_assert!(!request(changed).matches(&reservation));
        }
    }
}
