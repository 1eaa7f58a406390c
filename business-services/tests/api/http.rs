//! Small HTTP helpers for the tests.

use reqwest::{Response, StatusCode};
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

pub fn client() -> reqwest::Client {
    reqwest::Client::new()
}
