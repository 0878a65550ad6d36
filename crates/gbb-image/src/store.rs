//! The content store: OCI blobs by digest under `<root>/blobs/sha256/<hex>`.
//!
//! The same shape as an OCI image layout's `blobs` folder, so gbb's cache and an `oci:DIR`
//! output are both a `BlobStore`. A blob is written to a temporary file in its final folder,
//! flushed to disk and renamed to its digest only when whole: a reader never sees a partial
//! blob, and a crash leaves at most a `.gbb-tmp*` file, never a wrong one. A blob already
//! present is not written again (same name, same bytes), which is what lets images share
//! their parents' layers.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use oci_spec::image::{Descriptor, Digest, MediaType, Sha256Digest};
use sha2::{Digest as _, Sha256};
use tempfile::NamedTempFile;

use crate::digest_writer::DigestWriter;
use crate::{Error, Result};

/// A content-addressed store of blobs in a folder.
#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
    blobs: PathBuf,
}

/// A blob in a store: its digest and size, what a descriptor needs besides the media type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Blob {
    /// The SHA-256 of its bytes.
    pub digest: Sha256Digest,
    /// Its length in bytes.
    pub size: u64,
}

impl Blob {
    /// A descriptor of this blob with `media_type`.
    pub fn descriptor(&self, media_type: MediaType) -> Descriptor {
        Descriptor::new(media_type, self.size, self.digest.clone())
    }
}

