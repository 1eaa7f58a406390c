//! The Concierge's HTTP API: conversations, messages answered as server-sent events (or one JSON
//! document), and the user's confirmation of a hand-over.

use std::convert::Infallible;

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use business_services::cart::domain::CartId;
use business_services::platform::error::{Error, Problem};
use futures_util::StreamExt;
use llm::Message;
use mcp_server::token::{Claims, TokenKey};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::agent::{Concierge, ConciergeError, Event};
use crate::session::{self, Scope};

#[derive(Clone)]
struct AppState {
    concierge: Concierge,
    sessions: TokenKey,
}

/// The routes, answering for `concierge` to sessions signed with `sessions`.
pub fn routes(concierge: Concierge, sessions: TokenKey) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/v1/conversations", post(open))
        .route("/v1/conversations/{id}", get(show))
        .route("/v1/conversations/{id}/messages", post(send))
        .route("/v1/conversations/{id}/handover", post(confirm_handover))
        .with_state(AppState { concierge, sessions })
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

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct OpenBody {
    /// The customer a staff member serves; customers are always themselves.
    #[serde(default)]
    customer_id: Option<String>,
    /// The storefront cart the widget is beside, for the cart tool.
    #[serde(default)]
    cart_id: Option<String>,
}

#[derive(Debug, Serialize)]
struct Opened {
    conversation_id: String,
    provider: String,
    prompts_hash: String,
}

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

async fn show(SignedIn(claims): SignedIn, State(state): State<AppState>, Path(id): Path<String>) -> Answer {
    let conversation = state.concierge.conversation(&claims.sub, &id).await?;
    let messages: Vec<_> = state
        .concierge
        .transcript(&conversation)
        .await?
        .iter()
        .map(|message| match message {
            Message::User { text } => json!({ "from": "user", "text": text }),
            Message::Assistant { text, .. } => json!({ "from": "concierge", "text": text }),
            Message::Tool { .. } => json!({}),
        })
        .collect();
    Ok(Json(json!({
        "conversation_id": conversation.id,
        "provider": conversation.provider,
        "prompts_hash": conversation.prompts_hash,
        "tokens_used": conversation.tokens_used,
        "awaiting_handover": conversation.escalation,
        "ticket_id": conversation.ticket_id,
        "messages": messages,
    }))
    .into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SendBody {
    text: String,
}

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
    Ok(Json(json!({ "reply": reply, "events": events })).into_response())
}

async fn confirm_handover(SignedIn(claims): SignedIn, State(state): State<AppState>, Path(id): Path<String>) -> Answer {
    let conversation = state.concierge.conversation(&claims.sub, &id).await?;
    let ticket_id = state.concierge.confirm_handover(&conversation).await?;
    Ok(Json(json!({ "ticket_id": ticket_id })).into_response())
}
