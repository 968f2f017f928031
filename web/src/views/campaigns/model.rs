//! The Campaigns view's state: the list file, the form, the last check, the row previewed, and
//! the campaigns the bridge runs. Plain Rust with no browser calls, so its tests run natively;
//! the component does the reading, the upload, the requests and the downloads.
//!
//! The list goes to the bridge as an upload, in chunks as attachments do (one message from
//! the page holds at most 64 KB); the spec names the upload. Only the header row stays in the
//! page, for the column list. A file chosen over an earlier one leaves the earlier upload in
//! [`Model::discard`], for the component to tell the bridge to let go of it.

use std::rc::Rc;

use protocol::{
    CampaignCheck, CampaignSpec, CampaignState, CampaignView, OperationError, RowPreview,
};
use yew::Reducible;

/// The page refuses a larger list before reading it: the bridge would refuse it anyway, and
/// reading it would stall the page.
pub const MAX_LIST_BYTES: u64 = 20 * 1024 * 1024;

/// The list file: its header row as read in the page, and its upload to the bridge.
#[derive(Debug, Clone, PartialEq)]
pub struct ListFile {
    /// This page's number for the file, so that answers about an earlier file are told apart.
    pub key: u64,
    pub name: String,
    pub size: u64,
    /// The header row's columns, read in the page until a check brings the bridge's.
    pub header: Vec<String>,
    /// The bridge's number for the upload, once it has agreed to take it.
    pub upload: Option<u64>,
    pub state: Upload,
}

/// How far the list's upload has come.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upload {
    Uploading {
        sent: u64,
    },
    Uploaded,
    Failed(String),
    /// A campaign started with it, and the bridge let go of it.
    Spent,
}

/// The text fields of the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Profile,
    Name,
    AddressColumn,
    Subject,
    Text,
    Html,
    UnsubscribeUrl,
    UnsubscribeMailto,
    Row,
}

/// A request whose answer the view shows.
#[derive(Debug, Clone, PartialEq)]
pub enum Ask<T> {
    Idle,
    Busy,
    Done(T),
    Failed(OperationError),
}

