//! Orders, receipts, pricing rules and the saga's states: no I/O.

use serde::{Deserialize, Serialize};

use crate::contracts::order::{Amounts, PricedLine, ReceiptLine};
use crate::contracts::product::StockClass;
use crate::currency::client::{ConversionError, Rate, convert};
use crate::money::{CurrencyCode, Money, Rounding, divide};

/// Shipping for parcels is free from this merchandise subtotal (USD minor units) on.
pub const FREE_SHIPPING_FROM_USD: i64 = 10_000;
/// Parcel shipping below [`FREE_SHIPPING_FROM_USD`], USD minor units.
pub const PARCEL_SHIPPING_USD: i64 = 895;

/// Checks an email address's form (the CRM owns verification).
pub fn check_email(email: &str) -> Result<String, String> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
        })
        && email.matches('@').count() == 1
        && !email.contains(char::is_whitespace);
    if valid { Ok(email) } else { Err("is not an email address such as ana@example.com".into()) }
}

/// Parcel shipping for `lines` in USD: free without parcels or from the free-shipping threshold.
pub fn parcel_shipping(lines: &[PricedLine], subtotal_usd: Money) -> Money {
    let has_parcels = lines.iter().any(|line| line.stock_class == StockClass::Standard);
    let fee = if has_parcels && subtotal_usd.minor_units < FREE_SHIPPING_FROM_USD { PARCEL_SHIPPING_USD } else { 0 };
    Money::new(CurrencyCode::USD, fee)
}

/// Prices an order in `rates[to]`: every catalog amount is converted once (half-even), lines
/// are unit × quantity in the customer's currency, and the discount (`discount_bps` basis
/// points of the subtotal) rounds toward zero, so the receipt adds up to the cent.
pub fn price(
    lines: &[PricedLine],
    discount_bps: u32,
    shipping_usd: Money,
    freight_usd: Money,
    usd: Rate,
    to: Rate,
) -> Result<Amounts, ConversionError> {
    let convert = |amount: Money| convert(amount, usd, to, Rounding::HalfEven);
    let currency = to.currency;
    let overflow = |money: Option<Money>| money.ok_or(ConversionError::Overflow);
    let mut items = Vec::with_capacity(lines.len());
    let mut subtotal = Money::zero(currency);
    for line in lines {
        let unit_price = convert(line.unit_price)?;
        let line_total = overflow(unit_price.checked_mul(i64::from(line.quantity)))?;
        subtotal = overflow(subtotal.checked_add(line_total))?;
        items.push(ReceiptLine {
            product_id: line.product_id.clone(),
            name: line.name.clone(),
            quantity: line.quantity,
            unit_price,
            line_total,
        });
    }
    let discount_minor =
        divide(i128::from(subtotal.minor_units) * i128::from(discount_bps), 10_000, Rounding::TowardZero)
            .and_then(|d| i64::try_from(d).ok())
            .ok_or(ConversionError::Overflow)?;
    let discount = Money::new(currency, discount_minor);
    let shipping = convert(shipping_usd)?;
    let freight = convert(freight_usd)?;
    let total = overflow(
        subtotal
            .checked_add(Money::new(currency, -discount_minor))
            .and_then(|t| t.checked_add(shipping))
            .and_then(|t| t.checked_add(freight)),
    )?;
    Ok(Amounts { items, subtotal, discount, shipping, freight, total })
}

/// The steps of a checkout saga, in order; persisted after each one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SagaState {
    /// The key is claimed and the cart priced; reservations may be in flight.
    Started,
    /// Stock and freight are reserved, the customer and the fraud engine have answered.
    Reserved,
    /// The card is authorized.
    Authorized,
    /// The card is charged: from here on the saga only goes forward.
    Captured,
    /// Stock and freight are committed.
    Committed,
    /// The order and its event are written; the receipt is final.
    Completed,
    /// Something failed; reservations are being released and the authorization voided.
    Compensating,
    /// Compensated; the outcome is a problem for the caller.
    Failed,
}

