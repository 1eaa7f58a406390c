//! Money: integer minor units with a currency, ISO 4217 exponents, and explicit rounding.
//!
//! No floating point anywhere: a price is a count of the currency's smallest unit (cents for
//! USD, yen for JPY), and every division says how it rounds.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::ToSchema;

/// What the store knows about one currency it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CurrencyInfo {
    /// ISO 4217 alphabetic code.
    pub code: &'static str,
    /// English name.
    pub name: &'static str,
    /// Symbol shown before amounts in the storefront.
    pub symbol: &'static str,
    /// Digits after the decimal point (2 for USD, 0 for JPY).
    pub exponent: u8,
}

/// Every currency the store prices in, sorted by code.
pub const CURRENCIES: &[CurrencyInfo] = &[
    CurrencyInfo { code: "AUD", name: "Australian dollar", symbol: "A$", exponent: 2 },
    CurrencyInfo { code: "BRL", name: "Brazilian real", symbol: "R$", exponent: 2 },
    CurrencyInfo { code: "CAD", name: "Canadian dollar", symbol: "CA$", exponent: 2 },
    CurrencyInfo { code: "CHF", name: "Swiss franc", symbol: "CHF ", exponent: 2 },
    CurrencyInfo { code: "CNY", name: "Chinese yuan", symbol: "CN¥", exponent: 2 },
    CurrencyInfo { code: "CZK", name: "Czech koruna", symbol: "Kč ", exponent: 2 },
    CurrencyInfo { code: "DKK", name: "Danish krone", symbol: "kr ", exponent: 2 },
    CurrencyInfo { code: "EUR", name: "Euro", symbol: "€", exponent: 2 },
    CurrencyInfo { code: "GBP", name: "Pound sterling", symbol: "£", exponent: 2 },
    CurrencyInfo { code: "HKD", name: "Hong Kong dollar", symbol: "HK$", exponent: 2 },
    CurrencyInfo { code: "HUF", name: "Hungarian forint", symbol: "Ft ", exponent: 2 },
    CurrencyInfo { code: "INR", name: "Indian rupee", symbol: "₹", exponent: 2 },
    CurrencyInfo { code: "JPY", name: "Japanese yen", symbol: "¥", exponent: 0 },
    CurrencyInfo { code: "KRW", name: "South Korean won", symbol: "₩", exponent: 0 },
    CurrencyInfo { code: "MXN", name: "Mexican peso", symbol: "MX$", exponent: 2 },
    CurrencyInfo { code: "NOK", name: "Norwegian krone", symbol: "kr ", exponent: 2 },
    CurrencyInfo { code: "NZD", name: "New Zealand dollar", symbol: "NZ$", exponent: 2 },
    CurrencyInfo { code: "PLN", name: "Polish złoty", symbol: "zł ", exponent: 2 },
    CurrencyInfo { code: "SEK", name: "Swedish krona", symbol: "kr ", exponent: 2 },
    CurrencyInfo { code: "SGD", name: "Singapore dollar", symbol: "S$", exponent: 2 },
    CurrencyInfo { code: "TRY", name: "Turkish lira", symbol: "₺", exponent: 2 },
    CurrencyInfo { code: "USD", name: "US dollar", symbol: "$", exponent: 2 },
    CurrencyInfo { code: "ZAR", name: "South African rand", symbol: "R ", exponent: 2 },
];

/// A supported ISO 4217 currency code; only codes listed in [`CURRENCIES`] can be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ToSchema)]
#[schema(value_type = String, example = "USD")]
pub struct CurrencyCode(&'static CurrencyInfo);

impl CurrencyCode {
    /// The US dollar, the catalog's pricing currency.
    pub const USD: CurrencyCode = CurrencyCode(&CURRENCIES[21]);
    /// The euro, the base of the reference rates.
    pub const EUR: CurrencyCode = CurrencyCode(&CURRENCIES[7]);

    /// Parses a code such as `"EUR"`; fails for anything the store does not price in.
    pub fn parse(code: &str) -> Result<Self, String> {
        CURRENCIES
            .iter()
            .find(|info| info.code == code)
            .map(CurrencyCode)
            .ok_or_else(|| {
                format!(
                    "'{code}' is not a supported currency; use an ISO 4217 code such as USD, EUR or JPY (see GET /v1/currencies)"
                )
            })
    }

    /// Every supported currency.
    pub fn all() -> impl Iterator<Item = CurrencyCode> {
        CURRENCIES.iter().map(CurrencyCode)
    }

    /// The three-letter code.
    pub fn as_str(self) -> &'static str {
        self.0.code
    }

    /// Name, symbol and exponent.
    pub fn info(self) -> &'static CurrencyInfo {
        self.0
    }

    /// Minor units in one major unit: 100 for USD, 1 for JPY.
    pub fn minor_per_major(self) -> i64 {
        10_i64.pow(u32::from(self.0.exponent))
    }

    /// The largest amount of this currency a request may carry, in minor units:
    /// [`MAX_MAJOR_UNITS`] major units (100,000,000,000 for USD, 1,000,000,000 for JPY or KRW).
    pub fn max_minor_units(self) -> i64 {
        MAX_MAJOR_UNITS * self.minor_per_major()
    }
}

