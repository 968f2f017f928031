//! The table of known replies: each rule matches a reply code, an optional enhanced code and an
//! optional text fragment, and says what to tell the user.
//!
//! Rules are tried in order and the first match wins, so within one reply code the more specific
//! rule (one with a text fragment) comes before the catch-all for that code. Fragments are matched
//! against the reply text lowercased and with runs of whitespace collapsed, because Gmail wraps
//! its sentences over several lines at varying points. Nothing matches on the session id Gmail
//! appends (`... 41be03b00d2f7-b5a4f8a1b2asm1234567pgb.12 - gsmtp`), which changes every time.
//!
//! # Layout
//! - `session`: TLS, login and command order.
//! - `limits`: sending quotas, throttling and temporary problems on Google's side.
//! - `message`: addresses, size, format, sender authentication and spam policy.

mod limits;
mod message;
mod session;

use crate::diagnosis::{Diagnosis, QuotaSignal, Retry};
use crate::failure::Step;
use crate::reply::{EnhancedCode, Reply};
use crate::{generic, oauth};

/// Every rule, in the order they are tried.
const GROUPS: [&[Rule]; 3] = [session::RULES, limits::RULES, message::RULES];

/// Explains a server reply, falling back to the generic explanation when no rule matches.
pub(crate) fn diagnose_reply(reply: &Reply, step: Option<Step>) -> Diagnosis {
    let mut diagnosis = rule_for(reply)
        .and_then(|rule| rule.diagnose(reply))
        .unwrap_or_else(|| generic::diagnose(reply));
    if let Some(step) = step {
        diagnosis.what_happened.push(' ');
        diagnosis.what_happened.push_str(&when(step));
    }
    diagnosis.reply = Some(reply.to_string());
    diagnosis
}

/// Whether `reply` says a sending quota is used up or the client is being throttled: the
/// signal of the rule that explains it, if that rule has one.
pub(crate) fn quota_signal(reply: &Reply) -> Option<QuotaSignal> {
    match rule_for(reply)?.advice {
        Advice::Quota(signal, _) => Some(signal),
        Advice::Fixed(_) | Advice::OAuthChallenge => None,
    }
}

/// The first rule that matches `reply`, the one that explains it.
fn rule_for(reply: &Reply) -> Option<&'static Rule> {
    let text = normalize(&reply.text());
    rules().find(|rule| rule.matches(reply, &text))
}

/// The first Google help page named in a reply's text, such as the `?p=BadCredentials` link
/// Gmail puts in many replies.
pub(crate) fn google_link(text: &str) -> Option<String> {
    const PREFIX: &str = "https://support.google.com/";
    let start = text.find(PREFIX)?;
    let link = text.get(start..)?.split_whitespace().next()?;
    let link = link.trim_end_matches(['.', ',', ';', ')', '>', '"', '\'']);
    (link.len() > PREFIX.len()).then(|| link.to_owned())
}

/// One row of the table.
struct Rule {
    code: u16,
    /// `None` matches any enhanced code, or none.
    enhanced: Option<EnhancedCode>,
    /// The reply text must contain one of these, written lowercase and single-spaced; empty
    /// matches any text.
    any_of: &'static [&'static str],
    advice: Advice,
}

enum Advice {
    Fixed(Fixed),
    /// A reply about a sending quota or throttling, which an outbox's scheduler acts on as well
    /// as a person: see [`crate::quota_signal`].
    Quota(QuotaSignal, Fixed),
    /// Gmail's `334 <base64 JSON>`; the rule matches only when the text decodes to the JSON error,
    /// because AUTH LOGIN's prompts are `334` replies too.
    OAuthChallenge,
}

/// The words of a diagnosis that does not depend on the reply's details.
struct Fixed {
    title: &'static str,
    what_happened: &'static str,
    likely_cause: &'static str,
    fix: &'static [&'static str],
    /// `None` falls back to a Google link found in the reply text.
    help_link: Option<&'static str>,
    retry: Retry,
}

impl Advice {
    /// The fixed words, for every rule but the OAuth challenge, whose words depend on the reply.
    fn fixed(&self) -> Option<&Fixed> {
        match self {
            Advice::Fixed(fixed) | Advice::Quota(_, fixed) => Some(fixed),
            Advice::OAuthChallenge => None,
        }
    }
}

