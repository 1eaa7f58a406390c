//! Id newtypes: one macro writes the boilerplate (serde as a checked string, OpenAPI schema,
//! `Display`, conversions), each system supplies the rule of its ids' form.

/// Defines `pub struct $name(String)` whose only constructor is `parse`, checked by `$check`
/// (`fn(&str) -> Result<(), String>`); it (de)serializes as a string and rejects bad ones.
/// An optional `pattern`, the check as a regular expression, goes into its OpenAPI schema, so
/// that clients (and the fuzzer) can make ids the system accepts.
macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, example = $example:literal, $(pattern = $pattern:tt,)? check = $check:expr $(,)?) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        #[serde(try_from = "String", into = "String")]
        #[schema(value_type = String, example = $example $(, pattern = $pattern)?)]
        pub struct $name(String);

        impl $name {
            /// Parses an id, checking its form.
            pub fn parse(id: &str) -> Result<Self, String> {
                let check: fn(&str) -> Result<(), String> = $check;
                check(id).map(|()| $name(id.to_owned()))
            }

            /// The id.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(id: String) -> Result<Self, String> {
                $name::parse(&id)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

pub(crate) use string_id;

/// Checks an id made by [`random_hex_id`]: `prefix` then 32 lowercase hex digits.
pub fn check_hex_id(id: &str, prefix: &str, what: &str) -> Result<(), String> {
    let valid = id
        .strip_prefix(prefix)
        .is_some_and(|hex| hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "'{}' is not {what}: expected '{prefix}' and 32 lowercase hex digits",
            id.chars().take(80).collect::<String>()
        ))
    }
}

/// Checks a slug: 1 to `max` of `a-z`, `0-9` and `-`, not starting or ending with `-`.
pub fn check_slug(text: &str, max: usize) -> Result<(), String> {
    let valid = !text.is_empty()
        && text.len() <= max
        && text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !text.starts_with('-')
        && !text.ends_with('-');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "'{}' is not a valid slug: use 1 to {max} characters from a-z, 0-9 and '-', not starting or ending with '-'",
            text.chars().take(80).collect::<String>()
        ))
    }
}

/// A new random id: `prefix` then 32 lowercase hex digits.
pub fn random_hex_id(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

#[cfg(test)]
mod tests {
    use super::*;

    string_id!(
        /// An id for the test.
        ThingId,
        example = "th_0123456789abcdef0123456789abcdef",
        check = |id| check_hex_id(id, "th_", "a thing id"),
    );

    #[test]
    fn ids_round_trip_and_reject_bad_forms() {
        let id = ThingId::parse(&random_hex_id("th_")).unwrap();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(serde_json::from_str::<ThingId>(&json).unwrap(), id);
        assert_eq!(id.to_string(), id.as_str());
        for bad in ["", "th_", "th_0123", "xx_0123456789abcdef0123456789abcdef", "th_0123456789ABCDEF0123456789abcdef"]
        {
            assert!(ThingId::parse(bad).is_err(), "{bad:?}");
        }
        let error = serde_json::from_str::<ThingId>("\"nope\"").unwrap_err().to_string();
        assert!(error.contains("is not a thing id"), "{error}");
    }
}
