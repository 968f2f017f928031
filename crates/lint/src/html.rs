//! HTML in Gmail: each element, attribute and CSS feature that Gmail does not support, from
//! the caniemail data, found with a real HTML parser (html5ever, through scraper) and CSS
//! tokenizer (cssparser).
//!
//! A feature is a warning when Gmail drops it on desktop webmail or in one of its apps, and
//! advice when one of those supports it only in part. What fails only in Gmail's mobile
//! webmail, or only in the apps showing another provider's account, gives no finding of its
//! own: most people read mail sent through Gmail in Gmail's webmail and apps, with a Google
//! account. Each feature gives at most one finding per part, with its number of uses and its
//! first.
//!
//! The work is bounded: the first [`MAX_HTML_BYTES`] of a part are checked, and nothing past
//! the point where elements nest [`MAX_NESTING`] deep, with advice saying so.
//!
//! Codes: `html-unsupported` (warning), `html-partial` (advice), `html-not-fully-checked`
//! (advice). The feature is named in `found`, and its caniemail page in `fix`.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use cssparser::{Delimiter, ParseError, Parser, Token};
use mail_parser::{Message, PartType};
use protocol::{CheckKind, Finding, Severity};
use scraper::{ElementRef, Html, Node};

use crate::caniemail::{
    Category, FEATURES, Feature, Gmail, Matcher, SUPPORTED_PROPERTIES, Selector, Support, Value,
};

/// How much of one HTML part is checked. Gmail clips a message whose HTML passes about
/// 102 KB, so this is far more than a reader sees.
pub const MAX_HTML_BYTES: usize = 5 * 1024 * 1024;

/// How deep elements may nest before the rest of a part is left unchecked. html5ever's tree
/// builder takes time that grows with the square of the depth (20,000 nested `<div>`s, 100 KB,
/// take 1.6 s), and Chrome's parser stops nesting at 512.
pub const MAX_NESTING: usize = 256;

pub(crate) fn check(message: &Message<'_>, out: &mut Vec<Finding>) {
    for &id in &message.html_body {
        let Some(part) = message.parts.get(id as usize) else {
            continue;
        };
        let PartType::Html(html) = &part.body else {
            continue;
        };
        let location = part_location(message, id, "text/html");
        check_html(html, &location, out);
    }
}

/// Checks one HTML document; `location` names its part.
pub fn check_html(html: &str, location: &str, out: &mut Vec<Finding>) {
    let (html, cut) = bounded(html);
    if let Some(cut) = cut {
        out.push(cut.finding(location));
    }
    let document = Html::parse_document(html);
    let mut scan = Scan::default();
    let mut style_elements = 0;
    for node in document.tree.root().descendants() {
        match node.value() {
            Node::Comment(_) => scan.hit(Key::HtmlComment, || "HTML comments".into(), &|| {
                "a comment".into()
            }),
            Node::Element(_) => {
                let Some(element) = ElementRef::wrap(node) else {
                    continue;
                };
                if element.value().name() == "style" {
                    style_elements += 1;
                }
                scan.element(element, style_elements);
            }
            _ => {}
        }
    }
    scan.findings(location, out);
}

/// Why the end of a part was not checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cut {
    /// The part is this many bytes long.
    Size(usize),
    /// Elements nest deeper than [`MAX_NESTING`] at this byte.
    Nesting(usize),
}

impl Cut {
    fn finding(self, location: &str) -> Finding {
        let (found, why) = match self {
            Cut::Size(size) => (
                format!(
                    "the HTML is {}; only its first {} were checked",
                    megabytes(size),
                    megabytes(MAX_HTML_BYTES)
                ),
                "the check stops there to stay quick; Gmail clips a message whose HTML passes \
                 about 102 KB, behind a \"View entire message\" link",
            ),
            Cut::Nesting(at) => (
                format!(
                    "elements nest more than {MAX_NESTING} deep at byte {at}; what follows was not checked"
                ),
                "nesting this deep is almost always unclosed tags; parsers give up on it (Chrome \
                 stops nesting at 512), and the check stops there to stay quick",
            ),
        };
        Finding {
            check: CheckKind::Html,
            severity: Severity::Advice,
            code: "html-not-fully-checked".into(),
            found,
            location: location.into(),
            why: why.into(),
            fix: match self {
                Cut::Size(_) => "make the HTML smaller: move images out of it (no data: URLs), drop unused CSS and repeated inline styles".into(),
                Cut::Nesting(_) => "close the elements you open (a template that repeats an unclosed <div> or <font> nests deeper on every row)".into(),
            },
        }
    }
}

/// The part of `html` that is checked, and why the rest is not.
pub(crate) fn bounded(html: &str) -> (&str, Option<Cut>) {
    let mut html = html;
    let mut cut = None;
    if html.len() > MAX_HTML_BYTES {
        let mut end = MAX_HTML_BYTES;
        while !html.is_char_boundary(end) {
            end -= 1;
        }
        cut = Some(Cut::Size(html.len()));
        html = &html[..end];
    }
    if let Some(at) = too_deep(html) {
        cut = cut.or(Some(Cut::Nesting(at)));
        html = &html[..at];
    }
    (html, cut)
}

/// The byte at which elements first nest deeper than [`MAX_NESTING`], by a quick scan of the
/// tags that keeps the parser's main rules: void elements and raw text, end tags that close
/// what they match, and elements such as `<li>` and `<td>` that end the previous one. It only
/// bounds the parse, so it may be rough; it never looks at what the findings come from.
fn too_deep(html: &str) -> Option<usize> {
    const VOID: &[&str] = &[
        "area", "base", "br", "col", "embed", "hr", "img", "input", "keygen", "link", "meta",
        "param", "source", "track", "wbr", "frame", "basefont", "bgsound",
    ];
    const RAW_TEXT: &[&str] = &[
        "script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes",
    ];
    // Each of these ends the open element of its group, as the tree builder does.
    const ENDS_PREVIOUS: &[&[&str]] = &[
        &["li"],
        &["dt", "dd"],
        &["p"],
        &["option"],
        &["tr"],
        &["td", "th"],
        &["thead", "tbody", "tfoot"],
    ];
    let bytes = html.as_bytes();
    let mut open: Vec<String> = Vec::new();
    let mut i = 0;
    while let Some(offset) = html[i..].find('<') {
        let start = i + offset;
        i = start + 1;
        match bytes.get(i) {
            Some(b'!') => {
                let end = if html[i..].starts_with("!--") {
                    html[i..].find("-->").map(|e| i + e + 3)
                } else {
                    html[i..].find('>').map(|e| i + e + 1)
                };
                i = end.unwrap_or(bytes.len());
            }
            Some(b'/') => {
                let name = tag_name(&html[i + 1..]);
                i = skip_tag(bytes, i);
                if let Some(depth) = open.iter().rposition(|n| *n == name) {
                    open.truncate(depth);
                }
            }
            Some(c) if c.is_ascii_alphabetic() => {
                let name = tag_name(&html[i..]);
                let end = skip_tag(bytes, i);
                let self_closing = end >= 2 && bytes[end - 2] == b'/';
                i = end;
                if name == "plaintext" {
                    return None;
                }
                if RAW_TEXT.contains(&name.as_str()) {
                    i = end_of_raw_text(html, i, &name);
                    continue;
                }
                if VOID.contains(&name.as_str()) || self_closing {
                    continue;
                }
                if let Some(group) = ENDS_PREVIOUS.iter().find(|g| g.contains(&name.as_str()))
                    && let Some(depth) = open.iter().rposition(|n| group.contains(&n.as_str()))
                {
                    open.truncate(depth);
                }
                open.push(name);
                if open.len() > MAX_NESTING {
                    return Some(start);
                }
            }
            _ => {}
        }
    }
    None
}

