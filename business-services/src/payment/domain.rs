//! Cards, authorizations and refunds, the rules for them, and the test-mode card network.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::money::Money;
use crate::platform::FieldError;
use crate::platform::clock::to_millis;
use crate::platform::id::{check_hex_id, string_id};
use crate::platform::idempotency::check_reference;

/// How long the hanging test card keeps the network busy before it fails.
pub const HANG: std::time::Duration = std::time::Duration::from_secs(30);

/// A card number that passed the checks: 12 to 19 digits with a valid Luhn check digit.
///
/// Its `Debug` shows only the brand and last four digits, so it never reaches a log.
#[derive(Clone, PartialEq, Eq)]
pub struct CardNumber(String);

impl CardNumber {
    /// Parses digits, optionally grouped with spaces or dashes (`4242 4242 4242 4242`).
    pub fn parse(text: &str) -> Result<Self, String> {
        if !text.chars().all(|c| c.is_ascii_digit() || c == ' ' || c == '-') {
            return Err("use only digits, optionally grouped with spaces or dashes".to_owned());
        }
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        if !(12..=19).contains(&digits.len()) {
            return Err(format!("a card number has 12 to 19 digits, this one has {}", digits.len()));
        }
        if !luhn_valid(&digits) {
            return Err("the check digit does not match (Luhn): check the number for a typo".to_owned());
        }
        Ok(CardNumber(digits))
    }

    /// The card network, from the number's leading digits.
    pub fn brand(&self) -> CardBrand {
        let prefix = |n: usize| self.0[..n].parse::<u32>().unwrap_or_default();
        match (prefix(1), prefix(2), prefix(4)) {
            (4, _, _) => CardBrand::Visa,
            (_, 51..=55, _) | (_, _, 2221..=2720) => CardBrand::Mastercard,
            (_, 34 | 37, _) => CardBrand::Amex,
            (_, 65, _) | (_, _, 6011) => CardBrand::Discover,
            _ => CardBrand::Unknown,
        }
    }

    /// The last four digits, the only part of the number that is ever stored or shown.
    pub fn last4(&self) -> &str {
        &self.0[self.0.len() - 4..]
    }

    /// A stable, keyed fingerprint of the card (hex HMAC-SHA256 of its digits): lets checkout
    /// and fraud count uses of one card without storing its number. Keep `key` secret: without
    /// it, a fingerprint cannot be traced back to a number.
    pub fn fingerprint(&self, key: &[u8]) -> String {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length");
        mac.update(self.0.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

impl fmt::Debug for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CardNumber({} ending {})", self.brand().as_str(), self.last4())
    }
}

/// Whether `digits` end with a valid Luhn check digit.
pub fn luhn_valid(digits: &str) -> bool {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { d }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// A card network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CardBrand {
    /// Numbers starting with 4.
    Visa,
    /// 51–55 and 2221–2720.
    Mastercard,
    /// 34 and 37.
    Amex,
    /// 6011 and 65.
    Discover,
    /// Any other valid number (accepted in test mode).
    Unknown,
}

impl CardBrand {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            CardBrand::Visa => "visa",
            CardBrand::Mastercard => "mastercard",
            CardBrand::Amex => "amex",
            CardBrand::Discover => "discover",
            CardBrand::Unknown => "unknown",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Result<Self, String> {
        [CardBrand::Visa, CardBrand::Mastercard, CardBrand::Amex, CardBrand::Discover, CardBrand::Unknown]
            .into_iter()
            .find(|brand| brand.as_str() == name)
            .ok_or_else(|| format!("'{name}' is not a card brand"))
    }

    /// Digits of the card's security code: 4 for Amex, else 3.
    pub fn cvv_digits(self) -> usize {
        if self == CardBrand::Amex { 4 } else { 3 }
    }
}

/// A card as the customer typed it. Its `Debug` shows only the last four digits: never the
/// number or the security code.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CardDetails {
    /// The card number; spaces and dashes allowed.
    #[schema(example = "4242 4242 4242 4242")]
    pub number: String,
    /// Expiry month, 1 to 12.
    #[schema(example = 12)]
    pub exp_month: u32,
    /// Expiry year, four digits.
    #[schema(example = 2030)]
    pub exp_year: u32,
    /// Security code: 3 digits, 4 for Amex.
    #[schema(example = "123")]
    pub cvv: String,
}

