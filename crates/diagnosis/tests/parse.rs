//! Raw replies to `Reply` and back, and typed errors, never panics, for text that is no reply.

use diagnosis::{EnhancedCode, MAX_LINE_LEN, MAX_LINES, ParseError, Reply, explain};

#[track_caller]
fn parse(raw: &str) -> Reply {
    match Reply::parse(raw) {
        Ok(reply) => reply,
        Err(error) => panic!("could not parse {raw:?}: {error}"),
    }
}

#[track_caller]
fn parse_error(raw: &str) -> ParseError {
    match Reply::parse(raw) {
        Ok(reply) => panic!("{raw:?} parsed as {reply:?}"),
        Err(error) => error,
    }
}

const MULTI_LINE: &str = "535-5.7.8 Username and Password not accepted. For more information, go to\r\n535 5.7.8  https://support.google.com/mail/?p=BadCredentials 41be03b00d2f7-b5a4f8a1b2asm1234567pgb.12 - gsmtp\r\n";

#[test]
fn multi_line_replies_keep_each_lines_text() {
    let reply = parse(MULTI_LINE);
    assert_eq!(reply.code, 535);
    assert_eq!(reply.enhanced, Some(EnhancedCode::new(5, 7, 8)));
    assert_eq!(
        reply.lines,
        [
            "Username and Password not accepted. For more information, go to",
            "https://support.google.com/mail/?p=BadCredentials 41be03b00d2f7-b5a4f8a1b2asm1234567pgb.12 - gsmtp",
        ]
    );
    assert_eq!(
        reply.text(),
        "Username and Password not accepted. For more information, go to https://support.google.com/mail/?p=BadCredentials 41be03b00d2f7-b5a4f8a1b2asm1234567pgb.12 - gsmtp"
    );
    assert!(reply.is_permanent());
    assert!(!reply.is_transient());
}

#[test]
fn lf_and_crlf_give_the_same_reply() {
    assert_eq!(parse(MULTI_LINE), parse(&MULTI_LINE.replace("\r\n", "\n")));
}

#[test]
fn lines_without_continuation_marks_or_codes_are_one_reply() {
    let spaces = "535 5.7.8 Username and Password not accepted. For more information, go to\n535 5.7.8  https://support.google.com/mail/?p=BadCredentials id - gsmtp";
    let bare = "535 5.7.8 Username and Password not accepted. For more information, go to\nhttps://support.google.com/mail/?p=BadCredentials id - gsmtp";
    let hyphen_last = "535-5.7.8 Username and Password not accepted. For more information, go to\n535-5.7.8  https://support.google.com/mail/?p=BadCredentials id - gsmtp";
    let expected = parse(&MULTI_LINE.replace("41be03b00d2f7-b5a4f8a1b2asm1234567pgb.12", "id"));
    assert_eq!(parse(spaces), expected);
    assert_eq!(parse(bare), expected);
    assert_eq!(parse(hyphen_last), expected);
}

#[test]
fn a_clients_words_before_the_reply_are_skipped() {
    let nodemailer = "Error: Invalid login: 535-5.7.8 Username and Password not accepted. For more information, go to\n535 5.7.8  https://support.google.com/mail/?p=BadCredentials 41be03b00d2f7-b5a4f8a1b2asm1234567pgb.12 - gsmtp";
    assert_eq!(parse(nodemailer), parse(MULTI_LINE));
    // Without an enhanced code after it, a number in prose is not taken for a reply.
    assert!(matches!(
        parse_error("Error: got 535 from the server"),
        ParseError::MissingCode { line: 1, .. }
    ));
}

#[test]
fn blank_lines_and_surrounding_whitespace_are_ignored() {
    let padded = format!("\r\n  {}\r\n\r\n", MULTI_LINE.trim_end());
    assert_eq!(parse(&padded), parse(MULTI_LINE));
}

#[test]
fn replies_without_an_enhanced_code_keep_all_their_text() {
    let reply = parse("220 smtp.gmail.com ESMTP 41be03b00d2f7-b5a4f8a1b2asm1234567pgb.12 - gsmtp");
    assert_eq!(reply.code, 220);
    assert_eq!(reply.enhanced, None);
    assert_eq!(
        reply.lines,
        ["smtp.gmail.com ESMTP 41be03b00d2f7-b5a4f8a1b2asm1234567pgb.12 - gsmtp"]
    );

    let ehlo = parse(
        "250-smtp.gmail.com at your service, [203.0.113.7]\r\n250-SIZE 35882577\r\n250-8BITMIME\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 SMTPUTF8",
    );
    assert_eq!(ehlo.enhanced, None);
    assert_eq!(ehlo.lines.len(), 8);
    assert_eq!(ehlo.lines[3], "STARTTLS");
}

