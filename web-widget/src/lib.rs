//! The web: the storefront, the chat widget and the CRM dashboard.
//!
//! Pages are rendered on the server with Leptos and work as plain HTML forms; the interactive
//! parts are Leptos *islands* ([`islands`]), hydrated in the browser from a wasm32 build of this
//! same crate (feature `hydrate`) that `build.rs` compiles and the server embeds. The storefront's
//! routes are those of Google's Online Boutique frontend, so its load generators work unchanged.

pub mod islands;

#[cfg(feature = "ssr")]
pub mod server;

/// The browser's entry point: hydrates every island on the page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    leptos::mount::hydrate_islands();
}
