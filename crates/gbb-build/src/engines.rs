//! Which steps of a plan an engine builds, which the `dummy` engine only lists, and which
//! cannot be built at all.
//!
//! The engine is a namespace's setting (`CONTAINER_ENGINE`), so one plan may span several:
//! the seed's own stack has a `dummy` namespace next to its Docker one. Rather than teach the
//! executor about engines that build nothing, a plan is split before it runs:
//!
//! - steps on Docker or Podman form a plan of their own, which [`crate::Build`] runs as usual;
//!   [`by_engine`] cuts it into one plan per engine, each run on its own engine, all at once
//!   in one worker pool ([`crate::build_on_engines`]; a core is in the plan of every engine
//!   that needs it, and made on each);
//! - steps on `dummy` become a dry run: each is described with what it would do, in plan
//!   order, and nothing of them touches an engine, a download or the file system;
//! - steps on an engine gbb does not know are refused, with the file and line that names the
//!   engine, and so is every step that needs a step that is not built (an image on Docker
//!   whose parent is on `dummy`), or a step on another engine (an image on Podman whose
//!   parent or builder is on Docker: one engine cannot start a container of, or build on, an
//!   image the other holds). Steps of other namespaces are not affected.
//!
//! `--engine` (`chosen`) replaces the engine of every namespace that builds.
//!
//! A core (stage3 + portage tree) belongs to no namespace: it is built when a built step needs
//! it, listed when only listed steps do, and left out otherwise. Likewise a step that was not
//! asked for and that only refused steps need is left out.

use gbb_config::Origin;
use gbb_plan::{BuildPlan, Reason, Step, StepId, StepKind};
use gbb_stack::{ContainerEngine, Hook, PortageTree, Stack, Stage3};

/// A plan split by engine.
#[derive(Debug, Default)]
pub struct EngineSplit {
    /// The steps an engine builds, in plan order; their needs are all in it.
    pub build: BuildPlan,
    /// The steps the `dummy` engine lists instead of building, in plan order.
    pub listed: Vec<ListedStep>,
    /// The steps that are not built, in plan order, with why.
    pub refused: Vec<RefusedStep>,
}

/// A step of a dry run: what it would do, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedStep {
    pub id: StepId,
    pub kind: StepKind,
    pub actions: Vec<String>,
}

/// A step that is not built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefusedStep {
    pub id: StepId,
    pub reason: Refusal,
}

