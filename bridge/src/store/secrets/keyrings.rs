//! The OS keyring (Secret Service on Linux and the BSDs, the macOS Keychain, the Windows
//! Credential Manager) and the Linux kernel keyring (keyutils), through the `keyring` crate.
//!
//! Each backend is picked explicitly rather than through the crate's default, which on Linux is
//! a keyutils cache in front of the Secret Service: the bridge must know, and say, where the
//! secrets really are.

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use keyring::Entry;
use protocol::Secret;

use super::{SecretKey, SecretStore};
use crate::store::StoreError;

/// The keyring service name every entry is filed under.
const SERVICE: &str = "mailbridge";

/// How long a keyring may take to answer the probe. A locked keyring may be showing the user an
/// unlock prompt, so this is generous; a machine without one fails at once.
const PROBE_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Os,
    Kernel,
}

/// Secrets in a keyring, one entry per key under the service `mailbridge`.
#[derive(Debug, Clone)]
pub struct KeyringStore {
    kind: Kind,
}

impl KeyringStore {
    /// The OS keyring: Secret Service, macOS Keychain or Windows Credential Manager.
    pub fn os() -> KeyringStore {
        KeyringStore { kind: Kind::Os }
    }

    /// The Linux kernel keyring (keyutils). It lives in memory: secrets survive until the machine
    /// restarts (or the user's keyrings expire after logout), so they must be set again then.
    pub fn kernel() -> KeyringStore {
        KeyringStore { kind: Kind::Kernel }
    }

    /// Whether the keyring works: a test entry is stored, read back and deleted. The error says
    /// what went wrong, as a phrase that follows the store's description ("could not store a
    /// test entry: ...").
    pub fn probe(&self) -> Result<(), String> {
        let store = self.clone();
        let (done, result) = mpsc::channel();
        let spawned = thread::Builder::new()
            .name("keyring-probe".into())
            .spawn(move || {
                let _ = done.send(store.round_trip());
            });
        if spawned.is_err() {
            return self.round_trip();
        }
        // A keyring that never answers leaves its thread blocked; it ends with the process.
        result.recv_timeout(PROBE_TIMEOUT).unwrap_or_else(|_| {
            Err(format!(
                "did not answer within {} seconds",
                PROBE_TIMEOUT.as_secs()
            ))
        })
    }

    fn round_trip(&self) -> Result<(), String> {
        let entry = self
            .entry("probe")
            .map_err(|error| format!("could not make a test entry: {}", reason(&error)))?;
        let value = format!("probe-{:032x}", rand::random::<u128>());
        entry.set_password(&value).map_err(|error| match error {
            // Storing reports a missing keyring to store in as a missing entry.
            keyring::Error::NoEntry => "could not store a test entry: there is no keyring to \
                                        store it in (processes started outside a login session, \
                                        as in containers, often have none)"
                .to_string(),
            error => format!("could not store a test entry: {}", reason(&error)),
        })?;
        let read = entry.get_password();
        let deleted = entry.delete_credential();
        match read {
            Ok(read) if read == value => {}
            Ok(_) => return Err("gave back a different value for a test entry".into()),
            Err(error) => {
                return Err(format!(
                    "could not read back a test entry: {}",
                    reason(&error)
                ));
            }
        }
        deleted.map_err(|error| format!("could not delete a test entry: {}", reason(&error)))
    }

    fn entry(&self, user: &str) -> keyring::Result<Entry> {
        match self.kind {
            Kind::Os => os_entry(user),
            Kind::Kernel => kernel_entry(user),
        }
    }

    fn error(&self, action: &'static str, key: &SecretKey, error: &keyring::Error) -> StoreError {
        StoreError::Keyring {
            store: self.describe(),
            action,
            key: key.to_string(),
            reason: reason(error),
        }
    }
}

impl SecretStore for KeyringStore {
    fn set(&self, key: &SecretKey, secret: &Secret) -> Result<(), StoreError> {
        self.entry(&key.name())
            .and_then(|entry| entry.set_password(secret.expose()))
            .map_err(|error| self.error("store", key, &error))
    }

