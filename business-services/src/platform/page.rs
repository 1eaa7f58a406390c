//! Cursor pagination: lists return at most `limit` items and an opaque cursor for the next page.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::Error;

/// Items per page when the caller does not say.
pub const DEFAULT_LIMIT: u32 = 20;
/// The most items a page may hold.
pub const MAX_LIMIT: u32 = 100;

/// One page of a list.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Checks a requested page size.
pub fn limit(requested: Option<u32>) -> Result<u32, Error> {
    match requested.unwrap_or(DEFAULT_LIMIT) {
        limit @ 1..=MAX_LIMIT => Ok(limit),
        other => Err(Error::invalid("limit", format!("must be between 1 and {MAX_LIMIT}, got {other}"))),
    }
}

/// Encodes the sort key of the last item shown into an opaque cursor.
pub fn encode_cursor(last_key: &str) -> String {
    URL_SAFE_NO_PAD.encode(last_key)
}

/// Decodes a cursor made by [`encode_cursor`].
pub fn decode_cursor(cursor: &str) -> Result<String, Error> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| Error::invalid("cursor", "is not a cursor this service issued; start again without it"))
}

/// Builds a page from up to `limit + 1` rows fetched in key order: the extra row only tells
/// that a next page exists.
pub fn paginate<T>(mut rows: Vec<T>, limit: u32, key: impl Fn(&T) -> String) -> Page<T> {
    let has_more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_cursor = has_more.then(|| rows.last().map(|last| encode_cursor(&key(last)))).flatten();
    Page { items: rows, next_cursor }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let cursor = encode_cursor("walnut-dining-table");
        assert_eq!(decode_cursor(&cursor).ok().as_deref(), Some("walnut-dining-table"));
        assert!(matches!(decode_cursor("%%%"), Err(Error::Invalid { field, .. }) if field == "cursor"));
    }

    #[test]
    fn paginate_marks_only_non_final_pages() {
        let page = paginate(vec!["a", "b", "c"], 2, |s| s.to_string());
        assert_eq!(page.items, vec!["a", "b"]);
        assert_eq!(page.next_cursor.as_deref().map(decode_cursor).and_then(Result::ok).as_deref(), Some("b"));
        let last = paginate(vec!["a", "b"], 2, |s| s.to_string());
        assert_eq!(last.next_cursor, None);
    }

    #[test]
    fn limit_is_bounded() {
        assert_eq!(limit(None).ok(), Some(DEFAULT_LIMIT));
        assert!(limit(Some(0)).is_err());
        assert!(limit(Some(MAX_LIMIT + 1)).is_err());
    }
}
