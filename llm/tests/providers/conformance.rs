//! The behaviour every [`ChatModel`] shows, written once: [`run`] asserts it of a provider
//! talking to a [`Fake`] of its server, which answers in the provider's own wire format what
//! each check scripts in neutral terms ([`Answer`]); [`any_model`] asserts the part that needs
//! no script, for models that write their own answers (in process, or scripted).

use std::time::Duration;

use futures_util::StreamExt;
use llm::{ChatModel, ChatRequest, Chunk, Message, ModelError, Reply, RetryPolicy, ToolSpec, Usage};
use serde_json::{Value, json};

/// Tries the fakes' clients make: the first and three retries, 10 ms apart and doubling.
const ATTEMPTS: u32 = 4;

/// The retry policy every fake's client is built with.
pub fn fast_retries() -> RetryPolicy {
    RetryPolicy { attempts: ATTEMPTS, base_delay: Duration::from_millis(10) }
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

/// What a fake server answers one request with, whatever the provider's wire format.
#[derive(Debug, Clone)]
pub enum Answer {
    /// An HTTP error with this status and a JSON error body.
    Status(u16),
    /// Text streamed in these pieces, then this usage.
    Text(Vec<&'static str>, Usage),
    /// These tool calls (name, arguments), then this usage.
    Calls(Vec<(&'static str, Value)>, Usage),
    /// The provider's safety filter withholds the answer, in its own shape.
    Refusal,
}

/// A provider's fake server, and the provider as its client.
pub trait Fake {
    /// The provider, a client of this fake retrying under [`fast_retries`].
    fn model(&self) -> &dyn ChatModel;

    /// Answers the next requests with `answers`, one each in order, replacing what was left.
    fn script(&self, answers: Vec<Answer>);

    /// How many requests the fake has received.
    fn requests(&self) -> usize;
}

const TEXT: [&str; 3] = ["It ", "shipped ", "on Monday ✓"];
const TEXT_USAGE: Usage = Usage { input_tokens: 42, output_tokens: 7 };
const CALL_USAGE: Usage = Usage { input_tokens: 30, output_tokens: 19 };

fn text_answer() -> Answer {
    Answer::Text(TEXT.to_vec(), TEXT_USAGE)
}

/// Two calls at once, with arguments a naive reassembly would break: nesting, escapes, non-ASCII.
fn calls() -> Vec<(&'static str, Value)> {
    vec![
        ("order_status", json!({ "order_id": "ord_1" })),
        (
            "order_status",
            json!({ "order_id": "ord_2", "lines": [{ "sku": "MUG-1", "quantity": 2 }], "note": "a \"gift\" ✓" }),
        ),
    ]
}

fn asked() -> ChatRequest {
    request(vec![Message::user("Where is ord_1?")])
}

/// Everything `model` streams for `request`, errors included.
pub async fn stream_of(model: &dyn ChatModel, request: ChatRequest) -> Vec<Result<Chunk, ModelError>> {
    model.stream(request).collect().await
}

/// The stream's chunks, failing on an error.
async fn chunks(model: &dyn ChatModel, request: ChatRequest) -> Vec<Chunk> {
    stream_of(model, request).await.into_iter().map(|chunk| chunk.unwrap_or_else(|error| panic!("{error}"))).collect()
}

/// The one error a failed stream ends with, after no usage.
fn failure(name: &str, items: Vec<Result<Chunk, ModelError>>) -> ModelError {
    let mut items = items.into_iter();
    let Some(Err(error)) = items.next_back() else { panic!("{name}: the stream did not end with an error") };
    for item in items {
        assert!(matches!(item, Ok(Chunk::Text(_))), "{name}: a failed stream carried {item:?}");
    }
    error
}

/// Runs every check on the provider behind `fake`.
pub async fn run(fake: &dyn Fake) {
    streams_text_in_order_then_the_usage(fake).await;
    returns_tool_calls_whole_then_the_usage(fake).await;
    retries_rate_limits_and_server_errors_until_an_answer(fake).await;
    gives_up_after_its_retries(fake).await;
    does_not_retry_other_client_errors(fake).await;
    reports_a_refusal_as_rejected(fake).await;
}

async fn streams_text_in_order_then_the_usage(fake: &dyn Fake) {
    let name = fake.model().name();
    fake.script(vec![text_answer(), text_answer()]);
    let mut expected: Vec<Chunk> = TEXT.iter().map(|piece| Chunk::Text((*piece).to_owned())).collect();
    expected.push(Chunk::Done(TEXT_USAGE));
    assert_eq!(chunks(fake.model(), asked()).await, expected, "{name}: text as it comes, then the usage");

    let whole = fake.model().complete(asked()).await.unwrap_or_else(|error| panic!("{name}: {error}"));
    let text: String = TEXT.concat();
    assert_eq!(whole, Reply { text, tool_calls: vec![], usage: TEXT_USAGE }, "{name}: the whole answer");
}

async fn returns_tool_calls_whole_then_the_usage(fake: &dyn Fake) {
    let name = fake.model().name();
    fake.script(vec![Answer::Calls(calls(), CALL_USAGE), Answer::Calls(calls(), CALL_USAGE)]);
    let streamed = chunks(fake.model(), asked()).await;
    let Some((Chunk::Done(usage), streamed_calls)) = streamed.split_last() else {
        panic!("{name}: no usage at the end of {streamed:?}")
    };
    assert_eq!(*usage, CALL_USAGE, "{name}: the usage");
    let streamed_calls: Vec<_> = streamed_calls
        .iter()
        .map(|chunk| match chunk {
            Chunk::ToolCall(call) => call.clone(),
            other => panic!("{name}: {other:?} among the tool calls"),
        })
        .collect();

    let whole = fake.model().complete(asked()).await.unwrap_or_else(|error| panic!("{name}: {error}"));
    assert_eq!((whole.text.as_str(), whole.usage), ("", CALL_USAGE), "{name}: the whole answer");
    for made in [&streamed_calls, &whole.tool_calls] {
        let named: Vec<_> = made.iter().map(|call| (call.name.as_str(), call.arguments.clone())).collect();
        assert_eq!(named, calls(), "{name}: each call whole, in order");
        assert!(made.iter().all(|call| !call.id.is_empty()), "{name}: calls have ids: {made:?}");
        assert_ne!(made[0].id, made[1].id, "{name}: each call its own id");
    }
}

async fn retries_rate_limits_and_server_errors_until_an_answer(fake: &dyn Fake) {
    let name = fake.model().name();
    for (call, statuses) in [("stream", [429, 500, 503]), ("complete", [503, 429, 502])] {
        let mut script: Vec<Answer> = statuses.into_iter().map(Answer::Status).collect();
        script.push(text_answer());
        fake.script(script);
        let before = fake.requests();
        let text = match call {
            "stream" => texts(&chunks(fake.model(), asked()).await).concat(),
            _ => fake.model().complete(asked()).await.unwrap_or_else(|error| panic!("{name}: {error}")).text,
        };
        assert_eq!(text, TEXT.concat(), "{name}: {call} answers once {statuses:?} have passed");
        assert_eq!(fake.requests() - before, statuses.len() + 1, "{name}: a retry per failure, then the answer");
    }
}

async fn gives_up_after_its_retries(fake: &dyn Fake) {
    let name = fake.model().name();
    fake.script(vec![Answer::Status(503); ATTEMPTS as usize]);
    let before = fake.requests();
    let error = failure(&name, stream_of(fake.model(), asked()).await);
    let tries = format!("after {ATTEMPTS} tries");
    assert!(
        matches!(error, ModelError::Unavailable(ref why) if why.contains("503") && why.contains(&tries)),
        "{name}: {error}"
    );
    assert_eq!(fake.requests() - before, ATTEMPTS as usize, "{name}: no more tries than the policy allows");
}

async fn does_not_retry_other_client_errors(fake: &dyn Fake) {
    let name = fake.model().name();
    for status in [400, 403, 404] {
        fake.script(vec![Answer::Status(status), text_answer()]);
        let before = fake.requests();
        let error = failure(&name, stream_of(fake.model(), asked()).await);
        assert!(matches!(error, ModelError::Rejected { status: got, .. } if got == status), "{name}: {error}");
        assert_eq!(fake.requests() - before, 1, "{name}: a {status} is not retried");
    }
}

async fn reports_a_refusal_as_rejected(fake: &dyn Fake) {
    let name = fake.model().name();
    fake.script(vec![Answer::Refusal, Answer::Refusal]);
    let before = fake.requests();
    let error = failure(&name, stream_of(fake.model(), asked()).await);
    assert!(
        matches!(error, ModelError::Rejected { status: 200, ref detail } if detail.contains("withheld")),
        "{name}: {error}"
    );
    let error = fake.model().complete(asked()).await.expect_err("a refusal is no answer");
    assert!(matches!(error, ModelError::Rejected { status: 200, .. }), "{name}: {error}");
    assert_eq!(fake.requests() - before, 2, "{name}: a refusal is not retried");
}

/// Asserts what any model does with `request`, whatever it answers: text and tool calls, then
/// one usage last, counting what was read and written; the stream gathered is what `complete`
/// answers. Returns the streamed chunks.
pub async fn any_model(model: &dyn ChatModel, request: ChatRequest) -> Vec<Chunk> {
    let name = model.name();
    let streamed = chunks(model, request.clone()).await;
    let Some((Chunk::Done(usage), answer)) = streamed.split_last() else {
        panic!("{name}: no usage at the end of {streamed:?}")
    };
    assert!(!answer.iter().any(|chunk| matches!(chunk, Chunk::Done(_))), "{name}: two usages: {streamed:?}");
    assert!(
        !answer.iter().any(|chunk| matches!(chunk, Chunk::Text(text) if text.is_empty())),
        "{name}: empty text chunks: {streamed:?}"
    );
    assert!(usage.input_tokens > 0, "{name}: the prompt was read: {usage:?}");
    assert!(usage.output_tokens > 0 && usage.output_tokens <= request.max_output_tokens, "{name}: {usage:?}");
    let mut gathered = Reply::default();
    streamed.iter().cloned().for_each(|chunk| gathered.absorb(chunk));
    assert!(!gathered.text.is_empty() || !gathered.tool_calls.is_empty(), "{name}: an empty answer");

    let whole = model.complete(request).await.unwrap_or_else(|error| panic!("{name}: {error}"));
    assert_eq!(whole, gathered, "{name}: complete answers what the stream did");
    streamed
}

/// The text of `chunks`, piece by piece.
pub fn texts(chunks: &[Chunk]) -> Vec<&str> {
    chunks
        .iter()
        .filter_map(|chunk| match chunk {
            Chunk::Text(text) => Some(text.as_str()),
            _ => None,
        })
        .collect()
}
