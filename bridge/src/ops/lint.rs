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
use protocol::{CheckKind, LintReport, Operation, OperationError, Outcome, Skipped};

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

/// How long spamd may take before the spam check is reported as not done (each DNS lookup
/// has the `lint` crate's own 5 s).
const NETWORK_TIMEOUT: Duration = Duration::from_secs(10);

/// The most links one check requests.
const MAX_LINKS_REQUESTED: usize = 100;

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
        let spam = self.spam_score(&raw);
        let dns = async {
            let domain = lint::from_domain(&raw)?;
            // Names reserved for testing have no records in the public DNS; a DNS server
            // given with --dns-server may still serve them.
            if self.checks.dns_servers.is_empty() && is_reserved(&domain) {
                return Some(lint::dns::DnsReport {
                    findings: Vec::new(),
                    unchecked: vec![format!(
                        "{domain} is reserved for testing and documentation (RFC 2606, RFC 6761), \
                         so it has no public records to check"
                    )],
                });
            }
            let config = lint::dns::DnsConfig {
                nameservers: self.checks.dns_servers.clone(),
                ..lint::dns::DnsConfig::default()
            };
            Some(lint::dns::check_domain(&domain, &(&context).into(), &config).await)
        };
        let links = async {
            if !options.check_links {
                return None;
            }
            let raw = raw.clone();
            let mut urls = tokio::task::spawn_blocking(move || lint::link_urls(&raw))
                .await
                .unwrap_or_default();
            // At 5 at a time and 10 s each, 100 links take at most 200 s.
            let unchecked = urls.len().saturating_sub(MAX_LINKS_REQUESTED);
            urls.truncate(MAX_LINKS_REQUESTED);
            let found = lint::heads::check_links(&urls, &lint::heads::HeadConfig::default()).await;
            Some((found, unchecked))
        };
        let (pure, (spam, spam_findings, spam_skipped), dns, links) =
            tokio::join!(pure, spam, dns, links);
        let mut findings = match pure {
            Ok(findings) => findings,
            Err(error) => {
                tracing::error!("the message checks stopped: {error}");
                Vec::new()
            }
        };
        let mut skipped = Vec::new();
        findings.extend(spam_findings);
        skipped.extend(spam_skipped);
        match dns {
            Some(report) => {
                skipped.extend(report.skipped());
                findings.extend(report.findings);
            }
            None => skipped.push(Skipped {
                check: CheckKind::Dns,
                reason: "The message has no From address whose domain could be looked up."
                    .to_owned(),
            }),
        }
        match links {
            Some((found, 0)) => findings.extend(found),
            Some((found, unchecked)) => {
                findings.extend(found);
                skipped.push(Skipped {
                    check: CheckKind::Links,
                    reason: format!(
                        "Only the first {MAX_LINKS_REQUESTED} links were requested; \
                         {unchecked} more were not."
                    ),
                });
            }
            None => skipped.push(Skipped {
                check: CheckKind::Links,
                reason: "The links were not requested (off by default); tick \"The check also \
                         requests each link once\" or give --check-links to send one HEAD request per link."
                    .to_owned(),
            }),
        }
        if context.server_size_limit.is_none() {
            skipped.push(Skipped {
                check: CheckKind::Size,
                reason: "The server's own size limit (SIZE) is not known until the profile's \
                         connection is checked once (Profiles, Check connection, or \
                         mailbridge check); Gmail's 25 MB for attachments was checked."
                    .to_owned(),
            });
        }
        lint::sort(&mut findings);
        LintReport {
            findings,
            spam,
            skipped,
            size_bytes,
            elapsed_ms: started.elapsed().as_millis() as u64,
        }
    }

    /// SpamAssassin's verdict from the configured spamd, with its findings, or why there is
    /// none.
    async fn spam_score(
        &self,
        raw: &[u8],
    ) -> (
        Option<protocol::SpamReport>,
        Vec<protocol::Finding>,
        Option<Skipped>,
    ) {
        let Some(addr) = &self.checks.spamd else {
            let skipped = Skipped {
                check: CheckKind::Spam,
                reason: SPAMD_HELP.to_owned(),
            };
            return (None, Vec::new(), Some(skipped));
        };
        let config = lint::spamc::SpamdConfig {
            addr: addr.clone(),
            timeout: NETWORK_TIMEOUT,
            ..lint::spamc::SpamdConfig::default()
        };
        match lint::spamc::check(&config, raw).await {
            Ok(report) => {
                let findings = lint::spamc::findings(&report);
                (Some(report), findings, None)
            }
            Err(error) => {
                let skipped = Skipped {
                    check: CheckKind::Spam,
                    reason: sentence(&error.to_string()),
                };
                (None, Vec::new(), Some(skipped))
            }
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

/// Whether `domain` is one of the names RFC 2606 and RFC 6761 reserve for tests and examples.
fn is_reserved(domain: &str) -> bool {
    let domain = domain.trim_end_matches('.');
    ["test", "example", "invalid", "localhost"]
        .iter()
        .any(|tld| domain == *tld || domain.ends_with(&format!(".{tld}")))
        || ["example.com", "example.net", "example.org"]
            .iter()
            .any(|name| domain == *name || domain.ends_with(&format!(".{name}")))
}

/// Whether the profile sends through Google's servers, whose rules the checks apply.
fn via_gmail(profile: &Profile) -> bool {
    let host = profile
        .host
        .trim()
        .trim_end_matches('.')
        .to_ascii_lowercase();
    profile.preset.is_google() || host.ends_with(".gmail.com") || host.ends_with(".google.com")
}

/// An error's text as a sentence: capitalised, with a full stop.
fn sentence(text: &str) -> String {
    let mut chars = text.trim().chars();
    let mut out: String = chars
        .next()
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_default();
    out.push_str(chars.as_str());
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}
