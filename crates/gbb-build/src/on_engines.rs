//! A build whose steps are on several engines (namespaces on Docker and on Podman), run as
//! one: each engine's part ([`crate::by_engine`]) is prepared on its engine, then all parts
//! run in one worker pool ([`Build::run_together`]) and end in one summary.
//!
//! A core both engines need is made on each, so in such a build its id would stand for two
//! steps: in everything the user sees (progress, the summary) it carries the engine it is
//! made on, `core:<label> (podman)`, and each writes a log of its own
//! ([`Build::on_engine`]). Images and builders belong to one namespace and so to one engine;
//! their ids stay as they are. A build on one engine is shown as it always was.

use gbb_engine::Engine;
use gbb_plan::BuildPlan;
use gbb_stack::{ContainerEngine, Stack};

use crate::{
    Build, BuildError, BuildOptions, BuildSummary, ContainerRegistry, LogEvent, Reporter,
    StepReport,
};

/// One engine's part of a build: the steps it builds ([`crate::by_engine`]), the engine they
/// run on, and the registry of the containers started there (a signal removes them through
/// that engine).
pub struct EnginePart<'a> {
    pub kind: ContainerEngine,
    pub plan: &'a BuildPlan,
    pub engine: &'a dyn Engine,
    pub registry: ContainerRegistry,
}

/// Prepares every part of `whole` on its engine (any refusal comes before a step of any part
/// runs), then runs them all in one pool of `options.jobs`, streaming to `reporter`. The
/// summary has the reports in `whole`'s order (a core of two engines twice, Docker's first),
/// the failures part after part. Ctrl-C in any part ends the build with
/// [`BuildError::Interrupted`].
pub fn build_on_engines(
    stack: &Stack,
    whole: &BuildPlan,
    parts: &[EnginePart<'_>],
    options: &BuildOptions,
    reporter: &dyn Reporter,
) -> Result<BuildSummary, BuildError> {
    let mixed = parts.len() > 1;
    let reporters: Vec<OnEngine<'_>> = parts
        .iter()
        .map(|part| OnEngine {
            inner: reporter,
            engine: mixed.then(|| part.kind.clone()),
        })
        .collect();
    let builds = parts
        .iter()
        .zip(&reporters)
        .map(|(part, reporter)| {
            let build = Build::prepare(
                stack,
                part.plan,
                part.engine,
                options,
                reporter,
                part.registry.clone(),
            )?;
            Ok(if mixed {
                build.on_engine(part.kind.name())
            } else {
                build
            })
        })
        .collect::<Result<Vec<_>, BuildError>>()?;
    let summaries = Build::run_together(&builds)?;
    let position: std::collections::HashMap<String, usize> = whole
        .steps
        .iter()
        .enumerate()
        .map(|(i, step)| (step.id().to_string(), i))
        .collect();
    let mut reports = Vec::new();
    let mut failures = Vec::new();
    for (summary, reporter) in summaries.into_iter().zip(&reporters) {
        for mut report in summary.reports {
            let at = position.get(&report.id).copied();
            report.id = reporter.id(&report.id);
            reports.push((at, report));
        }
        failures.extend(summary.failures);
    }
    // Stable: at one position (a core), the parts' order.
    reports.sort_by_key(|(at, _)| *at);
    Ok(BuildSummary {
        reports: reports.into_iter().map(|(_, report)| report).collect(),
        failures,
    })
}

/// The reporter of one engine's part: passes everything on to `inner`, with a core's id
/// naming `engine` when several engines build, so that the two cores of one label are two
/// lines (and two progress bars) rather than one.
struct OnEngine<'a> {
    inner: &'a dyn Reporter,
    /// `None`: the only engine of the build; ids stay as they are.
    engine: Option<ContainerEngine>,
}

impl OnEngine<'_> {
    /// The id a step of this part is shown with.
    fn id(&self, id: &str) -> String {
        match &self.engine {
            Some(engine) if id.starts_with("core:") => format!("{id} ({})", engine.name()),
            _ => id.to_owned(),
        }
    }
}

impl Reporter for OnEngine<'_> {
    fn started(&self, id: &str, what: &str) {
        self.inner.started(&self.id(id), what);
    }

    fn finished(&self, report: &StepReport) {
        let mut report = report.clone();
        report.id = self.id(&report.id);
        self.inner.finished(&report);
    }

    fn log(&self, id: &str, line: &str, event: LogEvent<'_>) {
        self.inner.log(&self.id(id), line, event);
    }

    fn download(&self) -> &dyn gbb_gentoo::Progress {
        self.inner.download()
    }
}
