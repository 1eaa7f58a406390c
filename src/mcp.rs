//! How `boutique` runs the MCP server: its signing key, its resource URL, its peers, tokens for
//! desktop and IDE clients, and the stdio transport.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use mcp_contract::token::{Grant, Role, TokenKey, unix_now};
use mcp_server::McpServer;

use crate::apps::mcp_peers;
use crate::config::Config;

/// Where the generated signing key is kept when `mcp.token_secret` is unset.
pub fn key_file(config: &Config) -> PathBuf {
    config.data_dir.join("mcp-token.key")
}

/// The token signing key: `mcp.token_secret`, else the data folder's key file, created on
/// first use (readable by its owner only).
pub fn token_key(config: &Config) -> anyhow::Result<TokenKey> {
    let secret = match &config.mcp.token_secret {
        Some(secret) => secret.expose().to_owned(),
        None => read_or_create_key(&key_file(config))?,
    };
    TokenKey::new(secret.as_bytes()).map_err(|why| anyhow::anyhow!("configuration key `mcp.token_secret`: {why}"))
}

fn read_or_create_key(path: &Path) -> anyhow::Result<String> {
    if let Ok(secret) = std::fs::read_to_string(path) {
        return Ok(secret.trim().to_owned());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("could not create {}", dir.display()))?;
    }
    let secret = TokenKey::generate_secret();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            std::io::Write::write_all(&mut file, secret.as_bytes())
                .with_context(|| format!("could not write the token key {}", path.display()))?;
            Ok(secret)
        }
        // Another process created it first: use theirs.
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            Ok(std::fs::read_to_string(path)?.trim().to_owned())
        }
        Err(error) => Err(error).with_context(|| format!("could not create the token key {}", path.display())),
    }
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

    #[test]
    fn the_key_file_is_created_once_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/mcp-token.key");
        let first = read_or_create_key(&path).unwrap();
        assert_eq!(read_or_create_key(&path).unwrap(), first);
        assert!(first.len() >= 32);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }
}
