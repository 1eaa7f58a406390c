//! Who is talking: a signed session token (the storefront or dashboard mints it at sign-in,
//! `boutique chat` for operators), and the scope a conversation reads within.

use mcp_contract::token::{Claims, Role, TokenKey, unix_now};

/// The audience of session tokens.
pub const AUDIENCE: &str = "boutique-concierge";

/// Whose data a conversation may read, on whose behalf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// Who is talking.
    pub subject: String,
    /// As what.
    pub role: Role,
    /// The customer served: the customer themselves, or the one a staff member chose.
    pub customer: Option<String>,
    /// The storefront cart the conversation was opened beside, if any.
    pub cart: Option<String>,
}

/// The signed-in session a bearer token stands for.
pub fn verify(key: &TokenKey, bearer: &str) -> Result<Claims, String> {
    key.verify(bearer, AUDIENCE, unix_now()).map_err(|error| error.to_string())
}