impl<T> Ask<T> {
    pub fn is_busy(&self) -> bool {
        matches!(self, Ask::Busy)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    pub profile: String,
    pub name: String,
    pub address_column: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub unsubscribe_url: String,
    pub unsubscribe_mailto: String,
    pub skip_bad_rows: bool,
    /// The row number as typed.
    pub row: String,
    pub file: Option<ListFile>,
    /// Why the last file was not taken, or that it is being read.
    pub file_status: FileStatus,
    /// The number the next file gets.
    next_key: u64,
    /// Uploads of earlier files the bridge still holds: the component discards them and
    /// then says [`Action::Discarded`].
    pub discard: Vec<u64>,
    /// The upload the campaign being started names; the bridge lets go of it once started.
    started_with: Option<u64>,
    pub check: Ask<Rc<CampaignCheck>>,
    /// The form or the list changed since the last check, so its verdict no longer holds.
    pub check_stale: bool,
    /// Only the newest check's answer is shown.
    check_seq: u64,
    pub preview: Ask<Rc<RowPreview>>,
    pub test: Ask<String>,
    /// The start asks to be confirmed first.
    pub confirming: bool,
    pub start: Ask<()>,
    /// The campaign this page started or the user chose, shown in full.
    pub current: Option<u64>,
    /// Newest first.
    pub campaigns: Ask<Vec<CampaignView>>,
    /// What the last pause, resume, cancel or export did.
    pub acted: Ask<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileStatus {
    None,
    Reading(String),
    Refused(String),
}

impl Default for Model {
    fn default() -> Model {
        Model {
            profile: String::new(),
            name: String::new(),
            address_column: String::new(),
            subject: String::new(),
            text: String::new(),
            html: String::new(),
            unsubscribe_url: String::new(),
            unsubscribe_mailto: String::new(),
            skip_bad_rows: false,
            row: "1".to_owned(),
            file: None,
            file_status: FileStatus::None,
            next_key: 1,
            discard: Vec::new(),
            started_with: None,
            check: Ask::Idle,
            check_stale: false,
            check_seq: 0,
            preview: Ask::Idle,
            test: Ask::Idle,
            confirming: false,
            start: Ask::Idle,
            current: None,
            campaigns: Ask::Idle,
            acted: Ask::Idle,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Edit(Field, String),
    SkipBadRows(bool),
    /// A file was chosen or dropped, with the number [`Model::next_file`] gave it; one over
    /// [`MAX_LIST_BYTES`] is refused here.
    Reading {
        key: u64,
        name: String,
        size: u64,
    },
    /// The start of the file was read (the header row is all the page keeps); its upload
    /// begins.
    Loaded {
        key: u64,
        name: String,
        size: u64,
        head: String,
    },
    Unreadable(String),
    /// The bridge took the upload under this number.
    UploadStarted {
        key: u64,
        upload: u64,
    },
    UploadProgress {
        key: u64,
        sent: u64,
    },
    Uploaded {
        key: u64,
    },
    UploadFailed {
        key: u64,
        why: String,
    },
    /// The component told the bridge to let go of these uploads.
    Discarded(Vec<u64>),
    /// A check went out with this number.
    Checking(u64),
    Checked(u64, Result<CampaignCheck, OperationError>),
    Previewing,
    Previewed(Result<RowPreview, OperationError>),
    Testing,
    Tested(Result<String, OperationError>),
    Confirm(bool),
    Starting,
    Started(Result<CampaignView, OperationError>),
    Listed(Result<Vec<CampaignView>, OperationError>),
    /// A pause, resume or cancel answered with the campaign as it is now.
    Acting,
    Changed(Result<CampaignView, OperationError>),
    /// An export or another action said this (or failed).
    Acted(Result<String, OperationError>),
    Show(u64),
}

impl Model {
    /// The campaign as the bridge is to take it, once the list has uploaded.
    pub fn spec(&self) -> Option<CampaignSpec> {
        let upload = self.list_upload()?;
        let optional = |text: &str| (!text.trim().is_empty()).then(|| text.to_owned());
        Some(CampaignSpec {
            name: self.name.trim().to_owned(),
            csv: String::new(),
            csv_upload: Some(upload),
            address_column: self.address_column.clone(),
            subject: self.subject.clone(),
            text: optional(&self.text),
            html: optional(&self.html),
            unsubscribe_url: optional(self.unsubscribe_url.trim()),
            unsubscribe_mailto: optional(self.unsubscribe_mailto.trim()),
            skip_bad_rows: self.skip_bad_rows,
        })
    }

    /// The list's upload, once it has finished.
    fn list_upload(&self) -> Option<u64> {
        let file = self.file.as_ref()?;
        match file.state {
            Upload::Uploaded => file.upload,
            _ => None,
        }
    }

    /// The number to give the next file chosen.
    pub fn next_file(&self) -> u64 {
        self.next_key
    }

    /// The upload the bridge holds for the list shown, which the page lets go of when it
    /// leaves the view; `None` once a campaign has started with it.
    pub fn held_upload(&self) -> Option<u64> {
        let file = self.file.as_ref()?;
        (file.state != Upload::Spent)
            .then_some(file.upload)
            .flatten()
    }

    fn current_file(&mut self, key: u64) -> Option<&mut ListFile> {
        self.file.as_mut().filter(|file| file.key == key)
    }

    /// The number of the next check.
    pub fn next_check(&self) -> u64 {
        self.check_seq + 1
    }

    /// The columns to choose the address from: the bridge's once it has checked, else the
    /// header row as the page read it.
    pub fn columns(&self) -> &[String] {
        match &self.check {
            Ask::Done(check) if !check.columns.is_empty() => &check.columns,
            _ => self.file.as_ref().map_or(&[], |file| &file.header),
        }
    }

    /// The row to preview or test, from 1.
    pub fn row(&self) -> Result<u64, String> {
        let rows = match &self.check {
            Ask::Done(check) => Some(check.rows),
            _ => None,
        };
        match self.row.trim().parse::<u64>() {
            Ok(0) | Err(_) => {
                Err("Give a row number: 1 is the first row after the header.".to_owned())
            }
            Ok(row) if rows.is_some_and(|rows| row > rows) => Err(format!(
                "The list has {} rows, so row {row} is not in it.",
                rows.unwrap_or_default()
            )),
            Ok(row) => Ok(row),
        }
    }

    /// Why the campaign cannot start now, or `None` when it can.
    pub fn start_blocked(&self) -> Option<&'static str> {
        let state = self.file.as_ref().map(|file| &file.state);
        match &self.check {
            _ if self.file.is_none() => Some("Choose the list first."),
            _ if matches!(state, Some(Upload::Uploading { .. })) => {
                Some("The list is uploading: check it once it has.")
            }
            _ if matches!(state, Some(Upload::Failed(_))) => {
                Some("The list did not upload: choose it again.")
            }
            _ if matches!(state, Some(Upload::Spent)) => {
                Some("A campaign started with this list: choose a list for another.")
            }
            Ask::Done(_) if self.check_stale => {
                Some("The form changed since the check: check the list again.")
            }
            Ask::Done(check) if check.blocked => {
                Some("The list has problems: fix them in the file, or tick “Skip the bad rows”.")
            }
            Ask::Done(check) if check.valid == 0 => Some("No row would be sent."),
            Ask::Done(_) if self.start.is_busy() => Some("Starting…"),
            Ask::Done(_) => None,
            _ => Some("Check the list first."),
        }
    }

    /// The campaign shown in full: the one chosen or started, else the newest still going.
    pub fn shown(&self) -> Option<&CampaignView> {
        let Ask::Done(campaigns) = &self.campaigns else {
            return None;
        };
        match self.current {
            Some(id) => campaigns.iter().find(|campaign| campaign.id == id),
            None => campaigns.iter().find(|campaign| {
                matches!(
                    campaign.state,
                    CampaignState::Running | CampaignState::Paused
                )
            }),
        }
    }

    fn changed(&mut self) {
        if matches!(self.check, Ask::Done(_)) {
            self.check_stale = true;
        }
        self.confirming = false;
    }

    fn upsert(&mut self, view: CampaignView) {
        let mut campaigns = match std::mem::replace(&mut self.campaigns, Ask::Idle) {
            Ask::Done(campaigns) => campaigns,
            _ => Vec::new(),
        };
        match campaigns.iter_mut().find(|campaign| campaign.id == view.id) {
            Some(campaign) => *campaign = view,
            None => campaigns.push(view),
        }
        sort(&mut campaigns);
        self.campaigns = Ask::Done(campaigns);
    }
}

impl Reducible for Model {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut model = (*self).clone();
        match action {
            Action::Edit(field, value) => {
                let slot = match field {
                    Field::Profile => &mut model.profile,
                    Field::Name => &mut model.name,
                    Field::AddressColumn => &mut model.address_column,
                    Field::Subject => &mut model.subject,
                    Field::Text => &mut model.text,
                    Field::Html => &mut model.html,
                    Field::UnsubscribeUrl => &mut model.unsubscribe_url,
                    Field::UnsubscribeMailto => &mut model.unsubscribe_mailto,
                    Field::Row => &mut model.row,
                };
                *slot = value;
                if field != Field::Row {
                    model.changed();
                }
            }
            Action::SkipBadRows(skip) => {
                model.skip_bad_rows = skip;
                model.changed();
            }
            Action::Reading { key, name, size } => {
                model.next_key = model.next_key.max(key + 1);
                model.file_status = match refusal(&name, size) {
                    Some(why) => FileStatus::Refused(why),
                    None => FileStatus::Reading(name),
                };
            }
            Action::Loaded {
                key,
                name,
                size,
                head,
            } => {
                if key + 1 < model.next_key {
                    // A newer file was chosen meanwhile; this one's upload is discarded when
                    // the bridge names it.
                    return self;
                }
                model.next_key = key + 1;
                if let Some(upload) = model.held_upload() {
                    model.discard.push(upload);
                }
                let header = header_columns(&head);
                if !header.contains(&model.address_column) {
                    model.address_column = address_column(&header);
                }
                // The name follows the file until the user types one of their own.
                let named_by_file = model
                    .file
                    .as_ref()
                    .is_some_and(|file| model.name == file_stem(&file.name));
                if model.name.is_empty() || named_by_file {
                    model.name = file_stem(&name).to_owned();
                }
                model.file = Some(ListFile {
                    key,
                    name,
                    size,
                    header,
                    upload: None,
                    state: Upload::Uploading { sent: 0 },
                });
                model.file_status = FileStatus::None;
                model.check = Ask::Idle;
                model.check_stale = false;
                model.preview = Ask::Idle;
                model.confirming = false;
            }
            Action::Unreadable(why) => model.file_status = FileStatus::Refused(why),
            Action::UploadStarted { key, upload } => match model.current_file(key) {
                Some(file) => file.upload = Some(upload),
                // The file was replaced before the bridge answered.
                None => model.discard.push(upload),
            },
            Action::UploadProgress { key, sent } => match model.current_file(key) {
                Some(file) if matches!(file.state, Upload::Uploading { .. }) => {
                    file.state = Upload::Uploading { sent };
                }
                _ => return self,
            },
            Action::Uploaded { key } => match model.current_file(key) {
                Some(file)
                    if file.upload.is_some() && matches!(file.state, Upload::Uploading { .. }) =>
                {
                    file.state = Upload::Uploaded;
                }
                _ => return self,
            },
            Action::UploadFailed { key, why } => match model.current_file(key) {
                Some(file) if matches!(file.state, Upload::Uploading { .. }) => {
                    file.state = Upload::Failed(why);
                }
                _ => return self,
            },
            Action::Discarded(uploads) => model.discard.retain(|id| !uploads.contains(id)),
            Action::Checking(seq) => {
                model.check_seq = seq;
                model.check = Ask::Busy;
                model.check_stale = false;
                model.confirming = false;
            }
            Action::Checked(seq, _) if seq != model.check_seq => return self,
            Action::Checked(_, Ok(check)) => {
                if !check.columns.is_empty() && !check.columns.contains(&model.address_column) {
                    model.address_column = address_column(&check.columns);
                }
                model.check = Ask::Done(Rc::new(check));
            }
            Action::Checked(_, Err(error)) => model.check = Ask::Failed(error),
            Action::Previewing => model.preview = Ask::Busy,
            Action::Previewed(answer) => model.preview = done(answer.map(Rc::new)),
            Action::Testing => model.test = Ask::Busy,
            Action::Tested(answer) => model.test = done(answer),
            Action::Confirm(confirming) => {
                model.confirming = confirming && model.start_blocked().is_none();
            }
            Action::Starting => {
                model.started_with = model.list_upload();
                model.confirming = false;
                model.start = Ask::Busy;
            }
            Action::Started(Ok(view)) => {
                // The bridge let go of the list's upload when the campaign started.
                if let Some(upload) = model.started_with.take() {
                    model.discard.retain(|id| *id != upload);
                    if let Some(file) = model.file.as_mut()
                        && file.upload == Some(upload)
                    {
                        file.state = Upload::Spent;
                    }
                }
                model.start = Ask::Done(());
                model.current = Some(view.id);
                model.upsert(view);
            }
            Action::Started(Err(error)) => {
                model.started_with = None;
                model.start = Ask::Failed(error);
            }
            Action::Listed(Ok(mut campaigns)) => {
                sort(&mut campaigns);
                model.campaigns = Ask::Done(campaigns);
            }
            // A failed reload leaves the list that is on screen.
            Action::Listed(Err(error)) => {
                if !matches!(model.campaigns, Ask::Done(_)) {
                    model.campaigns = Ask::Failed(error);
                }
            }
            Action::Acting => model.acted = Ask::Busy,
            Action::Changed(Ok(view)) => {
                model.acted = Ask::Done(format!(
                    "“{}” is {} now.",
                    view.name,
                    state_label(view.state)
                ));
                model.upsert(view);
            }
            Action::Changed(Err(error)) => model.acted = Ask::Failed(error),
            Action::Acted(answer) => model.acted = done(answer),
            Action::Show(id) => model.current = Some(id),
        }
        Rc::new(model)
    }
}

fn done<T>(answer: Result<T, OperationError>) -> Ask<T> {
    match answer {
        Ok(value) => Ask::Done(value),
        Err(error) => Ask::Failed(error),
    }
}

fn sort(campaigns: &mut [CampaignView]) {
    campaigns.sort_by_key(|campaign| std::cmp::Reverse((campaign.created_unix_ms, campaign.id)));
}

/// Why the page does not read a file, or `None` when it does.
/// A file's name without its extension: `people.csv` gives `people`.
fn file_stem(name: &str) -> &str {
    name.rsplit_once('.').map_or(name, |(stem, _)| stem)
}

pub fn refusal(name: &str, size: u64) -> Option<String> {
    (size > MAX_LIST_BYTES).then(|| {
        format!(
            "{name} is {}, over the {} a list may have here. Split it into smaller lists, or send it with `mailbridge merge` on the command line.",
            crate::format::size(size),
            crate::format::size(MAX_LIST_BYTES)
        )
    })
}

/// The header row's columns as the page reads it: commas or semicolons, quotes taken off, a
/// BOM ignored. The bridge's CSV reader has the last word once it checks.
pub fn header_columns(csv: &str) -> Vec<String> {
    let csv = csv.strip_prefix('\u{feff}').unwrap_or(csv);
    let line = csv.lines().next().unwrap_or_default();
    let separator = if line.matches(';').count() > line.matches(',').count() {
        ';'
    } else {
        ','
    };
    line.split(separator)
        .map(|column| column.trim().trim_matches('"').trim().to_owned())
        .filter(|column| !column.is_empty())
        .collect()
}

/// The column that most likely holds the address: `email` (any case), then one whose name
/// has `mail` in it, then the first.
pub fn address_column(columns: &[String]) -> String {
    columns
        .iter()
        .find(|column| column.eq_ignore_ascii_case("email"))
        .or_else(|| {
            columns
                .iter()
                .find(|column| column.to_lowercase().contains("mail"))
        })
        .or_else(|| columns.first())
        .cloned()
        .unwrap_or_default()
}

pub fn state_label(state: CampaignState) -> &'static str {
    match state {
        CampaignState::Running => "running",
        CampaignState::Paused => "paused",
        CampaignState::Cancelled => "cancelled",
        CampaignState::Finished => "finished",
    }
}

/// A duration in words: `40 seconds`, `about 12 minutes`, `about 3 h 20 min`.
pub fn duration(seconds: u64) -> String {
    match seconds {
        0..60 => format!("{seconds} seconds"),
        60..90 => "about a minute".to_owned(),
        90..3600 => format!("about {} minutes", seconds.div_ceil(60)),
        _ => {
            let minutes = seconds.div_ceil(60);
            format!("about {} h {} min", minutes / 60, minutes % 60)
        }
    }
}

#[cfg(test)]
mod tests {
    use protocol::{ErrorKind, StateCounts};

