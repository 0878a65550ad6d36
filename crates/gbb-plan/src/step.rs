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

/// The core a builder chain starts from: its label (the core step's id) and what it is made
/// of. Known for every builder and image, also when the core itself is not in the plan
/// (`-n`, `-e`), since the executor mounts its portage tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoreRef {
    pub label: String,
    pub input: CoreInput,
}

impl CoreRef {
    pub fn step_id(&self) -> StepId {
        StepId::Core(self.label.clone())
    }
}

/// Imports a stage3 and adds the portage tree and gbb's scripts: the first builder.
#[derive(Clone, Debug)]
pub struct CoreStep {
    /// `core:<label>`.
    pub id: StepId,
    pub core: CoreRef,
    pub reason: Reason,
    /// Positions in [`BuildPlan::steps`] of the steps that must finish first (none, for a core).
    pub needs: Vec<usize>,
}

/// Where a builder's container comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BuilderBuildsIn {
    /// A core (`STAGE3_BASE`, `STAGE3_FILE`).
    Core(CoreRef),
    /// Another builder (`BUILDER`).
    Builder(ImageId),
}

/// A build container: its configure hook runs in its base, and the result is kept as
/// `<id>:latest`.
#[derive(Clone, Debug)]
pub struct BuilderStep {
    pub id: StepId,
    /// The builder's id (what `id` names).
    pub builder: ImageId,
    /// Index into [`gbb_stack::Stack::definitions`].
    pub definition: usize,
    pub builds_in: BuilderBuildsIn,
    /// The core at the start of its chain (its portage tree is mounted into the container);
    /// `None` when the chain is cut by a builder that has no base (only with `-n`, `-e`).
    pub core: Option<CoreRef>,
    pub reason: Reason,
    pub needs: Vec<usize>,
}

/// Where an image's phase 1 runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImageBuildsIn {
    /// A builder image (`BUILDER`, or `DEFAULT_BUILDER` for an image with no parent).
    Builder(ImageId),
    /// The kept builder state of the parent image (`ns/bob-<parent>`): the builder the parent
    /// was built in, after the parent's phase 1, so it knows what the parent installed.
    ParentState { parent: ImageId, state: String },
}

/// A final image: phase 1 in a build container, phase 2 from its template.
#[derive(Clone, Debug)]
pub struct ImageStep {
    pub id: StepId,
    /// Index into [`gbb_stack::Stack::definitions`].
    pub definition: usize,
    /// `IMAGE_PARENT`; `None` for `FROM scratch`.
    pub parent: Option<ImageId>,
    /// Its parent, its parent's parent, and so on: whose outputs `PACKAGES.md` lists.
    pub ancestors: Vec<ImageId>,
    pub builds_in: ImageBuildsIn,
    /// The repository of the builder state its phase 1 leaves (`ns/<root builder>-<name>`),
    /// when it keeps one (see `keeps_state`).
    pub state: String,
    /// Whether an image of the stack builds in this image's kept state: an image whose
    /// `IMAGE_PARENT` is this one and that names no `BUILDER` (builders are made only from
    /// builders and cores, never from a state). Only then does phase 1 merge the packages into
    /// the build container's own `/` as well and keep the container as `state`; a leaf image
    /// pays for neither. Decided from the whole stack, not from what was requested, so that
    /// the image's content key (which covers it) does not depend on the ids given.
    pub keeps_state: bool,
    /// The builder its chain of kept states started in: whose binary package cache it uses.
    /// `None` only when the chain cannot be followed (a broken stack pruned with `-n`).
    pub root_builder: Option<ImageId>,
    /// The core at the start of its chain (see [`BuilderStep::core`]).
    pub core: Option<CoreRef>,
    pub reason: Reason,
    pub needs: Vec<usize>,
}

/// One step of a plan: each kind holds only what it needs.
#[derive(Clone, Debug)]
pub enum Step {
    Core(CoreStep),
    Builder(BuilderStep),
    Image(ImageStep),
}

impl Step {
    pub fn id(&self) -> &StepId {
        match self {
            Self::Core(s) => &s.id,
            Self::Builder(s) => &s.id,
            Self::Image(s) => &s.id,
        }
    }

    pub fn kind(&self) -> StepKind {
        match self {
            Self::Core(_) => StepKind::Core,
            Self::Builder(_) => StepKind::Builder,
            Self::Image(_) => StepKind::Image,
        }
    }

