//! Phase 2 written by gbb: the image built from the rendered template without `docker build`.
//!
//! `docker build` stamps the build time into every layer and into the config, so each rebuild
//! gave a new image id even when no byte of the files changed. Here gbb carries out the
//! template itself (`dockerfile.rs` reads it) and writes every blob with `gbb_image` into the
//! content store in the cache (`Paths::image_store`):
//!
//! - `FROM` is the parent image as gbb stored it (its manifest digest is in the parent's
//!   `.gbb/build/<ns>/<name>/manifest`), or `scratch`;
//! - `ADD rootfs.tar /` is a deterministic layer of phase 1's root ([`gbb_image::write_layer`]);
//!   other `ADD`/`COPY` of files from the image folder are a small layer gbb writes by the
//!   same rules;
//! - `RUN` needs a running system: the image so far is loaded into the engine, the command
//!   runs in a container of it, the container is committed and saved, and its top layer (what
//!   the command changed) is rewritten by the same rules. Container and temporary images are
//!   removed whatever happens (the container is in the build's registry, so Ctrl-C removes it
//!   too); so an image with `RUN` steps is reproducible as long as its commands are;
//! - the config instructions become the image config (`gbb_image::write_image`), with the
//!   result's labels (content key, stack) that `docker build` used to add.
//!
//! Two things `docker build` did are not done: a parent's `ONBUILD` triggers are not run in
//! the child (kubler's images set none), and `ARG` values reach later instructions' `$NAME`
//! but not a `RUN` command's environment (gbb passes no build arguments, so an `ARG` is only
//! its default, which the template can as well write into the command).
//!
//! The result is loaded into the engine under the candidate tag from a docker archive, so the
//! rest of the step (tests, health check, tags) is as before, and its engine id is the config
//! digest: the same inputs give the same id. An image whose parent was built by a gbb before
//! this (no `manifest` file) is refused with what to run, rather than its parent rebuilt
//! behind the user's back: the content key's phase-2 format input (`key.rs`) makes a normal
//! `gbb build` rebuild the whole chain anyway.

use std::path::{Path, PathBuf};

use gbb_engine::{ContainerSpec, ImageRef};
use gbb_image::{
    BlobStore, DockerArchiveImage, ImageInstructions, ImageRequest, Layer, LayerOptions, NewLayer,
    Platform, SourceDateEpoch, StoredImage, write_docker_archive, write_image, write_layer,
    write_top_layer_of_docker_save,
};
use gbb_plan::ImageStep;
use gbb_stack::Definition;

use super::super::Build;
use super::super::lifecycle::LogStart;
use crate::dockerfile::{self, CopyArgs, Instruction};
use crate::error::image_error;
use crate::labels::{container_labels, result_labels};
use crate::outputs::RunDir;
use crate::template::PreparedTemplate;
use crate::{BuildError, names};

/// What phase 2 wrote: the image in the store, whose digest the step records
/// ([`crate::image_store`]) once it succeeded.
pub(crate) struct WrittenImage {
    pub(crate) image: StoredImage,
}

/// Where phase 2 writes an image and finds its parent.
pub(crate) struct ImageTarget<'a> {
    /// The store the image is written into.
    pub(crate) store: &'a BlobStore,
    /// The store the parent is read from, and where its `manifest` file is: the build's own
    /// for a build; the kept ones for `gbb verify`, which writes into a scratch store.
    pub(crate) parents: (&'a BlobStore, &'a crate::Paths),
    /// The tag the image is loaded into the engine as; `None`: not loaded.
    pub(crate) load_as: Option<&'a ImageRef>,
}

