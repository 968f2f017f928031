//! Replies about TLS, logging in and the order of commands.

use super::{Advice, Fixed, Rule, enhanced};
use crate::diagnosis::{QuotaSignal, Retry};

/// Google's page with the server, port and TLS settings for sending from an app.
const SETTINGS_HELP: &str = "https://support.google.com/a/answer/176600";
/// Google's list of SMTP errors, for replies without a page of their own.
const ERROR_REFERENCE: &str = "https://support.google.com/a/answer/3726730";

pub(super) const RULES: &[Rule] = &[
    Rule {
        code: 530,
        enhanced: enhanced(5, 7, 0),
        any_of: &["must issue a starttls"],
        advice: Advice::Fixed(Fixed {
            title: "STARTTLS required before logging in or sending",
            what_happened: "Gmail refused the command because the connection was still unencrypted: \
                on port 587 the client must send STARTTLS, and EHLO again, before AUTH or MAIL FROM.",
            likely_cause: "The client is set to plain SMTP without encryption (a setting such as \
                'Encryption: None' or TLS turned off), or it skipped STARTTLS.",
            fix: &[
                "On port 587, turn on STARTTLS (often labelled 'STARTTLS', 'TLS' or 'require TLS') \
                 so the client encrypts the connection before logging in.",
                "Or use port 465 with implicit TLS (often labelled 'SSL', 'SSL/TLS' or \
                 `secure: true`), where the connection is encrypted from the first byte.",
                "Do not look for a way around it: Gmail never accepts a login or a message over an \
                 unencrypted connection.",
            ],
            help_link: Some(SETTINGS_HELP),
            retry: Retry::Permanent,
        }),
    },
    Rule {
        code: 530,
        enhanced: enhanced(5, 7, 0),
        any_of: &["authentication required"],
        advice: Advice::Fixed(Fixed {
            title: "Login required before sending",
            what_happened: "Gmail refused to take a message because the client had not logged in \
                (AUTH) on this connection.",
            likely_cause: "No username and password (or OAuth token) is configured, or the client \
                skipped AUTH: on port 587 Gmail lists AUTH only in the EHLO reply after STARTTLS, so a \
                client that reads the first EHLO reply may think no login is needed.",
            fix: &[
                "Configure the login: your full Gmail or Google Workspace address as the username, \
                 and a 16-character App Password or an OAuth token as the secret.",
                "Make sure the client logs in after STARTTLS and the second EHLO.",
                "Sending without a login only works through smtp-relay.gmail.com (Google Workspace), \
                 from an IP address registered in the Admin console; smtp.gmail.com always needs it.",
            ],
            help_link: Some("https://support.google.com/mail/?p=WantAuthError"),
            retry: Retry::Permanent,
        }),
    },
    Rule {
        code: 535,
        enhanced: enhanced(5, 7, 8),
        any_of: &[],
        advice: Advice::Fixed(Fixed {
            title: "Username and password not accepted",
            what_happened: "Gmail rejected the login: the username and password (or token) sent \
                with AUTH do not let this client send mail.",
            likely_cause: "Gmail no longer accepts the Google account's normal password from mail \
                programs: \"less secure apps\" access ended on 30 May 2022 for personal accounts and \
                on 30 September 2024 for Google Workspace. Only an App Password (16 characters, \
                which needs 2-Step Verification) or OAuth works. If you already use an App Password, \
                it may have been typed with its spaces, mistyped, or revoked by a change of the \
                Google password.",
            fix: &[
                "Turn on 2-Step Verification for the Google account (https://myaccount.google.com/security): \
                 App Passwords need it.",
                "Create an App Password at https://myaccount.google.com/apppasswords and use its 16 \
                 characters as the SMTP password. Google shows them in four groups of four: leave \
                 the spaces out.",
                "Use the full address (name@gmail.com or name@your-domain) as the username.",
                "If the App Passwords page says the setting is not available, the account cannot \
                 have them (security keys only, Advanced Protection, or a work account whose admin \
                 turned them off): use OAuth (XOAUTH2) instead.",
                "If the client logs in with OAuth (XOAUTH2), this reply follows a rejected token: \
                 refresh the access token and check it has the scope https://mail.google.com/.",
            ],
            help_link: Some("https://support.google.com/mail/?p=BadCredentials"),
            retry: Retry::Permanent,
        }),
    },
    Rule {
        code: 534,
        enhanced: enhanced(5, 7, 9),
        any_of: &[],
        advice: Advice::Fixed(Fixed {
            title: "App Password required (2-Step Verification is on)",
            what_happened: "Gmail rejected the login because the account has 2-Step Verification \
                turned on and the client sent the account's normal password.",
            likely_cause: "With 2-Step Verification, programs cannot log in with the account \
                password; they need an App Password or OAuth.",
            fix: &[
                "Create an App Password at https://myaccount.google.com/apppasswords, named after \
                 the program that sends.",
                "Use its 16 characters as the SMTP password, without the spaces Google shows \
                 between the groups of four, and keep the full address as the username.",
                "Or switch the client to OAuth (XOAUTH2) with the scope https://mail.google.com/.",
            ],
            help_link: Some("https://support.google.com/accounts/answer/185833"),
            retry: Retry::Permanent,
        }),
    },
    Rule {
        code: 534,
        enhanced: enhanced(5, 7, 14),
        any_of: &[],
        advice: Advice::Fixed(Fixed {
            title: "Google wants you to sign in with a web browser first",
            what_happened: "Google blocked the login and asks for a sign-in in a web browser first, \
                because something about this sign-in looked unusual to it.",
            likely_cause: "Google's sign-in protection challenged the login: typically a new device, \
                a new place or a data-centre IP address, or a client still sending the account \
                password instead of an App Password.",
            fix: &[
                "Sign in at https://mail.google.com in a web browser, on the same network as the \
                 program if you can, and confirm any security prompt such as 'Was this you?'.",
                "Then log in from the program with an App Password (16 characters, needs 2-Step \
                 Verification) or with OAuth, not the account password.",
                "Check https://myaccount.google.com/notifications for a blocked sign-in warning and \
                 mark it as yours.",
            ],
            help_link: Some("https://support.google.com/mail/answer/78754"),
            retry: Retry::Permanent,
        }),
    },
    Rule {
        code: 454,
        enhanced: enhanced(4, 7, 0),
        any_of: &["too many login attempts"],
        advice: Advice::Quota(
            QuotaSignal::Throttle,
            Fixed {
                title: "Too many login attempts",
                what_happened: "Gmail refused the login for now because this account or IP address \
                has tried to log in too often.",
                likely_cause: "The client logs in for every message, opens many connections at once, \
                or keeps retrying with a wrong password.",
                fix: &[
                    "Wait several minutes, up to an hour, before the next try, and retry with growing \
                 delays rather than in a loop.",
                    "Reuse one logged-in connection for several messages instead of logging in for \
                 each message.",
                    "If the password is wrong, fix it first: every failed try adds to the count.",
                ],
                help_link: Some(ERROR_REFERENCE),
                retry: Retry::Transient,
            },
        ),
    },
    Rule {
        code: 454,
        enhanced: enhanced(4, 7, 0),
        any_of: &["temporary system problem"],
        advice: Advice::Fixed(Fixed {
            title: "Temporary login problem on Google's side",
            what_happened: "Gmail could not check the login because of a temporary problem in its \
                own systems.",
            likely_cause: "A short fault at Google; your settings are not the cause.",
            fix: &[
                "Try again in a few minutes, with growing delays between tries.",
                "If it lasts more than an hour, look for a Gmail incident at \
                 https://www.google.com/appsstatus/dashboard.",
            ],
            help_link: Some(ERROR_REFERENCE),
            retry: Retry::Transient,
        }),
    },
    Rule {
        code: 454,
        enhanced: enhanced(4, 7, 0),
        any_of: &["tls not available"],
        advice: Advice::Fixed(Fixed {
            title: "TLS temporarily unavailable",
            what_happened: "The server could not start TLS after STARTTLS, for a temporary reason.",
            likely_cause: "A short fault on the server's side.",
            fix: &[
                "Try again in a few minutes; do not fall back to an unencrypted connection.",
                "If it keeps happening, try port 465 with implicit TLS instead of STARTTLS on 587.",
            ],
            help_link: Some(SETTINGS_HELP),
            retry: Retry::Transient,
        }),
    },
    Rule {
        code: 504,
        enhanced: enhanced(5, 7, 4),
        any_of: &["xoauth is no longer supported"],
        advice: Advice::Fixed(Fixed {
            title: "Old XOAUTH (OAuth 1.0) login no longer supported",
            what_happened: "Gmail refused AUTH XOAUTH, the OAuth 1.0 login mechanism it has retired.",
            likely_cause: "An old client or library that still uses OAuth 1.0.",
            fix: &[
                "Switch to AUTH XOAUTH2 with an OAuth 2.0 access token for the scope \
                 https://mail.google.com/.",
                "Or log in with AUTH PLAIN or LOGIN and an App Password.",
            ],
            help_link: Some("https://developers.google.com/gmail/imap/xoauth2-protocol"),
            retry: Retry::Permanent,
        }),
    },
    Rule {
        code: 504,
        enhanced: enhanced(5, 7, 4),
        any_of: &[],
        advice: Advice::Fixed(Fixed {
            title: "Login method not recognised",
            what_happened: "Gmail does not support the AUTH mechanism the client asked for.",
            likely_cause: "The client picked a mechanism Gmail does not offer (such as CRAM-MD5, \
                NTLM or GSSAPI), or misspelled its name.",
            fix: &[
                "Use one of the mechanisms Gmail lists after STARTTLS: XOAUTH2 or OAUTHBEARER with \
                 an OAuth token, PLAIN or LOGIN with an App Password.",
                "Let the client choose from the AUTH line of the EHLO reply instead of hard-coding \
                 a mechanism.",
            ],
            help_link: Some(ERROR_REFERENCE),
            retry: Retry::Permanent,
        }),
    },
    Rule {
        code: 503,
        enhanced: enhanced(5, 7, 0),
        any_of: &[],
        advice: Advice::Fixed(Fixed {
            title: "Already logged in: no identity changes",
            what_happened: "Gmail refused a second AUTH on a connection that has already logged in.",
            likely_cause: "The client sends AUTH twice, or a connection pool reuses a logged-in \
                connection for a different account.",
            fix: &[
                "Open a new connection to log in as a different account.",
                "Send AUTH once per connection, after STARTTLS and the second EHLO.",
            ],
            help_link: Some(ERROR_REFERENCE),
            retry: Retry::Permanent,
        }),
    },
    Rule {
        code: 501,
        enhanced: enhanced(5, 5, 2),
        any_of: &[],
        advice: Advice::Fixed(Fixed {
            title: "Login data could not be decoded",
            what_happened: "Gmail could not decode what the client sent during AUTH: it expects \
                base64.",
            likely_cause: "A client bug: the username, password or XOAUTH2 string went out as plain \
                text or as broken base64 (with a line break inside, or missing characters).",
            fix: &[
                "Send each AUTH answer as one line of standard base64, with padding and without \
                 line breaks.",
                "For XOAUTH2, encode exactly `user=ADDRESS^Aauth=Bearer TOKEN^A^A`, where ^A is the \
                 byte 0x01.",
                "For AUTH PLAIN, encode `\\0ADDRESS\\0APP_PASSWORD` (a zero byte before each part).",
            ],
            help_link: Some(ERROR_REFERENCE),
            retry: Retry::Permanent,
        }),
    },
    Rule {
        code: 501,
        enhanced: enhanced(5, 7, 0),
        any_of: &["authentication cancelled"],
        advice: Advice::Fixed(Fixed {
            title: "Login cancelled by the client",
            what_happened: "The client answered a 334 challenge with `*`, which cancels AUTH.",
            likely_cause: "After a rejected OAuth token (a 334 with base64 JSON), Gmail expects an \
                empty line, not `*`; or the client had no credentials to send.",
            fix: &[
                "After a 334 error challenge during XOAUTH2, send an empty line and read the final \
                 535 reply, which says why the login failed.",
                "Check that the client has a username and an App Password or OAuth token \
                 configured.",
            ],
            help_link: Some(ERROR_REFERENCE),
            retry: Retry::Permanent,
        }),
    },
    Rule {
        code: 334,
        enhanced: None,
        any_of: &["vxnlcm5hbwu6"],
        advice: Advice::Fixed(Fixed {
            title: "Server asks for the username (AUTH LOGIN): not an error",
            what_happened: "This is AUTH LOGIN's first prompt, base64 for `Username:`.",
            likely_cause: "Nothing is wrong: the login is in progress.",
            fix: &[
                "Send the full address, base64-encoded, on one line; the next prompt asks for the \
                 App Password the same way.",
            ],
            help_link: None,
            retry: Retry::Permanent,
        }),
    },
    Rule {
        code: 334,
        enhanced: None,
        any_of: &["ugfzc3dvcmq6"],
        advice: Advice::Fixed(Fixed {
            title: "Server asks for the password (AUTH LOGIN): not an error",
            what_happened: "This is AUTH LOGIN's second prompt, base64 for `Password:`.",
            likely_cause: "Nothing is wrong: the login is in progress.",
            fix: &[
                "Send the 16-character App Password, without spaces, base64-encoded on one line.",
            ],
            help_link: None,
            retry: Retry::Permanent,
        }),
    },
    Rule {
        code: 334,
        enhanced: None,
        any_of: &[],
        advice: Advice::OAuthChallenge,
    },
    Rule {
        code: 523,
        enhanced: enhanced(5, 7, 10),
        any_of: &[],
        advice: Advice::Fixed(Fixed {
            title: "Commands sent ahead of STARTTLS",
            what_happened: "Gmail refused commands that the client sent right behind STARTTLS, \
                before the TLS handshake.",
            likely_cause: "A client bug: STARTTLS must end a pipelined group. Commands sent before \
                the handshake could be injected by anyone on the path, so Gmail drops them.",
            fix: &[
                "After STARTTLS, wait for `220 2.0.0 Ready to start TLS`, do the TLS handshake, \
                 then send EHLO again.",
                "Throw away anything read from the server before the handshake.",
            ],
            help_link: Some(ERROR_REFERENCE),
            retry: Retry::Permanent,
        }),
    },
    Rule {
        code: 503,
        enhanced: enhanced(5, 5, 1),
        any_of: &["tls already active"],
        advice: Advice::Fixed(Fixed {
            title: "STARTTLS sent on an encrypted connection",
            what_happened: "Gmail refused STARTTLS because the connection is already encrypted.",
            likely_cause: "The client connected to port 465 (implicit TLS) but is also set to \
                STARTTLS, or sent STARTTLS twice.",
            fix: &[
                "On port 465, use implicit TLS only and do not send STARTTLS.",
                "On port 587, send STARTTLS once, then EHLO again.",
            ],
            help_link: Some(SETTINGS_HELP),
            retry: Retry::Permanent,
        }),
    },
    Rule {
        code: 503,
        enhanced: enhanced(5, 5, 1),
        any_of: &[],
        advice: Advice::Fixed(Fixed {
            title: "Commands sent in the wrong order",
            what_happened: "Gmail refused a command that came out of order, such as MAIL FROM \
                before EHLO, RCPT TO before MAIL FROM, or DATA before any accepted recipient.",
            likely_cause: "A client bug, or an earlier command failed and the client carried on \
                as if it had worked.",
            fix: &[
                "Follow the order EHLO, STARTTLS, EHLO, AUTH, MAIL FROM, RCPT TO (one per \
                 recipient), DATA.",
                "Check the reply to each command before sending the next; if every RCPT TO failed, \
                 do not send DATA.",
                "After STARTTLS, start again with EHLO.",
            ],
            help_link: Some(ERROR_REFERENCE),
            retry: Retry::Permanent,
        }),
    },
    Rule {
        code: 502,
        enhanced: enhanced(5, 5, 1),
        any_of: &[],
        advice: Advice::Fixed(Fixed {
            title: "Command not recognised",
            what_happened: "Gmail did not recognise a command the client sent.",
            likely_cause: "A typo in a hand-typed session, a command Gmail does not implement, or \
                data sent as commands (for example message text after a refused DATA).",
            fix: &[
                "Check the command's spelling and that the server offers it in the EHLO reply.",
                "Send message content only after a 354 reply to DATA.",
            ],
            help_link: Some(ERROR_REFERENCE),
            retry: Retry::Permanent,
        }),
    },
    Rule {
        code: 501,
        enhanced: enhanced(5, 5, 4),
        any_of: &[],
        advice: Advice::Fixed(Fixed {
            title: "EHLO without a name",
            what_happened: "Gmail refused EHLO (or HELO) because it had no argument, and closed \
                the connection.",
            likely_cause: "The client sends a bare `EHLO`, usually because it could not find the \
                machine's host name.",
            fix: &[
                "Send `EHLO` followed by the machine's fully qualified host name, or by its address \
                 in brackets such as `[192.0.2.1]`.",
                "Set the host name in the client's settings if it cannot find one itself.",
            ],
            help_link: Some(ERROR_REFERENCE),
            retry: Retry::Permanent,
        }),
    },
    Rule {
        code: 500,
        enhanced: enhanced(5, 5, 2),
        any_of: &[],
        advice: Advice::Fixed(Fixed {
            title: "Command line too long or not understood",
            what_happened: "Gmail could not read a command line and may have closed the connection.",
            likely_cause: "A command line longer than SMTP allows (512 bytes), often a huge \
                parameter, or binary data sent where a command was expected.",
            fix: &[
                "Keep command lines short: one address per RCPT TO, and no message data before \
                 the 354 reply to DATA.",
                "If the client speaks TLS, make sure it is not sending TLS records to a port that \
                 is still in plain text.",
            ],
            help_link: Some(ERROR_REFERENCE),
            retry: Retry::Permanent,
        }),
    },
    Rule {
        code: 421,
        enhanced: enhanced(4, 7, 0),
        any_of: &["too many unrecognized commands"],
        advice: Advice::Fixed(Fixed {
            title: "Too many unrecognised commands: connection closed",
            what_happened: "Gmail closed the connection after several commands it could not \
                recognise.",
            likely_cause: "The client is not speaking SMTP on this connection: for example it sends \
                TLS or HTTP to a plain-text SMTP port, or message data as commands.",
            fix: &[
                "Check the port and encryption pair: port 465 with implicit TLS, or port 587 with \
                 STARTTLS.",
                "Make sure message data is only sent after a 354 reply to DATA.",
            ],
            help_link: Some(SETTINGS_HELP),
            retry: Retry::Permanent,
        }),
    },
    Rule {
        code: 550,
        enhanced: None,
        any_of: &["mail relay denied", "invalid credentials for relay"],
        advice: Advice::Fixed(Fixed {
            title: "SMTP relay refused this sender",
            what_happened: "smtp-relay.gmail.com refused to relay the message because it could not \
                tie the connection to your Google Workspace account.",
            likely_cause: "The sending IP address is not registered in the SMTP relay settings, or \
                the relay requires a login and the client did not log in, or the sender's domain is \
                not one of the account's domains.",
            fix: &[
                "In the Google Admin console (Apps > Google Workspace > Gmail > Routing > SMTP relay \
                 service), add the sending IP address, or turn on 'Require SMTP Authentication' and \
                 log in with a Workspace account.",
                "Send from an address in one of your Workspace domains, and use that domain in \
                 EHLO.",
            ],
            help_link: Some("https://support.google.com/a/answer/2956491"),
            retry: Retry::Permanent,
        }),
    },
];
