//! Connection failures explained, against TLS servers this project did not write: `openssl
//! s_server` for the handshake failures, and Python's `ssl` module under a small SMTP responder
//! (`tls_server.py`) for STARTTLS and for a Google host's chain. Certificates are made here with
//! rcgen. Each case checks the diagnosis, that the chain the server presented is in the report,
//! and that nothing was sent after the handshake. DNS is steered with `MAILBRIDGE_RESOLVE`,
//! never the machine's resolver files.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use diagnosis::Retry;
use mailbridge::smtp::{Credentials, RESOLVE_VAR, Target, Timeouts, check};
use profile::{AuthMethod, Preset, Profile, ProfileId, Security};
use protocol::{CheckReport, Direction, StepStatus, TranscriptLine, Verdict};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SanType, date_time_ymd,
};

use crate::support::{PATIENCE, TempDir, mailbridge};

/// A certificate and its key, as PEM files in a test's directory.
struct Pem {
    cert: PathBuf,
    key: PathBuf,
    cert_pem: String,
}

/// A certificate authority made for the test, named like an antivirus's interception root.
struct Ca {
    params: CertificateParams,
    key: KeyPair,
    pem: String,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let key = KeyPair::generate().expect("CA key");
        let pem = params.self_signed(&key).expect("CA certificate").pem();
        Ca { params, key, pem }
    }
}

/// How to make the server's certificate.
struct Leaf<'a> {
    names: &'a [&'a str],
    /// `None`: self-signed.
    issuer: Option<&'a Ca>,
    valid: (i32, i32),
}

impl Leaf<'_> {
    fn write(&self, dir: &Path, file: &str) -> Pem {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.subject_alt_names = self
            .names
            .iter()
            .map(|name| match name.parse::<IpAddr>() {
                Ok(ip) => SanType::IpAddress(ip),
                Err(_) => SanType::DnsName((*name).try_into().expect("a DNS name")),
            })
            .collect();
        params
            .distinguished_name
            .push(DnType::CommonName, self.names[0]);
        params.not_before = date_time_ymd(self.valid.0, 1, 1);
        params.not_after = date_time_ymd(self.valid.1, 1, 1);
        let key = KeyPair::generate().expect("key");
        let cert = match self.issuer {
            Some(ca) => params
                .signed_by(&key, &Issuer::from_params(&ca.params, &ca.key))
                .expect("signed"),
            None => params.self_signed(&key).expect("self-signed"),
        };
        let pem = Pem {
            cert: dir.join(format!("{file}.pem")),
            key: dir.join(format!("{file}-key.pem")),
            cert_pem: cert.pem(),
        };
        std::fs::write(&pem.cert, cert.pem()).expect("write cert");
        std::fs::write(&pem.key, key.serialize_pem()).expect("write key");
        pem
    }
}

/// Now-valid years for certificates that should pass the date check.
const VALID: (i32, i32) = (2020, 2090);

/// What `openssl x509 -fingerprint -sha256` says, to compare the recorded fingerprint with.
fn openssl_fingerprint(cert: &Path) -> String {
    let output = Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
        .arg(cert)
        .output()
        .expect("openssl runs (cargo xtask test installs it)");
    let text = String::from_utf8_lossy(&output.stdout);
    text.trim()
        .split_once('=')
        .map(|(_, fingerprint)| fingerprint.to_owned())
        .unwrap_or_else(|| panic!("no fingerprint from openssl: {text}"))
}

/// A server process whose stdout is collected line by line; killed when dropped.
struct Server {
    child: Child,
    port: u16,
    lines: mpsc::Receiver<String>,
}

