//! Helpers whose panics show the whole diagnosis, so a failing case explains itself.

use diagnosis::{Diagnosis, Failure, Retry, diagnose, explain};

/// Explains `raw` and checks the title contains `title` (ignoring case) and the retry advice.
#[track_caller]
pub fn check(raw: &str, title: &str, retry: Retry) -> Diagnosis {
    let diagnosis = match explain(raw) {
        Ok(diagnosis) => diagnosis,
        Err(error) => panic!("could not parse {raw:?}: {error}"),
    };
    assert!(
        diagnosis.reply.is_some(),
        "a reply's diagnosis quotes the reply\n{diagnosis}"
    );
    expect(&diagnosis, title, retry, &format!("{raw:?}"));
    diagnosis
}

/// Diagnoses `failure`, checks title and retry, and that the diagnosis mentions each of
/// `mentions` somewhere (ignoring case).
#[track_caller]
pub fn check_failure(failure: &Failure, title: &str, retry: Retry, mentions: &[&str]) {
    let diagnosis = diagnose(failure);
    expect(&diagnosis, title, retry, &format!("{failure:?}"));
    for phrase in mentions {
        assert!(
            mentions_phrase(&diagnosis, phrase),
            "the diagnosis of {failure:?} does not mention {phrase:?}\n{diagnosis}"
        );
    }
}

/// Whether any of the diagnosis's text fields contains `phrase`, ignoring case.
pub fn mentions_phrase(diagnosis: &Diagnosis, phrase: &str) -> bool {
    let mut all = vec![
        diagnosis.title.as_str(),
        &diagnosis.what_happened,
        &diagnosis.likely_cause,
    ];
    all.extend(diagnosis.fix.iter().map(String::as_str));
    all.extend(diagnosis.help_link.as_deref());
    let phrase = phrase.to_lowercase();
    all.iter().any(|text| text.to_lowercase().contains(&phrase))
}

#[track_caller]
fn expect(diagnosis: &Diagnosis, title: &str, retry: Retry, input: &str) {
    assert!(
        diagnosis
            .title
            .to_lowercase()
            .contains(&title.to_lowercase()),
        "the title should contain {title:?}\ninput: {input}\n{diagnosis}"
    );
    assert_eq!(
        diagnosis.retry, retry,
        "wrong retry advice\ninput: {input}\n{diagnosis}"
    );
    assert!(
        !diagnosis.what_happened.is_empty()
            && !diagnosis.likely_cause.is_empty()
            && !diagnosis.fix.is_empty(),
        "every diagnosis says what happened, why and what to do\ninput: {input}\n{diagnosis}"
    );
}
