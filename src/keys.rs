//! `boutique rotate-keys`: a new signing key for the systems' calls and one for the MCP
//! capability tokens. Running processes take the new keys up when they first meet them; tokens
//! the old keys signed stay valid until they expire, after which a later rotation removes them.

use business_services::platform::identity::unix_now;

use crate::config::Config;

/// Rotates both rings in the data folder; returns each ring's name and its new key's id.
pub fn rotate(config: &Config) -> anyhow::Result<Vec<(&'static str, String)>> {
    let now = unix_now();
    let service = config.service_keys()?.rotate(now)?;
    let capability = crate::mcp::token_key(config)?.ring().rotate(now)?;
    Ok(vec![("service", service), ("capability", capability)])
}
