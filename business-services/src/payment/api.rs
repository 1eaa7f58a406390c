//! The payment gateway's HTTP routes.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::domain::{
    Authorization, AuthorizationId, AuthorizationStatus, AuthorizeRequest, CardBrand, CardDetails, DeclineCode, HANG,
    Refund, Verdict, check_amount, verdict,
};
use super::store::{NewAuthorization, PaymentStore};
use crate::money::Money;
use crate::platform::clock::Clock;
use crate::platform::error::{Error, Problem, Result};
use crate::platform::extract::{ApiJson, ApiQuery};
use crate::platform::idempotency::{self, Claim, Outcome, RequiredKey, check_reference};
use crate::platform::page::{self, Page};

/// What the payment routes need.
#[derive(Debug, Clone)]
pub struct PaymentState {
    /// Authorizations and refunds.
    pub store: PaymentStore,
    /// The time source, for card expiry and records.
    pub clock: Arc<dyn Clock>,
}

/// The payment gateway's routes.
pub fn routes(state: PaymentState) -> Router {
    Router::new()
        .route("/v1/authorizations", post(authorize).get(list_authorizations))
        .route("/v1/authorizations/{id}", get(get_authorization))
        .route("/v1/authorizations/{id}/capture", post(capture))
        .route("/v1/authorizations/{id}/void", post(void))
        .route("/v1/authorizations/{id}/refunds", post(refund))
        .with_state(state)
}

/// The payment gateway's OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "payment",
        description = "A card payment gateway in test mode: authorize, capture, void and refund. \
            Test cards: 4242 4242 4242 4242 approves; 4000 0000 0000 0002 is declined (card_declined); \
            4000 0000 0000 9995 (insufficient_funds); 4000 0000 0000 0069 (expired_card); \
            4000 0000 0000 0119 fails with 503 and records nothing; 4000 0000 0000 3220 hangs 30 s, then fails; \
            4000 0000 0000 0341 authorizes but its capture is declined (capture_declined). \
            Any other valid number approves."
    ),
    paths(authorize, list_authorizations, get_authorization, capture, void, refund),
    components(schemas(
        AuthorizeRequest, CardDetails, Authorization, AuthorizationStatus, CardBrand, DeclineCode, Page<Authorization>,
        RefundRequest, Refund, Money, Problem
    ))
)]
pub struct ApiDoc;

fn parse_id(id: &str) -> Result<AuthorizationId> {
    AuthorizationId::parse(id).map_err(|e| Error::invalid("id", e))
}

fn network_failure() -> Error {
    Error::Unavailable {
        dependency: "the card network".into(),
        detail: "it did not answer; nothing was charged: retry with the same Idempotency-Key".into(),
    }
}

/// Authorizes a card payment: holds the amount on the card. Requires an `Idempotency-Key`:
/// the same key with the same request answers the same authorization (marked
/// `Idempotent-Replayed: true`) without charging again; with another request, 422. A decline
/// is recorded and answered 201 with `status: declined` and a `decline_code`.
#[utoipa::path(post, path = "/v1/authorizations", request_body = AuthorizeRequest,
    params(("Idempotency-Key" = String, Header, description = "Required: a new unique key per payment, the same on retries")),
    responses((status = 201, body = Authorization), (status = 422, body = Problem),
              (status = 503, body = Problem, description = "The card network failed; nothing was recorded")))]
async fn authorize(
    State(state): State<PaymentState>,
    RequiredKey(key): RequiredKey,
    ApiJson(request): ApiJson<AuthorizeRequest>,
) -> Result<Response> {
    let now = state.clock.now();
    let card = request.validate(now)?;
    let claim = Claim::new("authorizations", &key, request.fingerprint(&card));
    let respond = |outcome: Outcome<Authorization>| outcome.into_response(StatusCode::CREATED, StatusCode::CREATED);
    if let Some(recorded) = idempotency::replay(state.store.db(), &claim).await? {
        return Ok(respond(Outcome::Replayed(recorded)));
    }
    let answer = match verdict(&card) {
        Verdict::Answered(answer) => answer,
        Verdict::NetworkError => return Err(network_failure()),
        Verdict::Hang => {
            // A timer, not a blocked thread: it ends with the request when the caller gives up.
            tokio::time::sleep(HANG).await;
            return Err(network_failure());
        }
    };
    let new = NewAuthorization {
        id: AuthorizationId::generate(now),
        reference: request.reference,
        amount: request.amount,
        brand: card.brand(),
        last4: card.last4().to_owned(),
        answer,
    };
    let outcome = state.store.authorize(&new, &claim, now).await?;
    if let Outcome::Done(authorization) = &outcome {
        tracing::info!(
            authorization = %authorization.id,
            status = authorization.status.as_str(),
            decline_code = authorization.decline_code.map(DeclineCode::as_str),
            "Card authorization recorded."
        );
    }
    Ok(respond(outcome))
}

