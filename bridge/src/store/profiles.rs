//! The sending profiles, kept in `profiles.json` in the user's config directory.
//!
//! The file is a team file (`profile::export`), so it is readable, diffs cleanly and can be
//! shared as it is. A file that cannot be read is never overwritten: the store refuses to write
//! until the user corrects it or moves it away.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use profile::{Conflict, ImportOutcome, Preset, Problem, Profile, ProfileId, TeamFile};

use super::{StoreError, write_atomic};

/// The id of the profile for the local sandbox.
pub const SANDBOX_ID: &str = "sandbox";
/// The name the sandbox profile is created with.
pub const SANDBOX_NAME: &str = "Sandbox";

/// The user's profiles. Reads are served from memory; every write first rereads the file, so
/// edits made by hand or by another mailbridge process since are kept rather than overwritten,
/// and a file broken since is refused rather than replaced.
#[derive(Debug)]
pub struct ProfileStore {
    path: PathBuf,
    /// In export order: by name, then id.
    profiles: Vec<Profile>,
    /// The file's text as last read or written; `None` when there was no file.
    seen: Option<String>,
}

impl ProfileStore {
    /// Reads the profiles at `path`. A missing file is an empty list; a file that cannot be read
    /// as a team file (bad JSON, another format, an invalid profile) is an error that lists every
    /// problem with its JSON path, and the file is left as it is.
    pub fn open(path: impl Into<PathBuf>) -> Result<ProfileStore, StoreError> {
        let mut store = ProfileStore {
            path: path.into(),
            profiles: Vec::new(),
            seen: None,
        };
        store.reload()?;
        Ok(store)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every profile, by name, then id.
    pub fn list(&self) -> Vec<Profile> {
        self.profiles.clone()
    }

    pub fn get(&self, id: &ProfileId) -> Option<Profile> {
        self.profiles.iter().find(|p| &p.id == id).cloned()
    }

    /// The profile called `name`, as typed on a command line: an exact match, else the only
    /// profile whose name matches ignoring case.
    pub fn get_by_name(&self, name: &str) -> Option<Profile> {
        if let Some(profile) = self.profiles.iter().find(|p| p.name == name) {
            return Some(profile.clone());
        }
        let mut matches = self
            .profiles
            .iter()
            .filter(|p| p.name.to_lowercase() == name.to_lowercase());
        match (matches.next(), matches.next()) {
            (Some(profile), None) => Some(profile.clone()),
            _ => None,
        }
    }

    /// Adds `profile`, or replaces the one with its id. It must be valid and its name must not be
    /// another profile's; otherwise nothing is written and every problem comes back.
    pub fn save(&mut self, profile: Profile) -> Result<Profile, Vec<Problem>> {
        profile.validate()?;
        self.reload()
            .map_err(|error| error.into_problems(&self.path))?;
        if self
            .profiles
            .iter()
            .any(|p| p.name == profile.name && p.id != profile.id)
        {
            return Err(vec![Problem::new(
                "name",
                format!("another profile is already called {:?}", profile.name),
                "choose another name, or edit that profile instead",
            )]);
        }
        let mut profiles = self.profiles.clone();
        match profiles.iter_mut().find(|p| p.id == profile.id) {
            Some(slot) => *slot = profile.clone(),
            None => profiles.push(profile.clone()),
        }
        self.write(&profiles)
            .map_err(|error| error.into_problems(&self.path))?;
        Ok(self.get(&profile.id).unwrap_or(profile))
    }

    /// Removes the profile with id `id`.
    pub fn delete(&mut self, id: &ProfileId) -> Result<(), StoreError> {
        self.reload()?;
        let mut profiles = self.profiles.clone();
        let Some(index) = profiles.iter().position(|p| &p.id == id) else {
            return Err(StoreError::NoSuchProfile { id: id.clone() });
        };
        profiles.remove(index);
        self.write(&profiles)
    }

    /// Merges a team file into the profiles (see [`profile::import`]). All or nothing: on any
    /// problem nothing is stored.
    pub fn import(
        &mut self,
        json: &str,
        conflict: Conflict,
    ) -> Result<ImportOutcome, Vec<Problem>> {
        self.reload()
            .map_err(|error| error.into_problems(&self.path))?;
        let outcome = profile::import(json, &self.profiles, conflict)?;
        self.write(&outcome.profiles)
            .map_err(|error| error.into_problems(&self.path))?;
        Ok(outcome)
    }

    /// A team file with the profiles whose ids are in `ids`, or all of them when `ids` is empty.
    pub fn export(&self, ids: &[ProfileId]) -> String {
        if ids.is_empty() {
            return profile::export(&self.profiles);
        }
        let chosen: Vec<Profile> = self
            .profiles
            .iter()
            .filter(|p| ids.contains(&p.id))
            .cloned()
            .collect();
        profile::export(&chosen)
    }

    /// Makes sure a profile for the local sandbox exists and points at it: the one with id
    /// `sandbox` (else the first with the sandbox preset) gets the sandbox's current port and CA
    /// certificate; when there is none, one is created. Nothing is written when it is already
    /// up to date.
    pub fn ensure_sandbox(&mut self, port: u16, ca_pem: String) -> Result<Profile, StoreError> {
        self.reload()?;
        let mut profiles = self.profiles.clone();
        let existing = profiles
            .iter()
            .position(|p| p.id.0 == SANDBOX_ID && p.preset == Preset::Sandbox)
            .or_else(|| profiles.iter().position(|p| p.preset == Preset::Sandbox));
        let sandbox = match existing.and_then(|index| profiles.get_mut(index)) {
            Some(sandbox) => {
                if sandbox.port == port && sandbox.extra_ca_pem.as_ref() == Some(&ca_pem) {
                    return Ok(sandbox.clone());
                }
                sandbox.port = port;
                sandbox.extra_ca_pem = Some(ca_pem);
                sandbox.clone()
            }
            None => {
                let id = if profiles.iter().any(|p| p.id.0 == SANDBOX_ID) {
                    ProfileId::unique_for(SANDBOX_NAME, &profiles)
                } else {
                    ProfileId(SANDBOX_ID.to_string())
                };
                let name = (1..)
                    .map(|n| match n {
                        1 => SANDBOX_NAME.to_string(),
                        n => format!("{SANDBOX_NAME} ({n})"),
                    })
                    .find(|name| !profiles.iter().any(|p| &p.name == name))
                    .unwrap_or_else(|| SANDBOX_NAME.to_string());
                let sandbox = Profile {
                    extra_ca_pem: Some(ca_pem),
                    ..Profile::sandbox(id, &name, port)
                };
                profiles.push(sandbox.clone());
                sandbox
            }
        };
        sandbox
            .validate()
            .map_err(|problems| StoreError::InvalidSandbox { problems })?;
        self.write(&profiles)?;
        Ok(sandbox)
    }

    /// Catches up with the file if it changed since it was last read or written. A file that
    /// cannot be read leaves the store as it was and is an error.
    fn reload(&mut self) -> Result<(), StoreError> {
        let text = match fs::read(&self.path) {
            Ok(bytes) => Some(bytes),
            Err(error) if error.kind() == io::ErrorKind::NotFound => None,
            Err(error) => return Err(StoreError::io("read", &self.path)(error)),
        };
        let text = match text.map(String::from_utf8).transpose() {
            Ok(text) => text,
            Err(_) => {
                return Err(self.broken(vec![Problem::new(
                    "$",
                    "the file is not UTF-8 text",
                    "save it as UTF-8",
                )]));
            }
        };
        if text == self.seen {
            return Ok(());
        }
        self.profiles = match &text {
            Some(text) => {
                profile::import(text, &[], Conflict::Skip)
                    .map_err(|problems| self.broken(problems))?
                    .profiles
            }
            None => Vec::new(),
        };
        self.seen = text;
        Ok(())
    }

    fn write(&mut self, profiles: &[Profile]) -> Result<(), StoreError> {
        let text = profile::export(profiles);
        // A user who made the file private keeps it private.
        #[cfg(unix)]
        let mode = fs::metadata(&self.path).map_or(0o644, |metadata| {
            use std::os::unix::fs::PermissionsExt as _;
            metadata.permissions().mode() & 0o777
        });
        #[cfg(not(unix))]
        let mode = 0o644;
        write_atomic(&self.path, text.as_bytes(), mode)?;
        self.profiles = TeamFile::new(profiles).profiles;
        self.seen = Some(text);
        Ok(())
    }

    fn broken(&self, problems: Vec<Problem>) -> StoreError {
        StoreError::BrokenProfiles {
            path: self.path.clone(),
            problems,
        }
    }
}

#[cfg(test)]
mod tests {
    use profile::{AuthMethod, Security};

