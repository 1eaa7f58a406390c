//! Risk assessments: the request, the features gathered for it, and the scoring rules.
//!
//! Each rule that fires adds its points and a reason; the score is the sum, capped at 100.
//! Velocity counts and amount history are of the engine's *earlier orders*: its earlier
//! assessments and the confirmed orders it heard of on the `orders` topic, each order once
//! (an order is usually both: its assessment and its `order.placed` event carry the same
//! checkout reference, which is what is counted; see [`SeenOrder`]).
//!
//! | code | fires when | points |
//! |---|---|---|
//! | `amount_spike` | the amount is more than 3× the mean of the customer's earlier amounts (same currency) | 25 |
//! | `large_first_purchase` | no earlier order and the amount is above the currency's limit | 20 |
//! | `card_velocity_1h` / `_24h` | 3+ earlier orders of the card in an hour / 6+ in a day | 25 / 15 |
//! | `customer_velocity_1h` / `_24h` | 3+ earlier orders of the customer or email in an hour / 8+ in a day | 20 / 10 |
//! | `address_velocity_1h` / `_24h` | 5+ earlier orders shipping to the postal code in an hour / 20+ in a day | 15 / 10 |
//! | `new_account` / `young_account` | the account is less than 1 day / 30 days old | 25 / 10 |
//! | `country_mismatch` | billing and shipping countries differ | 20 |
//! | `account_watch` | the account standing is `watch` | 30 |
//! | `account_suspended` | the account standing is `suspended`: always blocked | 100 |

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use utoipa::ToSchema;

use crate::contracts::order::{OrderPlaced, OrderStatus, merchandise_subtotal};
use crate::money::{CurrencyCode, Money};
use crate::platform::FieldError;
use crate::platform::id::{check_hex_id, random_hex_id, string_id};

/// Points of each rule.
pub mod points {
    /// The amount is far above the customer's usual.
    pub const AMOUNT_SPIKE: u8 = 25;
    /// A large first purchase.
    pub const LARGE_FIRST_PURCHASE: u8 = 20;
    /// Many assessments of one card within an hour.
    pub const CARD_VELOCITY_HOUR: u8 = 25;
    /// Many assessments of one card within a day.
    pub const CARD_VELOCITY_DAY: u8 = 15;
    /// Many assessments of one customer within an hour.
    pub const CUSTOMER_VELOCITY_HOUR: u8 = 20;
    /// Many assessments of one customer within a day.
    pub const CUSTOMER_VELOCITY_DAY: u8 = 10;
    /// Many assessments shipping to one postal code within an hour.
    pub const ADDRESS_VELOCITY_HOUR: u8 = 15;
    /// Many assessments shipping to one postal code within a day.
    pub const ADDRESS_VELOCITY_DAY: u8 = 10;
    /// An account younger than a day.
    pub const NEW_ACCOUNT: u8 = 25;
    /// An account younger than 30 days.
    pub const YOUNG_ACCOUNT: u8 = 10;
    /// Billing and shipping countries differ.
    pub const COUNTRY_MISMATCH: u8 = 20;
    /// The account is on watch.
    pub const ACCOUNT_WATCH: u8 = 30;
    /// The account is suspended.
    pub const ACCOUNT_SUSPENDED: u8 = 100;
}

/// An amount more than this many times the customer's mean is a spike.
pub const SPIKE_FACTOR: i64 = 3;
/// Earlier assessments of a card (in an hour, in a day) from which card velocity fires.
pub const CARD_VELOCITY: (u32, u32) = (3, 6);
/// Earlier assessments of a customer (in an hour, in a day) from which customer velocity fires.
pub const CUSTOMER_VELOCITY: (u32, u32) = (3, 8);
/// Earlier assessments to a postal code (in an hour, in a day) from which address velocity fires.
pub const ADDRESS_VELOCITY: (u32, u32) = (5, 20);
/// How far in the future an account creation time may lie (clock skew between systems).
const CLOCK_SKEW: Duration = Duration::minutes(5);

