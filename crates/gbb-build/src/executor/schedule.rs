//! The worker pool: runs a plan's steps, up to `jobs` at once, each as soon as everything it
//! needs is done.
//!
//! A failed step blocks its descendants; independent steps go on, or nothing new starts with
//! `fail_fast`. Ctrl-C (seen through the [`ContainerRegistry`]) starts nothing new either. The
//! pool knows nothing of what a step does: it gets a function to call per step.

use std::time::{Duration, Instant};

use gbb_plan::{BuildPlan, DependencyQueue, Step};

use super::report::{Outcome, Reporter, StepReport};
use crate::{BuildError, ContainerRegistry, Why};

/// What one step's work returns.
pub(crate) type StepResult = Result<Done, BuildError>;

/// A step that ended without an error.
pub(crate) struct Done {
    pub(crate) outcome: Outcome,
    /// The size of its image, if it made one.
    pub(crate) size: Option<u64>,
    /// Why it was built, or that it was up to date.
    pub(crate) why: Why,
}

impl Done {
    pub(crate) fn up_to_date() -> Self {
        Self {
            outcome: Outcome::Skipped("up to date".to_owned()),
            size: None,
            why: Why::UpToDate,
        }
    }

    pub(crate) fn built(why: Why, size: Option<u64>) -> Self {
        Self {
            outcome: Outcome::Built,
            size,
            why,
        }
    }
}

/// How the pool runs.
pub(crate) struct Pool<'a> {
    pub(crate) jobs: usize,
    pub(crate) fail_fast: bool,
    pub(crate) registry: &'a ContainerRegistry,
    pub(crate) reporter: &'a dyn Reporter,
}

/// Every step's report, in plan order, and the errors of the steps that failed.
pub(crate) struct Ran {
    pub(crate) reports: Vec<StepReport>,
    pub(crate) failures: Vec<BuildError>,
}

impl Pool<'_> {
    /// Runs `plan`, calling `work` for each step (on worker threads).
    pub(crate) fn run(&self, plan: &BuildPlan, work: &(dyn Fn(&Step) -> StepResult + Sync)) -> Ran {
        let steps = &plan.steps;
        let mut queue = DependencyQueue::new();
        for (i, step) in steps.iter().enumerate() {
            queue.queue(i, i, step.needs());
        }
        queue.seal();

        let mut reports: Vec<Option<StepReport>> = vec![None; steps.len()];
        let mut blocked = vec![false; steps.len()];
        let mut failures = Vec::new();
        let mut stop: Option<String> = None;
        let jobs = self.jobs.max(1);
        std::thread::scope(|scope| {
            let (done, finished) = std::sync::mpsc::channel();
            let mut running = 0;
            loop {
                if self.registry.interrupted() {
                    stop.get_or_insert_with(|| "interrupted".to_owned());
                }
                while running < jobs && stop.is_none() {
                    let Some(i) = queue.dequeue() else { break };
                    if let Some(&blocker) = steps[i].needs().iter().find(|&&n| blocked[n]) {
                        blocked[i] = true;
                        let report = StepReport::new(
                            &steps[i],
                            Outcome::NotStarted(format!(
                                "needs {}, which was not built",
                                steps[blocker].id()
                            )),
                            Duration::ZERO,
                            None,
                        );
                        self.reporter.finished(&report);
                        reports[i] = Some(report);
                        queue.finish(&i);
                        continue;
                    }
                    let done = done.clone();
                    let step = &steps[i];
                    scope.spawn(move || {
                        let started = Instant::now();
                        let result = work(step);
                        // The receiver lives until every worker reported.
                        let _ = done.send((i, result, started.elapsed()));
                    });
                    running += 1;
                }
                if running == 0 {
                    break;
                }
                let (i, result, duration) =
                    finished.recv().expect("workers report before they end");
                running -= 1;
                let report = match result {
                    Ok(done) => {
                        let mut report =
                            StepReport::new(&steps[i], done.outcome, duration, done.size);
                        report.why = Some(done.why);
                        report
                    }
                    Err(error) => {
                        blocked[i] = true;
                        let first_line = error
                            .to_string()
                            .lines()
                            .next()
                            .unwrap_or_default()
                            .to_owned();
                        if matches!(error, BuildError::Interrupted) {
                            stop.get_or_insert_with(|| "interrupted".to_owned());
                        } else {
                            failures.push(error);
                            if self.fail_fast {
                                stop.get_or_insert_with(|| {
                                    "stopped after a failure (--fail-fast)".to_owned()
                                });
                            }
                        }
                        StepReport::new(&steps[i], Outcome::Failed(first_line), duration, None)
                    }
                };
                self.reporter.finished(&report);
                reports[i] = Some(report);
                queue.finish(&i);
            }
        });
        let reason = stop.unwrap_or_else(|| "not reached".to_owned());
        let reports = reports
            .into_iter()
            .enumerate()
            .map(|(i, report)| {
                report.unwrap_or_else(|| {
                    StepReport::new(
                        &steps[i],
                        Outcome::NotStarted(reason.clone()),
                        Duration::ZERO,
                        None,
                    )
                })
            })
            .collect();
        Ran { reports, failures }
    }
}
