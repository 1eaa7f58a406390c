//! External issuers, trusted by the keys they publish (JWKS): Google-signed ID tokens (Cloud Run
//! service to service) and Kubernetes projected service-account tokens.
//!
//! Keys are fetched once and kept for as long as the issuer's `Cache-Control: max-age` says (an
//! hour when it says nothing); a token naming a key not held refetches at once, at most every
//! [`MISS_REFETCH_SECS`], so rotations are seen without letting forged key ids hammer the issuer.
//! Each issuer maps the accounts it vouches for to the store's system names: an account the map
//! does not name is refused.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use super::keys::{Jwk, Jwks};
use super::token::Claims;

/// The longest lifetime accepted from an external issuer (Google's ID tokens live an hour).
pub const MAX_LIFETIME_SECS: i64 = 3_600;
/// The least time between two fetches caused by unknown key ids.
pub const MISS_REFETCH_SECS: u64 = 30;
/// How long keys are kept when the issuer names no `max-age`.
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(3_600);
/// How long a key fetch may take.
const FETCH_DEADLINE: Duration = Duration::from_secs(5);

/// Google's issuer names (both forms appear in ID tokens) and key set.
const GOOGLE_ISSUERS: &[&str] = &["https://accounts.google.com", "accounts.google.com"];
const GOOGLE_JWKS: &str = "https://www.googleapis.com/oauth2/v3/certs";

/// An external issuer, as configured (`[[identity.trust]]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum TrustSettings {
    /// Google-signed ID tokens; `callers` maps service-account emails to system names.
    Google {
        /// The audience the callers mint for: this system's URL on Cloud Run.
        audience: String,
        /// Service-account email → system name.
        callers: BTreeMap<String, String>,
        /// Where the keys are; Google's own unless testing.
        #[serde(default)]
        jwks_url: Option<String>,
    },
    /// Kubernetes projected service-account tokens; `callers` maps
    /// `system:serviceaccount:<namespace>:<name>` to system names.
    Kubernetes {
        /// The cluster's issuer URL (`kubectl get --raw /.well-known/openid-configuration`).
        issuer: String,
        /// Its key set, usually `<issuer>/openid/v1/jwks`.
        jwks_url: String,
        /// The audience the projected tokens carry.
        audience: String,
        /// Service-account subject → system name.
        callers: BTreeMap<String, String>,
    },
}

/// Which claim names the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SubjectClaim {
    Sub,
    Email,
}

#[derive(Debug, Default)]
struct Cache {
    keys: Jwks,
    fetched: Option<Instant>,
    max_age: Duration,
    /// When an unknown key id last made it refetch.
    missed: Option<Instant>,
}

/// An issuer trusted by its published keys.
#[derive(Debug)]
pub struct RemoteIssuer {
    issuers: Vec<String>,
    jwks_url: String,
    audience: String,
    subject: SubjectClaim,
    callers: BTreeMap<String, String>,
    http: reqwest::Client,
    cache: Mutex<Cache>,
}

impl RemoteIssuer {
    /// The issuer `settings` describe.
    pub fn new(settings: &TrustSettings) -> RemoteIssuer {
        let (issuers, jwks_url, audience, subject, callers) = match settings {
            TrustSettings::Google { audience, callers, jwks_url } => (
                GOOGLE_ISSUERS.iter().map(|issuer| issuer.to_string()).collect(),
                jwks_url.clone().unwrap_or_else(|| GOOGLE_JWKS.into()),
                audience,
                SubjectClaim::Email,
                callers,
            ),
            TrustSettings::Kubernetes { issuer, jwks_url, audience, callers } => {
                (vec![issuer.clone()], jwks_url.clone(), audience, SubjectClaim::Sub, callers)
            }
        };
        RemoteIssuer {
            issuers,
            jwks_url,
            audience: audience.clone(),
            subject,
            callers: callers.clone(),
            http: reqwest::Client::new(),
            cache: Mutex::new(Cache::default()),
        }
    }

    /// Whether tokens naming `iss` are this issuer's.
    pub fn issues(&self, iss: &str) -> bool {
        self.issuers.iter().any(|issuer| issuer == iss)
    }

