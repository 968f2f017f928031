//! Links: every URL in the text and HTML parts, with anchors that show another domain,
//! `http:` links, URL shorteners, `javascript:` links and addresses that go nowhere.
//!
//! HTML is parsed with html5ever (through scraper): `<a href>`, `<area href>`, images
//! (`src`, `srcset`, `background`) and the addresses in its text, which Gmail turns into links.
//! Text parts are scanned with linkify. Each kind of finding lists at most
//! [`MAX_PER_CODE`] addresses, each once, with how many times it appears.
//!
//! Codes: `link-text-mismatch`, `link-shortener`, `link-javascript`, `link-relative` and
//! `link-unparsable` (warnings), `link-http` (advice).

use std::collections::{HashMap, HashSet};

use linkify::{LinkFinder, LinkKind};
use mail_parser::{Message, PartType};
use protocol::{CheckKind, Finding, Severity};
use scraper::{ElementRef, Html, Node};
use url::{ParseError, Url};

use crate::html::{MAX_HTML_BYTES, bounded, element_path, part_location};

/// Findings of one kind listed one by one; the rest are counted in one more finding.
pub const MAX_PER_CODE: usize = 10;

/// How many addresses [`urls`] returns at most.
pub const MAX_URLS: usize = 500;

/// URL shorteners: they hide where a link goes, so spam uses them and filters distrust them.
pub const SHORTENERS: &[&str] = &[
    "bit.ly",
    "bitly.com",
    "j.mp",
    "tinyurl.com",
    "t.co",
    "goo.gl",
    "ow.ly",
    "is.gd",
    "v.gd",
    "buff.ly",
    "rebrand.ly",
    "cutt.ly",
    "shorturl.at",
    "tiny.cc",
    "rb.gy",
    "t.ly",
    "s.id",
    "lnkd.in",
    "bl.ink",
    "tr.im",
    "x.co",
    "qr.ae",
    "adf.ly",
    "shorte.st",
    "soo.gd",
    "clck.ru",
    "trib.al",
    "db.tt",
];

/// Every http and https address in the message's text and HTML parts (links, images and
/// addresses in the text), once each, in order, at most [`MAX_URLS`]: for a HEAD check.
pub fn urls(message: &Message<'_>) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut urls = Vec::new();
    for link in collect(message) {
        let Ok(url) = Url::parse(link.address.trim()) else {
            continue;
        };
        if !matches!(url.scheme(), "http" | "https") || !link.explicit {
            continue;
        }
        let url = String::from(url);
        if seen.insert(url.clone()) {
            urls.push(url);
            if urls.len() == MAX_URLS {
                break;
            }
        }
    }
    urls
}

pub(crate) fn check(message: &Message<'_>, out: &mut Vec<Finding>) {
    let mut report = Report::default();
    for link in collect(message) {
        report.link(&link);
    }
    report.finish(out);
}

/// Where an address was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// `<a href>` or `<area href>`.
    Anchor,
    /// An image's `src`, `srcset` or `background`.
    Image,
    /// Plain text, which Gmail turns into a link.
    Text,
}

#[derive(Debug)]
struct Link {
    address: String,
    source: Source,
    /// The address was written with its scheme (in text, `https://...` rather than `bit.ly/x`).
    explicit: bool,
    /// An anchor's visible text (or an area's `alt`).
    text: Option<String>,
    location: String,
}

fn collect(message: &Message<'_>) -> Vec<Link> {
    let mut links = Vec::new();
    for &id in &message.text_body {
        if let Some(PartType::Text(text)) = message.parts.get(id as usize).map(|p| &p.body) {
            let location = part_location(message, id, "text/plain");
            text_links(text, &location, true, &mut links);
        }
    }
    for &id in &message.html_body {
        if let Some(PartType::Html(html)) = message.parts.get(id as usize).map(|p| &p.body) {
            let location = part_location(message, id, "text/html");
            html_links(html, &location, &mut links);
        }
    }
    links
}

