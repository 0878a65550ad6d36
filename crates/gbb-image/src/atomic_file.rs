//! A file that appears whole or not at all: written under a temporary name in its final
//! folder (so the rename stays on one file system), made readable by all, flushed to disk,
//! and renamed over its name only by [`AtomicFile::commit`]. Dropped before that, the
//! temporary file is removed and the old file, if any, is untouched.
//!
//! Layouts and docker archives use it. The store's blobs do not: their name is the digest of
//! what was written, known only at the end, and a blob already present is not replaced
//! (`store.rs`'s `BlobWriter`).

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::store::readable_by_all;
use crate::{Error, Result};

pub(crate) struct AtomicFile {
    temp: NamedTempFile,
    target: PathBuf,
}

impl AtomicFile {
    /// A new file to become `target`.
    pub(crate) fn create(target: &Path) -> Result<Self> {
        let dir = match target.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        let temp = tempfile::Builder::new()
            .prefix(".gbb-tmp")
            .tempfile_in(dir)
            .map_err(|e| Error::io("create a temporary file in", dir, e))?;
        Ok(Self {
            temp,
            target: target.to_owned(),
        })
    }

    /// The temporary file's path, for errors while writing.
    pub(crate) fn temp_path(&self) -> &Path {
        self.temp.path()
    }

    /// Flushes the file to disk and renames it to its name.
    pub(crate) fn commit(self) -> Result<()> {
        let file: &File = self.temp.as_file();
        readable_by_all(file)
            .and_then(|()| file.sync_data())
            .map_err(|e| Error::io("write", self.temp.path(), e))?;
        self.temp
            .persist(&self.target)
            .map_err(|e| Error::io("rename a file to", &self.target, e.error))?;
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.temp.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.temp.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_appears_only_when_committed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("index.json");
        std::fs::write(&target, "old").unwrap();

        let mut file = AtomicFile::create(&target).unwrap();
        file.write_all(b"new").unwrap();
        drop(file);
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "old");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file left"
        );

        let mut file = AtomicFile::create(&target).unwrap();
        file.write_all(b"new").unwrap();
        file.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&target).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
    }
}
