//! Conclusions the Investigator draws from the facts by the store's written rules (the returns
//! and shipping policies in `mcp-contract/content/policies`), so no model has to.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::{Date, Duration, OffsetDateTime};

use mcp_contract::views::{OrderView, ShipmentView, Timeline};

/// Days after delivery within which an order may be returned (returns policy, "Return window").
pub const RETURN_DAYS: i64 = 30;
/// Business days parcels usually take once shipped (help: delivery times).
pub const PARCEL_BUSINESS_DAYS: (i64, i64) = (2, 5);

/// When an order arrives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Delivery {
    /// It arrived on this day.
    Delivered {
        /// The day (YYYY-MM-DD).
        on: String,
    },
    /// Freight booked on a slot.
    FreightSlot {
        /// The slot as booked.
        slot: String,
    },
    /// Parcels on their way: expected between these days.
    Expected {
        /// The earliest day.
        earliest: String,
        /// The latest day.
        latest: String,
    },
    /// Not shipped yet: no date until it is.
    NotShipped {
        /// Where the order stands.
        status: String,
    },
    /// Cancelled, returned or refunded: it will not be delivered.
    NotComing {
        /// Where the order stands.
        status: String,
    },
}

/// Whether an order may be returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ReturnWindow {
    /// Returnable until the end of this day.
    Open {
        /// The last day (YYYY-MM-DD).
        until: String,
        /// Days left, today included.
        days_left: i64,
    },
    /// The window closed on this day.
    Closed {
        /// The last day it was open.
        closed_on: String,
    },
    /// Not delivered yet: wait for delivery (or cancel, before shipping).
    NotYetDelivered {
        /// Where the order stands.
        status: String,
        /// Whether it can still be cancelled instead (not shipped).
        can_cancel: bool,
    },
    /// A return is already under way or done.
    AlreadyReturned {
        /// Where the order stands.
        status: String,
    },
}

/// When the timeline says the order reached `state`.
fn reached(timeline: &Timeline, state: &str) -> Option<OffsetDateTime> {
    let entry = timeline.items.iter().rev().find(|entry| entry.to == state)?;
    OffsetDateTime::parse(&entry.at, &Rfc3339).ok()
}

fn day(date: Date) -> String {
    date.to_string()
}

/// Adds `days` business days (Monday to Friday) to `from`.
fn business_days_after(from: Date, days: i64) -> Date {
    let mut date = from;
    let mut left = days;
    while left > 0 {
        date += Duration::days(1);
        if !matches!(date.weekday(), time::Weekday::Saturday | time::Weekday::Sunday) {
            left -= 1;
        }
    }
    date
}

/// When the order arrives, from its status, timeline, freight booking and shipments.
pub fn delivery(order: &OrderView, timeline: &Timeline, shipments: &[ShipmentView]) -> Delivery {
    let status = timeline.state.clone().unwrap_or_else(|| order.status.clone());
    match status.as_str() {
        "delivered" => match reached(timeline, "delivered") {
            Some(at) => Delivery::Delivered { on: day(at.date()) },
            None => Delivery::NotShipped { status },
        },
        "cancelled" | "return_requested" | "returned" | "refunded" => Delivery::NotComing { status },
        _ => {
            let slot = order.freight_delivery.clone().or_else(|| {
                shipments.iter().flat_map(|shipment| &shipment.parcels).find_map(|parcel| parcel.delivery_slot.clone())
            });
            match (slot, reached(timeline, "shipped")) {
                (Some(slot), _) => Delivery::FreightSlot { slot },
                (None, Some(shipped)) => Delivery::Expected {
                    earliest: day(business_days_after(shipped.date(), PARCEL_BUSINESS_DAYS.0)),
                    latest: day(business_days_after(shipped.date(), PARCEL_BUSINESS_DAYS.1)),
                },
                (None, None) => Delivery::NotShipped { status },
            }
        }
    }
}

/// Whether the order may be returned on `today`.
pub fn return_window(status: &str, timeline: &Timeline, today: Date) -> ReturnWindow {
    match status {
        "return_requested" | "returned" | "refunded" => ReturnWindow::AlreadyReturned { status: status.to_owned() },
        "delivered" => {
            let Some(delivered) = reached(timeline, "delivered") else {
                return ReturnWindow::NotYetDelivered { status: status.to_owned(), can_cancel: false };
            };
            let until = delivered.date() + Duration::days(RETURN_DAYS);
            let days_left = (until - today).whole_days() + 1;
            if days_left > 0 {
                ReturnWindow::Open { until: day(until), days_left }
            } else {
                ReturnWindow::Closed { closed_on: day(until) }
            }
        }
        other => ReturnWindow::NotYetDelivered {
            status: other.to_owned(),
            can_cancel: matches!(other, "confirmed" | "on_hold" | "allocated" | "picking"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcp_contract::views::TimelineEntry;
    use time::macros::date;

    fn timeline(entries: &[(&str, &str)]) -> Timeline {
        Timeline {
            order_id: "ord_1".into(),
            state: entries.last().map(|(to, _)| (*to).to_owned()),
            items: entries
                .iter()
                .map(|(to, at)| TimelineEntry {
                    at: (*at).to_owned(),
                    from: None,
                    to: (*to).to_owned(),
                    cause: String::new(),
                })
                .collect(),
            truncated: false,
            notice: None,
        }
    }

    #[test]
    fn the_return_window_is_thirty_days_from_delivery() {
        let history = timeline(&[("confirmed", "2026-11-01T10:00:00Z"), ("delivered", "2026-11-03T15:00:00Z")]);
        assert_eq!(
            return_window("delivered", &history, date!(2026 - 11 - 24)),
            ReturnWindow::Open { until: "2026-12-03".into(), days_left: 10 }
        );
        assert_eq!(
            return_window("delivered", &history, date!(2026 - 12 - 03)),
            ReturnWindow::Open { until: "2026-12-03".into(), days_left: 1 }
        );
        assert_eq!(
            return_window("delivered", &history, date!(2026 - 12 - 04)),
            ReturnWindow::Closed { closed_on: "2026-12-03".into() }
        );
        assert_eq!(
            return_window("picking", &history, date!(2026 - 11 - 24)),
            ReturnWindow::NotYetDelivered { status: "picking".into(), can_cancel: true }
        );
        assert_eq!(
            return_window("shipped", &history, date!(2026 - 11 - 24)),
            ReturnWindow::NotYetDelivered { status: "shipped".into(), can_cancel: false }
        );
    }

    #[test]
    fn parcels_are_expected_two_to_five_business_days_after_shipping() {
        // Friday 2026-11-20: two business days is Tuesday, five is Friday.
        assert_eq!(business_days_after(date!(2026 - 11 - 20), 2), date!(2026 - 11 - 24));
        assert_eq!(business_days_after(date!(2026 - 11 - 20), 5), date!(2026 - 11 - 27));
    }
}
