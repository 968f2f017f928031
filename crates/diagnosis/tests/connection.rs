//! Failures before or around the SMTP conversation: DNS, TCP, TLS, timeouts, missing STARTTLS.

use diagnosis::{CertProblem, CertificateInfo, Failure, HandshakeProblem, Retry, Step, diagnose};

use crate::support::check_failure;

fn dns(host: &str, detail: &str) -> Failure {
    Failure::Dns {
        host: host.to_owned(),
        detail: detail.to_owned(),
    }
}

fn refused(host: &str, port: u16) -> Failure {
    Failure::ConnectionRefused {
        host: host.to_owned(),
        port,
    }
}

fn timeout(step: Step) -> Failure {
    Failure::Timeout { step, seconds: 30 }
}

fn certificate(problem: CertProblem, detail: &str) -> Failure {
    Failure::TlsCertificate {
        problem,
        detail: detail.to_owned(),
        host: String::new(),
        chain: Vec::new(),
        checked_at: None,
    }
}

/// A certificate problem as the bridge records it: the host, the presented chain, the clock.
fn presented(problem: CertProblem, host: &str, cert: CertificateInfo) -> Failure {
    Failure::TlsCertificate {
        problem,
        detail: "invalid peer certificate".to_owned(),
        host: host.to_owned(),
        chain: vec![cert],
        checked_at: Some("2026-05-01T12:00:00Z".to_owned()),
    }
}

fn cert(subject: &str, issuer: &str, names: &[&str]) -> CertificateInfo {
    CertificateInfo {
        subject: subject.to_owned(),
        issuer: issuer.to_owned(),
        not_before: "2025-01-01T00:00:00Z".to_owned(),
        not_after: "2026-01-01T00:00:00Z".to_owned(),
        sha256: "AA:BB:CC".to_owned(),
        names: names.iter().map(|name| (*name).to_owned()).collect(),
    }
}

fn handshake(detail: &str) -> Failure {
    Failure::TlsHandshake {
        detail: detail.to_owned(),
        problem: HandshakeProblem::Unknown,
    }
}

fn handshake_of(problem: HandshakeProblem) -> Failure {
    Failure::TlsHandshake {
        detail: "x".to_owned(),
        problem,
    }
}

fn no_starttls(host: &str, port: u16) -> Failure {
    Failure::NoStartTls {
        host: host.to_owned(),
        port,
    }
}

/// One test per case: `name: failure, fragment of the expected title, expected retry, [phrases
/// the diagnosis must mention];`.
macro_rules! cases {
    ($($name:ident: $failure:expr, $title:expr, $retry:ident, [$($mention:expr),*];)*) => {
        $(
            #[test]
            fn $name() {
                check_failure(&$failure, $title, Retry::$retry, &[$($mention),*]);
            }
        )*
    };
}