    /// The audience its tokens must carry.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// The system the token's account maps to.
    pub fn caller(&self, claims: &Claims) -> Option<String> {
        let account = match self.subject {
            SubjectClaim::Sub => Some(&claims.sub),
            SubjectClaim::Email => claims.email.as_ref(),
        };
        account.and_then(|account| self.callers.get(account)).cloned()
    }

    /// The key named `kid`: from the cache while it is fresh and holds it, else fetched.
    pub async fn key(&self, kid: &str) -> Result<Option<Jwk>, String> {
        let mut cache = self.cache.lock().await;
        let age = cache.fetched.map(|fetched| fetched.elapsed());
        let fresh = age.is_some_and(|age| age < cache.max_age);
        if fresh && let Some(key) = cache.keys.key(kid) {
            return Ok(Some(key.clone()));
        }
        let miss_allowed = cache.missed.is_none_or(|missed| missed.elapsed() >= Duration::from_secs(MISS_REFETCH_SECS));
        if !fresh || miss_allowed {
            if fresh {
                cache.missed = Some(Instant::now());
            }
            match self.fetch().await {
                Ok((keys, max_age)) => {
                    cache.keys = keys;
                    cache.fetched = Some(Instant::now());
                    cache.max_age = max_age;
                }
                // Keys fetched earlier keep working while the issuer is unreachable.
                Err(error) if cache.fetched.is_none() => return Err(error),
                Err(error) => tracing::warn!(%error, url = %self.jwks_url, "Could not refresh an issuer's keys."),
            }
        }
        Ok(cache.keys.key(kid).cloned())
    }

    async fn fetch(&self) -> Result<(Jwks, Duration), String> {
        let response = self
            .http
            .get(&self.jwks_url)
            .timeout(FETCH_DEADLINE)
            .send()
            .await
            .map_err(|error| format!("{}: {error}", self.jwks_url))?;
        if !response.status().is_success() {
            return Err(format!("{} answered {}", self.jwks_url, response.status()));
        }
        let max_age = response
            .headers()
            .get(reqwest::header::CACHE_CONTROL)
            .and_then(|value| value.to_str().ok())
            .and_then(max_age)
            .unwrap_or(DEFAULT_MAX_AGE);
        let keys =
            response.json().await.map_err(|error| format!("{} is not a JWKS document: {error}", self.jwks_url))?;
        Ok((keys, max_age))
    }
}

