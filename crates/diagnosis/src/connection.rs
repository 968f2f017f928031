//! Explanations for failures before or around the SMTP conversation: DNS, TCP, TLS, timeouts.

use crate::certificate::{CertificateInfo, is_google_host, near_miss};
use crate::diagnosis::{Diagnosis, Retry};
use crate::failure::{CertProblem, HandshakeProblem, Step};

/// Google's page with the server, port and TLS settings for sending from an app.
const SETTINGS_HELP: &str = "https://support.google.com/a/answer/176600";

/// Checks which of Gmail's two submission ports get through from this machine.
const PORT_TEST: &str = "Test which ports get through from this machine: `nc -vz smtp.gmail.com 587` \
    and `nc -vz smtp.gmail.com 465` (or `Test-NetConnection smtp.gmail.com -Port 587` in \
    PowerShell).";

/// Shows the certificate chain that actually arrives, interceptors included.
const SHOW_CERTIFICATE: &str = "See which certificate arrives: `openssl s_client -connect \
    smtp.gmail.com:465 -servername smtp.gmail.com` should show an issuer from Google Trust \
    Services (for example `O=Google Trust Services, CN=WR2`); any other issuer means something \
    on your machine or network is intercepting the connection.";

/// Why certificate checking must stay on.
const KEEP_CHECKING: &str = "Do not turn off certificate checking: whoever intercepts the \
    connection would then read your password. mailbridge has no such switch.";

pub(crate) fn dns(host: &str, detail: &str) -> Diagnosis {
    let check_name = format!(
        "Check the server name: Gmail's is `smtp.gmail.com` (Google Workspace relay: \
         `smtp-relay.gmail.com`); this connection asked for `{host}`."
    );
    let check_online = "Check that this machine is online and resolves names: `nslookup \
        smtp.gmail.com` should print IP addresses."
        .to_owned();
    let check_dns = "On a company network, VPN or container, check the DNS server setting (such \
        as /etc/resolv.conf, or the container's network): some networks only allow their own DNS \
        server."
        .to_owned();
    let what_happened = format!(
        "The name {host} could not be turned into an IP address, so no connection was made.{}",
        detail_sentence(detail)
    );
    // A name that is right cannot be a typo, whatever the resolver says: on an offline machine
    // even "Name or service not known" means no DNS server answered.
    if is_google_host(host) {
        return Diagnosis {
            title: format!(
                "Could not look up {host} (DNS): this machine seems offline, or its DNS is blocked"
            ),
            what_happened,
            likely_cause: format!(
                "{host} is the right name, and Google's DNS records for it always exist, so this \
                 machine could not ask a DNS server: it is offline (no network, Wi-Fi not \
                 connected, a captive portal not yet accepted), or a VPN, firewall or company DNS \
                 server blocks or filters the lookup."
            ),
            fix: vec![
                "Check that this machine is online, then try again: this is temporary.".to_owned(),
                check_online,
                check_dns,
            ],
            help_link: Some(SETTINGS_HELP.to_owned()),
            retry: Retry::Transient,
            reply: None,
        };
    }
    if let Some(right) = near_miss(host) {
        return Diagnosis {
            title: format!("Could not look up {host} (DNS): did you mean {right}?"),
            what_happened,
            likely_cause: format!(
                "{host} is not one of Google's server names; it looks like a typo for {right}."
            ),
            fix: vec![
                format!("Set the profile's server to `{right}`."),
                check_name,
            ],
            help_link: Some(SETTINGS_HELP.to_owned()),
            retry: Retry::Permanent,
            reply: None,
        };
    }
    let lowered = detail.to_lowercase();
    let no_such_name = [
        "not known",
        "nxdomain",
        "no such host",
        "does not exist",
        "not found",
    ]
    .iter()
    .any(|phrase| lowered.contains(phrase));
    let (likely_cause, retry) = if no_such_name {
        (
            format!(
                "The name {host} does not exist in DNS: most likely a typo in the server name. \
                 Gmail's server is smtp.gmail.com."
            ),
            Retry::Permanent,
        )
    } else {
        (
            "The machine could not reach a DNS server, or the DNS server failed: no network \
             connection, a VPN or firewall blocking DNS, or a broken resolver setting."
                .to_owned(),
            Retry::Transient,
        )
    };
    Diagnosis {
        title: format!("Could not look up {host} (DNS)"),
        what_happened,
        likely_cause,
        fix: vec![check_name, check_online, check_dns],
        help_link: Some(SETTINGS_HELP.to_owned()),
        retry,
        reply: None,
    }
}

