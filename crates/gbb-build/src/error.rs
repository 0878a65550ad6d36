use std::path::PathBuf;

use gbb_engine::EngineError;

/// Why a build stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A hook, the emerge or another step of phase 1 (or a builder's hook) failed: which step,
    /// its status, and the end of its log.
    #[error(
        "{id}: {step} failed with status {status}\n  log: {}\n{}",
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

    #[error("{id}: the health check failed: {reason}")]
    HealthCheckFailed { id: String, reason: String },

    #[error("`{}` is missing; every image needs a Dockerfile.template", path.display())]
    MissingTemplate { path: PathBuf },

    #[error(
        "`{}` does not add the root file system; it needs a line `ADD rootfs.tar /`",
        path.display()
    )]
    NoRootfsAdd { path: PathBuf },

    #[error("stage3 file `{}` does not exist (STAGE3_FILE)", path.display())]
    NoStage3File { path: PathBuf },

    #[error("portage tree `{}` is not a folder (PORTAGE_DIR)", path.display())]
    NoPortageDir { path: PathBuf },

    #[error("{what} is not supported yet; {hint}")]
    Unsupported { what: String, hint: &'static str },

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

    #[error("cannot access `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl BuildError {
    pub(crate) fn engine(context: impl Into<String>) -> impl FnOnce(EngineError) -> Self {
        let context = context.into();
        move |source| Self::Engine { context, source }
    }
}
