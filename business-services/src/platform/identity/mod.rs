//! Service identity: every call between systems carries a short-lived signed token, and the
//! called system verifies it and checks its route table before any handler runs.
//!
//! A token ([`token`]) names its issuer, the calling system (`sub`), the called system
//! (`aud`), when it was issued and expires (a minute later), and the trace it belongs to. On
//! one machine the issuer is local: an Ed25519 key ring in the data folder ([`keys`]), shared by
//! the processes of one store. In production a [`Verifier`] also trusts external issuers by their
//! published keys ([`remote`]): Google-signed ID tokens (Cloud Run service to service) and
//! Kubernetes projected service-account tokens; or, in a service mesh, the sidecar's word for the
//! caller's mTLS identity ([`mesh`]). Which caller may call which route is the called system's
//! [`access`] table, deny by default; people are [`operators`] with roles.

pub mod access;
pub mod keys;
pub mod mesh;
pub mod operators;
pub mod remote;
pub mod token;

use std::sync::Arc;

use keys::KeyRing;
use mesh::{Connection, Mesh};
use remote::RemoteIssuer;
use token::{Audience, Claims};

use super::error::Error;
use super::trace::TraceContext;

/// The local issuer's name in tokens.
pub const LOCAL_ISSUER: &str = "boutique";
/// How long a token minted here lives.
pub const TOKEN_LIFETIME_SECS: i64 = 60;
/// How far the caller's and the callee's clocks may disagree.
pub const MAX_SKEW_SECS: i64 = 30;

/// Seconds since the Unix epoch, by the wall clock: tokens expire in real time, whatever clock
/// the business runs on.
pub fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// What a process trusts and signs with: the local issuer's keys, the external issuers it
/// accepts, the people who operate it, and (in test suites only) a caller every route admits.
#[derive(Debug, Clone)]
pub struct Trust {
    /// The local issuer's keys: they sign this process's calls and verify local tokens.
    pub keys: Arc<KeyRing>,
    /// External issuers whose tokens are accepted too.
    pub issuers: Vec<Arc<RemoteIssuer>>,
    /// The service mesh whose sidecars vouch for callers by mTLS, if any.
    pub mesh: Option<Arc<Mesh>>,
    /// The operator accounts whose tokens open people's routes (besides the admin token).
    pub operators: Vec<operators::Account>,
    /// A caller admitted on every route: for test suites that call systems directly, as their
    /// peers would. The binary never sets it.
    pub admitted_everywhere: Option<&'static str>,
}

impl Trust {
    /// Trusting only the local issuer's `keys`.
    pub fn local(keys: Arc<KeyRing>) -> Trust {
        Trust { keys, issuers: Vec::new(), mesh: None, operators: Vec::new(), admitted_everywhere: None }
    }

    /// The credentials `subject` calls others with.
    pub fn credentials(&self, subject: &str) -> Credentials {
        Credentials::new(subject, self.keys.clone())
    }

    /// The verifier of callers of `audience`.
    pub fn verifier(&self, audience: &str) -> Verifier {
        let verifier = self
            .issuers
            .iter()
            .fold(Verifier::new(audience, self.keys.clone()), |verifier, issuer| verifier.trusting(issuer.clone()));
        Verifier { mesh: self.mesh.clone(), ..verifier }
    }
}

/// A verified caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The calling system's name.
    pub caller: String,
    /// Who vouched for it.
    pub issuer: String,
}

/// What a system presents when it calls others: its name, signed by the local issuer.
#[derive(Clone)]
pub struct Credentials {
    subject: Arc<str>,
    ring: Arc<KeyRing>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("subject", &self.subject).finish_non_exhaustive()
    }
}

/// The same subject signed by the same ring.
impl PartialEq for Credentials {
    fn eq(&self, other: &Credentials) -> bool {
        self.subject == other.subject && Arc::ptr_eq(&self.ring, &other.ring)
    }
}

impl Eq for Credentials {}

impl Credentials {
    /// Credentials of `subject`, signed with `ring`'s newest key.
    pub fn new(subject: &str, ring: Arc<KeyRing>) -> Credentials {
        Credentials { subject: subject.into(), ring }
    }

    /// Who they name.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// A token for one call to `audience`, issued now, in the current trace.
    pub fn token_for(&self, audience: &str) -> String {
        self.token_at(audience, unix_now(), TOKEN_LIFETIME_SECS)
    }

