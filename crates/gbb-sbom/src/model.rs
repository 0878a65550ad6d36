//! What gbb knows about the packages of one image layer: the typed form of Portage's
//! installed-package database (`var/db/pkg`) as phase 1 packed it, plus the digests of the
//! files as they ended up in the layer's `rootfs.tar`.
//!
//! A [`Layer`] is what an image added on top of its parent. It is serialisable (serde, JSON)
//! because it is also what children need of their ancestors: gbb keeps it per image
//! (`sbom-layer.json` next to `rootfs.tar`), and a child's SBOM is made from its own layer and
//! its ancestors' kept layers, without reading their `rootfs.tar` again.

use serde::{Deserialize, Serialize};

use crate::depend;
use crate::licence::{self, SpdxLicence};

/// The format version of a serialised [`Layer`]: a layer kept by an older gbb with another
/// number is made again from its `pkgdb.tar` rather than misread.
pub const LAYER_FORMAT: u32 = 1;

/// What one image installed: its Portage packages and what hooks installed by hand.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layer {
    /// [`LAYER_FORMAT`] when it was written.
    pub format: u32,
    /// The image that added this layer.
    pub image: ImageRef,
    /// Sorted by category, name and version.
    pub packages: Vec<Package>,
    /// In the order the hooks recorded them.
    pub hand_installed: Vec<HandInstalled>,
    /// Whether the files' digests were taken from the layer's `rootfs.tar` (see
    /// [`Layer::digest_files`]); until then every file's `image` is `None`.
    pub files_digested: bool,
}

/// An image as the documents name it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRef {
    /// `namespace/name`.
    pub id: String,
    /// The tag it was built with (`IMAGE_TAG`).
    pub tag: String,
}

/// One package Portage installed into the image's root.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    pub category: String,
    /// The package name (PN).
    pub name: String,
    /// The full version with its revision (PVR: `1.2.3-r1`).
    pub version: String,
    /// The slot, without the sub-slot.
    pub slot: String,
    pub subslot: Option<String>,
    /// The ebuild repository it came from (`gentoo`, an overlay's name).
    pub repository: String,
    /// The USE flags the package declares (IUSE, without the `+`/`-` defaults), sorted.
    pub iuse: Vec<String>,
    /// Those of [`Package::iuse`] that were enabled, sorted.
    pub use_enabled: Vec<String>,
    /// `LICENSE` as the ebuild wrote it, conditionals and all.
    pub licence_raw: String,
    /// `LICENSE` with its USE conditionals resolved against the USE in effect, in Gentoo's
    /// syntax (`GPL-2+ || ( MIT BSD )`): what applies to this build.
    pub licence: String,
    pub homepage: Vec<String>,
    pub description: String,
    /// The distfiles this build used (`SRC_URI` with its conditionals resolved), each with the
    /// digests the repository's Manifest gives, when it had them.
    pub distfiles: Vec<Distfile>,
    /// Seconds since the epoch when Portage merged it (`BUILD_TIME`).
    pub build_time: Option<u64>,
    /// What `CONTENTS` lists, in its order.
    pub files: Vec<InstalledFile>,
}

/// One source archive of a package.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Distfile {
    /// The name Portage stores it under (the `-> name` of a rename, else the URI's last part).
    pub name: String,
    /// Where it is fetched from, in `SRC_URI`'s order (`mirror://` URIs as written).
    pub uris: Vec<String>,
    /// Size and digests from the Manifest (`DIST name size BLAKE2B hex SHA512 hex`).
    pub size: Option<u64>,
    pub blake2b: Option<String>,
    pub sha512: Option<String>,
}

/// A line of `CONTENTS`, and what became of it in the image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstalledFile {
    /// Absolute, as `CONTENTS` has it (`/usr/bin/greet`).
    pub path: String,
    pub kind: FileKind,
    /// The file as it is in the image's root: `None` when it is not there (the cleanup purged
    /// it, a hook removed it) or when the layer has not been digested.
    pub image: Option<ImageFile>,
}

/// The kinds of `CONTENTS` lines.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum FileKind {
    Dir,
    /// A regular file, with the MD5 and mtime Portage recorded when it merged it.
    Obj {
        md5: String,
        mtime: u64,
    },
    Sym {
        target: String,
        mtime: u64,
    },
    /// A FIFO.
    Fif,
    Dev,
}

/// A file found in the image's `rootfs.tar`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageFile {
    /// Digests of a regular file's content (`None` for directories and links).
    pub digests: Option<Digests>,
    /// For a regular file: whether its MD5 differs from the one Portage recorded, i.e. a hook
    /// or the cleanup changed it after the merge.
    pub modified: bool,
}

/// Lowercase hex digests of a file's content: SHA-256 for scanners and the check,
/// SHA-1 because SPDX 2.3 requires it for every file, MD5 to compare with `CONTENTS`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Digests {
    pub sha256: String,
    pub sha1: String,
    pub md5: String,
}

/// Something a hook installed without Portage (`log_as_installed GROUP NAME INFO`, which
/// `copy_gcc_libs` also calls for each library it copies).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandInstalled {
    pub group: String,
    pub name: String,
    /// Free text, usually a URL or a path in the image.
    pub info: String,
    /// When `info` is an absolute path (as `copy_gcc_libs` records it) and the layer has been
    /// digested: the file at that path in the image, if there is one.
    pub file: Option<ImageFile>,
}

impl Package {
    /// `category/name-version`, as Portage and PACKAGES.md name it.
    pub fn cpv(&self) -> String {
        format!("{}/{}-{}", self.category, self.name, self.version)
    }

    /// The licence as an SPDX expression, with the `LicenseRef-`s it uses.
    pub fn spdx_licence(&self) -> SpdxLicence {
        // `licence` was made by this crate from a parsed tree, so it parses again.
        let tree = depend::parse(&self.licence).unwrap_or(depend::Node::AllOf(Vec::new()));
        licence::spdx_expression(&tree)
    }

    /// The regular files of the package that are in the image, with their digests.
    pub fn files_in_image(&self) -> impl Iterator<Item = (&str, &Digests)> {
        self.files.iter().filter_map(|file| {
            let digests = file.image.as_ref()?.digests.as_ref()?;
            Some((file.path.as_str(), digests))
        })
    }

    /// How many of `CONTENTS`' entries are not in the image (purged or removed by a hook).
    pub fn files_not_in_image(&self) -> usize {
        self.files
            .iter()
            .filter(|file| file.image.is_none())
            .count()
    }
}
