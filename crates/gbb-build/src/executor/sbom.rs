//! An image's SBOM at the end of its step, and read back for `gbb sbom`.
//!
//! Phase 1 leaves `pkgdb.tar` (Portage's database of what it installed, packed before the
//! cleanup purged it; see the gbb-sbom crate). Once an image passed its tests, the step makes
//! its [`Layer`] (what it added, with each file's digests in its `rootfs.tar`) and its
//! [`ImageSbom`] (that layer and the kept layers of its ancestors, nearest first), renders
//! both documents and `PACKAGES.md` from that one value, and only then writes anything: a
//! refused `pkgdb.tar` fails the step with the previous outputs, tags and `PACKAGES.md` as
//! they were. The documents are kept with the other outputs in `.gbb/build/<ns>/<name>/`
//! ([`LAYER_FILE`], [`SPDX_FILE`], [`CYCLONEDX_FILE`]), written before the key (see
//! `steps/image.rs`: no key while the outputs change), so `gbb sbom` prints the document of
//! a complete build.
//!
//! Older outputs: an image whose phase 1 ran under a gbb that did not collect `pkgdb.tar`
//! has no layer, and a child of such an image cannot list what it inherits. Such an image
//! still builds: it keeps no SBOM (stale documents of an earlier build are removed, so
//! `gbb sbom` never shows a document that does not match the image), and its `PACKAGES.md`
//! comes from `packages.tsv` as before (`packages_md.rs`). Its own layer is still kept when
//! it has one, for its children.

use std::io::Read;
use std::path::{Path, PathBuf};

use gbb_plan::ImageStep;
use gbb_sbom::{
    CYCLONEDX_FILE, DocumentOptions, Format, ImageRef, ImageSbom, LAYER_FILE, Layer, SPDX_FILE,
};
use gbb_stack::Definition;

use super::Build;
use crate::error::io;
use crate::outputs::{self, open_regular};
use crate::{BuildError, Paths};

/// What an image step keeps of its SBOM, made before anything is written.
pub(crate) struct KeptSbom {
    /// The image's own layer as [`LAYER_FILE`] holds it; `None` when its phase 1 left no
    /// `pkgdb.tar`.
    layer: Option<String>,
    /// The image's SBOM with its SPDX and CycloneDX documents; `None` when the image or an
    /// ancestor has no layer.
    documents: Option<Documents>,
}

struct Documents {
    sbom: ImageSbom,
    spdx: String,
    cyclonedx: String,
}

impl Build<'_> {
    /// The SBOM of the image of `step`, whose phase 1 outputs are in `outputs_dir`: this
    /// run's folder when `fresh` (its `pkgdb.tar` is read as untrusted: a regular file, not
    /// a link), else the kept outputs (whose kept layer is read back). Reads and renders;
    /// writes nothing.
    pub(super) fn image_sbom(
        &self,
        step: &ImageStep,
        definition: &Definition,
        outputs_dir: &Path,
        fresh: bool,
    ) -> Result<KeptSbom, BuildError> {
        let id = definition.id.as_str();
        let failed = |source| BuildError::Sbom {
            id: id.to_owned(),
            source,
        };
        let image = ImageRef {
            id: id.to_owned(),
            tag: definition.tag.clone(),
        };
        self.reporter.started(id, "SBOM");
        let own = if fresh {
            fresh_layer(outputs_dir, image)?
        } else {
            gbb_sbom::kept_layer(outputs_dir, image).map_err(failed)?
        };
        let Some(own) = own else {
            return Ok(KeptSbom {
                layer: None,
                documents: None,
            });
        };
        let layer = Some(own.to_json().map_err(failed)?);
        let mut ancestors = Vec::with_capacity(step.ancestors.len());
        for ancestor in &step.ancestors {
            let tag = self
                .stack
                .get(ancestor)
                .map(|d| d.tag.clone())
                .unwrap_or_default();
            let image = ImageRef {
                id: ancestor.to_string(),
                tag,
            };
            let dir = self.options.paths.output(ancestor.as_str());
            match gbb_sbom::kept_layer(&dir, image).map_err(failed)? {
                Some(layer) => ancestors.push(layer),
                // Built by a gbb that made no layer: no SBOM (see the module docs).
                None => {
                    return Ok(KeptSbom {
                        layer,
                        documents: None,
                    });
                }
            }
        }
        let sbom = ImageSbom { own, ancestors };
        let options = DocumentOptions::new(
            created(&sbom, self.options.source_date_epoch),
            env!("CARGO_PKG_VERSION"),
        );
        let spdx = sbom.render(Format::Spdx, &options).map_err(failed)?;
        let cyclonedx = sbom.render(Format::CycloneDx, &options).map_err(failed)?;
        Ok(KeptSbom {
            layer,
            documents: Some(Documents {
                sbom,
                spdx,
                cyclonedx,
            }),
        })
    }
}

