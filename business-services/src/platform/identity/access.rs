//! Authorization per route: each system declares, in its descriptor, which callers may call
//! which of its routes; everything else is refused (deny by default). The [`guard`] runs after
//! routing and before any handler: it identifies the caller, then looks the route up.
//!
//! Three kinds of routes:
//! - **public**: the probes and the API document ([`PUBLIC_PATHS`]);
//! - **people's**: granted to roles ([`ADMIN`], [`SUPPORT`], …), opened by an operator account's
//!   token ([`operators`](super::operators)); every write a person makes is audited first;
//! - **service**: granted to named systems, opened by their service tokens.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::mesh::{CLIENT_CERT_HEADER, Connection};
use super::operators::{Operators, PERSON_PREFIX, Person, Role};
use super::{Identity, Verifier, unix_now};
use crate::platform::admin::Operator;
use crate::platform::audit::AuditTrail;
use crate::platform::error::Error;

/// People who run the store: every people's route admits them.
pub const ADMIN: &str = Role::Admin.caller();
/// Customer service.
pub const SUPPORT: &str = Role::Support.caller();
/// The warehouse floor.
pub const FULFILMENT: &str = Role::Fulfilment.caller();
/// Fraud review.
pub const RISK: &str = Role::Risk.caller();
/// The books.
pub const FINANCE: &str = Role::Finance.caller();
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
    &[Grant::get("/admin/faults", &[ADMIN]), Grant::new("PUT", "/admin/faults", &[ADMIN])];

impl Access {
    /// The grant for `method path` (admin routes included); `None` when no caller may call it,
    /// or when the system authenticates its own callers.
    pub fn grant(&self, method: &str, path: &str) -> Option<&'static Grant> {
        self.grants().find(|grant| grant.method == method && grant.path == path)
    }

    /// Every grant of the table, the admin routes included; none when the system authenticates
    /// its own callers.
    pub fn grants(&self) -> impl Iterator<Item = &'static Grant> {
        let (grants, admin): (&'static [Grant], &'static [Grant]) = match *self {
            Access::Routes(grants) => (grants, ADMIN_GRANTS),
            Access::Own => (&[], &[]),
        };
        grants.iter().chain(admin)
    }
}

/// Who may call one route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    /// The method, upper case.
    pub method: &'static str,
    /// The route as the router declares it, e.g. `/v1/orders/{id}/cancel`.
    pub path: &'static str,
    /// The systems and the people's roles that may call it.
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

    /// Whether it admits people in some role.
    pub fn admits_people(&self) -> bool {
        self.callers.iter().any(|caller| caller.starts_with(PERSON_PREFIX))
    }

    /// Whether it admits only people.
    pub fn admits_only_people(&self) -> bool {
        self.callers.iter().all(|caller| caller.starts_with(PERSON_PREFIX))
    }
}

/// Who the door let in.
enum Admitted {
    /// Anyone: a public path.
    Anyone,
    /// A system, by its service token.
    System(Identity),
    /// A person, by their operator account's token.
    Person(Person),
}

/// One system's door: who it is, its route table, and how it checks tokens.
#[derive(Debug, Clone)]
pub struct Door {
    system: &'static str,
    grants: &'static [Grant],
    verifier: Arc<Verifier>,
    operators: Operators,
    audit: Option<AuditTrail>,
    everywhere: Option<Arc<str>>,
}

impl Door {
    /// The door of `system`, admitting what `grants` (and [`ADMIN_GRANTS`]) allow to systems
    /// whose tokens `verifier` accepts. People's routes stay closed until [`Door::opened_to`].
    pub fn new(system: &'static str, grants: &'static [Grant], verifier: Arc<Verifier>) -> Door {
        Door { system, grants, verifier, operators: Operators::default(), audit: None, everywhere: None }
    }

    /// The same door, also admitting `operators` to the people's routes their roles open, with
    /// every write they make recorded in `audit`.
    pub fn opened_to(mut self, operators: Operators, audit: AuditTrail) -> Door {
        self.operators = operators;
        self.audit = Some(audit);
        self
    }

    /// The same door, also admitting `caller` on every service route: for test suites that
    /// call a system directly, as each of its peers would. The binary never builds one.
    pub fn admitting_everywhere(mut self, caller: &str) -> Door {
        self.everywhere = Some(caller.into());
        self
    }

    /// The system `authorization` or the mesh on `connection` proves, if any.
    async fn service_identity(&self, authorization: Option<&str>, connection: Connection<'_>) -> Option<Identity> {
        self.verifier.identify(authorization, connection, unix_now()).await.ok()
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
        let mut methods: Vec<&'static str> =
            Access::Routes(self.grants).grants().filter(|grant| grant.path == path).map(|grant| grant.method).collect();
        if methods.contains(&"GET") {
            methods.push("HEAD");
        }
        methods
    }

