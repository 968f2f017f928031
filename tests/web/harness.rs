//! What every browser test needs: chromedriver and headless Chromium started by the test on
//! 127.0.0.1, `mailbridge serve` in temp dirs, waits that poll instead of sleeping, and a report
//! on failure with the page's visible text and each bridge's output.

use std::future::Future;
use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt as _;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine as _;
use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use futures_util::FutureExt as _;
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

use crate::support::{Serve, TempDir};

/// How long a test waits for anything the page should show, before it fails. Generous: two
/// cores run Chromium, the bridge and the compiler's leftovers at once.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(100);

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMIUM_ARGS: &[&str] = &[
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-extensions",
    "--no-first-run",
    "--window-size=1280,900",
];

/// Where the page keeps the pairing token in sessionStorage (`STORAGE_KEY` in
/// `web/src/pairing.rs`).
pub const PAIRING_KEY: &str = "mailbridge.pairing-token";

/// One browser at a time: two at once on two cores make every wait flaky. A test that failed
/// while holding the lock poisons it, which says nothing about the next test.
static BROWSER: Mutex<()> = Mutex::new(());

/// Firefox ESR (Debian's), for the Firefox extension's test; geckodriver comes from crates.io.
const FIREFOX: &str = "/usr/bin/firefox-esr";

/// An unpacked Firefox extension: its `browser_specific_settings.gecko.id`, the UUID its
/// `moz-extension://` origin gets (set through Firefox's `extensions.webextensions.uuids`
/// preference, since Firefox would otherwise pick a random one), and its folder.
pub struct FirefoxExtension<'a> {
    pub id: &'a str,
    pub uuid: &'a str,
    pub dir: &'a std::path::Path,
}