    use super::*;

    const CA: &str =
        "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ2FmZQ==\n-----END CERTIFICATE-----\n";
    const OTHER_CA: &str =
        "-----BEGIN CERTIFICATE-----\nMIIBtDCCAVqgAwIBAgIUQ2FmZg==\n-----END CERTIFICATE-----\n";

    fn gmail(id: &str, name: &str) -> Profile {
        Profile::from_preset(
            Preset::Gmail587,
            ProfileId(id.into()),
            name,
            "ann@gmail.com",
        )
    }

    fn id(id: &str) -> ProfileId {
        ProfileId(id.into())
    }

    fn names(profiles: &[Profile]) -> Vec<(String, String)> {
        profiles
            .iter()
            .map(|p| (p.id.0.clone(), p.name.clone()))
            .collect()
    }

    fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
        expected
            .iter()
            .map(|(id, name)| (id.to_string(), name.to_string()))
            .collect()
    }

    /// A store in a fresh directory holding `profiles`, and the directory.
    fn store_with(profiles: &[Profile]) -> anyhow::Result<(tempfile::TempDir, ProfileStore)> {
        let dir = tempfile::tempdir()?;
        let mut store = ProfileStore::open(dir.path().join("mailbridge/profiles.json"))?;
        for profile in profiles {
            if let Err(problems) = store.save(profile.clone()) {
                anyhow::bail!("saving {:?}: {problems:#?}", profile.name);
            }
        }
        Ok((dir, store))
    }