impl SagaState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            SagaState::Started => "started",
            SagaState::Reserved => "reserved",
            SagaState::Authorized => "authorized",
            SagaState::Captured => "captured",
            SagaState::Committed => "committed",
            SagaState::Completed => "completed",
            SagaState::Compensating => "compensating",
            SagaState::Failed => "failed",
        }
    }

    /// Every state, in the order a saga goes through them.
    pub const ALL: [SagaState; 8] = [
        SagaState::Started,
        SagaState::Reserved,
        SagaState::Authorized,
        SagaState::Captured,
        SagaState::Committed,
        SagaState::Completed,
        SagaState::Compensating,
        SagaState::Failed,
    ];

    /// Parses a stored name.
    pub fn parse(name: &str) -> Option<Self> {
        SagaState::ALL.into_iter().find(|state| state.as_str() == name)
    }

    /// Whether the saga has ended.
    pub fn is_final(self) -> bool {
        matches!(self, SagaState::Completed | SagaState::Failed)
    }

    /// What recovery does with a saga last recorded in this state, given what the payment
    /// gateway really holds under its reference (never the saga's own record of it). Money
    /// taken goes forward to an order (or, if that proves impossible, back to the customer);
    /// a held order's open authorization is as far as its payment goes, so it goes forward
    /// too; anything else is undone, since the card details were never stored to go on with.
    pub fn recovery(self, hold: bool, payment: PaymentHeld) -> Recovery {
        use SagaState::{Authorized, Captured, Committed, Compensating, Completed, Failed, Started};
        match (self, payment) {
            (Completed | Failed, _) => Recovery::Nothing,
            (Started | Compensating, _) => Recovery::Compensate,
            (_, PaymentHeld::Captured) => Recovery::Finish,
            (Authorized | Captured | Committed, PaymentHeld::Authorized) if hold => Recovery::Finish,
            _ => Recovery::Compensate,
        }
    }
}

/// What the payment gateway holds under a saga's reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentHeld {
    /// No authorization, or only declined, voided or refunded ones.
    Nothing,
    /// An open authorization: the amount is held on the card.
    Authorized,
    /// The card was charged and not refunded.
    Captured,
}