/// As [`run`], in headless Firefox through geckodriver, with `extensions` installed as
/// temporary add-ons.
pub fn run_firefox<F, Fut>(name: &str, extensions: &[FirefoxExtension<'_>], test: F)
where
    F: FnOnce(Web) -> Fut,
    Fut: Future<Output = ()>,
{
    let _turn = BROWSER.lock().unwrap_or_else(PoisonError::into_inner);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("no tokio runtime: {e}"));
    runtime.block_on(async {
        let geckodriver = geckodriver();
        // Chrome-context scripts open the extension's pages: WebDriver may not navigate there.
        let driver = Chromedriver::start_program(&geckodriver, &["--allow-system-access"]);
        let uuids: serde_json::Map<String, Value> = extensions
            .iter()
            .map(|extension| (extension.id.to_owned(), json!(extension.uuid)))
            .collect();
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".to_owned(), json!("firefox"));
        capabilities.insert(
            "moz:firefoxOptions".to_owned(),
            json!({
                "binary": FIREFOX,
                "args": ["-headless", "-width=1280", "-height=900"],
                "prefs": { "extensions.webextensions.uuids": Value::Object(uuids).to_string() },
            }),
        );
        let client = connect_with(driver.port, capabilities).await;
        let web = Web {
            client: client.clone(),
            scratch: Arc::new(TempDir::new(&format!("web-{name}"))),
            bridges: Arc::default(),
            driver: driver.port,
        };
        for extension in extensions {
            let installed = web
                .geckodriver(
                    "moz/addon/install",
                    json!({ "path": extension.dir.display().to_string(), "temporary": true }),
                )
                .await;
            assert_eq!(
                installed["value"].as_str(),
                Some(extension.id),
                "Firefox did not install {}: {installed}",
                extension.dir.display()
            );
        }
        let outcome = AssertUnwindSafe(test(web.clone())).catch_unwind().await;
        if let Err(panic) = outcome {
            eprintln!("{}", web.report(name).await);
            let _ = tokio::time::timeout(Duration::from_secs(10), client.close()).await;
            drop(web);
            drop(driver);
            std::panic::resume_unwind(panic);
        }
        let _ = tokio::time::timeout(Duration::from_secs(10), client.close()).await;
    });
}

/// geckodriver as `cargo xtask test` installs it (`cargo install`, into cargo's bin folder).
fn geckodriver() -> String {
    let bin = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
        .map(|home| home.join("bin/geckodriver"))
        .filter(|path| path.is_file());
    match bin {
        Some(path) => path.display().to_string(),
        None => panic!(
            "no geckodriver in cargo's bin folder: the Firefox test needs it; `cargo xtask test` installs it (cargo install geckodriver)"
        ),
    }
}

/// Runs one browser test: waits for its turn, starts chromedriver and Chromium, runs `test`,
/// and when it panics prints the page's visible text and every bridge's output before failing
/// the same way.
pub fn run<F, Fut>(name: &str, test: F)
where
    F: FnOnce(Web) -> Fut,
    Fut: Future<Output = ()>,
{
    let args: Vec<String> = CHROMIUM_ARGS.iter().map(|arg| arg.to_string()).collect();
    run_with(name, &args, test);
}

/// Chromium's arguments with extensions: the page tests' arguments but `--disable-extensions`,
/// with the unpacked extensions in `extensions` loaded and the profile kept in `profile`, so
/// that a second browser started with it finds what the first one stored.
pub fn extension_args(extensions: &[&std::path::Path], profile: &std::path::Path) -> Vec<String> {
    let mut args: Vec<String> = CHROMIUM_ARGS
        .iter()
        .filter(|arg| **arg != "--disable-extensions")
        .map(|arg| arg.to_string())
        .collect();
    let list: Vec<String> = extensions
        .iter()
        .map(|path| path.display().to_string())
        .collect();
    args.push(format!("--load-extension={}", list.join(",")));
    args.push(format!("--user-data-dir={}", profile.display()));
    args
}

/// As [`run`], with Chromium started with `args`.
pub fn run_with<F, Fut>(name: &str, args: &[String], test: F)
where
    F: FnOnce(Web) -> Fut,
    Fut: Future<Output = ()>,
{
    let _turn = BROWSER.lock().unwrap_or_else(PoisonError::into_inner);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("no tokio runtime: {e}"));
    runtime.block_on(async {
        let driver = Chromedriver::start();
        let client = driver.connect(args).await;
        let web = Web {
            client: client.clone(),
            scratch: Arc::new(TempDir::new(&format!("web-{name}"))),
            bridges: Arc::default(),
            driver: driver.port,
        };
        let outcome = AssertUnwindSafe(test(web.clone())).catch_unwind().await;
        if let Err(panic) = outcome {
            // The bridges are still running here (`web` owns them), so the page still shows
            // what it showed when the test failed.
            eprintln!("{}", web.report(name).await);
            let _ = tokio::time::timeout(Duration::from_secs(10), client.close()).await;
            drop(web);
            drop(driver);
            std::panic::resume_unwind(panic);
        }
        let _ = tokio::time::timeout(Duration::from_secs(10), client.close()).await;
    });
}

/// One browser session, the bridges it was pointed at, and a folder for files to upload.
#[derive(Clone)]
pub struct Web {
    pub client: Client,
    scratch: Arc<TempDir>,
    bridges: Arc<Mutex<Vec<Arc<Bridge>>>>,
    /// chromedriver's port, for a new browser in the same test.
    driver: u16,
}

/// A `mailbridge serve` in its own temp dir, with its own sandbox.
#[derive(Debug)]
pub struct Bridge {
    pub label: String,
    pub serve: Serve,
    pub dir: TempDir,
}

impl Bridge {
    /// The sandbox's SQLite capture store, as the bridge's inbox reads it.
    pub fn sandbox_store(&self) -> sandbox::Store {
        let path = self
            .dir
            .path()
            .join("data/sandbox")
            .join(sandbox::STORE_FILE);
        sandbox::Store::open(&path, 100)
            .unwrap_or_else(|e| panic!("the sandbox store {} opens: {e}", path.display()))
    }
}

