//! People who operate the store: each has a name, a role and a bearer token of their own. Route
//! tables admit people by role ([`Role::caller`]); the door identifies the person behind a
//! token, checks the role, and has every write they make audited ([`crate::platform::audit`]).
//!
//! The operator's admin token (`admin_token`) stays as the break-glass account: the person
//! `admin` in the role [`Role::Admin`], which holds every role.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::Identity;
use crate::platform::admin::AdminToken;
use crate::platform::error::Error;
use crate::platform::secret::{Secret, same_digest, token_digest as digest};

/// The prefix of the callers that stand for people in a role, e.g. `operator:support`.
pub const PERSON_PREFIX: &str = "operator:";

/// What a person may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the store: fault switches, the broker's subscriptions and dead letters; holds every
    /// other role too.
    Admin,
    /// Customer service: customers, notes, tickets, loyalty adjustments, refunds, cancellations.
    Support,
    /// The warehouse floor: shipment events.
    Fulfilment,
    /// Fraud review: review decisions, releasing held orders.
    Risk,
    /// The books: the journal, the trial balance, refund entries.
    Finance,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 5] = [Role::Admin, Role::Support, Role::Fulfilment, Role::Risk, Role::Finance];

    /// Its name in configuration and in route tables.
    pub fn name(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Support => "support",
            Role::Fulfilment => "fulfilment",
            Role::Risk => "risk",
            Role::Finance => "finance",
        }
    }

    /// The caller a route table names for people in this role.
    pub const fn caller(self) -> &'static str {
        match self {
            Role::Admin => "operator:admin",
            Role::Support => "operator:support",
            Role::Fulfilment => "operator:fulfilment",
            Role::Risk => "operator:risk",
            Role::Finance => "operator:finance",
        }
    }

    /// Whether a route table's `callers` admit a person in this role.
    pub fn admitted_by(self, callers: &[&str]) -> bool {
        let people = || callers.iter().filter(|caller| caller.starts_with(PERSON_PREFIX));
        match self {
            Role::Admin => people().next().is_some(),
            role => people().any(|caller| *caller == role.caller()),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One person's account, as configured (`[[operators]]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// Who they are, as the audit trail shows them, e.g. `ada`.
    pub name: String,
    /// What they may do.
    pub role: Role,
    /// Their bearer token: at least 16 characters, theirs alone.
    pub token: Secret,
}

/// A person the door identified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// Their account's name.
    pub name: String,
    /// Their role.
    pub role: Role,
}

impl Person {
    /// The identity the door hands on for them.
    pub fn identity(&self) -> Identity {
        Identity { caller: self.role.caller().into(), issuer: format!("operator account '{}'", self.name) }
    }
}

/// The people a door knows: the break-glass admin token and the named accounts.
#[derive(Clone, Default)]
pub struct Operators {
    admin: AdminToken,
    accounts: Arc<[(Person, [u8; 32])]>,
}

impl fmt::Debug for Operators {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.accounts.iter().map(|(person, _)| person.name.as_str()).collect();
        f.debug_struct("Operators").field("admin", &self.admin).field("accounts", &names).finish()
    }
}

/// Why a list of accounts cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("operator account '{name}': {problem}")]
pub struct AccountError {
    /// The account.
    pub name: String,
    /// What is wrong, and what to do.
    pub problem: String,
}

/// The shortest token an account may have.
pub const MIN_TOKEN_CHARS: usize = 16;

impl Operators {
    /// The admin token's person and `accounts`; names and tokens must be unique, tokens long
    /// enough, and names plain (letters, digits, `.`, `_`, `-`).
    pub fn new(admin: AdminToken, accounts: &[Account]) -> Result<Operators, AccountError> {
        let mut known: Vec<(Person, [u8; 32])> = Vec::new();
        for account in accounts {
            let problem = |problem: &str| AccountError { name: account.name.clone(), problem: problem.into() };
            let plain = |c: char| c.is_ascii_alphanumeric() || "._-".contains(c);
            if account.name.is_empty() || account.name.len() > 64 || !account.name.chars().all(plain) {
                return Err(problem("the name must be 1 to 64 letters, digits, '.', '_' or '-'"));
            }
            if account.name == ADMIN_NAME {
                return Err(problem("'admin' is the admin token's person; choose another name"));
            }
            if account.token.chars() < MIN_TOKEN_CHARS {
                return Err(problem(&format!("the token must be at least {MIN_TOKEN_CHARS} characters")));
            }
            let digest = digest(account.token.expose());
            if known.iter().any(|(person, _)| person.name == account.name) {
                return Err(problem("the name is taken by another account"));
            }
            if known.iter().any(|(_, other)| *other == digest) || admin.authorize(Some(&bearer(&account.token))).is_ok()
            {
                return Err(problem("the token is another account's; give each person a token of their own"));
            }
            known.push((Person { name: account.name.clone(), role: account.role }, digest));
        }
        Ok(Operators { admin, accounts: known.into() })
    }