    use super::*;

    /// The model after `actions`, where the bridge takes every list loaded at once, as upload
    /// 41.
    fn run(actions: Vec<Action>) -> Rc<Model> {
        run_raw(
            actions
                .into_iter()
                .flat_map(|action| match action {
                    Action::Loaded { key, .. } => vec![
                        action,
                        Action::UploadStarted { key, upload: 41 },
                        Action::Uploaded { key },
                    ],
                    action => vec![action],
                })
                .collect(),
        )
    }

    /// The model after exactly `actions`.
    fn run_raw(actions: Vec<Action>) -> Rc<Model> {
        actions
            .into_iter()
            .fold(Rc::new(Model::default()), |model, action| {
                model.reduce(action)
            })
    }

    fn loaded(csv: &str) -> Action {
        load(1, csv)
    }

    fn load(key: u64, csv: &str) -> Action {
        Action::Loaded {
            key,
            name: "people.csv".to_owned(),
            size: csv.len() as u64,
            head: csv.to_owned(),
        }
    }

    fn check(columns: &[&str], blocked: bool) -> CampaignCheck {
        CampaignCheck {
            columns: columns.iter().map(|column| (*column).to_owned()).collect(),
            rows: 50,
            valid: 48,
            duplicates: vec![(30, 10)],
            suppressed: vec![],
            problems: vec![],
            warnings: vec![],
            schedule: vec![],
            schedule_summary: "48 recipients: 48 today".to_owned(),
            per_minute: 60,
            first_day_seconds: 48,
            blocked,
            first_row_lint: None,
        }
    }

