//! What the CRM's parts share: the macros of their id and name types, the customer's id and
//! standing, which every part refers to, and the checks and limits of the text agents and
//! customers write.

/// Defines an id newtype written `<prefix>-<1 to 20 letters and digits>`, e.g. `cus-1001`.
macro_rules! prefixed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $example:literal) => {
        $crate::platform::id::string_id!(
            $(#[$doc])* $name,
            example = $example,
            check = |id| $crate::crm::domain::parse_prefixed(id, $prefix).map(drop)
        );

        impl $name {
            /// A new random id.
            pub fn generate() -> Self {
                $name(format!("{}-{}", $prefix, &uuid::Uuid::new_v4().simple().to_string()[..16]))
            }
        }
    };
}

/// Checks an id written `<prefix>-<1 to 20 letters and digits>`.
pub(super) fn parse_prefixed(id: &str, prefix: &str) -> Result<String, String> {
    let valid = id
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|rest| (1..=20).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_alphanumeric()));
    if valid {
        Ok(id.to_owned())
    } else {
        Err(format!("use '{prefix}-' followed by 1 to 20 letters and digits, e.g. '{prefix}-1001'"))
    }
}

pub(super) use prefixed_id;

/// Defines a closed set of names, as written in JSON and in the store.
///
/// A name is taken as a token tree, not a `literal` fragment: the OpenAPI derive reads the
/// `serde(rename)` it is put in only when it sees the bare string token (a `literal` fragment
/// reaches it wrapped in an invisible group, and the document would then spell the variant's
/// Rust name).
macro_rules! named_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$variant_doc:meta])* $variant:ident = $text:tt),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        pub enum $name {
            $($(#[$variant_doc])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value, in order.
            pub const ALL: &[$name] = &[$($name::$variant),+];

            /// The name, as in JSON.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// Parses a name.
            pub fn parse(text: &str) -> Result<Self, String> {
                Self::ALL.iter().copied().find(|value| value.as_str() == text).ok_or_else(|| {
                    let names: Vec<&str> = Self::ALL.iter().map(|value| value.as_str()).collect();
                    format!("'{text}' is not one of: {}", names.join(", "))
                })
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(super) use named_enum;

prefixed_id!(
    /// A customer id such as `cus-1001`.
    CustomerId, "cus", "cus-1001"
);

named_enum!(
    /// Whether the store trusts an account.
    Standing {
        /// No concerns.
        Good = "good",
        /// Under watch, e.g. after chargebacks: orders may be reviewed.
        Watch = "watch",
        /// Suspended, e.g. after confirmed fraud: no discount, no trust.
        Suspended = "suspended",
    }
);

/// Checks one line of text: trimmed, 1 to `max` characters, no line breaks or control characters.
pub fn single_line(text: &str, max: usize) -> Result<String, String> {
    let text = text.trim();
    if text.chars().any(char::is_control) {
        return Err("must be one line without control characters".to_owned());
    }
    bounded(text, max)
}

/// Checks free text: trimmed, 1 to `max` characters, line breaks and tabs allowed.
pub fn free_text(text: &str, max: usize) -> Result<String, String> {
    let text = text.trim();
    if text.chars().any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r') {
        return Err("must not contain control characters other than line breaks and tabs".to_owned());
    }
    bounded(text, max)
}

fn bounded(text: &str, max: usize) -> Result<String, String> {
    let length = text.chars().count();
    if length == 0 {
        Err("must not be empty".to_owned())
    } else if length > max {
        Err(format!("must be at most {max} characters, got {length}"))
    } else {
        Ok(text.to_owned())
    }
}

/// The longest author name.
pub const MAX_AUTHOR: usize = 100;
/// The longest note or message body.
pub const MAX_BODY: usize = 4000;
/// The longest reason for a standing or a ledger entry.
pub const MAX_REASON: usize = 500;

#[cfg(test)]
mod tests {
    use std::fmt;

    use super::*;
    use crate::crm::customers::domain::MAX_NAME;
    use crate::crm::loyalty::domain::Tier;
    use crate::crm::tickets::domain::{Channel, Priority, TicketId, TicketStatus};

    #[test]
    fn ids_have_their_prefix_and_up_to_twenty_letters_and_digits() {
        for ok in ["cus-1001", "cus-a", "cus-ABCdef0123456789xyzw"] {
            assert!(CustomerId::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "cus-", "cus1001", "cus-10 01", "cus-10-01", "cus-abcdefghijklmnopqrstu", "tkt-1001", "CUS-1"] {
            assert!(CustomerId::parse(bad).is_err(), "{bad:?}");
        }
        let generated = TicketId::generate();
        assert_eq!(TicketId::parse(generated.as_str()), Ok(generated.clone()));
        assert_ne!(generated, TicketId::generate());
    }

    #[test]
    fn single_lines_and_free_text() {
        assert_eq!(single_line("  Ada  ", MAX_NAME).as_deref(), Ok("Ada"));
        assert!(single_line("   ", MAX_NAME).is_err());
        assert!(single_line("two\nlines", MAX_NAME).is_err());
        assert!(free_text("two\nlines", MAX_BODY).is_ok());
        assert!(free_text(&"é".repeat(MAX_BODY), MAX_BODY).is_ok(), "limits count characters, not bytes");
        assert!(free_text(&"é".repeat(MAX_BODY + 1), MAX_BODY).is_err());
    }

    /// The names the OpenAPI document gives an enum's values.
    fn documented<T: utoipa::ToSchema>() -> serde_json::Value {
        let schema = serde_json::to_value(T::schema()).unwrap();
        schema["enum"].clone()
    }

    #[test]
    fn the_openapi_document_spells_enums_as_the_wire_does() {
        fn names<T: Copy + fmt::Display>(all: &[T]) -> serde_json::Value {
            all.iter().map(|value| value.to_string()).collect()
        }
        assert_eq!(documented::<Standing>(), names(Standing::ALL));
        assert_eq!(documented::<Tier>(), names(Tier::ALL));
        assert_eq!(documented::<TicketStatus>(), names(TicketStatus::ALL));
        assert_eq!(documented::<Priority>(), names(Priority::ALL));
        assert_eq!(documented::<Channel>(), names(Channel::ALL));
    }
}
