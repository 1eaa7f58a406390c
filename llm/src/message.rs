//! What agents and models exchange: messages, tool declarations and calls, answers, usage.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A tool a model may call: its name, what it does, and a JSON Schema of its arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    /// The name the model calls it by.
    pub name: String,
    /// What it does, for the model.
    pub description: String,
    /// A JSON Schema (an object) of its arguments.
    pub parameters: Value,
}

/// A model's call of a tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The call's id, echoed with its result (providers without ids get a generated one).
    pub id: String,
    /// The tool called.
    pub name: String,
    /// Its arguments, an object.
    pub arguments: Value,
    /// An opaque token the provider wants back with the call (Gemini's thought signature).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

impl ToolCall {
    /// A call of `name` with `arguments`.
    pub fn new(id: impl Into<String>, name: impl Into<String>, arguments: Value) -> ToolCall {
        ToolCall { id: id.into(), name: name.into(), arguments, signature: None }
    }
}

/// One message of a conversation, as a model sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Message {
    /// The user's words.
    User {
        /// What they wrote.
        text: String,
    },
    /// The model's answer: text, tool calls, or both.
    Assistant {
        /// What it wrote (may be empty when it only called tools).
        text: String,
        /// The tools it called.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<ToolCall>,
    },
    /// A tool's result, answering the call with `call_id`.
    Tool {
        /// The call answered.
        call_id: String,
        /// The tool that ran.
        name: String,
        /// What it returned, an object (errors are `{"error": "..."}`).
        result: Value,
    },
}

impl Message {
    /// A user message.
    pub fn user(text: impl Into<String>) -> Message {
        Message::User { text: text.into() }
    }

    /// An assistant message with only text.
    pub fn assistant(text: impl Into<String>) -> Message {
        Message::Assistant { text: text.into(), tool_calls: Vec::new() }
    }
}

/// One request to a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    /// The system prompt.
    pub system: String,
    /// The conversation so far, oldest first.
    pub messages: Vec<Message>,
    /// The tools it may call.
    pub tools: Vec<ToolSpec>,
    /// The most tokens it may write in this answer.
    pub max_output_tokens: u32,
}

/// Tokens a request used, as the provider counted them (or estimated, for local models).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Tokens read: the prompt, the history, the tool results.
    pub input_tokens: u32,
    /// Tokens written.
    pub output_tokens: u32,
}

impl Usage {
    /// Both counts added.
    pub fn total(self) -> u32 {
        self.input_tokens.saturating_add(self.output_tokens)
    }
}

/// A piece of a streamed answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Chunk {
    /// More of the answer's text.
    Text(String),
    /// A whole tool call.
    ToolCall(ToolCall),
    /// The answer is complete.
    Done(Usage),
}

/// A whole answer, gathered from its chunks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reply {
    /// Its text.
    pub text: String,
    /// Its tool calls, in order.
    pub tool_calls: Vec<ToolCall>,
    /// What it cost.
    pub usage: Usage,
}

impl Reply {
    /// Adds `chunk` to the answer.
    pub fn absorb(&mut self, chunk: Chunk) {
        match chunk {
            Chunk::Text(text) => self.text.push_str(&text),
            Chunk::ToolCall(call) => self.tool_calls.push(call),
            Chunk::Done(usage) => self.usage = usage,
        }
    }

    /// The answer as a message of the conversation.
    pub fn into_message(self) -> Message {
        Message::Assistant { text: self.text, tool_calls: self.tool_calls }
    }
}

/// A rough token count (4 characters a token) for models that report none.
pub fn estimate_tokens(text: &str) -> u32 {
    u32::try_from(text.chars().count().div_ceil(4)).unwrap_or(u32::MAX)
}
