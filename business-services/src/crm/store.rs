//! The CRM tables. Points are never stored as a balance: the balance and lifetime points are
//! sums over the ledger, so they cannot drift from the entries that explain them.

use std::collections::HashMap;

use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::error::ErrorKind;
use sqlx::{Any, AnyConnection, FromRow, Transaction};
use time::OffsetDateTime;

use super::domain::{
    Address, AddressId, Channel, CountryCode, Customer, CustomerId, Email, EntryId, LoyaltyEntry, LoyaltyStatus,
    MessageId, NewAddress, NewCustomer, NewLoyaltyEntry, NewTicket, Note, NoteId, ORDER_REASON, OrderEarning, Priority,
    Standing, Ticket, TicketId, TicketMessage, TicketStatus, points_for, status_change_message,
};
use crate::platform::clock::{from_millis, to_millis};
use crate::platform::db::{Db, like_pattern};
use crate::platform::page::{self, Page};
use crate::platform::{Error, Result};

/// How long idempotency keys are remembered.
const IDEMPOTENCY_KEY_RETENTION: time::Duration = time::Duration::hours(24);

/// An idempotency key sent with a create, scoped to the request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    /// The stored key: the path and the caller's key.
    pub key: String,
    /// The checked request, to tell a retry from a different request.
    pub fingerprint: String,
}

/// What a create did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<T> {
    /// It was created now.
    Created(T),
    /// The same request came before; this is what it created.
    Replayed(T),
}

/// How a create starts.
enum Begun<T> {
    /// A transaction holding the idempotency key, if any: go ahead.
    Fresh(Transaction<'static, Any>),
    /// What the first request with the key created.
    Replayed(T),
}

/// Where a newest-first page continues: after the item created at `at` with id `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct After {
    at: i64,
    id: String,
}

impl After {
    /// The first page.
    pub fn start() -> Self {
        After { at: i64::MAX, id: String::new() }
    }

    /// The page after a `next_cursor`; a cursor this service did not issue is a 422 on `cursor`.
    pub fn from_cursor(cursor: &str) -> Result<Self> {
        page::decode_cursor(cursor)?
            .split_once('/')
            .and_then(|(at, id)| Some(After { at: at.parse().ok()?, id: id.to_owned() }))
            .ok_or_else(|| Error::invalid("cursor", "is not a cursor this service issued; start again without it"))
    }
}

/// Pages `rows` fetched newest first (up to `limit + 1` of them), with the cursor after the last.
fn newest_first<T>(rows: Vec<T>, limit: u32, position: impl Fn(&T) -> (OffsetDateTime, &str)) -> Page<T> {
    let keyed: Vec<(String, T)> = rows
        .into_iter()
        .map(|row| {
            let (at, id) = position(&row);
            (format!("{}/{id}", to_millis(at)), row)
        })
        .collect();
    let page = page::paginate(keyed, limit, |(key, _)| key.clone());
    Page { items: page.items.into_iter().map(|(_, row)| row).collect(), next_cursor: page.next_cursor }
}

/// Which customers a search wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerSearch {
    /// Exactly this email.
    pub email: Option<Email>,
    /// This text anywhere in the name or email, ignoring case.
    pub text: Option<String>,
    /// Continue after this customer.
    pub after: After,
}

/// Reads and writes customers and everything about them.
#[derive(Debug, Clone)]
pub struct CrmStore {
    db: Db,
}

fn corrupt(what: &str, why: impl std::fmt::Display) -> Error {
    Error::Internal { detail: format!("a stored {what} is invalid: {why}") }
}

fn encode<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Internal { detail: format!("could not encode a response: {e}") })
}

impl CrmStore {
    /// A store over `db`, which must be migrated with the CRM migrations.
    pub fn new(db: Db) -> Self {
        CrmStore { db }
    }

    /// How many customers there are.
    pub async fn count_customers(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM customers").fetch_one(self.db.pool()).await?)
    }

