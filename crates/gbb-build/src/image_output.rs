//! The images gbb wrote into its content store, found by id, and written out beside the
//! engine: `gbb build --output oci:DIR` and `--output docker-archive:FILE`.
//!
//! An image's build leaves its blobs in [`Paths::image_store`] and its manifest digest in
//! [`Paths::image_manifest`]; [`stored_image`] (in `image_store.rs`) reads them back into a
//! `StoredImage`. An image holds its parents' layers already, so writing the images asked for
//! writes everything they need to run. Each is named by its final tags ([`names::final_tags`]): `ns/app:latest` and
//! `ns/app:<IMAGE_TAG>`, full references, so one layout or archive can hold several images.
//!
//! Nothing is left half-written: a docker archive is written under a temporary name and
//! renamed when whole; a new OCI layout is written into a temporary folder beside its place
//! and renamed when whole. Into an existing layout, blobs go first and `index.json` last (each
//! atomically), so the layout never names a blob it lacks.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use gbb_image::{
    BlobStore, DockerArchiveImage, OciLayoutImage, SourceDateEpoch, write_docker_archive,
    write_oci_layout,
};
use gbb_stack::Definition;

use crate::image_store::{NotStored, stored_image};
use crate::{Paths, names};

/// Where `--output` writes the images.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputTarget {
    /// `oci:DIR`: an OCI image layout folder (what skopeo, umoci, podman and buildah read).
    OciLayout(PathBuf),
    /// `docker-archive:FILE`: a tar for `docker load`.
    DockerArchive(PathBuf),
}

/// Why an image cannot be read from gbb's store, or an output cannot be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImageOutputError {
    /// An `--output` value that is not `oci:DIR` or `docker-archive:FILE`.
    #[error(
        "`{0}` is not an output: write `oci:DIR` (an OCI image layout) or \
         `docker-archive:FILE` (for `docker load`)"
    )]
    BadTarget(String),
    /// The folder an output would be written in does not exist.
    #[error("cannot write `{target}`: the folder `{}` does not exist", .folder.display())]
    NoFolder {
        /// The output as given.
        target: String,
        /// Its parent folder.
        folder: PathBuf,
    },
    /// `oci:DIR` names a folder that holds other files (gbb writes only into an empty folder
    /// or an OCI layout).
    #[error("cannot write `{target}`: `{}` holds files and is not an OCI image layout", .dir.display())]
    NotALayout {
        /// The output as given.
        target: String,
        /// The folder.
        dir: PathBuf,
    },
    /// `docker-archive:FILE` names a folder.
    #[error("cannot write `{target}`: `{}` is a folder", .path.display())]
    IsAFolder {
        /// The output as given.
        target: String,
        /// The path.
        path: PathBuf,
    },
    /// An image asked for is not in gbb's store.
    #[error("`{id}` cannot be written out: {reason}")]
    NotStored {
        /// The image's id.
        id: String,
        /// Why.
        reason: NotStored,
    },
    /// Writing an output failed.
    #[error("cannot write `{target}`")]
    Write {
        /// The output as given.
        target: String,
        /// gbb-image's error (names the file or blob); boxed, as it is large.
        #[source]
        source: Box<gbb_image::Error>,
    },
    /// Moving a finished layout into its place failed.
    #[error("cannot move the finished layout into `{}`", .dir.display())]
    Rename {
        /// The layout's folder.
        dir: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
}

impl FromStr for OutputTarget {
    type Err = ImageOutputError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let bad = || ImageOutputError::BadTarget(value.to_owned());
        let (kind, path) = value.split_once(':').ok_or_else(bad)?;
        if path.is_empty() {
            return Err(bad());
        }
        match kind {
            "oci" => Ok(Self::OciLayout(PathBuf::from(path))),
            "docker-archive" => Ok(Self::DockerArchive(PathBuf::from(path))),
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for OutputTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OciLayout(dir) => write!(f, "oci:{}", dir.display()),
            Self::DockerArchive(file) => write!(f, "docker-archive:{}", file.display()),
        }
    }
}

/// The folder a path is in (`.` for a bare name).
fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