impl Web {
    /// A geckodriver extension command (`POST /session/ID/<command>`), which fantoccini does not
    /// have; its JSON answer.
    pub async fn geckodriver(&self, command: &str, body: Value) -> Value {
        let session = self
            .client
            .session_id()
            .await
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("the browser has no session"));
        let body = body.to_string();
        let port = self.driver;
        let path = format!("/session/{session}/{command}");
        let answer = tokio::task::spawn_blocking(move || {
            let mut stream = TcpStream::connect(("127.0.0.1", port))
                .unwrap_or_else(|e| panic!("cannot reach geckodriver on {port}: {e}"));
            let _ = stream.set_read_timeout(Some(DEADLINE));
            write!(
                stream,
                "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .unwrap_or_else(|e| panic!("cannot write to geckodriver: {e}"));
            let mut response = String::new();
            let _ = stream.read_to_string(&mut response);
            response
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        let json = answer.split_once("\r\n\r\n").map_or("", |(_, body)| body);
        serde_json::from_str(json)
            .unwrap_or_else(|e| panic!("geckodriver answered {answer:?}: {e}"))
    }

    /// Opens `url` (a `moz-extension://` page, where WebDriver may not navigate) in a new
    /// Firefox tab from the browser's own chrome, and switches to it.
    pub async fn open_in_firefox_tab(&self, url: &str) {
        // The tabs, taken in the content context: in the chrome one, handles are windows.
        let before = self.client.windows().await.unwrap_or_default();
        self.geckodriver("moz/context", json!({ "context": "chrome" }))
            .await;
        self.js(
            "const window = Services.wm.getMostRecentWindow('navigator:browser');\
             const tab = window.gBrowser.addTab(arguments[0], {\
                 triggeringPrincipal: Services.scriptSecurityManager.getSystemPrincipal() });\
             window.gBrowser.selectedTab = tab;\
             return true;",
            vec![json!(url)],
        )
        .await;
        self.geckodriver("moz/context", json!({ "context": "content" }))
            .await;
        let tab = self
            .eventually("the new tab", async || {
                let now = self.client.windows().await.map_err(|e| e.to_string())?;
                now.into_iter()
                    .find(|handle| !before.contains(handle))
                    .ok_or_else(|| "not yet".to_owned())
            })
            .await;
        self.client
            .switch_to_window(tab)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        self.eventually(&format!("{url} to load"), async || {
            let href = self.url().await;
            if href.starts_with(url) {
                Ok(())
            } else {
                Err(href)
            }
        })
        .await;
    }

    /// Closes this browser and starts a new one with `args` (the same `--user-data-dir` is a
    /// browser restart); the bridges and the scratch folder stay.
    pub async fn restart_browser(self, args: &[String]) -> Web {
        let _ = tokio::time::timeout(Duration::from_secs(10), self.client.close()).await;
        let client = connect(self.driver, args).await;
        Web { client, ..self }
    }

    /// Starts a fresh bridge and fails the test (it never skips) when the bridge has no web app
    /// to serve.
    pub fn start_bridge(&self, label: &str) -> Arc<Bridge> {
        self.start_bridge_with(label, &[])
    }

    /// As [`Web::start_bridge`], with more arguments for `serve`.
    pub fn start_bridge_with(&self, label: &str, extra: &[&str]) -> Arc<Bridge> {
        let dir = TempDir::new(&format!("web-bridge-{label}"));
        let serve = Serve::start_with(dir.path(), extra);
        let page = http_get(serve.port(), "/");
        assert!(
            !page.contains("has not been built"),
            "The web app is not built, so the bridge serves its \"not built\" page. Run \
             `cargo xtask web` in the source folder (it builds dist/ with trunk), then run the \
             tests again.\n--- GET / ---\n{page}"
        );
        let bridge = Arc::new(Bridge {
            label: label.to_owned(),
            serve,
            dir,
        });
        self.bridges
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(bridge.clone());
        bridge
    }

    /// Opens the pairing address the bridge printed and waits until the page says it is
    /// connected.
    pub async fn pair(&self, bridge: &Bridge) {
        self.client
            .goto(&bridge.serve.url)
            .await
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", bridge.serve.base_url()));
        self.wait_connected().await;
    }

    /// Opens a view from the navigation, as a person would (`"outbox"` clicks `#nav-outbox`),
    /// and waits for the view's heading.
    pub async fn open_view(&self, view: &str) {
        self.click(&format!("#nav-{view}")).await;
        self.find(&format!("#{view}-heading")).await;
    }

    /// Where the address bar stands now.
    pub async fn url(&self) -> String {
        let href = self.js("return window.location.href;", vec![]).await;
        href.as_str().unwrap_or_default().to_owned()
    }

    pub async fn wait_connected(&self) {
        self.wait_text("#connection", "Connected").await;
    }

    pub async fn reload(&self) {
        self.client
            .refresh()
            .await
            .unwrap_or_else(|e| panic!("reload failed: {e}"));
    }

    /// Polls `probe` until it returns `Ok`, for at most [`DEADLINE`]; then fails with `what`
    /// and the last thing `probe` saw.
    pub async fn eventually<T>(
        &self,
        what: &str,
        mut probe: impl AsyncFnMut() -> Result<T, String>,
    ) -> T {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let last = match probe().await {
                Ok(value) => return value,
                Err(last) => last,
            };
            assert!(
                Instant::now() < deadline,
                "waited {DEADLINE:?} for {what}; last seen: {last}"
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// The first element matching `css`, once there is one.
    pub async fn find(&self, css: &str) -> Element {
        self.eventually(&format!("an element `{css}`"), async || {
            self.try_find(css).await
        })
        .await
    }

    /// The first element matching `css` right now, or why there is none.
    async fn try_find(&self, css: &str) -> Result<Element, String> {
        self.client
            .find(Locator::Css(css))
            .await
            .map_err(|e| e.to_string())
    }

    /// The visible text of the first element matching `css` right now.
    async fn shown_text(&self, css: &str) -> Result<String, String> {
        let element = self.try_find(css).await?;
        element.text().await.map_err(|e| e.to_string())
    }

    /// Every element matching `css` right now (none is no error).
    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        self.client
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("cannot look for `{css}`: {e}"))
    }

    /// The first element matching `css` whose visible text contains `text`, once there is one.
    pub async fn find_with_text(&self, css: &str, text: &str) -> Element {
        self.eventually(
            &format!("an element `{css}` with the text {text:?}"),
            async || {
                let mut seen = Vec::new();
                for element in self.find_all(css).await {
                    let shown = element.text().await.unwrap_or_default();
                    if shown.contains(text) {
                        return Ok(element);
                    }
                    seen.push(shown);
                }
                Err(format!("{} matching, with the texts {seen:?}", seen.len()))
            },
        )
        .await
    }

    /// Waits until the first element matching `css` shows `text`; returns all it shows.
    pub async fn wait_text(&self, css: &str, text: &str) -> String {
        self.eventually(&format!("`{css}` to show {text:?}"), async || {
            let shown = self.shown_text(css).await?;
            if shown.contains(text) {
                Ok(shown)
            } else {
                Err(format!("{shown:?}"))
            }
        })
        .await
    }

    /// The visible text of the first element matching `css`, once it shows any.
    pub async fn nonempty_text(&self, css: &str) -> String {
        self.eventually(&format!("`{css}` to show some text"), async || {
            let shown = self.shown_text(css).await?;
            if shown.trim().is_empty() {
                Err("no text".to_owned())
            } else {
                Ok(shown)
            }
        })
        .await
    }

    /// The visible text of the first element matching `css`, once there is one.
    pub async fn text(&self, css: &str) -> String {
        let element = self.find(css).await;
        element
            .text()
            .await
            .unwrap_or_else(|e| panic!("no text for `{css}`: {e}"))
    }

    /// The current value of a form field.
    pub async fn value(&self, css: &str) -> String {
        let element = self.find(css).await;
        element
            .prop("value")
            .await
            .unwrap_or_else(|e| panic!("no value for `{css}`: {e}"))
            .unwrap_or_default()
    }

    /// The element matching `css`, once it is shown and enabled, as a person needs it to be
    /// before they can use it.
    pub async fn usable(&self, css: &str) -> Element {
        self.eventually(&format!("`{css}` to be shown and enabled"), async || {
            let element = self.try_find(css).await?;
            let shown = element.is_displayed().await.map_err(|e| e.to_string())?;
            let enabled = element.is_enabled().await.map_err(|e| e.to_string())?;
            if shown && enabled {
                Ok(element)
            } else {
                Err(format!("shown: {shown}, enabled: {enabled}"))
            }
        })
        .await
    }

    pub async fn click(&self, css: &str) {
        let element = self.usable(css).await;
        click(&element, css).await;
    }

    /// Types `text` at the end of what the field holds, key by key.
    pub async fn type_into(&self, css: &str, text: &str) {
        let element = self.usable(css).await;
        element
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("cannot type into `{css}`: {e}"));
    }

    /// Replaces what the field holds with `text`, as select-all and typing over it would
    /// (WebDriver's "clear" fires no input event, so the app would not see it).
    pub async fn replace_text(&self, css: &str, text: &str) {
        let element = self.usable(css).await;
        let select_all_and_delete = Key::Control + "a" + &Key::Null + &Key::Backspace;
        element
            .send_keys(&(select_all_and_delete + text))
            .await
            .unwrap_or_else(|e| panic!("cannot type into `{css}`: {e}"));
    }

    /// Chooses the option with `value` in a `<select>`.
    pub async fn select(&self, css: &str, value: &str) {
        let element = self.usable(css).await;
        self.eventually(
            &format!("an option {value:?} in `{css}` to choose"),
            async || {
                element
                    .select_by_value(value)
                    .await
                    .map_err(|e| e.to_string())
            },
        )
        .await;
    }

    /// Gives a file input the file at `path`, as choosing it in the file dialog would.
    pub async fn choose_file(&self, css: &str, path: &std::path::Path) {
        let element = self.find(css).await;
        element
            .send_keys(&path.display().to_string())
            .await
            .unwrap_or_else(|e| panic!("cannot choose {} in `{css}`: {e}", path.display()));
    }

    /// Runs `script` (which `return`s its result) in the page.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("the script failed: {e}\n{script}"))
    }

