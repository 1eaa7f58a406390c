//! The chart of accounts, journal entries and the rules that keep them balanced: no I/O.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::contracts::order::{Amounts, OrderId};
use crate::money::{CurrencyCode, Money};
use crate::platform::FieldError;
use crate::platform::id::{check_hex_id, random_hex_id, string_id};
use crate::platform::idempotency::check_reference;

string_id!(
    /// A journal entry id, `je_` and 32 hex digits.
    JournalEntryId,
    example = "je_0f1e2d3c4b5a69788796a5b4c3d2e1f0",
    check = |id| check_hex_id(id, "je_", "a journal entry id"),
);

impl JournalEntryId {
    /// A new random id.
    pub fn generate() -> Self {
        JournalEntryId(random_hex_id("je_"))
    }
}

/// The side of an entry a line is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// Left: increases assets and contra-revenue, decreases liabilities and revenue.
    Debit,
    /// Right: increases liabilities and revenue, decreases assets and contra-revenue.
    Credit,
}

/// The chart of accounts: a closed set. There is no `tax_payable` yet: receipts carry no tax.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Account {
    /// Asset: money the payment gateway owes the store for captured charges.
    PaymentClearing,
    /// Liability: orders paid for but not yet shipped.
    DeferredRevenue,
    /// Revenue: merchandise shipped, before discounts.
    MerchandiseRevenue,
    /// Revenue: parcel shipping and freight charged on shipped orders.
    ShippingRevenue,
    /// Contra-revenue (debit-normal): loyalty discounts given.
    Discounts,
    /// Contra-revenue (debit-normal): money given back to customers.
    Refunds,
}

impl Account {
    /// Every account, in the order reports list them.
    pub const ALL: [Account; 6] = [
        Account::PaymentClearing,
        Account::DeferredRevenue,
        Account::MerchandiseRevenue,
        Account::ShippingRevenue,
        Account::Discounts,
        Account::Refunds,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Account::PaymentClearing => "payment_clearing",
            Account::DeferredRevenue => "deferred_revenue",
            Account::MerchandiseRevenue => "merchandise_revenue",
            Account::ShippingRevenue => "shipping_revenue",
            Account::Discounts => "discounts",
            Account::Refunds => "refunds",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Result<Self, String> {
        Account::ALL
            .into_iter()
            .find(|account| account.as_str() == name)
            .ok_or_else(|| format!("'{name}' is not an account of the chart"))
    }

    /// The side on which the account's balance grows.
    pub fn normal_side(self) -> Side {
        match self {
            Account::PaymentClearing | Account::Discounts | Account::Refunds => Side::Debit,
            Account::DeferredRevenue | Account::MerchandiseRevenue | Account::ShippingRevenue => Side::Credit,
        }
    }
}

/// What business event an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// An order was placed and paid: its revenue is deferred until it ships.
    Sale,
    /// An order shipped: its deferred revenue is earned.
    RevenueRecognition,
    /// Money went back to the customer.
    Refund,
}

impl EntryKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Sale => "sale",
            EntryKind::RevenueRecognition => "revenue_recognition",
            EntryKind::Refund => "refund",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Result<Self, String> {
        [EntryKind::Sale, EntryKind::RevenueRecognition, EntryKind::Refund]
            .into_iter()
            .find(|kind| kind.as_str() == name)
            .ok_or_else(|| format!("'{name}' is not an entry kind"))
    }
}

/// One line of an entry: an account and exactly one of a debit or a credit, positive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Line {
    /// The account.
    pub account: Account,
    /// The amount debited, if a debit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debit: Option<Money>,
    /// The amount credited, if a credit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credit: Option<Money>,
}

impl Line {
    /// A line on `side` of `account` for `amount`.
    pub fn new(account: Account, side: Side, amount: Money) -> Self {
        match side {
            Side::Debit => Line { account, debit: Some(amount), credit: None },
            Side::Credit => Line { account, debit: None, credit: Some(amount) },
        }
    }

    /// The side and amount, when the line has exactly one of them and it is positive.
    pub fn side_and_amount(&self) -> Option<(Side, Money)> {
        match (self.debit, self.credit) {
            (Some(amount), None) if amount.minor_units > 0 => Some((Side::Debit, amount)),
            (None, Some(amount)) if amount.minor_units > 0 => Some((Side::Credit, amount)),
            _ => None,
        }
    }
}

