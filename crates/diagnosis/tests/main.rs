//! Tests of the diagnosis crate through its public API, as the bridge and the web app use it.
//!
//! # Layout
//! - `support`: the `check` helpers; their panics print the whole diagnosis.
//! - `replies`: one case per known Gmail reply, in Gmail's own words, plus their finer points.
//! - `unknown`: replies no rule knows get an explanation from their codes.
//! - `parse`: raw replies to `Reply` and back, and typed errors (never panics) for garbage.
//! - `connection`: DNS, TCP, TLS, timeout and STARTTLS failures.
//! - `wire`: the JSON forms other crates rely on.

mod connection;
mod parse;
mod replies;
mod support;
mod unknown;
mod wire;
