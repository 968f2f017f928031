//! What the bridge knows about each profile's OAuth grant that is not secret: the client it
//! was given to, the scope, when consent was given and when a refresh last worked. Token
//! health reads it (a refresh token's 7-day clock in Testing starts at consent). It lives in
//! `oauth-grants.json` beside the profiles; the tokens themselves are in the secret store.
//!
//! A broken file is reported and never overwritten, like the profiles file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use profile::ProfileId;
use serde::{Deserialize, Serialize};

use super::{StoreError, write_atomic};

/// One profile's grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub client_id: String,
    /// The scope granted, space-separated.
    pub scope: String,
    /// When consent was given, in Unix milliseconds.
    pub consented_at_ms: u64,
    /// The last refresh that worked, in Unix milliseconds.
    #[serde(default)]
    pub last_refresh_ms: Option<u64>,
}

impl Grant {
    pub fn consented_at(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.consented_at_ms)
    }

    pub fn last_refresh(&self) -> Option<SystemTime> {
        self.last_refresh_ms
            .map(|ms| UNIX_EPOCH + Duration::from_millis(ms))
    }
}

/// Milliseconds since the Unix epoch.
pub fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as u64)
        .unwrap_or_default()
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct File {
    grants: BTreeMap<String, Grant>,
}

/// `oauth-grants.json`.
#[derive(Debug)]
pub struct GrantStore {
    path: PathBuf,
    file: File,
}

impl GrantStore {
    /// Reads the file; a missing one is empty.
    pub fn open(path: impl Into<PathBuf>) -> Result<GrantStore, StoreError> {
        let path = path.into();
        let file = match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map_err(|error| StoreError::BrokenGrants {
                path: path.clone(),
                reason: format!(
                    "{} at line {} column {}",
                    error.classify_words(),
                    error.line(),
                    error.column()
                ),
            })?,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => File::default(),
            Err(error) => return Err(StoreError::io("read", &path)(error)),
        };
        Ok(GrantStore { path, file })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn get(&self, id: &ProfileId) -> Option<Grant> {
        self.file.grants.get(id.as_str()).cloned()
    }

    /// Keeps a new grant (after consent), replacing the profile's old one.
    pub fn set(&mut self, id: &ProfileId, grant: Grant) -> Result<(), StoreError> {
        self.file.grants.insert(id.0.clone(), grant);
        self.save()
    }

    /// Notes a refresh that worked. Nothing is written for a profile without a grant.
    pub fn refreshed(&mut self, id: &ProfileId, at: SystemTime) -> Result<(), StoreError> {
        let Some(grant) = self.file.grants.get_mut(id.as_str()) else {
            return Ok(());
        };
        grant.last_refresh_ms = Some(unix_ms(at));
        self.save()
    }

    pub fn remove(&mut self, id: &ProfileId) -> Result<(), StoreError> {
        if self.file.grants.remove(id.as_str()).is_some() {
            self.save()?;
        }
        Ok(())
    }

    fn save(&self) -> Result<(), StoreError> {
        let mut text = serde_json::to_string_pretty(&self.file).unwrap_or_default();
        text.push('\n');
        write_atomic(&self.path, text.as_bytes(), 0o600)
    }
}

/// serde_json's error category in words, without the text around it.
trait ClassifyWords {
    fn classify_words(&self) -> &'static str;
}

impl ClassifyWords for serde_json::Error {
    fn classify_words(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "a read error",
            serde_json::error::Category::Syntax => "a syntax error",
            serde_json::error::Category::Data => "a value of the wrong kind",
            serde_json::error::Category::Eof => "the file ends too early",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_survive_a_reopen_and_a_broken_file_is_left_alone() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("oauth-grants.json");
        let id = ProfileId("work".into());
        let mut store = GrantStore::open(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(store.get(&id), None);
        let grant = Grant {
            client_id: "c".into(),
            scope: "https://mail.google.com/".into(),
            consented_at_ms: 1_000,
            last_refresh_ms: None,
        };
        store
            .set(&id, grant.clone())
            .unwrap_or_else(|e| panic!("{e}"));
        store
            .refreshed(&id, UNIX_EPOCH + Duration::from_millis(5_000))
            .unwrap_or_else(|e| panic!("{e}"));
        let reopened = GrantStore::open(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            reopened.get(&id),
            Some(Grant {
                last_refresh_ms: Some(5_000),
                ..grant
            })
        );

        std::fs::write(&path, "{\"grants\": {\"work\": 1}}").unwrap_or_else(|e| panic!("{e}"));
        let error = GrantStore::open(&path).err().map(|e| e.to_string());
        assert!(
            error
                .as_deref()
                .is_some_and(|e| e.contains("oauth-grants.json") && e.contains("wrong kind")),
            "{error:?}"
        );
        assert_eq!(
            std::fs::read_to_string(&path).ok().as_deref(),
            Some("{\"grants\": {\"work\": 1}}")
        );
    }
}
