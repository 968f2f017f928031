//! DNS for the From domain: SPF, DMARC, DKIM and alignment, with a configurable resolver.
//!
//! Since February 2024 Gmail requires every sender to pass SPF or DKIM, and senders of more
//! than 5,000 messages a day also to publish DMARC and to send from a domain that SPF or DKIM
//! aligns with. [`check_domain`] reads the From domain's records the way a receiver does and
//! says what Gmail will make of them:
//! - SPF: the one `v=spf1` record at the domain, its syntax, Google's servers in it
//!   (`include:_spf.google.com`) and its DNS lookups counted through includes and redirects.
//! - DMARC: `_dmarc.<domain>` (or its organisational domain's), its policy and syntax.
//! - DKIM: the key Google Workspace publishes at `google._domainkey.<domain>`, decoded, with
//!   the RSA modulus's size.
//! - Alignment: a custom From domain sent through a personal Gmail account.
//!
//! A lookup that got no answer (a timeout, SERVFAIL, REFUSED) is never turned into a finding:
//! it goes into [`DnsReport::unchecked`], so "checked and all in order" (no findings, nothing
//! unchecked) stays different from "could not check".

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use base64::Engine as _;
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Name, RData, RecordType};
use protocol::{CheckKind, Finding, Severity, Skipped};
use x509_parser::prelude::FromDer as _;
use x509_parser::public_key::PublicKey;
use x509_parser::x509::SubjectPublicKeyInfo;

/// Where and how patiently to look records up.
#[derive(Debug, Clone)]
pub struct DnsConfig {
    /// The nameservers to ask, over UDP and TCP; empty means the system's (`/etc/resolv.conf`).
    pub nameservers: Vec<SocketAddr>,
    /// How long one lookup may take, its retry included, before it counts as "could not check".
    pub timeout: Duration,
}

impl Default for DnsConfig {
    fn default() -> Self {
        Self {
            nameservers: Vec::new(),
            timeout: Duration::from_secs(5),
        }
    }
}

/// What the DNS checks need to know about the sending, besides the From domain.
#[derive(Debug, Clone, Default)]
pub struct DnsContext {
    /// The account the message is sent as (the SMTP username), e.g. `alice@gmail.com`: a
    /// personal Gmail account signs as gmail.com, whatever the From says.
    pub account: String,
    /// The message goes through Gmail's servers, so Google's SPF and DKIM must cover the domain.
    pub via_gmail: bool,
    /// The message is one of a campaign's, so the bulk-sender rules (DMARC, alignment) apply.
    pub bulk: bool,
}

impl From<&crate::Context> for DnsContext {
    fn from(ctx: &crate::Context) -> Self {
        Self {
            account: ctx.account.clone(),
            via_gmail: ctx.via_gmail,
            bulk: ctx.campaign,
        }
    }
}

/// What the DNS checks found, and what they could not check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DnsReport {
    /// Problems in the records, blockers first; empty when everything checked is in order.
    pub findings: Vec<Finding>,
    /// The lookups that got no answer, each naming the record and the nameserver, e.g.
    /// `_dmarc.example.com TXT: the nameserver 127.0.0.1:53 did not answer within 5 s`. When
    /// this is not empty the findings are incomplete: a missing record may just be unread.
    pub unchecked: Vec<String>,
}

impl DnsReport {
    /// The lookups that got no answer, as the lint report's [`Skipped`] entry; `None` when
    /// every lookup was answered.
    pub fn skipped(&self) -> Option<Skipped> {
        (!self.unchecked.is_empty()).then(|| Skipped {
            check: CheckKind::Dns,
            reason: format!("DNS could not be checked: {}", self.unchecked.join("; ")),
        })
    }
}

/// Looks up the From domain's SPF, DMARC and DKIM records and checks them against Gmail's
/// sender requirements for this sending.
///
/// Never fails: records that could not be read are listed in [`DnsReport::unchecked`]. The
/// three top-level lookups run at once, so a dead nameserver costs one timeout, not three.
pub async fn check_domain(from_domain: &str, ctx: &DnsContext, config: &DnsConfig) -> DnsReport {
    let mut report = DnsReport::default();
    let domain = from_domain.trim().trim_end_matches('.').to_lowercase();
    if is_google_domain(&domain) {
        // gmail.com's records are Google's and always in order; nothing the sender can change.
        return report;
    }
    if domain.is_empty() || Name::from_str_relaxed(format!("{domain}.")).is_err() {
        report
            .unchecked
            .push(format!("`{from_domain}` is not a domain name"));
        return report;
    }
    let dns = match Dns::new(config) {
        Ok(dns) => dns,
        Err(reason) => {
            report.unchecked.push(reason);
            return report;
        }
    };
    let sender = Sender::of(ctx);

    let dmarc_name = format!("_dmarc.{domain}");
    let dkim_name = format!("{DKIM_SELECTOR}._domainkey.{domain}");
    let (apex, dmarc, dkim) =
        tokio::join!(dns.txt(&domain), dns.txt(&dmarc_name), dns.txt(&dkim_name));

    let spf = match apex {
        Txt::Records(records) => Some(check_spf(&dns, &domain, &records, ctx, &mut report).await),
        Txt::NxDomain => {
            report.findings.push(finding(
                Severity::Warning,
                "domain-missing",
                &format!("{domain} TXT"),
                format!("the domain {domain} does not exist (NXDOMAIN)"),
                format!("{WHY_ALL}; receivers refuse or spam-folder mail from a domain that does not exist"),
                format!("check the From address for a typo, or register {domain} and publish `v=spf1 include:_spf.google.com ~all` at it"),
            ));
            return report;
        }
        Txt::Failed(reason) => {
            report.unchecked.push(reason);
            None
        }
    };
    let dkim = check_dkim(&dkim_name, dkim, &mut report);
    let policy = check_dmarc(&dns, &domain, dmarc, ctx, &mut report).await;

    match sender {
        Sender::PersonalGmail => {
            // DMARC's policy decides what receivers do with unaligned mail; unread counts as none.
            alignment(&domain, ctx, policy.flatten(), &mut report);
        }
        Sender::Workspace => authentication(&domain, spf, dkim, &mut report),
        Sender::Elsewhere => {
            if spf.is_some_and(|spf| spf.records == 0) {
                report.findings.push(spf_missing(
                    &domain,
                    "v=spf1 ip4:<your server's address> ~all",
                ));
            }
        }
    }
    crate::sort(&mut report.findings);
    report
}

