//! Conversations and their messages, in the Concierge's SQL store.

use business_services::platform::db::Db;
use llm::Message;
use sqlx::Row;

use crate::session::Scope;

/// The Concierge's migrations.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A stored conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    /// Its id.
    pub id: String,
    /// Who it is with, and whose data it may read.
    pub scope: Scope,
    /// The model that answers, e.g. `offline:rules-1`.
    pub provider: String,
    /// The hash of the prompts it runs under.
    pub prompts_hash: String,
    /// Tokens used so far.
    pub tokens_used: i64,
    /// A hand-over proposed and awaiting the user's confirmation.
    pub escalation: Option<String>,
    /// The support ticket opened for it.
    pub ticket_id: Option<String>,
}

/// Reads and writes conversations.
#[derive(Debug, Clone)]
pub struct ConversationStore {
    db: Db,
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl ConversationStore {
    /// A store over `db`, migrated with [`MIGRATOR`].
    pub fn new(db: Db) -> ConversationStore {
        ConversationStore { db }
    }

    /// Stores a new conversation.
    pub async fn create(&self, conversation: &Conversation) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO conversations \
             (id, subject, role, customer_id, cart_id, provider, prompts_hash, tokens_used, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8)",
        )
        .bind(&conversation.id)
        .bind(&conversation.scope.subject)
        .bind(conversation.scope.role.name())
        .bind(&conversation.scope.customer)
        .bind(&conversation.scope.cart)
        .bind(&conversation.provider)
        .bind(&conversation.prompts_hash)
        .bind(now())
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// The conversation `id`.
    pub async fn get(&self, id: &str) -> Result<Option<Conversation>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT id, subject, role, customer_id, cart_id, provider, prompts_hash, tokens_used, escalation, ticket_id \
             FROM conversations WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.db.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let role: String = row.try_get("role")?;
        let role = mcp_contract::token::Role::parse(&role).map_err(|why| sqlx::Error::Decode(why.into()))?;
        Ok(Some(Conversation {
            id: row.try_get("id")?,
            scope: Scope {
                subject: row.try_get("subject")?,
                role,
                customer: row.try_get("customer_id")?,
                cart: row.try_get("cart_id")?,
            },
            provider: row.try_get("provider")?,
            prompts_hash: row.try_get("prompts_hash")?,
            tokens_used: row.try_get("tokens_used")?,
            escalation: row.try_get("escalation")?,
            ticket_id: row.try_get("ticket_id")?,
        }))
    }

    /// The conversation's messages, oldest first.
    pub async fn messages(&self, id: &str) -> Result<Vec<Message>, sqlx::Error> {
        let rows: Vec<String> =
            sqlx::query_scalar("SELECT message FROM conversation_messages WHERE conversation_id = $1 ORDER BY seq")
                .bind(id)
                .fetch_all(self.db.pool())
                .await?;
        rows.iter()
            .map(|text| serde_json::from_str(text).map_err(|error| sqlx::Error::Decode(Box::new(error))))
            .collect()
    }

    /// Appends `messages` after the first `from` and adds `tokens` to the count, in one
    /// transaction; the escalation is set as given.
    pub async fn record_turn(
        &self,
        id: &str,
        from: usize,
        messages: &[Message],
        tokens: u32,
        escalation: Option<&str>,
    ) -> Result<(), sqlx::Error> {
        let mut transaction = self.db.begin_write().await?;
        for (offset, message) in messages.iter().enumerate() {
            let text = serde_json::to_string(message).map_err(|error| sqlx::Error::Encode(Box::new(error)))?;
            sqlx::query(
                "INSERT INTO conversation_messages (conversation_id, seq, message, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(id)
            .bind(i64::try_from(from + offset).unwrap_or(i64::MAX))
            .bind(text)
            .bind(now())
            .execute(&mut *transaction)
            .await?;
        }
        sqlx::query("UPDATE conversations SET tokens_used = tokens_used + $1, escalation = $2 WHERE id = $3")
            .bind(i64::from(tokens))
            .bind(escalation)
            .bind(id)
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await
    }

    /// Records the ticket opened for a confirmed hand-over.
    pub async fn record_ticket(&self, id: &str, ticket_id: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE conversations SET ticket_id = $1, escalation = NULL WHERE id = $2")
            .bind(ticket_id)
            .bind(id)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }
}
