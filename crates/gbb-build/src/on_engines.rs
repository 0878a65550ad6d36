//! A build whose steps are on several engines (namespaces on Docker and on Podman), run as
//! one: each engine's part ([`crate::by_engine`]) is prepared on its engine, then all parts
//! run in one worker pool ([`Build::run_together`]) and end in one summary.
//!
//! A core both engines need is made on each, so in such a build its id would stand for two
//! steps: in everything the user sees (progress, the summary) it carries the engine it is
//! made on, `core:<label> (podman)`. Images and builders belong to one namespace and so to one
//! engine; their ids stay as they are.

use gbb_plan::BuildPlan;
use gbb_stack::ContainerEngine;

use crate::{Build, BuildError, BuildSummary, LogEvent, Reporter, StepReport};

/// The id a step of `engine`'s part is shown with when several engines build: a core's with
/// the engine beside it, any other step's as it is.
pub fn id_on_engine(id: &str, engine: &ContainerEngine) -> String {
    if id.starts_with("core:") {
        format!("{id} ({})", engine.name())
    } else {
        id.to_owned()
    }
}

/// The reporter of one engine's part when several engines build: passes everything on to
/// `inner`, with the ids of [`id_on_engine`], so that the two cores of one label are two
/// lines (and two progress bars) rather than one.
pub struct OnEngine<'a> {
    inner: &'a dyn Reporter,
    engine: ContainerEngine,
}

impl<'a> OnEngine<'a> {
    pub fn new(inner: &'a dyn Reporter, engine: ContainerEngine) -> Self {
        Self { inner, engine }
    }
}

impl Reporter for OnEngine<'_> {
    fn started(&self, id: &str, what: &str) {
        self.inner.started(&id_on_engine(id, &self.engine), what);
    }

    fn finished(&self, report: &StepReport) {
        let mut report = report.clone();
        report.id = id_on_engine(&report.id, &self.engine);
        self.inner.finished(&report);
    }

    fn log(&self, id: &str, line: &str, event: LogEvent<'_>) {
        self.inner.log(&id_on_engine(id, &self.engine), line, event);
    }

    fn download(&self) -> &dyn gbb_gentoo::Progress {
        self.inner.download()
    }
}

/// Runs `builds`, each on the engine at the same position in `engines` (the parts of `whole`
/// that [`crate::by_engine`] cut), in one pool, and merges their summaries into one: the
/// reports in `whole`'s order (a core of two engines twice, Docker's first, each named with
/// its engine), the failures part after part. One part runs and reports as it is.
pub fn run_on_engines(
    whole: &BuildPlan,
    engines: &[ContainerEngine],
    builds: &[Build<'_>],
) -> Result<BuildSummary, BuildError> {
    assert_eq!(engines.len(), builds.len(), "one engine per build");
    let summaries = Build::run_together(builds)?;
    let mixed = builds.len() > 1;
    let position: std::collections::HashMap<String, usize> = whole
        .steps
        .iter()
        .enumerate()
        .map(|(i, step)| (step.id().to_string(), i))
        .collect();
    let mut reports = Vec::new();
    let mut failures = Vec::new();
    for (summary, engine) in summaries.into_iter().zip(engines) {
        for mut report in summary.reports {
            let at = position.get(&report.id).copied();
            if mixed {
                report.id = id_on_engine(&report.id, engine);
            }
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
