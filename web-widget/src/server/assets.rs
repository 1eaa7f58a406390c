//! The static files, embedded in the binary: the wasm client and its JavaScript glue (built by
//! `build.rs`), the style sheet and the icon.

use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use include_dir::{Dir, include_dir};

/// What `build.rs` bound with wasm-bindgen: the module, its glue and any snippets.
static PKG: Dir<'static> = include_dir!("$OUT_DIR/pkg");
const STYLE: &str = include_str!("../../style/boutique.css");
const ICON: &str = include_str!("../../style/favicon.svg");

/// Routes for the static files.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/pkg/{*file}", get(pkg))
        .route("/static/boutique.css", get(|| async { with_type("text/css", STYLE) }))
        .route("/favicon.svg", get(|| async { with_type("image/svg+xml", ICON) }))
}

fn with_type(kind: &'static str, body: impl IntoResponse) -> Response {
    // A new build may change any of them: the browser revalidates rather than guess.
    ([(header::CONTENT_TYPE, kind), (header::CACHE_CONTROL, "no-cache")], body).into_response()
}

async fn pkg(Path(file): Path<String>) -> Response {
    let Some(found) = PKG.get_file(&file) else { return StatusCode::NOT_FOUND.into_response() };
    let kind = match file.rsplit('.').next() {
        Some("js") => "text/javascript",
        Some("wasm") => "application/wasm",
        _ => "application/octet-stream",
    };
    with_type(kind, found.contents())
}
