//! Fault injection: configured latency and error rates per route, changeable at run time, so
//! tests and demos can show how the store behaves when a system is slow or failing.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::extract::{FromRef, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::admin::{AdminToken, Operator};
use super::error::{Error, Result};
use super::extract::ApiJson;
use super::secret::Secret;

/// One fault: requests matching `method` and `path` wait `latency_ms`, then fail with
/// probability `error_rate`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// Only this method (any if absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Only paths matching this pattern, where `*` stands for one segment and a trailing
    /// `/**` for any rest, e.g. `/v1/authorizations/*/capture` (every `/v1/` path if absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Added latency in milliseconds.
    #[serde(default)]
    pub latency_ms: u32,
    /// Probability of answering 503 instead of serving, 0.0 to 1.0.
    #[serde(default)]
    pub error_rate: f64,
}

impl FaultRule {
    fn validate(&self, index: usize) -> Result<()> {
        let field = |name: &str| format!("rules[{index}].{name}");
        if !(0.0..=1.0).contains(&self.error_rate) {
            return Err(Error::invalid(field("error_rate"), "must be between 0.0 and 1.0"));
        }
        if self.latency_ms > 120_000 {
            return Err(Error::invalid(field("latency_ms"), "must be at most 120000"));
        }
        if let Some(method) = &self.method
            && Method::from_bytes(method.as_bytes()).is_err()
        {
            return Err(Error::invalid(field("method"), format!("'{method}' is not an HTTP method")));
        }
        if let Some(path) = &self.path
            && !path.starts_with('/')
        {
            return Err(Error::invalid(field("path"), "must start with '/'"));
        }
        Ok(())
    }

    fn matches(&self, method: &Method, path: &str) -> bool {
        self.method.as_deref().is_none_or(|m| m.eq_ignore_ascii_case(method.as_str()))
            && match &self.path {
                Some(pattern) => path_matches(pattern, path),
                None => path.starts_with("/v1/"),
            }
    }
}

fn path_matches(pattern: &str, path: &str) -> bool {
    let mut pattern = pattern.trim_matches('/').split('/');
    let mut path = path.trim_matches('/').split('/');
    loop {
        match (pattern.next(), path.next()) {
            (Some("**"), _) => return true,
            (Some(expected), Some(actual)) if expected == "*" || expected == actual => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// The faults of one system, as the admin endpoint shows and replaces them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FaultSettings {
    /// Rules, first match wins.
    #[serde(default)]
    pub rules: Vec<FaultRule>,
}

impl FaultSettings {
    /// Checks every rule; names the first bad field.
    pub fn validate(&self) -> Result<()> {
        self.rules.iter().enumerate().try_for_each(|(index, rule)| rule.validate(index))
    }
}

/// A system's live fault settings, shared by its middleware and its admin endpoint.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    settings: Arc<RwLock<FaultSettings>>,
    admin_token: AdminToken,
}

impl Faults {
    /// Faults starting from `settings`; the admin endpoint accepts `admin_token` as a bearer
    /// token and is closed when there is none.
    pub fn new(settings: FaultSettings, admin_token: Option<&Secret>) -> Self {
        Faults { settings: Arc::new(RwLock::new(settings)), admin_token: AdminToken::new(admin_token) }
    }

    /// The operator's token that opens this system's admin writes (these faults, and any
    /// admin routes of the system itself).
    pub fn admin_token(&self) -> &AdminToken {
        &self.admin_token
    }

    /// The current settings.
    pub fn get(&self) -> FaultSettings {
        self.settings.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// Replaces the settings.
    pub fn set(&self, settings: FaultSettings) {
        *self.settings.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = settings;
    }

    fn rule_for(&self, method: &Method, path: &str) -> Option<FaultRule> {
        self.settings
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .rules
            .iter()
            .find(|rule| rule.matches(method, path))
            .cloned()
    }
}

impl FromRef<Faults> for AdminToken {
    fn from_ref(faults: &Faults) -> AdminToken {
        faults.admin_token.clone()
    }
}

/// Middleware: delays or fails requests as the matching rule says.
pub async fn inject(State(faults): State<Faults>, request: Request, next: Next) -> Response {
    let Some(rule) = faults.rule_for(request.method(), request.uri().path()) else {
        return next.run(request).await;
    };
    if rule.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(rule.latency_ms.into())).await;
    }
    if rule.error_rate > 0.0 && fastrand::f64() < rule.error_rate {
        return Error::Unavailable { dependency: "this service".into(), detail: "injected fault".into() }
            .into_response();
    }
    next.run(request).await
}

/// `GET` and `PUT /admin/faults`, behind the admin token.
pub fn admin_routes(faults: Faults) -> Router {
    Router::new().route("/admin/faults", get(get_faults).put(put_faults)).with_state(faults)
}

async fn get_faults(_: Operator, State(faults): State<Faults>) -> Result<Json<FaultSettings>> {
    Ok(Json(faults.get()))
}

async fn put_faults(
    _: Operator,
    State(faults): State<Faults>,
    ApiJson(settings): ApiJson<FaultSettings>,
) -> Result<(StatusCode, Json<FaultSettings>)> {
    settings.validate()?;
    faults.set(settings.clone());
    tracing::warn!(rules = settings.rules.len(), "Fault injection changed.");
    Ok((StatusCode::OK, Json(settings)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_segments() {
        assert!(path_matches("/v1/authorizations/*/capture", "/v1/authorizations/au_1/capture"));
        assert!(!path_matches("/v1/authorizations/*/capture", "/v1/authorizations/au_1/void"));
        assert!(!path_matches("/v1/authorizations/*", "/v1/authorizations/au_1/void"));
        assert!(path_matches("/v1/authorizations/**", "/v1/authorizations/au_1/void"));
        assert!(path_matches("/v1/reservations", "/v1/reservations/"));
    }

    #[test]
    fn rules_default_to_api_routes_and_match_methods() {
        let rule = FaultRule { method: Some("post".into()), ..FaultRule::default() };
        assert!(rule.matches(&Method::POST, "/v1/reservations"));
        assert!(!rule.matches(&Method::GET, "/v1/reservations"));
        assert!(!rule.matches(&Method::POST, "/healthz"), "probes are never faulted by default");
    }

    #[test]
    fn validation_names_the_rule_and_field() {
        let settings =
            FaultSettings { rules: vec![FaultRule::default(), FaultRule { error_rate: 1.5, ..FaultRule::default() }] };
        match settings.validate() {
            Err(Error::Invalid { field, .. }) => assert_eq!(field, "rules[1].error_rate"),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }
}
