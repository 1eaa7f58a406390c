//! Loyalty: tiers, points and the ledger that explains them, and what an order earns.
//!
//! The loyalty rules live here and nowhere else: discount per tier, points earned per dollar,
//! and the lifetime points each tier starts at.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::contracts::order::{OrderPlaced, OrderStatus, merchandise_subtotal};
use crate::crm::domain::{CustomerId, Standing};
use crate::crm::domain::{named_enum, prefixed_id};
use crate::money::{CurrencyCode, Money};

prefixed_id!(
    /// A loyalty ledger entry id such as `pts-1001a`.
    EntryId, "pts", "pts-1001a"
);

named_enum!(
    /// A loyalty tier, decided by lifetime points.
    Tier {
        /// Below 1,000 lifetime points.
        Bronze = "bronze",
        /// From 1,000 lifetime points.
        Silver = "silver",
        /// From 5,000 lifetime points.
        Gold = "gold",
        /// From 20,000 lifetime points.
        Platinum = "platinum",
    }
);

/// The currency loyalty points are earned in: the catalog's pricing currency.
pub const POINTS_CURRENCY: CurrencyCode = CurrencyCode::USD;

/// Basis points in a whole (100 %).
const BPS_PER_WHOLE: i128 = 10_000;

impl Tier {
    /// The discount on a subtotal, in basis points (500 = 5 %).
    pub fn discount_bps(self) -> u32 {
        match self {
            Tier::Bronze => 0,
            Tier::Silver => 500,
            Tier::Gold => 1000,
            Tier::Platinum => 1500,
        }
    }

    /// Points earned per whole US dollar spent.
    pub fn points_per_usd(self) -> i64 {
        match self {
            Tier::Bronze => 1,
            Tier::Silver => 2,
            Tier::Gold => 3,
            Tier::Platinum => 4,
        }
    }

    /// The lifetime points at which the tier starts.
    pub fn threshold(self) -> i64 {
        match self {
            Tier::Bronze => 0,
            Tier::Silver => 1000,
            Tier::Gold => 5000,
            Tier::Platinum => 20_000,
        }
    }

    /// The tier above this one.
    pub fn next(self) -> Option<Tier> {
        match self {
            Tier::Bronze => Some(Tier::Silver),
            Tier::Silver => Some(Tier::Gold),
            Tier::Gold => Some(Tier::Platinum),
            Tier::Platinum => None,
        }
    }
}

/// The tier a customer with `lifetime_points` is in.
pub fn tier_for(lifetime_points: i64) -> Tier {
    Tier::ALL.iter().rev().copied().find(|tier| lifetime_points >= tier.threshold()).unwrap_or(Tier::Bronze)
}

/// `bps` basis points of `subtotal`, rounded down; nothing on a subtotal of zero or less.
pub(in crate::crm) fn discount_at(bps: u32, subtotal: Money) -> Money {
    if subtotal.minor_units <= 0 {
        return Money::zero(subtotal.currency);
    }
    // Both factors are non-negative, so integer division rounds down; i128 cannot overflow.
    let minor = i128::from(subtotal.minor_units) * i128::from(bps) / BPS_PER_WHOLE;
    Money::new(subtotal.currency, i64::try_from(minor).unwrap_or(subtotal.minor_units))
}

/// The discount in basis points a customer in `tier` with `standing` gets: none when suspended.
pub fn effective_discount_bps(tier: Tier, standing: Standing) -> u32 {
    match standing {
        Standing::Suspended => 0,
        Standing::Good | Standing::Watch => tier.discount_bps(),
    }
}

/// Points earned in `tier` for spending `amount`: the tier's rate per whole dollar.
///
/// Only amounts in [`POINTS_CURRENCY`] earn points (convert others first); refunds and
/// zero amounts earn none.
pub fn points_for(tier: Tier, amount: Money) -> i64 {
    if amount.currency != POINTS_CURRENCY || amount.minor_units <= 0 {
        return 0;
    }
    (amount.minor_units / POINTS_CURRENCY.minor_per_major()).saturating_mul(tier.points_per_usd())
}

/// A customer's loyalty standing as shown to them and to checkout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LoyaltyStatus {
    /// The tier, decided by lifetime points.
    pub tier: Tier,
    /// Points available to spend.
    pub points: i64,
    /// Points ever earned; redemptions do not lower it.
    pub lifetime_points: i64,
    /// The discount on orders in basis points (1000 = 10 %); 0 while the account is suspended.
    pub discount_bps: u32,
    /// Points earned per whole US dollar spent.
    pub points_per_usd: i64,
    /// The next tier up; absent at the top.
    pub next_tier: Option<Tier>,
    /// Lifetime points still needed for the next tier; absent at the top.
    pub points_to_next_tier: Option<i64>,
}

