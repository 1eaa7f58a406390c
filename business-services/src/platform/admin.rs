//! The operator's admin token (`admin_token` in the configuration): the break-glass credential
//! that opens every system's admin writes, such as `/admin/faults` and the broker's
//! subscriptions and replays. When none is configured it opens nothing. Named operator accounts
//! with roles are [`operators`](super::identity::operators); a door that identified one in the
//! admin role puts an [`Operator`] in the request's extensions, which the extractor accepts.

use std::fmt;
use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;

use super::error::Error;
use super::secret::{Secret, same_digest, token_digest};

/// The security scheme's name in the OpenAPI documents of routes that need [`Operator`].
pub const SECURITY_SCHEME: &str = "operator";

/// The token that opens admin writes, or none (closed). Its `Debug` never shows it.
#[derive(Clone, Default)]
pub struct AdminToken(Option<Arc<str>>);

impl fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() { "AdminToken(set)" } else { "AdminToken(unset)" })
    }
}

impl AdminToken {
    /// The token `token`, or a closed admin API when `None`.
    pub fn new(token: Option<&Secret>) -> Self {
        AdminToken(token.map(|token| token.expose().into()))
    }

    /// Checks the `Authorization: Bearer …` header of a request against the token: 401 when it
    /// is missing or wrong, 403 when one is sent but no token is configured.
    pub fn authorize(&self, authorization: Option<&str>) -> Result<(), Error> {
        let presented = authorization.and_then(|value| value.strip_prefix("Bearer "));
        match (&self.0, presented) {
            (Some(expected), Some(presented)) if same_secret(presented, expected) => Ok(()),
            (None, Some(_)) => Err(Error::Forbidden {
                detail: "the admin API is closed: set BOUTIQUE_ADMIN_TOKEN on the server to open it".into(),
            }),
            _ => Err(Error::Unauthorized {
                detail: "send the operator's admin token (BOUTIQUE_ADMIN_TOKEN) as 'Authorization: Bearer <token>'"
                    .into(),
            }),
        }
    }
}

/// Compares two secrets in time independent of where they differ, and of their lengths.
fn same_secret(presented: &str, expected: &str) -> bool {
    same_digest(&token_digest(presented), &token_digest(expected))
}

/// Extractor: the request carries the operator's admin token. Handlers that change how a
/// system runs take it, so the requirement shows in their signature; it rejects with the
/// problem that [`AdminToken::authorize`] names.
#[derive(Debug, Clone, Copy)]
pub struct Operator;

impl<S> FromRequestParts<S> for Operator
where
    AdminToken: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        // A door that identified a person in the admin role says so with an `Operator`.
        if parts.extensions.get::<Operator>().is_some() {
            return Ok(Operator);
        }
        let authorization = parts.headers.get(header::AUTHORIZATION).and_then(|value| value.to_str().ok());
        AdminToken::from_ref(state).authorize(authorization).map(|()| Operator)
    }
}

/// Adds the [`SECURITY_SCHEME`] (a bearer token) to an OpenAPI document, for routes that name
/// it in their `security`.
#[derive(Debug)]
pub struct OperatorSecurity;

impl utoipa::Modify for OperatorSecurity {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some("The operator's admin token (`admin_token`, `BOUTIQUE_ADMIN_TOKEN`)."))
            .build();
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(SECURITY_SCHEME, SecurityScheme::Http(scheme));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_configured_token_opens_and_none_closes() {
        let token = AdminToken::new(Some(&"correct-horse-battery".into()));
        assert!(token.authorize(Some("Bearer correct-horse-battery")).is_ok());
        for wrong in [None, Some("Bearer correct-horse"), Some("correct-horse-battery"), Some("Basic abc")] {
            assert!(matches!(token.authorize(wrong), Err(Error::Unauthorized { .. })), "{wrong:?}");
        }
        let closed = AdminToken::default();
        assert!(matches!(closed.authorize(Some("Bearer anything")), Err(Error::Forbidden { .. })));
        assert!(matches!(closed.authorize(None), Err(Error::Unauthorized { .. })), "no credential: say what to send");
    }

    #[test]
    fn debug_output_hides_the_token() {
        let shown = format!("{:?}", AdminToken::new(Some(&"correct-horse-battery".into())));
        assert!(!shown.contains("horse"), "{shown}");
    }
}
