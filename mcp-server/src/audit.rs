//! One audit line per tool call (target `audit`): who called which tool, a digest of the
//! arguments (never the arguments: they may hold personal data), and how many rows came back.

use rmcp::ErrorData;
use rmcp::model::{CallToolResponse, JsonObject};
use sha2::{Digest, Sha256};

use crate::auth::Caller;

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Answered with this many rows.
    Rows(usize),
    /// The tool refused or failed (bad arguments, not found, a system down).
    ToolError,
    /// The call was not a valid request.
    ProtocolError,
    /// The subject called too often.
    RateLimited,
}

impl Outcome {
    /// The outcome of a tool's `response`: the length of its `items`, or one row.
    pub fn of(response: &Result<CallToolResponse, ErrorData>) -> Outcome {
        match response {
            Ok(CallToolResponse::Complete(result)) if result.is_error == Some(true) => Outcome::ToolError,
            Ok(CallToolResponse::Complete(result)) => {
                let items = result.structured_content.as_ref().and_then(|content| content.get("items"));
                Outcome::Rows(items.and_then(serde_json::Value::as_array).map_or(1, Vec::len))
            }
            Ok(_) => Outcome::Rows(0),
            Err(_) => Outcome::ProtocolError,
        }
    }
}

/// The first 16 hex digits of the SHA-256 of the arguments as canonical JSON (keys sorted).
pub fn digest(arguments: Option<&JsonObject>) -> String {
    let canonical = arguments.map(|arguments| {
        let sorted: std::collections::BTreeMap<_, _> = arguments.iter().collect();
        serde_json::to_vec(&sorted).unwrap_or_default()
    });
    hex::encode(&Sha256::digest(canonical.unwrap_or_default())[..8])
}

/// Writes the audit line of one call.
pub fn record(caller: &Caller, tool: &str, arguments: &str, outcome: Outcome) {
    let (result, rows) = match outcome {
        Outcome::Rows(rows) => ("ok", rows),
        Outcome::ToolError => ("tool_error", 0),
        Outcome::ProtocolError => ("protocol_error", 0),
        Outcome::RateLimited => ("rate_limited", 0),
    };
    tracing::info!(
        target: "audit",
        subject = caller.subject(),
        role = %caller.role(),
        customer = caller.scope().unwrap_or("-"),
        token = caller.token_id(),
        tool,
        arguments,
        result,
        rows,
        "Tool call."
    );
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use mcp_contract::token::{Claims, Role};

    /// Collects what the subscriber writes.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn one_line_names_the_subject_tool_digest_and_rows() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt().with_writer(move || writer.clone()).with_ansi(false).finish();
        let caller = Caller::new(Claims {
            iss: "boutique".into(),
            sub: "agent-ana".into(),
            aud: "http://127.0.0.1:8094/mcp".into(),
            iat: 0,
            exp: 60,
            jti: "t1".into(),
            role: Role::Agent,
            customer: Some("cus-1001".into()),
        });
        tracing::subscriber::with_default(subscriber, || {
            record(&caller, "list_orders", "0123456789abcdef", Outcome::Rows(3));
        });
        let line = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert_eq!(line.lines().count(), 1, "{line}");
        for part in [
            "audit",
            "subject=\"agent-ana\"",
            "tool=\"list_orders\"",
            "arguments=\"0123456789abcdef\"",
            "rows=3",
            "result=\"ok\"",
            "customer=\"cus-1001\"",
        ] {
            assert!(line.contains(part), "{part} missing from {line}");
        }
    }

    #[test]
    fn digest_ignores_key_order_and_hides_values() {
        let a: JsonObject = serde_json::from_str(r#"{"order_id":"ord_1","limit":3}"#).unwrap();
        let b: JsonObject = serde_json::from_str(r#"{"limit":3,"order_id":"ord_1"}"#).unwrap();
        assert_eq!(digest(Some(&a)), digest(Some(&b)));
        assert_eq!(digest(Some(&a)).len(), 16);
        assert!(!digest(Some(&a)).contains("ord"));
        assert_ne!(digest(Some(&a)), digest(None));
    }
}