    /// A token for `audience` issued at `issued`, living `lifetime` seconds.
    pub fn token_at(&self, audience: &str, issued: i64, lifetime: i64) -> String {
        let claims = Claims {
            iss: LOCAL_ISSUER.into(),
            sub: self.subject.to_string(),
            aud: Audience::One(audience.into()),
            iat: issued,
            exp: issued + lifetime,
            trace: TraceContext::current().map(|context| context.trace_id()),
            email: None,
        };
        self.ring.sign_token(token::SERVICE_TOKEN_TYPE, &claims)
    }
}

/// Why a token was refused: every variant is a 401 that says what to send instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// No `Authorization: Bearer` header.
    #[error("no service token: send 'Authorization: Bearer <token>' minted for this system")]
    Missing,
    /// Not a compact JWS.
    #[error(transparent)]
    Malformed(#[from] token::Malformed),
    /// An MCP capability token (`typ: at+jwt`), which speaks for a person to the MCP server only.
    #[error("this is an MCP capability token, which the MCP server alone accepts: send a service token")]
    NotAServiceToken,
    /// Issued by someone this system does not trust.
    #[error("tokens issued by '{0}' are not trusted here")]
    UnknownIssuer(String),
    /// The issuer holds no key by that id (or the token named none).
    #[error("the token's key '{0}' is not one of its issuer's keys")]
    UnknownKey(String),
    /// The signature does not match.
    #[error("the token's signature does not verify")]
    BadSignature,
    /// Expired.
    #[error("the token expired {0} s ago: mint one per call")]
    Expired(i64),
    /// Issued in the future, or living longer than tokens may.
    #[error("the token's times are not acceptable: issued {issued_in} s from now, living {lifetime} s")]
    BadTimes {
        /// Seconds from now to its issue time.
        issued_in: i64,
        /// Its lifetime in seconds.
        lifetime: i64,
    },
    /// Minted for another system.
    #[error("the token is for {got:?}, not for '{expected}'")]
    WrongAudience {
        /// This system.
        expected: String,
        /// The token's audience.
        got: Audience,
    },
    /// An external issuer vouched for an account that maps to no system.
    #[error("'{0}' is not a caller this store knows")]
    UnknownSubject(String),
    /// The external issuer's keys could not be fetched.
    #[error("the issuer's keys are unavailable: {0}")]
    KeysUnavailable(String),
    /// A client certificate header from an address that is not the mesh's sidecar.
    #[error("a client certificate header came from {0}, which is not the mesh's sidecar: send a service token")]
    UntrustedProxy(String),
    /// The sidecar's client certificate header names no SPIFFE id.
    #[error("the client certificate header names no spiffe:// URI")]
    NoClientIdentity,
}

impl From<Rejection> for Error {
    fn from(rejection: Rejection) -> Error {
        Error::Unauthorized { detail: rejection.to_string() }
    }
}

/// Checks the callers of one system: the tokens they present, or the mesh's word for them.
#[derive(Debug, Clone)]
pub struct Verifier {
    audience: Arc<str>,
    local: Arc<KeyRing>,
    remote: Vec<Arc<RemoteIssuer>>,
    mesh: Option<Arc<Mesh>>,
}

impl Verifier {
    /// A verifier for `audience` (the system's name) trusting the local issuer's `ring`.
    pub fn new(audience: &str, local: Arc<KeyRing>) -> Verifier {
        Verifier { audience: audience.into(), local, remote: Vec::new(), mesh: None }
    }

    /// The caller of a request with `authorization` over `connection`, at Unix time `now`: the
    /// bearer token's, or without one, the mesh's (if the system is in one).
    pub async fn identify(
        &self,
        authorization: Option<&str>,
        connection: Connection<'_>,
        now: i64,
    ) -> Result<Identity, Rejection> {
        match (authorization.and_then(|value| value.strip_prefix("Bearer ")), &self.mesh) {
            (Some(token), _) => self.verify(token, now).await,
            (None, Some(mesh)) if authorization.is_none() => mesh.identify(connection),
            _ => Err(Rejection::Missing),
        }
    }

    /// The same, also trusting `issuer`.
    pub fn trusting(mut self, issuer: Arc<RemoteIssuer>) -> Verifier {
        self.remote.push(issuer);
        self
    }

