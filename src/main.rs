//! `boutique`: runs the store's business systems, together or one by one.

use std::path::PathBuf;

use boutique::config::Config;
use boutique::registry::System;
use boutique::systems::{self, shown_path};
use boutique::{audit, chat, credential, dead_letters, eval, keys, mcp};
use business_services::platform::audit::Filter;
use clap::{Parser, Subcommand};
use mcp_contract::token::Role;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

/// Online Boutique in Rust: every business system of an online store, in one binary.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// TOML configuration file [default: ./boutique.toml if it exists]. Environment variables
    /// override it: BOUTIQUE_<KEY> (nested keys joined by __), <SYSTEM>_URL, <SYSTEM>_PORT,
    /// <SYSTEM>_DATABASE_URL.
    #[arg(long, global = true, env = "BOUTIQUE_CONFIG")]
    config: Option<PathBuf>,

    /// Folder of the embedded SQLite stores [default: ./data].
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs every system in this process on embedded defaults, seeding demo data on first start.
    Up,
    /// Runs the named systems; peers elsewhere are found through <SYSTEM>_URL.
    Serve {
        /// Systems to run: catalog, currency, cart.
        #[arg(required = true, value_parser = parse_system)]
        systems: Vec<System>,
    },
    /// Lists or replays the messages the event broker gave up on (at <BROKER_URL>).
    DeadLetters {
        #[command(subcommand)]
        action: DeadLetterAction,
    },
    /// The read-only MCP server: a stdio session for desktop clients, or a token for any client.
    Mcp {
        /// Serve one MCP session over stdin/stdout (for desktop and IDE clients), reading the
        /// systems at their configured URLs.
        #[arg(long, requires = "token")]
        stdio: bool,
        /// The capability token of the stdio session.
        #[arg(long, env = "MCP_TOKEN", hide_env_values = true)]
        token: Option<String>,
        #[command(subcommand)]
        action: Option<McpAction>,
    },
    /// Talks to the Concierge in the terminal, streaming answers as the storefront widget does.
    Chat {
        /// Who talks: a customer id (cus-…) or a staff user name (an agent).
        #[arg(long = "as", value_name = "CUSTOMER_OR_AGENT")]
        who: String,
        /// The customer an agent serves.
        #[arg(long)]
        customer: Option<String>,
        /// A storefront cart to chat beside, as the widget does.
        #[arg(long)]
        cart: Option<String>,
        /// Run a Concierge here answering with this model (offline, or the configured vertex,
        /// openai or gguf), instead of the running one at <CONCIERGE_URL>.
        #[arg(long)]
        provider: Option<String>,
    },
    /// Runs the agents' eval suites on a store of their own.
    Eval {
        #[command(subcommand)]
        action: EvalAction,
    },
    /// Prints the Authorization header value a direct call to a system needs: a service token
    /// (valid 60 s) signed with the store's keys in the data folder, or the admin token on
    /// operator routes. For curl and other tools, e.g.
    /// `curl -H "Authorization: $(boutique credential --for crm --route 'GET /v1/customers')" …`.
    Credential {
        /// The system called, e.g. crm.
        #[arg(long = "for", value_parser = parse_system)]
        system: System,
        /// Call as this system, e.g. web.
        #[arg(long = "as", conflicts_with = "route")]
        caller: Option<String>,
        /// The route called, e.g. 'POST /v1/customers/{id}/notes': call as a caller its table admits.
        #[arg(long)]
        route: Option<String>,
    },
    /// Checks that money and goods add up across the stores: no charge without its order, no
    /// open hold, no stock or slot held for nobody, ledger equal to payments; exits non-zero
    /// when anything is off.
    Audit,
    /// Lists what people wrote through the systems' doors, newest first: who, in what role,
    /// to which system, when, and how it was answered.
    AuditTrail {
        /// Only this operator's writes, e.g. ada (the admin token's are `admin`'s).
        #[arg(long)]
        person: Option<String>,
        /// Only writes to this system.
        #[arg(long, value_parser = parse_system)]
        system: Option<System>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Rotates the store's signing keys in the data folder (the systems' and the MCP capability
    /// tokens'): new keys sign from now on, running processes take them up without a restart, and
    /// tokens the old keys signed stay valid until they expire.
    RotateKeys,
    /// Creates or upgrades the stores of the named systems (all if none), then exits.
    Migrate {
        /// Systems to migrate: catalog, currency, cart.
        #[arg(value_parser = parse_system)]
        systems: Vec<System>,
    },
}

