//! Support tickets: a customer's conversations with the store, and where each stands.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::crm::domain::CustomerId;
use crate::crm::domain::{named_enum, prefixed_id};

prefixed_id!(
    /// A support ticket id such as `tkt-1001a`.
    TicketId, "tkt", "tkt-1001a"
);
prefixed_id!(
    /// A ticket message id such as `msg-1001a1`.
    MessageId, "msg", "msg-1001a1"
);

named_enum!(
    /// Where a support ticket stands.
    TicketStatus {
        /// Waiting for the store.
        Open = "open",
        /// Waiting for the customer or a third party.
        Pending = "pending",
        /// Resolved.
        Closed = "closed",
    }
);

named_enum!(
    /// How urgent a ticket is.
    Priority {
        /// Whenever there is time.
        Low = "low",
        /// The usual.
        Normal = "normal",
        /// Before normal tickets.
        High = "high",
        /// Now.
        Urgent = "urgent",
    }
);

named_enum!(
    /// How a ticket reached the store.
    Channel {
        /// By email.
        Email = "email",
        /// By the chat widget.
        Chat = "chat",
        /// By phone.
        Phone = "phone",
    }
);

/// The longest ticket subject.
pub const MAX_SUBJECT: usize = 200;

/// A new support ticket: the subject and the first message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NewTicket {
    /// What it is about, one line.
    pub subject: String,
    /// The first message.
    pub body: String,
    /// How urgent.
    pub priority: Priority,
    /// How it reached the store.
    pub channel: Channel,
}

/// A support ticket with its messages, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Ticket {
    /// The ticket.
    pub id: TicketId,
    /// Whose ticket.
    pub customer_id: CustomerId,
    /// What it is about.
    pub subject: String,
    /// Where it stands.
    pub status: TicketStatus,
    /// How urgent.
    pub priority: Priority,
    /// How it reached the store.
    pub channel: Channel,
    /// When it was opened.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// Its last message or status change.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
    /// The conversation, oldest first.
    pub messages: Vec<TicketMessage>,
}

/// One message of a ticket's conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TicketMessage {
    /// The message.
    pub id: MessageId,
    /// Its ticket.
    pub ticket_id: TicketId,
    /// An agent's name, `system` or `customer`.
    pub author: String,
    /// The text: untrusted, may quote the customer.
    pub body: String,
    /// When it was written.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

/// The message recorded when `author` moves a ticket from `from` to `to`.
pub fn status_change_message(author: &str, from: TicketStatus, to: TicketStatus) -> String {
    format!("{author} changed the status from {from} to {to}.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_round_trip_through_their_names() {
        for status in TicketStatus::ALL {
            assert_eq!(TicketStatus::parse(status.as_str()), Ok(*status));
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        }
        assert!(Priority::parse("asap").unwrap_err().contains("low, normal, high, urgent"));
    }
}
