//! `gbb verify`: the images built again in a scratch place, their digests compared with the
//! kept ones (`gbb_build::Build::verify`).

use std::process::ExitCode;
use std::sync::Arc;

use gbb_build::{Build, ContainerRegistry, Paths, StackLock, VerifyOutcome};
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
    let _lock = StackLock::acquire(&kept.state, !no_wait, |holder| {
        printer.note(&format!(
            "waiting for another gbb run on this stack{} to finish...",
            holder.map(|p| format!(" (pid {p})")).unwrap_or_default()
        ));
    })?;
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
    let engine: Arc<dyn Engine> = Arc::new(context.engine(&stack, &plan)?);
    let registry = ContainerRegistry::new();
    crate::signals::handle(vec![(engine.clone(), registry.clone())])?;
    let options = gbb_build::BuildOptions {
        paths: scratch.clone(),
        ..context.build_options(&stack, &plan, *skip_signatures, printer)?
    };
    let reporter = CliReporter::new(printer);
    let result = Build::prepare(
        &stack,
        &plan,
        engine.as_ref(),
        &options,
        &reporter,
        registry.clone(),
    )
    .and_then(|build| build.verify(&kept));
    // The rebuilt layers can be large; the logs stay for a look.
    let _ = std::fs::remove_dir_all(scratch.state.join("images"));
    let verified = match result {
        Ok(verified) => verified,
        Err(error) => {
            crate::signals::sweep(engine.as_ref(), printer);
            if matches!(error, gbb_build::BuildError::Interrupted) {
                return Err(crate::exit::Interrupted::by(registry.signal()).into());
            }
            return Err(error.into());
        }
    };
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
