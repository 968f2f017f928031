//! Hooks shared by the components.

mod use_bridge;

pub use use_bridge::{BridgeProvider, use_bridge};