impl BlobStore {
    /// The store in `root`, creating `root/blobs/sha256` when missing.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        let blobs = root.join("blobs").join("sha256");
        fs::create_dir_all(&blobs).map_err(|e| Error::io("create the folder", &blobs, e))?;
        Ok(Self { root, blobs })
    }

    /// The folder the store was opened on.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the blob with `digest` is (or would be).
    pub fn blob_path(&self, digest: &Sha256Digest) -> PathBuf {
        self.blobs.join(digest.digest())
    }

    /// Whether the blob is present.
    pub fn contains(&self, digest: &Sha256Digest) -> bool {
        self.blob_path(digest).is_file()
    }

    /// Stores `bytes` and returns their blob.
    pub fn put(&self, bytes: &[u8]) -> Result<Blob> {
        let mut writer = self.writer()?;
        writer
            .write_all(bytes)
            .map_err(|e| Error::io("write", writer.temp_path(), e))?;
        writer.finish()
    }

    /// A writer for a new blob whose digest is known only at the end; see [`BlobWriter`].
    pub fn writer(&self) -> Result<BlobWriter> {
        let temp = tempfile::Builder::new()
            .prefix(".gbb-tmp")
            .tempfile_in(&self.blobs)
            .map_err(|e| Error::io("create a temporary file in", &self.blobs, e))?;
        Ok(BlobWriter {
            inner: DigestWriter::new(BufWriter::with_capacity(256 * 1024, temp)),
            blobs: self.blobs.clone(),
        })
    }

    /// The whole blob, checked against its digest (blobs read back are small: manifests and
    /// configs; a changed file in the cache must not become part of an image).
    pub fn read(&self, digest: &Sha256Digest) -> Result<Vec<u8>> {
        let path = self.blob_path(digest);
        let bytes = fs::read(&path).map_err(|e| self.read_error(digest, &path, e))?;
        if hex::encode(Sha256::digest(&bytes)) != digest.digest() {
            return Err(Error::CorruptBlob {
                digest: Digest::from(digest.clone()).to_string(),
                store: self.root.clone(),
            });
        }
        Ok(bytes)
    }

    /// Copies the blob into `other` unless it is there already: a hard link when both stores
    /// are on one file system (layers are hundreds of MB and never change), a checked copy
    /// otherwise.
    pub fn copy_to(&self, digest: &Sha256Digest, other: &BlobStore) -> Result<()> {
        if other.contains(digest) {
            return Ok(());
        }
        let source = self.blob_path(digest);
        if !source.is_file() {
            return Err(self.missing(digest));
        }
        let target = other.blob_path(digest);
        if fs::hard_link(&source, &target).is_ok() {
            return Ok(());
        }
        let mut file = File::open(&source).map_err(|e| Error::io("open", &source, e))?;
        let mut writer = other.writer()?;
        io::copy(&mut file, &mut writer).map_err(|e| Error::io("copy", &source, e))?;
        let blob = writer.finish()?;
        if &blob.digest != digest {
            return Err(Error::CorruptBlob {
                digest: Digest::from(digest.clone()).to_string(),
                store: self.root.clone(),
            });
        }
        Ok(())
    }

    /// Removes every blob whose digest (hex) `keep` does not hold, and temporary files of
    /// writers that ended more than an hour ago (a killed process leaves them; a live writer's
    /// file is younger). Returns how many blobs went and their bytes. The caller makes sure
    /// no one writes an image into the store meanwhile: a blob written for an image not
    /// recorded yet is not in `keep`.
    pub fn remove_all_but(&self, keep: &std::collections::HashSet<String>) -> Result<(usize, u64)> {
        let entries =
            fs::read_dir(&self.blobs).map_err(|e| Error::io("read the folder", &self.blobs, e))?;
        let (mut removed, mut bytes) = (0, 0);
        for entry in entries {
            let entry = entry.map_err(|e| Error::io("read the folder", &self.blobs, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            let metadata = entry
                .metadata()
                .map_err(|e| Error::io("read the metadata of", &path, e))?;
            let unused = if name.starts_with(".gbb-tmp") {
                left_behind(&metadata)
            } else {
                !keep.contains(&name)
            };
            if unused && metadata.is_file() {
                fs::remove_file(&path).map_err(|e| Error::io("remove", &path, e))?;
                removed += 1;
                bytes += metadata.len();
            }
        }
        // The spool files of layers written from a stream (`write_layer_from_reader`) are in
        // the store's own folder; a killed writer leaves one there too.
        let entries =
            fs::read_dir(&self.root).map_err(|e| Error::io("read the folder", &self.root, e))?;
        for entry in entries.flatten() {
            let path = entry.path();
            if entry
                .file_name()
                .to_string_lossy()
                .starts_with(".gbb-spool")
                && entry
                    .metadata()
                    .is_ok_and(|m| m.is_file() && left_behind(&m))
            {
                fs::remove_file(&path).map_err(|e| Error::io("remove", &path, e))?;
            }
        }
        Ok((removed, bytes))
    }

    /// Opens a blob for streaming (layers, into archives).
    pub(crate) fn open_blob(&self, digest: &Sha256Digest) -> Result<(File, u64)> {
        let path = self.blob_path(digest);
        let file = File::open(&path).map_err(|e| self.read_error(digest, &path, e))?;
        let size = file
            .metadata()
            .map_err(|e| Error::io("read the size of", &path, e))?
            .len();
        Ok((file, size))
    }

    fn read_error(&self, digest: &Sha256Digest, path: &Path, error: io::Error) -> Error {
        if error.kind() == io::ErrorKind::NotFound {
            self.missing(digest)
        } else {
            Error::io("read", path, error)
        }
    }

    fn missing(&self, digest: &Sha256Digest) -> Error {
        Error::MissingBlob {
            digest: Digest::from(digest.clone()).to_string(),
            store: self.root.clone(),
        }
    }
}

/// Whether a temporary file was left by a writer that ended: one still writing changed it
/// within the hour.
fn left_behind(metadata: &fs::Metadata) -> bool {
    metadata
        .modified()
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age > std::time::Duration::from_secs(3600))
}

/// A blob being written: bytes go to a temporary file and into the hash; [`finish`] names
/// the file by its digest. Dropped without `finish`, the temporary file is removed.
///
/// [`finish`]: BlobWriter::finish
pub struct BlobWriter {
    inner: DigestWriter<BufWriter<NamedTempFile>>,
    blobs: PathBuf,
}

