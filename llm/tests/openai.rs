//! The OpenAI-compatible provider against a local fake of `/v1/chat/completions` that streams as
//! Ollama, vLLM and llama.cpp's server do: text deltas, tool calls in slices keyed by index, a
//! usage chunk, `[DONE]`.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use futures_util::StreamExt;
use llm::openai::{OpenAiCompatible, OpenAiSettings};
use llm::{ChatModel, Chunk, Message, ModelError, ToolCall};
use serde_json::{Value, json};
use support::{fast_retries, request};

/// What the fake saw, and what it will answer.
#[derive(Default)]
struct Fake {
    /// Statuses to answer with before answering properly.
    failures: VecDeque<StatusCode>,
    /// (bearer token, body) of every call.
    calls: Vec<(Option<String>, Value)>,
}

type Shared = Arc<Mutex<Fake>>;

/// Server-sent events of `chunks`, then `[DONE]`.
fn events(chunks: &[Value]) -> String {
    chunks.iter().map(|chunk| format!("data: {chunk}\n\n")).chain(["data: [DONE]\n\n".to_owned()]).collect()
}

async fn completions(State(fake): State<Shared>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let bearer = headers.get("authorization").map(|value| value.to_str().unwrap().to_owned());
    let mut fake = fake.lock().unwrap();
    fake.calls.push((bearer, body.clone()));
    if let Some(status) = fake.failures.pop_front() {
        return (status, Json(json!({ "error": { "message": "busy" } }))).into_response();
    }
    let answered_tool = body["messages"].as_array().unwrap().iter().any(|message| message["role"] == "tool");
    let chunks = if answered_tool {
        vec![
            json!({ "choices": [{ "delta": { "role": "assistant", "content": "Your order " } }] }),
            json!({ "choices": [{ "delta": { "content": "has shipped." } }] }),
            json!({ "choices": [], "usage": { "prompt_tokens": 40, "completion_tokens": 6 } }),
        ]
    } else {
        vec![
            json!({ "choices": [{ "delta": { "tool_calls": [{ "index": 0, "id": "call_7", "type": "function",
                "function": { "name": "order_status", "arguments": "" } }] } }] }),
            json!({ "choices": [{ "delta": { "tool_calls": [{ "index": 0, "function": { "arguments": "{\"order_" } }] } }] }),
            json!({ "choices": [{ "delta": { "tool_calls": [{ "index": 0, "function": { "arguments": "id\": \"ord_1\"}" } }] } }] }),
            json!({ "choices": [], "usage": { "prompt_tokens": 30, "completion_tokens": 9 } }),
        ]
    };
    ([("content-type", "text/event-stream")], events(&chunks)).into_response()
}

async fn start(fake: Fake) -> (Shared, OpenAiCompatible) {
    let shared = Arc::new(Mutex::new(fake));
    let app = Router::new().route("/v1/chat/completions", post(completions)).with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(axum::serve(listener, app).into_future());
    let settings = OpenAiSettings {
        base_url: format!("http://{address}/v1"),
        model: "qwen2.5:7b-instruct".into(),
        api_key: Some("sk-test".into()),
        timeout_secs: 5,
    };
    (shared, OpenAiCompatible::new(settings, fast_retries()))
}

#[tokio::test]
async fn a_tool_call_streamed_in_slices_round_trips_then_text_streams() {
    let (fake, model) = start(Fake::default()).await;
    assert_eq!(model.name(), "openai:qwen2.5:7b-instruct");

    let first = model.complete(request(vec![Message::user("Where is ord_1?")])).await.unwrap();
    assert_eq!(first.tool_calls, [ToolCall::new("call_7", "order_status", json!({ "order_id": "ord_1" }))]);
    assert_eq!((first.usage.input_tokens, first.usage.output_tokens), (30, 9));

    let conversation = vec![
        Message::user("Where is ord_1?"),
        first.into_message(),
        Message::Tool { call_id: "call_7".into(), name: "order_status".into(), result: json!({ "status": "shipped" }) },
    ];
    let chunks: Vec<Chunk> = model.stream(request(conversation)).map(Result::unwrap).collect().await;
    assert_eq!(chunks[0], Chunk::Text("Your order ".into()));
    assert_eq!(chunks[1], Chunk::Text("has shipped.".into()));
    assert!(matches!(chunks[2], Chunk::Done(usage) if usage.output_tokens == 6), "{chunks:?}");

    let calls = &fake.lock().unwrap().calls;
    let (bearer, body) = &calls[1];
    assert_eq!(bearer.as_deref(), Some("Bearer sk-test"));
    assert_eq!(body["model"], "qwen2.5:7b-instruct");
    assert_eq!(body["stream"], true);
    assert_eq!(body["tools"][0]["function"]["name"], "order_status");
    let messages = body["messages"].as_array().unwrap();
    assert_eq!(messages[0], json!({ "role": "system", "content": "You are the Concierge." }));
    assert_eq!(messages[2]["tool_calls"][0]["function"]["arguments"], "{\"order_id\":\"ord_1\"}");
    assert_eq!(messages[3], json!({ "role": "tool", "tool_call_id": "call_7", "content": "{\"status\":\"shipped\"}" }));
}

#[tokio::test]
async fn busy_servers_are_retried_and_refusals_are_not() {
    let failures = VecDeque::from([StatusCode::TOO_MANY_REQUESTS, StatusCode::SERVICE_UNAVAILABLE]);
    let (fake, model) = start(Fake { failures, ..Fake::default() }).await;
    let reply = model.complete(request(vec![Message::user("Where is ord_1?")])).await.unwrap();
    assert_eq!(reply.tool_calls.len(), 1);
    assert_eq!(fake.lock().unwrap().calls.len(), 3, "two retries, then the answer");

    let (fake, model) = start(Fake { failures: VecDeque::from([StatusCode::BAD_REQUEST]), ..Fake::default() }).await;
    let refused = model.complete(request(vec![Message::user("hi")])).await.unwrap_err();
    assert!(matches!(refused, ModelError::Rejected { status: 400, .. }), "{refused:?}");
    assert_eq!(fake.lock().unwrap().calls.len(), 1, "a 400 is not retried");
}
