//! Exchange rates and exact conversion between currencies.

use serde::{Deserialize, Serialize};

use crate::money::{CurrencyCode, Money, Rounding, divide};

/// Billionths in one unit: rates carry nine decimal places.
const NANOS: i128 = 1_000_000_000;

/// How many units of a currency one euro buys, exactly, in billionths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rate {
    /// The currency priced.
    pub currency: CurrencyCode,
    /// Units of `currency` per euro, times 10^9.
    pub per_eur_nanos: i64,
}

/// Why an amount could not be converted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConversionError {
    /// The result does not fit in 64-bit minor units.
    #[error("the converted amount is too large to represent")]
    Overflow,
    /// A rate was zero or negative.
    #[error("the rate of {0} is not positive")]
    BadRate(CurrencyCode),
}

/// Converts `amount` (priced by `from`) into the currency of `to`, rounding as `rounding` says.
///
/// `minor_to = minor_from × rate_to × 10^exp_to / (rate_from × 10^exp_from)`, in 128-bit
/// integers with a single rounding step at the end.
pub fn convert(amount: Money, from: Rate, to: Rate, rounding: Rounding) -> Result<Money, ConversionError> {
    debug_assert_eq!(amount.currency, from.currency, "the amount must be in the `from` currency");
    for rate in [from, to] {
        if rate.per_eur_nanos <= 0 {
            return Err(ConversionError::BadRate(rate.currency));
        }
    }
    let numerator = i128::from(amount.minor_units)
        .checked_mul(i128::from(to.per_eur_nanos))
        .and_then(|n| n.checked_mul(i128::from(to.currency.minor_per_major())))
        .ok_or(ConversionError::Overflow)?;
    let denominator = i128::from(from.per_eur_nanos) * i128::from(from.currency.minor_per_major());
    let minor = divide(numerator, denominator, rounding).ok_or(ConversionError::Overflow)?;
    i64::try_from(minor).map(|minor| Money::new(to.currency, minor)).map_err(|_| ConversionError::Overflow)
}

/// The rate of `to` against `from` (units of `to` per unit of `from`), to nine decimals.
pub fn cross_rate(from: Rate, to: Rate) -> String {
    let nanos = divide(i128::from(to.per_eur_nanos) * NANOS, i128::from(from.per_eur_nanos), Rounding::HalfEven)
        .unwrap_or_default();
    format_nanos(nanos)
}

/// `1083200000` → `"1.0832"`: exact, trailing zeros dropped.
pub fn format_nanos(nanos: i128) -> String {
    let sign = if nanos < 0 { "-" } else { "" };
    let (whole, fraction) = (nanos.unsigned_abs() / NANOS.unsigned_abs(), nanos.unsigned_abs() % NANOS.unsigned_abs());
    let fraction = format!("{fraction:09}");
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() { format!("{sign}{whole}") } else { format!("{sign}{whole}.{fraction}") }
}

