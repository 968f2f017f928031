//! Campaigns: checking a list and its templates, previewing a row, starting, pausing,
//! resuming, cancelling and exporting them. Built on `crate::campaign` and the outbox.
//!
//! Every operation that takes a [`CampaignSpec`] merges the whole list again, so the check,
//! the preview and the start can never disagree about a row. The unsubscribe tokens name the
//! campaign by its name and are signed with the key in the secret store, which never leaves
//! the bridge.

use profile::{Problem, Profile, ProfileId};
use protocol::{
    CampaignCheck, CampaignSpec, CampaignState, CampaignView, DayShare, EntryState, ErrorKind,
    Notice, Operation, OperationError, Outcome, Progress, RowPreview, RowProblem,
};
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc};

use super::send::{new_entry, outbox_error};
use super::{Bridge, misrouted};
use crate::campaign::suppression::{self, Entry};
use crate::campaign::{self, CsvConfig, MergeConfig, Source, Suppression, Templates, Unsubscribe};
use crate::compose::{self, Built};
use crate::outbox::scheduler::{self, DAY_MS};
use crate::outbox::store::{CampaignRecord, CampaignResult};
use crate::outbox::{self, local_offset, now_ms};
use crate::store;

/// Over this many recipients, Google's bulk-sender rule asks for one-click unsubscribe.
const BULK_RECIPIENTS: u64 = 100;
/// How much of a row's MIME a preview carries.
const PREVIEW_BYTES: usize = 256 * 1024;
/// How long unsubscribe links keep working.
const TOKEN_LIFETIME_S: u64 = 365 * 24 * 3_600;

/// A spec merged and built: everything the operations need.
struct Prepared {
    columns: Vec<String>,
    rows: u64,
    duplicates: Vec<(u64, u64)>,
    suppressed: Vec<u64>,
    problems: Vec<RowProblem>,
    warnings: Vec<String>,
    /// Each sendable row, built as the profile sends it, with its subject.
    built: Vec<(u64, Built, String)>,
    /// The rendered parts of each sendable row, for previews.
    drafts: Vec<(u64, protocol::Draft)>,
}

impl Prepared {
    fn blocked(&self, spec: &CampaignSpec) -> bool {
        !self.problems.is_empty() && !spec.skip_bad_rows
    }
}