/// The largest amount any request may carry, in major units of its currency, either way:
/// USD 1,000,000,000.00, JPY 1,000,000,000.
///
/// Far above any order, and far enough below `i64::MAX` minor units that tens of millions of
/// such amounts add up without overflow; every system that accepts money checks it at the door.
pub const MAX_MAJOR_UNITS: i64 = 1_000_000_000;

/// The largest [`CurrencyCode::max_minor_units`] of any currency (those with two decimals): the
/// bound the OpenAPI documents give `minor_units` in requests.
pub const MAX_MINOR_UNITS: i64 = MAX_MAJOR_UNITS * 100;

impl fmt::Display for CurrencyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for CurrencyCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for CurrencyCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        CurrencyCode::parse(&code).map_err(serde::de::Error::custom)
    }
}

/// An amount of money: a whole number of the currency's minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub struct Money {
    /// The currency.
    pub currency: CurrencyCode,
    /// The amount in minor units (cents for USD, yen for JPY); negative for refunds.
    #[schema(example = 1999)]
    pub minor_units: i64,
}

impl Money {
    /// An amount in minor units of `currency`.
    pub fn new(currency: CurrencyCode, minor_units: i64) -> Self {
        Money { currency, minor_units }
    }

    /// Zero in `currency`.
    pub fn zero(currency: CurrencyCode) -> Self {
        Money::new(currency, 0)
    }

    /// The sum, or `None` when the currencies differ or the sum overflows.
    pub fn checked_add(self, other: Money) -> Option<Money> {
        (self.currency == other.currency)
            .then(|| self.minor_units.checked_add(other.minor_units))
            .flatten()
            .map(|minor_units| Money::new(self.currency, minor_units))
    }

    /// The amount times a quantity, or `None` on overflow.
    pub fn checked_mul(self, quantity: i64) -> Option<Money> {
        self.minor_units.checked_mul(quantity).map(|minor_units| Money::new(self.currency, minor_units))
    }

    /// Checks an amount a request carries: at most [`MAX_MAJOR_UNITS`] major units of its
    /// currency either way. Callers add their own sign rules.
    pub fn check_bounds(self) -> Result<Money, String> {
        let max = self.currency.max_minor_units();
        if self.minor_units.unsigned_abs() <= max.unsigned_abs() {
            Ok(self)
        } else {
            let max = Money::new(self.currency, max);
            Err(format!("must be at most {max} either way ({} minor units), got {self}", max.minor_units))
        }
    }
}

/// The OpenAPI schema of an amount in a request: a [`Money`] whose `minor_units` is bounded as
/// [`Money::check_bounds`] checks. Use it on request fields with
/// `#[schema(schema_with = crate::money::bounded_schema)]`; answers keep the unbounded [`Money`],
/// since their sums (totals, balances) may exceed what one request carries.
pub fn bounded_schema() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .description(Some(format!(
            "An amount: at most {MAX_MAJOR_UNITS} major units of its currency either way \
             ({MAX_MINOR_UNITS} minor units with two decimals, {MAX_MAJOR_UNITS} without, as JPY)."
        )))
        .property("currency", ObjectBuilder::new().schema_type(Type::String).examples(["USD"]))
        .required("currency")
        .property("minor_units", bounded_minor_units_schema())
        .required("minor_units")
        .build()
}

/// The OpenAPI schema of a request's amount in minor units, bounded as
/// [`Money::check_bounds`] checks (to the loosest currency's bound: the document cannot say that
/// JPY's is a hundredth of it).
fn bounded_minor_units_schema() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(-MAX_MINOR_UNITS))
        .maximum(Some(MAX_MINOR_UNITS))
        .examples([1999])
        .build()
}

impl Money {
    /// The amount without its currency: `1234.50`, `1200`, `-3.07`, exact, with the currency's
    /// own number of decimals.
    pub fn amount(&self) -> String {
        let exponent = usize::from(self.currency.info().exponent);
        let sign = if self.minor_units < 0 { "-" } else { "" };
        let digits = format!("{:0>width$}", self.minor_units.unsigned_abs(), width = exponent + 1);
        let (major, minor) = digits.split_at(digits.len() - exponent);
        if exponent == 0 { format!("{sign}{major}") } else { format!("{sign}{major}.{minor}") }
    }
}

