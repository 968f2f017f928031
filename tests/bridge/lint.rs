//! Checks before sending through the bridge: over the WebSocket with a real spamd and a real
//! dnsmasq serving the From domains' records, a campaign's first row under the bulk-sender
//! rules, and `mailbridge lint` on .eml files with its exit codes and JSON.

#[path = "../../crates/lint/tests/support/dnsmasq.rs"]
mod dnsmasq;
#[path = "../../crates/lint/tests/support/spamd.rs"]
mod spamd_server;

use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use Severity::{Blocker, Warning};
use dnsmasq::{Dnsmasq, Zone};
use mailbridge::server::ServeConfig;
use profile::{Address, Mailbox, Preset, Profile, ProfileId};
use protocol::{CampaignSpec, CheckKind, Draft, LintReport, Operation, Outcome, Severity};
use spamd_server::Spamd;

use super::harness::{Client, Running, start, start_checking};
use crate::support::mailbridge;

/// The Generic Test for Unsolicited Bulk Email: SpamAssassin scores it 1000.
const GTUBE: &str = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";

/// The start of a Windows program: enough for the checks to know one by name or content.
const PROGRAM: &[u8] = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xffThis program cannot be run in DOS mode.\r\n";

const SPF_GOOGLE: &str = "v=spf1 include:_spf.google.com ~all";
const DMARC_REJECT: &str = "v=DMARC1; p=reject";

/// The From domains the cases send from; the sandbox profile's is mailbridge.test.
fn zone() -> Zone {
    let txt = [
        // The sandbox's domain, in order for a server that is not Google's.
        ("mailbridge.test", "v=spf1 mx -all"),
        ("_dmarc.mailbridge.test", DMARC_REJECT),
        // Two SPF records: receivers treat that as no SPF at all (permerror).
        ("twospf.test", "v=spf1 mx -all"),
        ("twospf.test", "v=spf1 a -all"),
        ("_dmarc.twospf.test", DMARC_REJECT),
        // In order for Gmail, but a personal account signs as gmail.com, which never aligns.
        ("alias.test", SPF_GOOGLE),
        ("_dmarc.alias.test", DMARC_REJECT),
        ("_spf.google.com", "v=spf1 ip4:64.233.160.0/19 ~all"),
    ];
    Zone {
        txt: txt
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect(),
        hosts: Vec::new(),
    }
}

fn draft(subject: &str, text: &str) -> Draft {
    Draft {
        to: vec!["bob@example.com".to_owned()],
        subject: subject.to_owned(),
        text: Some(text.to_owned()),
        ..Draft::default()
    }
}

/// A copy of the sandbox profile that sends from `from`.
async fn sandbox_from(running: &Running, client: &mut Client, id: &str, from: &str) -> ProfileId {
    let mut profile = running.sandbox_profile(client).await;
    profile.id = ProfileId(id.to_owned());
    profile.name = id.to_owned();
    profile.from = mailbox(from);
    save(client, profile).await
}

async fn save(client: &mut Client, profile: Profile) -> ProfileId {
    let Outcome::Saved { profile } = client.ok(Operation::SaveProfile { profile }).await else {
        panic!("the profile was not saved");
    };
    profile.profile.id
}

fn mailbox(address: &str) -> Mailbox {
    Mailbox::from(Address::parse(address).expect("a valid address"))
}

async fn lint(client: &mut Client, profile: &ProfileId, draft: Draft) -> LintReport {
    let Outcome::Linted(report) = client
        .ok(Operation::Lint {
            profile: profile.clone(),
            draft,
            check_links: false,
        })
        .await
    else {
        panic!("the lint did not answer with a report");
    };
    *report
}

fn codes(report: &LintReport, severity: Severity) -> Vec<&str> {
    let mut codes: Vec<&str> = report
        .findings
        .iter()
        .filter(|f| f.severity == severity)
        .map(|f| f.code.as_str())
        .collect();
    codes.sort();
    codes
}

