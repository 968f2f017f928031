//! Sender rules: a From that is not the account, Reply-To, the Message-ID's domain, and for
//! campaigns `List-Unsubscribe`, `List-Unsubscribe-Post`, a visible link and `List-Id`.
//!
//! Gmail rewrites a From it cannot vouch for, replaces a malformed Message-ID, and since
//! February 2024 holds bulk senders (over 5,000 messages a day to Gmail) to one-click
//! unsubscribe (support.google.com/mail/answer/81126, RFC 8058).

use std::net::IpAddr;

use mail_parser::Message;
use protocol::{CheckKind, Finding, Severity};

use crate::Context;

pub(crate) fn check(message: &Message<'_>, ctx: &Context, out: &mut Vec<Finding>) {
    let from = message
        .from()
        .and_then(|from| from.first())
        .and_then(|addr| addr.address())
        .map(str::trim);
    let from_domain = from.and_then(domain);
    from_account(from, ctx, out);
    reply_to(message, from_domain.as_deref(), out);
    message_id(message, from_domain.as_deref(), out);
    if ctx.campaign {
        bulk(message, out);
    }
}

fn finding(
    severity: Severity,
    code: &str,
    found: String,
    location: &str,
    why: String,
    fix: String,
) -> Finding {
    Finding {
        check: CheckKind::Sender,
        severity,
        code: code.into(),
        found,
        location: location.into(),
        why,
        fix,
    }
}

/// The domain of an address, in lower case.
fn domain(address: &str) -> Option<String> {
    let (_, domain) = address.rsplit_once('@')?;
    let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    (!domain.is_empty()).then_some(domain)
}

/// One domain is the other or under it: mail.example.com goes with example.com. Without the
/// public suffix list this is the honest approximation of "the same organisation".
fn related(a: &str, b: &str) -> bool {
    a == b || a.ends_with(&format!(".{b}")) || b.ends_with(&format!(".{a}"))
}

fn from_account(from: Option<&str>, ctx: &Context, out: &mut Vec<Finding>) {
    let account = ctx.account.trim();
    let Some(from) = from else {
        return;
    };
    if !ctx.via_gmail || account.is_empty() || from.eq_ignore_ascii_case(account) {
        return;
    }
    out.push(finding(
        Severity::Warning,
        "from-not-account",
        format!("From is {from}, but the message is sent as {account}"),
        "header From",
        format!(
            "Gmail sends this as {account} unless {from} is a verified \"Send mail as\" address \
             of that account (Gmail settings, Accounts); otherwise it rewrites From to {account} \
             and keeps {from} only in X-Google-Original-From."
        ),
        format!(
            "add {from} under \"Send mail as\" in the Gmail settings of {account} and verify it, \
             or send from {account}"
        ),
    ));
}

fn reply_to(message: &Message<'_>, from_domain: Option<&str>, out: &mut Vec<Finding>) {
    let Some(reply_to) = message.reply_to() else {
        return;
    };
    let addresses: Vec<&str> = reply_to.iter().filter_map(|addr| addr.address()).collect();
    if addresses.len() > 1 {
        out.push(finding(
            Severity::Advice,
            "multiple-reply-to",
            format!(
                "Reply-To lists {} addresses: {}",
                addresses.len(),
                addresses.join(", ")
            ),
            "header Reply-To",
            "RFC 5322 allows it, but many mail programs reply to the first address only, and \
             spam filters count unusual Reply-To fields against a message"
                .into(),
            "give one Reply-To address, such as a shared mailbox".into(),
        ));
    }
    let Some(from_domain) = from_domain else {
        return;
    };
    let other = addresses
        .iter()
        .find(|address| domain(address).is_some_and(|d| !related(&d, from_domain)));
    if let Some(other) = other {
        out.push(finding(
            Severity::Advice,
            "reply-to-other-domain",
            format!("Reply-To {other} is not in the From domain {from_domain}"),
            "header Reply-To",
            "fine for a support or ticketing address, but spam filters weigh replies that go to \
             another domain than the sender's, a common trait of phishing"
                .into(),
            format!("use a Reply-To address at {from_domain} if you can; otherwise leave it"),
        ));
    }
}

