//! Mount points are not part of a kept builder state.
//!
//! To bind-mount a host file or folder at a path the image lacks, the engine creates that path
//! (an empty file or folder, and any missing folders above it) in the container's own layer.
//! Committing the container as a kept state would keep those empty stand-ins: a builder run
//! with `BUILDER_MOUNTS=( "/usr/bin/make:/usr/bin/make:ro" )` on a stage3 without make left
//! an empty `/usr/bin/make` in its state, and every image built in that state without the
//! mount ran an empty `make` that "succeeded" without building anything.
//!
//! So before a container is kept, gbb asks the engine what the container added
//! (`GET /containers/{id}/changes`). A mount's target that shows up as added is the engine's
//! stand-in (whatever the build wrote through the mount went to the host), and so is an added
//! folder above it that holds nothing else the build added. Only when there are such paths,
//! the committed state is cleaned: a short container of it, without mounts, removes them, and
//! is committed again under the same name and labels. Docker's changes list is the only
//! record of which paths the engine created; the build container cannot remove them itself
//! (a path with something mounted on it is busy).
//!
//! gbb's own mount targets (`/config`, `/packages`, ...) are left alone: they are empty
//! folders every state has, whatever it was built from.

use std::collections::{BTreeMap, HashSet};

use gbb_engine::{ChangeKind, ContainerSpec, Engine, FileChange, ImageRef, Mount};

use crate::mounts::GBB_TARGETS;
use crate::{BuildError, CONTAINER_LABEL, ContainerRegistry};

/// `path` lies below `dir`.
fn is_below(path: &str, dir: &str) -> bool {
    path.strip_prefix(dir)
        .is_some_and(|rest| rest.starts_with('/') || dir == "/")
        && path != dir
}

fn parent_of(path: &str) -> Option<&str> {
    match path.rfind('/') {
        Some(0) | None => None,
        Some(at) => Some(&path[..at]),
    }
}

/// The paths to remove from a container's file system before it is kept: for each mount
/// target the engine added, the highest added folder above it that holds nothing but mount
/// targets and the folders leading to them (or the target itself).
pub(crate) fn added_by_mounts(changes: &[FileChange], targets: &[&str]) -> Vec<String> {
    let added: HashSet<&str> = changes
        .iter()
        .filter(|c| c.kind == ChangeKind::Added)
        .map(|c| c.path.as_str())
        .collect();
    // A change that is a mount target, or a folder on the way to one.
    let from_mounts = |path: &str| {
        targets
            .iter()
            .any(|target| *target == path || is_below(target, path))
    };
    let mut paths: Vec<&str> = Vec::new();
    for target in targets.iter().copied().filter(|t| added.contains(t)) {
        let mut top = target;
        while let Some(parent) = parent_of(top)
            && added.contains(parent)
            && changes
                .iter()
                .filter(|c| is_below(&c.path, parent))
                .all(|c| from_mounts(&c.path))
        {
            top = parent;
        }
        paths.push(top);
    }
    paths.sort_unstable();
    paths.dedup();
    let kept: Vec<String> = paths
        .iter()
        .filter(|p| !paths.iter().any(|other| is_below(p, other)))
        .map(|p| (*p).to_owned())
        .collect();
    kept
}

/// What a container's mounts added to its file system (see the module docs); called before
/// the container is committed and removed.
pub(crate) fn stand_ins(
    engine: &dyn Engine,
    id: &str,
    container: &str,
    mounts: &[Mount],
) -> Result<Vec<String>, BuildError> {
    let targets: Vec<&str> = mounts
        .iter()
        .map(|m| m.target.as_str())
        .filter(|t| !GBB_TARGETS.contains(t))
        .collect();
    if targets.is_empty() {
        return Ok(Vec::new());
    }
    let changes = engine
        .container_changes(container)
        .map_err(BuildError::engine(format!(
            "{id}: listing what container `{container}` changed"
        )))?;
    Ok(added_by_mounts(&changes, &targets))
}

