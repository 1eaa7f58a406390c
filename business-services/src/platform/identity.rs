//! Service identities: which system a call comes from, and the identities that may only read.
//!
//! A reader such as the MCP server names itself in the [`HEADER`] of every call. Every system
//! refuses a write (any method but GET, HEAD and OPTIONS) that carries a read-only identity, so a
//! reader that tried to write, through a bug or a manipulated agent, fails at the system's door.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::Error;

/// The header a calling system names itself in.
pub const HEADER: &str = "service-identity";

/// The read-only MCP server.
pub const MCP_SERVER: &str = "mcp-server";

/// The identities every system refuses writes from.
pub const READ_ONLY: &[&str] = &[MCP_SERVER];

/// Middleware: answers 403 to a write from a read-only identity, before any handler runs.
pub async fn refuse_writes_from_readers(request: Request, next: Next) -> Response {
    let identity = request.headers().get(HEADER).and_then(|value| value.to_str().ok());
    match identity.filter(|identity| READ_ONLY.contains(identity)) {
        Some(identity) if !request.method().is_safe() => Error::Forbidden {
            detail: format!("`{identity}` is a read-only service identity: {} is a write", request.method()),
        }
        .into_response(),
        _ => next.run(request).await,
    }
}
