//! Building a plan: cores, builders and images on an engine.
//!
//! [`Build::prepare`] checks a [`gbb_plan::BuildPlan`] and computes its keys, and [`Build::run`]
//! executes it step by step, parents first (see `executor/` for the stages):
//!
//! - a **core** imports the stage3 (`gbb-stage3/<label>`) and adds gbb's in-container scripts
//!   (`container/` in this repository) on top (`gbb-core/<label>:<key>`);
//! - a **builder** runs its `configure_builder` hook in a container of the builder or core it
//!   extends, and the container is kept as the builder image;
//! - an **image** runs phase 1 (`gbb-build image`: hooks, emerge into the empty root,
//!   `rootfs.tar`) in a container of its builder or of its parent's kept state, keeps that
//!   container as its own kept state (`ns/<builder>-<name>`), then phase 2 builds the image
//!   from its `Dockerfile.template` with `rootfs.tar` in the context, and writes `PACKAGES.md`.
//!
//! Every result carries a [`ContentKey`] label: the hash of everything it depends on. A step
//! whose images already carry the key it would get is skipped without starting a container.

mod binpkg_index;
mod binpkgs;
mod clean;
mod context;
mod dockerfile;
mod engines;
mod error;
mod executor;
pub mod image_output;
pub mod image_store;
mod key;
mod labels;
mod loader_check;
mod local_inputs;
mod lock;
mod mount_points;
mod mount_targets;
mod mounts;
pub mod names;
mod on_engines;
mod outputs;
mod owner;
mod packages_md;
mod paths;
mod registry;
mod template;
#[cfg(test)]
mod test_stack;
mod why;

pub use clean::{
    Dangling, ImagesToClean, dangling_images, files_to_clean, images_to_clean, remove_files,
    stack_images,
};
pub use engines::{
    EngineSplit, ListedStep, Refusal, RefusedStep, by_engine, split_by_engine, split_by_engine_as,
};
pub use error::BuildError;
pub use executor::{
    Build, BuildOptions, BuildSummary, Force, GentooInputs, LogEvent, Outcome, Reporter,
    StepReport, StepStatus, Verified, VerifyOutcome, kept_sbom, shell_spec,
};
/// The SBOM formats, as `gbb sbom --format` names them.
pub use gbb_sbom::Format as SbomFormat;
pub use key::{ContentKey, KEY_INPUTS_LABEL, KEY_LABEL, KeyInputs};
pub use labels::{ID_LABEL, STACK_LABEL, stack_identity};
pub use loader_check::{FILE_INDEX, check_built, waivers};
pub use lock::StackLock;
pub use on_engines::{EnginePart, build_on_engines};
pub use outputs::write_file;
pub use owner::{CONTAINER_LABEL, Liveness, Orphans, Owner, remove_orphans};
pub use paths::Paths;
pub use registry::{ContainerRegistry, Interruption, SweepError, remove_own_containers};
pub use template::{FIXED_TEMPLATE_VARIABLES, check_template, render_template};
pub use why::{Change, FileChange, Why};

/// The in-container scripts, built into gbb so that the binary is all a user needs; they go
/// into every core image. `sed-or-die` is kubler's command of that name, which `build.sh`
/// files call (it is put on `PATH`).
pub const CONTAINER_SCRIPTS: [(&str, &str); 5] = [
    ("gbb-build", include_str!("../../../container/gbb-build")),
    ("helpers.sh", include_str!("../../../container/helpers.sh")),
    ("shellrc", include_str!("../../../container/shellrc")),
    ("sed-or-die", include_str!("../../../container/sed-or-die")),
    (
        "binpkg-index.py",
        include_str!("../../../container/binpkg-index.py"),
    ),
];
