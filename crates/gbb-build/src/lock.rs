//! One build at a time per stack.
//!
//! Two `gbb build` runs on one stack would race on the same tags, kept states and phase 1
//! outputs. The lock is an advisory file lock on `<stack>/.gbb/lock` (flock): the kernel drops
//! it when the process ends, however it ends, so a crash or Ctrl-C never leaves a stale lock.
//! The holder writes its pid into the file, for the message the second run shows.
//!
//! A stack may be read-only (a checkout on a read-only mount, a folder the user may not write):
//! a build with nothing to do writes nothing, so it must not fail on the lock. Then the lock
//! file is opened for reading only (flock needs no write access, so a read-only run still
//! excludes a writing one) and no pid is written; when there is no lock file to open at all,
//! the run goes without a lock: it cannot write the stack's outputs either, so a build that
//! has something to do fails at its first write, with the path, before starting a container.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::Path;

use crate::BuildError;

/// A held stack lock; released when dropped.
#[derive(Debug)]
pub struct StackLock {
    /// `None` on a read-only stack without a lock file (see the module's documentation).
    _file: Option<File>,
}

/// Whether `error` means "this place cannot be written", rather than a fault.
fn is_read_only(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::ReadOnlyFilesystem | std::io::ErrorKind::PermissionDenied
    )
}

impl StackLock {
    /// Takes the lock of the stack whose state folder is `state`. When another process holds
    /// it: waits (calling `waiting` with the holder's pid first) or, with `wait` false, fails.
    pub fn acquire(
        state: &Path,
        wait: bool,
        waiting: impl FnOnce(Option<u32>),
    ) -> Result<Self, BuildError> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| BuildError::Io { path, source }
        };
        // On a read-only stack without `.gbb`, the open below finds no lock file.
        let state_made = match std::fs::create_dir_all(state) {
            Ok(()) => true,
            Err(e) if is_read_only(&e) => false,
            Err(e) => return Err(io(state)(e)),
        };
        let path = state.join("lock");
        let opened = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path);
        let (mut file, writable) = match opened {
            Ok(file) => (file, true),
            Err(e) if is_read_only(&e) || !state_made => match File::open(&path) {
                Ok(file) => (file, false),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound || is_read_only(&e) => {
                    return Ok(Self { _file: None });
                }
                Err(e) => return Err(io(&path)(e)),
            },
            Err(e) => return Err(io(&path)(e)),
        };
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                let holder = text.trim().parse().ok();
                if !wait {
                    return Err(BuildError::Locked { path, holder });
                }
                waiting(holder);
                file.lock().map_err(io(&path))?;
            }
            Err(TryLockError::Error(e)) => return Err(io(&path)(e)),
        }
        if writable {
            file.set_len(0).map_err(io(&path))?;
            file.rewind().map_err(io(&path))?;
            write!(file, "{}", std::process::id()).map_err(io(&path))?;
            file.flush().map_err(io(&path))?;
        }
        Ok(Self { _file: Some(file) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_waits_or_fails() {
        let dir = tempfile::tempdir().unwrap();
        let first = StackLock::acquire(dir.path(), false, |_| {}).unwrap();
        // flock locks belong to open files, so a second open in this process conflicts too.
        let error = StackLock::acquire(dir.path(), false, |_| {}).unwrap_err();
        match error {
            BuildError::Locked { holder, .. } => assert_eq!(holder, Some(std::process::id())),
            other => panic!("{other}"),
        }
        let waiter = std::thread::spawn({
            let dir = dir.path().to_owned();
            move || {
                let mut waited = false;
                let _lock = StackLock::acquire(&dir, true, |_| waited = true).unwrap();
                waited
            }
        });
        std::thread::sleep(std::time::Duration::from_millis(200));
        drop(first);
        assert!(waiter.join().unwrap(), "the second run waited");
    }
}