    pub fn reason(&self) -> &Reason {
        match self {
            Self::Core(s) => &s.reason,
            Self::Builder(s) => &s.reason,
            Self::Image(s) => &s.reason,
        }
    }

    pub(crate) fn reason_mut(&mut self) -> &mut Reason {
        match self {
            Self::Core(s) => &mut s.reason,
            Self::Builder(s) => &mut s.reason,
            Self::Image(s) => &mut s.reason,
        }
    }

    /// Positions in [`BuildPlan::steps`] of the steps that must finish before this one.
    pub fn needs(&self) -> &[usize] {
        match self {
            Self::Core(s) => &s.needs,
            Self::Builder(s) => &s.needs,
            Self::Image(s) => &s.needs,
        }
    }

    pub(crate) fn needs_mut(&mut self) -> &mut Vec<usize> {
        match self {
            Self::Core(s) => &mut s.needs,
            Self::Builder(s) => &mut s.needs,
            Self::Image(s) => &mut s.needs,
        }
    }

    /// The core this step is, or the one its chain starts from (whose portage tree its
    /// container mounts).
    pub fn core(&self) -> Option<&CoreRef> {
        match self {
            Self::Core(s) => Some(&s.core),
            Self::Builder(s) => s.core.as_ref(),
            Self::Image(s) => s.core.as_ref(),
        }
    }

    /// Index into [`gbb_stack::Stack::definitions`]; `None` for cores.
    pub fn definition(&self) -> Option<usize> {
        match self {
            Self::Core(_) => None,
            Self::Builder(s) => Some(s.definition),
            Self::Image(s) => Some(s.definition),
        }
    }

    /// What its result is built on, for display: an image's parent image (or scratch), a
    /// builder's builder or core; `None` for cores.
    pub fn parent(&self) -> Option<Parent> {
        match self {
            Self::Core(_) => None,
            Self::Builder(s) => Some(Parent::Step(match &s.builds_in {
                BuilderBuildsIn::Core(core) => core.step_id(),
                BuilderBuildsIn::Builder(id) => StepId::Definition(id.clone()),
            })),
            Self::Image(s) => Some(match &s.parent {
                None => Parent::Scratch,
                Some(id) => Parent::Step(StepId::Definition(id.clone())),
            }),
        }
    }

    /// The name of the image its container is made from and what kind of thing that is
    /// (`core`, `builder`, `state`), for display; `None` for cores.
    pub fn builds_in(&self) -> Option<(String, &'static str)> {
        match self {
            Self::Core(_) => None,
            Self::Builder(s) => Some(match &s.builds_in {
                BuilderBuildsIn::Core(core) => (core.step_id().to_string(), "core"),
                BuilderBuildsIn::Builder(id) => (id.to_string(), "builder"),
            }),
            Self::Image(s) => Some(match &s.builds_in {
                ImageBuildsIn::Builder(id) => (id.to_string(), "builder"),
                ImageBuildsIn::ParentState { state, .. } => (state.clone(), "state"),
            }),
        }
    }

    /// The named builder an image runs in (not a parent's state), for the graph's edges.
    pub fn image_builder(&self) -> Option<&ImageId> {
        match self {
            Self::Image(ImageStep {
                builds_in: ImageBuildsIn::Builder(builder),
                ..
            }) => Some(builder),
            _ => None,
        }
    }
}

/// The ordered steps of a build: every step comes after the steps it needs.
#[derive(Clone, Debug, Default)]
pub struct BuildPlan {
    pub steps: Vec<Step>,
}

impl BuildPlan {
    /// The plan of the steps `keep` says yes to, in the same order; needs on steps left out
    /// are dropped (they are taken as built, as `-n` and `-e` do).
    pub fn subset(&self, keep: impl Fn(usize, &Step) -> bool) -> BuildPlan {
        let mut position = vec![None; self.steps.len()];
        let mut steps = Vec::new();
        for (i, step) in self.steps.iter().enumerate() {
            if keep(i, step) {
                position[i] = Some(steps.len());
                steps.push(step.clone());
            }
        }
        for step in &mut steps {
            let needs = step.needs_mut();
            *needs = needs.iter().filter_map(|&n| position[n]).collect();
        }
        BuildPlan { steps }
    }

    /// The ids of the steps `step` needs, sorted by id (cores first), for display.
    pub fn need_ids(&self, step: &Step) -> Vec<&StepId> {
        let mut ids: Vec<&StepId> = step.needs().iter().map(|&n| self.steps[n].id()).collect();
        ids.sort();
        ids
    }
}
