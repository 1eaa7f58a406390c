//! The checkout saga: price the cart, fan out to CRM, inventory, the furniture ERP and the
//! fraud engine in parallel, decide, authorize, capture, commit, and write the order with its
//! event in one transaction. Every step is persisted; every failure before the charge is
//! compensated (release, cancel, void); a restarted process finishes or compensates what was
//! in flight.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::domain::{PaymentHeld, Recovery, SagaState, parcel_shipping, price};

use super::store::{CheckoutStore, Claim, SagaRecord};
use crate::cart::client::CartClient;
use crate::cart::client::CartId;
use crate::catalog::client::CatalogClient;
use crate::contracts::keys::{CHECKOUT_DEMO_SECRET, CHECKOUT_KEY_ID};
use crate::contracts::order::{
    Address, Amounts, FreightBooking, ORDER_PLACED, OrderId, OrderPlaced, OrderStatus, PaymentSummary, PricedLine,
    Receipt, merchandise_subtotal,
};
use crate::contracts::product::StockClass;
use crate::crm::client::CrmClient;
use crate::crm::client::{CustomerId, Standing};
use crate::currency::client::CurrencyClient;
use crate::currency::client::Rate;
use crate::fraud::client::FraudClient;
use crate::fraud::client::{AssessmentRequest, CardSummary, Decision, Location};
use crate::furniture::client::FurnitureClient;
use crate::furniture::client::{
    Destination, FreightItem, QuoteRequest, ReservationStatus as SlotStatus, SlotReservationId,
};
use crate::inventory::client::InventoryClient;
use crate::inventory::client::{Reservation, ReservationId, ReservationLine, ReservationStatus, ReserveRequest};
use crate::money::{CurrencyCode, Money};
use crate::payment::client::PaymentClient;
use crate::payment::client::{Authorization, AuthorizationId, AuthorizationStatus, AuthorizeRequest, CardDetails};
use crate::platform::FieldError;
use crate::platform::clock::Clock;
use crate::platform::error::Problem;
use crate::platform::outbox::OutboxEvent;
use crate::platform::secret::Secret;
use crate::platform::{Error, Result};

/// The systems a checkout calls.
#[derive(Debug, Clone)]
pub struct Peers {
    /// Carts.
    pub cart: CartClient,
    /// Products and prices.
    pub catalog: CatalogClient,
    /// Exchange rates.
    pub currency: CurrencyClient,
    /// Stock reservations.
    pub inventory: InventoryClient,
    /// Customers and loyalty.
    pub crm: CrmClient,
    /// Card payments.
    pub payment: PaymentClient,
    /// Freight for oversized items.
    pub furniture: FurnitureClient,
    /// Risk scores.
    pub fraud: FraudClient,
}

/// A checkout as submitted, validated; stored with the saga (it holds no card data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRequest {
    /// The cart to buy.
    pub cart_id: CartId,
    /// The signed-in customer, if any.
    pub customer_id: Option<CustomerId>,
    /// Where the confirmation goes.
    pub email: String,
    /// The currency the customer pays in.
    pub currency: CurrencyCode,
    /// Where the order goes.
    pub shipping_address: Address,
    /// The card's billing address.
    pub billing_address: Address,
    /// Preferred freight delivery slot, e.g. `2026-11-27-am`.
    pub delivery_slot: Option<String>,
}

/// What is kept of the card: enough to show and to score, never enough to charge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardFacts {
    /// Card brand.
    pub brand: String,
    /// Last four digits.
    pub last4: String,
    /// Keyed hash of the number, for velocity checks.
    pub fingerprint: String,
}

/// What the customer's record contributes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerFacts {
    /// Loyalty tier name.
    pub tier: String,
    /// Loyalty discount in basis points.
    pub discount_bps: u32,
    /// Account standing.
    pub standing: Standing,
}

/// Freight booked for the oversized lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreightProgress {
    /// The ERP's slot reservation.
    pub reservation_id: SlotReservationId,
    /// Delivery date.
    pub date: String,
    /// Delivery window.
    pub window: String,
    /// Cost in USD.
    pub cost_usd: Money,
}

