//! The signing keys callers and the systems they call agree on in the one-machine default.
//! Both sides read them from here, so neither borrows the other's; every deployment configures
//! its own secrets instead.

/// The checkout's key id: it signs its assessment requests to the fraud engine.
pub const CHECKOUT_KEY_ID: &str = "checkout";
/// The checkout's demo secret: for the one-machine default only; configure real secrets in any
/// deployment.
pub const CHECKOUT_DEMO_SECRET: &str = "demo-only-checkout-to-fraud-signing-secret";
/// The event broker's key id: it signs the pushes of order events to the fraud engine.
pub const BROKER_KEY_ID: &str = "broker";
/// The broker's demo secret: for the one-machine default only.
pub const BROKER_DEMO_SECRET: &str = "demo-only-broker-to-fraud-signing-secret";
/// The read-only MCP server's key id: it reads assessments.
pub const MCP_KEY_ID: &str = "mcp";
/// The MCP server's demo secret: for the one-machine default only.
pub const MCP_DEMO_SECRET: &str = "demo-only-mcp-server-to-fraud-signing-secret";
