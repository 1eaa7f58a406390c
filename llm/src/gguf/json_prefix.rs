//! Whether text so far can still become one JSON object: the check that keeps a local model's
//! tool-call arguments valid JSON as it writes them, character by character, without a
//! grammar engine.

/// What may come next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// A value (after `:` or `,` in an array, or the start of an array).
    Value,
    /// A value or `]` (just after `[`).
    ValueOrClose,
    /// A key or `}` (just after `{`).
    KeyOrClose,
    /// A key (after `,` in an object).
    Key,
    /// `:` after a key.
    Colon,
    /// `,` or the container's close.
    CommaOrClose,
}

/// The containers open around the cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Container {
    Object,
    Array,
}

/// A JSON object being written. Feed it characters; it refuses the first one that could not
/// continue a valid object, and says when the object is closed.
#[derive(Debug, Clone)]
pub struct JsonPrefix {
    stack: Vec<Container>,
    expect: Expect,
    /// Inside a string: whether it is a key, and whether the last character was `\`.
    string: Option<(bool, bool)>,
    /// A literal (`true`, `false`, `null`) being written: what is left of it.
    literal: &'static str,
    /// A number being written.
    number: bool,
    started: bool,
    done: bool,
}

impl Default for JsonPrefix {
    fn default() -> Self {
        JsonPrefix {
            stack: Vec::new(),
            expect: Expect::Value,
            string: None,
            literal: "",
            number: false,
            started: false,
            done: false,
        }
    }
}

impl JsonPrefix {
    /// Whether the object has been closed.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Feeds `text`; how many of its bytes were taken (all, or up to the object's close), or
    /// `None` if a character could not continue the object.
    pub fn feed_str(&mut self, text: &str) -> Option<usize> {
        for (at, c) in text.char_indices() {
            if self.done {
                return Some(at);
            }
            if !self.feed(c) {
                return None;
            }
        }
        Some(text.len())
    }

    /// Feeds one character; `false` if it cannot continue the object.
    pub fn feed(&mut self, c: char) -> bool {
        if self.done {
            return false;
        }
        if let Some((key, escaped)) = self.string {
            return self.in_string(c, key, escaped);
        }
        if !self.literal.is_empty() {
            return match self.literal.strip_prefix(c) {
                Some(rest) => {
                    self.literal = rest;
                    if rest.is_empty() {
                        self.expect = Expect::CommaOrClose;
                    }
                    true
                }
                None => false,
            };
        }
        if self.number {
            if c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-') {
                return true;
            }
            self.number = false;
            self.expect = Expect::CommaOrClose;
        }
        if c.is_whitespace() {
            return self.started;
        }
        match self.expect {
            Expect::Value | Expect::ValueOrClose => self.value(c),
            Expect::KeyOrClose | Expect::Key => match c {
                '"' => {
                    self.string = Some((true, false));
                    true
                }
                '}' if self.expect == Expect::KeyOrClose => self.close(Container::Object),
                _ => false,
            },
            Expect::Colon => {
                let colon = c == ':';
                if colon {
                    self.expect = Expect::Value;
                }
                colon
            }
            Expect::CommaOrClose => match (c, self.stack.last()) {
                (',', Some(Container::Object)) => {
                    self.expect = Expect::Key;
                    true
                }
                (',', Some(Container::Array)) => {
                    self.expect = Expect::Value;
                    true
                }
                ('}', _) => self.close(Container::Object),
                (']', _) => self.close(Container::Array),
                _ => false,
            },
        }
    }

    fn value(&mut self, c: char) -> bool {
        // The whole text is one object: its first character is `{`.
        if !self.started {
            if c != '{' {
                return false;
            }
            self.started = true;
        }
        match c {
            '{' => {
                self.stack.push(Container::Object);
                self.expect = Expect::KeyOrClose;
            }
            '[' => {
                self.stack.push(Container::Array);
                self.expect = Expect::ValueOrClose;
            }
            ']' if self.expect == Expect::ValueOrClose => return self.close(Container::Array),
            '"' => self.string = Some((false, false)),
            't' => self.literal = "rue",
            'f' => self.literal = "alse",
            'n' => self.literal = "ull",
            '-' | '0'..='9' => self.number = true,
            _ => return false,
        }
        true
    }

    fn in_string(&mut self, c: char, key: bool, escaped: bool) -> bool {
        if escaped {
            self.string = Some((key, false));
            return matches!(c, '"' | '\\' | '/' | 'b' | 'f' | 'n' | 'r' | 't' | 'u');
        }
        match c {
            '\\' => self.string = Some((key, true)),
            '"' => {
                self.string = None;
                self.expect = if key { Expect::Colon } else { Expect::CommaOrClose };
            }
            c if c.is_control() => return false,
            _ => {}
        }
        true
    }

    fn close(&mut self, container: Container) -> bool {
        if self.stack.pop() != Some(container) {
            return false;
        }
        self.expect = Expect::CommaOrClose;
        self.done = self.stack.is_empty();
        true
    }
}

#[cfg(test)]
mod tests {
    use super::JsonPrefix;

    fn accepts(text: &str) -> bool {
        JsonPrefix::default().feed_str(text).is_some()
    }

    #[test]
    fn objects_and_their_prefixes_are_accepted_and_closing_is_seen() {
        let whole = r#"{"topic": "order_status", "ids": [1, -2.5e3, true, null, {"a": "x\"y"}], "b": {}}"#;
        for end in 0..=whole.len() {
            assert!(accepts(&whole[..end]), "{}", &whole[..end]);
        }
        let mut prefix = JsonPrefix::default();
        assert_eq!(prefix.feed_str(&format!("{whole} trailing")), Some(whole.len()));
        assert!(prefix.is_done());
        let parsed: serde_json::Value = serde_json::from_str(whole).unwrap_or_default();
        assert_eq!(parsed["ids"][3], serde_json::Value::Null);
    }

    #[test]
    fn what_cannot_continue_an_object_is_refused() {
        for bad in ["[1]", "\"text\"", "{topic", "{\"a\" 1", "{\"a\": tru e", "{\"a\": 1,}", "{\"a\": [1}", "{,", " {}"]
        {
            assert!(!accepts(bad), "{bad}");
        }
        let mut done = JsonPrefix::default();
        assert_eq!(done.feed_str("{}"), Some(2));
        assert!(!done.feed('}'), "nothing after the close");
    }
}