string_id!(
    /// An assessment's id.
    AssessmentId,
    example = "as_5d2c1b0a4e5f46a7b8c9d0e1f2a3b4c5",
    check = |id| check_hex_id(id, "as_", "an assessment id"),
);

impl AssessmentId {
    /// A new random id.
    pub fn generate() -> Self {
        AssessmentId(random_hex_id("as_"))
    }
}

/// How the CRM rates a customer's account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountStanding {
    /// Nothing known against it.
    #[default]
    Good,
    /// Under watch: riskier.
    Watch,
    /// Suspended: every order is blocked.
    Suspended,
}

/// The card paid with, as the payment gateway describes it: never the card number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CardSummary {
    /// A stable fingerprint of the card number.
    #[schema(example = "fp_4f1e9a")]
    pub fingerprint: String,
    /// Card brand, e.g. `visa`.
    #[schema(example = "visa")]
    pub brand: String,
    /// Last four digits.
    #[schema(example = "4242")]
    pub last4: String,
}

/// A country and postal code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Location {
    /// ISO 3166-1 alpha-2 country code.
    #[schema(example = "US")]
    pub country: String,
    /// Postal code.
    #[schema(example = "94107")]
    pub postal_code: String,
}

/// An order to assess.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssessmentRequest {
    /// The caller's reference (e.g. the order id): assessing it again answers the same
    /// assessment.
    #[schema(example = "order-8c1f")]
    pub reference: String,
    /// The signed-in customer, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    /// The customer's email.
    #[schema(example = "ada@example.com")]
    pub email: String,
    /// The order total, at most [`crate::money::MAX_MAJOR_UNITS`] major units.
    #[schema(schema_with = crate::money::bounded_schema)]
    pub amount: Money,
    /// The card paid with.
    pub card: CardSummary,
    /// Billing address.
    pub billing: Location,
    /// Shipping address.
    pub shipping: Location,
    /// When the customer's account was created; absent for guests.
    #[serde(default, with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub account_created_at: Option<OffsetDateTime>,
    /// The account's standing in the CRM; absent counts as good.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_standing: Option<AccountStanding>,
    /// The customer's IP address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
}

fn visible(text: &str, max: usize, field: &str) -> Result<(), FieldError> {
    if (1..=max).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(())
    } else {
        Err(FieldError::new(field.to_owned(), format!("use 1 to {max} visible ASCII characters")))
    }
}

impl Location {
    fn canonical(&self, field: &str) -> Result<Location, FieldError> {
        let country = self.country.trim().to_ascii_uppercase();
        if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(FieldError::new(
                format!("{field}.country"),
                format!("'{}' is not an ISO 3166-1 alpha-2 code; use e.g. US", self.country),
            ));
        }
        let postal_code = self.postal_code.trim().to_ascii_uppercase();
        if !(1..=16).contains(&postal_code.len())
            || !postal_code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b' ' || b == b'-')
        {
            return Err(FieldError::new(
                format!("{field}.postal_code"),
                "use 1 to 16 letters, digits, spaces or dashes",
            ));
        }
        Ok(Location { country, postal_code })
    }
}

/// Checks a caller's reference: 1 to 128 visible ASCII characters.
pub fn check_reference(reference: &str) -> Result<(), FieldError> {
    visible(reference, 128, "reference")
}