/// Checks that `lines` may be posted: at least two, each one positive debit or credit, and
/// debits equal credits in every currency.
pub fn check_balanced(lines: &[Line]) -> Result<(), String> {
    if lines.len() < 2 {
        return Err(format!("an entry needs at least two lines, got {}", lines.len()));
    }
    let mut net: BTreeMap<CurrencyCode, i128> = BTreeMap::new();
    for (index, line) in lines.iter().enumerate() {
        let (side, amount) = line
            .side_and_amount()
            .ok_or_else(|| format!("line {index} ({}) must be one positive debit or credit", line.account.as_str()))?;
        let signed = i128::from(amount.minor_units);
        *net.entry(amount.currency).or_default() += if side == Side::Debit { signed } else { -signed };
    }
    match net.into_iter().find(|(_, difference)| *difference != 0) {
        Some((currency, difference)) => {
            Err(format!("debits and credits in {currency} differ by {difference} minor units; nothing was posted"))
        }
        None => Ok(()),
    }
}

/// An entry ready to post: balanced, not yet given an id and a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posting {
    /// The order it belongs to.
    pub order_id: OrderId,
    /// What it records.
    pub kind: EntryKind,
    /// The caller's reference, for refunds.
    pub reference: Option<String>,
    /// Its lines, balanced per currency.
    pub lines: Vec<Line>,
}

impl Posting {
    /// A posting of `lines`, left out the zero ones; refused unless it balances.
    fn new(order_id: &OrderId, kind: EntryKind, reference: Option<String>, lines: Vec<Line>) -> Result<Self, String> {
        let lines: Vec<Line> = lines
            .into_iter()
            .filter(|line| line.debit.or(line.credit).is_some_and(|amount| amount.minor_units != 0))
            .collect();
        check_balanced(&lines)?;
        Ok(Posting { order_id: order_id.clone(), kind, reference, lines })
    }

    /// The key that makes posting idempotent: one sale and one recognition per order, one
    /// refund per reference.
    pub fn key(&self) -> String {
        match (&self.kind, &self.reference) {
            (EntryKind::Refund, Some(reference)) => format!("refund/{reference}"),
            (kind, _) => format!("{}/{}", kind.as_str(), self.order_id),
        }
    }

    /// The entry, posted as `id` at `created_at`.
    pub fn into_entry(self, id: JournalEntryId, created_at: OffsetDateTime) -> JournalEntry {
        JournalEntry {
            id,
            order_id: self.order_id,
            kind: self.kind,
            reference: self.reference,
            lines: self.lines,
            created_at,
        }
    }
}

/// A posted journal entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct JournalEntry {
    /// The entry.
    pub id: JournalEntryId,
    /// The order it belongs to.
    pub order_id: OrderId,
    /// What it records.
    pub kind: EntryKind,
    /// The refund's reference; absent on other kinds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Its lines; debits equal credits in each currency.
    pub lines: Vec<Line>,
    /// When it was posted.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

/// An order placed and paid, to record: its id and its receipt's amounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Sale {
    /// The order.
    pub order_id: OrderId,
    /// The receipt's amounts in the customer's currency.
    pub amounts: Amounts,
}

/// An order that shipped: its deferred revenue is earned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevenueRecognition {
    /// The order.
    pub order_id: OrderId,
}

/// Money given back to a customer for an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Refund {
    /// The order.
    pub order_id: OrderId,
    /// How much, in the order's currency; positive, at most [`crate::money::MAX_MAJOR_UNITS`]
    /// major units.
    #[schema(schema_with = crate::money::bounded_schema)]
    pub amount: Money,
    /// The refund's business reference (e.g. the gateway's refund id): recorded once.
    pub reference: String,
}

/// The amounts of a sale that the ledger keeps, checked to add up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SaleAmounts {
    /// The order's currency.
    pub currency: CurrencyCode,
    /// Merchandise before the discount.
    pub subtotal: i64,
    /// Loyalty discount taken off.
    pub discount: i64,
    /// Parcel shipping.
    pub shipping: i64,
    /// Freight of oversized items.
    pub freight: i64,
    /// What the card was charged.
    pub total: i64,
}