    fn campaign(id: u64, state: CampaignState, created: u64) -> CampaignView {
        CampaignView {
            id,
            name: format!("c{id}"),
            profile_id: "sandbox".to_owned(),
            state,
            created_unix_ms: created,
            counts: StateCounts::default(),
            total: 48,
            rate_per_minute: 0,
            eta_seconds: None,
            schedule_summary: String::new(),
            bounced: Vec::new(),
        }
    }

    fn error() -> OperationError {
        OperationError::new(ErrorKind::Internal, "not built yet")
    }

    #[test]
    fn the_header_row_names_the_columns() {
        let cases: [(&str, &[&str]); 6] = [
            ("email,name\na@example.com,A", &["email", "name"]),
            ("\u{feff}Name;E-Mail\nA;a@example.com", &["Name", "E-Mail"]),
            ("\"email\", \"first name\"\r\nx,y", &["email", "first name"]),
            ("", &[]),
            ("address", &["address"]),
            ("a,,b", &["a", "b"]),
        ];
        for (csv, expected) in cases {
            assert_eq!(header_columns(csv), expected, "{csv:?}");
        }
    }

    #[test]
    fn the_address_column_is_guessed() {
        let cases: [(&[&str], &str); 5] = [
            (&["name", "email"], "email"),
            (&["name", "EMAIL", "mail"], "EMAIL"),
            (&["name", "E-Mail"], "E-Mail"),
            (&["to", "name"], "to"),
            (&[], ""),
        ];
        for (columns, expected) in cases {
            let columns: Vec<String> = columns.iter().map(|c| (*c).to_owned()).collect();
            assert_eq!(address_column(&columns), expected, "{columns:?}");
        }
    }