impl AssessmentRequest {
    /// The request written canonically (emails lower case, countries and postal codes upper
    /// case), checked at `now`; names the first bad field.
    pub fn validate(&self, now: OffsetDateTime) -> Result<AssessmentRequest, FieldError> {
        check_reference(&self.reference)?;
        if let Some(customer) = &self.customer_id {
            visible(customer, 128, "customer_id")?;
        }
        let email = self.email.trim().to_ascii_lowercase();
        let well_formed = email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
        });
        if !well_formed
            || email.len() > 254
            || email.bytes().any(|b| !b.is_ascii_graphic())
            || email.matches('@').count() != 1
        {
            return Err(FieldError::new("email", format!("'{}' is not an email address", self.email)));
        }
        if self.amount.minor_units < 0 {
            return Err(FieldError::new("amount.minor_units", "must not be negative"));
        }
        self.amount.check_bounds().map_err(|why| FieldError::new("amount.minor_units", why))?;
        visible(&self.card.fingerprint, 128, "card.fingerprint")?;
        visible(&self.card.brand, 32, "card.brand")?;
        if self.card.last4.len() != 4 || !self.card.last4.bytes().all(|b| b.is_ascii_digit()) {
            return Err(FieldError::new("card.last4", "use the last four digits of the card"));
        }
        if self.account_created_at.is_some_and(|at| at > now + CLOCK_SKEW) {
            return Err(FieldError::new("account_created_at", "lies in the future; send when the account was created"));
        }
        if let Some(ip) = &self.ip
            && ip.parse::<IpAddr>().is_err()
        {
            return Err(FieldError::new("ip", format!("'{ip}' is not an IPv4 or IPv6 address")));
        }
        Ok(AssessmentRequest {
            email,
            card: CardSummary { brand: self.card.brand.to_ascii_lowercase(), ..self.card.clone() },
            billing: self.billing.canonical("billing")?,
            shipping: self.shipping.canonical("shipping")?,
            ..self.clone()
        })
    }

    /// The account standing, good when absent.
    pub fn standing(&self) -> AccountStanding {
        self.account_standing.unwrap_or_default()
    }
}

/// What the engine knows about an order when it scores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Features {
    /// The amount assessed, in minor units.
    pub amount: i64,
    /// The customer's (or email's) earlier orders in the same currency.
    pub previous_count: u32,
    /// Their total amount, in minor units.
    pub previous_total: i64,
    /// The amount above which a first purchase counts as large, in the same currency; `None`
    /// when no limit is configured for the currency.
    pub first_purchase_limit: Option<i64>,
    /// Earlier assessments of the card in the last hour.
    pub card_last_hour: u32,
    /// Earlier assessments of the card in the last 24 hours.
    pub card_last_day: u32,
    /// Earlier assessments of the customer or email in the last hour.
    pub customer_last_hour: u32,
    /// Earlier assessments of the customer or email in the last 24 hours.
    pub customer_last_day: u32,
    /// Earlier assessments shipping to the postal code in the last hour.
    pub address_last_hour: u32,
    /// Earlier assessments shipping to the postal code in the last 24 hours.
    pub address_last_day: u32,
    /// Age of the account in seconds; `None` for guests.
    pub account_age_secs: Option<i64>,
    /// Billing and shipping countries differ.
    pub country_mismatch: bool,
    /// The account's standing.
    pub standing: AccountStanding,
}

/// Why a score went up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Reason {
    /// Stable code of the rule, e.g. `country_mismatch`.
    #[schema(example = "country_mismatch")]
    pub code: String,
    /// What the rule saw.
    pub detail: String,
    /// Points it added.
    pub points: u8,
}

/// What the scoring rules make of an order's features.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// 0 to 100.
    pub score: u8,
    /// One per rule that fired.
    pub reasons: Vec<Reason>,
}

