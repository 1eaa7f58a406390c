//! What every system's OpenAPI document says alike, written once: error answers are problem
//! documents, sent as `application/problem+json`, and the errors that the shared service shell
//! and extractors give any operation are listed on every operation they can reach.
//!
//! A route documents its own outcomes (`(status = 404, body = Problem)`); [`ProblemResponses`]
//! turns each error's `application/json` into `application/problem+json` and adds the rest:
//!
//! - 400 to operations with a body: it is not JSON, not sent as `application/json`, or too large;
//! - 422 to operations with a body or parameters: a field or parameter has an invalid value;
//! - 401 and 403 to every operation: no valid service token, or a caller the route's table does
//!   not admit ([`super::identity::access`]);
//! - 500 and 503 to every operation: an unexpected failure, or the request deadline or the
//!   database ran out ([`super::http`]).
//!
//! It also gives every `Idempotency-Key` header the form [`super::idempotency`] accepts.

use utoipa::Modify;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, OpenApi, PathItem, Ref, RefOr, ResponseBuilder};

use super::error::Problem;
use super::idempotency;

/// The media type of every error answer.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Writes what every document says alike into one: errors as the problem documents they are,
/// the errors every operation shares, and the `Idempotency-Key` form; see the module.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProblemResponses;

impl Modify for ProblemResponses {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.schemas.entry("Problem".to_owned()).or_insert_with(<Problem as utoipa::PartialSchema>::schema);
        for item in openapi.paths.paths.values_mut() {
            for operation in operations(item) {
                document_shared(operation);
            }
        }
    }
}

/// Each operation of `item`.
fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.head,
        &mut item.options,
        &mut item.post,
        &mut item.put,
        &mut item.patch,
        &mut item.delete,
        &mut item.trace,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

/// 1 to 255 visible ASCII characters, as [`idempotency::optional_key`] accepts.
const IDEMPOTENCY_KEY_PATTERN: &str = "^[!-~]{1,255}$";

fn document_shared(operation: &mut Operation) {
    let headers = operation.parameters.iter_mut().flatten().filter(|parameter| {
        parameter.parameter_in == ParameterIn::Header && parameter.name.eq_ignore_ascii_case(idempotency::HEADER)
    });
    for key in headers {
        let form = ObjectBuilder::new().schema_type(Type::String).pattern(Some(IDEMPOTENCY_KEY_PATTERN));
        key.schema = Some(form.build().into());
    }
    let responses = &mut operation.responses.responses;
    let errors = responses.iter_mut().filter(|(status, _)| status.starts_with(['4', '5']));
    for (_, response) in errors {
        if let RefOr::T(response) = response
            && let Some(content) = response.content.shift_remove("application/json")
        {
            response.content.insert(PROBLEM_JSON.to_owned(), content);
        }
    }
    let has_body = operation.request_body.is_some();
    let has_parameters = operation.parameters.as_ref().is_some_and(|parameters| !parameters.is_empty());
    let shared: [(&str, bool, &str); 6] = [
        ("400", has_body, "The body is not JSON, not sent as application/json, or too large"),
        ("422", has_body || has_parameters, "A field or parameter has an invalid value; the problem names it"),
        ("401", true, "No valid service token: send 'Authorization: Bearer <token>' minted for this system"),
        ("403", true, "The caller is not among those the route's table admits"),
        ("500", true, "The service failed unexpectedly; the failure is logged"),
        ("503", true, "A dependency or the request deadline (10 s) ran out; retry later"),
    ];
    for (status, applies, description) in shared {
        if applies {
            responses.entry(status.to_owned()).or_insert_with(|| problem_response(description));
        }
    }
}

/// A response carrying a [`Problem`].
fn problem_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build();
    RefOr::T(ResponseBuilder::new().description(description).content(PROBLEM_JSON, content).build())
}

#[cfg(test)]
mod tests {
    use serde_json::Value;
    use utoipa::OpenApi as _;

    use super::*;

    #[derive(utoipa::OpenApi)]
    #[openapi(paths(read, write))]
    struct Doc;

    /// Reads a thing.
    #[utoipa::path(get, path = "/things/{id}", params(("id" = String, Path)),
        responses((status = 200, body = Vec<String>), (status = 404, body = Problem)))]
    #[allow(dead_code)]
    fn read() {}

    /// Writes a thing.
    #[utoipa::path(post, path = "/things", request_body = String,
        params(("Idempotency-Key" = Option<String>, Header)), responses((status = 201, body = String)))]
    #[allow(dead_code)]
    fn write() {}

    fn documented() -> Value {
        let mut openapi = Doc::openapi();
        ProblemResponses.modify(&mut openapi);
        serde_json::to_value(openapi).unwrap()
    }

    #[test]
    fn errors_are_problem_documents_and_success_stays_json() {
        let document = documented();
        let read = &document["paths"]["/things/{id}"]["get"]["responses"];
        assert!(read["404"]["content"][PROBLEM_JSON]["schema"]["$ref"].is_string(), "{read}");
        assert!(read["404"]["content"]["application/json"].is_null(), "{read}");
        assert!(read["200"]["content"]["application/json"].is_object(), "{read}");
        assert!(document["components"]["schemas"]["Problem"].is_object());
    }

    #[test]
    fn shared_errors_are_added_where_they_can_happen() {
        let document = documented();
        let statuses = |path: &str, method: &str| -> Vec<String> {
            document["paths"][path][method]["responses"].as_object().unwrap().keys().cloned().collect()
        };
        assert_eq!(statuses("/things/{id}", "get"), ["200", "401", "403", "404", "422", "500", "503"]);
        assert_eq!(statuses("/things", "post"), ["201", "400", "401", "403", "422", "500", "503"]);
        let key = &document["paths"]["/things"]["post"]["parameters"][0];
        assert_eq!(key["schema"]["pattern"], IDEMPOTENCY_KEY_PATTERN, "{key}");
    }
}
