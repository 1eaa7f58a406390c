//! Bounds on what one caller gets: rows and bytes per answer. Calls per minute per subject are
//! counted by `business_services::platform::rate_limit`.

use serde::Serialize;

/// Row and byte caps on one answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// The most rows a list returns.
    pub max_rows: usize,
    /// The most bytes of JSON the rows may take.
    pub max_bytes: usize,
}

impl Default for Caps {
    fn default() -> Self {
        Caps { max_rows: 20, max_bytes: 16 * 1024 }
    }
}

impl Caps {
    /// Keeps the first rows of `items` that fit both caps. Returns them and, when rows were
    /// left out, a notice saying how many and why.
    pub fn apply<T: Serialize>(&self, mut items: Vec<T>) -> (Vec<T>, Option<String>) {
        let total = items.len();
        items.truncate(self.max_rows);
        let mut bytes = 0;
        let mut fitting = 0;
        for item in &items {
            let size = serde_json::to_vec(item).map_or(0, |json| json.len());
            if bytes + size > self.max_bytes && fitting > 0 {
                break;
            }
            bytes += size;
            fitting += 1;
        }
        items.truncate(fitting);
        let notice = (items.len() < total).then(|| {
            format!(
                "showing {} of {total} rows: answers are capped at {} rows and {} KiB; narrow the request to see the rest",
                items.len(),
                self.max_rows,
                self.max_bytes / 1024
            )
        });
        (items, notice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_rows_then_bytes_and_says_so() {
        let caps = Caps { max_rows: 3, max_bytes: 25 };
        let (rows, notice) = caps.apply(vec!["aaaaaaaaaa", "bbbbbbbbbb", "cccccccccc", "dddd"]);
        assert_eq!(rows, ["aaaaaaaaaa", "bbbbbbbbbb"], "3 rows by count, then 2 fit 25 bytes");
        assert!(notice.unwrap().starts_with("showing 2 of 4 rows"));
        let (rows, notice) = caps.apply(vec!["a"]);
        assert_eq!((rows.len(), notice), (1, None));
        let (rows, _) = Caps { max_rows: 5, max_bytes: 1 }.apply(vec!["too long for the cap"]);
        assert_eq!(rows.len(), 1, "the first row is always kept, so one huge row cannot hide everything");
    }
}
