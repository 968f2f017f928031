//! The command line, for people and scripts.

use std::io::Read;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use diagnosis::Retry;

/// Exit codes, so scripts can tell a mistake in the command from a failure worth retrying.
pub mod exit {
    /// Success.
    pub const OK: u8 = 0;
    /// A permanent failure: something must change before trying again.
    pub const PERMANENT: u8 = 1;
    /// The command line itself was wrong (clap uses the same code).
    pub const USAGE: u8 = 2;
    /// A transient failure: the same command may work later (`EX_TEMPFAIL` in sysexits.h).
    pub const TRANSIENT: u8 = 75;
}

const EXIT_CODES: &str = "\
Exit codes:
  0   success
  1   permanent failure: something must change before trying again
  2   usage error: the command line is wrong
  75  transient failure: try again later";

#[derive(Debug, Parser)]
#[command(name = "mailbridge", version, about = "Compose, test and send mail through Gmail's SMTP servers, and understand why it fails.", after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the local SMTP sandbox that behaves like smtp.gmail.com.
    Sandbox(sandbox::Args),
    /// Explain an SMTP server reply pasted from a log, with the fix.
    #[command(
        after_help = "The exit code tells what kind of reply it was: 0 success, 1 permanent, 75 transient."
    )]
    Explain {
        /// The reply, such as "535-5.7.8 Username and Password not accepted...". Reads standard
        /// input when absent or "-".
        reply: Option<String>,
    },
}

pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Sandbox(args) => run_sandbox(args),
        Command::Explain { reply } => explain(reply),
    }
}

fn run_sandbox(args: sandbox::Args) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(exit::PERMANENT);
        }
    };
    match runtime.block_on(sandbox::run_cli(args)) {
        Ok(()) => ExitCode::from(exit::OK),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(exit::PERMANENT)
        }
    }
}

fn explain(reply: Option<String>) -> ExitCode {
    let text = match reply.as_deref() {
        Some(text) if text != "-" => text.to_owned(),
        _ => {
            let mut text = String::new();
            if let Err(error) = std::io::stdin().read_to_string(&mut text) {
                eprintln!("error: cannot read the reply from standard input: {error}");
                return ExitCode::from(exit::USAGE);
            }
            text
        }
    };
    let diagnosis = match diagnosis::explain(text.trim_end()) {
        Ok(diagnosis) => diagnosis,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(exit::USAGE);
        }
    };
    print!("{diagnosis}");
    let code = match diagnosis::Reply::parse(text.trim_end()) {
        Ok(reply) if reply.code < 400 => exit::OK,
        _ => match diagnosis.retry {
            Retry::Transient => exit::TRANSIENT,
            Retry::Permanent | Retry::AfterQuotaWindow => exit::PERMANENT,
        },
    };
    ExitCode::from(code)
}
