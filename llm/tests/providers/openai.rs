//! The OpenAI-compatible provider against a local fake of `/v1/chat/completions` that streams as
//! Ollama, vLLM and llama.cpp's server do: text deltas, tool calls in slices keyed by index, a
//! finish reason, a usage chunk, `[DONE]`.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use llm::openai::{OpenAiCompatible, OpenAiSettings};
use llm::{ChatModel, Message, ModelError, ToolCall, Usage};
use serde_json::{Value, json};

use crate::conformance::{self, Answer, Fake, fast_retries, request};

/// What the fake answers: a scripted answer, or these chunks as they are.
enum Reply {
    Answer(Answer),
    Chunks(Vec<Value>),
}

/// What the fake saw, and what it will answer.
#[derive(Default)]
struct Server {
    replies: VecDeque<Reply>,
    /// (bearer token, body) of every call.
    calls: Vec<(Option<String>, Value)>,
}

type Shared = Arc<Mutex<Server>>;

/// A fake OpenAI-compatible server and its client.
struct OpenAiFake {
    state: Shared,
    model: OpenAiCompatible,
}

impl Fake for OpenAiFake {
    fn model(&self) -> &dyn ChatModel {
        &self.model
    }

    fn script(&self, answers: Vec<Answer>) {
        self.state.lock().unwrap().replies = answers.into_iter().map(Reply::Answer).collect();
    }

    fn requests(&self) -> usize {
        self.state.lock().unwrap().calls.len()
    }
}

impl OpenAiFake {
    /// Answers the next request with `chunks`, then `[DONE]`.
    fn script_chunks(&self, chunks: Vec<Value>) {
        self.state.lock().unwrap().replies = VecDeque::from([Reply::Chunks(chunks)]);
    }
}

fn usage_chunk(usage: Usage) -> Value {
    json!({ "choices": [], "usage": { "prompt_tokens": usage.input_tokens, "completion_tokens": usage.output_tokens } })
}

fn finish(reason: &str) -> Value {
    json!({ "choices": [{ "index": 0, "delta": {}, "finish_reason": reason }] })
}

/// `text` in three slices, cut at character boundaries.
fn slices(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars.chunks(chars.len().div_ceil(3).max(1)).map(|slice| slice.iter().collect()).collect()
}

/// The chunks of `answer` as a chat-completions stream writes them.
fn chunks_of(answer: &Answer) -> Vec<Value> {
    match answer {
        Answer::Status(_) => unreachable!("a status has no chunks"),
        Answer::Text(pieces, usage) => {
            let mut chunks: Vec<Value> = pieces
                .iter()
                .enumerate()
                .map(|(index, piece)| {
                    let mut delta = json!({ "content": piece });
                    if index == 0 {
                        delta["role"] = json!("assistant");
                    }
                    json!({ "choices": [{ "index": 0, "delta": delta }] })
                })
                .collect();
            chunks.extend([finish("stop"), usage_chunk(*usage)]);
            chunks
        }
        Answer::Calls(calls, usage) => {
            // Each call opens with its id and name, then the calls' argument slices interleave.
            let mut chunks: Vec<Value> = calls
                .iter()
                .enumerate()
                .map(|(index, (name, _))| {
                    json!({ "choices": [{ "index": 0, "delta": { "tool_calls": [{ "index": index,
                        "id": format!("call_{index}_{name}"), "type": "function",
                        "function": { "name": name, "arguments": "" } }] } }] })
                })
                .collect();
            let sliced: Vec<Vec<String>> = calls.iter().map(|(_, arguments)| slices(&arguments.to_string())).collect();
            for round in 0..3 {
                for (index, slices) in sliced.iter().enumerate() {
                    if let Some(slice) = slices.get(round) {
                        chunks.push(json!({ "choices": [{ "index": 0, "delta": { "tool_calls": [{ "index": index,
                            "function": { "arguments": slice } }] } }] }));
                    }
                }
            }
            chunks.extend([finish("tool_calls"), usage_chunk(*usage)]);
            chunks
        }
        Answer::Refusal => vec![
            json!({ "choices": [{ "index": 0, "delta": { "role": "assistant", "content": "" } }] }),
            finish("content_filter"),
            usage_chunk(Usage { input_tokens: 12, output_tokens: 0 }),
        ],
    }
}