impl Bridge {
    pub(super) async fn campaigning(
        &self,
        operation: Operation,
        progress: Option<mpsc::UnboundedSender<Progress>>,
    ) -> Result<Outcome, OperationError> {
        match operation {
            Operation::CheckCampaign { profile, spec } => {
                let profile = self.profile(&profile)?;
                let prepared = self.prepare(&profile, &spec)?;
                let first = prepared
                    .built
                    .first()
                    .map(|(_, built, _)| built.outgoing.data.clone());
                let mut checked = self.check(&profile, &spec, prepared)?;
                // The checks before sending, on the first row that would go: what they find
                // there, the template gives every row.
                if let Some(raw) = first {
                    let options = super::LintOptions {
                        campaign: true,
                        check_links: false,
                    };
                    checked.first_row_lint = Some(self.lint(&profile, raw, options).await);
                }
                Ok(Outcome::CampaignChecked(checked))
            }
            Operation::PreviewCampaignRow { profile, spec, row } => {
                let profile = self.profile(&profile)?;
                let (draft, built) = self.one_row(&profile, &spec, row)?;
                let data = &built.outgoing.data;
                Ok(Outcome::CampaignRow(RowPreview {
                    row,
                    to: draft.to.join(", "),
                    subject: draft.subject,
                    text: draft.text,
                    html: draft.html,
                    raw: String::from_utf8_lossy(&data[..data.len().min(PREVIEW_BYTES)])
                        .into_owned(),
                }))
            }
            Operation::SendCampaignTest { profile, spec, row } => {
                let profile = self.profile(&profile)?;
                let (mut draft, _) = self.one_row(&profile, &spec, row)?;
                draft.to = vec![profile.username.trim().to_owned()];
                draft.subject = format!("[Test] {}", draft.subject);
                let built = compose::build(&profile, &draft, &[]).map_err(|problems| {
                    OperationError::invalid("the test message cannot be built", problems)
                })?;
                let subject = draft.subject.clone();
                self.send(&profile, built, &subject, progress).await
            }
            Operation::StartCampaign { profile, spec } => {
                let profile = self.profile(&profile)?;
                let started = self.start(&profile, &spec)?;
                // The list is in the outbox now; its upload no longer counts.
                if let Some(upload) = spec.csv_upload {
                    crate::lock(&self.uploads).remove(upload);
                }
                Ok(started)
            }
            Operation::ListCampaigns => {
                let records = self.outbox.campaigns().map_err(outbox_error)?;
                let mut campaigns = Vec::with_capacity(records.len());
                for record in &records {
                    campaigns.push(self.campaign_view(record)?);
                }
                Ok(Outcome::Campaigns { campaigns })
            }
            Operation::PauseCampaign { id } => self.set_state(id, "paused"),
            Operation::ResumeCampaign { id } => self.set_state(id, "running"),
            Operation::CancelCampaign { id } => self.set_state(id, "cancelled"),
            Operation::ExportCampaignResults { id } => {
                let record = self.record(id)?;
                let results = self.outbox.campaign_results(id).map_err(outbox_error)?;
                self.suppress_failures(&results)?;
                let bounced = self.bounced_rows(&results);
                Ok(Outcome::CampaignResults {
                    csv: results_csv(&results, &bounced)?,
                    filename: format!("{}-results.csv", slug(&record.name)),
                })
            }
            other => Err(misrouted(&other)),
        }
    }

