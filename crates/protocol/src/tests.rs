//! Round trips of every message, and the malformed inputs a page or an attacker can send.

use std::collections::BTreeSet;

use diagnosis::Step;
use profile::{Conflict, Header, Preset, Profile, ProfileId};

use crate::*;

fn profile() -> Profile {
    Profile::from_preset(
        Preset::Gmail587,
        ProfileId("work".into()),
        "Work",
        "ann@example.com",
    )
}

fn draft() -> Draft {
    Draft {
        to: vec!["Bob <bob@example.com>".into()],
        cc: vec!["carol@example.com".into()],
        bcc: vec!["dave@example.com".into()],
        reply_to: Some("ann+replies@example.com".into()),
        subject: "Grüße".into(),
        text: Some("Hello\r\n".into()),
        html: Some("<p>Hello</p>".into()),
        attachments: vec![AttachmentRef {
            upload: 3,
            filename: "report.pdf".into(),
            content_type: "application/pdf".into(),
            size_bytes: 1234,
        }],
        headers: vec![Header {
            name: "X-Campaign".into(),
            value: "spring".into(),
        }],
    }
}

fn diagnosis() -> diagnosis::Diagnosis {
    diagnosis::explain("535-5.7.8 Username and Password not accepted. For more information, go to\r\n535 5.7.8  https://support.google.com/mail/?p=BadCredentials a1-2 - gsmtp")
        .expect("a real Gmail reply parses")
}

fn step() -> StepReport {
    StepReport {
        step: Step::Tls,
        status: StepStatus::Ok,
        duration_ms: 12,
        detail: "TLSv1.3".into(),
        reply: None,
    }
}

fn transcript() -> TranscriptLine {
    TranscriptLine {
        at_ms: 5,
        direction: Direction::Client,
        text: "AUTH PLAIN ****".into(),
    }
}

fn captured() -> CapturedMessage {
    CapturedMessage {
        summary: summary(),
        envelope: Envelope {
            mail_from: "ann@example.com".into(),
            rcpt_to: vec!["bob@example.com".into()],
        },
        tls_version: Some("TLSv1.3".into()),
        auth_mechanism: Some("PLAIN".into()),
        headers: vec![HeaderLine {
            name: "Subject".into(),
            value: "Hi".into(),
        }],
        text: Some("Hi".into()),
        html: None,
        attachments: vec![Attachment {
            filename: Some("a.txt".into()),
            content_type: "text/plain".into(),
            size_bytes: 2,
            content: b"hi".to_vec(),
        }],
        raw: "Subject: Hi\r\n\r\nHi\r\n".into(),
    }
}

fn summary() -> MessageSummary {
    MessageSummary {
        id: 9,
        received_unix_ms: 1_700_000_000_000,
        from: "ann@example.com".into(),
        to: vec!["bob@example.com".into()],
        subject: "Hi".into(),
        size_bytes: 20,
    }
}

fn request(operation: Operation) -> ClientMessage {
    ClientMessage::Request(Request {
        id: RequestId(7),
        operation,
    })
}

/// Index of each operation variant; the exhaustive match makes a new variant a compile error
/// here until it has a sample below.
fn operation_index(operation: &Operation) -> usize {
    match operation {
        Operation::CheckConnection { .. } => 0,
        Operation::Send { .. } => 1,
        Operation::SendTest { .. } => 2,
        Operation::RenderMime { .. } => 3,
        Operation::ListProfiles => 4,
        Operation::SaveProfile { .. } => 5,
        Operation::DeleteProfile { .. } => 6,
        Operation::ImportProfiles { .. } => 7,
        Operation::ExportProfiles { .. } => 8,
        Operation::SetSecret { .. } => 9,
        Operation::ClearSecret { .. } => 10,
        Operation::BeginUpload { .. } => 11,
        Operation::UploadChunk { .. } => 12,
        Operation::ListSandboxMessages => 13,
        Operation::ReadSandboxMessage { .. } => 14,
        Operation::ReadHistory { .. } => 15,
        Operation::DiscardUpload { .. } => 16,
        Operation::EnqueueBatch { .. } => 17,
        Operation::EnqueueEach { .. } => 18,
        Operation::ListOutbox { .. } => 19,
        Operation::ReadOutboxEntry { .. } => 20,
        Operation::RetryEntries { .. } => 21,
        Operation::CancelEntries { .. } => 22,
        Operation::ReleaseAmbiguous { .. } => 23,
        Operation::ReadQuotas => 24,
        Operation::CheckCampaign { .. } => 25,
        Operation::PreviewCampaignRow { .. } => 26,
        Operation::SendCampaignTest { .. } => 27,
        Operation::StartCampaign { .. } => 28,
        Operation::ListCampaigns => 29,
        Operation::PauseCampaign { .. } => 30,
        Operation::ResumeCampaign { .. } => 31,
        Operation::CancelCampaign { .. } => 32,
        Operation::ExportCampaignResults { .. } => 33,
        Operation::Lint { .. } => 34,
        Operation::SetOAuthClient { .. } => 35,
        Operation::ConnectOAuth { .. } => 36,
        Operation::DisconnectOAuth { .. } => 37,
        Operation::ReadTokenHealth { .. } => 38,
        Operation::ListMailboxes => 39,
        Operation::SaveMailbox { .. } => 40,
        Operation::DeleteMailbox { .. } => 41,
        Operation::SetMailboxSecret { .. } => 42,
        Operation::SendAndVerify { .. } => 43,
        Operation::Verify { .. } => 44,
        Operation::ReadBounces { .. } => 45,
        Operation::SetSandboxSpam { .. } => 46,
        Operation::ReadVerdicts { .. } => 47,
        Operation::SendVerifyingAt { .. } => 48,
        Operation::ExportMailboxes => 49,
        Operation::ImportMailboxes { .. } => 50,
    }
}
const OPERATIONS: usize = 51;