fn skipped(report: &LintReport) -> Vec<CheckKind> {
    report.skipped.iter().map(|s| s.check).collect()
}

/// One draft through `Lint`: who sends it, what it is, and everything the report must find.
struct Case {
    name: &'static str,
    /// A profile id made by the test.
    profile: &'static str,
    subject: &'static str,
    text: &'static str,
    /// An attachment uploaded first: (file name, content type, bytes).
    attachment: Option<(&'static str, &'static str, &'static [u8])>,
    /// Every finding, (check, severity, code), in the report's order: blockers first. Send
    /// asks again exactly when there is a blocker.
    findings: &'static [(CheckKind, Severity, &'static str)],
    /// The lowest spam score spamd may give.
    min_score: f64,
}

const NOTE: &str = "Dear Bob,\n\nthe notes are finished; I will bring them on Thursday.\n\nAda\n";

#[rustfmt::skip]
const CASES: &[Case] = &[
    Case {
        name: "a plain note from the sandbox",
        profile: "sandbox", subject: "Notes for Thursday", text: NOTE, attachment: None,
        findings: &[],
        min_score: f64::NEG_INFINITY,
    },
    Case {
        name: "the GTUBE",
        profile: "sandbox", subject: "Test spam mail (GTUBE)", text: GTUBE, attachment: None,
        findings: &[(CheckKind::Spam, Warning, "spam-score"), (CheckKind::Spam, Warning, "spam-rule")],
        min_score: 1000.0,
    },
    Case {
        name: "a program attached",
        profile: "sandbox", subject: "The installer", text: NOTE,
        attachment: Some(("setup.exe", "application/octet-stream", PROGRAM)),
        findings: &[(CheckKind::Attachments, Blocker, "blocked-attachment")],
        min_score: f64::NEG_INFINITY,
    },
    Case {
        name: "a From domain with two SPF records",
        profile: "twospf", subject: "Notes for Thursday", text: NOTE, attachment: None,
        findings: &[(CheckKind::Dns, Blocker, "spf-multiple")],
        min_score: f64::NEG_INFINITY,
    },
    Case {
        name: "a custom domain through a personal Gmail account",
        profile: "alias", subject: "Notes for Thursday", text: NOTE, attachment: None,
        findings: &[
            (CheckKind::Dns, Blocker, "alignment-personal-gmail"),
            (CheckKind::Sender, Warning, "from-not-account"),
        ],
        min_score: f64::NEG_INFINITY,
    },
];

#[tokio::test]
async fn drafts_are_scored_by_spamd_and_checked_against_the_from_domains_records() {
    let dns = Dnsmasq::start(&zone());
    let (spamd, startup) = Spamd::start().await;
    eprintln!("spamd answered PING {startup:?} after it was started");
    let running = start_checking("lint-ws", Some(spamd.addr.clone()), vec![dns.addr]).await;
    let mut client = Client::connect(&running).await;
    sandbox_from(&running, &mut client, "twospf", "news@twospf.test").await;
    let mut gmail = Profile::from_preset(
        Preset::Gmail587,
        ProfileId("alias".into()),
        "alias",
        "news@gmail.com",
    );
    gmail.from = mailbox("news@alias.test");
    save(&mut client, gmail).await;

    for case in CASES {
        let mut draft = draft(case.subject, case.text);
        if let Some((name, content_type, bytes)) = case.attachment {
            draft
                .attachments
                .push(client.upload(name, content_type, bytes).await);
        }
        let started = Instant::now();
        let report = lint(&mut client, &ProfileId(case.profile.into()), draft).await;
        eprintln!("{}: checked in {:?}", case.name, started.elapsed());
        let context = format!("{}: {report:#?}\nspamd's log:\n{}", case.name, spamd.log());

        let found: Vec<(CheckKind, Severity, &str)> = report
            .findings
            .iter()
            .map(|f| (f.check, f.severity, f.code.as_str()))
            .collect();
        assert_eq!(found, case.findings, "{context}");
        let blockers = case.findings.iter().filter(|f| f.1 == Blocker).count();
        assert_eq!(report.blockers(), blockers, "{context}");
        for finding in &report.findings {
            assert!(
                !finding.found.is_empty() && !finding.why.is_empty() && !finding.fix.is_empty(),
                "every finding says what, why and how to fix it: {finding:#?}"
            );
        }
        // Both network checks ran: only the links, off unless asked for, are left out, and
        // the server's SIZE, unknown until the profile's connection is checked.
        assert_eq!(
            skipped(&report),
            [CheckKind::Links, CheckKind::Size],
            "{context}"
        );
        let spam = report.spam.as_ref().expect("spamd's verdict");
        assert_eq!(spam.server, spamd.addr, "{context}");
        assert!(spam.score >= case.min_score, "{context}");
        assert_eq!(
            spam.is_spam,
            report.findings.iter().any(|f| f.code == "spam-score"),
            "a score finding exactly when spamd calls it spam: {context}"
        );
    }
}