    #[test]
    fn a_list_over_20_mb_is_refused_before_it_is_read() {
        let cases = [
            (0, false),
            (MAX_LIST_BYTES, false),
            (MAX_LIST_BYTES + 1, true),
            (50_000_000, true),
        ];
        for (size, refused) in cases {
            let model = run(vec![Action::Reading {
                key: 1,
                name: "big.csv".to_owned(),
                size,
            }]);
            assert_eq!(
                matches!(model.file_status, FileStatus::Refused(_)),
                refused,
                "{size}"
            );
        }
        let why = refusal("big.csv", 50_000_000).unwrap_or_default();
        assert!(why.contains("big.csv is 50.0 MB"), "{why}");
    }

    #[test]
    fn loading_a_list_fills_the_form_and_the_spec() {
        let model = run(vec![
            loaded("name,Email\nA,a@example.com\n"),
            Action::Edit(Field::Subject, "Hello {{ name }}".to_owned()),
            Action::Edit(Field::Text, "Hi".to_owned()),
            Action::Edit(
                Field::UnsubscribeUrl,
                " https://x.example/u/{token} ".to_owned(),
            ),
        ]);
        let spec = model.spec().expect("the list has uploaded");
        assert_eq!(spec.address_column, "Email");
        assert_eq!(spec.name, "people");
        assert_eq!(spec.csv_upload, Some(41));
        assert_eq!(spec.csv, "", "the list goes as an upload, not in the spec");
        assert_eq!(spec.subject, "Hello {{ name }}");
        assert_eq!(spec.text.as_deref(), Some("Hi"));
        assert_eq!(spec.html, None);
        assert_eq!(
            spec.unsubscribe_url.as_deref(),
            Some("https://x.example/u/{token}")
        );
        assert_eq!(spec.unsubscribe_mailto, None);
        assert!(!spec.skip_bad_rows);
    }

