//! Which image of gbb's content store is an id's last successful build: the one reader and
//! writer of the `manifest` file ([`Paths::image_manifest`]), and the store's pruning.
//!
//! Phase 2 writes every blob of an image into the stack's store ([`Paths::image_store`]),
//! and the step writes the image's manifest digest into its kept outputs when it succeeded.
//! A parent's phase 2, `gbb push`, `--output` and `gbb verify` read that digest back here, so
//! they agree on what the file holds (`sha256:<hex>`, a line end allowed) and on what its
//! absence means (never built, or built by a gbb before it wrote images itself).
//!
//! The `manifest` files are the store's only roots: [`prune`] keeps the blobs of the images
//! they name and removes the rest (images rebuilt since, candidates of failed steps, images
//! `gbb clean` removed the outputs of). The store is the stack's own, not shared, so that
//! its roots are all in one place and pruning runs under the stack's lock: a store shared by
//! every stack (as it was, `<cache>/images`) could never know whether another stack still
//! needs a blob. Images written into that shared store by an older gbb are still found there
//! and linked into the stack's store when first read ([`open_image`]).

use std::path::PathBuf;
use std::str::FromStr;

use gbb_image::oci_spec::image::Digest;
use gbb_image::{BlobStore, StoredImage};

use crate::outputs::{self, TEXT_LIMIT};
use crate::{BuildError, Paths};

/// Why an image is not (or not readably) in gbb's store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NotStored {
    /// No manifest file: never built, or built before gbb wrote images itself.
    #[error("it has no image in gbb's store (no `{}`; build it with `gbb build`)", .0.display())]
    NoManifestFile(PathBuf),
    /// The manifest file does not hold a digest.
    #[error("`{}` does not hold a `sha256:` digest", .0.display())]
    BadManifestFile(PathBuf),
    /// The store lacks a blob of the image, or holds a changed one.
    #[error("its image `{digest}` cannot be read from gbb's store")]
    Unreadable {
        /// The manifest digest.
        digest: String,
        /// What the store said; boxed, as it is large.
        #[source]
        source: Box<gbb_image::Error>,
    },
    /// The manifest file could not be read (it names the file).
    #[error(transparent)]
    Read(Box<BuildError>),
}

/// The manifest digest of `id`'s last successful build, or `None` when it has none.
pub fn manifest_digest(paths: &Paths, id: &str) -> Result<Option<Digest>, NotStored> {
    let file = paths.image_manifest(id);
    // The file is gbb's own (no container mounts `.gbb/build`), still read with a limit.
    let text = match outputs::read_text(&file, TEXT_LIMIT) {
        Ok(Some(text)) => text,
        Ok(None) => return Ok(None),
        Err(error) => return Err(NotStored::Read(Box::new(error))),
    };
    Digest::from_str(text.trim())
        .map(Some)
        .map_err(|_| NotStored::BadManifestFile(file))
}

/// The image `id` built last, read from gbb's store (each blob checked against its digest).
pub fn stored_image(paths: &Paths, id: &str) -> Result<(BlobStore, StoredImage), NotStored> {
    let Some(digest) = manifest_digest(paths, id)? else {
        return Err(NotStored::NoManifestFile(paths.image_manifest(id)));
    };
    let unreadable = |source| NotStored::Unreadable {
        digest: digest.to_string(),
        source: Box::new(source),
    };
    let store = BlobStore::open(paths.image_store()).map_err(unreadable)?;
    let image = open_image(&store, paths, &digest).map_err(unreadable)?;
    Ok((store, image))
}

