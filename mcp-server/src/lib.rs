//! The read-only MCP server: back-office tools over CRM, order and fraud read APIs, scoped to
//! the capability token presented on every call, with a vector index of notes, tickets, order
//! timelines, products and help articles for semantic search.
//!
//! It has no write path at all: it reaches business data only through the systems' read APIs
//! with a service identity the systems refuse writes from. It is built in the MCP server issue;
//! this crate exists from the start so the workspace shows the architecture.
