//! The executor: runs a plan's steps on an engine, parents first.
//!
//! A build goes through four stages, each in its own file:
//!
//! 1. **preflight** (here): what can be refused before anything starts: templates, local
//!    stage3 files and portage folders, a missing keyring, each definition's engine settings;
//! 2. **inputs** (`inputs.rs`): stage3 releases and portage snapshots fetched and verified, and
//!    the keys of what the plan builds on from outside read from the engine;
//! 3. **keys** (`keys.rs`): every step's content key, by hashing only;
//! 4. **schedule** (`schedule.rs`): the worker pool runs each step (`steps/`) as soon as what it
//!    needs is done.
//!
//! A step's container is described by the pure `container::container_spec`; running it, keeping
//! it as an image and moving tags is `lifecycle.rs`; the tests after phase 2 are `checks.rs`.

mod checks;
mod container;
mod inputs;
mod keys;
mod lifecycle;
mod log;
mod options;
mod report;
mod sbom;
mod schedule;
mod shell;
mod status;
pub(crate) mod steps;
mod verify;

use std::collections::HashMap;

use gbb_engine::{Engine, ImageRef};
use gbb_plan::{BuildPlan, Step};
use gbb_stack::{Definition, PortageTree, Stack, Stage3};

use crate::key::{KEY_INPUTS_LABEL, KeyInputs};
use crate::mounts::EngineSettings;
use crate::template::PreparedTemplate;
use crate::{BuildError, ContainerRegistry, ContentKey, KEY_LABEL, outputs, template};

pub use log::LogEvent;
pub use options::{BuildOptions, Force, GentooInputs};
pub use report::{BuildSummary, Outcome, Reporter, StepReport};
pub use sbom::kept_sbom;
pub use shell::shell_spec;
pub use status::StepStatus;
pub use verify::{Verified, VerifyOutcome};

use inputs::ResolvedInputs;
use keys::Keys;

/// A build of one plan, once prepared: what every step reads, shared by the worker threads.
pub struct Build<'a> {
    stack: &'a Stack,
    plan: &'a BuildPlan,
    engine: &'a dyn Engine,
    options: &'a BuildOptions,
    reporter: &'a dyn Reporter,
    registry: ContainerRegistry,
    prepared: Prepared,
    /// The engine's name when this build is one engine's part of a build over several
    /// ([`Self::on_engine`]).
    engine_name: Option<String>,
}

/// What the stages before the first step give: read-only while steps run.
struct Prepared {
    /// The stack's identity ([`crate::stack_identity`]), in every label gbb puts on things.
    stack_identity: String,
    /// Each definition's engine settings (by position in the stack), checked in preflight.
    settings: HashMap<usize, EngineSettings>,
    /// Each image's template (by the definition's position), rendered and checked in
    /// preflight: what phase 2 writes the image from.
    templates: HashMap<usize, PreparedTemplate>,
    inputs: ResolvedInputs,
    keys: Keys,
}

impl Prepared {
    /// The template of the image defined at `definition`; preflight prepared one for every
    /// image step of the plan, and steps come from that plan.
    fn template(&self, definition: usize) -> &PreparedTemplate {
        self.templates
            .get(&definition)
            .expect("preflight prepares the template of every image step of the plan")
    }
}

impl<'a> Build<'a> {
    /// Checks and prepares a build of `plan`: preflight, inputs, keys. Refusals found here
    /// (templates, inputs, settings, an unbuilt image the plan builds on) are errors before
    /// any container started.
    pub fn prepare(
        stack: &'a Stack,
        plan: &'a BuildPlan,
        engine: &'a dyn Engine,
        options: &'a BuildOptions,
        reporter: &'a dyn Reporter,
        registry: ContainerRegistry,
    ) -> Result<Self, BuildError> {
        let prepared = prepare(stack, plan, engine, options, reporter)?;
        Ok(Self {
            stack,
            plan,
            engine,
            options,
            reporter,
            registry,
            prepared,
            engine_name: None,
        })
    }

