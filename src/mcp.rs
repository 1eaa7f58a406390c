//! How `boutique` runs the MCP server: its signing key, its resource URL, its peers, tokens for
//! desktop and IDE clients, and the stdio transport.

use std::time::Duration;

use anyhow::Context;
use mcp_contract::token::{Grant, Role, TokenKey, unix_now};
use mcp_server::McpServer;

use crate::apps::mcp_peers;
use crate::config::Config;

/// The keys that sign and check capability tokens: the ring in `<data_dir>/keys/capability`,
/// made on first use and shared by every process of the store.
pub fn token_key(config: &Config) -> anyhow::Result<TokenKey> {
    Ok(TokenKey::open(&config.capability_keys())?)
}

/// The MCP endpoint's public URL: the audience of its tokens.
pub fn resource(config: &Config) -> String {
    format!("{}/mcp", config.url_of("mcp"))
}

/// Builds the server, reading the systems at their configured URLs.
async fn server(config: &Config) -> anyhow::Result<McpServer> {
    let credentials = config.trust()?.credentials("mcp");
    let urls = mcp_peers(|name| Ok::<_, std::convert::Infallible>(config.url_of(name)), &credentials)?;
    McpServer::build(&config.mcp, &urls, &config.data_dir, &resource(config), token_key(config)?).await
}

/// Mints a capability token for a desktop or IDE client.
pub fn mint(
    config: &Config,
    subject: &str,
    role: Role,
    customer: Option<String>,
    ttl: Duration,
) -> anyhow::Result<String> {
    let grant = Grant { subject: subject.to_owned(), role, customer, ttl };
    token_key(config)?.mint(&grant, &resource(config), unix_now()).context("the token could not be minted")
}

/// Parses a lifetime such as `90s`, `15m`, `2h` or a number of seconds.
pub fn parse_ttl(text: &str) -> Result<Duration, String> {
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let number: u64 = number.parse().map_err(|_| format!("`{text}` is not a lifetime such as 90s, 15m or 2h"))?;
    let seconds = match unit {
        "" | "s" => number,
        "m" => number * 60,
        "h" => number * 3600,
        _ => return Err(format!("`{text}`: the unit must be s, m or h")),
    };
    Ok(Duration::from_secs(seconds))
}

/// Serves one stdio session for the holder of `token`, reading the systems at their configured
/// URLs; the index is filled once before the session starts.
pub async fn serve_stdio(config: &Config, token: &str) -> anyhow::Result<()> {
    let server = server(config).await?;
    server.indexer().full_pass().await;
    server.serve_stdio(token).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_parse_with_units() {
        assert_eq!(parse_ttl("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_ttl("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_ttl("2h"), Ok(Duration::from_secs(7200)));
        assert!(parse_ttl("2d").unwrap_err().contains("unit"));
        assert!(parse_ttl("soon").is_err());
    }
}
