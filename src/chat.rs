//! `boutique chat`: a terminal client of the Concierge for operators and prompt authors. It signs
//! a session with the data folder's key (as the storefront does at sign-in) and streams answers
//! as the widget shows them. With `--provider` it runs a Concierge of its own, answering with
//! that model, against the running systems; its conversations are kept in `chat.db`.

use std::io::Write;
use std::time::Duration;

use anyhow::{Context, bail};
use concierge::{Event, ProviderSettings};
use mcp_contract::token::{Grant, Role, unix_now};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::config::Config;
use crate::systems;

/// How long a chat session's token lives.
const SESSION: Duration = Duration::from_secs(8 * 3600);

/// Who chats, and with which model.
#[derive(Debug, Clone)]
pub struct ChatOptions {
    /// A customer id (`cus-…`: the customer themselves) or a staff user name (an agent).
    pub who: String,
    /// The customer an agent serves.
    pub customer: Option<String>,
    /// A storefront cart to chat beside, as the widget does.
    pub cart: Option<String>,
    /// Run a Concierge here answering with this kind of model (`offline`, `vertex`, `openai`, `gguf`),
    /// instead of talking to the running one.
    pub provider: Option<String>,
}

/// Chats on stdin and stdout until `/quit` or the end of input.
pub async fn run(config: &Config, options: ChatOptions) -> anyhow::Result<()> {
    let key = crate::mcp::token_key(config)?;
    let (role, customer) = match options.who.starts_with("cus-") {
        true if options.customer.as_ref().is_some_and(|chosen| *chosen != options.who) => {
            bail!("a customer talks about themselves: drop --customer, or chat --as a staff user")
        }
        true => (Role::Customer, Some(options.who.clone())),
        false => (Role::Agent, options.customer.clone()),
    };
    let grant = Grant { subject: options.who.clone(), role, customer: customer.clone(), ttl: SESSION };
    let session = key.mint(&grant, concierge::session::AUDIENCE, unix_now()).map_err(|why| anyhow::anyhow!(why))?;
    let base = match &options.provider {
        None => config.url_of("concierge"),
        Some(kind) => {
            let mut settings = config.concierge.clone();
            settings.provider = ProviderSettings::select(kind, &settings.provider)
                .map_err(|why| anyhow::anyhow!("--provider: {why}"))?;
            systems::serve_concierge(config, &settings, Default::default(), "chat").await?
        }
    };
    let client = Client { http: reqwest::Client::new(), base, session };
    let mut body = json!({ "cart_id": options.cart });
    if role.is_staff() {
        body["customer_id"] = json!(customer);
    }
    let opened = client.post("/v1/conversations", &body).await?;
    let conversation = opened["conversation_id"].as_str().unwrap_or_default().to_owned();
    println!(
        "Conversation {conversation} with {} (prompts {}). /handover confirms a hand-over, /quit leaves.",
        opened["provider"].as_str().unwrap_or_default(),
        opened["prompts_hash"].as_str().unwrap_or_default().get(..12).unwrap_or_default(),
    );
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    loop {
        print!("you> ");
        std::io::stdout().flush()?;
        let Some(line) = lines.next_line().await? else { break };
        match line.trim() {
            "" => {}
            "/quit" => break,
            "/handover" => match client.post(&format!("/v1/conversations/{conversation}/handover"), &json!({})).await {
                Ok(answer) => {
                    let ticket = answer["ticket_id"].as_str().unwrap_or_default();
                    println!("Ticket {ticket} opened: a person will contact you.");
                }
                Err(error) => println!("! {error:#}"),
            },
            text => {
                if let Err(error) = client.stream_turn(&conversation, text).await {
                    println!("! {error:#}");
                }
            }
        }
    }
    println!();
    Ok(())
}

/// The Concierge's HTTP API, as one signed-in session.
struct Client {
    http: reqwest::Client,
    base: String,
    session: String,
}

impl Client {
    async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let response = self.send(path, body, "application/json").await?;
        response.json().await.context("the Concierge's answer is not JSON")
    }

    async fn send(&self, path: &str, body: &Value, accept: &str) -> anyhow::Result<reqwest::Response> {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.session)
            .header("accept", accept)
            .json(body)
            .send()
            .await
            .with_context(|| format!("the Concierge at {} did not answer: is the store up?", self.base))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let problem: Value = response.json().await.unwrap_or_default();
        let detail = problem["detail"].as_str().unwrap_or_default();
        if status.as_u16() == 401 {
            bail!("the Concierge refused the session ({detail}): is --data-dir the running store's?");
        }
        bail!("the Concierge answered {status}: {detail}")
    }

    /// Sends `text` and prints the answer as it streams.
    async fn stream_turn(&self, conversation: &str, text: &str) -> anyhow::Result<()> {
        let path = format!("/v1/conversations/{conversation}/messages");
        let response = self.send(&path, &json!({ "text": text }), "text/event-stream").await?;
        let mut events = llm::transport::EventReader::new(response);
        print!("concierge> ");
        while let Some(data) = events.next().await? {
            match serde_json::from_str::<Event>(&data) {
                Ok(Event::Text { text }) => print!("{text}"),
                Ok(Event::Tool { name, .. }) => print!("[{name}] "),
                Ok(Event::Handover { reason }) => print!("[hand-over proposed: {reason}; /handover confirms] "),
                Ok(Event::Done { usage, .. }) => println!("  ({} tokens)", usage.total()),
                Ok(Event::Error { message }) => println!("\n! {message}"),
                Err(error) => tracing::warn!(%error, "An event could not be read."),
            }
            std::io::stdout().flush()?;
        }
        Ok(())
    }
}