    /// The grant for `method path`, if any.
    pub fn grant(&self, method: &str, path: &str) -> Option<&'static Grant> {
        Access::Routes(self.grants).grant(method, path)
    }

    async fn admit(
        &self,
        method: &str,
        path: &str,
        authorization: Option<&str>,
        connection: Connection<'_>,
    ) -> Result<Admitted, Error> {
        if PUBLIC_PATHS.contains(&path) {
            return Ok(Admitted::Anyone);
        }
        let grant = self.grant(method, path);
        if let Some(grant) = grant.filter(|grant| grant.admits_people()) {
            match self.operators.identify(authorization) {
                Ok(person) if person.role.admitted_by(grant.callers) => return Ok(Admitted::Person(person)),
                Ok(person) => {
                    return Err(Error::Forbidden {
                        detail: format!(
                            "operator '{}' ({}) may not call {method} {path} on {}; it admits: {}",
                            person.name,
                            person.role,
                            self.system,
                            grant.callers.join(", ")
                        ),
                    });
                }
                Err(not_a_person) if grant.admits_only_people() => {
                    // A verified system is told it is not admitted; anything else, what to send.
                    return match self.service_identity(authorization, connection).await {
                        Some(identity) if self.admitted_everywhere(&identity) => Ok(Admitted::System(identity)),
                        Some(identity) => Err(self.refusal(&identity, method, path, grant)),
                        None => Err(not_a_person),
                    };
                }
                Err(_) => {}
            }
        }
        let identity = self.verifier.identify(authorization, connection, unix_now()).await?;
        match grant {
            Some(grant) if grant.admits(&identity.caller) || self.admitted_everywhere(&identity) => {
                Ok(Admitted::System(identity))
            }
            Some(grant) => Err(self.refusal(&identity, method, path, grant)),
            None => Err(Error::Forbidden {
                detail: format!("{method} {path} on {} admits no caller: its route table has no entry", self.system),
            }),
        }
    }

    /// Runs a person's write, recorded in the audit trail first: a write that cannot be
    /// recorded is not made.
    async fn audited(&self, person: &Person, request: Request, next: Next) -> Response {
        let method = request.method().as_str().to_owned();
        let target = request.uri().path_and_query().map_or_else(|| request.uri().path().to_owned(), |p| p.to_string());
        let Some(audit) = &self.audit else {
            return Error::Forbidden {
                detail: format!("{} has no audit trail: it takes no person's writes", self.system),
            }
            .into_response();
        };
        let pending = match audit.begin(person, self.system, &method, &target).await {
            Ok(pending) => pending,
            Err(error) => {
                tracing::error!(system = self.system, person = %person.name, %error, "The audit trail refused an entry.");
                return Error::Unavailable {
                    dependency: "the audit trail".into(),
                    detail: "a person's write is made only once it is recorded; try again later".into(),
                }
                .into_response();
            }
        };
        let response = next.run(request).await;
        if let Err(error) = audit.finish(pending, response.status().as_u16()).await {
            tracing::error!(system = self.system, person = %person.name, %error, "The audit trail missed a write's answer.");
        }
        response
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
    let (authorization, client_cert) =
        (header_text(&request, header::AUTHORIZATION), header_text(&request, CLIENT_CERT_HEADER));
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(address)| address.ip());
    let connection = Connection { peer, client_cert: client_cert.as_deref() };
    match door.admit(&method, &path, authorization.as_deref(), connection).await {
        Ok(Admitted::Anyone) => next.run(request).await,
        Ok(Admitted::System(identity)) => {
            tracing::debug!(caller = %identity.caller, "Caller verified.");
            request.extensions_mut().insert(identity);
            next.run(request).await
        }
        Ok(Admitted::Person(person)) => {
            tracing::debug!(person = %person.name, role = %person.role, "Operator identified.");
            request.extensions_mut().insert(person.identity());
            request.extensions_mut().insert(person.clone());
            if person.role == Role::Admin {
                request.extensions_mut().insert(Operator);
            }
            if method == "GET" { next.run(request).await } else { door.audited(&person, request, next).await }
        }
        Err(error) => {
            tracing::info!(system = door.system, %error, "Call refused at the door.");
            error.into_response()
        }
    }
}

/// The value of `request`'s header `name`, if it is text.
fn header_text(request: &Request, name: impl header::AsHeaderName) -> Option<String> {
    request.headers().get(name).and_then(|value| value.to_str().ok()).map(str::to_owned)
}
