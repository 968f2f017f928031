//! `cargo xtask caniemail`: regenerates `crates/lint/src/caniemail.rs` from the npm package
//! `caniemail` (MIT), keeping only the Gmail rows.
//!
//! The package is pinned in `xtask/caniemail/package-lock.json` and installed with `npm ci`
//! into `.tools/caniemail` (gitignored); `xtask/caniemail/generate.mjs` turns its JSON into
//! Rust, and rustfmt formats the result. The JSON work is done in Node so that the xtask
//! needs no JSON crate.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};

use crate::tools;

/// The generated file, relative to the workspace root.
const OUTPUT: &str = "crates/lint/src/caniemail.rs";

pub fn generate(root: &Path) -> Result<()> {
    ensure_caniemail(root)?;
    let output = root.join(OUTPUT);
    println!("==> writing {OUTPUT}");
    tools::run(
        Command::new("node")
            .current_dir(root)
            .arg(root.join("xtask/caniemail/generate.mjs"))
            .arg(root.join(".tools/caniemail/node_modules"))
            .arg(&output),
    )
    .context("running xtask/caniemail/generate.mjs")?;
    tools::run(
        Command::new("rustfmt")
            .args(["--edition", "2024"])
            .arg(&output),
    )
    .with_context(|| format!("formatting {}", output.display()))
}

/// Installs the package at the version `xtask/caniemail/package-lock.json` pins into
/// `.tools/caniemail`. Only its data is read, so its scripts never need to run, and npm's
/// warning that the package's own checker wants Node 22 does not matter here.
fn ensure_caniemail(root: &Path) -> Result<()> {
    tools::npm_ci(
        root,
        &tools::NpmPackage {
            name: "caniemail",
            source: "xtask/caniemail",
            target: ".tools/caniemail",
            installed: "node_modules/caniemail/data/caniemail.json",
            ignore_scripts: true,
        },
    )
}
