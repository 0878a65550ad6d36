//! The worker pool: runs a plan's steps, up to `jobs` at once, each as soon as everything it
//! needs is done.
//!
//! A failed step blocks its descendants; independent steps go on, or nothing new starts with
//! `fail_fast`. Ctrl-C (seen through the [`ContainerRegistry`]) starts nothing new either. The
//! pool knows nothing of what a step does: it gets a function to call per step.
//!
//! A stack whose namespaces use different engines runs as several parts, one plan per engine
//! ([`crate::by_engine`]), in one pool: the engines are independent, so their steps run side by
//! side under one `-j`, and a failure (with `fail_fast`) or Ctrl-C stops them all at once.
//! Two plans rather than one plan whose steps know their engine, because a core that both
//! engines need is made on each: it is two steps with one id, and everything after the pool
//! (inputs, keys, the steps themselves) already works on one engine's plan.

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
pub(crate) struct Pool {
    pub(crate) jobs: usize,
    pub(crate) fail_fast: bool,
}

/// One plan the pool runs, with what runs its steps: a build on one engine. Several parts
/// (one per engine of a stack whose namespaces use different engines) share one pool: `-j`
/// counts their steps together, a failure with `fail_fast` or Ctrl-C (seen through any
/// part's registry: a signal interrupts them all) starts nothing new in any of them.
pub(crate) struct Part<'a> {
    pub(crate) plan: &'a BuildPlan,
    pub(crate) work: &'a (dyn Fn(&Step) -> StepResult + Sync),
    pub(crate) registry: &'a ContainerRegistry,
    pub(crate) reporter: &'a dyn Reporter,
}

/// Every step's report, in plan order, and the errors of the steps that failed.
pub(crate) struct Ran {
    pub(crate) reports: Vec<StepReport>,
    pub(crate) failures: Vec<BuildError>,
}

impl Pool {
    /// Runs every part's plan, calling its `work` for each step (on worker threads); one
    /// [`Ran`] per part, in the order of `parts`. A step needs only steps of its own part.
    pub(crate) fn run(&self, parts: &[Part<'_>]) -> Vec<Ran> {
        // A node is (part, step); ready nodes start in plan order, the parts' steps at one
        // position side by side, so that no engine waits for the other's whole plan.
        let mut queue = DependencyQueue::new();
        for (p, part) in parts.iter().enumerate() {
            for (i, step) in part.plan.steps.iter().enumerate() {
                let needs: Vec<(usize, usize)> = step.needs().iter().map(|&n| (p, n)).collect();
                queue.queue((p, i), (i, p), &needs);
            }
        }
        queue.seal();

        let mut reports: Vec<Vec<Option<StepReport>>> = parts
            .iter()
            .map(|part| vec![None; part.plan.steps.len()])
            .collect();
        let mut blocked: Vec<Vec<bool>> = parts
            .iter()
            .map(|part| vec![false; part.plan.steps.len()])
            .collect();
        let mut failures: Vec<Vec<BuildError>> = parts.iter().map(|_| Vec::new()).collect();
        let mut stop: Option<String> = None;
        let jobs = self.jobs.max(1);
        std::thread::scope(|scope| {
            let (done, finished) = std::sync::mpsc::channel();
            let mut running = 0;
            loop {
                if parts.iter().any(|part| part.registry.interrupted()) {
                    stop.get_or_insert_with(|| "interrupted".to_owned());
                }
                while running < jobs && stop.is_none() {
                    let Some((p, i)) = queue.dequeue() else { break };
                    let part = &parts[p];
                    let steps = &part.plan.steps;
                    if let Some(&blocker) = steps[i].needs().iter().find(|&&n| blocked[p][n]) {
                        blocked[p][i] = true;
                        let report = StepReport::new(
                            &steps[i],
                            Outcome::NotStarted(format!(
                                "needs {}, which was not built",
                                steps[blocker].id()
                            )),
                            Duration::ZERO,
                            None,
                        );
                        part.reporter.finished(&report);
                        reports[p][i] = Some(report);
                        queue.finish(&(p, i));
                        continue;
                    }
                    let done = done.clone();
                    let step = &steps[i];
                    let work = part.work;
                    scope.spawn(move || {
                        let started = Instant::now();
                        let result = work(step);
                        // The receiver lives until every worker reported.
                        let _ = done.send((p, i, result, started.elapsed()));
                    });
                    running += 1;
                }
                if running == 0 {
                    break;
                }
                let (p, i, result, duration) =
                    finished.recv().expect("workers report before they end");
                running -= 1;
                let step = &parts[p].plan.steps[i];
                let report = match result {
                    Ok(done) => {
                        let mut report = StepReport::new(step, done.outcome, duration, done.size);
                        report.why = Some(done.why);
                        report
                    }
                    Err(error) => {
                        blocked[p][i] = true;
                        // The report names the step already: an error that starts with
                        // its id ("ns/app: configure_rootfs_build failed") is shown without.
                        let text = error.to_string();
                        let line = text.lines().next().unwrap_or_default();
                        let first_line = line
                            .strip_prefix(&format!("{}: ", step.id()))
                            .unwrap_or(line)
                            .to_owned();
                        if matches!(error, BuildError::Interrupted) {
                            stop.get_or_insert_with(|| "interrupted".to_owned());
                        } else {
                            failures[p].push(error);
                            if self.fail_fast {
                                stop.get_or_insert_with(|| {
                                    "stopped after a failure (--fail-fast)".to_owned()
                                });
                            }
                        }
                        StepReport::new(step, Outcome::Failed(first_line), duration, None)
                    }
                };
                parts[p].reporter.finished(&report);
                reports[p][i] = Some(report);
                queue.finish(&(p, i));
            }
        });
        let reason = stop.unwrap_or_else(|| "not reached".to_owned());
        reports
            .into_iter()
            .zip(failures)
            .zip(parts)
            .map(|((reports, failures), part)| Ran {
                reports: reports
                    .into_iter()
                    .enumerate()
                    .map(|(i, report)| {
                        report.unwrap_or_else(|| {
                            StepReport::new(
                                &part.plan.steps[i],
                                Outcome::NotStarted(reason.clone()),
                                Duration::ZERO,
                                None,
                            )
                        })
                    })
                    .collect(),
                failures,
            })
            .collect()
    }
}