impl fmt::Debug for CardDetails {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits: Vec<char> = self.number.chars().filter(char::is_ascii_digit).collect();
        let last4: String = digits[digits.len().saturating_sub(4)..].iter().collect();
        f.debug_struct("CardDetails")
            .field("last4", &last4)
            .field("exp_month", &self.exp_month)
            .field("exp_year", &self.exp_year)
            .finish_non_exhaustive()
    }
}

impl CardDetails {
    /// Checks the card at `now`; names the first bad field (`card.number`, `card.exp_month`,
    /// `card.exp_year`, `card.cvv`). A card is valid through the last day of its expiry month;
    /// any later expiry is accepted, as card networks' test modes do.
    pub fn validate(&self, now: OffsetDateTime) -> Result<CardNumber, FieldError> {
        let number = CardNumber::parse(&self.number).map_err(|why| FieldError::new("card.number", why))?;
        if !(1..=12).contains(&self.exp_month) {
            return Err(FieldError::new(
                "card.exp_month",
                format!("must be a month from 1 to 12, got {}", self.exp_month),
            ));
        }
        let this_year = u32::try_from(now.year()).unwrap_or_default();
        if !(1000..=9999).contains(&self.exp_year) {
            return Err(FieldError::new(
                "card.exp_year",
                format!("use the four-digit year, e.g. {}, got {}", this_year + 3, self.exp_year),
            ));
        }
        let this_month = u32::from(u8::from(now.month()));
        if (self.exp_year, self.exp_month) < (this_year, this_month) {
            let field = if self.exp_year < this_year { "card.exp_year" } else { "card.exp_month" };
            return Err(FieldError::new(
                field,
                format!("the card expired at the end of {:02}/{}: use another card", self.exp_month, self.exp_year),
            ));
        }
        let digits = number.brand().cvv_digits();
        if self.cvv.len() != digits || !self.cvv.bytes().all(|b| b.is_ascii_digit()) {
            return Err(FieldError::new(
                "card.cvv",
                format!("a {} security code has {digits} digits", number.brand().as_str()),
            ));
        }
        Ok(number)
    }
}

/// Checks an amount to authorize or refund: positive and within [`Money::check_bounds`].
pub fn check_amount(amount: Money) -> Result<(), String> {
    if amount.minor_units < 1 {
        return Err(format!("must be a positive amount, got {amount}"));
    }
    amount.check_bounds().map(drop)
}

/// A request to authorize a card payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthorizeRequest {
    /// The caller's reference, e.g. the order id: find authorizations by it after a crash.
    pub reference: String,
    /// The amount to hold on the card, at most [`crate::money::MAX_MAJOR_UNITS`] major units.
    #[schema(schema_with = crate::money::bounded_schema)]
    pub amount: Money,
    /// The card.
    pub card: CardDetails,
}

impl AuthorizeRequest {
    /// Checks the request at `now`; names the first bad field.
    pub fn validate(&self, now: OffsetDateTime) -> Result<CardNumber, FieldError> {
        check_reference(&self.reference).map_err(|why| FieldError::new("reference", why))?;
        check_amount(self.amount).map_err(|why| FieldError::new("amount", why))?;
        self.card.validate(now)
    }

    /// Identifies the request to tell a retry from a different request. It is stored, so it
    /// holds only what is stored anyway: never the card number or security code (two cards of
    /// one brand with the same last four digits and expiry count as the same card here).
    pub fn fingerprint(&self, card: &CardNumber) -> String {
        format!(
            "{} {} {} {} {:02}/{}",
            self.reference,
            self.amount,
            card.brand().as_str(),
            card.last4(),
            self.card.exp_month,
            self.card.exp_year
        )
    }
}