/// Scores `features`: the points of every rule that fires, capped at 100.
pub fn score(features: &Features) -> Verdict {
    let mut reasons = Vec::new();
    let mut fire = |fired: bool, code: &str, points: u8, detail: &dyn Fn() -> String| {
        if fired {
            reasons.push(Reason { code: code.to_owned(), detail: detail(), points });
        }
    };
    let f = features;
    let spike = f.previous_count > 0
        && i128::from(f.amount) * i128::from(f.previous_count)
            > i128::from(SPIKE_FACTOR) * i128::from(f.previous_total);
    fire(spike, "amount_spike", points::AMOUNT_SPIKE, &|| {
        format!(
            "the amount is more than {SPIKE_FACTOR}x the mean of the customer's {} earlier orders",
            f.previous_count
        )
    });
    let large_first = f.previous_count == 0 && f.first_purchase_limit.is_some_and(|limit| f.amount > limit);
    fire(large_first, "large_first_purchase", points::LARGE_FIRST_PURCHASE, &|| {
        "a first purchase above the large-purchase limit".to_owned()
    });
    let velocity =
        |(hour, day): (u32, u32), (hour_limit, day_limit): (u32, u32)| (hour >= hour_limit, day >= day_limit);
    let (card_hour, card_day) = velocity((f.card_last_hour, f.card_last_day), CARD_VELOCITY);
    fire(card_hour, "card_velocity_1h", points::CARD_VELOCITY_HOUR, &|| {
        format!("{} earlier orders of this card in the last hour", f.card_last_hour)
    });
    fire(card_day, "card_velocity_24h", points::CARD_VELOCITY_DAY, &|| {
        format!("{} earlier orders of this card in the last 24 hours", f.card_last_day)
    });
    let (customer_hour, customer_day) = velocity((f.customer_last_hour, f.customer_last_day), CUSTOMER_VELOCITY);
    fire(customer_hour, "customer_velocity_1h", points::CUSTOMER_VELOCITY_HOUR, &|| {
        format!("{} earlier orders of this customer in the last hour", f.customer_last_hour)
    });
    fire(customer_day, "customer_velocity_24h", points::CUSTOMER_VELOCITY_DAY, &|| {
        format!("{} earlier orders of this customer in the last 24 hours", f.customer_last_day)
    });
    let (address_hour, address_day) = velocity((f.address_last_hour, f.address_last_day), ADDRESS_VELOCITY);
    fire(address_hour, "address_velocity_1h", points::ADDRESS_VELOCITY_HOUR, &|| {
        format!("{} earlier orders shipping to this postal code in the last hour", f.address_last_hour)
    });
    fire(address_day, "address_velocity_24h", points::ADDRESS_VELOCITY_DAY, &|| {
        format!("{} earlier orders shipping to this postal code in the last 24 hours", f.address_last_day)
    });
    let age = f.account_age_secs;
    let new = age.is_some_and(|secs| secs < Duration::DAY.whole_seconds());
    let young = !new && age.is_some_and(|secs| secs < Duration::days(30).whole_seconds());
    fire(new, "new_account", points::NEW_ACCOUNT, &|| "the account is less than a day old".to_owned());
    fire(young, "young_account", points::YOUNG_ACCOUNT, &|| "the account is less than 30 days old".to_owned());
    fire(f.country_mismatch, "country_mismatch", points::COUNTRY_MISMATCH, &|| {
        "the billing and shipping countries differ".to_owned()
    });
    fire(f.standing == AccountStanding::Watch, "account_watch", points::ACCOUNT_WATCH, &|| {
        "the account is on watch".to_owned()
    });
    fire(f.standing == AccountStanding::Suspended, "account_suspended", points::ACCOUNT_SUSPENDED, &|| {
        "the account is suspended".to_owned()
    });
    let total: u32 = reasons.iter().map(|reason| u32::from(reason.points)).sum();
    Verdict { score: u8::try_from(total.min(100)).unwrap_or(100), reasons }
}

/// What the engine advises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Go ahead.
    Allow,
    /// Hold for an analyst.
    Review,
    /// Refuse the order.
    Block,
}

impl Decision {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Review => "review",
            Decision::Block => "block",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Result<Self, String> {
        match name {
            "allow" => Ok(Decision::Allow),
            "review" => Ok(Decision::Review),
            "block" => Ok(Decision::Block),
            other => Err(format!("'{other}' is not a decision")),
        }
    }
}

/// Scores from which orders are reviewed and blocked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// Scores from this on are reviewed.
    pub review_at: u8,
    /// Scores from this on are blocked.
    pub block_at: u8,
}

