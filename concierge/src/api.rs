//! The Concierge's HTTP API: conversations, messages answered as server-sent events (or one JSON
//! document), and the user's confirmation of a hand-over.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use business_services::cart::domain::CartId;
use business_services::platform::error::{Error, Problem};
use business_services::platform::openapi::ProblemResponses;
use futures_util::StreamExt;
use llm::Message;
use mcp_contract::token::{Claims, TokenKey};
use serde::{Deserialize, Serialize};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::agent::{Concierge, ConciergeError, Event};
use crate::session::{self, Scope};

#[derive(Clone)]
struct AppState {
    concierge: Concierge,
    sessions: TokenKey,
}

/// The routes, answering for `concierge` to sessions signed with `sessions`, with `/healthz`
/// and the OpenAPI document at `/openapi.json`. Not wrapped in the business systems' service
/// shell: its 10 s request deadline would cut the JSON answer of a turn, which may take a minute.
pub fn routes(concierge: Concierge, sessions: TokenKey) -> Router {
    let mut openapi = ApiDoc::openapi();
    ProblemResponses.modify(&mut openapi);
    let openapi = Arc::new(openapi);
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/openapi.json", get(move || async move { Json(openapi.as_ref().clone()) }))
        .route("/v1/conversations", post(open))
        .route("/v1/conversations/{id}", get(show))
        .route("/v1/conversations/{id}/messages", post(send))
        .route("/v1/conversations/{id}/handover", post(confirm_handover))
        .with_state(AppState { concierge, sessions })
}

/// The Concierge's OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "concierge",
        description = "The customer-service agent: conversations whose messages are answered as server-sent \
            events (`Accept: text/event-stream`: events `text`, `tool`, `handover`, `done`, `error`, each a JSON \
            document) or as one JSON document. Every route needs a session token minted by the storefront or \
            `boutique chat` (`Authorization: Bearer …`)."
    ),
    paths(open, show, send, confirm_handover),
    components(schemas(OpenBody, Opened, Conversation, Line, SendBody, Answered, HandedOver, Problem)),
    modifiers(&SessionAuth),
    security(("session" = []))
)]
pub struct ApiDoc;

/// Declares the bearer session token every route needs.
struct SessionAuth;

impl Modify for SessionAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let scheme = HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build();
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme("session", SecurityScheme::Http(scheme));
    }
}

impl IntoResponse for ConciergeError {
    fn into_response(self) -> Response {
        let error = match self {
            ConciergeError::NotFound => Error::not_found("conversation", ""),
            ConciergeError::BadInput(detail) => Error::invalid("text", detail),
            ConciergeError::Budget | ConciergeError::NothingToConfirm => Error::Conflict { detail: self.to_string() },
            ConciergeError::Unavailable(detail) => Error::Unavailable { dependency: "concierge".into(), detail },
            ConciergeError::RateLimited(wait) => {
                let problem = Problem {
                    kind: "/problems/rate-limited".into(),
                    title: "Too many messages".into(),
                    status: 429,
                    detail: self.to_string(),
                    field: None,
                };
                return ([(header::RETRY_AFTER, wait.to_string())], problem).into_response();
            }
        };
        error.into_response()
    }
}

/// The signed-in session of the request's bearer token; a 401 without a valid one.
struct SignedIn(Claims);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .ok_or_else(|| Error::Unauthorized {
                detail: "sign in: send the session token as `Authorization: Bearer …`".into(),
            })?;
        let claims = session::verify(&state.sessions, bearer).map_err(|why| Error::Unauthorized { detail: why })?;
        Ok(SignedIn(claims))
    }
}

/// A handler's answer: a response, or the problem that stopped it.
type Answer = Result<Response, Response>;

impl From<ConciergeError> for Response {
    fn from(error: ConciergeError) -> Response {
        error.into_response()
    }
}

/// What a new conversation is about.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct OpenBody {
    /// The customer a staff member serves; customers are always themselves.
    #[serde(default)]
    customer_id: Option<String>,
    /// The storefront cart the widget is beside, for the cart tool.
    #[serde(default)]
    cart_id: Option<String>,
}

/// A conversation just opened.
#[derive(Debug, Serialize, ToSchema)]
struct Opened {
    /// Its id, for the other routes.
    conversation_id: String,
    /// The model answering.
    provider: String,
    /// Hash of the prompts in force.
    prompts_hash: String,
}

/// A conversation and its transcript.
#[derive(Debug, Serialize, ToSchema)]
struct Conversation {
    /// Its id.
    conversation_id: String,
    /// The model answering.
    provider: String,
    /// Hash of the prompts in force.
    prompts_hash: String,
    /// Tokens used so far, of the conversation's budget.
    tokens_used: i64,
    /// Why a hand-over to a person was proposed, if one awaits the user's confirmation.
    awaiting_handover: Option<String>,
    /// The CRM ticket of a confirmed hand-over.
    ticket_id: Option<String>,
    /// What was said, oldest first.
    messages: Vec<Line>,
}

/// One message of a transcript.
#[derive(Debug, Serialize, ToSchema)]
struct Line {
    /// `user` or `concierge`.
    from: &'static str,
    /// What was said.
    text: String,
}

