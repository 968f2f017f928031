//! Hooks shared by the components.

mod shared_socket;
mod use_bridge;
mod use_file_drop;
mod use_route;

pub use use_bridge::{Bridge, BridgeProvider, HISTORY_LIMIT, OUTBOX_LIMIT, Role, use_bridge};
pub use use_file_drop::{files, use_file_drop};
pub use use_route::use_route;