impl std::fmt::Debug for BlobWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobWriter")
            .field("blobs", &self.blobs)
            .finish()
    }
}

impl BlobWriter {
    fn temp_path(&self) -> PathBuf {
        self.blobs.join(".gbb-tmp")
    }

    /// Flushes the bytes to disk and renames the file to its digest (or drops it when the
    /// store has that blob already).
    pub fn finish(self) -> Result<Blob> {
        let blobs = self.blobs;
        let (buffered, hex, size) = self.inner.finish();
        let temp = buffered
            .into_inner()
            .map_err(|e| Error::io("write", blobs.join(".gbb-tmp"), e.into_error()))?;
        readable_by_all(temp.as_file())
            .and_then(|()| temp.as_file().sync_data())
            .map_err(|e| Error::io("write", temp.path(), e))?;
        let digest = Sha256Digest::from_str(&hex).map_err(|_| Error::Digest(hex.clone()))?;
        let target = blobs.join(&hex);
        if !target.is_file() {
            temp.persist(&target)
                .map_err(|e| Error::io("rename a blob to", &target, e.error))?;
        }
        Ok(Blob { digest, size })
    }
}

impl Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Mode 0644 for a file made by `tempfile` (which creates 0600): blobs, layouts and archives
/// are read by other users' tools (a registry, an engine, a colleague's skopeo).
pub(crate) fn readable_by_all(file: &File) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(0o644))
}

/// Parses `sha256:<hex>` into the digest of a blob.
pub fn sha256_of(digest: &Digest) -> Result<Sha256Digest> {
    if *digest.algorithm() != oci_spec::image::DigestAlgorithm::Sha256 {
        return Err(Error::Digest(digest.to_string()));
    }
    Sha256Digest::from_str(digest.digest()).map_err(|_| Error::Digest(digest.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_are_named_by_digest_and_written_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let blob = store.put(b"hello").unwrap();
        assert_eq!(
            blob.digest.digest(),
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        assert_eq!(blob.size, 5);
        assert_eq!(store.read(&blob.digest).unwrap(), b"hello");
        assert_eq!(store.put(b"hello").unwrap(), blob);
        let names: Vec<_> = fs::read_dir(dir.path().join("blobs/sha256"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [blob.digest.digest()], "no temporary file is left");
    }

    #[test]
    fn a_changed_blob_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let blob = store.put(b"hello").unwrap();
        fs::write(store.blob_path(&blob.digest), b"HELLO").unwrap();
        assert!(matches!(
            store.read(&blob.digest),
            Err(Error::CorruptBlob { .. })
        ));
    }

    #[test]
    fn removing_keeps_only_the_blobs_asked_for_and_young_temporary_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let kept = store.put(b"kept").unwrap();
        let gone = store.put(b"gone too").unwrap();
        let young = dir.path().join("blobs/sha256/.gbb-tmpyoung");
        fs::write(&young, b"being written").unwrap();
        let old = dir.path().join("blobs/sha256/.gbb-tmpold");
        let old_spool = dir.path().join(".gbb-spoolold");
        let young_spool = dir.path().join(".gbb-spoolyoung");
        fs::write(&young_spool, b"being spooled").unwrap();
        let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
        for path in [&old, &old_spool] {
            fs::write(path, b"left by a killed run").unwrap();
            File::options()
                .write(true)
                .open(path)
                .unwrap()
                .set_modified(two_hours_ago)
                .unwrap();
        }

        let keep = std::collections::HashSet::from([kept.digest.digest().to_owned()]);
        let (removed, bytes) = store.remove_all_but(&keep).unwrap();
        assert_eq!((removed, bytes), (2, 8 + 20));
        assert!(store.contains(&kept.digest));
        assert!(!store.contains(&gone.digest));
        assert!(young.exists(), "a writer's file stays");
        assert!(young_spool.exists(), "a writer's spool stays");
        assert!(!old.exists());
        assert!(!old_spool.exists());
    }
}
