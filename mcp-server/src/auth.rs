//! Bearer capability tokens on every HTTP request: RFC 9728 protected-resource metadata, and a
//! 401 with `WWW-Authenticate` pointing at it when the token is missing or not acceptable.

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use mcp_contract::token::{Claims, Role, TokenError, TokenKey, unix_now};
use serde_json::json;

/// Who is calling, from a checked token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    claims: Claims,
}

impl Caller {
    /// The caller the checked `claims` describe.
    pub fn new(claims: Claims) -> Caller {
        Caller { claims }
    }

    /// Who is asking.
    pub fn subject(&self) -> &str {
        &self.claims.sub
    }

    /// In which role.
    pub fn role(&self) -> Role {
        self.claims.role
    }

    /// The token's id.
    pub fn token_id(&self) -> &str {
        &self.claims.jti
    }

    /// The customer whose data this caller reads: always from the token.
    pub fn customer(&self) -> Result<&str, String> {
        self.claims.customer.as_deref().ok_or_else(|| {
            format!(
                "this {} token is not scoped to a customer; mint one with --customer to read a customer's records",
                self.claims.role
            )
        })
    }

    /// The customer scope, if any.
    pub fn scope(&self) -> Option<&str> {
        self.claims.customer.as_deref()
    }

    /// Whether the token has expired by `now` (Unix seconds): a long stdio session outlives
    /// its token.
    pub fn expired(&self, now: i64) -> bool {
        now >= self.claims.exp
    }
}

/// Checks tokens addressed to one resource.
#[derive(Debug, Clone)]
pub struct Verifier {
    /// The signing key.
    pub key: TokenKey,
    /// This server's resource URL: the audience tokens must name.
    pub resource: String,
    /// Where the protected-resource metadata is served.
    pub metadata_url: String,
}

impl Verifier {
    /// The caller of `token`, now.
    pub fn caller(&self, token: &str) -> Result<Caller, TokenError> {
        self.key.verify(token, &self.resource, unix_now()).map(Caller::new)
    }

    /// The RFC 9728 metadata document.
    pub fn metadata(&self) -> serde_json::Value {
        json!({
            "resource": self.resource,
            "resource_name": "Online Boutique back office (read-only)",
            "bearer_methods_supported": ["header"],
            "authorization_servers": [],
            "scopes_supported": [],
        })
    }

    fn challenge(&self, error: Option<&TokenError>) -> Response {
        let mut value = format!("Bearer resource_metadata=\"{}\"", self.metadata_url);
        if let Some(error) = error {
            let description = error.to_string().replace('"', "'");
            value.push_str(&format!(", error=\"invalid_token\", error_description=\"{description}\""));
        }
        let detail = error.map_or_else(
            || "a bearer capability token is required: mint one with `boutique mcp token`".to_owned(),
            ToString::to_string,
        );
        let body = json!({ "type": "about:blank", "title": "Unauthorized", "status": 401, "detail": detail });
        let mut response = (StatusCode::UNAUTHORIZED, Json(body)).into_response();
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

/// Middleware: lets a request through only with an acceptable bearer token, and hands the
/// handlers its [`Caller`].
pub async fn require_token(State(verifier): State<Verifier>, mut request: Request, next: Next) -> Response {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")))
        .map(str::trim);
    let Some(token) = token else {
        return verifier.challenge(None);
    };
    match verifier.caller(token) {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(error) => {
            tracing::info!(target: "audit", %error, "Token refused.");
            verifier.challenge(Some(&error))
        }
    }
}