fn message_id(message: &Message<'_>, from_domain: Option<&str>, out: &mut Vec<Finding>) {
    // A missing Message-ID is the format check's; this looks at the one that is there.
    let Some(raw) = message.header_raw("Message-ID") else {
        return;
    };
    let raw = raw.trim();
    let broken = "Gmail replaces a malformed Message-ID with its own (ending \
                  SMTPIN_ADDED_BROKEN@mx.google.com) and keeps yours only as \
                  X-Google-Original-Message-ID, so replies and bounces no longer match it";
    let fix = "generate ids as <unique-part@your-domain>, with the domain of the From address";
    let id = raw
        .strip_prefix('<')
        .and_then(|rest| rest.split_once('>'))
        .map(|(id, _)| id);
    let Some((_, id_domain)) = id.and_then(|id| id.rsplit_once('@')) else {
        out.push(finding(
            Severity::Warning,
            "message-id-malformed",
            format!("Message-ID {raw} is not of the form <id@domain>"),
            "header Message-ID",
            broken.into(),
            fix.into(),
        ));
        return;
    };
    let id_domain = id_domain.trim().to_ascii_lowercase();
    let bracketed = id_domain.starts_with('[') && id_domain.ends_with(']');
    let bad = if id_domain.is_empty() {
        Some("no domain")
    } else if bracketed || id_domain.parse::<IpAddr>().is_ok() {
        Some("an IP address")
    } else if id_domain == "localhost"
        || id_domain.ends_with(".localdomain")
        || id_domain.ends_with(".local")
    {
        Some("a local machine's name")
    } else if !id_domain.contains('.') {
        Some("a bare host name without a dot")
    } else {
        None
    };
    if let Some(bad) = bad {
        out.push(finding(
            Severity::Warning,
            "message-id-domain",
            format!("Message-ID {raw} ends in {bad}"),
            "header Message-ID",
            "a Message-ID should end in a domain you control so it is unique worldwide; one from \
             localhost, a bare host name or an IP address collides with other senders' ids and \
             marks a misconfigured sender, which spam filters weigh"
                .into(),
            fix.into(),
        ));
        return;
    }
    if let Some(from_domain) = from_domain
        && !related(&id_domain, from_domain)
    {
        out.push(finding(
            Severity::Advice,
            "message-id-other-domain",
            format!("Message-ID {raw} is in {id_domain}, not in the From domain {from_domain}"),
            "header Message-ID",
            "harmless for delivery, but an id in the sender's own domain ties the message to \
             its sender, and some filters compare the two"
                .into(),
            fix.into(),
        ));
    }
}

/// The URIs of a `List-Unsubscribe` field: each is in angle brackets (RFC 2369).
fn bracketed(value: &str) -> Vec<&str> {
    value
        .split('<')
        .skip(1)
        .filter_map(|rest| rest.split_once('>').map(|(uri, _)| uri.trim()))
        .collect()
}

