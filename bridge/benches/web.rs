//! The web app's figures, in headless Chromium against a real `mailbridge serve`: the time from
//! navigation to the first rendered screen and to "Connected", a 20 MB attachment's upload with
//! its progress and the page's responsiveness meanwhile, and screenshots of compose, check
//! connection, the outbox and the sandbox inbox into `docs/`, and a 10,000-row campaign list
//! checked from the page (with the longest main-thread stall meanwhile) and by `mailbridge
//! merge`, and a screenshot of the checks before sending on a draft Gmail would refuse.
//! `cargo xtask bench` runs it after building the app; it reuses the browser tests' harness.

#[allow(dead_code, unused_imports)]
#[path = "../../tests/support.rs"]
mod support;

#[allow(dead_code)]
#[path = "../../tests/web/harness.rs"]
mod harness;

// For its Windows program to attach; its test is not compiled here.
#[allow(dead_code, unused_imports)]
#[path = "../../tests/web/lint.rs"]
mod lint;

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::{Value, json};

/// Navigations timed for the first screen; the first is cold (nothing cached).
const LOADS: usize = 10;
const UPLOAD_BYTES: usize = 20 * 1000 * 1000;

fn main() {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs");
    harness::run("bench", |web| async move {
        let bridge = web.start_bridge("bench");
        web.client
            .set_window_size(1440, 1000)
            .await
            .unwrap_or_else(|e| panic!("cannot size the window: {e}"));

        first_screen(&web, &bridge).await;
        upload(&web).await;
        screenshots(&web, &docs).await;
        campaign_list(&web, &bridge).await;
        lint_screenshot(&web, &docs).await;
    });
}

/// Navigation to the first rendered screen, and to "Connected", from the page's own User
/// Timing marks (`mailbridge:first-screen`, `mailbridge:connected`).
async fn first_screen(web: &harness::Web, bridge: &harness::Bridge) {
    let mut screens = Vec::new();
    let mut connected = Vec::new();
    for load in 0..LOADS {
        // Another page first, so each load is a whole navigation, not a fragment change.
        web.client
            .goto("about:blank")
            .await
            .unwrap_or_else(|e| panic!("cannot leave the page: {e}"));
        web.client
            .goto(&bridge.serve.url)
            .await
            .unwrap_or_else(|e| panic!("cannot open the app: {e}"));
        let marks = web
            .eventually("the first-screen and connected marks", async || {
                let marks = web
                    .js(
                        "const at = (name) => performance.getEntriesByName(name)[0]?.startTime;
                         return [at('mailbridge:first-screen'), at('mailbridge:connected')];",
                        vec![],
                    )
                    .await;
                match (marks[0].as_f64(), marks[1].as_f64()) {
                    (Some(screen), Some(connected)) => Ok((screen, connected)),
                    _ => Err(marks.to_string()),
                }
            })
            .await;
        if load == 0 {
            println!(
                "first load (cold cache): first screen {:.1} ms, connected {:.1} ms",
                marks.0, marks.1
            );
        }
        screens.push(marks.0);
        connected.push(marks.1);
    }
    println!(
        "navigation to first rendered screen: median {:.1} ms, max {:.1} ms over {LOADS} loads",
        median(&mut screens),
        max(&screens)
    );
    println!(
        "navigation to \"Connected\" (WebSocket paired): median {:.1} ms over {LOADS} loads",
        median(&mut connected)
    );
}

