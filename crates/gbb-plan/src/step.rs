use std::fmt;

use gbb_stack::{CoreInput, ImageId};

/// The id of a step: an image or builder id, or a core, which has no folder of its own and is
/// named after its stage3 (`core:stage3-amd64-openrc-20260101`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StepId {
    Core(String),
    Definition(ImageId),
}

impl fmt::Display for StepId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Core(label) => write!(f, "core:{label}"),
            Self::Definition(id) => write!(f, "{id}"),
        }
    }
}

/// What a step makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StepKind {
    /// Imports a stage3 and adds the portage tree and gbb's scripts: the first builder.
    Core,
    /// A build container.
    Builder,
    /// A final image.
    Image,
}

impl StepKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Core => "core",
            Self::Builder => "builder",
            Self::Image => "image",
        }
    }
}

/// What a step's result is built on top of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parent {
    /// `FROM scratch`.
    Scratch,
    /// Another step (an image's parent image, a builder's builder, a builder's core).
    Step(StepId),
}

impl fmt::Display for Parent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Scratch => f.write_str("scratch"),
            Self::Step(id) => write!(f, "{id}"),
        }
    }
}

/// Which container a step's work runs in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BuildsIn {
    /// A core (builders made straight from a stage3).
    Core(StepId),
    /// A builder image.
    Builder(ImageId),
    /// The kept builder state of the parent image (`ns/bob-<parent>`): the builder the parent
    /// was built in, after the parent's phase 1, so it knows what the parent installed.
    ParentState { parent: ImageId, state: String },
}

impl BuildsIn {
    /// The name of the image the build container is made from.
    pub fn image_name(&self) -> String {
        match self {
            Self::Core(id) => id.to_string(),
            Self::Builder(id) => id.to_string(),
            Self::ParentState { state, .. } => state.clone(),
        }
    }

    pub fn kind_str(&self) -> &'static str {
        match self {
            Self::Core(_) => "core",
            Self::Builder(_) => "builder",
            Self::ParentState { .. } => "state",
        }
    }
}

/// Why a step is in the plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The user named it (or its namespace, or nothing, which means everything).
    Requested,
    /// An image in the plan is built on it.
    ParentOf(StepId),
    /// A step in the plan runs in it (or a builder extends it).
    BuilderOf(StepId),
    /// A builder in the plan is made from this core.
    CoreOf(StepId),
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Requested => f.write_str("requested"),
            Self::ParentOf(id) => write!(f, "parent of {id}"),
            Self::BuilderOf(id) => write!(f, "builder of {id}"),
            Self::CoreOf(id) => write!(f, "core of {id}"),
        }
    }
}

/// One step of a plan.
#[derive(Clone, Debug)]
pub struct Step {
    pub kind: StepKind,
    pub id: StepId,
    /// Index into [`gbb_stack::Stack::definitions`]; `None` for cores.
    pub definition: Option<usize>,
    /// Cores: what they are made of.
    pub core: Option<CoreInput>,
    /// `None` for cores.
    pub parent: Option<Parent>,
    /// `None` for cores.
    pub builds_in: Option<BuildsIn>,
    /// The steps of this plan that must finish before this one starts.
    pub needs: Vec<StepId>,
    pub reason: Reason,
    /// The name its kept builder state will have (images only).
    pub state_name: Option<String>,
    /// The builder its chain of kept states started in (images), or itself (builders): whose
    /// binary package cache the step uses. `None` for cores, and for images whose chain starts
    /// outside the plan.
    pub root_builder: Option<ImageId>,
}

/// The ordered steps of a build.
#[derive(Clone, Debug, Default)]
pub struct BuildPlan {
    pub steps: Vec<Step>,
}
