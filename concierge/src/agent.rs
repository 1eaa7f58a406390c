//! One turn of the Concierge: the model answers, calls tools, reads their results, answers
//! again, within the turn's budgets; every event streams to the caller as it happens.

use std::sync::Arc;
use std::time::{Duration, Instant};

use business_services::crm::client::CrmClient;
use business_services::crm::client::{Channel, CustomerId, NewTicket, Priority};
use business_services::platform::rate_limit::RateLimiter;
use futures_util::StreamExt;
use futures_util::stream::{self, BoxStream};
use llm::{ChatModel, ChatRequest, Chunk, Message, Reply, Usage};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::prompts::Prompts;
use crate::session::Scope;
use crate::store::{Conversation, ConversationStore};
use crate::tools::{self, Toolbox};

/// The budgets of conversations and turns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Model calls per user message.
    pub model_calls_per_turn: u32,
    /// Tool calls per user message.
    pub tool_calls_per_turn: u32,
    /// Tokens (in and out, as the provider counts them) per conversation.
    pub tokens_per_conversation: u32,
    /// Seconds a turn may take.
    pub turn_deadline_secs: u64,
    /// Messages a session may send per minute.
    pub messages_per_minute: u32,
    /// Messages a session may send at once before the per-minute rate applies.
    pub burst: u32,
    /// The longest message accepted, in characters.
    pub max_message_chars: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            model_calls_per_turn: 5,
            tool_calls_per_turn: 4,
            tokens_per_conversation: 60_000,
            turn_deadline_secs: 60,
            messages_per_minute: 12,
            burst: 6,
            max_message_chars: 2_000,
        }
    }
}

/// Something a turn did, as the widget shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// More of the answer.
    Text {
        /// The new text.
        text: String,
    },
    /// A tool ran.
    Tool {
        /// Which.
        name: String,
        /// With what, as the model asked (ids and topics; never a token).
        arguments: serde_json::Value,
    },
    /// A hand-over to a person is proposed: the user may confirm it.
    Handover {
        /// Why.
        reason: String,
    },
    /// The turn is over.
    Done {
        /// The whole answer.
        reply: String,
        /// Tokens this turn used.
        usage: Usage,
    },
    /// The turn failed; what was said so far stands.
    Error {
        /// What went wrong, for the user.
        message: String,
    },
}

/// Why the Concierge refused a request.
#[derive(Debug, thiserror::Error)]
pub enum ConciergeError {
    /// No such conversation, or not this session's.
    #[error("no such conversation")]
    NotFound,
    /// Too many messages.
    #[error("too many messages: wait {0} s")]
    RateLimited(u64),
    /// The input is not acceptable.
    #[error("{0}")]
    BadInput(String),
    /// The conversation's token budget is spent.
    #[error("this conversation has used its budget; please start a new one")]
    Budget,
    /// Nothing awaits confirmation.
    #[error("no hand-over is awaiting confirmation")]
    NothingToConfirm,
    /// A store or peer failed.
    #[error("{0}")]
    Unavailable(String),
}

impl From<sqlx::Error> for ConciergeError {
    fn from(error: sqlx::Error) -> Self {
        ConciergeError::Unavailable(format!("the conversation store failed: {error}"))
    }
}

/// The Concierge runtime.
#[derive(Clone)]
pub struct Concierge {
    inner: Arc<Inner>,
}

struct Inner {
    model: Arc<dyn ChatModel>,
    toolbox: Toolbox,
    store: ConversationStore,
    prompts: Prompts,
    limits: Limits,
    rate: RateLimiter,
    crm: CrmClient,
}

impl Concierge {
    /// A Concierge answering with `model`, under `prompts` and `limits`.
    pub fn new(
        model: Arc<dyn ChatModel>,
        toolbox: Toolbox,
        store: ConversationStore,
        prompts: Prompts,
        limits: Limits,
        crm: CrmClient,
    ) -> Concierge {
        let rate = RateLimiter::new(limits.messages_per_minute, limits.burst);
        Concierge { inner: Arc::new(Inner { model, toolbox, store, prompts, limits, rate, crm }) }
    }

    /// The model answering.
    pub fn provider(&self) -> String {
        self.inner.model.name()
    }

