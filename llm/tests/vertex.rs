//! The Vertex AI provider against a local fake of Vertex's `generateContent` and
//! `streamGenerateContent` and of Google's OAuth token endpoint: a service-account key whose
//! token URI points at the fake, so the real gcp_auth signing and token exchange run.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Form, Json, Router};
use futures_util::StreamExt;
use llm::vertex::{VertexGemini, VertexSettings};
use llm::{ChatModel, Chunk, Message, ModelError, RetryPolicy};
use serde_json::{Value, json};
use support::{fast_retries, request};

/// What the fake saw, and what it will answer.
#[derive(Default)]
struct Fake {
    /// Seconds each token it issues lives.
    token_lifetime: u64,
    tokens_issued: usize,
    /// Statuses to answer model calls with before answering properly.
    failures: VecDeque<StatusCode>,
    /// (method, bearer token, body) of every model call.
    calls: Vec<(String, String, Value)>,
}

type Shared = Arc<Mutex<Fake>>;

async fn token(State(fake): State<Shared>, Form(form): Form<Vec<(String, String)>>) -> Json<Value> {
    let grant = form.iter().find(|(key, _)| key == "grant_type").map(|(_, value)| value.as_str());
    assert_eq!(grant, Some("urn:ietf:params:oauth:grant-type:jwt-bearer"));
    assert!(form.iter().any(|(key, value)| key == "assertion" && value.split('.').count() == 3), "a signed JWT");
    let mut fake = fake.lock().unwrap();
    fake.tokens_issued += 1;
    Json(json!({
        "access_token": format!("token-{}", fake.tokens_issued),
        "expires_in": fake.token_lifetime,
        "token_type": "Bearer",
    }))
}

async fn model(
    State(fake): State<Shared>,
    Path((project, location, call)): Path<(String, String, String)>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    assert_eq!((project.as_str(), location.as_str()), ("shop", "us-central1"));
    let (model, method) = call.split_once(':').expect("model:method");
    assert_eq!(model, "gemini-test");
    let bearer = headers["authorization"].to_str().unwrap().trim_start_matches("Bearer ").to_owned();
    let mut fake = fake.lock().unwrap();
    fake.calls.push((method.to_owned(), bearer, body.clone()));
    if let Some(status) = fake.failures.pop_front() {
        return (status, Json(json!({ "error": { "code": status.as_u16(), "message": "try later" } }))).into_response();
    }
    let answered_tool =
        body["contents"].as_array().unwrap().iter().any(|content| {
            content["parts"].as_array().unwrap().iter().any(|part| part.get("functionResponse").is_some())
        });
    let usage = json!({ "promptTokenCount": 42, "candidatesTokenCount": 7 });
    match method {
        "generateContent" if !answered_tool => Json(json!({
            "candidates": [{ "content": { "role": "model", "parts": [
                { "functionCall": { "name": "order_status", "args": { "order_id": "ord_1" } }, "thoughtSignature": "sig-1" }
            ] }, "finishReason": "STOP" }],
            "usageMetadata": usage,
        }))
        .into_response(),
        "generateContent" => Json(json!({
            "candidates": [{ "content": { "role": "model", "parts": [{ "text": "It shipped on Monday." }] }, "finishReason": "STOP" }],
            "usageMetadata": usage,
        }))
        .into_response(),
        "streamGenerateContent" => {
            assert!(query.contains(&("alt".to_owned(), "sse".to_owned())), "streams as server-sent events");
            let events: String = ["It ", "shipped ", "on Monday."]
                .iter()
                .enumerate()
                .map(|(index, text)| {
                    let mut event = json!({ "candidates": [{ "content": { "role": "model", "parts": [{ "text": text }] } }] });
                    if index == 2 {
                        event["candidates"][0]["finishReason"] = json!("STOP");
                        event["usageMetadata"] = usage.clone();
                    }
                    format!("data: {event}\r\n\r\n")
                })
                .collect();
            ([("content-type", "text/event-stream")], events).into_response()
        }
        other => panic!("unexpected method {other}"),
    }
}

