//! One image's SBOM: its own layer and its ancestors' layers, and the choices every output
//! format shares (document identity, time, the tool).

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

use crate::error::SbomError;
use crate::model::{ImageRef, Layer};
use crate::{cyclonedx, spdx};

/// What an image holds: the packages it installed and those of each ancestor, nearest
/// first. Every output (SPDX, CycloneDX, PACKAGES.md) is made from this one value, so they
/// cannot disagree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageSbom {
    pub own: Layer,
    /// The parent's layer first, then the grandparent's, up to the image on `scratch`.
    pub ancestors: Vec<Layer>,
}

/// The SBOM formats gbb writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// SPDX 2.3, JSON.
    Spdx,
    /// CycloneDX 1.5, JSON.
    CycloneDx,
}

/// What a document says about its own making. Nothing here is read from the clock or the
/// machine: the same layers and options give the same bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentOptions {
    /// When the document was made (SPDX requires it). For reproducible output, pass
    /// `SOURCE_DATE_EPOCH` or the build's own time, not the time of `gbb sbom`.
    pub created: jiff::Timestamp,
    /// gbb's version, named as the creating tool.
    pub tool_version: String,
    /// The prefix of the SPDX document namespace (a URI the document's identity is appended
    /// to; SPDX wants it unique per document, which the content digest makes it).
    pub namespace_base: String,
}

impl DocumentOptions {
    /// `namespace_base` is `https://gentoo-bb.invalid/spdx`: gbb publishes no documents, and
    /// `.invalid` is reserved for names that resolve nowhere.
    pub fn new(created: jiff::Timestamp, tool_version: &str) -> Self {
        Self {
            created,
            tool_version: tool_version.to_owned(),
            namespace_base: "https://gentoo-bb.invalid/spdx".to_owned(),
        }
    }
}

impl ImageSbom {
    /// The image the SBOM describes.
    pub fn image(&self) -> &ImageRef {
        &self.own.image
    }

    /// The parent image, if the image is not on `scratch`.
    pub fn parent(&self) -> Option<&ImageRef> {
        self.ancestors.first().map(|layer| &layer.image)
    }

    /// When the newest package of the image (any layer) was built: a creation time for the
    /// documents that depends only on what the image holds, so `gbb sbom` prints the same
    /// bytes as the build kept, without a clock. `None` when no package records one.
    pub fn newest_build_time(&self) -> Option<jiff::Timestamp> {
        self.layers()
            .flat_map(|layer| &layer.packages)
            .filter_map(|package| package.build_time)
            .max()
            .and_then(|seconds| jiff::Timestamp::from_second(seconds as i64).ok())
    }

    /// The layers, own first, each with the image the next one (if any) is its parent.
    pub(crate) fn layers(&self) -> impl Iterator<Item = &Layer> {
        std::iter::once(&self.own).chain(&self.ancestors)
    }

    /// The document in `format`, as pretty-printed JSON ending in a newline.
    pub fn render(&self, format: Format, options: &DocumentOptions) -> Result<String, SbomError> {
        let mut text = match format {
            Format::Spdx => serde_json::to_string_pretty(&spdx::document(self, options))?,
            Format::CycloneDx => serde_json::to_string_pretty(&cyclonedx::document(self, options))?,
        };
        text.push('\n');
        Ok(text)
    }

    /// A digest of everything the documents say (layers and options): the document's
    /// identity, stable across runs, different when anything differs.
    pub(crate) fn identity(&self, options: &DocumentOptions) -> [u8; 32] {
        let mut hash = Sha256::new();
        for layer in self.layers() {
            // Serialising plain data to JSON cannot fail.
            hash.update(serde_json::to_vec(layer).unwrap_or_default());
            hash.update([0]);
        }
        hash.update(options.created.as_second().to_le_bytes());
        hash.update(options.tool_version.as_bytes());
        hash.finalize().into()
    }
}

/// `YYYY-MM-DDThh:mm:ssZ`, the form both formats take.
pub(crate) fn timestamp(time: jiff::Timestamp) -> String {
    time.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Spdx => "spdx",
            Format::CycloneDx => "cyclonedx",
        })
    }
}

/// `spdx` or `cyclonedx`, as `gbb sbom --format` takes them.
impl FromStr for Format {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "spdx" | "spdx-json" => Ok(Format::Spdx),
            "cyclonedx" | "cyclonedx-json" | "cdx" => Ok(Format::CycloneDx),
            other => Err(format!(
                "unknown SBOM format `{other}`; use `spdx` or `cyclonedx`"
            )),
        }
    }
}
