//! The `boutique` application: its configuration and how it runs the business systems, as a
//! library so the binary, the tests and the benchmarks start the store the same way.

pub mod apps;
pub mod audit;
pub mod chat;
pub mod config;
pub mod credential;
pub mod dead_letters;
pub mod demo;
pub mod eval;
pub mod keys;
pub mod mcp;
pub mod registry;
pub mod systems;
