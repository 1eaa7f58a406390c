//! Runs suites against a Concierge over its HTTP API: every case `trials` times, `concurrency`
//! trials at once, each trial a fresh conversation. The facts a case's `{variables}` stand for
//! are read live through the MCP server first, so cases hold no hard-coded answers.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use concierge::Event;
use futures_util::StreamExt;
use investigator::CapabilityToken;
use investigator::mcp::McpSession;
use mcp_contract::token::{Grant, Role, TokenKey, unix_now};
use serde_json::{Value, json};

use crate::case::{Case, Forbidden, Leak, Suite};
use crate::check::{self, LeakContext, Variables};
use crate::models::{self, EvalModels};
use crate::report::{RunReport, TrialOutcome};

/// The Concierge under test, and how to reach the data behind it.
#[derive(Debug, Clone)]
pub struct Target {
    /// The Concierge's base URL.
    pub concierge: String,
    /// The MCP endpoint (`…/mcp`), for the live facts; also its tokens' audience.
    pub mcp: String,
    /// The key that signs session and capability tokens.
    pub key: TokenKey,
    /// The agents' prompts, to catch them leaking.
    pub prompts: Vec<String>,
}

/// How many trials, how many at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunOptions {
    /// Trials per case: pass^k is reported for k up to this.
    pub trials: usize,
    /// Trials run at once.
    pub concurrency: usize,
    /// How long one turn may take before the trial fails: above the Concierge's own deadline,
    /// which answers with an error event in time.
    pub turn_timeout: Duration,
}

/// Why a run could not be made.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// The live facts could not be read.
    #[error("could not read the live facts of {customer}: {detail}")]
    Truth {
        /// Whose.
        customer: String,
        /// Why.
        detail: String,
    },
}

/// What a customer's variables stand for, and what of others' there is to leak.
#[derive(Debug, Clone, Default)]
struct Truth {
    variables: Variables,
    orders: Vec<String>,
    fraud_reasons: Vec<String>,
}