#[derive(Debug, Subcommand)]
enum DeadLetterAction {
    /// Lists dead letters, oldest first.
    List {
        /// Only this subscription's, e.g. oms-orders.
        #[arg(long)]
        subscription: Option<String>,
    },
    /// Puts dead letters back for delivery with fresh attempts (needs BOUTIQUE_ADMIN_TOKEN).
    Replay {
        /// The subscription, e.g. oms-orders.
        subscription: String,
        /// Only this message; all of the subscription's dead letters if absent.
        #[arg(long)]
        message_id: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum EvalAction {
    /// Runs suites (the built-in ones if none are named) and prints their scores.
    Run {
        /// Suite files, or folders of them.
        suites: Vec<PathBuf>,
        /// The Concierge's model: offline, or the configured vertex, openai or gguf.
        #[arg(long)]
        provider: Option<String>,
        /// Trials per case; pass^k is reported for k up to this.
        #[arg(long, default_value_t = 3)]
        trials: usize,
        /// Trials at once.
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        /// The model playing simulated users: the configured vertex, openai or gguf.
        #[arg(long)]
        user_provider: Option<String>,
        /// The model judging rubrics: the configured vertex, openai or gguf.
        #[arg(long)]
        judge_provider: Option<String>,
        /// Also write the whole report, every trial's answers included, as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Also write it as JUnit XML here.
        #[arg(long)]
        junit: Option<PathBuf>,
        /// Also write it as an HTML page with charts here.
        #[arg(long)]
        html: Option<PathBuf>,
        /// Exit non-zero when a suite's pass^k is below this, or anything leaked.
        #[arg(long)]
        fail_under: Option<f64>,
        /// Compare with this earlier run's JSON report; exit non-zero on a regression.
        #[arg(long)]
        baseline: Option<PathBuf>,
    },
    /// Converts an ADK evalset (`*.evalset.json`) into a suite, printed as YAML.
    ImportAdk {
        /// The evalset file.
        evalset: PathBuf,
        /// What the suite measures.
        #[arg(long, value_enum, default_value = "core")]
        kind: evals::case::SuiteKind,
        /// The customer of cases whose session names none.
        #[arg(long)]
        customer: Option<String>,
    },
    /// Compares a run's JSON report with a baseline's; exits non-zero on a regression.
    Compare {
        /// The baseline's JSON report.
        baseline: PathBuf,
        /// The run's JSON report.
        current: PathBuf,
        /// How far pass^k may fall before it counts.
        #[arg(long, default_value_t = 0.0)]
        tolerance: f64,
    },
}

#[derive(Debug, Subcommand)]
enum McpAction {
    /// Mints a capability token for an MCP client and prints it.
    Token {
        /// Who the client acts for: a customer id (role customer) or a staff user name.
        #[arg(long)]
        subject: String,
        /// customer, agent, fraud_analyst or admin.
        #[arg(long, value_parser = Role::parse)]
        role: Role,
        /// The customer whose records staff tokens read (customers read their own).
        #[arg(long)]
        customer: Option<String>,
        /// Lifetime, e.g. 90s, 15m, 2h (at most 12h).
        #[arg(long, default_value = "1h", value_parser = mcp::parse_ttl)]
        ttl: std::time::Duration,
    },
}

fn parse_system(name: &str) -> Result<System, String> {
    System::parse(name).ok_or_else(|| format!("no system '{name}'; known: {}", System::names()))
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")))
        .with_writer(std::io::stderr)
        .init();
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("boutique: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::load(cli.config.as_deref(), cli.data_dir.as_deref())?;
    match cli.command {
        Command::Up => serve(&config, System::all()).await,
        Command::Serve { systems } => serve(&config, &dedup(systems)).await,
        Command::DeadLetters { action } => {
            let broker = config.url_of("broker");
            let token = config.admin_token.as_ref().map(|token| token.expose());
            match action {
                DeadLetterAction::List { subscription } => {
                    dead_letters::list(&broker, token, subscription.as_deref()).await
                }
                DeadLetterAction::Replay { subscription, message_id } => {
                    dead_letters::replay(&broker, token, &subscription, message_id.as_deref()).await
                }
            }
        }
        Command::Credential { system, caller, route } => {
            println!("{}", credential::credential(&config, system, caller.as_deref(), route.as_deref())?);
            Ok(())
        }
        Command::Mcp { action: Some(McpAction::Token { subject, role, customer, ttl }), .. } => {
            println!("{}", mcp::mint(&config, &subject, role, customer, ttl)?);
            Ok(())
        }
        Command::Mcp { stdio: true, token: Some(token), action: None } => mcp::serve_stdio(&config, &token).await,
        Command::Mcp { .. } => {
            anyhow::bail!("say `boutique mcp token --subject … --role …` or `boutique mcp --stdio --token …`")
        }
        Command::Chat { who, customer, cart, provider } => {
            chat::run(&config, chat::ChatOptions { who, customer, cart, provider }).await
        }
        Command::Eval { action: EvalAction::ImportAdk { evalset, kind, customer } } => {
            let text = std::fs::read_to_string(&evalset)
                .map_err(|error| anyhow::anyhow!("could not read {}: {error}", evalset.display()))?;
            let suite = evals::adk::import(&text, kind, customer.as_deref())
                .map_err(|why| anyhow::anyhow!("{}: {why}", evalset.display()))?;
            print!("{}", suite.to_yaml().map_err(|why| anyhow::anyhow!(why))?);
            Ok(())
        }
        Command::Eval { action: EvalAction::Compare { baseline, current, tolerance } } => {
            let (baseline, current) = (eval::read_report(&baseline)?, eval::read_report(&current)?);
            eval::gate(&baseline, &current, tolerance)
        }
        Command::Eval {
            action:
                EvalAction::Run {
                    suites,
                    provider,
                    trials,
                    concurrency,
                    user_provider,
                    judge_provider,
                    json,
                    junit,
                    html,
                    fail_under,
                    baseline,
                },
        } => {
            let options = eval::EvalOptions { suites, provider, trials, concurrency, user_provider, judge_provider };
            let report = eval::run(&config, &options, Default::default()).await?;
            print!("{}", report.table());
            let outputs = [
                (json, serde_json::to_string_pretty(&report)?),
                (junit, evals::junit::junit(&report)),
                (html, evals::html::html(&report)),
            ];
            for (path, text) in outputs.into_iter().filter_map(|(path, text)| path.map(|path| (path, text))) {
                std::fs::write(&path, text)
                    .map_err(|error| anyhow::anyhow!("could not write {}: {error}", path.display()))?;
            }
            if let Some(baseline) = baseline {
                eval::gate(&eval::read_report(&baseline)?, &report, 0.0)?;
            }
            if let Some(floor) = fail_under {
                let short: Vec<&str> = report
                    .suites
                    .iter()
                    .filter(|suite| suite.pass_hat_k() < floor || suite.leaks > 0)
                    .map(|suite| suite.suite.as_str())
                    .collect();
                if !short.is_empty() {
                    anyhow::bail!("below pass^{trials} {floor} or leaking: {}", short.join(", "));
                }
            }
            Ok(())
        }
        Command::RotateKeys => {
            for (ring, kid) in keys::rotate(&config)? {
                println!("{ring:<10} signs with key {kid}");
            }
            Ok(())
        }
        Command::Audit => {
            let findings = audit::run(&config).await?;
            print!("{findings}");
            if !findings.clean() {
                anyhow::bail!("the audit found the figures above not 0");
            }
            Ok(())
        }
        Command::AuditTrail { person, system, limit } => {
            let trail = systems::open_audit_trail(&config).await?;
            let filter = Filter { person, system: system.map(|system| system.name().to_owned()) };
            let entries = trail.entries(&filter, limit).await;
            trail.close().await;
            for entry in entries? {
                let status = entry.status.map_or_else(|| "no answer".to_owned(), |status| status.to_string());
                let at = entry.at.format(&time::format_description::well_known::Rfc3339)?;
                println!(
                    "{at}  {} ({})  {} {} {}  {status}",
                    entry.person, entry.role, entry.system, entry.method, entry.target
                );
            }
            Ok(())
        }
        Command::Migrate { systems } => {
            let systems = if systems.is_empty() { System::all().to_vec() } else { dedup(systems) };
            for (system, db) in systems::open_stores(&config, &systems).await? {
                println!(
                    "{system:<10} migrated ({})",
                    business_services::platform::db::redact(&config.database_url(system.name()))
                );
                db.close().await;
            }
            Ok(())
        }
    }
}

fn dedup(mut systems: Vec<System>) -> Vec<System> {
    systems.sort();
    systems.dedup();
    systems
}

async fn serve(config: &Config, systems: &[System]) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    let running = systems::start(config, systems, &shutdown).await?;
    println!("Online Boutique is up. Data: {}", shown_path(&config.data_dir));
    for (system, address) in &running.addresses {
        println!("  {system:<10} http://{address}");
    }
    if let Some((_, web)) = running.addresses.iter().find(|(system, _)| *system == "web") {
        // A wildcard listen address is not one to browse to.
        let host = if web.ip().is_unspecified() { std::net::Ipv4Addr::LOCALHOST.into() } else { web.ip() };
        println!("Open the store: http://{}/", std::net::SocketAddr::new(host, web.port()));
    }
    println!("Press Ctrl-C to stop.");
    wait_for_signal().await;
    tracing::info!("Shutting down: finishing requests in flight.");
    shutdown.cancel();
    running.finish().await
}

async fn wait_for_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(error) => {
                tracing::warn!(%error, "SIGTERM cannot be handled; stop with Ctrl-C.");
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