impl LoyaltyStatus {
    /// The status of an account with `points` to spend, `lifetime_points` earned, in `standing`.
    pub fn new(points: i64, lifetime_points: i64, standing: Standing) -> Self {
        let tier = tier_for(lifetime_points);
        let next_tier = tier.next();
        LoyaltyStatus {
            tier,
            points,
            lifetime_points,
            discount_bps: effective_discount_bps(tier, standing),
            points_per_usd: tier.points_per_usd(),
            next_tier,
            points_to_next_tier: next_tier.map(|next| next.threshold() - lifetime_points),
        }
    }
}

/// The most points one ledger entry may add or take.
pub const MAX_POINTS_DELTA: i64 = 1_000_000;

/// A change to a customer's points, as requested.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewLoyaltyEntry {
    /// Points added (earned, goodwill) or taken (redeemed, clawed back); never zero.
    pub delta: i64,
    /// Why, for agents and the customer.
    pub reason: String,
    /// What it is for, e.g. an order id: an entry is recorded once per reference.
    pub reference: String,
}

/// One change to a customer's points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LoyaltyEntry {
    /// The entry.
    pub id: EntryId,
    /// Points added or, when negative, taken.
    pub delta: i64,
    /// Why.
    pub reason: String,
    /// What it is for, unique per customer (an order id for earned points).
    pub reference: String,
    /// When it was recorded.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
}

/// Checks a points delta.
pub fn check_delta(delta: i64) -> Result<i64, String> {
    if delta != 0 && (-MAX_POINTS_DELTA..=MAX_POINTS_DELTA).contains(&delta) {
        Ok(delta)
    } else {
        Err(format!("must be a non-zero number of points between -{MAX_POINTS_DELTA} and {MAX_POINTS_DELTA}"))
    }
}

/// Checks a ledger reference: 1 to 100 visible ASCII characters, such as an order id.
pub fn check_reference(reference: &str) -> Result<String, String> {
    if (1..=100).contains(&reference.len()) && reference.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(reference.to_owned())
    } else {
        Err("use 1 to 100 visible ASCII characters, e.g. the order id".to_owned())
    }
}

/// The reason of the points an order earns.
pub const ORDER_REASON: &str = "order";

/// Points a placed order earns its customer, before the tier is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderEarning {
    /// Who earns them.
    pub customer_id: CustomerId,
    /// The order id: the ledger reference, so an order earns once.
    pub reference: String,
    /// The order's merchandise subtotal in US dollars (shipping, freight and discounts do not earn).
    pub amount: Money,
}

