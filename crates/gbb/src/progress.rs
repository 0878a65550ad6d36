//! Build progress on a terminal: a line per running step (its id, what it does, the package
//! being emerged, how long it has run) above an overall bar. Finished steps scroll up as plain
//! lines. Off a terminal, or with `-v`, the build prints plain lines instead (`CliReporter`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use gbb_build::{Outcome, Reporter, StepReport};

use crate::printer::Printer;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

pub(crate) struct TerminalReporter {
    multi: MultiProgress,
    overall: ProgressBar,
    /// Running steps: their line and what they do now.
    running: Mutex<HashMap<String, (ProgressBar, String)>>,
    downloads: DownloadBar,
}

/// A bar with size and rate for the download under way.
struct DownloadBar {
    multi: MultiProgress,
    bar: Mutex<Option<ProgressBar>>,
}

impl gbb_gentoo::Progress for DownloadBar {
    fn start(&self, url: &str, done: u64, total: Option<u64>) {
        let bar = self.multi.add(match total {
            Some(total) => ProgressBar::new(total),
            None => ProgressBar::no_length(),
        });
        bar.set_style(
            ProgressStyle::with_template(
                "  {msg} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} {eta}",
            )
            .expect("a valid template")
            .progress_chars("=> "),
        );
        bar.set_message(url.rsplit('/').next().unwrap_or(url).to_owned());
        bar.set_position(done);
        if let Some(old) = self
            .bar
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .replace(bar)
        {
            old.finish_and_clear();
        }
    }

    fn advance(&self, bytes: u64) {
        if let Some(bar) = &*self.bar.lock().unwrap_or_else(|e| e.into_inner()) {
            bar.inc(bytes);
        }
    }

    fn finish(&self) {
        if let Some(bar) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).take() {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
    }
}

impl TerminalReporter {
    pub(crate) fn new(steps: u64) -> Self {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let overall = multi.add(
            ProgressBar::new(steps).with_style(
                ProgressStyle::with_template("[{bar:30}] {pos}/{len} steps, {elapsed}")
                    .expect("a valid template")
                    .progress_chars("=> "),
            ),
        );
        overall.enable_steady_tick(Duration::from_millis(200));
        Self {
            downloads: DownloadBar {
                multi: multi.clone(),
                bar: Mutex::new(None),
            },
            multi,
            overall,
            running: Mutex::new(HashMap::new()),
        }
    }

    /// Clears the bars (before the summary is printed).
    pub(crate) fn clear(&self) {
        for (_, (bar, _)) in self
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
        {
            bar.finish_and_clear();
        }
        self.overall.finish_and_clear();
    }
}

impl Reporter for TerminalReporter {
    fn started(&self, id: &str, what: &str) {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        let entry = running.entry(id.to_owned()).or_insert_with(|| {
            let bar = self.multi.insert_before(
                &self.overall,
                ProgressBar::new_spinner().with_style(
                    ProgressStyle::with_template("{spinner} {prefix}: {msg} ({elapsed})")
                        .expect("a valid template"),
                ),
            );
            bar.set_prefix(id.to_owned());
            bar.enable_steady_tick(Duration::from_millis(120));
            (bar, String::new())
        });
        entry.1 = what.to_owned();
        entry.0.set_message(what.to_owned());
    }

    fn finished(&self, report: &StepReport) {
        if let Some((bar, _)) = self
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&report.id)
        {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
        let line = match &report.outcome {
            Outcome::Built => Some(format!(
                "  {} built in {:.1?}{}",
                report.id,
                report.duration,
                report
                    .size
                    .map(|s| format!(", {:.1} MB", s as f64 / 1_000_000.0))
                    .unwrap_or_default()
            )),
            Outcome::Skipped(_) => None,
            Outcome::Failed(first_line) => Some(format!("  {} failed: {first_line}", report.id)),
            Outcome::NotStarted(reason) => Some(format!("  {} not started: {reason}", report.id)),
        };
        if let Some(line) = line {
            let _ = self.multi.println(line);
        }
        self.overall.inc(1);
    }

    fn download(&self) -> &dyn gbb_gentoo::Progress {
        &self.downloads
    }

    fn log(&self, id: &str, _line: &str, event: gbb_build::LogEvent<'_>) {
        if let gbb_build::LogEvent::Emerging(package) = event {
            let running = self.running.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((bar, what)) = running.get(id) {
                bar.set_message(format!("{what}, emerging {package}"));
            }
        }
    }
}

/// Prints what the build does: a line per step and part, the logs under `-v`.
pub(crate) struct CliReporter<'p> {
    printer: &'p Printer,
}

impl<'p> CliReporter<'p> {
    pub(crate) fn new(printer: &'p Printer) -> Self {
        Self { printer }
    }
}

impl Reporter for CliReporter<'_> {
    fn started(&self, id: &str, what: &str) {
        self.printer.note(&format!("==> {id}: {what}"));
    }

    fn finished(&self, report: &StepReport) {
        match &report.outcome {
            Outcome::Skipped(reason) => {
                self.printer
                    .verbose(&format!("==> {}: skipped, {reason}", report.id));
            }
            Outcome::Built => self.printer.note(&format!(
                "    {} built in {:.1?}{}",
                report.id,
                report.duration,
                report
                    .size
                    .map(|s| format!(", {}", megabytes(s)))
                    .unwrap_or_default()
            )),
            Outcome::Failed(first_line) => {
                self.printer
                    .note(&format!("    {} failed: {first_line}", report.id));
            }
            Outcome::NotStarted(reason) => {
                self.printer
                    .note(&format!("    {} not started: {reason}", report.id));
            }
        }
    }

    fn log(&self, id: &str, line: &str, _: gbb_build::LogEvent<'_>) {
        self.printer.verbose(&format!("    {id} | {line}"));
    }

    fn download(&self) -> &dyn gbb_gentoo::Progress {
        self
    }
}

/// Off a terminal, a download is a line when it starts and one when it ends.
impl gbb_gentoo::Progress for CliReporter<'_> {
    fn start(&self, url: &str, done: u64, total: Option<u64>) {
        let size = total
            .map(|t| format!(" ({})", megabytes(t)))
            .unwrap_or_default();
        let resume = if done > 0 {
            format!(", resuming at {}", megabytes(done))
        } else {
            String::new()
        };
        self.printer
            .note(&format!("    downloading {url}{size}{resume}"));
    }

    fn advance(&self, _: u64) {}

    fn finish(&self) {
        self.printer.verbose("    download done");
    }
}

pub(crate) fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}
