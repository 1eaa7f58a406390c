//! W3C trace context (`traceparent`) carried from incoming requests to outgoing calls, so one
//! trace id follows a request across every system it touches.

use std::fmt::Write;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

tokio::task_local! {
    static CURRENT: TraceContext;
}

/// The trace a request belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceContext {
    trace_id: [u8; 16],
    parent_id: [u8; 8],
    sampled: bool,
}

impl TraceContext {
    /// A new trace, for requests that arrive without one.
    pub fn new_root() -> Self {
        let random = uuid::Uuid::new_v4().into_bytes();
        let mut parent_id = [0; 8];
        parent_id.copy_from_slice(&uuid::Uuid::new_v4().as_bytes()[..8]);
        TraceContext { trace_id: random, parent_id, sampled: true }
    }

    /// Parses a `traceparent` header (version 00); `None` if it is malformed.
    pub fn parse(header: &str) -> Option<Self> {
        let mut parts = header.trim().split('-');
        let (version, trace, parent, flags) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if version != "00" || parts.next().is_some() {
            return None;
        }
        let trace_id: [u8; 16] = decode_hex(trace)?;
        let parent_id: [u8; 8] = decode_hex(parent)?;
        let [flags]: [u8; 1] = decode_hex(flags)?;
        let all_zero = |bytes: &[u8]| bytes.iter().all(|b| *b == 0);
        if all_zero(&trace_id) || all_zero(&parent_id) {
            return None;
        }
        Some(TraceContext { trace_id, parent_id, sampled: flags & 1 == 1 })
    }

    /// The trace id as 32 hex digits.
    pub fn trace_id(&self) -> String {
        encode_hex(&self.trace_id)
    }

    /// The `traceparent` to send on an outgoing call: same trace, a fresh span id.
    pub fn child_header(&self) -> String {
        let mut span_id = [0; 8];
        span_id.copy_from_slice(&uuid::Uuid::new_v4().as_bytes()[..8]);
        format!("00-{}-{}-{:02x}", self.trace_id(), encode_hex(&span_id), u8::from(self.sampled))
    }

    /// The context of the request being served on this task, if any.
    pub fn current() -> Option<Self> {
        CURRENT.try_with(|context| *context).ok()
    }
}

/// Middleware: adopts the caller's trace (or starts one) for the rest of the request.
pub async fn accept(mut request: Request, next: Next) -> Response {
    let context = request
        .headers()
        .get("traceparent")
        .and_then(|value| value.to_str().ok())
        .and_then(TraceContext::parse)
        .unwrap_or_else(TraceContext::new_root);
    request.extensions_mut().insert(context);
    CURRENT.scope(context, next.run(request)).await
}

fn decode_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != 2 * N || !text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return None;
    }
    let mut bytes = [0; N];
    for (i, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(bytes)
}

fn encode_hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(2 * bytes.len()), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_continues_a_trace() {
        let header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let context = TraceContext::parse(header).expect("valid traceparent");
        assert_eq!(context.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
        let child = context.child_header();
        assert!(child.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"), "{child}");
        assert!(child.ends_with("-01"));
        assert_ne!(child, header, "a child gets its own span id");
        assert_eq!(TraceContext::parse(&child).map(|c| c.trace_id()), Some(context.trace_id()));
    }

    #[test]
    fn rejects_malformed_headers() {
        for bad in [
            "",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        ] {
            assert_eq!(TraceContext::parse(bad), None, "{bad}");
        }
    }
}
