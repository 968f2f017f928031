//! The DNS checks against a real dnsmasq on 127.0.0.1 serving a made-up `.test` zone (and
//! Google's SPF chain), so the resolver, the joining of split TXT strings and the failure paths
//! are the ones users get.

#[path = "support/dnsmasq.rs"]
mod dnsmasq;

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use Severity::{Advice, Blocker, Warning};
use dnsmasq::{Dnsmasq, Zone, free_port};
use lint::dns::{DnsConfig, DnsContext, DnsReport, check_domain};
use lint::{CheckKind, Severity};

/// How the message is sent, one table column instead of two booleans.
#[derive(Clone, Copy, Debug)]
enum How {
    /// Through Gmail, one message.
    Gmail,
    /// Through Gmail, a campaign's.
    Bulk,
    /// Not through Gmail.
    Elsewhere,
}

/// (From domain, account, how, expected findings): one line per case.
type Case = (
    &'static str,
    &'static str,
    How,
    &'static [(Severity, &'static str)],
);

#[rustfmt::skip]
const CASES: &[Case] = &[
    ("good.test", "bob@good.test", How::Gmail, &[]),
    // No record of its own: falls under good.test's p=reject.
    ("sub.good.test", "bob@good.test", How::Gmail, &[]),
    // SPF in two TXT strings, a 2048-bit key that dnsmasq splits at 255 bytes.
    ("split.test", "bob@split.test", How::Gmail, &[]),
    ("twospf.test", "bob@twospf.test", How::Gmail, &[(Blocker, "spf-multiple")]),
    ("many.test", "bob@many.test", How::Gmail, &[(Blocker, "spf-too-many-lookups")]),
    ("loop.test", "bob@loop.test", How::Gmail, &[(Blocker, "spf-loop")]),
    ("dangling.test", "bob@dangling.test", How::Gmail, &[(Blocker, "spf-include-missing")]),
    ("typo.test", "bob@typo.test", How::Gmail, &[(Blocker, "spf-syntax")]),
    ("open.test", "bob@open.test", How::Gmail, &[(Warning, "spf-allows-all")]),
    ("nogoogle.test", "bob@nogoogle.test", How::Gmail, &[(Warning, "spf-no-google")]),
    ("nodmarc.test", "bob@nodmarc.test", How::Gmail, &[(Warning, "dmarc-missing")]),
    ("nodmarc.test", "bob@nodmarc.test", How::Bulk, &[(Warning, "dmarc-missing")]),
    ("monitor.test", "bob@monitor.test", How::Gmail, &[(Advice, "dmarc-none")]),
    ("twodmarc.test", "bob@twodmarc.test", How::Gmail, &[(Warning, "dmarc-multiple")]),
    ("baddmarc.test", "bob@baddmarc.test", How::Gmail, &[(Warning, "dmarc-syntax")]),
    ("weak.test", "bob@weak.test", How::Gmail, &[(Warning, "dkim-weak-key")]),
    ("short.test", "bob@short.test", How::Gmail, &[(Advice, "dkim-short-key")]),
    ("revoked.test", "bob@revoked.test", How::Gmail, &[(Warning, "dkim-revoked")]),
    ("nokey.test", "bob@nokey.test", How::Gmail, &[(Warning, "dkim-missing")]),
    // SPF without Google and a weak key: nothing can pass.
    ("nogoogle-weak.test", "bob@nogoogle-weak.test", How::Gmail, &[(Blocker, "no-spf-no-dkim"), (Warning, "dkim-weak-key")]),
    ("bare.test", "bob@bare.test", How::Gmail, &[(Blocker, "no-spf-no-dkim"), (Warning, "dmarc-missing")]),
    ("bare.test", "bob@bare.test", How::Elsewhere, &[(Warning, "spf-missing"), (Warning, "dmarc-missing")]),
    ("ghost.test", "bob@ghost.test", How::Gmail, &[(Warning, "domain-missing")]),
    // A custom domain through a personal account never aligns; p=reject makes it a blocker.
    ("alias.test", "alice@gmail.com", How::Gmail, &[(Blocker, "alignment-personal-gmail")]),
    ("monitor.test", "alice@googlemail.com", How::Gmail, &[(Warning, "alignment-personal-gmail"), (Advice, "dmarc-none")]),
    // Google's own domain: nothing to look up (dnsmasq would refuse gmail.com, so a lookup
    // would show as unchecked).
    ("gmail.com", "alice@gmail.com", How::Gmail, &[]),
];

