use std::process::ExitCode;

use gbb_build::{dangling_images, files_to_clean, images_to_clean, remove_files, stack_identity};
use gbb_engine::{Engine, EngineError};
use gbb_plan::{BuildPlan, Request};

use super::display_path;
use crate::cli::CleanArgs;
use crate::context::Context;
use crate::printer::Printer;

/// `gbb clean`: checks the ids (by planning them) before removing anything, then removes the
/// containers of killed runs, the named outputs and logs, and with `--images`/`--dangling`
/// the images this stack made.
pub(crate) fn run(
    context: &Context,
    args: &CleanArgs,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let CleanArgs {
        ids,
        images,
        dangling,
    } = args;
    let stack = context.load(printer)?;
    // An unknown id is refused here, before anything is removed.
    let request = Request {
        ids: ids.clone(),
        only_given: true,
        exclude: Vec::new(),
    };
    let plan = BuildPlan::new(&stack, &request)?;
    let named = (!ids.is_empty()).then_some(&plan);
    let paths = context.paths(&stack);
    // Not while a build of this stack runs.
    let _lock = super::lock_stack(&paths.state, true, "a gbb build", printer)?;
    let identity = stack_identity(&stack.root);
    // The engines are needed for images (each engine the stack's namespaces build on); for
    // files alone, an engine that does not answer only means the containers of killed runs
    // cannot be looked for there.
    let mut engines = Vec::new();
    for kind in context.engines(&stack, &plan) {
        match context.connect(&kind) {
            Ok(engine) => engines.push(engine),
            Err(e) if !images && !dangling => {
                printer.verbose(&format!(
                    "not looking for containers of killed gbb runs: {e}"
                ));
            }
            Err(e) => return Err(e),
        }
    }
    // First the containers of killed runs: they may still write into `.gbb/build`.
    for engine in &engines {
        crate::orphans::report(&gbb_build::remove_orphans(engine, &identity)?, printer);
    }
    let files = files_to_clean(&stack, &paths, named);
    remove_files(&files)?;
    for path in &files {
        printer.note(&format!("removed {}", display_path(path)));
    }
    // The images whose outputs went are no longer kept: their blobs go too.
    super::prune_image_store(&paths, printer);
    for engine in &engines {
        clean_images(engine, &stack, &plan, named, &identity, args, printer)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `--images` and `--dangling` on one engine.
fn clean_images(
    engine: &gbb_engine::Docker,
    stack: &gbb_stack::Stack,
    plan: &BuildPlan,
    named: Option<&BuildPlan>,
    identity: &str,
    args: &CleanArgs,
    printer: &Printer,
) -> anyhow::Result<()> {
    let CleanArgs {
        images, dangling, ..
    } = args;
    if *images {
        let found = images_to_clean(engine, stack, plan, identity)?;
        for name in &found.remove {
            engine.remove_image(name)?;
            printer.note(&format!("removed image {name}"));
        }
        for name in &found.foreign {
            printer.note(&format!(
                "left {name}: another stack (or an older gbb) made it"
            ));
        }
    }
    if *dangling {
        let (mut removed, mut bytes, mut in_use) = (0, 0, 0);
        for image in dangling_images(engine, stack, named, identity)? {
            match engine.remove_image(&image.reference) {
                Ok(()) => {
                    removed += 1;
                    bytes += image.size;
                    printer.verbose(&format!(
                        "removed old image {} ({})",
                        image.reference, image.id
                    ));
                }
                // Still the base of another image or of a container: it stays.
                Err(EngineError::InUse { .. }) => in_use += 1,
                Err(e) => return Err(e.into()),
            }
        }
        printer.note(&format!(
            "removed {removed} old images ({}){}",
            crate::progress::megabytes(bytes),
            if in_use > 0 {
                format!("; {in_use} still in use stay")
            } else {
                String::new()
            }
        ));
    }
    Ok(())
}