/// A turn answered as one document.
#[derive(Debug, Serialize, ToSchema)]
struct Answered {
    /// The whole answer; absent when the turn failed.
    reply: Option<String>,
    /// The turn's events, as streamed: `{"type": "text" | "tool" | "handover" | "done" | "error", …}`.
    #[schema(value_type = Vec<Object>)]
    events: Vec<Event>,
}

/// A confirmed hand-over.
#[derive(Debug, Serialize, ToSchema)]
struct HandedOver {
    /// The CRM ticket a person picks it up from.
    ticket_id: String,
}

/// Opens a conversation: a customer's about themselves; a staff member's about the customer
/// named (or none).
#[utoipa::path(post, path = "/v1/conversations", request_body(content = Option<OpenBody>),
    responses((status = 201, body = Opened), (status = 401, body = Problem), (status = 422, body = Problem)))]
async fn open(SignedIn(claims): SignedIn, State(state): State<AppState>, body: Option<Json<OpenBody>>) -> Answer {
    let body = body.map(|Json(body)| body).unwrap_or_default();
    let customer = match (claims.role.is_staff(), body.customer_id) {
        (false, Some(_)) => {
            return Err(Error::invalid("customer_id", "customers always talk about themselves").into_response());
        }
        (false, None) => claims.customer.clone(),
        (true, chosen) => chosen.or(claims.customer.clone()),
    };
    if let Some(cart) = &body.cart_id {
        CartId::parse(cart).map_err(|why| Error::invalid("cart_id", why).into_response())?;
    }
    let scope = Scope { subject: claims.sub, role: claims.role, customer, cart: body.cart_id };
    let conversation = state.concierge.open(scope).await?;
    let opened = Opened {
        conversation_id: conversation.id,
        provider: conversation.provider,
        prompts_hash: conversation.prompts_hash,
    };
    Ok((StatusCode::CREATED, Json(opened)).into_response())
}

/// The conversation and its transcript (tool calls left out).
#[utoipa::path(get, path = "/v1/conversations/{id}", params(("id" = String, Path, description = "Conversation id")),
    responses((status = 200, body = Conversation), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn show(SignedIn(claims): SignedIn, State(state): State<AppState>, Path(id): Path<String>) -> Answer {
    let conversation = state.concierge.conversation(&claims.sub, &id).await?;
    let messages = state
        .concierge
        .transcript(&conversation)
        .await?
        .into_iter()
        .filter_map(|message| match message {
            Message::User { text } => Some(Line { from: "user", text }),
            Message::Assistant { text, .. } => Some(Line { from: "concierge", text }),
            Message::Tool { .. } => None,
        })
        .collect();
    Ok(Json(Conversation {
        conversation_id: conversation.id,
        provider: conversation.provider,
        prompts_hash: conversation.prompts_hash,
        tokens_used: conversation.tokens_used,
        awaiting_handover: conversation.escalation,
        ticket_id: conversation.ticket_id,
        messages,
    })
    .into_response())
}

/// A user's message.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SendBody {
    /// What they say.
    text: String,
}

/// Sends a message and answers it: as server-sent events with `Accept: text/event-stream`, else
/// as one JSON document once the turn is over.
#[utoipa::path(post, path = "/v1/conversations/{id}/messages", request_body = SendBody,
    params(("id" = String, Path, description = "Conversation id")),
    responses((status = 200, body = Answered, content_type = "application/json"),
              (status = 200, description = "The turn's events as they happen", content_type = "text/event-stream"),
              (status = 401, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem), (status = 429, body = Problem), (status = 503, body = Problem)))]
async fn send(
    SignedIn(claims): SignedIn,
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<SendBody>,
) -> Answer {
    let conversation = state.concierge.conversation(&claims.sub, &id).await?;
    let events = state.concierge.turn(conversation, body.text)?;
    let streaming = headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains("text/event-stream"));
    if streaming {
        let events = events.map(|event| {
            let kind = match &event {
                Event::Text { .. } => "text",
                Event::Tool { .. } => "tool",
                Event::Handover { .. } => "handover",
                Event::Done { .. } => "done",
                Event::Error { .. } => "error",
            };
            Ok::<_, Infallible>(SseEvent::default().event(kind).json_data(&event).unwrap_or_default())
        });
        return Ok(Sse::new(events).keep_alive(KeepAlive::default()).into_response());
    }
    let events: Vec<Event> = events.collect().await;
    let reply = events.iter().find_map(|event| match event {
        Event::Done { reply, .. } => Some(reply.clone()),
        _ => None,
    });
    Ok(Json(Answered { reply, events }).into_response())
}

/// Confirms the hand-over the Concierge proposed: a CRM ticket for a person.
#[utoipa::path(post, path = "/v1/conversations/{id}/handover", params(("id" = String, Path, description = "Conversation id")),
    responses((status = 200, body = HandedOver), (status = 401, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem)))]
async fn confirm_handover(SignedIn(claims): SignedIn, State(state): State<AppState>, Path(id): Path<String>) -> Answer {
    let conversation = state.concierge.conversation(&claims.sub, &id).await?;
    let ticket_id = state.concierge.confirm_handover(&conversation).await?;
    Ok(Json(HandedOver { ticket_id }).into_response())
}
