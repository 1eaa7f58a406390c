//! Request extractors whose rejections are problem documents naming the offending field.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::Error;

/// A JSON body; a malformed body is a 400, a well-formed body with a bad field is a 422 naming it.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = Error;

    async fn from_request(request: Request, state: &S) -> Result<Self, Error> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.split(';').next().is_some_and(|m| m.trim() == "application/json"));
        if !is_json {
            return Err(Error::BadRequest {
                detail: "send the body as JSON with the header Content-Type: application/json".into(),
            });
        }
        let body = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| Error::BadRequest { detail: rejection.body_text() })?;
        let mut deserializer = serde_json::Deserializer::from_slice(&body);
        match serde_path_to_error::deserialize(&mut deserializer) {
            Ok(value) => Ok(ApiJson(value)),
            Err(error) => {
                let (path, inner) = (error.path().to_string(), error.into_inner());
                Err(match inner.classify() {
                    serde_json::error::Category::Data => field_error(&path, &inner.to_string()),
                    _ => Error::BadRequest { detail: format!("the body is not valid JSON: {inner}") },
                })
            }
        }
    }
}

/// A query string; a bad parameter is a 422 naming it.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Error> {
        let query = parts.uri.query().unwrap_or_default();
        let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer).map(ApiQuery).map_err(|error| {
            let path = error.path().to_string();
            field_error(&path, &error.into_inner().to_string())
        })
    }
}

/// Serde reports a missing or unknown field at its parent's path with the name in backticks:
/// name the field itself so the caller knows what to fix.
fn field_error(path: &str, message: &str) -> Error {
    let named = ["missing field `", "unknown field `"]
        .iter()
        .find_map(|prefix| message.strip_prefix(prefix))
        .and_then(|rest| rest.split('`').next());
    let message = message.split(" at line ").next().unwrap_or(message);
    let field = match (path, named) {
        (".", Some(name)) | ("", Some(name)) => name.to_owned(),
        // serde_path_to_error already ends the path with an unknown field's own name.
        (path, Some(name)) if path == name || path.ends_with(&format!(".{name}")) => path.to_owned(),
        (parent, Some(name)) => format!("{parent}.{name}"),
        (path, None) => path.to_owned(),
    };
    Error::invalid(field, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(error: Error) -> String {
        match error {
            Error::Invalid { field, .. } => field,
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[test]
    fn names_missing_and_unknown_fields() {
        assert_eq!(field_of(field_error(".", "missing field `quantity` at line 1 column 2")), "quantity");
        assert_eq!(field_of(field_error("price", "missing field `currency`")), "price.currency");
        assert_eq!(field_of(field_error(".", "unknown field `qty`, expected `quantity`")), "qty");
        assert_eq!(field_of(field_error("qty", "unknown field `qty`, expected `quantity`")), "qty");
        assert_eq!(field_of(field_error("price.cents", "unknown field `cents`")), "price.cents");
        assert_eq!(field_of(field_error("quantity", "invalid type: string \"a\", expected u32")), "quantity");
    }
}
