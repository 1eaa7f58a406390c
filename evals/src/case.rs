//! The case format: a suite is a YAML file of cases; a case says who asks, what they say, and
//! what a good conversation shows (see `evals/README.md`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// What a suite measures; injection suites also report attack success.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum SuiteKind {
    /// The core intents.
    Core,
    /// The written policies followed.
    Policy,
    /// Planted instructions and attempts to read others' data.
    Injection,
    /// Tasks of CRM agents.
    Crm,
}

/// A suite: a name and its cases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suite {
    /// Its name, e.g. `core-intents`.
    pub suite: String,
    /// What it covers.
    #[serde(default)]
    pub description: String,
    /// What it measures.
    pub kind: SuiteKind,
    /// Its cases.
    pub cases: Vec<Case>,
}

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Who {
    /// The customer served: the one asking, or the one an agent serves.
    pub customer: String,
    /// A staff user name when an agent asks; absent when the customer does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
}

/// How the expected tools must appear among those a conversation ran.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Match {
    /// The same calls, in the same order, nothing else.
    #[default]
    Exact,
    /// The expected calls in this order, others between allowed.
    InOrder,
    /// The expected calls in any order, others allowed.
    AnyOrder,
}

/// A fact the answers must convey, written `{ text: … }`, `{ pattern: … }` or
/// `{ number: { value: …, tolerance: … } }`. `{order_id}`-style variables stand for live data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Fact {
    /// This text, case-insensitively.
    Text {
        /// The text.
        text: String,
    },
    /// A regular expression.
    Pattern {
        /// The expression.
        pattern: String,
    },
    /// A number within a tolerance.
    Number {
        /// The number.
        number: Number,
    },
}

/// A number a fact expects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Number {
    /// The number, or a variable holding it.
    pub value: String,
    /// How far off it may be.
    #[serde(default)]
    pub tolerance: f64,
}

/// The leaks every case is checked for, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Leak {
    /// Any other customer's id or order id.
    OtherCustomers,
    /// Fraud scores and reasons (for customers).
    FraudInternals,
    /// Lines of the agents' prompts.
    PromptText,
}

/// What the answers must not contain: a [`Leak`] by name, `{ text: … }` or `{ pattern: … }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Forbidden {
    /// A leak by name.
    Leak(Leak),
    /// This text, case-insensitively.
    Text {
        /// The text.
        text: String,
    },
    /// A regular expression.
    Pattern {
        /// The expression.
        pattern: String,
    },
}

/// What a good conversation shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The tools run, as `tool` or `investigate:<topic>`.
    #[serde(default)]
    pub tools: Vec<String>,
    /// How `tools` must match.
    #[serde(default)]
    pub trajectory: Match,
    /// Facts the answers convey.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub facts: Vec<Fact>,
    /// What they must not contain.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forbidden: Vec<Forbidden>,
    /// Whether the customer's records must be as they were.
    #[serde(default = "yes")]
    pub stores_unchanged: bool,
    /// The longest the whole conversation may take, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// What a judge model grades, when one is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rubric: Option<String>,
}

fn yes() -> bool {
    true
}

impl Default for Expect {
    fn default() -> Self {
        Expect {
            tools: Vec::new(),
            trajectory: Match::default(),
            facts: Vec::new(),
            forbidden: Vec::new(),
            stores_unchanged: true,
            latency_ms: None,
            rubric: None,
        }
    }
}

/// One case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Unique within its suite.
    pub id: String,
    /// Who asks.
    pub who: Who,
    /// What they say, one message a turn.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub turns: Vec<String>,
    /// A simulated user instead of (or after) the scripted turns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<SimulatedUser>,
    /// For injection cases: what the attack wants, which the checks above refuse.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attack: Option<String>,
    /// What the conversation must show.
    #[serde(default)]
    pub expect: Expect,
}

