//! `cargo xtask caniemail`: regenerates `crates/lint/src/caniemail.rs` from the npm package
//! `caniemail` (MIT), keeping only the Gmail rows.

use std::path::Path;

use anyhow::{Result, bail};

pub fn generate(_root: &Path) -> Result<()> {
    bail!("not written yet")
}