/// Everything the saga's steps produced so far: what recovery and compensation work from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// The reference every downstream call is idempotent on: `checkout-<saga id>`.
    pub reference: String,
    /// The order to be.
    pub order_id: OrderId,
    /// The validated request.
    pub request: OrderRequest,
    /// The card, as far as it may be kept.
    pub card: CardFacts,
    /// The cart's lines, priced in USD.
    pub lines: Vec<PricedLine>,
    /// USD and the customer's currency, as published when the cart was priced.
    pub rates: (Rate, Rate),
    /// The customer's record, for signed-in customers.
    pub customer: Option<CustomerFacts>,
    /// The stock reservation of the standard lines.
    pub reservation_id: Option<ReservationId>,
    /// The freight booking of the oversized lines.
    pub freight: Option<FreightProgress>,
    /// The fraud engine's assessment id and decision.
    pub fraud: Option<(String, Decision)>,
    /// Held for review: authorized and committed, not captured.
    pub hold: bool,
    /// The priced order in the customer's currency.
    pub amounts: Option<Amounts>,
    /// The card authorization.
    pub authorization: Option<PaymentSummary>,
    /// Whether the card was charged (compensation then refunds instead of voiding).
    pub captured: bool,
}

/// The checkout's tunables.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Seconds a stock reservation is held while checkout runs.
    pub reservation_ttl_secs: u32,
    /// Milliseconds cart, catalog, currency, CRM, inventory and fraud calls may take.
    pub peer_deadline_ms: u32,
    /// Milliseconds the (slow) furniture ERP may take per call.
    pub freight_deadline_ms: u32,
    /// Milliseconds the payment gateway may take per call.
    pub payment_deadline_ms: u32,
    /// Key id the fraud engine knows the checkout by.
    pub fraud_key_id: String,
    /// Shared secret for signing fraud-engine requests (at least 32 characters).
    pub fraud_secret: Secret,
    /// Key of the card-number hash sent to the fraud engine (at least 32 characters).
    pub card_fingerprint_key: Secret,
    /// Seconds without progress after which another process may recover a saga.
    pub stale_after_secs: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            reservation_ttl_secs: 900,
            peer_deadline_ms: 1500,
            freight_deadline_ms: 4000,
            payment_deadline_ms: 5000,
            fraud_key_id: CHECKOUT_KEY_ID.into(),
            fraud_secret: CHECKOUT_DEMO_SECRET.into(),
            card_fingerprint_key: "embedded-default-card-fingerprint-key".into(),
            stale_after_secs: 30,
        }
    }
}

impl crate::platform::system::Settings for Settings {
    /// Checks the values; names the first bad key.
    fn validate(&self) -> Result<(), FieldError> {
        let deadline = |name, ms: u32| {
            if (10..=60_000).contains(&ms) {
                Ok(())
            } else {
                Err(FieldError::new(name, "must be between 10 and 60000"))
            }
        };
        deadline("peer_deadline_ms", self.peer_deadline_ms)?;
        deadline("freight_deadline_ms", self.freight_deadline_ms)?;
        deadline("payment_deadline_ms", self.payment_deadline_ms)?;
        if !(60..=3600).contains(&self.reservation_ttl_secs) {
            return Err(FieldError::new("reservation_ttl_secs", "must be between 60 and 3600"));
        }
        if self.fraud_secret.chars() < 32 {
            return Err(FieldError::new("fraud_secret", "must be at least 32 characters"));
        }
        if self.card_fingerprint_key.chars() < 32 {
            return Err(FieldError::new("card_fingerprint_key", "must be at least 32 characters"));
        }
        if self.stale_after_secs < 15 {
            return Err(FieldError::new("stale_after_secs", "must be at least 15 (longer than a request may run)"));
        }
        Ok(())
    }
}

/// The answer to a checkout request: a receipt or a problem, as first given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// JSON body.
    pub body: String,
    /// Whether this repeats the answer given to an earlier request with the same key.
    pub replayed: bool,
}

/// Why a saga stopped early.
enum Halt {
    /// A step failed: compensate and answer with the error.
    Failed(Error),
    /// The test hook stopped the process here: leave everything as a crash would.
    Crashed,
}

impl From<Error> for Halt {
    fn from(error: Error) -> Self {
        Halt::Failed(error)
    }
}

/// Runs checkouts.
#[derive(Debug, Clone)]
pub struct Checkout {
    peers: Arc<Peers>,
    store: CheckoutStore,
    clock: Arc<dyn Clock>,
    settings: Settings,
    crash_at: Option<CrashPoint>,
}

/// Where the test hook stops a saga dead, as a kill -9 there would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashPoint {
    /// After the downstream calls that lead to the state succeeded, before it is persisted.
    Before(SagaState),
    /// Right after the state is persisted.
    After(SagaState),
}

impl Checkout {
    /// A checkout over `store` calling `peers`.
    pub fn new(peers: Peers, store: CheckoutStore, clock: Arc<dyn Clock>, settings: Settings) -> Self {
        Checkout { peers: Arc::new(peers), store, clock, settings, crash_at: None }
    }