impl SaleAmounts {
    /// Checks a receipt's amounts: one currency, none negative nor past [`Money::check_bounds`],
    /// lines adding up to the subtotal, and `total = subtotal − discount + shipping + freight`.
    /// Names the bad field.
    pub fn parse(amounts: &Amounts) -> Result<Self, FieldError> {
        let field = |name: &str| format!("amounts.{name}");
        let currency = amounts.total.currency;
        let named = [
            ("subtotal", amounts.subtotal),
            ("discount", amounts.discount),
            ("shipping", amounts.shipping),
            ("freight", amounts.freight),
            ("total", amounts.total),
        ];
        for (name, money) in named {
            if money.currency != currency {
                return Err(FieldError::new(
                    field(&format!("{name}.currency")),
                    format!("must be {currency}, the currency of the total: an order is in one currency"),
                ));
            }
            if money.minor_units < 0 {
                return Err(FieldError::new(field(name), "must not be negative"));
            }
            money.check_bounds().map_err(|why| FieldError::new(field(name), why))?;
        }
        let mut items = 0_i128;
        for (index, item) in amounts.items.iter().enumerate() {
            if item.line_total.currency != currency {
                return Err(FieldError::new(
                    field(&format!("items[{index}].line_total.currency")),
                    format!("must be {currency}"),
                ));
            }
            item.line_total
                .check_bounds()
                .map_err(|why| FieldError::new(field(&format!("items[{index}].line_total")), why))?;
            items += i128::from(item.line_total.minor_units);
        }
        if !amounts.items.is_empty() && items != i128::from(amounts.subtotal.minor_units) {
            return Err(FieldError::new(
                field("subtotal"),
                format!("must be the sum of the items' line totals, {items}"),
            ));
        }
        let sale = SaleAmounts {
            currency,
            subtotal: amounts.subtotal.minor_units,
            discount: amounts.discount.minor_units,
            shipping: amounts.shipping.minor_units,
            freight: amounts.freight.minor_units,
            total: amounts.total.minor_units,
        };
        if sale.discount > sale.subtotal {
            return Err(FieldError::new(field("discount"), "must not exceed the subtotal"));
        }
        let expected = i128::from(sale.subtotal) - i128::from(sale.discount)
            + i128::from(sale.shipping)
            + i128::from(sale.freight);
        if expected != i128::from(sale.total) {
            return Err(FieldError::new(
                field("total"),
                format!("must be subtotal − discount + shipping + freight = {expected}"),
            ));
        }
        if sale.gross().is_none_or(|gross| gross == 0) {
            return Err(FieldError::new(field("subtotal"), "an order of nothing has nothing to record"));
        }
        Ok(sale)
    }

    /// What the customer owes before the discount: subtotal + shipping + freight (the deferred
    /// revenue); `None` on overflow.
    pub fn gross(&self) -> Option<i64> {
        self.subtotal.checked_add(self.shipping)?.checked_add(self.freight)
    }

    /// Shipping and freight together; `None` on overflow.
    fn delivery(&self) -> Option<i64> {
        self.shipping.checked_add(self.freight)
    }

    fn money(&self, minor_units: i64) -> Money {
        Money::new(self.currency, minor_units)
    }
}

fn overflow() -> String {
    "the amounts are too large to record".to_owned()
}

/// The entry of a sale: Dr payment_clearing total; Dr discounts discount; Cr deferred_revenue
/// subtotal + shipping + freight.
pub fn sale_posting(order_id: &OrderId, sale: &SaleAmounts) -> Result<Posting, String> {
    let gross = sale.gross().ok_or_else(overflow)?;
    let lines = vec![
        Line::new(Account::PaymentClearing, Side::Debit, sale.money(sale.total)),
        Line::new(Account::Discounts, Side::Debit, sale.money(sale.discount)),
        Line::new(Account::DeferredRevenue, Side::Credit, sale.money(gross)),
    ];
    Posting::new(order_id, EntryKind::Sale, None, lines)
}

