use std::path::PathBuf;

use gbb_config::{ConfigError, Origin};

use crate::{ImageId, InvalidName, SetBy};

/// Why a stack could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StackError {
    #[error(
        "no stack found in `{}` or any folder above it (a stack has `kubler.conf`, or `build.conf` and `dock/`)",
        dir.display()
    )]
    NotFound { dir: PathBuf },

    #[error("cannot read `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(transparent)]
    Config(#[from] ConfigError),

    #[error("`{}`: {what} name {source}", path.display())]
    InvalidName {
        path: PathBuf,
        what: &'static str,
        #[source]
        source: InvalidName,
    },

    #[error("`{}` has no build.conf; every {what} folder needs one (it may be empty)", dir.display())]
    MissingBuildConf { dir: PathBuf, what: &'static str },

    #[error("{origin}: {variable}=`{value}` is not an image id: {reason}")]
    InvalidReference {
        origin: Origin,
        variable: &'static str,
        value: String,
        reason: &'static str,
    },

    #[error("`{id}` is defined twice: `{}` and `{}`", first.display(), second.display())]
    DuplicateId {
        id: ImageId,
        first: PathBuf,
        second: PathBuf,
    },

    #[error(
        "{}IMAGE_TAG=`{value}`{} is not a valid image tag: {reason}",
        origin.as_ref().map(|o| format!("{o}: ")).unwrap_or_default(),
        if origin.is_none() { " (from the environment)" } else { "" }
    )]
    InvalidTag {
        /// The line that set it; `None` when it came from the environment alone.
        origin: Option<Origin>,
        value: String,
        reason: String,
    },

    /// A setting whose value cannot mean what it should (`POST_BUILD_HC_MAX_DURATION=abc`, a
    /// `docker run` option gbb cannot pass on, a mount without a target): the variable with
    /// its file and line, and why (see `settings.rs`).
    #[error("{setting}: {problem}")]
    BadSetting { setting: SetBy, problem: String },
}
