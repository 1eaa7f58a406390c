//! The offline model: no network, no download. It routes the user's words to an intent by
//! rules, pulls out the ids they name, calls the Concierge's tools like any model would, and
//! renders its answer from the typed results. It never renders free text from the back office
//! as anything but quoted data, so planted instructions have nothing to act through.

use futures_util::stream::BoxStream;
use investigator::report::DataText;
use investigator::rules::{Delivery, PARCEL_BUSINESS_DAYS, RETURN_DAYS, ReturnWindow};
use investigator::{InvestigationReport, Topic};
use llm::{ChatModel, ChatRequest, Chunk, Message, ModelError, Reply, ToolCall, estimate_tokens, stream_reply};
use serde_json::{Value, json};

use crate::tools::{HELP, INVESTIGATE, REQUEST_HUMAN, SEARCH_PRODUCTS, VIEW_CART};

/// What the user wants, as the rules read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent {
    /// A greeting.
    Greeting,
    /// A person, please.
    Human,
    /// Something the investigator answers.
    Investigate(Topic),
    /// Is this product in stock? (the words naming it)
    Availability(String),
    /// Products matching these words.
    Products(String),
    /// What is in my cart?
    Cart,
    /// A help or policy question.
    Help,
    /// Nothing this store helps with.
    OutOfScope,
}

/// A rule: phrases that trigger it, and the intent it makes of the (lowercased) text.
type Rule = (&'static [&'static str], fn(&str) -> Intent);

/// Ordered rules: the first whose words occur wins.
const RULES: &[Rule] = &[
    (&["human", "person", "someone", "representative", "real agent", "talk to an agent", "speak to"], |_| {
        Intent::Human
    }),
    (&["my cart", "in the cart", "basket", "my bag"], |_| Intent::Cart),
    (&["on hold", "held", "hold", "under review", "stuck"], |_| Intent::Investigate(Topic::OrderHold)),
    (&["refund", "money back"], |_| Intent::Investigate(Topic::RefundStatus)),
    (&["return", "send it back", "send back"], |_| Intent::Investigate(Topic::ReturnEligibility)),
    (&["where is", "where's", "track", "parcel", "package", "carrier"], |_| Intent::Investigate(Topic::ParcelLocation)),
    (&["when will", "arrive", "delivery date", "when does", "deliver"], |_| Intent::Investigate(Topic::DeliveryDate)),
    (&["points", "tier", "loyalty", "rewards"], |_| Intent::Investigate(Topic::Loyalty)),
    (&["in stock", "available", "availability", "stock"], |text| Intent::Availability(product_words(text))),
    (&["account", "notes", "tickets", "history of this customer"], |_| Intent::Investigate(Topic::AccountReview)),
    (&["cancel", "cancellation"], |_| Intent::Help),
    (&["order", "status"], |_| Intent::Investigate(Topic::OrderStatus)),
    (&["looking for", "do you sell", "do you have", "show me", "recommend"], |text| {
        Intent::Products(product_words(text))
    }),
    (&["policy", "how do i", "how long", "shipping cost", "can i", "payment", "declined"], |_| Intent::Help),
    (&["hello", "hi", "hey", "good morning", "good evening"], |_| Intent::Greeting),
];

/// Words that say nothing about which product.
const FILLER: &[&str] = &[
    "is",
    "are",
    "the",
    "a",
    "an",
    "in",
    "stock",
    "available",
    "availability",
    "do",
    "you",
    "have",
    "any",
    "still",
    "looking",
    "for",
    "sell",
    "show",
    "me",
    "recommend",
    "i",
    "am",
    "want",
    "some",
    "please",
    "of",
    "it",
    "there",
    "your",
    "my",
    "can",
    "buy",
    "what",
    "about",
];

/// The intent of `text`.
pub fn route(text: &str) -> Intent {
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower.split(|c: char| !c.is_alphanumeric() && c != '\'').collect();
    let has = |phrase: &str| {
        if phrase.contains(' ') || phrase.contains('\'') { lower.contains(phrase) } else { words.contains(&phrase) }
    };
    RULES
        .iter()
        .find(|(phrases, _)| phrases.iter().any(|phrase| has(phrase)))
        .map_or(Intent::OutOfScope, |(_, intent)| intent(&lower))
}