/// The other of Gmail's two submission ports, as a fix step: networks often block only one.
fn other_port(port: u16) -> Option<String> {
    let (other, mode) = match port {
        587 => (465, "implicit TLS (often called 'SSL')"),
        465 => (587, "STARTTLS"),
        _ => return None,
    };
    Some(format!(
        "Try port {other} with {mode}: networks often block one of Gmail's submission ports but \
         not the other."
    ))
}

pub(crate) fn connection_refused(host: &str, port: u16) -> Diagnosis {
    let gmail = is_google_host(host);
    let likely_cause = if gmail && !matches!(port, 25 | 465 | 587) {
        format!(
            "Gmail's SMTP servers listen only on ports 465, 587 and 25; port {port} is not one of \
             them."
        )
    } else if gmail {
        format!(
            "Gmail accepts connections on port {port}, so the refusal most likely came from \
             something between you and Google: a local firewall, an antivirus mail shield, a \
             company proxy, or a provider that blocks outgoing mail ports."
        )
    } else if let Some(right) = near_miss(host) {
        format!(
            "{host} is not Gmail's SMTP server; it looks like a mistake for {right}, which \
             accepts mail on ports 587 and 465."
        )
    } else {
        format!(
            "Nothing is listening on {host}:{port}, or a firewall there rejects the connection. If \
             you meant to use Gmail, the server is smtp.gmail.com."
        )
    };
    let mut fix = Vec::new();
    if let Some(right) = near_miss(host) {
        fix.push(format!("Set the profile's server to `{right}`."));
    }
    fix.push(
        "Use smtp.gmail.com with port 587 (STARTTLS) or port 465 (implicit TLS, often called \
         'SSL')."
            .to_owned(),
    );
    fix.extend(other_port(port));
    fix.push(PORT_TEST.to_owned());
    fix.push(
        "If Gmail's ports are refused too, check the local firewall and antivirus, and ask your \
         network admin or hosting provider whether outgoing SMTP ports are blocked."
            .to_owned(),
    );
    Diagnosis {
        title: format!("Connection refused by {host}:{port}"),
        what_happened: format!(
            "The connection to {host}:{port} was refused straight away (a TCP reset), so no SMTP \
             conversation started."
        ),
        likely_cause,
        fix,
        help_link: Some(SETTINGS_HELP.to_owned()),
        retry: Retry::Permanent,
        reply: None,
    }
}

