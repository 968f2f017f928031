//! The components, one per file; [`App`] lays them out.

mod alert;
mod app;
mod attachments;
#[cfg(all(test, target_arch = "wasm32"))]
mod browser_tests;
mod check_report;
mod chips;
mod compose;
mod connection_status;
mod diagnosis_card;
mod error_details;
mod history;
mod inbox;
mod message_view;
mod preview;
mod profile_editor;
mod profile_io;
mod profile_list;
mod send_result;
mod transcript;

pub use app::App;
pub use chips::Addresses;
