//! Where app passwords, OAuth tokens and the pairing token are kept.
//!
//! The OS keyring is the default; the kernel keyring is the fallback on Linux machines without a
//! Secret Service; a 0600 file is used only when the user asks for it. Whatever the store, the
//! `MAILBRIDGE_SECRET_<PROFILE>` environment variables can supply a profile's secret for scripts
//! and CI.

mod file;
mod keyrings;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use profile::{AuthMethod, Profile, ProfileId};
use protocol::{Secret, SecretState};

pub use file::FileStore;
pub use keyrings::KeyringStore;

use super::StoreError;

/// Keeps secrets. Implementations never put a secret in an error, a log or their `Debug`.
pub trait SecretStore: Send + Sync {
    /// Stores `secret` under `key`, replacing any secret already there.
    fn set(&self, key: &SecretKey, secret: &Secret) -> Result<(), StoreError>;
    /// The secret under `key`, or `None` when there is none.
    fn get(&self, key: &SecretKey) -> Result<Option<Secret>, StoreError>;
    /// Removes the secret under `key`; removing one that is not there is not an error.
    fn delete(&self, key: &SecretKey) -> Result<(), StoreError>;
    /// Where the secrets are, in words, e.g. "the OS keyring (Secret Service)".
    fn describe(&self) -> String;
}

/// What a secret is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SecretKey {
    /// A profile's app password or OAuth token, kept under its id so renaming keeps it.
    Profile(ProfileId),
    /// The token the web page presents to pair with this bridge.
    PairingToken,
    /// The HMAC key that signs campaigns' one-click unsubscribe tokens.
    Unsubscribe,
    /// The secret of a profile's OAuth client.
    OAuthClientSecret(ProfileId),
    /// The refresh token consent gave a profile's account.
    RefreshToken(ProfileId),
    /// A receiving mailbox's App Password or OAuth token (delivery verification), by its id.
    Mailbox(String),
}

impl SecretKey {
    /// The name the secret is stored under: `profile:<id>` or `pairing-token`. It is the user
    /// name of a keyring entry and the key in the secrets file, readable in both.
    pub fn name(&self) -> String {
        match self {
            SecretKey::Profile(id) => format!("profile:{id}"),
            SecretKey::PairingToken => "pairing-token".to_string(),
            SecretKey::Unsubscribe => "unsubscribe-key".to_string(),
            SecretKey::OAuthClientSecret(id) => format!("oauth-client-secret:{id}"),
            SecretKey::RefreshToken(id) => format!("oauth-refresh-token:{id}"),
            SecretKey::Mailbox(id) => format!("mailbox:{id}"),
        }
    }
}

impl fmt::Display for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretKey::Profile(id) => write!(f, "the secret of profile {:?}", id.0),
            SecretKey::PairingToken => f.write_str("the pairing token"),
            SecretKey::Unsubscribe => f.write_str("the unsubscribe signing key"),
            SecretKey::OAuthClientSecret(id) => {
                write!(f, "the OAuth client secret of profile {:?}", id.0)
            }
            SecretKey::RefreshToken(id) => {
                write!(f, "the OAuth refresh token of profile {:?}", id.0)
            }
            SecretKey::Mailbox(id) => write!(f, "the secret of receiving mailbox {id:?}"),
        }
    }
}

/// How to choose the secret store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretOptions {
    /// The secrets file the user opted in to (`--secrets-file`, `MAILBRIDGE_SECRETS_FILE`).
    /// `None` means a keyring.
    pub file: Option<PathBuf>,
}

/// The secret store to use: the opted-in file if there is one; otherwise the OS keyring, or
/// the kernel keyring if the OS keyring fails a store-read-delete round trip; otherwise an error
/// that says what was tried and how to opt in to the file. Profile secrets in
/// `MAILBRIDGE_SECRET_*` variables override the chosen store's (see [`EnvOverride`]).
pub fn open(options: &SecretOptions) -> Result<Box<dyn SecretStore>, StoreError> {
    let inner: Box<dyn SecretStore> = match &options.file {
        Some(path) => Box::new(FileStore::open(path)?),
        None => {
            let mut tried = Vec::new();
            let mut chosen = None;
            for store in [KeyringStore::os(), KeyringStore::kernel()] {
                match store.probe() {
                    Ok(()) => {
                        chosen = Some(store);
                        break;
                    }
                    Err(reason) => {
                        tracing::debug!("{} is not usable: {reason}", store.describe());
                        tried.push(format!("{} {reason}", store.describe()));
                    }
                }
            }
            match chosen {
                Some(store) => Box::new(store),
                None => return Err(StoreError::NoKeyring { tried }),
            }
        }
    };
    Ok(Box::new(EnvOverride::from_env(inner)))
}