cases! {
    dns_temporary: dns("smtp.gmail.com", "failed to lookup address information: Temporary failure in name resolution"), "Could not look up smtp.gmail.com", Transient, ["nslookup", "Temporary failure in name resolution"];
    dns_typo: dns("smtp.gmail.con", "failed to lookup address information: Name or service not known"), "Could not look up smtp.gmail.con", Permanent, ["typo", "smtp.gmail.com"];
    dns_no_such_host: dns("smtp.gmial.com", "No such host is known. (os error 11001)"), "DNS", Permanent, ["smtp.gmial.com"];
    refused_on_gmail_port: refused("smtp.gmail.com", 587), "Connection refused by smtp.gmail.com:587", Permanent, ["firewall", "antivirus", "465", "nc -vz smtp.gmail.com 587"];
    refused_on_wrong_port: refused("smtp.gmail.com", 2525), "smtp.gmail.com:2525", Permanent, ["port 2525 is not one of them", "587", "465"];
    refused_elsewhere: refused("localhost", 1025), "Connection refused by localhost:1025", Permanent, ["Nothing is listening on localhost:1025", "smtp.gmail.com"];
    timeout_dns: timeout(Step::Dns), "DNS lookup timed out after 30 s", Transient, ["nslookup"];
    timeout_connecting: timeout(Step::Tcp), "Connecting timed out after 30 s", Transient, ["port 25", "587", "465", "STARTTLS", "implicit TLS", "nc -vz"];
    timeout_tls: timeout(Step::Tls), "TLS handshake timed out", Transient, ["HTTPS/SSL scanning", "465", "587"];
    timeout_greeting: timeout(Step::Greeting), "No greeting", Permanent, ["port 465", "implicit TLS", "secure: true", "587"];
    timeout_ehlo: timeout(Step::Ehlo), "stopped answering at EHLO", Transient, ["Reconnect", "NOOP"];
    timeout_starttls: timeout(Step::StartTls), "stopped answering at STARTTLS", Transient, ["Reconnect"];
    timeout_auth: timeout(Step::Auth), "stopped answering at AUTH", Transient, ["Reconnect"];
    timeout_mail: timeout(Step::Mail), "stopped answering at MAIL FROM", Transient, ["Reconnect"];
    timeout_rcpt: timeout(Step::Rcpt), "stopped answering at RCPT TO", Transient, ["Reconnect"];
    timeout_data: timeout(Step::Data), "Sending the message timed out", Transient, ["twice", "10 minutes"];
    timeout_quit: timeout(Step::Quit), "harmless", Permanent, ["already accepted"];
    certificate_unknown_issuer: certificate(CertProblem::UnknownIssuer, "invalid peer certificate: UnknownIssuer"), "unknown issuer", Permanent, ["antivirus", "HTTPS/SSL scanning", "Google Trust Services", "self signed certificate in certificate chain", "Do not turn off certificate checking", "invalid peer certificate: UnknownIssuer"];
    certificate_expired: certificate(CertProblem::Expired, "invalid peer certificate: Expired"), "expired", Permanent, ["clock", "NTP"];
    certificate_name_mismatch: certificate(CertProblem::NameMismatch, "invalid peer certificate: NotValidForName"), "different host name", Permanent, ["IP address", "smtp.gmail.com", "SNI"];
    certificate_other: certificate(CertProblem::Other, ""), "TLS certificate rejected", Permanent, ["date and time"];
    handshake_to_plain_port: handshake("error:0A00010B:SSL routines:ssl3_get_record:wrong version number"), "plain-text port", Permanent, ["port 587", "STARTTLS", "465"];
    handshake_rustls_plain_port: handshake("received corrupt message of type InvalidContentType"), "plain-text port", Permanent, ["587"];
    handshake_dropped: handshake("tls handshake eof"), "dropped during the TLS handshake", Transient, ["antivirus"];
    handshake_no_cipher_text: handshake("peer is incompatible: no shared cipher / handshake failure"), "No shared TLS cipher", Permanent, ["TLS 1.2", "AES-GCM"];
    handshake_old_tls_text: handshake("received fatal alert: ProtocolVersion"), "TLS version is too old", Permanent, ["TLS 1.2 and TLS 1.3 only", "stay refused"];
    handshake_old_tls: handshake_of(HandshakeProblem::OldVersion), "TLS version is too old", Permanent, ["TLS 1.0 or 1.1", "RFC 8996", "no setting"];
    handshake_no_cipher: handshake_of(HandshakeProblem::NoSharedCipher), "No shared TLS cipher", Permanent, ["cipher suite"];
    handshake_cut: handshake_of(HandshakeProblem::Cut), "dropped during the TLS handshake", Transient, ["middlebox"];
    handshake_not_tls: handshake_of(HandshakeProblem::NotTls), "plain-text port", Permanent, ["STARTTLS"];
    interceptor_on_gmail: presented(CertProblem::UnknownIssuer, "smtp.gmail.com", cert("CN=smtp.gmail.com", "CN=Mail Shield Root, O=Avast", &["smtp.gmail.com"])), "Something is intercepting the connection to smtp.gmail.com", Permanent, ["\"CN=Mail Shield Root, O=Avast\"", "Google Trust Services", "AA:BB:CC"];
    unknown_ca_on_relay: presented(CertProblem::UnknownIssuer, "relay.example.com", cert("CN=relay.example.com", "CN=Example Corp CA", &[])), "\"CN=Example Corp CA\" is not trusted", Permanent, ["Extra trusted CA", "intercept"];
    self_signed_relay: presented(CertProblem::SelfSigned, "relay.example.com", cert("CN=relay.example.com", "CN=relay.example.com", &[])), "self-signed certificate (\"CN=relay.example.com\")", Permanent, ["Extra trusted CA", "sandbox", "Never add an extra trusted CA for Gmail", "AA:BB:CC"];
    self_signed_gmail: presented(CertProblem::SelfSigned, "smtp.gmail.com", cert("CN=smtp.gmail.com", "CN=smtp.gmail.com", &[])), "self-signed", Permanent, ["intercepting"];
    expired_with_dates: presented(CertProblem::Expired, "relay.example.com", cert("CN=relay.example.com", "CN=CA", &[])), "expired on 2026-01-01T00:00:00Z", Permanent, ["clock says 2026-05-01T12:00:00Z", "2025-01-01T00:00:00Z", "NTP", "renew"];
    not_yet_valid_with_dates: presented(CertProblem::NotYetValid, "relay.example.com", cert("CN=relay.example.com", "CN=CA", &[])), "not valid until 2025-01-01T00:00:00Z", Permanent, ["clock says 2026-05-01T12:00:00Z", "NTP"];
    wrong_name_lists_names: presented(CertProblem::NameMismatch, "mail.example.com", cert("CN=other.example.net", "CN=CA", &["other.example.net", "www.example.net"])), "different host name than mail.example.com", Permanent, ["other.example.net, www.example.net"];
    dns_offline_for_a_right_name: dns("smtp.gmail.com", "failed to lookup address information: Name or service not known"), "offline", Transient, ["smtp.gmail.com is the right name", "Name or service not known"];
    dns_offline_for_the_relay: dns("smtp-relay.gmail.com", "No such host is known. (os error 11001)"), "offline, or its DNS is blocked", Transient, ["VPN"];
    dns_near_miss_google: dns("smtp.google.com", "failed to lookup address information: Name or service not known"), "did you mean smtp.gmail.com?", Permanent, ["typo"];
    dns_unknown_elsewhere: dns("mail.example.org", "failed to lookup address information: Name or service not known"), "Could not look up mail.example.org", Permanent, ["typo"];
    refused_587_suggests_465: refused("smtp.gmail.com", 587), "refused", Permanent, ["Try port 465 with implicit TLS"];
    refused_465_suggests_587: refused("smtp.gmail.com", 465), "refused", Permanent, ["Try port 587 with STARTTLS"];
    refused_near_miss: refused("gmail.com", 587), "refused", Permanent, ["Set the profile's server to `smtp.gmail.com`"];
    handshake_other: handshake("bad record mac"), "TLS handshake failed", Permanent, ["bad record mac", "465", "587"];
    no_starttls_on_587: no_starttls("smtp.gmail.com", 587), "smtp.gmail.com:587 did not offer STARTTLS", Permanent, ["firewall", "port 465", "clear text"];
    no_starttls_on_465: no_starttls("smtp.gmail.com", 465), "did not offer STARTTLS", Permanent, ["implicit TLS", "wrong port"];
    no_starttls_elsewhere: no_starttls("mail.example.com", 25), "mail.example.com:25", Permanent, ["does not support STARTTLS", "smtp.gmail.com"];
}

#[test]
fn connection_failures_quote_no_reply() {
    let failures = [
        dns("smtp.gmail.com", "x"),
        refused("smtp.gmail.com", 465),
        timeout(Step::Tcp),
        certificate(CertProblem::Expired, "x"),
        handshake("x"),
        no_starttls("smtp.gmail.com", 587),
    ];
    for failure in failures {
        assert_eq!(diagnose(&failure).reply, None, "{failure:?}");
    }
}

#[test]
fn the_seconds_waited_are_reported() {
    let diagnosis = diagnose(&Failure::Timeout {
        step: Step::Tcp,
        seconds: 95,
    });
    assert!(diagnosis.title.contains("95 s"), "{diagnosis}");
    assert!(diagnosis.what_happened.contains("95 s"), "{diagnosis}");
}