    /// Only the admin token's person.
    pub fn admin_only(admin: AdminToken) -> Operators {
        Operators { admin, accounts: Arc::new([]) }
    }

    /// The person whose token `authorization` (`Bearer …`) carries: 401 when there is none or
    /// it is no one's, 403 when no one may operate this store at all.
    pub fn identify(&self, authorization: Option<&str>) -> Result<Person, Error> {
        let admin = self.admin.authorize(authorization);
        if admin.is_ok() {
            return Ok(Person { name: ADMIN_NAME.into(), role: Role::Admin });
        }
        let presented = authorization.and_then(|value| value.strip_prefix("Bearer ")).map(digest);
        // Every account is compared, whoever matches, so the time taken says nothing.
        let found = self.accounts.iter().fold(None, |found, (person, token)| {
            let same = presented.as_ref().is_some_and(|presented| same_digest(presented, token));
            if same { Some(person) } else { found }
        });
        match found {
            Some(person) => Ok(person.clone()),
            None if self.accounts.is_empty() => Err(admin.expect_err("the admin token was checked first")),
            None => Err(Error::Unauthorized {
                detail: "send an operator's token (an [[operators]] account's, or BOUTIQUE_ADMIN_TOKEN) as \
                         'Authorization: Bearer <token>'"
                    .into(),
            }),
        }
    }
}

/// The name of the admin token's person.
pub const ADMIN_NAME: &str = "admin";

fn bearer(token: &Secret) -> String {
    format!("Bearer {}", token.expose())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(name: &str, role: Role, token: &str) -> Account {
        Account { name: name.into(), role, token: token.into() }
    }

    fn operators() -> Operators {
        let admin = AdminToken::new(Some(&"the-break-glass-admin-token".into()));
        let accounts = [
            account("ada", Role::Support, "ada-s-token-0123456789"),
            account("bo", Role::Risk, "bo-s-token-0123456789"),
        ];
        Operators::new(admin, &accounts).unwrap()
    }

    #[test]
    fn each_token_names_its_person() {
        let operators = operators();
        let ada = operators.identify(Some("Bearer ada-s-token-0123456789")).unwrap();
        assert_eq!(ada, Person { name: "ada".into(), role: Role::Support });
        let admin = operators.identify(Some("Bearer the-break-glass-admin-token")).unwrap();
        assert_eq!(admin, Person { name: ADMIN_NAME.into(), role: Role::Admin });
        for wrong in [None, Some("Bearer nobody-s-token-012345"), Some("ada-s-token-0123456789")] {
            assert!(matches!(operators.identify(wrong), Err(Error::Unauthorized { .. })), "{wrong:?}");
        }
    }

    #[test]
    fn with_no_one_configured_operating_is_closed() {
        let closed = Operators::default();
        assert!(matches!(closed.identify(Some("Bearer anything-at-all-here")), Err(Error::Forbidden { .. })));
        assert!(matches!(closed.identify(None), Err(Error::Unauthorized { .. })));
    }

    #[test]
    fn roles_are_admitted_by_name_and_admin_everywhere_people_are() {
        let callers = ["checkout", "operator:support"];
        assert!(Role::Support.admitted_by(&callers));
        assert!(!Role::Risk.admitted_by(&callers));
        assert!(Role::Admin.admitted_by(&callers));
        assert!(!Role::Admin.admitted_by(&["checkout"]), "admin is a person's role, not a system's");
    }

    #[test]
    fn accounts_that_would_be_ambiguous_or_weak_are_refused() {
        let admin = AdminToken::new(Some(&"the-break-glass-admin-token".into()));
        let refused = |accounts: &[Account]| Operators::new(admin.clone(), accounts).unwrap_err().problem;
        assert!(refused(&[account("ada", Role::Support, "short")]).contains("at least 16"));
        assert!(refused(&[account("a d", Role::Support, "ada-s-token-0123456789")]).contains("letters"));
        assert!(refused(&[account("admin", Role::Admin, "ada-s-token-0123456789")]).contains("admin token"));
        let twins = [
            account("ada", Role::Support, "ada-s-token-0123456789"),
            account("ada", Role::Risk, "x".repeat(20).as_str()),
        ];
        assert!(refused(&twins).contains("taken"));
        let shared = [
            account("ada", Role::Support, "ada-s-token-0123456789"),
            account("bo", Role::Risk, "ada-s-token-0123456789"),
        ];
        assert!(refused(&shared).contains("of their own"));
        assert!(refused(&[account("bo", Role::Risk, "the-break-glass-admin-token")]).contains("of their own"));
    }

    #[test]
    fn debug_shows_names_not_tokens() {
        let shown = format!("{:?}", operators());
        assert!(shown.contains("ada") && !shown.contains("0123456789"), "{shown}");
    }
}
