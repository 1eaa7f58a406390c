//! The demo customers: small, believable stories for agents to investigate, at fixed times
//! relative to the moment they are loaded. They are data, in `seed/crm/customers.json`; the
//! module docs of [`crate::crm`] list them.
//!
//! Two customers carry text that tries to instruct an AI agent (`cus-1008`'s ticket, `cus-1010`'s
//! note): test material for prompt-injection defences. It is data, and stays data.

use std::sync::LazyLock;

use serde::Deserialize;
use time::{Duration, OffsetDateTime};

use super::customers::domain::{AddressId, CountryCode, Email, NewAddress, NewCustomer, Note, NoteId};
use super::customers::store::{insert_address, insert_customer, insert_note, update_standing};
use super::domain::{CustomerId, Standing};
use super::loyalty::domain::{EntryId, NewLoyaltyEntry};
use super::loyalty::store::insert_entry;
use super::store::CrmStore;
use super::tickets::domain::{Channel, MessageId, Priority, Ticket, TicketId, TicketMessage, TicketStatus};
use super::tickets::store::insert_ticket;
use crate::platform::{Error, Result};

static CUSTOMERS_JSON: &str = include_str!("../../seed/crm/customers.json");

/// The demo customers, read once from the data file.
static CUSTOMERS: LazyLock<Result<Vec<DemoCustomer>, String>> =
    LazyLock::new(|| serde_json::from_str(CUSTOMERS_JSON).map_err(|error| format!("seed/crm/customers.json: {error}")));

