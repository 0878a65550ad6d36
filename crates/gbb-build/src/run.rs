//! The executor: runs a plan's steps on an engine, parents first.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gbb_engine::{BuildRequest, ContainerSpec, Engine, Mount};
use gbb_plan::{BuildPlan, BuildsIn, DependencyQueue, Parent, Reason, Step, StepId, StepKind};
use gbb_stack::{BuilderBase, CoreInput, Definition, ImageId, Kind, PortageTree, Stack, Stage3};

use crate::binpkgs::{PackageCache, PackageRun};
use crate::error::io;
use crate::key::{core_key, definition_key};
use crate::mounts::EngineSettings;
use crate::outputs::{self, KEPT_OUTPUTS, Owner, RunDir, TEXT_LIMIT};
use crate::packages_md::{self, Installed};
use crate::{
    BuildError, ContainerRegistry, ContentKey, KEY_LABEL, Paths, context, render_template,
};
use crate::{mount_points, template};

use crate::labels::{container_labels, result_labels};

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

/// What became of a step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Built,
    /// Up to date, or otherwise not needed; with the reason.
    Skipped(String),
    /// It ran and failed; the first line of the error (the whole error is in the summary's
    /// failures).
    Failed(String),
    /// It never ran: something it needs failed, or the build stopped.
    NotStarted(String),
}

/// The result of a build that ran: every step's report, in plan order, and the errors of the
/// steps that failed.
#[derive(Debug)]
pub struct BuildSummary {
    pub reports: Vec<StepReport>,
    pub failures: Vec<BuildError>,
}

impl BuildSummary {
    pub fn succeeded(&self) -> bool {
        self.failures.is_empty()
            && self
                .reports
                .iter()
                .all(|r| matches!(r.outcome, Outcome::Built | Outcome::Skipped(_)))
    }
}

/// One step's result, for the summary.
#[derive(Clone, Debug)]
pub struct StepReport {
    pub id: String,
    pub kind: StepKind,
    pub outcome: Outcome,
    pub duration: Duration,
    /// Image size in bytes, where there is an image.
    pub size: Option<u64>,
}

impl StepReport {
    fn new(step: &Step, outcome: Outcome, duration: Duration, size: Option<u64>) -> Self {
        Self {
            id: step.id.to_string(),
            kind: step.kind,
            outcome,
            duration,
            size,
        }
    }
}

/// Where a build tells what it does. The library never prints; the command line implements
/// this.
pub trait Reporter: Sync {
    /// A step (or a part of one: "phase 1 in ns/bob") begins.
    fn started(&self, id: &str, what: &str);
    /// A step ended.
    fn finished(&self, report: &StepReport);
    /// A line of a container's or image build's output.
    fn log(&self, id: &str, line: &str);

    /// Where downloads (stage3s, snapshots) report their progress.
    fn download(&self) -> &dyn gbb_gentoo::Progress {
        &gbb_gentoo::NoProgress
    }
}

/// A build of one plan.
pub struct Build<'a> {
    stack: &'a Stack,
    plan: &'a BuildPlan,
    engine: &'a dyn Engine,
    options: &'a BuildOptions,
    reporter: &'a dyn Reporter,
    registry: ContainerRegistry,
    /// The stack's identity ([`crate::stack_identity`]), in every label gbb puts on things.
    stack_identity: String,
    keys: HashMap<StepId, ContentKey>,
    /// Core inputs with what gbb fetched in place of releases and snapshots: a verified stage3
    /// file and an unpacked, verified portage tree. Filled as keys are computed; behind a
    /// mutex because steps (on several threads) may ask for cores the plan does not build.
    resolved: std::sync::Mutex<HashMap<CoreInput, CoreInput>>,
}

/// The Dockerfile of a core: the stage3 plus gbb's in-container scripts.
const CORE_DOCKERFILE: &str = "\
FROM ${STAGE3_IMAGE}
COPY gbb/ /usr/local/lib/gbb/
RUN chmod 0755 /usr/local/lib/gbb/gbb-build /usr/local/lib/gbb/sed-or-die \\
 && ln -sf /usr/local/lib/gbb/gbb-build /usr/local/bin/gbb-build \\
 && ln -sf /usr/local/lib/gbb/sed-or-die /usr/local/bin/sed-or-die \\
 && mkdir -p /emerge-root /packages /var/cache/gbb/binpkgs /distfiles /gbb-out /etc/portage/profile \\
 && touch /etc/portage/profile/package.provided
";

/// The tag a new result gets until the whole step succeeded; the tags users see move to it
/// only then, so a failure leaves them where they were.
const CANDIDATE_TAG: &str = "gbb-candidate";

/// The candidate name of the image (or state) `repository`.
fn candidate_of(repository: &str) -> String {
    format!("{repository}:{CANDIDATE_TAG}")
}

/// The names of cores and imported stage3s, made here only.
///
/// Shared by every stack on the machine, named by content key: `gbb-stage3/<label>:<key>`
/// (the stage3 file alone) and `gbb-core/<label>:<key>` (stage3, portage tree, gbb's
/// scripts). A shared name is made once and never moved, since other stacks' builders start
/// from it. `-C` makes a stack's own instead, `gbb-stage3/<label>:stack-<identity>` and
/// `gbb-core/<label>:stack-<identity>` (the identity of [`crate::stack_identity`]); the stack
/// then uses its own core for as long as its key is current, and `gbb clean --images`
/// removes it.
pub mod core_names {
    use super::image_name_part;
    use crate::ContentKey;

    pub fn shared_core(label: &str, key: &ContentKey) -> String {
        format!("gbb-core/{}:{}", image_name_part(label), key.short())
    }

    pub fn shared_stage3(label: &str, key: &ContentKey) -> String {
        format!("gbb-stage3/{}:{}", image_name_part(label), key.short())
    }

    pub fn own_core(label: &str, stack_identity: &str) -> String {
        format!("gbb-core/{}:stack-{stack_identity}", image_name_part(label))
    }

    pub fn own_stage3(label: &str, stack_identity: &str) -> String {
        format!(
            "gbb-stage3/{}:stack-{stack_identity}",
            image_name_part(label)
        )
    }
}