    /// Test hook: every saga stops dead at `point`, as if the process had been killed there;
    /// [`Checkout::recover`] on a new instance then has to clean up.
    pub fn crash_at(mut self, point: CrashPoint) -> Self {
        self.crash_at = Some(point);
        self
    }

    /// The store, for order lookups.
    pub fn store(&self) -> &CheckoutStore {
        &self.store
    }

    /// Checks out `request` once per idempotency `key`: a repeated key gets the first answer,
    /// and a concurrent duplicate waits for it.
    pub async fn place(&self, key: &str, request: OrderRequest, card: CardDetails) -> Result<Answer> {
        // Checked at the door, so a card the gateway would refuse is the customer's 422 on its
        // field, not a failed dependency.
        let number = card.validate(self.clock.now())?;
        let card_facts = CardFacts {
            brand: number.brand().as_str().to_owned(),
            last4: number.last4().to_owned(),
            fingerprint: number.fingerprint(self.settings.card_fingerprint_key.expose().as_bytes()),
        };
        let fingerprint = fingerprint(&request, &card_facts, &card);
        if let Some(existing) = self.store.by_key(key).await? {
            return self.replay(key, existing, &fingerprint).await;
        }
        let (lines, rates) = match self.price_cart(&request).await {
            Ok(priced) => priced,
            // A duplicate may have finished meanwhile and emptied the cart: answer as it did.
            Err(error) => match self.store.by_key(key).await? {
                Some(existing) => return self.replay(key, existing, &fingerprint).await,
                None => return Err(error),
            },
        };
        let saga_id = uuid::Uuid::new_v4();
        let progress = Progress {
            reference: format!("checkout-{}", saga_id.simple()),
            order_id: OrderId::generate(),
            request,
            card: card_facts,
            lines,
            rates,
            customer: None,
            reservation_id: None,
            freight: None,
            fraud: None,
            hold: false,
            amounts: None,
            authorization: None,
            captured: false,
        };
        let saga_id = saga_id.to_string();
        match self.store.claim(&saga_id, key, &fingerprint, &progress, self.clock.now()).await? {
            Claim::Existing(existing) => self.replay(key, existing, &fingerprint).await,
            Claim::New => Ok(self.run(&saga_id, progress, card).await),
        }
    }

    async fn replay(&self, key: &str, mut saga: SagaRecord<Progress>, fingerprint: &str) -> Result<Answer> {
        if saga.fingerprint != fingerprint {
            return Err(Error::invalid(
                "Idempotency-Key",
                "was already used for a different checkout; send a new key for a new order",
            ));
        }
        // A duplicate sent while the first is still running waits for its answer.
        let waited = tokio::time::timeout(Duration::from_secs(9), async {
            while saga.outcome.is_none() {
                tokio::time::sleep(Duration::from_millis(25)).await;
                match self.store.by_key::<Progress>(key).await? {
                    Some(current) => saga = current,
                    None => break,
                }
            }
            Ok::<_, Error>(())
        })
        .await;
        match (waited, saga.outcome) {
            (Ok(Ok(())), Some((status, body))) => Ok(Answer { status, body, replayed: true }),
            (Ok(Err(error)), _) => Err(error),
            _ => Err(Error::Conflict {
                detail: "a checkout with this Idempotency-Key is still running; send the request again shortly".into(),
            }),
        }
    }

    /// Loads the cart and prices it from the catalog, with the rates of USD and the customer's
    /// currency: reads only, so concurrent duplicates may all do it.
    async fn price_cart(&self, request: &OrderRequest) -> Result<(Vec<PricedLine>, (Rate, Rate))> {
        let (cart, rates) = tokio::join!(self.peers.cart.cart(&request.cart_id), self.peers.currency.rates());
        let (cart, rates) = (cart?, rates?);
        if cart.items.is_empty() {
            return Err(Error::invalid("cart_id", "the cart is empty: add something before checking out"));
        }
        let rate_of = |currency: CurrencyCode| {
            rates
                .iter()
                .copied()
                .find(|rate| rate.currency == currency)
                .ok_or_else(|| Error::invalid("currency", format!("no exchange rate is published for {currency}")))
        };
        let rates = (rate_of(CurrencyCode::USD)?, rate_of(request.currency)?);
        let products =
            futures_util::future::join_all(cart.items.iter().map(|item| self.peers.catalog.product(&item.product_id)))
                .await;
        let mut lines = Vec::with_capacity(cart.items.len());
        for (item, product) in cart.items.iter().zip(products) {
            let product = product?.ok_or_else(|| {
                Error::invalid(
                    "cart_id",
                    format!("the cart holds '{}', which is no longer sold: remove it and try again", item.product_id),
                )
            })?;
            lines.push(PricedLine {
                product_id: product.id,
                name: product.name,
                quantity: item.quantity,
                unit_price: product.price,
                stock_class: product.stock_class,
                weight_grams: product.weight_grams,
                dimensions_mm: product.dimensions_mm,
            });
        }
        Ok((lines, rates))
    }

