//! Every reply the sandbox sends, worded as smtp.gmail.com words it.
//!
//! Clients and the product's diagnosis match on code, enhanced code and a text fragment, so the
//! texts are copied from Gmail's replies (see `shared/reference/gmail-smtp.md`). Gmail ends most
//! replies with `<session id> - gsmtp`; the few it sends bare (`235`, `334`, `220 2.0.0`) are bare
//! here too.

/// The host name the sandbox calls itself in the greeting and EHLO.
pub const HOST: &str = "localhost";

/// Gmail's `334` challenge after a rejected XOAUTH2 token: base64 of
/// `{"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}`.
pub const XOAUTH2_CHALLENGE: &str = "eyJzdGF0dXMiOiI0MDAiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ==";
/// The OAUTHBEARER error (RFC 7628 section 3.2.2), with RFC 6750's error code as `status`:
/// base64 of `{"status":"invalid_token","schemes":"Bearer","scope":"https://mail.google.com/"}`.
pub const OAUTHBEARER_CHALLENGE: &str = "eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIiwic2NoZW1lcyI6IkJlYXJlciIsInNjb3BlIjoiaHR0cHM6Ly9tYWlsLmdvb2dsZS5jb20vIn0=";

/// A one-line reply that ends with Gmail's session trailer.
pub fn line(code: u16, text: &str, id: &str) -> String {
    format!("{code} {text} {id} - gsmtp\r\n")
}

/// A multi-line reply: every line carries the code and enhanced code, as Gmail's do, and the
/// last one carries the session trailer. Lines that start with a space (Gmail's links) keep it,
/// which gives Gmail's double space before `https://`.
pub fn lines(code: u16, enhanced: &str, texts: &[&str], id: &str) -> String {
    let mut out = String::new();
    let last = texts.len().saturating_sub(1);
    for (index, text) in texts.iter().enumerate() {
        if index == last {
            out.push_str(&format!("{code} {enhanced} {text} {id} - gsmtp\r\n"));
        } else {
            out.push_str(&format!("{code}-{enhanced} {text}\r\n"));
        }
    }
    out
}

pub fn greeting(id: &str) -> String {
    format!("220 {HOST} ESMTP {id} - gsmtp (mailbridge sandbox)\r\n")
}

/// The mechanisms offered after TLS.
pub const MECHANISMS: &str = "LOGIN PLAIN XOAUTH2";
/// With token introspection, OAUTHBEARER too, in Gmail's order.
pub const MECHANISMS_WITH_OAUTHBEARER: &str = "LOGIN PLAIN XOAUTH2 OAUTHBEARER";

/// The EHLO reply. Before TLS (`auth` is `None`) it offers STARTTLS and no AUTH; after, the
/// `auth` mechanisms and no STARTTLS, the way port 587 changes its offer after STARTTLS. Both
/// offer PIPELINING and CHUNKING, in Gmail's order.
pub fn ehlo(peer: &str, max_size: usize, auth: Option<&str>) -> String {
    let mut caps = vec![format!("SIZE {max_size}"), "8BITMIME".to_owned()];
    match auth {
        Some(mechanisms) => caps.push(format!("AUTH {mechanisms}")),
        None => caps.push("STARTTLS".to_owned()),
    }
    caps.extend(["ENHANCEDSTATUSCODES", "PIPELINING", "CHUNKING", "SMTPUTF8"].map(str::to_owned));
    let mut out = format!("250-{HOST} at your service, [{peer}]\r\n");
    let last = caps.len() - 1;
    for (index, cap) in caps.iter().enumerate() {
        let sep = if index == last { ' ' } else { '-' };
        out.push_str(&format!("250{sep}{cap}\r\n"));
    }
    out
}

pub fn helo() -> String {
    format!("250 {HOST} at your service\r\n")
}

pub const READY_TLS: &str = "220 2.0.0 Ready to start TLS\r\n";
pub const AUTH_ACCEPTED: &str = "235 2.7.0 Accepted\r\n";
/// An empty challenge: "send your initial response now".
pub const AUTH_CONTINUE: &str = "334 \r\n";
/// LOGIN's prompts, base64 of `Username:` and `Password:`.
pub const LOGIN_USERNAME: &str = "334 VXNlcm5hbWU6\r\n";
pub const LOGIN_PASSWORD: &str = "334 UGFzc3dvcmQ6\r\n";

pub fn bad_credentials(id: &str) -> String {
    lines(
        535,
        "5.7.8",
        &[
            "Username and Password not accepted. For more information, go to",
            " https://support.google.com/mail/?p=BadCredentials",
        ],
        id,
    )
}

pub fn app_password_required(id: &str) -> String {
    lines(
        534,
        "5.7.9",
        &[
            "Application-specific password required. For more information, go to",
            " https://support.google.com/mail/?p=InvalidSecondFactor",
        ],
        id,
    )
}

pub fn xoauth2_challenge() -> String {
    format!("334 {XOAUTH2_CHALLENGE}\r\n")
}