/// Starts the fake; returns its state and address.
async fn start(fake: Fake) -> (Shared, String) {
    let shared = Arc::new(Mutex::new(fake));
    let app = Router::new()
        .route("/token", post(token))
        .route("/v1/projects/{project}/locations/{location}/publishers/google/models/{call}", post(model))
        .with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (shared, address)
}

/// A client of the fake with a service-account key file whose token URI is the fake's.
async fn client(address: &str, folder: &tempfile::TempDir, retry: RetryPolicy) -> VertexGemini {
    let mut key: Value =
        serde_json::from_str(include_str!("fixtures/service-account.json")).expect("the fixture is JSON");
    key["token_uri"] = json!(format!("{address}/token"));
    let path = folder.path().join("key.json");
    std::fs::write(&path, key.to_string()).unwrap();
    let settings = VertexSettings {
        project: "shop".into(),
        location: "us-central1".into(),
        model: "gemini-test".into(),
        endpoint: Some(address.to_owned()),
        credentials: Some(path.clone()),
        timeout_secs: 10,
    };
    let tokens = Arc::new(gcp_auth::CustomServiceAccount::from_file(&path).unwrap());
    let client = VertexGemini::with_tokens(settings.clone(), tokens, retry);
    // The public constructor accepts the same file.
    VertexGemini::connect(settings).await.expect("the key file is usable");
    client
}