    fn problem_paths(result: Result<impl std::fmt::Debug, Vec<Problem>>) -> Vec<String> {
        match result {
            Ok(value) => panic!("expected problems, got {value:?}"),
            Err(problems) => problems.into_iter().map(|p| p.path).collect(),
        }
    }

    #[test]
    fn profiles_are_saved_in_the_team_format_and_survive_reopening() -> anyhow::Result<()> {
        let (_dir, mut store) = store_with(&[])?;
        assert!(store.list().is_empty());
        assert!(
            !store.path().exists(),
            "opening alone must not create the file"
        );
        let saved = store.save(gmail("team-gmail", "Team Gmail"));
        assert_eq!(saved, Ok(gmail("team-gmail", "Team Gmail")));
        let other = store.save(gmail("alpha", "Alpha"));
        assert!(other.is_ok(), "{other:?}");

        let text = fs::read_to_string(store.path())?;
        assert_eq!(text, profile::export(&store.list()));
        assert!(
            text.contains("\"format\": \"mailbridge-profiles\""),
            "{text}"
        );
        let reopened = ProfileStore::open(store.path())?;
        assert_eq!(reopened.list(), store.list());
        assert_eq!(
            names(&reopened.list()),
            pairs(&[("alpha", "Alpha"), ("team-gmail", "Team Gmail")])
        );
        assert_eq!(
            reopened.get(&id("alpha")).map(|p| p.name),
            Some("Alpha".into())
        );
        assert_eq!(reopened.get(&id("nope")), None);
        Ok(())
    }

    #[test]
    fn saving_replaces_by_id_and_keeps_names_unique() -> anyhow::Result<()> {
        let (_dir, mut store) = store_with(&[gmail("a", "Alpha"), gmail("b", "Beta")])?;
        let renamed = store.save(gmail("a", "Alpha Mail"));
        assert!(renamed.is_ok(), "{renamed:?}");
        // Saving a profile under its own name again is no clash.
        assert!(store.save(gmail("b", "Beta")).is_ok());
        let before = fs::read(store.path())?;
        assert_eq!(problem_paths(store.save(gmail("c", "Beta"))), ["name"]);
        assert_eq!(problem_paths(store.save(gmail("a", "Beta"))), ["name"]);
        assert_eq!(fs::read(store.path())?, before);
        assert_eq!(
            names(&store.list()),
            pairs(&[("a", "Alpha Mail"), ("b", "Beta")])
        );
        Ok(())
    }

