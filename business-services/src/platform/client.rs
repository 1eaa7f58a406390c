//! The HTTP client one system uses to call another: a deadline on every call, retries with
//! jittered backoff for idempotent calls only, trace context passed on, problems decoded.

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, RequestBuilder, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::{Error, Problem, Result};
use super::identity::Credentials;
use super::page::{MAX_LIMIT, Page};
use super::trace::TraceContext;

/// How many times an idempotent call is retried after a transient failure.
const RETRIES: u32 = 2;
/// The most pages [`PeerClient::get_all`] reads: a bound on work, not a limit anyone should reach.
const MAX_PAGES: usize = 100;

/// Adds authentication headers to a request, computed over what is sent: for peers that
/// authenticate their callers (the fraud engine checks signed requests).
pub trait RequestSigner: Send + Sync + std::fmt::Debug {
    /// The headers to add to a request of `method` to `path` carrying `body`.
    fn sign(&self, method: &Method, path: &str, body: &[u8]) -> Vec<(String, String)>;
}

/// A successful answer's body as the peer sent it, for what is not JSON (pictures).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawBody {
    /// The status, a 2xx.
    pub status: u16,
    /// Its `Content-Type` (`application/octet-stream` when the peer named none).
    pub content_type: String,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// `text` escaped for a URL's query or path segment.
pub fn escaped(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// A peer as its caller reaches it: where it is, and the credentials the caller presents.
#[derive(Debug, Clone)]
pub struct Peer {
    /// Its base URL.
    pub url: String,
    /// The caller's credentials: each call carries a token minted from them for the peer.
    pub credentials: Credentials,
}

impl Credentials {
    /// The peer at `url`, called with these credentials.
    pub fn at(&self, url: &str) -> Peer {
        Peer { url: url.to_owned(), credentials: self.clone() }
    }
}

/// A typed caller of one peer system.
#[derive(Debug, Clone)]
pub struct PeerClient {
    peer: &'static str,
    base_url: String,
    http: reqwest::Client,
    deadline: Duration,
    signer: Option<Arc<dyn RequestSigner>>,
    credentials: Option<Credentials>,
}

/// Whether a failed call may be sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retry {
    /// Sending it twice does what sending it once does.
    Safe,
    /// It may not be repeated.
    Never,
}

impl PeerClient {
    /// A client of `peer` (its system name, used in errors) at `peer`, giving each call
    /// `deadline` to answer.
    pub fn new(peer: &'static str, base_url: &str, deadline: Duration) -> Self {
        PeerClient {
            peer,
            base_url: base_url.trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
            deadline,
            signer: None,
            credentials: None,
        }
    }

    /// A client of the system `name` at `peer`, presenting a service token for it on every call.
    pub fn to(name: &'static str, peer: &Peer, deadline: Duration) -> Self {
        PeerClient { credentials: Some(peer.credentials.clone()), ..PeerClient::new(name, &peer.url, deadline) }
    }

    /// The same client, signing every request with `signer`.
    pub fn with_signer(mut self, signer: Arc<dyn RequestSigner>) -> Self {
        self.signer = Some(signer);
        self
    }