impl Build<'_> {
    /// Writes the image of `step` from its rendered template and phase 1's `rootfs` into
    /// `target`'s store, and loads it into the engine when `target` says so.
    pub(in super::super) fn write_phase2_image(
        &self,
        step: &ImageStep,
        definition: &Definition,
        template: &PreparedTemplate,
        rootfs: &Path,
        target: &ImageTarget<'_>,
    ) -> Result<WrittenImage, BuildError> {
        let id = definition.id.to_string();
        let template_path = definition.dir.join("Dockerfile.template");
        let image_error = image_error(&id);
        let store = target.store;
        let epoch = SourceDateEpoch::new(self.options.source_date_epoch).map_err(&image_error)?;
        let layer_options = LayerOptions {
            epoch,
            ..LayerOptions::default()
        };
        let at = |line: usize| {
            let template = template_path.clone();
            move |problem: String| BuildError::TemplateInstruction {
                template,
                line,
                problem,
            }
        };

        // Preflight checked that the template's FROM is the parent or `scratch`.
        let parent = match step.parent.as_ref().filter(|_| template.on_parent) {
            None => None,
            Some(parent_id) => {
                let parent_id = parent_id.to_string();
                let (parent_store, parent_paths) = target.parents;
                let parent =
                    crate::image_store::kept_image(parent_store, parent_paths, &parent_id)?
                        .ok_or_else(|| BuildError::ParentNotStored {
                            id: id.clone(),
                            parent: parent_id.clone(),
                            path: parent_paths.image_manifest(&parent_id),
                        })?;
                // The parent's blobs where the image goes, for the archives that load it.
                if parent_store.root() != store.root() {
                    for blob in parent.blobs() {
                        let digest = gbb_image::sha256_of(blob).map_err(&image_error)?;
                        parent_store.copy_to(&digest, store).map_err(&image_error)?;
                    }
                }
                Some(parent)
            }
        };
        let parent_config = parent.as_ref().and_then(|p| p.config.config().clone());
        let parent_env = parent_config
            .as_ref()
            .and_then(|c| c.env().clone())
            .unwrap_or_default();
        let instructions_list =
            dockerfile::parse(&template.text, &parent_env).map_err(|e| at(e.line)(e.problem))?;

        let mut layers: Vec<NewLayer> = Vec::new();
        let mut instructions = ImageInstructions::default();
        let mut working_dir = parent_config
            .as_ref()
            .and_then(|c| c.working_dir().clone())
            .unwrap_or_else(|| "/".to_owned());
        let mut runs = 0usize;
        for located in instructions_list {
            let line = located.line;
            match located.instruction {
                Instruction::From(_) | Instruction::Arg(..) => {}
                Instruction::Copy(copy) if copy.add && copy.sources == ["rootfs.tar"] => {
                    if copy.dest != "/" || copy.chown.is_some() || copy.chmod.is_some() {
                        return Err(at(line)(
                            "gbb adds `rootfs.tar` at `/` only, as it is (`ADD rootfs.tar /`)"
                                .to_owned(),
                        ));
                    }
                    self.reporter
                        .started(&id, "phase 2: writing the root's layer");
                    let layer = write_layer(store, rootfs, &layer_options).map_err(&image_error)?;
                    layers.push(NewLayer {
                        layer,
                        created_by: "gbb: ADD rootfs.tar /".to_owned(),
                    });
                }
                Instruction::Copy(copy) => {
                    let layer = self
                        .copy_layer(&id, definition, &copy, &working_dir, store, &layer_options)
                        .map_err(|e| match e {
                            CopyError::Template(problem) => at(line)(problem),
                            CopyError::Build(e) => e,
                        })?;
                    let keyword = if copy.add { "ADD" } else { "COPY" };
                    layers.push(NewLayer {
                        layer,
                        created_by: format!(
                            "gbb: {keyword} {} {}",
                            copy.sources.join(" "),
                            copy.dest
                        ),
                    });
                }
                Instruction::Run(argv) => {
                    runs += 1;
                    self.reporter
                        .started(&id, &format!("phase 2: RUN (line {line})"));
                    let so_far = ImageRequest {
                        parent: parent.as_ref(),
                        platform: Platform::host(),
                        layers: layers.clone(),
                        instructions: instructions.clone(),
                        epoch,
                    };
                    let layer = self.run_layer(&id, store, &so_far, &argv, runs, &layer_options)?;
                    layers.push(NewLayer {
                        layer,
                        created_by: format!("gbb: RUN {}", shown(&argv)),
                    });
                }
                Instruction::Label(pairs) => instructions.labels.extend(pairs),
                Instruction::Maintainer(author) => instructions.author = Some(author),
                Instruction::Env(pairs) => instructions.env.extend(pairs),
                Instruction::Expose(ports) => instructions.exposed_ports.extend(ports),
                Instruction::Cmd(argv) => instructions.cmd = Some(argv),
                Instruction::Entrypoint(argv) => instructions.entrypoint = Some(argv),
                Instruction::User(user) => instructions.user = Some(user),
                Instruction::Workdir(dir) => {
                    working_dir = join_path(&working_dir, &dir);
                    instructions.working_dir = Some(working_dir.clone());
                }
                Instruction::Volume(paths) => instructions.volumes.extend(paths),
                Instruction::Healthcheck(check) => instructions.healthcheck = Some(check),
                Instruction::StopSignal(signal) => instructions.stop_signal = Some(signal),
                Instruction::OnBuild(trigger) => instructions.on_build.push(trigger),
            }
        }

        // The labels `docker build` added: what `gbb` reads back to skip an unchanged image.
        let keys = &self.prepared.keys;
        instructions.labels.extend(result_labels(
            &self.prepared.stack_identity,
            &step.id.to_string(),
            keys.step(&step.id),
            keys.record(&step.id),
        ));
        self.reporter.started(&id, "phase 2: writing the image");
        let image = write_image(
            store,
            &ImageRequest {
                parent: parent.as_ref(),
                platform: Platform::host(),
                layers,
                instructions,
                epoch,
            },
        )
        .map_err(&image_error)?;
        if let Some(tag) = target.load_as {
            self.load(&id, store, &image, tag, epoch)?;
        }
        Ok(WrittenImage { image })
    }

    /// Loads `image` into the engine as `tag`, through a docker archive in a run folder of
    /// its own (removed when done). An image the engine holds already is only tagged: the
    /// engine's id of an image is its config's digest, and the config names every layer by
    /// its digest, so the same id is the same image, byte for byte. A warm rebuild from
    /// unchanged inputs writes exactly the image it wrote before, and then skips writing the
    /// archive and the engine's reading of it (for a 300 MB root, about 4.6 s of `docker
    /// load`).
    fn load(
        &self,
        id: &str,
        store: &BlobStore,
        image: &StoredImage,
        tag: &ImageRef,
        epoch: SourceDateEpoch,
    ) -> Result<(), BuildError> {
        let engine_id = image.config_digest().to_string();
        if let Ok(Some(_)) = self.engine.inspect_image(&engine_id) {
            self.reporter
                .started(id, "phase 2: the engine has this image already");
            return self
                .engine
                .tag_image(&engine_id, tag)
                .map_err(BuildError::engine(format!("{id}: tagging `{tag}`")));
        }
        let run = RunDir::new(&self.options.paths, id)?;
        let archive = run.path().join("image.tar");
        let tags = [tag.to_string()];
        write_docker_archive(
            store,
            &archive,
            &[DockerArchiveImage {
                image,
                repo_tags: &tags,
            }],
            epoch,
        )
        .map_err(image_error(id))?;
        self.engine.load_image(&archive).map_err(|e| match e {
            gbb_engine::EngineError::Cancelled { .. } => BuildError::Interrupted,
            e => BuildError::engine(format!("{id}: loading the image as `{tag}`"))(e),
        })
    }

    /// A `RUN` step: the image so far in the engine, the command in a container of it, and
    /// what the command changed as a layer. Nothing of it stays in the engine.
    fn run_layer(
        &self,
        id: &str,
        store: &BlobStore,
        so_far: &ImageRequest<'_>,
        argv: &[String],
        number: usize,
        options: &LayerOptions,
    ) -> Result<Layer, BuildError> {
        let image_error = image_error(id);
        let candidate = names::candidate(id);
        let tag = |what: &str| {
            ImageRef::new(
                candidate.repository(),
                format!("gbb-run{number}-{what}-{}", std::process::id()),
            )
        };
        let base = tag("base");
        let committed = tag("done");
        // Removed on every way out of this function, in this order (the committed image is
        // the base's child).
        let _cleanup = TemporaryImages {
            engine: self.engine,
            images: vec![committed.to_string(), base.to_string()],
        };
        let image = write_image(store, so_far).map_err(&image_error)?;
        self.load(id, store, &image, &base, so_far.epoch)?;
        let (entrypoint, cmd) = argv
            .split_first()
            .map(|(first, rest)| (vec![first.clone()], rest.to_vec()))
            .unwrap_or_default();
        let spec = ContainerSpec {
            image: base.to_string(),
            entrypoint: Some(entrypoint),
            cmd,
            labels: container_labels(&self.prepared.stack_identity, id),
            ..ContainerSpec::default()
        };
        // One log for phase 2's containers, the one `gbb clean` knows: every RUN of this
        // build in turn, each after a line naming it (the first one starts the file anew).
        let log_path = self.options.paths.log(&format!("{id}.phase2"));
        let header = format!("gbb: RUN {}", shown(argv));
        let start = if number == 1 {
            LogStart::Fresh(Some(&header))
        } else {
            LogStart::After(&header)
        };
        let container = self
            .run_container_logged(id, &spec, &log_path, start)
            .map_err(|e| e.named_step(format!("RUN {}", shown(argv))))?;
        if let Err(e) = self
            .engine
            .commit_container(&container, &committed, &Default::default())
        {
            let error = BuildError::engine(format!("{id}: committing the RUN container"))(e);
            return Err(self.discard(&container, error));
        }
        self.remove(id, &container, "the RUN container")?;
        let run = RunDir::new(&self.options.paths, id)?;
        let saved = run.path().join("saved.tar");
        self.engine
            .save_image(&committed.to_string(), &saved)
            .map_err(|e| match e {
                gbb_engine::EngineError::Cancelled { .. } => BuildError::Interrupted,
                e => BuildError::engine(format!("{id}: saving `{committed}`"))(e),
            })?;
        write_top_layer_of_docker_save(store, &saved, options).map_err(&image_error)
    }

    /// An `ADD`/`COPY` of files from the image folder as a layer: a tar gbb writes of them,
    /// made deterministic by [`write_layer`] like any root.
    fn copy_layer(
        &self,
        id: &str,
        definition: &Definition,
        copy: &CopyArgs,
        working_dir: &str,
        store: &BlobStore,
        options: &LayerOptions,
    ) -> Result<Layer, CopyError> {
        let run = RunDir::new(&self.options.paths, id)?;
        let tar_path = run.path().join("copy.tar");
        let file = std::fs::File::create(&tar_path).map_err(crate::error::io(&tar_path))?;
        let mut builder = tar::Builder::new(std::io::BufWriter::new(file));
        let owner = copy.chown.as_deref().map(|owner| {
            let mut parts = owner.split(':').map(|p| p.parse::<u64>().unwrap_or(0));
            let uid = parts.next().unwrap_or(0);
            (uid, parts.next().unwrap_or(uid))
        });
        let dest = join_path(working_dir, &copy.dest);
        let into_folder = copy.dest.ends_with('/') || copy.sources.len() > 1;
        let mut entries = Vec::new();
        for source in &copy.sources {
            let path = inside(&definition.dir, source).map_err(CopyError::Template)?;
            let meta = std::fs::metadata(&path).map_err(|e| {
                CopyError::Template(format!(
                    "`{source}` cannot be read in the image folder: {e}"
                ))
            })?;
            if archive_name(source) && copy.add {
                return Err(CopyError::Template(format!(
                    "`ADD {source}`: gbb unpacks only phase 1's `rootfs.tar`; unpack other archives in build.sh, or `COPY` them"
                )));
            }
            if meta.is_dir() {
                entries.push((path.clone(), dest.clone()));
                collect(&path, &dest, &mut entries).map_err(CopyError::Build)?;
            } else if into_folder {
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
                entries.push((path.clone(), join_path(&dest, &name.unwrap_or_default())));
            } else {
                entries.push((path.clone(), dest.clone()));
            }
        }
        for (host, target) in &entries {
            append(&mut builder, host, target, owner, copy.chmod).map_err(CopyError::Build)?;
        }
        builder
            .into_inner()
            .and_then(|mut w| std::io::Write::flush(&mut w))
            .map_err(crate::error::io(&tar_path))?;
        write_layer(store, &tar_path, options).map_err(|e| CopyError::Build(image_error(id)(e)))
    }
}