    /// Merges the list with the templates and builds every sendable row.
    fn prepare(&self, profile: &Profile, spec: &CampaignSpec) -> Result<Prepared, OperationError> {
        let max = CsvConfig::default().max_bytes;
        let uploaded = match spec.csv_upload {
            Some(upload) => Some(crate::lock(&self.uploads).bytes(upload)?),
            None => None,
        };
        let bytes = uploaded.as_deref().unwrap_or(spec.csv.as_bytes());
        if bytes.len() as u64 > max {
            return Err(OperationError::new(
                ErrorKind::TooLarge,
                campaign::CsvError::TooLarge {
                    size: bytes.len() as u64,
                    max,
                }
                .to_string(),
            ));
        }
        let list = campaign::csv::parse(bytes).map_err(|error| {
            OperationError::invalid(
                format!("nothing was queued: {error}"),
                vec![Problem::new(
                    "csv",
                    error.to_string(),
                    "Fix the list and try again.",
                )],
            )
        })?;
        let templates = Templates {
            subject: spec.subject.clone(),
            text: spec.text.clone(),
            html: spec.html.clone(),
        };
        let unsubscribe = if spec.unsubscribe_url.is_some() || spec.unsubscribe_mailto.is_some() {
            let key = store::unsubscribe_key(self.secrets.as_ref()).map_err(|error| {
                OperationError::new(
                    ErrorKind::Internal,
                    format!("the unsubscribe key cannot be read or made: {error}"),
                )
            })?;
            Some(Unsubscribe {
                campaign: campaign_name(spec).to_owned(),
                url_template: spec.unsubscribe_url.clone(),
                mailto: spec.unsubscribe_mailto.clone(),
                list_id: format!(
                    "{}.{}",
                    slug(campaign_name(spec)),
                    profile.from.address.domain()
                ),
                expires_unix: now_ms() / 1_000 + TOKEN_LIFETIME_S,
                key,
            })
        } else {
            None
        };
        let suppression = self.suppression()?;
        let config = MergeConfig {
            to_column: spec.address_column.clone(),
            // Drafts for every good row, so a preview works on a list that still has problems;
            // whether they may be queued is decided by `blocked`.
            skip_bad_rows: true,
            unsubscribe,
            ..MergeConfig::new(&spec.address_column)
        };
        let report =
            campaign::merge(&list, &templates, &suppression, &config).map_err(|error| {
                let field = match &error {
                    campaign::MergeError::NoAddressColumn { .. } => "address_column",
                    campaign::MergeError::Template(_) => "template",
                    campaign::MergeError::Unsubscribe(_) => "unsubscribe_url",
                };
                OperationError::invalid(
                    format!("nothing was queued: {error}"),
                    vec![Problem::new(
                        field,
                        error.to_string(),
                        "Fix it and check again.",
                    )],
                )
            })?;
        let mut problems: Vec<RowProblem> = report
            .problems
            .iter()
            .map(|problem| RowProblem {
                row: problem.row as u64,
                field: problem.field.clone(),
                message: problem.message.clone(),
            })
            .collect();
        let mut warnings = Vec::new();
        let mut built = Vec::with_capacity(report.drafts.len());
        let mut drafts = Vec::with_capacity(report.drafts.len());
        for (row, draft) in report.drafts {
            let row = row as u64;
            match compose::build(profile, &draft, &[]) {
                Ok(message) => {
                    for warning in &message.warnings {
                        if !warnings.contains(warning) {
                            warnings.push(warning.clone());
                        }
                    }
                    built.push((row, message, draft.subject.clone()));
                    drafts.push((row, draft));
                }
                Err(found) => problems.extend(found.into_iter().map(|problem| RowProblem {
                    row,
                    field: problem.path,
                    message: problem.message,
                })),
            }
        }
        problems.sort_by_key(|problem| problem.row);
        for warning in compose::profile_warnings(profile) {
            if !warnings.contains(&warning) {
                warnings.push(warning);
            }
        }
        if built.len() as u64 > BULK_RECIPIENTS && spec.unsubscribe_url.is_none() {
            warnings.insert(
                0,
                format!(
                    "{} recipients without one-click unsubscribe: since February 2024 Google \
                     asks bulk senders for a List-Unsubscribe header with an https URL and \
                     List-Unsubscribe-Post: List-Unsubscribe=One-Click (RFC 8058), or it may \
                     reject or spam the mail. Give an unsubscribe URL with {{token}}.",
                    thousands(built.len() as u64)
                ),
            );
        }
        Ok(Prepared {
            columns: list.columns,
            rows: report.rows as u64,
            duplicates: report
                .duplicates
                .iter()
                .map(|&(row, first)| (row as u64, first as u64))
                .collect(),
            suppressed: report.suppressed.iter().map(|&row| row as u64).collect(),
            problems,
            warnings,
            built,
            drafts,
        })
    }

    fn check(
        &self,
        profile: &Profile,
        spec: &CampaignSpec,
        prepared: Prepared,
    ) -> Result<CampaignCheck, OperationError> {
        let valid = prepared.built.len() as u64;
        let (remaining, next_free) = self.quota_of(profile)?;
        let now = now_ms();
        let schedule = split_days(
            valid,
            remaining,
            u64::from(profile.limits.daily),
            next_free,
            now,
            local_offset(),
        );
        let per_minute = profile.limits.per_minute.max(1);
        let first = schedule.first().map_or(0, |day| day.messages);
        Ok(CampaignCheck {
            first_row_lint: None,
            blocked: prepared.blocked(spec),
            columns: prepared.columns,
            rows: prepared.rows,
            valid,
            duplicates: prepared.duplicates,
            suppressed: prepared.suppressed,
            problems: prepared.problems,
            warnings: prepared.warnings,
            schedule_summary: schedule_summary(valid, &schedule),
            schedule,
            per_minute,
            first_day_seconds: (first * 60).div_ceil(u64::from(per_minute)),
        })
    }