/// Removes `paths` from the kept state `reference`: a container of it without mounts deletes
/// them, and is committed as `reference` again with `labels`.
pub(crate) fn remove_from_state(
    engine: &dyn Engine,
    registry: &ContainerRegistry,
    id: &str,
    reference: &ImageRef,
    labels: &BTreeMap<String, String>,
    paths: &[String],
) -> Result<(), BuildError> {
    let mut container_labels = labels.clone();
    // Owned by this process like every container gbb starts, so a run killed meanwhile leaves
    // nothing the next build cannot remove.
    container_labels.insert(
        CONTAINER_LABEL.to_owned(),
        crate::Owner::current().label_value(),
    );
    let spec = ContainerSpec {
        image: reference.to_string(),
        entrypoint: Some(vec!["rm".to_owned(), "-rf".to_owned(), "--".to_owned()]),
        cmd: paths.to_vec(),
        labels: container_labels,
        working_dir: Some("/".to_owned()),
        network: gbb_engine::NetworkNeed::Loopback,
        ..ContainerSpec::default()
    };
    let context = format!("{id}: removing mount points from `{reference}`");
    let container = engine
        .create_container(&spec)
        .map_err(BuildError::engine(context.clone()))?;
    registry.add(&container);
    let mut output = Vec::new();
    let result = (|| {
        let status = engine
            .run_container(&container, &mut |bytes| output.extend_from_slice(bytes))
            .map_err(BuildError::engine(context.clone()))?;
        if registry.interrupted() {
            return Err(BuildError::Interrupted);
        }
        if status != 0 {
            return Err(BuildError::StepFailed {
                id: id.to_owned(),
                step: "removing mount points".to_owned(),
                status,
                log: std::path::PathBuf::from(format!("(rm -rf -- {})", paths.join(" "))),
                tail: String::from_utf8_lossy(&output)
                    .lines()
                    .map(str::to_owned)
                    .collect(),
            });
        }
        engine
            .commit_container(&container, reference, labels)
            .map_err(BuildError::engine(context.clone()))?;
        Ok(())
    })();
    // When the signal handler took the container off the list, it removes it.
    if registry.remove(&container) {
        let removed = engine.remove_container(&container);
        if let (Ok(()), Err(cleanup)) = (&result, removed) {
            return Err(BuildError::engine(context)(cleanup));
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(kind: ChangeKind, path: &str) -> FileChange {
        FileChange {
            path: path.to_owned(),
            kind,
        }
    }

    #[track_caller]
    fn case(changes: &[(char, &str)], targets: &[&str], expected: &[&str]) {
        let changes: Vec<FileChange> = changes
            .iter()
            .map(|(kind, path)| {
                let kind = match kind {
                    'A' => ChangeKind::Added,
                    'C' => ChangeKind::Modified,
                    _ => ChangeKind::Deleted,
                };
                change(kind, path)
            })
            .collect();
        assert_eq!(added_by_mounts(&changes, targets), expected);
    }

    #[test]
    fn mount_points_and_their_empty_folders() {
        // What Docker reported for a file mounted at a new path, a folder at a new deep path,
        // and a file the build wrote.
        let changes = [
            ('C', "/usr"),
            ('C', "/usr/local"),
            ('C', "/usr/local/bin"),
            ('A', "/usr/local/bin/tool"),
            ('C', "/opt"),
            ('A', "/opt/probe"),
            ('A', "/opt/probe/a"),
            ('A', "/opt/probe/a/b"),
            ('C', "/root"),
            ('A', "/root/new"),
        ];
        case(
            &changes,
            &["/usr/local/bin/tool", "/opt/probe/a/b"],
            &["/opt/probe", "/usr/local/bin/tool"],
        );
        // A mount over a path the image has: nothing was added, nothing to remove.
        case(&changes, &["/usr/bin/make"], &[]);
        // No mounts, nothing to remove, whatever the build added.
        case(&changes, &[], &[]);
    }

    #[test]
    fn folders_the_build_also_wrote_into_stay() {
        case(
            &[
                ('A', "/opt"),
                ('A', "/opt/tools"),
                ('A', "/opt/tools/mounted"),
                ('A', "/opt/tools/built-here"),
            ],
            &["/opt/tools/mounted"],
            &["/opt/tools/mounted"],
        );
        // Two mounts side by side in one new folder: the folder goes.
        case(
            &[
                ('A', "/opt"),
                ('A', "/opt/x"),
                ('A', "/opt/y"),
                ('A', "/srv"),
            ],
            &["/opt/x", "/opt/y"],
            &["/opt"],
        );
    }

    #[test]
    fn below_is_not_a_prefix() {
        assert!(is_below("/opt/a", "/opt"));
        assert!(!is_below("/optx", "/opt"));
        assert!(!is_below("/opt", "/opt"));
        assert!(is_below("/opt", "/"));
        assert_eq!(parent_of("/opt/a"), Some("/opt"));
        assert_eq!(parent_of("/opt"), None);
    }
}
