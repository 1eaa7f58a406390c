//! Authorization per route: each system declares, in its descriptor, which callers may call
//! which of its routes; everything else is refused (deny by default). The [`guard`] runs after
//! routing and before any handler: it verifies the caller's token, then looks the route up.
//!
//! Three kinds of routes:
//! - **public**: the probes and the API document ([`PUBLIC_PATHS`]);
//! - **operator**: granted to [`OPERATOR`], opened by the operator's credential (the admin
//!   token) instead of a service token;
//! - **service**: granted to named systems, opened by their service tokens.

use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{Identity, Rejection, Verifier, unix_now};
use crate::platform::admin::AdminToken;
use crate::platform::error::Error;

/// The caller a route names when people with the operator's credential call it.
pub const OPERATOR: &str = "operator";
/// The storefront's server.
pub const WEB: &str = "web";
/// The read-only MCP server.
pub const MCP: &str = "mcp";
/// The Concierge chat agent.
pub const CONCIERGE: &str = "concierge";
/// The event broker, pushing to consumers.
pub const BROKER: &str = "broker";
/// The checkout saga.
pub const CHECKOUT: &str = "checkout";
/// The cart.
pub const CART: &str = "cart";
/// Order management.
pub const OMS: &str = "oms";
/// The warehouse.
pub const WAREHOUSE: &str = "warehouse";

/// Who may call a system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Other systems (and operators), route by route; every other call is refused.
    Routes(&'static [Grant]),
    /// People and agents, whom it authenticates itself (sessions, capability tokens): the web,
    /// the Concierge and the MCP server.
    Own,
}

/// Routes every system serves to anyone: liveness, readiness, the API document.
pub const PUBLIC_PATHS: &[&str] = &["/healthz", "/readyz", "/openapi.json"];

/// The operator routes every system serves: its fault switch.
pub const ADMIN_GRANTS: &[Grant] =
    &[Grant::get("/admin/faults", &[OPERATOR]), Grant::new("PUT", "/admin/faults", &[OPERATOR])];

impl Access {
    /// The grant for `method path` (admin routes included); `None` when no caller may call it,
    /// or when the system authenticates its own callers.
    pub fn grant(&self, method: &str, path: &str) -> Option<&'static Grant> {
        let Access::Routes(grants) = *self else { return None };
        grants.iter().chain(ADMIN_GRANTS).find(|grant| grant.method == method && grant.path == path)
    }
}

/// Who may call one route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    /// The method, upper case.
    pub method: &'static str,
    /// The route as the router declares it, e.g. `/v1/orders/{id}/cancel`.
    pub path: &'static str,
    /// The systems (or [`OPERATOR`]) that may call it.
    pub callers: &'static [&'static str],
}