string_id!(
    /// An authorization id, `auth_` and 32 hex digits; ids sort in the order they were made.
    AuthorizationId,
    example = "auth_0193a5c0e7a14f1c2e8b9d7a6c5b4a39",
    check = |id| check_hex_id(id, "auth_", "an authorization id"),
);

impl AuthorizationId {
    /// A new id made at `now`: its milliseconds then random digits, so ids sort by time.
    pub fn generate(now: OffsetDateTime) -> Self {
        let random = uuid::Uuid::new_v4().simple().to_string();
        AuthorizationId(format!("auth_{:012x}{}", to_millis(now).max(0), &random[..20]))
    }
}

/// Where an authorization stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuthorizationStatus {
    /// The amount is held on the card.
    Authorized,
    /// The issuer refused; see the decline code.
    Declined,
    /// The amount was charged.
    Captured,
    /// The hold was cancelled; nothing was charged.
    Voided,
}

impl AuthorizationStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthorizationStatus::Authorized => "authorized",
            AuthorizationStatus::Declined => "declined",
            AuthorizationStatus::Captured => "captured",
            AuthorizationStatus::Voided => "voided",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Result<Self, String> {
        [
            AuthorizationStatus::Authorized,
            AuthorizationStatus::Declined,
            AuthorizationStatus::Captured,
            AuthorizationStatus::Voided,
        ]
        .into_iter()
        .find(|status| status.as_str() == name)
        .ok_or_else(|| format!("'{name}' is not an authorization status"))
    }
}

/// Why the issuer refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeclineCode {
    /// Declined without a reason given.
    CardDeclined,
    /// Not enough funds or credit.
    InsufficientFunds,
    /// The issuer considers the card expired.
    ExpiredCard,
    /// The authorization stood but the issuer refused to capture it.
    CaptureDeclined,
}

impl DeclineCode {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeclineCode::CardDeclined => "card_declined",
            DeclineCode::InsufficientFunds => "insufficient_funds",
            DeclineCode::ExpiredCard => "expired_card",
            DeclineCode::CaptureDeclined => "capture_declined",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Result<Self, String> {
        [
            DeclineCode::CardDeclined,
            DeclineCode::InsufficientFunds,
            DeclineCode::ExpiredCard,
            DeclineCode::CaptureDeclined,
        ]
        .into_iter()
        .find(|code| code.as_str() == name)
        .ok_or_else(|| format!("'{name}' is not a decline code"))
    }
}

/// An authorization as the gateway reports it. The card appears only as brand and last four.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Authorization {
    /// The authorization's id.
    pub id: AuthorizationId,
    /// The caller's reference.
    pub reference: String,
    /// The amount authorized.
    pub amount: Money,
    /// The card network.
    pub brand: CardBrand,
    /// The card number's last four digits.
    pub last4: String,
    /// Authorized, declined, captured or voided.
    pub status: AuthorizationStatus,
    /// Why the issuer refused the authorization, or its capture; absent otherwise.
    pub decline_code: Option<DeclineCode>,
    /// How much was captured: nothing, or the whole amount.
    pub captured: Money,
    /// How much of the captured amount was refunded.
    pub refunded: Money,
    /// When it was made.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

impl Authorization {
    /// Why `action` cannot be done to this authorization, or `None` when it can (or, for
    /// capture and void, when it already was: they are idempotent).
    pub fn refusal(&self, action: Action) -> Option<String> {
        use AuthorizationStatus::{Authorized, Captured, Declined, Voided};
        let id = &self.id;
        match (action, self.status) {
            (Action::Capture, Authorized | Captured) | (Action::Void, Authorized | Voided) => None,
            (Action::Refund, Captured) => None,
            (_, Declined) => Some(format!("authorization {id} was declined: there is nothing to {}", action.verb())),
            (Action::Capture, Voided) => Some(format!("authorization {id} was voided; authorize the card again")),
            (Action::Void, Captured) => {
                Some(format!("authorization {id} was captured and can no longer be voided: refund it instead"))
            }
            (Action::Refund, Authorized) => {
                Some(format!("authorization {id} was not captured, so nothing was charged: void it instead"))
            }
            (Action::Refund, Voided) => Some(format!("authorization {id} was voided: nothing was charged")),
        }
    }
}

