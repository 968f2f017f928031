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
    Some(match held_by(path)? {
        Some(pid) => format!("another mailbridge (process {pid}) delivers this outbox"),
        None => "another mailbridge delivers this outbox".to_owned(),
    })
}

/// Wakes the process that delivers from another process, right after an enqueue, so that
/// `mailbridge send` does not wait for the deliverer's next look at the file. The signal is
/// SIGWINCH, whose default is to be ignored, so a process that does not listen for it (or
/// not yet) is never harmed.
pub fn nudge(path: &Path) {
    #[cfg(unix)]
    if let Some(Some(pid)) = held_by(path) {
        let _ = std::process::Command::new("kill")
            .args(["-WINCH", &pid.to_string()])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// `None` when nobody holds the lock; otherwise the holder's process id, if it wrote one.
fn held_by(path: &Path) -> Option<Option<u32>> {
    let mut file = File::open(path).ok()?;
    if file.try_lock_shared().is_ok() {
        // Nobody holds it.
        return None;
    }
    let mut pid = String::new();
    file.read_to_string(&mut pid).ok()?;
    Some(pid.trim().parse().ok())
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
