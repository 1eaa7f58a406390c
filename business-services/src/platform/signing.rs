//! Signed requests: how callers across the interconnect prove who they are to the fraud engine.
//!
//! A signed request carries three headers:
//!
//! - `x-boutique-key-id`: which shared secret signed it;
//! - `x-boutique-timestamp`: when, in Unix seconds;
//! - `x-boutique-signature`: hex HMAC-SHA256(secret, `"{METHOD}\n{target}\n{timestamp}\n{hex sha256(body)}"`),
//!   where the target is the request's path and query, e.g. `/v1/reviews?status=pending`.
//!
//! The engine accepts a request whose key it knows, whose signature matches, whose timestamp
//! is within [`MAX_SKEW_SECS`] of its clock, and whose signature it has not seen before.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, Method};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::platform::client::RequestSigner;
use crate::platform::clock::Clock;
use crate::platform::secret::Secret;

/// Names the shared secret that signed a request.
pub const KEY_ID_HEADER: &str = "x-boutique-key-id";
/// When the request was signed, in Unix seconds.
pub const TIMESTAMP_HEADER: &str = "x-boutique-timestamp";
/// The request's signature, lowercase hex.
pub const SIGNATURE_HEADER: &str = "x-boutique-signature";
/// How far a request's timestamp may be from the engine's clock, either way.
pub const MAX_SKEW_SECS: i64 = 300;
/// The shortest secret the engine accepts.
pub const MIN_SECRET_LEN: usize = 32;

type HmacSha256 = Hmac<Sha256>;

/// The text that is signed.
pub fn canonical(method: &str, target: &str, timestamp: i64, body: &[u8]) -> String {
    format!("{method}\n{target}\n{timestamp}\n{}", hex::encode(Sha256::digest(body)))
}

fn mac(secret: &str, method: &str, target: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length: this cannot fail.
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of every length"));
    mac.update(canonical(method, target, timestamp, body).as_bytes());
    mac
}

/// The signature of a request, lowercase hex.
pub fn sign(secret: &str, method: &str, target: &str, timestamp: i64, body: &[u8]) -> String {
    hex::encode(mac(secret, method, target, timestamp, body).finalize().into_bytes())
}

/// Whether `signature` (hex) signs the request with `secret`, compared in constant time.
pub fn verify(secret: &str, method: &str, target: &str, timestamp: i64, body: &[u8], signature: &str) -> bool {
    hex::decode(signature).is_ok_and(|bytes| mac(secret, method, target, timestamp, body).verify_slice(&bytes).is_ok())
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// A signing header is missing or unreadable.
    #[error("the request is not signed: header {0} is missing; sign every /v1/ request")]
    Missing(&'static str),
    /// The key id is not one the engine knows.
    #[error("unknown key id '{0}': use a key id the fraud engine is configured with")]
    UnknownKey(String),
    /// The timestamp is not a number of seconds.
    #[error("header {TIMESTAMP_HEADER} must be Unix seconds, got '{0}'")]
    BadTimestamp(String),
    /// The timestamp is too far from the engine's clock.
    #[error(
        "the timestamp is stale: {skew_secs} s from the fraud engine's clock, more than the {MAX_SKEW_SECS} s allowed; sign each request when sending it and keep clocks in sync"
    )]
    Stale {
        /// Seconds between the timestamp and the engine's clock.
        skew_secs: i64,
    },
    /// The signature does not match the request.
    #[error(
        "bad signature: it does not match the request signed with key '{0}'; check the secret and sign method, path with query, timestamp and body"
    )]
    BadSignature(String),
    /// The signature was used before.
    #[error("replayed request: this signature was already used; sign each request afresh")]
    Replayed,
}

/// A request whose signature checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The key that signed it.
    pub key_id: String,
    /// When it was signed, Unix seconds.
    pub timestamp: i64,
    /// Its signature, to remember against replays.
    pub signature: String,
}

