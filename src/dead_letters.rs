//! `boutique dead-letters`: the operator's view of messages the broker gave up on.

use anyhow::Context;
use serde_json::{Value, json};

/// Prints the dead letters (of one subscription, or all) as a table, then their total: an
/// operator's read, authorized by the `admin_token` the broker was given.
pub async fn list(broker_url: &str, admin_token: Option<&str>, subscription: Option<&str>) -> anyhow::Result<()> {
    let token = operator(admin_token, "listing dead letters")?;
    let mut url = format!("{broker_url}/v1/dead-letters?limit=1000");
    if let Some(subscription) = subscription {
        url.push_str(&format!("&subscription={subscription}"));
    }
    let letters = call(reqwest::Client::new().get(&url).bearer_auth(token)).await?;
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

/// Puts one dead letter, or all of a subscription's, back for delivery: an operator's write,
/// authorized by the `admin_token` the broker was given.
pub async fn replay(
    broker_url: &str,
    admin_token: Option<&str>,
    subscription: &str,
    message_id: Option<&str>,
) -> anyhow::Result<()> {
    let token = operator(admin_token, "replaying")?;
    let url = format!("{broker_url}/v1/subscriptions/{subscription}/replay");
    let request = reqwest::Client::new().post(&url).bearer_auth(token).json(&json!({ "message_id": message_id }));
    let answer = call(request).await?;
    println!("{} message(s) of {subscription} replayed", answer["replayed"]);
    Ok(())
}

/// The operator's token, or an error saying what `what` needs.
fn operator<'a>(admin_token: Option<&'a str>, what: &str) -> anyhow::Result<&'a str> {
    admin_token.with_context(|| {
        format!("{what} is for operators: set BOUTIQUE_ADMIN_TOKEN (or admin_token) to the broker's admin token")
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn replaying_without_the_admin_token_says_which_to_set() {
        let error = replay("http://127.0.0.1:9", None, "oms-orders", None).await.unwrap_err().to_string();
        assert!(error.contains("BOUTIQUE_ADMIN_TOKEN"), "{error}");
        let error = list("http://127.0.0.1:9", None, None).await.unwrap_err().to_string();
        assert!(error.contains("BOUTIQUE_ADMIN_TOKEN"), "{error}");
    }
}