/// Server-sent events of `chunks`, then `[DONE]`.
fn events(chunks: &[Value]) -> String {
    chunks.iter().map(|chunk| format!("data: {chunk}\n\n")).chain(["data: [DONE]\n\n".to_owned()]).collect()
}

async fn completions(State(state): State<Shared>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let bearer = headers.get("authorization").map(|value| value.to_str().unwrap().to_owned());
    let mut state = state.lock().unwrap();
    state.calls.push((bearer, body));
    let chunks = match state.replies.pop_front() {
        None => return (StatusCode::IM_A_TEAPOT, "no answer scripted").into_response(),
        Some(Reply::Answer(Answer::Status(status))) => {
            let status = StatusCode::from_u16(status).unwrap();
            return (status, Json(json!({ "error": { "message": "busy", "code": status.as_u16() } }))).into_response();
        }
        Some(Reply::Answer(answer)) => chunks_of(&answer),
        Some(Reply::Chunks(chunks)) => chunks,
    };
    ([("content-type", "text/event-stream")], events(&chunks)).into_response()
}

async fn start() -> OpenAiFake {
    let state = Shared::default();
    let app = Router::new().route("/v1/chat/completions", post(completions)).with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(axum::serve(listener, app).into_future());
    let settings = OpenAiSettings {
        base_url: format!("http://{address}/v1"),
        model: "qwen2.5:7b-instruct".into(),
        api_key: Some("sk-test".into()),
        timeout_secs: 5,
    };
    OpenAiFake { state, model: OpenAiCompatible::new(settings, fast_retries()) }
}

#[tokio::test]
async fn the_openai_compatible_provider_passes_the_conformance_suite() {
    conformance::run(&start().await).await;
}

#[tokio::test]
async fn the_conversation_is_sent_in_chat_completions_form() {
    let fake = start().await;
    assert_eq!(fake.model.name(), "openai:qwen2.5:7b-instruct");
    fake.script(vec![Answer::Text(vec!["It has shipped."], Usage { input_tokens: 40, output_tokens: 6 })]);
    let conversation = vec![
        Message::user("Where is ord_1?"),
        Message::Assistant {
            text: String::new(),
            tool_calls: vec![ToolCall::new("call_7", "order_status", json!({ "order_id": "ord_1" }))],
        },
        Message::Tool { call_id: "call_7".into(), name: "order_status".into(), result: json!({ "status": "shipped" }) },
    ];
    fake.model.complete(request(conversation)).await.unwrap();

    let state = fake.state.lock().unwrap();
    let (bearer, body) = &state.calls[0];
    assert_eq!(bearer.as_deref(), Some("Bearer sk-test"));
    assert_eq!(body["model"], "qwen2.5:7b-instruct");
    assert_eq!((&body["stream"], &body["stream_options"]["include_usage"]), (&json!(true), &json!(true)));
    assert_eq!(body["max_tokens"], 256);
    assert_eq!(body["tools"][0]["function"]["name"], "order_status");
    let messages = body["messages"].as_array().unwrap();
    assert_eq!(messages[0], json!({ "role": "system", "content": "You are the Concierge." }));
    assert_eq!(messages[1], json!({ "role": "user", "content": "Where is ord_1?" }));
    assert_eq!(messages[2]["tool_calls"][0]["id"], "call_7");
    assert_eq!(messages[2]["tool_calls"][0]["function"]["arguments"], "{\"order_id\":\"ord_1\"}");
    assert_eq!(messages[3], json!({ "role": "tool", "tool_call_id": "call_7", "content": "{\"status\":\"shipped\"}" }));
}

#[tokio::test]
async fn a_model_refusal_is_rejected_with_its_words() {
    let fake = start().await;
    fake.script_chunks(vec![
        json!({ "choices": [{ "index": 0, "delta": { "role": "assistant", "content": null, "refusal": "I can't " } }] }),
        json!({ "choices": [{ "index": 0, "delta": { "refusal": "help with that." } }] }),
        finish("stop"),
        usage_chunk(Usage { input_tokens: 20, output_tokens: 5 }),
    ]);
    let items = conformance::stream_of(&fake.model, request(vec![Message::user("Write malware.")])).await;
    assert_eq!(items.len(), 1, "nothing but the error: {items:?}");
    let Some(Err(ModelError::Rejected { status: 200, detail })) = items.into_iter().next() else {
        panic!("a refusal is rejected")
    };
    assert!(detail.contains("I can't help with that."), "{detail}");
}
