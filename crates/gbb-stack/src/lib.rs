//! The stack model: what a gentoo-bb or kubler stack on disk means, as typed values.
//!
//! [`Stack::load`] reads a stack once: it detects the layout ([`Layout`]), lists namespaces,
//! images and builders, evaluates every config file in order (gbb's defaults, the global file,
//! the user file, the namespace file, the image's `build.conf`) and records what each image or
//! builder says about its parent, its builder and its stage3. Nothing here decides build order or
//! checks that references point anywhere; that is the plan's job (`gbb-plan`), which can then
//! report the chain of ids that leads to a bad reference.
//!
//! The stack is read-only once loaded: later steps never go back to the files, so a build sees
//! one consistent stack even if the files change under it.

mod build_script;
mod definition;
mod engine;
mod error;
mod id;
mod layout;
pub mod scaffold;
mod settings;
mod stack;
mod tag;

pub use build_script::{BuildScript, Hook};
pub use definition::{BuilderBase, CoreInput, Definition, Kind, PortageTree, Reference, Stage3};
pub use engine::ContainerEngine;
pub use error::StackError;
pub use id::{ImageId, InvalidName, validate_name};
pub use layout::Layout;
pub use settings::{
    BobVar, BuildSettings, BuilderMount, DEFAULT_HEALTH_CHECK_DURATION, EngineArg, HealthCheck,
    Seccomp, SetBy, Setting,
};
pub use stack::{LoadOptions, Namespace, Stack, config_path};
pub use tag::RESERVED_TAG_PREFIX;