    /// Row `row` of the list as it would be sent: its draft and the built message.
    fn one_row(
        &self,
        profile: &Profile,
        spec: &CampaignSpec,
        row: u64,
    ) -> Result<(protocol::Draft, Built), OperationError> {
        let prepared = self.prepare(profile, spec)?;
        if let Some(index) = prepared
            .drafts
            .iter()
            .position(|(number, _)| *number == row)
        {
            let draft = prepared.drafts[index].1.clone();
            let built = prepared.built[index].1.clone();
            return Ok((draft, built));
        }
        let why = if row == 0 || row > prepared.rows {
            format!(
                "the list has no row {row}; its rows are 1 to {}",
                prepared.rows
            )
        } else if let Some((_, first)) = prepared.duplicates.iter().find(|(r, _)| *r == row) {
            format!("row {row} repeats the address of row {first} and is not sent")
        } else if prepared.suppressed.contains(&row) {
            format!("row {row}'s address is on the suppression list and is not sent")
        } else {
            let found: Vec<String> = prepared
                .problems
                .iter()
                .filter(|p| p.row == row)
                .map(|p| format!("{}: {}", p.field, p.message))
                .collect();
            format!("row {row} cannot be sent: {}", found.join("; "))
        };
        Err(OperationError::new(ErrorKind::Invalid, why).with_fix("Preview another row."))
    }

    fn start(&self, profile: &Profile, spec: &CampaignSpec) -> Result<Outcome, OperationError> {
        let prepared = self.prepare(profile, spec)?;
        if prepared.blocked(spec) {
            let rows = {
                let mut rows: Vec<u64> = prepared.problems.iter().map(|p| p.row).collect();
                rows.dedup();
                rows.len()
            };
            let problems = prepared
                .problems
                .iter()
                .map(|p| {
                    Problem::new(
                        format!("csv.row[{}].{}", p.row, p.field),
                        p.message.clone(),
                        "Fix the row, or skip the bad rows.",
                    )
                })
                .collect();
            return Err(OperationError::invalid(
                match rows {
                    1 => "nothing was queued: 1 row of the list has problems".to_owned(),
                    rows => format!("nothing was queued: {rows} rows of the list have problems"),
                },
                problems,
            ));
        }
        if prepared.built.is_empty() {
            return Err(OperationError::new(
                ErrorKind::Invalid,
                "nothing was queued: no row can be sent",
            )
            .with_fix("Check the list: every row is a duplicate, suppressed or bad."));
        }
        // Without a secret nothing could go: say so now, not once per entry later.
        self.credentials(profile)?;
        let mut rows = Vec::with_capacity(prepared.built.len());
        let mut entries = Vec::with_capacity(prepared.built.len());
        for (row, built, subject) in prepared.built {
            rows.push(row);
            entries.push(new_entry(profile, built, &subject));
        }
        let (id, _) = self
            .outbox
            .enqueue_campaign(campaign_name(spec), &profile.id.0, &entries, &rows)
            .map_err(outbox_error)?;
        let record = self.record(id)?;
        Ok(Outcome::Campaign(self.campaign_view(&record)?))
    }

    fn set_state(&self, id: u64, state: &str) -> Result<Outcome, OperationError> {
        let record = self.record(id)?;
        if record.state == "cancelled" && state != "cancelled" {
            return Err(OperationError::new(
                ErrorKind::Invalid,
                format!("campaign {id} ({}) was cancelled", record.name),
            )
            .with_fix("Start it again as a new campaign."));
        }
        self.outbox
            .set_campaign_state(id, state)
            .map_err(outbox_error)?;
        let record = self.record(id)?;
        Ok(Outcome::Campaign(self.campaign_view(&record)?))
    }

    fn record(&self, id: u64) -> Result<CampaignRecord, OperationError> {
        self.outbox
            .campaigns()
            .map_err(outbox_error)?
            .into_iter()
            .find(|record| record.id == id)
            .ok_or_else(|| {
                OperationError::new(ErrorKind::NotFound, format!("there is no campaign {id}"))
                    .with_fix("List the campaigns to see their ids.")
            })
    }