/// The image `id` built last, from its `manifest` file in `paths`, read from `store` (the
/// stack's own, or `gbb verify`'s kept one); `None` when it has none. For the executor: its
/// errors are build errors, where [`stored_image`]'s say why a command cannot use the image.
pub(crate) fn kept_image(
    store: &BlobStore,
    paths: &Paths,
    id: &str,
) -> Result<Option<StoredImage>, BuildError> {
    let digest = match manifest_digest(paths, id) {
        Ok(Some(digest)) => digest,
        Ok(None) => return Ok(None),
        Err(NotStored::Read(error)) => return Err(*error),
        Err(error) => {
            return Err(BuildError::BadSetting {
                setting: format!("`{}`", paths.image_manifest(id).display()),
                problem: error.to_string(),
            });
        }
    };
    open_image(store, paths, &digest)
        .map(Some)
        .map_err(crate::error::image_error(id))
}

/// The image `digest` in `store`; when the store lacks it and the store an older gbb shared
/// between stacks (`<cache>/images`) has it, its blobs are linked into `store` first (hard
/// links, so no layer is copied), and it is read from there.
fn open_image(
    store: &BlobStore,
    paths: &Paths,
    digest: &Digest,
) -> Result<StoredImage, gbb_image::Error> {
    let missing = match StoredImage::open(store, digest) {
        Err(missing @ gbb_image::Error::MissingBlob { .. }) => missing,
        opened => return opened,
    };
    let shared = paths.cache.join("images");
    if !shared.join("blobs").is_dir() {
        return Err(missing);
    }
    let shared = BlobStore::open(shared)?;
    let Ok(image) = StoredImage::open(&shared, digest) else {
        return Err(missing);
    };
    for blob in image.blobs() {
        shared.copy_to(&gbb_image::sha256_of(blob)?, store)?;
    }
    StoredImage::open(store, digest)
}

/// What [`prune`] removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    pub blobs: usize,
    pub bytes: u64,
}

/// Removes the blobs of the stack's store that no kept image uses: an image whose
/// `manifest` file is in `.gbb/build` keeps its manifest, config and layers (its parents'
/// included, which its manifest lists). Run under the stack's lock, when no step of this
/// stack writes into the store. A `manifest` file naming an image the store cannot read
/// stops the prune with nothing removed: a blob of that image may be among the rest.
pub fn prune(paths: &Paths) -> Result<Pruned, BuildError> {
    let root = paths.image_store();
    if !root.is_dir() {
        return Ok(Pruned::default());
    }
    let store_error = crate::error::image_error("the image store");
    let store = BlobStore::open(&root).map_err(&store_error)?;
    let mut keep = std::collections::HashSet::new();
    for id in kept_manifest_ids(paths)? {
        let Some(image) = kept_image(&store, paths, &id)? else {
            continue;
        };
        for blob in image.blobs() {
            keep.insert(blob.digest().to_owned());
        }
    }
    let (blobs, bytes) = store.remove_all_but(&keep).map_err(&store_error)?;
    Ok(Pruned { blobs, bytes })
}

