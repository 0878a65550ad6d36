//! Can every program of an image be loaded? Asked after phase 1, before anything is tagged,
//! and by `gbb check` for images already built (issue 15). The answer is `gbb-elf`'s; this
//! file finds its inputs on the host and turns its findings into a step's failure.
//!
//! **Inputs.** The image's own files come from the run's `rootfs.tar`, opened like every file
//! a build container leaves (`outputs::open_regular`: no link followed). Its ancestors' files
//! come from the index each kept with its outputs, `.gbb/build/<ns>/<name>/files.json`
//! ([`FILE_INDEX`]), so no ancestor's tar is read again. An ancestor built by a gbb that kept
//! no index has its kept `rootfs.tar` read instead (tens of milliseconds, see gbb-elf); an
//! ancestor with neither (its outputs removed) fails the step with the command that makes them
//! again: checking without its files would report every library it provides as missing.
//!
//! **Hints.** When something is missing, the other built images of the stack (those with an
//! index; not the image, not its ancestors) are asked whether they have it, so the message can
//! say `IMAGE_PARENT=ns/glibc provides it`. They are read only then: an image that passes
//! costs one index per ancestor.
//!
//! **The index is gbb's own file.** It is written by gbb (never taken from what a container
//! left), after the container ended, into the run's folder, replacing whatever a hook may have
//! planted there under that name (`outputs::write_file` renames over it), and moves into
//! `.gbb/build` with the other kept outputs, at the same moment, only once the whole step
//! succeeded.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use gbb_elf::{FileIndex, Finding, KnownImage, Waivers};
use gbb_stack::{Definition, ImageId, Kind, Stack};

use crate::outputs::{self, RunDir};
use crate::{BuildError, LogEvent, Paths, Reporter};

/// The file index's name among an image's kept outputs.
pub const FILE_INDEX: &str = "files.json";

/// The check after phase 1 of `definition` (whose ancestors, nearest first, are `ancestors`):
/// indexes the run's `rootfs.tar`, checks it over the ancestors' indexes, and on success
/// writes the index into the run's folder as [`FILE_INDEX`], to be kept with the other
/// outputs, and says in the step's log how long it took. Call it once the
/// container has ended. Findings are a [`BuildError::LoaderCheckFailed`].
pub(crate) fn check_phase1(
    stack: &Stack,
    paths: &Paths,
    reporter: &dyn Reporter,
    definition: &Definition,
    ancestors: &[ImageId],
    run: &RunDir,
) -> Result<(), BuildError> {
    let started = Instant::now();
    let id = definition.id.as_str();
    let rootfs = run.path().join("rootfs.tar");
    let index = index_tar(id, &rootfs)?
        .ok_or_else(|| crate::error::io(&rootfs)(std::io::ErrorKind::NotFound.into()))?;
    let findings = check_index(stack, paths, definition, ancestors, &index)?;
    if !findings.is_empty() {
        return Err(BuildError::LoaderCheckFailed {
            id: id.to_owned(),
            findings,
        });
    }
    let mut json = Vec::new();
    index
        .write_to(&mut json)
        .map_err(crate::error::io(&run.path().join(FILE_INDEX)))?;
    outputs::write_file(&run.path().join(FILE_INDEX), &json)?;
    let line = passed_line(
        index.elf_files().count(),
        ancestors.len(),
        started.elapsed(),
    );
    // The step's log is the user's record of the run (and of this figure); failing to
    // append to it fails nothing.
    if let Ok(mut log) = std::fs::OpenOptions::new().append(true).open(paths.log(id)) {
        let _ = writeln!(log, "{line}");
    }
    reporter.log(id, &line, LogEvent::Output);
    Ok(())
}

/// The line a passed check adds to the step's log.
fn passed_line(elf_files: usize, ancestors: usize, duration: Duration) -> String {
    format!(
        "gbb: every program of the image can be loaded ({elf_files} ELF file{} checked over {ancestors} ancestor image{} in {:.1} ms)",
        if elf_files == 1 { "" } else { "s" },
        if ancestors == 1 { "" } else { "s" },
        duration.as_secs_f64() * 1000.0
    )
}

/// The findings for a built image (`gbb check`): its kept index (or kept `rootfs.tar`) over
/// its ancestors'. `None` when the image has not been built here (nothing is kept of it).
pub fn check_built(
    stack: &Stack,
    paths: &Paths,
    definition: &Definition,
    ancestors: &[ImageId],
) -> Result<Option<Vec<Finding>>, BuildError> {
    let id = definition.id.as_str();
    let Some(index) = kept_index(paths, id)? else {
        return Ok(None);
    };
    check_index(stack, paths, definition, ancestors, &index).map(Some)
}

/// The waivers of a definition: `ALLOW_MISSING_LIBS` of its config and `_allow_missing_libs`
/// of its `build.sh`; a file either names passes.
pub fn waivers(definition: &Definition) -> Waivers {
    let mut waivers = Waivers::none();
    for allowed in [
        &definition.settings.allow_missing_libs,
        &definition.script.allow_missing_libs,
    ]
    .into_iter()
    .flatten()
    {
        waivers.extend(&allowed.value);
    }
    waivers
}

