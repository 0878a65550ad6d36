use std::process::ExitCode;

use gbb_lint::{Linter, Severity};
use gbb_plan::{BuildPlan, Request};
use gbb_stack::{Definition, ImageId, Stack};

use super::display_path;
use crate::cli::CheckArgs;
use crate::context::Context;
use crate::printer::Printer;

/// The definitions `ids` name (an id, or a namespace for all of its images and builders);
/// every definition when there are none.
fn select<'s>(stack: &'s Stack, ids: &[String]) -> anyhow::Result<Vec<&'s Definition>> {
    if ids.is_empty() {
        return Ok(stack.definitions().iter().collect());
    }
    let mut selected: Vec<&Definition> = Vec::new();
    for id in ids {
        let found: Vec<&Definition> = if id.contains('/') {
            id.parse::<ImageId>()
                .ok()
                .and_then(|id| stack.get(&id))
                .into_iter()
                .collect()
        } else {
            stack
                .definitions()
                .iter()
                .filter(|d| d.id.namespace() == id)
                .collect()
        };
        if found.is_empty() {
            anyhow::bail!("unknown id `{id}`: no image, builder or namespace has that name");
        }
        for definition in found {
            if !selected.iter().any(|d| d.id == definition.id) {
                selected.push(definition);
            }
        }
    }
    Ok(selected)
}

pub(crate) fn run(
    context: &Context,
    args: &CheckArgs,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let stack = context.load(printer)?;
    let definitions = select(&stack, &args.ids)?;
    let mut findings = Linter::new().check_all(definitions.iter().copied());
    // The references too: a build would refuse an unknown parent or builder, or a cycle.
    let request = Request {
        ids: args.ids.clone(),
        only_given: false,
        exclude: Vec::new(),
    };
    let plan = BuildPlan::new(&stack, &request);
    // Images built here: can their programs be loaded (what the build checks after phase 1)?
    if let Ok(plan) = &plan {
        findings.extend(gbb_lint::check_built_images(
            &stack,
            plan,
            &context.paths(&stack),
            definitions.iter().copied(),
        ));
    }
    let plan_error = plan.err();

    let mut out = String::new();
    for finding in &findings {
        out.push_str(&format!(
            "{}: {}: {}\n",
            finding.severity.as_str(),
            display_path(std::path::Path::new(&finding.location())),
            finding.message
        ));
        if let Some(hint) = &finding.hint {
            out.push_str(&format!("  hint: {hint}\n"));
        }
    }
    if let Some(error) = &plan_error {
        out.push_str(&format!("error: {error}\n"));
    }
    printer.data(&out);
    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count()
        + usize::from(plan_error.is_some());
    let warnings = findings.len() + usize::from(plan_error.is_some()) - errors;
    printer.note(&format!(
        "checked {} images and builders: {errors} errors, {warnings} warnings",
        definitions.len()
    ));
    Ok(if errors > 0 {
        ExitCode::from(crate::exit::FAILED)
    } else {
        ExitCode::SUCCESS
    })
}