impl fmt::Display for Money {
    /// `USD 1234.50`, `JPY 1200`, `EUR -3.07`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.currency, self.amount())
    }
}

/// How a division that does not come out even is rounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    /// To the nearest; ties to the even neighbour (banker's rounding, unbiased over many sums).
    #[default]
    HalfEven,
    /// To the nearest; ties away from zero (what most people do by hand).
    HalfAwayFromZero,
    /// Toward zero (truncation).
    TowardZero,
    /// Away from zero.
    AwayFromZero,
}

/// `numerator / denominator` rounded as `mode` says; `None` when `denominator` is zero.
pub fn divide(numerator: i128, denominator: i128, mode: Rounding) -> Option<i128> {
    if denominator == 0 {
        return None;
    }
    let quotient = numerator / denominator; // truncates toward zero
    let remainder = numerator % denominator;
    if remainder == 0 {
        return Some(quotient);
    }
    // The exact result lies between `quotient` and `quotient + away`.
    let away = if (numerator < 0) == (denominator < 0) { 1 } else { -1 };
    let twice_remainder = remainder.unsigned_abs().saturating_mul(2);
    let half = twice_remainder.cmp(&denominator.unsigned_abs());
    let round_away = match mode {
        Rounding::TowardZero => false,
        Rounding::AwayFromZero => true,
        Rounding::HalfAwayFromZero => half.is_ge(),
        Rounding::HalfEven => half.is_gt() || (half.is_eq() && quotient % 2 != 0),
    };
    Some(if round_away { quotient + away } else { quotient })
}

/// Proptest strategies for money, for every system's property tests.
#[cfg(test)]
pub(crate) mod strategies {
    use super::*;
    use proptest::prelude::*;

    /// Any supported currency.
    pub fn any_currency() -> impl Strategy<Value = CurrencyCode> {
        prop::sample::select(CurrencyCode::all().collect::<Vec<_>>())
    }

    /// Any amount: mostly near the bounds and the ends of `i64`, where mistakes live.
    pub fn any_amount() -> impl Strategy<Value = Money> {
        let near = |edge: i64| (-3_i64..=3).prop_map(move |offset| edge.saturating_add(offset));
        let minor = prop_oneof![
            any::<i64>(),
            near(MAX_MINOR_UNITS),
            near(-MAX_MINOR_UNITS),
            near(MAX_MAJOR_UNITS),
            near(-MAX_MAJOR_UNITS),
            near(i64::MAX),
            near(i64::MIN),
            near(0),
        ];
        (any_currency(), minor).prop_map(|(currency, minor_units)| Money::new(currency, minor_units))
    }
}

#[cfg(test)]
mod tests {
    use super::strategies::any_amount;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn constants_name_the_right_currencies() {
        assert_eq!(CurrencyCode::USD.as_str(), "USD");
        assert_eq!(CurrencyCode::EUR.as_str(), "EUR");
        assert!(CURRENCIES.windows(2).all(|w| w[0].code < w[1].code), "CURRENCIES must stay sorted");
    }

    #[test]
    fn storefront_currencies_are_supported() {
        for code in ["USD", "EUR", "CAD", "JPY", "GBP", "TRY"] {
            assert_eq!(CurrencyCode::parse(code).map(|c| c.as_str()), Ok(code));
        }
        let error = CurrencyCode::parse("usd").unwrap_err();
        assert!(error.contains("'usd' is not a supported currency"), "{error}");
    }

    #[test]
    fn displays_exact_decimals() {
        assert_eq!(Money::new(CurrencyCode::USD, 123_450).to_string(), "USD 1234.50");
        assert_eq!(Money::new(CurrencyCode::USD, -7).to_string(), "USD -0.07");
        let yen = CurrencyCode::parse("JPY").unwrap();
        assert_eq!(Money::new(yen, 1200).to_string(), "JPY 1200");
    }

    #[test]
    fn rounding_modes_on_ties_and_non_ties() {
        use Rounding::*;
        let cases = [
            // (numerator, denominator, half_even, half_away, toward_zero, away_from_zero)
            (5, 2, 2, 3, 2, 3),
            (7, 2, 4, 4, 3, 4),
            (-5, 2, -2, -3, -2, -3),
            (-7, 2, -4, -4, -3, -4),
            (10, 3, 3, 3, 3, 4),
            (-11, 3, -4, -4, -3, -4),
            (6, 3, 2, 2, 2, 2),
            (5, -2, -2, -3, -2, -3),
        ];
        for (n, d, even, away, toward, up) in cases {
            assert_eq!(divide(n, d, HalfEven), Some(even), "{n}/{d} half_even");
            assert_eq!(divide(n, d, HalfAwayFromZero), Some(away), "{n}/{d} half_away");
            assert_eq!(divide(n, d, TowardZero), Some(toward), "{n}/{d} toward_zero");
            assert_eq!(divide(n, d, AwayFromZero), Some(up), "{n}/{d} away_from_zero");
        }
        assert_eq!(divide(1, 0, HalfEven), None);
    }

