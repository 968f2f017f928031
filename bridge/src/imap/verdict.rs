//! The verdict, pure: from where a message was found (or that it was not) and its bytes, to
//! a [`DeliveryVerdict`] with the delivery time, the authentication results, the `Received`
//! chain, Gmail's rewrites and, for Spam, the likely causes with their fixes.

use mail_parser::{MessageParser, MimeHeaders as _};
use protocol::{AuthVerdict, DeliveryVerdict, Placement, Tab};

/// SpamAssassin's test string: only ever in a message to test a spam filter.
const GTUBE: &str = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";

/// What a folder is for, from its SPECIAL-USE attribute (RFC 6154), never its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Inbox,
    /// `\All`: on Gmail, All Mail, where labels are read.
    All,
    Junk,
    Trash,
    Archive,
    /// Any other folder, searched last.
    Other,
}

/// Where the message was found and what it is.
#[derive(Debug, Clone)]
pub struct Found {
    pub folder: String,
    pub role: Role,
    /// `X-GM-LABELS` as read in All Mail.
    pub labels: Vec<String>,
    /// The tab, on a server that has them (Gmail).
    pub tab: Option<Tab>,
    /// `INTERNALDATE`, in milliseconds since the Unix epoch.
    pub internal_date_ms: Option<i64>,
    /// The message's first bytes: all its header and usually its text.
    pub message: Vec<u8>,
}

/// What the verdict is about.
#[derive(Debug, Clone)]
pub struct Asked {
    pub mailbox: String,
    /// Without angle brackets.
    pub message_id: String,
    /// When our `250` came, in milliseconds since the Unix epoch.
    pub sent_at_ms: Option<i64>,
    /// The account that sent it, to tell a From that is not its own.
    pub sender: Option<String>,
    pub waited_ms: u64,
    /// The time limit, for the "not arrived" words.
    pub limit_seconds: u64,
}