fn outcome_index(outcome: &Outcome) -> usize {
    match outcome {
        Outcome::Checked(_) => 0,
        Outcome::Sent(_) => 1,
        Outcome::Rendered { .. } => 2,
        Outcome::Profiles { .. } => 3,
        Outcome::Saved { .. } => 4,
        Outcome::Deleted { .. } => 5,
        Outcome::Imported { .. } => 6,
        Outcome::Exported { .. } => 7,
        Outcome::SecretSet { .. } => 8,
        Outcome::SecretCleared { .. } => 9,
        Outcome::UploadStarted { .. } => 10,
        Outcome::ChunkAccepted { .. } => 11,
        Outcome::SandboxMessages { .. } => 12,
        Outcome::SandboxMessage { .. } => 13,
        Outcome::History { .. } => 14,
        Outcome::UploadDiscarded { .. } => 15,
        Outcome::Queued(_) => 16,
        Outcome::Enqueued { .. } => 17,
        Outcome::Outbox { .. } => 18,
        Outcome::OutboxEntry { .. } => 19,
        Outcome::OutboxChanged { .. } => 20,
        Outcome::Quotas { .. } => 21,
        Outcome::CampaignChecked(_) => 22,
        Outcome::CampaignRow(_) => 23,
        Outcome::Campaign(_) => 24,
        Outcome::Campaigns { .. } => 25,
        Outcome::CampaignResults { .. } => 26,
        Outcome::Linted(_) => 27,
        Outcome::OAuthClientSet { .. } => 28,
        Outcome::OAuthConnected { .. } => 29,
        Outcome::OAuthDisconnected { .. } => 30,
        Outcome::TokenHealth { .. } => 31,
        Outcome::Mailboxes { .. } => 32,
        Outcome::SentAndVerified { .. } => 33,
        Outcome::Verified(_) => 34,
        Outcome::Bounces(_) => 35,
        Outcome::SandboxSpam { .. } => 36,
        Outcome::Verdicts { .. } => 37,
    }
}
const OUTCOMES: usize = 38;

fn spec() -> CampaignSpec {
    CampaignSpec {
        name: "Spring news".into(),
        csv: "email,name\nann@example.com,Ann\n".into(),
        csv_upload: Some(4),
        address_column: "email".into(),
        subject: "Hello {{ name }}".into(),
        text: Some("Hi {{ name }}, {{ unsubscribe_url }}".into()),
        html: Some("<p>Hi {{ name }}</p>".into()),
        unsubscribe_url: Some("https://example.com/u/{token}".into()),
        unsubscribe_mailto: None,
        skip_bad_rows: true,
    }
}

fn campaign() -> CampaignView {
    CampaignView {
        id: 3,
        name: "Spring news".into(),
        profile_id: "work".into(),
        state: CampaignState::Paused,
        created_unix_ms: 1_700_000_000_000,
        counts: StateCounts {
            sent: 412,
            queued: 4_588,
            ..StateCounts::default()
        },
        total: 5_000,
        rate_per_minute: 20,
        eta_seconds: None,
        schedule_summary: "the other 4,588 go from 14:05 tomorrow".into(),
        bounced: vec![crate::BouncedRow {
            row: 2,
            bounce: crate::BounceView {
                recipient: "gone@example.com".into(),
                action: "failed".into(),
                status: "5.1.1".into(),
                remote_text: None,
                message_id: "2@x".into(),
                history_id: 9,
                diagnosis: None,
                suppressed: true,
            },
        }],
    }
}