fn tag_name(rest: &str) -> String {
    rest.bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b':')
        .map(|b| char::from(b.to_ascii_lowercase()))
        .collect()
}

/// The index after the `>` that ends the tag starting before `i`, skipping quoted values.
fn skip_tag(bytes: &[u8], mut i: usize) -> usize {
    let mut quote = None;
    while let Some(&b) = bytes.get(i) {
        i += 1;
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'"' || b == b'\'' => quote = Some(b),
            None if b == b'>' => return i,
            None => {}
        }
    }
    i
}

/// The index of the `</name` that ends raw text starting at `i`, or the end.
fn end_of_raw_text(html: &str, mut i: usize, name: &str) -> usize {
    while let Some(offset) = html[i..].find("</") {
        let at = i + offset;
        let rest = &html.as_bytes()[at + 2..];
        if rest.len() >= name.len() && rest[..name.len()].eq_ignore_ascii_case(name.as_bytes()) {
            return at;
        }
        i = at + 2;
    }
    html.len()
}

fn megabytes(bytes: usize) -> String {
    format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
}

/// Where a part is, as the format check says it: `part 2 text/html`, with mail-parser's part
/// numbers (0 is the message itself), or `the message body (text/html)` when it has one part.
pub(crate) fn part_location(message: &Message<'_>, id: u32, mime: &str) -> String {
    if message.parts.len() == 1 {
        format!("the message body ({mime})")
    } else {
        format!("part {id} {mime}")
    }
}

/// `body > table > tr > td > div`, the last five elements of the path to `element`.
pub(crate) fn element_path(element: ElementRef<'_>) -> String {
    const SHOWN: usize = 5;
    let mut names: Vec<&str> = std::iter::once(*element)
        .chain(element.ancestors())
        .filter_map(|node| node.value().as_element().map(|e| e.name()))
        .filter(|name| *name != "html")
        .take(SHOWN + 1)
        .collect();
    let elided = names.len() > SHOWN;
    names.truncate(SHOWN);
    names.reverse();
    let path = names.join(" > ");
    if elided {
        format!("… > {path}")
    } else {
        path
    }
}

