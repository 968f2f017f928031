//! Delivery verification (`mailbridge::imap`) against real IMAP servers: the sandbox's
//! Gmail look-alike (labels, tabs, the spam rule and fault), Debian's Dovecot (TLS from a
//! test CA, a passwd-file user, a SPECIAL-USE Junk folder, messages put there by Python's
//! imaplib with the bytes the sandbox captured), and hand-made hostile servers.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use mailbridge::imap::{self, Config, Login, Security, Target, Wanted};
use protocol::{Placement, Secret, Tab, VerifyReport};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SanType};
use rustls::pki_types::pem::PemObject as _;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::support::{
    Fixture, PASSWORD, PATIENCE, PyRun, TempDir, USER, free_port, run_driver, start, wait_listening,
};

/// A fresh Message-ID per call.
fn message_id(what: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{what}.{n}.{}@mailbridge.test", std::process::id())
}

/// Sends through the sandbox's SMTP with lettre; returns the time of the 250.
async fn send(
    fixture: &Fixture,
    id: &str,
    from: &str,
    extra: Option<(&str, &str)>,
    html_only: bool,
) -> i64 {
    let ca = Certificate::from_pem(fixture.ca_cert_pem().as_bytes()).expect("the CA PEM parses");
    let tls = TlsParameters::builder("localhost".to_owned())
        .certificate_store(CertificateStore::None)
        .add_root_certificate(ca)
        .build_rustls()
        .expect("TLS parameters");
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(fixture.tls_addr().port())
        .tls(Tls::Wrapper(tls))
        .credentials(Credentials::new(USER.to_owned(), PASSWORD.to_owned()))
        .authentication(vec![Mechanism::Plain])
        .build();
    let mut builder = Message::builder()
        .message_id(Some(format!("<{id}>")))
        .from(from.parse().expect("from"))
        .to("bob@example.com".parse().expect("to"))
        .subject(format!("verify {id}"));
    if let Some((name, value)) = extra {
        builder = builder.raw_header(lettre::message::header::HeaderValue::new(
            lettre::message::header::HeaderName::new_from_ascii(name.to_owned()).expect("name"),
            value.to_owned(),
        ));
    }
    let message = if html_only {
        builder
            .header(ContentType::TEXT_HTML)
            .body("<p>Only HTML here.</p>".to_owned())
    } else {
        builder.body("A test of delivery.".to_owned())
    }
    .expect("message builds");
    transport
        .send(message)
        .await
        .expect("the sandbox accepts it");
    imap::now_ms()
}

fn sandbox_target(fixture: &Fixture) -> Target {
    Target {
        name: "Sandbox".into(),
        host: "127.0.0.1".into(),
        port: fixture.imap_addr().port(),
        security: Security::Tls,
        user: USER.into(),
        extra_ca_pem: Some(fixture.ca_cert_pem().to_owned()),
    }
}

fn quick() -> Config {
    Config {
        limit: Duration::from_secs(10),
        interval: Duration::from_millis(200),
        connect_timeout: PATIENCE,
        command_timeout: PATIENCE,
        ..Config::default()
    }
}

fn wanted(id: &str, sent_at_ms: Option<i64>) -> Wanted {
    Wanted {
        message_id: format!("<{id}>"),
        sent_at_ms,
        sender: Some(USER.into()),
    }
}

#[track_caller]
fn verdict(report: &VerifyReport) -> &protocol::DeliveryVerdict {
    match &report.verdict {
        Some(verdict) => verdict,
        None => panic!(
            "no verdict: {:#?}\n--- transcript ---\n{}",
            report.error,
            transcript(report)
        ),
    }
}