/// A time before the moment the data is loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(deny_unknown_fields)]
struct Ago {
    days_ago: i64,
    #[serde(default)]
    hours_ago: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoCustomer {
    number: u16,
    name: String,
    email: String,
    phone: Option<String>,
    joined: Ago,
    standing: Option<DemoStanding>,
    addresses: Vec<DemoAddress>,
    points: Vec<DemoPoints>,
    notes: Vec<DemoNote>,
    tickets: Vec<DemoTicket>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoStanding {
    standing: Standing,
    reason: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoAddress {
    added: Ago,
    label: String,
    line1: String,
    line2: Option<String>,
    city: String,
    region: String,
    postal_code: String,
    country: String,
    #[serde(default)]
    default_shipping: bool,
    #[serde(default)]
    default_billing: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoPoints {
    at: Ago,
    delta: i64,
    reason: String,
    reference: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoNote {
    at: Ago,
    author: String,
    body: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoTicket {
    subject: String,
    status: TicketStatus,
    priority: Priority,
    channel: Channel,
    /// The conversation, oldest first; the first message opens the ticket.
    messages: Vec<DemoMessage>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoMessage {
    at: Ago,
    author: String,
    body: String,
}

fn demo_customers() -> Result<&'static [DemoCustomer]> {
    CUSTOMERS.as_deref().map_err(|detail| Error::Internal { detail: detail.clone() })
}

/// Each demo customer's id, name and email: the storefront seeds their sign-in accounts. None
/// if the data file does not parse (loading the CRM's demo data reports that error).
pub fn demo_logins() -> impl Iterator<Item = (String, &'static str, &'static str)> {
    demo_customers()
        .unwrap_or_default()
        .iter()
        .map(|demo| (format!("cus-{}", demo.number), demo.name.as_str(), demo.email.as_str()))
}

/// The id of the `index`th item of a kind, e.g. `note-1002b`: stable across loads.
fn suffix(number: u16, index: usize) -> String {
    let letter = char::from(b'a' + u8::try_from(index % 26).unwrap_or_default());
    format!("{number}{letter}")
}

fn invalid_seed(what: &str) -> impl FnOnce(String) -> Error + '_ {
    move |why| Error::Internal { detail: format!("demo {what} is invalid: {why}") }
}

/// Loads the demo customers in one transaction, at times relative to `now`; returns how many.
pub(super) async fn load(store: &CrmStore, now: OffsetDateTime) -> Result<usize> {
    let at = |ago: Ago| now - Duration::days(ago.days_ago) - Duration::hours(ago.hours_ago);
    let customers = demo_customers()?;
    let mut tx = store.begin_seed().await?;
    for demo in customers {
        let id = CustomerId::parse(&format!("cus-{}", demo.number)).map_err(invalid_seed("customer id"))?;
        let new = NewCustomer {
            email: Email::parse(&demo.email).map_err(invalid_seed("email"))?,
            name: demo.name.clone(),
            phone: demo.phone.clone(),
        };
        insert_customer(&mut tx, &id, &new, at(demo.joined)).await?;
        if let Some(standing) = &demo.standing {
            update_standing(&mut tx, &id, standing.standing, &standing.reason).await?;
        }
        for (index, demo_address) in demo.addresses.iter().enumerate() {
            let address = NewAddress {
                label: demo_address.label.clone(),
                line1: demo_address.line1.clone(),
                line2: demo_address.line2.clone(),
                city: demo_address.city.clone(),
                region: demo_address.region.clone(),
                postal_code: demo_address.postal_code.clone(),
                country: CountryCode::parse(&demo_address.country).map_err(invalid_seed("country"))?,
                default_shipping: demo_address.default_shipping,
                default_billing: demo_address.default_billing,
            };
            let address_id =
                AddressId::parse(&format!("adr-{}", suffix(demo.number, index))).map_err(invalid_seed("address id"))?;
            insert_address(&mut tx, &id, address_id, &address, at(demo_address.added)).await?;
        }
        for (index, entry) in demo.points.iter().enumerate() {
            let entry_id =
                EntryId::parse(&format!("pts-{}", suffix(demo.number, index))).map_err(invalid_seed("entry id"))?;
            let new_entry = NewLoyaltyEntry {
                delta: entry.delta,
                reason: entry.reason.clone(),
                reference: entry.reference.clone(),
            };
            insert_entry(&mut tx, &id, &entry_id, &new_entry, at(entry.at)).await?;
        }
        for (index, demo_note) in demo.notes.iter().enumerate() {
            let note = Note {
                id: NoteId::parse(&format!("note-{}", suffix(demo.number, index))).map_err(invalid_seed("note id"))?,
                customer_id: id.clone(),
                author: demo_note.author.clone(),
                body: demo_note.body.clone(),
                created_at: at(demo_note.at),
            };
            insert_note(&mut tx, &note).await?;
        }
        for (index, demo_ticket) in demo.tickets.iter().enumerate() {
            let ticket_suffix = suffix(demo.number, index);
            let ticket_id = TicketId::parse(&format!("tkt-{ticket_suffix}")).map_err(invalid_seed("ticket id"))?;
            let messages = demo_ticket
                .messages
                .iter()
                .enumerate()
                .map(|(position, message)| {
                    Ok(TicketMessage {
                        id: MessageId::parse(&format!("msg-{ticket_suffix}{}", position + 1))
                            .map_err(invalid_seed("message id"))?,
                        ticket_id: ticket_id.clone(),
                        author: message.author.clone(),
                        body: message.body.clone(),
                        created_at: at(message.at),
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let (Some(first), Some(last)) = (messages.first(), messages.last()) else {
                return Err(Error::Internal { detail: format!("demo ticket {ticket_id} has no messages") });
            };
            let ticket = Ticket {
                id: ticket_id.clone(),
                customer_id: id.clone(),
                subject: demo_ticket.subject.clone(),
                status: demo_ticket.status,
                priority: demo_ticket.priority,
                channel: demo_ticket.channel,
                created_at: first.created_at,
                updated_at: last.created_at,
                messages: messages.clone(),
            };
            insert_ticket(&mut tx, &ticket).await?;
        }
    }
    tx.commit().await?;
    Ok(customers.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crm::domain::{MAX_BODY, free_text, single_line};
    use crate::crm::tickets::domain::MAX_SUBJECT;

    #[test]
    fn demo_stories_are_well_formed() {
        let customers = demo_customers().unwrap();
        assert_eq!(customers.len(), 12);
        for demo in customers {
            assert!(demo.points.windows(2).all(|w| w[0].at >= w[1].at), "cus-{}: points in order", demo.number);
            let balances: Vec<i64> = demo
                .points
                .iter()
                .scan(0, |balance, entry| {
                    *balance += entry.delta;
                    Some(*balance)
                })
                .collect();
            assert!(balances.iter().all(|b| *b >= 0), "cus-{}: the balance never goes negative", demo.number);
            assert!((2..=6).contains(&demo.notes.len()), "cus-{} notes", demo.number);
            assert!((1..=3).contains(&demo.tickets.len()), "cus-{} tickets", demo.number);
            assert!(!demo.addresses.is_empty(), "cus-{} addresses", demo.number);
            for note in &demo.notes {
                assert!(free_text(&note.body, MAX_BODY).is_ok(), "{}", note.body);
                assert!(note.at <= demo.joined, "cus-{}: a note before the account existed", demo.number);
            }
            for ticket in &demo.tickets {
                assert!(single_line(&ticket.subject, MAX_SUBJECT).is_ok(), "{}", ticket.subject);
                assert!(
                    ticket.messages.windows(2).all(|w| w[0].at >= w[1].at),
                    "{}: messages in order",
                    ticket.subject
                );
                assert!(ticket.messages.iter().all(|message| message.at <= demo.joined));
            }
            for entry in &demo.points {
                assert!(entry.at <= demo.joined, "cus-{}: points before the account existed", demo.number);
            }
        }
        assert_eq!(demo_logins().count(), 12);
    }
}