/// What can be done to an authorization after it was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Charge the authorized amount.
    Capture,
    /// Cancel the hold.
    Void,
    /// Give back some of a captured amount.
    Refund,
}

impl Action {
    fn verb(self) -> &'static str {
        match self {
            Action::Capture => "capture",
            Action::Void => "void",
            Action::Refund => "refund",
        }
    }
}

/// A refund id, `re_` and 32 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, example = "re_5d41402abc4b2a76b9719d911017c592")]
pub struct RefundId(String);

impl RefundId {
    /// A new random id.
    pub fn generate() -> Self {
        RefundId(format!("re_{}", uuid::Uuid::new_v4().simple()))
    }

    /// A stored id.
    pub fn from_stored(id: String) -> Self {
        RefundId(id)
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Money given back from a captured authorization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Refund {
    /// The refund's id.
    pub id: RefundId,
    /// The authorization refunded.
    pub authorization_id: AuthorizationId,
    /// How much.
    pub amount: Money,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

/// What the (test-mode) card network does with an authorization request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The issuer answered: recorded, whether approved or declined.
    Answered(Answer),
    /// The network failed: nothing is recorded; the caller may retry.
    NetworkError,
    /// The network hangs for [`HANG`] and then fails: a timeout for any sane caller.
    Hang,
}

/// The issuer's answer to an authorization request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Approved; a later capture is answered with this decline, if any.
    Approve {
        /// The decline a capture will get.
        capture_decline: Option<DeclineCode>,
    },
    /// Declined for this reason.
    Decline(DeclineCode),
}

const APPROVE: Verdict = Verdict::Answered(Answer::Approve { capture_decline: None });

/// The documented test cards and what the network does with each; any other valid number is
/// approved.
pub const TEST_CARDS: &[(&str, Verdict)] = &[
    ("4242424242424242", APPROVE),
    ("4000000000000002", Verdict::Answered(Answer::Decline(DeclineCode::CardDeclined))),
    ("4000000000009995", Verdict::Answered(Answer::Decline(DeclineCode::InsufficientFunds))),
    ("4000000000000069", Verdict::Answered(Answer::Decline(DeclineCode::ExpiredCard))),
    ("4000000000000119", Verdict::NetworkError),
    ("4000000000003220", Verdict::Hang),
    ("4000000000000341", Verdict::Answered(Answer::Approve { capture_decline: Some(DeclineCode::CaptureDeclined) })),
];

/// The network's verdict on `card`.
pub fn verdict(card: &CardNumber) -> Verdict {
    TEST_CARDS.iter().find(|(number, _)| *number == card.0).map_or(APPROVE, |(_, verdict)| *verdict)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::CurrencyCode;
    use proptest::prelude::*;

    /// 2026-11-24 15:00 UTC.
    const NOW: OffsetDateTime = match OffsetDateTime::from_unix_timestamp(1_795_532_400) {
        Ok(now) => now,
        Err(_) => OffsetDateTime::UNIX_EPOCH,
    };

    fn card(number: &str, exp_month: u32, exp_year: u32, cvv: &str) -> CardDetails {
        CardDetails { number: number.into(), exp_month, exp_year, cvv: cvv.into() }
    }

    fn field(details: CardDetails) -> Option<String> {
        details.validate(NOW).err().map(|error| error.field)
    }

    /// The digit that makes `body` + digit pass the Luhn check.
    fn check_digit(body: &str) -> char {
        (b'0'..=b'9').map(char::from).find(|d| luhn_valid(&format!("{body}{d}"))).unwrap()
    }

    #[test]
    fn every_documented_test_card_is_a_valid_visa() {
        for (number, _) in TEST_CARDS {
            let parsed = CardNumber::parse(number).unwrap();
            assert_eq!(parsed.brand(), CardBrand::Visa, "{number}");
            assert_eq!(parsed.last4(), &number[12..]);
        }
        let declined = verdict(&CardNumber::parse("4000 0000 0000 0002").unwrap());
        assert_eq!(declined, Verdict::Answered(Answer::Decline(DeclineCode::CardDeclined)));
        assert_eq!(verdict(&CardNumber::parse("5555-5555-5555-4444").unwrap()), APPROVE, "other numbers approve");
    }

    #[test]
    fn brands_follow_the_leading_digits() {
        for (number, brand) in [
            ("4242424242424242", CardBrand::Visa),
            ("5555555555554444", CardBrand::Mastercard),
            ("2223003122003222", CardBrand::Mastercard),
            ("378282246310005", CardBrand::Amex),
            ("6011111111111117", CardBrand::Discover),
            ("6500000000000002", CardBrand::Discover),
            ("3056930009020004", CardBrand::Unknown),
        ] {
            assert_eq!(CardNumber::parse(number).map(|n| n.brand()), Ok(brand), "{number}");
        }
    }

    #[test]
    fn numbers_need_digits_length_and_a_check_digit() {
        assert!(CardNumber::parse("4242 4242 4242 4242").is_ok());
        assert!(CardNumber::parse("4242-4242-4242-4242").is_ok());
        assert!(CardNumber::parse("4242424242424241").is_err(), "bad check digit");
        assert!(CardNumber::parse("4242.4242.4242.4242").is_err());
        assert!(CardNumber::parse("42424242424").is_err(), "too short");
        assert!(CardNumber::parse(&"4".repeat(20)).is_err(), "too long");
        assert!(CardNumber::parse("").is_err());
    }

    #[test]
    fn cards_are_checked_field_by_field() {
        assert_eq!(field(card("4242424242424242", 12, 2030, "123")), None);
        assert_eq!(field(card("4242424242424241", 12, 2030, "123")).as_deref(), Some("card.number"));
        assert_eq!(field(card("4242424242424242", 13, 2030, "123")).as_deref(), Some("card.exp_month"));
        assert_eq!(field(card("4242424242424242", 0, 2030, "123")).as_deref(), Some("card.exp_month"));
        assert_eq!(field(card("4242424242424242", 12, 30, "123")).as_deref(), Some("card.exp_year"));
        assert_eq!(
            field(card("4242424242424242", 12, 2025, "123")).as_deref(),
            Some("card.exp_year"),
            "expired last year"
        );
        assert_eq!(
            field(card("4242424242424242", 10, 2026, "123")).as_deref(),
            Some("card.exp_month"),
            "expired last month"
        );
        assert_eq!(field(card("4242424242424242", 11, 2026, "123")), None, "valid through its month");
        assert_eq!(field(card("4242424242424242", 12, 2099, "123")), None, "any future expiry, as test modes take");
        assert_eq!(field(card("4242424242424242", 12, 2030, "12")).as_deref(), Some("card.cvv"));
        assert_eq!(field(card("4242424242424242", 12, 2030, "1234")).as_deref(), Some("card.cvv"));
        assert_eq!(field(card("4242424242424242", 12, 2030, "12a")).as_deref(), Some("card.cvv"));
        assert_eq!(
            field(card("378282246310005", 12, 2030, "123")).as_deref(),
            Some("card.cvv"),
            "Amex codes have 4 digits"
        );
        assert_eq!(field(card("378282246310005", 12, 2030, "1234")), None);
    }

    #[test]
    fn debug_output_never_shows_the_number_or_code() {
        let details = card("4242 4242 4242 4242", 12, 2030, "987");
        let shown = format!("{details:?}");
        assert!(shown.contains("4242") && !shown.contains("4242 4242") && !shown.contains("987"), "{shown}");
        let request = AuthorizeRequest {
            reference: "order-1".into(),
            amount: Money::new(CurrencyCode::USD, 1999),
            card: details.clone(),
        };
        let shown = format!("{request:?}");
        assert!(!shown.contains("42424242") && !shown.contains("4242 4242") && !shown.contains("987"), "{shown}");
        let number = details.validate(NOW).unwrap();
        assert_eq!(format!("{number:?}"), "CardNumber(visa ending 4242)");
        let fingerprint = request.fingerprint(&number);
        assert!(!fingerprint.contains("42424242") && !fingerprint.contains("987"), "{fingerprint}");
    }

    #[test]
    fn fingerprints_are_keyed_and_stable() {
        let a = CardNumber::parse("4242 4242 4242 4242").unwrap();
        let b = CardNumber::parse("4242424242424242").unwrap();
        let other = CardNumber::parse("5555555555554444").unwrap();
        assert_eq!(a.fingerprint(b"key-1"), b.fingerprint(b"key-1"), "grouping does not matter");
        assert_ne!(a.fingerprint(b"key-1"), a.fingerprint(b"key-2"));
        assert_ne!(a.fingerprint(b"key-1"), other.fingerprint(b"key-1"));
        assert_eq!(a.fingerprint(b"key-1").len(), 64);
        assert!(!a.fingerprint(b"key-1").contains("4242424242424242"));
    }

    #[test]
    fn ids_sort_by_time_and_round_trip() {
        let earlier = AuthorizationId::generate(NOW);
        let later = AuthorizationId::generate(NOW + time::Duration::milliseconds(1));
        assert!(earlier < later);
        assert_eq!(AuthorizationId::parse(earlier.as_str()), Ok(earlier));
        assert!(AuthorizationId::parse("auth_1").is_err());
        assert!(AuthorizationId::parse("rsv_0193a5c0e7a14f1c2e8b9d7a6c5b4a39").is_err());
    }

    #[test]
    fn what_can_be_done_depends_on_the_status() {
        let usd = |minor| Money::new(CurrencyCode::USD, minor);
        let with = |status| Authorization {
            id: AuthorizationId::generate(NOW),
            reference: "o".into(),
            amount: usd(100),
            brand: CardBrand::Visa,
            last4: "4242".into(),
            status,
            decline_code: None,
            captured: usd(0),
            refunded: usd(0),
            created_at: NOW,
        };
        use AuthorizationStatus::*;
        let allowed = |status, action| with(status).refusal(action).is_none();
        assert!(allowed(Authorized, Action::Capture) && allowed(Captured, Action::Capture));
        assert!(allowed(Authorized, Action::Void) && allowed(Voided, Action::Void));
        assert!(allowed(Captured, Action::Refund));
        assert!(!allowed(Declined, Action::Capture) && !allowed(Voided, Action::Capture));
        assert!(with(Captured).refusal(Action::Void).unwrap().contains("refund it instead"));
        assert!(!allowed(Authorized, Action::Refund) && !allowed(Voided, Action::Refund));
    }

    proptest! {
        #[test]
        fn a_computed_check_digit_passes_and_any_single_typo_fails(
            body in proptest::collection::vec(0_u8..10, 11..19),
            position in any::<proptest::sample::Index>(),
            replacement in 0_u8..10,
        ) {
            let body: String = body.iter().map(|d| char::from(b'0' + d)).collect();
            let number = format!("{body}{}", check_digit(&body));
            prop_assert!(CardNumber::parse(&number).is_ok());
            let at = position.index(number.len());
            let mut typo = number.clone().into_bytes();
            prop_assume!(typo[at] != b'0' + replacement);
            typo[at] = b'0' + replacement;
            prop_assert!(CardNumber::parse(&String::from_utf8(typo).unwrap()).is_err());
        }

        #[test]
        fn amounts_are_positive_and_bounded(amount in crate::money::strategies::any_amount()) {
            let ok = check_amount(amount).is_ok();
            prop_assert_eq!(ok, (1..=amount.currency.max_minor_units()).contains(&amount.minor_units));
        }
    }
}