#[tokio::test]
async fn spamd_and_dns_that_cannot_be_asked_are_reported_as_not_checked() {
    // No --spamd: the report says how to start one.
    let running = start("lint-no-spamd", |_| {}, ServeConfig::default()).await;
    let mut client = Client::connect(&running).await;
    let sandbox = running.sandbox_profile(&mut client).await.id;
    let report = lint(&mut client, &sandbox, draft("Hello", "Hi Bob\n")).await;
    assert_eq!(report.spam, None, "{report:#?}");
    assert_eq!(
        skipped(&report),
        [
            CheckKind::Spam,
            CheckKind::Dns,
            CheckKind::Links,
            CheckKind::Size
        ],
        "{report:#?}"
    );
    let spam = &report.skipped[0].reason;
    assert!(
        spam.contains("spamd -L --listen=127.0.0.1:783") && spam.contains("--spamd"),
        "{spam}"
    );
    // Without --dns-server, a name reserved for tests is not looked up in the public DNS.
    let dns = &report.skipped[1].reason;
    assert!(dns.contains("mailbridge.test is reserved"), "{dns}");

    // A spamd and a nameserver configured but not there: named, and the rest still checked.
    let spamd = spamd_server::unused_addr();
    let nameserver = dnsmasq::free_port();
    let running = start_checking("lint-dead", Some(spamd.clone()), vec![nameserver]).await;
    let mut client = Client::connect(&running).await;
    let sandbox = running.sandbox_profile(&mut client).await.id;
    let mut draft = draft("Hello", "Hi Bob\n");
    draft.attachments.push(
        client
            .upload("setup.exe", "application/octet-stream", PROGRAM)
            .await,
    );
    let started = Instant::now();
    let report = lint(&mut client, &sandbox, draft).await;
    assert_eq!(
        codes(&report, Blocker),
        ["blocked-attachment"],
        "{report:#?}"
    );
    assert_eq!(
        skipped(&report),
        [
            CheckKind::Spam,
            CheckKind::Dns,
            CheckKind::Links,
            CheckKind::Size
        ],
        "{report:#?}"
    );
    let spam = &report.skipped[0].reason;
    assert!(
        spam.contains(&format!("No spamd answers at {spamd}")),
        "{spam}"
    );
    let dns = &report.skipped[1].reason;
    assert!(
        dns.contains(&format!(
            "the nameserver {nameserver} did not answer within 5 s"
        )),
        "{dns}"
    );
    // The lookups run at once, beside spamd: one DNS timeout, not three.
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(8), "took {elapsed:?}");
}