impl OutputTarget {
    /// Checks what can be checked before a build: the folder exists, an `oci:` folder is
    /// empty or a layout, a `docker-archive:` path is not a folder. So a typo fails in a
    /// second, not after an hour of building.
    pub fn check(&self) -> Result<(), ImageOutputError> {
        let target = self.to_string();
        let path = match self {
            Self::OciLayout(dir) | Self::DockerArchive(dir) => dir,
        };
        let folder = folder_of(path);
        if !folder.is_dir() {
            return Err(ImageOutputError::NoFolder {
                target,
                folder: folder.to_path_buf(),
            });
        }
        match self {
            Self::OciLayout(dir) => {
                let foreign = std::fs::read_dir(dir)
                    .map(|mut entries| entries.next().is_some())
                    .unwrap_or(dir.exists())
                    && !dir.join("oci-layout").is_file();
                if foreign {
                    return Err(ImageOutputError::NotALayout {
                        target,
                        dir: dir.clone(),
                    });
                }
            }
            Self::DockerArchive(file) => {
                if file.is_dir() {
                    return Err(ImageOutputError::IsAFolder {
                        target,
                        path: file.clone(),
                    });
                }
            }
        }
        Ok(())
    }
}

/// What [`write_outputs`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenOutput {
    /// The output.
    pub target: OutputTarget,
    /// The names of the images in it (`ns/app:tag`).
    pub names: Vec<String>,
}

/// Writes the images of `definitions` (from gbb's store, with their final tags) to each of
/// `targets`. Every image is read first, so a missing one fails before anything is written.
pub fn write_outputs(
    paths: &Paths,
    definitions: &[&Definition],
    targets: &[OutputTarget],
) -> Result<Vec<WrittenOutput>, ImageOutputError> {
    let mut images = Vec::new();
    for definition in definitions {
        let (_, image) = stored_image(paths, definition.id.as_str()).map_err(|reason| {
            ImageOutputError::NotStored {
                id: definition.id.to_string(),
                reason,
            }
        })?;
        let tags: Vec<String> = names::final_tags(definition)
            .iter()
            .map(ToString::to_string)
            .collect();
        images.push((image, tags));
    }
    let store = BlobStore::open(paths.image_store()).map_err(|source| ImageOutputError::Write {
        target: paths.image_store().display().to_string(),
        source: Box::new(source),
    })?;
    let names: Vec<String> = images.iter().flat_map(|(_, tags)| tags.clone()).collect();
    let mut written = Vec::new();
    for target in targets {
        let failed = |source| ImageOutputError::Write {
            target: target.to_string(),
            source: Box::new(source),
        };
        match target {
            OutputTarget::OciLayout(dir) => {
                let entries: Vec<OciLayoutImage<'_>> = images
                    .iter()
                    .flat_map(|(image, tags)| {
                        tags.iter().map(move |tag| OciLayoutImage {
                            ref_name: tag,
                            image,
                        })
                    })
                    .collect();
                write_layout_atomically(&store, dir, &entries, target)?;
            }
            OutputTarget::DockerArchive(file) => {
                let entries: Vec<DockerArchiveImage<'_>> = images
                    .iter()
                    .map(|(image, tags)| DockerArchiveImage {
                        image,
                        repo_tags: tags,
                    })
                    .collect();
                write_docker_archive(&store, file, &entries, SourceDateEpoch::DEFAULT)
                    .map_err(failed)?;
            }
        }
        written.push(WrittenOutput {
            target: target.clone(),
            names: names.clone(),
        });
    }
    Ok(written)
}

