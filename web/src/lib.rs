//! The mailbridge web app: compose and send mail through the bridge, watch the SMTP
//! transcript, read what the failure means, follow the outbox, and look into the sandbox
//! inbox, each in its own view.
//!
//! It is a Yew app that Trunk builds to wasm (`cargo xtask web`), as two modules from this one
//! library. The page loads the first, `web` (`src/main.rs`): the frame of the page (navigation,
//! connection, alerts) and the Compose view, which is where a new user starts. The second,
//! `views` (`src/bin/views.rs`), holds every other view; the first imports it the first time
//! the address names one of them (`views::lazy`), so the download before the first screen
//! stays within the wasm budget. Each module keeps its own connection to the bridge. The page talks to the bridge
//! (`mailbridge serve`) over the WebSocket at `/ws` on the host that served it, in the
//! `protocol` crate's JSON, and shares the `profile` and `diagnosis` crates with the bridge, so
//! an address the page accepts is one the bridge accepts.
//!
//! # Layout
//! - `state`: [`state::State`], the [`state::Action`]s that change it, and the reducer.
//!   Its `outbox` part holds the outbox's summary, entries and the entry opened in detail.
//! - `route`: [`route::Route`], the view the address names (`#/outbox`), and its parsing.
//! - `hooks`: [`hooks::BridgeProvider`] and [`hooks::use_bridge`], the app-wide connection;
//!   [`hooks::use_route`], the route kept in step with the address bar.
//! - `pairing`: the pairing token, from `#pair=` in the address to this tab's sessionStorage.
//! - `platform`: what differs when the app runs as the browser extension: the token and the
//!   bridge's address in `chrome.storage.local`, pairing by pasting a code.
//! - `components`: the shared components, one per file, from [`components::App`] (the page
//!   around the view) and its navigation down to the transcript and the diagnosis card.
//! - `views`: one folder per view: `compose`, `outbox`, `campaigns`, `inbox`, `history`,
//!   `profiles`, `mailboxes`; `views::lazy` loads the module that holds all but Compose and
//!   `views::more` is that module's root.
//! - `format`: times and sizes in words, shared by the panels.
//! - `draft`: the message being composed, saved in localStorage.
//! - `object_url`: `blob:` URLs for downloads made in the page.
//! - `upload`: a file sent to the bridge in chunks (attachments, campaign lists).

mod components;
mod draft;
mod format;
mod hooks;
mod object_url;
mod pairing;
mod platform;
mod route;
mod state;
mod upload;
pub mod views;

/// Starts the page's first module: the frame and Compose (`src/main.rs`).
pub fn start_app() {
    start(|| {
        yew::Renderer::<components::App>::new().render();
    });
}

/// Starts the module with the other views (`src/bin/views.rs`), once the first one has imported
/// it, inside the element it keeps for them.
pub fn start_views() {
    start(views::more::render);
}

fn start(render: fn()) {
    // `cfg!` rather than `#[cfg]`: both branches compile for both targets, so the host build
    // (`cargo clippy --workspace`, `cargo test`) checks every component as the browser build does.
    if cfg!(target_arch = "wasm32") {
        // The extension reads its stored pairing first (an asynchronous storage), so that the
        // app starts paired; for the page this is immediate.
        wasm_bindgen_futures::spawn_local(async move {
            platform::load().await;
            render();
        });
    } else {
        eprintln!(
            "the mailbridge web app runs in a browser: build it with `cargo xtask web`, then open the address `mailbridge serve` prints"
        );
        std::process::exit(2);
    }
}

/// A User Timing mark (`performance.mark`), which the benchmarks read to time the page.
pub fn mark(name: &str) {
    if let Some(performance) = web_sys::window().and_then(|window| window.performance()) {
        let _ = performance.mark(name);
    }
}
