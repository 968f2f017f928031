//! The components the views share, one per file; [`App`] lays out the page around the view the
//! address names.

mod alert;
mod app;
#[cfg(all(test, target_arch = "wasm32"))]
mod browser_tests;
mod check_report;
mod connection_status;
mod diagnosis_card;
mod error_details;
pub mod forms;
mod lint_report;
mod nav;
mod pairing_form;
pub mod transcript;

pub use alert::Alert;
pub use app::App;
pub use check_report::CheckReport;
pub use diagnosis_card::DiagnosisCard;
pub use error_details::ErrorDetails;
pub use lint_report::LintReportView;
pub use transcript::Transcript;