/// A 20 MB attachment: its progress as the page shows it, and how long the page's main thread
/// was ever blocked meanwhile (a 50 ms timer that fires late says by how much).
async fn upload(web: &harness::Web) {
    web.wait_connected().await;
    web.select("#compose-profile", "sandbox").await;
    let bytes: Vec<u8> = (0..UPLOAD_BYTES)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let file = web.file("twenty-megabytes.bin", &bytes);
    web.js(
        "window.__probe = { lag: 0, ticks: 0, progress: [] };
         let last = performance.now();
         window.__probeTimer = setInterval(() => {
           const now = performance.now();
           window.__probe.lag = Math.max(window.__probe.lag, now - last - 50);
           window.__probe.ticks += 1;
           last = now;
           const bar = document.querySelector('#compose-progress');
           if (bar && bar.value > 0) window.__probe.progress.push(bar.value / bar.max);
         }, 50);
         return true;",
        vec![],
    )
    .await;
    let started = Instant::now();
    web.choose_file("#compose-attachments", &file).await;
    web.find("#compose-attachment-list li[data-state=\"uploaded\"]")
        .await;
    let seconds = started.elapsed().as_secs_f64();
    let probe = web
        .js(
            "clearInterval(window.__probeTimer); return window.__probe;",
            vec![],
        )
        .await;
    let progress: Vec<f64> = probe["progress"]
        .as_array()
        .map(|values| values.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default();
    let mut distinct = progress.clone();
    distinct.dedup();
    println!(
        "20 MB attachment upload: {seconds:.2} s ({:.1} MB/s), progress bar updated {} times, \
         from {:.0}% to {:.0}%",
        UPLOAD_BYTES as f64 / 1e6 / seconds,
        distinct.len(),
        progress.first().copied().unwrap_or(0.0) * 100.0,
        progress.last().copied().unwrap_or(0.0) * 100.0
    );
    println!(
        "main thread during the upload: longest stall {:.0} ms beyond a 50 ms timer, {} timer \
         ticks in {seconds:.2} s",
        probe["lag"].as_f64().unwrap_or(f64::NAN),
        probe["ticks"]
    );
    // Leave the draft clean for the screenshots.
    web.find_with_text("#compose-attachment-list button", "Remove")
        .await
        .click()
        .await
        .unwrap_or_else(|e| panic!("cannot remove the attachment: {e}"));
}

/// Rows in the campaign list that is checked from the page and by `mailbridge merge`.
const CAMPAIGN_ROWS: usize = 10_000;

/// A 10,000-row list with subject, text and HTML templates: the time to validate and render
/// every row from the page (upload in chunks, check, counts shown) and the longest stall of the
/// page's main thread meanwhile; then the same list by `mailbridge merge`'s dry run, the bridge
/// alone.
async fn campaign_list(web: &harness::Web, bridge: &harness::Bridge) {
    let mut csv = String::from("email,name,city\n");
    for row in 1..=CAMPAIGN_ROWS {
        csv.push_str(&format!(
            "person{row}@example.com,Person {row},City {}\n",
            row % 97
        ));
    }
    let file = web.file("ten-thousand.csv", csv.as_bytes());
    let subject = "Hello {{ name }}";
    let text = "Dear {{ name }},\nthe news from {{ city }}.\n";
    let html = "<p>Dear <b>{{ name }}</b>,</p><p>the news from {{ city }}.</p>";
    web.client
        .set_window_size(1440, 1000)
        .await
        .unwrap_or_else(|e| panic!("cannot size the window: {e}"));
    web.open_view("campaigns").await;
    web.select("#campaign-profile", "sandbox").await;
    web.js(
        "window.__probe = { lag: 0, ticks: 0, longest: 0 };
         let last = performance.now();
         window.__probeTimer = setInterval(() => {
           const now = performance.now();
           window.__probe.lag = Math.max(window.__probe.lag, now - last - 50);
           window.__probe.ticks += 1;
           last = now;
         }, 50);
         window.__probeObserver = new PerformanceObserver((list) => {
           for (const task of list.getEntries())
             window.__probe.longest = Math.max(window.__probe.longest, task.duration);
         });
         window.__probeObserver.observe({ type: 'longtask' });
         return true;",
        vec![],
    )
    .await;
    let started = Instant::now();
    web.choose_file("#campaign-csv", &file).await;
    web.wait_text("#campaign-file", "Loaded ten-thousand.csv")
        .await;
    let loaded = started.elapsed().as_secs_f64();
    web.replace_text("#campaign-subject", subject).await;
    web.replace_text("#campaign-text", text).await;
    web.replace_text("#campaign-html", html).await;
    let started = Instant::now();
    web.click("#campaign-check-button").await;
    let want = format!("{CAMPAIGN_ROWS} to send");
    web.wait_text("#campaign-counts", &want).await;
    let seconds = started.elapsed().as_secs_f64();
    let probe = web
        .js(
            "clearInterval(window.__probeTimer); window.__probeObserver.disconnect();
             return window.__probe;",
            vec![],
        )
        .await;
    println!(
        "campaign, {CAMPAIGN_ROWS}-row list ({} KB) from the page: chosen to loaded {loaded:.2} s; \
         Check (upload in chunks, every row validated and rendered: subject, text, HTML) to \
         counts shown {seconds:.2} s",
        csv.len() / 1000
    );
    println!(
        "main thread meanwhile: longest task {:.0} ms (PerformanceObserver longtask), longest \
         stall {:.0} ms beyond a 50 ms timer, {} ticks",
        probe["longest"].as_f64().unwrap_or(f64::NAN),
        probe["lag"].as_f64().unwrap_or(f64::NAN),
        probe["ticks"]
    );

    // The bridge alone: the same list and templates through `mailbridge merge`'s dry run.
    let dir = bridge.dir.path();
    let list = dir.join("ten-thousand.csv");
    let text_file = dir.join("template.txt");
    let html_file = dir.join("template.html");
    for (path, body) in [
        (&list, csv.as_str()),
        (&text_file, text),
        (&html_file, html),
    ] {
        std::fs::write(path, body)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }
    let mut runs = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let output = support::mailbridge(dir)
            .arg("merge")
            .arg(&list)
            .args(["--subject", subject, "--text"])
            .arg(&text_file)
            .arg("--html")
            .arg(&html_file)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("mailbridge merge does not run: {e}"));
        runs.push(started.elapsed().as_secs_f64() * 1000.0);
        assert!(
            output.status.success(),
            "mailbridge merge failed: {}",
            String::from_utf8_lossy(&output.stdout)
        );
    }
    println!(
        "campaign, {CAMPAIGN_ROWS}-row list by `mailbridge merge` (dry run, release build, whole \
         process): median {:.0} ms, max {:.0} ms over {} runs",
        median(&mut runs),
        max(&runs),
        runs.len()
    );
}