fn quota() -> QuotaView {
    QuotaView {
        account: "ann@example.com via smtp.gmail.com".into(),
        profiles: vec!["Work".into()],
        daily_limit: 500,
        sent_24h: 88,
        recipients_24h: 90,
        unique_recipients_24h: 80,
        remaining: 412,
        waiting: 500,
        next_free_unix_ms: Some(1_700_086_400_000),
        paused_until_unix_ms: None,
        pause_reason: None,
        concurrency: 1,
        max_concurrency: 3,
        summary: "412 of 500 left today; the other 88 go from 14:05 tomorrow".into(),
    }
}

fn outbox_summary() -> OutboxSummary {
    OutboxSummary {
        counts: StateCounts {
            queued: 400,
            sent: 88,
            ambiguous: 1,
            ..StateCounts::default()
        },
        rate_per_minute: 20,
        eta_seconds: None,
        quotas: vec![quota()],
        deliverer: Deliverer::Elsewhere {
            detail: "another mailbridge (process 42) delivers this outbox".into(),
        },
    }
}

fn outbox_entry() -> OutboxEntry {
    OutboxEntry {
        id: 7,
        batch: 2,
        profile_id: "work".into(),
        profile_name: "Work".into(),
        account: "ann@example.com via smtp.gmail.com".into(),
        state: EntryState::Ambiguous,
        message_id: "<1@mailbridge>".into(),
        subject: "Hi".into(),
        recipients: vec![RecipientResult {
            address: "bob@example.com".into(),
            state: RecipientState::Refused,
            reply: Some("550 5.1.1 no such user".into()),
        }],
        size_bytes: 1024,
        queued_at_unix_ms: 1_700_000_000_000,
        updated_at_unix_ms: 1_700_000_001_000,
        next_attempt_unix_ms: None,
        attempts: 1,
        last_reply: None,
        diagnosis: Some(diagnosis()),
        transcript: vec![transcript()],
    }
}