#[test]
fn an_enhanced_code_of_another_class_is_text() {
    let reply = parse("250 5.0.0 odd");
    assert_eq!(reply.enhanced, None);
    assert_eq!(reply.lines, ["5.0.0 odd"]);
}

#[test]
fn a_different_enhanced_code_on_a_later_line_stays_in_the_text() {
    let reply = parse("550-5.7.1 first\r\n550 5.7.26 second");
    assert_eq!(reply.enhanced, Some(EnhancedCode::new(5, 7, 1)));
    assert_eq!(reply.lines, ["first", "5.7.26 second"]);
}

#[test]
fn a_bare_code_is_a_reply_with_no_text() {
    let reply = parse("250");
    assert_eq!(reply, Reply::new(250, None, ""));
    assert_eq!(reply.text(), "");
    assert_eq!(reply.to_string(), "250");
}

#[test]
fn display_gives_the_wire_form() {
    let reply = Reply::new(535, Some(EnhancedCode::new(5, 7, 8)), "line1\nline2");
    assert_eq!(reply.to_string(), "535-5.7.8 line1\r\n535 5.7.8 line2");
    assert_eq!(
        Reply::new(334, None, "VXNlcm5hbWU6").to_string(),
        "334 VXNlcm5hbWU6"
    );
    let by_hand = Reply {
        code: 421,
        enhanced: None,
        lines: Vec::new(),
    };
    assert_eq!(by_hand.to_string(), "421");
}

#[test]
fn display_and_parse_round_trip() {
    for raw in [
        MULTI_LINE,
        "220 smtp.gmail.com ESMTP id - gsmtp",
        "250-smtp.gmail.com at your service\r\n250-SIZE 35882577\r\n250 SMTPUTF8",
        "550-5.7.26\r\n550-5.7.26 Authentication results:\r\n550 5.7.26 x",
        "220 2.0.0 Ready to start TLS",
        "250",
    ] {
        let reply = parse(raw);
        assert_eq!(parse(&reply.to_string()), reply, "{raw:?}");
    }
}

#[test]
fn transient_and_permanent_follow_the_first_digit() {
    assert!(Reply::new(421, None, "x").is_transient());
    assert!(!Reply::new(421, None, "x").is_permanent());
    assert!(Reply::new(550, None, "x").is_permanent());
    assert!(!Reply::new(250, None, "x").is_transient());
    assert!(!Reply::new(250, None, "x").is_permanent());
}

#[test]
fn garbage_gives_typed_errors() {
    let long_line = "x".repeat(10 * 1024);
    let long_reply = format!("535 5.7.8 {long_line}");
    let many_lines = "250-x\r\n".repeat(MAX_LINES + 1);
    let cases: [(&str, ParseError); 13] = [
        ("", ParseError::Empty),
        ("  \r\n\r\n ", ParseError::Empty),
        (
            "abc",
            ParseError::MissingCode {
                line: 1,
                start: "abc".to_owned(),
            },
        ),
        (
            "99 x",
            ParseError::MissingCode {
                line: 1,
                start: "99 x".to_owned(),
            },
        ),
        (
            "5355 x",
            ParseError::MissingCode {
                line: 1,
                start: "5355 x".to_owned(),
            },
        ),
        (
            "535x",
            ParseError::MissingCode {
                line: 1,
                start: "535x".to_owned(),
            },
        ),
        (
            "\n\nhello 535",
            ParseError::MissingCode {
                line: 3,
                start: "hello 535".to_owned(),
            },
        ),
        ("600 x", ParseError::CodeOutOfRange { code: 600 }),
        ("199 x", ParseError::CodeOutOfRange { code: 199 }),
        (
            "535-5.7.8 a\r\n534 5.7.9 b",
            ParseError::MixedCodes {
                line: 2,
                expected: 535,
                found: 534,
            },
        ),
        (
            &long_line,
            ParseError::LineTooLong {
                line: 1,
                len: 10 * 1024,
                max: MAX_LINE_LEN,
            },
        ),
        (
            &long_reply,
            ParseError::LineTooLong {
                line: 1,
                len: 10 * 1024 + 10,
                max: MAX_LINE_LEN,
            },
        ),
        (&many_lines, ParseError::TooManyLines { max: MAX_LINES }),
    ];
    for (raw, expected) in cases {
        assert_eq!(parse_error(raw), expected, "{:?}", raw.get(..20));
        assert_eq!(
            explain(raw),
            Err(expected),
            "explain returns the same error"
        );
    }
}

