//! `cargo xtask caniemail`: regenerates `crates/lint/src/caniemail.rs` from the npm package
//! `caniemail` (MIT), keeping only the Gmail rows.
//!
//! The package is pinned in `xtask/caniemail/package-lock.json` and installed with `npm ci`
//! into `.tools/caniemail` (gitignored); `xtask/caniemail/generate.mjs` turns its JSON into
//! Rust, and rustfmt formats the result. The JSON work is done in Node so that the xtask
//! needs no JSON crate.

use std::path::Path;
use std::process::{Command, Stdio};

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

/// Installs the package at the version `xtask/caniemail/package-lock.json` pins, the way
/// `tools::ensure_nodemailer` installs nodemailer: `npm ci` into `.tools/caniemail` from
/// copies of that folder's `package.json` and lock; an install whose lock matches is kept.
fn ensure_caniemail(root: &Path) -> Result<()> {
    let source = root.join("xtask/caniemail");
    let target = root.join(".tools/caniemail");
    let lock_path = source.join("package-lock.json");
    let lock =
        std::fs::read(&lock_path).with_context(|| format!("reading {}", lock_path.display()))?;
    let installed = std::fs::read(target.join("package-lock.json")).is_ok_and(|old| old == lock)
        && target
            .join("node_modules/caniemail/data/caniemail.json")
            .is_file();
    if installed {
        return Ok(());
    }
    let has_npm = Command::new("npm")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !has_npm {
        println!("==> installing nodejs and npm (Debian packages)");
        tools::apt_install(&["nodejs", "npm"])?;
    }
    println!("==> installing caniemail (npm ci, from xtask/caniemail/package-lock.json)");
    std::fs::create_dir_all(&target).with_context(|| format!("creating {}", target.display()))?;
    for file in ["package.json", "package-lock.json"] {
        std::fs::copy(source.join(file), target.join(file))
            .with_context(|| format!("copying {file} into {}", target.display()))?;
    }
    // Only the package's data is read, so its scripts never need to run, and npm's warning
    // that the package's own checker wants Node 22 does not matter here.
    tools::run(Command::new("npm").current_dir(root).args([
        "ci",
        "--no-audit",
        "--no-fund",
        "--prefer-offline",
        "--ignore-scripts",
        "--prefix",
        ".tools/caniemail",
    ]))
}
