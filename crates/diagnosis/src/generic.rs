//! Explanations for replies no rule knows, built from what their codes mean: the reply code's
//! class and meaning (RFC 5321) and the enhanced code's class, subject and detail (RFC 3463 and
//! later registrations).

use crate::diagnosis::{Diagnosis, Retry};
use crate::reply::{EnhancedCode, Reply};
use crate::rules::google_link;

/// Explains `reply` from its codes alone.
pub(crate) fn diagnose(reply: &Reply) -> Diagnosis {
    let class = reply.code / 100;
    let codes = match reply.enhanced {
        Some(enhanced) => format!("{} {enhanced}", reply.code),
        None => reply.code.to_string(),
    };
    let title = match (class, reply.enhanced) {
        (2, _) => format!("The server accepted the command ({codes})"),
        (3, _) => format!("The server is waiting for more input ({codes})"),
        (4, Some(enhanced)) => format!("Temporary failure: {} ({codes})", subject(enhanced).name),
        (4, None) => format!("Temporary failure ({codes})"),
        (_, Some(enhanced)) => format!("Permanent failure: {} ({codes})", subject(enhanced).name),
        (_, None) => format!("Permanent failure ({codes})"),
    };

    let mut what_happened = match reply.text() {
        text if text.is_empty() => format!("The server answered {codes} with no text."),
        text => format!("The server answered {codes}: \"{text}\"."),
    };
    if let Some(meaning) = reply_meaning(reply.code) {
        what_happened.push_str(&format!(" {} means \"{meaning}\".", reply.code));
    }
    what_happened.push(' ');
    what_happened.push_str(class_sentence(class));
    if let Some(enhanced) = reply.enhanced {
        let subject = subject(enhanced);
        what_happened.push_str(&format!(
            " The enhanced code {enhanced} is about {}",
            subject.name
        ));
        match detail_meaning(enhanced) {
            Some(detail) => what_happened.push_str(&format!(": {detail}.")),
            None => what_happened.push('.'),
        }
    }

    let likely_cause = match (class, reply.enhanced) {
        (2 | 3, _) => "Nothing failed at this step. If sending still failed, the reason is in a \
            later reply or outside the SMTP conversation."
            .to_owned(),
        (_, Some(enhanced)) => subject(enhanced).cause.to_owned(),
        (4, None) => "A temporary condition on the server, such as load, throttling or a short \
            outage."
            .to_owned(),
        (_, None) => "Something in the request that the server will not accept: an address, the \
            login, the message or the way it is sent. The server's text says which."
            .to_owned(),
    };

    let mut fix = Vec::new();
    match class {
        2 => fix.push(
            "Nothing to fix for this step; if a message still did not go out, look at the next \
             reply the server sent."
                .to_owned(),
        ),
        3 => fix.push(
            "Send what the server is waiting for: the message after 354, or the next AUTH step \
             after 334. A client that stops here leaves the server waiting until it times out."
                .to_owned(),
        ),
        4 => fix.push(
            "Retry later with growing delays (for example after 1, 5 and 15 minutes); most \
             temporary failures clear by themselves."
                .to_owned(),
        ),
        _ => fix.push(
            "Do not resend unchanged: the server will refuse it again until the cause is fixed."
                .to_owned(),
        ),
    }
    if class >= 4 {
        if let Some(step) = reply.enhanced.and_then(|enhanced| subject(enhanced).fix) {
            fix.push(step.to_owned());
        }
        fix.push(
            "Read the server's text, and the page it links to if any, for the exact reason."
                .to_owned(),
        );
    }

    Diagnosis {
        title,
        what_happened,
        likely_cause,
        fix,
        help_link: google_link(&reply.text()),
        retry: if class == 4 {
            Retry::Transient
        } else {
            Retry::Permanent
        },
        reply: None,
    }
}

fn class_sentence(class: u16) -> &'static str {
    match class {
        2 => "A 2xx code means the command succeeded.",
        3 => {
            "A 3xx code means the server accepted the command so far and waits for more, such \
              as the message after DATA or the next step of AUTH."
        }
        4 => "A 4xx code is a temporary failure: the same command may work later.",
        _ => {
            "A 5xx code is a permanent failure: the same command will fail again until \
              something changes."
        }
    }
}

/// What an enhanced code's subject is about, with a likely cause and a fix step.
struct Subject {
    name: &'static str,
    cause: &'static str,
    /// `None` where the subject gives nothing more to check than the server's text.
    fix: Option<&'static str>,
}