    /// Starts a write that creates something: a transaction that holds `key`, or what the first
    /// request with the key created.
    async fn begin_create<T: DeserializeOwned>(
        &self,
        key: Option<&IdempotencyKey>,
        now: OffsetDateTime,
    ) -> Result<Begun<T>> {
        let mut tx = self.db.begin_write().await?;
        let Some(key) = key else {
            return Ok(Begun::Fresh(tx));
        };
        sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
            .bind(to_millis(now - IDEMPOTENCY_KEY_RETENTION))
            .execute(&mut *tx)
            .await?;
        // A concurrent create with the same key waits on the row until its transaction ends.
        let claimed = sqlx::query(
            "INSERT INTO idempotency_keys (key, fingerprint, response, created_at) VALUES ($1, $2, '', $3) \
             ON CONFLICT (key) DO NOTHING",
        )
        .bind(&key.key)
        .bind(&key.fingerprint)
        .bind(to_millis(now))
        .execute(&mut *tx)
        .await?;
        if claimed.rows_affected() == 1 {
            return Ok(Begun::Fresh(tx));
        }
        drop(tx);
        let (fingerprint, response): (String, String) =
            sqlx::query_as("SELECT fingerprint, response FROM idempotency_keys WHERE key = $1")
                .bind(&key.key)
                .fetch_one(self.db.pool())
                .await?;
        if fingerprint != key.fingerprint {
            return Err(Error::invalid(
                "Idempotency-Key",
                "was already used for a different request; send a new key for a new request",
            ));
        }
        let created = serde_json::from_str(&response).map_err(|e| corrupt("idempotent response", e))?;
        Ok(Begun::Replayed(created))
    }

