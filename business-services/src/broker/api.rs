//! The broker's HTTP routes: Pub/Sub's REST publish call, subscriptions, dead letters and
//! statistics for operators. Changing a subscription and replaying dead letters take the
//! operator's admin token ([`Operator`]): whoever could change a subscription could redirect
//! the order feed.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{FromRef, Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::embedded::EmbeddedQueue;
use super::queue::{DeadLetter, Queue, Subscription, SubscriptionStats};
use crate::platform::admin::{AdminToken, Operator, OperatorSecurity};
use crate::platform::clock::Clock;
use crate::platform::error::{Error, Problem, Result};
use crate::platform::events::Publisher;
use crate::platform::events::{EVENT_ID, Message};
use crate::platform::extract::{ApiJson, ApiQuery};

/// What the broker's routes need.
#[derive(Debug, Clone)]
pub struct BrokerState {
    /// The queue.
    pub queue: EmbeddedQueue,
    /// The time source.
    pub clock: Arc<dyn Clock>,
    /// Attempts of subscriptions created without a number.
    pub default_max_attempts: u32,
    /// The operator's token, which opens the admin writes.
    pub admin_token: AdminToken,
}

impl FromRef<BrokerState> for AdminToken {
    fn from_ref(state: &BrokerState) -> AdminToken {
        state.admin_token.clone()
    }
}

/// The broker's routes.
pub fn routes(state: BrokerState) -> Router {
    Router::new()
        .route("/v1/projects/{project}/topics/{topic_action}", post(publish))
        .route("/v1/subscriptions", get(list_subscriptions))
        .route("/v1/subscriptions/{name}", put(put_subscription))
        .route("/v1/subscriptions/{name}/replay", post(replay))
        .route("/v1/dead-letters", get(list_dead_letters))
        .route("/v1/stats", get(stats))
        .with_state(state)
}

/// The broker's OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "broker",
        description = "Topics, push subscriptions with retries, dead letters. Publishing speaks Google Pub/Sub's REST call."
    ),
    paths(publish, list_subscriptions, put_subscription, replay, list_dead_letters, stats),
    modifiers(&OperatorSecurity),
    components(schemas(
        PublishRequest,
        PubSubMessage,
        PublishResponse,
        Subscription,
        NewSubscription,
        Replay,
        Replayed,
        DeadLetter,
        SubscriptionStats,
        Problem
    ))
)]
pub struct ApiDoc;

/// Pub/Sub's publish request.
#[derive(Debug, Deserialize, ToSchema)]
struct PublishRequest {
    /// The messages, published in order.
    messages: Vec<PubSubMessage>,
}

/// A message as Pub/Sub's REST API carries it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct PubSubMessage {
    /// Base64 of the payload.
    data: String,
    /// String attributes; `event_id` becomes the message id (publishing it again is a no-op).
    #[serde(default)]
    attributes: BTreeMap<String, String>,
    /// Messages with one key are delivered in order.
    #[serde(default)]
    ordering_key: String,
}

/// Pub/Sub's publish response.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PublishResponse {
    /// The ids of the messages, in order.
    pub message_ids: Vec<String>,
}

/// Publishes messages to a topic: `POST /v1/projects/{project}/topics/{topic}:publish`.
#[utoipa::path(post, path = "/v1/projects/{project}/topics/{topic_action}", request_body = PublishRequest,
    params(("project" = String, Path, description = "Any project name"), ("topic_action" = String, Path, description = "`<topic>:publish`")),
    responses((status = 200, body = PublishResponse), (status = 400, body = Problem), (status = 404, body = Problem)))]
async fn publish(
    State(state): State<BrokerState>,
    Path((_project, topic_action)): Path<(String, String)>,
    ApiJson(request): ApiJson<PublishRequest>,
) -> Result<Json<PublishResponse>> {
    let topic = topic_action
        .strip_suffix(":publish")
        .filter(|topic| !topic.is_empty())
        .ok_or_else(|| Error::not_found("route", format!("topics/{topic_action}")))?;
    let mut message_ids = Vec::with_capacity(request.messages.len());
    for (index, message) in request.messages.into_iter().enumerate() {
        let data = STANDARD
            .decode(&message.data)
            .map_err(|e| Error::invalid(format!("messages[{index}].data"), format!("is not base64: {e}")))?;
        let id = message
            .attributes
            .get(EVENT_ID)
            .cloned()
            .unwrap_or_else(|| format!("msg_{}", uuid::Uuid::new_v4().simple()));
        let message = Message {
            id: id.clone(),
            topic: topic.to_owned(),
            ordering_key: message.ordering_key,
            data,
            attributes: message.attributes,
            publish_time: state.clock.now(),
        };
        state.queue.publish(&message).await?;
        message_ids.push(id);
    }
    Ok(Json(PublishResponse { message_ids }))
}