#[tokio::test]
async fn findings_per_domain() {
    let dns = Dnsmasq::start(&zone());
    for &(domain, account, how, expected) in CASES {
        let report = check(&dns, domain, account, how).await;
        let mut found: Vec<(Severity, &str)> = report
            .findings
            .iter()
            .map(|f| (f.severity, f.code.as_str()))
            .collect();
        found.sort();
        let mut expected = expected.to_vec();
        expected.sort();
        assert_eq!(
            found, expected,
            "{domain} as {account} ({how:?}): {report:#?}"
        );
        assert!(
            report.unchecked.is_empty(),
            "{domain}: every lookup should be answered: {report:#?}"
        );
        assert_eq!(report.skipped(), None, "{domain}");
        for f in &report.findings {
            assert_eq!(f.check, CheckKind::Dns, "{domain}: {f:?}");
            assert!(
                f.location.ends_with(" TXT"),
                "{domain}: the location names the record: {f:?}"
            );
            assert!(
                !f.found.is_empty() && !f.why.is_empty() && !f.fix.is_empty(),
                "{domain}: {f:?}"
            );
        }
        let severities: Vec<Severity> = report.findings.iter().map(|f| f.severity).collect();
        assert!(
            severities.is_sorted(),
            "{domain}: blockers first: {severities:?}"
        );
    }
}

/// What the user reads for the findings whose text carries the facts.
#[tokio::test]
async fn findings_say_what_and_where() {
    let dns = Dnsmasq::start(&zone());
    let text = async |domain: &str, account: &str, how: How, code: &str| {
        let report = check(&dns, domain, account, how).await;
        match report.findings.iter().find(|f| f.code == code) {
            Some(f) => f.clone(),
            None => panic!("{domain}: no {code}: {report:#?}"),
        }
    };

    let f = text(
        "many.test",
        "bob@many.test",
        How::Gmail,
        "spf-too-many-lookups",
    )
    .await;
    assert!(
        f.found
            .starts_with("permerror: 13 DNS lookups, the limit is 10"),
        "{f:?}"
    );
    assert!(
        f.found
            .contains("many.test 3, _spf.google.com 3, l1.many.test 3, l2.many.test 4"),
        "the chain, in evaluation order: {f:?}"
    );
    assert_eq!(f.location, "many.test TXT");

    let f = text("twospf.test", "bob@twospf.test", How::Gmail, "spf-multiple").await;
    assert!(
        f.found
            .starts_with("permerror: more than one v=spf1 record"),
        "{f:?}"
    );

    let f = text("loop.test", "bob@loop.test", How::Gmail, "spf-loop").await;
    assert!(
        f.found.contains("loop.test > loop2.test > loop.test"),
        "{f:?}"
    );

    let f = text("typo.test", "bob@typo.test", How::Gmail, "spf-syntax").await;
    assert!(
        f.found.contains("`ip4:192.0.2.300`") && f.found.contains("`inclde:x.test`"),
        "{f:?}"
    );

    let f = text("open.test", "bob@open.test", How::Gmail, "spf-allows-all").await;
    assert!(f.found.contains("allows anyone"), "{f:?}");

    let f = text(
        "nodmarc.test",
        "bob@nodmarc.test",
        How::Gmail,
        "dmarc-missing",
    )
    .await;
    assert_eq!(f.location, "_dmarc.nodmarc.test TXT");
    assert!(f.fix.contains("v=DMARC1; p=none"), "a sample record: {f:?}");
    let bulk = text(
        "nodmarc.test",
        "bob@nodmarc.test",
        How::Bulk,
        "dmarc-missing",
    )
    .await;
    assert!(
        bulk.found.contains("5,000") && !f.found.contains("5,000"),
        "bulk wording: {bulk:?}"
    );

    let f = text("weak.test", "bob@weak.test", How::Gmail, "dkim-weak-key").await;
    assert!(
        f.found.contains("512 bits") && f.found.contains("Gmail ignores DKIM keys under 1024 bits"),
        "{f:?}"
    );
    assert_eq!(f.location, "google._domainkey.weak.test TXT");

    let f = text("short.test", "bob@short.test", How::Gmail, "dkim-short-key").await;
    assert!(f.found.contains("1024 bits"), "{f:?}");

    let f = text("nokey.test", "bob@nokey.test", How::Gmail, "dkim-missing").await;
    assert!(
        f.fix.contains("Admin console") && f.fix.contains("Authenticate email"),
        "{f:?}"
    );

    let f = text(
        "alias.test",
        "alice@gmail.com",
        How::Gmail,
        "alignment-personal-gmail",
    )
    .await;
    assert!(
        f.found.contains("d=gmail.com") && f.found.contains("p=reject"),
        "{f:?}"
    );
    assert!(f.fix.contains("Workspace"), "{f:?}");

    let f = text("ghost.test", "bob@ghost.test", How::Gmail, "domain-missing").await;
    assert!(f.found.contains("does not exist"), "{f:?}");
}

