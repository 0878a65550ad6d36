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
//! 3. the layer is kept per image ([`LAYER_FILE`], serde-serialisable: [`Layer::to_json`]),
//!    and [`kept_layer`] reads an ancestor's back (or makes it again from its archives), so
//!    children do not read their ancestors' archives again;
//! 4. an [`ImageSbom`] (own layer + ancestors' layers) renders SPDX 2.3 or CycloneDX 1.5 JSON
//!    ([`ImageSbom::render`]) and `PACKAGES.md` ([`ImageSbom::packages_md`]) from the same
//!    data.
//!
//! Nothing here reads the clock, the environment or the network, and nothing prints: output
//! is a function of the layers and [`DocumentOptions`].
//!
//! How a build uses it, for an image whose phase 1 outputs are in `out` and whose ancestors'
//! are in `ancestor_dirs` (nearest first):
//!
//! ```no_run
//! # fn main() -> Result<(), gbb_sbom::SbomError> {
//! use gbb_sbom::{DocumentOptions, Format, ImageRef, ImageSbom, Layer};
//! # let out = std::path::Path::new(".gbb/build/ns/app");
//! # let ancestor_dirs: Vec<(ImageRef, std::path::PathBuf)> = Vec::new();
//! let image = ImageRef { id: "ns/app".to_owned(), tag: "2026.11".to_owned() };
//! let own = Layer::from_outputs(image, &out.join("pkgdb.tar"), &out.join("rootfs.tar"))?;
//! std::fs::write(out.join(gbb_sbom::LAYER_FILE), own.to_json()?).unwrap();
//! let mut ancestors = Vec::new();
//! for (image, dir) in ancestor_dirs {
//!     ancestors.extend(gbb_sbom::kept_layer(&dir, image)?);
//! }
//! let sbom = ImageSbom { own, ancestors };
//! let created = sbom.newest_build_time().unwrap_or(jiff::Timestamp::UNIX_EPOCH);
//! let options = DocumentOptions::new(created, env!("CARGO_PKG_VERSION"));
//! let spdx = sbom.render(Format::Spdx, &options)?;
//! let cyclonedx = sbom.render(Format::CycloneDx, &options)?;
//! let packages_md = sbom.packages_md(17_000_000, &["/usr/include".to_owned()]);
//! # let _ = (spdx, cyclonedx, packages_md);
//! # Ok(())
//! # }
//! ```

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
pub use packages_md::render_packages_md;
pub use pkgdb::{MAX_CONTENTS, MAX_ENTRIES, MAX_FILE, MAX_TOTAL, read_pkgdb};
pub use purl::{GENTOO_REPOSITORY_URL, purl};
pub use rootfs::MAX_ROOTFS_ENTRIES;

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

/// The name of a kept [`Layer`] in an image's output folder (`.gbb/build/<ns>/<name>/`).
pub const LAYER_FILE: &str = "sbom-layer.json";
/// The SPDX document gbb keeps next to it.
pub const SPDX_FILE: &str = "sbom.spdx.json";
/// The CycloneDX document gbb keeps next to it.
pub const CYCLONEDX_FILE: &str = "sbom.cdx.json";

/// The most a kept layer may hold when read back (gbb writes it into a folder no container
/// mounts, so this only guards against a damaged file).
const MAX_LAYER_FILE: u64 = 512 * 1024 * 1024;

/// The layer of the image whose outputs are in `dir`: its kept [`LAYER_FILE`], or, when that
/// is missing or of another [`LAYER_FORMAT`], made again from the `pkgdb.tar` and
/// `rootfs.tar` there. `None` when there is no `pkgdb.tar` either (the image was built by a
/// gbb that did not collect one). For an ancestor's layer while building a child.
pub fn kept_layer(dir: &Path, image: ImageRef) -> Result<Option<Layer>, SbomError> {
    let path = dir.join(LAYER_FILE);
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| SbomError::Io { path, source }
    };
    match File::open(&path) {
        Ok(file) => {
            let mut text = String::new();
            file.take(MAX_LAYER_FILE)
                .read_to_string(&mut text)
                .map_err(io(&path))?;
            if let Some(layer) = Layer::from_json(&text)? {
                return Ok(Some(layer));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(&path)(e)),
    }
    let pkgdb = dir.join("pkgdb.tar");
    if !pkgdb.exists() {
        return Ok(None);
    }
    Layer::from_outputs(image, &pkgdb, &dir.join("rootfs.tar")).map(Some)
}

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