/// A new layout goes into a temporary folder beside `dir`, renamed to `dir` when whole; an
/// existing one (or an empty folder) is written in place, index last (see the module docs).
fn write_layout_atomically(
    store: &BlobStore,
    dir: &Path,
    entries: &[OciLayoutImage<'_>],
    target: &OutputTarget,
) -> Result<(), ImageOutputError> {
    let failed = |source| ImageOutputError::Write {
        target: target.to_string(),
        source: Box::new(source),
    };
    if dir.exists() {
        return write_oci_layout(store, dir, entries).map_err(failed);
    }
    let folder = folder_of(dir);
    let temp = tempfile::Builder::new()
        .prefix(".gbb-tmp")
        .tempdir_in(folder)
        .map_err(|source| ImageOutputError::Rename {
            dir: dir.to_path_buf(),
            source,
        })?;
    write_oci_layout(store, temp.path(), entries).map_err(failed)?;
    // `tempdir` makes the folder 0700; a layout is for other users' tools too.
    use std::os::unix::fs::PermissionsExt;
    let renamed = std::fs::set_permissions(temp.path(), std::fs::Permissions::from_mode(0o755))
        .and_then(|()| std::fs::rename(temp.path(), dir));
    match renamed {
        Ok(()) => {
            // Renamed away: nothing left for the guard to remove.
            let _ = temp.keep();
            Ok(())
        }
        Err(source) => Err(ImageOutputError::Rename {
            dir: dir.to_path_buf(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use gbb_stack::Stack;

    use super::*;

    /// A stack with `ns/base` and `ns/app` (tag `1.0`) on it, and its paths.
    fn stack(dir: &Path) -> (Stack, Paths) {
        crate::test_stack::stack(
            dir,
            &[
                ("build.conf", "IMAGE_TAG=1.0\n"),
                ("dock/ns/build.conf", ""),
                ("dock/ns/images/base/build.conf", ""),
                ("dock/ns/images/app/build.conf", "IMAGE_PARENT=ns/base\n"),
            ],
        )
    }

    fn store_image(
        paths: &Paths,
        id: &str,
        parent: Option<&gbb_image::StoredImage>,
    ) -> gbb_image::StoredImage {
        let store = BlobStore::open(paths.image_store()).unwrap();
        crate::test_stack::store_image(&store, paths, id, id, parent)
    }

    fn definitions<'a>(stack: &'a Stack, ids: &[&str]) -> Vec<&'a Definition> {
        ids.iter()
            .map(|id| {
                stack
                    .definitions()
                    .iter()
                    .find(|d| d.id.as_str() == *id)
                    .unwrap()
            })
            .collect()
    }

    fn tool(program: &str, args: &[&str]) -> String {
        let output = Command::new(program)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("{program} runs (scripts/setup-test-machine): {e}"));
        assert!(
            output.status.success(),
            "{program} {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    #[test]
    fn the_images_asked_for_are_written_with_their_parents_layers_and_tags() {
        let dir = tempfile::tempdir().unwrap();
        let (stack, paths) = stack(dir.path());
        let base = store_image(&paths, "ns/base", None);
        let app = store_image(&paths, "ns/app", Some(&base));
        let out = dir.path().join("out");
        let layout = out.join("layout");
        let archive = out.join("images.tar");
        std::fs::create_dir(&out).unwrap();
        let targets = [
            OutputTarget::OciLayout(layout.clone()),
            OutputTarget::DockerArchive(archive.clone()),
        ];
        let written = write_outputs(&paths, &definitions(&stack, &["ns/app"]), &targets).unwrap();
        assert_eq!(written.len(), 2);
        assert_eq!(written[0].names, ["ns/app:latest", "ns/app:1.0"]);
        let names: Vec<_> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(
            names.len(),
            2,
            "no temporary file or folder is left: {names:?}"
        );

        // skopeo reads the layout: the manifest digest is the store's, both layers are in.
        let inspect = tool(
            "skopeo",
            &["inspect", &format!("oci:{}:ns/app:1.0", layout.display())],
        );
        let inspect: serde_json::Value = serde_json::from_str(&inspect).unwrap();
        assert_eq!(inspect["Digest"], app.digest().to_string());
        assert_eq!(inspect["Layers"].as_array().unwrap().len(), 2);
        // umoci unpacks it into a bundle holding both images' files.
        let bundle = dir.path().join("bundle");
        tool(
            "umoci",
            &[
                "unpack",
                "--rootless",
                "--image",
                &format!("{}:ns/app:latest", layout.display()),
                bundle.to_str().unwrap(),
            ],
        );
        for file in ["etc/ns-base", "etc/ns-app"] {
            assert!(bundle.join("rootfs").join(file).is_file(), "{file}");
        }

        // The archive lists the image with its tags.
        let mut tar = tar::Archive::new(std::fs::File::open(&archive).unwrap());
        let manifest = tar
            .entries()
            .unwrap()
            .map(|e| e.unwrap())
            .find(|e| e.path().unwrap().to_str() == Some("manifest.json"))
            .map(|mut e| {
                let mut text = String::new();
                std::io::Read::read_to_string(&mut e, &mut text).unwrap();
                text
            })
            .unwrap();
        assert!(
            manifest.contains(r#""RepoTags":["ns/app:latest","ns/app:1.0"]"#),
            "{manifest}"
        );

        // Into the existing layout: the parent is added beside the child.
        write_outputs(&paths, &definitions(&stack, &["ns/base"]), &targets[..1]).unwrap();
        let index = std::fs::read_to_string(layout.join("index.json")).unwrap();
        for name in [
            "ns/app:1.0",
            "ns/app:latest",
            "ns/base:1.0",
            "ns/base:latest",
        ] {
            assert!(index.contains(&format!("\"{name}\"")), "{name}: {index}");
        }
    }

    #[test]
    fn an_image_not_in_the_store_fails_before_anything_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let (stack, paths) = stack(dir.path());
        store_image(&paths, "ns/base", None);
        let layout = dir.path().join("layout");
        let archive = dir.path().join("images.tar");
        let error = write_outputs(
            &paths,
            &definitions(&stack, &["ns/base", "ns/app"]),
            &[
                OutputTarget::OciLayout(layout.clone()),
                OutputTarget::DockerArchive(archive.clone()),
            ],
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "`ns/app` cannot be written out: it has no image in gbb's store (no `{}`; build \
                 it with `gbb build`)",
                paths.image_manifest("ns/app").display()
            )
        );
        assert!(!layout.exists() && !archive.exists());

        // A manifest file naming an image the store lacks.
        std::fs::create_dir_all(paths.output("ns/app")).unwrap();
        std::fs::write(
            paths.image_manifest("ns/app"),
            format!("sha256:{}\n", "0".repeat(64)),
        )
        .unwrap();
        let error = stored_image(&paths, "ns/app").unwrap_err();
        assert!(matches!(error, NotStored::Unreadable { .. }), "{error:?}");
    }

    #[track_caller]
    fn parses(value: &str, expected: Option<OutputTarget>) {
        match (OutputTarget::from_str(value), expected) {
            (Ok(target), Some(expected)) => {
                assert_eq!(target, expected);
                assert_eq!(target.to_string(), value, "it prints as written");
            }
            (Err(error), None) => assert_eq!(
                error.to_string(),
                format!(
                    "`{value}` is not an output: write `oci:DIR` (an OCI image layout) or \
                     `docker-archive:FILE` (for `docker load`)"
                )
            ),
            (got, expected) => panic!("{value}: {got:?}, expected {expected:?}"),
        }
    }

    #[test]
    fn output_values() {
        parses("oci:out", Some(OutputTarget::OciLayout("out".into())));
        parses(
            "oci:/tmp/a:b",
            Some(OutputTarget::OciLayout("/tmp/a:b".into())),
        );
        parses(
            "docker-archive:img.tar",
            Some(OutputTarget::DockerArchive("img.tar".into())),
        );
        for bad in ["", "oci", "oci:", "tar:x", "docker:x", "out"] {
            parses(bad, None);
        }
    }

    #[test]
    fn outputs_are_checked_before_a_build() {
        let dir = tempfile::tempdir().unwrap();
        let check = |value: &str| OutputTarget::from_str(value).unwrap().check();
        let at = |name: &str| dir.path().join(name).display().to_string();
        assert!(check(&format!("oci:{}", at("new"))).is_ok());
        assert!(check(&format!("docker-archive:{}", at("img.tar"))).is_ok());

        let error = check(&format!("oci:{}", at("missing/new"))).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "cannot write `oci:{}`: the folder `{}` does not exist",
                at("missing/new"),
                at("missing")
            )
        );
        std::fs::create_dir(dir.path().join("mine")).unwrap();
        std::fs::write(dir.path().join("mine/notes"), "x").unwrap();
        let error = check(&format!("oci:{}", at("mine"))).unwrap_err();
        assert!(
            matches!(error, ImageOutputError::NotALayout { .. }),
            "{error}"
        );
        let error = check(&format!("docker-archive:{}", at("mine"))).unwrap_err();
        assert!(
            matches!(error, ImageOutputError::IsAFolder { .. }),
            "{error}"
        );
        std::fs::write(dir.path().join("mine/oci-layout"), "{}").unwrap();
        assert!(
            check(&format!("oci:{}", at("mine"))).is_ok(),
            "a layout is added to"
        );
    }
}
