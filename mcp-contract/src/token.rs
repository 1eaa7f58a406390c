//! Capability tokens: short-lived, signed statements of who is asking, in which role, and whose
//! data they may read. The runtime mints them from a signed-in session (never a model), and the
//! server checks one on every request.
//!
//! The format is a compact JWT access token (RFC 9068: `typ: at+jwt`) signed with Ed25519
//! (`alg: EdDSA`) by a key ring of the store's own, written and checked by the same JWS code as
//! the calls between systems ([`business_services::platform::identity`]); the claims are `iss`,
//! `sub`, `aud`, `iat`, `exp`, `jti`, `role` and, when the token reads one customer's data,
//! `customer`. The ring is not the systems' ring: a leaked capability key cannot speak for a
//! system, and a system refuses an `at+jwt` token whatever signed it.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use business_services::platform::identity::keys::{ALGORITHM, KeyError, KeyRing};
use business_services::platform::identity::token::{self as jws, ACCESS_TOKEN_TYPE};
use serde::{Deserialize, Serialize};

/// Who issues tokens.
pub const ISSUER: &str = "boutique";
/// The longest lifetime a token may have: capabilities are short-lived by design.
pub const MAX_TTL: Duration = Duration::from_secs(12 * 3600);
/// Clock skew tolerated between the minting and the checking machine.
const LEEWAY_SECS: i64 = 30;
/// How long a signing key keeps verifying after its successor is made: the longest-lived token
/// it may have signed, the skew, and a margin.
pub const RETIRE_AFTER_SECS: i64 = MAX_TTL.as_secs() as i64 + 600;

/// Seconds since the Unix epoch: the `now` tokens are minted and checked at.
pub fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs() as i64)
}

/// What the holder of a token is to the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A signed-in customer: their own data, in plain language.
    Customer,
    /// A customer-service agent: a customer's record with contact details masked.
    Agent,
    /// A fraud analyst: risk scores and reasons, contact details in full.
    FraudAnalyst,
    /// An administrator: everything a read can show.
    Admin,
}

impl Role {
    /// The role named `name`, as written in tokens and on the command line.
    pub fn parse(name: &str) -> Result<Role, String> {
        match name {
            "customer" => Ok(Role::Customer),
            "agent" => Ok(Role::Agent),
            "fraud_analyst" => Ok(Role::FraudAnalyst),
            "admin" => Ok(Role::Admin),
            other => Err(format!("unknown role `{other}`: expected customer, agent, fraud_analyst or admin")),
        }
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Agent => "agent",
            Role::FraudAnalyst => "fraud_analyst",
            Role::Admin => "admin",
        }
    }

    /// Staff see internal records (notes, standing reasons, risk reasons); customers do not.
    pub fn is_staff(self) -> bool {
        self != Role::Customer
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The claims a token carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer: [`ISSUER`].
    pub iss: String,
    /// Who is asking: a customer id, an agent's or an analyst's user name.
    pub sub: String,
    /// The server the token is for: its resource URL.
    pub aud: String,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Expires at, Unix seconds.
    pub exp: i64,
    /// Unique token id, for the audit log.
    pub jti: String,
    /// The holder's role.
    pub role: Role,
    /// The one customer whose data the token reads; for a customer, themselves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
}

/// A request for a token.
#[derive(Debug, Clone)]
pub struct Grant {
    /// Who is asking.
    pub subject: String,
    /// In which role.
    pub role: Role,
    /// Whose data may be read; defaults to the subject for customers.
    pub customer: Option<String>,
    /// How long the token lives, at most [`MAX_TTL`].
    pub ttl: Duration,
}

/// Why a token was refused. The message is safe to show the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a compact JWT of ours.
    #[error("the token is malformed: {0}")]
    Malformed(String),
    /// The signature does not match: forged or signed with another key.
    #[error("the token's signature is not valid")]
    BadSignature,
    /// Past its expiry.
    #[error("the token expired; mint a new one")]
    Expired,
    /// Issued in the future, or living longer than allowed.
    #[error("the token's lifetime is not acceptable: {0}")]
    BadLifetime(String),
    /// Minted for another server.
    #[error("the token is for `{0}`, not this server")]
    WrongAudience(String),
    /// Claims that do not hold together.
    #[error("the token's claims are not acceptable: {0}")]
    BadClaims(String),
}

/// The keys that sign and check tokens: an Ed25519 ring whose newest key signs.
#[derive(Debug, Clone)]
pub struct TokenKey {
    ring: Arc<KeyRing>,
}

impl TokenKey {
    /// Signs and checks with `ring`.
    pub fn new(ring: Arc<KeyRing>) -> TokenKey {
        TokenKey { ring }
    }

