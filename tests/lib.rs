//! Nothing here: see `main.rs`, the integration-test binary.