/// The From domains whose records are Google's.
const GOOGLE_DOMAINS: [&str; 2] = ["gmail.com", "googlemail.com"];
/// The SPF record that lists Google's outgoing servers; Workspace domains include it.
const GOOGLE_SPF: &str = "_spf.google.com";
/// The DKIM selector the Google Admin console suggests; a domain may choose another prefix.
const DKIM_SELECTOR: &str = "google";
/// RFC 7208 section 4.6.4: more DNS-querying terms than this is a permerror.
const SPF_LOOKUP_LIMIT: usize = 10;
/// How many included records the SPF walk fetches at most: enough to count well past the
/// limit, while a broken or hostile chain cannot keep the check busy.
const SPF_MAX_FETCHES: usize = 30;

const WHY_ALL: &str = "since February 2024 Gmail requires every sender to pass SPF or DKIM for the From domain (support.google.com/mail/answer/81126)";
const WHY_BULK: &str = "since February 2024 Gmail requires senders of more than 5,000 messages a day to publish DMARC and to send from a domain that SPF or DKIM aligns with; it rejects or spam-folders bulk mail that does not (support.google.com/mail/answer/81126)";
const WHY_DMARC: &str = "DMARC tells receivers what to do with mail that fails SPF and DKIM for the From domain; Gmail requires it of senders of more than 5,000 messages a day (support.google.com/mail/answer/81126)";

/// How the message gets its SPF and DKIM, which decides which records must be right.
enum Sender {
    /// A custom From domain sent through a personal Gmail account: Gmail authenticates
    /// gmail.com, never the From domain.
    PersonalGmail,
    /// A custom domain through Gmail's servers (Google Workspace): Google's SPF include and
    /// the Workspace DKIM key must be the domain's.
    Workspace,
    /// Not through Gmail: SPF is still checked, DKIM keys are not expected at Google's selector.
    Elsewhere,
}

impl Sender {
    /// For a From domain that is not Google's own.
    fn of(ctx: &DnsContext) -> Self {
        let account_domain = ctx
            .account
            .rsplit_once('@')
            .map(|(_, d)| d.trim().to_lowercase())
            .unwrap_or_default();
        if is_google_domain(&account_domain) {
            Sender::PersonalGmail
        } else if ctx.via_gmail {
            Sender::Workspace
        } else {
            Sender::Elsewhere
        }
    }
}

fn is_google_domain(domain: &str) -> bool {
    GOOGLE_DOMAINS.contains(&domain)
}

fn finding(
    severity: Severity,
    code: &str,
    location: &str,
    found: String,
    why: String,
    fix: String,
) -> Finding {
    Finding {
        check: CheckKind::Dns,
        severity,
        code: code.into(),
        found,
        location: location.into(),
        why,
        fix,
    }
}

// ---------------------------------------------------------------------------------------------
// Lookups

/// The answer to one TXT lookup.
enum Txt {
    /// Each record's strings joined into one (long records come split into 255-byte strings);
    /// empty when the name exists without TXT records.
    Records(Vec<String>),
    /// The name does not exist.
    NxDomain,
    /// No usable answer, in words naming the record and the nameserver.
    Failed(String),
}

struct Dns {
    resolver: TokioResolver,
    /// The nameservers in words, for "could not check" messages.
    servers: String,
    timeout: Duration,
}

impl Dns {
    fn new(config: &DnsConfig) -> Result<Self, String> {
        let (resolver_config, mut options, whose) = if config.nameservers.is_empty() {
            let (resolver_config, options) = hickory_resolver::system_conf::read_system_conf()
                .map_err(|e| format!("could not read the system's DNS settings: {e}"))?;
            (resolver_config, options, "the system's ")
        } else {
            let servers = config.nameservers.iter().map(|addr| {
                let mut udp = ConnectionConfig::udp();
                udp.port = addr.port();
                let mut tcp = ConnectionConfig::tcp();
                tcp.port = addr.port();
                NameServerConfig::new(addr.ip(), true, vec![udp, tcp])
            });
            let resolver_config = ResolverConfig::from_name_servers(servers.collect());
            (resolver_config, ResolverOpts::default(), "")
        };
        let servers = describe_servers(whose, &resolver_config);
        // Two tries of half the budget each, so one lost UDP packet is not "could not check".
        options.timeout = (config.timeout / 2).max(Duration::from_millis(50));
        options.attempts = 2;
        // TXT records are never in /etc/hosts.
        options.use_hosts_file = ResolveHosts::Never;
        let resolver =
            TokioResolver::builder_with_config(resolver_config, TokioRuntimeProvider::default())
                .with_options(options)
                .build()
                .map_err(|e| format!("could not set up DNS with {servers}: {e}"))?;
        Ok(Self {
            resolver,
            servers,
            timeout: config.timeout,
        })
    }