/// The parent a template's `FROM` names: the image's own parent (what `${IMAGE_PARENT}`
/// renders to), or `None` for `scratch`; anything else is refused with the line. Also checked
/// in preflight, before any container runs.
pub(crate) fn parent_of<'a>(
    step: &'a ImageStep,
    instructions: &[dockerfile::Located],
) -> Result<Option<&'a gbb_stack::ImageId>, dockerfile::TemplateError> {
    let parent_reference = super::image::parent_image(step);
    let from = instructions.iter().find_map(|l| match &l.instruction {
        Instruction::From(image) => Some((l.line, image)),
        _ => None,
    });
    match from {
        None => Ok(None),
        Some((_, image)) if image == "scratch" => Ok(None),
        Some((line, image)) => match step.parent.as_ref().filter(|_| *image == parent_reference) {
            Some(parent) => Ok(Some(parent)),
            None => Err(dockerfile::TemplateError {
                line,
                problem: format!(
                    "`FROM {image}`: gbb builds on the image's parent (`FROM ${{IMAGE_PARENT}}`, here `{parent_reference}`) or on `scratch`"
                ),
            }),
        },
    }
}

/// Why an `ADD`/`COPY` failed: the template's fault (named with its line by the caller), or
/// the build's.
enum CopyError {
    Template(String),
    Build(BuildError),
}