/// What a use of a feature looks like, to find the features it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key<'a> {
    Element(&'a str),
    ElementWithAttributes(&'a str),
    Attribute(&'a str),
    Property(&'a str),
    CustomProperty,
    Keyword(&'a str),
    Function(&'a str),
    Unit(&'a str),
    Important,
    AtRule(&'a str),
    MediaFeature(&'a str),
    PseudoClass(&'a str),
    PseudoElement(&'a str),
    Selector(Selector),
    CssComment,
    HtmlComment,
    ImageFormat(&'a str),
    ImageDataUri,
}

impl Key<'static> {
    fn of(matcher: Matcher) -> Key<'static> {
        match matcher {
            Matcher::Element(name) => Key::Element(name),
            Matcher::ElementWithAttributes(name) => Key::ElementWithAttributes(name),
            Matcher::Attribute(_, name, _) => Key::Attribute(name),
            Matcher::Property(name, _) => Key::Property(name),
            Matcher::CustomProperty => Key::CustomProperty,
            Matcher::Keyword(name) => Key::Keyword(name),
            Matcher::Function(name) | Matcher::FunctionWithoutCommas(name) => Key::Function(name),
            Matcher::Unit(name) => Key::Unit(name),
            Matcher::Important | Matcher::ImportantNotLowercase => Key::Important,
            Matcher::AtRule(name) => Key::AtRule(name),
            Matcher::MediaFeature(name) => Key::MediaFeature(name),
            Matcher::PseudoClass(name) => Key::PseudoClass(name),
            Matcher::PseudoElement(name) => Key::PseudoElement(name),
            Matcher::Selector(kind) => Key::Selector(kind),
            Matcher::CssComment => Key::CssComment,
            Matcher::HtmlComment => Key::HtmlComment,
            Matcher::ImageFormat(ext) => Key::ImageFormat(ext),
            Matcher::ImageDataUri => Key::ImageDataUri,
        }
    }
}

/// The features worth a finding, by what uses them.
struct Index {
    matchers: HashMap<Key<'static>, Vec<(usize, Matcher)>>,
    /// Every property the table names, reported or not, for the longest match.
    properties: HashSet<&'static str>,
}

static INDEX: LazyLock<Index> = LazyLock::new(|| {
    let mut matchers: HashMap<Key<'static>, Vec<(usize, Matcher)>> = HashMap::new();
    let mut properties: HashSet<&'static str> = SUPPORTED_PROPERTIES.iter().copied().collect();
    for (index, feature) in FEATURES.iter().enumerate() {
        for &matcher in feature.matchers {
            if let Matcher::Property(name, _) = matcher {
                properties.insert(name);
            }
            if severity(&feature.gmail).is_some() {
                matchers
                    .entry(Key::of(matcher))
                    .or_default()
                    .push((index, matcher));
            }
        }
    }
    Index {
        matchers,
        properties,
    }
});

impl Index {
    fn get<'k>(&'k self, key: Key<'k>) -> &'k [(usize, Matcher)] {
        // HashMap is covariant in its key, so the 'static keys compare with shorter-lived ones.
        let matchers: &HashMap<Key<'k>, Vec<(usize, Matcher)>> = &self.matchers;
        matchers.get(&key).map_or(&[], Vec::as_slice)
    }

    /// The longest property name the table knows that `name` is or is a longhand of.
    fn property<'n>(&self, name: &'n str) -> Option<&'n str> {
        std::iter::once(name)
            .chain(
                name.rmatch_indices('-')
                    .filter(|&(at, _)| at > 0)
                    .map(|(at, _)| &name[..at]),
            )
            .find(|candidate| self.properties.contains(candidate))
    }
}

/// Warning when Gmail drops the feature on desktop webmail or in an app; advice when one of
/// them supports it only in part; nothing otherwise.
fn severity(gmail: &Gmail) -> Option<Severity> {
    let main = [gmail.desktop_webmail, gmail.ios, gmail.android];
    if main.contains(&Support::No) {
        Some(Severity::Warning)
    } else if main.contains(&Support::Partial) {
        Some(Severity::Advice)
    } else {
        None
    }
}

/// How often each feature is used, and its first use.
#[derive(Default)]
struct Scan {
    uses: HashMap<usize, Use>,
    /// Features in the order of their first use.
    order: Vec<usize>,
}

struct Use {
    count: usize,
    /// Up to three distinct things that used it, e.g. `top` and `left`.
    what: Vec<String>,
    place: String,
}

impl Scan {
    /// Records a use of whatever `key` stands for. `matches` says whether a feature's matcher
    /// takes this use (by an attribute's value, a function's arguments); `what` names it.
    fn hit_if(
        &mut self,
        key: Key<'_>,
        matches: &dyn Fn(Matcher) -> bool,
        what: impl Fn(Matcher) -> String,
        place: &dyn Fn() -> String,
    ) {
        for &(feature, matcher) in INDEX.get(key) {
            if !matches(matcher) {
                continue;
            }
            let name = what(matcher);
            let entry = self.uses.entry(feature).or_insert_with(|| {
                self.order.push(feature);
                Use {
                    count: 0,
                    what: Vec::new(),
                    place: place(),
                }
            });
            entry.count += 1;
            if entry.what.len() < 3 && !entry.what.contains(&name) {
                entry.what.push(name);
            }
        }
    }

    fn hit(&mut self, key: Key<'_>, what: impl Fn() -> String, place: &dyn Fn() -> String) {
        self.hit_if(key, &|_| true, |_| what(), place);
    }

    fn element(&mut self, element: ElementRef<'_>, style_elements: usize) {
        let value = element.value();
        let name = value.name();
        let place = || element_path(element);
        self.hit(Key::Element(name), || format!("`<{name}>`"), &place);
        if value.attrs().next().is_some() {
            self.hit(
                Key::ElementWithAttributes(name),
                || format!("`<{name}>` with attributes"),
                &place,
            );
        }
        for (attribute, text) in value.attrs() {
            let attribute = attribute.to_ascii_lowercase();
            let place = || format!("the {attribute} attribute of {}", element_path(element));
            self.hit_if(
                Key::Attribute(&attribute),
                &|matcher| match matcher {
                    Matcher::Attribute(on, _, condition) => {
                        on.is_none_or(|on| on == name) && attribute_passes(condition, text)
                    }
                    _ => false,
                },
                |_| match (name, attribute.as_str()) {
                    (_, "target") => format!("`target=\"{text}\"`"),
                    ("a", "href") if text.trim_start().starts_with('#') => {
                        "`<a href=\"#…\">`".to_owned()
                    }
                    _ => format!("`<{name} {attribute}>`"),
                },
                &place,
            );
            match attribute.as_str() {
                "style" => {
                    let place = || format!("the style attribute of {}", element_path(element));
                    Css {
                        scan: self,
                        place: &place,
                        sheet: false,
                        font_face: false,
                    }
                    .declarations_of(text);
                }
                "src" if matches!(name, "img" | "input") => self.image(text, &place),
                "srcset" => {
                    for candidate in text.split(',') {
                        if let Some(url) = candidate.split_whitespace().next() {
                            self.image(url, &place);
                        }
                    }
                }
                "background" => self.image(text, &place),
                _ => {}
            }
        }
        if name == "style" {
            let css: String = element.text().collect();
            let place = || format!("the `<style>` element no. {style_elements}");
            Css {
                scan: self,
                place: &place,
                sheet: true,
                font_face: false,
            }
            .stylesheet(&css);
        }
    }

    /// An image's address: a `data:` URL or a file name's extension.
    fn image(&mut self, url: &str, place: &dyn Fn() -> String) {
        let url = url.trim();
        if url
            .get(..5)
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case("data:"))
        {
            self.hit(Key::ImageDataUri, || "images in `data:` URLs".into(), place);
            return;
        }
        let path = url.split(['?', '#']).next().unwrap_or(url);
        let file = path.rsplit('/').next().unwrap_or(path);
        if let Some((_, ext)) = file.rsplit_once('.') {
            let ext = ext.to_ascii_lowercase();
            self.hit(Key::ImageFormat(&ext), || format!("`.{ext}` images"), place);
        }
    }

    fn findings(self, location: &str, out: &mut Vec<Finding>) {
        for index in self.order {
            let (Some(feature), Some(used)) = (FEATURES.get(index), self.uses.get(&index)) else {
                continue;
            };
            let Some(severity) = severity(&feature.gmail) else {
                continue;
            };
            out.push(finding(feature, severity, used, location));
        }
    }
}

fn attribute_passes(condition: Value, text: &str) -> bool {
    let text = text.trim();
    match condition {
        Value::Any => true,
        Value::Is(value) => text.eq_ignore_ascii_case(value),
        Value::IsNot(value) => !text.eq_ignore_ascii_case(value),
        Value::StartsWith(prefix) => text
            .get(..prefix.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(prefix)),
        Value::Negative | Value::Url => false,
    }
}

fn finding(feature: &Feature, severity: Severity, used: &Use, location: &str) -> Finding {
    let what = match used.what.as_slice() {
        [] => format!("`{}`", feature.title),
        [one] => one.clone(),
        [first @ .., last] => format!("{} and {last}", first.join(", ")),
    };
    let uses = if used.count == 1 { "use" } else { "uses" };
    let found = format!(
        "{what} ({} {uses}): {}",
        used.count,
        summary(&feature.gmail)
    );
    let mut why = format!(
        "caniemail's tests of Gmail for \"{}\": {}.",
        feature.title,
        platforms(&feature.gmail)
    );
    if !feature.notes.is_empty() {
        why.push(' ');
        why.push_str(feature.notes);
    }
    let what = used.what.first().cloned().unwrap_or(what);
    let fix = match (severity, feature.category) {
        (Severity::Advice, _) => format!(
            "it works only in part: check the notes against how you use {what}, and look at the \
             message in Gmail before sending; details at {}",
            feature.url
        ),
        (_, Category::Image) => format!(
            "use PNG, JPEG or GIF images at an https address (or attached and referred to with \
             cid:); details at {}",
            feature.url
        ),
        (_, Category::Css) => format!(
            "do without {what} (lay the message out with tables and the inline styles Gmail \
             keeps), or make sure it still reads well without it; details at {}",
            feature.url
        ),
        _ => format!(
            "do without {what}, or make sure the message still reads well without it; details \
             at {}",
            feature.url
        ),
    };
    Finding {
        check: CheckKind::Html,
        severity,
        code: match severity {
            Severity::Advice => "html-partial".into(),
            _ => "html-unsupported".into(),
        },
        found,
        location: format!("{location}, {}", used.place),
        why,
        fix,
    }
}

const PLATFORMS: [&str; 4] = ["desktop webmail", "iOS", "Android", "mobile webmail"];

fn supports(gmail: &Gmail) -> [Support; 4] {
    [
        gmail.desktop_webmail,
        gmail.ios,
        gmail.android,
        gmail.mobile_webmail,
    ]
}

/// "Gmail does not support it on any platform", "Gmail supports it only in part on ...".
fn summary(gmail: &Gmail) -> String {
    let supports = supports(gmail);
    let on = |wanted: Support| -> Vec<&str> {
        PLATFORMS
            .iter()
            .zip(supports)
            .filter(|&(_, s)| s == wanted)
            .map(|(p, _)| *p)
            .collect()
    };
    let (no, partial) = (on(Support::No), on(Support::Partial));
    let mut clauses = Vec::new();
    if no.len() == PLATFORMS.len() {
        clauses.push("Gmail does not support it on any platform".to_owned());
    } else if !no.is_empty() {
        clauses.push(format!("Gmail does not support it on {}", list(&no)));
    }
    if !partial.is_empty() {
        let lead = if clauses.is_empty() {
            "Gmail supports it only in part on"
        } else {
            "and only in part on"
        };
        clauses.push(format!("{lead} {}", list(&partial)));
    }
    clauses.join(", ")
}

/// "desktop webmail no, iOS partial, ...".
fn platforms(gmail: &Gmail) -> String {
    PLATFORMS
        .iter()
        .zip(supports(gmail))
        .map(|(platform, support)| {
            let word = match support {
                Support::Yes => "yes",
                Support::GoogleAccountsOnly => "yes with Google accounts",
                Support::Partial => "partial",
                Support::No => "no",
                Support::Unknown => "not tested",
            };
            format!("{platform} {word}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [first @ .., last] => format!("{} and {last}", first.join(", ")),
    }
}

/// How deep CSS blocks and functions are followed; cssparser skips what is deeper.
const MAX_CSS_DEPTH: usize = 16;

type CssResult = Result<(), ParseError<()>>;

/// One piece of CSS: a `<style>` element's text or a style attribute.
struct Css<'s, 'p> {
    scan: &'s mut Scan,
    place: &'p dyn Fn() -> String,
    /// A `<style>` element's CSS, not a style attribute's: uses are given a line, and rules
    /// may nest.
    sheet: bool,
    /// Inside `@font-face`, where `url()` names a font, not an image.
    font_face: bool,
}

/// What a declaration's value holds at its top level, for the conditions on properties.
#[derive(Default)]
struct Facts {
    keywords: Vec<String>,
    negative: bool,
    commas: bool,
    url: bool,
    /// Anything but whitespace and comments.
    any: bool,
}

impl Css<'_, '_> {
    fn hit_if(
        &mut self,
        parser: &Parser<'_>,
        key: Key<'_>,
        matches: &dyn Fn(Matcher) -> bool,
        what: impl Fn(Matcher) -> String,
    ) {
        let line = parser.current_source_location().line + 1;
        let sheet = self.sheet;
        let base = self.place;
        let place = move || {
            if sheet {
                format!("line {line} of {}", base())
            } else {
                base()
            }
        };
        self.scan.hit_if(key, matches, what, &place);
    }

    fn hit(&mut self, parser: &Parser<'_>, key: Key<'_>, what: impl Fn() -> String) {
        self.hit_if(parser, key, &|_| true, |_| what());
    }

    fn stylesheet(&mut self, css: &str) {
        let mut parser = Parser::new(css);
        self.rules(&mut parser, 0, true);
    }

    fn declarations_of(&mut self, css: &str) {
        let mut parser = Parser::new(css);
        self.declarations(&mut parser, 0);
    }

    /// A list of rules: a stylesheet or an `@media` block. `selectors`: the rules' preludes
    /// are selectors (not `@keyframes` steps).
    fn rules(&mut self, parser: &mut Parser<'_>, depth: usize, selectors: bool) {
        loop {
            let start = parser.state();
            let token = match parser.next_including_whitespace_and_comments() {
                Ok(token) => token.clone(),
                Err(_) => break,
            };
            match token {
                Token::WhiteSpace(_) | Token::CDO | Token::CDC | Token::Semicolon => {}
                Token::Comment(_) => self.hit(parser, Key::CssComment, || "CSS comments".into()),
                Token::AtKeyword(name) => self.at_rule(parser, &name, depth),
                _ => {
                    parser.reset(&start);
                    self.qualified_rule(parser, depth, selectors);
                    if parser.position() == start.position() {
                        // Nothing was consumed: step over the token so the loop ends.
                        let _ = parser.next();
                    }
                }
            }
        }
    }

    /// A selector and its `{ declarations }`; true when it had a block.
    fn qualified_rule(&mut self, parser: &mut Parser<'_>, depth: usize, selectors: bool) -> bool {
        let _ = parser.parse_until_before(Delimiter::CurlyBracketBlock, |parser| -> CssResult {
            if selectors {
                self.selectors(parser);
            } else {
                while parser.next().is_ok() {}
            }
            Ok(())
        });
        if !matches!(parser.next(), Ok(Token::CurlyBracketBlock)) {
            return false;
        }
        if depth < MAX_CSS_DEPTH {
            let _ = parser.parse_nested_block(|parser| -> CssResult {
                self.declarations(parser, depth + 1);
                Ok(())
            });
        }
        true
    }

    fn at_rule(&mut self, parser: &mut Parser<'_>, name: &str, depth: usize) {
        let name = name.to_ascii_lowercase();
        self.hit(parser, Key::AtRule(&name), || format!("`@{name}`"));
        let _ = parser.parse_until_before(
            Delimiter::CurlyBracketBlock | Delimiter::Semicolon,
            |parser| -> CssResult {
                if name == "media" {
                    self.media_query(parser, depth);
                } else {
                    while parser.next().is_ok() {}
                }
                Ok(())
            },
        );
        if !matches!(parser.next(), Ok(Token::CurlyBracketBlock)) || depth >= MAX_CSS_DEPTH {
            return;
        }
        let _ = parser.parse_nested_block(|parser| -> CssResult {
            if name.ends_with("keyframes") {
                self.rules(parser, depth + 1, false);
            } else if matches!(
                name.as_str(),
                "media"
                    | "supports"
                    | "document"
                    | "-moz-document"
                    | "layer"
                    | "container"
                    | "scope"
                    | "starting-style"
            ) {
                self.rules(parser, depth + 1, true);
            } else {
                let font_face = std::mem::replace(&mut self.font_face, name == "font-face");
                self.declarations(parser, depth + 1);
                self.font_face = font_face;
            }
            Ok(())
        });
    }

    /// `screen and (max-width: 600px)`: the media features, without `min-`/`max-`.
    fn media_query(&mut self, parser: &mut Parser<'_>, depth: usize) {
        while let Ok(token) = parser.next() {
            if !matches!(token, Token::ParenthesisBlock) || depth >= MAX_CSS_DEPTH {
                continue;
            }
            let _ = parser.parse_nested_block(|parser| -> CssResult {
                if let Ok(Token::Ident(feature)) = parser.next().cloned() {
                    let feature = media_feature(&feature);
                    self.hit(parser, Key::MediaFeature(&feature), || {
                        format!("`@media ({feature})`")
                    });
                }
                self.media_query(parser, depth + 1);
                Ok(())
            });
        }
    }

    /// A selector list, token by token: combinators, compounds and their parts.
    fn selectors(&mut self, parser: &mut Parser<'_>) {
        // In a compound (`a.b:hover`), and whether whitespace followed it.
        let mut in_compound = false;
        let mut space = false;
        let mut classes = 0;
        while let Ok(token) = parser.next_including_whitespace_and_comments().cloned() {
            let kind = match &token {
                Token::WhiteSpace(_) => {
                    space = in_compound;
                    continue;
                }
                Token::Comment(_) => {
                    self.hit(parser, Key::CssComment, || "CSS comments".into());
                    continue;
                }
                Token::Comma => Some(Selector::Grouping),
                Token::Delim('>') => Some(Selector::Child),
                Token::Delim('+') => Some(Selector::Adjacent),
                Token::Delim('~') => Some(Selector::GeneralSibling),
                _ => None,
            };
            if let Some(kind) = kind {
                self.selector(parser, kind);
                (in_compound, space, classes) = (false, false, 0);
                continue;
            }
            if space {
                self.selector(parser, Selector::Descendant);
                (space, classes) = (false, 0);
                in_compound = false;
            }
            match token {
                Token::Ident(_) if !in_compound => self.selector(parser, Selector::Type),
                Token::Delim('*') => self.selector(parser, Selector::Universal),
                Token::Delim('&') => self.selector(parser, Selector::Nesting),
                Token::Delim('.') => {
                    self.selector(parser, Selector::Class);
                    classes += 1;
                    if classes == 2 {
                        self.selector(parser, Selector::Chaining);
                    }
                }
                Token::IDHash(_) => self.selector(parser, Selector::Id),
                Token::SquareBracketBlock => self.selector(parser, Selector::Attribute),
                Token::Colon => self.pseudo(parser),
                _ => {}
            }
            in_compound = true;
        }
    }

    fn selector(&mut self, parser: &Parser<'_>, kind: Selector) {
        self.hit(parser, Key::Selector(kind), || {
            match kind {
                Selector::Adjacent => "adjacent sibling selectors (`a + b`)",
                Selector::Attribute => "attribute selectors (`[attr]`)",
                Selector::Chaining => "chained classes (`.a.b`)",
                Selector::Child => "child selectors (`a > b`)",
                Selector::Class => "class selectors (`.a`)",
                Selector::Descendant => "descendant selectors (`a b`)",
                Selector::GeneralSibling => "general sibling selectors (`a ~ b`)",
                Selector::Grouping => "grouped selectors (`a, b`)",
                Selector::Id => "ID selectors (`#a`)",
                Selector::Type => "type selectors (`a`)",
                Selector::Universal => "the universal selector (`*`)",
                Selector::Nesting => "CSS nesting (`&`)",
            }
            .into()
        });
    }

    /// After a `:`, a pseudo-class (`:hover`, `:not(...)`) or pseudo-element (`::before`).
    fn pseudo(&mut self, parser: &mut Parser<'_>) {
        let (element, token) = match parser.next_including_whitespace() {
            Ok(Token::Colon) => (true, parser.next_including_whitespace().cloned()),
            other => (false, other.cloned()),
        };
        let name = match token {
            Ok(Token::Ident(name) | Token::Function(name)) => name.to_ascii_lowercase(),
            _ => return,
        };
        // The CSS 2 pseudo-elements may be written with one colon.
        let legacy = matches!(
            name.as_str(),
            "before" | "after" | "first-line" | "first-letter"
        );
        if element || legacy {
            self.hit(parser, Key::PseudoElement(&name), || format!("`::{name}`"));
        } else {
            self.hit(parser, Key::PseudoClass(&name), || format!("`:{name}`"));
        }
    }

    /// `name: value; ...`, with nested rules and at-rules as they come.
    fn declarations(&mut self, parser: &mut Parser<'_>, depth: usize) {
        loop {
            let start = parser.state();
            let token = match parser.next_including_whitespace_and_comments() {
                Ok(token) => token.clone(),
                Err(_) => break,
            };
            match token {
                Token::WhiteSpace(_) | Token::Semicolon => {}
                Token::Comment(_) => self.hit(parser, Key::CssComment, || "CSS comments".into()),
                Token::AtKeyword(name) => self.at_rule(parser, &name, depth),
                Token::Ident(name) => {
                    let name = name.to_ascii_lowercase();
                    let _ = parser.parse_until_after(Delimiter::Semicolon, |parser| -> CssResult {
                        if parser.expect_colon().is_ok() {
                            self.declaration(parser, &name, depth);
                        }
                        while parser.next().is_ok() {}
                        Ok(())
                    });
                }
                _ if !self.sheet => {
                    // Not a declaration: skipped up to the next `;`, as browsers do.
                    let _ = parser.parse_until_after(Delimiter::Semicolon, |parser| -> CssResult {
                        while parser.next().is_ok() {}
                        Ok(())
                    });
                }
                _ => {
                    // A nested rule (`&:hover { }`, `.a { }`).
                    parser.reset(&start);
                    if self.qualified_rule(parser, depth, true) {
                        self.hit(parser, Key::Selector(Selector::Nesting), || {
                            "CSS nesting".into()
                        });
                    }
                    if parser.position() == start.position() {
                        let _ = parser.next();
                    }
                }
            }
        }
    }

    fn declaration(&mut self, parser: &mut Parser<'_>, name: &str, depth: usize) {
        let mut facts = Facts::default();
        self.value(parser, depth, &mut facts);
        if !facts.any {
            // `position: ;` is dropped by every client.
            return;
        }
        if name.starts_with("--") {
            self.hit(parser, Key::CustomProperty, || {
                format!("custom properties (`{name}`)")
            });
            return;
        }
        let Some(property) = INDEX.property(name) else {
            return;
        };
        self.hit_if(
            parser,
            Key::Property(property),
            &|matcher| match matcher {
                Matcher::Property(_, Value::Any) => true,
                Matcher::Property(_, Value::Is(keyword)) => {
                    facts.keywords.iter().any(|k| k == keyword)
                }
                Matcher::Property(_, Value::Negative) => facts.negative,
                Matcher::Property(_, Value::Url) => facts.url,
                _ => false,
            },
            |matcher| match matcher {
                Matcher::Property(_, Value::Is(keyword)) => format!("`{name}: {keyword}`"),
                Matcher::Property(_, Value::Negative) => format!("negative `{name}`"),
                Matcher::Property(_, Value::Url) => format!("`{name}` with `url()`"),
                _ => format!("`{name}`"),
            },
        );
    }

    /// A declaration's value or a function's arguments: keywords, functions, units,
    /// `!important` and image URLs.
    fn value(&mut self, parser: &mut Parser<'_>, depth: usize, facts: &mut Facts) {
        while let Ok(token) = parser.next_including_whitespace_and_comments().cloned() {
            facts.any |= !matches!(token, Token::WhiteSpace(_) | Token::Comment(_));
            match token {
                Token::Ident(word) => {
                    let word = word.to_ascii_lowercase();
                    self.hit(parser, Key::Keyword(&word), || format!("`{word}`"));
                    facts.keywords.push(word);
                }
                Token::Function(name) => {
                    let name = name.to_ascii_lowercase();
                    facts.url |= name == "url";
                    let mut arguments = Facts::default();
                    if depth < MAX_CSS_DEPTH {
                        let _ = parser.parse_nested_block(|parser| -> CssResult {
                            if name == "url" {
                                if let Ok(Token::QuotedString(url)) = parser.next().cloned() {
                                    self.url(parser, &url);
                                }
                            } else {
                                self.value(parser, depth + 1, &mut arguments);
                            }
                            Ok(())
                        });
                    }
                    let commas = arguments.commas;
                    self.hit_if(
                        parser,
                        Key::Function(&name),
                        &|matcher| match matcher {
                            Matcher::Function(_) => true,
                            Matcher::FunctionWithoutCommas(_) => !commas,
                            _ => false,
                        },
                        |_| {
                            if commas {
                                format!("`{name}()`")
                            } else {
                                format!("`{name}()` without commas")
                            }
                        },
                    );
                }
                Token::UnquotedUrl(url) => {
                    facts.url = true;
                    self.url(parser, &url);
                }
                Token::Dimension { value, unit, .. } => {
                    let unit = unit.to_ascii_lowercase();
                    self.hit(parser, Key::Unit(&unit), || format!("the `{unit}` unit"));
                    facts.negative |= value < 0.0;
                }
                Token::Percentage { unit_value, .. } => {
                    self.hit(parser, Key::Unit("%"), || "the `%` unit".into());
                    facts.negative |= unit_value < 0.0;
                }
                Token::Number { value, .. } => facts.negative |= value < 0.0,
                Token::Comma => facts.commas = true,
                Token::Comment(_) => self.hit(parser, Key::CssComment, || "CSS comments".into()),
                Token::Delim('!') => {
                    if let Ok(Token::Ident(word)) = parser.next().cloned()
                        && word.eq_ignore_ascii_case("important")
                    {
                        let lowercase = *word == *"important";
                        self.hit_if(
                            parser,
                            Key::Important,
                            &|matcher| match matcher {
                                Matcher::Important => true,
                                Matcher::ImportantNotLowercase => !lowercase,
                                _ => false,
                            },
                            |_| format!("`!{word}`"),
                        );
                    }
                }
                Token::ParenthesisBlock | Token::SquareBracketBlock | Token::CurlyBracketBlock
                    if depth < MAX_CSS_DEPTH =>
                {
                    let _ = parser.parse_nested_block(|parser| -> CssResult {
                        self.value(parser, depth + 1, &mut Facts::default());
                        Ok(())
                    });
                }
                _ => {}
            }
        }
    }

    fn url(&mut self, parser: &Parser<'_>, url: &str) {
        if self.font_face {
            return;
        }
        let line = parser.current_source_location().line + 1;
        let sheet = self.sheet;
        let base = self.place;
        let place = move || {
            if sheet {
                format!("line {line} of {}", base())
            } else {
                base()
            }
        };
        self.scan.image(url, &place);
    }
}

/// `-webkit-min-device-pixel-ratio` is `-webkit-device-pixel-ratio`; `max-width` is `width`.
fn media_feature(name: &str) -> String {
    let name = name.to_ascii_lowercase();
    let (prefix, rest) = match name.strip_prefix('-').and_then(|r| r.split_once('-')) {
        Some((vendor, rest)) => (format!("-{vendor}-"), rest.to_owned()),
        None => (String::new(), name.clone()),
    };
    let rest = rest
        .strip_prefix("min-")
        .or_else(|| rest.strip_prefix("max-"))
        .unwrap_or(&rest);
    format!("{prefix}{rest}")
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    const LOCATION: &str = "part 2 text/html";
    const U: &str = "html-unsupported";
    const P: &str = "html-partial";

    fn findings(html: &str) -> Vec<Finding> {
        let mut out = Vec::new();
        check_html(html, LOCATION, &mut out);
        out
    }

    /// The caniemail slug a finding is about, from the address in its fix.
    fn slug(finding: &Finding) -> &str {
        finding
            .fix
            .split("/features/")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .unwrap_or(&finding.code)
    }

    /// The findings for `html`, as (code, caniemail slug), in order of first use.
    fn check(html: &str, expected: &[(&str, &str)]) {
        let found = findings(html);
        let got: Vec<(&str, &str)> = found.iter().map(|f| (f.code.as_str(), slug(f))).collect();
        assert_eq!(got, expected, "for {html}\n{found:#?}");
        for finding in &found {
            let severity = match finding.code.as_str() {
                U => Severity::Warning,
                _ => Severity::Advice,
            };
            assert_eq!(finding.severity, severity, "{finding:#?}");
            assert_eq!(finding.check, CheckKind::Html);
        }
    }

    #[test]
    fn features_gmail_drops_or_changes() {
        let cases: &[(&str, &[(&str, &str)])] = &[
            // Elements.
            (r#"<video src="a.mp4"></video>"#, &[(U, "html-video")]),
            (
                r#"<svg width="10" height="10"><circle r="5"/></svg>"#,
                &[(U, "html-svg")],
            ),
            ("<marquee>Sale!</marquee>", &[(U, "html-marquee")]),
            (
                r#"<head><link rel="stylesheet" href="https://example.com/a.css"></head>"#,
                &[(U, "html-link")],
            ),
            // Gmail keeps forms for Google accounts; only its iOS app with another account does not submit.
            (
                r#"<form action="https://example.com/f"><input type="text" name="q"></form>"#,
                &[],
            ),
            (
                "<nav><a href='https://example.com'>Shop</a></nav>",
                &[(P, "html-semantics")],
            ),
            ("<header>Hello</header><section>Body</section>", &[]),
            ("<ol reversed><li>three<li>two</ol>", &[(P, "html-lists")]),
            ("<ul><li>one<li>two</ul>", &[]),
            (
                r#"<body style="background:#fff"><p>Hi</p></body>"#,
                &[(P, "html-body")],
            ),
            ("<body><p>Hi</p></body>", &[]),
            // Attributes.
            (
                "<a href='#top'>Back to top</a>",
                &[(U, "html-anchor-links")],
            ),
            (
                "<a href='https://example.com' target='_blank'>Shop</a>",
                &[],
            ),
            (
                "<a href='https://example.com' target='_self'>Shop</a>",
                &[(U, "html-target")],
            ),
            ("<p hidden>Preview text</p>", &[(U, "html-hidden")]),
            // Inline CSS.
            (
                "<div style='position:absolute; top:0'>x</div>",
                &[(U, "css-position"), (U, "css-left-right-top-bottom")],
            ),
            (
                "<div style='position: fixed'>x</div>",
                &[(U, "css-position")],
            ),
            ("<div style='display:flex'>x</div>", &[]),
            (
                "<div style='display:flex; flex-direction:column; justify-content:center'>x</div>",
                &[(U, "css-flex-direction"), (U, "css-justify-content")],
            ),
            (
                "<div style='display:grid; grid-template-columns:1fr 1fr'>x</div>",
                &[(U, "css-grid-template")],
            ),
            (
                "<div style='box-shadow: 0 0 4px #000'>x</div>",
                &[(U, "css-box-shadow")],
            ),
            (
                "<div style='background-image: url(https://example.com/bg.png)'>x</div>",
                &[],
            ),
            (
                "<div style='background-image: url(https://example.com/bg.webp)'>x</div>",
                &[(P, "image-webp")],
            ),
            ("<p style='margin:-10px 0 0'>x</p>", &[(P, "css-margin")]),
            ("<p style='margin-left:-4px'>x</p>", &[(P, "css-margin")]),
            ("<p style='margin:10px auto'>x</p>", &[]),
            ("<p style='color: rgb(0 0 0)'>x</p>", &[(P, "css-rgb")]),
            ("<p style='color: rgb(0, 0, 0)'>x</p>", &[]),
            (
                "<p style='color:red !IMPORTANT'>x</p>",
                &[(P, "css-important")],
            ),
            ("<p style='color:red !important'>x</p>", &[]),
            (
                "<div style='--brand: red; color: var(--brand)'>x</div>",
                &[(U, "css-variables")],
            ),
            (
                "<p style='text-align-last: center; text-align: center'>x</p>",
                &[],
            ),
            (
                "<p style='text-align: match-parent'>x</p>",
                &[(P, "css-text-align")],
            ),
            // The longest property name wins: overflow-wrap is not overflow.
            (
                "<p style='overflow-wrap: anywhere'>x</p>",
                &[(U, "css-overflow-wrap")],
            ),
            // Images.
            (
                "<img src='data:image/png;base64,iVBORw0KGgo=' alt=''>",
                &[(U, "image-base64")],
            ),
            (
                "<img src='https://example.com/logo.svg?v=2' alt=''>",
                &[(U, "image-svg")],
            ),
            (
                "<img src='https://example.com/logo.png' alt='' width='100'>",
                &[],
            ),
            // <style>: Gmail keeps it in the <head>, with limits.
            (
                "<head><style>p { color: red }</style></head>",
                &[(P, "html-style")],
            ),
            (
                "<style>@font-face { font-family: Brand; src: url(brand.woff2) }</style>",
                &[(P, "html-style"), (U, "css-at-font-face")],
            ),
            (
                "<style>@import url(https://example.com/a.css);</style>",
                &[(P, "html-style"), (U, "css-at-import")],
            ),
            (
                "<style>a:hover { color: red }</style>",
                &[(P, "html-style"), (U, "css-pseudo-class-hover")],
            ),
            (
                "<style>p::before { content: '*' }</style>",
                &[(P, "html-style"), (U, "css-pseudo-element-before")],
            ),
            (
                "<style>@media (prefers-color-scheme: dark) { body { color: white } }</style>",
                &[(P, "html-style"), (U, "css-at-media-prefers-color-scheme")],
            ),
            (
                "<style>@media screen and (max-width: 600px) { .col { width: 100% !important } }</style>",
                &[(P, "html-style")],
            ),
            (
                "<style>@media (max-height: 500px) { .col { width: 100% } }</style>",
                &[(P, "html-style"), (P, "css-at-media")],
            ),
            (
                "<style>[data-x] { color: red }</style>",
                &[(P, "html-style"), (P, "css-selector-attribute")],
            ),
            (
                "<style>/* brand */ .a > .b, td.x.y { color: red }</style>",
                &[(P, "html-style")],
            ),
            (
                "<style>@keyframes spin { from { transform: rotate(0) } to { transform: rotate(1turn) } }</style>",
                &[
                    (P, "html-style"),
                    (U, "css-at-keyframes"),
                    (U, "css-transform"),
                ],
            ),
            (
                "<style>.a { color: red; &:hover { color: blue } }</style>",
                &[
                    (P, "html-style"),
                    (U, "css-nesting"),
                    (U, "css-pseudo-class-hover"),
                ],
            ),
            // Fully supported mail HTML.
            (
                "<table role='presentation' cellpadding='0'><tr><td style='padding:10px;color:#333;font-size:14px;font-family:Arial,sans-serif'>Hi <b>there</b></td></tr></table>",
                &[],
            ),
        ];
        for (html, expected) in cases {
            check(html, expected);
        }
    }

    #[test]
    fn a_finding_counts_uses_and_names_the_first() {
        let html = "<body><div><video src='a.mp4'></video></div><p style='position:relative'>x</p>\
                    <video src='b.mp4'></video></body>";
        let found = findings(html);
        assert_eq!(found.len(), 2, "{found:#?}");
        assert_eq!(
            found[0].found,
            "`<video>` (2 uses): Gmail does not support it on any platform"
        );
        assert_eq!(found[0].location, "part 2 text/html, body > div > video");
        assert!(
            found[0].why.contains("replaced by `<u></u>`"),
            "{}",
            found[0].why
        );
        assert!(
            found[0]
                .fix
                .contains("https://www.caniemail.com/features/html-video/")
        );
        assert_eq!(
            found[1].found,
            "`position` (1 use): Gmail does not support it on any platform"
        );
        assert_eq!(
            found[1].location,
            "part 2 text/html, the style attribute of body > p"
        );
    }

    #[test]
    fn a_style_element_finding_names_its_line() {
        let html = "<style>\np { color: red }\n.a {\n  box-shadow: 0 0 1px red;\n}\n</style>";
        let found = findings(html);
        let shadow = found
            .iter()
            .find(|f| slug(f) == "css-box-shadow")
            .expect("box-shadow is found");
        assert_eq!(
            shadow.location,
            "part 2 text/html, line 4 of the `<style>` element no. 1"
        );
        assert!(
            shadow
                .found
                .contains("Gmail does not support it on any platform"),
            "{}",
            shadow.found
        );
    }

    #[test]
    fn malformed_html_is_parsed_as_browsers_do() {
        let cases: &[(&str, &[(&str, &str)])] = &[
            // A <video> inside a table is moved out of it, and still found.
            (
                "<table><video><tr><td>x</td></video></tr>",
                &[(U, "html-video")],
            ),
            (
                "<div><p>unclosed <b><i>junk</b></div></p>< <<>>&&&#xFFFFFF;",
                &[],
            ),
            (
                "<<<>>>\u{0}</</p><style>p { color: red; ((( }",
                &[(P, "html-style")],
            ),
            (
                "<p style='color: red; }}}{{{ position: ; : ; !!; ((((('>x",
                &[],
            ),
            ("<div style='position:absolute", &[]),
            ("", &[]),
        ];
        for (html, expected) in cases {
            check(html, expected);
        }
    }

    #[test]
    fn deep_nesting_is_cut_and_stays_quick() {
        let html = format!("{}<video></video>", "<div>".repeat(100_000));
        let started = Instant::now();
        let found = findings(&html);
        let elapsed = started.elapsed();
        let got: Vec<&str> = found.iter().map(|f| f.code.as_str()).collect();
        assert_eq!(got, ["html-not-fully-checked"], "{found:#?}");
        assert!(
            found[0]
                .found
                .contains("nest more than 256 deep at byte 1280"),
            "{}",
            found[0].found
        );
        assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
        // Legitimately long lists and tables are not taken for nesting.
        let rows = "<tr><td><font face='Arial'>cell".repeat(2_000);
        let list = "<li>item".repeat(2_000);
        let html = format!("<table>{rows}</table><ul>{list}</ul><video></video>");
        let found = findings(&html);
        let got: Vec<(&str, &str)> = found.iter().map(|f| (f.code.as_str(), slug(f))).collect();
        assert_eq!(got, [(U, "html-video")], "{found:#?}");
    }

    #[test]
    fn a_huge_part_is_checked_up_to_the_limit() {
        let paragraph = "<p style='color:#333'>Lorem ipsum dolor sit amet.</p>\n";
        let mut html = paragraph.repeat(MAX_HTML_BYTES / paragraph.len() + 1000);
        html.push_str("<video></video>");
        let started = Instant::now();
        let found = findings(&html);
        let elapsed = started.elapsed();
        let got: Vec<&str> = found.iter().map(|f| f.code.as_str()).collect();
        assert_eq!(got, ["html-not-fully-checked"], "{found:#?}");
        assert!(
            found[0]
                .found
                .ends_with("only its first 5.0 MB were checked"),
            "{}",
            found[0].found
        );
        assert!(elapsed < Duration::from_secs(20), "took {elapsed:?}");
    }

    /// A typical newsletter: a <style> block with a media query, nested layout tables with
    /// inline styles, images and links, repeated to about 100 KB.
    fn newsletter() -> String {
        let head = "<!DOCTYPE html><html><head><meta charset='utf-8'><style>\
            body { margin: 0; padding: 0; } .button a { color: #ffffff; text-decoration: none; }\
            @media screen and (max-width: 600px) { .col { width: 100% !important; display: block; } }\
            </style></head><body><table role='presentation' width='100%' cellpadding='0' cellspacing='0'>";
        let row = "<tr><td class='col' style='padding: 16px 24px; font-family: Arial, sans-serif; \
            font-size: 15px; line-height: 22px; color: #333333; background-color: #f4f4f4;'>\
            <table role='presentation' width='100%'><tr><td width='120' valign='top'>\
            <img src='https://cdn.example.com/p/1234.png' width='120' height='120' alt='Product' \
            style='display: block; border: 0;'></td><td style='padding-left: 12px;'>\
            <h2 style='margin: 0 0 8px; font-size: 18px;'>A product name</h2>\
            <p style='margin: 0 0 12px;'>A short description of the product, two lines long, \
            with a <a href='https://shop.example.com/p/1234?utm_source=mail' style='color: #1a73e8;'>link</a>.</p>\
            <table role='presentation' class='button'><tr><td style='border-radius: 4px; background: #1a73e8;'>\
            <a href='https://shop.example.com/cart/add/1234' style='display: inline-block; padding: 8px 16px;'>Buy</a>\
            </td></tr></table></td></tr></table></td></tr>\n";
        let mut html = head.to_owned();
        while html.len() < 100 * 1024 {
            html.push_str(row);
        }
        html.push_str("</table></body></html>");
        html
    }

    #[test]
    fn a_typical_newsletter_is_quick_and_quiet() {
        let html = newsletter();
        let raw = format!(
            "From: a@example.com\r\nTo: b@example.com\r\nSubject: News\r\nMIME-Version: 1.0\r\n\
             Content-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n"
        );
        let message = mail_parser::MessageParser::default()
            .parse(raw.as_bytes())
            .expect("the message parses");
        let started = Instant::now();
        let mut found = Vec::new();
        super::check(&message, &mut found);
        let html_took = started.elapsed();
        crate::links::check(&message, &mut found);
        let both_took = started.elapsed();
        // `cargo test -p lint --release --lib html::tests::a_typical -- --nocapture` prints it.
        println!(
            "{} KB of HTML: the HTML check took {html_took:?}, with the links check {both_took:?}",
            html.len() / 1024
        );
        let got: Vec<(&str, &str)> = found.iter().map(|f| (f.code.as_str(), slug(f))).collect();
        assert_eq!(got, [(P, "html-style")], "{found:#?}");
        assert_eq!(
            found[0].location,
            "the message body (text/html), head > style"
        );
        assert!(both_took < Duration::from_secs(5), "took {both_took:?}");
    }

    #[test]
    fn messages_are_checked_part_by_part() {
        let raw = "From: a@example.com\r\nTo: b@example.com\r\nSubject: x\r\n\
            MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n\
            --b\r\nContent-Type: text/plain\r\n\r\n<video> in text is text\r\n\
            --b\r\nContent-Type: text/html\r\n\r\n<p>Hi</p><video src='a.mp4'></video>\r\n--b--\r\n";
        let message = mail_parser::MessageParser::default()
            .parse(raw.as_bytes())
            .expect("the message parses");
        let mut out = Vec::new();
        super::check(&message, &mut out);
        let got: Vec<(&str, &str)> = out
            .iter()
            .map(|f| (f.code.as_str(), f.location.as_str()))
            .collect();
        assert_eq!(got, [(U, "part 2 text/html, body > video")], "{out:#?}");
    }

    #[test]
    fn every_reported_feature_has_a_matcher_and_an_address() {
        for feature in FEATURES {
            assert!(!feature.matchers.is_empty(), "{}", feature.slug);
            assert_eq!(
                feature.url,
                format!("https://www.caniemail.com/features/{}/", feature.slug)
            );
        }
        // The table keeps only what Gmail does not fully support.
        assert!(
            FEATURES
                .iter()
                .all(|f| supports(&f.gmail) != [Support::Yes; 4])
        );
    }
}