impl Rule {
    /// Whether this rule explains `reply`; `text` is the reply text normalized.
    fn matches(&self, reply: &Reply, text: &str) -> bool {
        self.code == reply.code
            && self
                .enhanced
                .is_none_or(|enhanced| reply.enhanced == Some(enhanced))
            && (self.any_of.is_empty() || self.any_of.iter().any(|f| text.contains(f)))
            && match self.advice {
                Advice::OAuthChallenge => reply.oauth_challenge().is_some(),
                Advice::Fixed(_) | Advice::Quota(..) => true,
            }
    }

    /// The diagnosis for a reply this rule [matches](Rule::matches).
    fn diagnose(&self, reply: &Reply) -> Option<Diagnosis> {
        let Some(fixed) = self.advice.fixed() else {
            return reply.oauth_challenge().map(|c| oauth::diagnosis(&c));
        };
        Some(Diagnosis {
            title: fixed.title.to_owned(),
            what_happened: fixed.what_happened.to_owned(),
            likely_cause: fixed.likely_cause.to_owned(),
            fix: fixed.fix.iter().map(|step| (*step).to_owned()).collect(),
            help_link: fixed
                .help_link
                .map(str::to_owned)
                .or_else(|| google_link(&reply.text())),
            retry: fixed.retry,
            reply: None,
        })
    }
}

fn rules() -> impl Iterator<Item = &'static Rule> {
    GROUPS.into_iter().flatten()
}

const fn enhanced(class: u8, subject: u16, detail: u16) -> Option<EnhancedCode> {
    Some(EnhancedCode::new(class, subject, detail))
}

fn normalize(text: &str) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    words.join(" ").to_lowercase()
}

/// A sentence placing a reply in the conversation.
fn when(step: Step) -> String {
    match step {
        Step::Greeting => {
            "It came as the server's greeting, before the client sent any command.".to_owned()
        }
        Step::Dns | Step::Tcp | Step::Tls => format!("It came during the {step}."),
        _ => format!("It was the reply to {step}."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A rule that an earlier one always pre-empts would never fire, silently.
    #[test]
    fn no_rule_is_hidden_by_an_earlier_one() {
        let all: Vec<&Rule> = rules().collect();
        for (later_index, later) in all.iter().enumerate() {
            for earlier in all.iter().take(later_index) {
                let same_code = earlier.code == later.code;
                let enhanced_covers =
                    earlier.enhanced.is_none() || earlier.enhanced == later.enhanced;
                let text_covers = earlier.any_of.is_empty()
                    || (!later.any_of.is_empty()
                        && later
                            .any_of
                            .iter()
                            .all(|l| earlier.any_of.iter().any(|e| l.contains(e))));
                let decodes_only = matches!(earlier.advice, Advice::OAuthChallenge);
                assert!(
                    !(same_code && enhanced_covers && text_covers && !decodes_only),
                    "the rule for {} {:?} {:?} is hidden by the earlier one for {} {:?} {:?}",
                    later.code,
                    later.enhanced,
                    later.any_of,
                    earlier.code,
                    earlier.enhanced,
                    earlier.any_of,
                );
            }
        }
    }

    /// Fragments are compared with normalized text, so one with capitals or double spaces could
    /// never match.
    #[test]
    fn fragments_are_lowercase_and_single_spaced() {
        for rule in rules() {
            for fragment in rule.any_of {
                assert_eq!(
                    *fragment,
                    normalize(fragment),
                    "fragment of the {} rule",
                    rule.code
                );
            }
        }
    }

    /// Two rules with one title would make different problems look the same to the user.
    #[test]
    fn titles_are_unique() {
        let mut titles: Vec<&str> = rules()
            .filter_map(|rule| rule.advice.fixed().map(|fixed| fixed.title))
            .collect();
        let count = titles.len();
        titles.sort_unstable();
        titles.dedup();
        assert_eq!(titles.len(), count, "some titles are used twice");
    }

    #[test]
    fn every_rule_has_a_cause_and_a_fix() {
        for rule in rules() {
            if let Some(fixed) = rule.advice.fixed() {
                assert!(!fixed.what_happened.is_empty(), "{}", fixed.title);
                assert!(!fixed.likely_cause.is_empty(), "{}", fixed.title);
                assert!(!fixed.fix.is_empty(), "{}", fixed.title);
            }
        }
    }

    #[test]
    fn google_links_are_found_without_trailing_punctuation() {
        assert_eq!(
            google_link("go to https://support.google.com/mail/?p=BadCredentials. x - gsmtp"),
            Some("https://support.google.com/mail/?p=BadCredentials".to_owned())
        );
        assert_eq!(google_link("no link here"), None);
        assert_eq!(google_link("https://support.google.com/"), None);
    }
}