/// A user played by a model (the run's user provider), as ADK's conversation scenarios are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulatedUser {
    /// Their first message, said as written.
    pub starting_prompt: String,
    /// What they want and how they behave, for the model playing them.
    pub instructions: String,
    /// The most messages they send, the first included.
    #[serde(default = "default_user_turns")]
    pub max_turns: usize,
}

fn default_user_turns() -> usize {
    4
}

/// Why a suite could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    /// The file could not be read.
    #[error("could not read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a valid suite.
    #[error("{path} is not a valid suite: {detail}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, with its location.
        detail: String,
    },
}

impl Suite {
    /// Reads and checks the suite in `path`.
    pub fn load(path: &Path) -> Result<Suite, SuiteError> {
        let text = std::fs::read_to_string(path).map_err(|source| SuiteError::Read { path: path.into(), source })?;
        Suite::parse(&text).map_err(|detail| SuiteError::Invalid { path: path.into(), detail })
    }

    /// Parses and checks a suite.
    pub fn parse(text: &str) -> Result<Suite, String> {
        let suite: Suite = serde_yaml::from_str(text).map_err(|error| error.to_string())?;
        suite.check()?;
        Ok(suite)
    }

    /// The suite as a YAML file.
    pub fn to_yaml(&self) -> Result<String, String> {
        serde_yaml::to_string(self).map_err(|error| error.to_string())
    }

    fn check(&self) -> Result<(), String> {
        let mut ids = std::collections::BTreeSet::new();
        for case in &self.cases {
            if !ids.insert(case.id.as_str()) {
                return Err(format!("case id `{}` is used twice", case.id));
            }
            if case.turns.is_empty() && case.user.is_none() {
                return Err(format!("case `{}` has neither turns nor a simulated user", case.id));
            }
            let facts = case.expect.facts.iter().filter_map(|fact| match fact {
                Fact::Pattern { pattern } => Some(pattern),
                _ => None,
            });
            let forbidden = case.expect.forbidden.iter().filter_map(|forbidden| match forbidden {
                Forbidden::Pattern { pattern } => Some(pattern),
                _ => None,
            });
            for pattern in facts.chain(forbidden) {
                regex::Regex::new(pattern).map_err(|error| format!("case `{}`: {error}", case.id))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_suite_reads_with_defaults_and_bad_ones_say_why() {
        let suite = Suite::parse(
            "suite: demo\nkind: core\ncases:\n  - id: status\n    who: { customer: cus-1001 }\n    turns: [\"Where is my order?\"]\n    expect:\n      tools: [investigate:order_status]\n      facts: [{ text: \"{order_id}\" }, { number: { value: \"{points}\", tolerance: 1 } }]\n      forbidden: [other_customers]\n",
        )
        .unwrap_or_else(|error| panic!("{error}"));
        let case = &suite.cases[0];
        assert_eq!(case.expect.trajectory, Match::Exact);
        assert!(case.expect.stores_unchanged);
        assert_eq!(case.expect.facts[1], Fact::Number { number: Number { value: "{points}".into(), tolerance: 1.0 } });
        assert_eq!(case.expect.forbidden, [Forbidden::Leak(Leak::OtherCustomers)]);
        let twice = "suite: d\nkind: core\ncases:\n  - { id: a, who: { customer: c }, turns: [x] }\n  - { id: a, who: { customer: c }, turns: [y] }\n";
        assert!(Suite::parse(twice).unwrap_err().contains("used twice"));
        let unknown = "suite: d\nkind: core\ncases:\n  - { id: a, who: { customer: c }, turns: [x], expected: {} }\n";
        assert!(Suite::parse(unknown).unwrap_err().contains("unknown field `expected`"));
        let simulated = "suite: d\nkind: core\ncases:\n  - id: a\n    who: { customer: c }\n    user: { starting_prompt: hi, instructions: ask about points }\n";
        assert_eq!(Suite::parse(simulated).unwrap().cases[0].user.as_ref().map(|user| user.max_turns), Some(4));
    }
}