pub(crate) fn timeout(step: Step, seconds: u64) -> Diagnosis {
    let waited = format!("{seconds} s");
    match step {
        Step::Dns => Diagnosis {
            title: format!("DNS lookup timed out after {waited}"),
            what_happened: format!(
                "Looking up the server's name got no answer within {waited}, so no connection was \
                 made."
            ),
            likely_cause: "The DNS server is unreachable or very slow: no network, a VPN, or a \
                firewall blocking DNS."
                .to_owned(),
            fix: vec![
                "Check that this machine is online: `nslookup smtp.gmail.com` should answer at \
                 once."
                    .to_owned(),
                "Check the DNS server setting, or try another DNS server.".to_owned(),
            ],
            help_link: None,
            retry: Retry::Transient,
            reply: None,
        },
        Step::Tcp => Diagnosis {
            title: format!("Connecting timed out after {waited}"),
            what_happened: format!(
                "The TCP connection to the server got no answer within {waited}."
            ),
            likely_cause: "Outgoing connections to this port are silently dropped. Most home \
                providers, cloud hosts and company firewalls block port 25, and some block 465 or \
                587 as well (some cloud hosts do for new accounts). A wrong server address times \
                out the same way."
                .to_owned(),
            fix: vec![
                "If you use port 25, switch to port 587 (STARTTLS) or 465 (implicit TLS): port 25 \
                 is blocked on most networks."
                    .to_owned(),
                "If port 587 times out, try 465, and the other way round.".to_owned(),
                PORT_TEST.to_owned(),
                "If neither port gets through, ask your hosting provider or network admin to \
                 allow outgoing SMTP, or check the local firewall."
                    .to_owned(),
            ],
            help_link: Some(SETTINGS_HELP.to_owned()),
            retry: Retry::Transient,
            reply: None,
        },
        Step::Tls => Diagnosis {
            title: format!("TLS handshake timed out after {waited}"),
            what_happened: format!(
                "The connection was open, but the TLS handshake did not finish within {waited}."
            ),
            likely_cause: "Something on the path holds the encrypted connection: an antivirus or \
                company proxy that inspects TLS, or a network that drops large packets."
                .to_owned(),
            fix: vec![
                "Check the port and encryption pair: port 465 with implicit TLS, or port 587 \
                 with STARTTLS."
                    .to_owned(),
                "Turn off the antivirus's email or 'HTTPS/SSL scanning' for this program, and try \
                 again."
                    .to_owned(),
                SHOW_CERTIFICATE.to_owned(),
            ],
            help_link: Some(SETTINGS_HELP.to_owned()),
            retry: Retry::Transient,
            reply: None,
        },
        Step::Greeting => Diagnosis {
            title: format!("No greeting from the server after {waited}"),
            what_happened: format!(
                "The connection was open, but the server's `220` greeting did not arrive within \
                 {waited}."
            ),
            likely_cause: "Usually an encryption mismatch on port 465: there Gmail expects TLS \
                from the first byte and says nothing until the handshake is done, while a client \
                set to STARTTLS waits for a plain-text greeting, so both sides wait. Less often a \
                firewall or antivirus that inspects SMTP holds the greeting back."
                .to_owned(),
            fix: vec![
                "On port 465, set the client to implicit TLS (often labelled 'SSL', 'SSL/TLS' or \
                 `secure: true`)."
                    .to_owned(),
                "Or keep STARTTLS and connect to port 587 instead.".to_owned(),
                "If the settings are right, test with `openssl s_client -connect \
                 smtp.gmail.com:465 -servername smtp.gmail.com`, which should print a `220 \
                 smtp.gmail.com ESMTP` line; if it does not, something on the path is holding the \
                 connection."
                    .to_owned(),
            ],
            help_link: Some(SETTINGS_HELP.to_owned()),
            retry: Retry::Permanent,
            reply: None,
        },
        Step::Data => Diagnosis {
            title: format!("Sending the message timed out after {waited}"),
            what_happened: format!(
                "The server did not confirm the message within {waited} while it was being sent \
                 or checked after the final dot."
            ),
            likely_cause: "A large message over a slow upload, a timeout set shorter than the \
                server needs to scan the message, or a connection dropped on the way."
                .to_owned(),
            fix: vec![
                "Allow more time for the reply after the message: RFC 5321 suggests waiting up to \
                 10 minutes for it."
                    .to_owned(),
                "Make large messages smaller, or send a link instead of big attachments."
                    .to_owned(),
                "Before resending, check the Sent folder or the recipient: if the server accepted \
                 the message just before the timeout, resending delivers it twice."
                    .to_owned(),
            ],
            help_link: None,
            retry: Retry::Transient,
            reply: None,
        },
        Step::Quit => Diagnosis {
            title: format!("Closing the connection timed out after {waited} (harmless)"),
            what_happened: format!("The server did not answer QUIT within {waited}."),
            likely_cause: "The server, or something on the path, closed the connection without \
                answering QUIT. Any message that got a 250 reply after DATA was already accepted."
                .to_owned(),
            fix: vec![
                "Nothing to resend: a message is delivered once the server answers 250 after \
                 DATA."
                    .to_owned(),
                "Treat a QUIT timeout as success and just close the connection.".to_owned(),
            ],
            help_link: None,
            retry: Retry::Permanent,
            reply: None,
        },
        Step::Ehlo | Step::StartTls | Step::Auth | Step::Mail | Step::Rcpt => Diagnosis {
            title: format!("Server stopped answering at {step} after {waited}"),
            what_happened: format!("The server did not answer {step} within {waited}."),
            likely_cause: "The connection went dead in between: an idle connection cut by a \
                router, firewall or the server itself (common with pooled connections), or a very \
                slow network. A firewall or antivirus that inspects SMTP can also stall commands."
                .to_owned(),
            fix: vec![
                "Reconnect and try again; nothing was sent if the message never got a 250 reply \
                 after DATA."
                    .to_owned(),
                "In a connection pool, close connections idle for more than a minute, or check \
                 them with NOOP before use."
                    .to_owned(),
                "If it stalls at the same step every time, look for a firewall or antivirus that \
                 inspects mail traffic, or use port 465 with implicit TLS, which it cannot read."
                    .to_owned(),
            ],
            help_link: None,
            retry: Retry::Transient,
            reply: None,
        },
    }
}

