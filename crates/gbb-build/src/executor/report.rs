//! What a build tells its caller: each step's outcome, and the [`Reporter`] it streams to.

use std::time::Duration;

use gbb_plan::{Step, StepKind};

use super::log::LogEvent;
use crate::{BuildError, Why};

/// What became of a step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Built,
    /// Up to date, or otherwise not needed; with the reason.
    Skipped(String),
    /// It ran and failed; the first line of the error (the whole error is in the summary's
    /// failures).
    Failed(String),
    /// It never ran: something it needs failed, or the build stopped.
    NotStarted(String),
}

/// The result of a build that ran: every step's report, in plan order, and the errors of the
/// steps that failed.
#[derive(Debug)]
pub struct BuildSummary {
    pub reports: Vec<StepReport>,
    pub failures: Vec<BuildError>,
}

impl BuildSummary {
    pub fn succeeded(&self) -> bool {
        self.failures.is_empty()
            && self
                .reports
                .iter()
                .all(|r| matches!(r.outcome, Outcome::Built | Outcome::Skipped(_)))
    }
}

/// One step's result, for the summary.
#[derive(Clone, Debug)]
pub struct StepReport {
    pub id: String,
    pub kind: StepKind,
    pub outcome: Outcome,
    pub duration: Duration,
    /// Image size in bytes, where there is an image.
    pub size: Option<u64>,
    /// Why it was built (or that it was up to date); `None` when it did not end.
    pub why: Option<Why>,
}

impl StepReport {
    pub(crate) fn new(
        step: &Step,
        outcome: Outcome,
        duration: Duration,
        size: Option<u64>,
    ) -> Self {
        Self {
            id: step.id().to_string(),
            kind: step.kind(),
            outcome,
            duration,
            size,
            why: None,
        }
    }
}

/// Where a build tells what it does. The library never prints; the command line implements
/// this.
pub trait Reporter: Sync {
    /// A step (or a part of one: "phase 1 in ns/bob") begins.
    fn started(&self, id: &str, what: &str);
    /// A step ended.
    fn finished(&self, report: &StepReport);
    /// A line of a container's or image build's output, with what it says
    /// ([`LogEvent::parse`]).
    fn log(&self, id: &str, line: &str, event: LogEvent<'_>);

    /// Where downloads (stage3s, snapshots) report their progress.
    fn download(&self) -> &dyn gbb_gentoo::Progress {
        &gbb_gentoo::NoProgress
    }
}
