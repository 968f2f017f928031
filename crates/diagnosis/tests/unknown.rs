//! Replies no rule knows still get an explanation from what their codes mean.

use diagnosis::{Retry, explain};

use crate::support::{check, mentions_phrase};

/// One test per case: `name: raw reply, fragment of the expected title, expected retry;`.
macro_rules! cases {
    ($($name:ident: $raw:expr, $title:expr, $retry:ident;)*) => {
        $(
            #[test]
            fn $name() {
                check($raw, $title, Retry::$retry);
            }
        )*
    };
}

cases! {
    message_accepted: "250 2.0.0 OK  1717171717 41be03b00d2f7-b5a4f8a1b2asm1234567pgb.12 - gsmtp", "accepted the command", Permanent;
    login_accepted: "235 2.7.0 Accepted", "accepted the command", Permanent;
    go_ahead: "354  Go ahead 41be03b00d2f7-b5a4f8a1b2asm1234567pgb.12 - gsmtp", "waiting for more input", Permanent;
    empty_auth_challenge: "334 ", "waiting for more input", Permanent;
    transient_with_unknown_detail: "451 4.9.9 Something unusual happened", "Temporary failure", Transient;
    transient_without_enhanced: "450 Mailbox busy", "Temporary failure (450)", Transient;
    permanent_content: "554 5.6.0 Message content rejected", "Permanent failure: the message content or format", Permanent;
    permanent_policy_new_text: "530 5.7.0 Something Google has not said before", "Permanent failure: security or policy", Permanent;
    permanent_without_enhanced: "599 Strange", "Permanent failure (599)", Permanent;
    unknown_subject: "550 5.9.1 Odd", "Permanent failure: an unspecified problem", Permanent;
}

#[test]
fn the_enhanced_subject_and_detail_are_explained() {
    let diagnosis = check(
        "550 5.1.10 Recipient domain has null MX",
        "addressing",
        Retry::Permanent,
    );
    assert!(mentions_phrase(&diagnosis, "null MX"), "{diagnosis}");
    assert!(
        mentions_phrase(&diagnosis, "5.1.10 is about addressing"),
        "{diagnosis}"
    );
    assert!(
        mentions_phrase(&diagnosis, "mailbox unavailable"),
        "the basic code is explained too\n{diagnosis}"
    );
    let mailbox = check(
        "450 4.2.2 Mailbox full at the other end",
        "mailbox",
        Retry::Transient,
    );
    assert!(mentions_phrase(&mailbox, "mailbox full"), "{mailbox}");
}

#[test]
fn every_subject_has_its_own_advice() {
    let mut fixes = Vec::new();
    for subject in 0..=7 {
        let raw = format!("550 5.{subject}.99 Unknown");
        match explain(&raw) {
            Ok(diagnosis) => fixes.push(diagnosis.fix),
            Err(error) => panic!("{raw:?}: {error}"),
        }
    }
    let count = fixes.len();
    fixes.sort();
    fixes.dedup();
    assert_eq!(fixes.len(), count, "two subjects give the same advice");
}

#[test]
fn a_google_link_in_an_unknown_reply_becomes_the_help_link() {
    let diagnosis = check(
        "550-5.7.1 Something new from Gmail. For more information, go to\r\n550 5.7.1  https://support.google.com/mail/?p=SomethingNew a1-b2 - gsmtp",
        "security or policy",
        Retry::Permanent,
    );
    assert_eq!(
        diagnosis.help_link.as_deref(),
        Some("https://support.google.com/mail/?p=SomethingNew")
    );
}

#[test]
fn the_server_text_is_quoted() {
    let diagnosis = check(
        "554 5.0.0 Transaction failed, policy X",
        "Permanent failure",
        Retry::Permanent,
    );
    assert!(
        mentions_phrase(&diagnosis, "\"Transaction failed, policy X\""),
        "{diagnosis}"
    );
}