    fn get(&self, key: &SecretKey) -> Result<Option<Secret>, StoreError> {
        match self
            .entry(&key.name())
            .and_then(|entry| entry.get_password())
        {
            Ok(secret) => Ok(Some(Secret::new(secret))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(error) => Err(self.error("read", key, &error)),
        }
    }

    fn delete(&self, key: &SecretKey) -> Result<(), StoreError> {
        match self
            .entry(&key.name())
            .and_then(|entry| entry.delete_credential())
        {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(error) => Err(self.error("delete", key, &error)),
        }
    }

    fn describe(&self) -> String {
        match self.kind {
            Kind::Os if cfg!(target_os = "macos") => "the OS keyring (macOS Keychain)",
            Kind::Os if cfg!(windows) => "the OS keyring (Windows Credential Manager)",
            Kind::Os => "the OS keyring (Secret Service)",
            Kind::Kernel => "the kernel keyring (keyutils)",
        }
        .to_string()
    }
}

/// Why a keyring call failed, in words. `keyring::Error::BadEncoding` holds the stored bytes,
/// which may be a secret, so errors are described here rather than passed on.
fn reason(error: &keyring::Error) -> String {
    match error {
        keyring::Error::NoEntry => "there is no such entry".into(),
        keyring::Error::BadEncoding(_) => "the stored value is not UTF-8 text".into(),
        keyring::Error::Ambiguous(matches) => {
            format!("{} entries match it; remove the extra ones", matches.len())
        }
        keyring::Error::NoStorageAccess(inner) => {
            format!("the keyring refused access (is it locked?): {inner}")
        }
        keyring::Error::PlatformFailure(inner) => inner.to_string(),
        other => other.to_string(),
    }
}

#[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd"))]
fn os_entry(user: &str) -> keyring::Result<Entry> {
    let credential = keyring::secret_service::SsCredential::new_with_target(None, SERVICE, user)?;
    Ok(Entry::new_with_credential(Box::new(credential)))
}

#[cfg(any(target_os = "macos", target_os = "windows"))]
fn os_entry(user: &str) -> keyring::Result<Entry> {
    // On these systems the crate's default store is the native one.
    Entry::new(SERVICE, user)
}

#[cfg(not(any(
    target_os = "linux",
    target_os = "freebsd",
    target_os = "openbsd",
    target_os = "macos",
    target_os = "windows"
)))]
fn os_entry(_user: &str) -> keyring::Result<Entry> {
    // The crate's default here is an in-memory mock, which would lose every secret.
    Err(keyring::Error::PlatformFailure(
        "mailbridge knows no OS keyring on this system".into(),
    ))
}

#[cfg(target_os = "linux")]
fn kernel_entry(user: &str) -> keyring::Result<Entry> {
    let credential = keyring::keyutils::KeyutilsCredential::new_with_target(None, SERVICE, user)?;
    Ok(Entry::new_with_credential(Box::new(credential)))
}

#[cfg(not(target_os = "linux"))]
fn kernel_entry(_user: &str) -> keyring::Result<Entry> {
    Err(keyring::Error::PlatformFailure(
        "the kernel keyring exists on Linux only".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyring_failures_are_told_without_the_stored_bytes() {
        let cases = [
            (keyring::Error::NoEntry, "there is no such entry"),
            (
                keyring::Error::BadEncoding(b"canary-secret\xff".to_vec()),
                "the stored value is not UTF-8 text",
            ),
            (
                keyring::Error::NoStorageAccess("collection is locked".into()),
                "the keyring refused access (is it locked?): collection is locked",
            ),
            (
                keyring::Error::PlatformFailure("no D-Bus session".into()),
                "no D-Bus session",
            ),
            (keyring::Error::Ambiguous(Vec::new()), "0 entries match it"),
        ];
        for (error, expected) in cases {
            let got = reason(&error);
            assert!(got.starts_with(expected), "{error:?}: {got}");
            let store_error = KeyringStore::os().error("read", &SecretKey::PairingToken, &error);
            let message = store_error.to_string();
            assert!(
                message.starts_with("the OS keyring") && message.contains("read the pairing token"),
                "{message}"
            );
            assert!(!format!("{message} {store_error:?}").contains("canary"));
        }
    }

    #[test]
    fn stores_describe_themselves_in_words() {
        assert!(
            KeyringStore::os()
                .describe()
                .starts_with("the OS keyring (")
        );
        assert_eq!(
            KeyringStore::kernel().describe(),
            "the kernel keyring (keyutils)"
        );
    }
}
