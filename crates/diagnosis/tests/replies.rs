//! Every reply in the table of `shared/reference/gmail-smtp.md`, and the others the rules know,
//! as Gmail sends them: multi-line forms, `?p=` links and session ids included.

use diagnosis::{Failure, QuotaSignal, Reply, Retry, Step, diagnose, explain, quota_signal};

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
    // TLS and login.
    starttls_first: "530 5.7.0 Must issue a STARTTLS command first. 41be03b00d2f7-b5a4f8a1b2asm1234567pgb.12 - gsmtp", "STARTTLS required", Permanent;
    auth_required: "530-5.7.0 Authentication Required. For more information, go to\r\n530 5.7.0  https://support.google.com/mail/?p=WantAuthError d2e1a72fcca58-7098e5c3a1fsm2345678b3a.45 - gsmtp", "Login required", Permanent;
    bad_credentials: "535-5.7.8 Username and Password not accepted. For more information, go to\r\n535 5.7.8  https://support.google.com/mail/?p=BadCredentials 41be03b00d2f7-b5a4f8a1b2asm1234567pgb.12 - gsmtp", "Username and password not accepted", Permanent;
    bad_credentials_lf_only: "535-5.7.8 Username and Password not accepted. For more information, go to\n535 5.7.8  https://support.google.com/mail/?p=BadCredentials 5b1f17b1804b1-42f6a1b2c3dsm9876543f8f.3 - gsmtp\n", "Username and password not accepted", Permanent;
    app_password_required: "534-5.7.9 Application-specific password required. For more information, go to\r\n534 5.7.9  https://support.google.com/mail/?p=InvalidSecondFactor a640c23a62f3a-a9a6e5b1c2dsm3456789.66 - gsmtp", "App Password required", Permanent;
    web_login_required: "534-5.7.14 <https://accounts.google.com/signin/continue?sarp=1&scc=1&plt=AKgnsbsQ7xY>\r\n534-5.7.14 Please log in via your web browser and\r\n534-5.7.14 then try again.\r\n534-5.7.14  Learn more at\r\n534 5.7.14  https://support.google.com/mail/answer/78754 d75a77b69052e-4a1b2c3d4esm112233.4 - gsmtp", "sign in with a web browser", Permanent;
    too_many_logins: "454 4.7.0 Too many login attempts, please try again later. 98e67ed59e1d1-2e2c1a2b3c4sm5566778a12.71 - gsmtp", "Too many login attempts", Transient;
    auth_system_problem: "454 4.7.0 Cannot authenticate due to a temporary system problem. Try again later. 6a1803df08f44-6b2c3d4e5f6sm1122334.9 - gsmtp", "Temporary login problem", Transient;
    tls_not_available: "454 4.7.0 TLS not available due to temporary reason", "TLS temporarily unavailable", Transient;
    xoauth2_challenge: "334 eyJzdGF0dXMiOiI0MDAiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ==", "OAuth token rejected", Permanent;
    login_username_prompt: "334 VXNlcm5hbWU6", "asks for the username", Permanent;
    login_password_prompt: "334 UGFzc3dvcmQ6", "asks for the password", Permanent;
    auth_cancelled: "501 5.7.0 Authentication cancelled. 41be03b00d2f7-b5a4f8a1b2asm1234567pgb.13 - gsmtp", "Login cancelled", Permanent;
    auth_not_base64: "501 5.5.2 Cannot Decode response 41be03b00d2f7-b5a4f8a1b2asm1234567pgb.14 - gsmtp", "Login data could not be decoded", Permanent;
    auth_not_base64_table_wording: "501 5.5.2 Syntax error, cannot decode response. 41be03b00d2f7-b5a4f8a1b2asm1234567pgb.15 - gsmtp", "Login data could not be decoded", Permanent;
    unrecognized_auth_type: "504 5.7.4 Unrecognized authentication type. 2adb3069b0e04-53a1b2c3d4esm778899e87.21 - gsmtp", "Login method not recognised", Permanent;
    xoauth_v1_retired: "504 5.7.4 XOAUTH is no longer supported. 2adb3069b0e04-53a1b2c3d4esm778899e87.22 - gsmtp", "OAuth 1.0", Permanent;
    identity_change: "503 5.7.0 No identity changes permitted. 2adb3069b0e04-53a1b2c3d4esm778899e87.23 - gsmtp", "no identity changes", Permanent;
    relay_denied: "550-5.7.0 Mail relay denied [203.0.113.7]. Invalid credentials for relay for one of\r\n550-5.7.0 the domains in: example.com (as obtained from HELO and MAIL FROM).\r\n550-5.7.0 Email is being sent from a domain or IP address which isn't registered\r\n550-5.7.0 in your Workspace account. Please login to your Workspace account and\r\n550-5.7.0 verify that your sending device IP address has been registered within\r\n550-5.7.0 the Workspace SMTP relay service. For more details, please go to\r\n550 5.7.0  https://support.google.com/a/answer/6140680#invalidcred 4fb4d7f45d1cf-5c1a2b3c4d5sm123456a12.3 - gsmtp", "SMTP relay refused", Permanent;
    relay_ip_mismatch: "550 5.7.1 Invalid credentials for relay [203.0.113.7]. The IP address you've registered in your Workspace SMTP Relay service doesn't match domain of the account this email is being sent from. If you are trying to relay mail from a domain that isn't registered under your Workspace account or has empty envelope-from, you must configure your mail server either to use SMTP AUTH to identify the sending domain or to present one of your domain names in the HELO or EHLO command. 4fb4d7f45d1cf-5c1a2b3c4d5sm123456a12.4 - gsmtp", "SMTP relay refused", Permanent;

    // Command order and syntax.
    pipelined_past_starttls: "523 5.7.10 Error: no commands allowed to pipeline after STARTTLS", "ahead of STARTTLS", Permanent;
    ehlo_first: "503 5.5.1 EHLO/HELO first. 41be03b00d2f7-b5a4f8a1b2asm1234567pgb.16 - gsmtp", "wrong order", Permanent;
    mail_first: "503 5.5.1 MAIL first. 41be03b00d2f7-b5a4f8a1b2asm1234567pgb.17 - gsmtp", "wrong order", Permanent;
    bad_sequence: "503 5.5.1 Bad sequence of commands. 41be03b00d2f7-b5a4f8a1b2asm1234567pgb.18 - gsmtp", "wrong order", Permanent;
    tls_already_active: "503 5.5.1 TLS already active. 41be03b00d2f7-b5a4f8a1b2asm1234567pgb.19 - gsmtp", "STARTTLS sent on an encrypted connection", Permanent;
    unrecognized_command: "502 5.5.1 Unrecognized command. 41be03b00d2f7-b5a4f8a1b2asm1234567pgb.20 - gsmtp", "Command not recognised", Permanent;
    empty_helo: "501 5.5.4 Empty HELO/EHLO argument not allowed, closing connection. 41be03b00d2f7-b5a4f8a1b2asm1234567pgb.21 - gsmtp", "EHLO without a name", Permanent;
    line_too_long: "500 5.5.2 Line too long, closing connection. 41be03b00d2f7-b5a4f8a1b2asm1234567pgb.22 - gsmtp", "Command line too long", Permanent;
    too_many_unrecognized: "421 4.7.0 Too many unrecognized commands, closing connection. 41be03b00d2f7-b5a4f8a1b2asm1234567pgb.23 - gsmtp", "unrecognised commands", Permanent;
    envelope_syntax: "555-5.5.2 Syntax error, cannot decode response. For more information, go to\r\n555 5.5.2  https://support.google.com/a/answer/3221692 a1e0cc1a2514c-3a1b2c3d4e5sm1234567f8f.7 - gsmtp", "Envelope address could not be parsed", Permanent;
    envelope_syntax_short: "555 5.5.2 Syntax error. a1e0cc1a2514c-3a1b2c3d4e5sm1234567f8f.8 - gsmtp", "Envelope address could not be parsed", Permanent;

    // Limits, throttling, temporary problems.
    throttled_at_ehlo: "421 4.7.0 Try again later, closing connection. (EHLO) 46e09a7af769-7a1b2c3d4e5sm123456a8c.34 - gsmtp", "throttling", Transient;
    connection_expired: "421 4.7.0 Connection expired, try reconnecting. 46e09a7af769-7a1b2c3d4e5sm123456a8c.35 - gsmtp", "Idle connection closed", Transient;
    system_problem: "421-4.3.0 Temporary System Problem.  Try again later (10). For more information, go to\r\n421 4.3.0  https://support.google.com/a/answer/3221692 46e09a7af769-7a1b2c3d4e5sm123456a8c.36 - gsmtp", "Temporary system problem at Google", Transient;
    server_busy: "421 4.4.5 Server busy, try again later. 46e09a7af769-7a1b2c3d4e5sm123456a8c.37 - gsmtp", "server busy", Transient;
    other_421: "421 Service not available, closing transmission channel", "Server closed the connection", Transient;
    temporarily_rejected: "451 4.3.0 Mail server temporarily rejected message. 46e09a7af769-7a1b2c3d4e5sm123456a8c.38 - gsmtp", "temporarily rejected", Transient;
    multiple_domains: "451-4.3.0 Multiple destination domains per transaction is unsupported. Please\r\n451 4.3.0 try again. 46e09a7af769-7a1b2c3d4e5sm123456a8c.39 - gsmtp", "several domains", Transient;
    idle_timeout: "451 4.4.2 Timeout - closing connection. 46e09a7af769-7a1b2c3d4e5sm123456a8c.40 - gsmtp", "timed out waiting for the client", Transient;
    daily_limit: "550-5.4.5 Daily user sending limit exceeded. For more information on Gmail\r\n550-5.4.5 sending limits go to\r\n550 5.4.5  https://support.google.com/a/answer/166852 d9443c01a7336-1f1a2b3c4d5sm1234567b3a.1 - gsmtp", "Daily sending limit", AfterQuotaWindow;
    daily_quota_older_wording: "550-5.4.5 Daily user sending quota exceeded. For more information on Gmail\r\n550-5.4.5 sending limits go to\r\n550 5.4.5  https://support.google.com/a/answer/166852 d9443c01a7336-1f1a2b3c4d5sm1234567b3a.2 - gsmtp", "Daily sending limit", AfterQuotaWindow;
    relay_daily_limit: "550-5.4.5 Daily SMTP relay limit exceeded for user. For more information on SMTP relay sending limits please go to\r\n550 5.4.5  https://support.google.com/a/answer/166852 d9443c01a7336-1f1a2b3c4d5sm1234567b3a.3 - gsmtp", "Daily SMTP relay limit", AfterQuotaWindow;
    other_5_4_5: "550 5.4.5 Sending limit exceeded. d9443c01a7336-1f1a2b3c4d5sm1234567b3a.4 - gsmtp", "A sending limit is used up", AfterQuotaWindow;
    relay_daily_limit_customer: "550-5.7.1 Daily SMTP relay limit exceeded for customer. For more information on SMTP relay sending limits please go to\r\n550 5.7.1  https://support.google.com/a/answer/6140680 d9443c01a7336-1f1a2b3c4d5sm1234567b3a.7 - gsmtp", "Daily SMTP relay limit reached for the whole organisation", AfterQuotaWindow;
    relay_daily_limit_customer_one_line: "550 5.7.1 Daily SMTP relay limit exceeded for customer. d9443c01a7336-1f1a2b3c4d5sm1234567b3a.8 - gsmtp", "whole organisation", AfterQuotaWindow;
    temporary_problem_after_many_messages: "421-4.7.0 Temporary System Problem.  Try again later (10). For more information, go to\r\n421 4.7.0  https://support.google.com/a/answer/3221692 46e09a7af769-7a1b2c3d4e5sm123456a8c.41 - gsmtp", "Connection closed after many messages", Transient;
    relay_peak: "450-4.2.1 Peak SMTP relay limit exceeded for customer. This is a temporary error.\r\n450-4.2.1 For more information on SMTP relay limits, please visit\r\n450 4.2.1  https://support.google.com/a/answer/6140680 d9443c01a7336-1f1a2b3c4d5sm1234567b3a.5 - gsmtp", "SMTP relay sending too fast", Transient;
    recipient_rate: "450-4.2.1 The user you are trying to contact is receiving mail at a rate that\r\n450-4.2.1 prevents additional messages from being delivered. Please resend your\r\n450-4.2.1 message at a later time. If the user is able to receive mail at that\r\n450-4.2.1 time, your message will be delivered. For more information, go to\r\n450 4.2.1  https://support.google.com/mail/?p=ReceivingRate d9443c01a7336-1f1a2b3c4d5sm1234567b3a.6 - gsmtp", "receiving mail too fast", Transient;
    unusual_rate_limited: "421-4.7.28 [203.0.113.7      15] Our system has detected an unusual rate of\r\n421-4.7.28 unsolicited mail originating from your IP address. To protect our\r\n421-4.7.28 users from spam, mail sent from your IP address has been temporarily\r\n421-4.7.28 rate limited. Please visit\r\n421-4.7.28  https://support.google.com/mail/?p=UnsolicitedRateLimitError to\r\n421 4.7.28 review our Bulk Email Senders Guidelines. 5b1f17b1804b1-42f1a2b3c4dsm1234567f8f.9 - gsmtp", "Rate limited for an unusual rate", Transient;
    unusual_rate_blocked: "550-5.7.28 [203.0.113.7      15] Our system has detected an unusual rate of\r\n550-5.7.28 unsolicited mail originating from your IP address. To protect our\r\n550-5.7.28 users from spam, mail sent from your IP address has been blocked.\r\n550-5.7.28 Please visit\r\n550-5.7.28  https://support.google.com/mail/?p=UnsolicitedIPError to review our\r\n550 5.7.28 Bulk Email Senders Guidelines. 5b1f17b1804b1-42f1a2b3c4dsm1234567f8f.10 - gsmtp", "Blocked for an unusual rate", Permanent;
    same_message_id: "421-4.7.28 Gmail has detected that this message exceeded its quota for sending\r\n421-4.7.28 messages that have the same Message-ID:<20240101.abc@example.com>. To\r\n421-4.7.28 best protect our users, the message has been temporarily rejected. For\r\n421-4.7.28 more information, go to\r\n421 4.7.28  https://support.google.com/mail/answer/188131 5b1f17b1804b1-42f1a2b3c4dsm1234567f8f.11 - gsmtp", "Same Message-ID", Transient;

    // Recipients, size, format, authentication, spam.
    too_many_recipients: "452-4.5.3 Your message has too many recipients. For more information regarding\r\n452-4.5.3 Google's sending limits, go to\r\n452 4.5.3  https://support.google.com/mail/?p=TooManyRecipientsError 8926c6da1cb9f-4a1b2c3d4e5sm1234567173.2 - gsmtp", "Too many recipients", Transient;
    too_big: "552-5.3.4 Your message exceeded Google's message size limits. For more information, go to\r\n552 5.3.4  https://support.google.com/mail/?p=MaxSizeError 8926c6da1cb9f-4a1b2c3d4e5sm1234567173.3 - gsmtp", "Message too large", Permanent;
    blocked_attachment: "552-5.7.0 This message was blocked because its content presents a potential\r\n552-5.7.0 security issue. Please visit\r\n552-5.7.0  https://support.google.com/mail/?p=BlockedMessage to review our\r\n552 5.7.0 message content and attachment content guidelines. 8926c6da1cb9f-4a1b2c3d4e5sm1234567173.4 - gsmtp", "Attachment blocked", Permanent;
    domain_not_found: "553-5.1.2 We weren't able to find the recipient domain. Please check for any\r\n553-5.1.2 spelling errors, and make sure you didn't enter any spaces, periods,\r\n553 5.1.2 or other punctuation after the recipient's email address. 8926c6da1cb9f-4a1b2c3d4e5sm1234567173.5 - gsmtp", "Recipient domain not found", Permanent;
    invalid_recipient: "553-5.1.3 The recipient address <jane doe@example.com> is not a valid RFC 5321 address. For\r\n553-5.1.3 more information, go to\r\n553 5.1.3  https://support.google.com/a/answer/3221692 8926c6da1cb9f-4a1b2c3d4e5sm1234567173.6 - gsmtp", "Invalid recipient address", Permanent;
    invalid_sender: "553-5.1.7 The sender address <Jane <jane@example.com>> is not a valid RFC 5321 address. For\r\n553-5.1.7 more information, go to\r\n553 5.1.7  https://support.google.com/a/answer/3221692 8926c6da1cb9f-4a1b2c3d4e5sm1234567173.7 - gsmtp", "Invalid sender address", Permanent;
    no_such_user: "550-5.1.1 The email account that you tried to reach does not exist. Please try\r\n550-5.1.1 double-checking the recipient's email address for typos or\r\n550-5.1.1 unnecessary spaces. For more information, go to\r\n550 5.1.1  https://support.google.com/mail/?p=NoSuchUser 8926c6da1cb9f-4a1b2c3d4e5sm1234567173.8 - gsmtp", "Recipient address does not exist", Permanent;
    account_disabled: "550-5.2.1 The email account that you tried to reach is disabled. Learn more at\r\n550 5.2.1  https://support.google.com/mail/?p=DisabledUser 8926c6da1cb9f-4a1b2c3d4e5sm1234567173.9 - gsmtp", "Recipient account disabled", Permanent;
    mailbox_full: "452-4.2.2 The email account that you tried to reach is over quota. Please direct\r\n452-4.2.2 the recipient to\r\n452 4.2.2  https://support.google.com/mail/?p=OverQuotaTemp 8926c6da1cb9f-4a1b2c3d4e5sm1234567173.10 - gsmtp", "mailbox is full", Transient;
    mailbox_full_inactive: "552-5.2.2 The email account that you tried to reach is over quota and inactive.\r\n552-5.2.2 Please direct the recipient to\r\n552 5.2.2  https://support.google.com/mail/?p=OverQuotaPerm 8926c6da1cb9f-4a1b2c3d4e5sm1234567173.11 - gsmtp", "full and inactive", Permanent;
    missing_message_id: "550-5.7.1 [203.0.113.7] Messages missing a valid Message-ID header are not\r\n550-5.7.1 accepted. For more information, go to\r\n550 5.7.1  https://support.google.com/mail/?p=RfcMessageNonCompliant 8926c6da1cb9f-4a1b2c3d4e5sm1234567173.12 - gsmtp", "email format", Permanent;
    missing_from: "550-5.7.1 [203.0.113.7] Messages missing a valid address in From: header, or having\r\n550-5.7.1 no From: header, are not accepted. For more information, go to\r\n550 5.7.1  https://support.google.com/mail/?p=RfcMessageNonCompliant 8926c6da1cb9f-4a1b2c3d4e5sm1234567173.13 - gsmtp", "email format", Permanent;
    not_rfc_5322: "550-5.7.1 [203.0.113.7] This message is not RFC 5322 compliant. There are multiple\r\n550-5.7.1 From headers. To reduce the amount of spam sent to Gmail, this message\r\n550-5.7.1 has been blocked. For more information, go to\r\n550 5.7.1  https://support.google.com/mail/?p=RfcMessageNonCompliant 8926c6da1cb9f-4a1b2c3d4e5sm1234567173.14 - gsmtp", "email format", Permanent;
    ip_not_authorized: "550-5.7.1 [203.0.113.7] The IP you're using to send mail is not authorized to\r\n550-5.7.1 send email directly to our servers. Please use the SMTP relay at your\r\n550-5.7.1 service provider instead. For more information, go to\r\n550 5.7.1  https://support.google.com/mail/?p=NotAuthorizedError 8926c6da1cb9f-4a1b2c3d4e5sm1234567173.15 - gsmtp", "may not deliver to Gmail directly", Permanent;
    likely_spam: "550-5.7.1 [203.0.113.7      12] Our system has detected that this message is\r\n550-5.7.1 likely unsolicited mail. To reduce the amount of spam sent to Gmail,\r\n550-5.7.1 this message has been blocked. For more information, go to\r\n550 5.7.1  https://support.google.com/mail/?p=UnsolicitedMessageError 8926c6da1cb9f-4a1b2c3d4e5sm1234567173.16 - gsmtp", "likely spam", Permanent;
    dmarc_rejection: "550-5.7.26 Unauthenticated email from example.com is not accepted due to domain's\r\n550-5.7.26 DMARC policy. Please contact the administrator of example.com domain if\r\n550-5.7.26 this was a legitimate mail. To learn about the DMARC initiative, go to\r\n550 5.7.26  https://support.google.com/mail/?p=DmarcRejection 8926c6da1cb9f-4a1b2c3d4e5sm1234567173.17 - gsmtp", "DMARC policy", Permanent;
    unauthenticated_sender: "550-5.7.26 This mail has been blocked because the sender is unauthenticated.\r\n550-5.7.26 Gmail requires all senders to authenticate with either SPF or DKIM.\r\n550-5.7.26\r\n550-5.7.26  Authentication results:\r\n550-5.7.26  DKIM = did not pass\r\n550-5.7.26  SPF [example.com] with ip: [203.0.113.7] = did not pass\r\n550-5.7.26\r\n550-5.7.26  For instructions on setting up authentication, go to\r\n550 5.7.26  https://support.google.com/mail/answer/81126#authentication 8926c6da1cb9f-4a1b2c3d4e5sm1234567173.18 - gsmtp", "Sender not authenticated", Permanent;
    no_reverse_dns: "550-5.7.25 [203.0.113.7] The IP address sending this message does not have a\r\n550-5.7.25 PTR record setup, or the corresponding forward DNS entry does not\r\n550-5.7.25 point to the sending IP. As a policy, Gmail does not accept messages\r\n550-5.7.25 from IPs with missing PTR records. For more information, go to\r\n550 5.7.25  https://support.google.com/mail/answer/81126#ip-practices 8926c6da1cb9f-4a1b2c3d4e5sm1234567173.19 - gsmtp", "reverse DNS", Permanent;
}