/// A verify report's IMAP transcript, a line each, for failure messages.
pub(super) fn transcript(report: &VerifyReport) -> String {
    report
        .transcript
        .iter()
        .map(|line| format!("{:?} {}", line.direction, line.text))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn the_sandbox_gives_inbox_tabs_labels_and_spam() {
    let fixture = start("verify-gmail", |_| {}).await;
    let target = sandbox_target(&fixture);
    // The App Password as Google shows it, with spaces: they are removed before LOGIN.
    let spaced = format!("{} {}", &PASSWORD[..4], &PASSWORD[4..]);
    let login = Login::Password(Secret::new(spaced));

    let inbox = message_id("inbox");
    let sent = send(&fixture, &inbox, USER, None, false).await;
    let report = imap::verify(&target, &login, &wanted(&inbox, Some(sent)), &quick()).await;
    let v = verdict(&report);
    assert_eq!(v.placement, Placement::Inbox, "{v:#?}");
    assert_eq!(v.tab, Some(Tab::Primary));
    assert!(v.labels.iter().any(|l| l == "\\Inbox"), "{:?}", v.labels);
    assert_eq!(v.folder.as_deref(), Some("[Gmail]/All Mail"));
    assert_eq!(v.arrival_source.as_deref(), Some("INTERNALDATE"));
    let delivery = v.delivery_ms.expect("a delivery time");
    assert!(delivery < 5000, "{delivery} ms");
    let text = transcript(&report);
    assert!(text.contains("X-GM-RAW"), "{text}");
    assert!(text.contains("LOGIN ****"), "{text}");
    assert!(
        !text.contains(PASSWORD),
        "the password is in the transcript:\n{text}"
    );

    let promotions = message_id("promo");
    let sent = send(
        &fixture,
        &promotions,
        USER,
        Some(("List-Unsubscribe", "<https://example.com/u/1>")),
        false,
    )
    .await;
    let report = imap::verify(&target, &login, &wanted(&promotions, Some(sent)), &quick()).await;
    let v = verdict(&report);
    assert_eq!(
        (v.placement, v.tab),
        (Placement::Inbox, Some(Tab::Promotions)),
        "{v:#?}"
    );
    assert!(
        v.next_steps.iter().any(|s| s.contains("promotions")),
        "{v:#?}"
    );

    // The fault: the next message goes to Spam whatever it is.
    fixture.faults().update(|f| f.spam_next = 1);
    let faulted = message_id("fault");
    let sent = send(&fixture, &faulted, USER, None, false).await;
    let report = imap::verify(&target, &login, &wanted(&faulted, Some(sent)), &quick()).await;
    let v = verdict(&report);
    assert_eq!(v.placement, Placement::Spam, "{v:#?}");
    assert_eq!(v.folder.as_deref(), Some("[Gmail]/Spam"));
    assert!(
        v.spam_causes[0].contains("next messages to spam"),
        "{:?}",
        v.spam_causes
    );
    assert_eq!(fixture.faults().get().spam_next, 0, "the fault fired once");

    // The score: HTML only, from an address that is not the account.
    let scored = message_id("score");
    let sent = send(&fixture, &scored, "Boss <boss@other.example>", None, true).await;
    let report = imap::verify(&target, &login, &wanted(&scored, Some(sent)), &quick()).await;
    let v = verdict(&report);
    assert_eq!(v.placement, Placement::Spam, "{v:#?}");
    let causes = v.spam_causes.join("\n");
    assert!(causes.contains("no text/plain part"), "{causes}");
    assert!(
        causes.contains("boss@other.example is not the sending account"),
        "{causes}"
    );
}

#[tokio::test]
async fn the_sandbox_gives_not_arrived_and_a_refused_login() {
    let fixture = start("verify-absent", |_| {}).await;
    let target = sandbox_target(&fixture);
    let config = Config {
        limit: Duration::from_millis(1200),
        ..quick()
    };
    let started = Instant::now();
    let absent = message_id("absent");
    let report = imap::verify(
        &target,
        &Login::Password(Secret::new(PASSWORD)),
        &wanted(&absent, None),
        &config,
    )
    .await;
    let v = verdict(&report);
    assert_eq!(v.placement, Placement::NotArrived, "{v:#?}");
    assert!(started.elapsed() >= Duration::from_millis(1200));
    assert!(started.elapsed() < PATIENCE, "it stops at the limit");
    assert!(v.next_steps.iter().any(|s| s.contains("bounce")), "{v:#?}");
    // It searched more than once while it waited.
    let searches = report
        .transcript
        .iter()
        .filter(|l| l.text.contains("UID SEARCH"))
        .count();
    assert!(
        searches >= 4,
        "{searches} searches:\n{}",
        transcript(&report)
    );

    let wrong = "wrongwrongwrongx";
    let report = imap::verify(
        &target,
        &Login::Password(Secret::new(wrong)),
        &wanted(&absent, None),
        &config,
    )
    .await;
    let error = report.error.as_ref().expect("a diagnosis");
    assert_eq!(error.title, "IMAP login refused", "{error:#?}");
    assert!(
        error
            .reply
            .as_deref()
            .unwrap_or_default()
            .contains("AUTHENTICATIONFAILED"),
        "{error:#?}"
    );
    assert!(
        error.fix.iter().any(|f| f.contains("App Password")),
        "{error:#?}"
    );
    assert!(!transcript(&report).contains(wrong));
}

/// A CA and a certificate for 127.0.0.1 it signed, as PEM.
fn test_ca(dir: &Path) -> (String, PathBuf, PathBuf) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "mailbridge test CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().expect("CA key");
    let ca_pem = ca_params.self_signed(&ca_key).expect("CA").pem();
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.subject_alt_names = vec![SanType::IpAddress("127.0.0.1".parse().expect("ip"))];
    params
        .distinguished_name
        .push(DnType::CommonName, "127.0.0.1");
    let key = KeyPair::generate().expect("key");
    let cert = params
        .signed_by(&key, &Issuer::from_params(&ca_params, &ca_key))
        .expect("signed");
    let cert_path = dir.join("server.pem");
    let key_path = dir.join("server-key.pem");
    std::fs::write(&cert_path, cert.pem()).expect("write cert");
    std::fs::write(&key_path, key.serialize_pem()).expect("write key");
    (ca_pem, cert_path, key_path)
}

/// A private Dovecot on 127.0.0.1: its own config, run and state directories, one
/// passwd-file user, INBOX, Junk (`\Junk`) and Trash (`\Trash`). Stopped when dropped.
struct Dovecot {
    child: Child,
    dir: TempDir,
    imaps: u16,
    imap: u16,
    ca_pem: String,
}

const DOVECOT_USER: &str = "tester@example.test";
const DOVECOT_PASSWORD: &str = "dovecot-app-pw-31415";