/// The documents' creation time: `SOURCE_DATE_EPOCH` when set (gbb passes 0 when it is not),
/// else when the newest package of the image was built, so that the same packages give the
/// same bytes on every build.
fn created(sbom: &ImageSbom, source_date_epoch: u64) -> jiff::Timestamp {
    let from_epoch = i64::try_from(source_date_epoch)
        .ok()
        .filter(|&s| s > 0)
        .and_then(|s| jiff::Timestamp::from_second(s).ok());
    from_epoch
        .or_else(|| sbom.newest_build_time())
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

/// The layer from this run's `pkgdb.tar` and `rootfs.tar`, both opened only as regular files
/// (`outputs::open_regular`: a link a hook planted is refused, not followed). `None` when
/// phase 1 left no `pkgdb.tar`.
fn fresh_layer(dir: &Path, image: ImageRef) -> Result<Option<Layer>, BuildError> {
    let pkgdb = dir.join("pkgdb.tar");
    let rootfs = dir.join("rootfs.tar");
    let Some((pkgdb_file, _)) = open_regular(&pkgdb)? else {
        return Ok(None);
    };
    let Some((rootfs_file, _)) = open_regular(&rootfs)? else {
        return Err(io(&rootfs)(std::io::ErrorKind::NotFound.into()));
    };
    let failed = |source| BuildError::Sbom {
        id: image.id.clone(),
        source,
    };
    let mut layer =
        gbb_sbom::read_pkgdb(&pkgdb, std::io::BufReader::new(pkgdb_file), image.clone())
            .map_err(failed)?;
    layer
        .digest_files(&rootfs, std::io::BufReader::new(rootfs_file))
        .map_err(failed)?;
    Ok(Some(layer))
}

impl KeptSbom {
    /// `PACKAGES.md` from the SBOM's data; `None` when there is no SBOM (the caller falls
    /// back to `packages.tsv`).
    pub(crate) fn packages_md(&self, size: u64, purged: &[String]) -> Option<String> {
        self.documents
            .as_ref()
            .map(|documents| documents.sbom.packages_md(size, purged))
    }

    /// Writes the layer and the documents into the image's output folder `dir` (each into a
    /// new file renamed over the old one), and removes those the image has none of.
    pub(crate) fn keep(&self, dir: &Path) -> Result<(), BuildError> {
        let documents = self.documents.as_ref();
        let files = [
            (LAYER_FILE, self.layer.as_deref()),
            (SPDX_FILE, documents.map(|d| d.spdx.as_str())),
            (CYCLONEDX_FILE, documents.map(|d| d.cyclonedx.as_str())),
        ];
        std::fs::create_dir_all(dir).map_err(outputs::write_error(dir))?;
        for (name, text) in files {
            let path = dir.join(name);
            match text {
                Some(text) => outputs::write_file(&path, text.as_bytes())?,
                None => match std::fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io(&path)(e)),
                },
            }
        }
        Ok(())
    }
}

/// The most `gbb sbom` reads of a kept document (gbb wrote it into a folder no container
/// mounts; this only guards against a damaged file).
const MAX_DOCUMENT: u64 = 1024 * 1024 * 1024;

