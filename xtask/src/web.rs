//! Builds the web app (`web/`) into `dist/` with Trunk, which the bridge then embeds.
//!
//! Every tool comes from a package registry this project may use: Trunk and wasm-bindgen from
//! crates.io, wasm-opt from npm's `binaryen`. Trunk runs with `--offline`, so it never downloads
//! a tool itself; it must find each one on `PATH` at the version it wants, which is why
//! [`ensure_web_tools`] installs exactly those versions.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::tools;

/// Trunk 0.22 needs a newer rustc than this workspace's.
const TRUNK_REQUIREMENT: &str = "^0.21";
const TRUNK_VERSION_PREFIX: &str = "trunk 0.21.";
/// Must match `[tools] wasm_opt` in `Trunk.toml`. npm's binaryen, because Debian's (108)
/// cannot read the wasm that current rustc writes.
const BINARYEN_VERSION: &str = "132";
/// npm installs binaryen here (gitignored), not globally.
const TOOLS_DIR: &str = ".tools";

/// Installs what `trunk build` needs, each only when it is missing or at the wrong version:
/// the wasm32 target, Trunk, the wasm-bindgen CLI at the version `Cargo.lock` pins for the
/// `wasm-bindgen` crate, and wasm-opt.
pub fn ensure_web_tools(root: &Path) -> Result<()> {
    tools::ensure_wasm_target()?;
    let path = search_path(root)?;

    if !version_of("trunk", &path).is_some_and(|version| version.starts_with(TRUNK_VERSION_PREFIX))
    {
        timed(
            "install trunk (crates.io; takes about 12 minutes on 2 cores)",
            || {
                tools::run(cargo(root).args([
                    "install",
                    "trunk",
                    "--version",
                    TRUNK_REQUIREMENT,
                    "--locked",
                ]))
            },
        )?;
    }

    let wanted = locked_version(&root.join("Cargo.lock"), "wasm-bindgen")?;
    if version_of("wasm-bindgen", &path) != Some(format!("wasm-bindgen {wanted}")) {
        timed(
            &format!("install wasm-bindgen-cli {wanted} (crates.io; about 4 minutes)"),
            || {
                // Not `--locked`: one of the dependencies its lock file names has been removed
                // from the crates.io index, so the locked install cannot resolve.
                tools::run(cargo(root).args([
                    "install",
                    "wasm-bindgen-cli",
                    "--version",
                    &format!("={wanted}"),
                ]))
            },
        )?;
    }

    let wasm_opt = root.join(TOOLS_DIR).join("node_modules/.bin/wasm-opt");
    let has_wasm_opt = version_of(&wasm_opt, &path)
        .is_some_and(|version| version.contains(&format!("version {BINARYEN_VERSION}")));
    if !has_wasm_opt {
        timed(
            &format!("install binaryen@{BINARYEN_VERSION} (npm)"),
            || {
                tools::run(
                    Command::new("npm")
                        .current_dir(root)
                        .args(["install", "--no-audit", "--no-fund", "--prefix", TOOLS_DIR])
                        .arg(format!("binaryen@{BINARYEN_VERSION}")),
                )
            },
        )?;
    }
    Ok(())
}

/// Where the page's second module goes in `dist/`: every view but Compose, which the first
/// module imports from `/views/views.js` when the address first names one (`web/src/views/lazy.rs`).
pub const VIEWS_DIR: &str = "views";

/// Runs `trunk build --release --offline`, then builds the page's second module beside it,
/// and returns the `dist/` folder they filled.
pub fn build_web(root: &Path) -> Result<PathBuf> {
    let path = search_path(root)?;
    timed("build the web app: trunk build --release --offline", || {
        tools::run(
            Command::new("trunk")
                .current_dir(root)
                .args(["build", "--release", "--offline"])
                .env("PATH", &path),
        )
    })?;
    let dist = root.join("dist");
    if !dist.join("index.html").is_file() {
        bail!(
            "trunk reported success but {} has no index.html",
            dist.display()
        );
    }
    timed(
        "build the other views' module: cargo build --bin views, wasm-bindgen, wasm-opt -Oz",
        || build_views(root, &dist, &path),
    )?;
    Ok(dist)
}