/// A nameserver that answers REFUSED (dnsmasq has no upstream for names outside .test): the
/// report says it could not check, and which server, rather than "no SPF record".
#[tokio::test]
async fn refused_lookups_are_unchecked_not_missing() {
    let dns = Dnsmasq::start(&zone());
    let report = check(&dns, "example.org", "bob@example.org", How::Gmail).await;
    assert!(report.findings.is_empty(), "{report:#?}");
    assert_eq!(
        report.unchecked.len(),
        3,
        "SPF, DMARC and DKIM: {report:#?}"
    );
    let skipped = report
        .skipped()
        .expect("a skipped entry for the lint report");
    assert_eq!(skipped.check, CheckKind::Dns);
    assert!(
        skipped
            .reason
            .contains(&format!("the nameserver {}", dns.addr)),
        "{skipped:?}"
    );
    assert!(skipped.reason.contains("REFUSED"), "{skipped:?}");
}

/// Nothing listens on the port: "could not check" within the timeout, naming the server.
#[tokio::test]
async fn dead_nameserver_is_reported_in_bounded_time() {
    let addr = free_port();
    let config = DnsConfig {
        nameservers: vec![addr],
        timeout: Duration::from_millis(400),
    };
    let ctx = DnsContext {
        account: "bob@good.test".into(),
        via_gmail: true,
        bulk: false,
    };
    let started = Instant::now();
    let report = check_domain("good.test", &ctx, &config).await;
    let elapsed = started.elapsed();
    assert!(report.findings.is_empty(), "{report:#?}");
    assert!(!report.unchecked.is_empty(), "{report:#?}");
    for line in &report.unchecked {
        assert!(
            line.contains(&addr.to_string()),
            "names the nameserver: {line}"
        );
    }
    assert!(report.skipped().is_some());
    // The three lookups run at once: one timeout, plus slack for a loaded machine.
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
}

async fn check(dns: &Dnsmasq, domain: &str, account: &str, how: How) -> DnsReport {
    let config = DnsConfig {
        nameservers: vec![dns.addr],
        timeout: Duration::from_secs(3),
    };
    let ctx = DnsContext {
        account: account.into(),
        via_gmail: !matches!(how, How::Elsewhere),
        bulk: matches!(how, How::Bulk),
    };
    check_domain(domain, &ctx, &config).await
}

// ---------------------------------------------------------------------------------------------
// The zone dnsmasq serves

/// DKIM public keys (DER SubjectPublicKeyInfo, base64), made once with
/// `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:N | openssl pkey -pubout -outform DER | base64 -w0`.
const KEY_2048: &str = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAsbiNVfklc+No7pryHlZuO2ahxhdnaMBdrODtIT90GO4rqndGYY+vBRELpSS8an2OZwN7MLcoa6QcYPwZ9X1Rj6If/r0L32ZS7lg8zPNu6zZ0JizCa61kYKtT6nvMfyGVkNCCmq9teY1VQzyXvaqsUPD5W7Yd2ZfhJnuZhYhIKbqN0lDI6amt80s9Zmx3b+OzpNgQuo+HbWDxTDagU/jec0FkqyPKP6Wmza6ALtmLBDeAkEC7yYUJr8rPsYDUuhKGRurHnv+ZUfmFnyRlnSjdeCH6P+Hkp0Q3rhGoihtrfMN6s272XC+ZEBrCqB7WlKHPU1tNFzlb4Omlz+hjIPgsswIDAQAB";
const KEY_1024: &str = "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDmuYyZ+OSsPllW1AfwBpy63ZM8PygjqfjLxchUDQhFQ49eK2vf1uxxYNGfbcd6l7TJFPdq3V8YuLD+xtyFG2PcLCba9p9EMVxWKkptPmVNAhJaqVL0odM6MgCD5EGVs3yfkKmNd++DKIaPV/r1HEaQTx2yaNNUeJq4at2n80y5+wIDAQAB";
const KEY_512: &str = "MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAMgTPwULayJ8fpZ1m8MmnD4SWrLbxRtvqngDqOp3XydYT/CVQuSmDpdSKdD1iJfzWT0sNRPvwBXgb/rUmSQRBlkCAwEAAQ==";

const SPF: &str = "v=spf1 include:_spf.google.com ~all";
const DMARC: &str = "v=DMARC1; p=reject; rua=mailto:dmarc@good.test";

