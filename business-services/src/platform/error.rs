//! The one error type of the business services, mapped once to `application/problem+json`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Result with the business services' [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while serving a request, phrased for the caller.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request could not be read at all (malformed JSON, wrong content type).
    #[error("{detail}")]
    BadRequest {
        /// What was wrong and how to fix it.
        detail: String,
    },
    /// A field of the request has a value the system does not accept.
    #[error("{field}: {message}")]
    Invalid {
        /// Path of the offending field, e.g. `quantity` or `price.currency`.
        field: String,
        /// What is wrong with it and what is expected.
        message: String,
    },
    /// The caller did not prove who it is.
    #[error("{detail}")]
    Unauthorized {
        /// What credentials to send.
        detail: String,
    },
    /// The caller may not do this.
    #[error("{detail}")]
    Forbidden {
        /// Why not, and what would allow it.
        detail: String,
    },
    /// A payment was declined: the customer can try another way to pay.
    #[error("{detail}")]
    PaymentDeclined {
        /// Why, and what to do.
        detail: String,
    },
    /// The addressed resource does not exist.
    #[error("{resource} '{id}' was not found")]
    NotFound {
        /// Kind of resource, e.g. `product`.
        resource: &'static str,
        /// The id that was looked up.
        id: String,
    },
    /// The request conflicts with the resource's current state.
    #[error("{detail}")]
    Conflict {
        /// What conflicts, and what to do instead.
        detail: String,
    },
    /// A dependency (database or peer system) could not be reached in time.
    #[error("{dependency} is unavailable: {detail}")]
    Unavailable {
        /// The system or store that failed.
        dependency: String,
        /// What happened.
        detail: String,
    },
    /// A peer system answered with an error of its own.
    #[error("{dependency} answered {status}: {detail}")]
    Upstream {
        /// The peer system.
        dependency: String,
        /// Its HTTP status.
        status: u16,
        /// Its problem detail.
        detail: String,
        /// The field of our request it named, for validation problems.
        field: Option<String>,
    },
    /// Something broke that the caller cannot fix; the detail is safe to show.
    #[error("{detail}")]
    Internal {
        /// What happened, without internals.
        detail: String,
    },
    /// The database failed in a way the caller cannot fix.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl Error {
    /// A 422 naming the field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Invalid { field: field.into(), message: message.into() }
    }

    /// A 404 for `resource` with `id`.
    pub fn not_found(resource: &'static str, id: impl Into<String>) -> Self {
        Error::NotFound { resource, id: id.into() }
    }

    /// A peer's 409 as this system's own [`Error::Conflict`], keeping its detail: for callers to
    /// whom the peer's conflict is a business outcome (out of stock, capture declined).
    pub fn peer_conflict(self) -> Self {
        match self {
            Error::Upstream { status: 409, detail, .. } => Error::Conflict { detail },
            other => other,
        }
    }

    /// The HTTP status this error maps to.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Error::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Error::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Error::Forbidden { .. } => StatusCode::FORBIDDEN,
            Error::PaymentDeclined { .. } => StatusCode::PAYMENT_REQUIRED,
            Error::NotFound { .. } => StatusCode::NOT_FOUND,
            Error::Conflict { .. } => StatusCode::CONFLICT,
            Error::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Error::Upstream { .. } => StatusCode::BAD_GATEWAY,
            Error::Database(error) if is_transient(error) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Database(_) | Error::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The problem document sent to the caller. Internal details of 5xx database errors are
    /// logged, never sent.
    pub fn problem(&self) -> Problem {
        let status = self.status();
        let (slug, title) = match self {
            Error::BadRequest { .. } => ("bad-request", "The request could not be read"),
            Error::Invalid { .. } => ("validation-failed", "A field has an invalid value"),
            Error::Unauthorized { .. } => ("unauthorized", "Authentication required"),
            Error::Forbidden { .. } => ("forbidden", "Not allowed"),
            Error::PaymentDeclined { .. } => ("payment-declined", "The payment was declined"),
            Error::NotFound { .. } => ("not-found", "Not found"),
            Error::Conflict { .. } => ("conflict", "The request conflicts with the current state"),
            Error::Unavailable { .. } => ("dependency-unavailable", "A dependency is unavailable"),
            Error::Upstream { .. } => ("dependency-failed", "A dependency answered with an error"),
            Error::Database(_) if status == StatusCode::SERVICE_UNAVAILABLE => {
                ("database-unavailable", "The database is unavailable")
            }
            Error::Database(_) | Error::Internal { .. } => ("internal", "Internal error"),
        };
        let detail = match self {
            Error::Database(_) if status == StatusCode::SERVICE_UNAVAILABLE => {
                "the database did not answer in time; retry shortly".to_owned()
            }
            Error::Database(_) => "an internal error occurred; it has been logged".to_owned(),
            other => other.to_string(),
        };
        let field = match self {
            Error::Invalid { field, .. } => Some(field.clone()),
            _ => None,
        };
        Problem { kind: format!("/problems/{slug}"), title: title.to_owned(), status: status.as_u16(), detail, field }
    }
}

fn is_transient(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed)
        || error.as_database_error().and_then(|e| e.code()).is_some_and(|code| {
            // SQLITE_BUSY / SQLITE_LOCKED after busy_timeout; PostgreSQL serialization or
            // deadlock failures and admin shutdowns: the same request may succeed on retry.
            matches!(&*code, "5" | "6" | "40001" | "40P01" | "57P01")
        })
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let problem = self.problem();
        if problem.status >= 500 {
            tracing::error!(error = %self, status = problem.status, "Request failed.");
        }
        let unauthorized = matches!(self, Error::Unauthorized { .. });
        let mut response = problem.into_response();
        if unauthorized {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// An RFC 9457 problem document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// A URI reference naming the kind of problem, e.g. `/problems/validation-failed`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong in this case and what to do about it.
    pub detail: String,
    /// The offending request field, for validation problems.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, axum::Json(self)).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        response
    }
}

/// Turns a database constraint violation into a 422 on `field`; other errors pass through.
pub fn on_constraint_violation(error: sqlx::Error, field: &str, message: impl Into<String>) -> Error {
    use sqlx::error::ErrorKind;
    match error.as_database_error().map(|e| e.kind()) {
        Some(ErrorKind::CheckViolation | ErrorKind::ForeignKeyViolation | ErrorKind::UniqueViolation) => {
            Error::invalid(field, message)
        }
        _ => Error::Database(error),
    }
}

/// A bad value, named by its field: what settings checks, request validation and domain rules
/// return instead of a `(field, message)` tuple.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// Path of the offending field, e.g. `quantity` or `shipping_address.country`.
    pub field: String,
    /// What is wrong with it and what is expected.
    pub message: String,
}

impl FieldError {
    /// `field` has a bad value: `message` says what is expected.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError { field: field.into(), message: message.into() }
    }

    /// The same error with its field under `prefix`, e.g. `push.` + `max_batch`.
    pub fn within(self, prefix: &str) -> Self {
        let field = if self.field.is_empty() { prefix.to_owned() } else { format!("{prefix}.{}", self.field) };
        FieldError { field, ..self }
    }
}

impl From<FieldError> for Error {
    fn from(error: FieldError) -> Self {
        Error::Invalid { field: error.field, message: error.message }
    }
}