pub fn verdict(asked: &Asked, found: Option<&Found>) -> DeliveryVerdict {
    let Some(found) = found else {
        return not_arrived(asked);
    };
    let placement = match found.role {
        Role::Junk => Placement::Spam,
        Role::Trash => Placement::Trash,
        Role::Inbox => Placement::Inbox,
        Role::Archive => Placement::Archived,
        Role::Other => Placement::Labelled,
        Role::All => {
            if found
                .labels
                .iter()
                .any(|l| l.eq_ignore_ascii_case("\\Inbox"))
            {
                Placement::Inbox
            } else if found.labels.iter().any(|l| !is_system_label(l)) {
                Placement::Labelled
            } else {
                Placement::Archived
            }
        }
    };
    let tab = match placement {
        Placement::Inbox => found.tab,
        _ => None,
    };
    let headers = Headers::read(&found.message);
    let authentication = headers.authentication();
    let received = headers.all("Received");
    let (arrived_ms, arrival_source) = match found.internal_date_ms {
        Some(ms) => (Some(ms), Some("INTERNALDATE".to_owned())),
        None => (
            received
                .first()
                .and_then(|top| top.rsplit_once(';'))
                .and_then(|(_, date)| mail_parser::DateTime::parse_rfc822(date.trim()))
                .map(|date| date.to_timestamp() * 1000),
            Some("the top Received: field".to_owned()),
        ),
    };
    let delivery_ms = match (arrived_ms, asked.sent_at_ms) {
        // The server counts whole seconds: a negative gap of under a second is "at once".
        (Some(arrived), Some(sent)) => Some(u64::try_from(arrived - sent).unwrap_or(0)),
        _ => None,
    };
    let original_from = headers.first("X-Google-Original-From");
    let original_message_id = headers.first("X-Google-Original-Message-ID").or_else(|| {
        headers
            .first("Message-ID")
            .filter(|id| !id.contains(&asked.message_id))
    });
    let spam_causes = if placement == Placement::Spam {
        spam_causes(&headers, &authentication, asked, &found.message)
    } else {
        Vec::new()
    };
    let mut next_steps = Vec::new();
    let summary = match placement {
        Placement::Inbox => {
            let tab_words = match tab {
                Some(Tab::Primary) | None => String::new(),
                Some(tab) => format!(" (the {} tab)", tab.name()),
            };
            if let Some(tab) = tab.filter(|tab| *tab != Tab::Primary) {
                next_steps.push(format!(
                    "It is in the Inbox but under {}: people see it there only when they open \
                     that tab. Mail from a person, without List-Unsubscribe or bulk headers, \
                     usually lands in Primary.",
                    tab.name()
                ));
            }
            format!("Delivered to the Inbox{tab_words} of {}.", asked.mailbox)
        }
        Placement::Spam => {
            next_steps.push(
                "Fix the causes above, send the test again, and compare the verdicts.".to_owned(),
            );
            next_steps.push(
                "Marking it \"Not spam\" teaches this mailbox only, not the provider's filter."
                    .to_owned(),
            );
            format!("Delivered to Spam in {}.", asked.mailbox)
        }
        Placement::Trash => {
            next_steps.push(
                "A filter or a person deleted it: check the mailbox's filters for the From \
                 address or the subject."
                    .to_owned(),
            );
            format!("Found in the Trash of {}.", asked.mailbox)
        }
        Placement::Archived => {
            next_steps.push(
                "A filter skipped the Inbox: check the mailbox's filters (\"Skip the Inbox\")."
                    .to_owned(),
            );
            format!(
                "Delivered to {} but not to the Inbox (archived).",
                asked.mailbox
            )
        }
        Placement::Labelled => {
            next_steps.push(
                "A filter filed it away from the Inbox: check the mailbox's filters.".to_owned(),
            );
            format!(
                "Delivered to {} under {} and not to the Inbox.",
                asked.mailbox,
                if found.labels.is_empty() {
                    found.folder.clone()
                } else {
                    found.labels.join(", ")
                }
            )
        }
        Placement::NotArrived => unreachable_not_arrived(),
    };
    if original_from.is_some() {
        next_steps.push(
            "The server rewrote the From to the account that logged in: add the address as a \
             verified \"Send mail as\" alias in Gmail's settings, or send from the account's \
             own address."
                .to_owned(),
        );
    }
    DeliveryVerdict {
        mailbox: asked.mailbox.clone(),
        message_id: asked.message_id.clone(),
        placement,
        tab,
        folder: Some(found.folder.clone()),
        labels: found.labels.clone(),
        delivery_ms,
        arrival_source: arrived_ms.and(arrival_source),
        arrived_at: arrived_ms.map(|ms| crate::smtp::rfc3339(ms / 1000)),
        waited_ms: asked.waited_ms,
        authentication,
        received,
        original_from,
        original_message_id,
        spam_causes,
        next_steps,
        summary,
    }
}

/// `Placement::NotArrived` is answered before the match; this arm cannot be reached, and
/// says so in words rather than panicking.
fn unreachable_not_arrived() -> String {
    "Not found.".to_owned()
}

fn not_arrived(asked: &Asked) -> DeliveryVerdict {
    DeliveryVerdict {
        mailbox: asked.mailbox.clone(),
        message_id: asked.message_id.clone(),
        placement: Placement::NotArrived,
        tab: None,
        folder: None,
        labels: Vec::new(),
        delivery_ms: None,
        arrival_source: None,
        arrived_at: None,
        waited_ms: asked.waited_ms,
        authentication: Vec::new(),
        received: Vec::new(),
        original_from: None,
        original_message_id: None,
        spam_causes: Vec::new(),
        next_steps: vec![
            "Check the send's result: a 250 means the server accepted it; anything else means \
             it was never sent."
                .to_owned(),
            "Check the recipient address: it must be the receiving mailbox's own address."
                .to_owned(),
            "Look in the sending account's Inbox for a bounce (\"Delivery Status \
             Notification\") naming the recipient."
                .to_owned(),
            "Providers sometimes hold mail for minutes: verify again with a longer time limit."
                .to_owned(),
            "Check the receiving mailbox's filters and forwarding, which can delete or move \
             mail before IMAP sees it."
                .to_owned(),
        ],
        summary: format!(
            "Not arrived in {} within {} s: it is in no folder, not even Spam or Trash.",
            asked.mailbox, asked.limit_seconds
        ),
    }
}