impl Dovecot {
    fn start(name: &str, tls: bool) -> Dovecot {
        let dir = TempDir::new(name);
        let root = dir.path();
        let (ca_pem, cert, key) = test_ca(root);
        for sub in ["run", "state", "home"] {
            std::fs::create_dir_all(root.join(sub)).expect("dovecot dirs");
        }
        // The mail user is nobody: Dovecot refuses root, and nobody must write its Maildir.
        Command::new("chmod")
            .args(["0777", &root.join("home").display().to_string()])
            .status()
            .expect("chmod");
        std::fs::write(
            root.join("passwd"),
            format!("{DOVECOT_USER}:{{PLAIN}}{DOVECOT_PASSWORD}\n"),
        )
        .expect("passwd");
        let (imap, imaps) = (free_port(), free_port());
        let ssl = if tls {
            format!(
                "ssl = required\nssl_cert = <{}\nssl_key = <{}\nssl_min_protocol = TLSv1.2\n\
                 disable_plaintext_auth = yes\n",
                cert.display(),
                key.display()
            )
        } else {
            "ssl = no\ndisable_plaintext_auth = no\n".to_owned()
        };
        let imaps_listener = if tls {
            format!(
                "  inet_listener imaps {{\n    address = 127.0.0.1\n    port = {imaps}\n    ssl = yes\n  }}\n"
            )
        } else {
            String::new()
        };
        let config = format!(
            "base_dir = {root}/run\nstate_dir = {root}/state\nlog_path = {root}/dovecot.log\n\
             protocols = imap\nlisten = 127.0.0.1\n{ssl}auth_mechanisms = plain login\n\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {root}/passwd\n}}\n\
             userdb {{\n  driver = static\n  args = uid=65534 gid=65534 home={root}/home/%n\n}}\n\
             mail_location = maildir:~/Maildir\n\
             namespace inbox {{\n  inbox = yes\n  separator = /\n\
               mailbox Junk {{\n    special_use = \\Junk\n    auto = create\n  }}\n\
               mailbox Trash {{\n    special_use = \\Trash\n    auto = create\n  }}\n}}\n\
             service imap-login {{\n  chroot =\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {imap}\n  }}\n{imaps_listener}}}\n\
             service anvil {{\n  chroot =\n}}\n",
            root = root.display()
        );
        let conf = root.join("dovecot.conf");
        std::fs::write(&conf, config).expect("dovecot.conf");
        let binary = ["/usr/sbin/dovecot", "/usr/local/sbin/dovecot"]
            .into_iter()
            .find(|path| Path::new(path).exists())
            .unwrap_or_else(|| {
                panic!("Dovecot is not installed: run `cargo xtask test` (apt-get install dovecot-imapd)")
            });
        let child = Command::new(binary)
            .arg("-F")
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {binary}: {e}"));
        let dovecot = Dovecot {
            child,
            dir,
            imaps,
            imap,
            ca_pem,
        };
        wait_listening(imap, "Dovecot", || dovecot.log());
        dovecot
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default()
    }

    fn target(&self, security: Security) -> Target {
        Target {
            name: "Dovecot".into(),
            host: "127.0.0.1".into(),
            port: match security {
                Security::Tls => self.imaps,
                Security::StartTls => self.imap,
            },
            security,
            user: DOVECOT_USER.into(),
            extra_ca_pem: Some(self.ca_pem.clone()),
        }
    }

