//! Search quality on the labelled set (`mcp-server/tests/search/labelled-queries.json`):
//! recall@5 of lexical, dense and hybrid ranking through the `search` tool, with the real
//! embedding model. The figures are printed; run with `--nocapture` to see them.

use mcp_contract::token::Role;
use mcp_server::embed::minilm::{MiniLm, default_dir};
use mcp_server::settings::EmbedderSettings;
use serde::Deserialize;
use serde_json::json;

use crate::harness::{Store, call, connect, ok};

#[derive(Deserialize)]
struct Labelled {
    query: String,
    customer_id: Option<String>,
    relevant: Vec<String>,
}

#[tokio::test]
async fn hybrid_search_finds_what_people_mean() {
    if !default_dir().is_some_and(|dir| MiniLm::is_installed(&dir)) {
        eprintln!("skipped: the embedding model is not installed; run scripts/models");
        return;
    }
    let store = Store::start(|config| {
        config.mcp.embedder = EmbedderSettings::Local { model_dir: None };
        config.mcp.burst = 10_000;
    })
    .await;
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/mcp-server/tests/search/labelled-queries.json");
    let labelled: Vec<Labelled> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(labelled.len() >= 50);
    let mut recall = Vec::new();
    for ranking in ["lexical", "dense", "hybrid"] {
        let mut total = 0.0;
        for case in &labelled {
            let token = store.token("agent-eval", Role::Agent, case.customer_id.as_deref());
            let session = connect(&store, &token).await;
            let kinds = if case.customer_id.is_some() {
                json!(["product", "help", "policy", "note", "ticket"])
            } else {
                json!(null)
            };
            let found = ok(call(
                &session,
                "search",
                json!({"query": case.query, "limit": 5, "ranking": ranking, "kinds": kinds}),
            )
            .await);
            assert_eq!(found["ranking"], ranking);
            let ids: Vec<&str> =
                found["items"].as_array().unwrap().iter().map(|hit| hit["doc_id"].as_str().unwrap()).collect();
            let hits = case.relevant.iter().filter(|id| ids.contains(&id.as_str())).count();
            total += hits as f64 / case.relevant.len() as f64;
            session.cancel().await.unwrap();
        }
        let value = total / labelled.len() as f64;
        println!("recall@5 {ranking:<8} {value:.3} over {} queries", labelled.len());
        recall.push(value);
    }
    let (lexical, dense, hybrid) = (recall[0], recall[1], recall[2]);
    assert!(dense > 0.5 && hybrid > 0.5, "the model finds most relevant documents: {recall:?}");
    assert!(hybrid >= lexical, "fusing embeddings in does not lose what keywords find: {recall:?}");
    store.stop().await;
}
