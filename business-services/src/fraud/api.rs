//! The fraud engine's HTTP routes, every one behind signed-request authentication.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi};

use super::domain::{
    AccountStanding, Assessment, AssessmentId, AssessmentRequest, CardSummary, Decision, Location, Policy, Reason,
    Review, ReviewDecision, ReviewOutcome, ReviewStatus, SeenOrder, check_reference,
};
use super::store::{FraudStore, Outcome};
use crate::contracts::order::{ORDER_PLACED, OrderPlaced};
use crate::platform::clock::{Clock, from_millis};
use crate::platform::error::{Error, Problem, Result};
use crate::platform::events::Pushed;
use crate::platform::extract::{ApiJson, ApiQuery};
use crate::platform::page::{self, Page};
use crate::platform::secret::Secret;
use crate::platform::signing::{self, MAX_SKEW_SECS, Rejection};

/// The largest request body the engine reads, in bytes.
const MAX_BODY: usize = 64 * 1024;

/// What the fraud routes need.
#[derive(Clone)]
pub struct FraudState {
    /// Assessments, reviews and seen signatures.
    pub store: FraudStore,
    /// The time source for scoring windows and signature timestamps.
    pub clock: Arc<dyn Clock>,
    /// How scores become decisions.
    pub policy: Arc<Policy>,
    /// The callers' secrets by key id.
    pub callers: Arc<BTreeMap<String, Secret>>,
}

impl fmt::Debug for FraudState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FraudState")
            .field("policy", &self.policy)
            .field("callers", &self.callers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// Where the broker pushes the `orders` topic.
pub const ORDER_EVENTS_PATH: &str = "/v1/events/orders";

/// The fraud engine's routes; every request must be signed (see [`signing`]).
pub fn routes(state: FraudState) -> Router {
    Router::new()
        .route("/v1/assessments", post(create_assessment).get(find_assessments))
        .route("/v1/assessments/{id}", get(get_assessment))
        .route("/v1/reviews", get(list_reviews))
        .route("/v1/reviews/{assessment_id}/decision", post(decide_review))
        .route(ORDER_EVENTS_PATH, post(order_event))
        .route_layer(middleware::from_fn_with_state(state.clone(), authenticate))
        .with_state(state)
}

/// The fraud engine's OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "fraud",
        description = "The fraud engine: risk scores with reasons and a review queue. Every /v1/ request is signed: \
            headers x-boutique-key-id, x-boutique-timestamp (Unix seconds) and x-boutique-signature = hex \
            HMAC-SHA256(secret, METHOD \\n path-and-query \\n timestamp \\n hex SHA-256 of the body)."
    ),
    paths(create_assessment, find_assessments, get_assessment, list_reviews, decide_review, order_event),
    components(schemas(
        AssessmentRequest,
        CardSummary,
        Location,
        AccountStanding,
        Assessment,
        Decision,
        Reason,
        Review,
        ReviewStatus,
        ReviewDecision,
        ReviewOutcome,
        Page<Review>,
        Problem
    ))
)]
pub struct ApiDoc;

/// Middleware: lets through only signed requests from known callers, each signature once.
async fn authenticate(State(state): State<FraudState>, request: Request, next: Next) -> Response {
    match state.authenticate(request).await {
        Ok(request) => next.run(request).await,
        Err(error) => error.into_response(),
    }
}

fn unauthorized(rejection: Rejection) -> Error {
    Error::Unauthorized { detail: rejection.to_string() }
}

impl FraudState {
    async fn authenticate(&self, request: Request) -> Result<Request> {
        let (parts, body) = request.into_parts();
        let body = axum::body::to_bytes(body, MAX_BODY).await.map_err(|_| Error::BadRequest {
            detail: format!("the body could not be read or is larger than {MAX_BODY} bytes"),
        })?;
        let target = parts.uri.path_and_query().map_or(parts.uri.path(), |target| target.as_str());
        let now = self.clock.now();
        let verified =
            signing::check(&self.callers, &parts.headers, parts.method.as_str(), target, &body, now.unix_timestamp())
                .map_err(unauthorized)?;
        let forget_after = from_millis(verified.timestamp.saturating_add(MAX_SKEW_SECS).saturating_mul(1_000));
        if !self.store.remember_signature(&verified.signature, &verified.key_id, forget_after, now).await? {
            return Err(unauthorized(Rejection::Replayed));
        }
        tracing::debug!(key_id = %verified.key_id, "Signed request accepted.");
        Ok(Request::from_parts(parts, Body::from(body)))
    }
}

fn parse_id(id: &str, field: &str) -> Result<AssessmentId> {
    AssessmentId::parse(id).map_err(|e| Error::invalid(field, e))
}

/// Scores an order: 201 with the score, the decision and the reasons. Assessing the same
/// `reference` again answers the first assessment without scoring it again.
#[utoipa::path(post, path = "/v1/assessments", request_body = AssessmentRequest,
    responses((status = 201, body = Assessment), (status = 401, body = Problem), (status = 422, body = Problem)))]