    /// APPENDs messages with Python's imaplib over STARTTLS, checking each answer.
    async fn append(&self, messages: &[(&str, Vec<u8>)]) {
        let ca = self.dir.path().join("ca.pem");
        std::fs::write(&ca, &self.ca_pem).expect("ca.pem");
        let mut steps = vec![json!(["call", "login", DOVECOT_USER, DOVECOT_PASSWORD])];
        for (folder, bytes) in messages {
            steps.push(json!(["append", folder, STANDARD.encode(bytes)]));
        }
        let plan = json!({
            "host": "127.0.0.1", "port": self.imap, "starttls": true, "cafile": ca,
            "timeout": PATIENCE.as_secs(), "sessions": [steps],
        });
        let PyRun { output, stderr, .. } = run_driver("imap_driver.py", plan).await;
        let results = output["sessions"][0]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            results.len(),
            messages.len() + 2,
            "{output:#}\n{stderr}\n{}",
            self.log()
        );
        for result in &results[1..] {
            assert_eq!(result["typ"], "OK", "{output:#}\n{stderr}\n{}", self.log());
        }
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The bytes the sandbox captured for a Message-ID.
fn captured(fixture: &Fixture, id: &str) -> Vec<u8> {
    let store = fixture.store();
    let summary = store
        .list()
        .expect("list")
        .into_iter()
        .find(|summary| {
            store
                .raw(summary.id)
                .ok()
                .flatten()
                .is_some_and(|raw| String::from_utf8_lossy(&raw).contains(id))
        })
        .unwrap_or_else(|| panic!("the sandbox did not capture {id}"));
    store.raw(summary.id).expect("raw").expect("bytes")
}

#[tokio::test]
async fn dovecot_inbox_junk_not_arrived_wrong_password_and_no_tls() {
    let fixture = start("verify-dovecot", |_| {}).await;
    let dovecot = Dovecot::start("verify-dovecot-imap", true);
    let (inbox, junk) = (message_id("dove-inbox"), message_id("dove-junk"));
    send(&fixture, &inbox, USER, None, false).await;
    let sent = send(&fixture, &junk, USER, None, false).await;
    dovecot
        .append(&[
            ("INBOX", captured(&fixture, &inbox)),
            ("Junk", captured(&fixture, &junk)),
        ])
        .await;
    let login = Login::Password(Secret::new(DOVECOT_PASSWORD));
    for security in [Security::Tls, Security::StartTls] {
        let target = dovecot.target(security);
        let report = imap::verify(&target, &login, &wanted(&inbox, Some(sent)), &quick()).await;
        let v = verdict(&report);
        assert_eq!(
            (v.placement, v.tab),
            (Placement::Inbox, None),
            "{security:?} {v:#?}"
        );
        assert_eq!(v.folder.as_deref(), Some("INBOX"));
        let text = transcript(&report);
        assert!(text.contains("HEADER Message-ID"), "{text}");
        assert!(!text.contains(DOVECOT_PASSWORD), "{text}");
        if security == Security::StartTls {
            assert!(text.contains("STARTTLS"), "{text}");
        }
    }
    let target = dovecot.target(Security::Tls);
    let report = imap::verify(&target, &login, &wanted(&junk, Some(sent)), &quick()).await;
    let v = verdict(&report);
    assert_eq!(
        (v.placement, v.folder.as_deref()),
        (Placement::Spam, Some("Junk")),
        "{v:#?}"
    );
    assert!(
        v.spam_causes
            .iter()
            .any(|c| c.contains("Authentication-Results")),
        "{v:#?}"
    );

    let short = Config {
        limit: Duration::from_millis(800),
        ..quick()
    };
    let never = message_id("dove-never");
    let report = imap::verify(&target, &login, &wanted(&never, None), &short).await;
    assert_eq!(verdict(&report).placement, Placement::NotArrived);

    let report = imap::verify(
        &target,
        &Login::Password(Secret::new("not-the-password")),
        &wanted(&inbox, None),
        &short,
    )
    .await;
    let error = report.error.as_ref().expect("a diagnosis");
    assert_eq!(error.title, "IMAP login refused", "{error:#?}");
    assert!(
        error
            .reply
            .as_deref()
            .unwrap_or_default()
            .contains("AUTHENTICATIONFAILED"),
        "{error:#?}"
    );

    // A server without TLS: STARTTLS is refused, and TLS on its plain port fails.
    let plain = Dovecot::start("verify-dovecot-plain", false);
    let mut target = plain.target(Security::StartTls);
    let report = imap::verify(&target, &login, &wanted(&inbox, None), &short).await;
    let error = report.error.as_ref().expect("refused");
    assert_eq!(
        error.title, "The IMAP server does not offer STARTTLS",
        "{error:#?}"
    );
    let logins = report
        .transcript
        .iter()
        .filter(|l| l.direction == protocol::Direction::Client && l.text.contains("LOGIN"))
        .count();
    assert_eq!(logins, 0, "no login without TLS:\n{}", transcript(&report));
    target.security = Security::Tls;
    let report = imap::verify(&target, &login, &wanted(&inbox, None), &short).await;
    let error = report.error.as_ref().expect("refused");
    assert!(
        error.what_happened.contains("TLS") || error.title.contains("TLS"),
        "{error:#?}"
    );
}

/// What a hostile server does once the client has logged in and asks for the message.
#[derive(Clone, Copy, Debug)]
enum Hostile {
    /// `{2147483648}` and then zeros for as long as the client reads.
    HugeLiteral,
    /// A line that never ends.
    EndlessLine,
    /// Lines that are not IMAP.
    Junk,
    /// Nothing at all.
    Stall,
}

/// A TLS server on 127.0.0.1:0 that answers like an IMAP server until the FETCH; returns
/// its address, its CA and a counter of the bytes it wrote.
async fn hostile_server(mode: Hostile, dir: &Path) -> (SocketAddr, String, Arc<AtomicU64>) {
    let (ca_pem, cert, key) = test_ca(dir);
    let certs = rustls::pki_types::CertificateDer::pem_file_iter(&cert)
        .expect("certs")
        .collect::<Result<Vec<_>, _>>()
        .expect("certs parse");
    let key = rustls::pki_types::PrivateKeyDer::from_pem_file(&key).expect("key");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let written = Arc::new(AtomicU64::new(0));
    let counter = written.clone();
    tokio::spawn(async move {
        let Ok((tcp, _)) = listener.accept().await else {
            return;
        };
        let Ok(tls) = acceptor.accept(tcp).await else {
            return;
        };
        let mut io = BufReader::new(tls);
        let _ = io.write_all(b"* OK hostile IMAP ready\r\n").await;
        let mut line = String::new();
        loop {
            line.clear();
            if io.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            let tag = line.split(' ').next().unwrap_or("*").to_owned();
            let upper = line.to_ascii_uppercase();
            let answer = if upper.contains(" LOGIN ") {
                format!("{tag} OK logged in\r\n")
            } else if upper.contains(" CAPABILITY") {
                format!("* CAPABILITY IMAP4rev1\r\n{tag} OK\r\n")
            } else if upper.contains(" LIST ") {
                format!("* LIST (\\HasNoChildren) \"/\" INBOX\r\n{tag} OK\r\n")
            } else if upper.contains(" EXAMINE ") {
                format!("* 1 EXISTS\r\n* OK [UIDVALIDITY 1] ok\r\n{tag} OK [READ-ONLY] done\r\n")
            } else if upper.contains(" SEARCH ") {
                format!("* SEARCH 1\r\n{tag} OK\r\n")
            } else if upper.contains(" FETCH ") {
                match mode {
                    Hostile::HugeLiteral => {
                        let head = b"* 1 FETCH (UID 1 BODY[]<0> {2147483648}\r\n";
                        let zeros = vec![0u8; 64 * 1024];
                        let mut result = io.write_all(head).await;
                        while result.is_ok() {
                            result = io.write_all(&zeros).await;
                            counter.fetch_add(zeros.len() as u64, Ordering::Relaxed);
                            if counter.load(Ordering::Relaxed) > 2_200_000_000 {
                                break;
                            }
                        }
                        return;
                    }
                    Hostile::EndlessLine => {
                        let chunk = vec![b'x'; 64 * 1024];
                        let _ = io.write_all(b"* 1 FETCH (UID 1 ").await;
                        while io.write_all(&chunk).await.is_ok() {
                            if counter.fetch_add(chunk.len() as u64, Ordering::Relaxed)
                                > 2_200_000_000
                            {
                                break;
                            }
                        }
                        return;
                    }
                    Hostile::Junk => {
                        "\u{1}\u{2} this is not IMAP at all\r\n%%%% junk ((((\r\n".to_owned()
                    }
                    Hostile::Stall => {
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                        return;
                    }
                }
            } else if upper.contains(" LOGOUT") {
                format!("* BYE\r\n{tag} OK\r\n")
            } else {
                format!("{tag} BAD what\r\n")
            };
            if io.write_all(answer.as_bytes()).await.is_err() {
                return;
            }
        }
    });
    (addr, ca_pem, written)
}

#[tokio::test]
async fn hostile_servers_end_in_clear_errors_with_bounded_memory() {
    for (mode, title) in [
        (
            Hostile::HugeLiteral,
            "The IMAP server sent more than mailbridge reads",
        ),
        (
            Hostile::EndlessLine,
            "The IMAP server sent more than mailbridge reads",
        ),
        (Hostile::Junk, "The server does not speak IMAP"),
        (Hostile::Stall, "The IMAP server stopped answering"),
    ] {
        let dir = TempDir::new("verify-hostile");
        let (addr, ca_pem, written) = hostile_server(mode, dir.path()).await;
        let target = Target {
            name: "Hostile".into(),
            host: "127.0.0.1".into(),
            port: addr.port(),
            security: Security::Tls,
            user: "me".into(),
            extra_ca_pem: Some(ca_pem),
        };
        let config = Config {
            command_timeout: Duration::from_secs(2),
            ..quick()
        };
        let started = Instant::now();
        let report = imap::verify(
            &target,
            &Login::Password(Secret::new("hostile-secret")),
            &wanted(&message_id("hostile"), None),
            &config,
        )
        .await;
        let error = report
            .error
            .as_ref()
            .unwrap_or_else(|| panic!("{mode:?}: no error\n{}", transcript(&report)));
        assert_eq!(
            error.title,
            title,
            "{mode:?}: {error:#?}\n{}",
            transcript(&report)
        );
        assert!(
            started.elapsed() < PATIENCE,
            "{mode:?} took {:?}",
            started.elapsed()
        );
        // The client stopped reading long before the server's 2 GB: what it held is bounded.
        let sent = written.load(Ordering::Relaxed);
        assert!(
            sent < 256 * 1024 * 1024,
            "{mode:?}: the server wrote {sent} bytes"
        );
        assert!(!transcript(&report).contains("hostile-secret"));
    }
}

/// `mailbridge test --verify`, `mailbridge verify` and `mailbridge mailboxes`, across
/// processes: `serve` keeps the sandbox's receiving mailbox pointing at its sandbox, so
/// "send test and verify" works on the first run; the verdict decides the exit code.
#[tokio::test]
async fn the_command_line_sends_tests_and_verifies_them() {
    let dir = TempDir::new("verify-cli");
    let _serve = crate::support::Serve::start(dir.path());
    let run = |args: &[&str]| {
        let output = crate::support::mailbridge(dir.path())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("mailbridge runs");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (code, out, err) = run(&["mailboxes", "list"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("sandbox") && out.contains("127.0.0.1:"),
        "{out}"
    );

    let started = Instant::now();
    let (code, out, err) = run(&[
        "test",
        "--profile",
        "Sandbox",
        "--verify",
        "Sandbox",
        "--transcript",
    ]);
    let elapsed = started.elapsed();
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("Verdict:   Inbox"), "{out}");
    assert!(out.contains("Tab:       primary"), "{out}");
    assert!(out.contains("LOGIN ****"), "{out}");
    assert!(
        !out.contains(PASSWORD) && !err.contains(PASSWORD),
        "{out}{err}"
    );
    assert!(elapsed < PATIENCE, "send and verify took {elapsed:?}");

    let (code, out, err) = run(&[
        "verify",
        "sandbox",
        "--message-id",
        "<absent@mailbridge.test>",
        "--timeout",
        "1",
    ]);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(out.contains("Verdict:   not arrived"), "{out}");
    let (code, _, err) = run(&["verify", "sandbox", "--message-id", "not an id"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("not of the form <local@domain>"), "{err}");

    // A mailbox without its secret says how to get one; the exported file holds no secret.
    let (code, out, err) = run(&[
        "mailboxes",
        "add",
        "work",
        "--preset",
        "fastmail",
        "--username",
        "me@fastmail.com",
    ]);
    assert_eq!(code, Some(0), "{out}{err}");
    let (code, _, err) = run(&["verify", "work", "--message-id", "<a@b.example>"]);
    assert_ne!(code, Some(0));
    assert!(
        err.contains("no secret stored") && err.contains("app password"),
        "{err}"
    );
    let (code, out, err) = run(&[
        "mailboxes",
        "add",
        "bad",
        "--preset",
        "gmail",
        "--username",
        "me@gmail.com",
        "--port",
        "0",
    ]);
    assert_ne!(code, Some(0), "{out}");
    assert!(err.contains("port"), "{err}");
    // Every mailbox at once: the sandbox's verdict, and a row saying why "work" has none.
    let (code, out, err) = run(&[
        "test",
        "--profile",
        "Sandbox",
        "--verify-all",
        "--verify-timeout",
        "20",
    ]);
    assert_eq!(
        code,
        Some(1),
        "not every mailbox is in the Inbox:\n{out}{err}"
    );
    let row = |id: &str| {
        out.lines()
            .find(|line| line.starts_with(id))
            .unwrap_or_else(|| panic!("no row for {id}:\n{out}"))
            .to_owned()
    };
    assert!(row("sandbox").contains("Inbox (primary)"), "{out}");
    assert!(
        row("work").contains("error:") && row("work").contains("no secret stored"),
        "{out}"
    );
    // "Verify at" on an ordinary send: refused unless the mailbox is a recipient, then the
    // verdict and its exit code.
    let (code, out, err) = run(&[
        "send",
        "--profile",
        "Sandbox",
        "--to",
        "bob@example.com",
        "--subject",
        "verify at",
        "--body",
        "hello",
        "--verify-at",
        "sandbox",
    ]);
    assert_ne!(code, Some(0), "{out}{err}");
    assert!(
        err.contains("verify_at:") && err.contains("To, Cc or Bcc"),
        "{err}"
    );
    let (code, out, err) = run(&[
        "send",
        "--profile",
        "Sandbox",
        "--to",
        "bob@example.com",
        "--cc",
        USER,
        "--subject",
        "verify at",
        "--body",
        "hello",
        "--verify-at",
        "sandbox",
        "--verify-timeout",
        "20",
    ]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("Verdict:   Inbox"), "{out}");
    let (_, exported, _) = run(&["mailboxes", "export"]);
    assert!(
        exported.contains("mailbridge-mailboxes") && exported.contains("work"),
        "{exported}"
    );
    assert!(!exported.contains(PASSWORD));
}

/// Gmail's way with a dead address, in the sandbox: a 250 now, a report in the sender's inbox
/// later. The report is read over IMAP, matched to the send in the history, explained, and the
/// address suppressed; a look-alike in the same inbox is ignored.
#[tokio::test]
async fn bounces_come_back_matched_explained_and_suppressed() {
    let running = super::harness::start(
        "verify-bounces",
        |_| {},
        mailbridge::server::ServeConfig::default(),
    )
    .await;
    let mut client = super::harness::Client::connect(&running).await;
    let profile = running.sandbox_profile(&mut client).await;
    let outcome = client
        .ok(protocol::Operation::Send {
            profile: profile.id.clone(),
            draft: protocol::Draft {
                to: vec!["bounce-7@example.com".into(), "bob@example.com".into()],
                subject: "to a dead address".into(),
                text: Some("hello".into()),
                ..protocol::Draft::default()
            },
        })
        .await;
    let protocol::Outcome::Sent(sent) = outcome else {
        panic!("not sent: {outcome:?}");
    };
    // A look-alike: a read receipt (multipart/report, but not of delivery status) that quotes
    // a delivery report's fields.
    let lookalike = format!(
        "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\r\nTo: {USER}\r\n\
         Subject: Read: to a dead address\r\nMessage-ID: <receipt.1@example.com>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=disposition-notification; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain\r\n\r\nFinal-Recipient: rfc822; bounce-7@example.com\r\n\
         Action: failed\r\nStatus: 5.1.1\r\nX-Original-Message-ID: {}\r\n--b--\r\n",
        sent.message_id
    );
    into_the_senders_inbox(&running, lookalike.as_bytes()).await;

    let report = running
        .bridge
        .read_bounces(mailbridge::ops::SANDBOX_MAILBOX_ID)
        .await
        .expect("bounces read");
    assert_eq!(report.matched.len(), 1, "{report:#?}");
    assert_eq!((report.unmatched, report.ignored), (0, 1), "{report:#?}");
    let bounce = &report.matched[0];
    assert_eq!(bounce.recipient, "bounce-7@example.com");
    assert_eq!(bounce.status, "5.1.1");
    assert_eq!(format!("<{}>", bounce.message_id), sent.message_id);
    assert_eq!(bounce.history_id, sent.history_id);
    assert!(bounce.suppressed);
    assert!(
        bounce
            .remote_text
            .as_deref()
            .unwrap_or_default()
            .contains("does not exist")
    );
    assert!(bounce.diagnosis.is_some());
    let suppressed =
        std::fs::read_to_string(running.dir.path().join("data").join("suppressed.csv"))
            .expect("suppression list");
    assert!(
        suppressed.contains("bounce-7@example.com") && suppressed.contains("bounce"),
        "{suppressed}"
    );
    assert!(!suppressed.contains("bob@example.com"), "{suppressed}");
    // Reading again adds nothing twice.
    let again = running.bridge.read_bounces("Sandbox").await.expect("again");
    assert_eq!(again.matched.len(), 1);
    // The page's History shows it on the send: bounced, the code, the remote text and the
    // explanation, for the dead address only.
    let protocol::Outcome::History { entries } = client
        .ok(protocol::Operation::ReadHistory { limit: 10 })
        .await
    else {
        panic!("no history");
    };
    let entry = entries
        .iter()
        .find(|e| e.id == sent.history_id)
        .expect("the send is in the history");
    assert_eq!(entry.bounces.len(), 1, "{entry:#?}");
    let shown = &entry.bounces[0];
    assert_eq!(
        (shown.recipient.as_str(), shown.status.as_str()),
        ("bounce-7@example.com", "5.1.1")
    );
    assert!(
        shown.remote_text.is_some() && shown.diagnosis.is_some(),
        "{shown:#?}"
    );
    running.stop().await;
}

/// Puts a message into the sandbox account's own inbox, where Gmail leaves its reports, by
/// submitting it there as the account.
async fn into_the_senders_inbox(running: &super::harness::Running, message: &[u8]) {
    let ca = Certificate::from_pem(running.sandbox().ca_cert_pem().as_bytes()).expect("CA");
    let tls = TlsParameters::builder("localhost".to_owned())
        .certificate_store(CertificateStore::None)
        .add_root_certificate(ca)
        .build_rustls()
        .expect("TLS");
    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(running.sandbox().tls_addr().port())
        .tls(Tls::Wrapper(tls))
        .credentials(Credentials::new(USER.to_owned(), PASSWORD.to_owned()))
        .authentication(vec![Mechanism::Plain])
        .build()
        .send_raw(
            &lettre::address::Envelope::new(
                Some(USER.parse().expect("from")),
                vec![USER.parse().expect("to")],
            )
            .expect("envelope"),
            message,
        )
        .await
        .expect("the sandbox takes the message");
}

/// A real delivery report rather than a sample: Postfix accepts the message for a dead
/// address, its `error` transport fails it a moment later, and Postfix's bounce daemon writes
/// the RFC 3464 report to the sender, which smtp-sink takes. Put into the sending account's
/// inbox, as Gmail's would be, the report is matched to the send, explained, and the address
/// suppressed; the live recipient is not.
#[tokio::test]
async fn a_report_postfix_writes_is_matched_explained_and_suppressed() {
    let running = super::harness::start(
        "verify-postfix-report",
        |_| {},
        mailbridge::server::ServeConfig::default(),
    )
    .await;
    let sink = super::outbox::SmtpSink::start(running.dir.path());
    let postfix = super::outbox::Postfix::start_with(
        running.dir.path(),
        &format!(
            "default_transport = smtp\n\
             relay_transport = smtp\n\
             relayhost = [127.0.0.1]:{}\n\
             transport_maps = inline:{{ {{dead.example.net = error:5.1.1 mailbox unavailable}} }}\n\
             smtpd_reject_unlisted_recipient = no\n",
            sink.port
        ),
        "smtp unix - - n - - smtp\n",
    );
    let mut client = super::harness::Client::connect(&running).await;
    let protocol::Outcome::Saved { profile } = client
        .ok(protocol::Operation::SaveProfile {
            profile: super::outbox::local_profile(postfix.port),
        })
        .await
    else {
        panic!("the profile was not saved");
    };
    let outcome = client
        .ok(protocol::Operation::Send {
            profile: profile.profile.id.clone(),
            draft: protocol::Draft {
                to: vec![
                    "gone@dead.example.net".into(),
                    "ann@live.example.net".into(),
                ],
                subject: "to a dead address, through Postfix".into(),
                text: Some("hello".into()),
                ..protocol::Draft::default()
            },
        })
        .await;
    let protocol::Outcome::Sent(sent) = outcome else {
        panic!("not sent: {outcome:?}");
    };
    // Postfix's own report, as it wrote it.
    let report = sink.wait_for("report-type=delivery-status");
    let text = String::from_utf8_lossy(&report);
    assert!(
        text.contains("MAILER-DAEMON@postfix.mailbridge.test")
            && text.contains("Diagnostic-Code: X-Postfix; mailbox unavailable")
            && text.contains(sent.message_id.as_str()),
        "{text}"
    );
    into_the_senders_inbox(&running, &report).await;

    let read = running
        .bridge
        .read_bounces(mailbridge::ops::SANDBOX_MAILBOX_ID)
        .await
        .expect("bounces read");
    assert_eq!(read.matched.len(), 1, "{read:#?}\n{text}");
    let bounce = &read.matched[0];
    assert_eq!(bounce.recipient, "gone@dead.example.net");
    assert_eq!(bounce.status, "5.1.1");
    assert_eq!(format!("<{}>", bounce.message_id), sent.message_id);
    assert_eq!(bounce.history_id, sent.history_id);
    assert!(bounce.suppressed, "{bounce:#?}");
    assert!(
        bounce
            .remote_text
            .as_deref()
            .is_some_and(|remote| remote.contains("mailbox unavailable")),
        "{bounce:#?}"
    );
    assert!(bounce.diagnosis.is_some(), "{bounce:#?}");
    let suppressed =
        std::fs::read_to_string(running.dir.path().join("data").join("suppressed.csv"))
            .expect("suppression list");
    assert!(suppressed.contains("gone@dead.example.net"), "{suppressed}");
    assert!(!suppressed.contains("ann@live.example.net"), "{suppressed}");
    drop(postfix);
    running.stop().await;
}

/// The page's operations over a real WebSocket: the mailboxes (the sandbox's there from the
/// start, a bad one refused by field, never a secret back), "send test and verify" giving
/// Inbox, the spam fault switched on from the page giving Spam, and "verify at" by Message-ID.
#[tokio::test]
async fn the_page_lists_mailboxes_sends_and_verifies_and_switches_the_spam_fault() {
    use protocol::{Operation as O, Outcome};
    let running = super::harness::start(
        "verify-ops",
        |_| {},
        mailbridge::server::ServeConfig::default(),
    )
    .await;
    let mut client = super::harness::Client::connect(&running).await;
    let profile = running.sandbox_profile(&mut client).await;
    let Outcome::Mailboxes { mailboxes } = client.ok(O::ListMailboxes).await else {
        panic!("no mailboxes");
    };
    assert_eq!(mailboxes.len(), 1, "{mailboxes:?}");
    assert_eq!(mailboxes[0].mailbox.id, "sandbox");
    assert_eq!(
        mailboxes[0].mailbox.port,
        running.sandbox().imap_addr().port()
    );
    assert_eq!(mailboxes[0].secret, protocol::SecretState::NotNeeded);

    let mut bad =
        profile::ReceivingMailbox::from_preset(profile::MailboxPreset::Gmail, "g", "G", "");
    bad.port = 0;
    let error = client
        .call(O::SaveMailbox { mailbox: bad })
        .await
        .result
        .expect_err("refused");
    let fields: Vec<&str> = error.problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(fields, ["port", "username"], "{error:?}");
    let gmail = profile::ReceivingMailbox::from_preset(
        profile::MailboxPreset::Gmail,
        "g",
        "G",
        "me@gmail.com",
    );
    client.ok(O::SaveMailbox { mailbox: gmail }).await;
    let Outcome::Mailboxes { mailboxes } = client
        .ok(O::SetMailboxSecret {
            id: "g".into(),
            secret: Secret::new("abcd efgh ijkl mnop"),
        })
        .await
    else {
        panic!("no mailboxes");
    };
    let json = serde_json::to_string(&mailboxes).expect("json");
    assert!(
        json.contains("\"stored\"") && !json.contains("abcd"),
        "{json}"
    );
    client.ok(O::DeleteMailbox { id: "g".into() }).await;

    let send_and_verify = O::SendAndVerify {
        profile: profile.id.clone(),
        mailboxes: vec!["sandbox".into()],
        draft: None,
        limit_seconds: Some(20),
    };
    let verdict_of = |outcome: Outcome| match outcome {
        Outcome::SentAndVerified { mut results } if results.len() == 1 => {
            let result = results.remove(0);
            assert!(
                matches!(result.send.as_deref(), Some(Outcome::Sent(_))),
                "{result:?}"
            );
            result
                .report
                .verdict
                .unwrap_or_else(|| panic!("{:?}", result.report.error))
        }
        other => panic!("{other:?}"),
    };
    let v = verdict_of(client.ok(send_and_verify.clone()).await);
    assert_eq!(
        (v.placement, v.tab),
        (Placement::Inbox, Some(Tab::Primary)),
        "{v:?}"
    );
    let Outcome::SandboxSpam { next } = client.ok(O::SetSandboxSpam { next: 1 }).await else {
        panic!("no fault");
    };
    assert_eq!(next, 1);
    let spam = verdict_of(client.ok(send_and_verify).await);
    assert_eq!(spam.placement, Placement::Spam, "{spam:?}");
    assert!(!spam.spam_causes.is_empty());

    let Outcome::Verified(report) = client
        .ok(O::Verify {
            mailbox: "Sandbox".into(),
            message_id: format!("<{}>", v.message_id),
            sent_at_unix_ms: None,
            limit_seconds: Some(5),
        })
        .await
    else {
        panic!("no verdict");
    };
    assert_eq!(report.verdict.map(|v| v.placement), Some(Placement::Inbox));
    running.stop().await;
}

/// "Verify at" on an ordinary send: refused, naming the field and the fix, when the
/// recipients lack the mailbox's address; with it among them (behind a display name, beside
/// another recipient) the message goes to both and the verdict comes back. Then the composed
/// message with an attachment, sent and verified at two mailboxes at once, arrives whole at
/// both (the upload is read once and let go after every send); and the mailboxes' team file
/// round-trips over the WebSocket without a secret.
#[tokio::test]
async fn verify_at_on_a_send_and_one_attachment_for_every_mailbox() {
    use protocol::{Draft, Operation as O, Outcome};
    let running = super::harness::start(
        "verify-at",
        |_| {},
        mailbridge::server::ServeConfig::default(),
    )
    .await;
    let mut client = super::harness::Client::connect(&running).await;
    let profile = running.sandbox_profile(&mut client).await;
    let draft = |to: Vec<String>| Draft {
        to,
        subject: "an ordinary send, verified".into(),
        text: Some("hello".into()),
        ..Draft::default()
    };
    let error = client
        .call(O::SendVerifyingAt {
            profile: profile.id.clone(),
            draft: draft(vec!["bob@example.com".into()]),
            mailbox: "sandbox".into(),
            limit_seconds: Some(5),
        })
        .await
        .result
        .expect_err("the mailbox is not a recipient");
    assert!(error.message.starts_with("verify_at:"), "{error}");
    assert!(
        error
            .fix
            .as_deref()
            .is_some_and(|f| f.contains(USER) && f.contains("To, Cc or Bcc")),
        "{error}"
    );
    assert_eq!(running.sandbox().store().count().expect("count"), 0);

    let Outcome::SentAndVerified { results } = client
        .ok(O::SendVerifyingAt {
            profile: profile.id.clone(),
            draft: draft(vec!["bob@example.com".into(), format!("Me <{USER}>")]),
            mailbox: "sandbox".into(),
            limit_seconds: Some(20),
        })
        .await
    else {
        panic!("no verdict");
    };
    let Some(Outcome::Sent(sent)) = results[0].send.as_deref() else {
        panic!("{results:?}");
    };
    assert_eq!(sent.recipients.len(), 2, "{sent:?}");
    assert_eq!(
        results[0].report.verdict.as_ref().map(|v| v.placement),
        Some(Placement::Inbox),
        "{results:?}"
    );

    // A second mailbox at the same sandbox, brought in by a team file as a colleague would.
    let Outcome::Exported { json, .. } = client.ok(O::ExportMailboxes).await else {
        panic!("no export");
    };
    assert!(json.contains("mailbridge-mailboxes"), "{json}");
    let team = json
        .replace("\"id\": \"sandbox\"", "\"id\": \"sandbox-2\"")
        .replace("\"preset\": \"sandbox\"", "\"preset\": \"custom\"")
        .replace("\"name\": \"Sandbox\"", "\"name\": \"Second\"");
    let error = client
        .call(O::ImportMailboxes {
            json: team.replace("\"port\": ", "\"port\": 0, \"_\": "),
        })
        .await
        .result
        .expect_err("a broken file");
    assert!(
        !error.problems.is_empty() || error.message.contains("mailboxes"),
        "{error}"
    );
    let Outcome::Mailboxes { mailboxes } = client.ok(O::ImportMailboxes { json: team }).await
    else {
        panic!("not imported");
    };
    assert_eq!(mailboxes.len(), 2, "{mailboxes:?}");
    client
        .ok(O::SetMailboxSecret {
            id: "sandbox-2".into(),
            secret: Secret::new(PASSWORD),
        })
        .await;
    let Outcome::Exported { json, .. } = client.ok(O::ExportMailboxes).await else {
        panic!("no export");
    };
    assert!(
        json.contains("sandbox-2") && !json.contains(PASSWORD),
        "{json}"
    );

    let before = running.sandbox().store().count().expect("count");
    let bytes: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();
    let attachment = client.upload("report.pdf", "application/pdf", &bytes).await;
    let Outcome::SentAndVerified { results } = client
        .ok(O::SendAndVerify {
            profile: profile.id.clone(),
            mailboxes: vec!["sandbox".into(), "sandbox-2".into()],
            draft: Some(Draft {
                attachments: vec![attachment.clone()],
                ..draft(vec!["ignored@example.com".into()])
            }),
            limit_seconds: Some(20),
        })
        .await
    else {
        panic!("no verdicts");
    };
    assert_eq!(results.len(), 2);
    for result in &results {
        assert!(
            matches!(result.send.as_deref(), Some(Outcome::Sent(_))),
            "{}: {result:?}",
            result.mailbox
        );
        assert_eq!(
            result.report.verdict.as_ref().map(|v| v.placement),
            Some(Placement::Inbox),
            "{}: {:?}",
            result.mailbox,
            result.report.error
        );
    }
    let store = running.sandbox().store();
    let fresh: Vec<_> = store
        .list()
        .expect("list")
        .into_iter()
        .take(store.count().expect("count") - before)
        .collect();
    assert_eq!(fresh.len(), 2, "one message per mailbox");
    for summary in fresh {
        let message = store.get(summary.id).expect("read").expect("there");
        assert_eq!(message.attachments.len(), 1, "{}", summary.id);
        assert_eq!(message.attachments[0].content, bytes, "byte for byte");
    }
    // The upload is let go after both sends.
    let error = client
        .call(O::Send {
            profile: profile.id.clone(),
            draft: Draft {
                attachments: vec![attachment],
                ..draft(vec!["bob@example.com".into()])
            },
        })
        .await
        .result
        .expect_err("the upload is gone");
    assert!(error.message.contains("upload"), "{error}");
    running.stop().await;
}