/// The bulk-sender rules, for a campaign's messages.
fn bulk(message: &Message<'_>, out: &mut Vec<Finding>) {
    let rule = "since February 2024 Google requires senders of more than 5,000 messages a day to \
                Gmail to offer one-click unsubscribe (List-Unsubscribe with an https URL and \
                List-Unsubscribe-Post, RFC 8058); without it Gmail rejects bulk mail or sends it \
                to spam (support.google.com/mail/answer/81126)";
    let uris = message
        .header_raw("List-Unsubscribe")
        .map(bracketed)
        .unwrap_or_default();
    let has = |scheme: &str| {
        uris.iter().any(|uri| {
            uri.get(..scheme.len())
                .is_some_and(|s| s.eq_ignore_ascii_case(scheme))
        })
    };
    let https = has("https://");
    if uris.is_empty() {
        out.push(finding(
            Severity::Blocker,
            "list-unsubscribe-missing",
            "the campaign's message has no List-Unsubscribe field".into(),
            "header List-Unsubscribe",
            rule.into(),
            "add List-Unsubscribe: <https://your-site/unsubscribe?token=...> and \
             List-Unsubscribe-Post: List-Unsubscribe=One-Click"
                .into(),
        ));
    } else if !https && has("http://") {
        out.push(finding(
            Severity::Warning,
            "list-unsubscribe-http",
            "List-Unsubscribe offers an http: URL but no https: one".into(),
            "header List-Unsubscribe",
            "one-click unsubscribe (RFC 8058) needs an https URL; Gmail may not offer its \
             Unsubscribe button for plain http, and Google's bulk-sender rule is not met"
                .into(),
            "serve the unsubscribe URL over https and list it in List-Unsubscribe".into(),
        ));
    } else if !https {
        out.push(finding(
            Severity::Blocker,
            "list-unsubscribe-no-https",
            "List-Unsubscribe offers only mailto:, which is not one-click unsubscribe".into(),
            "header List-Unsubscribe",
            rule.into(),
            "add an https unsubscribe URL to List-Unsubscribe, beside the mailto:, and \
             List-Unsubscribe-Post: List-Unsubscribe=One-Click"
                .into(),
        ));
    }
    if https {
        let post = message.header_raw("List-Unsubscribe-Post").map(str::trim);
        if !post.is_some_and(|post| post.eq_ignore_ascii_case("List-Unsubscribe=One-Click")) {
            let found = match post {
                Some(post) => format!(
                    "List-Unsubscribe-Post is \"{post}\", not \"List-Unsubscribe=One-Click\""
                ),
                None => {
                    "List-Unsubscribe has an https URL but there is no List-Unsubscribe-Post".into()
                }
            };
            out.push(finding(
                Severity::Blocker,
                "list-unsubscribe-post-missing",
                found,
                "header List-Unsubscribe-Post",
                rule.into(),
                "add List-Unsubscribe-Post: List-Unsubscribe=One-Click, and accept a POST to the \
                 https URL as an unsubscribe"
                    .into(),
            ));
        }
    }
    if !visible_unsubscribe(message) {
        out.push(finding(
            Severity::Warning,
            "unsubscribe-link-missing",
            "no unsubscribe link or wording in the message's text".into(),
            "the message body",
            "Google's bulk-sender guidelines ask for a clearly visible unsubscribe link in the \
             message as well as the header; recipients who cannot find one press Report spam, \
             and the spam rate must stay under 0.3%"
                .into(),
            "add an \"Unsubscribe\" link to the footer of the text and HTML versions".into(),
        ));
    }
    if message.header_raw("List-Id").is_none() {
        out.push(finding(
            Severity::Advice,
            "list-id-missing",
            "the campaign's message has no List-Id field".into(),
            "header List-Id",
            "List-Id (RFC 2919) names the list, so mail programs and recipients' filters can \
             recognise and sort the campaign's messages as one list"
                .into(),
            "add List-Id: Campaign name <campaign-id.your-domain>".into(),
        ));
    }
}

/// Whether the body offers a way out a reader can use: in HTML a link (`<a href>` to a web
/// page or a mailto) whose text or address says unsubscribe; in plain text such wording with
/// an address on the same line or the next. Wording alone ("you cannot unsubscribe") or a
/// comment in the HTML source does not count.
fn visible_unsubscribe(message: &Message<'_>) -> bool {
    const WORDS: [&str; 4] = ["unsubscribe", "opt-out", "opt out", "abmelden"];
    let mentions = |text: &str| {
        let text = text.to_lowercase();
        WORDS.iter().any(|word| text.contains(word))
    };
    let is_address = |text: &str| {
        let text = text.trim().to_ascii_lowercase();
        text.starts_with("https://") || text.starts_with("http://") || text.starts_with("mailto:")
    };
    let Ok(anchors) = scraper::Selector::parse("a[href]") else {
        return true;
    };
    let html = message
        .html_bodies()
        .filter(|part| part.is_text_html())
        .filter_map(|part| part.text_contents())
        .any(|html| {
            scraper::Html::parse_document(html)
                .select(&anchors)
                .any(|anchor| {
                    let href = anchor.value().attr("href").unwrap_or_default();
                    let text: String = anchor.text().collect();
                    is_address(href) && (mentions(&text) || mentions(href))
                })
        });
    let text = message
        .text_bodies()
        .filter(|part| part.is_text() && !part.is_text_html())
        .filter_map(|part| part.text_contents())
        .any(|text| {
            let lines: Vec<&str> = text.lines().collect();
            lines.iter().enumerate().any(|(at, line)| {
                let has_address = |line: &str| {
                    line.split_whitespace()
                        .any(|word| is_address(word.trim_start_matches(['<', '('])))
                };
                mentions(line)
                    && (has_address(line)
                        || lines.get(at + 1).is_some_and(|next| has_address(next)))
            })
        });
    html || text
}