pub fn oauthbearer_challenge() -> String {
    format!("334 {OAUTHBEARER_CHALLENGE}\r\n")
}

/// The token could not be checked (the issuer is down): Gmail's answer when its own login
/// systems fail, which clients retry.
pub fn auth_unavailable(id: &str) -> String {
    line(
        454,
        "4.7.0 Cannot authenticate due to temporary system problem. Try again later.",
        id,
    )
}

pub fn cannot_decode(id: &str) -> String {
    line(501, "5.5.2 Cannot Decode response", id)
}

pub fn unknown_mechanism(id: &str) -> String {
    line(504, "5.7.4 Unrecognized authentication type.", id)
}

pub fn auth_cancelled(id: &str) -> String {
    line(501, "5.7.0 Authentication cancelled.", id)
}

pub fn no_identity_change(id: &str) -> String {
    line(503, "5.7.0 No identity changes permitted.", id)
}

pub fn too_many_logins(id: &str) -> String {
    line(
        454,
        "4.7.0 Too many login attempts, please try again later.",
        id,
    )
}

pub fn must_starttls(id: &str) -> String {
    line(530, "5.7.0 Must issue a STARTTLS command first.", id)
}

pub fn auth_required(id: &str) -> String {
    lines(
        530,
        "5.7.0",
        &[
            "Authentication Required. For more information, go to",
            " https://support.google.com/mail/?p=WantAuthError",
        ],
        id,
    )
}

pub fn try_again_later(id: &str) -> String {
    line(421, "4.7.0 Try again later, closing connection.", id)
}

pub fn connection_expired(id: &str) -> String {
    line(421, "4.7.0 Connection expired, try reconnecting.", id)
}

pub fn shutting_down(id: &str) -> String {
    line(421, "4.3.0 Temporary System Problem.  Try again later.", id)
}

pub fn too_many_bad_commands(id: &str) -> String {
    line(
        421,
        "4.7.0 Too many unrecognized commands, closing connection.",
        id,
    )
}

pub fn daily_limit(id: &str) -> String {
    lines(
        550,
        "5.4.5",
        &[
            "Daily user sending limit exceeded. For more information on Gmail",
            "sending limits go to",
            " https://support.google.com/a/answer/166852",
        ],
        id,
    )
}

pub fn too_many_recipients(id: &str) -> String {
    lines(
        452,
        "4.5.3",
        &[
            "Your message has too many recipients. For more information regarding",
            "Google's sending limits, visit",
            " https://support.google.com/mail/answer/6592",
        ],
        id,
    )
}

pub fn too_big(id: &str) -> String {
    lines(
        552,
        "5.3.4",
        &[
            "Your message exceeded Google's message size limits. For more information, visit",
            " https://support.google.com/mail/?p=MaxSizeError",
        ],
        id,
    )
}

pub fn missing_message_id(id: &str) -> String {
    lines(
        550,
        "5.7.1",
        &[
            "[127.0.0.1] Messages missing a valid Message-ID header are not",
            "accepted. For more information, go to",
            " https://support.google.com/mail/?p=RfcMessageNonCompliant",
        ],
        id,
    )
}

pub fn missing_from(id: &str) -> String {
    lines(
        550,
        "5.7.1",
        &[
            "[127.0.0.1] Messages missing a valid address in From: header, or having",
            "no From: header, are not accepted. For more information, go to",
            " https://support.google.com/mail/?p=RfcMessageNonCompliant",
        ],
        id,
    )
}

pub fn bad_recipient(address: &str, id: &str) -> String {
    lines(
        553,
        "5.1.3",
        &[
            &format!("The recipient address <{address}> is not a valid RFC 5321 address. For"),
            "more information, go to",
            " https://support.google.com/a/answer/3221692",
        ],
        id,
    )
}

pub fn bad_sender(address: &str, id: &str) -> String {
    lines(
        553,
        "5.1.7",
        &[
            &format!("The sender address <{address}> is not a valid RFC 5321 address. For"),
            "more information, go to",
            " https://support.google.com/a/answer/3221692",
        ],
        id,
    )
}

pub fn syntax_error(id: &str) -> String {
    line(555, "5.5.2 Syntax error, cannot decode response.", id)
}

pub fn ehlo_first(id: &str) -> String {
    line(503, "5.5.1 EHLO/HELO first.", id)
}

pub fn mail_first(id: &str) -> String {
    line(503, "5.5.1 MAIL first.", id)
}

pub fn rcpt_first(id: &str) -> String {
    line(503, "5.5.1 RCPT first.", id)
}

pub fn nested_mail(id: &str) -> String {
    line(503, "5.5.1 Nested MAIL command.", id)
}

/// DATA after BDAT in one transaction (RFC 3030 forbids mixing them).
pub fn bad_sequence(id: &str) -> String {
    line(503, "5.5.1 Bad sequence of commands.", id)
}

pub fn tls_already_active(id: &str) -> String {
    line(503, "5.5.1 TLS already active.", id)
}