    async fn txt(&self, name: &str) -> Txt {
        // The final dot makes the name absolute, so resolv.conf's search domains stay out.
        let Ok(query) = Name::from_str_relaxed(format!("{name}.")) else {
            return Txt::Failed(format!("{name} TXT: not a valid DNS name"));
        };
        let within = format_duration(self.timeout);
        let answer =
            tokio::time::timeout(self.timeout, self.resolver.lookup(query, RecordType::TXT)).await;
        match answer {
            Err(_) | Ok(Err(NetError::Timeout)) => Txt::Failed(format!(
                "{name} TXT: {} did not answer within {within}",
                self.servers
            )),
            Ok(Ok(lookup)) => Txt::Records(
                lookup
                    .answers()
                    .iter()
                    .filter_map(|record| match &record.data {
                        RData::TXT(txt) => {
                            Some(String::from_utf8_lossy(&txt.txt_data.concat()).into_owned())
                        }
                        _ => None,
                    })
                    .collect(),
            ),
            Ok(Err(e)) if e.is_nx_domain() => Txt::NxDomain,
            Ok(Err(e)) if e.is_no_records_found() => Txt::Records(Vec::new()),
            Ok(Err(NetError::Dns(DnsError::ResponseCode(code)))) => {
                let what = match code {
                    ResponseCode::ServFail => "answered SERVFAIL: the domain's own nameservers may be down or misconfigured".to_string(),
                    ResponseCode::Refused => "refused to answer (REFUSED)".to_string(),
                    code => format!("answered {code} ({})", u16::from(code)),
                };
                Txt::Failed(format!("{name} TXT: {} {what}", self.servers))
            }
            Ok(Err(e)) => Txt::Failed(format!(
                "{name} TXT: {} could not be reached ({e})",
                self.servers
            )),
        }
    }
}

/// "the nameserver 127.0.0.1:5353", "the system's nameservers 10.0.0.2:53, 10.0.0.3:53".
fn describe_servers(whose: &str, config: &ResolverConfig) -> String {
    let mut addrs: Vec<SocketAddr> = Vec::new();
    for server in config.name_servers() {
        for connection in &server.connections {
            let addr = SocketAddr::new(server.ip, connection.port);
            if !addrs.contains(&addr) {
                addrs.push(addr);
            }
        }
    }
    let list: Vec<String> = addrs.iter().map(ToString::to_string).collect();
    match list.len() {
        0 => format!("{whose}DNS settings (no nameserver configured)"),
        1 => format!("the {whose}nameserver {}", list[0]),
        _ => format!("the {whose}nameservers {}", list.join(", ")),
    }
}

fn format_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

// ---------------------------------------------------------------------------------------------
// SPF

/// What the SPF check learnt, for the check that weighs SPF against DKIM.
#[derive(Clone, Copy)]
struct SpfFacts {
    /// How many `v=spf1` records the domain has.
    records: usize,
    /// Receivers will get a permerror (two records, bad syntax, too many lookups, a loop).
    permerror: bool,
    /// `_spf.google.com` is included somewhere in the chain.
    google: bool,
    /// Every included record was read, so a missing Google include is certain.
    complete: bool,
}

impl SpfFacts {
    /// Why SPF cannot pass for mail Gmail sends from the domain, if it cannot.
    fn google_failure(self) -> Option<&'static str> {
        if self.records == 0 {
            Some("there is no v=spf1 record")
        } else if self.records > 1 || self.permerror {
            Some("the SPF record is broken (permerror)")
        } else if !self.google && self.complete {
            Some("the SPF record does not include _spf.google.com")
        } else {
            None
        }
    }
}

fn is_spf(record: &str) -> bool {
    record
        .get(..6)
        .is_some_and(|v| v.eq_ignore_ascii_case("v=spf1"))
        && record[6..].chars().next().is_none_or(|c| c == ' ')
}

/// One SPF record, parsed.
#[derive(Default)]
struct Spf {
    /// How many DNS-querying terms it has: `include:`, `a`, `mx`, `ptr`, `exists:` and an
    /// effective `redirect=`.
    lookups: usize,
    /// The domains this record hands over to: its includes, then its redirect.
    targets: Vec<String>,
    /// `+all` (or a bare `all`): anyone may send as the domain.
    allows_all: bool,
    /// Syntax errors, each a permerror for receivers.
    problems: Vec<String>,
}

fn parse_spf(record: &str) -> Spf {
    let mut spf = Spf::default();
    let mut redirect: Option<String> = None;
    let mut has_all = false;
    for term in record.split_ascii_whitespace().skip(1) {
        if let Some((name, value)) = as_modifier(term) {
            match name.to_ascii_lowercase().as_str() {
                "redirect" if redirect.is_some() => {
                    spf.problems.push("two redirect= modifiers".into());
                }
                "redirect" if value.is_empty() => {
                    spf.problems.push("`redirect=` needs a domain".into());
                }
                "redirect" => redirect = Some(target_domain(value)),
                // Receivers ignore unknown modifiers (RFC 7208 section 6), so a mechanism
                // written as one is silently lost: say so.
                mechanism @ ("include" | "a" | "mx" | "ptr" | "exists" | "ip4" | "ip6" | "all") => {
                    spf.problems.push(format!(
                        "`{term}` is not a mechanism: write `{mechanism}:{value}`"
                    ));
                }
                _ => {}
            }
            continue;
        }
        let body = term.strip_prefix(['+', '-', '~', '?']).unwrap_or(term);
        let pass = !term.starts_with(['-', '~', '?']);
        let split = body.find([':', '/']).unwrap_or(body.len());
        let (mechanism, arg) = body.split_at(split);
        let domain_arg = arg.strip_prefix(':');
        match mechanism.to_ascii_lowercase().as_str() {
            "all" if arg.is_empty() => {
                has_all = true;
                spf.allows_all |= pass;
            }
            "include" | "exists" => match domain_arg.filter(|d| !d.is_empty()) {
                Some(domain) => {
                    spf.lookups += 1;
                    if mechanism.eq_ignore_ascii_case("include") {
                        spf.targets.push(target_domain(domain));
                    }
                }
                None => spf.problems.push(format!(
                    "`{term}` needs a domain, e.g. `{mechanism}:example.com`"
                )),
            },
            "a" | "mx" | "ptr" if valid_domain_cidr(arg) => spf.lookups += 1,
            "ip4" if domain_arg.is_some_and(|ip| valid_network::<Ipv4Addr>(ip, 32)) => {}
            "ip6" if domain_arg.is_some_and(|ip| valid_network::<Ipv6Addr>(ip, 128)) => {}
            "all" | "a" | "mx" | "ptr" | "ip4" | "ip6" => {
                spf.problems.push(format!("`{term}` is malformed"));
            }
            _ => spf
                .problems
                .push(format!("`{term}` is not an SPF mechanism")),
        }
    }
    // RFC 7208 section 6.1: redirect= is ignored when the record has an `all`.
    if let Some(domain) = redirect.filter(|_| !has_all) {
        spf.lookups += 1;
        spf.targets.push(domain);
    }
    spf
}

