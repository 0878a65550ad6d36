//! One module per subcommand. Each turns its clap arguments into library calls and prints the
//! result; none holds logic of its own beyond presentation.

mod add;
mod build;
mod check;
mod clean;
mod graph;
mod plan;
mod push;
mod sbom;
mod shell;
mod update;
mod verify;

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use clap::CommandFactory;
use gbb_plan::{BuildPlan, Request};
use gbb_stack::Stack;

use crate::cli::{Args, Command, Selection};
use crate::context::Context;
use crate::printer::Printer;

impl Selection {
    pub(crate) fn request(&self) -> Request {
        let Self {
            ids,
            only_given,
            exclude,
        } = self;
        Request {
            ids: ids.clone(),
            only_given: *only_given,
            exclude: exclude.clone(),
        }
    }
}

pub(crate) fn plan_for(
    stack: &Stack,
    selection: &Selection,
    printer: &Printer,
) -> anyhow::Result<BuildPlan> {
    let started = Instant::now();
    let plan = BuildPlan::new(stack, &selection.request())?;
    printer.verbose(&format!(
        "planned {} steps in {:.1?}",
        plan.steps.len(),
        started.elapsed()
    ));
    Ok(plan)
}

/// Runs the command `args` names.
pub(crate) fn run(args: Args, printer: &Printer) -> anyhow::Result<ExitCode> {
    let Args {
        working_dir,
        verbose: _,
        engine,
        command,
    } = args;
    let context = Context::new(working_dir, engine);
    match command {
        Command::Plan(args) => plan::run(&context, &args, printer),
        Command::Build(args) => build::run(&context, &args, printer),
        Command::Check(args) => check::run(&context, &args, printer),
        Command::Clean(args) => clean::run(&context, &args, printer),
        Command::Push(args) => push::run(&context, &args, printer),
        Command::Update(args) => update::run(&context, &args, printer),
        Command::Graph(args) => graph::run(&context, &args, printer),
        Command::Add(args) => add::run(&context, args, printer),
        Command::Shell { id } => shell::run(&context, &id, printer),
        Command::Sbom(args) => sbom::run(&context, &args, printer),
        Command::Verify(args) => verify::run(&context, &args, printer),
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Args::command(), "gbb", &mut out);
            printer.data(&String::from_utf8_lossy(&out));
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Ends the life of `value` without running its destructors. A loaded 10,000-image stack is
/// hundreds of thousands of small allocations; freeing them one by one just before the process
/// exits (which frees everything at once) cost a tenth of `gbb plan`'s run time.
pub(crate) fn skip_drop<T>(value: T) {
    std::mem::forget(value);
}

/// `path` shown relative to the current folder when it is below it.
pub(crate) fn display_path(path: &Path) -> String {
    let path = path.strip_prefix("./").unwrap_or(path);
    if path.as_os_str().is_empty() {
        ".".to_owned()
    } else {
        path.display().to_string()
    }
}

/// Takes the lock of the stack whose state folder is `state` (`gbb_build::StackLock`), or
/// fails at once when `wait` is false; while waiting, says so once, naming what holds it as
/// `holder` ("another gbb build") and its pid.
pub(crate) fn lock_stack(
    state: &Path,
    wait: bool,
    holder: &str,
    printer: &Printer,
) -> Result<gbb_build::StackLock, gbb_build::BuildError> {
    gbb_build::StackLock::acquire(state, wait, |pid| {
        printer.note(&format!(
            "waiting for {holder} on this stack{} to finish...",
            pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
        ));
    })
}

/// Prunes the stack's image store to the blobs its kept images use (`gbb build`, `gbb
/// clean`). A failure is a warning: what was built or removed stays done, and the next run
/// prunes again.
pub(crate) fn prune_image_store(paths: &gbb_build::Paths, printer: &Printer) {
    match gbb_build::image_store::prune(paths) {
        Ok(pruned) if pruned.blobs > 0 => printer.verbose(&format!(
            "image store: removed {} blobs no kept image uses ({})",
            pruned.blobs,
            crate::progress::megabytes(pruned.bytes)
        )),
        Ok(_) => {}
        Err(error) => printer.note(&format!(
            "warning: the image store was not pruned: {:#}",
            anyhow::Error::from(error)
        )),
    }
}
