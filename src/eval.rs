//! `boutique eval run`: starts the whole store in this process on embedded defaults in a fresh
//! data folder, places an order for each customer the suites ask about, then runs the suites
//! against a Concierge of its own: the configuration's model and prompts, or models given in
//! code (scripted ones, in tests).

use std::collections::BTreeSet;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use business_services::platform::identity::Credentials;
use concierge::{ModelOverrides, ProviderSettings};
use evals::{EvalModels, RunOptions, RunReport, Suite, Target};
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::demo;
use crate::registry::System;
use crate::systems;

/// What to run, and how.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// Suite files or folders of them; the built-in suites when empty.
    pub suites: Vec<PathBuf>,
    /// The Concierge's model kind (`offline`, or the configured `vertex`, `openai`, `gguf`);
    /// the configured one when absent.
    pub provider: Option<String>,
    /// Trials per case.
    pub trials: usize,
    /// Trials at once.
    pub concurrency: usize,
    /// The model kind playing simulated users (`vertex`, `openai`, `gguf`, as configured in
    /// `concierge.provider`); without one they say only their starting prompt.
    pub user_provider: Option<String>,
    /// The model kind judging rubrics; without one rubrics go unjudged.
    pub judge_provider: Option<String>,
}

/// Models given in code rather than by kind: scripted ones, in tests.
#[derive(Clone, Default)]
pub struct Models {
    /// The Concierge's (and the Investigator's).
    pub concierge: ModelOverrides,
    /// The simulated users' and the judge's.
    pub eval: EvalModels,
}

/// The general-purpose model of `kind`, as configured.
async fn connect(config: &Config, kind: &str, role: &str) -> anyhow::Result<Arc<dyn llm::ChatModel>> {
    let settings = ProviderSettings::select(kind, &config.concierge.provider)
        .map_err(|why| anyhow::anyhow!("--{role}-provider: {why}"))?;
    settings
        .connect()
        .await?
        .ok_or_else(|| anyhow::anyhow!("--{role}-provider: the offline model cannot {role}; name a model provider"))
}

/// The suites `paths` name (files, or folders of `.yaml` files); the built-in ones for none.
pub fn load_suites(paths: &[PathBuf]) -> anyhow::Result<Vec<Suite>> {
    if paths.is_empty() {
        return evals::built_in().map_err(|why| anyhow::anyhow!(why));
    }
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .with_context(|| format!("could not list {}", path.display()))?
                .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                .filter(|file| file.extension().is_some_and(|extension| extension == "yaml"))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    files.iter().map(|file| Suite::load(file).map_err(anyhow::Error::from)).collect()
}

/// The configuration of an eval store: a private store in `data_dir` with `config`'s agents, and
/// rate limits out of the way of the trials.
fn eval_config(config: &Config, data_dir: &Path, provider: Option<&str>) -> anyhow::Result<Config> {
    let mut config = config.private_store(data_dir);
    (config.mcp.calls_per_minute, config.mcp.burst) = (1_000_000, 1_000_000);
    let limits = &mut config.concierge.limits;
    (limits.messages_per_minute, limits.burst) = (1_000_000, 1_000_000);
    if let Some(kind) = provider {
        config.concierge.provider = ProviderSettings::select(kind, &config.concierge.provider)
            .map_err(|why| anyhow::anyhow!("--provider: {why}"))?;
    }
    Ok(config)
}

