use std::process::ExitCode;

use gbb_build::{Paths, StackLock, clean_files, stack_images};
use gbb_engine::{Docker, Engine};
use gbb_plan::{BuildPlan, Request};

use super::build::cache_dir;
use super::{Context, display_path};
use crate::cli::CleanArgs;
use crate::printer::Printer;

pub(crate) fn run(
    context: &Context,
    args: &CleanArgs,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let stack = context.load(printer)?;
    let paths = Paths::new(&stack.root, &cache_dir(context));
    // Not while a build of this stack runs.
    let _lock = StackLock::acquire(&paths.state, true, |holder| {
        printer.note(&format!(
            "waiting for a gbb build on this stack{} to finish...",
            holder.map(|p| format!(" (pid {p})")).unwrap_or_default()
        ));
    })?;
    for dir in clean_files(&paths)? {
        printer.note(&format!("removed {}", display_path(&dir)));
    }
    if args.images {
        let request = Request {
            ids: args.ids.clone(),
            only_given: true,
            exclude: Vec::new(),
        };
        let plan = BuildPlan::new(&stack, &request)?;
        let engine = Docker::connect(context.options.env.get("DOCKER_HOST"))?;
        for name in stack_images(&stack, &plan) {
            if engine.inspect_image(&name)?.is_some() {
                engine.remove_image(&name)?;
                printer.note(&format!("removed image {name}"));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
