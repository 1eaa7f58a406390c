//! A model whose answers a test (or an eval) writes, and which keeps every request it was sent,
//! so a test can check what a model was shown as well as what the agent did with its answers.

use std::sync::{Arc, Mutex, PoisonError};

use futures_util::stream::BoxStream;

use crate::message::estimate_tokens;
use crate::{ChatModel, ChatRequest, Chunk, ModelError, Reply, ToolCall, stream_reply};

/// How a scripted model answers a request.
type Script = dyn Fn(&ChatRequest) -> Reply + Send + Sync;

/// A model answering by script.
#[derive(Clone)]
pub struct ScriptedModel {
    name: String,
    script: Arc<Script>,
    seen: Arc<Mutex<Vec<ChatRequest>>>,
}

impl std::fmt::Debug for ScriptedModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptedModel").field("name", &self.name).finish_non_exhaustive()
    }
}

impl ScriptedModel {
    /// A model answering each request with what `script` makes of it.
    pub fn new(name: &str, script: impl Fn(&ChatRequest) -> Reply + Send + Sync + 'static) -> ScriptedModel {
        ScriptedModel { name: name.to_owned(), script: Arc::new(script), seen: Arc::default() }
    }

    /// A model giving `replies` in turn, then an empty answer.
    pub fn replying(name: &str, replies: Vec<Reply>) -> ScriptedModel {
        let replies = Mutex::new(replies.into_iter());
        ScriptedModel::new(name, move |_| {
            replies.lock().unwrap_or_else(PoisonError::into_inner).next().unwrap_or_default()
        })
    }

    /// Every request it was sent, oldest first.
    pub fn requests(&self) -> Vec<ChatRequest> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

/// An answer with text only.
pub fn text(text: &str) -> Reply {
    Reply { text: text.to_owned(), ..Reply::default() }
}

/// An answer calling one tool.
pub fn call(name: &str, arguments: serde_json::Value) -> Reply {
    Reply { tool_calls: vec![ToolCall::new(format!("call_{name}"), name, arguments)], ..Reply::default() }
}

impl ChatModel for ScriptedModel {
    fn name(&self) -> String {
        format!("scripted:{}", self.name)
    }

    fn stream(&self, request: ChatRequest) -> BoxStream<'static, Result<Chunk, ModelError>> {
        let reply = (self.script)(&request);
        let input = serde_json::to_string(&request).map(|text| estimate_tokens(&text)).unwrap_or_default();
        self.seen.lock().unwrap_or_else(PoisonError::into_inner).push(request);
        stream_reply(reply, input)
    }
}