/// One test per case: `name: raw reply, the quota signal an outbox should act on;`.
macro_rules! quota_cases {
    ($($name:ident: $raw:expr, $signal:expr;)*) => {
        $(
            #[test]
            fn $name() {
                let reply = match Reply::parse($raw) {
                    Ok(reply) => reply,
                    Err(error) => panic!("could not parse {:?}: {error}", $raw),
                };
                assert_eq!(quota_signal(&reply), $signal, "{:?}", $raw);
            }
        )*
    };
}

mod quota_signals {
    use super::*;

    const DAILY: Option<QuotaSignal> = Some(QuotaSignal::DailyLimit);
    const THROTTLE: Option<QuotaSignal> = Some(QuotaSignal::Throttle);

    quota_cases! {
        daily_user_limit: "550-5.4.5 Daily user sending limit exceeded. For more information on Gmail\r\n550-5.4.5 sending limits go to\r\n550 5.4.5  https://support.google.com/a/answer/166852 d9443c01a7336-1f1a2b3c4d5sm1234567b3a.1 - gsmtp", DAILY;
        daily_quota_older_wording: "550 5.4.5 Daily user sending quota exceeded. d9443c01a7336-1f1a2b3c4d5sm1234567b3a.2 - gsmtp", DAILY;
        relay_daily_limit_user: "550-5.4.5 Daily SMTP relay limit exceeded for user. For more information on SMTP relay sending limits please go to\r\n550 5.4.5  https://support.google.com/a/answer/166852 d9443c01a7336-1f1a2b3c4d5sm1234567b3a.3 - gsmtp", DAILY;
        relay_daily_limit_customer: "550-5.7.1 Daily SMTP relay limit exceeded for customer. For more information on SMTP relay sending limits please go to\r\n550 5.7.1  https://support.google.com/a/answer/6140680 d9443c01a7336-1f1a2b3c4d5sm1234567b3a.7 - gsmtp", DAILY;
        other_5_4_5: "550 5.4.5 Sending limit exceeded. d9443c01a7336-1f1a2b3c4d5sm1234567b3a.4 - gsmtp", DAILY;
        relay_peak: "450-4.2.1 Peak SMTP relay limit exceeded for customer. This is a temporary error.\r\n450-4.2.1 For more information on SMTP relay limits, please visit\r\n450 4.2.1  https://support.google.com/a/answer/6140680 d9443c01a7336-1f1a2b3c4d5sm1234567b3a.5 - gsmtp", THROTTLE;
        try_again_later: "421 4.7.0 Try again later, closing connection. (MAIL) 46e09a7af769-7a1b2c3d4e5sm123456a8c.34 - gsmtp", THROTTLE;
        too_many_logins: "454 4.7.0 Too many login attempts, please try again later. 98e67ed59e1d1-2e2c1a2b3c4sm5566778a12.71 - gsmtp", THROTTLE;
        unusual_rate_limited: "421-4.7.28 [203.0.113.7      15] Our system has detected an unusual rate of\r\n421-4.7.28 unsolicited mail originating from your IP address. To protect our\r\n421 4.7.28 users from spam, mail sent from your IP address has been temporarily rate limited. 5b1f17b1804b1-42f1a2b3c4dsm1234567f8f.9 - gsmtp", THROTTLE;
        same_message_id: "421 4.7.28 Gmail has detected that this message exceeded its quota for sending messages that have the same Message-ID:<20240101.abc@example.com>. 5b1f17b1804b1-42f1a2b3c4dsm1234567f8f.11 - gsmtp", THROTTLE;
        temporary_problem_after_many_messages: "421-4.7.0 Temporary System Problem.  Try again later (10). For more information, go to\r\n421 4.7.0  https://support.google.com/a/answer/3221692 46e09a7af769-7a1b2c3d4e5sm123456a8c.41 - gsmtp", THROTTLE;
        // Replies about one message, or not about the rate at all, are no signal.
        too_many_recipients: "452-4.5.3 Your message has too many recipients. For more information regarding\r\n452 4.5.3 Google's sending limits, go to https://support.google.com/mail/?p=TooManyRecipientsError 8926c6da1cb9f-4a1b2c3d4e5sm1234567173.2 - gsmtp", None;
        connection_expired: "421 4.7.0 Connection expired, try reconnecting. 46e09a7af769-7a1b2c3d4e5sm123456a8c.35 - gsmtp", None;
        too_many_unrecognized: "421 4.7.0 Too many unrecognized commands, closing connection. 41be03b00d2f7-b5a4f8a1b2asm1234567pgb.23 - gsmtp", None;
        unusual_rate_blocked: "550 5.7.28 [203.0.113.7      15] Our system has detected an unusual rate of unsolicited mail originating from your IP address. 5b1f17b1804b1-42f1a2b3c4dsm1234567f8f.10 - gsmtp", None;
        recipient_rate: "450 4.2.1 The user you are trying to contact is receiving mail at a rate that prevents additional messages from being delivered. d9443c01a7336-1f1a2b3c4d5sm1234567b3a.6 - gsmtp", None;
        missing_message_id: "550 5.7.1 [203.0.113.7] Messages missing a valid Message-ID header are not accepted. 8926c6da1cb9f-4a1b2c3d4e5sm1234567173.12 - gsmtp", None;
        bad_credentials: "535 5.7.8 Username and Password not accepted. x - gsmtp", None;
        accepted: "250 2.0.0 OK  1700000000 x - gsmtp", None;
        unknown: "599 9.9.9 nothing like Gmail", None;
    }
}