/// A certificate that was not trusted, with what is known around it.
pub(crate) struct Presented<'a> {
    pub problem: CertProblem,
    pub detail: &'a str,
    /// The name it was checked against; empty when not known.
    pub host: &'a str,
    /// Leaf first; empty when not recorded.
    pub chain: &'a [CertificateInfo],
    pub checked_at: Option<&'a str>,
}

pub(crate) fn tls_certificate(presented: &Presented<'_>) -> Diagnosis {
    let Presented {
        problem,
        detail,
        host,
        chain,
        checked_at,
    } = *presented;
    let server = if host.is_empty() { "the server" } else { host };
    let google = is_google_host(host);
    let clock = checked_at.unwrap_or("unknown");
    let Some(leaf) = chain.first() else {
        return unexplained_certificate(problem, detail);
    };
    let fingerprint = if leaf.sha256.is_empty() {
        String::new()
    } else {
        format!(" (SHA-256 {})", leaf.sha256)
    };
    let intercepted = format!(
        "{server}'s certificates are always issued by Google Trust Services, so something on \
         this machine or network is intercepting the encrypted connection and presenting its \
         own: an antivirus with email protection or 'HTTPS/SSL scanning' (Avast, AVG, Kaspersky, \
         ESET, Bitdefender and others; their roots have names such as \"Mail Shield\"), a \
         company proxy that inspects TLS, or a captive portal."
    );
    let turn_off_scanning = format!(
        "In the antivirus, turn off email protection or 'HTTPS/SSL scanning' (also called \
         'encrypted connection scanning'), or add an exception for {server}; on a company \
         network, ask IT to exempt {server} from TLS inspection. Then try again."
    );
    let extra_ca = format!(
        "If {server} is your company's relay or a test server with its own certificate \
         authority, put that CA's certificate (PEM) in the profile's \"Extra trusted CA\" field, \
         after checking its SHA-256 fingerprint with whoever runs the server."
    );
    let never_for_gmail = "Never add an extra trusted CA for Gmail: smtp.gmail.com's \
        certificates come from Google Trust Services, which every up-to-date system trusts, so \
        needing one there means the connection is intercepted."
        .to_owned();
    let (title, cause, fix) = match problem {
        CertProblem::UnknownIssuer => {
            let root = chain.last().map_or(leaf.issuer.as_str(), |top| &top.issuer);
            if google && !leaf.issued_by_google() {
                (
                    format!(
                        "Something is intercepting the connection to {server}: its certificate \
                         was issued by \"{}\"",
                        leaf.issuer
                    ),
                    intercepted,
                    vec![
                        turn_off_scanning,
                        SHOW_CERTIFICATE.to_owned(),
                        KEEP_CHECKING.to_owned(),
                    ],
                )
            } else if google {
                (
                    format!("This machine does not trust {server}'s certificate authority"),
                    format!(
                        "The certificate comes from Google Trust Services, but this machine's \
                         list of trusted authorities does not include \"{root}\": the list is \
                         outdated."
                    ),
                    vec![
                        "Update the trusted certificates (for example the ca-certificates \
                         package), or the operating system."
                            .to_owned(),
                        KEEP_CHECKING.to_owned(),
                    ],
                )
            } else {
                (
                    format!(
                        "TLS certificate from an unknown issuer: \"{root}\" is not trusted on \
                         this machine"
                    ),
                    format!(
                        "The chain {server} presented ends at \"{root}\", which is neither among \
                         this machine's trusted authorities nor the profile's extra trusted CA. \
                         Company relays and test servers with their own CA do this; so does \
                         something on this machine or network that intercepts the connection \
                         (an antivirus or a proxy)."
                    ),
                    vec![
                        extra_ca,
                        format!(
                            "If you did not expect the issuer \"{root}\", something may be \
                             intercepting the connection: {turn_off_scanning}"
                        ),
                        never_for_gmail,
                        KEEP_CHECKING.to_owned(),
                    ],
                )
            }
        }
        CertProblem::SelfSigned => (
            format!(
                "The server presented a self-signed certificate (\"{}\")",
                leaf.subject
            ),
            if google {
                format!("The certificate is signed by itself, not by an authority. {intercepted}")
            } else {
                format!(
                    "The certificate {server} presented is signed by itself{fingerprint}, not by \
                     an authority this machine trusts. Test servers, the mailbridge sandbox and \
                     some company relays use one; anywhere else it can mean the connection is \
                     intercepted."
                )
            },
            if google {
                vec![turn_off_scanning, never_for_gmail, KEEP_CHECKING.to_owned()]
            } else {
                vec![
                    format!(
                        "For a company relay or the sandbox, put this certificate (or the CA \
                         that signed it) in the profile's \"Extra trusted CA\" field, after \
                         checking its fingerprint{fingerprint} with whoever runs the server. The \
                         sandbox's profile has its CA already."
                    ),
                    never_for_gmail,
                    KEEP_CHECKING.to_owned(),
                ]
            },
        ),
        CertProblem::Expired => (
            format!("TLS certificate expired on {}", leaf.not_after),
            format!(
                "The certificate is valid from {} to {}, and this machine's clock says {clock}. \
                 {}",
                leaf.not_before,
                leaf.not_after,
                if google {
                    "Google renews its certificates weeks before they expire, so either this \
                     machine's clock is wrong or an interceptor presents an old certificate."
                } else {
                    "If the clock is right, the server's certificate has run out and its \
                     administrator must renew it; otherwise this machine's clock is wrong."
                }
            ),
            vec![
                "Check the date, time and time zone of this machine, and turn on automatic time \
                 synchronisation (NTP)."
                    .to_owned(),
                format!(
                    "If the clock is right, tell whoever runs {server} that its certificate \
                     expired on {}.",
                    leaf.not_after
                ),
                KEEP_CHECKING.to_owned(),
            ],
        ),
        CertProblem::NotYetValid => (
            format!("TLS certificate not valid until {}", leaf.not_before),
            format!(
                "The certificate is valid from {} to {}, and this machine's clock says {clock}, \
                 which is before it starts. Usually this machine's clock is behind (a device \
                 without a clock battery, a container or virtual machine restored from an old \
                 snapshot); less often the server installed a certificate dated in the future.",
                leaf.not_before, leaf.not_after
            ),
            vec![
                "Check the date, time and time zone of this machine, and turn on automatic time \
                 synchronisation (NTP)."
                    .to_owned(),
                format!(
                    "If the clock is right, tell whoever runs {server} that its certificate only \
                     starts on {}.",
                    leaf.not_before
                ),
            ],
        ),
        CertProblem::NameMismatch => {
            let names = if leaf.names.is_empty() {
                leaf.subject.clone()
            } else {
                leaf.names.join(", ")
            };
            (
                format!("TLS certificate is for a different host name than {server}"),
                format!(
                    "The profile connects to {server}, but the certificate covers only {names}. \
                     Connecting by IP address or under another name for the same server does \
                     this{}",
                    if google {
                        "; for Gmail it means something presents its own certificate in Google's \
                         place."
                    } else {
                        "."
                    }
                ),
                vec![
                    format!(
                        "If one of {names} is the server you mean, set the profile's server to \
                         that name."
                    ),
                    "For Gmail, connect to the name `smtp.gmail.com` (or \
                     `smtp-relay.gmail.com`), not to an IP address."
                        .to_owned(),
                    KEEP_CHECKING.to_owned(),
                ],
            )
        }
        CertProblem::Other => return unexplained_certificate(problem, detail),
    };
    let more = match chain.len() {
        0 | 1 => String::new(),
        2 => " and 1 more certificate".to_owned(),
        n => format!(" and {} more certificates", n - 1),
    };
    Diagnosis {
        title,
        what_happened: format!(
            "The TLS handshake stopped because mailbridge did not trust the certificate {server} \
             presented, so no password or message was sent. It presented {leaf}{more}.{}",
            detail_sentence(detail)
        ),
        likely_cause: cause,
        fix,
        help_link: None,
        retry: Retry::Permanent,
        reply: None,
    }
}

