//! Fulfilment: what order management does on each event and operator action.
//!
//! Work that calls the warehouse or the ledger runs under the order's lease (one delivery at a
//! time per order, so a storm of duplicates ships and books once) and stores its progress after
//! each call, so a retry after a failure continues where it stopped. Both peers are idempotent
//! on the order id, so a call repeated after a crash does no harm either.

use std::sync::Arc;

use time::OffsetDateTime;

use super::domain::{OrderDetail, OrderState, ShipmentStep, on_shipment, sale_of, shipment_request};
use super::ledger::Ledger;
use super::store::{OmsStore, OrderRecord};
use crate::contracts::order::{OrderId, OrderPlaced};
use crate::contracts::shipment::{ShipmentStatus, ShipmentStatusChanged};
use crate::platform::clock::Clock;
use crate::platform::{Error, Result};
use crate::warehouse::client::TrackingUpdate;
use crate::warehouse::client::WarehouseClient;

/// How long one delivery may hold an order's lease: past it, a crashed holder's work is taken
/// over by the next delivery.
const LEASE: time::Duration = time::Duration::seconds(30);

/// Order management's workflow over its store and peers.
#[derive(Debug, Clone)]
pub struct Fulfilment {
    store: OmsStore,
    warehouse: WarehouseClient,
    ledger: Arc<dyn Ledger>,
    clock: Arc<dyn Clock>,
}

/// What caused a change: an event (applied once) or an operator action.
#[derive(Debug, Clone, Copy)]
enum Cause<'a> {
    Event(&'a str),
    Operator(&'static str),
}

impl Cause<'_> {
    fn text(self) -> String {
        match self {
            Cause::Event(id) => id.to_owned(),
            Cause::Operator(action) => format!("operator:{action}"),
        }
    }
}

impl<'a> Cause<'a> {
    fn event_id(self) -> Option<&'a str> {
        match self {
            Cause::Event(id) => Some(id),
            Cause::Operator(_) => None,
        }
    }
}

impl Fulfilment {
    /// The workflow over `store`, calling `warehouse` and `ledger`.
    pub fn new(store: OmsStore, warehouse: WarehouseClient, ledger: Arc<dyn Ledger>, clock: Arc<dyn Clock>) -> Self {
        Fulfilment { store, warehouse, ledger, clock }
    }

    /// The store.
    pub fn store(&self) -> &OmsStore {
        &self.store
    }

    fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// Applies `order.placed` event `event_id`: creates the order (held orders stop there),
    /// then allocates it. Fails, for the broker to redeliver, when a peer fails.
    pub async fn order_placed(&self, event_id: &str, placed: &OrderPlaced) -> Result<()> {
        if self.store.is_processed(event_id).await? {
            return Ok(());
        }
        let initial = OrderState::initial(placed.order.status);
        let held = initial == OrderState::OnHold;
        self.store.create(placed, initial, event_id, held, self.now()).await?;
        let record = self.load(&placed.order.order_id).await?;
        match record.order.state {
            OrderState::Confirmed => self.allocate(&record.order.id, Cause::Event(event_id)).await,
            // Created before by this event (held), or placed twice under two event ids.
            _ => self.store.mark_processed(event_id, self.now()).await,
        }
    }

    /// Applies `shipment.status_changed` event `event_id`: picked or packed → picking,
    /// shipped → shipped (recognizing the revenue first), delivered → delivered. Repeated or
    /// late statuses, and statuses the order does not follow, are acknowledged without a move.
    pub async fn shipment_changed(&self, event_id: &str, change: &ShipmentStatusChanged) -> Result<()> {
        if self.store.is_processed(event_id).await? {
            return Ok(());
        }
        let Some(record) = self.store.record(&change.order_id).await? else {
            tracing::warn!(order = %change.order_id, event_id, "A shipment event names an unknown order; ignored.");
            return self.store.mark_processed(event_id, self.now()).await;
        };
        let state = record.order.state;
        match on_shipment(state, change.status) {
            ShipmentStep::Ignore => self.store.mark_processed(event_id, self.now()).await,
            ShipmentStep::NotYetAllocated => Err(Error::Unavailable {
                dependency: "order management".into(),
                detail: format!("order {} is still being allocated; redeliver the event once it is", change.order_id),
            }),
            ShipmentStep::Move(OrderState::Shipped) => self.ship(&change.order_id, Cause::Event(event_id)).await,
            ShipmentStep::Move(to) => {
                let cause = Cause::Event(event_id);
                self.store
                    .transition(&change.order_id, (state, to), &cause.text(), cause.event_id(), false, self.now())
                    .await?;
                Ok(())
            }
        }
    }

    /// Releases a held order and allocates it; on a released order whose allocation failed,
    /// retries the allocation.
    pub async fn release(&self, id: &OrderId) -> Result<OrderDetail> {
        let cause = Cause::Operator("release");
        let record = self.load(id).await?;
        match record.order.state {
            OrderState::OnHold => {
                self.store
                    .transition(id, (OrderState::OnHold, OrderState::Confirmed), &cause.text(), None, false, self.now())
                    .await?;
            }
            OrderState::Confirmed => {}
            other => {
                return Err(Error::Conflict {
                    detail: format!("order {id} is {}, not on hold: there is nothing to release", other.as_str()),
                });
            }
        }
        self.allocate(id, cause).await?;
        self.detail(id).await
    }

