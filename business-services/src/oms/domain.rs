//! The order lifecycle as an explicit state machine, and what order management sends on: no I/O.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::accounting::client::Sale;
use crate::contracts::order::{OrderId, OrderPlaced, OrderStatus};
use crate::contracts::shipment::{ShipmentId, ShipmentStatus};
use crate::money::Money;
use crate::warehouse::client::{FreightSlot, NewShipment, ShipmentLine};

/// Where an order stands in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    /// Paid; being allocated to the warehouse and the ledger.
    Confirmed,
    /// Held for a fraud review: nothing happens until an operator releases it.
    OnHold,
    /// The warehouse has its shipment and the ledger its sale.
    Allocated,
    /// The warehouse is picking and packing it.
    Picking,
    /// Handed to the carriers; its revenue is recognized.
    Shipped,
    /// Delivered to the customer.
    Delivered,
    /// Cancelled before it shipped.
    Cancelled,
    /// The customer asked to send it back.
    ReturnRequested,
    /// It came back to the warehouse.
    Returned,
    /// The customer got their money back.
    Refunded,
}

/// Every state, for parsing and tests.
pub const STATES: [OrderState; 10] = [
    OrderState::Confirmed,
    OrderState::OnHold,
    OrderState::Allocated,
    OrderState::Picking,
    OrderState::Shipped,
    OrderState::Delivered,
    OrderState::Cancelled,
    OrderState::ReturnRequested,
    OrderState::Returned,
    OrderState::Refunded,
];

impl OrderState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderState::Confirmed => "confirmed",
            OrderState::OnHold => "on_hold",
            OrderState::Allocated => "allocated",
            OrderState::Picking => "picking",
            OrderState::Shipped => "shipped",
            OrderState::Delivered => "delivered",
            OrderState::Cancelled => "cancelled",
            OrderState::ReturnRequested => "return_requested",
            OrderState::Returned => "returned",
            OrderState::Refunded => "refunded",
        }
    }

    /// Parses a stored or requested name.
    pub fn parse(name: &str) -> Result<Self, String> {
        STATES.into_iter().find(|s| s.as_str() == name).ok_or_else(|| {
            let names: Vec<&str> = STATES.iter().map(|s| s.as_str()).collect();
            format!("'{name}' is not an order state: use one of {}", names.join(", "))
        })
    }

    /// The state a new order starts in: held orders wait for an operator.
    pub fn initial(status: OrderStatus) -> Self {
        match status {
            OrderStatus::Confirmed => OrderState::Confirmed,
            OrderStatus::OnHold => OrderState::OnHold,
        }
    }

    /// Whether an order may move from this state straight to `to`. Forward only:
    /// on_hold → confirmed → allocated → picking → shipped → delivered → return_requested →
    /// returned → refunded, where picking may be skipped, and cancelled from any state before
    /// shipped.
    pub fn can_move_to(self, to: OrderState) -> bool {
        use OrderState::*;
        matches!(
            (self, to),
            (OnHold, Confirmed)
                | (Confirmed, Allocated)
                | (Allocated, Picking)
                | (Allocated | Picking, Shipped)
                | (Shipped, Delivered)
                | (Delivered, ReturnRequested)
                | (ReturnRequested, Returned)
                | (Returned, Refunded)
                | (OnHold | Confirmed | Allocated | Picking, Cancelled)
        )
    }

    /// Checks a move; a refused one names both states and what the order can do next.
    pub fn check_move(self, to: OrderState) -> Result<(), String> {
        if self.can_move_to(to) {
            return Ok(());
        }
        let next: Vec<&str> = STATES.into_iter().filter(|s| self.can_move_to(*s)).map(OrderState::as_str).collect();
        Err(if next.is_empty() {
            format!("an order cannot go from {} to {}: it has ended", self.as_str(), to.as_str())
        } else {
            format!(
                "an order cannot go from {} to {}; from {} it can go to {}",
                self.as_str(),
                to.as_str(),
                self.as_str(),
                next.join(" or ")
            )
        })
    }

    /// Whether nothing can happen to the order any more.
    pub fn is_final(self) -> bool {
        STATES.into_iter().all(|to| !self.can_move_to(to))
    }
}

/// What a `shipment.status_changed` event does to an order in `state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShipmentStep {
    /// The order moves to this state.
    Move(OrderState),
    /// Nothing: a status the order has already passed (repeated or late), or one it does not
    /// follow (created, cancelled, returned). Acknowledged without a transition.
    Ignore,
    /// The order is still being allocated: retry the event once it is.
    NotYetAllocated,
}