/// Lists the subscriptions.
#[utoipa::path(get, path = "/v1/subscriptions", responses((status = 200, body = Vec<Subscription>)))]
async fn list_subscriptions(State(state): State<BrokerState>) -> Result<Json<Vec<Subscription>>> {
    Ok(Json(state.queue.subscriptions().await?))
}

/// A subscription to create or change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewSubscription {
    /// The topic.
    topic: String,
    /// The endpoint pushes are POSTed to.
    endpoint: String,
    /// Deliveries before a message is dead-lettered.
    max_attempts: Option<u32>,
}

/// Creates or changes a push subscription; running pushers deliver every message they lease
/// after the change to the new endpoint. Operators only.
#[utoipa::path(put, path = "/v1/subscriptions/{name}", request_body = NewSubscription,
    params(("name" = String, Path, description = "Subscription name")),
    security(("operator" = [])),
    responses(
        (status = 200, body = Subscription),
        (status = 401, body = Problem, content_type = "application/problem+json",
            description = "No or a wrong operator token"),
        (status = 403, body = Problem, content_type = "application/problem+json",
            description = "A token was sent, but no admin token is configured: admin writes are closed"),
        (status = 409, body = Problem),
        (status = 422, body = Problem)))]
async fn put_subscription(
    _: Operator,
    State(state): State<BrokerState>,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<NewSubscription>,
) -> Result<Json<Subscription>> {
    let slug = |text: &str| {
        !text.is_empty() && text.len() <= 64 && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if !slug(&name) {
        return Err(Error::invalid("name", "use 1 to 64 letters, digits and '-'"));
    }
    if !slug(&body.topic) {
        return Err(Error::invalid("topic", "use 1 to 64 letters, digits and '-'"));
    }
    if reqwest::Url::parse(&body.endpoint).map_or(true, |url| !matches!(url.scheme(), "http" | "https")) {
        return Err(Error::invalid("endpoint", "must be an http(s) URL"));
    }
    let max_attempts = body.max_attempts.unwrap_or(state.default_max_attempts);
    if !(1..=100).contains(&max_attempts) {
        return Err(Error::invalid("max_attempts", "must be between 1 and 100"));
    }
    let subscription = Subscription { name, topic: body.topic, endpoint: body.endpoint, max_attempts };
    state.queue.subscribe(&subscription).await?;
    Ok(Json(subscription))
}

/// Which dead letters to replay.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Replay {
    /// One message; all of the subscription's dead letters if absent.
    message_id: Option<String>,
}

/// How many dead letters went back for delivery.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Replayed {
    /// The count.
    pub replayed: u64,
}

/// Puts dead letters back for delivery, with fresh attempts. Operators only.
#[utoipa::path(post, path = "/v1/subscriptions/{name}/replay", request_body = Replay,
    params(("name" = String, Path, description = "Subscription name")),
    security(("operator" = [])),
    responses(
        (status = 200, body = Replayed),
        (status = 401, body = Problem, content_type = "application/problem+json",
            description = "No or a wrong operator token"),
        (status = 403, body = Problem, content_type = "application/problem+json",
            description = "A token was sent, but no admin token is configured: admin writes are closed"),
        (status = 404, body = Problem)))]
async fn replay(
    _: Operator,
    State(state): State<BrokerState>,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<Replay>,
) -> Result<(StatusCode, Json<Replayed>)> {
    let replayed = state.queue.replay(&name, body.message_id.as_deref()).await?;
    if replayed == 0 && body.message_id.is_some() {
        return Err(Error::not_found("dead letter", body.message_id.unwrap_or_default()));
    }
    Ok((StatusCode::OK, Json(Replayed { replayed })))
}

/// Which dead letters to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct DeadLetterQuery {
    /// Only this subscription's.
    subscription: Option<String>,
    /// At most this many (1 to 1000, default 100).
    limit: Option<u32>,
}

/// Lists dead letters, oldest first.
#[utoipa::path(get, path = "/v1/dead-letters", params(DeadLetterQuery),
    responses((status = 200, body = Vec<DeadLetter>), (status = 422, body = Problem)))]
async fn list_dead_letters(
    State(state): State<BrokerState>,
    ApiQuery(query): ApiQuery<DeadLetterQuery>,
) -> Result<Json<Vec<DeadLetter>>> {
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(Error::invalid("limit", "must be between 1 and 1000"));
    }
    Ok(Json(state.queue.dead_letters(query.subscription.as_deref(), limit).await?))
}

/// Backlog, oldest unacknowledged age, dead letters and delivery lag per subscription.
#[utoipa::path(get, path = "/v1/stats", responses((status = 200, body = Vec<SubscriptionStats>)))]
async fn stats(State(state): State<BrokerState>) -> Result<Json<Vec<SubscriptionStats>>> {
    Ok(Json(state.queue.stats().await?))
}