#[test]
fn too_many_recipients_says_to_split_into_groups_of_100() {
    let diagnosis = check(
        "452-4.5.3 Your message has too many recipients. For more information regarding\r\n452-4.5.3 Google's sending limits, go to\r\n452 4.5.3  https://support.google.com/mail/?p=TooManyRecipientsError 8926c6da1cb9f-4a1b2c3d4e5sm1234567173.2 - gsmtp",
        "Too many recipients",
        Retry::Transient,
    );
    assert!(
        diagnosis.fix[0].starts_with("Split the message into groups of at most 100 recipients"),
        "{diagnosis}"
    );
}

#[test]
fn the_relay_peak_says_to_slow_down_for_about_10_minutes() {
    let diagnosis = check(
        "450 4.2.1 Peak SMTP relay limit exceeded for customer. x - gsmtp",
        "slow down",
        Retry::Transient,
    );
    assert!(
        mentions_phrase(&diagnosis, "about 10 minutes"),
        "{diagnosis}"
    );
}

const BAD_CREDENTIALS: &str = "535-5.7.8 Username and Password not accepted. For more information, go to\r\n535 5.7.8  https://support.google.com/mail/?p=BadCredentials 41be03b00d2f7-b5a4f8a1b2asm1234567pgb.12 - gsmtp";