/// The state a shipment status leads an order to, if it follows that status at all: picked and
/// packed mean picking, then shipped and delivered.
pub fn state_for_shipment(status: ShipmentStatus) -> Option<OrderState> {
    match status {
        ShipmentStatus::Picked | ShipmentStatus::Packed => Some(OrderState::Picking),
        ShipmentStatus::Shipped => Some(OrderState::Shipped),
        ShipmentStatus::Delivered => Some(OrderState::Delivered),
        ShipmentStatus::Created | ShipmentStatus::Cancelled | ShipmentStatus::Returned => None,
    }
}

/// What a shipment reaching `status` does to an order in `state`.
pub fn on_shipment(state: OrderState, status: ShipmentStatus) -> ShipmentStep {
    match state_for_shipment(status) {
        None => ShipmentStep::Ignore,
        Some(_) if state == OrderState::Confirmed => ShipmentStep::NotYetAllocated,
        Some(to) if state.can_move_to(to) => ShipmentStep::Move(to),
        Some(_) => ShipmentStep::Ignore,
    }
}

/// The sale the ledger records for a placed order: its amounts in the customer's currency.
pub fn sale_of(placed: &OrderPlaced) -> Sale {
    Sale { order_id: placed.order.order_id.clone(), amounts: placed.order.amounts.clone() }
}

/// The shipment the warehouse is asked for: every line of the order, to the receipt's address,
/// with the freight slot the checkout booked.
pub fn shipment_request(placed: &OrderPlaced) -> NewShipment {
    NewShipment {
        order_id: placed.order.order_id.clone(),
        reference: placed.reference.clone(),
        destination: placed.order.shipping_address.clone(),
        lines: placed
            .lines
            .iter()
            .map(|line| ShipmentLine {
                product_id: line.product_id.clone(),
                quantity: line.quantity,
                stock_class: line.stock_class,
                weight_grams: line.weight_grams,
                dimensions_mm: line.dimensions_mm,
            })
            .collect(),
        freight_booking: placed.order.freight_booking.as_ref().map(|booking| FreightSlot {
            reservation_id: booking.reservation_id.clone(),
            date: booking.date.clone(),
            window: booking.window.clone(),
        }),
    }
}

/// An order as order management keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Order {
    /// The order.
    pub id: OrderId,
    /// Where it stands.
    pub state: OrderState,
    /// Who ordered.
    pub email: String,
    /// The signed-in customer, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    /// What the customer paid.
    pub total: Money,
    /// Its shipment, once the warehouse has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipment_id: Option<ShipmentId>,
    /// Whether the ledger has its sale.
    pub sale_recorded: bool,
    /// Whether the ledger recognized its revenue (on shipping).
    pub revenue_recognized: bool,
    /// When it was placed.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub placed_at: OffsetDateTime,
    /// When its state last changed.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

/// One recorded move of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Transition {
    /// The state it left; absent for the order's creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<OrderState>,
    /// The state it reached.
    pub to: OrderState,
    /// The event id that caused it, or `operator:<action>`.
    pub cause: String,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
}