    fn campaign_view(&self, record: &CampaignRecord) -> Result<CampaignView, OperationError> {
        let counts = self
            .outbox
            .batch_counts(record.batch)
            .map_err(outbox_error)?;
        let results = self
            .outbox
            .campaign_results(record.id)
            .map_err(outbox_error)?;
        self.suppress_failures(&results)?;
        let pending = counts.pending();
        let state = match record.state.as_str() {
            "cancelled" => CampaignState::Cancelled,
            _ if pending == 0 => CampaignState::Finished,
            "paused" => CampaignState::Paused,
            _ => CampaignState::Running,
        };
        let now = now_ms();
        let rate_per_minute = results
            .iter()
            .filter(|r| r.state == EntryState::Sent && r.updated_ms + 60_000 > now)
            .count() as u64;
        let profile = self.profile(&ProfileId(record.profile_id.clone())).ok();
        let quota = match &profile {
            Some(profile) => Some(self.quota_view(profile)?),
            None => None,
        };
        let remaining = quota.as_ref().map_or(0, |(remaining, ..)| *remaining);
        let eta_seconds = match (state, &profile) {
            (CampaignState::Finished | CampaignState::Cancelled, _) => Some(0),
            (CampaignState::Running, Some(profile)) => {
                scheduler::eta_seconds(pending, profile.limits.per_minute, remaining)
            }
            _ => None,
        };
        let schedule_summary = match &quota {
            Some((remaining, _, _, sentence)) if pending > *remaining => sentence.clone(),
            _ => String::new(),
        };
        Ok(CampaignView {
            id: record.id,
            name: record.name.clone(),
            profile_id: record.profile_id.clone(),
            state,
            created_unix_ms: record.created_ms,
            counts,
            total: counts.total(),
            rate_per_minute,
            eta_seconds,
            schedule_summary,
            bounced: self.bounced_rows(&results),
        })
    }

    /// The campaign's recipients whose bounce report was read (and kept) since their 250.
    fn bounced_rows(&self, results: &[CampaignResult]) -> Vec<protocol::BouncedRow> {
        let path = self.data_dir.join("verdicts.sqlite3");
        if !path.exists() {
            return Vec::new();
        }
        let sent: Vec<&CampaignResult> = results
            .iter()
            .filter(|r| r.state == EntryState::Sent)
            .collect();
        let found = crate::store::VerdictStore::open(&path)
            .and_then(|store| store.bounces_for(sent.iter().map(|r| r.message_id.as_str())));
        let Ok(mut found) = found else {
            tracing::warn!("could not read the bounces kept for a campaign");
            return Vec::new();
        };
        let mut rows = Vec::new();
        for result in sent {
            let id = result.message_id.trim().trim_matches(['<', '>']);
            let Some(bounces) = found.get_mut(id) else {
                continue;
            };
            if let Some(at) = bounces
                .iter()
                .position(|b| b.recipient.eq_ignore_ascii_case(&result.address))
            {
                rows.push(protocol::BouncedRow {
                    row: result.row,
                    bounce: bounces.swap_remove(at),
                });
            }
        }
        rows
    }

    /// The profile's account now: what is left today and when the next send beyond it frees.
    fn quota_of(&self, profile: &Profile) -> Result<(u64, u64), OperationError> {
        let (remaining, waiting, next_free, _) = self.quota_view(profile)?;
        // Queued entries count against what is left, as they will go first.
        Ok((remaining.saturating_sub(waiting), next_free))
    }

    /// (remaining today, waiting, when the next one frees, the quota in words).
    fn quota_view(&self, profile: &Profile) -> Result<(u64, u64, u64, String), OperationError> {
        let account = outbox::account_of(&profile.username, &profile.host);
        let summary = self.outbox.summary(self).map_err(outbox_error)?;
        let now = now_ms();
        Ok(
            match summary.quotas.into_iter().find(|q| q.account == account) {
                Some(quota) => (
                    quota.remaining,
                    quota.waiting,
                    quota.next_free_unix_ms.unwrap_or(now + DAY_MS),
                    quota.summary,
                ),
                None => (
                    u64::from(profile.limits.daily),
                    0,
                    now + DAY_MS,
                    String::new(),
                ),
            },
        )
    }