/// Checks a request's signature with the secrets of `callers` (key id → secret) at `now`
/// (Unix seconds). Whether it was seen before is for the caller to check.
pub fn check(
    callers: &BTreeMap<String, Secret>,
    headers: &HeaderMap,
    method: &str,
    target: &str,
    body: &[u8],
    now: i64,
) -> Result<Verified, Rejection> {
    let header = |name: &'static str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .filter(|v| !v.is_empty())
            .ok_or(Rejection::Missing(name))
    };
    let key_id = header(KEY_ID_HEADER)?;
    let timestamp = header(TIMESTAMP_HEADER)?;
    let signature = header(SIGNATURE_HEADER)?;
    let secret = callers.get(key_id).ok_or_else(|| Rejection::UnknownKey(key_id.chars().take(64).collect()))?;
    let timestamp: i64 =
        timestamp.parse().map_err(|_| Rejection::BadTimestamp(timestamp.chars().take(32).collect()))?;
    let skew_secs = now.saturating_sub(timestamp).saturating_abs();
    if skew_secs > MAX_SKEW_SECS {
        return Err(Rejection::Stale { skew_secs });
    }
    if !verify(secret.expose(), method, target, timestamp, body, signature) {
        return Err(Rejection::BadSignature(key_id.to_owned()));
    }
    Ok(Verified { key_id: key_id.to_owned(), timestamp, signature: signature.to_owned() })
}

/// Signs a client's requests with a shared secret.
///
/// Never signs two requests the same: a retry sent within the second of its first attempt
/// would otherwise carry the same signature and be refused as a replay, so it gets the next
/// second's timestamp instead.
pub struct HmacSigner {
    key_id: String,
    secret: String,
    clock: Arc<dyn Clock>,
    /// Signatures issued for this second or later, with their timestamps.
    issued: Mutex<HashSet<(i64, String)>>,
}

impl HmacSigner {
    /// A signer that signs as `key_id` with `secret`, timestamps from `clock`.
    pub fn new(key_id: &str, secret: &str, clock: Arc<dyn Clock>) -> Self {
        HmacSigner { key_id: key_id.to_owned(), secret: secret.to_owned(), clock, issued: Mutex::new(HashSet::new()) }
    }
}

impl fmt::Debug for HmacSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HmacSigner").field("key_id", &self.key_id).field("secret", &"***").finish_non_exhaustive()
    }
}