    async fn run(&self, saga_id: &str, mut progress: Progress, card: CardDetails) -> Answer {
        match self.advance(saga_id, &mut progress, card).await {
            Ok(receipt) => {
                self.empty_cart_later(&progress.request.cart_id);
                answer(201, &receipt)
            }
            Err(Halt::Crashed) => answer(500, &Error::Internal { detail: "simulated crash".into() }.problem()),
            Err(Halt::Failed(error)) => self.fail(saga_id, &progress, error).await,
        }
    }

    async fn advance(&self, saga_id: &str, progress: &mut Progress, card: CardDetails) -> Result<Receipt, Halt> {
        self.crash_if(CrashPoint::After(SagaState::Started))?;
        self.fan_out(progress).await?;
        let blocked = matches!(progress.fraud, Some((_, Decision::Block)))
            || progress.customer.as_ref().is_some_and(|c| c.standing == Standing::Suspended);
        if blocked {
            return Err(Halt::Failed(Error::Forbidden {
                detail: format!(
                    "we could not accept this order; nothing was charged. Contact customer service quoting {}",
                    progress.reference
                ),
            }));
        }
        progress.hold = matches!(progress.fraud, Some((_, Decision::Review)))
            || progress.customer.as_ref().is_some_and(|c| c.standing == Standing::Watch);
        progress.amounts = Some(self.amounts(progress)?);
        self.step(saga_id, SagaState::Reserved, progress).await?;

        progress.authorization = Some(self.authorize(progress, card).await?);
        self.step(saga_id, SagaState::Authorized, progress).await?;

        if progress.hold {
            self.commit(progress).await?;
            self.step(saga_id, SagaState::Committed, progress).await?;
        } else {
            self.capture(progress).await?;
            progress.captured = true;
            self.step(saga_id, SagaState::Captured, progress).await?;
            self.commit(progress).await?;
        }
        self.crash_if(CrashPoint::Before(SagaState::Completed))?;
        Ok(self.complete(saga_id, progress).await?)
    }

    /// Empties the cart of a placed order without making the customer wait for it: the order
    /// stands either way, so a failure is only logged.
    fn empty_cart_later(&self, cart_id: &CartId) {
        let (cart, id) = (self.peers.cart.clone(), cart_id.clone());
        tokio::spawn(async move {
            if let Err(error) = cart.clear(&id).await {
                tracing::warn!(%error, cart = %id, "The cart of a placed order could not be emptied.");
            }
        });
    }

    /// Persists `state`; the crash hook may stop the saga just before or just after.
    async fn step(&self, saga_id: &str, state: SagaState, progress: &Progress) -> Result<(), Halt> {
        self.crash_if(CrashPoint::Before(state))?;
        self.store.save(saga_id, state, progress, self.clock.now()).await?;
        self.crash_if(CrashPoint::After(state))
    }

    fn crash_if(&self, point: CrashPoint) -> Result<(), Halt> {
        if self.crash_at == Some(point) { Err(Halt::Crashed) } else { Ok(()) }
    }

    /// CRM, stock, freight and fraud at once, each with its own deadline. What succeeded is
    /// recorded even when something else failed, so compensation can undo it.
    async fn fan_out(&self, progress: &mut Progress) -> Result<()> {
        let (customer, reservation, freight, fraud) = tokio::join!(
            self.customer(progress),
            self.reserve_stock(progress),
            self.book_freight(progress),
            self.assess(progress),
        );
        let mut first_error = None;
        progress.customer = keep(customer, &mut first_error);
        progress.reservation_id = keep(reservation, &mut first_error);
        progress.freight = keep(freight, &mut first_error);
        progress.fraud = keep(fraud, &mut first_error);
        first_error.map_or(Ok(()), Err)
    }

