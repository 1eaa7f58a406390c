//! Every [`llm::ChatModel`] provider over one conformance suite ([`conformance`]): the HTTP
//! providers each against a local fake of its server speaking the provider's wire protocol,
//! the in-process and scripted models on what needs no fake; then what is particular to each.
#![allow(clippy::unwrap_used)]

mod conformance;
mod gguf;
mod openai;
mod scripted;
mod vertex;