#[test]
fn bad_credentials_explains_app_passwords() {
    let diagnosis = check(BAD_CREDENTIALS, "not accepted", Retry::Permanent);
    for phrase in [
        "16 characters",
        "2-Step Verification",
        "less secure apps",
        "normal password",
        "leave the spaces out",
        "OAuth",
    ] {
        assert!(
            mentions_phrase(&diagnosis, phrase),
            "535 advice lacks {phrase:?}\n{diagnosis}"
        );
    }
    assert_eq!(
        diagnosis.help_link.as_deref(),
        Some("https://support.google.com/mail/?p=BadCredentials")
    );
}

#[test]
fn xoauth2_challenge_is_decoded_and_named() {
    let diagnosis = check(
        "334 eyJzdGF0dXMiOiI0MDAiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ==",
        "OAuth token rejected",
        Retry::Permanent,
    );
    for phrase in [
        "status 400",
        "scope https://mail.google.com/",
        "Bearer",
        "empty line",
        "refresh",
    ] {
        assert!(
            mentions_phrase(&diagnosis, phrase),
            "lacks {phrase:?}\n{diagnosis}"
        );
    }
}

#[test]
fn xoauth2_challenge_with_other_status_and_no_padding_is_decoded() {
    use base64::Engine as _;
    let json = r#"{"status":"401","schemes":"bearer mac","scope":"https://mail.google.com/"}"#;
    let encoded = base64::engine::general_purpose::STANDARD_NO_PAD.encode(json);
    let diagnosis = check(
        &format!("334 {encoded}"),
        "OAuth token rejected",
        Retry::Permanent,
    );
    assert!(
        mentions_phrase(&diagnosis, "status 401"),
        "the status is reported as Gmail sent it\n{diagnosis}"
    );
}