/// `name=value` when the term is a modifier: `=` before any `:` or `/`, after a valid name.
fn as_modifier(term: &str) -> Option<(&str, &str)> {
    let (name, value) = term.split_once('=')?;
    let valid = name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    valid.then_some((name, value))
}

fn target_domain(domain: &str) -> String {
    domain.trim_end_matches('.').to_ascii_lowercase()
}

/// `a`, `mx` and `ptr` take an optional `:domain`, then (not `ptr`, but receivers are lenient)
/// an optional `/cidr4` and `//cidr6`.
fn valid_domain_cidr(arg: &str) -> bool {
    let (domain, cidr) = match arg.find('/') {
        Some(i) => arg.split_at(i),
        None => (arg, ""),
    };
    let domain_ok = domain.is_empty() || domain.len() > 1 && domain.starts_with(':');
    let cidr_ok = match cidr.strip_prefix("//") {
        Some(v6) => prefix_ok(v6, 128),
        None => match cidr.strip_prefix('/') {
            None => cidr.is_empty(),
            Some(rest) => match rest.split_once("//") {
                Some((v4, v6)) => prefix_ok(v4, 32) && prefix_ok(v6, 128),
                None => prefix_ok(rest, 32),
            },
        },
    };
    domain_ok && cidr_ok
}

fn valid_network<A: std::str::FromStr>(value: &str, max_prefix: u8) -> bool {
    let (addr, prefix) = value.split_once('/').unwrap_or((value, "0"));
    addr.parse::<A>().is_ok() && prefix_ok(prefix, max_prefix)
}

fn prefix_ok(prefix: &str, max: u8) -> bool {
    prefix.parse::<u8>().is_ok_and(|p| p <= max)
}

/// An SPF record still to read in the include walk.
struct Pending {
    domain: String,
    /// The domains that led here, the From domain first, for loop detection and messages.
    path: Vec<String>,
}

async fn check_spf(
    dns: &Dns,
    domain: &str,
    apex: &[String],
    ctx: &DnsContext,
    report: &mut DnsReport,
) -> SpfFacts {
    let records: Vec<&String> = apex.iter().filter(|r| is_spf(r)).collect();
    let mut facts = SpfFacts {
        records: records.len(),
        permerror: false,
        google: false,
        complete: true,
    };
    let location = format!("{domain} TXT");
    let root = match records.as_slice() {
        [] => return facts,
        [root] => root.to_string(),
        several => {
            facts.permerror = true;
            report.findings.push(spf_multiple(domain, several, ctx));
            return facts;
        }
    };

    // Depth first, so the chain reads in the order receivers evaluate it.
    let mut pending = vec![Pending {
        domain: domain.to_string(),
        path: Vec::new(),
    }];
    let mut first = Some(root);
    let mut total = 0;
    let mut chain: Vec<String> = Vec::new();
    let mut fetches = 0;
    let mut truncated = false;
    while let Some(next) = pending.pop() {
        let record = match first.take() {
            Some(record) => record,
            None => {
                if fetches == SPF_MAX_FETCHES {
                    truncated = true;
                    facts.complete = false;
                    break;
                }
                fetches += 1;
                match included_record(dns, &next, ctx, report).await {
                    Included::Record(record) => record,
                    Included::Broken => {
                        facts.permerror = true;
                        continue;
                    }
                    Included::Unread => {
                        facts.complete = false;
                        continue;
                    }
                }
            }
        };
        let spf = parse_spf(&record);
        let here = format!("{} TXT", next.domain);
        if !spf.problems.is_empty() {
            facts.permerror = true;
            report.findings.push(finding(
                Severity::Blocker,
                "spf-syntax",
                &here,
                format!(
                    "permerror: the SPF record of {} has errors: {} (record `{record}`)",
                    next.domain,
                    spf.problems.join("; ")
                ),
                spf_why(ctx),
                format!("correct the record, e.g. `v=spf1 include:{GOOGLE_SPF} ip4:192.0.2.0/24 ~all`: mechanisms are written `name:value`, only all, include, a, mx, ptr, ip4, ip6 and exists exist"),
            ));
        }
        if spf.allows_all {
            report.findings.push(finding(
                Severity::Warning,
                "spf-allows-all",
                &here,
                format!("the SPF record of {} ends in `+all`, which allows anyone to send as {domain}", next.domain),
                "SPF only protects a domain when it ends in `~all` or `-all`; with `+all` every spammer passes SPF for it and receivers trust the domain less".into(),
                format!("end the record in `~all` (or `-all`), e.g. `v=spf1 include:{GOOGLE_SPF} ~all`"),
            ));
        }
        total += spf.lookups;
        if spf.lookups > 0 {
            chain.push(format!("{} {}", next.domain, spf.lookups));
        }
        let mut path = next.path;
        path.push(next.domain);
        // Reversed onto the stack, so the first include is read first.
        for target in spf.targets.into_iter().rev() {
            if target == GOOGLE_SPF {
                facts.google = true;
            }
            if path.contains(&target) {
                facts.permerror = true;
                let cycle = format!("{} > {target}", path.join(" > "));
                report.findings.push(finding(
                    Severity::Blocker,
                    "spf-loop",
                    &here,
                    format!("permerror: the SPF records include each other in a loop: {cycle}"),
                    spf_why(ctx),
                    format!(
                        "remove the include of {target} from the record at {}",
                        path.last().map_or(domain, String::as_str)
                    ),
                ));
            } else if !target.contains('%') {
                // A target with a macro (%{i}...) is expanded per message and cannot be followed.
                pending.push(Pending {
                    domain: target,
                    path: path.clone(),
                });
            }
        }
    }
    if total > SPF_LOOKUP_LIMIT {
        facts.permerror = true;
        let count = if truncated {
            format!("more than {total}")
        } else {
            total.to_string()
        };
        report.findings.push(finding(
            Severity::Blocker,
            "spf-too-many-lookups",
            &location,
            format!(
                "permerror: {count} DNS lookups, the limit is {SPF_LOOKUP_LIMIT} ({})",
                chain.join(", ")
            ),
            format!("receivers stop after {SPF_LOOKUP_LIMIT} DNS-querying terms (include, a, mx, ptr, exists, redirect), counted through every include, and then SPF fails for all mail from {domain} (RFC 7208 section 4.6.4); {WHY_ALL}"),
            format!("cut the lookups to {SPF_LOOKUP_LIMIT} or fewer: drop includes of services you no longer use, replace a, mx and ptr by ip4:/ip6: ranges, e.g. `v=spf1 include:{GOOGLE_SPF} ip4:192.0.2.0/24 ~all` (include:{GOOGLE_SPF} alone counts 4)"),
        ));
    }
    facts
}