/// `"1.0832"` → `1083200000`; at most nine decimals, positive.
pub fn parse_nanos(decimal: &str) -> Result<i64, String> {
    let bad = || format!("'{decimal}' is not a positive decimal with at most 9 decimal places");
    let (whole, fraction) = decimal.split_once('.').unwrap_or((decimal, "0"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !digits(fraction) || fraction.len() > 9 {
        return Err(bad());
    }
    let whole: i64 = whole.parse().map_err(|_| bad())?;
    let fraction: i64 = format!("{fraction:0<9}").parse().map_err(|_| bad())?;
    whole.checked_mul(1_000_000_000).and_then(|w| w.checked_add(fraction)).filter(|nanos| *nanos > 0).ok_or_else(bad)
}

/// Demo reference rates (units per euro), loaded on first start. They are fixed demo values,
/// not market data: operators load real ones through their own feed.
pub const DEMO_RATES: &[(&str, &str)] = &[
    ("AUD", "1.6512"),
    ("BRL", "5.9214"),
    ("CAD", "1.4931"),
    ("CHF", "0.9427"),
    ("CNY", "7.8113"),
    ("CZK", "25.118"),
    ("DKK", "7.4598"),
    ("EUR", "1"),
    ("GBP", "0.8493"),
    ("HKD", "8.4237"),
    ("HUF", "395.41"),
    ("INR", "90.312"),
    ("JPY", "162.47"),
    ("KRW", "1481.22"),
    ("MXN", "19.803"),
    ("NOK", "11.617"),
    ("NZD", "1.8046"),
    ("PLN", "4.3021"),
    ("SEK", "11.402"),
    ("SGD", "1.4519"),
    ("TRY", "36.214"),
    ("USD", "1.0832"),
    ("ZAR", "19.947"),
];

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn rate(code: &str, decimal: &str) -> Rate {
        Rate { currency: CurrencyCode::parse(code).unwrap(), per_eur_nanos: parse_nanos(decimal).unwrap() }
    }

    #[test]
    fn every_currency_has_a_demo_rate() {
        let codes: Vec<&str> = DEMO_RATES.iter().map(|(code, _)| *code).collect();
        let supported: Vec<&str> = CurrencyCode::all().map(CurrencyCode::as_str).collect();
        assert_eq!(codes, supported);
        for (code, decimal) in DEMO_RATES {
            assert!(parse_nanos(decimal).is_ok(), "{code}: {decimal}");
        }
    }

    #[test]
    fn converts_with_exponents_and_rounding() {
        let (usd, eur, jpy) = (rate("USD", "1.0832"), rate("EUR", "1"), rate("JPY", "162.47"));
        // 19.99 USD / 1.0832 = 18.4545790... EUR -> 18.45
        let amount = Money::new(usd.currency, 1999);
        assert_eq!(convert(amount, usd, eur, Rounding::HalfEven).unwrap(), Money::new(eur.currency, 1845));
        assert_eq!(convert(amount, usd, eur, Rounding::AwayFromZero).unwrap(), Money::new(eur.currency, 1846));
        // 10.00 EUR -> 1624.7 JPY, no minor digits: 1625 (nearest), 1624 (toward zero)
        let ten_euros = Money::new(eur.currency, 1000);
        assert_eq!(convert(ten_euros, eur, jpy, Rounding::HalfEven).unwrap().minor_units, 1625);
        assert_eq!(convert(ten_euros, eur, jpy, Rounding::TowardZero).unwrap().minor_units, 1624);
        // 1625 JPY -> 10.0018... EUR -> 10.00
        let yen = Money::new(jpy.currency, 1625);
        assert_eq!(convert(yen, jpy, eur, Rounding::HalfEven).unwrap().minor_units, 1000);
    }

    #[test]
    fn overflow_is_an_error_not_a_panic() {
        let (eur, krw) = (rate("EUR", "1"), rate("KRW", "1481.22"));
        let huge = Money::new(eur.currency, i64::MAX);
        assert_eq!(convert(huge, eur, krw, Rounding::HalfEven), Err(ConversionError::Overflow));
    }

    #[test]
    fn decimals_round_trip() {
        assert_eq!(parse_nanos("1.0832"), Ok(1_083_200_000));
        assert_eq!(format_nanos(1_083_200_000), "1.0832");
        assert_eq!(format_nanos(162_470_000_000), "162.47");
        for bad in ["", "0", "-1", "1.", ".5", "1.0000000001", "1e3", "abc"] {
            assert!(parse_nanos(bad).is_err(), "{bad:?}");
        }
    }

    fn any_rate() -> impl Strategy<Value = Rate> {
        (0..DEMO_RATES.len(), 1_i64..=2_000_000_000_000).prop_map(|(i, per_eur_nanos)| Rate {
            currency: CurrencyCode::parse(DEMO_RATES[i].0).unwrap(),
            per_eur_nanos,
        })
    }

    proptest! {
        #[test]
        fn converting_to_the_same_currency_changes_nothing(r in any_rate(), minor in any::<i64>()) {
            let amount = Money::new(r.currency, minor);
            prop_assert_eq!(convert(amount, r, r, Rounding::HalfEven), Ok(amount));
        }

        #[test]
        fn conversion_matches_exact_rational_arithmetic(
            from in any_rate(), to in any_rate(), minor in -1_000_000_000_000_i64..1_000_000_000_000,
        ) {
            let converted = convert(Money::new(from.currency, minor), from, to, Rounding::HalfEven).unwrap();
            // |converted - exact| <= 1/2 minor unit, checked in integers:
            // |converted * den - num| * 2 <= den
            let num = i128::from(minor) * i128::from(to.per_eur_nanos) * i128::from(to.currency.minor_per_major());
            let den = i128::from(from.per_eur_nanos) * i128::from(from.currency.minor_per_major());
            prop_assert!(2 * (i128::from(converted.minor_units) * den - num).abs() <= den);
            prop_assert_eq!(converted.currency, to.currency);
        }

        #[test]
        fn conversion_preserves_order(
            from in any_rate(), to in any_rate(), a in -1_000_000_000_i64..1_000_000_000, b in -1_000_000_000_i64..1_000_000_000,
        ) {
            let convert_minor = |m| convert(Money::new(from.currency, m), from, to, Rounding::HalfEven).unwrap().minor_units;
            prop_assert!(convert_minor(a.min(b)) <= convert_minor(a.max(b)));
        }

        #[test]
        fn round_trip_error_is_bounded_by_one_minor_unit_of_each_side(
            minor in -100_000_000_i64..100_000_000,
        ) {
            // USD -> EUR -> USD at demo rates loses at most what two roundings can.
            let (usd, eur) = (rate("USD", "1.0832"), rate("EUR", "1"));
            let there = convert(Money::new(usd.currency, minor), usd, eur, Rounding::HalfEven).unwrap();
            let back = convert(there, eur, usd, Rounding::HalfEven).unwrap();
            prop_assert!((back.minor_units - minor).abs() <= 1);
        }

        #[test]
        fn any_input_either_converts_or_reports_overflow(
            from in any_rate(), to in any_rate(), minor in any::<i64>(),
        ) {
            match convert(Money::new(from.currency, minor), from, to, Rounding::AwayFromZero) {
                Ok(money) => prop_assert_eq!(money.currency, to.currency),
                Err(error) => prop_assert_eq!(error, ConversionError::Overflow),
            }
        }
    }
}