/// An order with its history, oldest move first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrderDetail {
    /// The order.
    #[serde(flatten)]
    pub order: Order,
    /// Every move it made.
    pub history: Vec<Transition>,
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::contracts::shipment::STATUSES;

    #[test]
    fn the_machine_allows_exactly_its_moves() {
        use OrderState::*;
        let allowed = [
            (OnHold, Confirmed),
            (Confirmed, Allocated),
            (Allocated, Picking),
            (Allocated, Shipped),
            (Picking, Shipped),
            (Shipped, Delivered),
            (Delivered, ReturnRequested),
            (ReturnRequested, Returned),
            (Returned, Refunded),
            (OnHold, Cancelled),
            (Confirmed, Cancelled),
            (Allocated, Cancelled),
            (Picking, Cancelled),
        ];
        for from in STATES {
            for to in STATES {
                assert_eq!(from.can_move_to(to), allowed.contains(&(from, to)), "{from:?} -> {to:?}");
                assert_eq!(from.check_move(to).is_ok(), allowed.contains(&(from, to)));
            }
            assert_eq!(OrderState::parse(from.as_str()), Ok(from));
        }
        assert_eq!(STATES.into_iter().filter(|s| s.is_final()).collect::<Vec<_>>(), vec![Cancelled, Refunded]);
        let refused = Shipped.check_move(Cancelled).unwrap_err();
        assert!(refused.contains("from shipped to cancelled") && refused.contains("delivered"), "{refused}");
        assert!(Cancelled.check_move(Confirmed).unwrap_err().contains("ended"));
        assert!(OrderState::parse("lost").unwrap_err().contains("return_requested"));
        assert_eq!(OrderState::initial(OrderStatus::OnHold), OnHold);
        assert_eq!(OrderState::initial(OrderStatus::Confirmed), Confirmed);
    }

    #[test]
    fn shipment_statuses_move_orders_forward_only() {
        use OrderState::*;
        let step = on_shipment;
        assert_eq!(step(Allocated, ShipmentStatus::Picked), ShipmentStep::Move(Picking));
        assert_eq!(step(Picking, ShipmentStatus::Packed), ShipmentStep::Ignore, "already picking");
        assert_eq!(step(Picking, ShipmentStatus::Shipped), ShipmentStep::Move(Shipped));
        assert_eq!(step(Allocated, ShipmentStatus::Shipped), ShipmentStep::Move(Shipped), "picking may be skipped");
        assert_eq!(step(Shipped, ShipmentStatus::Picked), ShipmentStep::Ignore, "late");
        assert_eq!(step(Shipped, ShipmentStatus::Shipped), ShipmentStep::Ignore, "repeated");
        assert_eq!(step(Shipped, ShipmentStatus::Delivered), ShipmentStep::Move(Delivered));
        assert_eq!(step(Allocated, ShipmentStatus::Delivered), ShipmentStep::Ignore, "out of order");
        assert_eq!(step(Confirmed, ShipmentStatus::Picked), ShipmentStep::NotYetAllocated);
        assert_eq!(step(Confirmed, ShipmentStatus::Cancelled), ShipmentStep::Ignore);
        assert_eq!(step(Cancelled, ShipmentStatus::Shipped), ShipmentStep::Ignore);
        for state in STATES {
            for status in [ShipmentStatus::Created, ShipmentStatus::Cancelled, ShipmentStatus::Returned] {
                assert_eq!(step(state, status), ShipmentStep::Ignore);
            }
        }
    }

    /// Something that can happen to an order: an operator or a shipment event.
    #[derive(Debug, Clone, Copy)]
    enum Happening {
        Operator(OrderState),
        Shipment(ShipmentStatus),
    }

    fn happening() -> impl Strategy<Value = Happening> {
        prop_oneof![
            proptest::sample::select(STATES.to_vec()).prop_map(Happening::Operator),
            proptest::sample::select(STATUSES.to_vec()).prop_map(Happening::Shipment),
        ]
    }

    proptest! {
        #[test]
        fn no_sequence_of_events_reaches_an_invalid_state(
            held in any::<bool>(),
            happenings in proptest::collection::vec(happening(), 0..40),
        ) {
            let mut state = OrderState::initial(if held { OrderStatus::OnHold } else { OrderStatus::Confirmed });
            let mut path = vec![state];
            for happening in happenings {
                let next = match happening {
                    Happening::Operator(to) => state.check_move(to).ok().map(|()| to),
                    Happening::Shipment(status) => match on_shipment(state, status) {
                        ShipmentStep::Move(to) => Some(to),
                        ShipmentStep::Ignore | ShipmentStep::NotYetAllocated => None,
                    },
                };
                if let Some(to) = next {
                    prop_assert!(state.can_move_to(to));
                    state = to;
                    path.push(state);
                }
            }
            let seen = |s: OrderState| path.iter().position(|p| *p == s);
            // Every state is visited at most once: the machine never goes back.
            for s in STATES {
                prop_assert!(path.iter().filter(|p| **p == s).count() <= 1, "{:?}", path);
            }
            // Nothing is cancelled once shipped; nothing ships unallocated; refunds follow returns.
            prop_assert!(!(seen(OrderState::Shipped).is_some() && seen(OrderState::Cancelled).is_some()));
            if let Some(shipped) = seen(OrderState::Shipped) {
                prop_assert!(seen(OrderState::Allocated).is_some_and(|a| a < shipped));
            }
            if let Some(delivered) = seen(OrderState::Delivered) {
                prop_assert!(seen(OrderState::Shipped).is_some_and(|s| s < delivered));
            }
            if let Some(refunded) = seen(OrderState::Refunded) {
                prop_assert!(seen(OrderState::Returned).is_some_and(|r| r < refunded));
            }
            if held && path.len() > 1 {
                prop_assert!(matches!(path[1], OrderState::Confirmed | OrderState::Cancelled));
            }
            // A final state is the last one.
            for s in &path[..path.len() - 1] {
                prop_assert!(!s.is_final());
            }
        }
    }
}