#[test]
fn same_codes_with_different_texts_get_different_diagnoses() {
    let pairs = [
        (
            "530 5.7.0 Must issue a STARTTLS command first. id1 - gsmtp",
            "530 5.7.0 Authentication Required. id2 - gsmtp",
        ),
        (
            "454 4.7.0 Too many login attempts, please try again later. id3 - gsmtp",
            "454 4.7.0 Cannot authenticate due to a temporary system problem. Try again later. id4 - gsmtp",
        ),
        (
            "421 4.7.0 Try again later, closing connection. (EHLO) id5 - gsmtp",
            "421 4.7.0 Connection expired, try reconnecting. id6 - gsmtp",
        ),
        (
            "550 5.4.5 Daily user sending limit exceeded. id7 - gsmtp",
            "550 5.4.5 Daily SMTP relay limit exceeded for user. id8 - gsmtp",
        ),
        (
            "504 5.7.4 Unrecognized authentication type. id9 - gsmtp",
            "504 5.7.4 XOAUTH is no longer supported. id10 - gsmtp",
        ),
    ];
    for (first, second) in pairs {
        let (first, second) = match (explain(first), explain(second)) {
            (Ok(first), Ok(second)) => (first, second),
            other => panic!("both replies parse: {other:?}"),
        };
        assert_ne!(first.title, second.title);
        assert_ne!(first.fix, second.fix);
    }
}