/// A certificate failure without the presented chain, or of a kind with no better words.
fn unexplained_certificate(problem: CertProblem, detail: &str) -> Diagnosis {
    let (title, cause, fix) = match problem {
        CertProblem::UnknownIssuer | CertProblem::SelfSigned => (
            "TLS certificate from an unknown issuer: is something intercepting the connection?",
            "Google's certificates are signed by Google Trust Services, which every up-to-date \
             system trusts, so an unknown issuer almost always means something on your machine or \
             network is intercepting the encrypted connection: an antivirus with email protection \
             or 'HTTPS/SSL scanning' (Avast, AVG, Kaspersky, ESET, Bitdefender and others), a \
             company proxy that inspects TLS, or a captive portal. Errors such as 'self signed \
             certificate in certificate chain' mean the same. An old system with an outdated list \
             of trusted authorities is the other cause.",
            vec![
                "In the antivirus, turn off email protection or 'HTTPS/SSL scanning' (also called \
                 'encrypted connection scanning'), or add an exception for smtp.gmail.com, then \
                 try again.",
                "On a company network, ask IT to exempt smtp.gmail.com from TLS inspection, or \
                 configure the client to trust the company's root certificate explicitly.",
                SHOW_CERTIFICATE,
                "On an old system, update the trusted certificates (for example the \
                 ca-certificates package).",
                KEEP_CHECKING,
            ],
        ),
        CertProblem::Expired | CertProblem::NotYetValid => (
            "TLS certificate reported as expired or not yet valid: check this machine's clock",
            "Google renews its certificates weeks before they expire, so the usual cause is a \
             wrong date or time on this machine; less often an antivirus or proxy intercepting \
             the connection with an old certificate of its own.",
            vec![
                "Check the date, time and time zone of this machine, and turn on automatic time \
                 synchronisation (NTP).",
                "On devices without a clock battery (such as a Raspberry Pi) or containers started \
                 from an old snapshot, make sure the time is synchronised before sending.",
                SHOW_CERTIFICATE,
            ],
        ),
        CertProblem::NameMismatch => (
            "TLS certificate is for a different host name",
            "The client connected by IP address or under a name the certificate does not cover \
             (Gmail's certificate names smtp.gmail.com), did not send the name in the handshake \
             (SNI), or an interceptor presented its own certificate.",
            vec![
                "Connect to the name `smtp.gmail.com` (or `smtp-relay.gmail.com`), not to an IP \
                 address or a name of your own that points to Google.",
                "Make sure the client sends that server name (SNI) in the TLS handshake and checks \
                 the certificate against the same name.",
                SHOW_CERTIFICATE,
            ],
        ),
        CertProblem::Other => (
            "TLS certificate rejected",
            "The client did not accept the server's certificate. A wrong clock, an outdated list \
             of trusted authorities, or a program intercepting TLS are the usual causes.",
            vec![
                "Check this machine's date and time.",
                "Update the trusted certificates (for example the ca-certificates package).",
                SHOW_CERTIFICATE,
            ],
        ),
    };
    Diagnosis {
        title: title.to_owned(),
        what_happened: format!(
            "The TLS handshake stopped because the client did not trust the server's certificate, \
             so no password or message was sent.{}",
            detail_sentence(detail)
        ),
        likely_cause: cause.to_owned(),
        fix: fix.into_iter().map(str::to_owned).collect(),
        help_link: None,
        retry: Retry::Permanent,
        reply: None,
    }
}

