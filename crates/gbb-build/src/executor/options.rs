//! What the caller asks of a build: how much to force, how many steps at once, where files go.

use crate::Paths;

/// How much to rebuild even when content keys match (`-f`, `-F`, `-c`, `-C`). Images are
/// forced only when asked for by id (or by namespace, or by naming nothing); builders and
/// cores in the plan are forced whenever their level is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Force {
    /// Only what changed.
    #[default]
    Nothing,
    /// `-f`: images again (phase 2; phase 1 too when its output is gone).
    Images,
    /// `-F`: images again, phase 1 included.
    ImagesPhase1,
    /// `-c`: builders and images.
    Builders,
    /// `-C`: everything, down to the stage3 import.
    Everything,
}

impl Force {
    /// The option that asks for it, for "forced (-F)".
    pub fn flag(self) -> &'static str {
        match self {
            Self::Nothing => "",
            Self::Images => "-f",
            Self::ImagesPhase1 => "-F",
            Self::Builders => "-c",
            Self::Everything => "-C",
        }
    }
}

/// How to build.
#[derive(Clone, Debug)]
pub struct BuildOptions {
    pub force: Force,
    /// How many steps may run at once (`-j`).
    pub jobs: usize,
    /// Start nothing new after a failure (`--fail-fast`); without it, steps that do not need
    /// the failed one go on.
    pub fail_fast: bool,
    pub paths: Paths,
    /// File times in every `rootfs.tar` are clamped to this (reproducible images).
    pub source_date_epoch: u64,
    /// How stage3 releases are fetched and checked.
    pub gentoo: GentooInputs,
}

/// How Gentoo's own inputs are checked.
#[derive(Clone, Debug, Default)]
pub struct GentooInputs {
    /// The keys release files must be signed with (`GENTOO_KEYRING`); `None` when gbb knows
    /// none.
    pub keyring: Option<gbb_gentoo::Keyring>,
    /// `-s`: skip the OpenPGP checks (never the hashes).
    pub skip_signatures: bool,
}
