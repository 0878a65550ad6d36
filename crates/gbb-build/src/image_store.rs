//! Which image of gbb's content store is an id's last successful build: the one reader and
//! writer of the `manifest` file ([`Paths::image_manifest`]).
//!
//! Phase 2 writes every blob of an image into the shared store ([`Paths::image_store`]), and
//! the step writes the image's manifest digest into its kept outputs when it succeeded. A
//! parent's phase 2, `gbb push`, `--output` and `gbb verify` read that digest back here, so
//! they agree on what the file holds (`sha256:<hex>`, a line end allowed) and on what its
//! absence means (never built, or built by a gbb before it wrote images itself).

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
    let image = StoredImage::open(&store, &digest).map_err(unreadable)?;
    Ok((store, image))
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
