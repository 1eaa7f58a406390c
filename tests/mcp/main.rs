//! The MCP server against the whole store: tools, scope and masking, tokens, read-only by
//! construction, independent clients, and search quality.
#![allow(clippy::unwrap_used)]

mod clients;
mod concierge;
mod harness;
mod injection;
mod search_quality;
mod security;
mod tools;