    fn suppression_path(&self) -> std::path::PathBuf {
        self.data_dir.join(suppression::FILE)
    }

    fn suppression(&self) -> Result<Suppression, OperationError> {
        Suppression::load(&self.suppression_path()).map_err(|error| {
            OperationError::new(ErrorKind::Internal, format!("{error:#}"))
                .with_fix("Fix or remove the suppression file.")
        })
    }

    /// While the outbox delivers, adds each campaign recipient that fails with `550 5.1.1` to
    /// the suppression list as soon as it fails, not only when the campaign is next shown:
    /// the outbox's summary notices say when the failed count grows.
    pub(super) fn suppress_failures_as_they_happen(self: &Arc<Self>) {
        let mut notices = self.outbox.subscribe();
        let bridge = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut failed = None;
            loop {
                let summary = match notices.recv().await {
                    Ok(Notice::Outbox { summary }) => summary,
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => break,
                };
                if failed.is_some_and(|seen| summary.counts.failed <= seen) {
                    continue;
                }
                failed = Some(summary.counts.failed);
                let Some(bridge) = bridge.upgrade() else {
                    break;
                };
                if let Err(error) = bridge.suppress_all_failures() {
                    tracing::warn!("could not update the suppression list: {}", error.message);
                }
            }
        });
    }

    fn suppress_all_failures(&self) -> Result<(), OperationError> {
        for record in self.outbox.campaigns().map_err(outbox_error)? {
            let results = self
                .outbox
                .campaign_results(record.id)
                .map_err(outbox_error)?;
            self.suppress_failures(&results)?;
        }
        Ok(())
    }

    /// Adds the addresses that failed with `550 5.1.1` (no such user) to the suppression list,
    /// so no later campaign mails them again.
    fn suppress_failures(&self, results: &[CampaignResult]) -> Result<(), OperationError> {
        if !results.iter().any(is_no_such_user) {
            return Ok(());
        }
        let mut list = self.suppression()?;
        if add_no_such_users(&mut list, results, now_ms() / 1_000) > 0 {
            list.save(&self.suppression_path())
                .map_err(|error| OperationError::new(ErrorKind::Internal, format!("{error:#}")))?;
        }
        Ok(())
    }
}

fn campaign_name(spec: &CampaignSpec) -> &str {
    match spec.name.trim() {
        "" => "campaign",
        name => name,
    }
}

/// Whether a campaign entry ended for good because the recipient does not exist.
fn is_no_such_user(result: &CampaignResult) -> bool {
    result.state == EntryState::Failed
        && result.reply.as_deref().is_some_and(|reply| {
            let reply = reply.trim_start();
            reply.starts_with("550") && reply.contains("5.1.1")
        })
}

/// Adds each no-such-user failure to `list`; returns how many were new.
fn add_no_such_users(list: &mut Suppression, results: &[CampaignResult], now_s: u64) -> usize {
    results
        .iter()
        .filter(|result| is_no_such_user(result))
        .filter(|result| {
            list.add(Entry {
                address: result.address.clone(),
                reason: result
                    .reply
                    .as_deref()
                    .and_then(|reply| reply.lines().next())
                    .unwrap_or_default()
                    .trim()
                    .to_owned(),
                source: Source::PermanentFailure,
                added_at: now_s,
            })
        })
        .count()
}