    /// The ring in `folder` (made with one key on first use), shared by every process that mints
    /// or checks tokens for one store; keys are retired [`RETIRE_AFTER_SECS`] after rotation.
    pub fn open(folder: &Path) -> Result<TokenKey, KeyError> {
        Ok(TokenKey::new(Arc::new(KeyRing::open(folder, RETIRE_AFTER_SECS, unix_now())?)))
    }

    /// A key of its own, held in memory only: for tests, and tokens no other process checks.
    pub fn ephemeral() -> Result<TokenKey, KeyError> {
        Ok(TokenKey::new(Arc::new(KeyRing::ephemeral()?)))
    }

    /// The ring, to rotate.
    pub fn ring(&self) -> &KeyRing {
        &self.ring
    }

    /// Mints a token for `grant`, addressed to `audience`, issued at `now` (Unix seconds).
    pub fn mint(&self, grant: &Grant, audience: &str, now: i64) -> Result<String, TokenError> {
        if grant.ttl.is_zero() || grant.ttl > MAX_TTL {
            return Err(TokenError::BadLifetime(format!("ttl must be between 1 s and {} h", MAX_TTL.as_secs() / 3600)));
        }
        let customer = match grant.role {
            Role::Customer => Some(grant.customer.clone().unwrap_or_else(|| grant.subject.clone())),
            _ => grant.customer.clone(),
        };
        let claims = Claims {
            iss: ISSUER.to_owned(),
            sub: grant.subject.clone(),
            aud: audience.to_owned(),
            iat: now,
            exp: now + i64::try_from(grant.ttl.as_secs()).unwrap_or(i64::MAX),
            jti: uuid::Uuid::new_v4().simple().to_string(),
            role: grant.role,
            customer,
        };
        check_claims(&claims)?;
        Ok(self.ring.sign_token(ACCESS_TOKEN_TYPE, &claims))
    }

    /// Checks `token` for `audience` at `now` (Unix seconds) and returns its claims.
    pub fn verify(&self, token: &str, audience: &str, now: i64) -> Result<Claims, TokenError> {
        let token = jws::decode::<Claims>(token).map_err(|malformed| TokenError::Malformed(malformed.0.into()))?;
        let header = &token.header;
        if header.typ.as_deref() != Some(ACCESS_TOKEN_TYPE) || header.alg != ALGORITHM {
            return Err(TokenError::Malformed(format!(
                "expected an `{ACCESS_TOKEN_TYPE}` token signed `{ALGORITHM}`, got `{}` signed `{}`",
                header.typ.as_deref().unwrap_or("no type"),
                header.alg
            )));
        }
        let key = header.kid.as_deref().and_then(|kid| self.ring.public_key(kid));
        if !key.is_some_and(|key| key.verifies(ALGORITHM, token.signed.as_bytes(), &token.signature)) {
            return Err(TokenError::BadSignature);
        }
        let claims = token.claims;
        if claims.iss != ISSUER {
            return Err(TokenError::BadClaims(format!("issuer `{}` is not `{ISSUER}`", claims.iss)));
        }
        if claims.aud != audience {
            return Err(TokenError::WrongAudience(claims.aud));
        }
        if now >= claims.exp + LEEWAY_SECS {
            return Err(TokenError::Expired);
        }
        if claims.iat > now + LEEWAY_SECS {
            return Err(TokenError::BadLifetime("issued in the future".into()));
        }
        if claims.exp - claims.iat > i64::try_from(MAX_TTL.as_secs()).unwrap_or(i64::MAX) {
            return Err(TokenError::BadLifetime(format!("lives longer than {} h", MAX_TTL.as_secs() / 3600)));
        }
        check_claims(&claims)?;
        Ok(claims)
    }
}