/// Runs the suites of `options` on a store of their own, with `models` where given.
pub async fn run(config: &Config, options: &EvalOptions, models: Models) -> anyhow::Result<RunReport> {
    let mut eval_models = models.eval;
    if let (None, Some(kind)) = (&eval_models.user, &options.user_provider) {
        eval_models.user = Some(connect(config, kind, "user").await?);
    }
    if let (None, Some(kind)) = (&eval_models.judge, &options.judge_provider) {
        eval_models.judge = Some(connect(config, kind, "judge").await?);
    }
    let suites = load_suites(&options.suites)?;
    let cases: usize = suites.iter().map(|suite| suite.cases.len()).sum();
    let data = tempfile::tempdir().context("could not create the eval store's folder")?;
    let mut config = eval_config(config, data.path(), options.provider.as_deref())?;
    let shutdown = CancellationToken::new();
    // Every system but the Concierge (the run serves its own, with the run's models) and the web.
    let business: Vec<System> =
        System::all().iter().copied().filter(|system| !["concierge", "web"].contains(&system.name())).collect();
    let running = systems::start(&config, &business, &shutdown).await?;
    running.locate(&mut config);
    let url = |name: &str| config.url_of(name);
    eprintln!("boutique eval: {} suites, {cases} cases, {} trials each", suites.len(), options.trials);
    let customers: BTreeSet<&str> =
        suites.iter().flat_map(|suite| &suite.cases).map(|case| case.who.customer.as_str()).collect();
    // The orders are placed as the storefront places them and watched as the MCP server reads.
    let trust = config.trust()?;
    let (web, reader) = (trust.credentials("web"), trust.credentials("mcp"));
    for customer in customers {
        // A suspended customer's checkout is refused: their cases ask about no order.
        match demo::place_order(&web, &url("cart"), &url("checkout"), customer, 2).await {
            Ok(order) => wait_until_fulfilled(&reader, &url("oms"), &url("warehouse"), &order).await?,
            Err(error) => eprintln!("boutique eval: {customer} has no order ({error:#})"),
        }
    }
    let prompts = concierge::prompts::Prompts::configured(config.concierge.prompts_dir.as_deref())
        .map_err(|why| anyhow::anyhow!("concierge.prompts_dir: {why}"))?;
    let concierge = systems::serve_concierge(&config, &config.concierge, models.concierge, "eval-concierge").await?;
    let target = Target {
        concierge,
        mcp: format!("{}/mcp", url("mcp")),
        key: crate::mcp::token_key(&config)?,
        prompts: vec![prompts.concierge, prompts.investigator],
    };
    let run_options = RunOptions {
        trials: options.trials.max(1),
        concurrency: options.concurrency.max(1),
        turn_timeout: Duration::from_secs(config.concierge.limits.turn_deadline_secs + 30),
    };
    let report = evals::run(&target, &suites, run_options, &eval_models, &progress_bar).await;
    if std::io::stderr().is_terminal() {
        eprintln!();
    }
    shutdown.cancel();
    running.finish().await?;
    Ok(report?)
}

/// The JSON report at `path`, as `--json` wrote it.
pub fn read_report(path: &Path) -> anyhow::Result<RunReport> {
    let text = std::fs::read_to_string(path).with_context(|| format!("could not read {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not an eval report (boutique eval run --json)", path.display()))
}

/// Prints how `current` compares with `baseline`; an error when something regressed.
pub fn gate(baseline: &RunReport, current: &RunReport, tolerance: f64) -> anyhow::Result<()> {
    let comparison = evals::compare::compare(baseline, current, tolerance);
    print!("{}", comparison.lines());
    if !comparison.regressions.is_empty() {
        bail!("{} regression(s) against the baseline", comparison.regressions.len());
    }
    Ok(())
}

/// Waits until order management has `order` and it is held, or the warehouse ships it.
async fn wait_until_fulfilled(reader: &Credentials, oms: &str, warehouse: &str, order: &str) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    for _ in 0..600 {
        let state = match http.get(format!("{oms}/v1/orders/{order}")).bearer_auth(reader.token_for("oms")).send().await
        {
            Ok(response) if response.status().is_success() => {
                response.json::<serde_json::Value>().await.unwrap_or_default()["state"].as_str().map(str::to_owned)
            }
            _ => None,
        };
        let shipments: serde_json::Value = http
            .get(format!("{warehouse}/v1/shipments?order_id={order}"))
            .bearer_auth(reader.token_for("warehouse"))
            .send()
            .await?
            .json()
            .await?;
        let shipped = shipments["items"].as_array().is_some_and(|items| !items.is_empty());
        if state.as_deref() == Some("on_hold") || (state.is_some() && shipped) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("order {order} was not fulfilled within a minute")
}

/// Draws `done` of `total` trials as a bar on stderr: redrawn in place on a terminal, a line
/// every tenth of the way in a log.
fn progress_bar(done: usize, total: usize) {
    const WIDTH: usize = 30;
    let filled = (done * WIDTH).checked_div(total).unwrap_or(WIDTH);
    let bar = format!("[{}{}] {done}/{total} trials", "#".repeat(filled), "-".repeat(WIDTH - filled));
    let mut stderr = std::io::stderr();
    if stderr.is_terminal() {
        let _ = write!(stderr, "\r{bar}");
    } else if done == total || (done * 10 / total.max(1)) != ((done - 1) * 10 / total.max(1)) {
        let _ = writeln!(stderr, "{bar}");
    }
    let _ = stderr.flush();
}