#[cfg(test)]
mod tests {
    use protocol::CheckKind;

    use crate::{Context, check_message};

    const BODY: &str = "MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nHello. To unsubscribe, visit https://example.com/u\r\n";

    fn ctx(account: &str, campaign: bool) -> Context {
        Context {
            account: account.into(),
            via_gmail: true,
            campaign,
            ..Context::default()
        }
    }

    /// The codes of the sender findings for `headers` + a plain body.
    fn check(headers: &str, ctx: &Context, expected: &[&str]) {
        let raw = format!("{headers}Date: Mon, 1 Dec 2025 10:00:00 +0000\r\n{BODY}");
        let findings = check_message(raw.as_bytes(), ctx);
        let codes: Vec<&str> = findings
            .iter()
            .filter(|f| f.check == CheckKind::Sender)
            .map(|f| f.code.as_str())
            .collect();
        assert_eq!(codes, expected, "{headers}\n{findings:#?}");
    }

    const ID: &str = "Message-ID: <1@example.com>\r\n";

    #[test]
    fn from_and_ids() {
        let me = ctx("me@example.com", false);
        check(&format!("From: Me <ME@example.com>\r\n{ID}"), &me, &[]);
        check(
            &format!("From: other@example.org\r\n{ID}"),
            &me,
            &["from-not-account", "message-id-other-domain"],
        );
        check(
            &format!("From: other@example.com\r\n{ID}"),
            &ctx("", false),
            &[],
        );
        check(
            &format!("From: other@example.com\r\n{ID}"),
            &Context {
                via_gmail: false,
                ..me.clone()
            },
            &[],
        );
        check(
            &format!("From: me@example.com\r\nReply-To: help@support.example.net\r\n{ID}"),
            &me,
            &["reply-to-other-domain"],
        );
        check(
            &format!("From: me@example.com\r\nReply-To: help@support.example.com\r\n{ID}"),
            &me,
            &[],
        );
        check(
            &format!("From: me@example.com\r\nReply-To: a@example.com, b@example.com\r\n{ID}"),
            &me,
            &["multiple-reply-to"],
        );
        check(
            "From: me@example.com\r\nMessage-ID: <12345>\r\n",
            &me,
            &["message-id-malformed"],
        );
        check(
            "From: me@example.com\r\nMessage-ID: 1@example.com\r\n",
            &me,
            &["message-id-malformed"],
        );
        check(
            "From: me@example.com\r\nMessage-ID: <1@localhost>\r\n",
            &me,
            &["message-id-domain"],
        );
        check(
            "From: me@example.com\r\nMessage-ID: <1@mybox>\r\n",
            &me,
            &["message-id-domain"],
        );
        check(
            "From: me@example.com\r\nMessage-ID: <1@[192.168.1.2]>\r\n",
            &me,
            &["message-id-domain"],
        );
        check(
            "From: me@example.com\r\nMessage-ID: <1@mail.example.com>\r\n",
            &me,
            &[],
        );
    }