    #[test]
    fn the_spec_names_the_upload_once_it_has_finished() {
        let uploading = vec![
            Action::Reading {
                key: 1,
                name: "people.csv".to_owned(),
                size: 70_000,
            },
            load(1, "email,name\nperson1@example.com,A"),
            Action::UploadStarted { key: 1, upload: 7 },
            Action::UploadProgress {
                key: 1,
                sent: 32_768,
            },
        ];
        let model = run_raw(uploading.clone());
        assert_eq!(model.columns(), ["email", "name"]);
        assert_eq!(model.address_column, "email");
        assert_eq!(model.spec(), None);
        assert_eq!(
            model.file.as_ref().map(|file| &file.state),
            Some(&Upload::Uploading { sent: 32_768 })
        );

        let model = model.reduce(Action::Uploaded { key: 1 });
        let spec = model.spec().expect("the list has uploaded");
        assert_eq!(spec.csv_upload, Some(7));
        assert_eq!(spec.csv, "");
        assert_eq!(model.held_upload(), Some(7));
        assert_eq!(model.start_blocked(), Some("Check the list first."));
    }

    #[test]
    fn there_is_no_spec_to_check_before_the_upload_has_finished() {
        let cases: Vec<(Vec<Action>, &str)> = vec![
            (
                vec![load(1, "email\n")],
                "The list is uploading: check it once it has.",
            ),
            (
                vec![
                    load(1, "email\n"),
                    Action::UploadStarted { key: 1, upload: 7 },
                    Action::UploadProgress { key: 1, sent: 10 },
                ],
                "The list is uploading: check it once it has.",
            ),
            (
                vec![
                    load(1, "email\n"),
                    Action::UploadStarted { key: 1, upload: 7 },
                    Action::UploadFailed {
                        key: 1,
                        why: "the bridge stopped".to_owned(),
                    },
                    // A late word from the failed upload changes nothing.
                    Action::Uploaded { key: 1 },
                ],
                "The list did not upload: choose it again.",
            ),
            // The bridge never named the upload, so there is none to name.
            (
                vec![load(1, "email\n"), Action::Uploaded { key: 1 }],
                "The list is uploading: check it once it has.",
            ),
        ];
        for (actions, blocked) in cases {
            let model = run_raw(actions.clone());
            assert_eq!(model.spec(), None, "{actions:?}");
            assert_eq!(model.start_blocked(), Some(blocked), "{actions:?}");
            assert!(model.file.is_some(), "{actions:?}");
        }
    }

