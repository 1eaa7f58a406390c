//! Customers, their addresses and standing, the loyalty rules, notes and support tickets.
//!
//! The loyalty rules live here and nowhere else: discount per tier, points earned per dollar,
//! and the lifetime points each tier starts at.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::contracts::order::{OrderPlaced, OrderStatus, merchandise_subtotal};
use crate::money::{CurrencyCode, Money};
use crate::platform::id::string_id;

/// Defines an id newtype written `<prefix>-<1 to 20 letters and digits>`, e.g. `cus-1001`.
macro_rules! prefixed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $example:literal) => {
        string_id!($(#[$doc])* $name, example = $example, check = |id| parse_prefixed(id, $prefix).map(drop));

        impl $name {
            /// A new random id.
            pub fn generate() -> Self {
                $name(format!("{}-{}", $prefix, &uuid::Uuid::new_v4().simple().to_string()[..16]))
            }
        }
    };
}

fn parse_prefixed(id: &str, prefix: &str) -> Result<String, String> {
    let valid = id
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|rest| (1..=20).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_alphanumeric()));
    if valid {
        Ok(id.to_owned())
    } else {
        Err(format!("use '{prefix}-' followed by 1 to 20 letters and digits, e.g. '{prefix}-1001'"))
    }
}

prefixed_id!(
    /// A customer id such as `cus-1001`.
    CustomerId, "cus", "cus-1001"
);
prefixed_id!(
    /// An address id such as `adr-1001a`.
    AddressId, "adr", "adr-1001a"
);
prefixed_id!(
    /// A loyalty ledger entry id such as `pts-1001a`.
    EntryId, "pts", "pts-1001a"
);
prefixed_id!(
    /// A note id such as `note-1001a`.
    NoteId, "note", "note-1001a"
);
prefixed_id!(
    /// A support ticket id such as `tkt-1001a`.
    TicketId, "tkt", "tkt-1001a"
);
prefixed_id!(
    /// A ticket message id such as `msg-1001a1`.
    MessageId, "msg", "msg-1001a1"
);