/// The entry of a shipment: Dr deferred_revenue subtotal + shipping + freight; Cr
/// merchandise_revenue subtotal; Cr shipping_revenue shipping + freight.
pub fn recognition_posting(order_id: &OrderId, sale: &SaleAmounts) -> Result<Posting, String> {
    let gross = sale.gross().ok_or_else(overflow)?;
    let delivery = sale.delivery().ok_or_else(overflow)?;
    let lines = vec![
        Line::new(Account::DeferredRevenue, Side::Debit, sale.money(gross)),
        Line::new(Account::MerchandiseRevenue, Side::Credit, sale.money(sale.subtotal)),
        Line::new(Account::ShippingRevenue, Side::Credit, sale.money(delivery)),
    ];
    Posting::new(order_id, EntryKind::RevenueRecognition, None, lines)
}

/// The entry of a refund: Dr refunds amount; Cr payment_clearing amount. Names the bad field.
pub fn refund_posting(refund: &Refund) -> Result<Posting, FieldError> {
    check_reference(&refund.reference).map_err(|why| FieldError::new("reference", why))?;
    if refund.amount.minor_units <= 0 {
        return Err(FieldError::new("amount", "must be a positive amount"));
    }
    refund.amount.check_bounds().map_err(|why| FieldError::new("amount", why))?;
    let lines = vec![
        Line::new(Account::Refunds, Side::Debit, refund.amount),
        Line::new(Account::PaymentClearing, Side::Credit, refund.amount),
    ];
    Posting::new(&refund.order_id, EntryKind::Refund, Some(refund.reference.clone()), lines)
        .map_err(|why| FieldError::new("amount", why))
}

/// One account's totals in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AccountBalance {
    /// The account.
    pub account: Account,
    /// The side on which it grows.
    pub normal_side: Side,
    /// Sum of its debits.
    pub debit: Money,
    /// Sum of its credits.
    pub credit: Money,
    /// Its balance on its normal side (negative when it stands on the other side).
    pub balance: Money,
}

/// Every account's totals in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CurrencyBalance {
    /// The currency.
    pub currency: CurrencyCode,
    /// Every account of the chart, in chart order.
    pub accounts: Vec<AccountBalance>,
    /// Sum of all debits.
    pub total_debit: Money,
    /// Sum of all credits.
    pub total_credit: Money,
    /// Whether debits equal credits.
    pub balanced: bool,
}

/// The trial balance: per currency, every account's totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TrialBalance {
    /// One section per currency the ledger has entries in, by code.
    pub currencies: Vec<CurrencyBalance>,
    /// Whether every currency balances.
    pub balanced: bool,
}

/// The sums of one account's lines in one currency, as the store adds them up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountTotals {
    /// The currency.
    pub currency: CurrencyCode,
    /// The account.
    pub account: Account,
    /// Sum of its debits, minor units.
    pub debit: i64,
    /// Sum of its credits, minor units.
    pub credit: i64,
}