    /// The same client, presenting a service token minted from `credentials` on every call.
    pub fn with_credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Where the peer is reached.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The peer's system name.
    pub fn peer(&self) -> &'static str {
        self.peer
    }

    /// The error for a 404 from `path`, a route the peer must serve: whatever answers at the
    /// configured URL is not that system.
    pub fn unserved(&self, path: &str) -> Error {
        Error::Upstream {
            dependency: self.peer.to_owned(),
            status: 404,
            detail: format!("{} does not serve {path}: check the {} URL", self.base_url, self.peer),
            field: None,
        }
    }

    /// GETs `path` as JSON; `Ok(None)` when the peer answers 404.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<Option<T>> {
        self.json(self.call(Method::GET, path, None::<&()>, None, Retry::Safe).await?)
    }

    /// GETs every page of the list at `path` (which ends in `?` or `&`), [`MAX_LIMIT`] items
    /// at a time and at most [`MAX_PAGES`] pages; a 404 ends the list.
    pub async fn get_all<T: DeserializeOwned>(&self, path: &str) -> Result<Vec<T>> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut url = format!("{path}limit={MAX_LIMIT}");
            if let Some(cursor) = &cursor {
                url.push_str("&cursor=");
                url.extend(form_urlencoded::byte_serialize(cursor.as_bytes()));
            }
            let Some(page) = self.get::<Page<T>>(&url).await? else {
                return Ok(items);
            };
            items.extend(page.items);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(items),
            }
        }
        Ok(items)
    }

    /// GETs `path` as it is sent (a picture, say); `Ok(None)` on 404, and any other refusal
    /// an error, exactly as for [`PeerClient::get`].
    pub async fn get_raw(&self, path: &str) -> Result<Option<RawBody>> {
        self.call(Method::GET, path, None::<&()>, None, Retry::Safe).await
    }

    /// POSTs `body` to `path`; `Ok(None)` on 404. With an idempotency key (sent as the
    /// `Idempotency-Key` header) the call is retried after transient failures, else never.
    pub async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        idempotency_key: Option<&str>,
    ) -> Result<Option<T>> {
        let retry = if idempotency_key.is_some() { Retry::Safe } else { Retry::Never };
        self.json(self.call(Method::POST, path, Some(body), idempotency_key, retry).await?)
    }

    /// PUTs `body` to `path` (idempotent, so retried); `Ok(None)` on 404.
    pub async fn put<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<Option<T>> {
        self.json(self.call(Method::PUT, path, Some(body), None, Retry::Safe).await?)
    }

    /// DELETEs `path` (idempotent, so retried); `Ok(None)` on 404.
    pub async fn delete<T: DeserializeOwned>(&self, path: &str) -> Result<Option<T>> {
        self.json(self.call(Method::DELETE, path, None::<&()>, None, Retry::Safe).await?)
    }

    /// Checks the peer's liveness endpoint, for readiness probes.
    pub async fn healthz(&self) -> Result<(), String> {
        let response = self.request(Method::GET, "/healthz").send().await.map_err(|e| e.to_string())?;
        match response.status() {
            StatusCode::OK => Ok(()),
            status => Err(format!("{} /healthz answered {status}", self.peer)),
        }
    }

    #[tracing::instrument(name = "call", skip(self, body), fields(peer = self.peer))]
    async fn call<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        idempotency_key: Option<&str>,
        retry: Retry,
    ) -> Result<Option<RawBody>> {
        let body = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|e| Error::Internal { detail: format!("could not encode a request to {}: {e}", self.peer) })?;
        let mut attempt = 0;
        loop {
            let mut request = self.request(method.clone(), path);
            if let Some(key) = idempotency_key {
                request = request.header("idempotency-key", key);
            }
            if let Some(signer) = &self.signer {
                for (name, value) in signer.sign(&method, path, body.as_deref().unwrap_or_default()) {
                    request = request.header(name, value);
                }
            }
            if let Some(body) = &body {
                request = request.header("content-type", "application/json").body(body.clone());
            }
            let outcome = self.answer(request).await;
            let transient = matches!(outcome, Err(Error::Unavailable { .. }))
                || matches!(outcome, Err(Error::Upstream { status: 502..=504, .. }));
            if !(transient && retry == Retry::Safe && attempt < RETRIES) {
                return outcome;
            }
            attempt += 1;
            tokio::time::sleep(backoff(attempt)).await;
            tracing::debug!(attempt, "Retrying call.");
        }
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let mut request = self.http.request(method, format!("{}{path}", self.base_url)).timeout(self.deadline);
        if let Some(context) = TraceContext::current() {
            request = request.header("traceparent", context.child_header());
        }
        if let Some(credentials) = &self.credentials {
            request = request.bearer_auth(credentials.token_for(self.peer));
        }
        request
    }

    /// A successful answer's body, `None` on 404, or the peer's refusal as an error.
    async fn answer(&self, request: RequestBuilder) -> Result<Option<RawBody>> {
        let unavailable = |detail: String| Error::Unavailable { dependency: self.peer.to_owned(), detail };
        let response = request.send().await.map_err(|e| unavailable(describe(&e, self.deadline)))?;
        let status = response.status();
        if status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("application/octet-stream")
            .to_owned();
        let body = response.bytes().await.map_err(|e| unavailable(describe(&e, self.deadline)))?;
        if status.is_success() {
            return Ok(Some(RawBody { status: status.as_u16(), content_type, bytes: body.to_vec() }));
        }
        let (detail, field) = match serde_json::from_slice::<Problem>(&body) {
            Ok(problem) => (problem.detail, problem.field),
            Err(_) => (String::from_utf8_lossy(&body).chars().take(200).collect(), None),
        };
        // Overloaded or unavailable: a transient state of the peer, not an answer.
        if matches!(
            status,
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT | StatusCode::TOO_MANY_REQUESTS
        ) {
            return Err(unavailable(detail));
        }
        Err(Error::Upstream { dependency: self.peer.to_owned(), status: status.as_u16(), detail, field })
    }

    /// Decodes a successful answer's JSON; an empty one (204) decodes as `null`, i.e. into
    /// `()` or `Option`.
    fn json<T: DeserializeOwned>(&self, answer: Option<RawBody>) -> Result<Option<T>> {
        let Some(RawBody { status, bytes, .. }) = answer else { return Ok(None) };
        let body: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
        serde_json::from_slice(body).map(Some).map_err(|e| Error::Upstream {
            dependency: self.peer.to_owned(),
            status,
            detail: format!("unexpected response body: {e}"),
            field: None,
        })
    }
}

fn describe(error: &reqwest::Error, deadline: Duration) -> String {
    if error.is_timeout() {
        format!("no answer within {} ms", deadline.as_millis())
    } else if error.is_connect() {
        "connection refused or unreachable".to_owned()
    } else {
        error.to_string()
    }
}

/// Exponential backoff from 50 ms with full jitter, so retrying callers spread out.
fn backoff(attempt: u32) -> Duration {
    let ceiling_ms = 50_u64 << attempt.min(6);
    Duration::from_millis(fastrand::u64(ceiling_ms / 2..=ceiling_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_stays_bounded() {
        for attempt in 1..10 {
            let delay = backoff(attempt).as_millis();
            let ceiling = 50_u128 << attempt.min(6);
            assert!(delay >= ceiling / 2 && delay <= ceiling, "attempt {attempt}: {delay} ms");
        }
    }
}
