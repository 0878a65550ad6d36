//! `gbb clean`: what a stack's builds left behind, and only that.
//!
//! Files: `<stack>/.gbb/build` (phase 1 outputs), `<stack>/.gbb/logs` and what runs killed
//! midway left in `<stack>/.gbb/run`. The
//! lock file stays (another run may hold it) and `PACKAGES.md` stays (it documents the images
//! and is usually committed). Images: the exact names a build of the stack gives: each image's
//! `:latest`, `:IMAGE_TAG` and candidate tag, its kept builder state, each builder's tags. Cores
//! and imported stage3s are shared by every stack on the machine, so they are not the stack's
//! to remove.

use std::path::PathBuf;

use gbb_plan::{BuildPlan, StepKind};
use gbb_stack::Stack;

use crate::{BuildError, Paths};

/// Removes the stack's generated folders; returns the ones that existed.
pub fn clean_files(paths: &Paths) -> Result<Vec<PathBuf>, BuildError> {
    let mut removed = Vec::new();
    for dir in [
        paths.state.join("build"),
        paths.state.join("logs"),
        paths.runs(),
    ] {
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => removed.push(dir),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(BuildError::Io { path: dir, source }),
        }
    }
    Ok(removed)
}

/// The image names builds of `plan`'s steps give, in plan order.
pub fn stack_images(stack: &Stack, plan: &BuildPlan) -> Vec<String> {
    let mut names = Vec::new();
    for step in &plan.steps {
        let Some(definition) = step.definition.map(|i| &stack.definitions()[i]) else {
            continue;
        };
        let id = &definition.id;
        names.push(format!("{id}:latest"));
        if definition.tag != "latest" {
            names.push(format!("{id}:{}", definition.tag));
        }
        // Candidates are left only when gbb was killed in the middle of a step.
        names.push(format!("{id}:gbb-candidate"));
        if step.kind == StepKind::Image
            && let Some(state) = &step.state_name
        {
            names.push(format!("{state}:latest"));
            names.push(format!("{state}:gbb-candidate"));
        }
    }
    names
}
