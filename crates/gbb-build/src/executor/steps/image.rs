//! An image step: phase 1 in a build container (its builder, or its parent's kept state),
//! its programs checked for their loader and libraries (`loader_check.rs`), kept as this
//! image's state when an image of the stack builds in it (else removed); phase 2 builds the
//! image from the root file system phase 1 left; `build-test.sh` and the health check run on
//! it; only then do `PACKAGES.md`, the kept outputs and the tags change.

use gbb_engine::ImageRef;
use gbb_plan::{ImageBuildsIn, ImageStep, Reason};
use gbb_stack::Definition;

use super::super::container::Mode;
use super::super::options::Force;
use super::super::sbom::KeptSbom;
use super::super::schedule::{Done, StepResult};
use super::super::{Build, step_container};
use crate::binpkg_index::{self, IndexStamp};
use crate::error::io;
use crate::outputs::{self, KEPT_OUTPUTS, Owner, RunDir, TEXT_LIMIT};
use crate::packages_md::{self, Installed};
use crate::{BuildError, ContentKey, Why, loader_check, names};

/// What an image step's template sees as `IMAGE_PARENT`.
pub(crate) fn parent_image(step: &ImageStep) -> String {
    match &step.parent {
        None => "scratch".to_owned(),
        Some(parent) => names::latest(parent).to_string(),
    }
}

/// The image an image step's phase 1 runs in: its builder, or its parent's kept state.
pub(crate) fn run_image(step: &ImageStep) -> ImageRef {
    match &step.builds_in {
        ImageBuildsIn::Builder(builder) => names::latest(builder),
        ImageBuildsIn::ParentState { state, .. } => names::state(state),
    }
}