/// The token pages pair with: 256 random bits as unpadded base64url (43 characters). It is made
/// on first use and kept in `store`, so it stays the same across restarts until
/// [`reset_pairing_token`].
pub fn pairing_token(store: &dyn SecretStore) -> Result<Secret, StoreError> {
    if let Some(token) = store.get(&SecretKey::PairingToken)? {
        if is_pairing_token(token.expose()) {
            return Ok(token);
        }
        tracing::warn!("the stored pairing token is malformed; making a new one");
    }
    let token = Secret::new(URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>()));
    store.set(&SecretKey::PairingToken, &token)?;
    Ok(token)
}

/// The key that signs unsubscribe tokens: 32 random bytes, kept as base64url in `store` and
/// made on first use, so links in mail already sent keep verifying.
pub fn unsubscribe_key(store: &dyn SecretStore) -> Result<Vec<u8>, StoreError> {
    if let Some(stored) = store.get(&SecretKey::Unsubscribe)? {
        match URL_SAFE_NO_PAD.decode(stored.expose()) {
            Ok(key) if key.len() >= 32 => return Ok(key),
            _ => tracing::warn!("the stored unsubscribe key is malformed; making a new one"),
        }
    }
    let key = rand::random::<[u8; 32]>().to_vec();
    store.set(
        &SecretKey::Unsubscribe,
        &Secret::new(URL_SAFE_NO_PAD.encode(&key)),
    )?;
    Ok(key)
}

/// Forgets the pairing token, so the next [`pairing_token`] makes a new one and pages paired
/// with the old one must pair again.
pub fn reset_pairing_token(store: &dyn SecretStore) -> Result<(), StoreError> {
    store.delete(&SecretKey::PairingToken)
}

/// Stores a profile's secret as its sign-in needs it: an app password without the spaces Google
/// shows it with (`abcd efgh ijkl mnop`), an OAuth token trimmed.
pub fn set_profile_secret(
    store: &dyn SecretStore,
    profile: &Profile,
    secret: &Secret,
) -> Result<(), StoreError> {
    let key = SecretKey::Profile(profile.id.clone());
    let secret = match profile.auth {
        AuthMethod::AppPassword => secret.without_spaces(),
        AuthMethod::OAuth2 | AuthMethod::None => Secret::new(secret.expose().trim()),
    };
    if secret.expose().is_empty() {
        return Err(StoreError::EmptySecret {
            key: key.to_string(),
        });
    }
    store.set(&key, &secret)
}

/// Whether `store` holds the secret `profile` needs. A store that cannot be read counts as
/// missing (and is logged), since the send would fail for want of the secret.
pub fn secret_state(profile: &Profile, store: &dyn SecretStore) -> SecretState {
    if profile.auth == AuthMethod::None {
        return SecretState::NotNeeded;
    }
    match store.get(&SecretKey::Profile(profile.id.clone())) {
        Ok(Some(_)) => SecretState::Stored,
        Ok(None) => SecretState::Missing,
        Err(error) => {
            tracing::warn!("{error}");
            SecretState::Missing
        }
    }
}

/// The environment variable that overrides a profile's secret: `MAILBRIDGE_SECRET_` and the id
/// in upper case with anything but ASCII letters and digits made `_` (`team-gmail` gives
/// `MAILBRIDGE_SECRET_TEAM_GMAIL`).
pub fn env_var_name(id: &ProfileId) -> String {
    let suffix: String =
        id.0.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect();
    format!("{ENV_PREFIX}{suffix}")
}

const ENV_PREFIX: &str = "MAILBRIDGE_SECRET_";