    async fn customer(&self, progress: &Progress) -> Result<Option<CustomerFacts>> {
        let Some(id) = &progress.request.customer_id else {
            return Ok(None);
        };
        let customer = self
            .peers
            .crm
            .customer(id)
            .await?
            .ok_or_else(|| Error::invalid("customer_id", format!("the CRM has no customer '{id}'")))?;
        Ok(Some(CustomerFacts {
            tier: customer.tier.to_string(),
            discount_bps: customer.discount_bps,
            standing: customer.standing,
        }))
    }

    async fn reserve_stock(&self, progress: &Progress) -> Result<Option<ReservationId>> {
        let lines: Vec<ReservationLine> = standard_lines(progress)
            .map(|line| ReservationLine { product_id: line.product_id.clone(), quantity: line.quantity })
            .collect();
        if lines.is_empty() {
            return Ok(None);
        }
        let request = ReserveRequest {
            reference: progress.reference.clone(),
            lines,
            ttl_secs: self.settings.reservation_ttl_secs,
        };
        Ok(Some(self.peers.inventory.reserve(&request).await?.id))
    }

    async fn book_freight(&self, progress: &Progress) -> Result<Option<FreightProgress>> {
        let items: Vec<FreightItem> = progress
            .lines
            .iter()
            .filter(|line| line.stock_class == StockClass::Oversized)
            .map(|line| FreightItem {
                product_id: line.product_id.clone(),
                quantity: line.quantity,
                weight_grams: line.weight_grams,
                dimensions_mm: line.dimensions_mm,
            })
            .collect();
        if items.is_empty() {
            return Ok(None);
        }
        let address = &progress.request.shipping_address;
        let destination = Destination { country: address.country.clone(), postal_code: address.postal_code.clone() };
        let quote = self
            .peers
            .furniture
            .quote(&QuoteRequest { destination, items })
            .await
            .map_err(|error| rename_field(error, "destination", "shipping_address"))?;
        let open = quote.slots.iter().filter(|slot| slot.remaining > 0);
        let candidates: Vec<_> = match &progress.request.delivery_slot {
            Some(wanted) => open.filter(|slot| &slot.id == wanted).collect(),
            None => open.collect(),
        };
        // Other checkouts may take the last place of a slot between the quote and the booking:
        // the customer who chose no slot gets the next open one.
        for slot in candidates {
            match self.peers.furniture.reserve_slot(&quote.id, &slot.id, &progress.reference).await {
                Ok(booking) => {
                    return Ok(Some(FreightProgress {
                        reservation_id: booking.id,
                        date: slot.date.clone(),
                        window: slot.window.hours().to_owned(),
                        cost_usd: quote.cost,
                    }));
                }
                Err(Error::Conflict { .. }) => continue,
                Err(other) => return Err(other),
            }
        }
        Err(match &progress.request.delivery_slot {
            Some(wanted) => {
                Error::invalid("delivery_slot", format!("'{wanted}' is not an open delivery slot; choose another"))
            }
            None => Error::Conflict {
                detail: "no freight delivery slot is open in the next two weeks; try again later".into(),
            },
        })
    }

    async fn assess(&self, progress: &Progress) -> Result<Option<(String, Decision)>> {
        let request = &progress.request;
        let location =
            |address: &Address| Location { country: address.country.clone(), postal_code: address.postal_code.clone() };
        let amount = merchandise_subtotal(&progress.lines)
            .ok_or_else(|| Error::invalid("cart_id", "the cart's total is too large to process"))?;
        let assessment = self
            .peers
            .fraud
            .assess(&AssessmentRequest {
                reference: progress.reference.clone(),
                customer_id: request.customer_id.as_ref().map(ToString::to_string),
                email: request.email.clone(),
                amount,
                card: CardSummary {
                    fingerprint: progress.card.fingerprint.clone(),
                    brand: progress.card.brand.clone(),
                    last4: progress.card.last4.clone(),
                },
                billing: location(&request.billing_address),
                shipping: location(&request.shipping_address),
                account_created_at: None,
                account_standing: None,
                ip: None,
            })
            .await?;
        Ok(Some((assessment.id.to_string(), assessment.decision)))
    }

    fn amounts(&self, progress: &Progress) -> Result<Amounts> {
        let too_large = || Error::invalid("cart_id", "the cart's total is too large to process");
        let subtotal = merchandise_subtotal(&progress.lines).ok_or_else(too_large)?;
        let shipping = parcel_shipping(&progress.lines, subtotal);
        let freight = progress.freight.as_ref().map_or(Money::zero(CurrencyCode::USD), |f| f.cost_usd);
        let discount_bps = progress.customer.as_ref().map_or(0, |c| c.discount_bps);
        let (usd, to) = progress.rates;
        price(&progress.lines, discount_bps, shipping, freight, usd, to).map_err(|_| too_large())
    }