/// The words of `text` that may name a product.
fn product_words(text: &str) -> String {
    text.split(|c: char| !c.is_alphanumeric() && c != '-')
        .filter(|word| !word.is_empty() && !FILLER.contains(word))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The order id `text` names (`ord_` and its hex digits), if any.
pub fn order_id(text: &str) -> Option<String> {
    text.split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .find(|word| word.starts_with("ord_") && word.len() > 4)
        .map(str::to_owned)
}

/// The offline model.
#[derive(Debug, Clone, Copy, Default)]
pub struct OfflineModel;

impl ChatModel for OfflineModel {
    fn name(&self) -> String {
        "offline:rules-1".to_owned()
    }

    fn stream(&self, request: ChatRequest) -> BoxStream<'static, Result<Chunk, ModelError>> {
        // It reads only the last message.
        let input = request.messages.last().map(|message| estimate_tokens(&json!(message).to_string())).unwrap_or(0);
        stream_reply(answer(&request.messages), input)
    }
}

fn say(text: impl Into<String>) -> Reply {
    Reply { text: text.into(), ..Reply::default() }
}

fn call(name: &str, arguments: Value) -> Reply {
    Reply { tool_calls: vec![ToolCall::new(format!("offline_{name}"), name, arguments)], ..Reply::default() }
}

const SCOPE_NOTE: &str = "I can help with your orders, deliveries, returns and refunds, loyalty points, \
     products and stock, and our store policies.";

/// The next step of the conversation: a tool call for a new question, or the answer once its
/// results are in.
fn answer(messages: &[Message]) -> Reply {
    let user_text = messages.iter().rev().find_map(|message| match message {
        Message::User { text } => Some(text.as_str()),
        _ => None,
    });
    match messages.last() {
        Some(Message::Tool { name, result, .. }) => after_tool(name, result, user_text.map(route)),
        Some(Message::User { text }) => first_step(text),
        _ => say(format!("Hello! {SCOPE_NOTE}")),
    }
}

fn first_step(text: &str) -> Reply {
    match route(text) {
        Intent::Greeting => say(format!("Hello! {SCOPE_NOTE} What can I do for you?")),
        Intent::Human => call(REQUEST_HUMAN, json!({ "reason": "the customer asked for a person" })),
        Intent::Investigate(topic) => {
            let mut arguments = json!({ "topic": topic });
            if let Some(order_id) = order_id(text) {
                arguments["order_id"] = json!(order_id);
            }
            call(INVESTIGATE, arguments)
        }
        Intent::Availability(words) | Intent::Products(words) if !words.is_empty() => {
            call(SEARCH_PRODUCTS, json!({ "query": words }))
        }
        Intent::Availability(_) | Intent::Products(_) => say("Which product do you mean?"),
        Intent::Cart => call(VIEW_CART, json!({})),
        Intent::Help => call(HELP, json!({ "query": text.chars().take(200).collect::<String>() })),
        Intent::OutOfScope => say(format!("Sorry, I can't help with that. {SCOPE_NOTE}")),
    }
}

