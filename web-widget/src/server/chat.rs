//! The chat widget's server side: one Concierge conversation per session (per customer, for
//! staff), opened with a session token minted here from the signed-in account, and the messages
//! passed on: streamed to the hydrated widget, or answered with a redirect for a plain form post.

use axum::Form;
use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use business_services::platform::error::Error;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use super::accounts::{Account, Session};
use super::peers::unavailable;
use super::session::{Current, Elsewhere, local_path};
use super::{AppState, Failure};
use crate::islands::{ChatLine, ChatProps, Speaker};

/// A message from the widget.
#[derive(Debug, Deserialize)]
pub struct Message {
    text: String,
    /// Staff: the customer the conversation is about.
    #[serde(default)]
    customer: Option<String>,
    /// The page to go back to after a plain form post.
    #[serde(default)]
    return_to: Option<String>,
}

/// Whom `account` talks about: customers about themselves (no one else), staff about the
/// customer they chose.
fn about<'a>(account: &Account, customer: Option<&'a str>) -> Option<&'a str> {
    customer.filter(|id| account.role.is_staff() && !id.is_empty())
}

/// Who may chat, and about whom.
fn speaker(session: &Session, customer: Option<String>) -> Result<(&Account, Option<String>), Failure> {
    let account = session
        .account
        .as_ref()
        .ok_or_else(|| Error::Unauthorized { detail: "sign in to chat with the Concierge".into() })?;
    Ok((account, about(account, customer.as_deref()).map(str::to_owned)))
}

fn concierge_error(error: reqwest::Error) -> Failure {
    Failure::from(unavailable("concierge", &error))
}

/// Opens a conversation about `customer` and remembers it in the session.
async fn open(
    state: &AppState,
    session: &Session,
    account: &Account,
    customer: Option<&str>,
    token: &str,
) -> Result<String, Failure> {
    let body = match customer {
        Some(customer) => json!({ "customer_id": customer }),
        None if account.role.is_staff() => json!({}),
        None => json!({ "cart_id": session.cart_id }),
    };
    let response = state
        .peers
        .concierge(Method::POST, "/v1/conversations", token)
        .json(&body)
        .send()
        .await
        .map_err(concierge_error)?;
    let opened: Value = checked(response).await?.json().await.map_err(concierge_error)?;
    let id = opened["conversation_id"].as_str().unwrap_or_default().to_owned();
    state.accounts.set_conversation(&session.id_hash, &id, customer).await?;
    Ok(id)
}

/// The response if it succeeded, else the Concierge's problem as a failure.
async fn checked(response: reqwest::Response) -> Result<reqwest::Response, Failure> {
    if response.status().is_success() {
        return Ok(response);
    }
    let status = response.status().as_u16();
    let problem: Value = response.json().await.unwrap_or_default();
    let detail = problem["detail"].as_str().unwrap_or("the Concierge could not answer").to_owned();
    Err(Failure::from(Error::Upstream { dependency: "concierge".into(), status, detail, field: None }))
}

/// Sends `text` in the session's conversation (opening one if needed); returns the Concierge's
/// answer as it comes.
async fn send(
    state: &AppState,
    session: &Session,
    message: Message,
    accept: &str,
) -> Result<reqwest::Response, Failure> {
    let (account, customer) = speaker(session, message.customer)?;
    let token = state.peers.concierge_token(account, customer.as_deref())?;
    let mut stored = session.conversation.clone().filter(|(_, about)| *about == customer).map(|(id, _)| id);
    loop {
        let reused = stored.is_some();
        let id = match stored.take() {
            Some(id) => id,
            None => open(state, session, account, customer.as_deref(), &token).await?,
        };
        let response = state
            .peers
            .concierge(Method::POST, &format!("/v1/conversations/{id}/messages"), &token)
            .header(header::ACCEPT, accept)
            .json(&json!({ "text": message.text }))
            .send()
            .await
            .map_err(concierge_error)?;
        // A Concierge whose store was reset no longer knows the session's conversation: start anew.
        if reused && response.status() == reqwest::StatusCode::NOT_FOUND {
            continue;
        }
        return checked(response).await;
    }
}

