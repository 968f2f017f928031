//! `sandbox`: the sandbox on its own, for people who only want a local smtp.gmail.com.
//!
//! # Layout
//! All the work is in the library's [`sandbox::run_cli`]; this only parses the command line.

use clap::Parser;

#[derive(Debug, Parser)]
#[command(name = "sandbox", version)]
struct Cli {
    #[command(flatten)]
    args: sandbox::Args,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    sandbox::run_cli(Cli::parse().args).await
}