    /// Runs `script`, which calls its last argument with the result, in the page.
    pub async fn js_async(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute_async(script, args)
            .await
            .unwrap_or_else(|e| panic!("the script failed: {e}\n{script}"))
    }

    /// What the page shows, as a person would read it.
    pub async fn page_text(&self) -> String {
        let text = self.js("return document.body.innerText;", vec![]).await;
        text.as_str().unwrap_or_default().to_owned()
    }

    /// The whole document, as the browser holds it now.
    pub async fn page_html(&self) -> String {
        let html = self
            .js("return document.documentElement.outerHTML;", vec![])
            .await;
        html.as_str().unwrap_or_default().to_owned()
    }

    /// The bytes at `href` as the page gets them (a `blob:` URL, a `data:` URL, or a path on
    /// the page's origin).
    pub async fn fetch_bytes(&self, href: &str) -> Vec<u8> {
        let fetched = self
            .js_async(
                r#"
                const [href, done] = arguments;
                fetch(href)
                    .then((response) => response.arrayBuffer())
                    .then((buffer) => {
                        const bytes = new Uint8Array(buffer);
                        let binary = "";
                        for (let i = 0; i < bytes.length; i += 0x8000) {
                            binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
                        }
                        done({ base64: btoa(binary) });
                    })
                    .catch((error) => done({ error: String(error) }));
                "#,
                vec![json!(href)],
            )
            .await;
        let Some(encoded) = fetched["base64"].as_str() else {
            panic!("the page could not fetch {href}: {fetched}");
        };
        base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap_or_else(|e| panic!("the page's base64 of {href} does not decode: {e}"))
    }