impl Thresholds {
    /// The decision for `score`; a suspended account is always blocked.
    pub fn decide(&self, score: u8, standing: AccountStanding) -> Decision {
        if standing == AccountStanding::Suspended || score >= self.block_at {
            Decision::Block
        } else if score >= self.review_at {
            Decision::Review
        } else {
            Decision::Allow
        }
    }
}

/// How the engine scores and decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Review and block thresholds.
    pub thresholds: Thresholds,
    /// Per currency, the amount in minor units above which a first purchase is large.
    pub large_first_purchase: BTreeMap<CurrencyCode, i64>,
}

/// An assessed order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Assessment {
    /// The assessment's id.
    pub id: AssessmentId,
    /// The caller's reference.
    pub reference: String,
    /// Risk, 0 (none seen) to 100.
    pub score: u8,
    /// What the engine advises.
    pub decision: Decision,
    /// Why the score is what it is; empty for a clean order.
    pub reasons: Vec<Reason>,
    /// When it was assessed.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

/// Where a review stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatus {
    /// Waiting for an analyst.
    Pending,
    /// An analyst let the order go ahead.
    Approved,
    /// An analyst refused the order.
    Rejected,
}

impl ReviewStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewStatus::Pending => "pending",
            ReviewStatus::Approved => "approved",
            ReviewStatus::Rejected => "rejected",
        }
    }

    /// Parses a stored or requested name.
    pub fn parse(name: &str) -> Result<Self, String> {
        match name {
            "pending" => Ok(ReviewStatus::Pending),
            "approved" => Ok(ReviewStatus::Approved),
            "rejected" => Ok(ReviewStatus::Rejected),
            other => Err(format!("'{other}' is not a review status: use pending, approved or rejected")),
        }
    }
}

/// An analyst's call on a reviewed order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReviewOutcome {
    /// Let the order go ahead.
    Approve,
    /// Refuse the order.
    Reject,
}

impl ReviewOutcome {
    /// The status a review with this outcome ends in.
    pub fn status(self) -> ReviewStatus {
        match self {
            ReviewOutcome::Approve => ReviewStatus::Approved,
            ReviewOutcome::Reject => ReviewStatus::Rejected,
        }
    }
}

/// An analyst's decision on a review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewDecision {
    /// Approve or reject.
    pub outcome: ReviewOutcome,
    /// Who decided.
    #[schema(example = "grace")]
    pub analyst: String,
    /// Why, up to 2000 characters.
    #[serde(default)]
    pub note: String,
}

impl ReviewDecision {
    /// Checks the decision; names the bad field.
    pub fn validate(&self) -> Result<(), FieldError> {
        let analyst = self.analyst.trim();
        if analyst.is_empty() || analyst.chars().count() > 64 {
            return Err(FieldError::new("analyst", "name the analyst in 1 to 64 characters"));
        }
        if self.note.chars().count() > 2000 {
            return Err(FieldError::new("note", "must be at most 2000 characters"));
        }
        Ok(())
    }
}

/// An order held for an analyst, and what they decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Review {
    /// The assessment reviewed.
    pub assessment: Assessment,
    /// Where the review stands.
    pub status: ReviewStatus,
    /// Who decided; absent while pending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analyst: Option<String>,
    /// The analyst's note; absent while pending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// When the analyst decided; absent while pending.
    #[serde(default, with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub decided_at: Option<OffsetDateTime>,
}

