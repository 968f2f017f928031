//! The merge: a list and templates in, one draft per recipient out, after every check.
//!
//! Each row is checked in order: its width, its address (parsed as compose parses one), a
//! duplicate of an earlier row (ignoring case: removed and counted), the suppression list
//! (skipped and counted), then the templates are rendered and the subject is checked for
//! header injection. Every problem is reported with its row and field. When any row has a
//! problem no draft is produced, unless the caller skips the bad rows.

use std::collections::{BTreeMap, HashMap};

use protocol::Draft;

use super::csv::List;
use super::suppression::Suppression;
use super::template::{DEFAULT_FUEL, Renderer, TemplateError, Templates};
use super::unsubscribe::{SettingsError, Unsubscribe};

/// How to merge.
#[derive(Debug, Clone)]
pub struct MergeConfig {
    /// The column holding each recipient's address.
    pub to_column: String,
    /// Produce drafts for the good rows even when others have problems.
    pub skip_bad_rows: bool,
    /// One-click unsubscribe headers and the `unsubscribe_url` variable, when configured. The
    /// configured URL wins over a column of the same name.
    pub unsubscribe: Option<Unsubscribe>,
    /// The fuel for each template of each row.
    pub fuel: u64,
}

impl MergeConfig {
    pub fn new(to_column: impl Into<String>) -> MergeConfig {
        MergeConfig {
            to_column: to_column.into(),
            skip_bad_rows: false,
            unsubscribe: None,
            fuel: DEFAULT_FUEL,
        }
    }
}

/// A problem with one row: its number (data rows from 1), the field and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub row: usize,
    /// A column name, or "subject", "text", "html" for the rendered message.
    pub field: String,
    pub message: String,
}

/// What the merge found and made.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Data rows in the list.
    pub rows: usize,
    /// Rows that would be sent: not bad, not duplicates, not suppressed.
    pub valid: usize,
    /// Each removed duplicate's row and the row it repeats.
    pub duplicates: Vec<(usize, usize)>,
    /// Rows whose address is on the suppression list.
    pub suppressed: Vec<usize>,
    pub problems: Vec<Problem>,
    /// One draft per valid row, with its row number; empty when there are problems and bad
    /// rows are not skipped.
    pub drafts: Vec<(usize, Draft)>,
    /// The first valid row's message, for a preview.
    pub first: Option<(usize, super::template::Rendered)>,
}

impl Report {
    /// Whether the drafts may be queued.
    pub fn ready(&self) -> bool {
        !self.drafts.is_empty()
    }
}

/// Why nothing could be merged at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    #[error("the list has no column {column:?}; its columns are: {}", columns.join(", "))]
    NoAddressColumn {
        column: String,
        columns: Vec<String>,
    },
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("the unsubscribe settings: {0}")]
    Unsubscribe(#[from] SettingsError),
}

