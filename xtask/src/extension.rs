//! `cargo xtask extension`: the web app as a Manifest V3 browser extension in `dist-ext/`,
//! checked by Mozilla's `web-ext lint`, and its zip for the Chrome Web Store.
//!
//! The extension is the page's own build, not a second one: every file Trunk wrote to `dist/`
//! (the same wasm, byte for byte) plus the manifest, icons and toolbar script from
//! `web/extension/`. Only the HTML changes: an extension page may run no inline script, so the
//! bootstrap Trunk inlines in `index.html` moves to `app.js`, loaded by `app.html`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::tools;

/// The unpacked extension, git-ignored build output.
pub const DIST_EXT: &str = "dist-ext";
/// The extension's sources: the manifest (with the pinned public `key`), icons, the toolbar
/// button's service worker.
const SOURCES: &str = "web/extension";
/// The page the toolbar button opens.
const APP_HTML: &str = "app.html";
/// The bootstrap Trunk would inline, as a file.
const APP_JS: &str = "app.js";

/// Builds `dist-ext/` from a built `dist/` and returns it.
pub fn build(root: &Path, dist: &Path) -> Result<PathBuf> {
    let out = root.join(DIST_EXT);
    if out.exists() {
        std::fs::remove_dir_all(&out).with_context(|| format!("removing {}", out.display()))?;
    }
    copy_tree(dist, &out, &|name| name != "index.html")?;
    let index = dist.join("index.html");
    let html =
        std::fs::read_to_string(&index).with_context(|| format!("reading {}", index.display()))?;
    let (html, script) = move_inline_script(&html).with_context(|| {
        format!(
            "{} has no inline <script type=\"module\"> bootstrap to move into {APP_JS}; has Trunk's output changed?",
            index.display()
        )
    })?;
    std::fs::write(out.join(APP_HTML), html).context("writing dist-ext/app.html")?;
    std::fs::write(out.join(APP_JS), script).context("writing dist-ext/app.js")?;
    copy_tree(&root.join(SOURCES), &out, &|_| true)?;
    println!("==> the extension is in {}", out.display());
    Ok(out)
}

/// Mozilla's `web-ext lint` over `dist-ext/`: errors fail the build.
pub fn lint(root: &Path, dist_ext: &Path) -> Result<()> {
    tools::run(
        Command::new(tools::web_ext(root))
            .current_dir(root)
            .args(["lint", "--no-config-discovery", "--source-dir"])
            .arg(dist_ext),
    )
    .context("web-ext lint found errors in dist-ext/ (listed above)")
}

/// The zip for the Chrome Web Store, packed by `web-ext build` from a copy of `dist-ext/`
/// without the manifest's `key`: the store refuses an upload that has one, and gives the
/// published extension its own ID. Returns the zip's path.
pub fn pack(root: &Path, dist_ext: &Path) -> Result<PathBuf> {
    let work = tools::target_dir(root).join("extension");
    let store = work.join("store");
    if store.exists() {
        std::fs::remove_dir_all(&store).with_context(|| format!("removing {}", store.display()))?;
    }
    copy_tree(dist_ext, &store, &|name| name != "manifest.json")?;
    let manifest_path = dist_ext.join("manifest.json");
    let manifest = std::fs::read_to_string(&manifest_path)
        .with_context(|| format!("reading {}", manifest_path.display()))?;
    std::fs::write(store.join("manifest.json"), without_key(&manifest)?)
        .context("writing the store copy's manifest.json")?;
    let version = manifest_version(&manifest)?;
    let name = format!("mailbridge-extension-{version}.zip");
    tools::run(
        Command::new(tools::web_ext(root))
            .current_dir(root)
            .args(["build", "--no-config-discovery", "--overwrite-dest"])
            .arg("--source-dir")
            .arg(&store)
            .arg("--artifacts-dir")
            .arg(&work)
            .args(["--filename", &name]),
    )
    .context("packing the extension's zip with web-ext build")?;
    let zip = work.join(name);
    println!("==> the Chrome Web Store zip is {}", zip.display());
    Ok(zip)
}

