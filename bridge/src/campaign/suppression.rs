//! The suppression list: addresses no campaign mails again, kept as `suppressed.csv`
//! (`address,reason,source,added_at`) in the data directory.
//!
//! Entries come from several places: the user's imports (unsubscribes collected elsewhere),
//! permanent failures of earlier sends (`550 5.1.1`), and later bounce reports read from the
//! inbox. Addresses match ignoring case; the first entry for an address is kept.

use std::collections::BTreeMap;
use std::path::Path;

/// The file's name in the data directory.
pub const FILE: &str = "suppressed.csv";

/// Where an entry came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A list the user imported.
    Import,
    /// A one-click unsubscribe.
    Unsubscribe,
    /// A permanent SMTP failure, such as `550 5.1.1` no such user.
    PermanentFailure,
    /// A bounce report that arrived in the sender's inbox.
    Bounce,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Import => "import",
            Source::Unsubscribe => "unsubscribe",
            Source::PermanentFailure => "permanent_failure",
            Source::Bounce => "bounce",
        }
    }

    pub fn parse(text: &str) -> Option<Source> {
        [
            Source::Import,
            Source::Unsubscribe,
            Source::PermanentFailure,
            Source::Bounce,
        ]
        .into_iter()
        .find(|source| source.as_str().eq_ignore_ascii_case(text.trim()))
    }
}

/// One suppressed address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub address: String,
    pub reason: String,
    pub source: Source,
    /// Seconds since the Unix epoch.
    pub added_at: u64,
}

/// The list, keyed by the lowercased address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Suppression {
    entries: BTreeMap<String, Entry>,
}

impl Suppression {
    /// Reads the file; a missing file is an empty list.
    pub fn load(path: &Path) -> anyhow::Result<Suppression> {
        match std::fs::read(path) {
            Ok(bytes) => {
                let mut list = Suppression::default();
                list.import_csv(&bytes, Source::Import, 0)
                    .map_err(|error| anyhow::anyhow!("{}: {error}", path.display()))?;
                Ok(list)
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                Ok(Suppression::default())
            }
            Err(error) => Err(anyhow::anyhow!("cannot read {}: {error}", path.display())),
        }
    }

    /// Writes the file whole, through a temporary file, so a crash leaves the old one.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|error| anyhow::anyhow!("cannot create {}: {error}", dir.display()))?;
        }
        let temporary = path.with_extension("csv.tmp");
        std::fs::write(&temporary, self.export_csv())
            .and_then(|()| std::fs::rename(&temporary, path))
            .map_err(|error| anyhow::anyhow!("cannot write {}: {error}", path.display()))
    }

    /// Adds an entry unless the address is already there; says whether it was added.
    pub fn add(&mut self, entry: Entry) -> bool {
        let key = entry.address.trim().to_lowercase();
        if key.is_empty() || self.entries.contains_key(&key) {
            return false;
        }
        self.entries.insert(key, entry);
        true
    }

    pub fn contains(&self, address: &str) -> bool {
        self.entries.contains_key(&address.trim().to_lowercase())
    }

    pub fn get(&self, address: &str) -> Option<&Entry> {
        self.entries.get(&address.trim().to_lowercase())
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Every entry, by address.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Imports a CSV with an `address` (or `email`) column; `reason`, `source` and `added_at`
    /// are read when present, and `source`/`now` fill them in when not. Returns how many were new.
    pub fn import_csv(&mut self, bytes: &[u8], source: Source, now: u64) -> Result<usize, String> {
        let list = super::csv::parse(bytes).map_err(|error| error.to_string())?;
        let address = list
            .column("address")
            .or_else(|| list.column("email"))
            .ok_or("the file needs an \"address\" or \"email\" column")?;
        let (reason, source_column, added_at) = (
            list.column("reason"),
            list.column("source"),
            list.column("added_at"),
        );
        let mut added = 0;
        for row in &list.rows {
            let Some(value) = row.get(address).filter(|v| !v.trim().is_empty()) else {
                continue;
            };
            let entry = Entry {
                address: value.trim().to_owned(),
                reason: reason
                    .and_then(|i| row.get(i))
                    .unwrap_or_default()
                    .to_owned(),
                source: source_column
                    .and_then(|i| row.get(i))
                    .and_then(Source::parse)
                    .unwrap_or(source),
                added_at: added_at
                    .and_then(|i| row.get(i))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(now),
            };
            if self.add(entry) {
                added += 1;
            }
        }
        Ok(added)
    }

    /// The list as CSV, in the file's format.
    pub fn export_csv(&self) -> Vec<u8> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        // Writing to memory cannot fail.
        let _ = writer.write_record(["address", "reason", "source", "added_at"]);
        for entry in self.entries.values() {
            let _ = writer.write_record([
                entry.address.as_str(),
                entry.reason.as_str(),
                entry.source.as_str(),
                &entry.added_at.to_string(),
            ]);
        }
        writer.into_inner().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_from_several_sources_ignoring_case() {
        // (file, source given, new entries, total after)
        let cases: &[(&str, Source, usize, usize)] = &[
            (
                "email\nAnn@Example.com\nbob@example.com\n",
                Source::Import,
                2,
                2,
            ),
            (
                "address,reason\nann@example.COM,asked\n",
                Source::Unsubscribe,
                0,
                2,
            ),
            (
                "address;reason;source;added_at\ncarol@example.com;550 5.1.1;permanent_failure;77\n",
                Source::Import,
                1,
                3,
            ),
            ("address\n\ndave@example.com\n", Source::Bounce, 1, 4),
        ];
        let mut list = Suppression::default();
        for (file, source, new, total) in cases {
            assert_eq!(
                list.import_csv(file.as_bytes(), *source, 1_000),
                Ok(*new),
                "{file}"
            );
            assert_eq!(list.len(), *total, "{file}");
        }
        assert!(list.contains(" ANN@example.com "));
        let carol = list.get("carol@example.com").expect("carol");
        assert_eq!(
            (carol.source, carol.added_at, carol.reason.as_str()),
            (Source::PermanentFailure, 77, "550 5.1.1")
        );
        assert_eq!(
            list.get("dave@example.com").map(|e| e.source),
            Some(Source::Bounce)
        );
        assert!(list.import_csv(b"name\nx\n", Source::Import, 0).is_err());

        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(FILE);
        assert!(
            Suppression::load(&path)
                .expect("missing is empty")
                .is_empty()
        );
        list.save(&path).expect("save");
        assert_eq!(Suppression::load(&path).expect("load"), list);
    }
}
