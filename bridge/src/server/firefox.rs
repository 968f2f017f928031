//! The Firefox extension's origin, learned once.
//!
//! Firefox gives every install of an extension its own random origin,
//! `moz-extension://UUID` (its WebSocket carries exactly that `Origin`, measured with Firefox
//! ESR 153), so the bridge cannot know it in advance as it knows Chromium's. It learns it
//! instead: `mailbridge pair --firefox` opens a ten-minute window, and the first
//! `moz-extension://` page that then says hello with the right pairing token has its exact
//! origin remembered in `firefox-extension.json` in the data folder. The window closes as it
//! learns, and from then on that origin alone passes the Origin check. Wrong tokens count
//! towards the pairing lockout as any others do; `mailbridge pair --reset` forgets the origin.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The file, in the data folder.
pub const FILE: &str = "firefox-extension.json";
/// How long `mailbridge pair --firefox` leaves the window open.
pub const WINDOW: Duration = Duration::from_secs(600);
const SCHEME: &str = "moz-extension://";

/// What the file holds.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Learned {
    /// The one Firefox origin that may open the WebSocket.
    #[serde(default)]
    origin: Option<String>,
    /// Until when (Unix seconds) a new one may be learned.
    #[serde(default)]
    learn_until: Option<u64>,
}

/// Whether a `moz-extension://` origin may upgrade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// The learned origin.
    Learned,
    /// Not known yet, but the window is open: it is learned if its hello has the right token.
    Candidate(String),
}

/// The learned origin's file.
#[derive(Debug, Clone)]
pub struct FirefoxOrigin {
    path: PathBuf,
}

impl FirefoxOrigin {
    pub fn in_data_dir(data_dir: &Path) -> FirefoxOrigin {
        FirefoxOrigin {
            path: data_dir.join(FILE),
        }
    }

    /// Whether `origin` may upgrade now, and how.
    pub fn admits(&self, origin: &str, now: SystemTime) -> Option<Admission> {
        if !is_moz_extension(origin) {
            return None;
        }
        let learned = self.read()?;
        if learned.origin.as_deref() == Some(origin) {
            return Some(Admission::Learned);
        }
        window_open(&learned, now).then(|| Admission::Candidate(origin.to_owned()))
    }

    /// Remembers `origin` after its hello had the right token, if the window is still open (a
    /// second candidate that passed the Origin check at the same time finds it closed).
    pub fn learn(&self, origin: &str, now: SystemTime) -> std::io::Result<bool> {
        let Some(learned) = self.read() else {
            return Ok(false);
        };
        if !window_open(&learned, now) {
            return Ok(false);
        }
        self.write(&Learned {
            origin: Some(origin.to_owned()),
            learn_until: None,
        })?;
        Ok(true)
    }

    /// Opens the window (`mailbridge pair --firefox`); an origin learned before stays valid
    /// until a new one is learned.
    pub fn open_window(&self, now: SystemTime) -> std::io::Result<()> {
        let Some(learned) = self.read() else {
            return Err(std::io::Error::other(format!(
                "{} is not readable; fix it or remove it, then run this again",
                self.path.display()
            )));
        };
        self.write(&Learned {
            origin: learned.origin,
            learn_until: Some(unix_seconds(now + WINDOW)),
        })
    }

    /// Forgets the learned origin (`mailbridge pair --reset`).
    pub fn forget(&self) -> std::io::Result<()> {
        match std::fs::remove_file(&self.path) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error),
            _ => Ok(()),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's contents: the default when there is none, `None` when it cannot be read or
    /// parsed (then nothing is admitted, and nothing overwrites it).
    fn read(&self) -> Option<Learned> {
        match std::fs::read(&self.path) {
            Ok(bytes) => match serde_json::from_slice(&bytes) {
                Ok(learned) => Some(learned),
                Err(error) => {
                    tracing::warn!(
                        "{} is not readable ({error}); no Firefox extension may connect until it is fixed or removed",
                        self.path.display()
                    );
                    None
                }
            },
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Some(Learned::default()),
            Err(error) => {
                tracing::warn!("cannot read {}: {error}", self.path.display());
                None
            }
        }
    }

