//! The web app in a real browser: headless Chromium, driven over WebDriver by fantoccini,
//! against the real `mailbridge serve` binary with its embedded sandbox. Each test does what a
//! person would do with the page and checks what they would see.
//!
//! The app must be built first (`cargo xtask web`); without `dist/` the tests fail and say so.

/// A campaign from a CSV list: problems by row, skipping them, a preview, 48 sent.
mod campaigns;
/// Composing, sending to the sandbox with an attachment, reading it back, and the saved draft.
mod compose;
/// The browser extension loaded into Chromium: pairing by pasting the code, still paired
/// after a browser restart, a send; other extensions, wrong tokens and pages refused.
mod extension;
/// The extension in Firefox: its per-install origin refused, learned once with
/// `mailbridge pair --firefox`, then alone let in.
mod firefox;
/// Chromedriver, Chromium and the bridges a test opens; waits, and failure reports.
mod harness;
/// Checks before sending: programs attached are blockers, and Send asks before it sends them.
mod lint;
/// "Connect Google account": the client file, consent in a tab, the token's health.
mod oauth;
/// A page from another origin cannot use the bridge, even with the right token.
mod origin;
/// Pairing from the printed address, and the connection surviving a reload.
mod pairing;
/// Profiles: a preset with its secret, a failed check's diagnosis, export and import.
mod profiles;
/// "Send test and verify": the Inbox card, the Spam card with the fault on, the mailboxes.
mod verify;
/// The views: the address names the one on screen, through a reload and Back.
mod views;
