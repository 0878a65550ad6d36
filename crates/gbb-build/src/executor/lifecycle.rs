//! The life of what a step makes on the engine: containers run and removed, kept as images,
//! images built from a context, tags moved once a step succeeded.
//!
//! Every container is in the [`crate::ContainerRegistry`] from its creation to its removal,
//! so Ctrl-C and a failure remove it; every new result is tagged as a candidate
//! ([`crate::names::candidate`]) until its step succeeded, so a failure leaves the tags users
//! see where they were.

use std::io::Write;
use std::path::Path;

use gbb_engine::{BuildRequest, ContainerSpec, EngineError, ImageRef, Mount};
use gbb_plan::StepId;
use gbb_stack::ImageId;

use super::Build;
use super::log::RunLog;
use crate::binpkgs::{PackageCache, PackageRun};
use crate::error::io;
use crate::labels::result_labels;
use crate::{BuildError, ContentKey, mount_points, names};

impl Build<'_> {
    /// The labels of the result of `step`: its key and what the key is made of.
    fn result_labels(&self, step: &StepId) -> std::collections::BTreeMap<String, String> {
        let keys = &self.prepared.keys;
        result_labels(
            &self.prepared.stack_identity,
            &step.to_string(),
            keys.step(step),
            keys.record(step),
        )
    }

    /// The content key `reference` carries, if it exists.
    pub(super) fn existing_key(
        &self,
        reference: &ImageRef,
    ) -> Result<Option<ContentKey>, BuildError> {
        super::existing_key(self.engine, reference)
    }

    pub(super) fn size_of(&self, reference: &ImageRef) -> Result<Option<u64>, BuildError> {
        Ok(self
            .engine
            .inspect_image(&reference.to_string())
            .map_err(BuildError::engine(format!("looking up `{reference}`")))?
            .map(|i| i.size))
    }

    /// Runs an image build, logging to `log_path`.
    pub(super) fn image_build(
        &self,
        step: &StepId,
        context: &Path,
        tags: &[ImageRef],
        log_path: &Path,
    ) -> Result<(), BuildError> {
        let id = &step.to_string();
        if let Some(dir) = log_path.parent() {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
        }
        let mut log =
            std::io::BufWriter::new(std::fs::File::create(log_path).map_err(io(log_path))?);
        let request = BuildRequest {
            context: context.to_owned(),
            dockerfile: "Dockerfile".to_owned(),
            tags: tags.to_vec(),
            labels: self.result_labels(step),
        };
        let result = self.engine.build_image(&request, &mut |line| {
            let _ = writeln!(log, "{line}");
            self.reporter.log(id, line, super::LogEvent::parse(line));
        });
        let _ = log.flush();
        result.map(drop).map_err(|e| match e {
            // Ctrl-C: the engine stopped the build (see `Engine::cancel`).
            gbb_engine::EngineError::Cancelled { .. } => BuildError::Interrupted,
            e => BuildError::ImageBuildFailed {
                id: id.to_owned(),
                message: e.to_string(),
                log: log_path.to_owned(),
            },
        })
    }

    /// Creates and runs a container; returns its id once it exited with status 0. On failure
    /// the container is removed and the error names the failed step with the log's end.
    pub(super) fn run_container(
        &self,
        id: &str,
        spec: &ContainerSpec,
        log_path: &Path,
    ) -> Result<String, BuildError> {
        self.run_container_logged(id, spec, log_path, LogStart::Fresh(None))
    }

    /// [`Build::run_container`] with the log started as `start` says.
    pub(super) fn run_container_logged(
        &self,
        id: &str,
        spec: &ContainerSpec,
        log_path: &Path,
        start: LogStart<'_>,
    ) -> Result<String, BuildError> {
        if let Some(dir) = log_path.parent() {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
        }
        let (file, header) = match start {
            LogStart::Fresh(header) => (std::fs::File::create(log_path), header),
            LogStart::After(header) => (
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(log_path),
                Some(header),
            ),
        };
        let mut file = file.map_err(io(log_path))?;
        if let Some(header) = header {
            std::io::Write::write_all(&mut file, format!("{header}\n").as_bytes())
                .map_err(io(log_path))?;
        }
        let container = self
            .engine
            .create_container(spec)
            .map_err(BuildError::engine(format!(
                "{id}: creating a container of `{}`",
                spec.image
            )))?;
        self.registry.add(&container);
        let mut log = RunLog::new(file, id, self.reporter);
        let result = self
            .engine
            .run_container(&container, &mut |bytes| log.bytes(bytes));
        log.finish();
        let failure = match result {
            Ok(0) if !self.registry.interrupted() => return Ok(container),
            _ if self.registry.interrupted() => BuildError::Interrupted,
            Ok(status) => BuildError::StepFailed {
                id: id.to_owned(),
                step: log.failed_step(),
                status,
                log: log_path.to_owned(),
                tail: log.tail(),
            },
            Err(e) => BuildError::engine(format!("{id}: running `{}`", spec.image))(e),
        };
        Err(self.discard(&container, failure))
    }

    /// Removes a finished container that is not kept.
    pub(super) fn remove(&self, id: &str, container: &str, what: &str) -> Result<(), BuildError> {
        let removed = self.engine.remove_container(container);
        self.registry.remove(container);
        removed.map_err(BuildError::engine(format!("{id}: removing {what}")))
    }

    /// Removes a container after `error`, reporting both errors when the removal fails too.
    pub(super) fn discard(&self, container: &str, error: BuildError) -> BuildError {
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
    pub(super) fn keep(
        &self,
        step: &StepId,
        container: &str,
        reference: &ImageRef,
        mounts: &[Mount],
    ) -> Result<(), BuildError> {
        let id = &step.to_string();
        let mut labels = self.result_labels(step);
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
        self.remove(id, container, &format!("container `{container}`"))?;
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

    /// Moves `tags` to the image tagged `candidate` and removes the candidate tag: the last
    /// part of a step, once everything else succeeded. When tagging fails, the candidate is
    /// removed (tags already moved stay: the engine has no way to move several at once).
    pub(super) fn promote(
        &self,
        id: &str,
        candidate: &ImageRef,
        tags: &[ImageRef],
    ) -> Result<(), BuildError> {
        let source = candidate.to_string();
        for tag in tags {
            if let Err(e) = self.engine.tag_image(&source, tag) {
                let error = BuildError::engine(format!("{id}: tagging `{tag}`"))(e);
                return Err(self.drop_candidates(error, &[candidate]));
            }
        }
        self.engine
            .remove_image(&source)
            .map_err(BuildError::engine(format!("{id}: removing tag `{source}`")))
    }

    /// Removes the `candidates` of a step that failed with `error`, and returns the error to
    /// report: `error` itself, or, when a candidate could not be removed, `error` with that
    /// added ([`BuildError::CandidateLeft`]), so that nothing is left behind unsaid. No
    /// look-up first: removing an image that is not there succeeds. An interruption is
    /// returned as it is (its exit code depends on it), after the same attempt.
    pub(super) fn drop_candidates(
        &self,
        error: BuildError,
        candidates: &[&ImageRef],
    ) -> BuildError {
        candidates.iter().fold(error, |error, candidate| {
            match self.remove_candidate(candidate) {
                Ok(()) => error,
                Err(_) if matches!(error, BuildError::Interrupted) => error,
                Err(cleanup) => BuildError::CandidateLeft {
                    error: Box::new(error),
                    candidate: candidate.to_string(),
                    cleanup,
                },
            }
        })
    }

    /// Removes a candidate image. An engine may still hold a container removed a moment ago:
    /// an image "in use" is asked again, a few times within a second. Then the removal is
    /// forced: a candidate is gbb's own, only this step's checks ran from it, and Podman
    /// can keep a container whose removal failed halfway in its storage, unlisted, holding
    /// the image for good (what [`Engine::force_remove_image`] clears).
    fn remove_candidate(&self, candidate: &ImageRef) -> Result<(), EngineError> {
        let reference = candidate.to_string();
        for _ in 0..4 {
            match self.engine.remove_image(&reference) {
                Err(EngineError::InUse { .. }) => {
                    std::thread::sleep(std::time::Duration::from_millis(250));
                }
                outcome => return outcome,
            }
        }
        self.engine.force_remove_image(&reference)
    }

    /// Removes the tag of a builder state its image no longer keeps (nothing in the stack
    /// builds in it now), once the image was built without it; only a state this stack made
    /// (another stack with the same namespace may keep one under the name). Quietly, as a
    /// candidate: a state a user's container still uses stays, and nothing reads it.
    pub(super) fn drop_stale_state(&self, state: &ImageRef) {
        let reference = state.to_string();
        let ours = self.engine.inspect_image(&reference).is_ok_and(|info| {
            info.is_some_and(|info| {
                info.labels.get(crate::STACK_LABEL) == Some(&self.prepared.stack_identity)
            })
        });
        if ours {
            let _ = self.engine.remove_image(&reference);
        }
    }

    /// The binary package cache of the chain whose root builder is `root`: a folder per root
    /// builder and its content key (`binpkgs.rs`).
    pub(super) fn package_cache(&self, root: &ImageId) -> Result<PackageCache, BuildError> {
        let key = self.prepared.keys.built(root, &self.prepared.inputs)?;
        Ok(PackageCache::new(self.options.paths.packages(root, &key)))
    }

    /// After a build container ended (`ran`): the packages it built go into the cache
    /// (also when it failed, so a retry does not compile them again), and what was refused
    /// is said in the log. Returns the container when it succeeded.
    pub(super) fn take_packages(
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
                self.reporter.log(id, &line, super::LogEvent::Output);
            }
        }
        ran
    }

    /// The core image a stack's builders start from: the stack's own core (`-C` made one)
    /// when it exists with this key, else the shared one (see [`names`]).
    pub(super) fn core_image(&self, label: &str, key: &ContentKey) -> Result<ImageRef, BuildError> {
        core_image(self.engine, &self.prepared.stack_identity, label, key)
    }
}

/// See [`Build::core_image`]; also for `gbb shell`.
pub(super) fn core_image(
    engine: &dyn gbb_engine::Engine,
    stack_identity: &str,
    label: &str,
    key: &ContentKey,
) -> Result<ImageRef, BuildError> {
    let own = names::own_core(label, stack_identity);
    Ok(
        if super::existing_key(engine, &own)?.as_ref() == Some(key) {
            own
        } else {
            names::shared_core(label, key)
        },
    )
}

/// How a container's log file starts.
#[derive(Clone, Copy, Debug)]
pub(super) enum LogStart<'a> {
    /// Empty, then the line given if any: the log starts with this container.
    Fresh(Option<&'a str>),
    /// After what the file holds (the earlier containers of the same step), with a line
    /// saying what runs now: phase 2's `RUN`s share one log.
    After(&'a str),
}
