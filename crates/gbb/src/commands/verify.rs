//! `gbb verify`: the images built again in a scratch place, their digests compared with the
//! kept ones (`gbb_build::Build::verify`).

use std::process::ExitCode;
use std::sync::Arc;

use gbb_build::{Build, ContainerRegistry, Paths, VerifyOutcome};
use gbb_engine::Engine;

use super::plan_for;
use crate::cli::VerifyArgs;
use crate::context::Context;
use crate::printer::Printer;
use crate::progress::CliReporter;

pub(crate) fn run(
    context: &Context,
    args: &VerifyArgs,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let VerifyArgs {
        selection,
        no_wait,
        skip_signatures,
    } = args;
    let stack = context.load(printer)?;
    let plan = plan_for(&stack, selection, printer)?;
    let kept = context.paths(&stack);
    // Kept files must not change under the comparison: a build waits, and so does this.
    let _lock = super::lock_stack(&kept.state, !no_wait, "another gbb run", printer)?;
    let scratch = Paths {
        state: kept.state.join("verify"),
        cache: kept.cache.clone(),
    };
    // A fresh scratch place: what an earlier verify left is not compared with.
    match std::fs::remove_dir_all(&scratch.state) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(anyhow::Error::new(e)
                .context(format!("cannot remove `{}`", scratch.state.display())));
        }
    }
    // Each engine's images are rebuilt on their engine (a stack with namespaces on Docker and
    // on Podman: one part after the other; a signal stops the part that runs, and the next
    // does not start).
    let mut parts = gbb_build::by_engine(&stack, &plan, context.chosen_engine.as_ref());
    if parts.len() < 2 {
        let kind = context.engines(&stack, &plan).remove(0);
        parts = vec![(kind, plan.clone())];
    }
    let mut engines: Vec<(Arc<dyn Engine>, ContainerRegistry)> = Vec::new();
    for (kind, _) in &parts {
        engines.push((Arc::new(context.connect(kind)?), ContainerRegistry::new()));
    }
    crate::signals::handle(engines.clone())?;
    let options = gbb_build::BuildOptions {
        paths: scratch.clone(),
        ..context.build_options(&stack, &plan, *skip_signatures, printer)?
    };
    let reporter = CliReporter::new(printer);
    let mut verified = Vec::new();
    let mut failed = None;
    for ((_, part), (engine, registry)) in parts.iter().zip(&engines) {
        match Build::prepare(
            &stack,
            part,
            engine.as_ref(),
            &options,
            &reporter,
            registry.clone(),
        )
        .and_then(|build| build.verify(&kept))
        {
            Ok(part) => verified.extend(part),
            Err(error) => {
                failed = Some((error, engine, registry));
                break;
            }
        }
    }
    // The rebuilt layers can be large; the logs stay for a look.
    let _ = std::fs::remove_dir_all(scratch.image_store());
    if let Some((error, engine, registry)) = failed {
        crate::signals::sweep(engine.as_ref(), printer);
        if matches!(error, gbb_build::BuildError::Interrupted) {
            return Err(crate::exit::Interrupted::by(registry.signal()).into());
        }
        return Err(error.into());
    }
    // In plan order, whichever engine verified them.
    let position = |id: &str| plan.steps.iter().position(|s| s.id().to_string() == id);
    verified.sort_by_key(|item| position(&item.id));
    let mut all_same = true;
    let mut out = String::new();
    for item in &verified {
        let line = match &item.outcome {
            VerifyOutcome::Same { digest } => format!("{} same {digest}", item.id),
            VerifyOutcome::Different {
                kept,
                rebuilt,
                difference,
            } => format!(
                "{} different: {difference}\n  kept {kept}\n  rebuilt {rebuilt}",
                item.id
            ),
            VerifyOutcome::NotBuilt => format!(
                "{} not verified: it has no image written by gbb to compare with (gbb build {} first)",
                item.id, item.id
            ),
            VerifyOutcome::Changed => format!(
                "{} not verified: its inputs changed since it was built (gbb build {} first)",
                item.id, item.id
            ),
        };
        all_same &= matches!(item.outcome, VerifyOutcome::Same { .. });
        out.push_str(&line);
        out.push('\n');
    }
    printer.data(&out);
    Ok(if all_same {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