/// Compose with a filled-in draft, a finished check of the sandbox profile, and the inbox with
/// the message that draft sent, each saved as a PNG of its panel.
async fn screenshots(web: &harness::Web, docs: &Path) {
    // Tall enough that each panel fits whole in its picture.
    web.client
        .set_window_size(1440, 2600)
        .await
        .unwrap_or_else(|e| panic!("cannot size the window: {e}"));
    std::fs::create_dir_all(docs)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", docs.display()));
    for (field, text) in [
        ("#compose-to", "Ann Example <ann@example.com>,"),
        ("#compose-cc", "team@example.com,"),
        ("#compose-bcc", "audit@example.com,"),
    ] {
        web.type_into(field, text).await;
    }
    web.replace_text("#compose-subject", "Quarterly report")
        .await;
    web.select("#compose-format", "both").await;
    web.replace_text(
        "#compose-text",
        "Hi Ann,\n\nThe numbers are attached.\n\nBob",
    )
    .await;
    web.replace_text(
        "#compose-html",
        "<p>Hi Ann,</p><p>The <b>numbers</b> are attached.</p><p>Bob</p>",
    )
    .await;
    let notes = web.file("report.csv", b"quarter,revenue\nQ3,1200\n");
    web.choose_file("#compose-attachments", &notes).await;
    web.find("#compose-attachment-list li[data-state=\"uploaded\"]")
        .await;
    save(
        web,
        "section[aria-labelledby=\"compose-heading\"]",
        &docs.join("compose.png"),
    )
    .await;

    web.click("#compose-send").await;
    web.find("#send-result-message-id").await;
    // The send went through the outbox, which its view shows with the account's quota.
    web.open_view("outbox").await;
    web.wait_text("#outbox", "sent").await;
    save(web, "#outbox", &docs.join("outbox.png")).await;
    web.open_view("inbox").await;
    let row = web
        .find_with_text("#inbox li[data-message-id]", "Quarterly report")
        .await;
    row.find(fantoccini::Locator::Css(".inbox-open"))
        .await
        .unwrap_or_else(|e| panic!("no open button: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("cannot open the message: {e}"));
    web.find("#message-raw").await;
    save(web, "#inbox", &docs.join("inbox.png")).await;

    web.open_view("profiles").await;

    web.click("tr[data-profile-id=\"sandbox\"] button.profile-check")
        .await;
    web.find("#check-verdict").await;
    web.eventually("the check to finish", async || {
        let running = web
            .js(
                "return document.querySelector('#check-steps [data-status=\"running\"]') !== null;",
                vec![json!(null)],
            )
            .await;
        if running == json!(false) {
            Ok(())
        } else {
            Err("a step is still running".to_owned())
        }
    })
    .await;
    save(web, "#check-report", &docs.join("check-connection.png")).await;
}

/// The checks before sending on a draft Gmail would refuse or mangle: a Windows program
/// attached, HTML with features Gmail drops (`<video>`, `position:fixed`), a shortened link, an
/// http: link and a link whose text shows paypal.com but goes elsewhere; saved as a PNG of the
/// findings panel.
async fn lint_screenshot(web: &harness::Web, docs: &Path) {
    web.client
        .set_window_size(1440, 2600)
        .await
        .unwrap_or_else(|e| panic!("cannot size the window: {e}"));
    web.open_view("compose").await;
    let clear = web
        .find_with_text("form.compose button", "Clear the draft")
        .await;
    harness::click(&clear, "Clear the draft").await;
    web.select("#compose-profile", "sandbox").await;
    web.type_into("#compose-to", "Ann Example <ann@example.com>,")
        .await;
    web.replace_text("#compose-subject", "Spring sale: 40% off everything")
        .await;
    web.select("#compose-format", "html").await;
    web.replace_text(
        "#compose-html",
        "<p>Hi Ann,</p>\n\
         <video src=\"https://shop.example.com/spring.mp4\" controls></video>\n\
         <div style=\"position:fixed; bottom:0\">Three days only!</div>\n\
         <p><a href=\"https://bit.ly/3spring\">See the offers</a> or the \
         <a href=\"http://shop.example.com/sale\">sale page</a>.</p>\n\
         <p>Pay with <a href=\"https://pay.example.net/checkout\">paypal.com</a>.</p>\n\
         <p>The installer for the new app is attached.</p>",
    )
    .await;
    let program = web.file("setup.exe", &lint::windows_program());
    web.choose_file("#compose-attachments", &program).await;
    web.find_with_text(
        "#compose-attachment-list li[data-state=\"uploaded\"]",
        "setup.exe",
    )
    .await;
    web.click("#compose-lint").await;
    web.wait_text("#lint-report .lint-summary", "blocker").await;
    save(web, "#lint-report", &docs.join("lint.png")).await;
}

async fn save(web: &harness::Web, css: &str, path: &PathBuf) {
    let element = web.find(css).await;
    web.js(
        "arguments[0].scrollIntoView({ block: 'start' }); return true;",
        vec![json!(element)],
    )
    .await;
    let png = element
        .screenshot()
        .await
        .unwrap_or_else(|e| panic!("cannot take a screenshot of `{css}`: {e}"));
    std::fs::write(path, &png).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    println!("screenshot: {} ({} bytes)", path.display(), png.len());
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn max(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::NAN, f64::max)
}