/// Why a step is not built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Its config names an engine gbb does not know.
    UnknownEngine {
        name: String,
        variable: &'static str,
        origin: Origin,
    },
    /// It needs a step that is listed or refused.
    Needs(StepId),
    /// It needs a step that another engine builds.
    OtherEngine {
        /// Its engine, and where its config names it (`None`: the default, Docker).
        engine: &'static str,
        origin: Option<(&'static str, Origin)>,
        need: StepId,
        need_engine: &'static str,
        need_origin: Option<(&'static str, Origin)>,
    },
}

/// ` (CONTAINER_ENGINE at file:line:col)`, or ` (the default)`.
fn engine_place(origin: &Option<(&'static str, Origin)>) -> String {
    match origin {
        Some((variable, origin)) => format!(" ({variable} at {origin})"),
        None => " (the default)".to_owned(),
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::UnknownEngine {
                name,
                variable,
                origin,
            } => write!(
                f,
                "{origin}: {variable}=`{name}` is not an engine gbb knows (docker, podman or dummy)"
            ),
            Self::Needs(need) => write!(f, "it needs `{need}`, which is not built"),
            Self::OtherEngine {
                engine,
                origin,
                need,
                need_engine,
                need_origin,
            } => write!(
                f,
                "it is built on {engine}{}, but `{need}`, which it is built on, is built on {need_engine}{}; an image, its parent and its builder must be on one engine",
                engine_place(origin),
                engine_place(need_origin),
            ),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Build,
    List,
    Refuse,
}

/// The engines that build, in the order their plans run.
const BUILDING: [ContainerEngine; 2] = [ContainerEngine::Docker, ContainerEngine::Podman];

/// The engine a building step runs on: its definition's, or `chosen` (`--engine`); `None`
/// for cores.
fn engine_of(
    stack: &Stack,
    step: &Step,
    chosen: Option<&ContainerEngine>,
) -> Option<ContainerEngine> {
    step.definition()
        .map(|index| stack.definitions()[index].engine.chosen(chosen))
}

/// Splits `plan` by the engine of each step (see the module's doc).
pub fn split_by_engine(stack: &Stack, plan: &BuildPlan) -> EngineSplit {
    split_by_engine_as(stack, plan, None)
}

/// [`split_by_engine`] with the engine `--engine` chose for every namespace that builds.
pub fn split_by_engine_as(
    stack: &Stack,
    plan: &BuildPlan,
    chosen: Option<&ContainerEngine>,
) -> EngineSplit {
    let definitions = stack.definitions();
    let mut class: Vec<Option<Class>> = vec![None; plan.steps.len()];
    let mut reasons: Vec<Option<Refusal>> = vec![None; plan.steps.len()];

    // Builders and images first, in plan order (what they need comes before them); cores
    // are neutral here and decided by who needs them.
    for (i, step) in plan.steps.iter().enumerate() {
        let Some(index) = step.definition() else {
            continue;
        };
        let engine = definitions[index].engine.chosen(chosen);
        let (own, reason) = match &engine {
            ContainerEngine::Docker | ContainerEngine::Podman => (Class::Build, None),
            ContainerEngine::Dummy => (Class::List, None),
            ContainerEngine::Other {
                name,
                variable,
                origin,
            } => (
                Class::Refuse,
                Some(Refusal::UnknownEngine {
                    name: name.clone(),
                    variable,
                    origin: origin.clone(),
                }),
            ),
        };
        let blocker = step.needs().iter().find_map(|&n| {
            let need = plan.steps[n].id();
            match class[n] {
                Some(Class::Refuse) => Some(Refusal::Needs(need.clone())),
                Some(Class::List) if own == Class::Build => Some(Refusal::Needs(need.clone())),
                Some(Class::Build) if own == Class::Build => {
                    let need_engine = engine_of(stack, &plan.steps[n], chosen)?;
                    (need_engine != engine).then(|| {
                        let place = |definition: usize| {
                            if chosen.is_some() {
                                None
                            } else {
                                ContainerEngine::origin(&definitions[definition].config)
                            }
                        };
                        Refusal::OtherEngine {
                            engine: if engine == ContainerEngine::Podman {
                                "podman"
                            } else {
                                "docker"
                            },
                            origin: place(index),
                            need: need.clone(),
                            need_engine: if need_engine == ContainerEngine::Podman {
                                "podman"
                            } else {
                                "docker"
                            },
                            need_origin: plan.steps[n].definition().and_then(place),
                        }
                    })
                }
                _ => None,
            }
        });
        class[i] = Some(own);
        reasons[i] = reason;
        if own != Class::Refuse
            && let Some(blocker) = blocker
        {
            class[i] = Some(Class::Refuse);
            reasons[i] = Some(blocker);
        }
    }
    // A step that is built or listed only because a refused step needs it is left out: its
    // parents and builders are not built for nothing. Users come after what they use, so one
    // backward pass sees every user of a step before the step; cores (first in a plan) are
    // built when a built step uses them and listed when only listed steps do.
    let mut used_by_build = vec![false; plan.steps.len()];
    let mut used_by_list = vec![false; plan.steps.len()];
    for i in (0..plan.steps.len()).rev() {
        let step = &plan.steps[i];
        class[i] = if matches!(step, Step::Core(_)) {
            if used_by_build[i] {
                Some(Class::Build)
            } else if used_by_list[i] {
                Some(Class::List)
            } else {
                None
            }
        } else if class[i] != Some(Class::Refuse)
            && *step.reason() != Reason::Requested
            && !used_by_build[i]
            && !used_by_list[i]
        {
            None
        } else {
            class[i]
        };
        let used = match class[i] {
            Some(Class::Build) => &mut used_by_build,
            Some(Class::List) => &mut used_by_list,
            _ => continue,
        };
        for &n in step.needs() {
            used[n] = true;
        }
    }

    let mut split = EngineSplit {
        build: plan.subset(|i, _| class[i] == Some(Class::Build)),
        ..EngineSplit::default()
    };
    for (i, step) in plan.steps.iter().enumerate() {
        match class[i] {
            None | Some(Class::Build) => {}
            Some(Class::List) => split.listed.push(ListedStep {
                id: step.id().clone(),
                kind: step.kind(),
                actions: actions(stack, step),
            }),
            Some(Class::Refuse) => {
                if let Some(reason) = reasons[i].take() {
                    split.refused.push(RefusedStep {
                        id: step.id().clone(),
                        reason,
                    });
                }
            }
        }
    }
    split
}

/// The steps of `plan` (the `build` of an [`EngineSplit`]) cut into one plan per engine,
/// Docker's first (the order of a core's two rows in a summary). Each holds the steps its engine builds and
/// the cores they start from (a core two engines need is in both). `chosen` is the
/// `--engine` the split was made with.
pub fn by_engine(
    stack: &Stack,
    plan: &BuildPlan,
    chosen: Option<&ContainerEngine>,
) -> Vec<(ContainerEngine, BuildPlan)> {
    // Users come after what they use: one backward pass gives every step the engines of the
    // steps that use it.
    let mut users: Vec<[bool; BUILDING.len()]> = vec![[false; BUILDING.len()]; plan.steps.len()];
    for i in (0..plan.steps.len()).rev() {
        if let Some(engine) = engine_of(stack, &plan.steps[i], chosen)
            && let Some(slot) = BUILDING.iter().position(|e| *e == engine)
        {
            users[i][slot] = true;
        }
        let own = users[i];
        for &n in plan.steps[i].needs() {
            for (slot, used) in own.iter().enumerate() {
                users[n][slot] |= used;
            }
        }
    }
    BUILDING
        .iter()
        .enumerate()
        .filter(|(slot, _)| users.iter().any(|u| u[*slot]))
        .map(|(slot, engine)| (engine.clone(), plan.subset(|i, _| users[i][slot])))
        .collect()
}

/// What `step` would do, in the order a build does it.
fn actions(stack: &Stack, step: &Step) -> Vec<String> {
    let mut out = Vec::new();
    if let Step::Core(core) = step {
        let input = &core.core.input;
        out.push(match &input.stage3 {
            Stage3::File { path } => format!("import the stage3 file `{}`", path.display()),
            Stage3::Release {
                base,
                date,
                arch,
                mirrors,
            } => format!(
                "download stage3 `{base}` ({}, {arch}) from {} and check its hashes and signature, then import it",
                date.as_deref().unwrap_or("newest"),
                if mirrors.is_empty() {
                    "the default mirror".to_owned()
                } else {
                    mirrors.join(" ")
                }
            ),
        });
        out.push(match &input.portage {
            PortageTree::Dir { path } => format!("use the portage tree `{}`", path.display()),
            PortageTree::Snapshot { date, .. } => {
                format!("download and check portage snapshot `{date}`")
            }
        });
        out.push("add gbb's in-container scripts on top: the core".to_owned());
        return out;
    }
    let (definition, builds_in) = match step {
        Step::Builder(builder) => (builder.definition, step.builds_in()),
        Step::Image(image) => (image.definition, step.builds_in()),
        Step::Core(_) => unreachable!("cores returned above"),
    };
    let definition = &stack.definitions()[definition];
    let script = &definition.script;
    let builds_in = builds_in.map(|(name, _)| name).unwrap_or_default();
    out.push(format!("start a container of `{builds_in}`"));
    let hook = |hook: Hook| script.hooks.contains(&hook).then(|| hook.as_str());
    if let Some(name) = hook(Hook::ConfigureBuilder) {
        out.push(format!("run {name}"));
    }
    let Step::Image(image) = step else {
        out.push(format!("keep the container as `{}`", definition.id));
        return out;
    };
    if let Some(name) = hook(Hook::ConfigureRootfsBuild) {
        out.push(format!("run {name}"));
    }
    out.push(match &script.packages {
        Some(packages) if packages.is_empty() => "emerge nothing (no packages)".to_owned(),
        Some(packages) => format!("emerge {} into /emerge-root", packages.join(" ")),
        None if script.exists => "emerge the packages build.sh lists into /emerge-root".to_owned(),
        None => "emerge nothing (no build.sh)".to_owned(),
    });
    if let Some(name) = hook(Hook::FinishRootfsBuild) {
        out.push(format!("run {name}"));
    }
    out.push("clean up the root and write rootfs.tar".to_owned());
    out.push(if image.keeps_state {
        format!("keep the container as `{}`", image.state)
    } else {
        "remove the container (nothing builds in it)".to_owned()
    });
    let parent = match &image.parent {
        Some(parent) => format!("`{parent}`"),
        None => "scratch".to_owned(),
    };
    out.push(format!(
        "write the image from Dockerfile.template on {parent} with rootfs.tar, load it, tag `{}:{}` and `:latest`",
        definition.id, definition.tag
    ));
    out
}