fn operations() -> Vec<Operation> {
    let id = ProfileId("work".into());
    vec![
        Operation::CheckConnection {
            profile: id.clone(),
        },
        Operation::Send {
            profile: id.clone(),
            draft: draft(),
        },
        Operation::SendTest {
            profile: id.clone(),
        },
        Operation::RenderMime {
            profile: id.clone(),
            draft: Draft::default(),
        },
        Operation::Lint {
            profile: id.clone(),
            draft: draft(),
            check_links: true,
        },
        Operation::ListProfiles,
        Operation::SaveProfile { profile: profile() },
        Operation::DeleteProfile {
            profile: id.clone(),
        },
        Operation::ImportProfiles {
            json: profile::export(&[profile()]),
            conflict: Conflict::KeepBoth,
        },
        Operation::ExportProfiles {
            profiles: vec![id.clone()],
        },
        Operation::SetSecret {
            profile: id.clone(),
            secret: Secret::new("abcd efgh ijkl mnop"),
        },
        Operation::ClearSecret {
            profile: id.clone(),
        },
        Operation::BeginUpload {
            filename: "report.pdf".into(),
            content_type: "application/pdf".into(),
            size_bytes: 20_000_000,
        },
        Operation::UploadChunk {
            upload: 3,
            offset: 32768,
            data_base64: "AAEC".into(),
        },
        Operation::ListSandboxMessages,
        Operation::ReadSandboxMessage { id: 9 },
        Operation::ReadHistory { limit: 50 },
        Operation::DiscardUpload { upload: 3 },
        Operation::EnqueueBatch {
            profile: id.clone(),
            drafts: vec![draft(), Draft::default()],
        },
        Operation::EnqueueEach {
            profile: id.clone(),
            draft: draft(),
            recipients: vec!["a@example.com".into(), "b@example.com".into()],
        },
        Operation::ListOutbox {
            state: Some(EntryState::Failed),
            limit: 100,
        },
        Operation::ReadOutboxEntry { id: 7 },
        Operation::RetryEntries { ids: vec![1, 2] },
        Operation::CancelEntries { ids: vec![3] },
        Operation::ReleaseAmbiguous {
            ids: vec![7],
            resend: true,
        },
        Operation::ReadQuotas,
        Operation::CheckCampaign {
            profile: id.clone(),
            spec: spec(),
        },
        Operation::PreviewCampaignRow {
            profile: id.clone(),
            spec: spec(),
            row: 3,
        },
        Operation::SendCampaignTest {
            profile: id.clone(),
            spec: spec(),
            row: 3,
        },
        Operation::StartCampaign {
            profile: id.clone(),
            spec: CampaignSpec::default(),
        },
        Operation::ListCampaigns,
        Operation::PauseCampaign { id: 3 },
        Operation::ResumeCampaign { id: 3 },
        Operation::CancelCampaign { id: 3 },
        Operation::ExportCampaignResults { id: 3 },
        Operation::SetOAuthClient {
            profile: id.clone(),
            client: OAuthClientInput::File {
                json: Secret::new(r#"{"installed": {}}"#),
            },
        },
        Operation::SetOAuthClient {
            profile: id.clone(),
            client: OAuthClientInput::Typed {
                client_id: "1-a.apps.googleusercontent.com".into(),
                client_secret: Secret::new("GOCSPX-x"),
            },
        },
        Operation::ConnectOAuth {
            profile: id.clone(),
            reconnect: true,
        },
        Operation::DisconnectOAuth {
            profile: id.clone(),
        },
        Operation::ReadTokenHealth {
            profile: id.clone(),
        },
        Operation::ListMailboxes,
        Operation::SaveMailbox {
            mailbox: receiving(),
        },
        Operation::DeleteMailbox { id: "g".into() },
        Operation::SetMailboxSecret {
            id: "g".into(),
            secret: Secret::new("abcd efgh ijkl mnop"),
        },
        Operation::SendAndVerify {
            profile: id.clone(),
            mailboxes: vec!["g".into()],
            draft: Some(draft()),
            limit_seconds: Some(60),
        },
        Operation::Verify {
            mailbox: "g".into(),
            message_id: "<1@x>".into(),
            sent_at_unix_ms: Some(1),
            limit_seconds: None,
        },
        Operation::ReadBounces {
            mailbox: "g".into(),
        },
        Operation::SetSandboxSpam { next: 2 },
        Operation::ReadVerdicts {
            message_id: "<1@x>".into(),
        },
        Operation::SendVerifyingAt {
            profile: id.clone(),
            draft: draft(),
            mailbox: "g".into(),
            limit_seconds: Some(60),
        },
        Operation::ExportMailboxes,
        Operation::ImportMailboxes {
            json: "{\"format\":\"mailbridge-mailboxes\"}".into(),
        },
    ]
}

fn health() -> TokenHealthView {
    TokenHealthView {
        client_id: Some("1-a.apps.googleusercontent.com".into()),
        client_secret_stored: true,
        error: Some("invalid_grant".into()),
        error_description: Some("Token has been expired or revoked.".into()),
        likely_causes: vec!["the consent screen is in Testing".into()],
        ..TokenHealthView::new(TokenState::SignInAgain)
    }
}

fn receiving() -> profile::ReceivingMailbox {
    profile::ReceivingMailbox::from_preset(
        profile::MailboxPreset::Gmail,
        "g",
        "My Gmail",
        "me@gmail.com",
    )
}

fn verify_report() -> crate::VerifyReport {
    crate::VerifyReport {
        verdict: Some(crate::DeliveryVerdict {
            mailbox: "My Gmail".into(),
            message_id: "1@x".into(),
            placement: crate::Placement::Inbox,
            tab: Some(crate::Tab::Promotions),
            folder: Some("[Gmail]/All Mail".into()),
            labels: vec!["\\Inbox".into()],
            delivery_ms: Some(1200),
            arrival_source: Some("INTERNALDATE".into()),
            arrived_at: Some("2025-01-01T00:00:00Z".into()),
            waited_ms: 3000,
            authentication: vec![crate::AuthVerdict {
                method: "spf".into(),
                result: "pass".into(),
                domain: Some("example.com".into()),
                by: "mx.google.com".into(),
            }],
            received: vec!["by mx.google.com; Wed, 1 Jan 2025 00:00:00 +0000".into()],
            original_from: None,
            original_message_id: None,
            spam_causes: vec![],
            next_steps: vec!["Look in the tab.".into()],
            summary: "Delivered.".into(),
        }),
        error: None,
        transcript: vec![transcript()],
    }
}

fn outcomes() -> Vec<Outcome> {
    let view = ProfileView {
        profile: profile(),
        secret: SecretState::Stored,
        warnings: vec!["Gmail rewrites From".into()],
        token: Some(Box::new(health())),
    };
    vec![
        Outcome::OAuthClientSet {
            profile: view.clone(),
        },
        Outcome::OAuthConnected {
            profile: ProfileId("p".into()),
            health: Box::new(health()),
        },
        Outcome::OAuthDisconnected {
            profile: ProfileId("p".into()),
            revoked: false,
            note: Some("the server did not answer".into()),
        },
        Outcome::TokenHealth {
            profile: ProfileId("p".into()),
            health: Box::new(TokenHealthView::new(TokenState::NeedsConsent)),
        },
        Outcome::Checked(CheckReport {
            verdict: Verdict::Failed,
            steps: vec![step()],
            tls: Some(TlsInfo {
                version: "TLSv1.3".into(),
                cipher: "TLS13_AES_256_GCM_SHA384".into(),
                chain: vec![CertificateInfo {
                    subject: "CN=smtp.gmail.com".into(),
                    issuer: "C=US, O=Google Trust Services, CN=WR2".into(),
                    not_before: "2026-01-01T00:00:00Z".into(),
                    not_after: "2027-01-01T00:00:00Z".into(),
                    sha256: "AB:CD".into(),
                    names: vec!["smtp.gmail.com".into()],
                }],
            }),
            capabilities: vec!["SIZE 35882577".into(), "PIPELINING".into()],
            size_limit: Some(35_882_577),
            auth_mechanisms: vec!["PLAIN".into(), "XOAUTH2".into()],
            diagnosis: Some(diagnosis()),
            warnings: vec![],
        }),
        // A failed handshake: no version or cipher, the untrusted chain still recorded.
        Outcome::Checked(CheckReport {
            verdict: Verdict::Failed,
            steps: vec![step()],
            tls: Some(TlsInfo {
                version: String::new(),
                cipher: String::new(),
                chain: vec![CertificateInfo {
                    subject: "CN=smtp.gmail.com".into(),
                    issuer: "CN=Mail Shield Root".into(),
                    not_before: "2026-01-01T00:00:00Z".into(),
                    not_after: "2027-01-01T00:00:00Z".into(),
                    sha256: "01:02".into(),
                    names: vec![],
                }],
            }),
            capabilities: vec!["SIZE 35882577".into(), "PIPELINING".into()],
            size_limit: Some(35_882_577),
            auth_mechanisms: vec!["PLAIN".into(), "XOAUTH2".into()],
            diagnosis: Some(diagnosis()),
            warnings: vec![],
        }),
        Outcome::Sent(SendReport {
            message_id: "<1@mailbridge>".into(),
            reply: "250 2.0.0 OK".into(),
            attempts: 2,
            recipients: vec!["bob@example.com".into()],
            warnings: vec![],
            history_id: 4,
        }),
        Outcome::Rendered {
            raw: "From: a@b.c\r\n\r\nx".into(),
            warnings: vec![],
        },
        Outcome::Linted(Box::new(LintReport {
            findings: vec![Finding {
                check: CheckKind::Attachments,
                severity: Severity::Blocker,
                code: "blocked-attachment".into(),
                found: "setup.exe is a .exe file, a type Gmail blocks".into(),
                location: "attachment setup.exe".into(),
                why: "Gmail refuses messages that carry this file type".into(),
                fix: "remove it, or send a Google Drive link instead".into(),
            }],
            spam: Some(SpamReport {
                score: 1000.5,
                threshold: 5.0,
                is_spam: true,
                rules: vec![SpamRule {
                    name: "GTUBE".into(),
                    points: 1000.0,
                    description: "BODY: Generic Test for Unsolicited Bulk Email".into(),
                }],
                server: "127.0.0.1:783".into(),
            }),
            skipped: vec![Skipped {
                check: CheckKind::Dns,
                reason: "the nameserver did not answer".into(),
            }],
            size_bytes: 1234,
            elapsed_ms: 7,
        })),
        Outcome::Profiles {
            profiles: vec![view.clone()],
        },
        Outcome::Saved { profile: view },
        Outcome::Deleted {
            profile: ProfileId("work".into()),
        },
        Outcome::Imported {
            added: vec!["A".into()],
            overwritten: vec![],
            skipped: vec!["B".into()],
            renamed: vec![("C".into(), "C (2)".into())],
        },
        Outcome::Exported {
            json: profile::export(&[profile()]),
            filename: "mailbridge-profiles.json".into(),
        },
        Outcome::SecretSet {
            profile: ProfileId("work".into()),
        },
        Outcome::SecretCleared {
            profile: ProfileId("work".into()),
        },
        Outcome::UploadStarted { upload: 3 },
        Outcome::ChunkAccepted {
            upload: 3,
            received_bytes: 65536,
        },
        Outcome::UploadDiscarded { upload: 3 },
        Outcome::SandboxMessages {
            messages: vec![summary()],
        },
        Outcome::SandboxMessage {
            message: Box::new(captured()),
        },
        Outcome::Queued(QueuedReport {
            entry: 7,
            message_id: "<1@mailbridge>".into(),
            recipients: vec!["bob@example.com".into()],
            state: EntryState::Deferred,
            reason: "Gmail said 421 4.7.0 Try again later; retrying at 10:42".into(),
            next_attempt_unix_ms: Some(1_700_000_060_000),
            diagnosis: Some(diagnosis()),
            warnings: vec![],
        }),
        Outcome::Enqueued {
            batch: 2,
            entries: vec![7, 8],
            warnings: vec!["Gmail rewrites From".into()],
            summary: outbox_summary(),
        },
        Outcome::Outbox {
            summary: outbox_summary(),
            entries: vec![outbox_entry()],
        },
        Outcome::OutboxEntry {
            entry: Box::new(outbox_entry()),
        },
        Outcome::OutboxChanged {
            changed: vec![7],
            unchanged: vec![(
                8,
                "it is sent: only failed or waiting entries can be retried".into(),
            )],
        },
        Outcome::Quotas {
            quotas: vec![quota()],
        },
        Outcome::CampaignChecked(CampaignCheck {
            columns: vec!["email".into(), "name".into()],
            rows: 50,
            valid: 48,
            duplicates: vec![(30, 10)],
            suppressed: vec![],
            problems: vec![RowProblem {
                row: 7,
                field: "email".into(),
                message: "\"not-an-address\" is not an address".into(),
            }],
            warnings: vec![],
            schedule: vec![DayShare {
                from_unix_ms: 1_700_000_000_000,
                messages: 48,
                day: "today".into(),
            }],
            schedule_summary: "48 recipients: 48 today".into(),
            per_minute: 20,
            first_day_seconds: 144,
            blocked: false,
            first_row_lint: Some(LintReport {
                findings: vec![],
                spam: None,
                skipped: vec![],
                size_bytes: 900,
                elapsed_ms: 1,
            }),
        }),
        Outcome::CampaignRow(RowPreview {
            row: 3,
            to: "ann@example.com".into(),
            subject: "Hello Ann".into(),
            text: Some("Hi Ann".into()),
            html: None,
            raw: "Subject: Hello Ann\r\n\r\nHi Ann".into(),
        }),
        Outcome::Campaign(campaign()),
        Outcome::Campaigns {
            campaigns: vec![campaign()],
        },
        Outcome::CampaignResults {
            csv: "row,address,state,message_id,reply,time\n".into(),
            filename: "spring-news-results.csv".into(),
        },
        Outcome::History {
            entries: vec![HistoryEntry {
                id: 4,
                at_unix_ms: 1_700_000_000_000,
                profile_id: "work".into(),
                profile_name: "Work".into(),
                recipients: vec!["bob@example.com".into()],
                subject: "Hi".into(),
                message_id: None,
                attempts: 1,
                outcome: HistoryOutcome::Failed {
                    diagnosis: diagnosis(),
                },
                transcript: vec![transcript()],
                bounces: vec![crate::BounceView {
                    recipient: "bob@example.com".into(),
                    action: "failed".into(),
                    status: "5.1.1".into(),
                    remote_text: Some("550 5.1.1 no such user".into()),
                    message_id: "1@x".into(),
                    history_id: 4,
                    diagnosis: Some(diagnosis()),
                    suppressed: true,
                }],
            }],
        },
        Outcome::Mailboxes {
            mailboxes: vec![crate::MailboxView {
                mailbox: receiving(),
                secret: SecretState::Missing,
                rules: "Create an App Password.".into(),
            }],
        },
        Outcome::SentAndVerified {
            results: vec![crate::SentAndVerified {
                mailbox: "g".into(),
                send: Some(Box::new(Outcome::Sent(SendReport {
                    message_id: "<1@x>".into(),
                    reply: "250 2.0.0 OK".into(),
                    attempts: 1,
                    recipients: vec!["me@gmail.com".into()],
                    warnings: vec![],
                    history_id: 4,
                }))),
                report: verify_report(),
            }],
        },
        Outcome::Verified(Box::new(crate::VerifyReport {
            verdict: None,
            error: Some(diagnosis()),
            transcript: vec![transcript()],
        })),
        Outcome::Bounces(Box::new(crate::BounceReport {
            matched: vec![crate::BounceView {
                recipient: "gone@example.com".into(),
                action: "failed".into(),
                status: "5.1.1".into(),
                remote_text: Some("550 5.1.1 no such user".into()),
                message_id: "1@x".into(),
                history_id: 4,
                diagnosis: Some(diagnosis()),
                suppressed: true,
            }],
            unmatched: 1,
            ignored: 2,
            transcript: vec![],
        })),
        Outcome::SandboxSpam { next: 1 },
        Outcome::Verdicts {
            reports: vec![verify_report()],
        },
    ]
}

fn client_messages() -> Vec<ClientMessage> {
    let mut messages = vec![ClientMessage::Hello {
        protocol: PROTOCOL_VERSION,
        token: Secret::new("t".repeat(43)),
        encoding: Encoding::Json,
    }];
    messages.push(ClientMessage::Hello {
        protocol: PROTOCOL_VERSION,
        token: Secret::new("t".repeat(43)),
        encoding: Encoding::Postcard,
    });
    messages.extend(operations().into_iter().map(request));
    messages
}

fn server_messages() -> Vec<ServerMessage> {
    let id = RequestId(7);
    let mut messages = vec![
        ServerMessage::Welcome {
            protocol: PROTOCOL_VERSION,
            bridge_version: "0.1.0".into(),
            secret_store: "OS keyring".into(),
        },
        ServerMessage::Progress {
            id,
            progress: Progress::Step(step()),
        },
        ServerMessage::Progress {
            id,
            progress: Progress::Transcript(transcript()),
        },
        ServerMessage::Progress {
            id,
            progress: Progress::Retry {
                attempt: 2,
                wait_ms: 1000,
                reason: "421 4.7.0 Try again later".into(),
            },
        },
        ServerMessage::Progress {
            id,
            progress: Progress::Upload {
                received_bytes: 1,
                total_bytes: 2,
            },
        },
        ServerMessage::Progress {
            id,
            progress: Progress::Consent {
                url: "https://accounts.google.com/o/oauth2/v2/auth?state=s".into(),
                redirect_uri: "http://127.0.0.1:4100/".into(),
                timeout_s: 300,
            },
        },
        ServerMessage::Failed {
            id: Some(id),
            error: OperationError::smtp(diagnosis()),
        },
        ServerMessage::Failed {
            id: None,
            error: OperationError::version_mismatch(0),
        },
        ServerMessage::Notice {
            notice: Notice::SandboxMessageArrived { summary: summary() },
        },
        ServerMessage::Notice {
            notice: Notice::Outbox {
                summary: outbox_summary(),
            },
        },
    ];
    messages.extend(
        outcomes()
            .into_iter()
            .map(|outcome| ServerMessage::Done { id, outcome }),
    );
    messages
}

#[test]
fn samples_cover_every_operation_and_outcome() {
    let ops: BTreeSet<usize> = operations().iter().map(operation_index).collect();
    assert_eq!(
        ops,
        (0..OPERATIONS).collect(),
        "an operation lacks a sample"
    );
    let outs: BTreeSet<usize> = outcomes().iter().map(outcome_index).collect();
    assert_eq!(outs, (0..OUTCOMES).collect(), "an outcome lacks a sample");
}

#[test]
fn every_client_message_round_trips() {
    for message in client_messages() {
        let json = encode(&message).expect("encodes");
        assert!(json.len() <= MAX_FRAME_BYTES, "{json}");
        let back = decode_client(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
        assert_eq!(back, message, "{json}");
    }
}

#[test]
fn every_server_message_round_trips() {
    for message in server_messages() {
        let json = encode(&message).expect("encodes");
        let back = decode_server(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
        assert_eq!(back, message, "{json}");
    }
}

#[test]
fn every_server_message_round_trips_in_binary() {
    for message in server_messages() {
        let bytes = encode_binary(&message).expect("encodes");
        let back = decode_server_binary(&bytes).unwrap_or_else(|e| panic!("{e}: {message:?}"));
        assert_eq!(back, message);
    }
}

#[test]
fn the_wire_format_is_the_documented_one() {
    // The page and third-party scripts rely on these exact shapes.
    let hello = r#"{"type":"hello","protocol":1,"token":"abc"}"#;
    assert_eq!(
        decode_client(hello),
        Ok(ClientMessage::Hello {
            protocol: 1,
            token: Secret::new("abc"),
            encoding: Encoding::Json,
        })
    );
    // The web app asks for the bridge's messages in binary.
    let binary = r#"{"type":"hello","protocol":1,"token":"abc","encoding":"postcard"}"#;
    assert_eq!(
        decode_client(binary),
        Ok(ClientMessage::Hello {
            protocol: 1,
            token: Secret::new("abc"),
            encoding: Encoding::Postcard,
        })
    );
    let list = r#"{"type":"request","id":1,"operation":{"op":"list_profiles"}}"#;
    assert_eq!(
        decode_client(list),
        Ok(ClientMessage::Request(Request {
            id: RequestId(1),
            operation: Operation::ListProfiles
        }))
    );
    let done = encode(&ServerMessage::Done {
        id: RequestId(1),
        outcome: Outcome::UploadStarted { upload: 2 },
    })
    .expect("encodes");
    assert_eq!(
        done,
        r#"{"done":{"id":1,"outcome":{"upload_started":{"upload":2}}}}"#
    );
}

#[test]
fn no_server_message_carries_a_secret() {
    let secret = "abcd efgh ijkl mnop";
    for message in server_messages() {
        let json = encode(&message).expect("encodes");
        assert!(!json.contains(secret), "{json}");
    }
    // The one message that carries a secret prints it masked.
    let debug = format!(
        "{:?}",
        request(Operation::SetSecret {
            profile: ProfileId("work".into()),
            secret: Secret::new(secret),
        })
    );
    assert!(!debug.contains(secret), "{debug}");
}

#[test]
fn version_mismatch_names_both_versions() {
    let error = OperationError::version_mismatch(PROTOCOL_VERSION + 1);
    assert_eq!(error.kind, ErrorKind::VersionMismatch);
    assert!(
        error
            .message
            .contains(&format!("version {}", PROTOCOL_VERSION + 1))
    );
    assert!(
        error
            .message
            .contains(&format!("version {PROTOCOL_VERSION}"))
    );
    assert!(error.fix.is_some());
}

/// Whether a decode error is the expected kind.
type Expect = fn(&DecodeError) -> bool;

fn check_malformed(input: &str, expected: Expect) {
    let result = decode_client(input);
    match &result {
        Err(error) if expected(error) => {
            // Every error reads as a sentence a person can act on.
            assert!(error.to_string().len() > 20, "{error}");
        }
        other => panic!(
            "input {:?} gave {other:?}",
            input.chars().take(80).collect::<String>()
        ),
    }
}

#[test]
fn malformed_input_gets_a_typed_error() {
    use DecodeError as E;
    let oversized_subject = format!(
        r#"{{"type":"request","id":1,"operation":{{"op":"send","profile":"p","draft":{{"subject":"{}"}}}}}}"#,
        "x".repeat(MAX_FRAME_BYTES)
    );
    let cases: &[(&str, Expect)] = &[
        ("", |e| matches!(e, E::Truncated { .. })),
        (r#"{"type":"hello","protocol":1,"tok"#, |e| {
            matches!(e, E::Truncated { .. })
        }),
        (
            r#"{"type":"request","id":1,"operation":{"op":"list_profiles"}"#,
            |e| matches!(e, E::Truncated { .. }),
        ),
        ("not json", |e| matches!(e, E::Syntax { .. })),
        ("{]", |e| matches!(e, E::Syntax { .. })),
        (r#"{"type":"launch_missiles"}"#, |e| {
            matches!(e, E::UnknownType { .. })
        }),
        (
            r#"{"type":"request","id":1,"operation":{"op":"read_secret","profile":"p"}}"#,
            |e| matches!(e, E::UnknownType { .. }),
        ),
        (r#"{"protocol":1,"token":"x"}"#, |e| {
            matches!(e, E::MissingField { .. })
        }),
        (r#"{"type":"hello","protocol":1}"#, |e| {
            matches!(e, E::MissingField { .. })
        }),
        (
            r#"{"type":"request","operation":{"op":"list_profiles"}}"#,
            |e| matches!(e, E::MissingField { .. }),
        ),
        (r#"{"type":"hello","protocol":"one","token":"x"}"#, |e| {
            matches!(e, E::WrongType { .. })
        }),
        (
            r#"{"type":"request","id":-1,"operation":{"op":"list_profiles"}}"#,
            |e| matches!(e, E::WrongType { .. } | E::Invalid { .. }),
        ),
        (
            r#"{"type":"request","id":1,"operation":{"op":"read_history","limit":true}}"#,
            |e| matches!(e, E::WrongType { .. }),
        ),
        (
            r#"{"type":"hello","protocol":1,"token":"x","admin":true}"#,
            |e| matches!(e, E::Invalid { .. }),
        ),
        ("[1,2,3]", |e| {
            matches!(e, E::WrongType { .. } | E::Invalid { .. })
        }),
        ("null", |e| matches!(e, E::WrongType { .. })),
        (oversized_subject.as_str(), |e| {
            matches!(e, E::TooLarge { .. })
        }),
    ];
    for (input, expected) in cases {
        check_malformed(input, *expected);
    }
}

