//! SBOMs of gentoo-bb images, from Portage's own installed-package database.
//!
//! Scanners guess what an image holds from its files; Portage knows: the exact version, the
//! USE flags, the licences, the upstream sources with their digests, and every installed
//! file. Phase 1 packs that database (`pkgdb.tar`, see `container/helpers.sh`) before the
//! cleanup purges `var/db/pkg` from the image, and this crate turns it into documents:
//!
//! 1. [`read_pkgdb`] reads `pkgdb.tar` (untrusted: it comes from a build container) into a
//!    [`Layer`]: what one image installed;
//! 2. [`Layer::digest_files`] reads the image's `rootfs.tar` once and gives every file the
//!    digests it has *in the image* (purged files are marked as not there);
//! 3. the layer is kept per image (it is serde-serialisable: [`Layer::to_json`],
//!    [`Layer::from_json`]), so children do not read their ancestors' archives again;
//! 4. an [`ImageSbom`] (own layer + ancestors' layers) renders SPDX 2.3 or CycloneDX 1.5 JSON
//!    ([`ImageSbom::render`]) and `PACKAGES.md` ([`ImageSbom::packages_md`]) from the same
//!    data.
//!
//! Nothing here reads the clock, the environment or the network, and nothing prints: output
//! is a function of the layers and [`DocumentOptions`].

mod contents;
mod cyclonedx;
mod depend;
mod error;
mod image;
mod licence;
mod model;
mod packages_md;
mod pkgdb;
mod purl;
mod rootfs;
mod spdx;
mod version;

pub use error::SbomError;
pub use image::{DocumentOptions, Format, ImageSbom};
pub use licence::SpdxLicence;
pub use model::{
    Digests, Distfile, FileKind, HandInstalled, ImageFile, ImageRef, InstalledFile, LAYER_FORMAT,
    Layer, Package,
};
pub use pkgdb::{MAX_CONTENTS, MAX_ENTRIES, MAX_FILE, MAX_TOTAL, read_pkgdb};
pub use purl::{GENTOO_REPOSITORY_URL, purl};
pub use rootfs::MAX_ROOTFS_ENTRIES;

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

impl Layer {
    /// The layer of `image` from phase 1's outputs: `pkgdb.tar`, and `rootfs.tar` for the
    /// files' digests (one pass over each). What gbb calls after a phase 1.
    pub fn from_outputs(image: ImageRef, pkgdb: &Path, rootfs: &Path) -> Result<Self, SbomError> {
        let open = |path: &Path| {
            File::open(path)
                .map(BufReader::new)
                .map_err(|source| SbomError::Io {
                    path: path.to_owned(),
                    source,
                })
        };
        let mut layer = read_pkgdb(pkgdb, open(pkgdb)?, image)?;
        layer.digest_files(rootfs, open(rootfs)?)?;
        Ok(layer)
    }

    /// The compact form gbb keeps per image for its children (`sbom-layer.json`).
    pub fn to_json(&self) -> Result<String, SbomError> {
        Ok(serde_json::to_string(self)? + "\n")
    }

    /// Reads a kept layer back. `None` when it was written in another [`LAYER_FORMAT`]: the
    /// caller makes it again from the image's `pkgdb.tar` and `rootfs.tar`.
    pub fn from_json(text: &str) -> Result<Option<Self>, SbomError> {
        #[derive(serde::Deserialize)]
        struct Format {
            format: u32,
        }
        let format: Format = serde_json::from_str(text)?;
        if format.format != LAYER_FORMAT {
            return Ok(None);
        }
        Ok(Some(serde_json::from_str(text)?))
    }
}