    #[test]
    fn an_invalid_profile_is_not_saved() -> anyhow::Result<()> {
        type Edit = fn(&mut Profile);
        let cases: &[(Edit, &[&str])] = &[
            (|p| p.port = 0, &["port"]),
            (|p| p.name = "  ".into(), &["name"]),
            (
                |p| {
                    p.security = Security::Plain;
                    p.auth = AuthMethod::None;
                },
                &["security", "auth"],
            ),
            (|p| p.username = String::new(), &["username"]),
        ];
        for (edit, expected) in cases {
            // Against an existing file, which must stay byte for byte the same.
            let (_dir, mut store) = store_with(&[gmail("a", "Alpha")])?;
            let before = fs::read(store.path())?;
            let mut profile = gmail("a", "Alpha");
            edit(&mut profile);
            assert_eq!(problem_paths(store.save(profile.clone())), *expected);
            assert_eq!(fs::read(store.path())?, before);
            assert_eq!(store.list(), [gmail("a", "Alpha")]);
            // And with no file yet, which must still not exist.
            let (_dir, mut empty) = store_with(&[])?;
            assert_eq!(problem_paths(empty.save(profile)), *expected);
            assert!(!empty.path().exists());
        }
        Ok(())
    }

    #[test]
    fn a_broken_file_is_reported_and_never_overwritten() -> anyhow::Result<()> {
        let valid = profile::export(&[gmail("a", "Alpha")]);
        let cases: &[(String, &[&str])] = &[
            ("{\"format\": \"mailbridge-profiles\",".into(), &["$"]),
            (
                r#"{"format": "thunderbird", "version": 1, "profiles": []}"#.into(),
                &["$.format"],
            ),
            (
                valid.replace("\"port\": 587", "\"port\": 0"),
                &["$.profiles[0].port"],
            ),
            (
                valid.replace("\"port\": 587", "\"port\": 25, \"password\": \"x\""),
                &["$.profiles[0].password", "$.profiles[0].port"],
            ),
        ];
        for (content, paths) in cases {
            let dir = tempfile::tempdir()?;
            let path = dir.path().join("profiles.json");
            fs::write(&path, content)?;
            let error = ProfileStore::open(&path).err();
            let Some(StoreError::BrokenProfiles { problems, .. }) = &error else {
                panic!("{content}: expected a broken file, got {error:?}");
            };
            let found: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
            assert_eq!(found, *paths, "{content}");
            let message = error.as_ref().map(ToString::to_string).unwrap_or_default();
            assert!(
                message.contains(&path.display().to_string())
                    && paths.iter().all(|p| message.contains(p))
                    && message.contains("move it away"),
                "{message}"
            );
            assert_eq!(fs::read_to_string(&path)?, *content);
        }
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("profiles.json");
        fs::write(&path, b"\xff\xfe not text")?;
        assert!(matches!(
            ProfileStore::open(&path),
            Err(StoreError::BrokenProfiles { .. })
        ));
        Ok(())
    }

    /// A file broken by hand while the bridge runs: every write is refused, with the file's path
    /// and its problems, and the file keeps the user's text.
    #[test]
    fn a_file_broken_after_opening_refuses_every_write() -> anyhow::Result<()> {
        let (_dir, mut store) = store_with(&[gmail("a", "Alpha")])?;
        let broken = fs::read_to_string(store.path())?.replace("\"port\": 587", "\"port\": 0");
        fs::write(store.path(), &broken)?;
        let file = store.path().display().to_string();
        let paths = problem_paths(store.save(gmail("b", "Beta")));
        assert_eq!(paths, [file.clone(), format!("{file}: $.profiles[0].port")]);
        let paths = problem_paths(store.import(&profile::export(&[]), Conflict::Skip));
        assert_eq!(paths.len(), 2);
        assert!(matches!(
            store.delete(&id("a")),
            Err(StoreError::BrokenProfiles { .. })
        ));
        assert!(matches!(
            store.ensure_sandbox(2525, CA.into()),
            Err(StoreError::BrokenProfiles { .. })
        ));
        assert_eq!(fs::read_to_string(store.path())?, broken);
        // What was read before stays readable, and moving the file away lets writes go on.
        assert_eq!(store.list(), [gmail("a", "Alpha")]);
        fs::rename(store.path(), store.path().with_extension("json.broken"))?;
        assert!(store.save(gmail("b", "Beta")).is_ok());
        assert_eq!(names(&store.list()), pairs(&[("b", "Beta")]));
        Ok(())
    }

    #[test]
    fn edits_made_by_hand_are_kept_by_the_next_write() -> anyhow::Result<()> {
        let (_dir, mut store) = store_with(&[gmail("a", "Alpha")])?;
        fs::write(
            store.path(),
            profile::export(&[gmail("a", "Alpha"), gmail("h", "By Hand")]),
        )?;
        assert!(store.save(gmail("b", "Beta")).is_ok());
        assert_eq!(
            names(&ProfileStore::open(store.path())?.list()),
            pairs(&[("a", "Alpha"), ("b", "Beta"), ("h", "By Hand")])
        );
        Ok(())
    }

