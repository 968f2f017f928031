//! The integration tests: real binaries and servers over real sockets.
//!
//! # Layout
//! - `support`: helpers for starting servers and clients; their panics dump context.
//! - `oauth_provider`: the OAuth server (oidc-provider) and the browser that consents in it.
//! - `sandbox`: the local smtp.gmail.com, driven by Python's smtplib, lettre and raw sockets.
//! - `bridge`: the bridge over a real WebSocket, the `mailbridge` binary, and aiosmtpd.
//! - `web`: the web app in headless Chromium over WebDriver, against `mailbridge serve`.
mod support;

// The OAuth server both the bridge and the sandbox tests talk to.
mod oauth_provider;

// The sandbox SMTP server as clients this project did not write see it.
mod sandbox;

// The bridge as the web app and scripts see it.
mod bridge;

// The web app in a real browser, as a person uses it.
mod web;