/// A name Docker accepts, made from a label (`stage3-amd64+nomultilib` becomes
/// `stage3-amd64-nomultilib`).
fn image_name_part(label: &str) -> String {
    let mapped: String = label
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let trimmed = mapped.trim_matches('-');
    if trimmed.is_empty() {
        "core".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// An absolute path for a bind mount (the engine resolves nothing relative).
fn absolute(path: &Path) -> Result<PathBuf, BuildError> {
    std::fs::canonicalize(path).map_err(io(path))
}

/// What a container run streams back: the log file, the last lines, and the `::gbb::` step.
struct RunLog {
    file: std::io::BufWriter<std::fs::File>,
    tail: VecDeque<String>,
    partial: Vec<u8>,
    step: String,
    failed_step: Option<String>,
}

const TAIL_LINES: usize = 25;

impl RunLog {
    fn line(&mut self, line: &str, id: &str, reporter: &dyn Reporter) {
        if let Some(marker) = line.strip_prefix("::gbb:: ") {
            if let Some(step) = marker.strip_prefix("step ") {
                self.step = step.split_whitespace().next().unwrap_or(step).to_owned();
            } else if let Some(failed) = marker.strip_prefix("failed step=") {
                self.failed_step = failed.split_whitespace().next().map(str::to_owned);
            }
        } else {
            if self.tail.len() == TAIL_LINES {
                self.tail.pop_front();
            }
            self.tail.push_back(line.to_owned());
        }
        reporter.log(id, line);
    }

    fn bytes(&mut self, bytes: &[u8], id: &str, reporter: &dyn Reporter) {
        let _ = self.file.write_all(bytes);
        self.partial.extend_from_slice(bytes);
        while let Some(at) = self.partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=at).collect();
            let text = String::from_utf8_lossy(&line[..line.len() - 1]).into_owned();
            self.line(text.trim_end_matches('\r'), id, reporter);
        }
    }
}

impl<'a> Build<'a> {
    pub fn new(
        stack: &'a Stack,
        plan: &'a BuildPlan,
        engine: &'a dyn Engine,
        options: &'a BuildOptions,
        reporter: &'a dyn Reporter,
        registry: ContainerRegistry,
    ) -> Self {
        Self {
            stack,
            plan,
            engine,
            options,
            reporter,
            registry,
            stack_identity: crate::stack_identity(&stack.root),
            keys: HashMap::new(),
            resolved: std::sync::Mutex::new(HashMap::new()),
        }
    }