impl Grant {
    /// `callers` may call `method path`.
    pub const fn new(method: &'static str, path: &'static str, callers: &'static [&'static str]) -> Grant {
        Grant { method, path, callers }
    }

    /// `callers` may GET `path`.
    pub const fn get(path: &'static str, callers: &'static [&'static str]) -> Grant {
        Grant::new("GET", path, callers)
    }

    /// `callers` may POST to `path`.
    pub const fn post(path: &'static str, callers: &'static [&'static str]) -> Grant {
        Grant::new("POST", path, callers)
    }

    /// `callers` may PUT `path`.
    pub const fn put(path: &'static str, callers: &'static [&'static str]) -> Grant {
        Grant::new("PUT", path, callers)
    }

    /// Whether `caller` may call it.
    pub fn admits(&self, caller: &str) -> bool {
        self.callers.contains(&caller)
    }
}

/// One system's door: who it is, its route table, and how it checks tokens.
#[derive(Debug, Clone)]
pub struct Door {
    system: &'static str,
    grants: &'static [Grant],
    verifier: Arc<Verifier>,
    operator: AdminToken,
    everywhere: Option<Arc<str>>,
}

impl Door {
    /// The door of `system`, admitting what `grants` (and [`ADMIN_GRANTS`]) allow.
    pub fn new(system: &'static str, grants: &'static [Grant], verifier: Arc<Verifier>, operator: AdminToken) -> Door {
        Door { system, grants, verifier, operator, everywhere: None }
    }

    /// The same door, also admitting `caller` on every service route: for test suites that
    /// call a system directly, as each of its peers would. The binary never builds one.
    pub fn admitting_everywhere(mut self, caller: &str) -> Door {
        self.everywhere = Some(caller.into());
        self
    }

    /// The system `authorization` proves, if it carries a valid service token.
    async fn service_identity(&self, authorization: Option<&str>) -> Option<Identity> {
        let token = authorization?.strip_prefix("Bearer ")?;
        self.verifier.verify(token, unix_now()).await.ok()
    }

    fn admitted_everywhere(&self, identity: &Identity) -> bool {
        self.everywhere.as_deref() == Some(identity.caller.as_str())
    }

    fn refusal(&self, identity: &Identity, method: &str, path: &str, grant: &Grant) -> Error {
        Error::Forbidden {
            detail: format!(
                "'{}' may not call {method} {path} on {}; it admits: {}",
                identity.caller,
                self.system,
                grant.callers.join(", ")
            ),
        }
    }

    /// The methods the table grants on `path` (with HEAD beside GET, as the router serves it).
    fn methods(&self, path: &str) -> Vec<&'static str> {
        let mut methods: Vec<&'static str> = self
            .grants
            .iter()
            .chain(ADMIN_GRANTS)
            .filter(|grant| grant.path == path)
            .map(|grant| grant.method)
            .collect();
        if methods.contains(&"GET") {
            methods.push("HEAD");
        }
        methods
    }

    /// The grant for `method path`, if any.
    pub fn grant(&self, method: &str, path: &str) -> Option<&'static Grant> {
        Access::Routes(self.grants).grant(method, path)
    }

    async fn admit(&self, method: &str, path: &str, authorization: Option<&str>) -> Result<Option<Identity>, Error> {
        if PUBLIC_PATHS.contains(&path) {
            return Ok(None);
        }
        let grant = self.grant(method, path);
        if let Some(grant) = grant.filter(|grant| grant.admits(OPERATOR)) {
            let operator = self.operator.authorize(authorization);
            if operator.is_ok() {
                return Ok(Some(Identity { caller: OPERATOR.into(), issuer: "admin token".into() }));
            }
            if grant.callers == [OPERATOR] {
                // A verified system is told it is not admitted; anything else, what to send.
                return match self.service_identity(authorization).await {
                    Some(identity) if self.admitted_everywhere(&identity) => Ok(Some(identity)),
                    Some(identity) => Err(self.refusal(&identity, method, path, grant)),
                    None => operator.map(|()| None),
                };
            }
        }
        let token = authorization.and_then(|value| value.strip_prefix("Bearer ")).ok_or(Rejection::Missing)?;
        let identity = self.verifier.verify(token, unix_now()).await?;
        match grant {
            Some(grant) if grant.admits(&identity.caller) || self.admitted_everywhere(&identity) => Ok(Some(identity)),
            Some(grant) => Err(self.refusal(&identity, method, path, grant)),
            None => Err(Error::Forbidden {
                detail: format!("{method} {path} on {} admits no caller: its route table has no entry", self.system),
            }),
        }
    }
}

/// Middleware, as a route layer: verifies the caller and checks the route table before the
/// handler runs; the verified [`Identity`] is in the request's extensions.
pub async fn guard(State(door): State<Door>, mut request: Request, next: Next) -> Response {
    // A route layer always runs after routing; without a route there is no table entry either.
    let Some(path) = request.extensions().get::<MatchedPath>().map(|path| path.as_str().to_owned()) else {
        return Error::Forbidden { detail: format!("{} admits no unrouted call", door.system) }.into_response();
    };
    // HEAD is GET without the body, as the router serves it.
    let method = if request.method() == Method::HEAD { "GET".to_owned() } else { request.method().as_str().to_owned() };
    if door.grant(&method, &path).is_none() && !PUBLIC_PATHS.contains(&path.as_str()) {
        let allowed = door.methods(&path);
        if !allowed.is_empty() {
            // A method the route does not serve: what the router would answer, before any token.
            return (StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, allowed.join(","))]).into_response();
        }
    }
    let authorization =
        request.headers().get(header::AUTHORIZATION).and_then(|value| value.to_str().ok()).map(str::to_owned);
    match door.admit(&method, &path, authorization.as_deref()).await {
        Ok(identity) => {
            if let Some(identity) = identity {
                tracing::debug!(caller = %identity.caller, "Caller verified.");
                request.extensions_mut().insert(identity);
            }
            next.run(request).await
        }
        Err(error) => {
            tracing::info!(system = door.system, %error, "Call refused at the door.");
            error.into_response()
        }
    }
}
