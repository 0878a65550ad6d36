use std::process::ExitCode;

use comfy_table::{Table, presets};
use gbb_plan::StepKind;

use super::{display_path, plan_for};
use crate::cli::PlanArgs;
use crate::context::Context;
use crate::printer::{HEADER, Printer};

pub(crate) fn run(
    context: &Context,
    args: &PlanArgs,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let stack = context.load(printer)?;
    let plan = plan_for(&stack, &args.selection, printer)?;
    if args.json {
        printer.data_with(|out| plan.write_json(&stack, &mut { out }))?;
        super::skip_drop((stack, plan));
        return Ok(ExitCode::SUCCESS);
    }
    let count = |kind, word: &str| {
        let n = plan.steps.iter().filter(|s| s.kind() == kind).count();
        format!("{n} {word}{}", if n == 1 { "" } else { "s" })
    };
    let mut out = format!(
        "{HEADER}Plan for {} ({} layout): {} steps{HEADER:#} ({}, {}, {})\n\n",
        display_path(&stack.root),
        stack.layout.as_str(),
        plan.steps.len(),
        count(StepKind::Core, "core"),
        count(StepKind::Builder, "builder"),
        count(StepKind::Image, "image"),
    );
    if plan.steps.is_empty() {
        out.push_str("Nothing to build.\n");
        printer.data(&out);
        return Ok(ExitCode::SUCCESS);
    }
    let status = if args.status {
        Some(status(context, &stack, &plan, printer)?)
    } else {
        None
    };
    let engines = engine_column(context, &stack, &plan);
    let mut table = Table::new();
    table.load_style(presets::NOTHING);
    let mut header = vec!["#", "KIND", "ID", "PARENT", "BUILDS IN", "WHY"];
    if engines.is_some() {
        header.insert(2, "ENGINE");
    }
    if status.is_some() {
        header.push("STATUS");
    }
    table.set_header(header);
    for (i, step) in plan.steps.iter().enumerate() {
        let mut row = vec![
            (i + 1).to_string(),
            step.kind().as_str().to_owned(),
            step.id().to_string(),
            step.parent()
                .as_ref()
                .map_or("-".to_owned(), ToString::to_string),
            step.builds_in().map_or("-".to_owned(), |(name, _)| name),
            step.reason().to_string(),
        ];
        if let Some(engines) = &engines {
            row.insert(2, engines[i].clone());
        }
        if let Some(status) = &status {
            row.push(status[i].clone());
        }
        table.add_row(row);
    }
    for line in table.to_string().lines() {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    printer.data(&out);
    Ok(ExitCode::SUCCESS)
}

/// The ENGINE column, when the plan's namespaces build on more than one engine (Docker and
/// Podman): each step's engine, and for a core every engine it is made on (`docker, podman`),
/// as `gbb build` makes it once per engine that needs it. `None` for a plan on one engine.
fn engine_column(
    context: &Context,
    stack: &gbb_stack::Stack,
    plan: &gbb_plan::BuildPlan,
) -> Option<Vec<String>> {
    if context.engines(stack, plan).len() < 2 {
        return None;
    }
    let parts = gbb_build::by_engine(stack, plan, context.chosen_engine.as_ref());
    Some(
        plan.steps
            .iter()
            .map(|step| match step.definition() {
                Some(_) => context.engine_of(stack, step).name().to_owned(),
                // A core only listed (`dummy`) steps need is made on no engine.
                None => {
                    let on: Vec<&str> = parts
                        .iter()
                        .filter(|(_, part)| part.steps.iter().any(|s| s.id() == step.id()))
                        .map(|(engine, _)| engine.name())
                        .collect();
                    if on.is_empty() {
                        "-".to_owned()
                    } else {
                        on.join(", ")
                    }
                }
            })
            .collect(),
    )
}

/// Every step's status (the STATUS column): the plan prepared as a build would be (inputs
/// fetched and checked, keys computed), then each result looked up on the engine.
///
/// A plan over namespaces on Docker and on Podman is looked up as `gbb build` builds it: each
/// engine's part on its engine. A core both need is made on each, so its status is one per
/// engine (`docker: up to date; podman: not built`).
fn status(
    context: &Context,
    stack: &gbb_stack::Stack,
    plan: &gbb_plan::BuildPlan,
    printer: &Printer,
) -> anyhow::Result<Vec<String>> {
    let options = context.build_options(stack, plan, false, printer)?;
    let reporter = crate::progress::CliReporter::new(printer);
    let look_up = |plan: &gbb_plan::BuildPlan, engine: &gbb_engine::Docker| {
        gbb_build::Build::prepare(
            stack,
            plan,
            engine,
            &options,
            &reporter,
            gbb_build::ContainerRegistry::new(),
        )
        .and_then(|build| build.status())
    };
    if context.engines(stack, plan).len() < 2 {
        let engine = context.engine(stack, plan)?;
        return Ok(look_up(plan, &engine)?
            .iter()
            .map(|status| status.why.to_string())
            .collect());
    }
    let position: std::collections::HashMap<&gbb_plan::StepId, usize> = plan
        .steps
        .iter()
        .enumerate()
        .map(|(i, step)| (step.id(), i))
        .collect();
    let mut found: Vec<Vec<(gbb_stack::ContainerEngine, String)>> =
        vec![Vec::new(); plan.steps.len()];
    for (kind, part) in gbb_build::by_engine(stack, plan, context.chosen_engine.as_ref()) {
        let engine = context.connect(&kind)?;
        for status in look_up(&part, &engine)? {
            found[position[&status.id]].push((kind.clone(), status.why.to_string()));
        }
    }
    Ok(found
        .into_iter()
        .map(|found| match found.as_slice() {
            [] => "-".to_owned(),
            [(_, why)] => why.clone(),
            several => several
                .iter()
                .map(|(engine, why)| format!("{}: {why}", engine.name()))
                .collect::<Vec<_>>()
                .join("; "),
        })
        .collect())
}
