use std::path::{Path, PathBuf};

use gbb_engine::EngineError;

/// How a full disk shows in a container's log (the C library's `strerror(ENOSPC)`).
const NO_SPACE_IN_LOG: &str = "No space left on device";

/// Why a build stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A hook, the emerge or another step of phase 1 (or a builder's hook) failed: which step,
    /// its status, and the end of its log.
    #[error(
        "{id}: {step} failed with status {status}{}\n  log: {}\n{}",
        if tail.iter().any(|l| l.contains(NO_SPACE_IN_LOG)) {
            ": no space left on device (inside the build container: its image storage, or a folder mounted into it)"
        } else {
            ""
        },
        log.display(),
        tail.iter().map(|l| format!("  | {l}")).collect::<Vec<_>>().join("\n")
    )]
    StepFailed {
        id: String,
        step: String,
        status: i64,
        log: PathBuf,
        tail: Vec<String>,
    },

    #[error("{id}: building the image failed: {message}\n  log: {}", log.display())]
    ImageBuildFailed {
        id: String,
        message: String,
        log: PathBuf,
    },

    /// Files of the image whose loader or libraries would not be found, in the image or its
    /// ancestors (`gbb-elf`): one line per file, found after phase 1, before anything is
    /// tagged.
    #[error(
        "{id}: {} of the image cannot be loaded, so the image was not tagged:\n{}\n  hint: a file whose libraries are mounted at run time can be named in `_allow_missing_libs` (build.sh) or `ALLOW_MISSING_LIBS` (build.conf)",
        if findings.len() == 1 { "a file" } else { "files" },
        findings.iter().map(|f| format!("  {f}")).collect::<Vec<_>>().join("\n")
    )]
    LoaderCheckFailed {
        id: String,
        findings: Vec<gbb_elf::Finding>,
    },

    /// An ancestor's files are not known: neither its file index nor its `rootfs.tar` is kept.
    #[error(
        "{id}: cannot check that its programs can be loaded: its ancestor `{ancestor}` has neither a file index nor a `rootfs.tar` in `{}`; build it again with `gbb build -F {ancestor}`",
        dir.display()
    )]
    NoFileIndex {
        id: String,
        ancestor: String,
        dir: PathBuf,
    },

    /// A file index could not be made or read (`rootfs.tar` is not a tar, `files.json` is of
    /// another version).
    #[error("{id}: {source}")]
    FileIndex {
        id: String,
        #[source]
        source: gbb_elf::IndexError,
    },

    #[error("{id}: the health check failed: {reason}")]
    HealthCheckFailed { id: String, reason: String },

    #[error("`{}` is missing; every image needs a Dockerfile.template", path.display())]
    MissingTemplate { path: PathBuf },

    #[error(
        "`{}` does not add the root file system; it needs a line `ADD rootfs.tar /`",
        path.display()
    )]
    NoRootfsAdd { path: PathBuf },

    #[error(
        "`{}` is a symbolic link to `{}` that {problem}",
        path.display(),
        target.display()
    )]
    BadLink {
        path: PathBuf,
        target: PathBuf,
        problem: String,
    },

    #[error(
        "{}STAGE3_FILE: `{}` does not exist or is not a file",
        origin.as_ref().map(|o| format!("{o}: ")).unwrap_or_default(),
        path.display()
    )]
    NoStage3File {
        path: PathBuf,
        /// Where `STAGE3_FILE` was set to it.
        origin: Option<gbb_config::Origin>,
    },

    #[error(
        "{}PORTAGE_DIR: `{}` {problem}",
        origin.as_ref().map(|o| format!("{o}: ")).unwrap_or_default(),
        path.display()
    )]
    NoPortageDir {
        path: PathBuf,
        /// Where `PORTAGE_DIR` was set to it.
        origin: Option<gbb_config::Origin>,
        problem: &'static str,
    },

    #[error(
        "`{id}` is needed but not built, and -n keeps gbb from building it: build it first, or drop -n"
    )]
    NotBuilt { id: String },

    #[error(
        "another gbb build{} holds the stack's lock `{}`; run again when it is done, or without --no-wait to wait",
        holder.map(|p| format!(" (pid {p})")).unwrap_or_default(),
        path.display()
    )]
    Locked { path: PathBuf, holder: Option<u32> },

    #[error(
        "gbb has no Gentoo release key to check stage3 and portage downloads with: set GENTOO_KEYRING to a file with Gentoo's release keys (https://www.gentoo.org/downloads/signatures/; the automated release key's fingerprint is 13EB BDBE DE7A 1277 5DFD B1BA BB57 2E0E 2D18 2910), or pass -s to skip the OpenPGP checks (hashes are checked all the same)"
    )]
    NoKeyring,

    #[error("{id}: {source}")]
    Stage3 {
        id: String,
        #[source]
        source: gbb_gentoo::Stage3Error,
    },

    #[error("{id}: {source}")]
    Snapshot {
        id: String,
        #[source]
        source: gbb_gentoo::SnapshotError,
    },

    /// A setting that reaches the engine (`BUILDER_MOUNTS`, `BUILDER_DOCKER_ARGS`, ...)
    /// cannot be used: the setting with its file and line, and why.
    #[error("{setting}: {problem}")]
    BadSetting { setting: String, problem: String },

    /// A template value that could change the Dockerfile's instructions where the template
    /// puts it.
    #[error(
        "{name} ({origin}) cannot go into `{}` line {line}: {problem}",
        template.display()
    )]
    UnsafeTemplateValue {
        name: String,
        origin: String,
        template: PathBuf,
        line: usize,
        problem: String,
    },

    /// A template line gbb cannot carry out when it writes the image (phase 2).
    #[error("`{}` line {line}: {problem}", template.display())]
    TemplateInstruction {
        template: PathBuf,
        line: usize,
        problem: String,
    },

    /// Writing an image into the store, or reading a parent from it, failed.
    #[error("{id}: writing the image: {source}")]
    Image {
        id: String,
        #[source]
        source: gbb_image::Error,
    },

    /// The parent image is not in gbb's image store: a gbb that ran `docker build` for
    /// phase 2 built it.
    #[error(
        "{id}: its parent `{parent}` is not in gbb's image store (`{}` is missing: an older gbb built it); rebuild it first: `gbb build -f {parent}`",
        path.display()
    )]
    ParentNotStored {
        id: String,
        parent: String,
        path: PathBuf,
    },

    #[error("interrupted")]
    Interrupted,

    #[error("{context}: {source}")]
    Engine {
        context: String,
        #[source]
        source: EngineError,
    },

    /// The step failed, and removing its container failed too: both are reported.
    #[error("{error}\n  and removing container `{container}` failed too: {cleanup}")]
    CleanupFailed {
        error: Box<BuildError>,
        container: String,
        cleanup: EngineError,
    },

    /// The step failed, and removing one of its candidates failed too: both are reported,
    /// so a candidate left behind is never a surprise.
    #[error(
        "{error}\n  and removing the candidate `{candidate}` failed too (`gbb clean` removes it): {cleanup}"
    )]
    CandidateLeft {
        error: Box<BuildError>,
        candidate: String,
        cleanup: EngineError,
    },

    /// A file gbb writes could not be written because the disk (or the quota) is full; the
    /// partial file is removed.
    #[error("no space left on device: cannot write `{}`", path.display())]
    NoSpace { path: PathBuf },

    /// A file gbb reads or takes from a build container's output is a link, a folder or a
    /// device: gbb never follows what a container may have planted.
    #[error(
        "refusing `{}`: it is {found}, not a regular file (a build container may have planted it)",
        path.display()
    )]
    NotARegularFile { path: PathBuf, found: &'static str },

    #[error("refusing `{}`: it holds {size} bytes, more than the {limit} gbb reads", path.display())]
    TooLarge {
        path: PathBuf,
        size: u64,
        limit: u64,
    },

    /// The SBOM of an image could not be made: `pkgdb.tar` (from the build container) or
    /// `rootfs.tar` was refused or unreadable, or a kept layer was damaged.
    #[error("{id}: cannot make the SBOM: {source}")]
    Sbom {
        id: String,
        #[source]
        source: gbb_sbom::SbomError,
    },

    /// `gbb sbom` for an image that has no kept SBOM.
    #[error(
        "`{id}` has no SBOM: `{}` is missing; build it with `gbb build {id}` (`-F` for an image built by a gbb without SBOMs, and for its parents)",
        path.display()
    )]
    NoSbom { id: String, path: PathBuf },

    #[error("cannot access `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl BuildError {
    /// A container's failure named as the step it ran (`build-test.sh`, `RUN ...`): a
    /// [`BuildError::StepFailed`] gets `step` as its step; any other error is left as it is.
    pub(crate) fn named_step(self, step: impl Into<String>) -> Self {
        match self {
            Self::StepFailed {
                id,
                status,
                log,
                tail,
                ..
            } => Self::StepFailed {
                id,
                step: step.into(),
                status,
                log,
                tail,
            },
            other => other,
        }
    }

    /// The failure itself, without what failed in cleaning up after it
    /// ([`BuildError::CleanupFailed`], [`BuildError::CandidateLeft`]): what the exit code
    /// follows.
    pub fn cause(&self) -> &BuildError {
        match self {
            Self::CleanupFailed { error, .. } | Self::CandidateLeft { error, .. } => error.cause(),
            other => other,
        }
    }

    /// Whether the environment, not the input, failed the build: a file that could not be
    /// read or written, a full disk (on the host, or inside a build container, as its log
    /// says). The command line exits 3 for these.
    pub fn is_environment(&self) -> bool {
        match self.cause() {
            Self::Io { .. } | Self::NoSpace { .. } => true,
            Self::Sbom { source, .. } => matches!(source, gbb_sbom::SbomError::Io { .. }),
            Self::StepFailed { tail, .. } => tail.iter().any(|l| l.contains(NO_SPACE_IN_LOG)),
            _ => false,
        }
    }

    pub(crate) fn engine(context: impl Into<String>) -> impl FnOnce(EngineError) -> Self {
        let context = context.into();
        move |source| Self::Engine { context, source }
    }
}

/// For `map_err`: an I/O error on `path` as a [`BuildError::Io`] that names it.
pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BuildError + '_ {
    move |source| BuildError::Io {
        path: path.to_owned(),
        source,
    }
}

/// For `map_err`: an error of writing (or reading) an image for `id`: [`BuildError::NoSpace`]
/// when the disk is full (the message says so and names the file), [`BuildError::Image`]
/// otherwise.
pub(crate) fn image_error(id: &str) -> impl Fn(gbb_image::Error) -> BuildError + '_ {
    move |error| match &error {
        gbb_image::Error::Io { path, source, .. } if crate::outputs::is_no_space(source) => {
            BuildError::NoSpace { path: path.clone() }
        }
        _ => BuildError::Image {
            id: id.to_owned(),
            source: error,
        },
    }
}