    #[test]
    fn a_new_file_discards_the_earlier_upload() {
        let model = run_raw(vec![
            load(1, "email\n"),
            Action::UploadStarted { key: 1, upload: 7 },
            Action::Uploaded { key: 1 },
            Action::Reading {
                key: 2,
                name: "other.csv".to_owned(),
                size: 100,
            },
        ]);
        assert!(model.discard.is_empty(), "the new file is only being read");
        assert_eq!(model.next_file(), 3);
        let model = model.reduce(load(2, "mail,name\n"));
        assert_eq!(model.discard, [7]);
        assert_eq!(model.spec(), None, "the new file has not uploaded yet");
        assert_eq!(model.columns(), ["mail", "name"]);

        // The component discards it and says so.
        let model = model.reduce(Action::Discarded(vec![7]));
        assert!(model.discard.is_empty());
        let model = model
            .reduce(Action::UploadStarted { key: 2, upload: 8 })
            .reduce(Action::Uploaded { key: 2 });
        assert_eq!(model.spec().and_then(|spec| spec.csv_upload), Some(8));

        // A file replaced before the bridge named its upload: the name goes to discard.
        let model = run_raw(vec![
            load(1, "email\n"),
            load(2, "email\n"),
            Action::UploadStarted { key: 1, upload: 7 },
            Action::UploadStarted { key: 2, upload: 8 },
            Action::Uploaded { key: 1 },
        ]);
        assert_eq!(model.discard, [7]);
        assert_eq!(model.spec(), None);
        assert_eq!(model.held_upload(), Some(8));

        // An older file read after a newer one was chosen does not replace it.
        let model = run_raw(vec![
            Action::Reading {
                key: 1,
                name: "a.csv".to_owned(),
                size: 10,
            },
            Action::Reading {
                key: 2,
                name: "b.csv".to_owned(),
                size: 10,
            },
            load(2, "b\n"),
            load(1, "a\n"),
        ]);
        assert_eq!(model.file.as_ref().map(|file| file.key), Some(2));
    }

    #[test]
    fn a_started_campaign_has_taken_the_upload() {
        let model = run(vec![
            loaded("email\n"),
            Action::Checking(1),
            Action::Checked(1, Ok(check(&["email"], false))),
            Action::Confirm(true),
            Action::Starting,
            Action::Started(Ok(campaign(4, CampaignState::Running, 40))),
        ]);
        assert_eq!(model.held_upload(), None);
        assert_eq!(model.spec(), None);
        assert_eq!(
            model.start_blocked(),
            Some("A campaign started with this list: choose a list for another.")
        );
        // The bridge has let go of it: a new list does not discard it again.
        let model = model.reduce(load(2, "email\n"));
        assert!(model.discard.is_empty());

        // A start that failed leaves the upload with the bridge.
        let model = run(vec![
            loaded("email\n"),
            Action::Checking(1),
            Action::Checked(1, Ok(check(&["email"], false))),
            Action::Starting,
            Action::Started(Err(error())),
            load(2, "email\n"),
        ]);
        assert_eq!(model.discard, [41]);
    }

    #[test]
    fn only_the_newest_check_counts_and_a_change_makes_it_stale() {
        let model = run(vec![
            loaded("email,name\n"),
            Action::Checking(1),
            Action::Checking(2),
            Action::Checked(2, Ok(check(&["email", "name"], true))),
            // The first check answers late: it is not shown.
            Action::Checked(1, Err(error())),
        ]);
        assert!(matches!(model.check, Ask::Done(_)));
        assert_eq!(
            model.start_blocked(),
            Some("The list has problems: fix them in the file, or tick “Skip the bad rows”.")
        );
        let model = model.reduce(Action::SkipBadRows(true));
        assert!(model.check_stale);
        assert_eq!(
            model.start_blocked(),
            Some("The form changed since the check: check the list again.")
        );
        let model = run(vec![
            loaded("email,name\n"),
            Action::SkipBadRows(true),
            Action::Checking(1),
            Action::Checked(1, Ok(check(&["email", "name"], false))),
        ]);
        assert_eq!(model.start_blocked(), None);
        let model = model.reduce(Action::Confirm(true));
        assert!(model.confirming);
        let model = model.reduce(Action::Edit(Field::Row, "3".to_owned()));
        assert!(
            model.confirming,
            "choosing a row to preview changes nothing"
        );
        assert_eq!(model.row(), Ok(3));
    }

