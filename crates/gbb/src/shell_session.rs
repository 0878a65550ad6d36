//! An interactive shell in a step's build container, for `gbb shell` and `gbb build -i`.

use std::io::IsTerminal;
use std::process::ExitCode;

use gbb_build::{LogEvent, Reporter, StepReport};
use gbb_engine::Engine;
use gbb_plan::BuildPlan;

use crate::context::Context;
use crate::printer::Printer;

/// `gbb shell` reports nothing while it runs.
struct Quiet;

impl Reporter for Quiet {
    fn started(&self, _: &str, _: &str) {}
    fn finished(&self, _: &StepReport) {}
    fn log(&self, _: &str, _: &str, _: LogEvent<'_>) {}
}

/// Puts the terminal in raw mode for as long as it lives (keys go to the container as typed,
/// Ctrl-C included), and back when dropped, even on an error.
struct RawMode(bool);

impl RawMode {
    fn enable() -> Self {
        let on = std::io::stdin().is_terminal() && crossterm::terminal::enable_raw_mode().is_ok();
        Self(on)
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if self.0 {
            let _ = crossterm::terminal::disable_raw_mode();
        }
    }
}

/// Which command opens the shell.
pub(crate) struct Shell {
    /// Its name, for the first line.
    pub(crate) what: &'static str,
    /// `-s` of `gbb build -i`: the shell's inputs are checked as the build's were.
    pub(crate) skip_signatures: bool,
}

/// Opens bash in the container `step`'s phase 1 (or a builder's hook) runs in, with the same
/// mounts and environment, and waits for it to exit; `gbb build -i` does the same after
/// building what the step needs.
pub(crate) fn open(
    context: &Context,
    stack: &gbb_stack::Stack,
    plan: &BuildPlan,
    step: &gbb_plan::Step,
    printer: &Printer,
    shell: &Shell,
) -> anyhow::Result<ExitCode> {
    let what = shell.what;
    let id = step.id().to_string();
    let engine = context.connect(&context.engine_of(stack, step))?;
    // The same inputs as a build: a stage3 release is checked against the same keys.
    let options = context.build_options(stack, plan, shell.skip_signatures, printer)?;
    let (spec, image) = gbb_build::shell_spec(stack, plan, step, &engine, &options, &Quiet)?;
    printer.note(&format!("{what}: {id} in {image}; exit to leave"));
    let container = engine.create_container(&spec)?;
    let size = crossterm::terminal::size().ok();
    let status = {
        let _raw = RawMode::enable();
        let mut stdout = std::io::stdout();
        engine.run_interactive(&container, Box::new(std::io::stdin()), &mut stdout, size)
    };
    let removed = engine.remove_container(&container);
    let status = status?;
    removed?;
    Ok(ExitCode::from(u8::try_from(status).unwrap_or(1)))
}
