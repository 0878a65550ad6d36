//! The `Packages` index of the binary package cache, kept per image between runs.
//!
//! Every build container needs an index of the cache in its `PKGDIR` before its first emerge
//! (see `binpkgs.rs` and `container/binpkg-index.py`). Making it is a Python start with
//! Portage and a read of every package's metadata: about 0.2 s, the largest part of a warm
//! rebuild's cost that is neither Portage's merge nor the engine. On a warm rebuild the cache
//! has not changed since the image's last run, so neither has the index.
//!
//! So an image's run leaves the index it used (`binpkg-index`, written by the container when
//! no `_no_cache` package was left out of it) with its outputs, and gbb writes beside it the
//! [`IndexStamp`] it was made for: the cache's folder, every file in it (name, size, time,
//! inode) and the step's content key (which covers the builder or parent state whose Portage
//! settings go into the index's header). The next run of the same image gets that index in
//! its fresh `PKGDIR` when the stamp is the same, and the container skips making it.
//!
//! Why per image and not in the shared cache: the index is written by a container that has
//! read the image's `build.sh`, so it is the image's own word, like its other outputs. An
//! index planted there could tell Portage anything about the cached packages; kept with the
//! image, it reaches only later runs of the same image, which run the same `build.sh` anyway.
//! The shared cache keeps holding package files alone, which no container can change.
//!
//! A stamp is recorded only when the cache did not change while the container ran (another
//! step of the same chain may add packages at the same time, and the index may or may not
//! list them); the cache only grows, so a stamp of an earlier listing never matches again.

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::binpkgs::{PackageCache, PackageRun};
use crate::error::io;
use crate::outputs::{self, RunDir, TEXT_LIMIT};
use crate::{BuildError, ContentKey};

/// The index a run left, among its kept outputs.
pub(crate) const KEPT_INDEX: &str = "binpkg-index";
/// The [`IndexStamp`] of [`KEPT_INDEX`], written by gbb.
pub(crate) const KEPT_STAMP: &str = "binpkg-index.stamp";

/// At most this much of a kept index is offered to a run: far above the index of a cache of
/// some thousand packages; a larger file is not offered (the container makes the index).
const INDEX_LIMIT: u64 = 64 * 1024 * 1024;

/// What an index was made for: a digest of the cache's folder and files and the step's key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct IndexStamp(String);

impl IndexStamp {
    /// The stamp of `cache` as it is now, for the step with `key`. The cache holds
    /// `category/name/file` or `category/file` (see `binpkgs::binary_package_path`); files
    /// are never changed once there, only added, so their names, sizes, times and inodes
    /// say which ones the cache holds.
    pub(crate) fn of(cache: &PackageCache, key: &ContentKey) -> Result<Self, BuildError> {
        let mut entries = Vec::new();
        list(cache.dir(), Path::new(""), 0, &mut entries)?;
        entries.sort();
        let mut hash = Sha256::new();
        hash.update(cache.dir().as_os_str().as_encoded_bytes());
        hash.update([0]);
        hash.update(key.as_str().as_bytes());
        hash.update([0]);
        for entry in &entries {
            hash.update(entry.as_bytes());
            hash.update([0]);
        }
        let digest = hash.finalize();
        Ok(Self(digest.iter().map(|b| format!("{b:02x}")).collect()))
    }
}

/// `name size mtime inode` of every file below `root/relative`, two levels down at most;
/// links and other entries are listed by their own lstat, never followed. Hand-written: a
/// two-level listing does not need walkdir.
fn list(
    root: &Path,
    relative: &Path,
    depth: usize,
    entries: &mut Vec<String>,
) -> Result<(), BuildError> {
    let dir = root.join(relative);
    let read = match std::fs::read_dir(&dir) {
        Ok(read) => read,
        // A chain's first build: no cache folder yet.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && depth == 0 => return Ok(()),
        Err(e) => return Err(io(&dir)(e)),
    };
    for entry in read {
        let entry = entry.map_err(io(&dir))?;
        let path = relative.join(entry.file_name());
        let metadata = entry.path().symlink_metadata().map_err(io(&entry.path()))?;
        if metadata.is_dir() && depth < 2 {
            list(root, &path, depth + 1, entries)?;
        } else {
            entries.push(format!(
                "{} {} {}.{} {}",
                path.display(),
                metadata.len(),
                metadata.mtime(),
                metadata.mtime_nsec(),
                metadata.ino()
            ));
        }
    }
    Ok(())
}

/// Puts the index kept in `kept` (an image's outputs folder) into `run`'s `PKGDIR` as its
/// `Packages`, when it was made for `stamp`; the container then uses it instead of making
/// one. Returns whether it did. A missing, mismatched or unreadable kept index is no error:
/// the container makes the index as it would anyway.
pub(crate) fn offer(kept: &Path, stamp: &IndexStamp, run: &PackageRun) -> Result<bool, BuildError> {
    let recorded = outputs::read_text(&kept.join(KEPT_STAMP), TEXT_LIMIT)
        .ok()
        .flatten();
    if recorded.as_deref().map(str::trim) != Some(stamp.0.as_str()) {
        return Ok(false);
    }
    let source = kept.join(KEPT_INDEX);
    let Ok(Some((file, metadata))) = outputs::open_regular(&source) else {
        return Ok(false);
    };
    if metadata.len() > INDEX_LIMIT {
        return Ok(false);
    }
    let target = run.dir().join("Packages");
    let mut out = std::fs::File::options()
        .write(true)
        .create_new(true)
        .open(&target)
        .map_err(io(&target))?;
    std::io::copy(&mut std::io::Read::take(file, INDEX_LIMIT), &mut out)
        .and_then(|_| out.flush())
        .map_err(io(&target))?;
    Ok(true)
}