/// The second module, built as Trunk builds the first (`web/index.html`): the `web-release`
/// profile, wasm-bindgen's `web` target, then `wasm-opt -Oz`. Trunk builds one app per page, so
/// this one is built here.
fn build_views(root: &Path, dist: &Path, path: &OsString) -> Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    tools::run(
        Command::new(cargo)
            .current_dir(root)
            .args([
                "build",
                "-p",
                "web",
                "--bin",
                "views",
                "--profile",
                "web-release",
            ])
            .args(["--target", "wasm32-unknown-unknown"]),
    )
    .context("building the views module (web/src/bin/views.rs)")?;
    let wasm = tools::target_dir(root).join("wasm32-unknown-unknown/web-release/views.wasm");
    let out = dist.join(VIEWS_DIR);
    tools::run(
        Command::new("wasm-bindgen")
            .env("PATH", path)
            .args(["--target=web", "--out-name=views", "--no-typescript"])
            .arg(format!("--out-dir={}", out.display()))
            .arg(&wasm),
    )
    .context("running wasm-bindgen on the views module")?;
    let bindgen = out.join("views_bg.wasm");
    let optimised = out.join("views_bg.opt.wasm");
    tools::run(
        Command::new(root.join(TOOLS_DIR).join("node_modules/.bin/wasm-opt"))
            .env("PATH", path)
            .arg(format!("--output={}", optimised.display()))
            .arg("-Oz")
            .arg(&bindgen),
    )
    .context("running wasm-opt on the views module")?;
    std::fs::rename(&optimised, &bindgen)
        .with_context(|| format!("replacing {}", bindgen.display()))
}

/// A short fingerprint of a built app. `index.html` names every file Trunk wrote by a hash of
/// its content; the views module's files are read whole.
pub fn fingerprint(dist: &Path) -> Result<String> {
    let mut bytes = Vec::new();
    for file in [
        dist.join("index.html"),
        dist.join(VIEWS_DIR).join("views.js"),
        dist.join(VIEWS_DIR).join("views_bg.wasm"),
    ] {
        bytes.extend(std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?);
    }
    // FNV-1a: enough to tell builds apart, and it needs no dependency.
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    Ok(format!("{hash:016x}"))
}

/// `PATH` with cargo's install folder and npm's `.bin` for the tools in front.
pub fn search_path(root: &Path) -> Result<OsString> {
    let cargo_bin = match std::env::var_os("CARGO_HOME") {
        Some(home) => PathBuf::from(home).join("bin"),
        None => std::env::home_dir()
            .context("finding the home folder (for ~/.cargo/bin)")?
            .join(".cargo/bin"),
    };
    let mut folders = vec![root.join(TOOLS_DIR).join("node_modules/.bin"), cargo_bin];
    folders.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(folders).context("building PATH for the web tools")
}

/// What `PROGRAM --version` prints, trimmed, or `None` when it does not run.
fn version_of(program: impl AsRef<std::ffi::OsStr>, path: &OsString) -> Option<String> {
    let output = Command::new(program)
        .arg("--version")
        .env("PATH", path)
        .stderr(Stdio::null())
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// The version `Cargo.lock` pins for `package`.
fn locked_version(lock_file: &Path, package: &str) -> Result<String> {
    let text = std::fs::read_to_string(lock_file)
        .with_context(|| format!("reading {}", lock_file.display()))?;
    find_locked_version(&text, package).with_context(|| {
        format!(
            "{} has no `{package}` package; the web app depends on it, so run `cargo generate-lockfile`",
            lock_file.display()
        )
    })
}

fn find_locked_version(lock: &str, package: &str) -> Option<String> {
    let name_line = format!("name = \"{package}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == name_line {
            let version = lines.next()?.trim().strip_prefix("version = \"")?;
            return Some(version.strip_suffix('"')?.to_owned());
        }
    }
    None
}

fn cargo(root: &Path) -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(root);
    command
}

fn timed(what: &str, work: impl FnOnce() -> Result<()>) -> Result<()> {
    println!("\n==> {what}");
    let started = Instant::now();
    work().with_context(|| format!("failed to {what}"))?;
    println!(
        "==> {what}: done in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::find_locked_version;

    #[test]
    fn reads_the_pinned_version_from_cargo_lock() {
        let lock = r#"
[[package]]
name = "wasm-bindgen-macro"
version = "0.2.99"

[[package]]
name = "wasm-bindgen"
version = "0.2.130"
source = "registry+https://github.com/rust-lang/crates.io-index"
"#;
        assert_eq!(
            find_locked_version(lock, "wasm-bindgen").as_deref(),
            Some("0.2.130")
        );
        assert_eq!(find_locked_version(lock, "yew"), None);
    }
}
