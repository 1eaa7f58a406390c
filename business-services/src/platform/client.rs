//! The HTTP client one system uses to call another: a deadline on every call, retries with
//! jittered backoff for idempotent calls only, trace context passed on, problems decoded.

use std::time::Duration;

use reqwest::{Method, RequestBuilder, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::{Error, Problem, Result};
use super::trace::TraceContext;

/// How many times an idempotent call is retried after a transient failure.
const RETRIES: u32 = 2;

/// A typed caller of one peer system.
#[derive(Debug, Clone)]
pub struct PeerClient {
    peer: &'static str,
    base_url: String,
    http: reqwest::Client,
    deadline: Duration,
}

impl PeerClient {
    /// A client of `peer` (its system name, used in errors) at `base_url`, giving each call
    /// `deadline` to answer.
    pub fn new(peer: &'static str, base_url: &str, deadline: Duration) -> Self {
        PeerClient { peer, base_url: base_url.trim_end_matches('/').to_owned(), http: reqwest::Client::new(), deadline }
    }

    /// The peer's base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// GETs `path` as JSON; `Ok(None)` when the peer answers 404.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<Option<T>> {
        self.call(Method::GET, path, None::<&()>).await
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
    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<Option<T>> {
        let idempotent = matches!(method, Method::GET | Method::PUT | Method::DELETE | Method::HEAD);
        let mut attempt = 0;
        loop {
            let mut request = self.request(method.clone(), path);
            if let Some(body) = body {
                request = request.json(body);
            }
            let outcome = self.answer(request).await;
            let transient = matches!(outcome, Err(Error::Unavailable { .. }))
                || matches!(outcome, Err(Error::Upstream { status: 502..=504, .. }));
            if !(transient && idempotent && attempt < RETRIES) {
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
        request
    }

    async fn answer<T: DeserializeOwned>(&self, request: RequestBuilder) -> Result<Option<T>> {
        let unavailable = |detail: String| Error::Unavailable { dependency: self.peer.to_owned(), detail };
        let response = request.send().await.map_err(|e| unavailable(describe(&e, self.deadline)))?;
        let status = response.status();
        if status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let body = response.bytes().await.map_err(|e| unavailable(describe(&e, self.deadline)))?;
        if status.is_success() {
            return serde_json::from_slice(&body).map(Some).map_err(|e| Error::Upstream {
                dependency: self.peer.to_owned(),
                status: status.as_u16(),
                detail: format!("unexpected response body: {e}"),
            });
        }
        let detail = serde_json::from_slice::<Problem>(&body)
            .map(|problem| problem.detail)
            .unwrap_or_else(|_| String::from_utf8_lossy(&body).chars().take(200).collect());
        Err(Error::Upstream { dependency: self.peer.to_owned(), status: status.as_u16(), detail })
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
