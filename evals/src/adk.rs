//! Import of ADK evalset files (`*.evalset.json`), so teams bring the suites they have. Each
//! eval case becomes a case: its invocations' user texts the turns, their expected tool uses the
//! exact trajectory (`investigate` with a `topic` argument as `investigate:<topic>`), and the
//! expected final responses a rubric for a judge, since ADK compares them by similarity, not by
//! facts. Snake-case and camelCase field names are both read, as ADK writes either.

use serde::Deserialize;
use serde_json::Value;

use crate::case::{Case, Expect, Match, Suite, SuiteKind, Who};

#[derive(Debug, Deserialize)]
struct EvalSet {
    #[serde(alias = "evalSetId")]
    eval_set_id: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(alias = "evalCases")]
    eval_cases: Vec<EvalCase>,
}

#[derive(Debug, Deserialize)]
struct EvalCase {
    #[serde(alias = "evalId")]
    eval_id: String,
    conversation: Vec<Invocation>,
    #[serde(default, alias = "sessionInput")]
    session_input: Option<SessionInput>,
}

#[derive(Debug, Deserialize)]
struct Invocation {
    #[serde(alias = "userContent")]
    user_content: Content,
    #[serde(default, alias = "finalResponse")]
    final_response: Option<Content>,
    #[serde(default, alias = "intermediateData")]
    intermediate_data: Option<IntermediateData>,
}

#[derive(Debug, Deserialize)]
struct Content {
    #[serde(default)]
    parts: Vec<Part>,
}

#[derive(Debug, Deserialize)]
struct Part {
    #[serde(default)]
    text: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct IntermediateData {
    #[serde(default, alias = "toolUses")]
    tool_uses: Vec<ToolUse>,
}

#[derive(Debug, Deserialize)]
struct ToolUse {
    name: String,
    #[serde(default)]
    args: Value,
}

#[derive(Debug, Deserialize)]
struct SessionInput {
    #[serde(default, alias = "userId")]
    user_id: Option<String>,
    #[serde(default)]
    state: Value,
}

impl Content {
    fn text(&self) -> String {
        self.parts.iter().filter_map(|part| part.text.as_deref()).collect::<Vec<_>>().join("\n")
    }
}

/// The suite an ADK evalset (its JSON text) stands for, of `kind`. A case's customer is the
/// session state's `customer_id`, else a `cus-…` user id, else `customer`.
pub fn import(json: &str, kind: SuiteKind, customer: Option<&str>) -> Result<Suite, String> {
    let set: EvalSet = serde_json::from_str(json).map_err(|error| format!("not an ADK evalset: {error}"))?;
    let cases = set
        .eval_cases
        .iter()
        .map(|eval| {
            let session = eval.session_input.as_ref();
            let from_state = session.and_then(|s| s.state["customer_id"].as_str()).map(str::to_owned);
            let from_user = session.and_then(|s| s.user_id.clone()).filter(|user| user.starts_with("cus-"));
            let customer = from_state
                .or(from_user)
                .or(customer.map(str::to_owned))
                .ok_or_else(|| format!("case `{}` names no customer: give one with --customer", eval.eval_id))?;
            let tools = eval
                .conversation
                .iter()
                .flat_map(|invocation| invocation.intermediate_data.iter().flat_map(|data| &data.tool_uses))
                .map(|tool| match tool.args["topic"].as_str() {
                    Some(topic) if tool.name == "investigate" => format!("investigate:{topic}"),
                    _ => tool.name.clone(),
                })
                .collect();
            let responses: Vec<String> = eval
                .conversation
                .iter()
                .filter_map(|invocation| invocation.final_response.as_ref().map(Content::text))
                .filter(|text| !text.is_empty())
                .collect();
            let rubric = (!responses.is_empty())
                .then(|| format!("The answers convey what these reference answers do:\n{}", responses.join("\n")));
            Ok(Case {
                id: eval.eval_id.clone(),
                who: Who { customer, agent: None },
                turns: eval.conversation.iter().map(|invocation| invocation.user_content.text()).collect(),
                user: None,
                attack: None,
                expect: Expect { tools, trajectory: Match::Exact, rubric, ..Expect::default() },
            })
        })
        .collect::<Result<Vec<Case>, String>>()?;
    let suite = Suite {
        suite: set.eval_set_id,
        description: set.description.unwrap_or_else(|| "Imported from an ADK evalset.".into()),
        kind,
        cases,
    };
    // Checked as any suite file is.
    Suite::parse(&suite.to_yaml()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVALSET: &str = r#"{
      "eval_set_id": "customer-service-basics",
      "eval_cases": [
        {
          "eval_id": "where-is-my-order",
          "conversation": [{
            "invocation_id": "e-1",
            "user_content": { "parts": [{ "text": "Where is my order?" }], "role": "user" },
            "final_response": { "parts": [{ "text": "Your order has shipped." }], "role": "model" },
            "intermediate_data": { "tool_uses": [{ "name": "investigate", "args": { "topic": "parcel_location" } }] }
          }],
          "session_input": { "app_name": "boutique", "user_id": "u-1", "state": { "customer_id": "cus-1003" } }
        },
        {
          "evalId": "camel-case",
          "conversation": [{
            "userContent": { "parts": [{ "text": "Is the tee in stock?" }] },
            "intermediateData": { "toolUses": [{ "name": "search_products", "args": { "query": "tee" } }] }
          }],
          "sessionInput": { "userId": "cus-1004" }
        }
      ]
    }"#;

    #[test]
    fn an_adk_evalset_becomes_a_suite() {
        let suite = import(EVALSET, SuiteKind::Core, None).unwrap();
        assert_eq!(suite.suite, "customer-service-basics");
        let (first, second) = (&suite.cases[0], &suite.cases[1]);
        assert_eq!(
            (first.who.customer.as_str(), first.turns.as_slice()),
            ("cus-1003", ["Where is my order?".to_owned()].as_slice())
        );
        assert_eq!(first.expect.tools, ["investigate:parcel_location"]);
        assert!(first.expect.rubric.as_deref().unwrap().contains("Your order has shipped."));
        assert!(first.expect.stores_unchanged, "imported cases keep the default checks");
        assert_eq!((second.id.as_str(), second.who.customer.as_str()), ("camel-case", "cus-1004"));
        assert_eq!(second.expect.tools, ["search_products"]);
        let anonymous = EVALSET.replace("cus-1004", "u-2");
        assert!(import(&anonymous, SuiteKind::Core, None).unwrap_err().contains("--customer"));
        assert_eq!(import(&anonymous, SuiteKind::Core, Some("cus-1001")).unwrap().cases[1].who.customer, "cus-1001");
    }
}