    /// Opens a conversation for `scope`.
    pub async fn open(&self, scope: Scope) -> Result<Conversation, ConciergeError> {
        let conversation = Conversation {
            id: format!("cnv_{}", uuid::Uuid::new_v4().simple()),
            scope,
            provider: self.inner.model.name(),
            prompts_hash: self.inner.prompts.hash.clone(),
            tokens_used: 0,
            escalation: None,
            ticket_id: None,
        };
        self.inner.store.create(&conversation).await?;
        Ok(conversation)
    }

    /// The conversation `id`, if `subject` holds it.
    pub async fn conversation(&self, subject: &str, id: &str) -> Result<Conversation, ConciergeError> {
        match self.inner.store.get(id).await? {
            Some(conversation) if conversation.scope.subject == subject => Ok(conversation),
            _ => Err(ConciergeError::NotFound),
        }
    }

    /// The conversation's messages as the user saw them: their words and the answers.
    pub async fn transcript(&self, conversation: &Conversation) -> Result<Vec<Message>, ConciergeError> {
        let messages = self.inner.store.messages(&conversation.id).await?;
        Ok(messages
            .into_iter()
            .filter_map(|message| match message {
                Message::User { .. } => Some(message),
                Message::Assistant { text, .. } if !text.is_empty() => Some(Message::assistant(text)),
                _ => None,
            })
            .collect())
    }

    /// Answers `text` in `conversation`, streaming what happens. Limits are checked first; a
    /// refused turn is an error, not a stream.
    pub fn turn(&self, conversation: Conversation, text: String) -> Result<BoxStream<'static, Event>, ConciergeError> {
        let limits = self.inner.limits;
        let text = text.trim().to_owned();
        if text.is_empty() || text.chars().count() > limits.max_message_chars {
            return Err(ConciergeError::BadInput(format!(
                "a message must have 1 to {} characters",
                limits.max_message_chars
            )));
        }
        if conversation.tokens_used >= i64::from(limits.tokens_per_conversation) {
            return Err(ConciergeError::Budget);
        }
        self.inner
            .rate
            .take(&conversation.scope.subject, Instant::now())
            .map_err(|wait| ConciergeError::RateLimited(wait.as_secs().max(1)))?;
        let (sender, receiver) = mpsc::channel(64);
        let inner = self.inner.clone();
        tokio::spawn(async move {
            let deadline = Duration::from_secs(limits.turn_deadline_secs);
            let events = sender.clone();
            if tokio::time::timeout(deadline, inner.run_turn(&conversation, text, &events)).await.is_err() {
                let message = "Sorry, that took too long. Please try again.".to_owned();
                let _ = sender.send(Event::Error { message }).await;
            }
        });
        Ok(Box::pin(stream::unfold(receiver, |mut receiver| async move {
            receiver.recv().await.map(|event| (event, receiver))
        })))
    }

    /// Opens the support ticket of the hand-over awaiting confirmation; the user's explicit
    /// confirmation is this call. Opened once, however often it is confirmed.
    pub async fn confirm_handover(&self, conversation: &Conversation) -> Result<String, ConciergeError> {
        if let Some(ticket_id) = &conversation.ticket_id {
            return Ok(ticket_id.clone());
        }
        let reason = conversation.escalation.clone().ok_or(ConciergeError::NothingToConfirm)?;
        let customer = conversation
            .scope
            .customer
            .as_deref()
            .and_then(|id| CustomerId::parse(id).ok())
            .ok_or_else(|| ConciergeError::BadInput("this conversation serves no customer".into()))?;
        let transcript: Vec<String> = self
            .transcript(conversation)
            .await?
            .iter()
            .map(|message| match message {
                Message::User { text } => format!("Customer: {text}"),
                Message::Assistant { text, .. } => format!("Concierge: {text}"),
                Message::Tool { .. } => String::new(),
            })
            .collect();
        let ticket = NewTicket {
            subject: "Hand-over from the Concierge".to_owned(),
            body: format!("Reason: {reason}\nConversation {}:\n{}", conversation.id, transcript.join("\n")),
            priority: Priority::Normal,
            channel: Channel::Chat,
        };
        let ticket = self
            .inner
            .crm
            .open_ticket(&customer, &ticket, &format!("handover-{}", conversation.id))
            .await
            .map_err(|error| ConciergeError::Unavailable(format!("the CRM could not open the ticket: {error}")))?;
        let ticket_id = ticket.id.to_string();
        self.inner.store.record_ticket(&conversation.id, &ticket_id).await?;
        tracing::info!(conversation = %conversation.id, ticket = %ticket_id, "Handed over to a person.");
        Ok(ticket_id)
    }
}