    /// Cancels an order before it ships, cancelling its shipment at the warehouse first.
    /// Cancelling a cancelled order changes nothing.
    pub async fn cancel(&self, id: &OrderId) -> Result<OrderDetail> {
        let record = self.load(id).await?;
        let state = record.order.state;
        if state == OrderState::Cancelled {
            return self.detail(id).await;
        }
        state
            .check_move(OrderState::Cancelled)
            .map_err(|why| Error::Conflict { detail: format!("order {id}: {why}") })?;
        let cause = Cause::Operator("cancel");
        self.with_lease(id, async {
            let record = self.load(id).await?;
            if record.order.state != OrderState::OnHold {
                // Asked by order, not by the stored shipment id: a shipment created just before
                // a crash is cancelled too.
                for shipment in self.warehouse.shipments_of(id).await? {
                    if shipment.status != ShipmentStatus::Cancelled {
                        let update = TrackingUpdate {
                            status: ShipmentStatus::Cancelled,
                            location: None,
                            note: Some("order cancelled by an operator".into()),
                        };
                        self.warehouse.record_event(&shipment.id, &update).await.map_err(|error| match error {
                            Error::Conflict { detail } => Error::Conflict {
                                detail: format!("the warehouse could not cancel the shipment: {detail}"),
                            },
                            other => other,
                        })?;
                    }
                }
            }
            let to = (record.order.state, OrderState::Cancelled);
            self.store.transition(id, to, &cause.text(), None, false, self.now()).await?;
            Ok(())
        })
        .await?;
        self.detail(id).await
    }

    /// Records that the customer asked to return a delivered order; asking again changes nothing.
    pub async fn request_return(&self, id: &OrderId) -> Result<OrderDetail> {
        let state = self.load(id).await?.order.state;
        if state != OrderState::ReturnRequested {
            state
                .check_move(OrderState::ReturnRequested)
                .map_err(|why| Error::Conflict { detail: format!("order {id}: {why}") })?;
            let cause = Cause::Operator("return-request");
            self.store
                .transition(id, (state, OrderState::ReturnRequested), &cause.text(), None, false, self.now())
                .await?;
        }
        self.detail(id).await
    }

    /// One order with its history.
    pub async fn detail(&self, id: &OrderId) -> Result<OrderDetail> {
        self.store.detail(id).await?.ok_or_else(|| Error::not_found("order", id.as_str()))
    }

    async fn load(&self, id: &OrderId) -> Result<OrderRecord> {
        self.store.record(id).await?.ok_or_else(|| Error::not_found("order", id.as_str()))
    }

    /// Runs `work` holding the order's lease, then frees it.
    async fn with_lease(&self, id: &OrderId, work: impl Future<Output = Result<()>>) -> Result<()> {
        let now = self.now();
        if !self.store.take_lease(id, now, now + LEASE).await? {
            return Err(Error::Unavailable {
                dependency: "order management".into(),
                detail: format!("order {id} is being worked on by another request; retry shortly"),
            });
        }
        let outcome = work.await;
        if let Err(error) = self.store.free_lease(id).await {
            tracing::warn!(order = %id, %error, "Could not free an order's lease; it expires by itself.");
        }
        outcome
    }

    /// Ships the order with the warehouse and records its sale with the ledger (each once,
    /// skipping what an earlier try did), then moves it confirmed → allocated.
    async fn allocate(&self, id: &OrderId, cause: Cause<'_>) -> Result<()> {
        self.with_lease(id, async {
            let record = self.load(id).await?;
            if record.order.state != OrderState::Confirmed {
                // Another delivery allocated it while this one waited.
                return match cause.event_id() {
                    Some(event_id) => self.store.mark_processed(event_id, self.now()).await,
                    None => Ok(()),
                };
            }
            if record.order.shipment_id.is_none() {
                let shipment = self.warehouse.create_shipment(&shipment_request(&record.placed)).await?;
                self.store.set_shipment(id, &shipment.id, self.now()).await?;
            }
            if !record.order.sale_recorded {
                self.ledger.record_sale(&sale_of(&record.placed)).await?;
                self.store.set_sale_recorded(id, self.now()).await?;
            }
            let to = (OrderState::Confirmed, OrderState::Allocated);
            self.store.transition(id, to, &cause.text(), cause.event_id(), false, self.now()).await?;
            Ok(())
        })
        .await
    }

    /// Recognizes the order's revenue with the ledger (once), then moves it to shipped.
    async fn ship(&self, id: &OrderId, cause: Cause<'_>) -> Result<()> {
        self.with_lease(id, async {
            let record = self.load(id).await?;
            let state = record.order.state;
            if on_shipment(state, ShipmentStatus::Shipped) != ShipmentStep::Move(OrderState::Shipped) {
                return match cause.event_id() {
                    Some(event_id) => self.store.mark_processed(event_id, self.now()).await,
                    None => Ok(()),
                };
            }
            if !record.order.revenue_recognized {
                self.ledger.recognize_revenue(id).await?;
            }
            self.store
                .transition(id, (state, OrderState::Shipped), &cause.text(), cause.event_id(), true, self.now())
                .await?;
            Ok(())
        })
        .await
    }
}