/// Tells the kind of a handshake failure from the TLS library's words, for failures recorded
/// without one.
fn classify(detail: &str) -> HandshakeProblem {
    let lowered = detail.to_lowercase();
    let mentions = |phrases: &[&str]| phrases.iter().any(|phrase| lowered.contains(phrase));
    if mentions(&[
        "wrong version number",
        "invalidcontenttype",
        "invalid content type",
        "corrupt message",
        "unknown protocol",
        "packet length too long",
    ]) {
        HandshakeProblem::NotTls
    } else if mentions(&["eof", "reset", "closed", "broken pipe", "aborted"]) {
        HandshakeProblem::Cut
    } else if mentions(&[
        "protocol version",
        "protocolversion",
        "no protocols",
        "unsupported protocol",
        "tls12or13",
        "tlsversion",
    ]) {
        HandshakeProblem::OldVersion
    } else if mentions(&[
        "no shared cipher",
        "no cipher",
        "nociphersuitesincommon",
        "handshake failure",
        "handshakefailure",
        "insufficient security",
        "insufficientsecurity",
        "in common",
    ]) {
        HandshakeProblem::NoSharedCipher
    } else {
        HandshakeProblem::Unknown
    }
}

pub(crate) fn tls_handshake(detail: &str, problem: HandshakeProblem) -> Diagnosis {
    let problem = match problem {
        HandshakeProblem::Unknown => classify(detail),
        known => known,
    };
    let (title, cause, fix, retry): (&str, &str, &[&str], Retry) = match problem {
        HandshakeProblem::NotTls => (
            "TLS handshake failed: TLS sent to a plain-text port",
            "The client started TLS at once (implicit TLS) on a port where SMTP starts in plain \
             text: port 587 (and 25) begin unencrypted and switch with STARTTLS. Errors such as \
             'wrong version number' come from reading Gmail's plain `220` greeting as TLS.",
            &[
                "On port 587, set the client to STARTTLS (often `secure: false` with STARTTLS or \
                 'require TLS' on).",
                "Or keep implicit TLS (often called 'SSL') and connect to port 465.",
            ],
            Retry::Permanent,
        ),
        HandshakeProblem::Cut => (
            "Connection dropped during the TLS handshake",
            "The connection was cut in the middle of the handshake: a flaky network, or a \
             middlebox (a firewall, proxy or antivirus that inspects TLS) that gave up or does \
             not like what it saw.",
            &[
                "Try again; if it keeps failing, turn off the antivirus's email or 'HTTPS/SSL \
                 scanning' for this program, or ask the network admin about TLS inspection.",
                "Check the port and encryption pair: port 465 with implicit TLS, or port 587 with \
                 STARTTLS.",
            ],
            Retry::Transient,
        ),
        HandshakeProblem::OldVersion => (
            "The server's TLS version is too old: it speaks only TLS 1.1 or older",
            "mailbridge accepts TLS 1.2 and TLS 1.3 only, and the server accepts only older \
             versions (TLS 1.0 or 1.1): it answered with an older version or a `protocol_version` \
             alert. TLS 1.0 and 1.1 are broken and retired (RFC 8996), so they stay refused; \
             there is no setting to allow them. Gmail's servers speak TLS 1.2 and 1.3, so this \
             happens with old company relays, or with something in between that downgrades the \
             connection.",
            &[
                "Ask whoever runs the server to turn on TLS 1.2 or 1.3 (any TLS library from the \
                 last ten years has them).",
                "For Gmail, connect to smtp.gmail.com directly: a device that answers in its place \
                 with TLS 1.0 or 1.1 is an old proxy or antivirus intercepting the connection.",
            ],
            Retry::Permanent,
        ),
        HandshakeProblem::NoSharedCipher => (
            "No shared TLS cipher: the server and mailbridge agree on no cipher suite",
            "The server accepts a TLS version mailbridge speaks (1.2 or 1.3) but none of its \
             cipher suites or key exchanges: mailbridge offers only modern ones (AES-GCM and \
             ChaCha20-Poly1305 with ECDHE), and the server is limited to old ones (RC4, 3DES, \
             CBC with RSA key exchange), or its certificate's key type is unusual. Gmail supports \
             the modern suites, so for Gmail it means something in between answers instead.",
            &[
                "Ask whoever runs the server to enable TLS 1.2 or 1.3 with ECDHE and AES-GCM or \
                 ChaCha20-Poly1305.",
                "For Gmail, turn off any antivirus or proxy feature that inspects mail traffic.",
            ],
            Retry::Permanent,
        ),
        HandshakeProblem::Unknown => (
            "TLS handshake failed",
            "The client and the server could not set up encryption. A mismatch between port and \
             encryption mode, an intercepting antivirus or proxy, and an outdated TLS library are \
             the usual causes.",
            &[
                "Check the port and encryption pair: port 465 with implicit TLS, or port 587 with \
                 STARTTLS.",
                "Turn off the antivirus's email or 'HTTPS/SSL scanning' for this program, and try \
                 again.",
                "Update the program or its TLS library.",
            ],
            Retry::Permanent,
        ),
    };
    Diagnosis {
        title: title.to_owned(),
        what_happened: format!(
            "The TLS handshake with the server failed, so no password or message was sent.{}",
            detail_sentence(detail)
        ),
        likely_cause: cause.to_owned(),
        fix: fix.iter().map(|step| (*step).to_owned()).collect(),
        help_link: Some(SETTINGS_HELP.to_owned()),
        retry,
        reply: None,
    }
}