/// Splits Trunk's page into the page with `<script type="module" src="/app.js">` in place of
/// its inline bootstrap, and that bootstrap.
fn move_inline_script(html: &str) -> Option<(String, String)> {
    const OPEN: &str = "<script type=\"module\">";
    let start = html.find(OPEN)?;
    let body_start = start + OPEN.len();
    let body_len = html[body_start..].find("</script>")?;
    let script = html[body_start..body_start + body_len].trim().to_owned();
    let end = body_start + body_len + "</script>".len();
    let page = format!(
        "{}<script type=\"module\" src=\"/{APP_JS}\"></script>{}",
        &html[..start],
        &html[end..]
    );
    // A second inline script would be refused by the extension's CSP just the same.
    if page.contains("<script>") || page.contains(OPEN) {
        return None;
    }
    Some((page, script))
}

/// The manifest without its `"key": ...` line (the manifest keeps it on one line of its own,
/// followed by other members, so the JSON stays valid).
fn without_key(manifest: &str) -> Result<String> {
    let kept: Vec<&str> = manifest
        .lines()
        .filter(|line| !line.trim_start().starts_with("\"key\":"))
        .collect();
    if kept.len() + 1 != manifest.lines().count() {
        bail!(
            "{SOURCES}/manifest.json must have its \"key\" on exactly one line of its own, with a comma"
        );
    }
    Ok(kept.join("\n") + "\n")
}

/// The manifest's `"version": "X"`.
fn manifest_version(manifest: &str) -> Result<&str> {
    manifest
        .lines()
        .find_map(|line| {
            line.trim()
                .strip_prefix("\"version\": \"")?
                .split('"')
                .next()
        })
        .context("web/extension/manifest.json has no \"version\" line")
}

/// Copies `from` into `to`, folders included, leaving out top-level files `keep` refuses.
fn copy_tree(from: &Path, to: &Path, keep: &dyn Fn(&str) -> bool) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    let entries = std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("reading {}", from.display()))?;
        let name = entry.file_name();
        if !keep(&name.to_string_lossy()) {
            continue;
        }
        let (source, target) = (entry.path(), to.join(&name));
        if entry.file_type()?.is_dir() {
            copy_tree(&source, &target, &|_| true)?;
        } else {
            std::fs::copy(&source, &target)
                .with_context(|| format!("copying {} to {}", source.display(), target.display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{manifest_version, move_inline_script, without_key};

    const TRUNK_PAGE: &str = "<html><head>\n<link rel=\"stylesheet\" href=\"/style-1.css\"/>\n\
        <script type=\"module\">\nimport init from '/web-1.js';\nawait init({ module_or_path: '/web-1_bg.wasm' });\n</script>\n\
        <link rel=\"modulepreload\" href=\"/web-1.js\"></head><body></body></html>";

    #[test]
    fn the_bootstrap_moves_out_of_the_page() {
        let (page, script) = move_inline_script(TRUNK_PAGE).expect("a bootstrap");
        assert!(
            page.contains("<script type=\"module\" src=\"/app.js\"></script>"),
            "{page}"
        );
        assert!(!page.contains("import init"), "{page}");
        assert!(page.contains("/style-1.css") && page.contains("modulepreload"));
        assert!(
            script.starts_with("import init from '/web-1.js';"),
            "{script}"
        );
        assert!(script.ends_with("'/web-1_bg.wasm' });"), "{script}");
    }

    #[test]
    fn a_page_without_one_or_with_two_is_refused() {
        assert!(move_inline_script("<html><body></body></html>").is_none());
        let two = TRUNK_PAGE.replace("</head>", "<script>alert(1)</script></head>");
        assert!(move_inline_script(&two).is_none());
    }

    #[test]
    fn the_store_copy_has_no_key() {
        let manifest = "{\n  \"version\": \"0.1.0\",\n  \"key\": \"MIIB\",\n  \"name\": \"m\"\n}\n";
        let stripped = without_key(manifest).expect("stripped");
        assert_eq!(
            stripped,
            "{\n  \"version\": \"0.1.0\",\n  \"name\": \"m\"\n}\n"
        );
        assert!(without_key("{}").is_err());
        assert_eq!(manifest_version(manifest).ok(), Some("0.1.0"));
    }
}
