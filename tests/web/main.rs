//! The web against the whole store: Online Boutique's routes and form fields over plain HTTP,
//! product pictures, and the shopper's, the customer's and the agent's journeys in headless
//! Chromium.
#![allow(clippy::unwrap_used)]

#[path = "../mcp/harness.rs"]
#[allow(dead_code)]
mod harness;

#[path = "../support/browser.rs"]
mod support;

mod browser;
mod pictures;
mod routes;
