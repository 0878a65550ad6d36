use std::process::ExitCode;

use gbb_build::KEY_LABEL;
use gbb_engine::Engine;
use gbb_plan::{BuildPlan, Request, StepKind};

use crate::cli::PushArgs;
use crate::context::Context;
use crate::printer::Printer;

pub(crate) fn run(
    context: &Context,
    args: &PushArgs,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let stack = context.load(printer)?;
    // The images named, not what they are built on: pushing a parent is a separate choice.
    let request = Request {
        ids: args.ids.clone(),
        only_given: true,
        exclude: Vec::new(),
    };
    let plan = BuildPlan::new(&stack, &request)?;
    let registry = args.registry.as_deref().map(|r| {
        r.trim_start_matches("https://")
            .trim_start_matches("http://")
            .trim_end_matches('/')
    });
    let engine = context.engine(&stack, &plan)?;
    let images: Vec<_> = plan
        .steps
        .iter()
        .filter(|s| s.kind() == StepKind::Image)
        .filter_map(|s| s.definition().map(|i| &stack.definitions()[i]))
        .collect();
    // Everything must be built before anything is pushed.
    for definition in &images {
        let source = gbb_build::names::latest(&definition.id).to_string();
        match engine.inspect_image(&source)? {
            Some(info) if info.labels.contains_key(KEY_LABEL) => {}
            _ => anyhow::bail!("`{source}` is not built; run: gbb build {}", definition.id),
        }
    }
    for definition in images {
        let source = gbb_build::names::latest(&definition.id).to_string();
        for reference in gbb_build::names::pushed(registry, definition) {
            if registry.is_some() {
                engine.tag_image(&source, &reference)?;
            }
            let result = engine.push_image(&reference, &mut |status| {
                printer.verbose(&format!("    {reference} | {status}"));
            });
            if registry.is_some() {
                // The registry's name was only a way to address the push.
                let _ = engine.remove_image(&reference.to_string());
            }
            result?;
            printer.note(&format!("pushed {reference}"));
        }
    }
    Ok(ExitCode::SUCCESS)
}
