//! `boutique audit`: checks that money and goods add up across the systems' stores — every
//! charge has its order, no hold is left open, no stock or slot is held for nobody, the ledger
//! agrees with the gateway. Reads the stores directly and changes nothing; the crash soak
//! (`scripts/soak`) runs it after its kills.

use std::collections::BTreeMap;
use std::fmt;

use crate::config::Config;
use crate::registry::System;
use crate::systems::open_stores;
use anyhow::Context;
use business_services::platform::db::Db;
use serde_json::Value;

/// What the audit found; every figure is 0 in a healthy store at rest.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Findings {
    /// Checkout references the card was charged under without an order.
    pub lost_paid_orders: usize,
    /// References charged more than once, or for more than their order's total.
    pub double_charges: usize,
    /// Open authorizations that no order on hold accounts for.
    pub open_authorizations: usize,
    /// Stock reservations still held.
    pub held_stock: usize,
    /// Freight slot reservations still held.
    pub held_slots: usize,
    /// Orders whose charge or ledger sale differs from the order's total (held orders: that
    /// were charged or booked before their release).
    pub ledger_mismatches: usize,
    /// Messages the broker gave up on.
    pub dead_letters: usize,
    /// Checkouts not yet completed or failed (recovery settles them once stale).
    pub unfinished_sagas: usize,
    /// Messages still waiting for delivery.
    pub undelivered_events: usize,
}

impl Findings {
    /// Whether every figure is 0.
    pub fn clean(&self) -> bool {
        *self == Findings::default()
    }
}

impl fmt::Display for Findings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows = [
            ("lost paid orders", self.lost_paid_orders),
            ("double charges", self.double_charges),
            ("open authorizations", self.open_authorizations),
            ("held stock reservations", self.held_stock),
            ("held freight slots", self.held_slots),
            ("ledger vs payments mismatches", self.ledger_mismatches),
            ("dead letters", self.dead_letters),
            ("unfinished checkouts", self.unfinished_sagas),
            ("undelivered events", self.undelivered_events),
        ];
        for (what, count) in rows {
            writeln!(f, "{what:<32} {count}")?;
        }
        Ok(())
    }
}

/// An order as checkout wrote it.
struct Order {
    id: String,
    on_hold: bool,
    total_minor: i64,
}

/// What the gateway holds under one reference.
#[derive(Default)]
struct Charges {
    /// Net charged amounts (captured minus refunded), one per charged authorization.
    charged: Vec<i64>,
    /// Open authorizations.
    open: usize,
}

/// Audits the stores of the store configured by `config`.
pub async fn run(config: &Config) -> anyhow::Result<Findings> {
    let systems = ["checkout", "payment", "inventory", "furniture", "accounting", "broker"].map(System::named);
    let stores = open_stores(config, &systems).await?;
    let store = |name| stores.get(&System::named(name)).with_context(|| format!("{name} has no store"));
    let orders = orders(store("checkout")?).await?;
    let charges = charges(store("payment")?).await?;
    let sales = sales(store("accounting")?).await?;

    let mut findings = Findings {
        held_stock: count(store("inventory")?, "SELECT COUNT(*) FROM reservations WHERE status = 'held'").await?,
        held_slots: count(store("furniture")?, "SELECT COUNT(*) FROM slot_reservations WHERE status = 'held'").await?,
        dead_letters: count(store("broker")?, "SELECT COUNT(*) FROM deliveries WHERE state = 'dead'").await?,
        undelivered_events: count(
            store("broker")?,
            "SELECT COUNT(*) FROM deliveries WHERE state IN ('pending', 'leased')",
        )
        .await?,
        unfinished_sagas: count(
            store("checkout")?,
            "SELECT COUNT(*) FROM checkout_sagas WHERE state NOT IN ('completed', 'failed')",
        )
        .await?,
        ..Findings::default()
    };
    for (reference, held) in &charges {
        let order = orders.get(reference);
        let charged: i64 = held.charged.iter().sum();
        if charged > 0 && order.is_none() {
            findings.lost_paid_orders += 1;
        }
        if held.charged.len() > 1 || order.is_some_and(|order| charged > order.total_minor) {
            findings.double_charges += 1;
        }
        if held.open > usize::from(order.is_some_and(|order| order.on_hold)) {
            findings.open_authorizations += 1;
        }
    }
    for (reference, order) in &orders {
        let charged: i64 = charges.get(reference).map_or(0, |held| held.charged.iter().sum());
        // A held order is authorized, not charged, and reaches the ledger once released.
        let agrees = if order.on_hold {
            charged == 0 && !sales.contains_key(&order.id)
        } else {
            charged == order.total_minor && sales.get(&order.id) == Some(&order.total_minor)
        };
        if !agrees {
            findings.ledger_mismatches += 1;
        }
    }
    Ok(findings)
}

/// Orders by their checkout reference.
async fn orders(db: &Db) -> anyhow::Result<BTreeMap<String, Order>> {
    let rows: Vec<(String, String, i64, String)> =
        sqlx::query_as("SELECT id, status, total_minor, receipt FROM orders").fetch_all(db.pool()).await?;
    let mut orders = BTreeMap::new();
    for (id, status, total_minor, receipt) in rows {
        let receipt: Value =
            serde_json::from_str(&receipt).with_context(|| format!("order {id}: unreadable receipt"))?;
        let reference = receipt["reference"].as_str().with_context(|| format!("order {id}: no reference"))?.to_owned();
        orders.insert(reference, Order { id, on_hold: status == "on_hold", total_minor });
    }
    Ok(orders)
}

/// What the gateway holds, by reference.
async fn charges(db: &Db) -> anyhow::Result<BTreeMap<String, Charges>> {
    let rows: Vec<(String, String, i64, i64)> =
        sqlx::query_as("SELECT reference, status, captured_minor, refunded_minor FROM authorizations")
            .fetch_all(db.pool())
            .await?;
    let mut charges: BTreeMap<String, Charges> = BTreeMap::new();
    for (reference, status, captured, refunded) in rows {
        let held = charges.entry(reference).or_default();
        match status.as_str() {
            "authorized" => held.open += 1,
            "captured" if captured > refunded => held.charged.push(captured - refunded),
            _ => {}
        }
    }
    Ok(charges)
}

/// The ledger's net sale (total less refunds) by order id.
async fn sales(db: &Db) -> anyhow::Result<BTreeMap<String, i64>> {
    let rows: Vec<(String, i64, i64)> =
        sqlx::query_as("SELECT order_id, total_minor, refunded_minor FROM sales").fetch_all(db.pool()).await?;
    Ok(rows.into_iter().map(|(order, total, refunded)| (order, total - refunded)).collect())
}

async fn count(db: &Db, sql: &'static str) -> anyhow::Result<usize> {
    let count: i64 = sqlx::query_scalar(sql).fetch_one(db.pool()).await?;
    Ok(usize::try_from(count).unwrap_or_default())
}