    /// Marks this build as `engine`'s part of a build over several engines, which run at
    /// once: a step every part makes under one name (a core both engines need) writes its
    /// log apart, `logs/core/<label>.<engine>.log`, not into one file from two threads.
    pub fn on_engine(mut self, engine: &str) -> Self {
        self.engine_name = Some(engine.to_owned());
        self
    }

    /// Runs the plan: up to `options.jobs` steps at once, each as soon as everything it needs
    /// is done. A failed step blocks its descendants; independent steps go on (or nothing new
    /// starts, with `fail_fast`). Failures while building are in the summary.
    pub fn run(&self) -> Result<BuildSummary, BuildError> {
        let mut summaries = Self::run_together(std::slice::from_ref(self))?;
        Ok(summaries.remove(0))
    }

    /// Runs several prepared builds, one per engine, in one worker pool (see `schedule.rs`):
    /// the builds of one command share their options (`jobs`, `fail_fast`, the stack's
    /// paths), which are taken from the first. One summary per build, in the order given; Ctrl-C in any ends them all with
    /// [`BuildError::Interrupted`].
    pub fn run_together(builds: &[Build<'_>]) -> Result<Vec<BuildSummary>, BuildError> {
        let Some(first) = builds.first() else {
            return Ok(Vec::new());
        };
        // One stack, so one `.gbb/run` for all of them.
        outputs::remove_leftover_runs(&first.options.paths)?;
        let works: Vec<_> = builds
            .iter()
            .map(|build| move |step: &Step| build.run_step(step))
            .collect();
        let parts: Vec<schedule::Part<'_>> = builds
            .iter()
            .zip(&works)
            .map(|(build, work)| schedule::Part {
                plan: build.plan,
                work,
                registry: &build.registry,
                reporter: build.reporter,
            })
            .collect();
        let pool = schedule::Pool {
            jobs: first.options.jobs,
            fail_fast: first.options.fail_fast,
        };
        let ran = pool.run(&parts);
        if builds.iter().any(|build| build.registry.interrupted()) {
            return Err(BuildError::Interrupted);
        }
        Ok(ran
            .into_iter()
            .map(|ran| BuildSummary {
                reports: ran.reports,
                failures: ran.failures,
            })
            .collect())
    }

    /// Runs one step whose needs are done.
    fn run_step(&self, step: &Step) -> schedule::StepResult {
        match step {
            Step::Core(core) => self.core(core),
            Step::Builder(builder) => self.builder(builder),
            Step::Image(image) => self.image(image),
        }
    }

    fn definition(&self, index: usize) -> &'a Definition {
        let stack: &'a Stack = self.stack;
        &stack.definitions()[index]
    }

    fn key_of_step(&self, id: &gbb_plan::StepId) -> &ContentKey {
        self.prepared.keys.step(id)
    }
}

/// Preflight, inputs and keys (see the module docs), for a build or a shell.
fn prepare(
    stack: &Stack,
    plan: &BuildPlan,
    engine: &dyn Engine,
    options: &BuildOptions,
    reporter: &dyn Reporter,
) -> Result<Prepared, BuildError> {
    let Preflight {
        settings,
        templates,
    } = preflight(stack, plan, options)?;
    let inputs = ResolvedInputs::resolve(plan, engine, options, reporter)?;
    let keys = Keys::compute(plan, stack, &inputs)?;
    Ok(Prepared {
        stack_identity: crate::stack_identity(&stack.root),
        settings,
        templates,
        inputs,
        keys,
    })
}

/// What preflight read and checked, by definition (position in the stack).
struct Preflight {
    settings: HashMap<usize, EngineSettings>,
    templates: HashMap<usize, PreparedTemplate>,
}

