//! Campaigns: one template and a list of people, merged into one draft per recipient.
//!
//! Everything here is pure (bytes in, drafts out) except reading and writing the suppression
//! file, so the page and the command line check a list the same way before anything is queued.
//!
//! **Row numbers** count the list's data rows from 1: the first row after the header is row 1,
//! and the header is not a row. Errors that come from the bytes of the file also give the line
//! of the file (the header being line 1) and the byte offset.
//!
//! # Layout
//! - `csv`: the list: UTF-8 with or without BOM, comma or semicolon, a header row, a size cap.
//! - `template`: minijinja templates for the subject, text and HTML, strict and fuelled.
//! - `merge`: the checks (addresses, duplicates, suppression, injection) and the drafts.
//! - `suppression`: `suppressed.csv` in the data directory, fed from several sources.
//! - `unsubscribe`: signed one-click unsubscribe tokens (RFC 8058) and the List-* headers.

pub mod csv;
pub mod merge;
pub mod suppression;
pub mod template;
pub mod unsubscribe;

pub use self::csv::{CsvConfig, CsvError, List, Row};
pub use merge::{MergeConfig, MergeError, Problem, Report, merge};
pub use suppression::{Source, Suppression};
pub use template::{Rendered, Renderer, TemplateError, Templates};
pub use unsubscribe::{Unsubscribe, Verdict};