    fn write(&self, learned: &Learned) -> std::io::Result<()> {
        if let Some(folder) = self.path.parent() {
            std::fs::create_dir_all(folder)?;
        }
        let text = serde_json::to_vec_pretty(learned).map_err(std::io::Error::other)?;
        // Written whole and renamed, so a reader never sees half a file.
        let partial = self.path.with_extension("json.partial");
        std::fs::write(&partial, text)?;
        std::fs::rename(&partial, &self.path)
    }
}

/// `moz-extension://` and a host with nothing after it: Firefox's extension origins.
fn is_moz_extension(origin: &str) -> bool {
    origin.strip_prefix(SCHEME).is_some_and(|host| {
        !host.is_empty()
            && host
                .bytes()
                .all(|byte| byte.is_ascii_hexdigit() || byte == b'-')
    })
}

fn window_open(learned: &Learned, now: SystemTime) -> bool {
    learned
        .learn_until
        .is_some_and(|until| unix_seconds(now) < until)
}

fn unix_seconds(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINE: &str = "moz-extension://6a1e0f55-2a9b-4f44-9e1d-0123456789ab";
    const OTHER: &str = "moz-extension://0b7f9c1e-1111-4c2d-8e3f-abcdefabcdef";

    #[test]
    fn an_origin_is_learned_once_in_the_window_and_alone_admitted_after() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let firefox = FirefoxOrigin::in_data_dir(dir.path());
        let now = SystemTime::now();
        assert_eq!(firefox.admits(MINE, now), None, "nothing before the window");

        firefox.open_window(now).expect("opened");
        assert_eq!(
            firefox.admits(MINE, now),
            Some(Admission::Candidate(MINE.to_owned()))
        );
        assert_eq!(
            firefox.admits(OTHER, now),
            Some(Admission::Candidate(OTHER.to_owned()))
        );
        assert!(firefox.learn(MINE, now).expect("learned"));
        // The window closed as it learned: the other candidate is too late.
        assert!(!firefox.learn(OTHER, now).expect("read"));
        assert_eq!(firefox.admits(MINE, now), Some(Admission::Learned));
        assert_eq!(firefox.admits(OTHER, now), None);
        assert_eq!(
            firefox.admits(MINE, now + Duration::from_secs(86_400 * 365)),
            Some(Admission::Learned),
            "a learned origin does not expire"
        );

        firefox.forget().expect("forgotten");
        assert_eq!(firefox.admits(MINE, now), None);
    }

    #[test]
    fn the_window_closes_after_ten_minutes() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let firefox = FirefoxOrigin::in_data_dir(dir.path());
        let now = SystemTime::now();
        firefox.open_window(now).expect("opened");
        let later = now + WINDOW + Duration::from_secs(1);
        assert_eq!(firefox.admits(MINE, later), None);
        assert!(!firefox.learn(MINE, later).expect("read"));
    }

    #[test]
    fn only_extension_origins_and_a_readable_file_count() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let firefox = FirefoxOrigin::in_data_dir(dir.path());
        let now = SystemTime::now();
        firefox.open_window(now).expect("opened");
        for origin in [
            "http://evil.example",
            "moz-extension://",
            "moz-extension://abc/",
            "moz-extension://abc.evil.example",
            "chrome-extension://phddfdpibifcmjniieehnclcogcodncm",
            "null",
        ] {
            assert_eq!(firefox.admits(origin, now), None, "{origin:?}");
        }
        std::fs::write(firefox.path(), "{ broken").expect("written");
        assert_eq!(firefox.admits(MINE, now), None);
        assert!(!firefox.learn(MINE, now).expect("read"));
        assert!(firefox.open_window(now).is_err());
        assert_eq!(
            std::fs::read_to_string(firefox.path()).expect("read"),
            "{ broken",
            "a broken file is never overwritten"
        );
    }
}