/// The results as CSV: row, address, state, message_id, reply, time (RFC 3339, UTC). A sent
/// row whose bounce report was read says `bounced`, with the status code and the remote
/// server's words as its reply.
fn results_csv(
    results: &[CampaignResult],
    bounced: &[protocol::BouncedRow],
) -> Result<String, OperationError> {
    let failed = |error: ::csv::Error| {
        OperationError::new(ErrorKind::Internal, format!("the export failed: {error}"))
    };
    let mut writer = ::csv::Writer::from_writer(Vec::new());
    writer
        .write_record(["row", "address", "state", "message_id", "reply", "time"])
        .map_err(failed)?;
    for result in results {
        let time = crate::smtp::rfc3339(i64::try_from(result.updated_ms / 1_000).unwrap_or(0));
        let bounce = bounced.iter().find(|b| b.row == result.row).map(|b| {
            format!(
                "{} {}",
                b.bounce.status,
                b.bounce.remote_text.as_deref().unwrap_or_default()
            )
        });
        let (state, reply) = match &bounce {
            Some(text) => ("bounced", text.trim()),
            None => (
                result.state.as_str(),
                result.reply.as_deref().unwrap_or_default().trim(),
            ),
        };
        writer
            .write_record([
                result.row.to_string().as_str(),
                result.address.as_str(),
                state,
                result.message_id.as_str(),
                reply,
                time.as_str(),
            ])
            .map_err(failed)?;
    }
    let bytes = writer.into_inner().map_err(|error| {
        OperationError::new(ErrorKind::Internal, format!("the export failed: {error}"))
    })?;
    String::from_utf8(bytes)
        .map_err(|_| OperationError::new(ErrorKind::Internal, "the export is not UTF-8"))
}

/// Splits `valid` messages over days: what is `remaining` today, then `daily` a day, each
/// later day starting when the window frees (`next_free_ms`, then a day after each other).
fn split_days(
    valid: u64,
    remaining: u64,
    daily: u64,
    next_free_ms: u64,
    now_ms: u64,
    offset_s: i64,
) -> Vec<DayShare> {
    let mut days = Vec::new();
    if valid == 0 {
        return days;
    }
    if daily == 0 {
        days.push(DayShare {
            from_unix_ms: now_ms,
            messages: valid,
            day: day_name(now_ms, now_ms, offset_s),
        });
        return days;
    }
    let today = valid.min(remaining);
    if today > 0 {
        days.push(DayShare {
            from_unix_ms: now_ms,
            messages: today,
            day: day_name(now_ms, now_ms, offset_s),
        });
    }
    let mut left = valid - today;
    let mut from = next_free_ms.max(now_ms);
    while left > 0 {
        let messages = left.min(daily);
        days.push(DayShare {
            from_unix_ms: from,
            messages,
            day: day_name(from, now_ms, offset_s),
        });
        left -= messages;
        from += DAY_MS;
    }
    days
}

/// `today`, `tomorrow`, `on Thursday` within a week, `on 3 Dec` beyond.
fn day_name(at_ms: u64, now_ms: u64, offset_s: i64) -> String {
    let local_day = |ms: u64| ((ms / 1_000) as i64 + offset_s).div_euclid(86_400);
    let (day, today) = (local_day(at_ms), local_day(now_ms));
    const WEEKDAYS: [&str; 7] = [
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
        "Monday",
        "Tuesday",
        "Wednesday",
    ];
    match day - today {
        ..=0 => "today".to_owned(),
        1 => "tomorrow".to_owned(),
        2..=6 => format!("on {}", WEEKDAYS[day.rem_euclid(7) as usize]),
        _ => {
            // "14:05 on 3 Dec": the scheduler already spells dates; keep its day and month.
            let words = scheduler::local_time(at_ms, now_ms, offset_s);
            match words.split_once(" on ") {
                Some((_, date)) => format!("on {date}"),
                None => words,
            }
        }
    }
}

