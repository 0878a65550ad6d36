use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use comfy_table::{Table, presets};
use gbb_build::{BuildOptions, ContainerRegistry, Force, Outcome, Reporter};
use gbb_engine::Engine;

use super::plan_for;
use crate::cli::BuildArgs;
use crate::context::Context;
use crate::printer::{HEADER, Printer};
use crate::progress::{CliReporter, TerminalReporter, megabytes};

/// One engine's part of a build, connected: what `gbb_build::EnginePart` borrows, kept here
/// because the signal handler shares the engine and the registry.
struct ConnectedPart {
    kind: gbb_stack::ContainerEngine,
    engine: Arc<dyn Engine>,
    plan: gbb_plan::BuildPlan,
    registry: ContainerRegistry,
}

/// `-i`: the one image or builder `selection` names, taken out of the steps to build (what it
/// needs stays in, to be built first): its position in the whole plan, which is returned for
/// the shell. Refused when the id names several steps or its engine builds nothing.
fn interactive_target(
    split: &mut gbb_build::EngineSplit,
    selection: &crate::cli::Selection,
) -> anyhow::Result<(gbb_plan::BuildPlan, usize)> {
    let [id] = selection.ids.as_slice() else {
        anyhow::bail!("-i takes exactly one image or builder id");
    };
    let position = split
        .build
        .steps
        .iter()
        .position(|s| s.id().to_string() == *id && s.definition().is_some());
    if let Some(position) = position {
        let whole = split.build.clone();
        split.build = whole.subset(|i, _| i != position);
        return Ok((whole, position));
    }
    if split.listed.iter().any(|s| s.id.to_string() == *id) {
        anyhow::bail!("-i: `{id}` is built with the `dummy` engine, which starts no container");
    }
    if let Some(step) = split.refused.iter().find(|s| s.id.to_string() == *id) {
        anyhow::bail!("-i: `{id}` cannot be built: {}", step.reason);
    }
    anyhow::bail!("-i takes one image or builder id; `{id}` names a namespace")
}

/// Opens the `-i` shell for the step at `target` of `plan`, once what it needs is built.
fn open_interactive(
    context: &Context,
    stack: &gbb_stack::Stack,
    (plan, target): (gbb_plan::BuildPlan, usize),
    skip_signatures: bool,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let step = &plan.steps[target];
    let mode = if step.kind() == gbb_plan::StepKind::Builder {
        "builder"
    } else {
        "image"
    };
    printer.note(&format!(
        "gbb build -i: run `gbb-build {mode}` to run {} by hand",
        if mode == "image" {
            "phase 1 (hooks, emerge, rootfs.tar in /gbb-out)"
        } else {
            "the builder's hook"
        }
    ));
    let shell = crate::shell_session::Shell {
        what: "gbb build -i",
        skip_signatures,
    };
    crate::shell_session::open(context, stack, &plan, step, printer, &shell)
}

/// Prints the dry run of the steps on the `dummy` engine (as data: it is what the command
/// was asked for) and one line per reason steps are refused. Returns the exit code the build
/// has when nothing else fails: 2 when something was refused.
fn report_engine_split(split: &gbb_build::EngineSplit, printer: &Printer) -> ExitCode {
    if !split.listed.is_empty() {
        let mut out = format!(
            "{HEADER}Dry run (CONTAINER_ENGINE=dummy): {} steps, nothing is built{HEADER:#}\n",
            split.listed.len()
        );
        for (n, step) in split.listed.iter().enumerate() {
            out.push_str(&format!(
                "{:>3}  {} {}\n",
                n + 1,
                step.kind.as_str(),
                step.id
            ));
            for action in &step.actions {
                out.push_str(&format!("       {action}\n"));
            }
        }
        printer.data(&out);
    }
    // One line per reason: a namespace's images all share the line that names its engine.
    let mut reasons: Vec<(&gbb_build::Refusal, Vec<String>)> = Vec::new();
    for step in &split.refused {
        match reasons.iter_mut().find(|(r, _)| *r == &step.reason) {
            Some((_, ids)) => ids.push(step.id.to_string()),
            None => reasons.push((&step.reason, vec![step.id.to_string()])),
        }
    }
    for (reason, ids) in &reasons {
        printer.error(&anyhow::anyhow!("{reason}; not built: {}", ids.join(", ")));
    }
    if reasons.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(crate::exit::REFUSED)
    }
}