#[tokio::test]
async fn a_function_call_round_trip_sends_gemini_contents_and_reads_the_call_back() {
    let (fake, address) = start(Fake { token_lifetime: 3600, ..Fake::default() }).await;
    let folder = tempfile::tempdir().unwrap();
    let model = client(&address, &folder, fast_retries()).await;

    let first = model.complete(request(vec![Message::user("Where is ord_1?")])).await.unwrap();
    assert_eq!(first.tool_calls.len(), 1);
    let call = &first.tool_calls[0];
    assert_eq!((call.name.as_str(), &call.arguments), ("order_status", &json!({ "order_id": "ord_1" })));
    assert_eq!(call.signature.as_deref(), Some("sig-1"));
    assert_eq!((first.usage.input_tokens, first.usage.output_tokens), (42, 7));

    let history = vec![
        Message::user("Where is ord_1?"),
        first.clone().into_message(),
        Message::Tool { call_id: call.id.clone(), name: call.name.clone(), result: json!({ "status": "shipped" }) },
    ];
    let second = model.complete(request(history)).await.unwrap();
    assert_eq!(second.text, "It shipped on Monday.");
    assert!(second.tool_calls.is_empty());

    let fake = fake.lock().unwrap();
    let (_, _, body) = &fake.calls[0];
    assert_eq!(body["systemInstruction"]["parts"][0]["text"], "You are the Concierge.");
    assert_eq!(body["tools"][0]["functionDeclarations"][0]["name"], "order_status");
    assert!(body["tools"][0]["functionDeclarations"][0]["parametersJsonSchema"].is_object());
    assert_eq!(body["generationConfig"]["maxOutputTokens"], 256);
    let (_, _, body) = &fake.calls[1];
    let contents = body["contents"].as_array().unwrap();
    let roles: Vec<&str> = contents.iter().map(|content| content["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["user", "model", "user"]);
    assert_eq!(contents[1]["parts"][0]["thoughtSignature"], "sig-1", "the signature goes back with its call");
    assert_eq!(
        contents[2]["parts"][0]["functionResponse"],
        json!({ "name": "order_status", "response": { "status": "shipped" } })
    );
    assert_eq!(fake.tokens_issued, 1, "a live token is reused");
}

#[tokio::test]
async fn streamed_answers_arrive_chunk_by_chunk_then_the_usage() {
    let (_, address) = start(Fake { token_lifetime: 3600, ..Fake::default() }).await;
    let folder = tempfile::tempdir().unwrap();
    let model = client(&address, &folder, fast_retries()).await;

    let chunks: Vec<Chunk> =
        model.stream(request(vec![Message::user("Where is ord_1?")])).map(|chunk| chunk.unwrap()).collect().await;
    let texts: Vec<&str> = chunks
        .iter()
        .filter_map(|chunk| match chunk {
            Chunk::Text(text) => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(texts, ["It ", "shipped ", "on Monday."]);
    match chunks.last() {
        Some(Chunk::Done(usage)) => assert_eq!(usage.total(), 49),
        other => panic!("the stream ends with its usage, not {other:?}"),
    }
}

#[tokio::test]
async fn an_expiring_token_is_refreshed_before_the_next_call() {
    // gcp_auth treats a token within 20 s of expiry as expired.
    let (fake, address) = start(Fake { token_lifetime: 5, ..Fake::default() }).await;
    let folder = tempfile::tempdir().unwrap();
    let model = client(&address, &folder, fast_retries()).await;

    model.complete(request(vec![Message::user("one")])).await.unwrap();
    model.complete(request(vec![Message::user("two")])).await.unwrap();

    let fake = fake.lock().unwrap();
    assert_eq!(fake.tokens_issued, 2);
    let bearers: Vec<&str> = fake.calls.iter().map(|(_, bearer, _)| bearer.as_str()).collect();
    assert_eq!(bearers, ["token-1", "token-2"]);
}

#[tokio::test]
async fn rate_limits_and_server_errors_are_retried_until_an_answer() {
    let failures = VecDeque::from([StatusCode::TOO_MANY_REQUESTS, StatusCode::SERVICE_UNAVAILABLE]);
    let (fake, address) = start(Fake { token_lifetime: 3600, failures, ..Fake::default() }).await;
    let folder = tempfile::tempdir().unwrap();
    let model = client(&address, &folder, fast_retries()).await;

    let reply = model.complete(request(vec![Message::user("Where is ord_1?")])).await.unwrap();
    assert_eq!(reply.tool_calls.len(), 1);
    assert_eq!(fake.lock().unwrap().calls.len(), 3, "two failures, then the answer");
}

#[tokio::test]
async fn retries_stop_at_the_limit_and_refusals_are_not_retried() {
    let failures = VecDeque::from([StatusCode::INTERNAL_SERVER_ERROR; 5]);
    let (fake, address) = start(Fake { token_lifetime: 3600, failures, ..Fake::default() }).await;
    let folder = tempfile::tempdir().unwrap();
    let model = client(&address, &folder, fast_retries()).await;
    let error = model.complete(request(vec![Message::user("hi")])).await.unwrap_err();
    assert!(matches!(error, ModelError::Unavailable(ref why) if why.contains("after 3 tries")), "{error}");
    assert_eq!(fake.lock().unwrap().calls.len(), 3);

    let (fake, address) =
        start(Fake { token_lifetime: 3600, failures: VecDeque::from([StatusCode::BAD_REQUEST]), ..Fake::default() })
            .await;
    let model = client(&address, &folder, fast_retries()).await;
    let error = model.stream(request(vec![Message::user("hi")])).next().await.unwrap().unwrap_err();
    assert!(matches!(error, ModelError::Rejected { status: 400, .. }), "{error}");
    assert_eq!(fake.lock().unwrap().calls.len(), 1);
}

#[tokio::test]
async fn a_missing_key_file_is_a_clear_credentials_error() {
    let settings = VertexSettings {
        project: "shop".into(),
        location: "us-central1".into(),
        model: "gemini-test".into(),
        endpoint: None,
        credentials: Some("/nowhere/key.json".into()),
        timeout_secs: 10,
    };
    let error = VertexGemini::connect(settings).await.unwrap_err();
    assert!(matches!(error, ModelError::Credentials(ref why) if why.contains("/nowhere/key.json")), "{error}");
}