#[test]
fn decode_errors_become_operation_errors() {
    let error: OperationError = DecodeError::TooLarge {
        bytes: 70_000,
        limit: MAX_FRAME_BYTES,
    }
    .into();
    assert_eq!(error.kind, ErrorKind::TooLarge);
    let error: OperationError = DecodeError::Truncated { line: 1, column: 2 }.into();
    assert_eq!(error.kind, ErrorKind::BadRequest);
}

#[test]
fn entry_states_have_one_name_on_the_wire_in_the_database_and_on_the_command_line() {
    for state in EntryState::ALL {
        let json = serde_json::to_string(&state).expect("encode");
        assert_eq!(json, format!("\"{}\"", state.as_str()));
        assert_eq!(EntryState::parse(state.as_str()), Some(state));
    }
    assert_eq!(EntryState::parse("sending_now"), None);
    let pending = StateCounts {
        queued: 1,
        sending: 2,
        body_sent: 3,
        deferred: 4,
        sent: 100,
        failed: 5,
        ambiguous: 6,
        cancelled: 7,
    };
    assert_eq!((pending.pending(), pending.total()), (10, 128));
}

#[test]
fn a_certificate_recorded_before_fingerprints_still_reads() {
    let json =
        r#"{"subject":"CN=smtp.gmail.com","issuer":"CN=WR2","not_after":"2027-01-01T00:00:00Z"}"#;
    let cert: CertificateInfo = serde_json::from_str(json).expect("an older bridge's form");
    assert_eq!(cert.issuer, "CN=WR2");
    assert!(cert.names.is_empty() && cert.sha256.is_empty() && cert.not_before.is_empty());
    let failed = TlsInfo {
        version: String::new(),
        cipher: String::new(),
        chain: vec![cert],
    };
    assert!(!failed.established(), "a chain from a failed handshake");
}
