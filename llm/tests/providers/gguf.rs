//! The local GGUF provider against a real model file: SmolLM2-135M-Instruct (Q4_1), which
//! `scripts/models --model SmolLM2-135M-Instruct` fetches (or `BOUTIQUE_GGUF_MODEL` names
//! another). A tiny model: these tests check loading, the chat format, streaming and that tool
//! calls are always valid JSON naming an offered tool, not the quality of its answers. Skipped,
//! with the reason printed, when the file is absent.

use std::path::PathBuf;

use llm::gguf::{GgufSettings, LocalGguf};
use llm::{ChatModel, ChatRequest, Chunk, Message, ModelError, ToolSpec};
use serde_json::json;

use crate::conformance::{self, texts};

fn model_file() -> Option<PathBuf> {
    let path = match std::env::var_os("BOUTIQUE_GGUF_MODEL") {
        Some(path) => PathBuf::from(path),
        None => {
            let cache = std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
            cache.join("boutique/models/SmolLM2-135M-Instruct/SmolLM2-135M-Instruct.Q4_1.gguf")
        }
    };
    if path.is_file() {
        Some(path)
    } else {
        eprintln!("skipped: no GGUF model at {}; run scripts/models --model SmolLM2-135M-Instruct", path.display());
        None
    }
}

fn tools() -> Vec<ToolSpec> {
    vec![
        ToolSpec {
            name: "investigate".into(),
            description: "Look up the customer's order: its status, parcel, delivery date.".into(),
            parameters: json!({
                "type": "object",
                "properties": { "topic": { "type": "string", "enum": ["order_status", "parcel_location"] } },
                "required": ["topic"]
            }),
        },
        ToolSpec {
            name: "search_products".into(),
            description: "Find products by keywords.".into(),
            parameters: json!({ "type": "object", "properties": { "query": { "type": "string" } } }),
        },
    ]
}

fn request(text: &str, tools: Vec<ToolSpec>) -> ChatRequest {
    ChatRequest {
        system: "You are the customer-service assistant of an online store.".into(),
        messages: vec![Message::user(text)],
        tools,
        max_output_tokens: 48,
    }
}

#[tokio::test]
async fn a_local_model_streams_answers_and_writes_only_valid_tool_calls() {
    let Some(path) = model_file() else { return };
    let settings = GgufSettings { path, context_tokens: 2048 };
    let model = tokio::task::spawn_blocking(move || LocalGguf::load(&settings)).await.unwrap().unwrap();
    assert_eq!(model.name(), "gguf:SmolLM2-135M-Instruct.Q4_1");

    // Plain words stream in pieces, then the usage; the same again when asked whole.
    let chunks = conformance::any_model(&model, request("Say hello to the customer.", vec![])).await;
    assert!(texts(&chunks).len() > 1, "{chunks:?}");
    let Some(Chunk::Done(usage)) = chunks.last() else { panic!("no usage: {chunks:?}") };
    assert!(usage.input_tokens > 10, "the prompt is counted: {usage:?}");

    // Made to call a tool, it names an offered one with a JSON object of arguments.
    let asked = request("Where is my parcel?", tools());
    let call = model.force_tool_call(&asked).unwrap();
    assert!(["investigate", "search_products"].contains(&call.name.as_str()), "{call:?}");
    assert!(call.arguments.is_object(), "{call:?}");

    // Left to choose, whatever it does is either words or such a call.
    let reply = model.complete(asked).await.unwrap();
    for call in &reply.tool_calls {
        assert!(["investigate", "search_products"].contains(&call.name.as_str()), "{call:?}");
        assert!(call.arguments.is_object(), "{call:?}");
    }
    assert!(!reply.text.contains("<tool_call>"), "a tool call is never shown as words: {}", reply.text);

    // A conversation longer than the context is refused, not cut.
    let mut long = request(&"Tell me about my order. ".repeat(400), vec![]);
    long.max_output_tokens = 16;
    match model.complete(long).await {
        Err(ModelError::Rejected { status: 413, detail }) => assert!(detail.contains("context"), "{detail}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
}
