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
    let mut table = Table::new();
    table.load_style(presets::NOTHING);
    let mut header = vec!["#", "KIND", "ID", "PARENT", "BUILDS IN", "WHY"];
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
        if let Some(status) = &status {
            row.push(status[i].why.to_string());
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

/// Every step's status: the plan prepared as a build would be (inputs fetched and checked,
/// keys computed), then each result looked up on the engine.
fn status(
    context: &Context,
    stack: &gbb_stack::Stack,
    plan: &gbb_plan::BuildPlan,
    printer: &Printer,
) -> anyhow::Result<Vec<gbb_build::StepStatus>> {
    let engine = context.engine(stack, plan)?;
    let options = context.build_options(stack, plan, false, printer)?;
    let reporter = crate::progress::CliReporter::new(printer);
    let build = gbb_build::Build::prepare(
        stack,
        plan,
        &engine,
        &options,
        &reporter,
        gbb_build::ContainerRegistry::new(),
    )?;
    Ok(build.status()?)
}