fn is_pairing_token(token: &str) -> bool {
    token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Profile secrets from `MAILBRIDGE_SECRET_*` environment variables, in front of another store,
/// for scripts and CI. Reading a profile's secret prefers the variable; everything else (and
/// every write) goes to the inner store. The variables are read once, when the store is made.
pub struct EnvOverride {
    inner: Box<dyn SecretStore>,
    /// Variable name to value, trimmed; empty values are left out.
    vars: BTreeMap<String, Secret>,
}

impl EnvOverride {
    /// Overrides from this process's environment.
    pub fn from_env(inner: Box<dyn SecretStore>) -> EnvOverride {
        let vars = std::env::vars_os().filter_map(|(name, value)| {
            Some((name.into_string().ok()?, value.into_string().ok()?))
        });
        EnvOverride::new(inner, vars)
    }

    /// Overrides from `vars` (name, value); names without the `MAILBRIDGE_SECRET_` prefix are
    /// ignored.
    pub fn new(
        inner: Box<dyn SecretStore>,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> EnvOverride {
        let vars = vars
            .into_iter()
            .filter(|(name, value)| name.starts_with(ENV_PREFIX) && !value.trim().is_empty())
            .map(|(name, value)| (name, Secret::new(value.trim())))
            .collect();
        EnvOverride { inner, vars }
    }
}

impl fmt::Debug for EnvOverride {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnvOverride")
            .field("inner", &self.inner.describe())
            .field("vars", &self.vars.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl SecretStore for EnvOverride {
    fn set(&self, key: &SecretKey, secret: &Secret) -> Result<(), StoreError> {
        self.inner.set(key, secret)
    }

    fn get(&self, key: &SecretKey) -> Result<Option<Secret>, StoreError> {
        if let SecretKey::Profile(id) = key
            && let Some(secret) = self.vars.get(&env_var_name(id))
        {
            return Ok(Some(secret.clone()));
        }
        self.inner.get(key)
    }

    fn delete(&self, key: &SecretKey) -> Result<(), StoreError> {
        self.inner.delete(key)
    }

    fn describe(&self) -> String {
        let inner = self.inner.describe();
        match self.vars.len() {
            0 => inner,
            1 => format!("{inner}, with 1 {ENV_PREFIX}* environment variable in front"),
            n => format!("{inner}, with {n} {ENV_PREFIX}* environment variables in front"),
        }
    }
}

/// Secrets in memory, gone when it is dropped: for tests, and for trying things out.
#[derive(Default)]
pub struct MemoryStore {
    secrets: Mutex<BTreeMap<SecretKey, Secret>>,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secrets = self.secrets.lock().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("MemoryStore")
            .field("keys", &secrets.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl SecretStore for MemoryStore {
    fn set(&self, key: &SecretKey, secret: &Secret) -> Result<(), StoreError> {
        let mut secrets = self.secrets.lock().unwrap_or_else(PoisonError::into_inner);
        secrets.insert(key.clone(), secret.clone());
        Ok(())
    }

    fn get(&self, key: &SecretKey) -> Result<Option<Secret>, StoreError> {
        let secrets = self.secrets.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(secrets.get(key).cloned())
    }

    fn delete(&self, key: &SecretKey) -> Result<(), StoreError> {
        let mut secrets = self.secrets.lock().unwrap_or_else(PoisonError::into_inner);
        secrets.remove(key);
        Ok(())
    }

    fn describe(&self) -> String {
        "memory (secrets are forgotten when mailbridge stops)".to_string()
    }
}

#[cfg(test)]
mod tests {
    use profile::Preset;

    use super::*;

    /// Never printed by anything; the tests look for it in every output.
    pub(super) const CANARY: &str = "canary-7f3a9c-hunter2";

    fn profile(id: &str, auth: AuthMethod) -> Profile {
        Profile {
            auth,
            ..Profile::from_preset(
                Preset::Gmail587,
                ProfileId(id.into()),
                "Team Gmail",
                "ann@gmail.com",
            )
        }
    }

    fn key(id: &str) -> SecretKey {
        SecretKey::Profile(ProfileId(id.into()))
    }

    #[test]
    fn memory_store_round_trips_and_deletes() -> anyhow::Result<()> {
        let store = MemoryStore::new();
        assert_eq!(store.get(&key("a"))?, None);
        store.set(&key("a"), &Secret::new("one"))?;
        store.set(&key("a"), &Secret::new("two"))?;
        assert_eq!(store.get(&key("a"))?, Some(Secret::new("two")));
        assert_eq!(store.get(&SecretKey::PairingToken)?, None);
        store.delete(&key("a"))?;
        store.delete(&key("a"))?;
        assert_eq!(store.get(&key("a"))?, None);
        Ok(())
    }

    #[test]
    fn profile_secrets_are_stored_as_sign_in_needs_them() -> anyhow::Result<()> {
        let cases = [
            (
                AuthMethod::AppPassword,
                "abcd efgh ijkl mnop",
                "abcdefghijklmnop",
            ),
            (
                AuthMethod::AppPassword,
                " abcd\u{a0}efgh\tijkl mnop\n",
                "abcdefghijklmnop",
            ),
            (
                AuthMethod::OAuth2,
                "  ya29.a0Af-token_x  \n",
                "ya29.a0Af-token_x",
            ),
        ];
        for (auth, given, stored) in cases {
            let store = MemoryStore::new();
            set_profile_secret(&store, &profile("p", auth), &Secret::new(given))?;
            assert_eq!(
                store.get(&key("p"))?.as_ref().map(Secret::expose),
                Some(stored),
                "{auth:?} {given:?}"
            );
        }
        let store = MemoryStore::new();
        let error = set_profile_secret(
            &store,
            &profile("p", AuthMethod::AppPassword),
            &Secret::new("   "),
        )
        .err();
        assert!(
            matches!(&error, Some(StoreError::EmptySecret { .. })),
            "{error:?}"
        );
        assert_eq!(store.get(&key("p"))?, None);
        Ok(())
    }

    #[test]
    fn env_var_names_come_from_profile_ids() {
        let cases = [
            ("team-gmail", "MAILBRIDGE_SECRET_TEAM_GMAIL"),
            ("ops.relay_2", "MAILBRIDGE_SECRET_OPS_RELAY_2"),
            ("büro", "MAILBRIDGE_SECRET_B_RO"),
        ];
        for (id, name) in cases {
            assert_eq!(env_var_name(&ProfileId(id.into())), name);
        }
    }

    #[test]
    fn environment_overrides_profile_secrets_for_reading_only() -> anyhow::Result<()> {
        let inner = MemoryStore::new();
        inner.set(&key("team-gmail"), &Secret::new("from-store"))?;
        inner.set(&key("other"), &Secret::new("other-store"))?;
        let store = EnvOverride::new(
            Box::new(inner),
            [
                ("MAILBRIDGE_SECRET_TEAM_GMAIL", " from-env "),
                ("MAILBRIDGE_SECRET_EMPTY", "  "),
                ("MAILBRIDGE_SECRETS_FILE", "/not/a/secret"),
                ("HOME", "/root"),
            ]
            .map(|(name, value)| (name.to_string(), value.to_string())),
        );
        let get = |k: &SecretKey| store.get(k).map(|s| s.map(|s| s.expose().to_string()));
        assert_eq!(get(&key("team-gmail"))?.as_deref(), Some("from-env"));
        assert_eq!(get(&key("other"))?.as_deref(), Some("other-store"));
        assert_eq!(get(&key("empty"))?, None);
        assert_eq!(get(&key("secrets-file"))?, None);
        // Writes go to the inner store, and the variable still wins when reading.
        store.set(&key("team-gmail"), &Secret::new("new"))?;
        assert_eq!(get(&key("team-gmail"))?.as_deref(), Some("from-env"));
        store.delete(&key("team-gmail"))?;
        assert_eq!(get(&key("team-gmail"))?.as_deref(), Some("from-env"));
        // The pairing token is never overridden.
        store.set(&SecretKey::PairingToken, &Secret::new("token"))?;
        assert_eq!(get(&SecretKey::PairingToken)?.as_deref(), Some("token"));
        assert_eq!(
            store.describe(),
            "memory (secrets are forgotten when mailbridge stops), with 1 \
             MAILBRIDGE_SECRET_* environment variable in front"
        );
        Ok(())
    }

    #[test]
    fn pairing_token_is_random_stable_and_resettable() -> anyhow::Result<()> {
        let store = MemoryStore::new();
        let first = pairing_token(&store)?;
        assert_eq!(first.expose().len(), 43);
        assert!(is_pairing_token(first.expose()), "{}", first.expose());
        assert_eq!(URL_SAFE_NO_PAD.decode(first.expose())?.len(), 32);
        assert_eq!(pairing_token(&store)?, first);
        reset_pairing_token(&store)?;
        let second = pairing_token(&store)?;
        assert_ne!(second, first);
        assert_eq!(pairing_token(&store)?, second);
        // A mangled token is replaced rather than handed to pages that could never match it.
        store.set(&SecretKey::PairingToken, &Secret::new("short"))?;
        let third = pairing_token(&store)?;
        assert!(is_pairing_token(third.expose()));
        assert_eq!(store.get(&SecretKey::PairingToken)?, Some(third));
        Ok(())
    }

    #[test]
    fn secret_state_says_whether_the_profile_can_sign_in() -> anyhow::Result<()> {
        let store = MemoryStore::new();
        store.set(&key("stored"), &Secret::new("x"))?;
        let cases = [
            ("stored", AuthMethod::AppPassword, SecretState::Stored),
            ("stored", AuthMethod::OAuth2, SecretState::Stored),
            ("missing", AuthMethod::AppPassword, SecretState::Missing),
            ("missing", AuthMethod::None, SecretState::NotNeeded),
            ("stored", AuthMethod::None, SecretState::NotNeeded),
        ];
        for (id, auth, expected) in cases {
            assert_eq!(
                secret_state(&profile(id, auth), &store),
                expected,
                "{id} {auth:?}"
            );
        }
        Ok(())
    }

    /// With no file opted in, `open` tries the real keyrings of this machine. Either it finds one
    /// that works, or it says what it tried and how to use a file instead; it never panics.
    #[test]
    fn open_without_a_file_gives_a_working_keyring_or_says_what_to_do() -> anyhow::Result<()> {
        match open(&SecretOptions::default()) {
            Ok(store) => {
                let description = store.describe();
                assert!(description.contains("keyring"), "{description}");
                // A key no real profile has, removed again.
                let key = key(&format!("mailbridge-test-{}", rand::random::<u64>()));
                store.set(&key, &Secret::new(CANARY))?;
                let read = store.get(&key);
                store.delete(&key)?;
                assert_eq!(read?.as_ref().map(Secret::expose), Some(CANARY));
                assert_eq!(store.get(&key)?, None);
            }
            Err(error) => {
                let message = error.to_string();
                for needle in [
                    "the OS keyring",
                    "the kernel keyring",
                    "--secrets-file",
                    "MAILBRIDGE_SECRETS_FILE",
                ] {
                    assert!(
                        message.contains(needle),
                        "{needle:?} missing from: {message}"
                    );
                }
            }
        }
        Ok(())
    }

    #[test]
    fn no_secret_shows_in_debug_output_or_errors() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let file = FileStore::open(dir.path().join("secrets.json"))?;
        let memory = MemoryStore::new();
        let env = EnvOverride::new(
            Box::new(MemoryStore::new()),
            [("MAILBRIDGE_SECRET_P".to_string(), CANARY.to_string())],
        );
        let stores: [&dyn SecretStore; 3] = [&file, &memory, &env];
        for store in stores {
            store.set(&key("p"), &Secret::new(CANARY))?;
            store.set(&SecretKey::PairingToken, &Secret::new(CANARY))?;
        }
        let keyrings = [KeyringStore::os(), KeyringStore::kernel()];
        let errors = [
            format!("{:?}", open(&SecretOptions::default()).err()),
            format!(
                "{:?} {:?}",
                StoreError::EmptySecret {
                    key: key("p").to_string()
                },
                set_profile_secret(&memory, &profile("p", AuthMethod::OAuth2), &Secret::new(""))
            ),
            format!(
                "{}",
                StoreError::Keyring {
                    store: KeyringStore::os().describe(),
                    action: "store",
                    key: key("p").to_string(),
                    reason: "locked".into(),
                }
            ),
        ];
        let outputs = [
            format!("{file:?} {memory:?} {env:?} {keyrings:?}"),
            format!("{:?}", key("p")),
            errors.join(" "),
        ];
        for output in outputs {
            assert!(!output.contains(CANARY), "the secret leaked: {output}");
        }
        Ok(())
    }
}