/// Checks `index` (the image's own layer) over its ancestors' kept indexes; asks the stack's
/// other built images for hints only when something is missing.
fn check_index(
    stack: &Stack,
    paths: &Paths,
    definition: &Definition,
    ancestors: &[ImageId],
    index: &FileIndex,
) -> Result<Vec<Finding>, BuildError> {
    let id = definition.id.as_str();
    let mut parents = Vec::with_capacity(ancestors.len());
    for ancestor in ancestors {
        let kept =
            kept_index(paths, ancestor.as_str())?.ok_or_else(|| BuildError::NoFileIndex {
                id: id.to_owned(),
                ancestor: ancestor.to_string(),
                dir: paths.output(ancestor.as_str()),
            })?;
        parents.push(kept);
    }
    let parents: Vec<&FileIndex> = parents.iter().collect();
    let waivers = waivers(definition);
    let findings = gbb_elf::check(index, &parents, &[], &waivers);
    if findings.is_empty() {
        return Ok(findings);
    }
    let others = other_built_images(stack, paths, definition, ancestors);
    let known: Vec<KnownImage<'_>> = others
        .iter()
        .map(|(name, index)| KnownImage { name, index })
        .collect();
    Ok(gbb_elf::check(index, &parents, &known, &waivers))
}

/// The index gbb kept for the image `id`: its `files.json`, or, for an image built before gbb
/// kept one, its kept `rootfs.tar` indexed again. `None` when neither is there.
fn kept_index(paths: &Paths, id: &str) -> Result<Option<FileIndex>, BuildError> {
    let output = paths.output(id);
    let saved = output.join(FILE_INDEX);
    // `.gbb/build` is gbb's own (no container mounts it), but it is read the careful way all
    // the same: a regular file, not followed through a link.
    if let Some((file, _)) = outputs::open_regular(&saved)? {
        return FileIndex::read(&saved, file)
            .map(Some)
            .map_err(|source| BuildError::FileIndex {
                id: id.to_owned(),
                source,
            });
    }
    index_tar(id, &output.join("rootfs.tar"))
}

/// Indexes the tar at `path`, opened without following links; `None` when there is none.
fn index_tar(id: &str, path: &Path) -> Result<Option<FileIndex>, BuildError> {
    let Some((file, _)) = outputs::open_regular(path)? else {
        return Ok(None);
    };
    FileIndex::from_tar_file(&file)
        .map(Some)
        .map_err(|source| BuildError::FileIndex {
            id: id.to_owned(),
            source,
        })
}