    #[test]
    fn start_waits_for_a_good_check() {
        let cases: Vec<(Vec<Action>, Option<&str>)> = vec![
            (vec![], Some("Choose the list first.")),
            (vec![loaded("email\n")], Some("Check the list first.")),
            (
                vec![
                    loaded("email\n"),
                    Action::Checking(1),
                    Action::Checked(1, Err(error())),
                ],
                Some("Check the list first."),
            ),
            (
                vec![
                    loaded("email\n"),
                    Action::Checking(1),
                    Action::Checked(
                        1,
                        Ok(CampaignCheck {
                            valid: 0,
                            ..check(&["email"], false)
                        }),
                    ),
                ],
                Some("No row would be sent."),
            ),
            (
                vec![
                    loaded("email\n"),
                    Action::Checking(1),
                    Action::Checked(1, Ok(check(&["email"], false))),
                ],
                None,
            ),
        ];
        for (actions, expected) in cases {
            let model = run(actions.clone());
            assert_eq!(model.start_blocked(), expected, "{actions:?}");
            let confirming = model.reduce(Action::Confirm(true)).confirming;
            assert_eq!(confirming, expected.is_none(), "{actions:?}");
        }
    }

    #[test]
    fn the_check_brings_the_columns_and_corrects_the_address_column() {
        let model = run(vec![
            loaded("who,name\n"),
            Action::Checking(1),
            Action::Checked(1, Ok(check(&["name", "email"], false))),
        ]);
        assert_eq!(model.columns(), ["name", "email"]);
        assert_eq!(model.address_column, "email");
    }

    #[test]
    fn row_numbers_are_checked() {
        let checked = vec![
            loaded("email\n"),
            Action::Checking(1),
            Action::Checked(1, Ok(check(&["email"], false))),
        ];
        let cases = [
            ("3", Ok(3)),
            (" 50 ", Ok(50)),
            (
                "0",
                Err("Give a row number: 1 is the first row after the header."),
            ),
            (
                "x",
                Err("Give a row number: 1 is the first row after the header."),
            ),
            ("51", Err("The list has 50 rows, so row 51 is not in it.")),
        ];
        for (typed, expected) in cases {
            let mut actions = checked.clone();
            actions.push(Action::Edit(Field::Row, typed.to_owned()));
            let model = run(actions);
            assert_eq!(model.row(), expected.map_err(str::to_owned), "{typed:?}");
        }
    }

    #[test]
    fn campaigns_list_newest_first_and_the_running_one_shows() {
        let model = run(vec![Action::Listed(Ok(vec![
            campaign(1, CampaignState::Finished, 10),
            campaign(2, CampaignState::Paused, 20),
            campaign(3, CampaignState::Cancelled, 30),
        ]))]);
        let Ask::Done(campaigns) = &model.campaigns else {
            panic!("{:?}", model.campaigns);
        };
        let ids: Vec<u64> = campaigns.iter().map(|campaign| campaign.id).collect();
        assert_eq!(ids, [3, 2, 1]);
        assert_eq!(model.shown().map(|campaign| campaign.id), Some(2));

        let model = model.reduce(Action::Started(Ok(campaign(4, CampaignState::Running, 40))));
        assert_eq!(model.shown().map(|campaign| campaign.id), Some(4));
        let model = model.reduce(Action::Changed(Ok(campaign(4, CampaignState::Paused, 40))));
        assert_eq!(
            model.shown().map(|campaign| campaign.state),
            Some(CampaignState::Paused)
        );
        assert_eq!(model.acted, Ask::Done("“c4” is paused now.".to_owned()));
        // A failed reload keeps the list on screen.
        let model = model.reduce(Action::Listed(Err(error())));
        assert!(matches!(&model.campaigns, Ask::Done(list) if list.len() == 4));
        let model = model.reduce(Action::Show(1));
        assert_eq!(model.shown().map(|campaign| campaign.id), Some(1));
    }

    #[test]
    fn durations_read_in_words() {
        let cases = [
            (0, "0 seconds"),
            (48, "48 seconds"),
            (60, "about a minute"),
            (121, "about 3 minutes"),
            (3600, "about 1 h 0 min"),
            (12_000, "about 3 h 20 min"),
        ];
        for (seconds, expected) in cases {
            assert_eq!(duration(seconds), expected, "{seconds}");
        }
    }
}