impl RequestSigner for HmacSigner {
    fn sign(&self, method: &Method, path: &str, body: &[u8]) -> Vec<(String, String)> {
        let now = self.clock.now().unix_timestamp();
        let mut issued = self.issued.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        issued.retain(|(timestamp, _)| *timestamp >= now);
        let mut timestamp = now;
        let mut signature = sign(&self.secret, method.as_str(), path, timestamp, body);
        while !issued.insert((timestamp, signature.clone())) {
            timestamp += 1;
            signature = sign(&self.secret, method.as_str(), path, timestamp, body);
        }
        vec![
            (KEY_ID_HEADER.to_owned(), self.key_id.clone()),
            (TIMESTAMP_HEADER.to_owned(), timestamp.to_string()),
            (SIGNATURE_HEADER.to_owned(), signature),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::clock::ManualClock;
    use axum::http::HeaderValue;
    use time::OffsetDateTime;

    const SECRET: &str = "a-shared-secret-of-at-least-32-chars";

    fn callers() -> BTreeMap<String, Secret> {
        BTreeMap::from([("checkout".to_owned(), SECRET.into())])
    }

    fn headers(signed: Vec<(String, String)>) -> HeaderMap {
        signed
            .into_iter()
            .map(|(name, value)| (name.parse().unwrap(), HeaderValue::from_str(&value).unwrap()))
            .collect()
    }

    #[test]
    fn signatures_cover_method_target_timestamp_and_body() {
        let base = sign(SECRET, "POST", "/v1/assessments", 1_700_000_000, b"{}");
        assert_eq!(base.len(), 64);
        assert!(verify(SECRET, "POST", "/v1/assessments", 1_700_000_000, b"{}", &base));
        assert!(!verify(SECRET, "GET", "/v1/assessments", 1_700_000_000, b"{}", &base));
        assert!(!verify(SECRET, "POST", "/v1/assessments?x=1", 1_700_000_000, b"{}", &base));
        assert!(!verify(SECRET, "POST", "/v1/assessments", 1_700_000_001, b"{}", &base));
        assert!(!verify(SECRET, "POST", "/v1/assessments", 1_700_000_000, b"{ }", &base));
        assert!(!verify(
            "another-secret-of-at-least-32-chars!",
            "POST",
            "/v1/assessments",
            1_700_000_000,
            b"{}",
            &base
        ));
        assert!(!verify(SECRET, "POST", "/v1/assessments", 1_700_000_000, b"{}", "not hex"));
        assert_eq!(
            canonical("POST", "/v1/x", 5, b""),
            "POST\n/v1/x\n5\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn the_signer_never_repeats_a_signature() {
        let clock = Arc::new(ManualClock::new(OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap()));
        let signer = HmacSigner::new("checkout", SECRET, clock.clone());
        let first = headers(signer.sign(&Method::POST, "/v1/assessments", b"{}"));
        let retry = headers(signer.sign(&Method::POST, "/v1/assessments", b"{}"));
        assert_ne!(first[SIGNATURE_HEADER], retry[SIGNATURE_HEADER]);
        assert_eq!(first[TIMESTAMP_HEADER], "1700000000");
        assert_eq!(retry[TIMESTAMP_HEADER], "1700000001");
        let now = 1_700_000_000;
        for signed in [&first, &retry] {
            let verified = check(&callers(), signed, "POST", "/v1/assessments", b"{}", now).unwrap();
            assert_eq!(verified.key_id, "checkout");
        }
        clock.advance(time::Duration::seconds(5));
        let later = headers(signer.sign(&Method::POST, "/v1/assessments", b"{}"));
        assert_eq!(later[TIMESTAMP_HEADER], "1700000005");
        assert!(format!("{signer:?}").contains("***") && !format!("{signer:?}").contains(SECRET));
    }

    #[test]
    fn checks_name_what_is_wrong() {
        let now = 1_700_000_000;
        let clock = Arc::new(ManualClock::new(OffsetDateTime::from_unix_timestamp(now).unwrap()));
        let signed = |key: &str, secret: &str| {
            headers(HmacSigner::new(key, secret, clock.clone()).sign(&Method::GET, "/v1/x", b""))
        };
        let check_at = |headers: &HeaderMap, at: i64| check(&callers(), headers, "GET", "/v1/x", b"", at);
        assert!(check_at(&signed("checkout", SECRET), now).is_ok());
        assert_eq!(check_at(&HeaderMap::new(), now), Err(Rejection::Missing(KEY_ID_HEADER)));
        let mut no_signature = signed("checkout", SECRET);
        no_signature.remove(SIGNATURE_HEADER);
        assert_eq!(check_at(&no_signature, now), Err(Rejection::Missing(SIGNATURE_HEADER)));
        assert_eq!(check_at(&signed("partner", SECRET), now), Err(Rejection::UnknownKey("partner".into())));
        assert_eq!(
            check_at(&signed("checkout", "a-wrong-secret-of-at-least-32-chars"), now),
            Err(Rejection::BadSignature("checkout".into()))
        );
        assert_eq!(check_at(&signed("checkout", SECRET), now + 301), Err(Rejection::Stale { skew_secs: 301 }));
        assert_eq!(check_at(&signed("checkout", SECRET), now - 301), Err(Rejection::Stale { skew_secs: 301 }));
        assert!(check_at(&signed("checkout", SECRET), now + 300).is_ok());
        let mut garbled = signed("checkout", SECRET);
        garbled.insert(TIMESTAMP_HEADER, HeaderValue::from_static("yesterday"));
        assert_eq!(check_at(&garbled, now), Err(Rejection::BadTimestamp("yesterday".into())));
    }
}