    /// The caller `token` proves, at Unix time `now`.
    pub async fn verify(&self, token: &str, now: i64) -> Result<Identity, Rejection> {
        let token = token::decode::<Claims>(token)?;
        if token.header.typ.as_deref().is_some_and(|typ| typ.eq_ignore_ascii_case(token::ACCESS_TOKEN_TYPE)) {
            return Err(Rejection::NotAServiceToken);
        }
        let claims = &token.claims;
        let kid = token.header.kid.clone().unwrap_or_default();
        let (key, audience, max_lifetime) = if claims.iss == LOCAL_ISSUER {
            (self.local.public_key(&kid), self.audience.as_ref(), TOKEN_LIFETIME_SECS)
        } else {
            let issuer = self
                .remote
                .iter()
                .find(|issuer| issuer.issues(&claims.iss))
                .ok_or_else(|| Rejection::UnknownIssuer(claims.iss.clone()))?;
            (issuer.key(&kid).await.map_err(Rejection::KeysUnavailable)?, issuer.audience(), remote::MAX_LIFETIME_SECS)
        };
        let key = key.ok_or(Rejection::UnknownKey(kid))?;
        if !key.verifies(&token.header.alg, token.signed.as_bytes(), &token.signature) {
            return Err(Rejection::BadSignature);
        }
        if now > claims.exp + MAX_SKEW_SECS {
            return Err(Rejection::Expired(now - claims.exp));
        }
        let lifetime = claims.exp - claims.iat;
        if claims.iat > now + MAX_SKEW_SECS || !(0..=max_lifetime).contains(&lifetime) {
            return Err(Rejection::BadTimes { issued_in: claims.iat - now, lifetime });
        }
        if !claims.aud.contains(audience) {
            return Err(Rejection::WrongAudience { expected: audience.to_owned(), got: claims.aud.clone() });
        }
        let caller = if claims.iss == LOCAL_ISSUER {
            claims.sub.clone()
        } else {
            let issuer = self.remote.iter().find(|issuer| issuer.issues(&claims.iss));
            issuer
                .and_then(|issuer| issuer.caller(claims))
                .ok_or_else(|| Rejection::UnknownSubject(claims.sub.clone()))?
        };
        Ok(Identity { caller, issuer: claims.iss.clone() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring() -> Arc<KeyRing> {
        Arc::new(KeyRing::ephemeral().unwrap())
    }

    #[tokio::test]
    async fn a_token_proves_its_subject_to_its_audience_only() {
        let ring = ring();
        let token = Credentials::new("checkout", ring.clone()).token_for("payment");
        let identity = Verifier::new("payment", ring.clone()).verify(&token, unix_now()).await.unwrap();
        assert_eq!(identity, Identity { caller: "checkout".into(), issuer: LOCAL_ISSUER.into() });
        let other = Verifier::new("inventory", ring).verify(&token, unix_now()).await;
        assert!(matches!(other, Err(Rejection::WrongAudience { .. })), "{other:?}");
    }

    #[tokio::test]
    async fn expired_future_long_lived_forged_and_foreign_tokens_are_refused() {
        let ring = ring();
        let verifier = Verifier::new("payment", ring.clone());
        let credentials = Credentials::new("checkout", ring);
        let now = unix_now();
        let expired = credentials.token_at("payment", now - 200, 60);
        assert!(matches!(verifier.verify(&expired, now).await, Err(Rejection::Expired(_))));
        let future = credentials.token_at("payment", now + 600, 60);
        assert!(matches!(verifier.verify(&future, now).await, Err(Rejection::BadTimes { .. })));
        let long = credentials.token_at("payment", now, 3_600);
        assert!(matches!(verifier.verify(&long, now).await, Err(Rejection::BadTimes { .. })));
        let foreign = Credentials::new("checkout", super::tests::ring()).token_for("payment");
        assert!(matches!(verifier.verify(&foreign, now).await, Err(Rejection::UnknownKey(_))));
        let token = credentials.token_for("payment");
        let (signed, _) = token.rsplit_once('.').unwrap();
        let forged = format!("{signed}.{}", "A".repeat(86));
        assert_eq!(verifier.verify(&forged, now).await, Err(Rejection::BadSignature));
        let claims = token.split('.').nth(1).unwrap();
        let header = base64_json(r#"{"alg":"none"}"#);
        assert!(verifier.verify(&format!("{header}.{claims}."), now).await.is_err(), "alg none is never accepted");
    }

    #[tokio::test]
    async fn a_changed_subject_breaks_the_signature() {
        let ring = ring();
        let token = Credentials::new("web", ring.clone()).token_for("payment");
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let claims = String::from_utf8(
            base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &parts[1]).unwrap(),
        )
        .unwrap();
        parts[1] = base64_json(&claims.replace("\"web\"", "\"checkout\""));
        let verdict = Verifier::new("payment", ring).verify(&parts.join("."), unix_now()).await;
        assert_eq!(verdict, Err(Rejection::BadSignature));
    }

    fn base64_json(json: &str) -> String {
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, json)
    }
}