/// The stack's images other than `definition` and its ancestors that have a kept, readable
/// index, by id: the candidates for "`IMAGE_PARENT=...` provides it". An index that cannot be
/// read only costs a hint, so it is passed over.
fn other_built_images(
    stack: &Stack,
    paths: &Paths,
    definition: &Definition,
    ancestors: &[ImageId],
) -> Vec<(String, FileIndex)> {
    stack
        .definitions()
        .iter()
        .filter(|other| {
            other.kind == Kind::Image && other.id != definition.id && !ancestors.contains(&other.id)
        })
        .filter_map(|other| {
            let saved = paths.output(other.id.as_str()).join(FILE_INDEX);
            let (file, _) = outputs::open_regular(&saved).ok().flatten()?;
            let index = FileIndex::read(&saved, file).ok()?;
            Some((other.id.to_string(), index))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;
    use std::path::PathBuf;

    use super::*;
    use crate::StepReport;

    struct Silent;

    impl Reporter for Silent {
        fn started(&self, _: &str, _: &str) {}
        fn finished(&self, _: &StepReport) {}
        fn log(&self, _: &str, _: &str, _: LogEvent<'_>) {}
    }

    /// A tar of host files: (path in the image, path on the host, links followed).
    fn tar_of(path: &Path, files: &[(&str, &str)]) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut tar = tar::Builder::new(std::fs::File::create(path).unwrap());
        for (name, host) in files {
            tar.append_path_with_name(host, name.trim_start_matches('/'))
                .unwrap();
        }
        tar.finish().unwrap();
    }

    /// The host's C library and loader, as the example's glibc image has them.
    const GLIBC: [(&str, &str); 2] = [
        (
            "/lib/x86_64-linux-gnu/libc.so.6",
            "/lib/x86_64-linux-gnu/libc.so.6",
        ),
        ("/lib64/ld-linux-x86-64.so.2", "/lib64/ld-linux-x86-64.so.2"),
    ];

    /// A stack with `ns/glibc` and `ns/app` on it, and its paths.
    fn stack(dir: &Path, app_build_sh: &str) -> (Stack, Paths) {
        crate::test_stack::stack(
            dir,
            &[
                ("build.conf", ""),
                ("dock/ns/build.conf", ""),
                ("dock/ns/images/glibc/build.conf", ""),
                ("dock/ns/images/app/build.conf", "IMAGE_PARENT=ns/glibc\n"),
                ("dock/ns/images/app/build.sh", app_build_sh),
            ],
        )
    }

    fn app(stack: &Stack) -> &Definition {
        stack
            .definitions()
            .iter()
            .find(|d| d.id.as_str() == "ns/app")
            .unwrap()
    }

    fn glibc() -> Vec<ImageId> {
        vec!["ns/glibc".parse().unwrap()]
    }

    /// A run of `ns/app` whose root holds the host's `/bin/true` as `/usr/bin/true`.
    fn run_with_true(paths: &Paths) -> RunDir {
        let run = RunDir::new(paths, "ns/app").unwrap();
        tar_of(
            &run.path().join("rootfs.tar"),
            &[("/usr/bin/true", "/bin/true")],
        );
        run
    }

    #[test]
    fn a_parent_built_before_indexes_is_read_from_its_tar_and_a_planted_index_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let (stack, paths) = stack(dir.path(), "");
        // Built by a gbb that kept no index: only its rootfs.tar.
        tar_of(&paths.output("ns/glibc").join("rootfs.tar"), &GLIBC);
        let run = run_with_true(&paths);
        let canary: PathBuf = dir.path().join("canary");
        std::fs::write(&canary, "untouched").unwrap();
        symlink(&canary, run.path().join(FILE_INDEX)).unwrap();

        check_phase1(&stack, &paths, &Silent, app(&stack), &glibc(), &run).unwrap();

        assert_eq!(std::fs::read_to_string(&canary).unwrap(), "untouched");
        let saved = run.path().join(FILE_INDEX);
        assert!(std::fs::symlink_metadata(&saved).unwrap().is_file());
        let index = FileIndex::load(&saved).unwrap();
        let elf: Vec<&str> = index.elf_files().map(|(path, _)| path).collect();
        assert_eq!(elf, ["/usr/bin/true"]);
    }

    #[test]
    fn findings_name_the_program_and_the_image_that_provides_it() {
        let dir = tempfile::tempdir().unwrap();
        let (stack, paths) = stack(dir.path(), "");
        let glibc_out = paths.output("ns/glibc");
        tar_of(&glibc_out.join("rootfs.tar"), &GLIBC);
        let glibc_index =
            FileIndex::from_tar_file(&std::fs::File::open(glibc_out.join("rootfs.tar")).unwrap())
                .unwrap();
        glibc_index.save(&glibc_out.join(FILE_INDEX)).unwrap();
        let run = run_with_true(&paths);

        // As if the image were on scratch: no ancestors.
        let error = check_phase1(&stack, &paths, &Silent, app(&stack), &[], &run).unwrap_err();
        assert_eq!(
            error.to_string(),
            "ns/app: a file of the image cannot be loaded, so the image was not tagged:\n  \
             `/usr/bin/true`: loader `/lib64/ld-linux-x86-64.so.2` and `libc.so.6` not found (`IMAGE_PARENT=ns/glibc` provides them)\n  \
             hint: a file whose libraries are mounted at run time can be named in `_allow_missing_libs` (build.sh) or `ALLOW_MISSING_LIBS` (build.conf)"
        );
        assert!(
            !run.path().join(FILE_INDEX).exists(),
            "no index for an image that failed"
        );

        // Built: `gbb check` says the same from the kept files, and nothing for an image
        // never built.
        std::fs::create_dir_all(paths.output("ns/app")).unwrap();
        std::fs::rename(
            run.path().join("rootfs.tar"),
            paths.output("ns/app").join("rootfs.tar"),
        )
        .unwrap();
        let found = check_built(&stack, &paths, app(&stack), &[])
            .unwrap()
            .unwrap();
        assert_eq!(found.len(), 1);
        assert!(
            check_built(&stack, &paths, app(&stack), &glibc())
                .unwrap()
                .unwrap()
                .is_empty()
        );
        std::fs::remove_dir_all(paths.output("ns/app")).unwrap();
        assert!(
            check_built(&stack, &paths, app(&stack), &[])
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn waived_files_pass() {
        let dir = tempfile::tempdir().unwrap();
        let (stack, paths) = stack(dir.path(), "_allow_missing_libs=\"/usr/bin/*\"\n");
        let run = run_with_true(&paths);
        check_phase1(&stack, &paths, &Silent, app(&stack), &[], &run).unwrap();
    }

    #[test]
    fn an_ancestor_without_files_is_named_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let (stack, paths) = stack(dir.path(), "");
        let run = run_with_true(&paths);
        let error = check_phase1(&stack, &paths, &Silent, app(&stack), &glibc(), &run).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "ns/app: cannot check that its programs can be loaded: its ancestor `ns/glibc` has neither a file index nor a `rootfs.tar` in `{}`; build it again with `gbb build -F ns/glibc`",
                paths.output("ns/glibc").display()
            )
        );
    }
}