/// Which authorizations to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListAuthorizations {
    /// The caller's reference the authorizations were made under (required).
    reference: String,
    /// Page size, 1 to 100 (default 20).
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Lists the authorizations made under a reference, oldest first: how a caller that crashed
/// mid-payment finds out what it had done.
#[utoipa::path(get, path = "/v1/authorizations", params(ListAuthorizations),
    responses((status = 200, body = Page<Authorization>), (status = 422, body = Problem)))]
async fn list_authorizations(
    State(state): State<PaymentState>,
    ApiQuery(query): ApiQuery<ListAuthorizations>,
) -> Result<Json<Page<Authorization>>> {
    check_reference(&query.reference).map_err(|why| Error::invalid("reference", why))?;
    let limit = page::limit(query.limit)?;
    let after = query
        .cursor
        .map(|cursor| {
            page::decode_cursor(&cursor)
                .and_then(|key| AuthorizationId::parse(&key).map_err(|e| Error::invalid("cursor", e)))
        })
        .transpose()?;
    let rows = state.store.by_reference(&query.reference, after.as_ref(), limit + 1).await?;
    Ok(Json(page::paginate(rows, limit, |authorization| authorization.id.to_string())))
}

/// Gets an authorization.
#[utoipa::path(get, path = "/v1/authorizations/{id}", params(("id" = String, Path, description = "Authorization id")),
    responses((status = 200, body = Authorization), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn get_authorization(State(state): State<PaymentState>, Path(id): Path<String>) -> Result<Json<Authorization>> {
    let id = parse_id(&id)?;
    state.store.authorization(&id).await?.map(Json).ok_or_else(|| Error::not_found("authorization", id.as_str()))
}

/// Captures the whole authorized amount. Idempotent: capturing again answers the captured
/// authorization. A declined or voided authorization is a 409; so is a capture the issuer
/// declines, with a detail starting `capture_declined` (recorded as the decline code).
#[utoipa::path(post, path = "/v1/authorizations/{id}/capture", params(("id" = String, Path, description = "Authorization id")),
    responses((status = 200, body = Authorization), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn capture(State(state): State<PaymentState>, Path(id): Path<String>) -> Result<Json<Authorization>> {
    let id = parse_id(&id)?;
    Ok(Json(state.store.capture(&id, state.clock.now()).await?))
}

/// Voids an authorization: the hold on the card is cancelled. Idempotent. A captured
/// authorization is a 409 (refund it instead), as is a declined one.
#[utoipa::path(post, path = "/v1/authorizations/{id}/void", params(("id" = String, Path, description = "Authorization id")),
    responses((status = 200, body = Authorization), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn void(State(state): State<PaymentState>, Path(id): Path<String>) -> Result<Json<Authorization>> {
    let id = parse_id(&id)?;
    Ok(Json(state.store.void(&id, state.clock.now()).await?))
}

/// How much to refund.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RefundRequest {
    /// The amount, in the currency of the payment, at most what was captured and not refunded.
    #[schema(schema_with = crate::money::bounded_schema)]
    amount: Money,
}

/// Refunds part or all of a captured payment. Requires an `Idempotency-Key` (a retry refunds
/// once). Only captured payments are refunded (else 409); all refunds together stay within the
/// captured amount (else 422 on `amount`).
#[utoipa::path(post, path = "/v1/authorizations/{id}/refunds", request_body = RefundRequest,
    params(("id" = String, Path, description = "Authorization id"),
           ("Idempotency-Key" = String, Header, description = "Required: a new unique key per refund, the same on retries")),
    responses((status = 201, body = Refund), (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem)))]
async fn refund(
    State(state): State<PaymentState>,
    Path(id): Path<String>,
    RequiredKey(key): RequiredKey,
    ApiJson(body): ApiJson<RefundRequest>,
) -> Result<Response> {
    let id = parse_id(&id)?;
    check_amount(body.amount).map_err(|why| Error::invalid("amount", why))?;
    let claim = Claim::new(&format!("refunds/{id}"), &key, body.amount.to_string());
    let outcome = state.store.refund(&id, body.amount, &claim, state.clock.now()).await?;
    Ok(outcome.into_response(StatusCode::CREATED, StatusCode::CREATED))
}
