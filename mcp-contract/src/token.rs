//! Capability tokens: short-lived, signed statements of who is asking, in which role, and whose
//! data they may read. The runtime mints them from a signed-in session (never a model), and the
//! server checks one on every request.
//!
//! The format is a compact JWT signed with HMAC-SHA256 (`alg: HS256`, `typ: at+jwt`), so any
//! JWT library can read one; the claims are `iss`, `sub`, `aud`, `iat`, `exp`, `jti`, `role`
//! and, when the token reads one customer's data, `customer`.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Who issues tokens.
pub const ISSUER: &str = "boutique";
/// The shortest secret accepted, in bytes.
pub const MIN_SECRET_LEN: usize = 32;
/// The longest lifetime a token may have: capabilities are short-lived by design.
pub const MAX_TTL: Duration = Duration::from_secs(12 * 3600);
/// Clock skew tolerated between the minting and the checking machine.
const LEEWAY_SECS: i64 = 30;

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

/// The key that signs and checks tokens.
#[derive(Clone)]
pub struct TokenKey {
    secret: Vec<u8>,
}

impl fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenKey(***)")
    }
}

#[derive(Serialize, Deserialize)]
struct Header {
    alg: String,
    typ: String,
}

impl TokenKey {
    /// A key from `secret`, which must be at least [`MIN_SECRET_LEN`] bytes.
    pub fn new(secret: &[u8]) -> Result<TokenKey, String> {
        if secret.len() < MIN_SECRET_LEN {
            return Err(format!("must be at least {MIN_SECRET_LEN} bytes, got {}", secret.len()));
        }
        Ok(TokenKey { secret: secret.to_vec() })
    }

    /// A fresh random key, hex-encoded: what `boutique` writes on first start.
    pub fn generate_secret() -> String {
        let bytes: Vec<u8> = (0..2).flat_map(|_| uuid::Uuid::new_v4().into_bytes()).collect();
        hex::encode(bytes)
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
        let header = Header { alg: "HS256".into(), typ: "at+jwt".into() };
        let signing_input = format!("{}.{}", encode(&header), encode(&claims));
        let signature = URL_SAFE_NO_PAD.encode(self.mac(&signing_input));
        Ok(format!("{signing_input}.{signature}"))
    }

    /// Checks `token` for `audience` at `now` (Unix seconds) and returns its claims.
    pub fn verify(&self, token: &str, audience: &str, now: i64) -> Result<Claims, TokenError> {
        let malformed = || TokenError::Malformed("expected three dot-separated parts".into());
        let (signing_input, signature) = token.rsplit_once('.').ok_or_else(malformed)?;
        let (header, claims) = signing_input.split_once('.').ok_or_else(malformed)?;
        if claims.contains('.') {
            return Err(malformed());
        }
        let header: Header = decode(header, "header")?;
        if header.alg != "HS256" {
            return Err(TokenError::Malformed(format!("algorithm `{}` is not accepted", header.alg)));
        }
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| TokenError::Malformed("the signature is not base64url".into()))?;
        let mut mac = self.hasher();
        mac.update(signing_input.as_bytes());
        mac.verify_slice(&signature).map_err(|_| TokenError::BadSignature)?;
        let claims: Claims = decode(claims, "claims")?;
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

    fn hasher(&self) -> Hmac<Sha256> {
        // HMAC takes keys of any length; `new` cannot fail.
        <Hmac<Sha256> as KeyInit>::new_from_slice(&self.secret).expect("HMAC accepts any key length")
    }

    fn mac(&self, input: &str) -> Vec<u8> {
        let mut mac = self.hasher();
        mac.update(input.as_bytes());
        mac.finalize().into_bytes().to_vec()
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

fn decode<T: serde::de::DeserializeOwned>(part: &str, what: &str) -> Result<T, TokenError> {
    let bytes =
        URL_SAFE_NO_PAD.decode(part).map_err(|_| TokenError::Malformed(format!("the {what} is not base64url")))?;
    serde_json::from_slice(&bytes).map_err(|e| TokenError::Malformed(format!("the {what} is not valid: {e}")))
}

fn encode<T: Serialize>(value: &T) -> String {
    // Plain structs of strings and numbers: serializing them cannot fail.
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    const AUDIENCE: &str = "http://127.0.0.1:8094/mcp";

    fn key() -> TokenKey {
        TokenKey::new(&[1; 32]).unwrap()
    }

    fn grant(role: Role, customer: Option<&str>) -> Grant {
        Grant { subject: "cus-1001".into(), role, customer: customer.map(str::to_owned), ttl: Duration::from_secs(60) }
    }

    #[test]
    fn a_minted_token_verifies_until_it_expires() {
        let token = key().mint(&grant(Role::Customer, None), AUDIENCE, 1_000).unwrap();
        let claims = key().verify(&token, AUDIENCE, 1_030).unwrap();
        assert_eq!((claims.role, claims.customer.as_deref()), (Role::Customer, Some("cus-1001")));
        assert_eq!(key().verify(&token, AUDIENCE, 1_000 + 60 + LEEWAY_SECS), Err(TokenError::Expired));
        assert!(matches!(key().verify(&token, "http://other/mcp", 1_030), Err(TokenError::WrongAudience(_))));
    }

    #[test]
    fn claims_that_do_not_hold_together_are_refused() {
        let error = key().mint(&grant(Role::Customer, Some("cus-1002")), AUDIENCE, 0).unwrap_err();
        assert!(error.to_string().contains("only that customer"), "{error}");
        let long = Grant { ttl: MAX_TTL + Duration::from_secs(1), ..grant(Role::Agent, None) };
        assert!(matches!(key().mint(&long, AUDIENCE, 0), Err(TokenError::BadLifetime(_))));
        let bad_subject = Grant { subject: "a b".into(), ..grant(Role::Agent, None) };
        assert!(matches!(key().mint(&bad_subject, AUDIENCE, 0), Err(TokenError::BadClaims(_))));
        assert!(TokenKey::new(b"short").is_err());
    }

    #[test]
    fn unsigned_and_resigned_tokens_are_refused() {
        let token = key().mint(&grant(Role::Agent, Some("cus-1001")), AUDIENCE, 1_000).unwrap();
        let (_, rest) = token.split_once('.').unwrap();
        let none_header = encode(&Header { alg: "none".into(), typ: "at+jwt".into() });
        let unsigned = format!("{none_header}.{}", rest.rsplit_once('.').unwrap().0) + ".";
        assert!(matches!(key().verify(&unsigned, AUDIENCE, 1_000), Err(TokenError::Malformed(_))));
        let other = TokenKey::new(&[2; 32]).unwrap();
        assert_eq!(other.verify(&token, AUDIENCE, 1_000), Err(TokenError::BadSignature));
        assert!(matches!(key().verify("a.b", AUDIENCE, 1_000), Err(TokenError::Malformed(_))));
    }
}
