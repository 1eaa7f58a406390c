//! Customers: their accounts, addresses and standing, and the notes agents keep on them.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::crm::domain::{CustomerId, Standing, prefixed_id};
use crate::crm::loyalty::domain::{Tier, discount_at};
use crate::money::Money;

prefixed_id!(
    /// An address id such as `adr-1001a`.
    AddressId, "adr", "adr-1001a"
);
prefixed_id!(
    /// A note id such as `note-1001a`.
    NoteId, "note", "note-1001a"
);

/// An email address, lowercased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "margaret.okafor@example.com")]
pub struct Email(String);

impl Email {
    /// Parses an address: one `@`, something before it, a dotted domain after it, no spaces,
    /// at most 254 characters. Surrounding spaces are dropped and letters lowercased.
    pub fn parse(text: &str) -> Result<Self, String> {
        let email = text.trim().to_lowercase();
        if email.chars().count() > 254 {
            return Err("must be at most 254 characters".to_owned());
        }
        if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("must not contain spaces".to_owned());
        }
        let Some((local, domain)) = email.split_once('@').filter(|(_, domain)| !domain.contains('@')) else {
            return Err("must contain exactly one '@', e.g. name@example.com".to_owned());
        };
        if local.is_empty() {
            return Err("needs a name before the '@', e.g. name@example.com".to_owned());
        }
        if !domain.contains('.') || domain.split('.').any(str::is_empty) {
            return Err("needs a domain with a dot after the '@', e.g. name@example.com".to_owned());
        }
        Ok(Email(email))
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Email {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        Email::parse(&text)
    }
}

impl From<Email> for String {
    fn from(email: Email) -> String {
        email.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The longest customer name.
pub const MAX_NAME: usize = 200;

/// Checks a phone number: digits with optional spaces, dashes, dots and parentheses, an
/// optional leading `+`, 7 to 15 digits. Returned trimmed.
pub fn check_phone(phone: &str) -> Result<String, String> {
    let phone = phone.trim();
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    let allowed = phone
        .char_indices()
        .all(|(i, c)| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')') || (c == '+' && i == 0));
    if allowed && (7..=15).contains(&digits) {
        Ok(phone.to_owned())
    } else {
        Err("use 7 to 15 digits, optionally with a leading '+', spaces, dashes or parentheses".to_owned())
    }
}

/// Who signs up: checked email, name and phone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewCustomer {
    /// The email, unique among customers.
    pub email: Email,
    /// The name as the customer gives it.
    pub name: String,
    /// A phone number, if given.
    pub phone: Option<String>,
}

/// Every ISO 3166-1 alpha-2 code, sorted.
const COUNTRY_CODES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ \
     BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ \
     CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ \
     DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR \
     GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU \
     ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ \
     LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ \
     NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA \
     RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ \
     TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// An ISO 3166-1 alpha-2 country code such as `GB` or `TR`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "GB")]
pub struct CountryCode(String);

impl CountryCode {
    /// Parses a code in either case; stored in capitals.
    pub fn parse(code: &str) -> Result<Self, String> {
        let code = code.trim().to_ascii_uppercase();
        if code.len() == 2 && COUNTRY_CODES.split(' ').any(|known| known == code) {
            return Ok(CountryCode(code));
        }
        let hint = if code == "UK" { " (the United Kingdom is GB)" } else { "" };
        Err(format!("'{code}' is not an ISO 3166-1 alpha-2 country code{hint}; use e.g. US, GB, DE, JP or TR"))
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CountryCode {
    type Error = String;
    fn try_from(code: String) -> Result<Self, String> {
        CountryCode::parse(&code)
    }
}

impl From<CountryCode> for String {
    fn from(code: CountryCode) -> String {
        code.0
    }
}

/// A postal address of a customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Address {
    /// The address.
    pub id: AddressId,
    /// The customer's name for it, e.g. `Home` or `Office`.
    pub label: String,
    /// Street and number.
    pub line1: String,
    /// Flat, floor, company.
    pub line2: Option<String>,
    /// City or town.
    pub city: String,
    /// State, province, county or prefecture.
    pub region: String,
    /// Postal code.
    pub postal_code: String,
    /// ISO 3166-1 alpha-2 country.
    pub country: CountryCode,
    /// Orders ship here unless the customer says otherwise; one address per customer.
    pub default_shipping: bool,
    /// Payments are billed here unless the customer says otherwise; one address per customer.
    pub default_billing: bool,
}

/// A new address, checked. The first address of a customer becomes both defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewAddress {
    /// The customer's name for it.
    pub label: String,
    /// Street and number.
    pub line1: String,
    /// Flat, floor, company.
    pub line2: Option<String>,
    /// City or town.
    pub city: String,
    /// State, province, county or prefecture.
    pub region: String,
    /// Postal code.
    pub postal_code: String,
    /// Country.
    pub country: CountryCode,
    /// Make it the default shipping address.
    pub default_shipping: bool,
    /// Make it the default billing address.
    pub default_billing: bool,
}

/// A customer as agents and other systems see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Customer {
    /// The customer.
    pub id: CustomerId,
    /// Email, lowercased and unique.
    pub email: Email,
    /// Name.
    pub name: String,
    /// Phone number, if known.
    pub phone: Option<String>,
    /// When the account was opened: young accounts matter to fraud checks.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// Whether the store trusts the account.
    pub standing: Standing,
    /// Why the standing was last set; absent if it never changed.
    pub standing_reason: Option<String>,
    /// Loyalty tier.
    pub tier: Tier,
    /// Points available to spend.
    pub points: i64,
    /// Points ever earned.
    pub lifetime_points: i64,
    /// Discount on orders in basis points; 0 while suspended.
    pub discount_bps: u32,
    /// Addresses, oldest first.
    pub addresses: Vec<Address>,
}

impl Customer {
    /// This customer's discount on `subtotal`, rounded down: none while suspended.
    pub fn discount(&self, subtotal: Money) -> Money {
        discount_at(self.discount_bps, subtotal)
    }
}

/// An append-only note agents keep on a customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Note {
    /// The note.
    pub id: NoteId,
    /// Whom it is about.
    pub customer_id: CustomerId,
    /// An agent's name, `system` or `customer`.
    pub author: String,
    /// The text: untrusted, may quote the customer.
    pub body: String,
    /// When it was written.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_checked_and_lowercased() {
        assert_eq!(Email::parse("  Ada.Lovelace@Example.COM ").unwrap().as_str(), "ada.lovelace@example.com");
        for bad in ["", "ada", "ada@", "@example.com", "ada@example", "a@b@example.com", "ada @example.com", "a@.com"] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
        let longest = format!("{}@example.com", "a".repeat(254 - 12));
        assert!(Email::parse(&longest).is_ok());
        assert!(Email::parse(&format!("a{longest}")).is_err());
    }

    #[test]
    fn phones_and_countries() {
        assert_eq!(check_phone(" +1 (212) 555-0147 ").as_deref(), Ok("+1 (212) 555-0147"));
        for bad in ["555", "+1 212 555 0147 0000 00", "call me", "1+2125550147"] {
            assert!(check_phone(bad).is_err(), "{bad:?}");
        }
        assert_eq!(COUNTRY_CODES.split(' ').count(), 249);
        assert!(COUNTRY_CODES.split(' ').collect::<Vec<_>>().windows(2).all(|w| w[0] < w[1]));
        assert_eq!(CountryCode::parse("tr").unwrap().as_str(), "TR");
        assert!(CountryCode::parse("UK").unwrap_err().contains("GB"));
        assert!(CountryCode::parse("XX").is_err());
    }
}