pub(crate) fn no_starttls(host: &str, port: u16) -> Diagnosis {
    let likely_cause = if port == 465 {
        "Port 465 uses implicit TLS: the connection is already encrypted before SMTP starts, so \
         the server does not offer STARTTLS there. The client is set to require STARTTLS on the \
         wrong port."
            .to_owned()
    } else if is_google_host(host) {
        format!(
            "{host} always offers STARTTLS before encryption, so something between you and Google \
             removed it from the EHLO reply: a firewall with SMTP inspection (some show it as \
             `XXXXXXXA`), an antivirus mail shield, or a provider that intercepts mail ports."
        )
    } else {
        format!(
            "{host} does not support STARTTLS, or something on the path removed it. If you meant \
             to use Gmail, the server is smtp.gmail.com."
        )
    };
    let mut fix = Vec::new();
    if port == 465 {
        fix.push(
            "On port 465, set the client to implicit TLS (often 'SSL'), not STARTTLS.".to_owned(),
        );
    } else {
        fix.push(
            "Connect to port 465 with implicit TLS instead: encryption starts before any SMTP, \
             so nothing on the path can remove it."
                .to_owned(),
        );
        fix.push(
            "Ask the network admin to turn off SMTP or ESMTP inspection for smtp.gmail.com, or \
             turn off the antivirus's mail scanning."
                .to_owned(),
        );
    }
    fix.push(
        "Do not let the client go on without TLS: the password and the message would cross the \
         network in clear text."
            .to_owned(),
    );
    Diagnosis {
        title: format!("{host}:{port} did not offer STARTTLS"),
        what_happened: format!(
            "The EHLO reply from {host}:{port} did not list STARTTLS, so the client stopped rather \
             than send the password and the message unencrypted."
        ),
        likely_cause,
        fix,
        help_link: Some(SETTINGS_HELP.to_owned()),
        retry: Retry::Permanent,
        reply: None,
    }
}

/// The library's own error text, quoted, so the user can search for it.
fn detail_sentence(detail: &str) -> String {
    let detail = detail.trim();
    if detail.is_empty() {
        String::new()
    } else {
        format!(" The error was: \"{detail}\".")
    }
}
