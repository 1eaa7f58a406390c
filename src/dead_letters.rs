//! `boutique dead-letters`: the operator's view of messages the broker gave up on.

use anyhow::Context;
use serde_json::{Value, json};

/// Prints the dead letters (of one subscription, or all) as a table, then their total.
pub async fn list(broker_url: &str, subscription: Option<&str>) -> anyhow::Result<()> {
    let mut url = format!("{broker_url}/v1/dead-letters?limit=1000");
    if let Some(subscription) = subscription {
        url.push_str(&format!("&subscription={subscription}"));
    }
    let letters = call(reqwest::Client::new().get(&url)).await?;
    let letters = letters.as_array().map(Vec::as_slice).unwrap_or_default();
    println!("{:<22} {:<38} {:<16} {:>8}  last error", "subscription", "message", "type", "attempts");
    for letter in letters {
        let text = |key: &str| letter[key].as_str().unwrap_or_default().to_owned();
        let error: String = text("last_error").chars().take(60).collect();
        println!(
            "{:<22} {:<38} {:<16} {:>8}  {error}",
            text("subscription"),
            text("message_id"),
            letter["attributes"]["type"].as_str().unwrap_or("-"),
            letter["attempts"]
        );
    }
    println!("{} dead letter(s)", letters.len());
    Ok(())
}

/// Puts one dead letter, or all of a subscription's, back for delivery.
pub async fn replay(broker_url: &str, subscription: &str, message_id: Option<&str>) -> anyhow::Result<()> {
    let url = format!("{broker_url}/v1/subscriptions/{subscription}/replay");
    let answer = call(reqwest::Client::new().post(&url).json(&json!({ "message_id": message_id }))).await?;
    println!("{} message(s) of {subscription} replayed", answer["replayed"]);
    Ok(())
}

async fn call(request: reqwest::RequestBuilder) -> anyhow::Result<Value> {
    let response =
        request.send().await.context("the broker did not answer: is it running, and is BROKER_URL right?")?;
    let status = response.status();
    let body: Value = response.json().await.context("the broker's answer is not JSON")?;
    if !status.is_success() {
        anyhow::bail!("the broker answered {status}: {}", body["detail"].as_str().unwrap_or_default());
    }
    Ok(body)
}