/// The ids (`ns/name`) whose outputs folder in `.gbb/build` holds a `manifest` file.
fn kept_manifest_ids(paths: &Paths) -> Result<Vec<String>, BuildError> {
    let build = paths.state.join("build");
    let read = |dir: &std::path::Path| match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .map(|entry| entry.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(crate::error::io(dir)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(crate::error::io(dir)(e)),
    };
    let mut ids = Vec::new();
    for namespace in read(&build)? {
        for name in read(&build.join(&namespace))? {
            let id = format!("{namespace}/{name}");
            if paths.image_manifest(&id).is_file() {
                ids.push(id);
            }
        }
    }
    Ok(ids)
}

/// Records `digest` as `id`'s last successful build (atomically: a reader sees the old digest
/// or the new one).
pub(crate) fn write_manifest_digest(
    paths: &Paths,
    id: &str,
    digest: &Digest,
) -> Result<(), BuildError> {
    outputs::write_file(&paths.image_manifest(id), digest.to_string().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_stack::store_image;

    fn paths(dir: &std::path::Path) -> Paths {
        Paths::new(dir, &dir.join("cache"))
    }

    fn blobs_of(image: &StoredImage) -> Vec<String> {
        image.blobs().map(|d| d.digest().to_owned()).collect()
    }

    /// A rebuilt image's old blobs go, its parent's stay (the new manifest lists them); once
    /// its outputs are removed (`gbb clean`), its own blobs go too.
    #[test]
    fn pruning_keeps_what_the_kept_manifests_name() {
        let dir = tempfile::tempdir().unwrap();
        let paths = paths(dir.path());
        let store = BlobStore::open(paths.image_store()).unwrap();
        let base = store_image(&store, &paths, "ns/base", "base", None);
        let old = store_image(&store, &paths, "ns/app", "app 1", Some(&base));
        let new = store_image(&store, &paths, "ns/app", "app 2", Some(&base));
        let shared = blobs_of(&new);
        let old_own: Vec<String> = blobs_of(&old)
            .into_iter()
            .filter(|d| !shared.contains(d))
            .collect();
        let bytes = old_own
            .iter()
            .map(|d| {
                std::fs::metadata(store.root().join("blobs/sha256").join(d))
                    .unwrap()
                    .len()
            })
            .sum();
        assert_eq!(prune(&paths).unwrap(), Pruned { blobs: 3, bytes });
        for digest in blobs_of(&base).iter().chain(&blobs_of(&new)) {
            assert!(store.root().join("blobs/sha256").join(digest).is_file());
        }
        for digest in &old_own {
            assert!(!store.root().join("blobs/sha256").join(digest).exists());
        }
        // Nothing more to remove.
        assert_eq!(prune(&paths).unwrap().blobs, 0);

        std::fs::remove_dir_all(paths.output("ns/app")).unwrap();
        assert_eq!(prune(&paths).unwrap().blobs, 3);
        assert!(StoredImage::open(&store, base.digest()).is_ok());
        let left = std::fs::read_dir(store.root().join("blobs/sha256"))
            .unwrap()
            .count();
        assert_eq!(left, blobs_of(&base).len());
    }

    /// A manifest file naming an image the store cannot read: nothing is removed.
    #[test]
    fn an_unreadable_kept_image_stops_the_prune() {
        let dir = tempfile::tempdir().unwrap();
        let paths = paths(dir.path());
        let store = BlobStore::open(paths.image_store()).unwrap();
        let base = store_image(&store, &paths, "ns/base", "base", None);
        store_image(&store, &paths, "ns/base", "again", None);
        std::fs::create_dir_all(paths.output("ns/gone")).unwrap();
        std::fs::write(
            paths.image_manifest("ns/gone"),
            format!("sha256:{}\n", "ab".repeat(32)),
        )
        .unwrap();
        let error = prune(&paths).unwrap_err().to_string();
        assert!(error.contains("ns/gone"), "{error}");
        assert!(
            StoredImage::open(&store, base.digest()).is_ok(),
            "nothing went"
        );
    }

    /// An image an older gbb wrote into the store shared by every stack is linked into the
    /// stack's store when read, and kept by the next prune.
    #[test]
    fn images_of_the_old_shared_store_are_linked_in_when_read() {
        let dir = tempfile::tempdir().unwrap();
        let paths = paths(dir.path());
        let shared = BlobStore::open(paths.cache.join("images")).unwrap();
        let base = store_image(&shared, &paths, "ns/base", "base", None);
        let app = store_image(&shared, &paths, "ns/app", "app", Some(&base));

        let (store, read) = stored_image(&paths, "ns/app").unwrap();
        assert_eq!(read.digest(), app.digest());
        assert_eq!(store.root(), paths.image_store());
        assert_eq!(prune(&paths).unwrap().blobs, 0);
        for digest in blobs_of(&app).iter().chain(&blobs_of(&base)) {
            assert!(
                store.root().join("blobs/sha256").join(digest).is_file(),
                "{digest}"
            );
        }
    }
}