/// Rules every token's claims obey, checked at minting and at every use.
fn check_claims(claims: &Claims) -> Result<(), TokenError> {
    let plain = |value: &str| {
        (1..=100).contains(&value.len())
            && value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'))
    };
    if !plain(&claims.sub) {
        return Err(TokenError::BadClaims("the subject must be 1 to 100 characters of [A-Za-z0-9-_.@]".into()));
    }
    if let Some(customer) = &claims.customer
        && business_services::crm::client::CustomerId::parse(customer).is_err()
    {
        return Err(TokenError::BadClaims(format!("`{customer}` is not a customer id such as cus-1001")));
    }
    if claims.role == Role::Customer && claims.customer.as_deref() != Some(claims.sub.as_str()) {
        return Err(TokenError::BadClaims("a customer's token reads only that customer's data".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use business_services::platform::identity::{Credentials, Rejection, Verifier};

    use super::*;

    const AUDIENCE: &str = "http://127.0.0.1:8094/mcp";

    fn key() -> TokenKey {
        TokenKey::ephemeral().unwrap()
    }

    fn grant(role: Role, customer: Option<&str>) -> Grant {
        Grant { subject: "cus-1001".into(), role, customer: customer.map(str::to_owned), ttl: Duration::from_secs(60) }
    }

    #[test]
    fn a_minted_token_verifies_until_it_expires() {
        let key = key();
        let token = key.mint(&grant(Role::Customer, None), AUDIENCE, 1_000).unwrap();
        let claims = key.verify(&token, AUDIENCE, 1_030).unwrap();
        assert_eq!((claims.role, claims.customer.as_deref()), (Role::Customer, Some("cus-1001")));
        assert_eq!(key.verify(&token, AUDIENCE, 1_000 + 60 + LEEWAY_SECS), Err(TokenError::Expired));
        assert!(matches!(key.verify(&token, "http://other/mcp", 1_030), Err(TokenError::WrongAudience(_))));
    }

    #[test]
    fn claims_that_do_not_hold_together_are_refused() {
        let key = key();
        let error = key.mint(&grant(Role::Customer, Some("cus-1002")), AUDIENCE, 0).unwrap_err();
        assert!(error.to_string().contains("only that customer"), "{error}");
        let long = Grant { ttl: MAX_TTL + Duration::from_secs(1), ..grant(Role::Agent, None) };
        assert!(matches!(key.mint(&long, AUDIENCE, 0), Err(TokenError::BadLifetime(_))));
        let bad_subject = Grant { subject: "a b".into(), ..grant(Role::Agent, None) };
        assert!(matches!(key.mint(&bad_subject, AUDIENCE, 0), Err(TokenError::BadClaims(_))));
    }

    #[test]
    fn unsigned_resigned_and_retyped_tokens_are_refused() {
        let key = key();
        let token = key.mint(&grant(Role::Agent, Some("cus-1001")), AUDIENCE, 1_000).unwrap();
        let (_, rest) = token.split_once('.').unwrap();
        let claims = rest.rsplit_once('.').unwrap().0;
        let header = |json: &str| URL_SAFE_NO_PAD.encode(json);
        let unsigned = format!("{}.{claims}.", header(r#"{"alg":"none","typ":"at+jwt"}"#));
        assert!(matches!(key.verify(&unsigned, AUDIENCE, 1_000), Err(TokenError::Malformed(_))));
        let service_typed = format!("{}.{rest}", header(r#"{"alg":"EdDSA","typ":"JWT"}"#));
        assert!(matches!(key.verify(&service_typed, AUDIENCE, 1_000), Err(TokenError::Malformed(_))));
        assert_eq!(TokenKey::ephemeral().unwrap().verify(&token, AUDIENCE, 1_000), Err(TokenError::BadSignature));
        assert!(matches!(key.verify("a.b", AUDIENCE, 1_000), Err(TokenError::Malformed(_))));
    }

    #[tokio::test]
    async fn a_capability_token_never_passes_for_a_service_token_nor_the_reverse() {
        let key = key();
        let capability = key.mint(&grant(Role::Admin, None), "crm", unix_now()).unwrap();
        let verifier = Verifier::new("crm", key.ring.clone());
        assert_eq!(verifier.verify(&capability, unix_now()).await, Err(Rejection::NotAServiceToken));
        let service = Credentials::new("mcp", key.ring.clone()).token_for(AUDIENCE);
        assert!(matches!(key.verify(&service, AUDIENCE, unix_now()), Err(TokenError::Malformed(_))));
    }

    #[test]
    fn tokens_signed_before_a_rotation_verify_until_they_expire() {
        let folder = tempfile::tempdir().unwrap();
        let (minter, checker) = (TokenKey::open(folder.path()).unwrap(), TokenKey::open(folder.path()).unwrap());
        let now = unix_now();
        let before = minter.mint(&grant(Role::Customer, None), AUDIENCE, now).unwrap();
        minter.ring().rotate(now + 1).unwrap();
        let after = minter.mint(&grant(Role::Customer, None), AUDIENCE, now + 1).unwrap();
        assert_ne!(
            jws::decode::<Claims>(&before).unwrap().header.kid,
            jws::decode::<Claims>(&after).unwrap().header.kid
        );
        for token in [&before, &after] {
            assert!(checker.verify(token, AUDIENCE, now + 2).is_ok(), "another process sees the new key");
        }
    }
}