/// Checks what can be checked before any container starts: templates, local inputs, engine
/// settings. Returns each definition's settings and each image's template.
fn preflight(
    stack: &Stack,
    plan: &BuildPlan,
    options: &BuildOptions,
) -> Result<Preflight, BuildError> {
    let mut settings = HashMap::new();
    let mut templates = HashMap::new();
    let mut checked = std::collections::HashSet::new();
    for step in &plan.steps {
        if let Step::Image(image) = step {
            let definition = &stack.definitions()[image.definition];
            let text = template::render_image(definition, &steps::image::parent_image(image))?;
            // Every line gbb carries out in phase 2, and its FROM, checked before anything runs.
            let on_parent = crate::dockerfile::parse(&text, &[])
                .and_then(|parsed| {
                    steps::image_phase2::parent_of(image, &parsed).map(|p| p.is_some())
                })
                .map_err(|e| BuildError::TemplateInstruction {
                    template: definition.dir.join("Dockerfile.template"),
                    line: e.line,
                    problem: e.problem,
                })?;
            templates.insert(image.definition, PreparedTemplate { text, on_parent });
        }
        // A core's inputs are checked once, however many steps start from it.
        if let Some(core) = step.core()
            && checked.insert(&core.input)
        {
            let input = &core.input;
            if let Stage3::File { path } = &input.stage3 {
                crate::local_inputs::check_stage3_file(stack, path)?;
            }
            if let PortageTree::Dir { path } = &input.portage {
                crate::local_inputs::check_portage_dir(stack, path)?;
            }
            // Downloads are checked against a keyring, unless -s says not to.
            let downloads = matches!(input.stage3, Stage3::Release { .. })
                || matches!(input.portage, PortageTree::Snapshot { .. });
            let gentoo = &options.gentoo;
            if downloads && gentoo.keyring.is_none() && !gentoo.skip_signatures {
                return Err(BuildError::NoKeyring);
            }
        }
        if let Some(index) = step.definition() {
            let read = EngineSettings::read(stack, &stack.definitions()[index], &options.paths)?;
            settings.insert(index, read);
        }
    }
    Ok(Preflight {
        settings,
        templates,
    })
}

/// A result as the engine has it: its key and what the key was made of.
pub(crate) struct Existing {
    key: Option<ContentKey>,
    record: Option<KeyInputs>,
}

/// The result named `reference`, if the engine has it, with the labels gbb reads.
pub(crate) fn existing(
    engine: &dyn Engine,
    reference: &ImageRef,
) -> Result<Option<Existing>, BuildError> {
    let info = engine
        .inspect_image(&reference.to_string())
        .map_err(BuildError::engine(format!("looking up `{reference}`")))?;
    Ok(info.map(|info| Existing {
        key: info
            .labels
            .get(KEY_LABEL)
            .map(|k| ContentKey::from_label(k)),
        record: info
            .labels
            .get(KEY_INPUTS_LABEL)
            .and_then(|r| KeyInputs::from_label(r)),
    }))
}

/// The content key an existing image carries, if it exists.
pub(crate) fn existing_key(
    engine: &dyn Engine,
    reference: &ImageRef,
) -> Result<Option<ContentKey>, BuildError> {
    Ok(existing(engine, reference)?.and_then(|e| e.key))
}

/// The container of a builder's or image's step (or of `gbb shell` for it): its host folders
/// made ready, then [`container::container_spec`].
#[allow(clippy::too_many_arguments)]
fn step_container(
    prepared: &Prepared,
    stack: &Stack,
    options: &BuildOptions,
    definition: usize,
    core: Option<&gbb_plan::CoreRef>,
    image: &ImageRef,
    mode: container::Mode,
    output: &std::path::Path,
    packages: Vec<gbb_engine::Mount>,
) -> Result<gbb_engine::ContainerSpec, BuildError> {
    let portage = core.and_then(|core| match &prepared.inputs.local(&core.input).portage {
        PortageTree::Dir { path } => Some(path.as_path()),
        PortageTree::Snapshot { .. } => None,
    });
    let definition_value = &stack.definitions()[definition];
    let folders = container::HostFolders::prepare(
        &options.paths,
        definition_value,
        output,
        portage,
        packages,
    )?;
    Ok(container::container_spec(container::ContainerRequest {
        definition: definition_value,
        image,
        mode,
        stack_identity: &prepared.stack_identity,
        settings: &prepared.settings[&definition],
        folders,
        source_date_epoch: options.source_date_epoch,
        owner: outputs::Owner::of_this_process(),
    }))
}