impl From<BuildError> for CopyError {
    fn from(error: BuildError) -> Self {
        Self::Build(error)
    }
}

/// Images removed when dropped (quietly: an image already gone is fine, and a failure to
/// remove must not hide the error that is being returned).
struct TemporaryImages<'a> {
    engine: &'a dyn gbb_engine::Engine,
    images: Vec<String>,
}

/// How long a temporary image may stay in use: after Ctrl-C the signal handler's thread may
/// still be removing the `RUN` container when the step gets here.
const IN_USE_WAIT: std::time::Duration = std::time::Duration::from_secs(15);

impl Drop for TemporaryImages<'_> {
    fn drop(&mut self) {
        let deadline = std::time::Instant::now() + IN_USE_WAIT;
        for image in &self.images {
            while let Err(gbb_engine::EngineError::InUse { .. }) = self.engine.remove_image(image) {
                if std::time::Instant::now() > deadline {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
        }
    }
}

/// A command as the history shows it.
fn shown(argv: &[String]) -> String {
    match argv {
        [shell, dash_c, command] if shell == "/bin/sh" && dash_c == "-c" => command.clone(),
        _ => serde_json::to_string(argv).unwrap_or_default(),
    }
}

/// `path` taken from `base` (an absolute path), as `WORKDIR` and a relative destination are.
fn join_path(base: &str, path: &str) -> String {
    if path.starts_with('/') {
        return path.to_owned();
    }
    format!("{}/{path}", base.trim_end_matches('/'))
}

/// Whether `ADD` would unpack a file of this name in Docker.
fn archive_name(name: &str) -> bool {
    [".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".tar.zst"]
        .iter()
        .any(|ext| name.ends_with(ext))
}

/// A source of `ADD`/`COPY` in the image folder; a path that leaves it is refused.
fn inside(dir: &Path, source: &str) -> Result<PathBuf, String> {
    let relative = Path::new(source.trim_start_matches('/'));
    if relative.components().any(|c| {
        !matches!(
            c,
            std::path::Component::Normal(_) | std::path::Component::CurDir
        )
    }) || source.contains(['*', '?', '['])
    {
        return Err(format!(
            "`{source}`: gbb copies plain paths inside the image folder (no `..`, no wildcards)"
        ));
    }
    let path = dir.join(relative);
    let real = std::fs::canonicalize(&path)
        .map_err(|e| format!("`{source}` cannot be read in the image folder: {e}"))?;
    let real_dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_owned());
    if !real.starts_with(&real_dir) {
        return Err(format!("`{source}` leads out of the image folder"));
    }
    Ok(path)
}

/// Every entry below the folder `host`, with its place below `target`.
fn collect(
    host: &Path,
    target: &str,
    entries: &mut Vec<(PathBuf, String)>,
) -> Result<(), BuildError> {
    let mut children: Vec<_> = std::fs::read_dir(host)
        .map_err(crate::error::io(host))?
        .collect::<Result<_, _>>()
        .map_err(crate::error::io(host))?;
    children.sort_by_key(std::fs::DirEntry::file_name);
    for child in children {
        let path = child.path();
        let place = join_path(target, &child.file_name().to_string_lossy());
        let is_dir = child.file_type().map_err(crate::error::io(&path))?.is_dir();
        entries.push((path.clone(), place.clone()));
        if is_dir {
            collect(&path, &place, entries)?;
        }
    }
    Ok(())
}

/// One entry of an `ADD`/`COPY` layer: a folder, a file or a link, with its mode (or
/// `--chmod`), its time, and root or `--chown` as the owner.
fn append(
    builder: &mut tar::Builder<impl std::io::Write>,
    host: &Path,
    target: &str,
    owner: Option<(u64, u64)>,
    chmod: Option<u32>,
) -> Result<(), BuildError> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(host).map_err(crate::error::io(host))?;
    let name = target.trim_start_matches('/');
    if name.is_empty() {
        // The root folder itself: a layer leaves it as the parent has it.
        return Ok(());
    }
    let mut header = tar::Header::new_gnu();
    let (uid, gid) = owner.unwrap_or((0, 0));
    header.set_uid(uid);
    header.set_gid(gid);
    header.set_mtime(u64::try_from(meta.mtime()).unwrap_or(0));
    let mode = chmod.unwrap_or(meta.mode() & 0o7777);
    header.set_mode(mode);
    let io = crate::error::io(host);
    if meta.file_type().is_symlink() {
        let target_path = std::fs::read_link(host).map_err(crate::error::io(host))?;
        header.set_entry_type(tar::EntryType::Symlink);
        header.set_mode(0o777);
        header.set_size(0);
        builder
            .append_link(&mut header, name, target_path)
            .map_err(io)
    } else if meta.is_dir() {
        header.set_entry_type(tar::EntryType::Directory);
        header.set_size(0);
        builder
            .append_data(&mut header, format!("{name}/"), std::io::empty())
            .map_err(io)
    } else if meta.is_file() {
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(meta.len());
        let file = std::fs::File::open(host).map_err(crate::error::io(host))?;
        builder.append_data(&mut header, name, file).map_err(io)
    } else {
        Err(BuildError::NotARegularFile {
            path: host.to_owned(),
            found: "a device or socket",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join_as_workdir_does() {
        assert_eq!(join_path("/", "app"), "/app");
        assert_eq!(join_path("/srv/", "app"), "/srv/app");
        assert_eq!(join_path("/srv", "/etc"), "/etc");
    }

    #[test]
    fn sources_stay_in_the_image_folder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.conf"), "x").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("out")).unwrap();
        assert!(inside(dir.path(), "a.conf").is_ok());
        assert!(inside(dir.path(), "../x").unwrap_err().contains("no `..`"));
        assert!(
            inside(dir.path(), "*.conf")
                .unwrap_err()
                .contains("wildcards")
        );
        assert!(inside(dir.path(), "out").unwrap_err().contains("leads out"));
    }
}
