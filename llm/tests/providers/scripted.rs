//! The scripted model on the part of the suite that needs no fake.

use llm::scripted::{ScriptedModel, text};
use llm::{ChatModel, Message};

use crate::conformance::{self, request, texts};

#[tokio::test]
async fn the_scripted_model_streams_its_text_in_order_then_the_usage() {
    let answer = text("It shipped on Monday.");
    let model = ScriptedModel::replying("test", vec![answer.clone(), answer]);
    let chunks = conformance::any_model(&model, request(vec![Message::user("Where is ord_1?")])).await;
    assert_eq!(texts(&chunks), ["It ", "shipped ", "on ", "Monday."], "word by word, in order");
    assert_eq!(model.requests().len(), 2, "{}: both requests recorded", model.name());
}