enum Included {
    Record(String),
    /// Missing or doubled: a permerror, already reported.
    Broken,
    /// No answer, already listed as unchecked.
    Unread,
}

async fn included_record(
    dns: &Dns,
    next: &Pending,
    ctx: &DnsContext,
    report: &mut DnsReport,
) -> Included {
    let parent = next.path.last().map_or("", String::as_str);
    let location = format!("{} TXT", next.domain);
    let records = match dns.txt(&next.domain).await {
        Txt::Records(records) => records,
        Txt::NxDomain => Vec::new(),
        Txt::Failed(reason) => {
            report.unchecked.push(reason);
            return Included::Unread;
        }
    };
    let mut spf: Vec<&String> = records.iter().filter(|r| is_spf(r)).collect();
    match spf.len() {
        1 => Included::Record(spf.remove(0).clone()),
        0 => {
            report.findings.push(finding(
                Severity::Blocker,
                "spf-include-missing",
                &location,
                format!("permerror: the SPF record of {parent} includes {}, which has no SPF record", next.domain),
                spf_why(ctx),
                format!("remove `include:{}` from the record at {parent}, or correct the name (Google's is include:{GOOGLE_SPF})", next.domain),
            ));
            Included::Broken
        }
        _ => {
            report.findings.push(spf_multiple(&next.domain, &spf, ctx));
            Included::Broken
        }
    }
}

fn spf_multiple(domain: &str, records: &[&String], ctx: &DnsContext) -> Finding {
    let list: Vec<String> = records.iter().map(|r| format!("`{r}`")).collect();
    finding(
        Severity::Blocker,
        "spf-multiple",
        &format!("{domain} TXT"),
        format!(
            "permerror: more than one v=spf1 record at {domain}: {}",
            list.join(", ")
        ),
        spf_why(ctx),
        format!(
            "merge them into one record with every sender's terms and one `~all` at the end, e.g. `v=spf1 include:{GOOGLE_SPF} include:<the other service> ~all`"
        ),
    )
}

fn spf_why(ctx: &DnsContext) -> String {
    if ctx.bulk {
        format!("receivers treat a broken SPF record as no SPF at all (RFC 7208); {WHY_BULK}")
    } else {
        format!("receivers treat a broken SPF record as no SPF at all (RFC 7208); {WHY_ALL}")
    }
}

fn spf_missing(domain: &str, sample: &str) -> Finding {
    finding(
        Severity::Warning,
        "spf-missing",
        &format!("{domain} TXT"),
        format!("{domain} has no SPF record (no TXT record starting `v=spf1`)"),
        format!("{WHY_ALL}; without SPF, every message must carry a valid DKIM signature"),
        format!("publish one TXT record at {domain}: `{sample}`"),
    )
}

// ---------------------------------------------------------------------------------------------
// DKIM

/// Why the domain's Google DKIM key cannot sign, if it cannot; `missing` when there is none.
struct DkimFacts {
    missing: bool,
    problem: Option<String>,
}

fn check_dkim(name: &str, answer: Txt, report: &mut DnsReport) -> Option<DkimFacts> {
    let location = format!("{name} TXT");
    let records = match answer {
        Txt::Records(records) => records,
        Txt::NxDomain => Vec::new(),
        Txt::Failed(reason) => {
            report.unchecked.push(reason);
            return None;
        }
    };
    let Some(record) = records.first() else {
        return Some(DkimFacts {
            missing: true,
            problem: Some(format!("there is no DKIM key at {name}")),
        });
    };
    let why = "Gmail checks the DKIM signature against this key; a key it cannot use leaves the message without DKIM (support.google.com/a/answer/174124)";
    let fix = "generate a new 2048-bit key in the Google Admin console (Apps > Google Workspace > Gmail > Authenticate email > Generate new record), replace the TXT record with it, e.g. `v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA...`, then press Start authentication";
    if records.len() > 1 {
        report.findings.push(finding(
            Severity::Warning,
            "dkim-multiple",
            &location,
            format!(
                "{} DKIM records at {name}; verifiers use one of them at random",
                records.len()
            ),
            why.into(),
            format!("keep only the record the Admin console shows for {name}"),
        ));
    }
    match read_dkim_key(name, record) {
        Ok(bits) => {
            if let Some(bits) = bits.filter(|&bits| bits < 2048) {
                report.findings.push(finding(
                    Severity::Advice,
                    "dkim-short-key",
                    &location,
                    format!("the DKIM key at {name} is {bits} bits; Google recommends 2048"),
                    "Gmail accepts 1024-bit keys, but they are within reach of well-funded attackers; the Admin console generates 2048-bit keys by default".into(),
                    fix.into(),
                ));
            }
            Some(DkimFacts {
                missing: false,
                problem: None,
            })
        }
        Err((code, found)) => {
            report.findings.push(finding(
                Severity::Warning,
                code,
                &location,
                found.clone(),
                why.into(),
                fix.into(),
            ));
            Some(DkimFacts {
                missing: false,
                problem: Some(found),
            })
        }
    }
}