    async fn authorize(&self, progress: &Progress, card: CardDetails) -> Result<PaymentSummary> {
        let amount = progress.amounts.as_ref().map(|a| a.total).ok_or_else(|| missing("amounts"))?;
        let request = AuthorizeRequest { reference: progress.reference.clone(), amount, card };
        let authorization = self.peers.payment.authorize(&request, &progress.reference).await?;
        if authorization.status == AuthorizationStatus::Declined {
            let code = authorization.decline_code.map_or("card_declined", |code| code.as_str());
            return Err(Error::PaymentDeclined {
                detail: format!("the card was declined ({code}); nothing was charged: try another card"),
            });
        }
        Ok(PaymentSummary {
            authorization_id: authorization.id.to_string(),
            brand: authorization.brand.as_str().to_owned(),
            last4: authorization.last4,
        })
    }

    async fn capture(&self, progress: &Progress) -> Result<()> {
        self.peers.payment.capture(&authorization_id(progress)?).await.map(drop)
    }

    /// Confirms the freight slot, then commits the stock reservation; both are idempotent.
    /// In that order because a confirmed slot can still be cancelled, while committed stock
    /// has left the shelf: whatever fails, nothing irreversible was done first.
    async fn commit(&self, progress: &Progress) -> Result<()> {
        if let Some(freight) = &progress.freight {
            self.peers.furniture.confirm(&freight.reservation_id).await?;
        }
        if let Some(id) = &progress.reservation_id {
            self.peers.inventory.commit(id).await?;
        }
        Ok(())
    }

    async fn complete(&self, saga_id: &str, progress: &Progress) -> Result<Receipt> {
        let amounts = progress.amounts.clone().ok_or_else(|| missing("amounts"))?;
        let payment = progress.authorization.clone().ok_or_else(|| missing("authorization"))?;
        let freight_booking = progress.freight.as_ref().map(|freight| FreightBooking {
            reservation_id: freight.reservation_id.to_string(),
            date: freight.date.clone(),
            window: freight.window.clone(),
            cost: amounts.freight,
        });
        let now = self.clock.now();
        let receipt = Receipt {
            order_id: progress.order_id.clone(),
            status: if progress.hold { OrderStatus::OnHold } else { OrderStatus::Confirmed },
            reference: progress.reference.clone(),
            email: progress.request.email.clone(),
            customer_id: progress.request.customer_id.as_ref().map(ToString::to_string),
            loyalty_tier: progress.customer.as_ref().filter(|c| c.discount_bps > 0).map(|c| c.tier.clone()),
            shipping_address: progress.request.shipping_address.clone(),
            amounts,
            freight_booking,
            payment,
            created_at: now,
        };
        let event = order_placed(progress, &receipt)?;
        self.store.complete(saga_id, &receipt, &event, now).await?;
        Ok(receipt)
    }

    /// Undoes every effect the owners hold under the saga's reference, asking each owner
    /// rather than trusting the saga's record: voids open authorizations, refunds charges,
    /// releases stock (or puts sold units back), cancels the slot. Each owner is undone even
    /// when another cannot be reached; safe to run again; a step that meets another state than
    /// it expected adapts.
    async fn compensate(&self, progress: &Progress) -> Result<()> {
        let reference = &progress.reference;
        let payment = async {
            for authorization in self.peers.payment.by_reference(reference).await? {
                self.undo_payment(&authorization, reference).await?;
            }
            Ok(())
        };
        let stock = async {
            match self.peers.inventory.by_reference(reference).await? {
                Some(reservation) => self.undo_stock(&reservation).await,
                None => Ok(()),
            }
        };
        let freight = async {
            match self.peers.furniture.by_reference(reference).await? {
                Some(slot) if slot.status != SlotStatus::Cancelled => {
                    self.peers.furniture.cancel(&slot.id).await.map(drop)
                }
                _ => Ok(()),
            }
        };
        let (payment, stock, freight) = tokio::join!(payment, stock, freight);
        payment.and(stock).and(freight)
    }

    /// Voids an open authorization, refunds what was charged; a void that finds the
    /// authorization captured meanwhile refunds instead.
    async fn undo_payment(&self, authorization: &Authorization, reference: &str) -> Result<()> {
        match authorization.status {
            AuthorizationStatus::Authorized => match self.peers.payment.void(&authorization.id).await {
                Err(Error::Conflict { .. }) => match self.peers.payment.authorization(&authorization.id).await? {
                    Some(now) if now.status == AuthorizationStatus::Captured => self.refund_rest(&now, reference).await,
                    _ => Ok(()),
                },
                outcome => outcome.map(drop),
            },
            AuthorizationStatus::Captured => self.refund_rest(authorization, reference).await,
            AuthorizationStatus::Declined | AuthorizationStatus::Voided => Ok(()),
        }
    }