/// The zone: (name, TXT value). dnsmasq splits a value into strings at each comma, and a
/// string longer than 255 bytes into 255-byte pieces, so no value here has a comma unless it
/// means to be split.
fn records() -> Vec<(String, String)> {
    let dkim = |key: &str| format!("v=DKIM1; k=rsa; p={key}");
    let mut zone: Vec<(String, String)> = [
        // Google's SPF chain as published, so include:_spf.google.com costs 4 lookups here as
        // it does on the internet.
        ("_spf.google.com", "v=spf1 include:_netblocks.google.com include:_netblocks2.google.com include:_netblocks3.google.com ~all".into()),
        ("_netblocks.google.com", "v=spf1 ip4:35.190.247.0/24 ip4:64.233.160.0/19 ~all".into()),
        ("_netblocks2.google.com", "v=spf1 ip6:2001:4860:4000::/36 ~all".into()),
        ("_netblocks3.google.com", "v=spf1 ip4:172.217.32.0/20 ~all".into()),
        ("sub.good.test", SPF.into()),
        ("google._domainkey.sub.good.test", dkim(KEY_2048)),
        ("split.test", "v=spf1 include:_spf.goo,gle.com ~all".into()),
        ("_dmarc.split.test", "v=DMARC1; p=quarantine".into()),
        ("twospf.test", "v=spf1 mx ~all".into()),
        ("twospf.test", SPF.into()),
        // 3 + 3 (Google's) + 3 + 4 = 13 lookups.
        ("many.test", "v=spf1 include:_spf.google.com include:l1.many.test mx ~all".into()),
        ("l1.many.test", "v=spf1 include:l2.many.test a mx ~all".into()),
        ("l2.many.test", "v=spf1 a mx exists:%{i}.spf.many.test redirect=l3.many.test".into()),
        ("l3.many.test", "v=spf1 ip4:192.0.2.0/24 -all".into()),
        ("loop.test", "v=spf1 include:_spf.google.com include:loop2.test ~all".into()),
        ("loop2.test", "v=spf1 include:loop.test ~all".into()),
        ("dangling.test", "v=spf1 include:_spf.google.com include:gone.test ~all".into()),
        ("typo.test", "v=spf1 include:_spf.google.com ip4:192.0.2.300 inclde:x.test ~all".into()),
        ("open.test", "v=spf1 include:_spf.google.com +all".into()),
        ("nogoogle.test", "v=spf1 mx -all".into()),
        ("nogoogle-weak.test", "v=spf1 mx -all".into()),
        ("google._domainkey.nogoogle-weak.test", dkim(KEY_512)),
        ("_dmarc.monitor.test", "v=DMARC1; p=none; rua=mailto:d@monitor.test".into()),
        ("_dmarc.twodmarc.test", DMARC.into()),
        ("_dmarc.twodmarc.test", "v=DMARC1; p=none".into()),
        ("_dmarc.baddmarc.test", "v=DMARC1; p=block; pct=150".into()),
        ("google._domainkey.weak.test", dkim(KEY_512)),
        ("google._domainkey.short.test", dkim(KEY_1024)),
        ("google._domainkey.revoked.test", "v=DKIM1; k=rsa; p=".into()),
        ("alias.test", SPF.into()),
        ("_dmarc.alias.test", DMARC.into()),
    ]
    .into_iter()
    .map(|(name, value): (&str, String)| (name.to_string(), value))
    .collect();
    // Every other record of these domains is in order, so each case is about one thing.
    let defaults = [
        ("", SPF.to_string()),
        ("google._domainkey.", dkim(KEY_2048)),
        ("_dmarc.", DMARC.to_string()),
    ];
    let domains = [
        "good.test",
        "split.test",
        "twospf.test",
        "many.test",
        "loop.test",
        "dangling.test",
        "typo.test",
        "open.test",
        "nogoogle.test",
        "nogoogle-weak.test",
        "nodmarc.test",
        "monitor.test",
        "twodmarc.test",
        "baddmarc.test",
        "weak.test",
        "short.test",
        "revoked.test",
        "nokey.test",
    ];
    for domain in domains {
        for (prefix, value) in &defaults {
            let name = format!("{prefix}{domain}");
            let left_out = matches!(
                name.as_str(),
                "google._domainkey.nokey.test" | "_dmarc.nodmarc.test"
            );
            if !left_out && !zone.iter().any(|(n, _)| *n == name) {
                zone.push((name, value.clone()));
            }
        }
    }
    zone
}

/// The zone the cases read, with `bare.test`: a name that exists without TXT records.
fn zone() -> Zone {
    Zone {
        txt: records(),
        hosts: vec![("bare.test".into(), Ipv4Addr::new(127, 0, 0, 2))],
    }
}