pub(crate) fn run(
    context: &Context,
    args: &BuildArgs,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let BuildArgs {
        selection,
        force,
        force_full,
        clean_builders,
        clean_all,
        jobs,
        fail_fast,
        no_wait,
        skip_signatures,
        interactive,
        outputs,
    } = args;
    // A typo in an output fails now, not after the build.
    for output in outputs {
        output.check()?;
    }
    let force = if *clean_all {
        Force::Everything
    } else if *clean_builders {
        Force::Builders
    } else if *force_full {
        Force::ImagesPhase1
    } else if *force {
        Force::Images
    } else {
        Force::Nothing
    };
    let stack = context.load(printer)?;
    let plan = plan_for(&stack, selection, printer)?;
    // Steps on the `dummy` engine are listed, steps on an unknown engine refused; the rest
    // builds as usual.
    let mut split = gbb_build::split_by_engine_as(&stack, &plan, context.chosen_engine.as_ref());
    // `-i ID`: everything ID needs is built as usual, ID itself is not; a shell opens where
    // its phase 1 would run once the rest succeeded.
    let shell_target = if *interactive {
        Some(interactive_target(&mut split, selection)?)
    } else {
        None
    };
    let refused = report_engine_split(&split, printer);
    if split.build.steps.is_empty() {
        if !outputs.is_empty() {
            printer.note("nothing was built; --output is not written");
        }
        return match shell_target {
            Some(target) if refused == ExitCode::SUCCESS => {
                open_interactive(context, &stack, target, *skip_signatures, printer)
            }
            _ => Ok(refused),
        };
    }
    let plan = split.build;
    let paths = context.paths(&stack);
    let _lock = super::lock_stack(&paths.state, !no_wait, "another gbb build", printer)?;
    // One plan per engine (Docker's, then Podman's), each on its own engine with its own
    // container registry, all run in one worker pool. Every engine is reached before anything
    // runs, so one that does not answer fails the build at once.
    let mut parts: Vec<ConnectedPart> = Vec::new();
    for (kind, part) in gbb_build::by_engine(&stack, &plan, context.chosen_engine.as_ref()) {
        let engine: Arc<dyn Engine> = Arc::new(context.connect(&kind)?);
        if printer.is_verbose() {
            printer.verbose(&format!("engine: {}", engine.describe()));
        }
        parts.push(ConnectedPart {
            kind,
            engine,
            plan: part,
            registry: ContainerRegistry::new(),
        });
    }
    crate::signals::handle(
        parts
            .iter()
            .map(|part| (part.engine.clone(), part.registry.clone()))
            .collect(),
    )?;
    for part in &parts {
        crate::orphans::report(
            &gbb_build::remove_orphans(
                part.engine.as_ref(),
                &gbb_build::stack_identity(&stack.root),
            )?,
            printer,
        );
    }
    let jobs = jobs.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        usize::from,
    );
    if *skip_signatures {
        printer.note("warning: -s: OpenPGP signatures of stage3 downloads are not checked (their hashes are)");
    }
    let options = BuildOptions {
        force,
        jobs,
        fail_fast: *fail_fast,
        ..context.build_options(&stack, &plan, *skip_signatures, printer)?
    };
    let plain = CliReporter::new(printer);
    // A core two engines need is two steps: the bar counts each.
    let total: usize = parts.iter().map(|part| part.plan.steps.len()).sum();
    let terminal = (std::io::stderr().is_terminal() && !printer.is_verbose())
        .then(|| TerminalReporter::new(total as u64));
    let reporter: &dyn Reporter = match &terminal {
        Some(terminal) => terminal,
        None => &plain,
    };
    let started = Instant::now();
    let engine_parts: Vec<gbb_build::EnginePart> = parts
        .iter()
        .map(|part| gbb_build::EnginePart {
            kind: part.kind.clone(),
            plan: &part.plan,
            engine: part.engine.as_ref(),
            registry: part.registry.clone(),
        })
        .collect();
    let result = gbb_build::build_on_engines(&stack, &plan, &engine_parts, &options, reporter);
    let summary = match result {
        Ok(summary) => summary,
        Err(error) => {
            if let Some(terminal) = &terminal {
                terminal.clear();
            }
            for part in &parts {
                crate::signals::sweep(part.engine.as_ref(), printer);
            }
            if matches!(error, gbb_build::BuildError::Interrupted) {
                let signal = parts.iter().find_map(|part| part.registry.signal());
                return Err(crate::exit::Interrupted::by(signal).into());
            }
            return Err(error.into());
        }
    };
    if !summary.succeeded() {
        for part in &parts {
            crate::signals::sweep(part.engine.as_ref(), printer);
        }
    }
    if let Some(terminal) = &terminal {
        terminal.clear();
    }
    for failure in &summary.failures {
        printer.error(&anyhow::anyhow!("{failure}"));
    }
    let mut table = Table::new();
    table.load_style(presets::NOTHING);
    table.set_header(["STEP", "RESULT", "TIME", "SIZE", "WHY"]);
    for report in &summary.reports {
        table.add_row([
            report.id.clone(),
            match &report.outcome {
                Outcome::Built => "built".to_owned(),
                Outcome::Skipped(reason) => format!("skipped ({reason})"),
                Outcome::Failed(_) => "failed".to_owned(),
                Outcome::NotStarted(reason) => format!("not started ({reason})"),
            },
            format!("{:.1?}", report.duration),
            report.size.map(megabytes).unwrap_or_else(|| "-".to_owned()),
            match (&report.outcome, &report.why) {
                (Outcome::Built, Some(why)) => why.to_string(),
                _ => "-".to_owned(),
            },
        ]);
    }
    let count = |f: fn(&Outcome) -> bool| summary.reports.iter().filter(|r| f(&r.outcome)).count();
    let built = count(|o| matches!(o, Outcome::Built));
    let failed = count(|o| matches!(o, Outcome::Failed(_)));
    let mut out = format!(
        "\n{HEADER}Built {built} of {} steps{} in {:.1?} ({jobs} at a time){HEADER:#}\n",
        summary.reports.len(),
        if failed > 0 {
            format!(", {failed} failed")
        } else {
            String::new()
        },
        started.elapsed()
    );
    for line in table.to_string().lines() {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    printer.note(out.trim_end());
    // Still under the stack's lock, with every step ended: the images this build replaced
    // and the candidates of failed steps leave the store.
    super::prune_image_store(&paths, printer);
    if let Some(target) = shell_target
        && summary.succeeded()
        && refused == ExitCode::SUCCESS
    {
        return open_interactive(context, &stack, target, *skip_signatures, printer);
    }
    if !outputs.is_empty() {
        if summary.succeeded() && refused == ExitCode::SUCCESS {
            write_outputs(context, &stack, selection, outputs, printer)?;
        } else {
            printer.note("the build did not succeed; --output is not written");
        }
    }
    Ok(if summary.succeeded() {
        refused
    } else {
        crate::exit::code_for_failures(&summary.failures)
    })
}

/// `--output`: the images asked for (not their parents and builders, whose layers they hold),
/// from gbb's store into each output.
fn write_outputs(
    context: &Context,
    stack: &gbb_stack::Stack,
    selection: &crate::cli::Selection,
    outputs: &[gbb_build::image_output::OutputTarget],
    printer: &Printer,
) -> anyhow::Result<()> {
    let request = gbb_plan::Request {
        only_given: true,
        ..selection.request()
    };
    let plan = gbb_plan::BuildPlan::new(stack, &request)?;
    let images: Vec<&gbb_stack::Definition> = plan
        .steps
        .iter()
        .filter(|s| s.kind() == gbb_plan::StepKind::Image)
        .filter_map(|s| s.definition().map(|i| &stack.definitions()[i]))
        .collect();
    if images.is_empty() {
        printer.note("no image was asked for (only builders); --output is not written");
        return Ok(());
    }
    let written = gbb_build::image_output::write_outputs(&context.paths(stack), &images, outputs)?;
    for output in written {
        printer.note(&format!(
            "wrote {}: {}",
            output.target,
            output.names.join(", ")
        ));
    }
    Ok(())
}