#[test]
fn the_session_id_does_not_change_the_diagnosis() {
    let with_ids = [
        "421 4.7.0 Try again later, closing connection. (MAIL) 46e09a7af769-7a1b2c3d4e5sm123456a8c.34 - gsmtp",
        "421 4.7.0 Try again later, closing connection. (MAIL) 2adb3069b0e04-53a1b2c3d4esm778899e87.1 - gsmtp",
        "421 4.7.0 Try again later, closing connection. (MAIL)",
    ];
    let diagnoses: Vec<_> = with_ids
        .iter()
        .map(|raw| match explain(raw) {
            Ok(diagnosis) => diagnosis::Diagnosis {
                reply: None,
                ..diagnosis
            },
            Err(error) => panic!("{raw:?}: {error}"),
        })
        .collect();
    assert_eq!(diagnoses[0], diagnoses[1]);
    assert_eq!(diagnoses[0], diagnoses[2]);
}

#[test]
fn help_links_point_to_googles_page_for_the_problem() {
    let cases = [
        (
            BAD_CREDENTIALS,
            "https://support.google.com/mail/?p=BadCredentials",
        ),
        (
            "534 5.7.9 Application-specific password required. x - gsmtp",
            "https://support.google.com/accounts/answer/185833",
        ),
        (
            "550 5.4.5 Daily user sending limit exceeded. x - gsmtp",
            "https://support.google.com/a/answer/166852",
        ),
        (
            "550 5.4.5 Daily SMTP relay limit exceeded for user. x - gsmtp",
            "https://support.google.com/a/answer/2956491",
        ),
        (
            "550 5.7.1 Daily SMTP relay limit exceeded for customer. x - gsmtp",
            "https://support.google.com/a/answer/2956491",
        ),
        (
            "450 4.2.1 Peak SMTP relay limit exceeded for customer. x - gsmtp",
            "https://support.google.com/a/answer/2956491",
        ),
        (
            "552 5.3.4 Your message exceeded Google's message size limits. x - gsmtp",
            "https://support.google.com/mail/?p=MaxSizeError",
        ),
        (
            "530 5.7.0 Authentication Required. x - gsmtp",
            "https://support.google.com/mail/?p=WantAuthError",
        ),
        (
            "534 5.7.14 Please log in via your web browser and then try again. x - gsmtp",
            "https://support.google.com/mail/answer/78754",
        ),
    ];
    for (raw, link) in cases {
        match explain(raw) {
            Ok(diagnosis) => assert_eq!(diagnosis.help_link.as_deref(), Some(link), "{raw:?}"),
            Err(error) => panic!("{raw:?}: {error}"),
        }
    }
}

