//! The tickets and ticket messages tables.

use std::collections::HashMap;

use sqlx::{AnyConnection, FromRow};
use time::OffsetDateTime;

use super::domain::{
    Channel, MessageId, NewTicket, Priority, Ticket, TicketId, TicketMessage, TicketStatus, status_change_message,
};
use crate::crm::domain::CustomerId;
use crate::crm::store::{
    After, Begun, CrmStore, IdempotencyKey, Outcome, Param, corrupt, ensure_customer, lock_customer, newest_first,
    placeholders, query_rows,
};
use crate::platform::clock::{from_millis, to_millis};
use crate::platform::page::Page;
use crate::platform::{Error, Result};

impl CrmStore {
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
}

/// Adds a ticket and its messages as they are.
pub(in crate::crm) async fn insert_ticket(connection: &mut AnyConnection, ticket: &Ticket) -> Result<()> {
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
    let rows = query_rows::<TicketRow>(sql, params).fetch_all(&mut *connection).await?;
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