fn is_system_label(label: &str) -> bool {
    ["\\Important", "\\Starred", "\\Sent", "\\Draft", "\\Muted"]
        .iter()
        .any(|system| label.eq_ignore_ascii_case(system))
}

/// The header fields, unfolded, in order.
struct Headers(Vec<(String, String)>);

impl Headers {
    fn read(message: &[u8]) -> Headers {
        let end = message
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map(|at| at + 2)
            .or_else(|| {
                message
                    .windows(2)
                    .position(|w| w == b"\n\n")
                    .map(|at| at + 1)
            })
            .unwrap_or(message.len());
        let text = String::from_utf8_lossy(&message[..end]);
        let mut fields: Vec<(String, String)> = Vec::new();
        for line in text.split('\n') {
            let line = line.trim_end_matches('\r');
            if line.starts_with([' ', '\t']) {
                if let Some((_, value)) = fields.last_mut() {
                    value.push(' ');
                    value.push_str(line.trim());
                }
            } else if let Some((name, value)) = line.split_once(':') {
                fields.push((name.trim().to_owned(), value.trim().to_owned()));
            }
        }
        Headers(fields)
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
            .collect()
    }

    fn first(&self, name: &str) -> Option<String> {
        self.all(name).into_iter().next()
    }

    fn authentication(&self) -> Vec<AuthVerdict> {
        self.all("Authentication-Results")
            .iter()
            .flat_map(|value| parse_authentication_results(value))
            .collect()
    }
}

/// RFC 8601's `Authentication-Results`: `authserv-id; method=result prop=value ...; ...`.
pub fn parse_authentication_results(value: &str) -> Vec<AuthVerdict> {
    let value = strip_comments(value);
    let mut parts = value.split(';');
    let by = parts
        .next()
        .and_then(|id| id.split_whitespace().next())
        .unwrap_or_default()
        .to_owned();
    parts
        .filter_map(|part| {
            let mut words = part.split_whitespace();
            let (method, result) = words.next()?.split_once('=')?;
            if method.trim().is_empty() {
                return None;
            }
            let properties: Vec<(String, String)> = words
                .filter_map(|word| word.split_once('='))
                .map(|(k, v)| (k.to_ascii_lowercase(), v.trim_matches('"').to_owned()))
                .collect();
            let property = |names: &[&str]| {
                names.iter().find_map(|name| {
                    properties
                        .iter()
                        .find(|(k, _)| k == name)
                        .map(|(_, v)| v.rsplit('@').next().unwrap_or(v).to_owned())
                })
            };
            let method = method.trim().to_ascii_lowercase();
            let domain = match method.as_str() {
                "spf" => property(&["smtp.mailfrom", "smtp.helo"]),
                "dkim" => property(&["header.d", "header.i"]),
                "dmarc" => property(&["header.from"]),
                _ => property(&["header.from", "smtp.mailfrom", "header.d"]),
            };
            Some(AuthVerdict {
                method,
                result: result.trim().to_ascii_lowercase(),
                domain: domain.filter(|d| !d.is_empty()),
                by: by.clone(),
            })
        })
        .collect()
}