/// After the container ended: records that the index the run left was made for `before`,
/// when the cache still has that stamp (`after`); otherwise removes the run's index, so an
/// index of unknown making is never kept. Also removes any stamp the container wrote: only
/// gbb writes one.
pub(crate) fn record(
    run: &RunDir,
    before: &IndexStamp,
    after: &IndexStamp,
) -> Result<(), BuildError> {
    let stamp = run.path().join(KEPT_STAMP);
    let index = run.path().join(KEPT_INDEX);
    if before == after && run.regular_file(KEPT_INDEX).is_ok_and(|f| f.is_some()) {
        return outputs::write_file(&stamp, format!("{}\n", before.0).as_bytes());
    }
    for path in [stamp, index] {
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            // A folder of that name: left, take_into refuses to keep anything but a file.
            Err(e) if e.kind() == std::io::ErrorKind::IsADirectory => {}
            Err(e) => return Err(io(&path)(e)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> ContentKey {
        ContentKey::from_label(text)
    }

    fn paths(dir: &Path) -> crate::Paths {
        crate::Paths::new(dir, &dir.join("cache"))
    }

    #[test]
    fn a_stamp_changes_with_the_files_and_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let cache = PackageCache::new(dir.path().join("cache"));
        let empty = IndexStamp::of(&cache, &key("a")).unwrap();
        assert_eq!(empty, IndexStamp::of(&cache, &key("a")).unwrap());
        assert_ne!(empty, IndexStamp::of(&cache, &key("b")).unwrap());
        std::fs::create_dir_all(dir.path().join("cache/app-misc/x")).unwrap();
        std::fs::write(dir.path().join("cache/app-misc/x/x-1-1.gpkg.tar"), "p").unwrap();
        let one = IndexStamp::of(&cache, &key("a")).unwrap();
        assert_ne!(empty, one);
        std::fs::write(dir.path().join("cache/app-misc/x/x-1-2.gpkg.tar"), "q").unwrap();
        assert_ne!(one, IndexStamp::of(&cache, &key("a")).unwrap());
    }

    #[test]
    fn an_index_is_offered_only_for_its_stamp_and_recorded_only_when_the_cache_held_still() {
        let dir = tempfile::tempdir().unwrap();
        let paths = paths(dir.path());
        let cache = PackageCache::new(dir.path().join("cache"));
        let stamp = IndexStamp::of(&cache, &key("a")).unwrap();
        let other = IndexStamp::of(&cache, &key("b")).unwrap();
        let kept = dir.path().join("kept");

        // A run that left an index while the cache held still: recorded, and kept.
        let run = RunDir::new(&paths, "ns/app").unwrap();
        std::fs::write(run.path().join(KEPT_INDEX), "INDEX\n").unwrap();
        // A stamp the container wrote is never taken.
        std::fs::write(run.path().join(KEPT_STAMP), format!("{}\n", other.0)).unwrap();
        record(&run, &stamp, &stamp).unwrap();
        run.take_into(
            &[KEPT_INDEX, KEPT_STAMP],
            &kept,
            outputs::Owner::of_this_process(),
        )
        .unwrap();

        let packages = cache.open_run(&dir.path().join("runs")).unwrap();
        assert!(!offer(&kept, &other, &packages).unwrap(), "another stamp");
        assert!(!packages.dir().join("Packages").exists());
        assert!(offer(&kept, &stamp, &packages).unwrap());
        assert_eq!(
            std::fs::read_to_string(packages.dir().join("Packages")).unwrap(),
            "INDEX\n"
        );

        // The cache changed while it ran: neither index nor stamp is kept.
        let run = RunDir::new(&paths, "ns/app").unwrap();
        std::fs::write(run.path().join(KEPT_INDEX), "INDEX\n").unwrap();
        std::fs::write(run.path().join(KEPT_STAMP), format!("{}\n", stamp.0)).unwrap();
        record(&run, &stamp, &other).unwrap();
        assert!(!run.path().join(KEPT_INDEX).exists());
        assert!(!run.path().join(KEPT_STAMP).exists());

        // A link in the kept folder is not followed.
        let canary = dir.path().join("canary");
        std::fs::write(&canary, "secret").unwrap();
        std::fs::remove_file(kept.join(KEPT_INDEX)).unwrap();
        std::os::unix::fs::symlink(&canary, kept.join(KEPT_INDEX)).unwrap();
        let packages = cache.open_run(&dir.path().join("runs")).unwrap();
        assert!(!offer(&kept, &stamp, &packages).unwrap());
    }
}
