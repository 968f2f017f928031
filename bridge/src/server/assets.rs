//! The web app's files, built by Trunk into `dist/` and embedded in the binary.
//!
//! A release build carries the files inside it; a debug build reads them from `dist/` at run
//! time, so a rebuilt web app shows on reload. When `dist/` did not exist at build time, the
//! binary still builds and `/` explains how to build the app.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use rust_embed::Embed;

#[derive(Embed)]
#[folder = "../dist"]
#[allow_missing = true]
struct Dist;

// rust-embed tracks the files it embedded, not the folder, so a `dist/` made after the first
// build would never be picked up. `cargo xtask run` sets this variable to a fingerprint of
// `dist/`; reading it makes cargo rebuild this crate (and so the embed) when it changes.
const _: Option<&str> = option_env!("MAILBRIDGE_WEB_BUILD");

/// `/`: the app's `index.html`, or a page that says how to build it.
pub async fn index() -> Response {
    match Dist::get("index.html") {
        Some(file) => respond("index.html", file),
        None => Html(NOT_BUILT).into_response(),
    }
}

/// Everything else: the app's scripts, wasm and styles.
pub async fn file(Path(name): Path<String>) -> Response {
    match Dist::get(&name) {
        Some(file) => respond(&name, file),
        None => (StatusCode::NOT_FOUND, "not found\n").into_response(),
    }
}

fn respond(name: &str, file: rust_embed::EmbeddedFile) -> Response {
    let cache = cache_control(name);
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(content_type(name)),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        file.data,
    )
        .into_response()
}

/// How long a browser may keep a file. The page names its scripts by content hash, so those
/// never change and only the page itself must be fresh; so must what keeps its name from build
/// to build: the module it imports for the other views (`views/views.js`, `views_bg.wasm`) and
/// wasm-bindgen's snippets, named after the crate.
fn cache_control(name: &str) -> &'static str {
    if name == "index.html" || name.starts_with("views/") || name.starts_with("snippets/") {
        "no-cache"
    } else {
        "public, max-age=31536000, immutable"
    }
}

/// The content type by extension, for the kinds of file Trunk writes.
fn content_type(name: &str) -> &'static str {
    let extension = name.rsplit_once('.').map_or("", |(_, extension)| extension);
    match extension {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "txt" => "text/plain; charset=utf-8",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

const NOT_BUILT: &str = "<!doctype html>
<html lang=\"en\"><meta charset=\"utf-8\"><title>mailbridge</title>
<h1>mailbridge is running</h1>
<p>The web app has not been built into this binary, so there is no page to show yet.
The WebSocket at <code>/ws</code> works.</p>
<p>To build the web app and start everything, run <code>cargo xtask run</code> in the mailbridge
source folder.</p>
</html>
";

#[cfg(test)]
mod tests {
    use super::{cache_control, content_type};

    #[test]
    fn only_files_named_by_their_content_are_kept() {
        for name in [
            "index.html",
            "views/views.js",
            "views/views_bg.wasm",
            "snippets/web-67aca56aae793faf/inline0.js",
        ] {
            assert_eq!(cache_control(name), "no-cache", "{name}");
        }
        for name in ["web-3f2a.js", "web-3f2a_bg.wasm", "style-9c1d.css"] {
            assert_eq!(
                cache_control(name),
                "public, max-age=31536000, immutable",
                "{name}"
            );
        }
    }

    #[test]
    fn trunk_output_gets_its_content_type() {
        let cases = [
            ("index.html", "text/html; charset=utf-8"),
            ("web-3f2a.js", "text/javascript; charset=utf-8"),
            ("web-3f2a_bg.wasm", "application/wasm"),
            ("style-9c1d.css", "text/css; charset=utf-8"),
            ("LICENSE", "application/octet-stream"),
        ];
        for (name, expected) in cases {
            assert_eq!(content_type(name), expected, "{name}");
        }
    }
}
