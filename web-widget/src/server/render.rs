//! Rendering a page: the document shell (styles, hydration script), the chrome every page shares,
//! and the page's own view, rendered to HTML with Leptos in islands mode.

use std::sync::Arc;

use axum::response::Html;
use hydration_context::SsrSharedContext;
use leptos::config::LeptosOptions;
use leptos::hydration::HydrationScripts;
use leptos::prelude::*;
use leptos::reactive::owner::Owner;

use super::pages::{Chrome, Layout};

/// The wasm module's name: what `build.rs` binds and the hydration script loads.
pub const OUTPUT_NAME: &str = "web_widget";

/// The page `title` with `body` inside the chrome (header, footer, chat widget), or bare when
/// `chrome` is `None` (error pages, which must not call the peers that may have failed).
pub fn page(title: &str, chrome: Option<Chrome>, body: AnyView) -> Html<String> {
    let title = format!("{title} · Boutique");
    let owner = Owner::new_root(Some(Arc::new(SsrSharedContext::new_islands())));
    let html = owner.with(move || {
        let options = LeptosOptions::builder().output_name(OUTPUT_NAME).site_pkg_dir("pkg").build();
        view! {
            <html lang="en">
                <head>
                    <meta charset="utf-8"/>
                    <meta name="viewport" content="width=device-width, initial-scale=1"/>
                    <title>{title}</title>
                    <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                    <link rel="stylesheet" href="/static/boutique.css"/>
                    <HydrationScripts options islands=true/>
                </head>
                <body>
                    <Layout chrome>{body}</Layout>
                </body>
            </html>
        }
        .to_html()
    });
    Html(format!("<!DOCTYPE html>{html}"))
}
