use std::io::IsTerminal;
use std::process::ExitCode;

use gbb_build::{Build, BuildOptions, ContainerRegistry, Force, Paths, Reporter, StepReport};
use gbb_engine::{Docker, Engine};
use gbb_plan::{BuildPlan, Request};

use super::Context;
use super::build::cache_dir;
use crate::printer::Printer;

/// `gbb shell` reports nothing while it runs.
struct Quiet;

impl Reporter for Quiet {
    fn started(&self, _: &str, _: &str) {}
    fn finished(&self, _: &StepReport) {}
    fn log(&self, _: &str, _: &str) {}
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

pub(crate) fn run(context: &Context, id: &str, printer: &Printer) -> anyhow::Result<ExitCode> {
    let stack = context.load(printer)?;
    let request = Request {
        ids: vec![id.to_owned()],
        only_given: true,
        exclude: Vec::new(),
    };
    let plan = BuildPlan::new(&stack, &request)?;
    let Some(step) = plan.steps.first() else {
        anyhow::bail!("`{id}` names no image or builder");
    };
    if plan.steps.len() != 1 {
        anyhow::bail!("`{id}` names a namespace; give one image or builder id");
    }
    open(context, &stack, &plan, step, printer, "gbb shell")
}

/// Opens bash in the container `step`'s phase 1 (or a builder's hook) runs in, with the same
/// mounts and environment, and waits for it to exit; `gbb build -i` does the same after
/// building what the step needs. `what` names the command in the first line.
pub(crate) fn open(
    context: &Context,
    stack: &gbb_stack::Stack,
    plan: &BuildPlan,
    step: &gbb_plan::Step,
    printer: &Printer,
    what: &str,
) -> anyhow::Result<ExitCode> {
    let id = step.id.to_string();
    let engine = Docker::connect(context.options.env.get("DOCKER_HOST"))?;
    let options = BuildOptions {
        gentoo: gbb_build::GentooInputs::default(),
        force: Force::Nothing,
        jobs: 1,
        fail_fast: true,
        paths: Paths::new(&stack.root, &cache_dir(context)),
        source_date_epoch: 0,
    };
    let build = Build::new(
        stack,
        plan,
        &engine,
        &options,
        &Quiet,
        ContainerRegistry::new(),
    );
    let (spec, image) = build.shell_spec(step)?;
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
