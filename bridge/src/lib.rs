//! The mailbridge bridge: the native program on the user's workstation. It runs the sandbox,
//! explains SMTP replies, and (as the bridge issue lands) serves the web app, keeps the secrets
//! and speaks SMTP to Gmail.
//!
//! # Layout
//! - `cli`: the command line (clap), its exit codes, and each command's entry point.

pub mod cli;