    /// Ends a create begun with [`Self::begin_create`]: records `created` under the key, commits.
    async fn finish_create<T: Serialize>(
        mut tx: Transaction<'static, Any>,
        key: Option<&IdempotencyKey>,
        created: T,
    ) -> Result<Outcome<T>> {
        if let Some(key) = key {
            sqlx::query("UPDATE idempotency_keys SET response = $2 WHERE key = $1")
                .bind(&key.key)
                .bind(encode(&created)?)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(Outcome::Created(created))
    }

    /// Signs up a customer; an email already in use is a conflict.
    pub async fn create_customer(
        &self,
        new: &NewCustomer,
        now: OffsetDateTime,
        key: Option<&IdempotencyKey>,
    ) -> Result<Outcome<Customer>> {
        let mut tx = match self.begin_create(key, now).await? {
            Begun::Fresh(tx) => tx,
            Begun::Replayed(created) => return Ok(Outcome::Replayed(created)),
        };
        let id = CustomerId::generate();
        insert_customer(&mut tx, &id, new, now).await?;
        let customer = load_customer(&mut tx, &id).await?.ok_or_else(|| Error::not_found("customer", id.as_str()))?;
        Self::finish_create(tx, key, customer).await
    }

    /// One customer with addresses and loyalty standing.
    pub async fn customer(&self, id: &CustomerId) -> Result<Option<Customer>> {
        let mut connection = self.db.pool().acquire().await?;
        load_customer(&mut connection, id).await
    }

    /// Customers matching `search`, newest accounts first.
    pub async fn search_customers(&self, search: &CustomerSearch, limit: u32) -> Result<Page<Customer>> {
        let mut params = vec![Param::Int(search.after.at), Param::Text(search.after.id.clone())];
        let mut conditions = vec!["(c.created_at < $1 OR (c.created_at = $1 AND c.id < $2))".to_owned()];
        if let Some(email) = &search.email {
            params.push(Param::Text(email.as_str().to_owned()));
            conditions.push(format!("c.email = ${}", params.len()));
        }
        if let Some(text) = &search.text {
            params.push(Param::Text(like_pattern(&text.to_lowercase())));
            conditions.push(format!("c.search_text LIKE ${} ESCAPE '\\'", params.len()));
        }
        params.push(Param::Int(i64::from(limit) + 1));
        let sql = format!(
            "{SELECT_CUSTOMERS} WHERE {} ORDER BY c.created_at DESC, c.id DESC LIMIT ${}",
            conditions.join(" AND "),
            params.len()
        );
        let mut connection = self.db.pool().acquire().await?;
        let customers = fetch_customers(&mut connection, sql, params).await?;
        Ok(newest_first(customers, limit, |c| (c.created_at, c.id.as_str())))
    }

    /// Sets a customer's standing and the reason for it.
    pub async fn set_standing(&self, id: &CustomerId, standing: Standing, reason: &str) -> Result<Customer> {
        let mut tx = self.db.begin_write().await?;
        lock_customer(&mut tx, id).await?;
        update_standing(&mut tx, id, standing, reason).await?;
        let customer = load_customer(&mut tx, id).await?.ok_or_else(|| Error::not_found("customer", id.as_str()))?;
        tx.commit().await?;
        Ok(customer)
    }

    /// Adds an address; the customer's first becomes both defaults, and a new default replaces
    /// the old one.
    pub async fn add_address(
        &self,
        customer: &CustomerId,
        new: &NewAddress,
        now: OffsetDateTime,
        key: Option<&IdempotencyKey>,
    ) -> Result<Outcome<Address>> {
        let mut tx = match self.begin_create(key, now).await? {
            Begun::Fresh(tx) => tx,
            Begun::Replayed(created) => return Ok(Outcome::Replayed(created)),
        };
        lock_customer(&mut tx, customer).await?;
        let address = insert_address(&mut tx, customer, AddressId::generate(), new, now).await?;
        Self::finish_create(tx, key, address).await
    }

    /// A customer's points and tier; `None` if there is no such customer.
    pub async fn loyalty(&self, id: &CustomerId) -> Result<Option<LoyaltyStatus>> {
        let mut connection = self.db.pool().acquire().await?;
        load_loyalty(&mut connection, id).await
    }

    /// Records a points entry once per reference; the balance never goes below zero.
    ///
    /// The same reference again with the same delta and reason is a replay answered with the
    /// current status; with another delta or reason it is refused.
    pub async fn add_loyalty_entry(
        &self,
        customer: &CustomerId,
        entry: &NewLoyaltyEntry,
        now: OffsetDateTime,
    ) -> Result<Outcome<LoyaltyStatus>> {
        let mut tx = self.db.begin_write().await?;
        lock_customer(&mut tx, customer).await?;
        let recorded: Option<(i64, String)> =
            sqlx::query_as("SELECT delta, reason FROM loyalty_entries WHERE customer_id = $1 AND reference = $2")
                .bind(customer.as_str())
                .bind(&entry.reference)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some((delta, reason)) = recorded {
            if delta != entry.delta || reason != entry.reason {
                return Err(Error::invalid(
                    "reference",
                    format!(
                        "'{}' was already recorded with {delta} points for '{reason}'; use a new reference for a new entry",
                        entry.reference
                    ),
                ));
            }
            let status = load_loyalty(&mut tx, customer).await?;
            return status.map(Outcome::Replayed).ok_or_else(|| Error::not_found("customer", customer.as_str()));
        }
        let before =
            load_loyalty(&mut tx, customer).await?.ok_or_else(|| Error::not_found("customer", customer.as_str()))?;
        if before.points.saturating_add(entry.delta) < 0 {
            return Err(Error::invalid(
                "delta",
                format!("the balance is {} points; an entry may not take it below zero", before.points),
            ));
        }
        insert_entry(&mut tx, customer, &EntryId::generate(), entry, now).await?;
        let after =
            load_loyalty(&mut tx, customer).await?.ok_or_else(|| Error::not_found("customer", customer.as_str()))?;
        tx.commit().await?;
        Ok(Outcome::Created(after))
    }

    /// Awards the points a placed order earns at the customer's tier now, once per order: an
    /// order already awarded, or earning nothing (under a dollar), changes nothing. Returns the
    /// points added now. An unknown customer is [`Error::NotFound`].
    pub async fn award_order_points(&self, earning: &OrderEarning, now: OffsetDateTime) -> Result<i64> {
        let customer = &earning.customer_id;
        let mut tx = self.db.begin_write().await?;
        lock_customer(&mut tx, customer).await?;
        let awarded: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM loyalty_entries WHERE customer_id = $1 AND reference = $2")
                .bind(customer.as_str())
                .bind(&earning.reference)
                .fetch_optional(&mut *tx)
                .await?;
        if awarded.is_some() {
            return Ok(0);
        }
        let status =
            load_loyalty(&mut tx, customer).await?.ok_or_else(|| Error::not_found("customer", customer.as_str()))?;
        let points = points_for(status.tier, earning.amount);
        if points == 0 {
            return Ok(0);
        }
        let entry =
            NewLoyaltyEntry { delta: points, reason: ORDER_REASON.to_owned(), reference: earning.reference.clone() };
        insert_entry(&mut tx, customer, &EntryId::generate(), &entry, now).await?;
        tx.commit().await?;
        Ok(points)
    }

    /// A customer's ledger entries, newest first.
    pub async fn loyalty_entries(
        &self,
        customer: &CustomerId,
        after: &After,
        limit: u32,
    ) -> Result<Page<LoyaltyEntry>> {
        let mut connection = self.db.pool().acquire().await?;
        ensure_customer(&mut connection, customer).await?;
        let rows: Vec<(String, i64, String, String, i64)> = sqlx::query_as(
            "SELECT id, delta, reason, reference, created_at FROM loyalty_entries WHERE customer_id = $1 \
             AND (created_at < $2 OR (created_at = $2 AND id < $3)) ORDER BY created_at DESC, id DESC LIMIT $4",
        )
        .bind(customer.as_str())
        .bind(after.at)
        .bind(&after.id)
        .bind(i64::from(limit) + 1)
        .fetch_all(&mut *connection)
        .await?;
        let entries = rows
            .into_iter()
            .map(|(id, delta, reason, reference, at)| {
                let id = EntryId::parse(&id).map_err(|e| corrupt("ledger entry id", e))?;
                Ok(LoyaltyEntry { id, delta, reason, reference, at: from_millis(at) })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(newest_first(entries, limit, |e| (e.at, e.id.as_str())))
    }

    /// Appends a note about a customer.
    pub async fn add_note(
        &self,
        customer: &CustomerId,
        author: &str,
        body: &str,
        now: OffsetDateTime,
        key: Option<&IdempotencyKey>,
    ) -> Result<Outcome<Note>> {
        let mut tx = match self.begin_create(key, now).await? {
            Begun::Fresh(tx) => tx,
            Begun::Replayed(created) => return Ok(Outcome::Replayed(created)),
        };
        lock_customer(&mut tx, customer).await?;
        let note = Note {
            id: NoteId::generate(),
            customer_id: customer.clone(),
            author: author.to_owned(),
            body: body.to_owned(),
            created_at: now,
        };
        insert_note(&mut tx, &note).await?;
        Self::finish_create(tx, key, note).await
    }

    /// Notes about a customer, newest first.
    pub async fn notes(&self, customer: &CustomerId, after: &After, limit: u32) -> Result<Page<Note>> {
        let mut connection = self.db.pool().acquire().await?;
        ensure_customer(&mut connection, customer).await?;
        let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
            "SELECT id, author, body, created_at FROM notes WHERE customer_id = $1 \
             AND (created_at < $2 OR (created_at = $2 AND id < $3)) ORDER BY created_at DESC, id DESC LIMIT $4",
        )
        .bind(customer.as_str())
        .bind(after.at)
        .bind(&after.id)
        .bind(i64::from(limit) + 1)
        .fetch_all(&mut *connection)
        .await?;
        let notes = rows
            .into_iter()
            .map(|(id, author, body, at)| {
                let id = NoteId::parse(&id).map_err(|e| corrupt("note id", e))?;
                Ok(Note { id, customer_id: customer.clone(), author, body, created_at: from_millis(at) })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(newest_first(notes, limit, |n| (n.created_at, n.id.as_str())))
    }

    /// Opens a ticket for a customer, with `author`'s first message.
    pub async fn open_ticket(
        &self,
        customer: &CustomerId,
        new: &NewTicket,
        author: &str,
        now: OffsetDateTime,
        key: Option<&IdempotencyKey>,
    ) -> Result<Outcome<Ticket>> {
        let mut tx = match self.begin_create(key, now).await? {
            Begun::Fresh(tx) => tx,
            Begun::Replayed(created) => return Ok(Outcome::Replayed(created)),
        };
        lock_customer(&mut tx, customer).await?;
        let id = TicketId::generate();
        let message = TicketMessage {
            id: MessageId::generate(),
            ticket_id: id.clone(),
            author: author.to_owned(),
            body: new.body.clone(),
            created_at: now,
        };
        let ticket = Ticket {
            id,
            customer_id: customer.clone(),
            subject: new.subject.clone(),
            status: TicketStatus::Open,
            priority: new.priority,
            channel: new.channel,
            created_at: now,
            updated_at: now,
            messages: vec![message],
        };
        insert_ticket(&mut tx, &ticket).await?;
        Self::finish_create(tx, key, ticket).await
    }

    /// A customer's tickets with their messages, newest first.
    pub async fn tickets(&self, customer: &CustomerId, after: &After, limit: u32) -> Result<Page<Ticket>> {
        let mut connection = self.db.pool().acquire().await?;
        ensure_customer(&mut connection, customer).await?;
        let sql = format!(
            "{SELECT_TICKETS} WHERE customer_id = $1 AND (created_at < $2 OR (created_at = $2 AND id < $3)) \
             ORDER BY created_at DESC, id DESC LIMIT $4"
        );
        let params = vec![
            Param::Text(customer.as_str().to_owned()),
            Param::Int(after.at),
            Param::Text(after.id.clone()),
            Param::Int(i64::from(limit) + 1),
        ];
        let tickets = fetch_tickets(&mut connection, sql, params).await?;
        Ok(newest_first(tickets, limit, |t| (t.created_at, t.id.as_str())))
    }

    /// One ticket with its messages.
    pub async fn ticket(&self, id: &TicketId) -> Result<Option<Ticket>> {
        let mut connection = self.db.pool().acquire().await?;
        load_ticket(&mut connection, id).await
    }

    /// Adds a message to a ticket that is not closed.
    pub async fn add_message(
        &self,
        ticket: &TicketId,
        author: &str,
        body: &str,
        now: OffsetDateTime,
        key: Option<&IdempotencyKey>,
    ) -> Result<Outcome<TicketMessage>> {
        let mut tx = match self.begin_create(key, now).await? {
            Begun::Fresh(tx) => tx,
            Begun::Replayed(created) => return Ok(Outcome::Replayed(created)),
        };
        let status: Option<String> =
            sqlx::query_scalar("UPDATE tickets SET updated_at = $2 WHERE id = $1 RETURNING status")
                .bind(ticket.as_str())
                .bind(to_millis(now))
                .fetch_optional(&mut *tx)
                .await?;
        match status.as_deref().map(TicketStatus::parse) {
            None => return Err(Error::not_found("ticket", ticket.as_str())),
            Some(Ok(TicketStatus::Closed)) => {
                return Err(Error::Conflict {
                    detail: format!("ticket '{ticket}' is closed; reopen it (PUT its status) before adding messages"),
                });
            }
            Some(Ok(TicketStatus::Open | TicketStatus::Pending)) => {}
            Some(Err(e)) => return Err(corrupt("ticket status", e)),
        }
        let message = TicketMessage {
            id: MessageId::generate(),
            ticket_id: ticket.clone(),
            author: author.to_owned(),
            body: body.to_owned(),
            created_at: now,
        };
        insert_message(&mut tx, &message).await?;
        Self::finish_create(tx, key, message).await
    }

    /// Moves a ticket to `status`, recording who did it as a message; no change if it is there.
    pub async fn set_ticket_status(
        &self,
        ticket: &TicketId,
        status: TicketStatus,
        author: &str,
        now: OffsetDateTime,
    ) -> Result<Ticket> {
        let mut tx = self.db.begin_write().await?;
        let current: Option<String> = sqlx::query_scalar("SELECT status FROM tickets WHERE id = $1")
            .bind(ticket.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        let current = current
            .ok_or_else(|| Error::not_found("ticket", ticket.as_str()))
            .and_then(|s| TicketStatus::parse(&s).map_err(|e| corrupt("ticket status", e)))?;
        if current != status {
            let changed = sqlx::query("UPDATE tickets SET status = $2, updated_at = $3 WHERE id = $1 AND status = $4")
                .bind(ticket.as_str())
                .bind(status.as_str())
                .bind(to_millis(now))
                .bind(current.as_str())
                .execute(&mut *tx)
                .await?;
            if changed.rows_affected() == 0 {
                return Err(Error::Conflict {
                    detail: format!("ticket '{ticket}' changed at the same time; read it again and retry"),
                });
            }
            let message = TicketMessage {
                id: MessageId::generate(),
                ticket_id: ticket.clone(),
                author: "system".to_owned(),
                body: status_change_message(author, current, status),
                created_at: now,
            };
            insert_message(&mut tx, &message).await?;
        }
        let updated = load_ticket(&mut tx, ticket).await?.ok_or_else(|| Error::not_found("ticket", ticket.as_str()))?;
        tx.commit().await?;
        Ok(updated)
    }

    /// Starts a write for loading demo data.
    pub(super) async fn begin_seed(&self) -> Result<Transaction<'static, Any>> {
        Ok(self.db.begin_write().await?)
    }
}

/// A query parameter of either type the queries here bind.
enum Param {
    Text(String),
    Int(i64),
}

/// Bumps the customer's version, which also locks the row until the transaction ends;
/// not found if there is no such customer.
async fn lock_customer(connection: &mut AnyConnection, id: &CustomerId) -> Result<()> {
    let locked = sqlx::query("UPDATE customers SET version = version + 1 WHERE id = $1")
        .bind(id.as_str())
        .execute(&mut *connection)
        .await?;
    if locked.rows_affected() == 0 {
        return Err(Error::not_found("customer", id.as_str()));
    }
    Ok(())
}

async fn ensure_customer(connection: &mut AnyConnection, id: &CustomerId) -> Result<()> {
    let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM customers WHERE id = $1")
        .bind(id.as_str())
        .fetch_optional(&mut *connection)
        .await?;
    found.map(drop).ok_or_else(|| Error::not_found("customer", id.as_str()))
}

/// Adds a customer in good standing; an email in use is a conflict.
pub(super) async fn insert_customer(
    connection: &mut AnyConnection,
    id: &CustomerId,
    new: &NewCustomer,
    created_at: OffsetDateTime,
) -> Result<()> {
    let search_text = format!("{} {}", new.name.to_lowercase(), new.email);
    sqlx::query(
        "INSERT INTO customers (id, email, name, phone, created_at, standing, search_text) \
         VALUES ($1, $2, $3, $4, $5, 'good', $6)",
    )
    .bind(id.as_str())
    .bind(new.email.as_str())
    .bind(&new.name)
    .bind(new.phone.as_deref())
    .bind(to_millis(created_at))
    .bind(search_text)
    .execute(&mut *connection)
    .await
    .map_err(|e| match e.as_database_error().map(|d| d.kind()) {
        Some(ErrorKind::UniqueViolation) => Error::Conflict {
            detail: format!("an account with the email '{}' exists already; sign in instead", new.email),
        },
        _ => Error::Database(e),
    })?;
    Ok(())
}

/// Sets a customer's standing and its reason.
pub(super) async fn update_standing(
    connection: &mut AnyConnection,
    id: &CustomerId,
    standing: Standing,
    reason: &str,
) -> Result<()> {
    sqlx::query("UPDATE customers SET standing = $2, standing_reason = $3 WHERE id = $1")
        .bind(id.as_str())
        .bind(standing.as_str())
        .bind(reason)
        .execute(&mut *connection)
        .await?;
    Ok(())
}

/// Adds an address, moving the defaults to it as asked (the first address takes both).
pub(super) async fn insert_address(
    connection: &mut AnyConnection,
    customer: &CustomerId,
    id: AddressId,
    new: &NewAddress,
    created_at: OffsetDateTime,
) -> Result<Address> {
    let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM addresses WHERE customer_id = $1")
        .bind(customer.as_str())
        .fetch_one(&mut *connection)
        .await?;
    let default_shipping = new.default_shipping || existing == 0;
    let default_billing = new.default_billing || existing == 0;
    for (wanted, column) in [(default_shipping, "default_shipping"), (default_billing, "default_billing")] {
        if wanted {
            let sql = format!("UPDATE addresses SET {column} = 0 WHERE customer_id = $1 AND {column} = 1");
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(customer.as_str()).execute(&mut *connection).await?;
        }
    }
    sqlx::query(
        "INSERT INTO addresses (id, customer_id, label, line1, line2, city, region, postal_code, country, \
         default_shipping, default_billing, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(id.as_str())
    .bind(customer.as_str())
    .bind(&new.label)
    .bind(&new.line1)
    .bind(new.line2.as_deref())
    .bind(&new.city)
    .bind(&new.region)
    .bind(&new.postal_code)
    .bind(new.country.as_str())
    .bind(i64::from(default_shipping))
    .bind(i64::from(default_billing))
    .bind(to_millis(created_at))
    .execute(&mut *connection)
    .await?;
    Ok(Address {
        id,
        label: new.label.clone(),
        line1: new.line1.clone(),
        line2: new.line2.clone(),
        city: new.city.clone(),
        region: new.region.clone(),
        postal_code: new.postal_code.clone(),
        country: new.country.clone(),
        default_shipping,
        default_billing,
    })
}

/// Adds a ledger entry as is.
pub(super) async fn insert_entry(
    connection: &mut AnyConnection,
    customer: &CustomerId,
    id: &EntryId,
    entry: &NewLoyaltyEntry,
    at: OffsetDateTime,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO loyalty_entries (id, customer_id, delta, reason, reference, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id.as_str())
    .bind(customer.as_str())
    .bind(entry.delta)
    .bind(&entry.reason)
    .bind(&entry.reference)
    .bind(to_millis(at))
    .execute(&mut *connection)
    .await?;
    Ok(())
}

/// Adds a note as is.
pub(super) async fn insert_note(connection: &mut AnyConnection, note: &Note) -> Result<()> {
    sqlx::query("INSERT INTO notes (id, customer_id, author, body, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(note.id.as_str())
        .bind(note.customer_id.as_str())
        .bind(&note.author)
        .bind(&note.body)
        .bind(to_millis(note.created_at))
        .execute(&mut *connection)
        .await?;
    Ok(())
}

/// Adds a ticket and its messages as they are.
pub(super) async fn insert_ticket(connection: &mut AnyConnection, ticket: &Ticket) -> Result<()> {
    sqlx::query(
        "INSERT INTO tickets (id, customer_id, subject, status, priority, channel, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(ticket.id.as_str())
    .bind(ticket.customer_id.as_str())
    .bind(&ticket.subject)
    .bind(ticket.status.as_str())
    .bind(ticket.priority.as_str())
    .bind(ticket.channel.as_str())
    .bind(to_millis(ticket.created_at))
    .bind(to_millis(ticket.updated_at))
    .execute(&mut *connection)
    .await?;
    for message in &ticket.messages {
        insert_message(connection, message).await?;
    }
    Ok(())
}

async fn insert_message(connection: &mut AnyConnection, message: &TicketMessage) -> Result<()> {
    sqlx::query("INSERT INTO ticket_messages (id, ticket_id, author, body, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(message.id.as_str())
        .bind(message.ticket_id.as_str())
        .bind(&message.author)
        .bind(&message.body)
        .bind(to_millis(message.created_at))
        .execute(&mut *connection)
        .await?;
    Ok(())
}

/// The columns of a customer row, with the ledger sums.
const SELECT_CUSTOMERS: &str = "SELECT c.id, c.email, c.name, c.phone, c.created_at, c.standing, c.standing_reason, \
     COALESCE((SELECT CAST(SUM(e.delta) AS BIGINT) FROM loyalty_entries e WHERE e.customer_id = c.id), 0) AS points, \
     COALESCE((SELECT CAST(SUM(e.delta) AS BIGINT) FROM loyalty_entries e \
               WHERE e.customer_id = c.id AND e.delta > 0), 0) AS lifetime_points \
     FROM customers c";

#[derive(FromRow)]
struct CustomerRow {
    id: String,
    email: String,
    name: String,
    phone: Option<String>,
    created_at: i64,
    standing: String,
    standing_reason: Option<String>,
    points: i64,
    lifetime_points: i64,
}

impl CustomerRow {
    fn into_customer(self, addresses: Vec<Address>) -> Result<Customer> {
        let standing = Standing::parse(&self.standing).map_err(|e| corrupt("standing", e))?;
        let loyalty = LoyaltyStatus::new(self.points, self.lifetime_points, standing);
        Ok(Customer {
            id: CustomerId::parse(&self.id).map_err(|e| corrupt("customer id", e))?,
            email: Email::parse(&self.email).map_err(|e| corrupt("email", e))?,
            name: self.name,
            phone: self.phone,
            created_at: from_millis(self.created_at),
            standing,
            standing_reason: self.standing_reason,
            tier: loyalty.tier,
            points: loyalty.points,
            lifetime_points: loyalty.lifetime_points,
            discount_bps: loyalty.discount_bps,
            addresses,
        })
    }
}

async fn fetch_customers(connection: &mut AnyConnection, sql: String, params: Vec<Param>) -> Result<Vec<Customer>> {
    let mut query = sqlx::query_as::<_, CustomerRow>(sqlx::AssertSqlSafe(sql));
    for param in params {
        query = match param {
            Param::Text(text) => query.bind(text),
            Param::Int(number) => query.bind(number),
        };
    }
    let rows = query.fetch_all(&mut *connection).await?;
    let ids: Vec<&str> = rows.iter().map(|row| row.id.as_str()).collect();
    let mut addresses = load_addresses(connection, &ids).await?;
    rows.into_iter()
        .map(|row| {
            let addresses = addresses.remove(&row.id).unwrap_or_default();
            row.into_customer(addresses)
        })
        .collect()
}

async fn load_customer(connection: &mut AnyConnection, id: &CustomerId) -> Result<Option<Customer>> {
    let sql = format!("{SELECT_CUSTOMERS} WHERE c.id = $1");
    let customers = fetch_customers(connection, sql, vec![Param::Text(id.as_str().to_owned())]).await?;
    Ok(customers.into_iter().next())
}

async fn load_loyalty(connection: &mut AnyConnection, id: &CustomerId) -> Result<Option<LoyaltyStatus>> {
    Ok(load_customer(connection, id).await?.map(|c| LoyaltyStatus::new(c.points, c.lifetime_points, c.standing)))
}

/// `$first, $first+1, …` for `count` parameters, for an `IN (…)` list.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ")
}

#[derive(FromRow)]
struct AddressRow {
    id: String,
    customer_id: String,
    label: String,
    line1: String,
    line2: Option<String>,
    city: String,
    region: String,
    postal_code: String,
    country: String,
    default_shipping: i64,
    default_billing: i64,
}

/// The addresses of `customers`, oldest first, by customer id.
async fn load_addresses(connection: &mut AnyConnection, customers: &[&str]) -> Result<HashMap<String, Vec<Address>>> {
    let mut by_customer: HashMap<String, Vec<Address>> = HashMap::new();
    if customers.is_empty() {
        return Ok(by_customer);
    }
    let sql = format!(
        "SELECT id, customer_id, label, line1, line2, city, region, postal_code, country, default_shipping, \
         default_billing FROM addresses WHERE customer_id IN ({}) ORDER BY created_at, id",
        placeholders(1, customers.len())
    );
    let mut query = sqlx::query_as::<_, AddressRow>(sqlx::AssertSqlSafe(sql));
    for id in customers {
        query = query.bind(id.to_string());
    }
    for row in query.fetch_all(&mut *connection).await? {
        let address = Address {
            id: AddressId::parse(&row.id).map_err(|e| corrupt("address id", e))?,
            label: row.label,
            line1: row.line1,
            line2: row.line2,
            city: row.city,
            region: row.region,
            postal_code: row.postal_code,
            country: CountryCode::parse(&row.country).map_err(|e| corrupt("country", e))?,
            default_shipping: row.default_shipping == 1,
            default_billing: row.default_billing == 1,
        };
        by_customer.entry(row.customer_id).or_default().push(address);
    }
    Ok(by_customer)
}

const SELECT_TICKETS: &str =
    "SELECT id, customer_id, subject, status, priority, channel, created_at, updated_at FROM tickets";

#[derive(FromRow)]
struct TicketRow {
    id: String,
    customer_id: String,
    subject: String,
    status: String,
    priority: String,
    channel: String,
    created_at: i64,
    updated_at: i64,
}

async fn fetch_tickets(connection: &mut AnyConnection, sql: String, params: Vec<Param>) -> Result<Vec<Ticket>> {
    let mut query = sqlx::query_as::<_, TicketRow>(sqlx::AssertSqlSafe(sql));
    for param in params {
        query = match param {
            Param::Text(text) => query.bind(text),
            Param::Int(number) => query.bind(number),
        };
    }
    let rows = query.fetch_all(&mut *connection).await?;
    let ids: Vec<&str> = rows.iter().map(|row| row.id.as_str()).collect();
    let mut messages = load_messages(connection, &ids).await?;
    rows.into_iter()
        .map(|row| {
            Ok(Ticket {
                messages: messages.remove(&row.id).unwrap_or_default(),
                id: TicketId::parse(&row.id).map_err(|e| corrupt("ticket id", e))?,
                customer_id: CustomerId::parse(&row.customer_id).map_err(|e| corrupt("customer id", e))?,
                subject: row.subject,
                status: TicketStatus::parse(&row.status).map_err(|e| corrupt("ticket status", e))?,
                priority: Priority::parse(&row.priority).map_err(|e| corrupt("ticket priority", e))?,
                channel: Channel::parse(&row.channel).map_err(|e| corrupt("ticket channel", e))?,
                created_at: from_millis(row.created_at),
                updated_at: from_millis(row.updated_at),
            })
        })
        .collect()
}

async fn load_ticket(connection: &mut AnyConnection, id: &TicketId) -> Result<Option<Ticket>> {
    let sql = format!("{SELECT_TICKETS} WHERE id = $1");
    let tickets = fetch_tickets(connection, sql, vec![Param::Text(id.as_str().to_owned())]).await?;
    Ok(tickets.into_iter().next())
}

/// The messages of `tickets`, oldest first, by ticket id.
async fn load_messages(
    connection: &mut AnyConnection,
    tickets: &[&str],
) -> Result<HashMap<String, Vec<TicketMessage>>> {
    let mut by_ticket: HashMap<String, Vec<TicketMessage>> = HashMap::new();
    if tickets.is_empty() {
        return Ok(by_ticket);
    }
    let sql = format!(
        "SELECT id, ticket_id, author, body, created_at FROM ticket_messages WHERE ticket_id IN ({}) \
         ORDER BY created_at, id",
        placeholders(1, tickets.len())
    );
    let mut query = sqlx::query_as::<_, (String, String, String, String, i64)>(sqlx::AssertSqlSafe(sql));
    for id in tickets {
        query = query.bind(id.to_string());
    }
    for (id, ticket_id, author, body, at) in query.fetch_all(&mut *connection).await? {
        let message = TicketMessage {
            id: MessageId::parse(&id).map_err(|e| corrupt("message id", e))?,
            ticket_id: TicketId::parse(&ticket_id).map_err(|e| corrupt("ticket id", e))?,
            author,
            body,
            created_at: from_millis(at),
        };
        by_ticket.entry(ticket_id).or_default().push(message);
    }
    Ok(by_ticket)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_carry_time_and_id() {
        let page = newest_first(vec![(5_i64, "b"), (5, "a"), (3, "c")], 2, |(at, id)| (from_millis(*at), id));
        let after = After::from_cursor(page.next_cursor.as_deref().unwrap()).unwrap();
        assert_eq!(after, After { at: 5, id: "a".to_owned() });
        assert!(After::from_cursor(&page::encode_cursor("no-slash")).is_err());
        assert!(After::from_cursor("%%").is_err());
        assert_eq!(placeholders(3, 2), "$3, $4");
    }
}