    #[test]
    fn delete_removes_the_profile() -> anyhow::Result<()> {
        let (_dir, mut store) = store_with(&[gmail("a", "Alpha"), gmail("b", "Beta")])?;
        store.delete(&id("a"))?;
        assert_eq!(names(&store.list()), pairs(&[("b", "Beta")]));
        assert_eq!(
            names(&ProfileStore::open(store.path())?.list()),
            pairs(&[("b", "Beta")])
        );
        let error = store.delete(&id("a")).err();
        assert!(
            matches!(&error, Some(StoreError::NoSuchProfile { id }) if id.0 == "a"),
            "{error:?}"
        );
        Ok(())
    }

    #[test]
    fn names_are_found_exactly_then_ignoring_case() -> anyhow::Result<()> {
        let (_dir, store) = store_with(&[
            gmail("a", "Team Gmail"),
            gmail("b", "Ops"),
            gmail("c", "OPS"),
        ])?;
        let cases = [
            ("Team Gmail", Some("a")),
            ("team gmail", Some("a")),
            ("Ops", Some("b")),
            ("OPS", Some("c")),
            ("ops", None),
            ("nobody", None),
        ];
        for (name, expected) in cases {
            assert_eq!(
                store.get_by_name(name).map(|p| p.id.0).as_deref(),
                expected,
                "{name}"
            );
        }
        Ok(())
    }

    #[test]
    fn imports_store_the_outcome_of_each_conflict_policy() -> anyhow::Result<()> {
        let mut incoming = gmail("file-id", "Team Gmail");
        incoming.limits.daily = 100;
        let file = profile::export(&[incoming, gmail("new", "New")]);
        let cases = [
            (
                Conflict::Skip,
                &[("new", "New", 500), ("mine", "Team Gmail", 500)][..],
            ),
            (
                Conflict::Overwrite,
                &[("new", "New", 500), ("mine", "Team Gmail", 100)][..],
            ),
            (
                Conflict::KeepBoth,
                &[
                    ("new", "New", 500),
                    ("mine", "Team Gmail", 500),
                    ("file-id", "Team Gmail (2)", 100),
                ][..],
            ),
        ];
        for (conflict, expected) in cases {
            let (_dir, mut store) = store_with(&[gmail("mine", "Team Gmail")])?;
            let outcome = store.import(&file, conflict);
            assert!(outcome.is_ok(), "{conflict:?}: {outcome:?}");
            let stored: Vec<(String, String, u32)> = ProfileStore::open(store.path())?
                .list()
                .into_iter()
                .map(|p| (p.id.0, p.name, p.limits.daily))
                .collect();
            let expected: Vec<(String, String, u32)> = expected
                .iter()
                .map(|(id, name, daily)| (id.to_string(), name.to_string(), *daily))
                .collect();
            assert_eq!(stored, expected, "{conflict:?}");
            assert_eq!(store.list().len(), expected.len());
        }
        Ok(())
    }

    #[test]
    fn a_failed_import_stores_nothing() -> anyhow::Result<()> {
        let (_dir, mut store) = store_with(&[gmail("a", "Alpha")])?;
        let before = fs::read(store.path())?;
        let mut bad = gmail("b", "Beta");
        bad.port = 0;
        let file = profile::export(&[gmail("c", "Gamma"), bad]);
        assert_eq!(
            problem_paths(store.import(&file, Conflict::KeepBoth)),
            ["$.profiles[0].port"]
        );
        assert_eq!(fs::read(store.path())?, before);
        assert_eq!(store.list(), [gmail("a", "Alpha")]);
        Ok(())
    }

    #[test]
    fn export_then_import_through_the_store_is_the_identity() -> anyhow::Result<()> {
        let relay = Profile {
            auth: AuthMethod::OAuth2,
            ..Profile::from_preset(
                Preset::WorkspaceRelay,
                id("relay"),
                "Relay",
                "ops@corp.example",
            )
        };
        let (_dir, mut store) = store_with(&[gmail("b", "Beta"), relay, gmail("a", "Alpha")])?;
        store.ensure_sandbox(2525, CA.into())?;
        let everything = store.export(&[]);
        assert_eq!(everything, fs::read_to_string(store.path())?);

        let (_dir, mut copy) = store_with(&[])?;
        assert!(copy.import(&everything, Conflict::Skip).is_ok());
        assert_eq!(copy.list(), store.list());
        assert_eq!(copy.export(&[]), everything);

        let some = store.export(&[id("relay"), id("a"), id("unknown")]);
        let chosen: Vec<Profile> = ["a", "relay"]
            .iter()
            .filter_map(|i| store.get(&id(i)))
            .collect();
        assert_eq!(chosen.len(), 2);
        assert_eq!(some, profile::export(&chosen));
        Ok(())
    }

