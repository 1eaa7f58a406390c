//! Service tokens on the wire: compact JWS (RFC 7515) carrying JWT claims (RFC 7519).
//!
//! `base64url(header) . base64url(claims) . base64url(signature)`, where the header names the
//! algorithm and the key (`kid`) and the signature covers the first two parts. Decoding checks
//! the shape only; [`super::Verifier`] checks the signature and the claims of service tokens,
//! and the MCP capability tokens, which carry claims of their own, are checked by theirs.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The `typ` of a service token.
pub const SERVICE_TOKEN_TYPE: &str = "JWT";
/// The `typ` of an access token for a resource server (RFC 9068): the MCP capability tokens. A
/// service verifier refuses it, so one kind of token is never taken for the other.
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";

/// The token's header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// The signature algorithm: `EdDSA`, `RS256` or `ES256`.
    pub alg: String,
    /// The signing key's id, looked up in the issuer's key set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// [`SERVICE_TOKEN_TYPE`] or [`ACCESS_TOKEN_TYPE`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typ: Option<String>,
}

/// One audience or several, as JWT allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    /// A single audience.
    One(String),
    /// Several.
    Many(Vec<String>),
}

impl Audience {
    /// Whether `audience` is among them.
    pub fn contains(&self, audience: &str) -> bool {
        match self {
            Audience::One(one) => one == audience,
            Audience::Many(many) => many.iter().any(|one| one == audience),
        }
    }
}

/// What a token says about its call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Who issued it.
    pub iss: String,
    /// The calling system (or, for external issuers, their name for it).
    pub sub: String,
    /// The called system(s).
    pub aud: Audience,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Expires at, Unix seconds.
    pub exp: i64,
    /// The trace the call belongs to, so a token seen in one trace is recognisable in another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
    /// A service account's email (Google ID tokens name the caller here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// A token split into its parts, its signature not yet checked.
#[derive(Debug, Clone)]
pub struct Unverified<C = Claims> {
    /// The header.
    pub header: Header,
    /// The claims.
    pub claims: C,
    /// `header.claims` as sent: what the signature covers.
    pub signed: String,
    /// The signature's bytes.
    pub signature: Vec<u8>,
}

/// Why a token's shape is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the token is malformed: {0}")]
pub struct Malformed(pub &'static str);

/// Splits and decodes `token`, whose claims are `C`, without checking its signature.
pub fn decode<C: DeserializeOwned>(token: &str) -> Result<Unverified<C>, Malformed> {
    let mut parts = token.split('.');
    let (Some(header), Some(claims), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Malformed("expected three base64url parts separated by dots"));
    };
    let json = |part: &str| URL_SAFE_NO_PAD.decode(part).map_err(|_| Malformed("a part is not base64url"));
    let header = serde_json::from_slice(&json(header)?).map_err(|_| Malformed("the header is not a JWS header"))?;
    let claims = serde_json::from_slice(&json(claims)?)
        .map_err(|_| Malformed("the claims lack a required field (iss, sub, aud, iat, exp, …)"))?;
    let signed = token[..token.len() - signature.len() - 1].to_owned();
    Ok(Unverified { header, claims, signed, signature: json(signature)? })
}

/// Encodes `header` and `claims` and appends the signature `sign` makes over them.
pub fn encode(header: &Header, claims: &impl Serialize, sign: impl FnOnce(&[u8]) -> Vec<u8>) -> String {
    let signed = format!("{}.{}", part(header), part(claims));
    let signature = URL_SAFE_NO_PAD.encode(sign(signed.as_bytes()));
    format!("{signed}.{signature}")
}

fn part(value: &impl Serialize) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap_or_else(|_| unreachable!("plain structs serialize")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> Claims {
        Claims {
            iss: "boutique".into(),
            sub: "checkout".into(),
            aud: Audience::One("payment".into()),
            iat: 1,
            exp: 61,
            trace: None,
            email: None,
        }
    }

    #[test]
    fn encodes_and_decodes_the_three_parts() {
        let header = Header { alg: "EdDSA".into(), kid: Some("k1".into()), typ: Some("JWT".into()) };
        let token = encode(&header, &claims(), |signed| signed.iter().rev().copied().collect());
        let decoded = decode::<Claims>(&token).unwrap();
        assert_eq!(decoded.header, header);
        assert_eq!(decoded.claims, claims());
        assert_eq!(decoded.signature, decoded.signed.bytes().rev().collect::<Vec<_>>());
    }

    #[test]
    fn refuses_what_is_not_a_compact_jws() {
        for token in ["", "a.b", "a.b.c.d", "!!.e30.AA", "e30.e30.AA"] {
            assert!(decode::<Claims>(token).is_err(), "{token}");
        }
    }

    #[test]
    fn an_audience_may_be_a_list() {
        let many: Audience = serde_json::from_str(r#"["crm","oms"]"#).unwrap();
        assert!(many.contains("oms") && !many.contains("payment"));
    }
}
