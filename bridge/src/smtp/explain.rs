//! Explanations for the engine's failures that `diagnosis::Failure` has no variant for: a
//! connection cut mid-dialogue, a reply that is not SMTP, a message over the server's SIZE, an
//! XOAUTH2 rejection (the challenge and the final reply together). Everything else goes to
//! `diagnosis::diagnose`.

use diagnosis::{Diagnosis, Failure, Retry, Step, diagnose};

use super::Error;

const SETTINGS_HELP: &str = "https://support.google.com/a/answer/176600";

pub(crate) fn diagnosis(error: &Error) -> Diagnosis {
    match error {
        Error::Failure(failure) => diagnose(failure),
        Error::OAuthRejected { challenge, reply } => {
            // The challenge says why (scope, scheme); the 535 after it is the final word.
            let mut diagnosis = diagnose(&Failure::Reply {
                reply: challenge.clone(),
                step: Some(Step::Auth),
            });
            diagnosis.reply = Some(format!("{challenge}\r\n{reply}"));
            diagnosis
        }
        Error::ConnectionLost { step, detail } => connection_lost(*step, detail),
        Error::Unreachable { host, port, detail } => unreachable(host, *port, detail),
        Error::Protocol { step, detail } => protocol(*step, detail),
        Error::TooLarge { size, limit } => too_large(*size, *limit),
        Error::Insecure { host } => insecure(host),
        Error::Invalid { detail } => Diagnosis {
            title: "The message cannot be sent as it is".to_owned(),
            what_happened: format!("mailbridge did not send it: {detail}."),
            likely_cause: "The envelope handed to the SMTP engine is incomplete or malformed."
                .to_owned(),
            fix: vec!["Check the recipients and the sender address, then send again.".to_owned()],
            help_link: None,
            retry: Retry::Permanent,
            reply: None,
        },
        Error::NoToken(why) => Diagnosis {
            title: if why.transient {
                "The OAuth token could not be refreshed just now".to_owned()
            } else {
                "The account has to be connected again".to_owned()
            },
            what_happened: format!(
                "mailbridge had no access token to sign in with: {}.",
                why.detail
            ),
            likely_cause: if why.transient {
                "The token endpoint could not be reached; the refresh token is kept.".to_owned()
            } else {
                "The refresh token no longer works, or the account was never connected.".to_owned()
            },
            fix: vec![why.fix.clone()],
            help_link: Some("https://developers.google.com/identity/protocols/oauth2".to_owned()),
            retry: if why.transient {
                Retry::Transient
            } else {
                Retry::Permanent
            },
            reply: None,
        },
    }
}

fn connection_lost(step: Step, detail: &str) -> Diagnosis {
    let in_data = step == Step::Data;
    Diagnosis {
        title: format!("The connection was cut during {step}"),
        what_happened: format!(
            "The server, or something between it and this machine, closed the connection during \
             {step} before answering. The error was: \"{detail}\"."
        ),
        likely_cause: if in_data {
            "A server that drops the connection in the middle of a message usually refused it \
             (size, content, or a throttled account) or restarted; a flaky network or a mail \
             scanner in an antivirus can do the same."
                .to_owned()
        } else {
            "A server that closes the connection without a reply is usually throttling this \
             client or restarting; an idle connection cut by a router, or an antivirus or \
             firewall that inspects SMTP, does the same."
                .to_owned()
        },
        fix: if in_data {
            vec![
                "Check the recipient's mailbox or the Sent folder before sending again: the \
                 message may or may not have been delivered."
                    .to_owned(),
                "If it happens every time with this message, make it smaller (fewer or smaller \
                 attachments)."
                    .to_owned(),
            ]
        } else {
            vec![
                "Try again in a minute; mailbridge retries this once or twice by itself."
                    .to_owned(),
                "If it keeps happening, try port 465 with implicit TLS, and turn off the \
                 antivirus's mail scanning for this program."
                    .to_owned(),
            ]
        },
        help_link: None,
        // After DATA, sending again may deliver the message twice.
        retry: if in_data {
            Retry::Permanent
        } else {
            Retry::Transient
        },
        reply: None,
    }
}

fn unreachable(host: &str, port: u16, detail: &str) -> Diagnosis {
    Diagnosis {
        title: format!("Could not connect to {host}:{port}"),
        what_happened: format!(
            "No TCP connection to {host}:{port} could be made. The error was: \"{detail}\"."
        ),
        likely_cause: "This machine has no route to the server: no network connection, a VPN or \
                       firewall blocking the way, or an IPv6 address without IPv6 connectivity."
            .to_owned(),
        fix: vec![
            "Check that this machine is online.".to_owned(),
            "Test which ports get through: `nc -vz smtp.gmail.com 587` and `nc -vz \
             smtp.gmail.com 465`."
                .to_owned(),
            "On a company network, ask whether outgoing SMTP ports are blocked.".to_owned(),
        ],
        help_link: Some(SETTINGS_HELP.to_owned()),
        retry: Retry::Transient,
        reply: None,
    }
}

fn protocol(step: Step, detail: &str) -> Diagnosis {
    Diagnosis {
        title: format!("The server's answer to {step} is not valid SMTP"),
        what_happened: format!(
            "mailbridge stopped because the answer to {step} broke the SMTP protocol: {detail}."
        ),
        likely_cause: "The port is not an SMTP submission port (a web or IMAP server answers \
                       there), or something on the path rewrites the conversation."
            .to_owned(),
        fix: vec![
            "Check host and port: smtp.gmail.com with 587 (STARTTLS) or 465 (implicit TLS)."
                .to_owned(),
            "Turn off any antivirus or firewall feature that inspects mail traffic.".to_owned(),
        ],
        help_link: Some(SETTINGS_HELP.to_owned()),
        retry: Retry::Permanent,
        reply: None,
    }
}

fn too_large(size: u64, limit: u64) -> Diagnosis {
    let mb = |bytes: u64| bytes as f64 / 1_048_576.0;
    Diagnosis {
        title: "Message too large for the server".to_owned(),
        what_happened: format!(
            "The message is {:.1} MB ({size} bytes) and the server accepts at most {:.1} MB \
             ({limit} bytes, its SIZE), so mailbridge did not send it.",
            mb(size),
            mb(limit)
        ),
        likely_cause: "The attachments are too big: Gmail allows 25 MB of attachments, and \
                       encoding them for mail makes them about a third larger."
            .to_owned(),
        fix: vec![
            "Remove attachments or make them smaller (compress images, zip documents).".to_owned(),
            "Share large files as a link, for example from Google Drive.".to_owned(),
        ],
        help_link: Some("https://support.google.com/mail/answer/6584".to_owned()),
        retry: Retry::Permanent,
        reply: None,
    }
}

fn insecure(host: &str) -> Diagnosis {
    Diagnosis {
        title: "Unencrypted SMTP is only allowed to this machine".to_owned(),
        what_happened: format!(
            "The profile asks for plain SMTP without TLS to {host}, which is not this machine, so \
             mailbridge did not connect."
        ),
        likely_cause: "The profile's security is set to plain (no TLS) for a remote server."
            .to_owned(),
        fix: vec![
            "Set security to STARTTLS (port 587) or implicit TLS (port 465).".to_owned(),
            "Without TLS the password and the message would cross the network readable.".to_owned(),
        ],
        help_link: Some(SETTINGS_HELP.to_owned()),
        retry: Retry::Permanent,
        reply: None,
    }
}