fn back_to(return_to: Option<&str>) -> Response {
    let page = local_path(return_to).unwrap_or_else(|| "/".to_owned());
    Redirect::to(&format!("{page}#chat")).into_response()
}

/// `POST /chat`: the widget as a plain form; the answer is on the page it returns to.
pub async fn post(
    State(state): State<AppState>,
    session: Current,
    Form(message): Form<Message>,
) -> Result<Response, Failure> {
    let return_to = message.return_to.clone();
    if session.account.is_none() {
        return Ok(
            Elsewhere::SignIn(local_path(return_to.as_deref()).unwrap_or_else(|| "/".to_owned())).into_response()
        );
    }
    send(&state, &session, message, "application/json").await?;
    Ok(back_to(return_to.as_deref()))
}

/// `POST /chat/stream`: the hydrated widget; the Concierge's server-sent events, passed through
/// as they arrive. A refusal is a problem document the widget shows.
pub async fn stream(State(state): State<AppState>, session: Current, Form(message): Form<Message>) -> Response {
    match send(&state, &session, message, "text/event-stream").await {
        Ok(answer) => (
            [(header::CONTENT_TYPE, "text/event-stream"), (header::CACHE_CONTROL, "no-cache")],
            Body::from_stream(answer.bytes_stream()),
        )
            .into_response(),
        Err(failure) => {
            let problem = json!({ "status": failure.status().as_u16(), "detail": failure.detail() });
            (failure.status(), axum::Json(problem)).into_response()
        }
    }
}

/// `POST /chat/handover`: the user confirms the hand-over to a person the Concierge proposed.
#[derive(Debug, Deserialize)]
pub struct Handover {
    #[serde(default)]
    return_to: Option<String>,
}

/// `POST /chat/handover`
pub async fn handover(
    State(state): State<AppState>,
    session: Current,
    Form(form): Form<Handover>,
) -> Result<Response, Failure> {
    let Some((id, customer)) = &session.conversation else { return Ok(back_to(form.return_to.as_deref())) };
    let (account, customer) = speaker(&session, customer.clone())?;
    let token = state.peers.concierge_token(account, customer.as_deref())?;
    let response = state
        .peers
        .concierge(Method::POST, &format!("/v1/conversations/{id}/handover"), &token)
        .send()
        .await
        .map_err(concierge_error)?;
    checked(response).await?;
    Ok(back_to(form.return_to.as_deref()))
}

/// The chat widget for a page at `path`: the conversation so far if it is about `customer`,
/// `None` for guests (who are invited to sign in instead).
pub async fn transcript(
    state: &AppState,
    session: &Session,
    path: &str,
    customer: Option<&str>,
    suggestion: Option<String>,
) -> Option<ChatProps> {
    let account = session.account.as_ref()?;
    let customer = about(account, customer);
    let mut chat = ChatProps {
        open: suggestion.is_some(),
        return_to: path.to_owned(),
        customer: customer.map(str::to_owned),
        suggestion,
        ..ChatProps::default()
    };
    let Some((id, about)) = &session.conversation else { return Some(chat) };
    if about.as_deref() != customer {
        return Some(chat);
    }
    let shown = async {
        let token = state.peers.concierge_token(account, customer).ok()?;
        let response =
            state.peers.concierge(Method::GET, &format!("/v1/conversations/{id}"), &token).send().await.ok()?;
        response.error_for_status().ok()?.json::<Value>().await.ok()
    };
    let Some(shown) = shown.await else {
        tracing::warn!(conversation = %id, "The Concierge did not show a conversation; the widget starts empty.");
        return Some(chat);
    };
    chat.lines = shown["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|message| {
            let speaker = match message["from"].as_str()? {
                "user" => Speaker::User,
                "concierge" => Speaker::Concierge,
                _ => return None,
            };
            Some(ChatLine { speaker, text: message["text"].as_str()?.to_owned() })
        })
        .collect();
    chat.handover = !shown["awaiting_handover"].is_null();
    chat.open |= !chat.lines.is_empty();
    Some(chat)
}
