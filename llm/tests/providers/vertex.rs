//! The Vertex AI provider against a local fake of Vertex's `generateContent` and
//! `streamGenerateContent` and of Google's OAuth token endpoint: a service-account key whose
//! token URI points at the fake, so the real gcp_auth signing and token exchange run.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Form, Json, Router};
use llm::vertex::{VertexGemini, VertexSettings};
use llm::{ChatModel, Message, ModelError, Usage};
use serde_json::{Value, json};

use crate::conformance::{self, Answer, Fake, fast_retries, request};

/// What the fake answers: a scripted answer, or this response as it is (one event when streamed).
enum Reply {
    Answer(Answer),
    Raw(Value),
}

/// What the fake saw, and what it will answer.
#[derive(Default)]
struct Server {
    /// Seconds each token it issues lives.
    token_lifetime: u64,
    tokens_issued: usize,
    replies: VecDeque<Reply>,
    /// (method, bearer token, body) of every model call.
    calls: Vec<(String, String, Value)>,
}

type Shared = Arc<Mutex<Server>>;

/// A fake Vertex AI and token endpoint, and a client of them.
struct VertexFake {
    state: Shared,
    model: VertexGemini,
    /// Holds the client's key file.
    _folder: tempfile::TempDir,
}

impl Fake for VertexFake {
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

impl VertexFake {
    /// Answers the next request with `response`.
    fn script_raw(&self, response: Value) {
        self.state.lock().unwrap().replies = VecDeque::from([Reply::Raw(response)]);
    }
}

async fn token(State(state): State<Shared>, Form(form): Form<Vec<(String, String)>>) -> Json<Value> {
    let grant = form.iter().find(|(key, _)| key == "grant_type").map(|(_, value)| value.as_str());
    assert_eq!(grant, Some("urn:ietf:params:oauth:grant-type:jwt-bearer"));
    assert!(form.iter().any(|(key, value)| key == "assertion" && value.split('.').count() == 3), "a signed JWT");
    let mut state = state.lock().unwrap();
    state.tokens_issued += 1;
    Json(json!({
        "access_token": format!("token-{}", state.tokens_issued),
        "expires_in": state.token_lifetime,
        "token_type": "Bearer",
    }))
}

fn usage_metadata(usage: Usage) -> Value {
    json!({ "promptTokenCount": usage.input_tokens, "candidatesTokenCount": usage.output_tokens,
        "totalTokenCount": usage.total() })
}

fn candidate(parts: Vec<Value>, usage: Usage) -> Value {
    json!({
        "candidates": [{ "content": { "role": "model", "parts": parts }, "finishReason": "STOP" }],
        "usageMetadata": usage_metadata(usage),
    })
}

/// The responses of `answer` as `streamGenerateContent` streams them (`streamed`) or as
/// `generateContent` answers it whole (one).
fn responses_of(answer: &Answer, streamed: bool) -> Vec<Value> {
    match answer {
        Answer::Status(_) => unreachable!("a status has no responses"),
        Answer::Text(pieces, usage) if streamed => pieces
            .iter()
            .enumerate()
            .map(|(index, piece)| {
                let part = json!({ "text": piece });
                if index + 1 == pieces.len() {
                    candidate(vec![part], *usage)
                } else {
                    json!({ "candidates": [{ "content": { "role": "model", "parts": [part] } }] })
                }
            })
            .collect(),
        Answer::Text(pieces, usage) => vec![candidate(vec![json!({ "text": pieces.concat() })], *usage)],
        Answer::Calls(calls, usage) => {
            let parts = calls
                .iter()
                .enumerate()
                .map(|(index, (name, arguments))| {
                    let mut part = json!({ "functionCall": { "name": name, "args": arguments } });
                    if index == 0 {
                        part["thoughtSignature"] = json!("sig-1");
                    }
                    part
                })
                .collect();
            vec![candidate(parts, *usage)]
        }
        Answer::Refusal => vec![json!({
            "candidates": [{ "finishReason": "SAFETY", "safetyRatings": [
                { "category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": true }
            ] }],
            "usageMetadata": { "promptTokenCount": 12, "totalTokenCount": 12 },
        })],
    }
}

async fn model(
    State(state): State<Shared>,
    Path((project, location, call)): Path<(String, String, String)>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    assert_eq!((project.as_str(), location.as_str()), ("shop", "us-central1"));
    let (model, method) = call.split_once(':').expect("model:method");
    assert_eq!(model, "gemini-test");
    let streamed = match method {
        "generateContent" => false,
        "streamGenerateContent" => {
            assert!(query.contains(&("alt".to_owned(), "sse".to_owned())), "streams as server-sent events");
            true
        }
        other => panic!("unexpected method {other}"),
    };
    let bearer = headers["authorization"].to_str().unwrap().trim_start_matches("Bearer ").to_owned();
    let mut state = state.lock().unwrap();
    state.calls.push((method.to_owned(), bearer, body));
    let responses = match state.replies.pop_front() {
        None => return (StatusCode::IM_A_TEAPOT, "no answer scripted").into_response(),
        Some(Reply::Answer(Answer::Status(status))) => {
            let error = json!({ "error": { "code": status, "message": "try later" } });
            return (StatusCode::from_u16(status).unwrap(), Json(error)).into_response();
        }
        Some(Reply::Answer(answer)) => responses_of(&answer, streamed),
        Some(Reply::Raw(response)) => vec![response],
    };
    if streamed {
        let events: String = responses.iter().map(|response| format!("data: {response}\r\n\r\n")).collect();
        ([("content-type", "text/event-stream")], events).into_response()
    } else {
        Json(responses.into_iter().next().unwrap()).into_response()
    }
}

/// Starts the fake, issuing tokens that live `token_lifetime` seconds, and a client of it with
/// a service-account key file whose token URI is the fake's.
async fn start(token_lifetime: u64) -> VertexFake {
    let state = Arc::new(Mutex::new(Server { token_lifetime, ..Server::default() }));
    let app = Router::new()
        .route("/token", post(token))
        .route("/v1/projects/{project}/locations/{location}/publishers/google/models/{call}", post(model))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let mut key: Value =
        serde_json::from_str(include_str!("../fixtures/service-account.json")).expect("the fixture is JSON");
    key["token_uri"] = json!(format!("{address}/token"));
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("key.json");
    std::fs::write(&path, key.to_string()).unwrap();
    let settings = VertexSettings {
        project: "shop".into(),
        location: "us-central1".into(),
        model: "gemini-test".into(),
        endpoint: Some(address),
        credentials: Some(path.clone()),
        timeout_secs: 10,
    };
    let tokens = Arc::new(gcp_auth::CustomServiceAccount::from_file(&path).unwrap());
    let model = VertexGemini::with_tokens(settings.clone(), tokens, fast_retries());
    // The public constructor accepts the same file.
    VertexGemini::connect(settings).await.expect("the key file is usable");
    VertexFake { state, model, _folder: folder }
}

#[tokio::test]
async fn vertex_gemini_passes_the_conformance_suite() {
    let fake = start(3600).await;
    conformance::run(&fake).await;
    assert_eq!(fake.state.lock().unwrap().tokens_issued, 1, "a live token is reused");
}

#[tokio::test]
async fn a_function_call_round_trip_sends_gemini_contents_and_echoes_the_signature() {
    let fake = start(3600).await;
    let usage = Usage { input_tokens: 42, output_tokens: 7 };
    fake.script(vec![
        Answer::Calls(vec![("order_status", json!({ "order_id": "ord_1" }))], usage),
        Answer::Text(vec!["It shipped on Monday."], usage),
    ]);

    let first = fake.model.complete(request(vec![Message::user("Where is ord_1?")])).await.unwrap();
    let call = &first.tool_calls[0];
    assert_eq!(call.signature.as_deref(), Some("sig-1"), "Gemini's thought signature is kept with its call");
    let history = vec![
        Message::user("Where is ord_1?"),
        first.clone().into_message(),
        Message::Tool { call_id: call.id.clone(), name: call.name.clone(), result: json!({ "status": "shipped" }) },
    ];
    fake.model.complete(request(history)).await.unwrap();

    let state = fake.state.lock().unwrap();
    let (_, _, body) = &state.calls[0];
    assert_eq!(body["systemInstruction"]["parts"][0]["text"], "You are the Concierge.");
    assert_eq!(body["tools"][0]["functionDeclarations"][0]["name"], "order_status");
    assert!(body["tools"][0]["functionDeclarations"][0]["parametersJsonSchema"].is_object());
    assert_eq!(body["generationConfig"]["maxOutputTokens"], 256);
    let (_, _, body) = &state.calls[1];
    let contents = body["contents"].as_array().unwrap();
    let roles: Vec<&str> = contents.iter().map(|content| content["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["user", "model", "user"]);
    assert_eq!(contents[1]["parts"][0]["thoughtSignature"], "sig-1", "the signature goes back with its call");
    assert_eq!(
        contents[2]["parts"][0]["functionResponse"],
        json!({ "name": "order_status", "response": { "status": "shipped" } })
    );
}

#[tokio::test]
async fn a_blocked_prompt_is_rejected() {
    let fake = start(3600).await;
    fake.script_raw(json!({
        "promptFeedback": { "blockReason": "PROHIBITED_CONTENT" },
        "usageMetadata": { "promptTokenCount": 9, "totalTokenCount": 9 },
    }));
    let items = conformance::stream_of(&fake.model, request(vec![Message::user("…")])).await;
    assert_eq!(items.len(), 1, "nothing but the error: {items:?}");
    let Some(Err(ModelError::Rejected { status: 200, detail })) = items.into_iter().next() else {
        panic!("a blocked prompt is rejected")
    };
    assert!(detail.contains("blocked") && detail.contains("PROHIBITED_CONTENT"), "{detail}");
}

#[tokio::test]
async fn an_expiring_token_is_refreshed_before_the_next_call() {
    // gcp_auth treats a token within 20 s of expiry as expired.
    let fake = start(5).await;
    let answer = Answer::Text(vec!["Yes."], Usage { input_tokens: 3, output_tokens: 1 });
    fake.script(vec![answer.clone(), answer]);

    fake.model.complete(request(vec![Message::user("one")])).await.unwrap();
    fake.model.complete(request(vec![Message::user("two")])).await.unwrap();

    let state = fake.state.lock().unwrap();
    assert_eq!(state.tokens_issued, 2);
    let bearers: Vec<&str> = state.calls.iter().map(|(_, bearer, _)| bearer.as_str()).collect();
    assert_eq!(bearers, ["token-1", "token-2"]);
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
