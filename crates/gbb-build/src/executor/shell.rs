//! The container `gbb shell` (and `gbb build -i`) opens: the one a step's phase 1 (or a
//! builder's hook) runs in, with the same mounts and environment, made by the same stages as
//! a build (preflight, inputs with the same keyring checks, keys) and the same
//! [`super::container::container_spec`].

use gbb_engine::{ContainerSpec, Engine, ImageRef};
use gbb_plan::{BuildPlan, BuilderBuildsIn, ImageBuildsIn, Step};
use gbb_stack::Stack;

use super::container::Mode;
use super::lifecycle::core_image;
use super::options::BuildOptions;
use super::report::Reporter;
use super::{prepare, step_container};
use crate::binpkgs::PackageCache;
use crate::outputs::RunDir;
use crate::{BuildError, names};

/// The spec of an interactive bash in the container `step` (a builder or an image of `plan`)
/// runs in, and the image it is made from. Fails with [`BuildError::NotBuilt`] when that
/// image does not exist yet.
pub fn shell_spec(
    stack: &Stack,
    plan: &BuildPlan,
    step: &Step,
    engine: &dyn Engine,
    options: &BuildOptions,
    reporter: &dyn Reporter,
) -> Result<(ContainerSpec, ImageRef), BuildError> {
    // The image the container comes from must be there: checked first, since the keys of an
    // image built on nothing yet cannot be computed either.
    let named = match step {
        Step::Builder(builder) => match &builder.builds_in {
            BuilderBuildsIn::Builder(base) => Some(names::latest(base)),
            BuilderBuildsIn::Core(_) => None,
        },
        Step::Image(image) => Some(match &image.builds_in {
            ImageBuildsIn::Builder(builder) => names::latest(builder),
            ImageBuildsIn::ParentState { state, .. } => names::state(state),
        }),
        Step::Core(_) => None,
    };
    if let Some(image) = &named {
        ensure_built(engine, image)?;
    }
    let prepared = prepare(stack, plan, engine, options, reporter)?;
    let (definition, core, image, root) = match step {
        Step::Core(core) => {
            return Err(BuildError::NotBuilt {
                id: format!("a shell in {} (cores have no build container)", core.id),
            });
        }
        Step::Builder(builder) => {
            let image = match &builder.builds_in {
                BuilderBuildsIn::Core(core) => core_image(
                    engine,
                    &prepared.stack_identity,
                    &core.label,
                    prepared.keys.core(core),
                )?,
                BuilderBuildsIn::Builder(base) => names::latest(base),
            };
            (
                builder.definition,
                builder.core.as_ref(),
                image,
                Some(&builder.builder),
            )
        }
        Step::Image(image_step) => {
            let image = match &image_step.builds_in {
                ImageBuildsIn::Builder(builder) => names::latest(builder),
                ImageBuildsIn::ParentState { state, .. } => names::state(state),
            };
            (
                image_step.definition,
                image_step.core.as_ref(),
                image,
                image_step.root_builder.as_ref(),
            )
        }
    };
    ensure_built(engine, &image)?;
    let id = stack.definitions()[definition].id.to_string();
    // A fresh folder of its own, as every container run gets; it outlives this call (the
    // caller runs the shell), so the next build removes it.
    let output = RunDir::new(&options.paths, &format!("{id}-shell"))?.keep();
    // The shell's PKGDIR stays in its container: what it builds is not kept.
    let root = root.ok_or_else(|| BuildError::NotBuilt {
        id: format!("the builder of {id}"),
    })?;
    let key = prepared.keys.built(root, &prepared.inputs)?;
    let packages = PackageCache::new(options.paths.packages(root, &key)).read_only_mounts()?;
    let spec = step_container(
        &prepared,
        stack,
        options,
        definition,
        core,
        &image,
        Mode::Shell,
        &output,
        packages,
    )?;
    Ok((spec, image))
}

/// Fails with [`BuildError::NotBuilt`] when the engine has no `image`.
fn ensure_built(engine: &dyn Engine, image: &ImageRef) -> Result<(), BuildError> {
    if engine
        .inspect_image(&image.to_string())
        .map_err(BuildError::engine(format!("looking up `{image}`")))?
        .is_none()
    {
        return Err(BuildError::NotBuilt {
            id: image.to_string(),
        });
    }
    Ok(())
}