fn after_tool(tool: &str, result: &Value, intent: Option<Intent>) -> Reply {
    if let Some(error) = result.get("error").and_then(Value::as_str) {
        tracing::debug!(tool, error, "A tool refused.");
        if tool == VIEW_CART {
            return say("I can only see the cart of the storefront page you are chatting from.");
        }
        if error.contains("for staff only") {
            return say(format!("Sorry, that is for our staff only. {SCOPE_NOTE}"));
        }
        return say("Sorry, I couldn't look that up just now. Would you like me to hand you over to a person?");
    }
    match tool {
        INVESTIGATE => match serde_json::from_value::<InvestigationReport>(result["report"].clone()) {
            Ok(report) => say(render(&report)),
            Err(_) => say("Sorry, I couldn't read what I found. Would you like me to hand you over to a person?"),
        },
        SEARCH_PRODUCTS => {
            let products = result["products"].as_array().cloned().unwrap_or_default();
            match (products.first(), intent) {
                (None, _) => say("I couldn't find a product matching that. Could you describe it differently?"),
                (Some(first), Some(Intent::Availability(_))) => {
                    call(INVESTIGATE, json!({ "topic": Topic::Availability, "product_id": first["product_id"] }))
                }
                _ => say(format!(
                    "Here is what I found: {}.",
                    products
                        .iter()
                        .take(3)
                        .map(|product| format!("{} ({})", text_of(&product["name"]), text_of(&product["price"])))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            }
        }
        HELP => match result["articles"].as_array().and_then(|articles| articles.first()) {
            Some(article) => say(format!(
                "From our help article \"{}\": {}",
                text_of(&article["title"]),
                text_of(&article["excerpt"])
            )),
            None => say(format!("I couldn't find a help article on that. {SCOPE_NOTE}")),
        },
        VIEW_CART => say(cart_words(result)),
        REQUEST_HUMAN => say("I can open a support ticket so that a person from our team contacts you. \
             Please confirm if you would like me to do that."),
        _ => say(SCOPE_NOTE),
    }
}

/// The cart tool's result in words.
fn cart_words(cart: &Value) -> String {
    let lines: Vec<String> = cart["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|line| {
            let name = line["name"].as_str().or(line["product_id"].as_str()).unwrap_or_default();
            match line["unit_price"].as_str() {
                Some(price) => format!("{} × {name} ({price} each)", line["quantity"]),
                None => format!("{} × {name}", line["quantity"]),
            }
        })
        .collect();
    if lines.is_empty() {
        "Your cart is empty.".to_owned()
    } else {
        let count = cart["item_count"].as_u64().unwrap_or_default();
        let items = if count == 1 { "item" } else { "items" };
        format!("Your cart has {count} {items}: {}.", lines.join(", "))
    }
}

fn text_of(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

/// Plain words for an order state.
fn state_words(state: &str) -> String {
    match state {
        "confirmed" => "confirmed and being prepared".to_owned(),
        "on_hold" => "on hold for a security review".to_owned(),
        "allocated" => "allocated to our warehouse".to_owned(),
        "picking" => "being picked and packed".to_owned(),
        "return_requested" => "awaiting your return".to_owned(),
        other => other.replace('_', " "),
    }
}

/// The answer a report supports, for its topic.
pub fn render(report: &InvestigationReport) -> String {
    if let Some(gap) = report.gaps.first()
        && report.order.is_none()
        && report.loyalty.is_none()
        && report.product.is_none()
        && report.profile.is_none()
    {
        return format!("I couldn't find that: {gap}.");
    }
    let order_id = report.order.as_ref().map(|order| order.order_id.clone()).unwrap_or_default();
    let state = report
        .timeline
        .as_ref()
        .and_then(|timeline| timeline.state.clone())
        .or_else(|| report.order.as_ref().map(|order| order.status.clone()))
        .unwrap_or_default();
    match report.topic {
        Some(Topic::OrderStatus) => {
            let mut text = format!("Your order {order_id} is {}.", state_words(&state));
            if let Some(order) = &report.order {
                text.push_str(&format!(" It was placed on {} for {}.", day(&order.placed_at), order.total));
            }
            if let Some(last) = report.timeline.as_ref().and_then(|timeline| timeline.items.last()) {
                text.push_str(&format!(" Last update: {} on {}.", state_words(&last.to), day(&last.at)));
            }
            text
        }
        Some(Topic::ParcelLocation) => {
            let parcels: Vec<String> = report
                .shipments
                .iter()
                .flat_map(|shipment| &shipment.parcels)
                .map(|parcel| {
                    format!(
                        "{} tracking number {} ({})",
                        parcel.carrier.replace('_', " "),
                        parcel.tracking_number,
                        parcel.status.replace('_', " ")
                    )
                })
                .collect();
            if parcels.is_empty() {
                return format!(
                    "Your order {order_id} is {} and has not been handed to a carrier yet.",
                    state_words(&state)
                );
            }
            let mut text = format!("Your order {order_id} is {}: {}.", state_words(&state), parcels.join("; "));
            // Only the scan's typed status and time: its location and note are carrier-written.
            if let Some(scan) =
                report.shipments.iter().flat_map(|shipment| shipment.scans.first()).max_by_key(|scan| &scan.at)
            {
                text.push_str(&format!(" Last carrier scan: {} on {}.", state_words(&scan.status), day(&scan.at)));
            }
            text
        }
        Some(Topic::DeliveryDate) => match &report.delivery {
            Some(Delivery::Delivered { on }) => format!("Your order {order_id} was delivered on {on}."),
            Some(Delivery::FreightSlot { slot }) => {
                format!("Your order {order_id} is booked for freight delivery: {slot}.")
            }
            Some(Delivery::Expected { earliest, latest }) => {
                format!("Your order {order_id} has shipped and should arrive between {earliest} and {latest}.")
            }
            Some(Delivery::NotShipped { status }) => format!(
                "Your order {order_id} is {} and has not shipped yet, so there is no delivery date yet. Parcels usually arrive {} to {} business days after shipping.",
                state_words(status),
                PARCEL_BUSINESS_DAYS.0,
                PARCEL_BUSINESS_DAYS.1
            ),
            Some(Delivery::NotComing { status }) => {
                format!("Your order {order_id} is {}, so it will not be delivered.", state_words(status))
            }
            None => format!("I couldn't work out a delivery date for {order_id}."),
        },
        Some(Topic::ReturnEligibility) => match &report.return_window {
            Some(ReturnWindow::Open { until, days_left }) => format!(
                "Yes, your order {order_id} can be returned until {until} ({days_left} days left). Refunds go to the original card."
            ),
            Some(ReturnWindow::Closed { closed_on }) => {
                format!(
                    "Your order {order_id} can no longer be returned: the {RETURN_DAYS}-day window closed on {closed_on}."
                )
            }
            Some(ReturnWindow::NotYetDelivered { status, can_cancel: true }) => format!(
                "Your order {order_id} is {} and has not shipped, so it can be cancelled instead of returned.",
                state_words(status)
            ),
            Some(ReturnWindow::NotYetDelivered { status, .. }) => format!(
                "Your order {order_id} is {}. Once it is delivered you can return it within {RETURN_DAYS} days.",
                state_words(status)
            ),
            Some(ReturnWindow::AlreadyReturned { status }) => {
                format!("Your order {order_id} is already {}.", state_words(status))
            }
            None => format!("I couldn't check the return window of {order_id}."),
        },
        Some(Topic::RefundStatus) => match &report.payment {
            Some(payment) => match payment
                .refunded
                .as_ref()
                .filter(|amount| amount.chars().any(|c| c.is_ascii_digit() && c != '0'))
            {
                Some(amount) => format!("Your order {order_id} was refunded {amount} to your {} card.", payment.brand),
                None => format!(
                    "There is no refund on your order {order_id}: its payment is {} and the order is {}.",
                    payment.status,
                    state_words(&state)
                ),
            },
            None => format!("I couldn't find the payment of {order_id}."),
        },
        Some(Topic::OrderHold) => match &report.fraud {
            Some(fraud) if state == "on_hold" => format!(
                "Your order {order_id} is on hold for a routine security review ({}). It ships as soon as the review is complete.",
                fraud.status
            ),
            _ => format!("Your order {order_id} is not on hold: it is {}.", state_words(&state)),
        },
        Some(Topic::Loyalty) => match &report.loyalty {
            Some(loyalty) => {
                let mut text =
                    format!("You are a {} member with {} points.", capitalize(&loyalty.tier), loyalty.points);
                if let (Some(next), Some(missing)) = (&loyalty.next_tier, loyalty.points_to_next_tier) {
                    text.push_str(&format!(" {missing} more lifetime points reach {}.", capitalize(next)));
                }
                text
            }
            None => "I couldn't find your loyalty account.".to_owned(),
        },
        Some(Topic::Availability) => match &report.product {
            Some(product) => {
                format!("{}: {} ({}).", product.name, product.availability.replace('_', " "), product.price)
            }
            None => "I couldn't find that product.".to_owned(),
        },
        Some(Topic::AccountReview) => match &report.profile {
            Some(profile) => {
                let mut text = format!(
                    "{} ({}) is {} with {} points; standing: {}.",
                    profile.name,
                    profile.customer_id,
                    capitalize(&profile.tier),
                    profile.points,
                    profile.standing
                );
                if !report.texts.is_empty() {
                    text.push_str(" Notes and ticket messages, quoted as data:");
                    for DataText { source, text: body, .. } in &report.texts {
                        text.push_str(&format!("\n- [{source}] «{}»", body.replace(['«', '»'], "\"")));
                    }
                }
                text
            }
            None => "I couldn't open that account.".to_owned(),
        },
        None => SCOPE_NOTE.to_owned(),
    }
}

/// The day of an RFC 3339 timestamp.
fn day(timestamp: &str) -> &str {
    timestamp.get(..10).unwrap_or(timestamp)
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_core_intents_are_routed() {
        let cases = [
            ("Where is my order?", Intent::Investigate(Topic::ParcelLocation)),
            ("What's the status of ord_abc?", Intent::Investigate(Topic::OrderStatus)),
            ("When will my sofa arrive?", Intent::Investigate(Topic::DeliveryDate)),
            ("Can I return the lamp?", Intent::Investigate(Topic::ReturnEligibility)),
            ("Did I get my refund?", Intent::Investigate(Topic::RefundStatus)),
            ("How many points do I have?", Intent::Investigate(Topic::Loyalty)),
            ("Why is my order on hold?", Intent::Investigate(Topic::OrderHold)),
            ("Is the vintage typewriter in stock?", Intent::Availability("vintage typewriter".into())),
            ("I want to talk to a human", Intent::Human),
            ("Write me a poem about the sea", Intent::OutOfScope),
            ("hello", Intent::Greeting),
        ];
        for (text, intent) in cases {
            assert_eq!(route(text), intent, "{text}");
        }
        assert_eq!(order_id("is ord_6f1c2a9e, shipped?").as_deref(), Some("ord_6f1c2a9e"));
        assert_eq!(order_id("my order"), None);
    }
}
