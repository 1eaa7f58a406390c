//! Small HTTP helpers for the tests.

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::Value;

/// Reads a JSON body after checking the status.
pub async fn json(response: Response, expected: StatusCode) -> Value {
    let status = response.status();
    let body = response.text().await.expect("body");
    assert_eq!(status, expected, "unexpected status; body: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// Checks that a response is a problem document about `field` with `status`.
pub async fn assert_problem(response: Response, status: StatusCode, field: Option<&str>) -> Value {
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let problem = json(response, status).await;
    assert_eq!(content_type.as_deref(), Some("application/problem+json"), "{problem}");
    assert_eq!(problem["status"], status.as_u16(), "{problem}");
    assert_eq!(problem["field"].as_str(), field, "{problem}");
    assert!(problem["detail"].as_str().is_some_and(|d| !d.is_empty()), "{problem}");
    problem
}

/// A client whose requests to the systems the tests started carry a service token of
/// [`crate::harness::HARNESS`], minted for the system called.
pub fn client() -> TestClient {
    TestClient(reqwest::Client::new())
}

/// A client that presents no service token: for operator routes, which the admin token alone
/// opens.
pub fn plain() -> reqwest::Client {
    reqwest::Client::new()
}

/// See [`client`].
pub struct TestClient(reqwest::Client);

impl TestClient {
    pub fn request(&self, method: Method, url: impl AsRef<str>) -> RequestBuilder {
        let url = url.as_ref();
        let request = self.0.request(method, url);
        match crate::harness::token_for(url) {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    pub fn get(&self, url: impl AsRef<str>) -> RequestBuilder {
        self.request(Method::GET, url)
    }

    pub fn post(&self, url: impl AsRef<str>) -> RequestBuilder {
        self.request(Method::POST, url)
    }

    pub fn put(&self, url: impl AsRef<str>) -> RequestBuilder {
        self.request(Method::PUT, url)
    }

    pub fn delete(&self, url: impl AsRef<str>) -> RequestBuilder {
        self.request(Method::DELETE, url)
    }
}
