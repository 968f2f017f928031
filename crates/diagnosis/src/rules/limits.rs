//! Replies about sending quotas, throttling and temporary problems on Google's side.

use super::{Advice, Fixed, Rule, enhanced};
use crate::diagnosis::{QuotaSignal, Retry};

/// Google's page on Gmail's sending limits.
const LIMITS_HELP: &str = "https://support.google.com/a/answer/166852";
/// Google's page on the SMTP relay service and its limits.
const RELAY_HELP: &str = "https://support.google.com/a/answer/2956491";
/// Google's list of SMTP errors, for replies without a page of their own.
const ERROR_REFERENCE: &str = "https://support.google.com/a/answer/3726730";
/// Google's guidelines for senders: authentication, reputation, bulk mail.
const SENDER_GUIDELINES: &str = "https://support.google.com/mail/answer/81126";

pub(super) const RULES: &[Rule] = &[
    // Before any other 5.7.1 rule: the same code also means a policy or format refusal.
    Rule {
        code: 550,
        enhanced: enhanced(5, 7, 1),
        any_of: &["daily smtp relay limit"],
        advice: Advice::Quota(
            QuotaSignal::DailyLimit,
            Fixed {
                title: "Daily SMTP relay limit reached for the whole organisation",
                what_happened: "smtp-relay.gmail.com stopped relaying for your whole Google \
                    Workspace organisation: the organisation's limit for the last 24 hours is \
                    used up, so no user can send through the relay for now.",
                likely_cause: "All users and devices of the organisation together sent more than \
                    the relay allows in a rolling 24 hours (about 4.6 million recipients, and \
                    about 319,000 in any 10 minutes), often because of one bulk mailing or a \
                    device or script stuck in a sending loop.",
                fix: &[
                    "Stop sending through the relay and wait: the limit counts a rolling 24 hours, \
                     so sending comes back as earlier messages age out.",
                    "Find what sent so much (the Admin console's email log search shows the \
                     senders) and stop any loop before sending again.",
                    "Spread large mailings over several days, or send bulk and marketing mail \
                     through a dedicated bulk email service instead of the Workspace relay.",
                ],
                help_link: Some(RELAY_HELP),
                retry: Retry::AfterQuotaWindow,
            },
        ),
    },
    Rule {
        code: 550,
        enhanced: enhanced(5, 4, 5),
        any_of: &["daily smtp relay limit"],
        advice: Advice::Quota(
            QuotaSignal::DailyLimit,
            Fixed {
                title: "Daily SMTP relay limit reached for this user",
                what_happened: "smtp-relay.gmail.com stopped relaying for this user: the per-user \
                    limit for the last 24 hours is used up.",
                likely_cause: "More than 10,000 messages, or more than 10,000 different \
                    recipients, from this user (counted by the envelope sender) within a rolling \
                    24 hours.",
                fix: &[
                    "Wait: the limit counts a rolling 24 hours, so sending comes back as earlier \
                     messages age out, at the latest 24 hours after the peak.",
                    "Spread large mailings over several days or several sending users.",
                    "For bulk or marketing mail, use a dedicated bulk email service rather than \
                     the Workspace relay.",
                ],
                help_link: Some(RELAY_HELP),
                retry: Retry::AfterQuotaWindow,
            },
        ),
    },
    Rule {
        code: 550,
        enhanced: enhanced(5, 4, 5),
        any_of: &["daily user sending"],
        advice: Advice::Quota(
            QuotaSignal::DailyLimit,
            Fixed {
                title: "Daily sending limit reached",
                what_happened: "Gmail stopped accepting messages from this account because it reached \
                its daily sending limit.",
                likely_cause: "The account sent more than its allowance within a rolling 24 hours: \
                about 500 messages for a personal Gmail account; 2,000 messages (500 during a trial) \
                and 10,000 recipients in total for Google Workspace. Every recipient counts, Cc and \
                Bcc included.",
                fix: &[
                    "Wait: sending comes back within 1 to 24 hours, as the window moves past the \
                 messages sent earlier.",
                    "Do not retry in a loop: failed tries do not get the message out sooner.",
                    "Spread large sends over several days, or use a bulk email service (or, with \
                 Google Workspace, smtp-relay.gmail.com) for large volumes.",
                ],
                help_link: Some(LIMITS_HELP),
                retry: Retry::AfterQuotaWindow,
            },
        ),
    },
    Rule {
        code: 550,
        enhanced: enhanced(5, 4, 5),
        any_of: &[],
        advice: Advice::Quota(
            QuotaSignal::DailyLimit,
            Fixed {
                title: "A sending limit is used up",
                what_happened: "Gmail stopped accepting messages from this account for now because a \
                sending limit is used up.",
                likely_cause: "Too many messages or recipients within a rolling 24 hours.",
                fix: &[
                    "Wait up to 24 hours for the limit to clear.",
                    "Spread large sends over several days.",
                ],
                help_link: Some(LIMITS_HELP),
                retry: Retry::AfterQuotaWindow,
            },
        ),
    },
    Rule {
        code: 450,
        enhanced: enhanced(4, 2, 1),
        any_of: &["peak smtp relay"],
        advice: Advice::Quota(
            QuotaSignal::Throttle,
            Fixed {
                title: "SMTP relay sending too fast: slow down for about 10 minutes",
                what_happened: "smtp-relay.gmail.com held back the message because your organisation \
                sent too many messages in a short burst; the message was not accepted.",
                likely_cause: "A burst over the relay's short-term limit, which Google counts for the \
                whole organisation over about 10 minutes (about 319,000 recipients), often from \
                a bulk mailing over many parallel connections.",
                fix: &[
                    "Slow down: pause sending through the relay for about 10 minutes, then retry this \
                 message, with growing delays if it happens again.",
                    "Send at a steady rate instead of in bursts, with fewer parallel connections.",
                ],
                help_link: Some(RELAY_HELP),
                retry: Retry::Transient,
            },
        ),
    },
    Rule {
        code: 450,
        enhanced: enhanced(4, 2, 1),
        any_of: &["receiving mail at a rate"],
        advice: Advice::Fixed(Fixed {
            title: "Recipient is receiving mail too fast",
            what_happened: "The recipient's mailbox is getting messages faster than Gmail allows, so \
                Gmail deferred this one.",
            likely_cause: "Many messages to the same recipient in a short time, from you or from \
                other senders.",
            fix: &[
                "Retry later; a normal retry queue gets the message through.",
                "If you send many messages to this recipient, send fewer or combine them.",
            ],
            help_link: Some(ERROR_REFERENCE),
            retry: Retry::Transient,
        }),
    },
    Rule {
        code: 421,
        enhanced: enhanced(4, 7, 28),
        any_of: &["same message-id"],
        advice: Advice::Quota(
            QuotaSignal::Throttle,
            Fixed {
                title: "Same Message-ID sent too often",
                what_happened: "Gmail is rate limiting messages that reuse one Message-ID: it has seen \
                this Message-ID too many times.",
                likely_cause: "The program gives different messages the same Message-ID (for example a \
                template with a fixed Message-ID header), or resends one message many times.",
                fix: &[
                    "Generate a new Message-ID for every distinct message, such as \
                 `<random-unique-part@your-domain>`.",
                    "Keep the same Message-ID only when retrying the very same message, and back off \
                 between retries.",
                ],
                help_link: Some(SENDER_GUIDELINES),
                retry: Retry::Transient,
            },
        ),
    },
    Rule {
        code: 421,
        enhanced: enhanced(4, 7, 28),
        any_of: &[],
        advice: Advice::Quota(
            QuotaSignal::Throttle,
            Fixed {
                title: "Rate limited for an unusual rate of unsolicited mail",
                what_happened: "Gmail is temporarily limiting mail from your IP address or domain \
                because it saw an unusual rate of unsolicited mail from it.",
                likely_cause: "A sudden rise in volume, messages that recipients mark as spam, or \
                mail without SPF or DKIM authentication.",
                fix: &[
                    "Slow down and retry later with growing delays; held messages go through once the \
                 rate drops.",
                    "Authenticate the sending domain with SPF and DKIM, and send only to recipients who \
                 asked for the mail.",
                    "Watch the domain's reputation in Google Postmaster Tools \
                 (https://postmaster.google.com).",
                ],
                help_link: Some("https://support.google.com/mail/?p=UnsolicitedRateLimitError"),
                retry: Retry::Transient,
            },
        ),
    },
    Rule {
        code: 550,
        enhanced: enhanced(5, 7, 28),
        any_of: &[],
        advice: Advice::Fixed(Fixed {
            title: "Blocked for an unusual rate of unsolicited mail",
            what_happened: "Gmail blocked mail from your IP address or domain because it saw an \
                unusual rate of unsolicited mail from it.",
            likely_cause: "Much mail that recipients mark as spam or did not ask for, often after \
                a sudden rise in volume, or mail without SPF or DKIM authentication.",
            fix: &[
                "Stop sending from this IP address or domain until the cause is fixed; retrying \
                 keeps the block in place.",
                "Authenticate the domain with SPF and DKIM, publish DMARC, and add one-click \
                 unsubscribe to bulk mail.",
                "Send only to recipients who asked for the mail, and keep the spam rate in Google \
                 Postmaster Tools (https://postmaster.google.com) below 0.3%.",
            ],
            help_link: Some("https://support.google.com/mail/?p=UnsolicitedIPError"),
            retry: Retry::Permanent,
        }),
    },
    Rule {
        code: 421,
        enhanced: enhanced(4, 7, 0),
        any_of: &["try again later, closing connection"],
        advice: Advice::Quota(
            QuotaSignal::Throttle,
            Fixed {
                title: "Gmail is throttling this client: try again later",
                what_happened: "Gmail closed the connection and asked the client to come back later.",
                likely_cause: "Too many connections or messages in a short time from this IP address \
                or account, often from parallel connections or a tight retry loop; Gmail also \
                answers EHLO this way for IP addresses with a poor reputation.",
                fix: &[
                    "Wait a few minutes, then reconnect; retry with growing delays such as 1, 2, 4 and \
                 8 minutes.",
                    "Use fewer parallel connections, and send several messages over each one.",
                    "Make sure the client retries after a 421 rather than giving up: the reply is \
                 temporary.",
                ],
                help_link: Some(ERROR_REFERENCE),
                retry: Retry::Transient,
            },
        ),
    },
    Rule {
        code: 421,
        enhanced: enhanced(4, 7, 0),
        any_of: &["temporary system problem"],
        advice: Advice::Quota(
            QuotaSignal::Throttle,
            Fixed {
                title: "Connection closed after many messages: reconnect and pace the sending",
                what_happened: "Gmail closed the connection with a temporary error; the message \
                    in progress was not accepted.",
                likely_cause: "Google publishes no per-connection limit, but users see this \
                    after about 70 to 90 messages on one connection, or with many connections \
                    at once from one account.",
                fix: &[
                    "Reconnect after a short pause and send the message again; retry with growing \
                     delays if it happens again.",
                    "Send at most about 50 messages over one connection, then open a new one, and \
                     keep to a few connections at a time.",
                ],
                help_link: Some(LIMITS_HELP),
                retry: Retry::Transient,
            },
        ),
    },
    Rule {
        code: 421,
        enhanced: enhanced(4, 7, 0),
        any_of: &["connection expired"],
        advice: Advice::Fixed(Fixed {
            title: "Idle connection closed: reconnect",
            what_happened: "Gmail closed the connection because it had been open, or idle, for too \
                long.",
            likely_cause: "A pooled or kept-alive connection sat unused; Gmail closes idle sessions \
                after a few minutes.",
            fix: &[
                "Open a new connection and send again; the message on this one was not accepted.",
                "In a connection pool, close connections after a short idle time or check them with \
                 NOOP before use.",
            ],
            help_link: Some(ERROR_REFERENCE),
            retry: Retry::Transient,
        }),
    },
    Rule {
        code: 421,
        enhanced: enhanced(4, 3, 0),
        any_of: &[],
        advice: Advice::Fixed(Fixed {
            title: "Temporary system problem at Google",
            what_happened: "Gmail closed the connection because of a temporary problem in its own \
                systems.",
            likely_cause: "A short fault or maintenance at Google; your settings are not the cause.",
            fix: &[
                "Reconnect and try again in a few minutes, with growing delays between tries.",
                "If it lasts more than an hour, look for a Gmail incident at \
                 https://www.google.com/appsstatus/dashboard.",
            ],
            help_link: Some(ERROR_REFERENCE),
            retry: Retry::Transient,
        }),
    },
    Rule {
        code: 421,
        enhanced: enhanced(4, 4, 5),
        any_of: &[],
        advice: Advice::Fixed(Fixed {
            title: "Gmail server busy",
            what_happened: "Gmail closed the connection because the server is too busy right now.",
            likely_cause: "Load on Google's side; your settings are not the cause.",
            fix: &["Reconnect and try again in a few minutes, with growing delays between tries."],
            help_link: Some(ERROR_REFERENCE),
            retry: Retry::Transient,
        }),
    },
    Rule {
        code: 451,
        enhanced: enhanced(4, 3, 0),
        any_of: &["temporarily rejected"],
        advice: Advice::Fixed(Fixed {
            title: "Message temporarily rejected",
            what_happened: "Gmail could not take the message right now and asked for it to be sent \
                again later.",
            likely_cause: "A temporary problem on Google's side while storing the message.",
            fix: &[
                "Send the message again in a few minutes; a normal retry queue does this by itself.",
                "If every try fails for more than an hour, look for a Gmail incident at \
                 https://www.google.com/appsstatus/dashboard.",
            ],
            help_link: Some(ERROR_REFERENCE),
            retry: Retry::Transient,
        }),
    },
    Rule {
        code: 451,
        enhanced: enhanced(4, 3, 0),
        any_of: &["multiple destination domains"],
        advice: Advice::Fixed(Fixed {
            title: "Recipients of several domains in one transaction",
            what_happened: "Gmail's receiving server refused recipients of more than one domain in \
                the same SMTP transaction.",
            likely_cause: "The client delivers directly to Gmail's inbound servers and groups \
                recipients of different domains into one transaction.",
            fix: &[
                "Send one transaction per recipient domain.",
                "Or send through smtp.gmail.com (with a login) or your provider's server, which \
                 sorts recipients by domain for you.",
            ],
            help_link: Some(ERROR_REFERENCE),
            retry: Retry::Transient,
        }),
    },
    Rule {
        code: 451,
        enhanced: enhanced(4, 4, 2),
        any_of: &[],
        advice: Advice::Fixed(Fixed {
            title: "Gmail timed out waiting for the client",
            what_happened: "Gmail closed the connection because the client sent nothing for too \
                long.",
            likely_cause: "The client paused between commands (or in the middle of DATA) longer \
                than Gmail waits, or a slow network stalled the upload.",
            fix: &[
                "Reconnect and send again; the message was not accepted.",
                "Send commands without long pauses, and close idle pooled connections.",
            ],
            help_link: Some(ERROR_REFERENCE),
            retry: Retry::Transient,
        }),
    },
    Rule {
        code: 421,
        enhanced: None,
        any_of: &[],
        advice: Advice::Fixed(Fixed {
            title: "Server closed the connection",
            what_happened: "The server is closing the connection and refuses service for now.",
            likely_cause: "A temporary condition on the server: load, maintenance or throttling of \
                this client.",
            fix: &[
                "Reconnect after a few minutes and try again, with growing delays between tries.",
                "Use fewer parallel connections.",
            ],
            help_link: None,
            retry: Retry::Transient,
        }),
    },
];