    #[test]
    fn campaign_headers() {
        let campaign = ctx("me@example.com", true);
        let from = format!("From: me@example.com\r\n{ID}List-Id: News <news.example.com>\r\n");
        let https = "List-Unsubscribe: <mailto:u@example.com>, <https://example.com/u?t=1>\r\n";
        let post = "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n";
        check(&format!("{from}{https}{post}"), &campaign, &[]);
        check(
            &format!("{from}{https}{post}"),
            &ctx("me@example.com", false),
            &[],
        );
        check(&from, &campaign, &["list-unsubscribe-missing"]);
        check(
            &format!("{from}{https}"),
            &campaign,
            &["list-unsubscribe-post-missing"],
        );
        check(
            &format!("{from}{https}List-Unsubscribe-Post: yes\r\n"),
            &campaign,
            &["list-unsubscribe-post-missing"],
        );
        check(
            &format!("{from}List-Unsubscribe: <http://example.com/u>\r\n"),
            &campaign,
            &["list-unsubscribe-http"],
        );
        check(
            &format!("{from}List-Unsubscribe: <mailto:u@example.com>\r\n"),
            &campaign,
            &["list-unsubscribe-no-https"],
        );
        check(
            &format!("From: me@example.com\r\n{ID}{https}{post}"),
            &campaign,
            &["list-id-missing"],
        );
    }

    #[test]
    fn visible_unsubscribe_link() {
        let raw = "From: me@example.com\r\nMessage-ID: <1@example.com>\r\nDate: Mon, 1 Dec 2025 10:00:00 +0000\r\n\
                   List-Id: <news.example.com>\r\nList-Unsubscribe: <https://example.com/u>\r\n\
                   List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\nContent-Type: text/html\r\n\r\n<p>Big sale!</p>\r\n";
        let findings = check_message(raw.as_bytes(), &ctx("me@example.com", true));
        let missing = findings
            .iter()
            .find(|f| f.code == "unsubscribe-link-missing")
            .expect("no visible link");
        assert_eq!(missing.location, "the message body");
        // Only a way out a reader can use counts: a link, or wording with an address.
        let headers = "From: me@example.com\r\nMessage-ID: <1@example.com>\r\nDate: Mon, 1 Dec 2025 10:00:00 +0000\r\n\
                       List-Id: <news.example.com>\r\nList-Unsubscribe: <https://example.com/u>\r\n\
                       List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n";
        for (kind, body, visible) in [
            (
                "text/html",
                "<p><a href=\"https://example.com/u/1\">Unsubscribe</a></p>",
                true,
            ),
            (
                "text/html",
                "<p><a href=\"https://example.com/unsubscribe?t=1\">here</a></p>",
                true,
            ),
            (
                "text/html",
                "<p><a href=\"mailto:out@example.com\">Opt out</a></p>",
                true,
            ),
            ("text/html", "<!-- unsubscribe --><p>Big sale!</p>", false),
            (
                "text/html",
                "<p>You cannot unsubscribe from this list.</p>",
                false,
            ),
            ("text/plain", "Unsubscribe: https://example.com/u/1", true),
            (
                "text/plain",
                "To unsubscribe, open\r\n<https://example.com/u/1>",
                true,
            ),
            ("text/plain", "Reply UNSUBSCRIBE to stop.", false),
        ] {
            let raw = format!("{headers}Content-Type: {kind}\r\n\r\n{body}\r\n");
            let findings = check_message(raw.as_bytes(), &ctx("me@example.com", true));
            let missing = findings
                .iter()
                .any(|f| f.code == "unsubscribe-link-missing");
            assert_eq!(!missing, visible, "{kind}: {body}");
        }
    }

    #[test]
    fn from_wording() {
        let raw = format!(
            "From: sales@example.org\r\n{ID}Date: Mon, 1 Dec 2025 10:00:00 +0000\r\n{BODY}"
        );
        let findings = check_message(raw.as_bytes(), &ctx(" me@gmail.com ", false));
        let from = findings
            .iter()
            .find(|f| f.code == "from-not-account")
            .expect("From differs");
        assert_eq!(
            from.why,
            "Gmail sends this as me@gmail.com unless sales@example.org is a verified \"Send mail as\" \
             address of that account (Gmail settings, Accounts); otherwise it rewrites From to \
             me@gmail.com and keeps sales@example.org only in X-Google-Original-From."
        );
    }
}