impl TrialBalance {
    /// The trial balance of per-account `totals` (any order, at most one per currency and
    /// account); accounts without lines show zeros.
    pub fn from_totals(totals: impl IntoIterator<Item = AccountTotals>) -> TrialBalance {
        let mut by_currency: BTreeMap<CurrencyCode, BTreeMap<Account, (i64, i64)>> = BTreeMap::new();
        for total in totals {
            let sums = by_currency.entry(total.currency).or_default().entry(total.account).or_default();
            *sums = (sums.0.saturating_add(total.debit), sums.1.saturating_add(total.credit));
        }
        let currencies: Vec<CurrencyBalance> = by_currency
            .into_iter()
            .map(|(currency, sums)| {
                let accounts: Vec<AccountBalance> = Account::ALL
                    .into_iter()
                    .map(|account| {
                        let (debit, credit) = sums.get(&account).copied().unwrap_or_default();
                        let balance = match account.normal_side() {
                            Side::Debit => debit.saturating_sub(credit),
                            Side::Credit => credit.saturating_sub(debit),
                        };
                        AccountBalance {
                            account,
                            normal_side: account.normal_side(),
                            debit: Money::new(currency, debit),
                            credit: Money::new(currency, credit),
                            balance: Money::new(currency, balance),
                        }
                    })
                    .collect();
                let total_debit = accounts.iter().fold(0_i64, |sum, a| sum.saturating_add(a.debit.minor_units));
                let total_credit = accounts.iter().fold(0_i64, |sum, a| sum.saturating_add(a.credit.minor_units));
                CurrencyBalance {
                    currency,
                    accounts,
                    total_debit: Money::new(currency, total_debit),
                    total_credit: Money::new(currency, total_credit),
                    balanced: total_debit == total_credit,
                }
            })
            .collect();
        let balanced = currencies.iter().all(|section| section.balanced);
        TrialBalance { currencies, balanced }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn usd(minor: i64) -> Money {
        Money::new(CurrencyCode::USD, minor)
    }

    fn amounts(currency: CurrencyCode, subtotal: i64, discount: i64, shipping: i64, freight: i64) -> Amounts {
        let money = |minor| Money::new(currency, minor);
        Amounts {
            items: Vec::new(),
            subtotal: money(subtotal),
            discount: money(discount),
            shipping: money(shipping),
            freight: money(freight),
            total: money(subtotal - discount + shipping + freight),
        }
    }

    fn totals(entries: &[Posting]) -> Vec<AccountTotals> {
        entries
            .iter()
            .flat_map(|entry| &entry.lines)
            .filter_map(|line| {
                let (side, amount) = line.side_and_amount()?;
                let (debit, credit) =
                    if side == Side::Debit { (amount.minor_units, 0) } else { (0, amount.minor_units) };
                Some(AccountTotals { currency: amount.currency, account: line.account, debit, credit })
            })
            .collect()
    }

    #[test]
    fn a_sale_defers_revenue_and_a_shipment_earns_it() {
        let order = OrderId::generate();
        let sale = SaleAmounts::parse(&amounts(CurrencyCode::USD, 10_000, 1_000, 895, 2_500)).unwrap();
        let posted = sale_posting(&order, &sale).unwrap();
        assert_eq!(
            posted.lines,
            vec![
                Line::new(Account::PaymentClearing, Side::Debit, usd(12_395)),
                Line::new(Account::Discounts, Side::Debit, usd(1_000)),
                Line::new(Account::DeferredRevenue, Side::Credit, usd(13_395)),
            ]
        );
        assert_eq!(posted.key(), format!("sale/{order}"));
        let earned = recognition_posting(&order, &sale).unwrap();
        assert_eq!(
            earned.lines,
            vec![
                Line::new(Account::DeferredRevenue, Side::Debit, usd(13_395)),
                Line::new(Account::MerchandiseRevenue, Side::Credit, usd(10_000)),
                Line::new(Account::ShippingRevenue, Side::Credit, usd(3_395)),
            ]
        );
        let balance = TrialBalance::from_totals(totals(&[posted, earned]));
        assert!(balance.balanced);
        let deferred = &balance.currencies[0].accounts[1];
        assert_eq!((deferred.account, deferred.balance), (Account::DeferredRevenue, usd(0)));
    }

    #[test]
    fn zero_lines_are_left_out_and_bad_amounts_named() {
        let order = OrderId::generate();
        let sale = SaleAmounts::parse(&amounts(CurrencyCode::USD, 2_800, 0, 0, 0)).unwrap();
        assert_eq!(sale_posting(&order, &sale).unwrap().lines.len(), 2);
        let mut bad = amounts(CurrencyCode::USD, 2_800, 0, 0, 0);
        bad.total = usd(2_700);
        assert_eq!(SaleAmounts::parse(&bad).unwrap_err().field, "amounts.total");
        bad.discount = Money::new(CurrencyCode::EUR, 0);
        assert_eq!(SaleAmounts::parse(&bad).unwrap_err().field, "amounts.discount.currency");
        assert_eq!(SaleAmounts::parse(&amounts(CurrencyCode::USD, 0, 0, 0, 0)).unwrap_err().field, "amounts.subtotal");
        let refund = Refund { order_id: order, amount: usd(0), reference: "re_1".into() };
        assert_eq!(refund_posting(&refund).unwrap_err().field, "amount");
    }

    #[test]
    fn unbalanced_or_malformed_lines_are_refused() {
        let unbalanced = [
            Line::new(Account::PaymentClearing, Side::Debit, usd(100)),
            Line::new(Account::DeferredRevenue, Side::Credit, usd(99)),
        ];
        assert!(check_balanced(&unbalanced).unwrap_err().contains("differ by 1"));
        let crossed = [
            Line::new(Account::PaymentClearing, Side::Debit, usd(100)),
            Line::new(Account::DeferredRevenue, Side::Credit, Money::new(CurrencyCode::EUR, 100)),
        ];
        assert!(check_balanced(&crossed).is_err(), "balancing across currencies is not balancing");
        let both = Line { account: Account::Refunds, debit: Some(usd(1)), credit: Some(usd(1)) };
        assert!(check_balanced(&[both.clone(), both]).is_err());
        assert!(check_balanced(&[]).is_err());
        for account in Account::ALL {
            assert_eq!(Account::parse(account.as_str()), Ok(account));
        }
    }

    fn currency() -> impl Strategy<Value = CurrencyCode> {
        prop::sample::select(vec!["USD", "EUR", "JPY", "GBP"]).prop_map(|code| CurrencyCode::parse(code).unwrap())
    }

    proptest! {
        #[test]
        fn entries_built_from_any_amounts_balance(
            subtotal in 0_i64..1_000_000_000_000,
            discount_share in 0_u32..=10_000,
            shipping in 0_i64..1_000_000,
            freight in 0_i64..1_000_000_000,
            code in currency(),
        ) {
            let discount = i64::try_from(i128::from(subtotal) * i128::from(discount_share) / 10_000).unwrap();
            let order = OrderId::generate();
            let amounts = amounts(code, subtotal, discount, shipping, freight);
            if let Ok(sale) = SaleAmounts::parse(&amounts) {
                prop_assert!(check_balanced(&sale_posting(&order, &sale).unwrap().lines).is_ok());
                prop_assert!(check_balanced(&recognition_posting(&order, &sale).unwrap().lines).is_ok());
            } else {
                let beyond = amounts.subtotal.check_bounds().is_err() || amounts.total.check_bounds().is_err();
                prop_assert!(subtotal + shipping + freight == 0 || beyond);
            }
        }

        #[test]
        fn sale_and_refund_amounts_are_bounded_at_the_door(
            amount in crate::money::strategies::any_amount(),
            part in 0_usize..5,
        ) {
            let mut sale = amounts(amount.currency, 100, 0, 0, 0);
            let fields = [&mut sale.subtotal, &mut sale.discount, &mut sale.shipping, &mut sale.freight, &mut sale.total];
            *fields.into_iter().nth(part).unwrap() = amount;
            let within = amount.check_bounds().is_ok();
            if let Err(FieldError { field, message: why }) = SaleAmounts::parse(&sale) {
                let bounded = why.contains("either way");
                prop_assert_eq!(bounded, !within && amount.minor_units >= 0, "{}: {}", field, why);
            } else {
                prop_assert!(within);
            }
            let refund = Refund { order_id: OrderId::generate(), amount, reference: "re_1".into() };
            let max = amount.currency.max_minor_units();
            prop_assert_eq!(refund_posting(&refund).is_ok(), (1..=max).contains(&amount.minor_units));
        }

        #[test]
        fn the_trial_balance_of_any_entries_balances(
            orders in proptest::collection::vec(
                (1_i64..10_000_000, 0_u32..=10_000, 0_i64..10_000, 0_i64..100_000, currency(), any::<bool>(), 0_i64..20_000_000),
                0..20,
            ),
        ) {
            let mut postings = Vec::new();
            for (subtotal, share, shipping, freight, code, shipped, refund) in orders {
                let discount = subtotal * i64::from(share) / 10_000;
                let order = OrderId::generate();
                let sale = SaleAmounts::parse(&amounts(code, subtotal, discount, shipping, freight)).unwrap();
                postings.push(sale_posting(&order, &sale).unwrap());
                if shipped {
                    postings.push(recognition_posting(&order, &sale).unwrap());
                }
                let refund = Refund { order_id: order, amount: Money::new(code, refund.min(sale.total)), reference: "r".into() };
                if let Ok(posting) = refund_posting(&refund) {
                    postings.push(posting);
                }
            }
            let balance = TrialBalance::from_totals(totals(&postings));
            prop_assert!(balance.balanced);
            for section in &balance.currencies {
                prop_assert_eq!(section.total_debit.minor_units, section.total_credit.minor_units);
                let signed: i64 = section.accounts.iter().map(|a| match a.normal_side {
                    Side::Debit => a.balance.minor_units,
                    Side::Credit => -a.balance.minor_units,
                }).sum();
                prop_assert_eq!(signed, 0);
            }
        }
    }
}