    /// Refunds what is left of a charge, once per saga whatever the retries.
    async fn refund_rest(&self, authorization: &Authorization, reference: &str) -> Result<()> {
        let owed = authorization.captured.minor_units.saturating_sub(authorization.refunded.minor_units);
        if owed > 0 {
            let amount = Money::new(authorization.captured.currency, owed);
            self.peers.payment.refund(&authorization.id, amount, &format!("refund-{reference}")).await?;
        }
        Ok(())
    }

    /// Releases held stock; units already sold are received back, once.
    async fn undo_stock(&self, reservation: &Reservation) -> Result<()> {
        match reservation.status {
            ReservationStatus::Held => match self.peers.inventory.release(&reservation.id).await {
                // Committed meanwhile: read it again and put the units back.
                Err(Error::Conflict { .. }) => match self.peers.inventory.reservation(&reservation.id).await? {
                    Some(now) if now.status == ReservationStatus::Committed => {
                        self.peers.inventory.return_units(&now).await
                    }
                    _ => Ok(()),
                },
                outcome => outcome.map(drop),
            },
            ReservationStatus::Committed => self.peers.inventory.return_units(reservation).await,
            ReservationStatus::Released => Ok(()),
        }
    }

    /// Compensates and records the failure; if compensation itself fails, the saga stays
    /// `compensating` and recovery finishes the job.
    async fn fail(&self, saga_id: &str, progress: &Progress, error: Error) -> Answer {
        let problem = error.problem();
        if let Err(cleanup) = self.undo(saga_id, progress, &problem).await {
            tracing::error!(%cleanup, saga = saga_id, "Compensation did not finish; recovery will retry it.");
        }
        answer(problem.status, &problem)
    }

    /// Marks the saga compensating, undoes what the owners hold and records `problem` as its
    /// outcome. A transient problem (5xx) frees the key: the same request may simply be sent again.
    async fn undo(&self, saga_id: &str, progress: &Progress, problem: &Problem) -> Result<()> {
        let now = self.clock.now();
        self.store.save(saga_id, SagaState::Compensating, progress, now).await?;
        self.compensate(progress).await?;
        let transient = problem.status >= 500;
        self.store.fail(saga_id, problem.status, &encode_json(problem), transient, now).await
    }

    /// Finishes or compensates every saga left unfinished by a crash (or by a compensation
    /// that failed), once it has made no progress for the configured time, from what the
    /// owners of its effects really hold. Returns how many sagas it settled; a saga that
    /// could not be settled now (a peer down) is tried again next time.
    pub async fn recover(&self) -> Result<usize> {
        let stale_before = self.clock.now() - time::Duration::seconds(self.settings.stale_after_secs.into());
        let mut settled = 0;
        for saga in self.store.unfinished::<Progress>(stale_before).await? {
            match self.settle(saga.id.clone(), saga.state, saga.progress).await {
                Ok(true) => settled += 1,
                Ok(false) => {}
                Err(error) => tracing::warn!(%error, saga = saga.id, "Recovery of a saga failed; will retry."),
            }
        }
        Ok(settled)
    }

    /// Settles one interrupted saga; `false` when there was nothing to do.
    async fn settle(&self, saga_id: String, state: SagaState, mut progress: Progress) -> Result<bool> {
        let payments = Payments(self.peers.payment.by_reference(&progress.reference).await?);
        match state.recovery(progress.hold, payments.held()) {
            Recovery::Nothing => Ok(false),
            Recovery::Finish => match self.finish(&saga_id, &mut progress, &payments).await {
                Ok(()) => Ok(true),
                // The order cannot be had (the slot or the stock is gone, the capture was
                // declined): the customer gets their money back instead.
                Err(error) if error.status().is_client_error() => {
                    tracing::warn!(%error, saga = saga_id, "An interrupted checkout cannot be finished; undoing it.");
                    self.abandon(&saga_id, &progress).await.map(|()| true)
                }
                Err(error) => Err(error),
            },
            Recovery::Compensate => self.abandon(&saga_id, &progress).await.map(|()| true),
        }
    }