fn subject(enhanced: EnhancedCode) -> Subject {
    match enhanced.subject {
        1 => Subject {
            name: "addressing",
            cause: "An address is wrong: the sender or a recipient, or the envelope syntax.",
            fix: Some(
                "Check the sender and recipient addresses for typos, and use the bare \
                  `<local@domain>` form in MAIL FROM and RCPT TO.",
            ),
        },
        2 => Subject {
            name: "the recipient's mailbox",
            cause: "The recipient's mailbox cannot take the message: full, disabled or moved.",
            fix: Some(
                "Check with the recipient, another way, that the mailbox is in use and has room.",
            ),
        },
        3 => Subject {
            name: "the receiving mail system",
            cause: "The receiving system cannot take the message: a size limit or a problem on \
                    its side.",
            fix: Some("Check the message size against the SIZE value in the server's EHLO reply."),
        },
        4 => Subject {
            name: "the network or routing",
            cause: "A network or routing problem: DNS, a connection, or the delivery taking too \
                    long.",
            fix: Some(
                "Check the host name, the DNS records of the domains involved, and the network \
                  path to the server.",
            ),
        },
        5 => Subject {
            name: "the SMTP protocol",
            cause: "The client sent a command that was invalid, out of order or had bad \
                    arguments: usually a client bug.",
            fix: Some(
                "Check the order and syntax of the client's SMTP commands, or update the \
                  client or library.",
            ),
        },
        6 => Subject {
            name: "the message content or format",
            cause: "The message's content or format cannot be handled: encoding, media type or \
                    a needed conversion.",
            fix: Some(
                "Check the message's encoding and MIME structure; a mail library that builds \
                  the message avoids most of these.",
            ),
        },
        7 => Subject {
            name: "security or policy",
            cause: "A security or policy rule refused the request: the login, permission to use \
                    the sender address, sender authentication (SPF, DKIM, DMARC) or spam policy.",
            fix: Some(
                "Check the login (an App Password or OAuth for Gmail), that you may send as the \
                  From address, and the SPF, DKIM and DMARC records of the sending domain.",
            ),
        },
        _ => Subject {
            name: "an unspecified problem",
            cause: "The codes do not say; the server's text is the best guide.",
            fix: None,
        },
    }
}

/// The meaning RFC 5321 (and RFC 4954 for AUTH) gives a reply code.
fn reply_meaning(code: u16) -> Option<&'static str> {
    Some(match code {
        211 => "system status",
        214 => "help message",
        220 => "service ready",
        221 => "service closing the connection",
        235 => "authentication succeeded",
        250 => "requested action completed",
        251 => "user not local; will forward",
        252 => "cannot verify the user, but will accept the message",
        334 => "continue authentication",
        354 => "start mail input",
        421 => "service not available, closing the connection",
        432 => "a password transition is needed",
        450 => "mailbox unavailable",
        451 => "local error in processing",
        452 => "insufficient system storage",
        454 => "temporary authentication failure",
        455 => "server unable to accommodate parameters",
        500 => "syntax error, command unrecognized",
        501 => "syntax error in parameters or arguments",
        502 => "command not implemented",
        503 => "bad sequence of commands",
        504 => "command parameter not implemented",
        521 => "server does not accept mail",
        530 => "authentication required",
        534 => "authentication mechanism is too weak",
        535 => "authentication credentials invalid",
        538 => "encryption required for the requested authentication mechanism",
        550 => "mailbox unavailable, or refused by policy",
        551 => "user not local",
        552 => "exceeded storage allocation",
        553 => "mailbox name not allowed",
        554 => "transaction failed",
        555 => "MAIL FROM or RCPT TO parameters not recognized",
        556 => "domain does not accept mail",
        _ => return None,
    })
}

/// The registered meaning of an enhanced code's subject and detail, for the common ones.
fn detail_meaning(enhanced: EnhancedCode) -> Option<&'static str> {
    Some(match (enhanced.subject, enhanced.detail) {
        (0, 0) => "other or undefined status",
        (1, 0) => "other address status",
        (1, 1) => "bad destination mailbox address",
        (1, 2) => "bad destination system address",
        (1, 3) => "bad destination mailbox address syntax",
        (1, 6) => "destination mailbox has moved",
        (1, 7) => "bad sender's mailbox address syntax",
        (1, 8) => "bad sender's system address",
        (1, 10) => "recipient address has a null MX",
        (2, 0) => "other or undefined mailbox status",
        (2, 1) => "mailbox disabled, not accepting messages",
        (2, 2) => "mailbox full",
        (2, 3) => "message length exceeds the administrative limit",
        (3, 0) => "other or undefined mail system status",
        (3, 1) => "mail system full",
        (3, 2) => "system not accepting network messages",
        (3, 4) => "message too big for the system",
        (4, 0) => "other or undefined network or routing status",
        (4, 1) => "no answer from host",
        (4, 2) => "bad connection",
        (4, 4) => "unable to route",
        (4, 5) => "mail system congestion",
        (4, 7) => "delivery time expired",
        (5, 0) => "other or undefined protocol status",
        (5, 1) => "invalid command",
        (5, 2) => "syntax error",
        (5, 3) => "too many recipients",
        (5, 4) => "invalid command arguments",
        (6, 0) => "other or undefined media error",
        (6, 1) => "media not supported",
        (6, 3) => "conversion required but not supported",
        (7, 0) => "other or undefined security status",
        (7, 1) => "delivery not authorized, message refused",
        (7, 4) => "security features not supported",
        (7, 8) => "authentication credentials invalid",
        (7, 9) => "authentication mechanism is too weak",
        (7, 10) => "encryption needed",
        (7, 11) => "encryption required for the requested authentication mechanism",
        (7, 13) => "user account disabled",
        (7, 23) => "SPF validation failed",
        (7, 25) => "reverse DNS validation failed",
        (7, 26) => "multiple authentication checks failed",
        (7, 27) => "sender address has a null MX",
        _ => return None,
    })
}