impl Server {
    /// `openssl s_server` on a free port of 127.0.0.1; it prints what it receives.
    fn openssl(pem: &Pem, extra: &[&str]) -> Server {
        let mut child = Command::new("openssl")
            .args(["s_server", "-accept", "127.0.0.1:0", "-cert"])
            .arg(&pem.cert)
            .arg("-key")
            .arg(&pem.key)
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl runs (cargo xtask test installs it)");
        let lines = collect(child.stdout.take().expect("stdout"));
        let port = wait_for(&lines, "openssl s_server's ACCEPT line", |line| {
            line.strip_prefix("ACCEPT 127.0.0.1:")
                .and_then(|port| port.trim().parse().ok())
        });
        Server { child, port, lines }
    }

    /// `tls_server.py MODE` (see its docstring).
    fn python(mode: &str, pem: &Pem) -> Server {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/bridge/tls_server.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(mode)
            .arg(&pem.cert)
            .arg(&pem.key)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 runs (cargo xtask test installs it)");
        let lines = collect(child.stdout.take().expect("stdout"));
        let port = wait_for(&lines, "tls_server.py's port", |line| {
            serde_json::from_str::<serde_json::Value>(line)
                .ok()
                .and_then(|v| v["port"].as_u64())
                .and_then(|port| u16::try_from(port).ok())
        });
        Server { child, port, lines }
    }

    /// Everything printed so far.
    fn output(&self) -> Vec<String> {
        self.lines.try_iter().collect()
    }