/// The `max-age` of a `Cache-Control` header.
fn max_age(header: &str) -> Option<Duration> {
    header
        .split(',')
        .find_map(|directive| directive.trim().strip_prefix("max-age="))
        .and_then(|seconds| seconds.parse().ok())
        .map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::rsa::{KeySize, PublicKeyComponents};
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair, RSA_PKCS1_SHA256, RsaKeyPair};
    use axum::Router;
    use axum::routing::get;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;
    use crate::platform::identity::keys::KeyRing;
    use crate::platform::identity::token::{self, Audience, Header};
    use crate::platform::identity::{Identity, Rejection, Verifier, unix_now};

    /// A fake issuer's one key: Google signs with RSA (`RS256`), clusters often with P-256.
    enum FakeKey {
        Rsa(RsaKeyPair),
        Ec(EcdsaKeyPair),
    }

    impl FakeKey {
        fn alg(&self) -> &'static str {
            match self {
                FakeKey::Rsa(_) => "RS256",
                FakeKey::Ec(_) => "ES256",
            }
        }

        fn jwk(&self) -> serde_json::Value {
            match self {
                FakeKey::Rsa(pair) => {
                    let public = PublicKeyComponents::<Vec<u8>>::from(pair.public_key());
                    serde_json::json!({"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig",
                        "n": URL_SAFE_NO_PAD.encode(&public.n), "e": URL_SAFE_NO_PAD.encode(&public.e)})
                }
                FakeKey::Ec(pair) => {
                    let point = pair.public_key().as_ref();
                    serde_json::json!({"kty": "EC", "crv": "P-256", "kid": "k1", "alg": "ES256",
                        "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..])})
                }
            }
        }

        fn sign(&self, message: &[u8]) -> Vec<u8> {
            match self {
                FakeKey::Rsa(pair) => {
                    let mut signature = vec![0; pair.public_modulus_len()];
                    pair.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), message, &mut signature).unwrap();
                    signature
                }
                FakeKey::Ec(pair) => pair.sign(&SystemRandom::new(), message).unwrap().as_ref().to_vec(),
            }
        }
    }

    /// A fake issuer: one key, published as a JWKS document that counts its fetches.
    struct FakeIssuer {
        key: FakeKey,
        url: String,
        fetches: Arc<AtomicUsize>,
    }

    impl FakeIssuer {
        /// A cluster's issuer, signing with P-256.
        async fn cluster() -> FakeIssuer {
            FakeIssuer::start(FakeKey::Ec(EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap())).await
        }

        /// Google's, signing with RSA.
        async fn google() -> FakeIssuer {
            FakeIssuer::start(FakeKey::Rsa(RsaKeyPair::generate(KeySize::Rsa2048).unwrap())).await
        }

        async fn start(key: FakeKey) -> FakeIssuer {
            let jwks = serde_json::json!({"keys": [key.jwk()]});
            let fetches = Arc::new(AtomicUsize::new(0));
            let counted = fetches.clone();
            let app = Router::new().route(
                "/jwks",
                get(move || {
                    counted.fetch_add(1, Ordering::SeqCst);
                    let jwks = jwks.clone();
                    async move { ([("cache-control", "public, max-age=3600")], axum::Json(jwks)) }
                }),
            );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}/jwks", listener.local_addr().unwrap());
            tokio::spawn(async move { axum::serve(listener, app).await });
            FakeIssuer { key, url, fetches }
        }

        fn mint(&self, kid: &str, claims: &Claims) -> String {
            let header = Header { alg: self.key.alg().into(), kid: Some(kid.into()), typ: Some("JWT".into()) };
            token::encode(&header, claims, |signed| self.key.sign(signed))
        }
    }

    fn claims(iss: &str, sub: &str, aud: &str, email: Option<&str>) -> Claims {
        let now = unix_now();
        Claims {
            iss: iss.into(),
            sub: sub.into(),
            aud: Audience::One(aud.into()),
            iat: now,
            exp: now + 600,
            trace: None,
            email: email.map(str::to_owned),
        }
    }

    fn verifier(settings: &TrustSettings) -> Verifier {
        let local = Arc::new(KeyRing::ephemeral().unwrap());
        Verifier::new("payment", local).trusting(Arc::new(RemoteIssuer::new(settings)))
    }

    #[tokio::test]
    async fn kubernetes_tokens_are_checked_against_the_clusters_keys_fetched_once() {
        let cluster = FakeIssuer::cluster().await;
        let settings = TrustSettings::Kubernetes {
            issuer: "https://k8s.test".into(),
            jwks_url: cluster.url.clone(),
            audience: "boutique".into(),
            callers: [("system:serviceaccount:shop:checkout".to_owned(), "checkout".to_owned())].into(),
        };
        let verifier = verifier(&settings);
        let account = "system:serviceaccount:shop:checkout";
        let token = cluster.mint("k1", &claims("https://k8s.test", account, "boutique", None));
        for _ in 0..3 {
            let identity = verifier.verify(&token, unix_now()).await.unwrap();
            assert_eq!(identity, Identity { caller: "checkout".into(), issuer: "https://k8s.test".into() });
        }
        assert_eq!(cluster.fetches.load(Ordering::SeqCst), 1, "keys are cached for their max-age");

        let unknown = cluster.mint("k2", &claims("https://k8s.test", account, "boutique", None));
        assert_eq!(verifier.verify(&unknown, unix_now()).await, Err(Rejection::UnknownKey("k2".into())));
        assert_eq!(verifier.verify(&unknown, unix_now()).await, Err(Rejection::UnknownKey("k2".into())));
        assert_eq!(cluster.fetches.load(Ordering::SeqCst), 2, "an unknown key refetches, at most every 30 s");

        let stranger =
            cluster.mint("k1", &claims("https://k8s.test", "system:serviceaccount:shop:x", "boutique", None));
        assert!(matches!(verifier.verify(&stranger, unix_now()).await, Err(Rejection::UnknownSubject(_))));
        let elsewhere = cluster.mint("k1", &claims("https://k8s.test", account, "another-app", None));
        assert!(matches!(verifier.verify(&elsewhere, unix_now()).await, Err(Rejection::WrongAudience { .. })));
        let (signed, _) = token.rsplit_once('.').unwrap();
        let forged = format!("{signed}.{}", URL_SAFE_NO_PAD.encode([7u8; 64]));
        assert_eq!(verifier.verify(&forged, unix_now()).await, Err(Rejection::BadSignature));
    }

    #[tokio::test]
    async fn google_id_tokens_name_their_caller_by_service_account_email() {
        let google = FakeIssuer::google().await;
        let email = "checkout@shop.iam.gserviceaccount.com";
        let settings = TrustSettings::Google {
            audience: "https://payment-abc.a.run.app".into(),
            callers: [(email.to_owned(), "checkout".to_owned())].into(),
            jwks_url: Some(google.url.clone()),
        };
        let verifier = verifier(&settings);
        let token = google.mint(
            "k1",
            &claims("https://accounts.google.com", "1234567890", "https://payment-abc.a.run.app", Some(email)),
        );
        assert_eq!(verifier.verify(&token, unix_now()).await.unwrap().caller, "checkout");
        let (signed, signature) = token.rsplit_once('.').unwrap();
        let mut flipped = URL_SAFE_NO_PAD.decode(signature).unwrap();
        flipped[0] ^= 1;
        let forged = format!("{signed}.{}", URL_SAFE_NO_PAD.encode(&flipped));
        assert_eq!(verifier.verify(&forged, unix_now()).await, Err(Rejection::BadSignature));
        let confused = token::encode(
            &Header { alg: "HS256".into(), kid: Some("k1".into()), typ: Some("JWT".into()) },
            &token::decode::<Claims>(&token).unwrap().claims,
            |_| signature.as_bytes().to_vec(),
        );
        assert_eq!(
            verifier.verify(&confused, unix_now()).await,
            Err(Rejection::BadSignature),
            "an RSA key checks RS256 only, never an algorithm the token picks"
        );
        let unknown_issuer =
            google.mint("k1", &claims("https://evil.example", "1", "https://payment-abc.a.run.app", Some(email)));
        assert!(matches!(verifier.verify(&unknown_issuer, unix_now()).await, Err(Rejection::UnknownIssuer(_))));
    }

    #[tokio::test]
    async fn an_unreachable_issuer_is_named() {
        let settings = TrustSettings::Kubernetes {
            issuer: "https://k8s.test".into(),
            jwks_url: "http://127.0.0.1:9/jwks".into(),
            audience: "boutique".into(),
            callers: BTreeMap::new(),
        };
        let cluster = FakeIssuer::cluster().await;
        let token = cluster.mint("k1", &claims("https://k8s.test", "x", "boutique", None));
        assert!(matches!(verifier(&settings).verify(&token, unix_now()).await, Err(Rejection::KeysUnavailable(_))));
    }

    #[test]
    fn reads_max_age_among_other_directives() {
        assert_eq!(max_age("public, max-age=19822, must-revalidate"), Some(Duration::from_secs(19_822)));
        assert_eq!(max_age("no-store"), None);
    }

    #[test]
    fn settings_read_as_configured() {
        let settings: TrustSettings = serde_json::from_value(serde_json::json!({
            "kind": "kubernetes",
            "issuer": "https://kubernetes.default.svc",
            "jwks_url": "https://kubernetes.default.svc/openid/v1/jwks",
            "audience": "boutique",
            "callers": {"system:serviceaccount:shop:checkout": "checkout"},
        }))
        .unwrap();
        let issuer = RemoteIssuer::new(&settings);
        assert!(issuer.issues("https://kubernetes.default.svc") && !issuer.issues("https://accounts.google.com"));
    }
}
