//! Build progress on a terminal: a line per running step (its id, what it does, the package
//! being emerged, how long it has run) above an overall bar. Finished steps scroll up as plain
//! lines. Off a terminal, or with `-v`, the build prints plain lines instead (`CliReporter`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use gbb_build::{Outcome, Reporter, StepReport};
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

/// The package in an emerge line: `>>> Emerging (1 of 4) dev-libs/libgreet-1.0::gentoo for
/// /emerge-root/` gives `dev-libs/libgreet-1.0`.
fn emerging(line: &str) -> Option<&str> {
    let rest = line.strip_prefix(">>> Emerging")?;
    let after = rest.split_once(") ").map_or(rest, |(_, a)| a);
    after
        .split_whitespace()
        .next()
        .map(|p| p.split("::").next().unwrap_or(p))
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

    fn log(&self, id: &str, line: &str) {
        if let Some(package) = emerging(line) {
            let running = self.running.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((bar, what)) = running.get(id) {
                bar.set_message(format!("{what}, emerging {package}"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::emerging;

    #[test]
    fn packages_from_emerge_lines() {
        assert_eq!(
            emerging(">>> Emerging (1 of 4) dev-libs/libgreet-1.0::gentoo for /emerge-root/"),
            Some("dev-libs/libgreet-1.0")
        );
        assert_eq!(
            emerging(">>> Emerging binary (1 of 1) app-misc/greet-1.0::gentoo"),
            Some("app-misc/greet-1.0")
        );
        assert_eq!(emerging(">>> Installing (1 of 1) x/y-1"), None);
    }
}