fn strip_comments(value: &str) -> String {
    let mut out = String::new();
    let mut depth = 0u32;
    let mut quoted = false;
    for c in value.chars() {
        match c {
            '"' if depth == 0 => {
                quoted = !quoted;
                out.push(c);
            }
            '(' if !quoted => depth += 1,
            ')' if !quoted && depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// For Spam: what most likely caused it, each with its fix, most telling first.
fn spam_causes(
    headers: &Headers,
    authentication: &[AuthVerdict],
    asked: &Asked,
    message: &[u8],
) -> Vec<String> {
    let mut causes = Vec::new();
    // The sandbox says which of its rules decided (a real provider does not).
    if let Some(rule) = headers.first("X-Sandbox-Spam") {
        causes.push(format!(
            "The sandbox's spam rule filed it in Spam: {rule}. Fix what it names (the fault \
             counts down by itself)."
        ));
    }
    for verdict in authentication {
        let domain = verdict.domain.as_deref().unwrap_or("the sender's domain");
        let failed = matches!(
            verdict.result.as_str(),
            "fail" | "softfail" | "permerror" | "temperror" | "none" | "neutral"
        );
        if !failed {
            continue;
        }
        causes.push(match verdict.method.as_str() {
            "spf" => format!(
                "SPF {} for {domain} (by {}): publish an SPF record for {domain} that includes \
                 the server that sent it (for Gmail: include:_spf.google.com).",
                verdict.result, verdict.by
            ),
            "dkim" => format!(
                "DKIM {} for {domain} (by {}): sign the message with a DKIM key published \
                 under {domain} (Google Workspace: Admin console, Authenticate email).",
                verdict.result, verdict.by
            ),
            "dmarc" => format!(
                "DMARC {} for {domain} (by {}): make SPF or DKIM pass for the From's own \
                 domain (aligned), and publish a DMARC record at _dmarc.{domain}.",
                verdict.result, verdict.by
            ),
            other => format!(
                "{other} {} for {domain} (by {}).",
                verdict.result, verdict.by
            ),
        });
    }
    if authentication.is_empty() {
        causes.push(
            "The message has no Authentication-Results field: the receiving server recorded no \
             SPF, DKIM or DMARC verdict, so they cannot be read here."
                .to_owned(),
        );
    }
    if let Some(status) = headers
        .first("X-Spam-Status")
        .filter(|s| s.to_ascii_lowercase().starts_with("yes"))
    {
        causes.push(format!(
            "The server's spam filter scored it as spam: X-Spam-Status: {status}. Each test \
             named there is a rule to fix."
        ));
    } else if headers
        .first("X-Spam-Flag")
        .is_some_and(|flag| flag.eq_ignore_ascii_case("yes"))
    {
        causes.push("The server's spam filter flagged it (X-Spam-Flag: YES).".to_owned());
    }
    if message
        .windows(GTUBE.len())
        .any(|window| window == GTUBE.as_bytes())
    {
        causes.push(
            "The message contains the GTUBE test string, which every spam filter treats as \
             spam: remove it."
                .to_owned(),
        );
    }
    let parsed = MessageParser::default().parse(message);
    if let Some(parsed) = &parsed {
        let has_plain = parsed.parts.iter().any(|part| match part.content_type() {
            None => matches!(part.body, mail_parser::PartType::Text(_)),
            Some(ct) => {
                ct.ctype().eq_ignore_ascii_case("text")
                    && ct.subtype().is_none_or(|s| s.eq_ignore_ascii_case("plain"))
            }
        });
        if !has_plain {
            causes.push(
                "It has no text/plain part (HTML only): add a plain-text alternative \
                 (multipart/alternative)."
                    .to_owned(),
            );
        }
    }
    let from = parsed
        .as_ref()
        .and_then(|p| p.from())
        .and_then(|f| f.first())
        .and_then(|a| a.address())
        .map(str::to_owned);
    if let (Some(from), Some(sender)) = (from.as_deref(), asked.sender.as_deref())
        && !from.eq_ignore_ascii_case(sender)
    {
        causes.push(format!(
            "The From {from} is not the sending account {sender}: send from the account's own \
             address or a verified alias whose domain authenticates."
        ));
    }
    if let Some(original) = headers.first("X-Google-Original-From") {
        causes.push(format!(
            "Gmail rewrote the From (it was {original}): a From the account may not use looks \
             forged to filters."
        ));
    }
    let bulk = headers
        .first("Precedence")
        .is_some_and(|p| p.eq_ignore_ascii_case("bulk") || p.eq_ignore_ascii_case("list"))
        || headers.first("List-Id").is_some();
    if bulk && headers.first("List-Unsubscribe").is_none() {
        causes.push(
            "It is bulk mail (Precedence or List-Id) without List-Unsubscribe: add one-click \
             unsubscribe (RFC 8058), which Gmail requires of bulk senders."
                .to_owned(),
        );
    }
    let only_missing_results = causes.len() == 1 && authentication.is_empty();
    if only_missing_results || causes.is_empty() {
        causes.push(
            "No header explains it: filters also weigh the sending domain's and IP's \
             reputation, the content and the links. Run \"Check before sending\" on the \
             message, and send from an address whose domain has SPF, DKIM and DMARC."
                .to_owned(),
        );
    }
    causes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asked() -> Asked {
        Asked {
            mailbox: "Gmail".into(),
            message_id: "1.abc@mailbridge.test".into(),
            sent_at_ms: Some(1_700_000_000_000),
            sender: Some("me@example.com".into()),
            waited_ms: 1500,
            limit_seconds: 180,
        }
    }

    const HEADER: &str = "Received: by 2002:a05:6000:1:b0:1 with SMTP id x;\r\n        Tue, 14 Nov 2023 22:13:22 +0000\r\n\
Authentication-Results: mx.google.com;\r\n       dkim=pass header.i=@example.com header.s=s1 header.b=abc;\r\n       spf=pass (google.com: domain of me@example.com designates 1.2.3.4 as permitted sender) smtp.mailfrom=me@example.com;\r\n       dmarc=pass (p=NONE sp=NONE dis=NONE) header.from=example.com\r\n\
From: Me <me@example.com>\r\nMessage-ID: <1.abc@mailbridge.test>\r\nContent-Type: text/plain\r\n\r\nhello\r\n";

    fn found(role: Role, labels: &[&str], tab: Option<Tab>, message: &str) -> Found {
        Found {
            folder: "[Gmail]/All Mail".into(),
            role,
            labels: labels.iter().map(|l| l.to_string()).collect(),
            tab,
            internal_date_ms: Some(1_700_000_002_000),
            message: message.as_bytes().to_vec(),
        }
    }

    #[test]
    fn placements() {
        for (role, labels, tab, placement, shown_tab) in [
            (
                Role::All,
                &["\\Inbox"][..],
                Some(Tab::Primary),
                Placement::Inbox,
                Some(Tab::Primary),
            ),
            (
                Role::All,
                &["\\Inbox", "\\Important"],
                Some(Tab::Promotions),
                Placement::Inbox,
                Some(Tab::Promotions),
            ),
            (Role::All, &["\\Important"], None, Placement::Archived, None),
            (Role::All, &["Receipts"], None, Placement::Labelled, None),
            (Role::Junk, &[], None, Placement::Spam, None),
            (Role::Trash, &[], None, Placement::Trash, None),
            (Role::Inbox, &[], None, Placement::Inbox, None),
            (Role::Archive, &[], None, Placement::Archived, None),
        ] {
            let v = verdict(&asked(), Some(&found(role, labels, tab, HEADER)));
            assert_eq!(
                (v.placement, v.tab),
                (placement, shown_tab),
                "{role:?} {labels:?}"
            );
            assert_eq!(v.placement == Placement::Spam, !v.spam_causes.is_empty());
        }
        let v = verdict(&asked(), None);
        assert_eq!(v.placement, Placement::NotArrived);
        assert!(v.summary.contains("180 s"), "{}", v.summary);
        assert!(v.next_steps.iter().any(|s| s.contains("bounce")));
    }

    #[test]
    fn times_authentication_and_received() {
        let v = verdict(
            &asked(),
            Some(&found(Role::All, &["\\Inbox"], None, HEADER)),
        );
        assert_eq!(v.delivery_ms, Some(2000));
        assert_eq!(v.arrival_source.as_deref(), Some("INTERNALDATE"));
        let auth: Vec<(&str, &str, Option<&str>)> = v
            .authentication
            .iter()
            .map(|a| (a.method.as_str(), a.result.as_str(), a.domain.as_deref()))
            .collect();
        assert_eq!(
            auth,
            [
                ("dkim", "pass", Some("example.com")),
                ("spf", "pass", Some("example.com")),
                ("dmarc", "pass", Some("example.com")),
            ]
        );
        assert!(v.authentication.iter().all(|a| a.by == "mx.google.com"));
        assert_eq!(v.received.len(), 1);
        assert!(v.received[0].ends_with("+0000"), "{:?}", v.received);
        assert_eq!(v.original_message_id, None);
        // Without INTERNALDATE, the top Received: field's date.
        let mut no_date = found(Role::All, &["\\Inbox"], None, HEADER);
        no_date.internal_date_ms = None;
        let v = verdict(&asked(), Some(&no_date));
        assert_eq!(v.arrival_source.as_deref(), Some("the top Received: field"));
        assert_eq!(v.arrived_at.as_deref(), Some("2023-11-14T22:13:22Z"));
        // An arrival a fraction of a second "before" the 250, by a clock in whole seconds.
        let mut early = found(Role::All, &["\\Inbox"], None, HEADER);
        early.internal_date_ms = Some(1_699_999_999_000);
        assert_eq!(verdict(&asked(), Some(&early)).delivery_ms, Some(0));
    }

    #[test]
    fn gmail_rewrites_are_reported() {
        let message = "X-Google-Original-From: Boss <boss@other.example>\r\n\
            X-Google-Original-Message-ID: <broken id>\r\n\
            Message-ID: <5.SMTPIN_ADDED_BROKEN@mx.google.com>\r\nFrom: me@example.com\r\n\r\nx\r\n";
        let v = verdict(
            &asked(),
            Some(&found(Role::All, &["\\Inbox"], None, message)),
        );
        assert_eq!(
            v.original_from.as_deref(),
            Some("Boss <boss@other.example>")
        );
        assert_eq!(v.original_message_id.as_deref(), Some("<broken id>"));
        assert!(v.next_steps.iter().any(|s| s.contains("Send mail as")));
    }

    #[test]
    fn spam_causes_name_the_headers_and_fixes() {
        let message = "Authentication-Results: mx.google.com; spf=softfail smtp.mailfrom=me@example.com; dkim=none; dmarc=fail header.from=example.com\r\n\
            X-Spam-Status: Yes, score=7.1 tests=HTML_ONLY,GTUBE\r\n\
            From: Someone <boss@other.example>\r\nPrecedence: bulk\r\nContent-Type: text/html\r\n\r\n<p>XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X</p>\r\n";
        let v = verdict(&asked(), Some(&found(Role::Junk, &[], None, message)));
        let causes = v.spam_causes.join("\n");
        for expected in [
            "SPF softfail for example.com",
            "DKIM none",
            "DMARC fail for example.com",
            "X-Spam-Status: Yes, score=7.1",
            "GTUBE",
            "no text/plain part",
            "boss@other.example is not the sending account me@example.com",
            "List-Unsubscribe",
        ] {
            assert!(
                causes.contains(expected),
                "{expected:?} missing from:\n{causes}"
            );
        }
        assert!(!causes.contains("No header explains it"), "{causes}");
        // A spam verdict with nothing to show still says what to look at.
        let plain = "From: me@example.com\r\nContent-Type: text/plain\r\n\r\nhi\r\n";
        let v = verdict(&asked(), Some(&found(Role::Junk, &[], None, plain)));
        let causes = v.spam_causes.join("\n");
        assert!(causes.contains("no Authentication-Results"), "{causes}");
        assert!(causes.contains("No header explains it"), "{causes}");
        // The sandbox names its rule.
        let sandbox =
            format!("X-Sandbox-Spam: the GTUBE test string is in the message (+1000)\r\n{plain}");
        let v = verdict(&asked(), Some(&found(Role::Junk, &[], None, &sandbox)));
        assert!(
            v.spam_causes[0].contains("The sandbox's spam rule filed it in Spam: the GTUBE"),
            "{:?}",
            v.spam_causes
        );
    }

    #[test]
    fn authentication_results_parse_with_comments_and_junk() {
        for (value, expected) in [
            ("mx.example; none", vec![]),
            ("", vec![]),
            (
                "i=1; mx.google.com; spf=pass smtp.mailfrom=\"a@b.example\"",
                vec![(
                    "spf".to_owned(),
                    "pass".to_owned(),
                    Some("b.example".to_owned()),
                )],
            ),
            (
                "mx (comment; with semicolon) ; dkim=fail (bad sig) header.d=d.example",
                vec![(
                    "dkim".to_owned(),
                    "fail".to_owned(),
                    Some("d.example".to_owned()),
                )],
            ),
            ("junk ;;; =;x=", vec![("x".to_owned(), "".to_owned(), None)]),
        ] {
            let parsed: Vec<_> = parse_authentication_results(value)
                .into_iter()
                .map(|a| (a.method, a.result, a.domain))
                .collect();
            assert_eq!(parsed, expected, "{value:?}");
        }
    }
}