    /// The text at `href` as the page gets it.
    pub async fn fetch_text(&self, href: &str) -> String {
        String::from_utf8(self.fetch_bytes(href).await)
            .unwrap_or_else(|e| panic!("{href} is not UTF-8 text: {e}"))
    }

    /// Writes a file for the page to upload; the browser reads it from this absolute path.
    pub fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.scratch.path().join(name);
        std::fs::write(&path, bytes)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        path
    }

    /// Everything that helps explain a failure: where the page is, what it shows, and what
    /// each bridge printed.
    async fn report(&self, name: &str) -> String {
        let within = |seconds| Duration::from_secs(seconds);
        let url = match tokio::time::timeout(within(10), self.client.current_url()).await {
            Ok(Ok(url)) => url.to_string(),
            Ok(Err(e)) => format!("(unknown: {e})"),
            Err(_) => "(unknown: the browser did not answer)".to_owned(),
        };
        let text = match tokio::time::timeout(
            within(10),
            self.client
                .execute("return document.body.innerText;", vec![]),
        )
        .await
        {
            Ok(Ok(text)) => text.as_str().unwrap_or_default().to_owned(),
            Ok(Err(e)) => format!("(unreadable: {e})"),
            Err(_) => "(unreadable: the browser did not answer)".to_owned(),
        };
        let mut report = format!(
            "===== browser test {name} failed =====\n--- page {url}: document.body.innerText ---\n{text}\n"
        );
        for bridge in self
            .bridges
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            report.push_str(&format!(
                "--- bridge {} at {} ---\n{}",
                bridge.label,
                bridge.serve.base_url(),
                bridge.serve.output()
            ));
        }
        report
    }
}