    /// Runs the remaining steps with the authorization the gateway holds: captures it unless
    /// the order is held, voids any other open one, commits and writes the order.
    async fn finish(&self, saga_id: &str, progress: &mut Progress, payments: &Payments) -> Result<()> {
        let usable = payments.usable().ok_or_else(|| missing("authorization"))?;
        for other in payments.0.iter().filter(|a| a.id != usable.id) {
            self.undo_payment(other, &progress.reference).await?;
        }
        progress.authorization = Some(PaymentSummary {
            authorization_id: usable.id.to_string(),
            brand: usable.brand.as_str().to_owned(),
            last4: usable.last4.clone(),
        });
        if !progress.hold {
            self.peers.payment.capture(&usable.id).await?;
            progress.captured = true;
            self.store.save(saga_id, SagaState::Captured, progress, self.clock.now()).await?;
        }
        self.commit(progress).await?;
        self.complete(saga_id, progress).await?;
        self.empty_cart_later(&progress.request.cart_id);
        tracing::info!(saga = saga_id, order = %progress.order_id, "Recovered an interrupted checkout: completed.");
        Ok(())
    }

    async fn abandon(&self, saga_id: &str, progress: &Progress) -> Result<()> {
        let problem = Error::Unavailable {
            dependency: "checkout".into(),
            detail: "the checkout was interrupted and undone; nothing was charged: send it again".into(),
        }
        .problem();
        self.undo(saga_id, progress, &problem).await?;
        tracing::info!(saga = saga_id, "Recovered an interrupted checkout: compensated.");
        Ok(())
    }
}

/// The authorizations the gateway holds under a saga's reference, oldest first.
struct Payments(Vec<Authorization>);

impl Payments {
    /// The money the gateway holds for the saga.
    fn held(&self) -> PaymentHeld {
        match self.usable().map(|a| a.status) {
            Some(AuthorizationStatus::Captured) => PaymentHeld::Captured,
            Some(_) => PaymentHeld::Authorized,
            None => PaymentHeld::Nothing,
        }
    }

    /// The authorization an order can go on with: an unrefunded charge, else an open one.
    fn usable(&self) -> Option<&Authorization> {
        let with = |status| self.0.iter().find(|a| a.status == status && a.refunded.minor_units == 0);
        with(AuthorizationStatus::Captured).or_else(|| with(AuthorizationStatus::Authorized))
    }
}

/// The value of a successful branch; the first failure is kept in `first_error`.
fn keep<T>(result: Result<Option<T>>, first_error: &mut Option<Error>) -> Option<T> {
    result.unwrap_or_else(|error| {
        first_error.get_or_insert(error);
        None
    })
}

fn standard_lines(progress: &Progress) -> impl Iterator<Item = &PricedLine> {
    progress.lines.iter().filter(|line| line.stock_class == StockClass::Standard)
}

fn authorization_id(progress: &Progress) -> Result<AuthorizationId> {
    let summary = progress.authorization.as_ref().ok_or_else(|| missing("authorization"))?;
    AuthorizationId::parse(&summary.authorization_id).map_err(|detail| Error::Internal { detail })
}

fn missing(what: &str) -> Error {
    Error::Internal { detail: format!("the saga reached a step without its {what}") }
}

/// A peer's validation problem on one of our fields, named as the caller knows it.
fn rename_field(error: Error, theirs: &str, ours: &str) -> Error {
    match error {
        Error::Upstream { status: 422, field: Some(field), detail, .. } if field.starts_with(theirs) => {
            Error::invalid(field.replacen(theirs, ours, 1), detail)
        }
        other => other,
    }
}

/// What identifies a checkout request, to tell a retry from a different request.
fn fingerprint(request: &OrderRequest, card: &CardFacts, details: &CardDetails) -> String {
    let canonical = serde_json::json!({
        "request": request,
        "card": [&card.fingerprint, details.exp_month, details.exp_year],
    });
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

fn order_placed(progress: &Progress, receipt: &Receipt) -> Result<OutboxEvent> {
    let event = OrderPlaced {
        order: receipt.clone(),
        lines: progress.lines.clone(),
        reference: progress.reference.clone(),
        card_fingerprint: progress.card.fingerprint.clone(),
        billing_address: progress.request.billing_address.clone(),
        reservation_id: progress.reservation_id.as_ref().map(ToString::to_string),
    };
    OutboxEvent::new("orders", ORDER_PLACED, receipt.order_id.as_str(), &event)
}

fn encode_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "{}".into())
}

fn answer<T: Serialize>(status: u16, body: &T) -> Answer {
    Answer { status, body: encode_json(body), replayed: false }
}
