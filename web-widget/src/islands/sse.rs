//! The Concierge's server-sent events as the widget shows them: each event's data (split from
//! the byte stream by [`sse_decoder::SseDecoder`]) turned into a [`ChatEvent`].

use serde_json::Value;

/// Something the Concierge did during a turn, as the widget shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatEvent {
    /// More of the answer.
    Text(String),
    /// A tool ran: its name.
    Tool(String),
    /// A hand-over to a person is proposed, for this reason.
    Handover(String),
    /// The turn is over.
    Done,
    /// The turn failed, for this reason.
    Error(String),
}

impl ChatEvent {
    /// What the widget says while `tool` runs.
    pub fn tool_status(tool: &str) -> &'static str {
        match tool {
            "investigate" => "Checking back-office data…",
            "search_products" => "Searching the catalog…",
            "help" => "Reading our policies…",
            "view_cart" => "Looking at your cart…",
            "request_human" => "Asking for a person…",
            _ => "Looking that up…",
        }
    }
}

/// The event whose data is `data` (one of the Concierge's events, tagged by `type`); `None` for
/// events the widget ignores and data that is not such an event.
pub fn parse_event(data: &str) -> Option<ChatEvent> {
    let data: Value = serde_json::from_str(data).ok()?;
    let field = |name: &str| data.get(name).and_then(Value::as_str).unwrap_or_default().to_owned();
    match data.get("type")?.as_str()? {
        "text" => Some(ChatEvent::Text(field("text"))),
        "tool" => Some(ChatEvent::Tool(field("name"))),
        "handover" => Some(ChatEvent::Handover(field("reason"))),
        "done" => Some(ChatEvent::Done),
        "error" => Some(ChatEvent::Error(field("message"))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use sse_decoder::SseDecoder;

    use super::*;

    #[test]
    fn events_split_across_chunks_are_read() {
        let mut decoder = SseDecoder::default();
        assert!(decoder.push(b"event: text\ndata: {\"type\":\"text\",\"te").is_empty());
        let done = decoder.push(
            b"xt\":\"Hel\\nlo\"}\n\n: keep-alive\n\nevent: tool\r\ndata: {\"type\":\"tool\",\"name\":\"investigate\"}\r\n\r\n",
        );
        let events: Vec<_> = done.iter().filter_map(|data| parse_event(data)).collect();
        assert_eq!(events, [ChatEvent::Text("Hel\nlo".into()), ChatEvent::Tool("investigate".into())]);
        assert_eq!(ChatEvent::tool_status("investigate"), "Checking back-office data…");
    }

    #[test]
    fn every_concierge_event_is_read() {
        assert_eq!(parse_event(r#"{"type":"handover","reason":"refund"}"#), Some(ChatEvent::Handover("refund".into())));
        assert_eq!(parse_event(r#"{"type":"done","reply":"x"}"#), Some(ChatEvent::Done));
        assert_eq!(parse_event(r#"{"type":"error","message":"too long"}"#), Some(ChatEvent::Error("too long".into())));
        assert_eq!(parse_event("not json"), None);
    }
}