#[test]
fn non_ascii_garbage_is_an_error_not_a_panic() {
    for raw in ["ü", "üü x", "5ü5 x", "😀😀😀", "53\u{301} x", "535\u{a0}x"] {
        assert!(
            matches!(parse_error(raw), ParseError::MissingCode { line: 1, .. }),
            "{raw:?}"
        );
    }
}

#[test]
fn errors_quote_only_the_start_of_a_long_line() {
    let error = parse_error(&"y".repeat(100));
    assert_eq!(
        error,
        ParseError::MissingCode {
            line: 1,
            start: format!("{}...", "y".repeat(40))
        }
    );
}

#[test]
fn error_messages_show_what_a_reply_looks_like() {
    let errors = [
        parse_error(""),
        parse_error("abc"),
        parse_error("600 x"),
        parse_error("535 a\n534 b"),
        parse_error(&"5".repeat(2000)),
    ];
    for error in errors {
        let message = error.to_string();
        assert!(message.contains("535"), "{message}");
    }
    assert!(
        parse_error(&"250-x\n".repeat(200))
            .to_string()
            .contains("only the server's reply")
    );
}

#[test]
fn enhanced_codes_parse_and_print() {
    for text in ["5.7.8", "5.7.14", "2.0.0", "4.4.5", "5.7.999"] {
        match text.parse::<EnhancedCode>() {
            Ok(code) => assert_eq!(code.to_string(), text),
            Err(error) => panic!("{text:?}: {error}"),
        }
    }
    assert_eq!(
        "5.7.26".parse(),
        Ok(EnhancedCode {
            class: 5,
            subject: 7,
            detail: 26
        })
    );
    for text in [
        "", "5", "5.7", "5.7.8.1", "3.0.0", "5.7.1000", "5..8", "a.b.c", "5.7.8 ", "+5.7.8",
        "5.-7.8",
    ] {
        let error = text.parse::<EnhancedCode>();
        assert!(
            matches!(error, Err(ParseError::InvalidEnhancedCode { .. })),
            "{text:?} gave {error:?}"
        );
    }
    let message = "9.9.9"
        .parse::<EnhancedCode>()
        .map_err(|error| error.to_string());
    assert!(
        matches!(message, Err(ref m) if m.contains("5.7.8")),
        "{message:?}"
    );
}

#[test]
fn the_oauth_challenge_is_decoded_from_334_replies_only() {
    let challenge = parse("334 eyJzdGF0dXMiOiI0MDAiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ==")
        .oauth_challenge();
    let Some(challenge) = challenge else {
        panic!("the challenge decodes")
    };
    assert_eq!(challenge.status, "400");
    assert_eq!(challenge.schemes.as_deref(), Some("Bearer"));
    assert_eq!(challenge.scope.as_deref(), Some("https://mail.google.com/"));
    assert_eq!(parse("334 VXNlcm5hbWU6").oauth_challenge(), None);
    assert_eq!(parse("334 not base64!").oauth_challenge(), None);
    assert_eq!(
        parse("535 eyJzdGF0dXMiOiI0MDAifQ==").oauth_challenge(),
        None
    );
}

/// A small deterministic fuzz: many short strings built from the characters replies are made
/// of, and every prefix of a real reply. None may panic.
#[test]
fn nothing_panics() {
    const ALPHABET: [&str; 16] = [
        "5", "3", "4", "2", "0", "-", " ", ".", "\r", "\n", "a", "ü", "7", "8", "eyJ", "==",
    ];
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    for _ in 0..20_000 {
        let mut raw = String::new();
        // xorshift: deterministic, no dependency, good enough to vary inputs.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let len = state % 16;
        for shift in 0..len {
            let pick = (state.rotate_right((shift * 4) as u32) % ALPHABET.len() as u64) as usize;
            raw.push_str(ALPHABET.get(pick).copied().unwrap_or("x"));
        }
        if let Ok(reply) = Reply::parse(&raw) {
            assert!((200..=599).contains(&reply.code), "{raw:?}");
            assert!(!reply.lines.is_empty(), "{raw:?}");
            let _ = explain(&raw);
        }
    }
    for end in 0..=MULTI_LINE.len() {
        if let Some(prefix) = MULTI_LINE.get(..end) {
            let _ = explain(prefix);
        }
    }
}