/// A DKIM key record's RSA size in bits (`None` for an ed25519 key, which has one size), or
/// the finding's code and text when verifiers cannot use it.
fn read_dkim_key(name: &str, record: &str) -> Result<Option<usize>, (&'static str, String)> {
    let invalid = |found: String| ("dkim-key-invalid", found);
    let tags = parse_tags(record).map_err(|bad| {
        invalid(format!(
            "the DKIM record at {name} is not tag=value pairs (`{bad}`)"
        ))
    })?;
    let tag = |name: &str| {
        tags.iter()
            .find(|(t, _)| t == name)
            .map(|(_, v)| v.as_str())
    };
    if let Some(version) = tag("v").filter(|&v| v != "DKIM1") {
        return Err(invalid(format!(
            "the DKIM record at {name} has v={version} instead of v=DKIM1"
        )));
    }
    let key = tag("p")
        .ok_or_else(|| invalid(format!("the DKIM record at {name} has no key (no p= tag)")))?;
    if key.is_empty() {
        // RFC 6376 section 3.6.1: an empty p= means the key was revoked.
        return Err((
            "dkim-revoked",
            format!("the DKIM key at {name} is revoked (empty p=)"),
        ));
    }
    // DKIM allows whitespace inside tag values, and DNS hosts insert it when they wrap keys.
    let key: String = key.chars().filter(|c| !c.is_whitespace()).collect();
    let der = base64::engine::general_purpose::STANDARD.decode(&key).map_err(|_| {
        invalid(format!("the DKIM key at {name} is not valid base64 (a character lost or added when it was pasted?)"))
    })?;
    match tag("k").unwrap_or("rsa").to_ascii_lowercase().as_str() {
        "rsa" => {}
        // RFC 8463: a bare 32-byte key.
        "ed25519" if der.len() == 32 => return Ok(None),
        "ed25519" => {
            return Err(invalid(format!(
                "the ed25519 DKIM key at {name} is {} bytes, not 32",
                der.len()
            )));
        }
        other => {
            return Err(invalid(format!(
                "the DKIM record at {name} has the unknown key type k={other}"
            )));
        }
    }
    let bits = rsa_modulus_bits(&der).ok_or_else(|| {
        invalid(format!(
            "the DKIM key at {name} is not an RSA public key (SubjectPublicKeyInfo)"
        ))
    })?;
    if bits < 1024 {
        return Err((
            "dkim-weak-key",
            format!(
                "the DKIM key at {name} is {bits} bits: Gmail ignores DKIM keys under 1024 bits"
            ),
        ));
    }
    Ok(Some(bits))
}

/// The RSA modulus's size in bits, from a DER SubjectPublicKeyInfo (RFC 6376's p= format).
fn rsa_modulus_bits(der: &[u8]) -> Option<usize> {
    let (_, spki) = SubjectPublicKeyInfo::from_der(der).ok()?;
    let PublicKey::RSA(rsa) = spki.parsed().ok()? else {
        return None;
    };
    // The DER integer may carry a leading zero byte, and a modulus need not fill its top byte,
    // so count from the highest set bit rather than the byte length.
    let start = rsa.modulus.iter().position(|&b| b != 0)?;
    let top = rsa.modulus[start];
    Some((rsa.modulus.len() - start - 1) * 8 + (8 - top.leading_zeros() as usize))
}

