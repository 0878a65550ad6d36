//! `gbb clean`: what a stack's builds left behind, and only that.
//!
//! Everything is decided before anything is removed (the ids are checked when the plan is
//! made), and only what was named goes:
//!
//! - Files ([`files_to_clean`]): without ids, `<stack>/.gbb/build` (phase 1 outputs),
//!   `<stack>/.gbb/logs` and what runs killed midway left in `<stack>/.gbb/run`; with ids, the output folder and logs of each id
//!   named (a namespace names its images). The lock file stays (another run may hold it) and
//!   `PACKAGES.md` stays (it documents the images and is usually committed).
//! - Images ([`images_to_clean`]): every tag of the named ids' repositories and of their kept
//!   states, whatever `IMAGE_TAG` made it, on images that carry this stack's identity
//!   ([`crate::STACK_LABEL`]); an image of the same name that another stack made (two stacks
//!   may use one namespace name) is left alone and reported. Cores: only the stack's own
//!   (made by `-C`); the shared ones are other stacks' too.
//! - Old states ([`dangling_images`], `--dangling`): this stack's images no name points at any
//!   more (replaced states and images), candidate tags a killed run left, and builders' tags of
//!   another `IMAGE_TAG`. Final images' tags of another `IMAGE_TAG` are releases and stay.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use gbb_engine::{Engine, ImageRef, ListedImage};
use gbb_plan::{BuildPlan, BuilderBuildsIn, Step};
use gbb_stack::{Kind, Stack};

use crate::labels::{ID_LABEL, STACK_LABEL};
use crate::names;
use crate::{BuildError, Paths};

/// The files and folders `gbb clean` removes, of those that exist: all of the stack's
/// generated folders when `plan` is `None` (no ids given), else those of each id in `plan`.
pub fn files_to_clean(stack: &Stack, paths: &Paths, plan: Option<&BuildPlan>) -> Vec<PathBuf> {
    let candidates = match plan {
        // `.gbb/run` holds what runs killed midway left (each run removes its own folder).
        None => vec![
            paths.state.join("build"),
            paths.state.join("logs"),
            paths.runs(),
        ],
        Some(plan) => plan
            .steps
            .iter()
            .filter_map(|step| {
                step.definition()
                    .map(|i| stack.definitions()[i].id.to_string())
            })
            .flat_map(|id| {
                [
                    paths.output(&id),
                    paths.output(&format!("{id}.shell")),
                    paths.log(&id),
                    paths.log(&format!("{id}.phase2")),
                    paths.log(&format!("{id}.test")),
                ]
            })
            .collect(),
    };
    candidates
        .into_iter()
        .filter(|p| p.symlink_metadata().is_ok())
        .collect()
}

/// Removes what [`files_to_clean`] found.
pub fn remove_files(files: &[PathBuf]) -> Result<(), BuildError> {
    for path in files {
        let removed = match path.symlink_metadata() {
            Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(path),
            Ok(_) => std::fs::remove_file(path),
            Err(_) => continue,
        };
        match removed {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(BuildError::Io {
                    path: path.clone(),
                    source,
                });
            }
        }
    }
    Ok(())
}

/// What `gbb clean --images` found.
#[derive(Debug, Default)]
pub struct ImagesToClean {
    /// Names to remove, children before the images they are built on.
    pub remove: Vec<String>,
    /// Names a build of this stack gives that exist but were made by another stack (or an
    /// older gbb that did not label its images): left alone.
    pub foreign: Vec<String>,
}

