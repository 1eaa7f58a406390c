//! Eval suites of the customer-service agents, after tau-bench (judge the facts conveyed and the
//! final state; report pass^k, because reliability is where agents fail), ADK (tool
//! trajectories) and AgentDojo (attack success under prompt injection).
//!
//! A suite is a YAML file of cases ([`case`]); [`run::run`] converses with a Concierge over its
//! HTTP API, checks each trial ([`check`]) and scores the run ([`report`]), shown as a table,
//! JSON, JUnit XML ([`junit`]) or an HTML page ([`html`]), and compared with a baseline
//! ([`compare`]). The built-in suites are in `evals/suites/`; `boutique eval run` starts the
//! store and runs them.

pub mod adk;
pub mod case;
pub mod check;
pub mod compare;
pub mod html;
pub mod junit;
pub mod models;
pub mod report;
pub mod run;

pub use case::{Suite, SuiteError};
pub use models::EvalModels;
pub use report::RunReport;
pub use run::{RunOptions, Target, run};

use include_dir::{Dir, include_dir};

static SUITES: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/suites");

/// The built-in suites, by file name order.
pub fn built_in() -> Result<Vec<Suite>, String> {
    let mut files: Vec<_> =
        SUITES.files().filter(|file| file.path().extension().is_some_and(|e| e == "yaml")).collect();
    files.sort_by_key(|file| file.path());
    files
        .iter()
        .map(|file| {
            let text = file.contents_utf8().ok_or_else(|| format!("{} is not UTF-8", file.path().display()))?;
            Suite::parse(text).map_err(|error| format!("{}: {error}", file.path().display()))
        })
        .collect()
}