    /// Waits until the server reports a line with `fragment`, and returns all lines so far.
    fn until(&self, fragment: &str) -> Vec<String> {
        let mut seen = Vec::new();
        let deadline = std::time::Instant::now() + PATIENCE;
        while std::time::Instant::now() < deadline {
            match self.lines.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => {
                    let done = line.contains(fragment);
                    seen.push(line);
                    if done {
                        return seen;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        panic!("the server never printed {fragment:?}; it printed {seen:#?}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn collect(stdout: ChildStdout) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn wait_for<T>(lines: &mpsc::Receiver<String>, what: &str, parse: impl Fn(&str) -> Option<T>) -> T {
    let mut seen = Vec::new();
    while let Ok(line) = lines.recv_timeout(PATIENCE) {
        if let Some(value) = parse(&line) {
            return value;
        }
        seen.push(line);
    }
    panic!("no {what}; the server printed {seen:#?}");
}

fn target(port: u16, security: Security, extra_ca: Option<&Ca>) -> Target {
    Target {
        host: "127.0.0.1".into(),
        port,
        security,
        extra_ca_pem: extra_ca.map(|ca| ca.pem.clone()),
    }
}

fn quick() -> Timeouts {
    Timeouts {
        connect: Duration::from_secs(5),
        tls: Duration::from_secs(5),
        command: Duration::from_secs(2),
        data: Duration::from_secs(5),
    }
}

/// What the client said, in order.
fn client_lines(transcript: &[TranscriptLine]) -> Vec<&str> {
    transcript
        .iter()
        .filter(|line| line.direction == Direction::Client)
        .map(|line| line.text.as_str())
        .collect()
}

fn show(report: &CheckReport, transcript: &[TranscriptLine]) -> String {
    let lines: Vec<String> = transcript
        .iter()
        .map(|line| format!("{:?} {}", line.direction, line.text))
        .collect();
    format!("{report:#?}\n--- transcript\n{}", lines.join("\n"))
}

/// Checks a failed report: the title, the retry advice, the chain (when `leaf` is given, its
/// fingerprint as openssl computes it) and that the steps after TLS never ran.
#[track_caller]
fn assert_failed(
    report: &CheckReport,
    transcript: &[TranscriptLine],
    title: &str,
    retry: Retry,
    leaf: Option<&Pem>,
) {
    let context = show(report, transcript);
    assert_eq!(report.verdict, Verdict::Failed, "{context}");
    let diagnosis = report.diagnosis.as_ref().expect("a diagnosis");
    assert!(
        diagnosis.title.contains(title),
        "the title should contain {title:?}\n{context}"
    );
    assert_eq!(diagnosis.retry, retry, "{context}");
    if let Some(leaf) = leaf {
        let tls = report
            .tls
            .as_ref()
            .expect("the presented chain is reported");
        assert!(!tls.established(), "{context}");
        let fingerprint = openssl_fingerprint(&leaf.cert);
        assert_eq!(tls.chain[0].sha256, fingerprint, "{context}");
        assert!(
            transcript
                .iter()
                .any(|line| line.text.contains(&fingerprint)),
            "the chain is in the transcript, so the history shows it\n{context}"
        );
        assert!(
            diagnosis.what_happened.contains(&tls.chain[0].subject),
            "{context}"
        );
    }
    for step in &report.steps {
        if matches!(step.step, diagnosis::Step::Auth | diagnosis::Step::Quit) {
            assert_eq!(step.status, StepStatus::Skipped, "{context}");
        }
    }
    assert!(
        !client_lines(transcript)
            .iter()
            .any(|line| line.starts_with("AUTH") || line.starts_with("MAIL")),
        "{context}"
    );
}

#[tokio::test]
async fn handshake_failures_against_openssl_s_server_name_the_case_and_show_the_chain() {
    let dir = TempDir::new("tls-openssl");
    let shield = Ca::new("Mail Shield Root");
    let company = Ca::new("Example Corp Relay CA");
    let here = ["127.0.0.1"];
    struct Case<'a> {
        name: &'a str,
        leaf: Leaf<'a>,
        args: &'a [&'a str],
        trust: Option<&'a Ca>,
        title: &'a str,
        mentions: &'a [&'a str],
    }
    let cases = [
        Case {
            name: "self-signed",
            leaf: Leaf {
                names: &here,
                issuer: None,
                valid: VALID,
            },
            args: &[],
            trust: None,
            title: "self-signed certificate (\"CN=127.0.0.1\")",
            mentions: &[
                "Extra trusted CA",
                "Never add an extra trusted CA for Gmail",
            ],
        },
        Case {
            name: "unknown CA",
            leaf: Leaf {
                names: &here,
                issuer: Some(&shield),
                valid: VALID,
            },
            args: &[],
            trust: None,
            title: "\"CN=Mail Shield Root\" is not trusted on this machine",
            mentions: &["Extra trusted CA", "intercept"],
        },
        Case {
            name: "expired",
            leaf: Leaf {
                names: &here,
                issuer: Some(&company),
                valid: (2020, 2021),
            },
            args: &[],
            trust: Some(&company),
            title: "TLS certificate expired on 2021-01-01T00:00:00Z",
            mentions: &["valid from 2020-01-01T00:00:00Z", "clock says 20", "NTP"],
        },
        Case {
            name: "not yet valid",
            leaf: Leaf {
                names: &here,
                issuer: Some(&company),
                valid: (2090, 2091),
            },
            args: &[],
            trust: Some(&company),
            title: "TLS certificate not valid until 2090-01-01T00:00:00Z",
            mentions: &["clock says 20", "before it starts"],
        },
        Case {
            name: "wrong name",
            leaf: Leaf {
                names: &["mail.example.com", "relay.example.com"],
                issuer: Some(&company),
                valid: VALID,
            },
            args: &[],
            trust: Some(&company),
            title: "different host name than 127.0.0.1",
            mentions: &["covers only mail.example.com, relay.example.com"],
        },
    ];
    for (number, case) in cases.iter().enumerate() {
        let pem = case.leaf.write(dir.path(), &format!("leaf{number}"));
        let server = Server::openssl(&pem, case.args);
        let (report, transcript) = check(
            &target(server.port, Security::ImplicitTls, case.trust),
            &Credentials::None,
            &quick(),
            None,
        )
        .await;
        let context = format!("case {}:\n{}", case.name, show(&report, &transcript));
        assert_failed(
            &report,
            &transcript,
            case.title,
            Retry::Permanent,
            Some(&pem),
        );
        let diagnosis = report.diagnosis.as_ref().expect("diagnosis");
        let text = diagnosis.to_string();
        for phrase in case.mentions {
            assert!(text.contains(phrase), "{phrase:?} missing\n{context}");
        }
        assert!(
            client_lines(&transcript).is_empty(),
            "implicit TLS: nothing is said before or after a failed handshake\n{context}"
        );
        drop(server.output());
    }
}

#[tokio::test]
async fn a_server_limited_to_tls_1_1_is_too_old_and_stays_refused() {
    let dir = TempDir::new("tls-old");
    let ca = Ca::new("Example Corp Relay CA");
    let pem = Leaf {
        names: &["127.0.0.1"],
        issuer: Some(&ca),
        valid: VALID,
    }
    .write(dir.path(), "leaf");
    let server = Server::openssl(&pem, &["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"]);
    let (report, transcript) = check(
        &target(server.port, Security::ImplicitTls, Some(&ca)),
        &Credentials::None,
        &quick(),
        None,
    )
    .await;
    assert_failed(
        &report,
        &transcript,
        "The server's TLS version is too old",
        Retry::Permanent,
        None,
    );
    let text = report.diagnosis.as_ref().expect("diagnosis").to_string();
    for phrase in ["TLS 1.2 and TLS 1.3 only", "TLS 1.0 or 1.1", "stay refused"] {
        assert!(text.contains(phrase), "{phrase:?}\n{text}");
    }
    // rustls stops at the server's hello, before any certificate arrives.
    assert!(
        report.tls.as_ref().is_none_or(|tls| tls.chain.is_empty()),
        "{report:?}"
    );
    assert!(client_lines(&transcript).is_empty(), "{transcript:?}");
}

#[tokio::test]
async fn plain_smtp_to_a_tls_port_waits_for_a_greeting_that_never_comes() {
    let dir = TempDir::new("tls-plain-to-tls");
    let pem = Leaf {
        names: &["127.0.0.1"],
        issuer: None,
        valid: VALID,
    }
    .write(dir.path(), "leaf");
    let server = Server::openssl(&pem, &[]);
    let (report, transcript) = check(
        &target(server.port, Security::StartTls, None),
        &Credentials::None,
        &quick(),
        None,
    )
    .await;
    assert_failed(&report, &transcript, "No greeting", Retry::Permanent, None);
    let text = report.diagnosis.as_ref().expect("diagnosis").to_string();
    assert!(
        text.contains("port 465") && text.contains("implicit TLS"),
        "{text}"
    );
    assert!(client_lines(&transcript).is_empty(), "{transcript:?}");
    assert!(report.tls.is_none(), "no TLS was tried");
}

#[tokio::test]
async fn starttls_cases_against_python_ssl() {
    let dir = TempDir::new("tls-starttls");
    let pem = Leaf {
        names: &["127.0.0.1"],
        issuer: None,
        valid: VALID,
    }
    .write(dir.path(), "leaf");

    // A self-signed certificate after STARTTLS: refused, and not one command after it.
    let server = Server::python("starttls", &pem);
    let (report, transcript) = check(
        &target(server.port, Security::StartTls, None),
        &Credentials::None,
        &quick(),
        None,
    )
    .await;
    assert_failed(
        &report,
        &transcript,
        "self-signed certificate",
        Retry::Permanent,
        Some(&pem),
    );
    let seen = server.until("handshake_failed");
    assert!(
        !seen.iter().any(|line| line.contains("\"tls\": true")),
        "nothing was sent after the handshake: {seen:#?}"
    );
    let said = client_lines(&transcript);
    assert_eq!(said.last(), Some(&"STARTTLS"), "{said:?}");

    // The same certificate trusted as the profile's extra CA: the check passes, and the chain
    // is shown with no warning, since 127.0.0.1 is not Google's.
    let mut trusted = target(server.port, Security::StartTls, None);
    trusted.extra_ca_pem = Some(pem.cert_pem.clone());
    let (report, transcript) = check(&trusted, &Credentials::None, &quick(), None).await;
    assert_eq!(
        report.verdict,
        Verdict::Ok,
        "{}",
        show(&report, &transcript)
    );
    let tls = report.tls.as_ref().expect("tls");
    assert!(
        tls.established() && tls.chain[0].names == ["127.0.0.1"],
        "{tls:?}"
    );
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    drop(server);

    // STARTTLS refused: the reply is diagnosed, and nothing else is tried.
    let server = Server::python("refuse", &pem);
    let (report, transcript) = check(
        &target(server.port, Security::StartTls, None),
        &Credentials::None,
        &quick(),
        None,
    )
    .await;
    assert_eq!(report.verdict, Verdict::Failed);
    let diagnosis = report.diagnosis.as_ref().expect("diagnosis");
    assert!(
        diagnosis
            .reply
            .as_deref()
            .is_some_and(|r| r.starts_with("454")),
        "{}",
        show(&report, &transcript)
    );
    assert_eq!(client_lines(&transcript).last(), Some(&"STARTTLS"));
    drop(server);

    // STARTTLS not offered (a plain-text server): the existing diagnosis, and no STARTTLS.
    let server = Server::python("plain", &pem);
    let (report, transcript) = check(
        &target(server.port, Security::StartTls, None),
        &Credentials::None,
        &quick(),
        None,
    )
    .await;
    assert_failed(
        &report,
        &transcript,
        "did not offer STARTTLS",
        Retry::Permanent,
        None,
    );
    assert!(!client_lines(&transcript).contains(&"STARTTLS"));

    // TLS to that plain-text port: its greeting is no TLS record.
    let (report, transcript) = check(
        &target(server.port, Security::ImplicitTls, None),
        &Credentials::None,
        &quick(),
        None,
    )
    .await;
    assert_failed(
        &report,
        &transcript,
        "TLS sent to a plain-text port",
        Retry::Permanent,
        None,
    );
    assert!(client_lines(&transcript).is_empty(), "{transcript:?}");
}

/// `mailbridge check` on one profile, with `MAILBRIDGE_RESOLVE` set to `resolve`.
fn cli_check(profile: &Profile, resolve: &str) -> (Output, String) {
    let dir = TempDir::new("tls-cli");
    let mut import = mailbridge(dir.path())
        .args(["profiles", "import", "-"])
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mailbridge runs");
    import
        .stdin
        .take()
        .expect("stdin")
        .write_all(profile::export(std::slice::from_ref(profile)).as_bytes())
        .expect("the team file goes in");
    let imported = import.wait_with_output().expect("import ends");
    assert!(imported.status.success(), "{imported:?}");
    // Gmail needs a sign-in; this app password is never sent, since no server offers AUTH.
    let mut secret = mailbridge(dir.path())
        .args(["secret", "set", &profile.id.0])
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mailbridge runs");
    secret
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"abcd efgh ijkl mnop\n")
        .expect("the secret goes in");
    let stored = secret.wait_with_output().expect("secret set ends");
    assert!(stored.status.success(), "{stored:?}");
    let output = mailbridge(dir.path())
        .args(["check", "--profile", &profile.id.0])
        .current_dir(dir.path())
        .env(RESOLVE_VAR, resolve)
        .stdin(Stdio::null())
        .output()
        .expect("mailbridge runs");
    let mut stdout = String::new();
    output
        .stdout
        .as_slice()
        .read_to_string(&mut stdout)
        .expect("utf-8");
    assert!(
        !stdout.contains("abcd") && !String::from_utf8_lossy(&output.stderr).contains("abcd"),
        "the app password never shows: {stdout}"
    );
    // The note on issue 15 quotes these.
    println!(
        "$ MAILBRIDGE_RESOLVE={resolve} mailbridge check --profile {}\n{stdout}--- stderr\n{}",
        profile.id.0,
        String::from_utf8_lossy(&output.stderr)
    );
    (output, stdout)
}

fn gmail_profile(host: &str, port: u16, security: Security) -> Profile {
    let mut profile = Profile::from_preset(
        Preset::Custom,
        ProfileId("gmail".into()),
        "Gmail",
        "ann@gmail.com",
    );
    profile.host = host.into();
    profile.port = port;
    profile.security = security;
    profile.auth = AuthMethod::AppPassword;
    profile.username = "ann@gmail.com".into();
    profile
}

#[test]
fn smtp_gmail_com_that_does_not_resolve_means_offline_and_is_transient() {
    let profile = gmail_profile("smtp.gmail.com", 587, Security::StartTls);
    let (output, stdout) = cli_check(&profile, "smtp.gmail.com=");
    assert_eq!(
        output.status.code(),
        Some(75),
        "transient exit code\n{stdout}"
    );
    for phrase in [
        "this machine seems offline, or its DNS is blocked",
        "smtp.gmail.com is the right name",
        "Retry: yes, later",
    ] {
        assert!(stdout.contains(phrase), "{phrase:?}\n{stdout}");
    }
    assert!(!stdout.contains("typo"), "{stdout}");
}

#[test]
fn a_near_miss_of_gmails_name_suggests_the_right_one() {
    let profile = gmail_profile("smtp.gmial.com", 465, Security::ImplicitTls);
    let (output, stdout) = cli_check(&profile, "smtp.gmial.com=");
    assert_eq!(
        output.status.code(),
        Some(1),
        "permanent exit code\n{stdout}"
    );
    for phrase in [
        "Could not look up smtp.gmial.com (DNS): did you mean smtp.gmail.com?",
        "Set the profile's server to `smtp.gmail.com`",
        "Retry: no",
    ] {
        assert!(stdout.contains(phrase), "{phrase:?}\n{stdout}");
    }
}

#[test]
fn a_google_host_whose_chain_is_not_googles_is_flagged_as_intercepted() {
    let dir = TempDir::new("tls-intercepted");
    let shield = Ca::new("Mail Shield Root");
    let pem = Leaf {
        names: &["smtp.gmail.com"],
        issuer: Some(&shield),
        valid: VALID,
    }
    .write(dir.path(), "leaf");
    let server = Server::python("implicit", &pem);
    let resolve = format!("smtp.gmail.com={}", Ipv4Addr::LOCALHOST);
    let fingerprint = openssl_fingerprint(&pem.cert);

    // Not trusted: the interception is the diagnosis, naming the issuer as presented.
    let profile = gmail_profile("smtp.gmail.com", server.port, Security::ImplicitTls);
    let (output, stdout) = cli_check(&profile, &resolve);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    for phrase in [
        "Something is intercepting the connection to smtp.gmail.com: its certificate was issued by \"CN=Mail Shield Root\"",
        "TLS: the handshake failed",
        "issued by CN=Mail Shield Root",
        &fingerprint,
        "Google Trust Services",
    ] {
        assert!(stdout.contains(phrase), "{phrase:?}\n{stdout}");
    }
    let seen = server.until("handshake_failed");
    assert!(
        !seen.iter().any(|line| line.contains("\"line\"")),
        "{seen:#?}"
    );

    // Trusted, as when an antivirus installs its root: the check passes with a warning.
    let mut trusting = profile.clone();
    trusting.extra_ca_pem = Some(shield.pem.clone());
    let (output, stdout) = cli_check(&trusting, &resolve);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    for phrase in [
        "Warning: The connection to smtp.gmail.com is intercepted: its certificate was issued by \"CN=Mail Shield Root\"",
        "Connection OK.",
        "names smtp.gmail.com",
        &fingerprint,
    ] {
        assert!(stdout.contains(phrase), "{phrase:?}\n{stdout}");
    }
}