/// `tag=value` pairs separated by `;`, as in DKIM and DMARC records; the first piece without
/// `=` is the error.
fn parse_tags(record: &str) -> Result<Vec<(String, String)>, String> {
    record
        .split(';')
        .map(str::trim)
        .filter(|piece| !piece.is_empty())
        .map(|piece| match piece.split_once('=') {
            Some((tag, value)) => Ok((tag.trim().to_string(), value.trim().to_string())),
            None => Err(piece.to_string()),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// DMARC

#[derive(Clone, Copy, PartialEq, Eq)]
enum Policy {
    None,
    Quarantine,
    Reject,
}

impl Policy {
    fn parse(value: &str) -> Option<Self> {
        match value.to_ascii_lowercase().as_str() {
            "none" => Some(Policy::None),
            "quarantine" => Some(Policy::Quarantine),
            "reject" => Some(Policy::Reject),
            _ => None,
        }
    }
}

fn is_dmarc(record: &str) -> bool {
    let record = record.trim_start();
    record
        .get(..8)
        .is_some_and(|v| v.eq_ignore_ascii_case("v=DMARC1"))
        && record[8..]
            .trim_start()
            .chars()
            .next()
            .is_none_or(|c| c == ';')
}

/// The DMARC policy that applies to the domain: `None` when unread, `Some(None)` when there is
/// no usable record.
async fn check_dmarc(
    dns: &Dns,
    domain: &str,
    answer: Txt,
    ctx: &DnsContext,
    report: &mut DnsReport,
) -> Option<Option<Policy>> {
    let own = format!("_dmarc.{domain}");
    let mut records = match answer {
        Txt::Records(records) => records,
        Txt::NxDomain => Vec::new(),
        Txt::Failed(reason) => {
            report.unchecked.push(reason);
            return None;
        }
    };
    records.retain(|r| is_dmarc(r));
    let mut name = own.clone();
    let mut subdomain = false;
    // RFC 7489 section 6.6.3: without a record of its own, a subdomain falls under its
    // organisational domain's. The last two labels stand in for the public suffix list: wrong
    // only for names under suffixes like co.uk, whose _dmarc records do not exist.
    let labels: Vec<&str> = domain.split('.').collect();
    if records.is_empty() && labels.len() > 2 {
        let organisational = labels[labels.len() - 2..].join(".");
        name = format!("_dmarc.{organisational}");
        subdomain = true;
        records = match dns.txt(&name).await {
            Txt::Records(records) => records,
            Txt::NxDomain => Vec::new(),
            Txt::Failed(reason) => {
                report.unchecked.push(reason);
                return None;
            }
        };
        records.retain(|r| is_dmarc(r));
    }
    let why = if ctx.bulk { WHY_BULK } else { WHY_DMARC };
    let sample = format!("v=DMARC1; p=none; rua=mailto:dmarc-reports@{domain}");
    let record = match records.as_slice() {
        [] => {
            let found = if ctx.bulk {
                format!(
                    "{domain} has no DMARC record, which Gmail requires of bulk senders (more than 5,000 messages a day)"
                )
            } else {
                format!("{domain} has no DMARC record")
            };
            report.findings.push(finding(
                Severity::Warning,
                "dmarc-missing",
                &format!("{own} TXT"),
                found,
                why.into(),
                format!("publish a TXT record at {own}: `{sample}`; once the reports show all your mail passing, raise p= to quarantine or reject"),
            ));
            return Some(None);
        }
        [record] => record,
        several => {
            report.findings.push(finding(
                Severity::Warning,
                "dmarc-multiple",
                &format!("{name} TXT"),
                format!("{} DMARC records at {name}: receivers then ignore DMARC for {domain} altogether", several.len()),
                why.into(),
                format!("keep one record at {name}, e.g. `{sample}`"),
            ));
            return Some(None);
        }
    };

    let mut problems = Vec::new();
    let tags = parse_tags(record).unwrap_or_else(|bad| {
        problems.push(format!(
            "`{bad}` is not tag=value (tags are separated by `;`)"
        ));
        Vec::new()
    });
    let tag = |name: &str| {
        tags.iter()
            .find(|(t, _)| t == name)
            .map(|(_, v)| v.as_str())
    };
    let policy = match tag("p") {
        Some(p) => Policy::parse(p).or_else(|| {
            problems.push(format!("p={p} is not none, quarantine or reject"));
            None
        }),
        None => {
            problems.push("there is no p= policy".into());
            None
        }
    };
    let sub_policy = tag("sp").and_then(|sp| {
        Policy::parse(sp).or_else(|| {
            problems.push(format!("sp={sp} is not none, quarantine or reject"));
            None
        })
    });
    if let Some(pct) = tag("pct").filter(|pct| !pct.parse::<u8>().is_ok_and(|n| n <= 100)) {
        problems.push(format!("pct={pct} is not a number from 0 to 100"));
    }
    for alignment in ["adkim", "aspf"] {
        if let Some(value) = tag(alignment).filter(|v| !matches!(*v, "r" | "s")) {
            problems.push(format!("{alignment}={value} is not r or s"));
        }
    }
    for uris in ["rua", "ruf"] {
        for uri in tag(uris).into_iter().flat_map(|v| v.split(',')) {
            if !uri.trim().to_ascii_lowercase().starts_with("mailto:") {
                problems.push(format!(
                    "{uris}= address `{}` does not start with mailto:",
                    uri.trim()
                ));
            }
        }
    }
    if !problems.is_empty() {
        report.findings.push(finding(
            Severity::Warning,
            "dmarc-syntax",
            &format!("{name} TXT"),
            format!("the DMARC record at {name} has errors: {} (record `{record}`)", problems.join("; ")),
            format!("receivers ignore a DMARC record they cannot read, or read it as p=none (RFC 7489 section 6.6.3); {why}"),
            format!("correct the record, e.g. `{sample}`"),
        ));
    }
    let policy = if subdomain {
        sub_policy.or(policy)
    } else {
        policy
    };
    if policy == Some(Policy::None) {
        report.findings.push(finding(
            Severity::Advice,
            "dmarc-none",
            &format!("{name} TXT"),
            format!("the DMARC policy for {domain} is p=none: it only monitors, receivers do nothing with mail that fails"),
            format!("p=none meets Gmail's bulk-sender requirement, but does not stop others sending as {domain}"),
            format!("once the aggregate reports (rua=) show all your mail passing, change it to p=quarantine, then p=reject, e.g. `v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@{domain}`"),
        ));
    }
    Some(policy)
}

// ---------------------------------------------------------------------------------------------
// Combined checks

/// A custom From domain through a personal Gmail account: Gmail passes SPF for gmail.com and
/// signs d=gmail.com, so DMARC never aligns with the From domain.
fn alignment(domain: &str, ctx: &DnsContext, policy: Option<Policy>, report: &mut DnsReport) {
    let account = ctx.account.trim();
    let google = account.rsplit_once('@').map_or("gmail.com", |(_, d)| d);
    let (severity, consequence) = match policy {
        Some(Policy::Reject) => (
            Severity::Blocker,
            format!("; {domain}'s DMARC policy p=reject tells receivers to refuse such mail"),
        ),
        Some(Policy::Quarantine) => (
            Severity::Warning,
            format!(
                "; {domain}'s DMARC policy p=quarantine tells receivers to put such mail in spam"
            ),
        ),
        _ => (Severity::Warning, String::new()),
    };
    let why = if ctx.bulk {
        WHY_BULK.to_string()
    } else {
        "DMARC passes only when SPF or DKIM passes for the From domain itself (alignment); receivers apply the From domain's DMARC policy to mail that is not aligned, and Gmail requires alignment of bulk senders (support.google.com/mail/answer/81126)".to_string()
    };
    report.findings.push(finding(
        severity,
        "alignment-personal-gmail",
        &format!("_dmarc.{domain} TXT"),
        format!("From {domain} is sent through the personal Gmail account {account}: Gmail passes SPF for {google} and signs DKIM as d={google}, so neither aligns with {domain}{consequence}"),
        why,
        format!("send mail from {domain} through a Google Workspace account on {domain} with DKIM turned on (Admin console > Apps > Google Workspace > Gmail > Authenticate email), or send it From the Gmail address itself"),
    ));
}

/// Through Gmail with a custom domain: Google's SPF include or the Workspace DKIM key must
/// pass, or Gmail's requirement that every sender passes SPF or DKIM is not met.
fn authentication(
    domain: &str,
    spf: Option<SpfFacts>,
    dkim: Option<DkimFacts>,
    report: &mut DnsReport,
) {
    let spf_failure = spf.and_then(SpfFacts::google_failure);
    let dkim_failure = dkim.as_ref().and_then(|dkim| dkim.problem.as_deref());
    if let (Some(spf_failure), Some(dkim_failure)) = (spf_failure, dkim_failure) {
        let spf_fix = if spf.is_some_and(|spf| spf.records == 0) {
            format!("publish `v=spf1 include:{GOOGLE_SPF} ~all` at {domain}")
        } else {
            format!("make {domain}'s SPF one valid record with include:{GOOGLE_SPF}")
        };
        report.findings.push(finding(
            Severity::Blocker,
            "no-spf-no-dkim",
            &format!("{domain} TXT, {DKIM_SELECTOR}._domainkey.{domain} TXT"),
            format!("neither SPF nor DKIM can pass for mail Gmail sends from {domain}: {spf_failure}, and {dkim_failure}"),
            format!("{WHY_ALL}; Gmail rejects or spam-folders mail that passes neither"),
            format!("{spf_fix}, and turn on DKIM with a 2048-bit key in the Google Admin console (Apps > Google Workspace > Gmail > Authenticate email), publishing its record at {DKIM_SELECTOR}._domainkey.{domain}"),
        ));
        return;
    }
    if let Some(spf) = spf {
        if spf.records == 0 {
            report.findings.push(spf_missing(
                domain,
                &format!("v=spf1 include:{GOOGLE_SPF} ~all"),
            ));
        } else if spf.records == 1 && !spf.google && spf.complete {
            report.findings.push(finding(
                Severity::Warning,
                "spf-no-google",
                &format!("{domain} TXT"),
                format!("the SPF record of {domain} does not include {GOOGLE_SPF}, so SPF fails for mail Gmail's servers send from {domain}"),
                format!("{WHY_ALL}; mail through Gmail passes SPF only when the From domain's record lists Google's servers"),
                format!("add `include:{GOOGLE_SPF}` before the `all` at the end, e.g. `v=spf1 include:{GOOGLE_SPF} ~all`"),
            ));
        }
    }
    if dkim.is_some_and(|dkim| dkim.missing) {
        report.findings.push(finding(
            Severity::Warning,
            "dkim-missing",
            &format!("{DKIM_SELECTOR}._domainkey.{domain} TXT"),
            format!("there is no DKIM key at {DKIM_SELECTOR}._domainkey.{domain} (Google Workspace's default selector), so Gmail does not sign mail from {domain} as {domain}"),
            format!("{WHY_ALL}; DKIM is what keeps mail authenticated through forwarding, and what aligns with DMARC"),
            format!("turn on DKIM: Google Admin console > Apps > Google Workspace > Gmail > Authenticate email, choose {domain}, Generate new record (2048 bits), publish the TXT record it shows at {DKIM_SELECTOR}._domainkey.{domain}, e.g. `v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA...`, then press Start authentication"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SPF parser on records users get wrong: (record, lookups, targets, problems).
    #[test]
    fn spf_terms() {
        let cases: &[(&str, usize, &[&str], usize)] = &[
            (
                "v=spf1 include:_spf.google.com ~all",
                1,
                &["_spf.google.com"],
                0,
            ),
            (
                "v=spf1 a mx/24 ptr exists:%{i}.x.test ip4:192.0.2.1/32 -all",
                4,
                &[],
                0,
            ),
            (
                "v=spf1 a:mail.test/24//64 ip6:2001:db8::/32 ~all",
                1,
                &[],
                0,
            ),
            ("v=spf1 redirect=_spf.x.test", 1, &["_spf.x.test"], 0),
            // redirect= is ignored when there is an `all`, so it costs no lookup.
            ("v=spf1 ~all redirect=_spf.x.test", 0, &[], 0),
            ("v=spf1 include=_spf.google.com ~all", 0, &[], 1),
            ("v=spf1 ip4:192.0.2.300 foo ~all", 0, &[], 2),
            ("v=spf1 ip4:192.0.2.0/33 include: ~all", 0, &[], 2),
            ("v=spf1 exp=explain.x.test unknown-mod=1 -all", 0, &[], 0),
        ];
        for &(record, lookups, targets, problems) in cases {
            let spf = parse_spf(record);
            assert_eq!(spf.lookups, lookups, "lookups of {record}");
            assert_eq!(spf.targets, targets, "targets of {record}");
            assert_eq!(
                spf.problems.len(),
                problems,
                "problems of {record}: {:?}",
                spf.problems
            );
        }
        assert!(parse_spf("v=spf1 +all").allows_all);
        assert!(parse_spf("v=spf1 all").allows_all);
        assert!(!parse_spf("v=spf1 ?all").allows_all);
    }

    #[test]
    fn record_kinds() {
        assert!(is_spf("v=spf1"));
        assert!(is_spf("V=SPF1 -all"));
        assert!(!is_spf("v=spf10 -all"));
        assert!(!is_spf("google-site-verification=abc"));
        assert!(is_dmarc("v=DMARC1; p=none"));
        assert!(is_dmarc("v=DMARC1 ; p=none"));
        assert!(!is_dmarc("v=DMARC10; p=none"));
    }
}
