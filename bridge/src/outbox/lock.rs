//! The file lock that makes one process an outbox's deliverer: an OS lock (`flock` on Unix,
//! `LockFileEx` on Windows) on `outbox.lock`, released by the OS when the process dies, however
//! it dies. The holder writes its process id into the file so others can say who delivers.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

/// Held while this process delivers; dropping it releases the lock.
#[derive(Debug)]
pub struct FileLock {
    _file: File,
}

impl FileLock {
    /// Takes the lock if no other process holds it.
    pub fn try_acquire(path: &Path) -> std::io::Result<Option<FileLock>> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Ok(None),
            Err(std::fs::TryLockError::Error(error)) => return Err(error),
        }
        file.set_len(0)?;
        file.seek(SeekFrom::Start(0))?;
        write!(file, "{}", std::process::id())?;
        file.flush()?;
        Ok(Some(FileLock { _file: file }))
    }
}

/// Who holds the lock, in words, when another process does.
pub fn holder(path: &Path) -> Option<String> {
    let mut file = File::open(path).ok()?;
    if file.try_lock_shared().is_ok() {
        // Nobody holds it.
        return None;
    }
    let mut pid = String::new();
    file.read_to_string(&mut pid).ok()?;
    let pid = pid.trim();
    Some(if pid.is_empty() {
        "another mailbridge delivers this outbox".to_owned()
    } else {
        format!("another mailbridge (process {pid}) delivers this outbox")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time_and_others_are_told_who() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("outbox.lock");
        assert_eq!(holder(&path), None);
        let first = FileLock::try_acquire(&path).expect("lock").expect("free");
        assert!(FileLock::try_acquire(&path).expect("lock").is_none());
        let said = holder(&path).expect("held");
        assert!(said.contains(&std::process::id().to_string()), "{said}");
        drop(first);
        assert!(FileLock::try_acquire(&path).expect("lock").is_some());
    }
}