/// Runs `suites`, with `models` playing simulated users and judging rubrics where given,
/// calling `progress(done, total)` after each trial.
pub async fn run(
    target: &Target,
    suites: &[Suite],
    options: RunOptions,
    models: &EvalModels,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<RunReport, EvalError> {
    let mut truths = BTreeMap::new();
    for case in suites.iter().flat_map(|suite| &suite.cases) {
        if !truths.contains_key(&case.who.customer) {
            truths.insert(case.who.customer.clone(), read_truth(target, &case.who.customer).await?);
        }
    }
    let prompt_lines: Vec<String> = target.prompts.iter().flat_map(|prompt| check::telling_lines(prompt)).collect();
    let jobs: Vec<(usize, usize)> = suites
        .iter()
        .enumerate()
        .flat_map(|(s, suite)| (0..suite.cases.len()).map(move |c| (s, c)))
        .flat_map(|job| std::iter::repeat_n(job, options.trials))
        .collect();
    let total = jobs.len();
    let http = reqwest::Client::builder().timeout(options.turn_timeout).build().unwrap_or_default();
    let mut trials = futures_util::stream::iter(jobs)
        .map(|(s, c)| {
            let case = &suites[s].cases[c];
            let context = leak_context(case, &truths, &prompt_lines);
            let variables = truths.get(&case.who.customer).map(|truth| truth.variables.clone()).unwrap_or_default();
            let http = http.clone();
            async move { ((s, c), trial(target, &http, models, case, &variables, &context).await) }
        })
        .buffer_unordered(options.concurrency.max(1));
    let mut outcomes: BTreeMap<(usize, usize), Vec<TrialOutcome>> = BTreeMap::new();
    let mut done = 0;
    while let Some((key, outcome)) = trials.next().await {
        outcomes.entry(key).or_default().push(outcome);
        done += 1;
        progress(done, total);
    }
    Ok(RunReport::new(suites, outcomes, options.trials))
}

fn leak_context(case: &Case, truths: &BTreeMap<String, Truth>, prompt_lines: &[String]) -> LeakContext {
    let customer = &case.who.customer;
    LeakContext {
        customer: customer.clone(),
        others_orders: truths
            .iter()
            .filter(|(other, _)| *other != customer)
            .flat_map(|(_, truth)| truth.orders.clone())
            .collect(),
        fraud_reasons: truths.get(customer).map(|truth| truth.fraud_reasons.clone()).unwrap_or_default(),
        asked_by_customer: case.who.agent.is_none(),
        prompt_lines: prompt_lines.to_vec(),
    }
}

/// An MCP session reading `customer`'s records as a fraud analyst (who sees everything).
async fn reader(target: &Target, customer: &str) -> Result<McpSession, String> {
    let grant = Grant {
        subject: "eval-runner".into(),
        role: Role::FraudAnalyst,
        customer: Some(customer.into()),
        ttl: Duration::from_secs(600),
    };
    let token = target.key.mint(&grant, &target.mcp, unix_now()).map_err(|error| error.to_string())?;
    McpSession::connect(&target.mcp, &CapabilityToken::new(token), 100).await.map_err(|error| error.to_string())
}

async fn read(session: &McpSession, tool: &str, arguments: Value) -> Value {
    match session.call(tool, arguments).await {
        Ok(Ok(value)) => value,
        _ => Value::Null,
    }
}

/// The customer's latest order and where it stands, their loyalty, and their fraud reasons.
async fn read_truth(target: &Target, customer: &str) -> Result<Truth, EvalError> {
    let failed = |detail: String| EvalError::Truth { customer: customer.into(), detail };
    let session = reader(target, customer).await.map_err(failed)?;
    let mut variables = Variables::new();
    variables.insert("customer_id".into(), customer.into());
    let loyalty = read(&session, "loyalty_status", json!({})).await;
    for key in ["tier", "points", "next_tier", "points_to_next_tier"] {
        if let Some(value) = loyalty.get(key).filter(|value| !value.is_null()) {
            variables.insert(key.into(), value.as_str().map_or_else(|| value.to_string(), str::to_owned));
        }
    }
    let orders = read(&session, "list_orders", json!({ "limit": 20 })).await;
    let order_ids: Vec<String> = orders["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| o["order_id"].as_str().map(str::to_owned))
        .collect();
    let mut fraud_reasons = Vec::new();
    if let Some(order) = order_ids.first() {
        variables.insert("order_id".into(), order.clone());
        let timeline = read(&session, "order_timeline", json!({ "order_id": order })).await;
        if let Some(state) = timeline["state"].as_str() {
            variables.insert("state".into(), state.into());
        }
        let shipments = read(&session, "shipment_tracking", json!({ "order_id": order })).await;
        if let Some(number) = shipments["items"][0]["parcels"][0]["tracking_number"].as_str() {
            variables.insert("tracking_number".into(), number.into());
        }
        let fraud = read(&session, "fraud_assessment", json!({ "order_id": order })).await;
        for reason in fraud["reasons"].as_array().into_iter().flatten() {
            fraud_reasons.extend(["code", "detail"].iter().filter_map(|key| reason[*key].as_str().map(str::to_owned)));
        }
    }
    session.close().await;
    Ok(Truth { variables, orders: order_ids, fraud_reasons })
}

/// What of the customer's records a conversation could change: standing, loyalty, tickets,
/// notes, orders.
async fn snapshot(target: &Target, customer: &str) -> Result<Value, String> {
    let session = reader(target, customer).await?;
    let profile = read(&session, "customer_profile", json!({})).await;
    let tickets = read(&session, "support_tickets", json!({})).await;
    let notes = read(&session, "customer_notes", json!({})).await;
    let orders = read(&session, "list_orders", json!({ "limit": 20 })).await;
    session.close().await;
    Ok(json!({
        "standing": profile["standing"], "tier": profile["tier"], "points": profile["points"],
        "tickets": tickets["items"], "notes": notes["items"], "orders": orders["items"],
    }))
}

/// One conversation of `case`, checked.
async fn trial(
    target: &Target,
    http: &reqwest::Client,
    models: &EvalModels,
    case: &Case,
    variables: &Variables,
    context: &LeakContext,
) -> TrialOutcome {
    let expect = &case.expect;
    let customer = &case.who.customer;
    let before = if expect.stores_unchanged { Some(snapshot(target, customer).await) } else { None };
    let started = Instant::now();
    let mut conversation = Conversation::default();
    let conversed = converse(target, http, models, case, variables, &mut conversation).await;
    let latency = started.elapsed();
    let mut outcome = TrialOutcome {
        latency_ms: latency.as_millis() as u64,
        provider: conversation.provider,
        prompts_hash: conversation.prompts_hash,
        tools: conversation.tools,
        ..TrialOutcome::default()
    };
    if let Err(error) = conversed {
        outcome.failures.push(error);
        (outcome.said, outcome.answers) = (conversation.said, conversation.answers);
        return outcome;
    }
    let whole = conversation.answers.join("\n");
    if let (Some(rubric), Some(judge)) = (&expect.rubric, &models.judge) {
        match models::judge(judge.as_ref(), rubric, &conversation.said, &conversation.answers).await {
            Ok(verdict) => {
                outcome.judged = Some(verdict.pass);
                if !verdict.pass {
                    outcome.failures.push(format!("the judge: {}", verdict.reason));
                }
            }
            Err(error) => outcome.failures.push(format!("the judge failed: {error}")),
        }
    }
    outcome.said = conversation.said;
    outcome.answers = conversation.answers;
    outcome.trajectory_ok = check::trajectory_matches(&expect.tools, &outcome.tools, expect.trajectory);
    if !outcome.trajectory_ok {
        outcome
            .failures
            .push(format!("tools {:?}, expected {:?} ({:?})", outcome.tools, expect.tools, expect.trajectory));
    }
    outcome.facts_total = expect.facts.len();
    for fact in &expect.facts {
        match check::conveys(&whole, fact, variables) {
            Ok(true) => outcome.facts_found += 1,
            Ok(false) => outcome.failures.push(format!("missing fact {fact:?}")),
            Err(error) => outcome.failures.push(format!("fact {fact:?}: {error}")),
        }
    }
    // Every case is checked for the leaks that are never acceptable, whatever it lists.
    let mut forbidden = expect.forbidden.clone();
    for always in [Leak::OtherCustomers, Leak::FraudInternals, Leak::PromptText].map(Forbidden::Leak) {
        if !forbidden.contains(&always) {
            forbidden.push(always);
        }
    }
    for rule in &forbidden {
        match check::leaks(&whole, rule, context) {
            Ok(found) => outcome.leaks.extend(found),
            Err(error) => outcome.failures.push(format!("forbidden {rule:?}: {error}")),
        }
    }
    if !outcome.leaks.is_empty() {
        outcome.failures.push(format!("leaked: {}", outcome.leaks.join("; ")));
    }
    if let Some(before) = before {
        match (before, snapshot(target, customer).await) {
            (Ok(before), Ok(after)) if before == after => {}
            (Ok(_), Ok(_)) => {
                outcome.store_changed = true;
                outcome.failures.push(format!("{customer}'s records changed"));
            }
            (Err(error), _) | (_, Err(error)) => outcome.failures.push(format!("could not check the records: {error}")),
        }
    }
    if let Some(budget) = expect.latency_ms.filter(|budget| outcome.latency_ms > *budget) {
        outcome.failures.push(format!("took {} ms, budget {budget} ms", outcome.latency_ms));
    }
    outcome.passed = outcome.failures.is_empty();
    outcome
}

/// What a conversation said and did, so far.
#[derive(Debug, Default)]
struct Conversation {
    /// The user's messages.
    said: Vec<String>,
    answers: Vec<String>,
    /// The tools run, `investigate:<topic>` for delegations.
    tools: Vec<String>,
    provider: String,
    prompts_hash: String,
}

/// Has `case`'s conversation, recording it in `conversation` as it goes.
async fn converse(
    target: &Target,
    http: &reqwest::Client,
    models: &EvalModels,
    case: &Case,
    variables: &Variables,
    conversation: &mut Conversation,
) -> Result<(), String> {
    let customer = case.who.customer.clone();
    let (grant, body) = match &case.who.agent {
        Some(agent) => (
            Grant {
                subject: agent.clone(),
                role: Role::Agent,
                customer: Some(customer.clone()),
                ttl: Duration::from_secs(600),
            },
            json!({ "customer_id": customer }),
        ),
        None => (
            Grant {
                subject: customer.clone(),
                role: Role::Customer,
                customer: Some(customer),
                ttl: Duration::from_secs(600),
            },
            json!({}),
        ),
    };
    let session =
        target.key.mint(&grant, concierge::session::AUDIENCE, unix_now()).map_err(|error| error.to_string())?;
    let opened = post(http, &format!("{}/v1/conversations", target.concierge), &session, &body).await?;
    let id = opened["conversation_id"].as_str().ok_or("no conversation id")?.to_owned();
    let text = |key: &str| opened[key].as_str().unwrap_or_default().to_owned();
    (conversation.provider, conversation.prompts_hash) = (text("provider"), text("prompts_hash"));
    let url = format!("{}/v1/conversations/{id}/messages", target.concierge);
    for turn in &case.turns {
        let text = check::substitute(turn, variables)?;
        let answer = say(http, &url, &session, &text, &mut conversation.tools).await?;
        conversation.said.push(text);
        conversation.answers.push(answer);
    }
    if let Some(user) = &case.user {
        let mut next = Some(check::substitute(&user.starting_prompt, variables)?);
        let mut sent = 0;
        while let Some(text) = next.take() {
            let answer = say(http, &url, &session, &text, &mut conversation.tools).await?;
            conversation.said.push(text);
            conversation.answers.push(answer);
            sent += 1;
            if let Some(model) = models.user.as_ref().filter(|_| sent < user.max_turns) {
                let exchanges: Vec<(String, String)> =
                    conversation.said.iter().cloned().zip(conversation.answers.iter().cloned()).collect();
                next = models::next_user_message(model.as_ref(), user, &exchanges).await?;
            }
        }
    }
    Ok(())
}

/// Sends `text` in the conversation at `url`; its answer, with the tools it ran added to `tools`.
async fn say(
    http: &reqwest::Client,
    url: &str,
    session: &str,
    text: &str,
    tools: &mut Vec<String>,
) -> Result<String, String> {
    let answer = post(http, url, session, &json!({ "text": text })).await?;
    let events: Vec<Event> = serde_json::from_value(answer["events"].clone())
        .map_err(|error| format!("the Concierge's events could not be read: {error}"))?;
    for event in events {
        match event {
            Event::Tool { name, arguments } => tools.push(match arguments["topic"].as_str() {
                Some(topic) => format!("{name}:{topic}"),
                None => name,
            }),
            Event::Error { message } => return Err(format!("the turn failed: {message:?}")),
            _ => {}
        }
    }
    Ok(answer["reply"].as_str().unwrap_or_default().to_owned())
}

async fn post(http: &reqwest::Client, url: &str, session: &str, body: &Value) -> Result<Value, String> {
    let response = http.post(url).bearer_auth(session).json(body).send().await.map_err(|error| error.to_string())?;
    let status = response.status();
    let body: Value = response.json().await.map_err(|error| error.to_string())?;
    if !status.is_success() {
        return Err(format!("{url} answered {status}: {}", body["detail"]));
    }
    Ok(body)
}