/// The kept SBOM document of the image `id` in `format`, byte for byte as its build wrote
/// it (`gbb sbom`). [`BuildError::NoSbom`] when the image has none, or when its outputs are
/// not complete (no key: a build stopped while replacing them).
pub fn kept_sbom(paths: &Paths, id: &str, format: Format) -> Result<Vec<u8>, BuildError> {
    let dir = paths.output(id);
    let path: PathBuf = dir.join(match format {
        Format::Spdx => SPDX_FILE,
        Format::CycloneDx => CYCLONEDX_FILE,
    });
    let missing = || BuildError::NoSbom {
        id: id.to_owned(),
        path: path.clone(),
    };
    if open_regular(&dir.join("key"))?.is_none() {
        return Err(missing());
    }
    let Some((file, _)) = open_regular(&path)? else {
        return Err(missing());
    };
    let mut bytes = Vec::new();
    file.take(MAX_DOCUMENT)
        .read_to_end(&mut bytes)
        .map_err(io(&path))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    fn image() -> ImageRef {
        ImageRef {
            id: "ns/app".to_owned(),
            tag: "1".to_owned(),
        }
    }

    /// A canary a link points at, which must never be read or written.
    fn canary(dir: &Path) -> PathBuf {
        let path = dir.join("canary");
        std::fs::write(&path, "secret").unwrap();
        path
    }

    #[test]
    fn a_planted_link_is_refused_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let canary = canary(dir.path());
        let run = dir.path().join("run");
        std::fs::create_dir(&run).unwrap();
        symlink(&canary, run.join("pkgdb.tar")).unwrap();
        std::fs::write(run.join("rootfs.tar"), "").unwrap();
        let error = fresh_layer(&run, image()).unwrap_err();
        assert!(
            matches!(&error, BuildError::NotARegularFile { path, .. } if path.ends_with("pkgdb.tar")),
            "{error}"
        );
        // The same for the root file system the files' digests come from.
        std::fs::remove_file(run.join("pkgdb.tar")).unwrap();
        std::fs::write(run.join("pkgdb.tar"), "").unwrap();
        std::fs::remove_file(run.join("rootfs.tar")).unwrap();
        symlink(&canary, run.join("rootfs.tar")).unwrap();
        let error = fresh_layer(&run, image()).unwrap_err();
        assert!(
            matches!(&error, BuildError::NotARegularFile { path, .. } if path.ends_with("rootfs.tar")),
            "{error}"
        );
        assert_eq!(std::fs::read_to_string(&canary).unwrap(), "secret");
    }

    #[test]
    fn outputs_without_pkgdb_have_no_layer_and_a_bad_one_fails_the_step() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("rootfs.tar"), "").unwrap();
        assert!(fresh_layer(dir.path(), image()).unwrap().is_none());
        std::fs::write(dir.path().join("pkgdb.tar"), "not a tar at all").unwrap();
        let error = fresh_layer(dir.path(), image()).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("ns/app: cannot make the SBOM: "),
            "{error}"
        );
    }

    #[test]
    fn keep_writes_what_there_is_and_removes_stale_documents() {
        let dir = tempfile::tempdir().unwrap();
        for name in [LAYER_FILE, SPDX_FILE, CYCLONEDX_FILE] {
            std::fs::write(dir.path().join(name), "from an earlier build").unwrap();
        }
        let kept = KeptSbom {
            layer: Some("{\"format\": 1}\n".to_owned()),
            documents: None,
        };
        kept.keep(dir.path()).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join(LAYER_FILE)).unwrap(),
            "{\"format\": 1}\n"
        );
        assert!(!dir.path().join(SPDX_FILE).exists());
        assert!(!dir.path().join(CYCLONEDX_FILE).exists());
        assert_eq!(kept.packages_md(0, &[]), None);
    }

    #[test]
    fn kept_sbom_reads_complete_outputs_only() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::new(dir.path(), &dir.path().join("cache"));
        let out = paths.output("ns/app");
        std::fs::create_dir_all(&out).unwrap();
        let error = kept_sbom(&paths, "ns/app", Format::Spdx).unwrap_err();
        assert!(matches!(error, BuildError::NoSbom { .. }), "{error}");
        std::fs::write(out.join(SPDX_FILE), "{}\n").unwrap();
        // No key: a build stopped while replacing the outputs.
        let error = kept_sbom(&paths, "ns/app", Format::Spdx).unwrap_err();
        assert!(matches!(error, BuildError::NoSbom { .. }), "{error}");
        std::fs::write(out.join("key"), "k").unwrap();
        assert_eq!(kept_sbom(&paths, "ns/app", Format::Spdx).unwrap(), b"{}\n");
        let error = kept_sbom(&paths, "ns/app", Format::CycloneDx).unwrap_err();
        assert!(
            error.to_string().contains("sbom.cdx.json` is missing"),
            "{error}"
        );
    }

    #[test]
    fn created_is_source_date_epoch_else_the_newest_build() {
        let sbom = ImageSbom {
            own: Layer {
                format: gbb_sbom::LAYER_FORMAT,
                image: image(),
                packages: Vec::new(),
                hand_installed: Vec::new(),
                files_digested: true,
            },
            ancestors: Vec::new(),
        };
        assert_eq!(created(&sbom, 1_795_737_600).as_second(), 1_795_737_600);
        // Unset (0) and no package with a build time: the epoch, never the clock.
        assert_eq!(created(&sbom, 0), jiff::Timestamp::UNIX_EPOCH);
    }
}