pub fn empty_helo(id: &str) -> String {
    line(
        501,
        "5.5.4 Empty HELO/EHLO argument not allowed, closing connection.",
        id,
    )
}

/// A BDAT line whose size cannot be read, so its chunk cannot be found.
pub fn bad_bdat(id: &str) -> String {
    line(501, "5.5.4 Syntax: BDAT <size> [LAST].", id)
}

pub fn pipelined_starttls() -> String {
    "523 5.7.10 Error: no commands allowed to pipeline after STARTTLS\r\n".to_owned()
}

pub fn unrecognized(id: &str) -> String {
    line(502, "5.5.1 Unrecognized command.", id)
}

pub fn line_too_long(id: &str) -> String {
    line(500, "5.5.2 Line too long, closing connection.", id)
}

pub fn mail_ok(id: &str) -> String {
    line(250, "2.1.0 OK", id)
}

pub fn rcpt_ok(id: &str) -> String {
    line(250, "2.1.5 OK", id)
}

pub fn go_ahead(id: &str) -> String {
    line(354, " Go ahead", id)
}

/// A BDAT chunk that is not the last one, received and kept.
pub fn chunk_received(octets: u64, id: &str) -> String {
    line(250, &format!("2.0.0 {octets} octets received"), id)
}

/// Gmail's acceptance, after DATA and after BDAT LAST alike: two spaces, then the Unix time of
/// acceptance.
pub fn accepted(unix_seconds: u64, id: &str) -> String {
    format!("250 2.0.0 OK  {unix_seconds} {id} - gsmtp\r\n")
}

pub fn store_failed(id: &str) -> String {
    line(451, "4.3.0 Mail server temporarily rejected message.", id)
}

/// After DATA, when the sandbox cannot hold another message in memory just now. Transient,
/// in the words of Gmail's own temporary failures, so clients keep the message and retry.
pub fn temporary_problem(id: &str) -> String {
    line(451, "4.3.0 Temporary System Problem.  Try again later.", id)
}

pub fn flushed(id: &str) -> String {
    line(250, "2.1.5 Flushed", id)
}

pub fn noop(id: &str) -> String {
    line(250, "2.0.0 OK", id)
}

pub fn closing(id: &str) -> String {
    line(221, "2.0.0 closing connection", id)
}

pub fn vrfy(id: &str) -> String {
    line(252, "2.1.5 Send some mail, I'll try my best", id)
}

pub fn help(id: &str) -> String {
    line(
        214,
        "2.0.0  https://www.google.com/search?btnI&q=RFC+5321",
        id,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_line_replies_repeat_the_codes_and_keep_gmails_double_space() {
        assert_eq!(
            bad_credentials("ID"),
            "535-5.7.8 Username and Password not accepted. For more information, go to\r\n\
             535 5.7.8  https://support.google.com/mail/?p=BadCredentials ID - gsmtp\r\n"
        );
    }

    #[test]
    fn ehlo_offers_starttls_before_tls_and_auth_after() {
        let before = ehlo("127.0.0.1", 35_882_577, None);
        assert!(before.starts_with("250-localhost at your service, [127.0.0.1]\r\n"));
        assert!(before.contains("250-STARTTLS\r\n"));
        assert!(!before.contains("AUTH"));
        assert!(before.ends_with("250-PIPELINING\r\n250-CHUNKING\r\n250 SMTPUTF8\r\n"));
        let after = ehlo("127.0.0.1", 35_882_577, Some(MECHANISMS));
        assert_eq!(
            after,
            "250-localhost at your service, [127.0.0.1]\r\n\
             250-SIZE 35882577\r\n\
             250-8BITMIME\r\n\
             250-AUTH LOGIN PLAIN XOAUTH2\r\n\
             250-ENHANCEDSTATUSCODES\r\n\
             250-PIPELINING\r\n\
             250-CHUNKING\r\n\
             250 SMTPUTF8\r\n"
        );
        let with_introspection = ehlo("127.0.0.1", 1, Some(MECHANISMS_WITH_OAUTHBEARER));
        assert!(
            with_introspection.contains("250-AUTH LOGIN PLAIN XOAUTH2 OAUTHBEARER\r\n"),
            "{with_introspection}"
        );
    }

    #[test]
    fn the_oauthbearer_challenge_is_rfc_7628s_json() {
        use base64::Engine as _;
        let json = base64::engine::general_purpose::STANDARD
            .decode(OAUTHBEARER_CHALLENGE)
            .expect("constant is valid base64");
        assert_eq!(
            json,
            br#"{"status":"invalid_token","schemes":"Bearer","scope":"https://mail.google.com/"}"#
        );
    }

    #[test]
    fn the_xoauth2_challenge_is_gmails_json() {
        use base64::Engine as _;
        let json = base64::engine::general_purpose::STANDARD
            .decode(XOAUTH2_CHALLENGE)
            .expect("constant is valid base64");
        assert_eq!(
            json,
            br#"{"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}"#
        );
    }
}
