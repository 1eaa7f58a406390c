//! Reading the Concierge's server-sent events as they arrive: frames split from a byte stream,
//! each turned into what the widget shows.

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

/// Splits a byte stream into SSE frames (separated by a blank line), across chunk boundaries.
#[derive(Debug, Default)]
pub struct Frames {
    pending: Vec<u8>,
}

impl Frames {
    /// Adds `chunk` and returns every frame it completes.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<String> {
        self.pending.extend(chunk.iter().filter(|byte| **byte != b'\r'));
        let mut frames = Vec::new();
        while let Some(end) = self.pending.windows(2).position(|pair| pair == b"\n\n") {
            let frame: Vec<u8> = self.pending.drain(..end + 2).collect();
            frames.push(String::from_utf8_lossy(&frame[..end]).into_owned());
        }
        frames
    }
}

/// The event in one frame; `None` for comments (keep-alives) and events the widget ignores.
pub fn parse_frame(frame: &str) -> Option<ChatEvent> {
    let mut kind = "message";
    let mut data = Vec::new();
    for line in frame.lines() {
        if let Some(value) = line.strip_prefix("event:") {
            kind = value.trim();
        } else if let Some(value) = line.strip_prefix("data:") {
            data.push(value.strip_prefix(' ').unwrap_or(value));
        }
    }
    let data: Value = serde_json::from_str(&data.join("\n")).ok()?;
    let field = |name: &str| data.get(name).and_then(Value::as_str).unwrap_or_default().to_owned();
    match kind {
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
    use super::*;

    #[test]
    fn frames_are_split_across_chunks_and_parsed() {
        let mut frames = Frames::default();
        assert!(frames.push(b"event: text\ndata: {\"type\":\"text\",\"te").is_empty());
        let done = frames
            .push(b"xt\":\"Hel\\nlo\"}\n\n: keep-alive\n\nevent: tool\r\ndata: {\"name\":\"investigate\"}\r\n\r\n");
        let events: Vec<_> = done.iter().filter_map(|frame| parse_frame(frame)).collect();
        assert_eq!(events, [ChatEvent::Text("Hel\nlo".into()), ChatEvent::Tool("investigate".into())]);
        assert_eq!(ChatEvent::tool_status("investigate"), "Checking back-office data…");
    }

    #[test]
    fn every_concierge_event_is_read() {
        let frame = |kind: &str, data: &str| parse_frame(&format!("event: {kind}\ndata: {data}"));
        assert_eq!(frame("handover", r#"{"reason":"refund"}"#), Some(ChatEvent::Handover("refund".into())));
        assert_eq!(frame("done", r#"{"reply":"x"}"#), Some(ChatEvent::Done));
        assert_eq!(frame("error", r#"{"message":"too long"}"#), Some(ChatEvent::Error("too long".into())));
        assert_eq!(frame("text", "not json"), None);
    }
}
