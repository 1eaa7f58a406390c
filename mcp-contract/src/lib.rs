//! The read-only MCP server's contract, apart from the server: what its clients in this
//! workspace (the agents, the web, the evals, the `boutique` runtime) need to mint its tokens
//! and read its answers, without linking its search stack (candle, tokenizers, Qdrant, rmcp's
//! server side).
//!
//! - [`token`]: capability tokens (HS256 JWTs), roles, and the clock they are checked against.
//! - [`views`]: what the tools return, as typed objects with JSON Schemas, masked by role.
//! - [`content`]: the help articles and policies the server serves as `boutique://` resources.

pub mod content;
pub mod token;
pub mod views;
