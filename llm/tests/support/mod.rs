//! What the provider tests share: the request they send and retries fast enough for a test.

use std::time::Duration;

use llm::{ChatRequest, Message, RetryPolicy, ToolSpec};
use serde_json::json;

/// Three attempts, 10 ms apart and doubling.
pub fn fast_retries() -> RetryPolicy {
    RetryPolicy { attempts: 3, base_delay: Duration::from_millis(10) }
}

/// The Concierge's system prompt, `messages`, one `order_status` tool, 256 tokens to answer in.
pub fn request(messages: Vec<Message>) -> ChatRequest {
    ChatRequest {
        system: "You are the Concierge.".into(),
        messages,
        tools: vec![ToolSpec {
            name: "order_status".into(),
            description: "Where an order stands.".into(),
            parameters: json!({ "type": "object", "properties": { "order_id": { "type": "string" } } }),
        }],
        max_output_tokens: 256,
    }
}
