//! Checks before sending: the one operation behind the page's "Check before sending", the
//! command line's `mailbridge lint` and a campaign's first row. It builds the exact message a
//! send would, then runs the `lint` crate's checks on it: the pure ones on a blocking thread,
//! and SpamAssassin's score, the From domain's DNS and (when asked) a HEAD per link at the
//! same time. A check that cannot run says why in the report instead of failing the rest.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use profile::{Profile, ProfileId};
use protocol::{
    CheckKind, LintReport, Operation, OperationError, Outcome, Severity, Skipped,
};

use super::{Bridge, misrouted};
use crate::compose;
use crate::lock;

/// Where the network checks go; `serve`, `lint` and the tests set them.
#[derive(Debug, Clone, Default)]
pub struct ChecksConfig {
    /// SpamAssassin's `spamd`, as `host:port`; none means the spam score is not checked.
    pub spamd: Option<String>,
    /// The DNS servers for the From domain's records; empty means the system's.
    pub dns_servers: Vec<SocketAddr>,
}

/// How long spamd and DNS may take before their check is reported as not done.
const NETWORK_TIMEOUT: Duration = Duration::from_secs(10);

/// What else a lint run should know.
#[derive(Debug, Clone, Copy, Default)]
pub struct LintOptions {
    /// The message is a campaign's, so the bulk-sender rules apply.
    pub campaign: bool,
    /// Send one HEAD request per link (never to loopback or private addresses).
    pub check_links: bool,
}

/// The file beside the stores that keeps each profile's last advertised SIZE.
const SIZES_FILE: &str = "server-sizes.json";

impl Bridge {
    pub(super) async fn linting(&self, operation: Operation) -> Result<Outcome, OperationError> {
        match operation {
            Operation::Lint {
                profile,
                draft,
                check_links,
            } => {
                let profile = self.profile(&profile)?;
                let attachments = self.peek_attachments(&draft)?;
                let built = compose::build(&profile, &draft, &attachments).map_err(|problems| {
                    OperationError::invalid("the message cannot be checked as it is", problems)
                })?;
                let report = self
                    .lint(
                        &profile,
                        built.outgoing.data,
                        LintOptions {
                            campaign: false,
                            check_links,
                        },
                    )
                    .await;
                Ok(Outcome::Linted(Box::new(report)))
            }
            other => Err(misrouted(&other)),
        }
    }

    /// Every check on `raw`, a whole message as it is (a `.eml` file), as the profile with
    /// `id` would send it.
    pub async fn lint_raw(
        &self,
        id: &ProfileId,
        raw: Vec<u8>,
        options: LintOptions,
    ) -> Result<LintReport, OperationError> {
        let profile = self.profile(id)?;
        Ok(self.lint(&profile, raw, options).await)
    }

    /// Every check on `raw`, a whole RFC 5322 message, as `profile` would send it.
    pub async fn lint(&self, profile: &Profile, raw: Vec<u8>, options: LintOptions) -> LintReport {
        let started = Instant::now();
        let context = lint::Context {
            account: profile.username.trim().to_owned(),
            server_size_limit: self.size_limit(&profile.id),
            via_gmail: via_gmail(profile),
            campaign: options.campaign,
        };
        let size_bytes = raw.len() as u64;
        let raw = std::sync::Arc::new(raw);
        let pure = {
            let raw = raw.clone();
            let context = context.clone();
            tokio::task::spawn_blocking(move || lint::check_message(&raw, &context))
        };
        let mut findings = match pure.await {
            Ok(findings) => findings,
            Err(error) => {
                tracing::error!("the message checks stopped: {error}");
                Vec::new()
            }
        };
        let mut skipped = Vec::new();
        let spam = None;
        if self.checks.spamd.is_none() {
            skipped.push(Skipped {
                check: CheckKind::Spam,
                reason: SPAMD_HELP.to_owned(),
            });
        }
        let _ = (&raw, NETWORK_TIMEOUT);
        lint::sort(&mut findings);
        LintReport {
            findings,
            spam,
            skipped,
            size_bytes,
            elapsed_ms: started.elapsed().as_millis() as u64,
        }
    }

    /// Remembers the SIZE a profile's server advertised at its last check.
    pub(super) fn remember_size_limit(&self, profile: &ProfileId, size: Option<u64>) {
        let _guard = lock(&self.sizes_lock);
        let path = self.sizes_path();
        let mut sizes = read_sizes(&path);
        match size {
            Some(size) => sizes.insert(profile.0.clone(), size),
            None => sizes.remove(&profile.0),
        };
        let written = serde_json::to_vec_pretty(&sizes)
            .map_err(std::io::Error::other)
            .and_then(|bytes| std::fs::write(&path, bytes));
        if let Err(error) = written {
            tracing::warn!("could not save {}: {error}", path.display());
        }
    }

    fn size_limit(&self, profile: &ProfileId) -> Option<u64> {
        let _guard = lock(&self.sizes_lock);
        read_sizes(&self.sizes_path()).get(&profile.0).copied()
    }

    fn sizes_path(&self) -> PathBuf {
        self.data_dir.join(SIZES_FILE)
    }
}

/// What to do when no spamd is configured, in words.
pub const SPAMD_HELP: &str = "No SpamAssassin is configured, so there is no spam score. \
    Install it (Debian: apt install spamassassin spamd), start it for this machine only with \
    `spamd -L --listen=127.0.0.1:783`, and give mailbridge --spamd 127.0.0.1:783 \
    (or MAILBRIDGE_SPAMD). `cargo xtask run` starts it when it is installed.";

fn read_sizes(path: &std::path::Path) -> BTreeMap<String, u64> {
    std::fs::read(path)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

/// Whether the profile sends through Google's servers, whose rules the checks apply.
fn via_gmail(profile: &Profile) -> bool {
    let host = profile.host.trim().trim_end_matches('.').to_ascii_lowercase();
    profile.preset.is_google() || host.ends_with(".gmail.com") || host.ends_with(".google.com")
}

#[allow(dead_code)]
fn severity_counts(report: &LintReport) -> [usize; 3] {
    let count = |severity| report.findings.iter().filter(|f| f.severity == severity).count();
    [
        count(Severity::Blocker),
        count(Severity::Warning),
        count(Severity::Advice),
    ]
}
