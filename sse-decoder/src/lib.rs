//! Server-sent events, read incrementally: bytes in, each event's `data` out. Free of
//! dependencies so that the model providers, `boutique chat` and the storefront's chat widget
//! (compiled to wasm32) read them with one decoder.

/// Splits a byte stream into events and returns each event's data (its `data:` lines joined).
#[derive(Debug, Default)]
pub struct SseDecoder {
    pending: String,
    data: Vec<String>,
}

impl SseDecoder {
    /// Feeds `bytes` and returns the data of every event they complete.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<String> {
        self.pending.push_str(&String::from_utf8_lossy(bytes));
        let mut events = Vec::new();
        while let Some(end) = self.pending.find('\n') {
            let line: String = self.pending.drain(..=end).collect();
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                if !self.data.is_empty() {
                    events.push(self.data.join("\n"));
                    self.data.clear();
                }
            } else if let Some(value) = line.strip_prefix("data:") {
                self.data.push(value.strip_prefix(' ').unwrap_or(value).to_owned());
            }
            // Comments (`:`), `event:`, `id:` and `retry:` lines carry nothing these APIs use.
        }
        events
    }

    /// The data of an event the stream ended without a blank line after.
    pub fn finish(&mut self) -> Option<String> {
        let rest = std::mem::take(&mut self.pending);
        if let Some(value) = rest.trim_end().strip_prefix("data:") {
            self.data.push(value.trim_start().to_owned());
        }
        (!self.data.is_empty()).then(|| std::mem::take(&mut self.data).join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::SseDecoder;

    #[test]
    fn events_split_across_reads_are_reassembled() {
        let mut decoder = SseDecoder::default();
        assert!(decoder.push(b"data: {\"a\":").is_empty());
        assert_eq!(
            decoder.push(b"1}\r\n\r\n: keep-alive\n\ndata: two\ndata: lines\n\ndata: [DONE]"),
            ["{\"a\":1}", "two\nlines"]
        );
        assert_eq!(decoder.finish().as_deref(), Some("[DONE]"));
        assert_eq!(decoder.finish(), None);
    }
}
