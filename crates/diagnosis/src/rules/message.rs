//! Replies about addresses, message size and format, sender authentication and spam policy.

use super::{Advice, Fixed, Rule, enhanced};
use crate::diagnosis::Retry;

/// Google's guidelines for senders: authentication, reputation, bulk mail.
const SENDER_GUIDELINES: &str = "https://support.google.com/mail/answer/81126";
/// Google's list of SMTP errors, for replies without a page of their own.
const ERROR_REFERENCE: &str = "https://support.google.com/a/answer/3726730";

pub(super) const RULES: &[Rule] = &[
    Rule {
        code: 452,
        enhanced: enhanced(4, 5, 3),
        any_of: &[],
        advice: Advice::Fixed(Fixed {
            title: "Too many recipients in one message",
            what_happened: "Gmail refused a recipient because the message already has as many \
                recipients as it takes in one SMTP transaction. Sending it again unchanged fails \
                the same way: it goes through only once it is split.",
            likely_cause: "The message goes to more recipients (To, Cc and Bcc together) than Gmail \
                accepts over SMTP: 100 per message for Google Workspace and smtp-relay.gmail.com, \
                about 500 for a personal account.",
            fix: &[
                "Split the message into groups of at most 100 recipients (To, Cc and Bcc \
                 together) and send one copy per group.",
                "The recipients accepted before this reply are fine: finish this message with them \
                 and send the rest in another one.",
                "For a mailing list, use a Google Group or a bulk email service.",
            ],
            help_link: Some("https://support.google.com/mail/?p=TooManyRecipientsError"),
            retry: Retry::Transient,
        }),
    },
    Rule {
        code: 552,
        enhanced: enhanced(5, 3, 4),
        any_of: &[],
        advice: Advice::Fixed(Fixed {
            title: "Message too large",
            what_happened: "Gmail refused the message because it is larger than Gmail accepts.",
            likely_cause: "The attachments add up to more than 25 MB. Attachments grow by about a \
                third when encoded for mail, so a 20 MB file can already be too big; Gmail's hard \
                limit is the SIZE in its EHLO reply (35882577 bytes, about 34 MiB encoded).",
            fix: &[
                "Make the message smaller: compress or resize the attachments, or spread them over \
                 several messages.",
                "For large files, upload them to Google Drive or another file-sharing service and \
                 send a link.",
                "Compare the message size with the SIZE value in the EHLO reply before sending, so \
                 the client can stop early with a clear error.",
            ],
            help_link: Some("https://support.google.com/mail/?p=MaxSizeError"),
            retry: Retry::Permanent,
        }),
    },
    Rule {
        code: 552,
        enhanced: enhanced(5, 7, 0),
        any_of: &["potential security issue"],
        advice: Advice::Fixed(Fixed {
            title: "Attachment blocked for security reasons",
            what_happened: "Gmail blocked the message because of an attachment it does not allow.",
            likely_cause: "An attachment type Gmail blocks, such as a program or script (.exe, .bat, \
                .js, .vbs and others), also inside a .zip or other archive, or a document with \
                suspicious macros.",
            fix: &[
                "Remove the attachment, or upload it to Google Drive and send a link instead.",
                "Renaming the file does not help: Gmail looks inside files and archives.",
            ],
            help_link: Some("https://support.google.com/mail/answer/6590"),
            retry: Retry::Permanent,
        }),
    },
    Rule {
        code: 555,
        enhanced: enhanced(5, 5, 2),
        any_of: &[],
        advice: Advice::Fixed(Fixed {
            title: "Envelope address could not be parsed",
            what_happened: "Gmail could not read the address in MAIL FROM or RCPT TO.",
            likely_cause: "The envelope address is not a bare `<address>`: usually a display name \
                ended up in it (`MAIL FROM:<Jane Doe <jane@example.com>>`), the angle brackets are \
                missing, or there are extra spaces or quotes.",
            fix: &[
                "Put only the bare address in the envelope: `MAIL FROM:<jane@example.com>` and \
                 `RCPT TO:<bob@example.com>`.",
                "Keep display names in the From: and To: headers of the message, not in the \
                 envelope.",
                "Remove spaces, quotes and line breaks around the address.",
            ],
            help_link: Some(ERROR_REFERENCE),
            retry: Retry::Permanent,
        }),
    },
    Rule {
        code: 553,
        enhanced: enhanced(5, 1, 2),
        any_of: &[],
        advice: Advice::Fixed(Fixed {
            title: "Recipient domain not found",
            what_happened: "Gmail could not find the domain of a recipient address: it has no mail \
                server in DNS.",
            likely_cause: "A typo after the @ (such as gmial.com or gmail.con), a trailing dot or \
                space, or a domain that does not exist or receives no mail.",
            fix: &[
                "Check the spelling of the recipient's domain.",
                "Remove any spaces, dots or other punctuation after the address.",
                "If the domain looks right, check that it has mail servers (`nslookup -type=mx \
                 example.com`) or ask the recipient.",
            ],
            help_link: Some(ERROR_REFERENCE),
            retry: Retry::Permanent,
        }),
    },
    Rule {
        code: 553,
        enhanced: enhanced(5, 1, 3),
        any_of: &[],
        advice: Advice::Fixed(Fixed {
            title: "Invalid recipient address",
            what_happened: "Gmail refused a recipient because the address is not a valid email \
                address (RFC 5321).",
            likely_cause: "The address has a space, a forbidden character, two @ signs or no \
                domain, or a display name or quotes ended up in RCPT TO.",
            fix: &[
                "Check the address character by character: the envelope form is \
                 `RCPT TO:<local@domain>` with no spaces.",
                "Keep display names in the To: header, not in the envelope.",
            ],
            help_link: Some(ERROR_REFERENCE),
            retry: Retry::Permanent,
        }),
    },
    Rule {
        code: 553,
        enhanced: enhanced(5, 1, 7),
        any_of: &[],
        advice: Advice::Fixed(Fixed {
            title: "Invalid sender address",
            what_happened: "Gmail refused MAIL FROM because the sender address is not a valid email \
                address (RFC 5321).",
            likely_cause: "The address has a space, a forbidden character or no domain, or a \
                display name or quotes ended up in MAIL FROM.",
            fix: &[
                "Use the bare address of the account you log in with: `MAIL FROM:<you@gmail.com>`.",
                "Keep the display name in the From: header, not in the envelope.",
            ],
            help_link: Some(ERROR_REFERENCE),
            retry: Retry::Permanent,
        }),
    },
    Rule {
        code: 550,
        enhanced: enhanced(5, 1, 1),
        any_of: &[],
        advice: Advice::Fixed(Fixed {
            title: "Recipient address does not exist",
            what_happened: "Gmail says the recipient's mailbox does not exist.",
            likely_cause: "A typo before the @, a deleted account, or an old address.",
            fix: &[
                "Check the spelling of the address, or ask the recipient for the right one.",
                "Remove the address from your lists: sending again and again to missing mailboxes \
                 harms your sender reputation.",
            ],
            help_link: Some("https://support.google.com/mail/?p=NoSuchUser"),
            retry: Retry::Permanent,
        }),
    },
    Rule {
        code: 550,
        enhanced: enhanced(5, 2, 1),
        any_of: &[],
        advice: Advice::Fixed(Fixed {
            title: "Recipient account disabled",
            what_happened: "Gmail says the recipient's account is disabled and does not take mail.",
            likely_cause: "The account was suspended or closed, or has not been used for a long \
                time.",
            fix: &[
                "Reach the recipient another way and ask for a working address.",
                "Remove the address from your lists.",
            ],
            help_link: Some(ERROR_REFERENCE),
            retry: Retry::Permanent,
        }),
    },
    Rule {
        code: 452,
        enhanced: enhanced(4, 2, 2),
        any_of: &[],
        advice: Advice::Fixed(Fixed {
            title: "Recipient's mailbox is full",
            what_happened: "Gmail could not deliver to the recipient because their storage is full.",
            likely_cause: "The recipient's Google storage (shared by Gmail, Drive and Photos) is used \
                up.",
            fix: &[
                "Retry later; the message goes through once the recipient frees space.",
                "Tell the recipient another way that their mailbox is full.",
            ],
            help_link: Some(ERROR_REFERENCE),
            retry: Retry::Transient,
        }),
    },
    Rule {
        code: 552,
        enhanced: enhanced(5, 2, 2),
        any_of: &[],
        advice: Advice::Fixed(Fixed {
            title: "Recipient's mailbox is full and inactive",
            what_happened: "Gmail refused the message because the recipient's storage is full and \
                the account is no longer in use.",
            likely_cause: "The recipient's account has been full and unused for a long time.",
            fix: &[
                "Reach the recipient another way and ask for a working address.",
                "Remove the address from your lists.",
            ],
            help_link: Some(ERROR_REFERENCE),
            retry: Retry::Permanent,
        }),
    },
    Rule {
        code: 550,
        enhanced: enhanced(5, 7, 1),
        any_of: &[
            "messages missing a valid",
            "rfcmessagenoncompliant",
            "not rfc 5322 compliant",
        ],
        advice: Advice::Fixed(Fixed {
            title: "Message does not follow the email format (RFC 5322)",
            what_happened: "Gmail refused the message because its headers break the email format \
                rules, typically a missing or invalid Message-ID, From or Date header.",
            likely_cause: "The program builds the message itself and leaves out Message-ID or \
                Date, has no From header or more than one, or puts a malformed address in From.",
            fix: &[
                "Give every message exactly one From header with a valid address, one Date header \
                 and one Message-ID header (`<unique-part@your-domain>`).",
                "Generate a new Message-ID for each distinct message.",
                "Build messages with a mail library rather than writing the headers by hand.",
            ],
            help_link: Some("https://support.google.com/mail/?p=RfcMessageNonCompliant"),
            retry: Retry::Permanent,
        }),
    },
    Rule {
        code: 550,
        enhanced: enhanced(5, 7, 1),
        any_of: &["not authorized to send email directly"],
        advice: Advice::Fixed(Fixed {
            title: "This IP address may not deliver to Gmail directly",
            what_happened: "Gmail's receiving servers refused mail from this IP address because it \
                may not deliver mail to them directly.",
            likely_cause: "The message went straight to Gmail's inbound servers (port 25) from a \
                home or dynamic IP address, which Gmail only accepts through a mail provider.",
            fix: &[
                "Send through smtp.gmail.com with a login (port 587 with STARTTLS or port 465 with \
                 TLS) or through your provider's SMTP server.",
            ],
            help_link: Some(SENDER_GUIDELINES),
            retry: Retry::Permanent,
        }),
    },
    Rule {
        code: 550,
        enhanced: enhanced(5, 7, 1),
        any_of: &["likely unsolicited", "likely suspicious", "low reputation"],
        advice: Advice::Fixed(Fixed {
            title: "Message blocked as likely spam",
            what_happened: "Gmail's spam protection refused this message.",
            likely_cause: "A poor reputation of the sending IP address or domain, missing SPF or \
                DKIM authentication, content that looks like spam, or many recipients marking \
                earlier messages as spam.",
            fix: &[
                "Authenticate the sending domain with SPF and DKIM, and publish a DMARC record.",
                "Check the domain and IP address in Google Postmaster Tools \
                 (https://postmaster.google.com).",
                "Send only to people who asked for the mail, add one-click unsubscribe to bulk \
                 mail, and keep the spam rate below 0.3%.",
            ],
            help_link: Some(SENDER_GUIDELINES),
            retry: Retry::Permanent,
        }),
    },
    Rule {
        code: 550,
        enhanced: enhanced(5, 7, 26),
        any_of: &["dmarc"],
        advice: Advice::Fixed(Fixed {
            title: "Rejected by the sender domain's DMARC policy",
            what_happened: "Gmail refused the message because it failed the DMARC check of the \
                domain in the From header, and that domain asks for such mail to be rejected.",
            likely_cause: "Neither SPF nor DKIM authenticates this server for the From domain: for \
                example sending as you@company.com through a server that company.com's SPF record \
                does not list, or with a DKIM signature for another domain.",
            fix: &[
                "Send as an address whose domain authorises this server: list the server in the \
                 domain's SPF record and sign with DKIM for the same domain as the From address.",
                "When sending through smtp.gmail.com, put your own Gmail or Workspace address, or a \
                 verified 'Send mail as' alias, in From.",
                "Check the domain's DMARC record (TXT at `_dmarc.your-domain`) and its reports.",
            ],
            help_link: Some(SENDER_GUIDELINES),
            retry: Retry::Permanent,
        }),
    },
    Rule {
        code: 550,
        enhanced: enhanced(5, 7, 26),
        any_of: &[],
        advice: Advice::Fixed(Fixed {
            title: "Sender not authenticated (no SPF or DKIM)",
            what_happened: "Gmail refused the message because the sender is not authenticated: \
                neither SPF nor DKIM passed for the sending domain.",
            likely_cause: "The domain has no SPF record listing this server and the message has no \
                valid DKIM signature; since February 2024 Gmail requires one of them from every \
                sender.",
            fix: &[
                "Publish an SPF record for the sending domain that includes this server (for \
                 Google Workspace: `v=spf1 include:_spf.google.com ~all`).",
                "Turn on DKIM signing for the domain (for Google Workspace: Admin console > Apps > \
                 Google Workspace > Gmail > Authenticate email).",
            ],
            help_link: Some(SENDER_GUIDELINES),
            retry: Retry::Permanent,
        }),
    },
    Rule {
        code: 550,
        enhanced: enhanced(5, 7, 25),
        any_of: &[],
        advice: Advice::Fixed(Fixed {
            title: "Sending IP address has no reverse DNS (PTR)",
            what_happened: "Gmail refused the message because the sending IP address has no PTR \
                record, or one that does not match.",
            likely_cause: "The server sending directly to Gmail has no reverse DNS name, or the \
                name does not resolve back to the same IP address.",
            fix: &[
                "Ask the owner of the IP address (your hosting or network provider) to set a PTR \
                 record naming the server, and make that name resolve back to the address.",
                "Or send through smtp.gmail.com or your provider's SMTP server instead of delivering \
                 directly.",
            ],
            help_link: Some(SENDER_GUIDELINES),
            retry: Retry::Permanent,
        }),
    },
];