/// Defines a closed set of names, as written in JSON and in the store.
///
/// A name is taken as a token tree, not a `literal` fragment: the OpenAPI derive reads the
/// `serde(rename)` it is put in only when it sees the bare string token (a `literal` fragment
/// reaches it wrapped in an invisible group, and the document would then spell the variant's
/// Rust name).
macro_rules! named_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$variant_doc:meta])* $variant:ident = $text:tt),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
        pub enum $name {
            $($(#[$variant_doc])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value, in order.
            pub const ALL: &[$name] = &[$($name::$variant),+];

            /// The name, as in JSON.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// Parses a name.
            pub fn parse(text: &str) -> Result<Self, String> {
                Self::ALL.iter().copied().find(|value| value.as_str() == text).ok_or_else(|| {
                    let names: Vec<&str> = Self::ALL.iter().map(|value| value.as_str()).collect();
                    format!("'{text}' is not one of: {}", names.join(", "))
                })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

named_enum!(
    /// Whether the store trusts an account.
    Standing {
        /// No concerns.
        Good = "good",
        /// Under watch, e.g. after chargebacks: orders may be reviewed.
        Watch = "watch",
        /// Suspended, e.g. after confirmed fraud: no discount, no trust.
        Suspended = "suspended",
    }
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

named_enum!(
    /// Where a support ticket stands.
    TicketStatus {
        /// Waiting for the store.
        Open = "open",
        /// Waiting for the customer or a third party.
        Pending = "pending",
        /// Resolved.
        Closed = "closed",
    }
);

named_enum!(
    /// How urgent a ticket is.
    Priority {
        /// Whenever there is time.
        Low = "low",
        /// The usual.
        Normal = "normal",
        /// Before normal tickets.
        High = "high",
        /// Now.
        Urgent = "urgent",
    }
);

named_enum!(
    /// How a ticket reached the store.
    Channel {
        /// By email.
        Email = "email",
        /// By the chat widget.
        Chat = "chat",
        /// By phone.
        Phone = "phone",
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

/// The tier's discount on `subtotal`, rounded down to a whole minor unit; nothing on a
/// subtotal of zero or less. Does not know the customer's standing: prefer
/// [`Customer::discount`], which gives suspended customers nothing.
pub fn discount(tier: Tier, subtotal: Money) -> Money {
    discount_at(tier.discount_bps(), subtotal)
}

/// `bps` basis points of `subtotal`, rounded down; nothing on a subtotal of zero or less.
fn discount_at(bps: u32, subtotal: Money) -> Money {
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

/// Checks one line of text: trimmed, 1 to `max` characters, no line breaks or control characters.
pub fn single_line(text: &str, max: usize) -> Result<String, String> {
    let text = text.trim();
    if text.chars().any(char::is_control) {
        return Err("must be one line without control characters".to_owned());
    }
    bounded(text, max)
}

/// Checks free text: trimmed, 1 to `max` characters, line breaks and tabs allowed.
pub fn free_text(text: &str, max: usize) -> Result<String, String> {
    let text = text.trim();
    if text.chars().any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r') {
        return Err("must not contain control characters other than line breaks and tabs".to_owned());
    }
    bounded(text, max)
}

fn bounded(text: &str, max: usize) -> Result<String, String> {
    let length = text.chars().count();
    if length == 0 {
        Err("must not be empty".to_owned())
    } else if length > max {
        Err(format!("must be at most {max} characters, got {length}"))
    } else {
        Ok(text.to_owned())
    }
}

/// The longest customer name.
pub const MAX_NAME: usize = 200;
/// The longest author name.
pub const MAX_AUTHOR: usize = 100;
/// The longest note or message body.
pub const MAX_BODY: usize = 4000;
/// The longest ticket subject.
pub const MAX_SUBJECT: usize = 200;
/// The longest reason for a standing or a ledger entry.
pub const MAX_REASON: usize = 500;

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

/// A new support ticket: the subject and the first message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NewTicket {
    /// What it is about, one line.
    pub subject: String,
    /// The first message.
    pub body: String,
    /// How urgent.
    pub priority: Priority,
    /// How it reached the store.
    pub channel: Channel,
}

/// A support ticket with its messages, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Ticket {
    /// The ticket.
    pub id: TicketId,
    /// Whose ticket.
    pub customer_id: CustomerId,
    /// What it is about.
    pub subject: String,
    /// Where it stands.
    pub status: TicketStatus,
    /// How urgent.
    pub priority: Priority,
    /// How it reached the store.
    pub channel: Channel,
    /// When it was opened.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// Its last message or status change.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
    /// The conversation, oldest first.
    pub messages: Vec<TicketMessage>,
}

/// One message of a ticket's conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TicketMessage {
    /// The message.
    pub id: MessageId,
    /// Its ticket.
    pub ticket_id: TicketId,
    /// An agent's name, `system` or `customer`.
    pub author: String,
    /// The text: untrusted, may quote the customer.
    pub body: String,
    /// When it was written.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

/// The message recorded when `author` moves a ticket from `from` to `to`.
pub fn status_change_message(author: &str, from: TicketStatus, to: TicketStatus) -> String {
    format!("{author} changed the status from {from} to {to}.")
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

    #[test]
    fn ids_have_their_prefix_and_up_to_twenty_letters_and_digits() {
        for ok in ["cus-1001", "cus-a", "cus-ABCdef0123456789xyzw"] {
            assert!(CustomerId::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "cus-", "cus1001", "cus-10 01", "cus-10-01", "cus-abcdefghijklmnopqrstu", "tkt-1001", "CUS-1"] {
            assert!(CustomerId::parse(bad).is_err(), "{bad:?}");
        }
        let generated = TicketId::generate();
        assert_eq!(TicketId::parse(generated.as_str()), Ok(generated.clone()));
        assert_ne!(generated, TicketId::generate());
    }

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
    fn phones_names_and_countries() {
        assert_eq!(check_phone(" +1 (212) 555-0147 ").as_deref(), Ok("+1 (212) 555-0147"));
        for bad in ["555", "+1 212 555 0147 0000 00", "call me", "1+2125550147"] {
            assert!(check_phone(bad).is_err(), "{bad:?}");
        }
        assert_eq!(single_line("  Ada  ", MAX_NAME).as_deref(), Ok("Ada"));
        assert!(single_line("   ", MAX_NAME).is_err());
        assert!(single_line("two\nlines", MAX_NAME).is_err());
        assert!(free_text("two\nlines", MAX_BODY).is_ok());
        assert!(free_text(&"é".repeat(MAX_BODY), MAX_BODY).is_ok(), "limits count characters, not bytes");
        assert!(free_text(&"é".repeat(MAX_BODY + 1), MAX_BODY).is_err());
        assert_eq!(COUNTRY_CODES.split(' ').count(), 249);
        assert!(COUNTRY_CODES.split(' ').collect::<Vec<_>>().windows(2).all(|w| w[0] < w[1]));
        assert_eq!(CountryCode::parse("tr").unwrap().as_str(), "TR");
        assert!(CountryCode::parse("UK").unwrap_err().contains("GB"));
        assert!(CountryCode::parse("XX").is_err());
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

    #[test]
    fn enums_round_trip_through_their_names() {
        for status in TicketStatus::ALL {
            assert_eq!(TicketStatus::parse(status.as_str()), Ok(*status));
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        }
        assert!(Priority::parse("asap").unwrap_err().contains("low, normal, high, urgent"));
    }

    /// The names the OpenAPI document gives an enum's values.
    fn documented<T: utoipa::ToSchema>() -> serde_json::Value {
        let schema = serde_json::to_value(T::schema()).unwrap();
        schema["enum"].clone()
    }

    #[test]
    fn the_openapi_document_spells_enums_as_the_wire_does() {
        fn names<T: Copy + fmt::Display>(all: &[T]) -> serde_json::Value {
            all.iter().map(|value| value.to_string()).collect()
        }
        assert_eq!(documented::<Standing>(), names(Standing::ALL));
        assert_eq!(documented::<Tier>(), names(Tier::ALL));
        assert_eq!(documented::<TicketStatus>(), names(TicketStatus::ALL));
        assert_eq!(documented::<Priority>(), names(Priority::ALL));
        assert_eq!(documented::<Channel>(), names(Channel::ALL));
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
