//! The components, one per file; [`App`] lays them out.

mod address_field;
mod alert;
mod app;
mod compose;
mod connection_status;
mod diagnosis_card;
mod error_details;
mod inbox;
mod message_view;
mod profile_list;
mod send_result;
mod transcript;

pub use app::App;