/// A confirmed order heard of on the `orders` topic, as the velocity history keeps it.
///
/// It counts beside the assessments in the amount and velocity features, keyed by the
/// checkout `reference` that the order's assessment carries too: an order both assessed and
/// confirmed counts once (at its assessment), and an order confirmed without an assessment
/// here (the engine was unreachable and checkout went on, or another engine scored it) still
/// counts. Its amount is the merchandise subtotal in US dollars, as checkout assesses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenOrder {
    /// The order id: the order is recorded once.
    pub order_id: String,
    /// The checkout reference its assessment carries.
    pub reference: String,
    /// The signed-in customer, if any.
    pub customer_id: Option<String>,
    /// Who ordered.
    pub email: String,
    /// The merchandise subtotal.
    pub amount: Money,
    /// Keyed hash of the card number.
    pub card_fingerprint: String,
    /// Where it ships.
    pub shipping: Location,
    /// When it was placed.
    pub placed_at: OffsetDateTime,
}

impl SeenOrder {
    /// The order of an `order.placed` event, when confirmed (an order held for review has its
    /// assessment already and may yet be rejected); an error when its subtotal overflows or
    /// passes the bound of [`Money::check_bounds`].
    pub fn from_event(event: &OrderPlaced) -> Result<Option<SeenOrder>, String> {
        if event.order.status != OrderStatus::Confirmed {
            return Ok(None);
        }
        let amount = merchandise_subtotal(&event.lines).ok_or("the merchandise subtotal overflows")?;
        let amount = amount.check_bounds().map_err(|why| format!("the merchandise subtotal {why}"))?;
        let address = &event.order.shipping_address;
        Ok(Some(SeenOrder {
            order_id: event.order.order_id.to_string(),
            reference: event.reference.clone(),
            customer_id: event.order.customer_id.clone(),
            email: event.order.email.clone(),
            amount,
            card_fingerprint: event.card_fingerprint.clone(),
            shipping: Location { country: address.country.clone(), postal_code: address.postal_code.clone() },
            placed_at: event.order.created_at,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn request() -> AssessmentRequest {
        AssessmentRequest {
            reference: "order-1".into(),
            customer_id: Some("cus_1".into()),
            email: " Ada@Example.com ".into(),
            amount: Money::new(CurrencyCode::USD, 12_000),
            card: CardSummary { fingerprint: "fp_1".into(), brand: "VISA".into(), last4: "4242".into() },
            billing: Location { country: "us".into(), postal_code: "94107".into() },
            shipping: Location { country: "US".into(), postal_code: "94107".into() },
            account_created_at: None,
            account_standing: None,
            ip: Some("203.0.113.7".into()),
        }
    }

    #[test]
    fn requests_are_made_canonical() {
        let canonical = request().validate(OffsetDateTime::UNIX_EPOCH).unwrap();
        assert_eq!(canonical.email, "ada@example.com");
        assert_eq!(canonical.card.brand, "visa");
        assert_eq!(canonical.billing.country, "US");
        assert_eq!(canonical.standing(), AccountStanding::Good);
    }

    #[test]
    fn bad_requests_name_the_field() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let field = |change: &dyn Fn(&mut AssessmentRequest)| {
            let mut bad = request();
            change(&mut bad);
            bad.validate(now).unwrap_err().field
        };
        assert_eq!(field(&|r| r.reference = String::new()), "reference");
        assert_eq!(field(&|r| r.customer_id = Some("a b".into())), "customer_id");
        assert_eq!(field(&|r| r.email = "ada".into()), "email");
        assert_eq!(field(&|r| r.email = "ada@@example.com".into()), "email");
        assert_eq!(field(&|r| r.email = "ada@localhost".into()), "email");
        assert_eq!(field(&|r| r.amount.minor_units = -1), "amount.minor_units");
        assert_eq!(field(&|r| r.card.fingerprint = String::new()), "card.fingerprint");
        assert_eq!(field(&|r| r.card.last4 = "42".into()), "card.last4");
        assert_eq!(field(&|r| r.billing.country = "USA".into()), "billing.country");
        assert_eq!(field(&|r| r.shipping.postal_code = "94_107".into()), "shipping.postal_code");
        assert_eq!(field(&|r| r.account_created_at = Some(now + Duration::hours(1))), "account_created_at");
        assert_eq!(field(&|r| r.ip = Some("300.1.1.1".into())), "ip");
        assert!(request().validate(now).is_ok());
    }

    #[test]
    fn a_clean_order_scores_zero() {
        let verdict = score(&Features { amount: 5_000, ..Features::default() });
        assert_eq!(verdict, Verdict { score: 0, reasons: vec![] });
    }

    #[test]
    fn each_rule_adds_its_points_and_reason() {
        let clean = Features { amount: 5_000, previous_count: 2, previous_total: 10_000, ..Features::default() };
        let cases: [(Features, &str, u8); 14] = [
            (Features { amount: 15_001, ..clean }, "amount_spike", 25),
            (
                Features {
                    previous_count: 0,
                    previous_total: 0,
                    amount: 100_001,
                    first_purchase_limit: Some(100_000),
                    ..clean
                },
                "large_first_purchase",
                20,
            ),
            (Features { card_last_hour: 3, card_last_day: 3, ..clean }, "card_velocity_1h", 25),
            (Features { card_last_day: 6, ..clean }, "card_velocity_24h", 15),
            (Features { customer_last_hour: 3, customer_last_day: 3, ..clean }, "customer_velocity_1h", 20),
            (Features { customer_last_day: 8, ..clean }, "customer_velocity_24h", 10),
            (Features { address_last_hour: 5, address_last_day: 5, ..clean }, "address_velocity_1h", 15),
            (Features { address_last_day: 20, ..clean }, "address_velocity_24h", 10),
            (Features { account_age_secs: Some(3_600), ..clean }, "new_account", 25),
            (Features { account_age_secs: Some(86_400 * 29), ..clean }, "young_account", 10),
            (Features { country_mismatch: true, ..clean }, "country_mismatch", 20),
            (Features { standing: AccountStanding::Watch, ..clean }, "account_watch", 30),
            (Features { standing: AccountStanding::Suspended, ..clean }, "account_suspended", 100),
            (Features { card_last_hour: 3, card_last_day: 6, ..clean }, "card_velocity_24h", 40),
        ];
        assert_eq!(score(&clean).score, 0);
        for (features, code, expected) in cases {
            let verdict = score(&features);
            assert!(verdict.reasons.iter().any(|r| r.code == code), "{code}: {verdict:?}");
            assert_eq!(verdict.score, expected, "{code}: {verdict:?}");
        }
        // Right at the limits nothing fires.
        let quiet = Features {
            amount: 15_000,
            card_last_hour: 2,
            card_last_day: 5,
            customer_last_hour: 2,
            customer_last_day: 7,
            address_last_hour: 4,
            address_last_day: 19,
            account_age_secs: Some(86_400 * 30),
            ..clean
        };
        assert_eq!(score(&quiet), Verdict { score: 0, reasons: vec![] });
        let first = Features {
            previous_count: 0,
            previous_total: 0,
            amount: 100_000,
            first_purchase_limit: Some(100_000),
            ..clean
        };
        assert_eq!(score(&first).score, 0);
        assert_eq!(score(&Features { first_purchase_limit: None, amount: i64::MAX, ..first }).score, 0);
    }

    #[test]
    fn thresholds_decide_and_suspension_always_blocks() {
        let thresholds = Thresholds { review_at: 50, block_at: 80 };
        let good = AccountStanding::Good;
        assert_eq!(thresholds.decide(49, good), Decision::Allow);
        assert_eq!(thresholds.decide(50, good), Decision::Review);
        assert_eq!(thresholds.decide(79, AccountStanding::Watch), Decision::Review);
        assert_eq!(thresholds.decide(80, good), Decision::Block);
        assert_eq!(thresholds.decide(0, AccountStanding::Suspended), Decision::Block);
    }

    fn any_standing() -> impl Strategy<Value = AccountStanding> {
        prop_oneof![Just(AccountStanding::Good), Just(AccountStanding::Watch), Just(AccountStanding::Suspended)]
    }

    prop_compose! {
        fn any_features()(
            amount in 0..10_000_000_i64,
            previous_count in 0..50_u32,
            previous_mean in 0..1_000_000_i64,
            first_purchase_limit in proptest::option::of(0..1_000_000_i64),
            card in (0..10_u32, 0..20_u32),
            customer in (0..10_u32, 0..20_u32),
            address in (0..10_u32, 0..40_u32),
            account_age_secs in proptest::option::of(0..100 * 86_400_i64),
            country_mismatch in any::<bool>(),
            standing in any_standing(),
        ) -> Features {
            Features {
                amount,
                previous_count,
                previous_total: previous_mean * i64::from(previous_count),
                first_purchase_limit,
                card_last_hour: card.0,
                card_last_day: card.0 + card.1,
                customer_last_hour: customer.0,
                customer_last_day: customer.0 + customer.1,
                address_last_hour: address.0,
                address_last_day: address.0 + address.1,
                account_age_secs,
                country_mismatch,
                standing,
            }
        }
    }

    /// Every way of making an order look riskier, one step at a time.
    fn riskier(f: Features, step: u8, by: u32) -> Features {
        let more = |n: u32| n.saturating_add(by);
        match step % 9 {
            0 => Features { amount: f.amount.saturating_add(i64::from(by) * 1_000), ..f },
            1 => Features { card_last_hour: more(f.card_last_hour), card_last_day: more(f.card_last_day), ..f },
            2 => Features { card_last_day: more(f.card_last_day), ..f },
            3 => Features {
                customer_last_hour: more(f.customer_last_hour),
                customer_last_day: more(f.customer_last_day),
                ..f
            },
            4 => Features { address_last_day: more(f.address_last_day), ..f },
            5 => Features { account_age_secs: f.account_age_secs.map(|age| (age - i64::from(by) * 3_600).max(0)), ..f },
            6 => Features { country_mismatch: true, ..f },
            7 => Features { standing: f.standing.max(AccountStanding::Watch), ..f },
            _ => Features { standing: AccountStanding::Suspended, ..f },
        }
    }

    proptest! {
        #[test]
        fn assessed_amounts_are_bounded_at_the_door(amount in crate::money::strategies::any_amount()) {
            let checked = AssessmentRequest { amount, ..request() }.validate(OffsetDateTime::UNIX_EPOCH);
            let max = amount.currency.max_minor_units();
            prop_assert_eq!(checked.is_ok(), (0..=max).contains(&amount.minor_units));
            if let Err(FieldError { field, .. }) = checked {
                prop_assert_eq!(field, "amount.minor_units");
            }
        }

        #[test]
        fn scores_are_bounded_and_explained(features in any_features()) {
            let verdict = score(&features);
            prop_assert!(verdict.score <= 100);
            let sum: u32 = verdict.reasons.iter().map(|r| u32::from(r.points)).sum();
            prop_assert_eq!(u32::from(verdict.score), sum.min(100));
            prop_assert_eq!(verdict.reasons.is_empty(), verdict.score == 0);
        }

        #[test]
        fn scores_are_monotonic_in_every_risk_feature(features in any_features(), step in 0..9_u8, by in 0..50_u32) {
            let before = score(&features).score;
            let after = score(&riskier(features, step, by)).score;
            prop_assert!(after >= before, "step {}: {} -> {}", step, before, after);
        }

        #[test]
        fn decisions_are_monotonic_in_the_score(a in 0..=100_u8, b in 0..=100_u8, review_at in 1..100_u8, gap in 1..=100_u8,
            standing in any_standing()) {
            let thresholds = Thresholds { review_at, block_at: review_at.saturating_add(gap).min(100).max(review_at + 1) };
            let rank = |d: Decision| match d { Decision::Allow => 0, Decision::Review => 1, Decision::Block => 2 };
            let (low, high) = (a.min(b), a.max(b));
            prop_assert!(rank(thresholds.decide(low, standing)) <= rank(thresholds.decide(high, standing)));
        }
    }
}
