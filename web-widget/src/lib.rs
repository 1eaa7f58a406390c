//! The web: the Leptos storefront (server-rendered, hydrated), the chat widget and the CRM
//! dashboard. Built in the web issue; the wasm32 toolchain it needs is set up by
//! `scripts/cargo` (see docs/TOOLCHAIN.md).