/// "5,000 recipients: 412 today, 2,000 tomorrow, 2,000 on Thursday, 588 on Friday".
fn schedule_summary(valid: u64, schedule: &[DayShare]) -> String {
    let noun = if valid == 1 {
        "recipient"
    } else {
        "recipients"
    };
    let days: Vec<String> = schedule
        .iter()
        .map(|share| format!("{} {}", thousands(share.messages), share.day))
        .collect();
    if days.is_empty() {
        return format!("{} {noun}", thousands(valid));
    }
    format!("{} {noun}: {}", thousands(valid), days.join(", "))
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A name safe in a file name and a List-Id: lowercase letters, digits and dashes.
fn slug(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        "campaign".to_owned()
    } else {
        slug.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: u64 = 3_600_000;

    #[test]
    fn the_schedule_fills_today_then_a_daily_limit_a_day() {
        // Monday 2 Dec 2024, 09:00 UTC.
        let now = 1_733_130_000_000;
        let days = split_days(5_000, 412, 2_000, now + 20 * HOUR, now, 0);
        assert_eq!(
            schedule_summary(5_000, &days),
            "5,000 recipients: 412 today, 2,000 tomorrow, 2,000 on Wednesday, 588 on Thursday"
        );
        let days = split_days(8, 5, 5, now + DAY_MS, now, 0);
        assert_eq!(
            schedule_summary(8, &days),
            "8 recipients: 5 today, 3 tomorrow"
        );
        let days = split_days(30, 0, 2, now + HOUR, now, 0);
        assert_eq!(days[0].day, "today");
        assert_eq!(days.last().map(|d| d.day.as_str()), Some("on 16 Dec"));
        assert_eq!(split_days(3, 0, 0, now, now, 0)[0].messages, 3);
    }

    fn result(state: EntryState, reply: &str, address: &str) -> CampaignResult {
        CampaignResult {
            row: 1,
            address: address.to_owned(),
            state,
            message_id: "<m@x>".to_owned(),
            reply: Some(reply.to_owned()),
            updated_ms: 0,
        }
    }

    #[test]
    fn only_no_such_user_failures_are_suppressed() {
        let results = [
            result(
                EntryState::Failed,
                "550-5.1.1 The email account that you tried to reach does not exist.",
                "Gone@Example.com",
            ),
            result(
                EntryState::Failed,
                "552 5.2.2 mailbox full",
                "full@example.com",
            ),
            result(EntryState::Sent, "250 2.0.0 OK", "ok@example.com"),
        ];
        let mut list = Suppression::default();
        assert_eq!(add_no_such_users(&mut list, &results, 7), 1);
        assert!(list.contains("gone@example.com"));
        assert_eq!(
            list.get("gone@example.com").map(|e| e.source),
            Some(Source::PermanentFailure)
        );
        assert!(!list.contains("full@example.com"));
        assert_eq!(add_no_such_users(&mut list, &results, 8), 0);
    }

    #[test]
    fn the_export_has_a_header_and_one_line_per_row() {
        let csv = results_csv(
            &[result(EntryState::Sent, "250 2.0.0 OK, \"x\"", "a@b.c")],
            &[],
        )
        .expect("csv");
        let mut lines = csv.lines();
        assert_eq!(
            lines.next(),
            Some("row,address,state,message_id,reply,time")
        );
        assert_eq!(
            lines.next(),
            Some("1,a@b.c,sent,<m@x>,\"250 2.0.0 OK, \"\"x\"\"\",1970-01-01T00:00:00Z")
        );
        // A row whose bounce report was read says so, with the code and the remote words.
        let bounced = protocol::BouncedRow {
            row: 1,
            bounce: protocol::BounceView {
                recipient: "a@b.c".into(),
                action: "failed".into(),
                status: "5.1.1".into(),
                remote_text: Some("550 5.1.1 no such user".into()),
                message_id: "m@x".into(),
                history_id: 0,
                diagnosis: None,
                suppressed: true,
            },
        };
        let csv = results_csv(
            &[result(EntryState::Sent, "250 2.0.0 OK", "a@b.c")],
            &[bounced],
        )
        .expect("csv");
        assert_eq!(
            csv.lines().nth(1),
            Some("1,a@b.c,bounced,<m@x>,5.1.1 550 5.1.1 no such user,1970-01-01T00:00:00Z")
        );
    }
}