/// What a placed order earns: `None` for a guest's order and for an order held for review
/// (it has not been charged); an error when the event cannot be an order of ours (a customer
/// id of another form, a subtotal that overflows or passes [`Money::check_bounds`]).
pub fn order_earning(event: &OrderPlaced) -> Result<Option<OrderEarning>, String> {
    let Some(customer_id) = &event.order.customer_id else {
        return Ok(None);
    };
    if event.order.status != OrderStatus::Confirmed {
        return Ok(None);
    }
    let customer_id = CustomerId::parse(customer_id).map_err(|why| format!("customer_id: {why}"))?;
    let amount = merchandise_subtotal(&event.lines).ok_or("the merchandise subtotal overflows")?;
    let amount = amount.check_bounds().map_err(|why| format!("the merchandise subtotal {why}"))?;
    Ok(Some(OrderEarning { customer_id, reference: event.order.order_id.to_string(), amount }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn usd(minor_units: i64) -> Money {
        Money::new(CurrencyCode::USD, minor_units)
    }

    /// The tier's discount on `subtotal`, whatever the customer's standing.
    fn discount(tier: Tier, subtotal: Money) -> Money {
        discount_at(tier.discount_bps(), subtotal)
    }

    #[test]
    fn tier_rules() {
        let table: Vec<_> = Tier::ALL.iter().map(|t| (t.discount_bps(), t.points_per_usd(), t.threshold())).collect();
        assert_eq!(table, vec![(0, 1, 0), (500, 2, 1000), (1000, 3, 5000), (1500, 4, 20_000)]);
        for (points, tier) in [
            (0, Tier::Bronze),
            (999, Tier::Bronze),
            (1000, Tier::Silver),
            (4999, Tier::Silver),
            (5000, Tier::Gold),
            (19_999, Tier::Gold),
            (20_000, Tier::Platinum),
            (-5, Tier::Bronze),
        ] {
            assert_eq!(tier_for(points), tier, "{points}");
        }
    }

    #[test]
    fn discounts_round_down_and_skip_suspended_accounts() {
        assert_eq!(discount(Tier::Silver, usd(1999)), usd(99), "5 % of 19.99 is 0.9995");
        assert_eq!(discount(Tier::Gold, usd(1999)), usd(199));
        assert_eq!(discount(Tier::Platinum, usd(100_000)), usd(15_000));
        assert_eq!(discount(Tier::Bronze, usd(100_000)), usd(0));
        assert_eq!(discount(Tier::Platinum, usd(-5000)), usd(0), "refunds get no discount");
        assert_eq!(discount(Tier::Gold, usd(i64::MAX)).minor_units, i64::MAX / 10);
        assert_eq!(effective_discount_bps(Tier::Gold, Standing::Watch), 1000);
        assert_eq!(effective_discount_bps(Tier::Gold, Standing::Suspended), 0);
        assert_eq!(LoyaltyStatus::new(10, 25_000, Standing::Suspended).discount_bps, 0);
    }

    #[test]
    fn points_per_whole_dollar() {
        assert_eq!(points_for(Tier::Bronze, usd(1999)), 19);
        assert_eq!(points_for(Tier::Platinum, usd(1999)), 76);
        assert_eq!(points_for(Tier::Gold, usd(99)), 0);
        assert_eq!(points_for(Tier::Gold, usd(-10_000)), 0);
        assert_eq!(points_for(Tier::Gold, Money::new(CurrencyCode::EUR, 10_000)), 0, "only USD earns");
    }

    #[test]
    fn status_names_the_next_tier() {
        let status = LoyaltyStatus::new(300, 4200, Standing::Good);
        assert_eq!(
            (status.tier, status.next_tier, status.points_to_next_tier),
            (Tier::Silver, Some(Tier::Gold), Some(800))
        );
        assert_eq!((status.discount_bps, status.points_per_usd), (500, 2));
        let top = LoyaltyStatus::new(0, 20_000, Standing::Good);
        assert_eq!((top.tier, top.next_tier, top.points_to_next_tier), (Tier::Platinum, None, None));
    }

    #[test]
    fn deltas_and_references() {
        assert!(check_delta(0).is_err());
        assert!(check_delta(MAX_POINTS_DELTA + 1).is_err());
        assert!(check_delta(-MAX_POINTS_DELTA).is_ok());
        assert!(check_delta(i64::MIN).is_err(), "refused, not a panic");
        assert!(check_reference("ord-9f2c").is_ok());
        assert!(check_reference("has space").is_err());
        assert!(check_reference("").is_err());
    }

    proptest! {
        #[test]
        fn discount_is_the_rounded_down_share(minor in 0_i64..=i64::MAX / 2, tier_index in 0_usize..4) {
            let tier = Tier::ALL[tier_index];
            let off = discount(tier, usd(minor)).minor_units;
            let exact_times_whole = i128::from(minor) * i128::from(tier.discount_bps());
            // off ≤ exact < off + 1, i.e. off is the exact share rounded down.
            prop_assert!(i128::from(off) * BPS_PER_WHOLE <= exact_times_whole);
            prop_assert!(exact_times_whole < (i128::from(off) + 1) * BPS_PER_WHOLE);
            prop_assert!(off <= minor);
        }

        #[test]
        fn tiers_rise_with_lifetime_points(a in -1000_i64..100_000, b in -1000_i64..100_000) {
            let (low, high) = if a <= b { (a, b) } else { (b, a) };
            prop_assert!(tier_for(low) <= tier_for(high));
            let tier = tier_for(high);
            prop_assert!(high >= tier.threshold() || tier == Tier::Bronze);
            prop_assert!(tier.next().is_none_or(|next| high < next.threshold()));
        }

        #[test]
        fn higher_tiers_never_earn_or_save_less(minor in 0_i64..10_000_000_000) {
            for pair in Tier::ALL.windows(2) {
                prop_assert!(points_for(pair[0], usd(minor)) <= points_for(pair[1], usd(minor)));
                prop_assert!(discount(pair[0], usd(minor)).minor_units <= discount(pair[1], usd(minor)).minor_units);
            }
        }
    }
}