#[test]
fn the_step_is_named_when_known() {
    let reply = match Reply::parse(BAD_CREDENTIALS) {
        Ok(reply) => reply,
        Err(error) => panic!("{error}"),
    };
    let at_auth = diagnose(&Failure::Reply {
        reply: reply.clone(),
        step: Some(Step::Auth),
    });
    assert!(
        at_auth.what_happened.ends_with("It was the reply to AUTH."),
        "{at_auth}"
    );
    let greeting = diagnose(&Failure::Reply {
        reply: Reply::new(421, None, "Service not available"),
        step: Some(Step::Greeting),
    });
    assert!(greeting.what_happened.contains("greeting"), "{greeting}");
    let without = diagnose(&Failure::Reply { reply, step: None });
    assert!(
        !without.what_happened.contains("It was the reply to"),
        "{without}"
    );
}

#[test]
fn the_reply_is_quoted_in_wire_form() {
    let diagnosis = check(BAD_CREDENTIALS, "not accepted", Retry::Permanent);
    assert_eq!(
        diagnosis.reply.as_deref(),
        Some(
            "535-5.7.8 Username and Password not accepted. For more information, go to\r\n535 5.7.8 https://support.google.com/mail/?p=BadCredentials 41be03b00d2f7-b5a4f8a1b2asm1234567pgb.12 - gsmtp"
        )
    );
}

#[test]
fn a_diagnosis_prints_as_numbered_steps_for_a_terminal() {
    let diagnosis = check(BAD_CREDENTIALS, "not accepted", Retry::Permanent);
    let printed = diagnosis.to_string();
    assert!(
        printed.starts_with("Username and password not accepted\n"),
        "{printed}"
    );
    assert!(
        printed.contains("\n  1. Turn on 2-Step Verification"),
        "{printed}"
    );
    assert!(
        printed.contains("More help: https://support.google.com/mail/?p=BadCredentials"),
        "{printed}"
    );
    assert!(
        printed.contains("Retry: no, not until something changes"),
        "{printed}"
    );
    assert!(
        printed.contains("  535 5.7.8 https://support.google.com/"),
        "{printed}"
    );
}
