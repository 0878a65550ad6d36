use std::path::PathBuf;

use gbb_config::{Config, Origin};

use crate::{BuildScript, BuildSettings, ContainerEngine, ImageId};

/// Whether a definition is a final image or a build container.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Image,
    Builder,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Image => "image",
            Self::Builder => "builder",
        }
    }
}

/// An id named by a config variable, with where it was set, so that a reference to something
/// that does not exist can be reported at its file and line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    pub id: ImageId,
    /// The variable that holds it, under the name the user wrote (`BUILDER`,
    /// `DEF_BUILD_CONTAINER`, ...).
    pub variable: &'static str,
    pub origin: Origin,
}

/// Where a stage3 comes from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Stage3 {
    /// `STAGE3_FILE`: a local tarball, used instead of a download.
    File { path: PathBuf },
    /// `STAGE3_BASE` (+ `STAGE3_DATE`, `ARCH`): a release on Gentoo's mirrors. `date` is
    /// `None` for "the newest one".
    Release {
        base: String,
        date: Option<String>,
        arch: String,
        /// `MIRROR`: base URLs, tried in order.
        mirrors: Vec<String>,
    },
}

impl Stage3 {
    /// A short label for plans: the file name or `base-date`.
    pub fn label(&self) -> String {
        match self {
            Self::File { path } => path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| path.display().to_string()),
            Self::Release { base, date, .. } => {
                format!("{base}-{}", date.as_deref().unwrap_or("latest"))
            }
        }
    }
}

/// Where the portage tree comes from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PortageTree {
    /// `PORTAGE_DIR`: a local folder, mounted read-only.
    Dir { path: PathBuf },
    /// `PORTAGE_URL`/`PORTAGE_DATE`: a snapshot from the mirrors (`latest` or a date).
    Snapshot { url: Option<String>, date: String },
}

/// What a core (the first builder of a chain) is made of.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CoreInput {
    pub stage3: Stage3,
    pub portage: PortageTree,
}

/// What a builder is built on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BuilderBase {
    /// A stage3 (through a core): `STAGE3_BASE` or `STAGE3_FILE`.
    Core { input: CoreInput, origin: Origin },
    /// Another builder: `BUILDER`.
    Builder(Reference),
    /// Neither is set; planning anything that needs this builder is refused.
    Missing,
    /// The definition is an image: images are built in a builder, not on a base of their own.
    NotABuilder,
}

/// One image or builder of the stack, with its resolved config and what it refers to.
#[derive(Clone, Debug)]
pub struct Definition {
    pub id: ImageId,
    pub kind: Kind,
    /// The image's folder.
    pub dir: PathBuf,
    /// Its config after every layer: defaults, global, user, namespace, `build.conf`.
    pub config: Config,
    /// What its config asks of its build (mounts, engine options, health check, `AUTHOR`,
    /// `BOB_*`), parsed and checked when the stack was read.
    pub settings: BuildSettings,
    /// `IMAGE_TAG`.
    pub tag: String,
    /// Images: `IMAGE_PARENT`, `None` for `scratch`.
    pub parent: Option<Reference>,
    /// Images: `BUILDER` when set.
    pub builder: Option<Reference>,
    /// Images: `DEFAULT_BUILDER` (old name `DEF_BUILD_CONTAINER`) when set, used when neither
    /// `BUILDER` nor a parent decides.
    pub default_builder: Option<Reference>,
    /// Builders: what they are built on. Images: [`BuilderBase::NotABuilder`].
    pub base: BuilderBase,
    /// What `build.sh` declares.
    pub script: BuildScript,
    /// The engine that builds it (`CONTAINER_ENGINE` of its config).
    pub engine: ContainerEngine,
}

impl Definition {
    pub fn is_image(&self) -> bool {
        self.kind == Kind::Image
    }
}
