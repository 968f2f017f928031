//! The "send over a reused connection" figure of `cargo xtask bench`: opens one SMTP session
//! to a running sandbox, sends RUNS messages over it, and prints the median time of one send
//! in microseconds.
//!
//! Usage: `reuse PORT CA_PEM_FILE RUNS` (the sandbox's STARTTLS port and its CA certificate).

use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use mailbridge::smtp::{Credentials, Outgoing, Session, Target, Timeouts};
use profile::Security;
use protocol::Secret;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let usage = "usage: reuse PORT CA_PEM_FILE RUNS";
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().context(usage)?.parse().context(usage)?;
    let ca_path = args.next().context(usage)?;
    let ca = std::fs::read_to_string(&ca_path).with_context(|| format!("reading {ca_path}"))?;
    let runs: usize = args.next().context(usage)?.parse().context(usage)?;

    let target = Target {
        host: "127.0.0.1".to_owned(),
        port,
        security: Security::StartTls,
        extra_ca_pem: Some(ca),
    };
    let credentials = Credentials::Password {
        user: sandbox::DEFAULT_USER.to_owned(),
        password: Secret::new(sandbox::DEFAULT_APP_PASSWORD),
    };
    let mut session = Session::open(&target, &credentials, &Timeouts::default(), None)
        .await
        .map_err(|failure| anyhow!("{}", failure.diagnosis))?;

    let mut times: Vec<Duration> = Vec::with_capacity(runs);
    // One send first, so the figure is the steady state and not the first allocation.
    for run in 0..=runs {
        let message = message(run);
        let started = Instant::now();
        session
            .send(&message)
            .await
            .map_err(|error| anyhow!("send {run}: {error}"))?;
        if run > 0 {
            times.push(started.elapsed());
        }
        drop(session.take_transcript());
    }
    drop(session.quit().await);
    times.sort();
    let median = times.get(times.len() / 2).copied().unwrap_or_default();
    println!("{}", median.as_micros());
    Ok(())
}

fn message(run: usize) -> Outgoing {
    let message_id = format!("<reuse-{run}-{}@mailbridge.test>", std::process::id());
    let data = format!(
        "From: {user}\r\nTo: bench@example.com\r\nSubject: bench\r\nMessage-ID: {message_id}\r\n\
         Date: Thu, 1 Jan 2026 00:00:00 +0000\r\n\r\nA benchmark message.\r\n",
        user = sandbox::DEFAULT_USER,
    );
    Outgoing {
        mail_from: sandbox::DEFAULT_USER.to_owned(),
        rcpt_to: vec!["bench@example.com".to_owned()],
        data: data.into_bytes(),
        message_id,
    }
}