impl Inner {
    async fn run_turn(&self, conversation: &Conversation, text: String, events: &mpsc::Sender<Event>) {
        let history = match self.store.messages(&conversation.id).await {
            Ok(history) => history,
            Err(error) => {
                tracing::error!(%error, conversation = %conversation.id, "Could not read the conversation.");
                let message = "Sorry, I lost track of our conversation.".to_owned();
                let _ = events.send(Event::Error { message }).await;
                return;
            }
        };
        let from = history.len();
        let outcome = self.answer(conversation, history, text.clone(), events).await;
        let (messages, usage, escalation, reply) = match outcome {
            Ok(answered) => answered,
            Err(message) => {
                let _ = events.send(Event::Error { message: message.clone() }).await;
                (vec![Message::user(text), Message::assistant(message.clone())], Usage::default(), None, message)
            }
        };
        let escalation = escalation.or_else(|| conversation.escalation.clone());
        if let Err(error) =
            self.store.record_turn(&conversation.id, from, &messages, usage.total(), escalation.as_deref()).await
        {
            tracing::error!(%error, conversation = %conversation.id, "Could not record a turn.");
        }
        let _ = events.send(Event::Done { reply, usage }).await;
    }

    /// The turn's new messages (after `history`), usage, proposed hand-over and answer; or what
    /// to tell the user.
    async fn answer(
        &self,
        conversation: &Conversation,
        mut messages: Vec<Message>,
        text: String,
        events: &mpsc::Sender<Event>,
    ) -> Result<(Vec<Message>, Usage, Option<String>, String), String> {
        let start = messages.len();
        messages.push(Message::user(text));
        let mut usage = Usage::default();
        let mut escalation = None;
        let mut tool_calls = 0;
        let budget =
            u32::try_from(i64::from(self.limits.tokens_per_conversation) - conversation.tokens_used).unwrap_or(0);
        for _ in 0..self.limits.model_calls_per_turn {
            let request = ChatRequest {
                system: self.prompts.concierge_system(),
                messages: messages.clone(),
                tools: tools::specs(),
                max_output_tokens: 512,
            };
            let mut stream = self.model.stream(request);
            let mut reply = Reply::default();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|error| {
                    tracing::warn!(%error, "The model failed.");
                    "Sorry, I can't answer right now. Please try again in a moment.".to_owned()
                })?;
                if let Chunk::Text(text) = &chunk {
                    let _ = events.send(Event::Text { text: text.clone() }).await;
                }
                reply.absorb(chunk);
            }
            usage.input_tokens += reply.usage.input_tokens;
            usage.output_tokens += reply.usage.output_tokens;
            let calls = reply.tool_calls.clone();
            let answer = reply.text.clone();
            messages.push(reply.into_message());
            if calls.is_empty() {
                return Ok((messages.split_off(start), usage, escalation, answer));
            }
            if usage.total() > budget {
                return Err("Sorry, this conversation has grown too long. Please start a new one.".to_owned());
            }
            for call in calls {
                tool_calls += 1;
                let result = if tool_calls > self.limits.tool_calls_per_turn {
                    serde_json::json!({ "error": "tool-call budget of this turn reached: answer with what you have" })
                } else {
                    let _ =
                        events.send(Event::Tool { name: call.name.clone(), arguments: call.arguments.clone() }).await;
                    let outcome = self.toolbox.run(&conversation.scope, &call).await;
                    if let Some(reason) = outcome.handover {
                        let _ = events.send(Event::Handover { reason: reason.clone() }).await;
                        escalation = Some(reason);
                    }
                    outcome.result
                };
                messages.push(Message::Tool { call_id: call.id, name: call.name, result });
            }
        }
        Err("Sorry, I couldn't finish that answer. Would you like me to hand you over to a person?".to_owned())
    }
}