    #[test]
    fn the_sandbox_profile_is_created_once_and_follows_the_sandbox() -> anyhow::Result<()> {
        let (_dir, mut store) = store_with(&[gmail("a", "Alpha")])?;
        let created = store.ensure_sandbox(2525, CA.into())?;
        assert_eq!(
            (created.id.0.as_str(), created.name.as_str(), created.port),
            (SANDBOX_ID, SANDBOX_NAME, 2525)
        );
        assert_eq!(created.extra_ca_pem.as_deref(), Some(CA));
        assert_eq!(created.validate(), Ok(()));
        assert_eq!(store.get(&id(SANDBOX_ID)), Some(created.clone()));

        // The same sandbox again writes nothing.
        let before = fs::read(store.path())?;
        let modified = fs::metadata(store.path())?.modified()?;
        assert_eq!(store.ensure_sandbox(2525, CA.into())?, created);
        assert_eq!(fs::read(store.path())?, before);
        assert_eq!(fs::metadata(store.path())?.modified()?, modified);

        // The user's edits survive the sandbox moving to another port and CA.
        let renamed = store.save(Profile {
            name: "My Sandbox".into(),
            ..created
        });
        assert!(renamed.is_ok(), "{renamed:?}");
        let moved = store.ensure_sandbox(2600, OTHER_CA.into())?;
        assert_eq!(
            (
                moved.name.as_str(),
                moved.port,
                moved.extra_ca_pem.as_deref()
            ),
            ("My Sandbox", 2600, Some(OTHER_CA))
        );
        let reopened = ProfileStore::open(store.path())?;
        assert_eq!(reopened.get(&id(SANDBOX_ID)), Some(moved));
        assert_eq!(reopened.list().len(), 2);
        Ok(())
    }

    #[test]
    fn a_sandbox_that_would_be_invalid_is_not_saved() -> anyhow::Result<()> {
        let (_dir, mut store) = store_with(&[gmail("a", "Alpha")])?;
        let before = fs::read(store.path())?;
        let cases: [(u16, &str, &[&str]); 2] = [
            (0, CA, &["port"]),
            (
                2525,
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
                &["extra_ca_pem"],
            ),
        ];
        for (port, ca, expected) in cases {
            let error = store.ensure_sandbox(port, ca.into()).err();
            let Some(StoreError::InvalidSandbox { problems }) = &error else {
                panic!("expected an invalid sandbox, got {error:?}");
            };
            let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
            assert_eq!(paths, expected);
            assert_eq!(fs::read(store.path())?, before);
        }
        Ok(())
    }

    #[cfg(unix)]
    #[test]
    fn a_private_profiles_file_stays_private() -> anyhow::Result<()> {
        use std::os::unix::fs::PermissionsExt as _;
        let (_dir, mut store) = store_with(&[gmail("a", "Alpha")])?;
        fs::set_permissions(store.path(), fs::Permissions::from_mode(0o600))?;
        assert!(store.save(gmail("b", "Beta")).is_ok());
        let mode = fs::metadata(store.path())?.permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        Ok(())
    }

    #[test]
    fn the_sandbox_profile_avoids_names_and_ids_in_use() -> anyhow::Result<()> {
        let (_dir, mut store) = store_with(&[gmail(SANDBOX_ID, SANDBOX_NAME)])?;
        let created = store.ensure_sandbox(2525, CA.into())?;
        assert_eq!(
            (created.id.0.as_str(), created.name.as_str()),
            ("sandbox-2", "Sandbox (2)")
        );
        // Found again by its preset, not duplicated.
        store.ensure_sandbox(2526, CA.into())?;
        assert_eq!(store.list().len(), 2);
        assert_eq!(store.get(&id("sandbox-2")).map(|p| p.port), Some(2526));
        assert_eq!(
            store.get(&id(SANDBOX_ID)),
            Some(gmail(SANDBOX_ID, SANDBOX_NAME))
        );
        Ok(())
    }
}