/// The addresses in plain text; `lines`: name the line each is on.
fn text_links(text: &str, location: &str, lines: bool, links: &mut Vec<Link>) {
    let mut end = text.len().min(MAX_HTML_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let text = &text[..end];
    let mut finder = LinkFinder::new();
    finder.kinds(&[LinkKind::Url]).url_must_have_scheme(false);
    // Lines are counted as the links come, in order, so the text is read once.
    let (mut counted_to, mut line) = (0, 1);
    for found in finder.links(text) {
        if lines {
            line += text[counted_to..found.start()].matches('\n').count();
            counted_to = found.start();
        }
        let address = found.as_str();
        links.push(Link {
            address: address.to_owned(),
            source: Source::Text,
            explicit: has_scheme(address),
            text: None,
            location: if lines {
                format!("{location}, line {line}")
            } else {
                location.to_owned()
            },
        });
    }
}

fn html_links(html: &str, location: &str, links: &mut Vec<Link>) {
    let (html, _) = bounded(html);
    let document = Html::parse_document(html);
    for node in document.tree.root().descendants() {
        match node.value() {
            Node::Element(element) => {
                let Some(element_ref) = ElementRef::wrap(node) else {
                    continue;
                };
                let name = element.name();
                let place = || format!("{location}, {}", element_path(element_ref));
                let mut push = |address: &str, source, text| {
                    links.push(Link {
                        address: address.to_owned(),
                        source,
                        explicit: true,
                        text,
                        location: place(),
                    })
                };
                match (name, element.attr("href")) {
                    ("a", Some(href)) => {
                        let text: String = element_ref.text().collect();
                        push(href, Source::Anchor, Some(text));
                    }
                    ("area", Some(href)) => {
                        push(href, Source::Anchor, element.attr("alt").map(str::to_owned));
                    }
                    _ => {}
                }
                if matches!(name, "img" | "input")
                    && let Some(src) = element.attr("src")
                {
                    push(src, Source::Image, None);
                }
                if let Some(srcset) = element.attr("srcset") {
                    for candidate in srcset.split(',') {
                        if let Some(url) = candidate.split_whitespace().next() {
                            push(url, Source::Image, None);
                        }
                    }
                }
                if let Some(background) = element.attr("background") {
                    push(background, Source::Image, None);
                }
            }
            Node::Text(text) => {
                // Addresses written out in the text, outside any link.
                let in_link = node.ancestors().any(|a| {
                    a.value()
                        .as_element()
                        .is_some_and(|e| matches!(e.name(), "a" | "style" | "script" | "title"))
                });
                if !in_link {
                    let place = node
                        .parent()
                        .and_then(ElementRef::wrap)
                        .map(|parent| format!("{location}, text in {}", element_path(parent)))
                        .unwrap_or_else(|| location.to_owned());
                    text_links(text, &place, false, links);
                }
            }
            _ => {}
        }
    }
}

fn has_scheme(address: &str) -> bool {
    address.split_once(':').is_some_and(|(scheme, _)| {
        !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    })
}

/// The findings, grouped by address so that a footer link repeated ten times is one finding.
#[derive(Default)]
struct Report {
    /// (code, address) to its finding and how often it was seen.
    seen: HashMap<(&'static str, String), usize>,
    findings: Vec<(Finding, usize)>,
}

impl Report {
    fn link(&mut self, link: &Link) {
        let address = link.address.trim();
        if address.is_empty() || address.starts_with('#') {
            // Empty and local anchors (`#top`) are the HTML check's business.
            return;
        }
        let candidate = if link.explicit {
            address.to_owned()
        } else {
            format!("http://{address}")
        };
        let url = match Url::parse(&candidate) {
            Ok(url) => url,
            Err(error) => {
                if link.source != Source::Text {
                    self.unparsable(link, address, error);
                }
                return;
            }
        };
        match url.scheme() {
            "javascript" | "vbscript" => {
                self.add(link, "link-javascript", || Finding {
                    check: CheckKind::Links,
                    severity: Severity::Warning,
                    code: "link-javascript".into(),
                    found: format!("{} runs a script instead of opening a page", quote(address)),
                    location: link.location.clone(),
                    why: "Gmail removes script links, so the link does nothing; scripts in mail \
                          are also a mark of phishing to spam filters"
                        .into(),
                    fix: "link to a web page (https://...) instead".into(),
                });
                return;
            }
            "http" | "https" => {}
            _ => return,
        }
        let host = url
            .host_str()
            .unwrap_or_default()
            .trim_end_matches('.')
            .to_ascii_lowercase();
        if url.scheme() == "http" && link.explicit && link.source != Source::Image {
            self.add(link, "link-http", || Finding {
                check: CheckKind::Links,
                severity: Severity::Advice,
                code: "link-http".into(),
                found: format!("{} is an unencrypted http: link", quote(address)),
                location: link.location.clone(),
                why: "browsers mark http: pages \"Not secure\", anyone on the reader's network \
                      can read or change them, and spam filters count unencrypted links against \
                      a message"
                    .into(),
                fix: format!(
                    "link to https://{} if the site serves it",
                    address.split_once("://").map_or(address, |(_, rest)| rest)
                ),
            });
        }
        let bare = host.strip_prefix("www.").unwrap_or(&host);
        if let Some(shortener) = SHORTENERS.iter().find(|s| **s == bare) {
            self.add(link, "link-shortener", || Finding {
                check: CheckKind::Links,
                severity: Severity::Warning,
                code: "link-shortener".into(),
                found: format!(
                    "{} goes through the URL shortener {shortener}",
                    quote(address)
                ),
                location: link.location.clone(),
                why: "a shortener hides where a link goes, so spammers use them and Gmail's \
                      filters distrust them: a shortener's domain shared with spam can put the \
                      message in spam"
                    .into(),
                fix: "link to the page itself, on your own domain".into(),
            });
        }
        if link.source == Source::Anchor
            && let Some(shown) = link.text.as_deref().and_then(shown_host)
            && !same_site(&shown, &host)
        {
            self.add(link, "link-text-mismatch", || Finding {
                check: CheckKind::Links,
                severity: Severity::Warning,
                code: "link-text-mismatch".into(),
                found: format!("the link text shows {shown} but goes to {host}"),
                location: link.location.clone(),
                why: "a link whose text shows one domain and that goes to another is what \
                      phishing looks like; Gmail's filters and SpamAssassin count it against the \
                      message, and Gmail may warn the reader"
                    .into(),
                fix: format!(
                    "make the text show where the link goes ({host}), or use words instead of \
                     an address as the text"
                ),
            });
        }
    }

    fn unparsable(&mut self, link: &Link, address: &str, error: ParseError) {
        if error == ParseError::RelativeUrlWithoutBase {
            let looks_like_domain = address
                .split('/')
                .next()
                .is_some_and(|first| first.contains('.') && !first.starts_with('.'));
            let fix = if looks_like_domain {
                format!("write the scheme too: https://{address}")
            } else {
                "write the whole address, https://example.com/... (a template placeholder left \
                 in the message looks like this too)"
                    .to_owned()
            };
            self.add(link, "link-relative", || Finding {
                check: CheckKind::Links,
                severity: Severity::Warning,
                code: "link-relative".into(),
                found: format!("{} is a relative address", quote(address)),
                location: link.location.clone(),
                why: "a message has no page for a relative address to be relative to, so the \
                      link goes nowhere"
                    .into(),
                fix,
            });
            return;
        }
        self.add(link, "link-unparsable", || Finding {
            check: CheckKind::Links,
            severity: Severity::Warning,
            code: "link-unparsable".into(),
            found: format!("{} is not a valid address ({error})", quote(address)),
            location: link.location.clone(),
            why: "Gmail cannot follow it, so the reader gets a link that does nothing".into(),
            fix: "correct the address; copy it from the browser's address bar".into(),
        });
    }

    fn add(&mut self, link: &Link, code: &'static str, finding: impl FnOnce() -> Finding) {
        let key = (code, link.address.trim().to_owned());
        if let Some(&index) = self.seen.get(&key) {
            if let Some((_, count)) = self.findings.get_mut(index) {
                *count += 1;
            }
            return;
        }
        self.seen.insert(key, self.findings.len());
        self.findings.push((finding(), 1));
    }

    fn finish(self, out: &mut Vec<Finding>) {
        let mut listed: HashMap<String, usize> = HashMap::new();
        let mut unlisted: Vec<(Finding, usize)> = Vec::new();
        for (mut finding, count) in self.findings {
            let shown = listed.entry(finding.code.clone()).or_default();
            if *shown == MAX_PER_CODE {
                match unlisted.iter_mut().find(|(f, _)| f.code == finding.code) {
                    Some((_, more)) => *more += 1,
                    None => unlisted.push((finding, 1)),
                }
                continue;
            }
            *shown += 1;
            if count > 1 {
                finding.found.push_str(&format!(" ({count} times)"));
            }
            out.push(finding);
        }
        for (mut finding, more) in unlisted {
            finding.found = format!(
                "{more} more link{} like the ones above (not listed one by one)",
                if more == 1 { "" } else { "s" }
            );
            finding.location = "the message's text and HTML parts".into();
            out.push(finding);
        }
    }
}

/// The host an anchor's text shows, if the text is an address: `https://paypal.com/login`,
/// `www.paypal.com` or a bare `paypal.com`, but not `report.pdf`.
fn shown_host(text: &str) -> Option<String> {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut finder = LinkFinder::new();
    finder.kinds(&[LinkKind::Url]).url_must_have_scheme(false);
    let found = finder.links(&text).next()?;
    let address = found.as_str();
    let explicit = has_scheme(address);
    // A bare domain counts only as the whole text: "see report.pdf" is not an address.
    let whole = found.start() == 0 && found.end() == text.len();
    if !explicit && !address.starts_with("www.") && !whole {
        return None;
    }
    let url = if explicit {
        Url::parse(address).ok()?
    } else {
        Url::parse(&format!("http://{address}")).ok()?
    };
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    let host = url.host_str()?.trim_end_matches('.').to_ascii_lowercase();
    let tld = host.rsplit('.').next()?;
    const FILES: &[&str] = &[
        "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "zip", "jpg", "jpeg", "png", "gif",
        "txt", "csv", "htm", "html", "php", "asp", "aspx", "exe", "mp3", "mp4", "mov", "svg",
        "webp", "ics",
    ];
    if !explicit && (FILES.contains(&tld) || !tld.chars().all(|c| c.is_ascii_alphabetic())) {
        return None;
    }
    Some(host)
}

/// One host is the other or a subdomain of it (`www.paypal.com` and `paypal.com`).
fn same_site(a: &str, b: &str) -> bool {
    let a = a.strip_prefix("www.").unwrap_or(a);
    let b = b.strip_prefix("www.").unwrap_or(b);
    a == b || a.ends_with(&format!(".{b}")) || b.ends_with(&format!(".{a}"))
}

/// An address in backticks, shortened past 100 characters.
fn quote(address: &str) -> String {
    const LONGEST: usize = 100;
    match address.char_indices().nth(LONGEST) {
        Some((end, _)) => format!("`{}…`", &address[..end]),
        None => format!("`{address}`"),
    }
}

#[cfg(test)]
mod tests {
    use mail_parser::MessageParser;

    use super::*;

    /// A multipart/alternative message with these parts (text first, as part 1).
    fn raw(text: Option<&str>, html: Option<&str>) -> String {
        let mut raw =
            "From: a@example.com\r\nTo: b@example.com\r\nSubject: x\r\nMIME-Version: 1.0\r\n\
                       Content-Type: multipart/alternative; boundary=b\r\n\r\n"
                .to_owned();
        if let Some(text) = text {
            raw.push_str(&format!(
                "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
            ));
        }
        if let Some(html) = html {
            raw.push_str(&format!(
                "--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n"
            ));
        }
        raw.push_str("--b--\r\n");
        raw
    }

    fn findings(text: Option<&str>, html: Option<&str>) -> Vec<Finding> {
        let raw = raw(text, html);
        let message = MessageParser::default()
            .parse(raw.as_bytes())
            .expect("the message parses");
        let mut out = Vec::new();
        super::check(&message, &mut out);
        out
    }

    /// The findings as (code, what was found).
    fn check(text: Option<&str>, html: Option<&str>, expected: &[(&str, &str)]) {
        let found = findings(text, html);
        let got: Vec<(&str, &str)> = found
            .iter()
            .map(|f| (f.code.as_str(), f.found.as_str()))
            .collect();
        assert_eq!(got, expected, "for {text:?} {html:?}\n{found:#?}");
        for finding in &found {
            assert_eq!(finding.check, CheckKind::Links);
            let severity = match finding.code.as_str() {
                "link-http" => Severity::Advice,
                _ => Severity::Warning,
            };
            assert_eq!(finding.severity, severity, "{finding:#?}");
        }
    }

    const MISMATCH: &str = "link-text-mismatch";

    /// A text part, an HTML part, and the findings as (code, what was found).
    type Case = (
        Option<&'static str>,
        Option<&'static str>,
        &'static [(&'static str, &'static str)],
    );

    #[test]
    fn links_that_cost_trust() {
        let cases: &[Case] = &[
            // Anchors whose text shows an address.
            (
                None,
                Some("<a href='https://evil.example/login'>https://paypal.com/signin</a>"),
                &[(
                    MISMATCH,
                    "the link text shows paypal.com but goes to evil.example",
                )],
            ),
            (
                None,
                Some("<a href='https://evil.example/login'> www.PayPal.com </a>"),
                &[(
                    MISMATCH,
                    "the link text shows www.paypal.com but goes to evil.example",
                )],
            ),
            (
                None,
                Some("<a href='https://evil.example/'>Log in at paypal.com</a>"),
                &[],
            ),
            (
                None,
                Some("<a href='https://www.paypal.com/signin'>paypal.com</a>"),
                &[],
            ),
            (
                None,
                Some("<a href='https://paypal.com/signin'>https://www.paypal.com/signin</a>"),
                &[],
            ),
            (
                None,
                Some("<a href='https://mail.example.com/x'>example.com</a>"),
                &[],
            ),
            (
                None,
                Some("<a href='https://cdn.example.com/report.pdf'>report.pdf</a>"),
                &[],
            ),
            (
                None,
                Some("<a href='mailto:help@example.com'>help@example.com</a>"),
                &[],
            ),
            (
                None,
                Some("<a href='https://example.com/'>Our shop</a>"),
                &[],
            ),
            // Shorteners, in HTML and text, with or without a scheme.
            (
                None,
                Some("<a href='https://bit.ly/3abc'>Our offer</a>"),
                &[(
                    "link-shortener",
                    "`https://bit.ly/3abc` goes through the URL shortener bit.ly",
                )],
            ),
            (
                Some("See https://tinyurl.com/xyz for more"),
                None,
                &[(
                    "link-shortener",
                    "`https://tinyurl.com/xyz` goes through the URL shortener tinyurl.com",
                )],
            ),
            (
                Some("Visit www.example.com or bit.ly/abc"),
                None,
                &[(
                    "link-shortener",
                    "`bit.ly/abc` goes through the URL shortener bit.ly",
                )],
            ),
            // http.
            (
                None,
                Some("<a href='http://example.com/page'>Read</a>"),
                &[(
                    "link-http",
                    "`http://example.com/page` is an unencrypted http: link",
                )],
            ),
            (
                Some("Read http://example.com/page"),
                None,
                &[(
                    "link-http",
                    "`http://example.com/page` is an unencrypted http: link",
                )],
            ),
            (
                None,
                Some("<img src='http://example.com/logo.png' alt=''>"),
                &[],
            ),
            (
                None,
                Some("<a href='https://example.com/page'>Read</a>"),
                &[],
            ),
            // Links that go nowhere.
            (
                None,
                Some("<a href='javascript:alert(1)'>Click</a>"),
                &[(
                    "link-javascript",
                    "`javascript:alert(1)` runs a script instead of opening a page",
                )],
            ),
            (
                None,
                Some("<a href='/offers'>Offers</a>"),
                &[("link-relative", "`/offers` is a relative address")],
            ),
            (
                None,
                Some("<a href='{{unsubscribe_url}}'>Unsubscribe</a>"),
                &[(
                    "link-relative",
                    "`{{unsubscribe_url}}` is a relative address",
                )],
            ),
            (
                None,
                Some("<a href='https://exa mple.com/'>x</a>"),
                &[(
                    "link-unparsable",
                    "`https://exa mple.com/` is not a valid address (invalid international domain name)",
                )],
            ),
            (
                None,
                Some("<a href='#top'>Top</a> <a href='tel:+15555550100'>Call</a>"),
                &[],
            ),
        ];
        for (text, html, expected) in cases {
            check(*text, *html, expected);
        }
    }

    #[test]
    fn a_finding_says_where_and_how_often() {
        let html = "<p><a href='http://example.com/a'>a</a></p>".repeat(3);
        let found = findings(Some("one\ntwo\nsee http://example.com/b\n"), Some(&html));
        let got: Vec<(&str, &str)> = found
            .iter()
            .map(|f| (f.found.as_str(), f.location.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "`http://example.com/b` is an unencrypted http: link",
                    "part 1 text/plain, line 3"
                ),
                (
                    "`http://example.com/a` is an unencrypted http: link (3 times)",
                    "part 2 text/html, body > p > a"
                ),
            ]
        );
    }

    #[test]
    fn many_links_of_one_kind_are_summed_up() {
        let html: String = (0..12)
            .map(|n| format!("<a href='http://example.com/{n}'>{n}</a>"))
            .collect();
        let found = findings(None, Some(&html));
        assert_eq!(found.len(), MAX_PER_CODE + 1, "{found:#?}");
        assert_eq!(
            found[MAX_PER_CODE].found,
            "2 more links like the ones above (not listed one by one)"
        );
    }

    #[test]
    fn urls_lists_every_web_address_once() {
        let raw = raw(
            Some("Shop at https://a.example/x or bit.ly/y."),
            Some(
                "<a href='https://a.example/x'>Shop</a><img src='https://cdn.example/i.png' alt=''>\
                 <a href='mailto:a@example.com'>Mail</a><a href='http://b.example'>B</a>\
                 <p>Or https://c.example/z</p>",
            ),
        );
        let message = MessageParser::default()
            .parse(raw.as_bytes())
            .expect("the message parses");
        assert_eq!(
            urls(&message),
            [
                "https://a.example/x",
                "https://cdn.example/i.png",
                "http://b.example/",
                "https://c.example/z",
            ]
        );
    }
}
