//! Hooks shared by the components.

mod use_bridge;

pub use use_bridge::{Bridge, BridgeProvider, HISTORY_LIMIT, use_bridge};