impl Build<'_> {
    pub(in super::super) fn image(&self, step: &ImageStep) -> StepResult {
        let definition = self.definition(step.definition);
        let id = definition.id.to_string();
        let run_image = run_image(step);
        let key = self.key_of_step(&step.id);
        let output = self.options.paths.output(&id);
        let rootfs = output.join("rootfs.tar");
        let key_file = output.join("key");
        let status = self.image_status(step)?;
        let state_current = status.state_current;
        // -f and -F force the images asked for (their parents are rebuilt only when they
        // changed); -C forces every step.
        let forced = self.options.force == Force::Everything
            || (self.options.force >= Force::Images && step.reason == Reason::Requested);
        let why = match status.why {
            Why::UpToDate if forced => Why::Forced(self.options.force.flag()),
            Why::UpToDate => return Ok(Done::up_to_date()),
            why => why,
        };

        // Phase 1, unless only phase 2 is asked for (-f) and phase 1's output is current. Its
        // container writes into a folder of its own (removed when this returns, whatever
        // happened) and, when a child builds in it, is kept as a candidate state: the state's
        // tag and the outputs in `.gbb/build` change only once the whole step succeeded. An
        // image nothing builds in keeps no state: its container is removed once phase 1's
        // outputs are checked, and its merge into the container's own `/` was skipped.
        let phase1_current = state_current
            && outputs::open_regular(&rootfs).is_ok_and(|f| f.is_some())
            && outputs::read_text(&key_file, TEXT_LIMIT)
                .ok()
                .flatten()
                .as_deref()
                == Some(key.as_str());
        let mut phase1: Option<Phase1Run> = None;
        if (forced && self.options.force >= Force::ImagesPhase1) || !phase1_current {
            self.reporter
                .started(&id, &format!("phase 1 in {run_image}"));
            let run = self.run_phase1(step, &run_image)?;
            // Can every program be loaded? Asked before the container is kept, so a failure
            // leaves no candidate state and moves no tag.
            if let Err(error) = loader_check::check_phase1(
                self.stack,
                &self.options.paths,
                self.reporter,
                definition,
                &step.ancestors,
                &run.run,
            ) {
                return Err(self.discard(&run.container, error));
            }
            phase1 = Some(run);
        }
        let image_candidate = names::candidate(definition.id.as_str());
        let state_candidate =
            (phase1.is_some() && step.keeps_state).then(|| names::candidate(&step.state));
        let result = std::thread::scope(|scope| {
            // The finished container is kept as the candidate state (a commit) or removed
            // while phase 2 writes the image: neither needs the other, and on a warm rebuild
            // the two engine calls cost as much as phase 2 itself. Phase 2 waits for it
            // (`settled`) before anything users see changes.
            let settling = phase1.as_ref().map(|run| {
                scope.spawn(|| match &state_candidate {
                    Some(candidate) => self.keep(&step.id, &run.container, candidate, &run.mounts),
                    None => self.remove(
                        &id,
                        &run.container,
                        &format!("container `{}`", run.container),
                    ),
                })
            });
            let settled = move || match settling {
                None => Ok(()),
                Some(handle) => handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            };
            self.image_phase2(
                step,
                key,
                phase1
                    .as_ref()
                    .map(|run| (&run.run, state_candidate.as_ref())),
                &image_candidate,
                settled,
            )
            .map(|size| Done::built(why, size))
        });
        match result {
            Err(error) => {
                let candidates: Vec<&ImageRef> = std::iter::once(&image_candidate)
                    .chain(&state_candidate)
                    .collect();
                Err(self.drop_candidates(error, &candidates))
            }
            Ok(done) => {
                if !step.keeps_state {
                    // A state kept when something built in it, which nothing does any more.
                    self.drop_stale_state(&names::state(&step.state));
                }
                Ok(done)
            }
        }
    }

    /// Phase 2 and the end of an image step: builds the image as `candidate` from the root
    /// file system of this run's phase 1 (`phase1`: its folder and candidate state) or of an
    /// earlier one, runs `build-test.sh` and the health check on it, and only then makes the
    /// SBOM (`executor/sbom.rs`), writes `PACKAGES.md` from it, moves phase 1's outputs into
    /// `.gbb/build/<ns>/<name>/` with the SBOM files and the key, and moves the state's and
    /// the image's tags. `settled` waits for phase 1's container to be kept as the state
    /// candidate or removed, and says whether that worked. The caller removes the candidates
    /// on failure.
    fn image_phase2(
        &self,
        step: &ImageStep,
        key: &ContentKey,
        phase1: Option<(&RunDir, Option<&ImageRef>)>,
        candidate: &ImageRef,
        settled: impl FnOnce() -> Result<(), BuildError>,
    ) -> Result<Option<u64>, BuildError> {
        let definition = self.definition(step.definition);
        let id = definition.id.to_string();
        let output = self.options.paths.output(&id);
        // Where this image's phase 1 outputs are: this run's folder, or the kept ones.
        let outputs_dir = phase1.map_or(output.clone(), |(run, _)| run.path().to_owned());
        self.reporter.started(&id, "phase 2");
        let template = self.prepared.template(step.definition);
        // Written by gbb (`image_phase2.rs`) and loaded under a candidate tag first: the
        // image's own tags move only once it passed its tests, so a failure leaves the
        // previous image tagged as it was.
        let store = gbb_image::BlobStore::open(self.options.paths.image_store())
            .map_err(crate::error::image_error(&id))?;
        let written = self.write_phase2_image(
            step,
            definition,
            template,
            &outputs_dir.join("rootfs.tar"),
            &super::image_phase2::ImageTarget {
                store: &store,
                parents: (&store, &self.options.paths),
                load_as: Some(candidate),
            },
        )?;
        if definition.dir.join("build-test.sh").is_file() {
            self.reporter.started(&id, "build-test.sh");
            self.build_test(definition, candidate)?;
        }
        if let Some(check) = &definition.settings.health_check {
            self.health_check(definition, candidate, check.max_duration)?;
        }

        // Phase 1's container kept or removed (it ran beside all of the above).
        settled()?;
        // All passed: what the user sees changes now, the files first (a full disk stops
        // the step before any tag moved).
        let size = self.size_of(candidate)?;
        let sbom = self.image_sbom(step, definition, &outputs_dir, phase1.is_some())?;
        self.write_packages_md(step, definition, size.unwrap_or(0), &outputs_dir, &sbom)?;
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
            sbom.keep(&output)?;
            outputs::write_file(&key_file, key.as_str().as_bytes())?;
            if let Some(state_candidate) = state_candidate {
                self.promote(&id, state_candidate, &[names::state(&step.state)])?;
            }
        } else {
            sbom.keep(&output)?;
        }
        crate::image_store::write_manifest_digest(
            &self.options.paths,
            &id,
            written.image.digest(),
        )?;
        self.promote(&id, candidate, &names::final_tags(definition))?;
        Ok(size)
    }

    /// Writes the image folder's `PACKAGES.md`: from the image's SBOM, so the two cannot
    /// disagree; without one (outputs of a gbb that collected no `pkgdb.tar`, see
    /// `executor/sbom.rs`), from `packages.tsv` of the image (`own`, its phase 1 outputs) and
    /// of its ancestors (their kept outputs). Every file is read as untrusted text (see
    /// `outputs.rs`).
    fn write_packages_md(
        &self,
        step: &ImageStep,
        definition: &Definition,
        size: u64,
        own: &std::path::Path,
        sbom: &KeptSbom,
    ) -> Result<(), BuildError> {
        let purged: Vec<String> = outputs::read_text(&own.join("purged.txt"), TEXT_LIMIT)?
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect();
        if let Some(text) = sbom.packages_md(size, &purged) {
            return outputs::write_file(&definition.dir.join("PACKAGES.md"), text.as_bytes());
        }
        let paths = &self.options.paths;
        let installed: Vec<(String, String, String)> =
            packages_md::read_packages(&own.join("packages.tsv"))?
                .into_iter()
                .map(|p: Installed| {
                    let (use_flags, license) =
                        (p.use_flags.trim().to_owned(), p.license.trim().to_owned());
                    (p.cpv, use_flags, license)
                })
                .collect();
        let mut ancestors: Vec<(String, Vec<String>)> = Vec::new();
        for ancestor in &step.ancestors {
            let packages =
                packages_md::read_packages(&paths.output(ancestor.as_str()).join("packages.tsv"))?;
            ancestors.push((
                ancestor.to_string(),
                packages.into_iter().map(|p| p.cpv).collect(),
            ));
        }
        let text = gbb_sbom::render_packages_md(
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

/// A finished phase-1 container and what it left: the run's folder, its `rootfs.tar`
/// (checked to be a regular file), the stopped container (not yet kept or removed) and the
/// mounts it had.
pub(in super::super) struct Phase1Run {
    pub(in super::super) run: RunDir,
    pub(in super::super) rootfs: std::path::PathBuf,
    pub(in super::super) container: String,
    pub(in super::super) mounts: Vec<gbb_engine::Mount>,
}

impl Build<'_> {
    /// Runs phase 1 of `step` in `run_image` (its builder or its parent's kept state), with
    /// the binary packages of its chain, into a run folder of its own; the build and
    /// `gbb verify` share it. A container that ended without writing `rootfs.tar` is removed
    /// and the step fails.
    pub(in super::super) fn run_phase1(
        &self,
        step: &ImageStep,
        run_image: &ImageRef,
    ) -> Result<Phase1Run, BuildError> {
        let id = self.definition(step.definition).id.to_string();
        let run = RunDir::new(&self.options.paths, &id)?;
        let root = step
            .root_builder
            .as_ref()
            .ok_or_else(|| BuildError::NotBuilt {
                id: format!("the builder of {id}"),
            })?;
        // The cache's index as this image's last run left it, when the cache is as it was
        // then (`binpkg_index.rs`): the container need not make it again.
        let cache = self.package_cache(root)?;
        let key = self.key_of_step(&step.id);
        let stamp = IndexStamp::of(&cache, key)?;
        let packages = cache.open_run(&self.options.paths.package_runs())?;
        binpkg_index::offer(&self.options.paths.output(&id), &stamp, &packages)?;
        let spec = step_container(
            &self.prepared,
            self.stack,
            self.options,
            step.definition,
            step.core.as_ref(),
            run_image,
            Mode::Image {
                keeps_state: step.keeps_state,
            },
            run.path(),
            packages.mounts()?,
        )?;
        let log_path = self.options.paths.log(&id);
        let ran = self.run_container(&id, &spec, &log_path);
        let container = self.take_packages(&id, packages, ran)?;
        if let Err(error) =
            IndexStamp::of(&cache, key).and_then(|after| binpkg_index::record(&run, &stamp, &after))
        {
            return Err(self.discard(&container, error));
        }
        match run.regular_file("rootfs.tar") {
            Ok(Some(rootfs)) => Ok(Phase1Run {
                run,
                rootfs,
                container,
                mounts: spec.mounts,
            }),
            Ok(None) => {
                let error = BuildError::StepFailed {
                    id,
                    step: "rootfs.tar".to_owned(),
                    status: 1,
                    log: log_path,
                    tail: vec!["phase 1 ended without writing /gbb-out/rootfs.tar".to_owned()],
                };
                Err(self.discard(&container, error))
            }
            Err(error) => Err(self.discard(&container, error)),
        }
    }
}
