use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use comfy_table::{Table, presets};
use gbb_build::{
    Build, BuildOptions, ContainerRegistry, Force, Outcome, Paths, Reporter, StepReport,
};
use gbb_engine::{Docker, Engine};

use super::{Context, plan_for};
use crate::cli::BuildArgs;
use crate::printer::{HEADER, Printer};

/// Prints what the build does: a line per step and part, the logs under `-v`.
struct CliReporter<'p> {
    printer: &'p Printer,
}

impl Reporter for CliReporter<'_> {
    fn started(&self, id: &str, what: &str) {
        self.printer.note(&format!("==> {id}: {what}"));
    }

    fn finished(&self, report: &StepReport) {
        if let Outcome::Skipped(reason) = &report.outcome {
            self.printer
                .verbose(&format!("==> {}: skipped, {reason}", report.id));
        } else {
            self.printer.note(&format!(
                "    {} built in {:.1?}{}",
                report.id,
                report.duration,
                report
                    .size
                    .map(|s| format!(", {}", megabytes(s)))
                    .unwrap_or_default()
            ));
        }
    }

    fn log(&self, id: &str, line: &str) {
        self.printer.verbose(&format!("    {id} | {line}"));
    }
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}

/// The shared cache: `GBB_CACHE_DIR`, else `$XDG_CACHE_HOME/gbb`, else `~/.cache/gbb`.
pub(crate) fn cache_dir(context: &Context) -> PathBuf {
    let env = &context.options.env;
    if let Some(dir) = env.get("GBB_CACHE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    if let Some(dir) = env.get("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("gbb");
    }
    PathBuf::from(env.get("HOME").unwrap_or("/root"))
        .join(".cache")
        .join("gbb")
}

/// On SIGINT or SIGTERM: stop starting work and remove every container the build started;
/// on a second signal, exit at once (after removing them too).
fn handle_signals(engine: Arc<dyn Engine>, registry: ContainerRegistry) -> anyhow::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    std::thread::spawn(move || {
        for _ in signals.forever() {
            let second = registry.interrupted();
            registry.interrupt();
            for container in registry.take_all() {
                let _ = engine.remove_container(&container);
            }
            if second {
                std::process::exit(130);
            }
        }
    });
    Ok(())
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
    } = args;
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
    let engine: Arc<dyn Engine> =
        Arc::new(Docker::connect(context.options.env.get("DOCKER_HOST"))?);
    printer.verbose(&format!("engine: {}", engine.describe()));
    let registry = ContainerRegistry::new();
    handle_signals(engine.clone(), registry.clone())?;
    let options = BuildOptions {
        force,
        paths: Paths::new(&stack.root, &cache_dir(context)),
        source_date_epoch: context
            .options
            .env
            .get("SOURCE_DATE_EPOCH")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
    };
    let reporter = CliReporter { printer };
    let started = Instant::now();
    let reports = Build::new(
        &stack,
        &plan,
        engine.as_ref(),
        &options,
        &reporter,
        registry,
    )
    .run()?;
    let mut table = Table::new();
    table.load_style(presets::NOTHING);
    table.set_header(["STEP", "RESULT", "TIME", "SIZE"]);
    for report in &reports {
        table.add_row([
            report.id.clone(),
            match &report.outcome {
                Outcome::Built => "built".to_owned(),
                Outcome::Skipped(reason) => format!("skipped ({reason})"),
            },
            format!("{:.1?}", report.duration),
            report.size.map(megabytes).unwrap_or_else(|| "-".to_owned()),
        ]);
    }
    let built = reports
        .iter()
        .filter(|r| r.outcome == Outcome::Built)
        .count();
    let mut out = format!(
        "\n{HEADER}Built {built} of {} steps in {:.1?}{HEADER:#}\n",
        reports.len(),
        started.elapsed()
    );
    for line in table.to_string().lines() {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    printer.note(out.trim_end());
    Ok(ExitCode::SUCCESS)
}