async fn create_assessment(
    State(state): State<FraudState>,
    ApiJson(body): ApiJson<AssessmentRequest>,
) -> Result<Response> {
    let now = state.clock.now();
    let request = body.validate(now)?;
    Ok(match state.store.assess(&request, now, &state.policy).await? {
        Outcome::Assessed(assessment) => (StatusCode::CREATED, Json(assessment)).into_response(),
        Outcome::Replayed(assessment) => (
            StatusCode::CREATED,
            [(HeaderName::from_static("idempotent-replayed"), HeaderValue::from_static("true"))],
            Json(assessment),
        )
            .into_response(),
    })
}

/// Gets an assessment.
#[utoipa::path(get, path = "/v1/assessments/{id}", params(("id" = String, Path, description = "Assessment id")),
    responses((status = 200, body = Assessment), (status = 401, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
async fn get_assessment(State(state): State<FraudState>, Path(id): Path<String>) -> Result<Json<Assessment>> {
    let id = parse_id(&id, "id")?;
    state.store.assessment(&id).await?.map(Json).ok_or_else(|| Error::not_found("assessment", id))
}

/// Which assessments to find.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct AssessmentQuery {
    /// The caller's reference (required, 1 to 128 visible ASCII characters): a checkout
    /// order's `reference`.
    reference: String,
}

/// Finds the assessment made under a reference: how a reader goes from an order to its score.
/// The page holds at most one assessment (a reference is assessed once).
#[utoipa::path(get, path = "/v1/assessments", params(AssessmentQuery),
    responses((status = 200, body = Page<Assessment>), (status = 401, body = Problem), (status = 422, body = Problem)))]
async fn find_assessments(
    State(state): State<FraudState>,
    ApiQuery(query): ApiQuery<AssessmentQuery>,
) -> Result<Json<Page<Assessment>>> {
    check_reference(&query.reference)?;
    let found = state.store.assessment_of(&query.reference).await?;
    Ok(Json(Page { items: found.into_iter().collect(), next_cursor: None }))
}

/// Which reviews to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ReviewQuery {
    /// `pending` (the default), `approved` or `rejected`.
    status: Option<String>,
    /// Page size, 1 to 100 (default 20).
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Lists reviews, oldest first: by default the queue of pending ones.
#[utoipa::path(get, path = "/v1/reviews", params(ReviewQuery),
    responses((status = 200, body = Page<Review>), (status = 401, body = Problem), (status = 422, body = Problem)))]
async fn list_reviews(
    State(state): State<FraudState>,
    ApiQuery(query): ApiQuery<ReviewQuery>,
) -> Result<Json<Page<Review>>> {
    let status = match query.status {
        Some(status) => ReviewStatus::parse(&status).map_err(|e| Error::invalid("status", e))?,
        None => ReviewStatus::Pending,
    };
    let limit = page::limit(query.limit)?;
    let after = query.cursor.map(|cursor| page::decode_cursor(&cursor)).transpose()?;
    Ok(Json(state.store.reviews(status, after.as_deref(), limit).await?))
}

/// Records an analyst's decision on a pending review. A review is decided once.
#[utoipa::path(post, path = "/v1/reviews/{assessment_id}/decision", request_body = ReviewDecision,
    params(("assessment_id" = String, Path, description = "The reviewed assessment")),
    responses((status = 200, body = Review), (status = 401, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "Already decided, or not sent to review"), (status = 422, body = Problem)))]
async fn decide_review(
    State(state): State<FraudState>,
    Path(assessment_id): Path<String>,
    ApiJson(body): ApiJson<ReviewDecision>,
) -> Result<Json<Review>> {
    let id = parse_id(&assessment_id, "assessment_id")?;
    body.validate()?;
    Ok(Json(state.store.decide(&id, &body, state.clock.now()).await?))
}

/// Receives the `orders` topic (a Pub/Sub push, signed by the broker like every request): a
/// confirmed `order.placed` joins the history that velocity and amount features count, once
/// per order. Held orders and other event types are acknowledged without effect; a malformed
/// message is a 400, so the broker dead-letters it.
#[utoipa::path(post, path = "/v1/events/orders",
    request_body(content = Object, description = "A Pub/Sub push envelope carrying an order.placed event"),
    responses((status = 204, description = "Applied, already applied, or ignored"), (status = 400, body = Problem),
        (status = 401, body = Problem)))]
async fn order_event(State(state): State<FraudState>, pushed: Pushed<serde_json::Value>) -> Result<StatusCode> {
    let Some(event) = pushed.payload_of::<OrderPlaced>(ORDER_PLACED)? else {
        return Ok(StatusCode::NO_CONTENT);
    };
    let order = SeenOrder::from_event(&event)
        .map_err(|why| Error::BadRequest { detail: format!("message {}: {why}", pushed.event_id) })?;
    if let Some(order) = order {
        let recorded = state.store.record_order(&order, &pushed.event_id).await?;
        tracing::debug!(order = %order.order_id, recorded, "Confirmed order joins the velocity history.");
    }
    Ok(StatusCode::NO_CONTENT)
}