    #[test]
    fn the_documented_bound_is_the_loosest_currency_bound_and_sums_of_bounded_amounts_fit() {
        let loosest = CurrencyCode::all().map(CurrencyCode::max_minor_units).max();
        assert_eq!(loosest, Some(MAX_MINOR_UNITS));
        assert_eq!(CurrencyCode::parse("JPY").unwrap().max_minor_units(), MAX_MAJOR_UNITS);
        assert!(MAX_MINOR_UNITS.checked_mul(10_000_000).is_some(), "ten million bounded amounts add up");
        let schema = serde_json::to_value(bounded_schema()).unwrap();
        assert_eq!(schema["properties"]["minor_units"]["maximum"], MAX_MINOR_UNITS);
        assert_eq!(schema["properties"]["minor_units"]["minimum"], -MAX_MINOR_UNITS);
    }

    fn any_rounding() -> impl Strategy<Value = Rounding> {
        prop_oneof![
            Just(Rounding::HalfEven),
            Just(Rounding::HalfAwayFromZero),
            Just(Rounding::TowardZero),
            Just(Rounding::AwayFromZero),
        ]
    }

    proptest! {
        #[test]
        fn rounded_quotient_is_within_one_of_the_exact_value(
            n in -1_000_000_000_000_i128..1_000_000_000_000,
            d in 1_i128..1_000_000_000,
            mode in any_rounding(),
        ) {
            let q = divide(n, d, mode).unwrap();
            // |q*d - n| < d, i.e. q is one of the two integers around n/d.
            prop_assert!((q * d - n).abs() < d);
        }

        #[test]
        fn nearest_modes_are_at_most_half_a_unit_off(
            n in -1_000_000_000_000_i128..1_000_000_000_000,
            d in 1_i128..1_000_000_000,
        ) {
            for mode in [Rounding::HalfEven, Rounding::HalfAwayFromZero] {
                let q = divide(n, d, mode).unwrap();
                prop_assert!(2 * (q * d - n).abs() <= d);
            }
        }

        #[test]
        fn rounding_is_symmetric_around_zero(
            n in -1_000_000_000_000_i128..1_000_000_000_000,
            d in 1_i128..1_000_000_000,
            mode in any_rounding(),
        ) {
            prop_assert_eq!(divide(-n, d, mode), divide(n, d, mode).map(|q| -q));
        }

        #[test]
        fn division_is_monotonic(
            a in -1_000_000_000_i128..1_000_000_000,
            b in -1_000_000_000_i128..1_000_000_000,
            d in 1_i128..1_000_000,
            mode in any_rounding(),
        ) {
            let (lo, hi) = (a.min(b), a.max(b));
            prop_assert!(divide(lo, d, mode).unwrap() <= divide(hi, d, mode).unwrap());
        }

        #[test]
        fn adding_money_never_panics_and_is_exact(a in any::<i64>(), b in any::<i64>()) {
            let sum = Money::new(CurrencyCode::USD, a).checked_add(Money::new(CurrencyCode::USD, b));
            prop_assert_eq!(sum.map(|m| m.minor_units), a.checked_add(b));
            prop_assert_eq!(Money::new(CurrencyCode::USD, a).checked_add(Money::new(CurrencyCode::EUR, b)), None);
        }

        #[test]
        fn amounts_are_bounded_per_currency_either_way(amount in any_amount()) {
            let max = amount.currency.max_minor_units();
            let within = (-max..=max).contains(&amount.minor_units);
            let checked = amount.check_bounds();
            prop_assert_eq!(checked.is_ok(), within, "{}", amount);
            if let Err(message) = checked {
                prop_assert!(message.contains(&Money::new(amount.currency, max).to_string()), "{}", message);
            }
        }

        #[test]
        fn display_round_trips_through_minor_units(minor in any::<i64>()) {
            let text = Money::new(CurrencyCode::USD, minor).to_string();
            let digits: String = text.trim_start_matches("USD ").chars().filter(|c| *c != '.').collect();
            prop_assert_eq!(digits.parse::<i128>().unwrap(), i128::from(minor));
        }
    }
}
