//! Browser sessions: a random cookie names a row of the web's store (known there only by its
//! SHA-256), which holds the cart, the currency and who is signed in. Every request gets one;
//! a request without a valid cookie starts a new session and the response sets its cookie. A new
//! session is stored only when something is kept in it ([`keep`]), so the page views of clients
//! that send no cookie write nothing.
//!
//! Cookies are `HttpOnly` and `SameSite=Lax`, so a form posted from another site arrives without
//! them and acts on a fresh, empty session: no cross-site request can act as the user.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::accounts::{Account, Session};
use super::{AppState, Failure};

/// The session cookie's name.
pub const COOKIE: &str = "boutique_session";
/// The currency of a new session.
pub const DEFAULT_CURRENCY: &str = "USD";
/// A session's `seen_at` is written at most this often (seconds).
const TOUCH_EVERY: i64 = 300;

/// The current request's session, put in the request's extensions by [`load`].
pub type Current = axum::Extension<Session>;

/// Where a visitor who may not see a page is sent instead.
#[derive(Debug)]
pub enum Elsewhere {
    /// To sign in, then back to this path.
    SignIn(String),
    /// To their own pages.
    To(&'static str),
    /// Nowhere: the page is not for their role.
    Forbidden(&'static str),
}

impl IntoResponse for Elsewhere {
    fn into_response(self) -> Response {
        match self {
            Elsewhere::SignIn(path) => axum::response::Redirect::to(&format!("/signin?next={path}")).into_response(),
            Elsewhere::To(path) => axum::response::Redirect::to(path).into_response(),
            Elsewhere::Forbidden(why) => {
                Failure::from(business_services::platform::Error::Forbidden { detail: why.into() }).into_response()
            }
        }
    }
}

/// `path` if it is a path on this site: only such a path is a place to go back to.
pub fn local_path(path: Option<&str>) -> Option<String> {
    path.filter(|path| path.starts_with('/') && !path.starts_with("//") && !path.contains('\\')).map(str::to_owned)
}

/// The signed-in staff member; anyone else is sent [`Elsewhere`].
pub struct Staff(pub Account);

/// The signed-in customer: their account and customer id; anyone else is sent [`Elsewhere`].
pub struct Customer(pub Account, pub String);

/// Who the request's session is signed in as, or where to send it: to sign in and come back.
fn account_of(parts: &Parts) -> Result<Account, Elsewhere> {
    let signed_in = parts.extensions.get::<Session>().and_then(|session| session.account.clone());
    signed_in.ok_or_else(|| Elsewhere::SignIn(parts.uri.path().to_owned()))
}

impl<S: Send + Sync> FromRequestParts<S> for Staff {
    type Rejection = Elsewhere;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Elsewhere> {
        let account = account_of(parts)?;
        match account.role.is_staff() {
            true => Ok(Staff(account)),
            false => Err(Elsewhere::Forbidden("the CRM dashboard is for staff accounts")),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Customer {
    type Rejection = Elsewhere;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Elsewhere> {
        let account = account_of(parts)?;
        match account.customer.clone() {
            Some(customer) if !account.role.is_staff() => Ok(Customer(account, customer)),
            _ => Err(Elsewhere::To("/crm")),
        }
    }
}

/// A fresh random cookie value (two v4 UUIDs: 244 random bits).
pub fn new_cookie() -> String {
    format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

/// How a cookie value is stored.
pub fn hash(cookie: &str) -> String {
    hex::encode(Sha256::digest(cookie.as_bytes()))
}

fn cookie_of(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(COOKIE)?.strip_prefix('='))
}

/// The `Set-Cookie` value for `cookie`, or one that deletes it when `None`.
pub fn set_cookie(state: &AppState, cookie: Option<&str>) -> HeaderValue {
    let secure = if state.settings.secure_cookies { "; Secure" } else { "" };
    let value = match cookie {
        Some(cookie) => {
            let max_age = state.settings.session_secs();
            format!("{COOKIE}={cookie}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}")
        }
        None => format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"),
    };
    HeaderValue::from_str(&value).expect("a cookie of hex digits is a valid header")
}

/// Middleware: loads the request's session (starting one if needed) into its extensions.
pub async fn load(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let oldest = now - state.settings.session_secs();
    let known = match cookie_of(request.headers()) {
        Some(cookie) => match state.accounts.session(&hash(cookie)).await {
            Ok(session) => session.filter(|session| session.seen_at >= oldest),
            Err(error) => return Failure::from(error).into_response(),
        },
        None => None,
    };
    let (session, new_cookie) = match known {
        Some(session) => {
            if now - session.seen_at > TOUCH_EVERY
                && let Err(error) = state.accounts.touch(&session.id_hash).await
            {
                return Failure::from(error).into_response();
            }
            (session, None)
        }
        None => {
            let (session, cookie) = fresh(None, DEFAULT_CURRENCY, None);
            (session, Some(cookie))
        }
    };
    request.extensions_mut().insert(session);
    let mut response = next.run(request).await;
    // A handler that set a cookie itself (sign-in, sign-out) has the last word.
    if let Some(cookie) = new_cookie
        && !response.headers().contains_key(header::SET_COOKIE)
    {
        response.headers_mut().insert(header::SET_COOKIE, set_cookie(&state, Some(&cookie)));
    }
    response
}

/// A new session (not stored yet) with `cart` (a new one if `None`), `currency`, signed in as
/// `account`, and its cookie.
fn fresh(cart: Option<&str>, currency: &str, account: Option<&Account>) -> (Session, String) {
    let cookie = new_cookie();
    let session = Session {
        id_hash: hash(&cookie),
        cart_id: cart.map_or_else(new_cart_id, str::to_owned),
        currency: currency.to_owned(),
        account: account.cloned(),
        conversation: None,
        seen_at: time::OffsetDateTime::now_utc().unix_timestamp(),
        stored: false,
    };
    (session, cookie)
}

/// The id of a new, empty storefront cart.
pub fn new_cart_id() -> String {
    format!("web-{}", uuid::Uuid::new_v4().simple())
}

/// Stores `session` if it is not yet: before anything is kept in it or under its cart.
pub async fn keep(state: &AppState, session: &Session) -> Result<(), Failure> {
    if !session.stored {
        let subject = session.account.as_ref().map(|account| account.subject.as_str());
        state.accounts.open_session(&session.id_hash, &session.cart_id, &session.currency, subject).await?;
    }
    Ok(())
}

/// Starts and stores a session with `cart`, `currency`, signed in as `account`; returns its
/// cookie.
pub async fn start(state: &AppState, cart: &str, currency: &str, account: &Account) -> Result<String, Failure> {
    let (session, cookie) = fresh(Some(cart), currency, Some(account));
    keep(state, &session).await?;
    Ok(cookie)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, HeaderValue::from_static("theme=dark; boutique_session=abc123"));
        assert_eq!(cookie_of(&headers), Some("abc123"));
        headers.clear();
        headers.append(header::COOKIE, HeaderValue::from_static("boutique_session_old=x"));
        assert_eq!(cookie_of(&headers), None);
    }
}
