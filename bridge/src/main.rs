//! `mailbridge`: the command line. Parsing lives here; the work lives in the library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = mailbridge::cli::Cli::parse();
    mailbridge::logging::init();
    mailbridge::cli::run(cli)
}
