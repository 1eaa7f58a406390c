//! The web server: storefront, sign-in, order pages, CRM dashboard and the chat proxy, each page
//! rendered with Leptos ([`pages`]) from what the peers answer.

mod accounts;
mod assets;
mod chat;
mod countries;
mod crm;
mod pages;
mod password;
mod peers;
mod render;
mod session;
mod shop;

use business_services::platform::FieldError;
use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use business_services::platform::db::Db;
use business_services::platform::error::Error;
use mcp_contract::token::TokenKey;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

pub use accounts::{AccountStore, DEMO_PASSWORD, MIGRATOR, seed_demo_accounts};
pub use peers::PeerUrls;

/// The web's settings (`[web]` in the configuration file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebSettings {
    /// PBKDF2 rounds for new password hashes (OWASP's 2023 advice for PBKDF2-HMAC-SHA256).
    pub password_iterations: u32,
    /// Days a session lasts without being used.
    pub session_days: u32,
    /// Mark cookies `Secure` (HTTPS only): on behind a TLS-terminating proxy.
    pub secure_cookies: bool,
}

impl Default for WebSettings {
    fn default() -> Self {
        WebSettings { password_iterations: 600_000, session_days: 14, secure_cookies: false }
    }
}

impl WebSettings {
    /// How long a session lasts unused, in seconds.
    pub fn session_secs(&self) -> i64 {
        i64::from(self.session_days) * 86_400
    }
}

impl business_services::platform::system::Settings for WebSettings {
    /// Checks every value; names the first bad field.
    fn validate(&self) -> Result<(), FieldError> {
        if !(1_000..=10_000_000).contains(&self.password_iterations) {
            return Err(FieldError::new(
                "password_iterations",
                format!("must be 1000 to 10000000, got {}", self.password_iterations),
            ));
        }
        if !(1..=365).contains(&self.session_days) {
            return Err(FieldError::new("session_days", format!("must be 1 to 365, got {}", self.session_days)));
        }
        Ok(())
    }
}

/// What every handler shares.
#[derive(Clone)]
struct AppState {
    accounts: AccountStore,
    peers: peers::Peers,
    settings: WebSettings,
}

/// A request that failed, shown as a page of the store (not a bare error).
#[derive(Debug)]
pub struct Failure(Error);

impl<E: Into<Error>> From<E> for Failure {
    fn from(error: E) -> Self {
        Failure(error.into())
    }
}

impl Failure {
    /// The status to answer: a peer's refusal of what the visitor sent (422, 409, 402…) is
    /// theirs to fix and keeps its status; any other failure of a peer is a 502 or 503.
    pub fn status(&self) -> StatusCode {
        match &self.0 {
            Error::Upstream { status, .. } if (400..500).contains(status) => {
                StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY)
            }
            error => error.status(),
        }
    }

    /// What went wrong, in words for the visitor.
    pub fn detail(&self) -> String {
        match &self.0 {
            Error::Upstream { detail, .. } => detail.clone(),
            error => error.problem().detail,
        }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self.0, "A page failed.");
        }
        let title = status.canonical_reason().unwrap_or("Something went wrong").to_owned();
        let page = render::page(&title, None, pages::error_page(title.clone(), self.detail()));
        // A failure is of this moment (a peer down, an id refused): no cache may keep it.
        (status, [(header::CACHE_CONTROL, "no-store")], page).into_response()
    }
}

/// The web's routes over its store `db`, calling the systems at `urls`; tokens are signed with
/// `key`.
pub fn router(settings: &WebSettings, db: &Db, urls: &PeerUrls, key: TokenKey) -> Router {
    let state =
        AppState { accounts: AccountStore::new(db), peers: peers::Peers::new(urls, key), settings: settings.clone() };
    Router::new()
        // Online Boutique's frontend routes, with its form fields.
        .route("/", get(shop::home))
        .route("/product/{id}", get(shop::product))
        .route("/cart", get(shop::cart).post(shop::add_to_cart))
        .route("/cart/empty", post(shop::empty_cart))
        .route("/cart/checkout", post(shop::checkout))
        .route("/setCurrency", post(shop::set_currency))
        .route("/logout", get(shop::logout))
        // Sign-in, the customer's orders, the dashboard, the chat.
        .route("/signin", get(shop::sign_in_page).post(shop::sign_in))
        .route("/account", get(shop::account))
        .route("/account/orders/{id}", get(shop::account_order))
        .route("/crm", get(crm::search))
        .route("/crm/customers/{id}", get(crm::customer))
        .route("/crm/customers/{id}/orders/{order}", get(crm::order))
        .route("/chat", post(chat::post))
        .route("/chat/stream", post(chat::stream))
        .route("/chat/handover", post(chat::handover))
        .fallback(shop::not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), session::load))
        // Pictures and static files need no session.
        .route("/pictures/{id}", get(shop::picture))
        .merge(assets::routes())
        .route("/_healthz", get(|| async { "ok" }))
        .with_state(state)
}

/// Drops sessions unused for longer than the settings allow, hourly, until `shutdown`.
pub async fn run_session_sweeper(settings: WebSettings, db: Db, shutdown: CancellationToken) {
    let store = AccountStore::new(&db);
    loop {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        match store.expire_sessions(now - settings.session_secs()).await {
            Ok(0) => {}
            Ok(dropped) => tracing::info!(dropped, "Dropped expired web sessions."),
            Err(error) => tracing::warn!(%error, "Could not drop expired web sessions."),
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(Duration::from_secs(3600)) => {}
        }
    }
}