/// What recovery does with an unfinished saga.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    /// Undo what the owners hold (void, refund, release, cancel), then fail it.
    Compensate,
    /// Run the remaining steps.
    Finish,
    /// It has ended.
    Nothing,
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::contracts::order::{Address, OrderId};
    use crate::contracts::product::{Dimensions, ProductId};
    use crate::currency::client::parse_nanos;

    fn rate(code: &str, per_eur: &str) -> Rate {
        Rate { currency: CurrencyCode::parse(code).unwrap(), per_eur_nanos: parse_nanos(per_eur).unwrap() }
    }

    fn line(id: &str, unit_cents: i64, quantity: u32, class: StockClass) -> PricedLine {
        PricedLine {
            product_id: ProductId::parse(id).unwrap(),
            name: id.into(),
            quantity,
            unit_price: Money::new(CurrencyCode::USD, unit_cents),
            stock_class: class,
            weight_grams: 1000,
            dimensions_mm: Dimensions { length: 100, width: 100, height: 100 },
        }
    }

    #[test]
    fn order_ids_have_their_form() {
        let id = OrderId::generate();
        assert_eq!(OrderId::parse(id.as_str()), Ok(id));
        assert!(OrderId::parse("ord_xyz").is_err());
    }

    #[test]
    fn addresses_and_emails_name_the_bad_field() {
        let address = Address {
            name: "Ana Ruiz".into(),
            line1: "1 Market St".into(),
            line2: None,
            city: "San Francisco".into(),
            region: Some("CA".into()),
            postal_code: "94105".into(),
            country: "US".into(),
        };
        assert_eq!(address.validate("shipping_address"), Ok(()));
        let bad = Address { country: "usa".into(), ..address.clone() };
        assert_eq!(bad.validate("shipping_address").unwrap_err().field, "shipping_address.country");
        let blank = Address { city: "  ".into(), ..address };
        assert_eq!(blank.validate("billing_address").unwrap_err().field, "billing_address.city");
        assert_eq!(check_email(" Ana@Example.COM "), Ok("ana@example.com".into()));
        for bad in ["ana", "ana@", "@example.com", "ana@example", "a@b@c.com", "a b@c.com"] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn shipping_is_free_from_the_threshold_or_without_parcels() {
        let parcels = [line("tee", 2800, 1, StockClass::Standard)];
        assert_eq!(parcel_shipping(&parcels, Money::new(CurrencyCode::USD, 2800)).minor_units, PARCEL_SHIPPING_USD);
        assert_eq!(parcel_shipping(&parcels, Money::new(CurrencyCode::USD, FREE_SHIPPING_FROM_USD)).minor_units, 0);
        let freight_only = [line("sofa", 245_000, 1, StockClass::Oversized)];
        assert_eq!(parcel_shipping(&freight_only, Money::new(CurrencyCode::USD, 100)).minor_units, 0);
    }

    #[test]
    fn prices_in_the_customers_currency_and_adds_up() {
        let lines = [line("tee", 2800, 2, StockClass::Standard), line("mug", 1999, 1, StockClass::Standard)];
        let (usd, eur) = (rate("USD", "1.0832"), rate("EUR", "1"));
        let amounts =
            price(&lines, 1000, Money::new(CurrencyCode::USD, 895), Money::zero(CurrencyCode::USD), usd, eur).unwrap();
        // 28.00 USD -> 25.85 EUR; 19.99 USD -> 18.45 EUR
        assert_eq!(amounts.items[0].unit_price.minor_units, 2585);
        assert_eq!(amounts.items[0].line_total.minor_units, 5170);
        assert_eq!(amounts.subtotal.minor_units, 5170 + 1845);
        assert_eq!(amounts.discount.minor_units, 701, "10 % of 70.15, rounded toward zero");
        assert_eq!(amounts.shipping.minor_units, 826);
        assert_eq!(amounts.total.minor_units, 7015 - 701 + 826);
        assert_eq!(amounts.total.currency, CurrencyCode::EUR);
    }

    const PAYMENTS: [PaymentHeld; 3] = [PaymentHeld::Nothing, PaymentHeld::Authorized, PaymentHeld::Captured];

    #[test]
    fn recovery_follows_the_money_the_gateway_holds_not_the_record() {
        use PaymentHeld::{Authorized, Captured, Nothing};
        // The saga recorded less than the gateway did: a charge is finished, a hold undone.
        assert_eq!(SagaState::Authorized.recovery(false, Captured), Recovery::Finish);
        assert_eq!(SagaState::Reserved.recovery(false, Authorized), Recovery::Compensate);
        // Or more: a recorded capture the gateway does not hold is not finished.
        assert_eq!(SagaState::Captured.recovery(false, Nothing), Recovery::Compensate);
        // A held order keeps its open authorization once it was recorded.
        assert_eq!(SagaState::Authorized.recovery(true, Authorized), Recovery::Finish);
        assert_eq!(SagaState::Committed.recovery(true, Authorized), Recovery::Finish);
        assert_eq!(SagaState::Reserved.recovery(true, Authorized), Recovery::Compensate);
        for state in SagaState::ALL {
            assert_eq!(SagaState::parse(state.as_str()), Some(state));
        }
    }

    #[test]
    fn recovery_never_leaves_an_unfinished_saga_and_never_goes_on_without_money() {
        for state in SagaState::ALL {
            for payment in PAYMENTS {
                for hold in [false, true] {
                    let recovery = state.recovery(hold, payment);
                    assert_eq!(recovery == Recovery::Nothing, state.is_final(), "{state:?} {payment:?}");
                    if recovery == Recovery::Finish {
                        assert_ne!(payment, PaymentHeld::Nothing, "{state:?}: an order needs a payment");
                        assert!(!matches!(state, SagaState::Started | SagaState::Compensating));
                    }
                    // Started cannot have charged (nothing was priced); Compensating chose to undo.
                    let undoing = matches!(state, SagaState::Started | SagaState::Compensating);
                    if !state.is_final() && !undoing && payment == PaymentHeld::Captured {
                        assert_eq!(recovery, Recovery::Finish, "{state:?}: money taken becomes an order");
                    }
                }
            }
        }
    }

    proptest! {
        #[test]
        fn receipts_always_add_up(
            units in proptest::collection::vec((1_i64..500_000, 1_u32..10), 1..6),
            bps in 0_u32..=1500,
            shipping in 0_i64..2000,
            freight in 0_i64..100_000,
            code in prop::sample::select(vec!["USD", "EUR", "JPY", "GBP", "TRY", "CAD"]),
        ) {
            let lines: Vec<PricedLine> = units.iter().enumerate()
                .map(|(i, (cents, qty))| line(&format!("p{i}"), *cents, *qty, StockClass::Standard)).collect();
            let usd = rate("USD", "1.0832");
            let to = match code { "USD" => usd, "EUR" => rate("EUR", "1"), "JPY" => rate("JPY", "162.47"),
                "GBP" => rate("GBP", "0.8493"), "TRY" => rate("TRY", "36.214"), _ => rate("CAD", "1.4931") };
            let a = price(&lines, bps, Money::new(CurrencyCode::USD, shipping), Money::new(CurrencyCode::USD, freight), usd, to).unwrap();
            let line_sum: i64 = a.items.iter().map(|l| l.line_total.minor_units).sum();
            prop_assert_eq!(line_sum, a.subtotal.minor_units);
            for l in &a.items {
                prop_assert_eq!(l.unit_price.minor_units * i64::from(l.quantity), l.line_total.minor_units);
            }
            prop_assert_eq!(a.total.minor_units, a.subtotal.minor_units - a.discount.minor_units + a.shipping.minor_units + a.freight.minor_units);
            prop_assert!(a.discount.minor_units >= 0 && a.discount.minor_units * 10_000 <= a.subtotal.minor_units * i64::from(bps));
            prop_assert!(a.total.minor_units >= 0);
        }
    }
}