/// Clicks `element`; retried for a while, since a click that lands on something drawn over
/// the element (a notice sliding in) is refused.
pub async fn click(element: &Element, what: &str) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        match element.click().await {
            Ok(()) => return,
            Err(e) if Instant::now() >= deadline => panic!("cannot click `{what}`: {e}"),
            Err(_) => tokio::time::sleep(POLL).await,
        }
    }
}

/// `chromedriver` on a free loopback port, in its own process group so that the Chromium it
/// starts goes with it; killed when dropped.
struct Chromedriver {
    child: Child,
    port: u16,
}

impl Chromedriver {
    fn start() -> Chromedriver {
        Chromedriver::start_program(CHROMEDRIVER, &[])
    }

    /// A WebDriver server (`chromedriver`, or `geckodriver`, which takes the same `--port=`).
    fn start_program(program: &str, extra: &[&str]) -> Chromedriver {
        let port = free_port();
        let child = Command::new(program)
            .arg(format!("--port={port}"))
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run {program} (the browser tests need it; `cargo xtask test` installs it): {e}")
            });
        let mut driver = Chromedriver { child, port };
        let deadline = Instant::now() + DEADLINE;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = driver.child.try_wait() {
                panic!("{program} --port={port} ended at once: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "{program} did not listen on 127.0.0.1:{port} within {DEADLINE:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        driver
    }

    /// A new browser session: headless Chromium with `args`.
    async fn connect(&self, args: &[String]) -> Client {
        connect(self.port, args).await
    }
}

/// A new browser session from the chromedriver on `port`: headless Chromium with `args`.
async fn connect(port: u16, args: &[String]) -> Client {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".to_owned(),
        json!({ "binary": CHROMIUM, "args": args }),
    );
    connect_with(port, capabilities).await
}

/// A new browser session from the WebDriver server on `port`, with `capabilities`.
async fn connect_with(port: u16, capabilities: serde_json::Map<String, Value>) -> Client {
    let mut builder = ClientBuilder::new(HttpConnector::new());
    builder.capabilities(capabilities);
    let url = format!("http://127.0.0.1:{port}");
    match tokio::time::timeout(DEADLINE, builder.connect(&url)).await {
        Ok(Ok(client)) => client,
        Ok(Err(e)) => panic!("chromedriver at {url} started no Chromium ({CHROMIUM}): {e}"),
        Err(_) => panic!("chromedriver at {url} started no Chromium in {DEADLINE:?}"),
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // The whole group: chromedriver and any Chromium a failed test left open.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .unwrap_or_else(|e| panic!("no free port on 127.0.0.1: {e}"))
}

/// A plain HTTP/1.1 GET on loopback: status line, headers and body, as text.
fn http_get(port: u16, path: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port))
        .unwrap_or_else(|e| panic!("cannot connect to 127.0.0.1:{port}: {e}"));
    let _ = stream.set_read_timeout(Some(DEADLINE));
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .unwrap_or_else(|e| panic!("cannot send a GET to 127.0.0.1:{port}: {e}"));
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    String::from_utf8_lossy(&response).into_owned()
}