/// Merges every row of `list`; see the module docs for the checks.
pub fn merge(
    list: &List,
    templates: &Templates,
    suppression: &Suppression,
    config: &MergeConfig,
) -> Result<Report, MergeError> {
    let Some(address_column) = list.column(&config.to_column) else {
        return Err(MergeError::NoAddressColumn {
            column: config.to_column.clone(),
            columns: list.columns.clone(),
        });
    };
    if let Some(unsubscribe) = &config.unsubscribe {
        unsubscribe.check()?;
    }
    let renderer = Renderer::new(templates, config.fuel)?;
    let subject_variables = renderer.subject_variables();
    let mut report = Report {
        rows: list.rows.len(),
        ..Report::default()
    };
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut drafts = Vec::new();
    for row in &list.rows {
        let problem = |field: &str, message: String| Problem {
            row: row.number,
            field: field.to_owned(),
            message,
        };
        if row.values.len() != list.columns.len() {
            report.problems.push(problem(
                "(row)",
                format!(
                    "it has {} fields where the header has {} columns",
                    row.values.len(),
                    list.columns.len()
                ),
            ));
            continue;
        }
        let raw = row.get(address_column).unwrap_or_default();
        let address = match profile::Address::parse(raw) {
            Ok(address) => address,
            Err(error) => {
                report.problems.push(problem(
                    &list.columns[address_column],
                    format!("{raw:?} is not an address: {}", error.message()),
                ));
                continue;
            }
        };
        let key = address.as_str().to_lowercase();
        if let Some(&first) = seen.get(&key) {
            report.duplicates.push((row.number, first));
            continue;
        }
        seen.insert(key, row.number);
        if suppression.contains(address.as_str()) {
            report.suppressed.push(row.number);
            continue;
        }
        let mut vars: BTreeMap<&str, &str> = list
            .columns
            .iter()
            .map(String::as_str)
            .zip(row.values.iter().map(String::as_str))
            .collect();
        let url = config
            .unsubscribe
            .as_ref()
            .and_then(|u| u.url(address.as_str()));
        if let Some(url) = &url {
            vars.insert("unsubscribe_url", url);
        }
        let rendered = match renderer.render(&vars) {
            Ok(rendered) => rendered,
            Err(error) => {
                let field = match &error {
                    TemplateError::Undefined { variable, .. } => variable.clone(),
                    TemplateError::Syntax { template, .. }
                    | TemplateError::OutOfFuel { template, .. }
                    | TemplateError::Render { template, .. } => (*template).to_owned(),
                };
                report.problems.push(problem(&field, error.to_string()));
                continue;
            }
        };
        if rendered
            .subject
            .contains(['\r', '\n', '\u{2028}', '\u{2029}'])
        {
            // Name the column that brought the line break in, when one did.
            let field = subject_variables
                .iter()
                .find(|v| {
                    vars.get(v.as_str())
                        .is_some_and(|s| s.contains(['\r', '\n']))
                })
                .map_or("subject", String::as_str);
            report.problems.push(problem(
                field,
                "the subject would contain a line break, which would let this row add headers \
                 of its own (header injection): keep the value on one line"
                    .to_owned(),
            ));
            continue;
        }
        if report.first.is_none() {
            report.first = Some((row.number, rendered.clone()));
        }
        let headers = config
            .unsubscribe
            .as_ref()
            .map(|u| u.headers(address.as_str()))
            .unwrap_or_default();
        drafts.push((
            row.number,
            Draft {
                to: vec![address.as_str().to_owned()],
                cc: Vec::new(),
                bcc: Vec::new(),
                reply_to: None,
                subject: rendered.subject,
                text: rendered.text,
                html: rendered.html,
                attachments: Vec::new(),
                headers,
            },
        ));
    }
    report.valid = drafts.len();
    if report.problems.is_empty() || config.skip_bad_rows {
        report.drafts = drafts;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::super::csv::parse;
    use super::super::suppression::Source;
    use super::*;

    fn templates(subject: &str) -> Templates {
        Templates {
            subject: subject.to_owned(),
            text: Some("Dear {{ name }}\n".to_owned()),
            html: Some("<p>{{ name }}</p>".to_owned()),
        }
    }

    /// What a merge reports, in a form a table can spell out.
    #[derive(Debug, PartialEq, Eq)]
    struct Counts {
        rows: usize,
        valid: usize,
        duplicates: Vec<(usize, usize)>,
        suppressed: Vec<usize>,
        /// (row, field)
        problems: Vec<(usize, String)>,
        drafts: usize,
    }

    fn counts(report: &Report) -> Counts {
        Counts {
            rows: report.rows,
            valid: report.valid,
            duplicates: report.duplicates.clone(),
            suppressed: report.suppressed.clone(),
            problems: report
                .problems
                .iter()
                .map(|p| (p.row, p.field.clone()))
                .collect(),
            drafts: report.drafts.len(),
        }
    }

    #[test]
    fn checks_every_row() {
        let mut suppression = Suppression::default();
        suppression
            .import_csv(b"address\nGONE@example.com\n", Source::Import, 0)
            .expect("import");
        // (list, subject template, skip bad rows, expected)
        let cases: &[(&str, &str, bool, Counts)] = &[
            (
                "email,name\na@x.org,Ann\nb@x.org,Bo\n",
                "Hi {{ name }}",
                false,
                Counts {
                    rows: 2,
                    valid: 2,
                    duplicates: vec![],
                    suppressed: vec![],
                    problems: vec![],
                    drafts: 2,
                },
            ),
            (
                "email,name\na@x.org,Ann\nA@X.org,Ann again\nb@x.org,Bo\na@x.org,Ann\n",
                "Hi {{ name }}",
                false,
                Counts {
                    rows: 4,
                    valid: 2,
                    duplicates: vec![(2, 1), (4, 1)],
                    suppressed: vec![],
                    problems: vec![],
                    drafts: 2,
                },
            ),
            (
                "email,name\ngone@example.com,G\na@x.org,Ann\n",
                "Hi {{ name }}",
                false,
                Counts {
                    rows: 2,
                    valid: 1,
                    duplicates: vec![],
                    suppressed: vec![1],
                    problems: vec![],
                    drafts: 1,
                },
            ),
            (
                "email,name\nnot an address,X\na@x.org,Ann\nb@x.org\n",
                "Hi {{ name }}",
                false,
                Counts {
                    rows: 3,
                    valid: 1,
                    duplicates: vec![],
                    suppressed: vec![],
                    problems: vec![(1, "email".into()), (3, "(row)".into())],
                    drafts: 0,
                },
            ),
            (
                "email,name\nnot an address,X\na@x.org,Ann\n",
                "Hi {{ name }}",
                true,
                Counts {
                    rows: 2,
                    valid: 1,
                    duplicates: vec![],
                    suppressed: vec![],
                    problems: vec![(1, "email".into())],
                    drafts: 1,
                },
            ),
            (
                "email,name\na@x.org,\"Ann\r\nBcc: victim@example.com\"\nb@x.org,Bo\n",
                "Hi {{ name }}",
                false,
                Counts {
                    rows: 2,
                    valid: 1,
                    duplicates: vec![],
                    suppressed: vec![],
                    problems: vec![(1, "name".into())],
                    drafts: 0,
                },
            ),
            (
                "email,name\na@x.org,Ann\n",
                "Hi {{ name }} from {{ city }}",
                false,
                Counts {
                    rows: 1,
                    valid: 0,
                    duplicates: vec![],
                    suppressed: vec![],
                    problems: vec![(1, "city".into())],
                    drafts: 0,
                },
            ),
        ];
        for (csv, subject, skip, expected) in cases {
            let list = parse(csv.as_bytes()).expect("parses");
            let config = MergeConfig {
                skip_bad_rows: *skip,
                ..MergeConfig::new("email")
            };
            let report = merge(&list, &templates(subject), &suppression, &config).expect("merges");
            assert_eq!(&counts(&report), expected, "{csv}");
        }
    }

    #[test]
    fn drafts_have_one_recipient_and_the_unsubscribe_headers() {
        let list =
            parse(b"Email;name\nann@example.com;Ann\nbob@example.com;Bob\n").expect("parses");
        let key = b"0123456789abcdef0123456789abcdef".to_vec();
        let config = MergeConfig {
            unsubscribe: Some(Unsubscribe {
                campaign: "spring".into(),
                url_template: Some("https://example.com/u/{token}".into()),
                mailto: None,
                list_id: "spring.example.com".into(),
                expires_unix: 5_000,
                key: key.clone(),
            }),
            ..MergeConfig::new("email")
        };
        let sources = Templates {
            subject: "Hi {{ name }}".into(),
            text: Some("Leave: {{ unsubscribe_url }}".into()),
            html: None,
        };
        let report = merge(&list, &sources, &Suppression::default(), &config).expect("merges");
        assert_eq!(report.drafts.len(), 2);
        let (row, draft) = &report.drafts[1];
        assert_eq!(
            (*row, draft.to.as_slice()),
            (2, &["bob@example.com".to_owned()][..])
        );
        assert_eq!(draft.subject, "Hi Bob");
        let text = draft.text.as_deref().unwrap_or_default();
        let token = text.rsplit('/').next().unwrap_or_default();
        assert!(matches!(
            super::super::unsubscribe::verify(token, &key, 10),
            super::super::unsubscribe::Verdict::Valid(claims) if claims.recipient == "bob@example.com"
        ));
        let names: Vec<&str> = draft.headers.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(
            names,
            ["List-Unsubscribe", "List-Unsubscribe-Post", "List-Id"]
        );
        assert_eq!(
            report
                .first
                .as_ref()
                .map(|(row, r)| (*row, r.subject.as_str())),
            Some((1, "Hi Ann"))
        );
    }

    #[test]
    fn list_wide_errors_stop_the_merge() {
        let list = parse(b"email\na@x.org\n").expect("parses");
        let none = Suppression::default();
        assert!(matches!(
            merge(&list, &templates("Hi"), &none, &MergeConfig::new("mail")),
            Err(MergeError::NoAddressColumn { .. })
        ));
        assert!(matches!(
            merge(
                &list,
                &templates("Hi {% if %}"),
                &none,
                &MergeConfig::new("email")
            ),
            Err(MergeError::Template(TemplateError::Syntax {
                template: "subject",
                line: 1,
                ..
            }))
        ));
    }
}