    fn definition(&self, step: &Step) -> &'a Definition {
        let stack: &'a Stack = self.stack;
        &stack.definitions()[step
            .definition
            .expect("builder and image steps have a definition")]
    }

    /// Checks what can be checked before any container starts: templates, local inputs.
    fn preflight(&self) -> Result<(), BuildError> {
        for step in &self.plan.steps {
            match step.kind {
                StepKind::Image => {
                    template::render_image(self.definition(step), &parent_image(step))?;
                }
                StepKind::Core => {
                    let input = step.core.as_ref().expect("cores have inputs");
                    if let Stage3::File { path } = &input.stage3 {
                        crate::local_inputs::check_stage3_file(self.stack, path)?;
                    }
                    if let PortageTree::Dir { path } = &input.portage {
                        crate::local_inputs::check_portage_dir(self.stack, path)?;
                    }
                    // Downloads are checked against a keyring, unless -s says not to.
                    let downloads = matches!(input.stage3, Stage3::Release { .. })
                        || matches!(input.portage, PortageTree::Snapshot { .. });
                    let gentoo = &self.options.gentoo;
                    if downloads && gentoo.keyring.is_none() && !gentoo.skip_signatures {
                        return Err(BuildError::NoKeyring);
                    }
                }
                StepKind::Builder => {}
            }
            if step.kind != StepKind::Core {
                EngineSettings::read(self.stack, self.definition(step), &self.options.paths)?;
            }
        }
        Ok(())
    }

    /// The container `gbb shell` opens for `step`: the one its phase 1 (or a builder's hook)
    /// runs in, with the same mounts and environment, running an interactive bash with the
    /// helpers and `build.sh` loaded. Also returns the image it is made from.
    pub fn shell_spec(&self, step: &Step) -> Result<(ContainerSpec, String), BuildError> {
        let definition = self.definition(step);
        let id = definition.id.to_string();
        let image = match step
            .builds_in
            .as_ref()
            .expect("builders and images run somewhere")
        {
            BuildsIn::Core(core) => self.core_of(definition, core)?.0,
            BuildsIn::Builder(builder) => format!("{builder}:latest"),
            BuildsIn::ParentState { state, .. } => format!("{state}:latest"),
        };
        if self
            .engine
            .inspect_image(&image)
            .map_err(BuildError::engine(format!("looking up `{image}`")))?
            .is_none()
        {
            return Err(BuildError::NotBuilt { id: image });
        }
        // A fresh folder of its own, as every container run gets; it outlives this call (the
        // caller runs the shell), so the next build removes it.
        let output = RunDir::new(&self.options.paths, &format!("{id}-shell"))?.keep();
        // The shell's PKGDIR stays in its container: what it builds is not kept.
        let packages = self.package_cache(step)?.read_only_mounts()?;
        let mut spec = self.container_spec(definition, &image, "shell", packages, &output)?;
        spec.interactive = true;
        Ok((spec, image))
    }

    /// Runs the plan: up to `options.jobs` steps at once, each as soon as everything it needs
    /// is done. A failed step blocks its descendants; independent steps go on (or nothing new
    /// starts, with `fail_fast`). Refusals found before anything runs (templates, inputs) are
    /// returned as errors; failures while building are in the summary.
    pub fn run(&mut self) -> Result<BuildSummary, BuildError> {
        self.preflight()?;
        outputs::remove_leftover_runs(&self.options.paths)?;
        self.compute_keys()?;
        let this: &Self = self;
        let steps = &this.plan.steps;
        let position: HashMap<&StepId, usize> =
            steps.iter().enumerate().map(|(i, s)| (&s.id, i)).collect();
        let needs: Vec<Vec<usize>> = steps
            .iter()
            .map(|s| {
                s.needs
                    .iter()
                    .filter_map(|n| position.get(n).copied())
                    .collect()
            })
            .collect();
        let mut queue = DependencyQueue::new();
        for (i, need) in needs.iter().enumerate() {
            queue.queue(i, i, need);
        }
        queue.seal();

        let mut reports: Vec<Option<StepReport>> = vec![None; steps.len()];
        let mut blocked = vec![false; steps.len()];
        let mut failures = Vec::new();
        let mut stop: Option<String> = None;
        let jobs = this.options.jobs.max(1);
        std::thread::scope(|scope| {
            let (done, finished) = std::sync::mpsc::channel();
            let mut running = 0;
            loop {
                if this.registry.interrupted() {
                    stop.get_or_insert_with(|| "interrupted".to_owned());
                }
                while running < jobs && stop.is_none() {
                    let Some(i) = queue.dequeue() else { break };
                    if let Some(&blocker) = needs[i].iter().find(|&&n| blocked[n]) {
                        blocked[i] = true;
                        let report = StepReport::new(
                            &steps[i],
                            Outcome::NotStarted(format!(
                                "needs {}, which was not built",
                                steps[blocker].id
                            )),
                            Duration::ZERO,
                            None,
                        );
                        this.reporter.finished(&report);
                        reports[i] = Some(report);
                        queue.finish(&i);
                        continue;
                    }
                    let done = done.clone();
                    let step = &steps[i];
                    scope.spawn(move || {
                        let started = Instant::now();
                        let result = this.run_step(step);
                        // The receiver lives until every worker reported.
                        let _ = done.send((i, result, started.elapsed()));
                    });
                    running += 1;
                }
                if running == 0 {
                    break;
                }
                let (i, result, duration) =
                    finished.recv().expect("workers report before they end");
                running -= 1;
                let report = match result {
                    Ok((outcome, size)) => StepReport::new(&steps[i], outcome, duration, size),
                    Err(error) => {
                        blocked[i] = true;
                        let first_line = error
                            .to_string()
                            .lines()
                            .next()
                            .unwrap_or_default()
                            .to_owned();
                        if matches!(error, BuildError::Interrupted) {
                            stop.get_or_insert_with(|| "interrupted".to_owned());
                        } else {
                            failures.push(error);
                            if this.options.fail_fast {
                                stop.get_or_insert_with(|| {
                                    "stopped after a failure (--fail-fast)".to_owned()
                                });
                            }
                        }
                        StepReport::new(&steps[i], Outcome::Failed(first_line), duration, None)
                    }
                };
                this.reporter.finished(&report);
                reports[i] = Some(report);
                queue.finish(&i);
            }
        });
        if this.registry.interrupted() {
            return Err(BuildError::Interrupted);
        }
        let reason = stop.unwrap_or_else(|| "not reached".to_owned());
        let reports = reports
            .into_iter()
            .enumerate()
            .map(|(i, report)| {
                report.unwrap_or_else(|| {
                    StepReport::new(
                        &steps[i],
                        Outcome::NotStarted(reason.clone()),
                        Duration::ZERO,
                        None,
                    )
                })
            })
            .collect();
        Ok(BuildSummary { reports, failures })
    }

    /// The content key `step` gives its result. The keys of what it is built on come from
    /// `self.keys` (steps earlier in the plan) or from the images already built.
    fn step_key(&self, step: &Step) -> Result<ContentKey, BuildError> {
        match step.kind {
            StepKind::Core => core_key(
                &self.local_input(step.core.as_ref().expect("cores have inputs"))?,
                CORE_DOCKERFILE,
            ),
            StepKind::Builder => {
                let definition = self.definition(step);
                let base_key = match step.builds_in.as_ref().expect("builders run somewhere") {
                    BuildsIn::Core(core) => self.core_of(definition, core)?.1,
                    BuildsIn::Builder(builder) => self.key_of(
                        &StepId::Definition(builder.clone()),
                        &format!("{builder}:latest"),
                    )?,
                    BuildsIn::ParentState { .. } => unreachable!("builders do not run in states"),
                };
                definition_key(definition, Some(&base_key), None)
            }
            StepKind::Image => {
                let definition = self.definition(step);
                let parent_key = match step.parent.as_ref().expect("images have a parent") {
                    Parent::Scratch => None,
                    Parent::Step(parent) => Some(self.key_of(parent, &format!("{parent}:latest"))?),
                };
                let builder_key = match step.builds_in.as_ref().expect("images run somewhere") {
                    BuildsIn::Builder(builder) => Some(self.key_of(
                        &StepId::Definition(builder.clone()),
                        &format!("{builder}:latest"),
                    )?),
                    // The state is the parent's phase 1: the parent's key covers it.
                    BuildsIn::ParentState { .. } => None,
                    BuildsIn::Core(_) => unreachable!("images do not run in cores"),
                };
                definition_key(definition, parent_key.as_ref(), builder_key.as_ref())
            }
        }
    }

    /// Computes every step's key, in plan order (parents first), before anything runs: the
    /// steps can then run on several threads from shared, read-only state.
    fn compute_keys(&mut self) -> Result<(), BuildError> {
        for step in &self.plan.steps {
            let key = self.step_key(step)?;
            self.keys.insert(step.id.clone(), key);
        }
        Ok(())
    }

    /// `input` with its stage3 release and portage snapshot fetched and verified (or found in
    /// the cache): local files, which give the core its key (so a new release or snapshot
    /// changes it) and its mounts.
    fn local_input(&self, input: &CoreInput) -> Result<CoreInput, BuildError> {
        let lock = |m: &std::sync::Mutex<HashMap<CoreInput, CoreInput>>| {
            m.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .get(input)
                .cloned()
        };
        if let Some(local) = lock(&self.resolved) {
            return Ok(local);
        }
        let mut local = input.clone();
        if let Stage3::Release { .. } = &input.stage3 {
            local.stage3 = Stage3::File {
                path: self.fetch_release(input)?,
            };
        }
        if let PortageTree::Snapshot { url, date } = &input.portage {
            local.portage = PortageTree::Dir {
                path: self.fetch_snapshot(input, url.as_deref(), date)?,
            };
        }
        self.resolved
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(input.clone(), local.clone());
        Ok(local)
    }

    fn gentoo_keyring(&self) -> gbb_gentoo::Keyring {
        // Without -s, preflight made sure there is a keyring; with -s it is not used.
        self.options
            .gentoo
            .keyring
            .clone()
            .unwrap_or_else(gbb_gentoo::Keyring::empty)
    }

    /// Downloads, checks and unpacks the portage snapshot of a core, or finds it unpacked.
    fn fetch_snapshot(
        &self,
        input: &CoreInput,
        url: Option<&str>,
        date: &str,
    ) -> Result<PathBuf, BuildError> {
        let label = format!("core:{}", input.stage3.label());
        let mirrors = match &input.stage3 {
            Stage3::Release { mirrors, .. } => mirrors.clone(),
            Stage3::File { .. } => Vec::new(),
        };
        self.reporter
            .started(&label, &format!("fetching portage snapshot `{date}`"));
        let keyring = self.gentoo_keyring();
        let today = today();
        let request = gbb_gentoo::SnapshotRequest {
            mirrors: &mirrors,
            url,
            date,
            today: &today,
            cache: &self.options.paths.cache.join("portage"),
            keyring: &keyring,
            skip_signatures: self.options.gentoo.skip_signatures,
        };
        gbb_gentoo::fetch_snapshot(
            &gbb_gentoo::Downloader::default(),
            &request,
            self.reporter.download(),
        )
        .map_err(|source| BuildError::Snapshot { id: label, source })
    }

    /// Downloads and verifies the stage3 release of a core, or finds it in the cache.
    fn fetch_release(&self, input: &CoreInput) -> Result<PathBuf, BuildError> {
        let core = format!("core:{}", input.stage3.label());
        let Stage3::Release {
            base,
            date,
            arch,
            mirrors,
        } = &input.stage3
        else {
            unreachable!("called for releases")
        };
        let gentoo = &self.options.gentoo;
        let keyring = self.gentoo_keyring();
        self.reporter.started(
            &core.to_string(),
            &format!("finding stage3 `{base}` on {}", mirrors.join(" ")),
        );
        let cache = self.options.paths.cache.join("stage3");
        let request = gbb_gentoo::Stage3Request {
            mirrors,
            arch,
            base,
            date: date.as_deref(),
            cache: &cache,
            keyring: &keyring,
            skip_signatures: gentoo.skip_signatures,
        };
        let stage3 = gbb_gentoo::fetch_stage3(
            &gbb_gentoo::Downloader::default(),
            &request,
            self.reporter.download(),
        )
        .map_err(|source| BuildError::Stage3 { id: core, source })?;
        Ok(stage3.path)
    }

    /// Runs one step whose needs are done.
    fn run_step(&self, step: &Step) -> Result<(Outcome, Option<u64>), BuildError> {
        match step.kind {
            StepKind::Core => self.core(step),
            StepKind::Builder => self.builder(step),
            StepKind::Image => self.image(step),
        }
    }

    /// The label key of an existing image, if it exists.
    fn existing_key(&self, reference: &str) -> Result<Option<ContentKey>, BuildError> {
        let info = self
            .engine
            .inspect_image(reference)
            .map_err(BuildError::engine(format!("looking up `{reference}`")))?;
        Ok(info.and_then(|i| i.labels.get(KEY_LABEL).map(|k| ContentKey::from_label(k))))
    }

    /// The key of a step this plan depends on: computed when it is in the plan, else read from
    /// the image already built (`-n`, `-e`).
    fn key_of(&self, id: &StepId, reference: &str) -> Result<ContentKey, BuildError> {
        if let Some(key) = self.keys.get(id) {
            return Ok(key.clone());
        }
        self.existing_key(reference)?
            .ok_or_else(|| BuildError::NotBuilt { id: id.to_string() })
    }

    /// The core a definition's chain starts from (for its portage tree).
    fn core_input(&self, definition: &'a Definition) -> Option<&'a CoreInput> {
        let stack: &'a Stack = self.stack;
        let mut current = definition;
        for _ in 0..stack.definitions().len() + 1 {
            let next = match current.kind {
                Kind::Builder => match &current.base {
                    BuilderBase::Core { input, .. } => return Some(input),
                    BuilderBase::Builder(reference) => &reference.id,
                    BuilderBase::Missing => return None,
                },
                Kind::Image => {
                    match (&current.builder, &current.parent, &current.default_builder) {
                        (Some(builder), _, _) => &builder.id,
                        (None, Some(parent), _) => &parent.id,
                        (None, None, Some(builder)) => &builder.id,
                        (None, None, None) => return None,
                    }
                }
            };
            current = stack.get(next)?;
        }
        None
    }

    /// The core image a stack's builders start from: the stack's own core (`-C` made one)
    /// when it exists with this key, else the shared one (see [`core_names`]).
    fn core_image(&self, label: &str, key: &ContentKey) -> Result<String, BuildError> {
        let own = core_names::own_core(label, &self.stack_identity);
        Ok(if self.existing_key(&own)?.as_ref() == Some(key) {
            own
        } else {
            core_names::shared_core(label, key)
        })
    }

    /// The core a builder made from a stage3 runs in, and its key.
    fn core_of(
        &self,
        definition: &Definition,
        core: &StepId,
    ) -> Result<(String, ContentKey), BuildError> {
        let StepId::Core(label) = core else {
            unreachable!("a core id")
        };
        let key = match (self.keys.get(core), &definition.base) {
            (Some(key), _) => key.clone(),
            (None, BuilderBase::Core { input, .. }) => {
                core_key(&self.local_input(input)?, CORE_DOCKERFILE)?
            }
            (None, _) => unreachable!("builders that run in a core have a core input"),
        };
        Ok((self.core_image(label, &key)?, key))
    }

    fn core(&self, step: &Step) -> Result<(Outcome, Option<u64>), BuildError> {
        let StepId::Core(label) = &step.id else {
            unreachable!("core steps have core ids")
        };
        let input = self.local_input(step.core.as_ref().expect("cores have inputs"))?;
        let key = self.keys[&step.id].clone();
        // -C rebuilds this stack's own core and stage3 import; the shared ones, which other
        // stacks build on, are made once and never re-tagged.
        let own = self.options.force == Force::Everything;
        let core_image = if own {
            core_names::own_core(label, &self.stack_identity)
        } else {
            self.core_image(label, &key)?
        };
        if self.options.force < Force::Everything
            && self.existing_key(&core_image)?.as_ref() == Some(&key)
        {
            return Ok((Outcome::Skipped("up to date".to_owned()), None));
        }
        let Stage3::File { path: stage3 } = &input.stage3 else {
            unreachable!("local inputs have stage3 files")
        };
        // The stage3 import is keyed on its own (by the file alone), so that a change of
        // scripts or portage tree does not import it again.
        let stage3_key = core_key(
            &CoreInput {
                stage3: input.stage3.clone(),
                portage: PortageTree::Snapshot {
                    url: None,
                    date: String::new(),
                },
            },
            "",
        )?;
        let stage3_image = if own {
            core_names::own_stage3(label, &self.stack_identity)
        } else {
            core_names::shared_stage3(label, &stage3_key)
        };
        if own
            || self
                .engine
                .inspect_image(&stage3_image)
                .map_err(BuildError::engine("looking up the stage3"))?
                .is_none()
        {
            self.reporter.started(
                &step.id.to_string(),
                &format!("importing {}", stage3.display()),
            );
            self.engine
                .import_image(stage3, &stage3_image)
                .map_err(BuildError::engine(format!(
                    "importing stage3 `{}`",
                    stage3.display()
                )))?;
        }
        self.reporter
            .started(&step.id.to_string(), "building the core");
        let mut vars = BTreeMap::new();
        vars.insert("STAGE3_IMAGE".to_owned(), stage3_image);
        let dockerfile = render_template(CORE_DOCKERFILE, &vars);
        let mut generated: Vec<(String, &[u8], u32)> = crate::CONTAINER_SCRIPTS
            .iter()
            .map(|(name, text)| (format!("gbb/{name}"), text.as_bytes(), 0o755))
            .collect();
        generated.push(("Dockerfile".to_owned(), dockerfile.as_bytes(), 0o644));
        let generated: Vec<(&str, &[u8], u32)> = generated
            .iter()
            .map(|(n, b, m)| (n.as_str(), *b, *m))
            .collect();
        let context_path =
            context::write_context(&self.options.paths.runs(), None, &[], &generated)?;
        let log_path = self
            .options
            .paths
            .log(&format!("core/{}", image_name_part(label)));
        self.image_build(
            &step.id.to_string(),
            &context_path,
            vec![core_image.clone()],
            &key,
            &log_path,
        )?;
        drop(context_path);
        let size = self.size_of(&core_image)?;
        Ok((Outcome::Built, size))
    }

    fn size_of(&self, reference: &str) -> Result<Option<u64>, BuildError> {
        Ok(self
            .engine
            .inspect_image(reference)
            .map_err(BuildError::engine(format!("looking up `{reference}`")))?
            .map(|i| i.size))
    }

    /// Runs an image build, logging to `log_path`.
    fn image_build(
        &self,
        id: &str,
        context: &Path,
        tags: Vec<String>,
        key: &ContentKey,
        log_path: &Path,
    ) -> Result<String, BuildError> {
        if let Some(dir) = log_path.parent() {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
        }
        let mut log =
            std::io::BufWriter::new(std::fs::File::create(log_path).map_err(io(log_path))?);
        let labels = result_labels(&self.stack_identity, id, key);
        let request = BuildRequest {
            context: context.to_owned(),
            dockerfile: "Dockerfile".to_owned(),
            tags,
            labels,
        };
        let result = self.engine.build_image(&request, &mut |line| {
            let _ = writeln!(log, "{line}");
            self.reporter.log(id, line);
        });
        let _ = log.flush();
        result.map_err(|e| match e {
            // Ctrl-C: the engine stopped the build (see `Engine::cancel`).
            gbb_engine::EngineError::Cancelled { .. } => BuildError::Interrupted,
            e => BuildError::ImageBuildFailed {
                id: id.to_owned(),
                message: e.to_string(),
                log: log_path.to_owned(),
            },
        })
    }

    /// The environment of a build container: every BOB_* variable, and gbb's own.
    fn container_env(&self, definition: &Definition) -> Vec<String> {
        let mut env: Vec<String> = definition
            .config
            .vars()
            .into_iter()
            .filter(|(name, _)| name.starts_with("BOB_"))
            .map(|(name, var)| format!("{name}={}", var.value.joined()))
            .collect();
        env.push(format!("GBB_ID={}", definition.id));
        // Who ran gbb, as kubler passes it: hooks may give files they make to that user.
        let owner = Owner::of_this_process();
        env.push(format!("BOB_HOST_UID={}", owner.uid));
        env.push(format!("BOB_HOST_GID={}", owner.gid));
        env.push(format!("GBB_KIND={}", definition.kind.as_str()));
        env.push("EMERGE_ROOT=/emerge-root".to_owned());
        env.push("_EMERGE_ROOT=/emerge-root".to_owned());
        env.push(format!(
            "SOURCE_DATE_EPOCH={}",
            self.options.source_date_epoch
        ));
        env
    }

    /// The mounts of a build container; `packages` are the binary package cache's
    /// (`binpkgs.rs`).
    fn container_mounts(
        &self,
        definition: &'a Definition,
        packages: Vec<Mount>,
        output: &Path,
    ) -> Result<Vec<Mount>, BuildError> {
        let paths = &self.options.paths;
        let distfiles = paths.distfiles();
        std::fs::create_dir_all(&distfiles).map_err(io(&distfiles))?;
        let mut mounts = vec![
            Mount {
                source: absolute(&definition.dir)?,
                target: "/config".to_owned(),
                read_only: true,
            },
            Mount {
                source: absolute(&distfiles)?,
                target: "/distfiles".to_owned(),
                read_only: false,
            },
            Mount {
                source: absolute(output)?,
                target: "/gbb-out".to_owned(),
                read_only: false,
            },
        ];
        mounts.extend(packages);
        if let Some(input) = self.core_input(definition)
            && let PortageTree::Dir { path } = self.local_input(input)?.portage
        {
            mounts.push(Mount {
                source: absolute(&path)?,
                target: "/var/db/repos/gentoo".to_owned(),
                read_only: true,
            });
        }
        Ok(mounts)
    }

    /// The binary package cache of `step`'s builder chain: the chain's root builder (a
    /// builder's own, for a builder) and its content key, computed before anything ran (or
    /// read from its image, for `gbb shell`).
    fn package_cache(&self, step: &Step) -> Result<PackageCache, BuildError> {
        let definition = self.definition(step);
        let builder = match step.kind {
            StepKind::Builder => &definition.id,
            // The plan knows the root only when the chain's start is in it (not with -n).
            _ => match step.root_builder.as_ref() {
                Some(root) => root,
                None => self
                    .chain_root(definition)
                    .ok_or_else(|| BuildError::NotBuilt {
                        id: format!("the builder of {}", definition.id),
                    })?,
            },
        };
        let key = self.key_of(
            &StepId::Definition(builder.clone()),
            &format!("{builder}:latest"),
        )?;
        Ok(PackageCache::new(
            self.options.paths.packages(builder, &key),
        ))
    }

    /// The builder an image's chain of kept states starts in, found in the stack as the plan
    /// finds it: its own `BUILDER`, else its parent's root, else `DEFAULT_BUILDER`.
    fn chain_root(&self, definition: &'a Definition) -> Option<&'a ImageId> {
        let stack: &'a Stack = self.stack;
        let mut current = definition;
        for _ in 0..stack.definitions().len() + 1 {
            match (&current.builder, &current.parent, &current.default_builder) {
                (Some(builder), _, _) => return Some(&builder.id),
                (None, Some(parent), _) => current = stack.get(&parent.id)?,
                (None, None, Some(builder)) => return Some(&builder.id),
                (None, None, None) => return None,
            }
        }
        None
    }

    /// After a build container ended (`ran`): the packages it built go into the cache
    /// (also when it failed, so a retry does not compile them again), and what was refused
    /// is said in the log. Returns the container when it succeeded.
    fn take_packages(
        &self,
        id: &str,
        packages: PackageRun,
        ran: Result<String, BuildError>,
    ) -> Result<String, BuildError> {
        if matches!(ran, Err(BuildError::Interrupted)) {
            return ran;
        }
        let harvest = match packages.harvest() {
            Ok(harvest) => harvest,
            Err(error) => {
                return Err(match ran {
                    Ok(container) => self.discard(&container, error),
                    Err(first) => first,
                });
            }
        };
        if !harvest.refused.is_empty() {
            // Said in the step's log too: a refused file may be a hook's attempt at the cache.
            let log_path = self.options.paths.log(id);
            let mut log = std::fs::OpenOptions::new()
                .append(true)
                .open(&log_path)
                .ok();
            for (path, why) in &harvest.refused {
                let line = format!(
                    "gbb: not taken into the binary package cache: {} ({why})",
                    path.display()
                );
                if let Some(log) = log.as_mut() {
                    let _ = writeln!(log, "{line}");
                }
                self.reporter.log(id, &line);
            }
        }
        ran
    }

    fn container_spec(
        &self,
        definition: &'a Definition,
        image: &str,
        mode: &str,
        packages: Vec<Mount>,
        output: &Path,
    ) -> Result<ContainerSpec, BuildError> {
        let labels = container_labels(&self.stack_identity, definition.id.as_str());
        let mut spec = ContainerSpec {
            image: image.to_owned(),
            entrypoint: Some(vec!["/usr/local/lib/gbb/gbb-build".to_owned()]),
            name: None,
            cmd: vec![mode.to_owned()],
            env: self.container_env(definition),
            mounts: self.container_mounts(definition, packages, output)?,
            labels,
            cap_add: Vec::new(),
            security_opt: Vec::new(),
            tmpfs: BTreeMap::new(),
            working_dir: Some("/".to_owned()),
            interactive: false,
        };
        if definition.config.value("BUILDER_CAPS_SYS_PTRACE") == Some("true") {
            spec.cap_add.push("SYS_PTRACE".to_owned());
        }
        EngineSettings::read(self.stack, definition, &self.options.paths)?.apply_to(&mut spec);
        Ok(spec)
    }

    /// Creates and runs a container; returns its id once it exited with status 0. On failure
    /// the container is removed and the error names the failed step with the log's end.
    fn run_container(
        &self,
        id: &str,
        spec: &ContainerSpec,
        log_path: &Path,
    ) -> Result<String, BuildError> {
        if let Some(dir) = log_path.parent() {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
        }
        let file = std::fs::File::create(log_path).map_err(io(log_path))?;
        let container = self
            .engine
            .create_container(spec)
            .map_err(BuildError::engine(format!(
                "{id}: creating a container of `{}`",
                spec.image
            )))?;
        self.registry.add(&container);
        let mut log = RunLog {
            file: std::io::BufWriter::new(file),
            tail: VecDeque::new(),
            partial: Vec::new(),
            step: "setup".to_owned(),
            failed_step: None,
        };
        let result = self
            .engine
            .run_container(&container, &mut |bytes| log.bytes(bytes, id, self.reporter));
        if !log.partial.is_empty() {
            let rest = String::from_utf8_lossy(&std::mem::take(&mut log.partial)).into_owned();
            log.line(&rest, id, self.reporter);
        }
        let _ = log.file.flush();
        let failure = match result {
            Ok(0) if !self.registry.interrupted() => return Ok(container),
            _ if self.registry.interrupted() => BuildError::Interrupted,
            Ok(status) => BuildError::StepFailed {
                id: id.to_owned(),
                step: log.failed_step.clone().unwrap_or_else(|| log.step.clone()),
                status,
                log: log_path.to_owned(),
                tail: log.tail.iter().cloned().collect(),
            },
            Err(e) => BuildError::engine(format!("{id}: running `{}`", spec.image))(e),
        };
        Err(self.discard(&container, failure))
    }

    /// Removes a container after `error`, reporting both errors when the removal fails too.
    fn discard(&self, container: &str, error: BuildError) -> BuildError {
        // When the signal handler took the container off the list, it removes it.
        if !self.registry.remove(container) {
            return error;
        }
        match self.engine.remove_container(container) {
            Ok(()) => error,
            Err(cleanup) => BuildError::CleanupFailed {
                error: Box::new(error),
                container: container.to_owned(),
                cleanup,
            },
        }
    }

    /// Saves a finished container as `reference` and removes it; what its `mounts` added
    /// (the engine's mount points) is not kept.
    fn keep(
        &self,
        id: &str,
        container: &str,
        reference: &str,
        key: &ContentKey,
        mounts: &[Mount],
    ) -> Result<(), BuildError> {
        let mut labels = result_labels(&self.stack_identity, id, key);
        // A commit keeps the container's labels, and a container made from the state gets its
        // image's: without this, a user's `docker run` of a state would carry this run's owner
        // label and be taken for an orphan of it once this process is gone.
        labels.insert(crate::CONTAINER_LABEL.to_owned(), String::new());
        let stand_ins = mount_points::stand_ins(self.engine, id, container, mounts)
            .map_err(|e| self.discard(container, e))?;
        if let Err(e) = self.engine.commit_container(container, reference, &labels) {
            let error =
                BuildError::engine(format!("{id}: keeping the container as `{reference}`"))(e);
            return Err(self.discard(container, error));
        }
        let removed = self.engine.remove_container(container);
        self.registry.remove(container);
        removed.map_err(BuildError::engine(format!(
            "{id}: removing container `{container}`"
        )))?;
        if stand_ins.is_empty() {
            return Ok(());
        }
        mount_points::remove_from_state(
            self.engine,
            &self.registry,
            id,
            reference,
            &labels,
            &stand_ins,
        )
    }

    fn builder(&self, step: &Step) -> Result<(Outcome, Option<u64>), BuildError> {
        let definition = self.definition(step);
        let id = definition.id.to_string();
        let base_image = match step.builds_in.as_ref().expect("builders run somewhere") {
            BuildsIn::Core(core) => {
                let (image, key) = self.core_of(definition, core)?;
                if self.existing_key(&image)?.as_ref() != Some(&key) {
                    return Err(BuildError::NotBuilt {
                        id: core.to_string(),
                    });
                }
                image
            }
            BuildsIn::Builder(builder) => format!("{builder}:latest"),
            BuildsIn::ParentState { .. } => unreachable!("builders do not run in states"),
        };
        let key = self.keys[&step.id].clone();
        let reference = format!("{id}:latest");
        if self.options.force < Force::Builders
            && self.existing_key(&reference)?.as_ref() == Some(&key)
        {
            return Ok((Outcome::Skipped("up to date".to_owned()), None));
        }
        self.reporter
            .started(&id, &format!("configuring in {base_image}"));
        // The container writes into a folder of its own, removed when this returns.
        let run = RunDir::new(&self.options.paths, &id)?;
        let packages = self
            .package_cache(step)?
            .open_run(&self.options.paths.package_runs())?;
        let spec = self.container_spec(
            definition,
            &base_image,
            "builder",
            packages.mounts()?,
            run.path(),
        )?;
        let ran = self.run_container(&id, &spec, &self.options.paths.log(&id));
        let container = self.take_packages(&id, packages, ran)?;
        // Kept under a candidate name; the builder's tags move only once all went well.
        let candidate = candidate_of(&id);
        self.keep(&id, &container, &candidate, &key, &spec.mounts)?;
        let mut tags = vec![reference.clone()];
        if definition.tag != "latest" {
            tags.push(format!("{id}:{}", definition.tag));
        }
        self.promote(&id, &candidate, &tags)?;
        Ok((Outcome::Built, self.size_of(&reference)?))
    }

    /// Moves `tags` to the image tagged `candidate` and removes the candidate tag: the last
    /// part of a step, once everything else succeeded. When tagging fails, the candidate is
    /// removed (tags already moved stay: the engine has no way to move several at once).
    fn promote(&self, id: &str, candidate: &str, tags: &[String]) -> Result<(), BuildError> {
        for tag in tags {
            if let Err(e) = self.engine.tag_image(candidate, tag) {
                self.drop_candidate(candidate);
                return Err(BuildError::engine(format!("{id}: tagging `{tag}`"))(e));
            }
        }
        self.engine
            .remove_image(candidate)
            .map_err(BuildError::engine(format!(
                "{id}: removing tag `{candidate}`"
            )))
    }

    /// Removes a candidate after a failure. Quietly: the failure is what the user needs to
    /// read, and a candidate left behind is replaced by the next run (and `gbb clean` removes
    /// it). No look-up first: removing an image that is not there succeeds.
    fn drop_candidate(&self, candidate: &str) {
        let _ = self.engine.remove_image(candidate);
    }

    fn image(&self, step: &Step) -> Result<(Outcome, Option<u64>), BuildError> {
        let definition = self.definition(step);
        let id = definition.id.to_string();
        let run_image = match step.builds_in.as_ref().expect("images run somewhere") {
            BuildsIn::Builder(builder) => format!("{builder}:latest"),
            BuildsIn::ParentState { state, .. } => format!("{state}:latest"),
            BuildsIn::Core(_) => unreachable!("images do not run in cores"),
        };
        let key = self.keys[&step.id].clone();
        let reference = format!("{id}:latest");
        let state_name = step.state_name.as_deref().expect("images leave a state");
        let state = format!("{state_name}:latest");
        let output = self.options.paths.output(&id);
        let rootfs = output.join("rootfs.tar");
        let key_file = output.join("key");
        let image_current = self.existing_key(&reference)?.as_ref() == Some(&key);
        let state_current = self.existing_key(&state)?.as_ref() == Some(&key);
        // -f and -F force the images asked for (their parents are rebuilt only when they
        // changed); -C forces every step.
        let forced = self.options.force == Force::Everything
            || (self.options.force >= Force::Images && step.reason == Reason::Requested);
        if !forced && image_current && state_current {
            return Ok((Outcome::Skipped("up to date".to_owned()), None));
        }

        // Phase 1, unless only phase 2 is asked for (-f) and phase 1's output is current. Its
        // container writes into a folder of its own (removed when this returns, whatever
        // happened) and is kept as a candidate state: the state's tag and the outputs in
        // `.gbb/build` change only once the whole step succeeded.
        let phase1_current = state_current
            && outputs::open_regular(&rootfs).is_ok_and(|f| f.is_some())
            && outputs::read_text(&key_file, TEXT_LIMIT)
                .ok()
                .flatten()
                .as_deref()
                == Some(key.as_str());
        let mut phase1: Option<(RunDir, String)> = None;
        if (forced && self.options.force >= Force::ImagesPhase1) || !phase1_current {
            self.reporter
                .started(&id, &format!("phase 1 in {run_image}"));
            let run = RunDir::new(&self.options.paths, &id)?;
            let packages = self
                .package_cache(step)?
                .open_run(&self.options.paths.package_runs())?;
            let spec = self.container_spec(
                definition,
                &run_image,
                "image",
                packages.mounts()?,
                run.path(),
            )?;
            let log_path = self.options.paths.log(&id);
            let ran = self.run_container(&id, &spec, &log_path);
            let container = self.take_packages(&id, packages, ran)?;
            match run.regular_file("rootfs.tar") {
                Ok(Some(_)) => {}
                Ok(None) => {
                    let error = BuildError::StepFailed {
                        id: id.clone(),
                        step: "rootfs.tar".to_owned(),
                        status: 1,
                        log: log_path,
                        tail: vec!["phase 1 ended without writing /gbb-out/rootfs.tar".to_owned()],
                    };
                    return Err(self.discard(&container, error));
                }
                Err(error) => return Err(self.discard(&container, error)),
            }
            let state_candidate = candidate_of(state_name);
            self.keep(&id, &container, &state_candidate, &key, &spec.mounts)?;
            phase1 = Some((run, state_candidate));
        }
        let image_candidate = candidate_of(&id);
        let result = self.image_phase2(
            step,
            &key,
            phase1.as_ref().map(|(run, state)| (run, state.as_str())),
            &image_candidate,
        );
        if result.is_err() {
            self.drop_candidate(&image_candidate);
            if let Some((_, state_candidate)) = &phase1 {
                self.drop_candidate(state_candidate);
            }
        }
        result
    }

    /// Phase 2 and the end of an image step: builds the image as `candidate` from the root
    /// file system of this run's phase 1 (`phase1`: its folder and candidate state) or of an
    /// earlier one, runs `build-test.sh` and the health check on it, and only then writes
    /// `PACKAGES.md`, moves phase 1's outputs into `.gbb/build/<ns>/<name>/` with the key, and
    /// moves the state's and the image's tags. The caller removes the candidates on failure.
    fn image_phase2(
        &self,
        step: &Step,
        key: &ContentKey,
        phase1: Option<(&RunDir, &str)>,
        candidate: &str,
    ) -> Result<(Outcome, Option<u64>), BuildError> {
        let definition = self.definition(step);
        let id = definition.id.to_string();
        let output = self.options.paths.output(&id);
        // Where this image's phase 1 outputs are: this run's folder, or the kept ones.
        let outputs_dir = phase1.map_or(output.clone(), |(run, _)| run.path().to_owned());
        self.reporter.started(&id, "phase 2");
        let dockerfile = template::render_image(definition, &parent_image(step))?;
        let context_path = context::write_context(
            &self.options.paths.runs(),
            Some(&definition.dir),
            &[("rootfs.tar", &outputs_dir.join("rootfs.tar"))],
            &[("Dockerfile", dockerfile.as_bytes(), 0o644)],
        )?;
        // Built under a candidate tag first: the image's own tags move only once it passed
        // its tests, so a failure leaves the previous image tagged as it was.
        let log_path = self.options.paths.log(&format!("{id}.phase2"));
        self.image_build(
            &id,
            &context_path,
            vec![candidate.to_owned()],
            key,
            &log_path,
        )?;
        drop(context_path);
        if definition.dir.join("build-test.sh").is_file() {
            self.reporter.started(&id, "build-test.sh");
            self.build_test(definition, candidate)?;
        }
        if definition.config.value("POST_BUILD_HC") == Some("true") {
            self.health_check(definition, candidate)?;
        }

        // All passed: what the user sees changes now, the files first (a full disk stops
        // the step before any tag moved).
        let size = self.size_of(candidate)?;
        self.write_packages_md(definition, size.unwrap_or(0), &outputs_dir)?;
        if let Some((run, state_candidate)) = phase1 {
            let key_file = output.join("key");
            // No key while the outputs change: a half-done move is never taken as current.
            match std::fs::remove_file(&key_file) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(&key_file)(e)),
            }
            run.take_into(&KEPT_OUTPUTS, &output, Owner::of_this_process())?;
            // BOB_KEEP_BUILD_LOG: Portage's build logs, next to the outputs.
            run.take_folder_into("portage-logs", &output, Owner::of_this_process())?;
            outputs::write_file(&key_file, key.as_str().as_bytes())?;
            let state = step.state_name.as_deref().expect("images leave a state");
            self.promote(&id, state_candidate, &[format!("{state}:latest")])?;
        }
        let mut tags = vec![format!("{id}:latest")];
        if definition.tag != "latest" {
            tags.push(format!("{id}:{}", definition.tag));
        }
        self.promote(&id, candidate, &tags)?;
        Ok((Outcome::Built, size))
    }

    /// Runs the image folder's `build-test.sh` inside the new image.
    fn build_test(&self, definition: &'a Definition, image: &str) -> Result<(), BuildError> {
        let id = definition.id.to_string();
        let labels = container_labels(&self.stack_identity, &id);
        let spec = ContainerSpec {
            image: image.to_owned(),
            entrypoint: Some(vec!["/bin/sh".to_owned()]),
            cmd: vec!["/gbb-test/build-test.sh".to_owned()],
            mounts: vec![Mount {
                source: absolute(&definition.dir)?,
                target: "/gbb-test".to_owned(),
                read_only: true,
            }],
            labels,
            ..ContainerSpec::default()
        };
        let log_path = self.options.paths.log(&format!("{id}.test"));
        let container = self
            .run_container(&id, &spec, &log_path)
            .map_err(|e| match e {
                BuildError::StepFailed {
                    id,
                    status,
                    log,
                    tail,
                    ..
                } => BuildError::StepFailed {
                    id,
                    step: "build-test.sh".to_owned(),
                    status,
                    log,
                    tail,
                },
                other => other,
            })?;
        let removed = self.engine.remove_container(&container);
        self.registry.remove(&container);
        removed.map_err(BuildError::engine(format!(
            "{id}: removing the test container"
        )))
    }

    /// `POST_BUILD_HC=true`: starts the new image and waits for its HEALTHCHECK to pass,
    /// at most `POST_BUILD_HC_MAX_DURATION` seconds (30 by default).
    fn health_check(&self, definition: &'a Definition, image: &str) -> Result<(), BuildError> {
        let id = definition.id.to_string();
        let limit = definition
            .config
            .value("POST_BUILD_HC_MAX_DURATION")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(30);
        self.reporter.started(
            &id,
            &format!("waiting for its HEALTHCHECK (at most {limit} s)"),
        );
        let labels = container_labels(&self.stack_identity, &id);
        let spec = ContainerSpec {
            image: image.to_owned(),
            labels,
            ..ContainerSpec::default()
        };
        let container = self
            .engine
            .create_container(&spec)
            .map_err(BuildError::engine(format!(
                "{id}: creating the health check container"
            )))?;
        self.registry.add(&container);
        let started = Instant::now();
        let outcome = (|| {
            self.engine
                .start_container(&container)
                .map_err(BuildError::engine(format!(
                    "{id}: starting the health check container"
                )))?;
            loop {
                if self.registry.interrupted() {
                    return Err(BuildError::Interrupted);
                }
                let status =
                    self.engine
                        .container_health(&container)
                        .map_err(BuildError::engine(format!(
                            "{id}: reading the health status"
                        )))?;
                let failed = |reason: String| {
                    Err(BuildError::HealthCheckFailed {
                        id: id.clone(),
                        reason,
                    })
                };
                match status.as_deref() {
                    Some("healthy") => return Ok(()),
                    Some("unhealthy") => {
                        return failed("its HEALTHCHECK reported `unhealthy`".to_owned());
                    }
                    Some("exited") => {
                        return failed(
                            "the container exited before its HEALTHCHECK passed".to_owned(),
                        );
                    }
                    None => {
                        return failed(
                            "POST_BUILD_HC is true, but the image has no HEALTHCHECK".to_owned(),
                        );
                    }
                    Some(_) if started.elapsed() > Duration::from_secs(limit) => {
                        return failed(format!("its HEALTHCHECK did not pass within {limit} s"));
                    }
                    Some(_) => std::thread::sleep(Duration::from_millis(250)),
                }
            }
        })();
        match outcome {
            Ok(()) => {
                if !self.registry.remove(&container) {
                    return Err(BuildError::Interrupted);
                }
                self.engine
                    .remove_container(&container)
                    .map_err(BuildError::engine(format!(
                        "{id}: removing the health check container"
                    )))
            }
            Err(e) => Err(self.discard(&container, e)),
        }
    }

    /// Writes the image folder's `PACKAGES.md`: what the image installed (from `own`,
    /// its phase 1 outputs) and what its ancestors did (from their kept outputs). Every file is
    /// read as untrusted text (see `outputs.rs`).
    fn write_packages_md(
        &self,
        definition: &Definition,
        size: u64,
        own: &Path,
    ) -> Result<(), BuildError> {
        let paths = &self.options.paths;
        let installed = packages_md::read_packages(&own.join("packages.tsv"))?;
        let mut ancestors: Vec<(String, Vec<Installed>)> = Vec::new();
        let mut next = definition.parent.as_ref().map(|p| p.id.clone());
        while let Some(parent) = next {
            let packages =
                packages_md::read_packages(&paths.output(parent.as_str()).join("packages.tsv"))?;
            next = self
                .stack
                .get(&parent)
                .and_then(|d| d.parent.as_ref().map(|p| p.id.clone()));
            ancestors.push((parent.to_string(), packages));
        }
        let purged: Vec<String> = outputs::read_text(&own.join("purged.txt"), TEXT_LIMIT)?
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect();
        let text = packages_md::render(
            definition.id.as_str(),
            &definition.tag,
            size,
            &installed,
            &ancestors,
            &purged,
        );
        outputs::write_file(&definition.dir.join("PACKAGES.md"), text.as_bytes())
    }
}

/// What an image step's template sees as `IMAGE_PARENT`.
fn parent_image(step: &Step) -> String {
    match step.parent.as_ref().expect("images have a parent") {
        Parent::Scratch => "scratch".to_owned(),
        Parent::Step(parent) => format!("{parent}:latest"),
    }
}

/// Today as `YYYYMMDD` (UTC), for naming the daily `latest` snapshot.
fn today() -> String {
    jiff::Timestamp::now().strftime("%Y%m%d").to_string()
}

#[cfg(test)]
mod tests {
    use super::image_name_part;

    #[test]
    fn image_names_from_labels() {
        assert_eq!(
            image_name_part("stage3-amd64-hardened+nomultilib-2026"),
            "stage3-amd64-hardened-nomultilib-2026"
        );
        assert_eq!(
            image_name_part("test-build-root.tar"),
            "test-build-root-tar"
        );
        assert_eq!(image_name_part("+++"), "core");
    }
}
