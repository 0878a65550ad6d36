//! `--output docker-archive:FILE`: a tar that `docker load` accepts.
//!
//! The format `docker save` writes: a `manifest.json` listing each image's config, layers and
//! tags, with the blobs under `blobs/sha256/` (the paths Docker 25+ uses; any path works).
//! Layers stay compressed as they are in the store: `docker load` decompresses what it
//! finds. The archive itself is deterministic (sorted entries, times at the epoch, root
//! owner) and written under a temporary name, renamed when whole.

use std::collections::BTreeMap;
use std::io::BufWriter;
use std::path::Path;

use oci_spec::image::Digest;
use serde::Serialize;
use tar::{EntryType, Header};

use crate::atomic_file::AtomicFile;
use crate::canonical::to_canonical_json;
use crate::store::{BlobStore, sha256_of};
use crate::{Error, Result, SourceDateEpoch, StoredImage};

/// One image of a docker archive and the tags `docker load` gives it.
#[derive(Debug, Clone, Copy)]
pub struct DockerArchiveImage<'a> {
    /// The image, in the store the archive is written from.
    pub image: &'a StoredImage,
    /// `repository:tag` names, at least one.
    pub repo_tags: &'a [String],
}

/// One entry of `manifest.json`, in Docker's field names.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ArchiveManifest {
    config: String,
    repo_tags: Vec<String>,
    layers: Vec<String>,
}

fn blob_name(digest: &Digest) -> String {
    format!("blobs/sha256/{}", digest.digest())
}

/// Writes `images` from `store` as a docker archive at `path`.
pub fn write_docker_archive(
    store: &BlobStore,
    path: &Path,
    images: &[DockerArchiveImage<'_>],
    epoch: SourceDateEpoch,
) -> Result<()> {
    // By digest text, so blobs are written in a fixed order and once.
    let mut blobs: BTreeMap<String, Digest> = BTreeMap::new();
    let mut manifest = Vec::new();
    for entry in images {
        if entry.repo_tags.is_empty() {
            return Err(Error::NoRepoTag(entry.image.digest().to_string()));
        }
        let layers = entry.image.manifest.layers();
        for digest in layers
            .iter()
            .map(|d| d.digest())
            .chain([entry.image.config_digest()])
        {
            blobs.insert(digest.to_string(), digest.clone());
        }
        manifest.push(ArchiveManifest {
            config: blob_name(entry.image.config_digest()),
            repo_tags: entry.repo_tags.to_vec(),
            layers: layers.iter().map(|d| blob_name(d.digest())).collect(),
        });
    }
    let manifest_json = to_canonical_json(&manifest).map_err(|source| Error::Json {
        what: "docker archive manifest",
        digest: path.display().to_string(),
        source,
    })?;

    let file = AtomicFile::create(path)?;
    let temp_path = file.temp_path().to_path_buf();
    let write_error = |e| Error::io("write", &temp_path, e);
    let mut builder = tar::Builder::new(BufWriter::with_capacity(256 * 1024, file));
    let header = |kind: EntryType, mode: u32, size: u64| {
        let mut header = Header::new_gnu();
        header.set_entry_type(kind);
        header.set_mode(mode);
        header.set_mtime(epoch.seconds());
        header.set_size(size);
        header
    };
    for folder in ["blobs/", "blobs/sha256/"] {
        builder
            .append_data(
                &mut header(EntryType::Directory, 0o755, 0),
                folder,
                std::io::empty(),
            )
            .map_err(write_error)?;
    }
    for digest in blobs.values() {
        let (file, size) = store.open_blob(&sha256_of(digest)?)?;
        builder
            .append_data(
                &mut header(EntryType::Regular, 0o644, size),
                blob_name(digest),
                file,
            )
            .map_err(write_error)?;
    }
    builder
        .append_data(
            &mut header(EntryType::Regular, 0o644, manifest_json.len() as u64),
            "manifest.json",
            manifest_json.as_slice(),
        )
        .map_err(write_error)?;
    let buffered = builder.into_inner().map_err(write_error)?;
    buffered
        .into_inner()
        .map_err(|e| write_error(e.into_error()))?
        .commit()
}