/// The images `gbb clean --images` removes for `plan`'s ids (see the module's doc).
pub fn images_to_clean(
    engine: &dyn Engine,
    stack: &Stack,
    plan: &BuildPlan,
    stack_identity: &str,
) -> Result<ImagesToClean, BuildError> {
    // Each repository the plan's ids own, with its step's position (children come later).
    let mut repositories: BTreeMap<String, usize> = BTreeMap::new();
    for (position, step) in plan.steps.iter().enumerate() {
        let Some(definition) = step.definition().map(|i| &stack.definitions()[i]) else {
            continue;
        };
        repositories.insert(definition.id.to_string(), position);
        if let Step::Image(image) = step {
            repositories.insert(image.state.clone(), position);
        }
    }
    let ours = engine
        .images_with_label(&format!("{STACK_LABEL}={stack_identity}"))
        .map_err(BuildError::engine("listing this stack's images"))?;
    // (step position, order within the step, name): sorted backwards, children go first.
    let mut remove: Vec<((usize, u8), String)> = ours
        .iter()
        .flat_map(|image| image.tags.iter())
        .filter_map(|tag| {
            repositories
                .get(ImageRef::parse(tag).repository())
                .map(|&position| ((position + 1, 2), tag.clone()))
        })
        .collect();
    // Names a build gives that exist without this stack's label: another stack's.
    let mut foreign = Vec::new();
    let ours_tags: BTreeSet<&str> = remove.iter().map(|(_, t)| t.as_str()).collect();
    for name in stack_images(stack, plan) {
        if ours_tags.contains(name.as_str()) {
            continue;
        }
        if let Some(info) = engine
            .inspect_image(&name)
            .map_err(BuildError::engine("looking up images"))?
            && info.labels.get(STACK_LABEL).map(String::as_str) != Some(stack_identity)
        {
            foreign.push(name);
        }
    }
    // The stack's own cores (of the builders named): by name, which holds the stack's
    // identity. Last of all, since every builder is built on one; the core before its stage3.
    for step in &plan.steps {
        if let Step::Builder(builder) = step
            && let BuilderBuildsIn::Core(core) = &builder.builds_in
        {
            for (order, name) in [
                (1, names::own_core(&core.label, stack_identity).to_string()),
                (
                    0,
                    names::own_stage3(&core.label, stack_identity).to_string(),
                ),
            ] {
                if engine
                    .inspect_image(&name)
                    .map_err(BuildError::engine("looking up images"))?
                    .is_some()
                {
                    remove.push(((0, order), name));
                }
            }
        }
    }
    // Children first: later steps are built on earlier ones.
    remove.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    remove.dedup_by(|a, b| a.1 == b.1);
    Ok(ImagesToClean {
        remove: remove.into_iter().map(|(_, name)| name).collect(),
        foreign,
    })
}

/// An image `--dangling` removes: by name (an old tag) or by id (no name left).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dangling {
    /// A tag, or the image id when no tag names it.
    pub reference: String,
    /// The stack id it was made for (`ns/app`).
    pub id: String,
    pub size: u64,
    created: i64,
}

/// This stack's images that no current name points at (see the module's doc), restricted to
/// `plan`'s ids when given; newest first, so that an image goes before the one it is built on.
pub fn dangling_images(
    engine: &dyn Engine,
    stack: &Stack,
    plan: Option<&BuildPlan>,
    stack_identity: &str,
) -> Result<Vec<Dangling>, BuildError> {
    let named: Option<BTreeSet<String>> = plan.map(|plan| {
        plan.steps
            .iter()
            .filter_map(|s| {
                s.definition()
                    .map(|i| stack.definitions()[i].id.to_string())
            })
            .collect()
    });
    // Builders' tags that a build of the stack gives now.
    let builder_tags: BTreeMap<String, &str> = stack
        .definitions()
        .iter()
        .filter(|d| d.kind == Kind::Builder)
        .map(|d| (d.id.to_string(), d.tag.as_str()))
        .collect();
    let images = engine
        .images_with_label(&format!("{STACK_LABEL}={stack_identity}"))
        .map_err(BuildError::engine("listing this stack's images"))?;
    let mut dangling = Vec::new();
    for image in images {
        let ListedImage {
            id: image_id,
            tags,
            labels,
            created,
            size,
        } = image;
        let id = labels.get(ID_LABEL).cloned().unwrap_or_default();
        if named.as_ref().is_some_and(|named| !named.contains(&id)) {
            continue;
        }
        let entry = |reference: String| Dangling {
            reference,
            id: id.clone(),
            size,
            created,
        };
        if tags.is_empty() {
            dangling.push(entry(image_id));
            continue;
        }
        for tag in tags {
            let name = ImageRef::parse(&tag);
            let version = name.tag();
            let old_builder_tag = builder_tags
                .get(name.repository())
                .is_some_and(|current| version != "latest" && version != *current);
            if version == names::CANDIDATE_TAG || old_builder_tag {
                dangling.push(entry(tag.clone()));
            }
        }
    }
    dangling.sort_by(|a, b| {
        b.created
            .cmp(&a.created)
            .then(a.reference.cmp(&b.reference))
    });
    Ok(dangling)
}

/// The image names builds of `plan`'s steps give, in plan order.
pub fn stack_images(stack: &Stack, plan: &BuildPlan) -> Vec<String> {
    let mut out = Vec::new();
    for step in &plan.steps {
        let Some(definition) = step.definition().map(|i| &stack.definitions()[i]) else {
            continue;
        };
        out.extend(
            names::final_tags(definition)
                .iter()
                .map(ToString::to_string),
        );
        if let Step::Image(image) = step {
            out.push(names::candidate(definition.id.as_str()).to_string());
            out.push(names::state(&image.state).to_string());
        }
    }
    out
}