/// A one-row campaign with or without one-click unsubscribe.
fn campaign(unsubscribe_url: Option<&str>) -> CampaignSpec {
    let footer = match unsubscribe_url {
        Some(_) => "Unsubscribe: {{ unsubscribe_url }}\n",
        None => "",
    };
    CampaignSpec {
        name: "Spring news".to_owned(),
        csv: "email,name\nperson1@example.com,Person 1\n".to_owned(),
        address_column: "email".to_owned(),
        subject: "Hello {{ name }}".to_owned(),
        text: Some(format!("Dear {{{{ name }}}},\nnews.\n{footer}")),
        unsubscribe_url: unsubscribe_url.map(str::to_owned),
        ..CampaignSpec::default()
    }
}

#[tokio::test]
async fn a_campaigns_first_row_is_checked_under_the_bulk_sender_rules() {
    let running = start("lint-campaign", |_| {}, ServeConfig::default()).await;
    let mut client = Client::connect(&running).await;
    let profile = running.sandbox_profile(&mut client).await.id;
    let cases: &[(Option<&str>, &[&str])] = &[
        (None, &["list-unsubscribe-missing"]),
        (Some("https://news.example.com/u/{token}"), &[]),
    ];
    for (url, blockers) in cases {
        let spec = campaign(*url);
        let Outcome::CampaignChecked(checked) = client
            .ok(Operation::CheckCampaign {
                profile: profile.clone(),
                spec,
            })
            .await
        else {
            panic!("not checked");
        };
        let report = checked
            .first_row_lint
            .unwrap_or_else(|| panic!("{url:?}: no checks on the first row"));
        assert_eq!(codes(&report, Blocker), *blockers, "{url:?}: {report:#?}");
        let unsubscribe: Vec<&str> = report
            .findings
            .iter()
            .map(|f| f.code.as_str())
            .filter(|code| code.contains("unsubscribe"))
            .collect();
        match url {
            None => assert_eq!(
                unsubscribe,
                ["list-unsubscribe-missing", "unsubscribe-link-missing"],
                "{report:#?}"
            ),
            Some(_) => assert_eq!(unsubscribe, Vec::<&str>::new(), "{report:#?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// mailbridge lint

fn eml(subject: &str, body: &str) -> String {
    format!(
        "From: Sandbox <sandbox@mailbridge.test>\r\n\
         To: Bob <bob@example.com>\r\n\
         Subject: {subject}\r\n\
         Date: Mon, 1 Dec 2025 10:00:00 +0000\r\n\
         Message-ID: <{}@mailbridge.test>\r\n\
         MIME-Version: 1.0\r\n\
         {body}",
        subject.len()
    )
}

fn plain(text: &str) -> String {
    format!("Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n")
}

fn with_program() -> String {
    use base64::Engine as _;
    format!(
        "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe installer is attached.\r\n\
         --b1\r\nContent-Type: application/octet-stream; name=\"setup.exe\"\r\n\
         Content-Disposition: attachment; filename=\"setup.exe\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n\
         --b1--\r\n",
        base64::engine::general_purpose::STANDARD.encode(PROGRAM)
    )
}

fn run(dir: &Path, args: &[&str]) -> Output {
    mailbridge(dir)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("mailbridge runs")
}

fn text(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test]
async fn mailbridge_lint_prints_the_score_and_exits_1_only_for_a_blocker() {
    let (spamd, _) = Spamd::start().await;
    // A bridge run once leaves the sandbox profile behind, as `mailbridge serve` would.
    let home = start("lint-cli", |_| {}, ServeConfig::default())
        .await
        .stop()
        .await;
    let dir = home.path();
    let cases: &[(&str, String, i32, &[&str])] = &[
        (
            "gtube.eml",
            eml("Test spam mail (GTUBE)", &plain(GTUBE)),
            0,
            &[],
        ),
        (
            "clean.eml",
            eml(
                "Notes for Thursday",
                &plain("Dear Bob,\r\n\r\nthe notes are finished.\r\n\r\nAda"),
            ),
            0,
            &[],
        ),
        (
            "program.eml",
            eml("The installer", &with_program()),
            1,
            &["blocked-attachment"],
        ),
    ];
    for (file, message, code, blockers) in cases {
        let path = dir.join(file);
        std::fs::write(&path, message).expect("write the .eml");
        let path = path.to_str().expect("a UTF-8 path");
        let args = ["--spamd", &spamd.addr, "lint", "--profile", "sandbox", path];

        let json = run(dir, &[&args[..], &["--json"]].concat());
        assert_eq!(json.status.code(), Some(*code), "{file}: {}", text(&json));
        let report: LintReport = serde_json::from_slice(&json.stdout)
            .unwrap_or_else(|e| panic!("{file}: not a LintReport ({e}): {}", text(&json)));
        assert_eq!(codes(&report, Blocker), *blockers, "{file}: {report:#?}");
        let spam = report.spam.as_ref().expect("spamd's verdict");
        assert_eq!(spam.server, spamd.addr, "{file}");

        let shown = run(dir, &args);
        assert_eq!(shown.status.code(), Some(*code), "{file}: {}", text(&shown));
        let stdout = String::from_utf8_lossy(&shown.stdout);
        let context = format!("{file}: {}", text(&shown));
        assert!(
            stdout.contains(&format!("Spam score: {:.1}", spam.score)),
            "{context}"
        );
        assert!(
            stdout.contains(&format!("{} blocker", blockers.len())),
            "{context}"
        );
        for finding in &report.findings {
            let line = format!(
                "{:<8} {} [{}]",
                finding.severity.label().to_uppercase(),
                finding.found,
                finding.location
            );
            assert!(stdout.contains(&line), "{line}\n{context}");
            assert!(stdout.contains(&finding.fix), "{context}");
        }
        if *file == "gtube.eml" {
            assert!(spam.score >= 1000.0, "{report:#?}");
            assert!(spam.is_spam, "{report:#?}");
            assert!(stdout.contains("spamd says spam"), "{context}");
        }
    }

    // A file that cannot be read is the command line's mistake (2), never a blocker (1).
    let missing: &[&[&str]] = &[
        &["missing.eml"],
        &[
            "--to",
            "bob@example.com",
            "--subject",
            "Hi",
            "--body",
            "Hi",
            "--attach",
            "missing.pdf",
        ],
    ];
    for args in missing {
        let output = run(dir, &[&["lint", "--profile", "sandbox"], *args].concat());
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", text(&output));
        let named = args.last().expect("a file name");
        assert!(
            String::from_utf8_lossy(&output.stderr).contains(&format!("cannot read {named}")),
            "{}",
            text(&output)
        );
    }
}

#[tokio::test]
async fn the_servers_size_limit_counts_once_its_connection_was_checked() {
    let running = start("lint-size", |_| {}, ServeConfig::default()).await;
    let mut client = Client::connect(&running).await;
    let sandbox = running.sandbox_profile(&mut client).await.id;
    let before = lint(&mut client, &sandbox, draft("Hello", "Hi Bob\n")).await;
    let size = before
        .skipped
        .iter()
        .find(|s| s.check == CheckKind::Size)
        .unwrap_or_else(|| panic!("the unknown SIZE is said: {before:#?}"));
    assert!(size.reason.contains("Check connection"), "{}", size.reason);
    // A check of the connection reads the sandbox's SIZE (Gmail's 35,882,577), and the next
    // lint compares against it instead of saying it could not.
    let Outcome::Checked(report) = client
        .ok(Operation::CheckConnection {
            profile: sandbox.clone(),
        })
        .await
    else {
        panic!("not checked");
    };
    assert!(report.size_limit.is_some(), "{report:#?}");
    let after = lint(&mut client, &sandbox, draft("Hello", "Hi Bob\n")).await;
    assert!(!skipped(&after).contains(&CheckKind::Size), "{after:#?}");
    running.stop().await;
}
