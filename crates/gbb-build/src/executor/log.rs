//! The log protocol of build containers, parsed in one place.
//!
//! A build container's output is the user's log, with two kinds of lines gbb reads: gbb's
//! own markers from `helpers.sh` (`::gbb:: step <name>`, `::gbb:: failed step=<name>`), which
//! say which part of the phase runs (so a failure names it), and Portage's `>>> Emerging (1 of
//! 4) cat/pkg-1.0::repo` lines, which say which package is being built (for the progress
//! display). [`LogEvent::parse`] turns a line into one of these; [`RunLog`] keeps the log file,
//! the last lines for the error message, and the current step.

use std::collections::VecDeque;
use std::io::Write;

use super::report::Reporter;

/// What a line of a build container's output says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogEvent<'a> {
    /// `::gbb:: step <name>`: a part of the phase begins.
    Step(&'a str),
    /// `::gbb:: failed step=<name>`: that part failed.
    Failed(&'a str),
    /// Another `::gbb::` marker (for gbb's own use, not shown as output).
    Marker,
    /// `>>> Emerging ... cat/pkg-1.0::repo`: Portage starts on a package (`cat/pkg-1.0`).
    Emerging(&'a str),
    /// Anything else: output.
    Output,
}

impl<'a> LogEvent<'a> {
    pub fn parse(line: &'a str) -> Self {
        if let Some(marker) = line.strip_prefix("::gbb:: ") {
            if let Some(step) = marker.strip_prefix("step ") {
                return Self::Step(step.split_whitespace().next().unwrap_or(step));
            }
            if let Some(failed) = marker.strip_prefix("failed step=")
                && let Some(step) = failed.split_whitespace().next()
            {
                return Self::Failed(step);
            }
            return Self::Marker;
        }
        if let Some(rest) = line.strip_prefix(">>> Emerging") {
            let after = rest.split_once(") ").map_or(rest, |(_, a)| a);
            if let Some(package) = after.split_whitespace().next() {
                return Self::Emerging(package.split("::").next().unwrap_or(package));
            }
        }
        Self::Output
    }

    /// Whether the line is gbb's own marker rather than the build's output.
    pub fn is_marker(self) -> bool {
        matches!(self, Self::Step(_) | Self::Failed(_) | Self::Marker)
    }
}

/// How many of the last output lines an error shows.
const TAIL_LINES: usize = 25;

/// What a container run streams back: the log file, the last lines, and the marked step.
pub(crate) struct RunLog<'a> {
    file: std::io::BufWriter<std::fs::File>,
    tail: VecDeque<String>,
    partial: Vec<u8>,
    /// The part of the phase running now (`setup` until the first marker).
    pub(crate) step: String,
    /// The part the container said failed.
    pub(crate) failed_step: Option<String>,
    id: &'a str,
    reporter: &'a dyn Reporter,
}

impl<'a> RunLog<'a> {
    pub(crate) fn new(file: std::fs::File, id: &'a str, reporter: &'a dyn Reporter) -> Self {
        Self {
            file: std::io::BufWriter::new(file),
            tail: VecDeque::new(),
            partial: Vec::new(),
            step: "setup".to_owned(),
            failed_step: None,
            id,
            reporter,
        }
    }

    fn line(&mut self, line: &str) {
        let event = LogEvent::parse(line);
        match event {
            LogEvent::Step(step) => self.step = step.to_owned(),
            LogEvent::Failed(step) => self.failed_step = Some(step.to_owned()),
            _ => {}
        }
        if !event.is_marker() {
            if self.tail.len() == TAIL_LINES {
                self.tail.pop_front();
            }
            self.tail.push_back(line.to_owned());
        }
        self.reporter.log(self.id, line, event);
    }

    /// Takes a chunk of the container's output.
    pub(crate) fn bytes(&mut self, bytes: &[u8]) {
        let _ = self.file.write_all(bytes);
        self.partial.extend_from_slice(bytes);
        while let Some(at) = self.partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=at).collect();
            let text = String::from_utf8_lossy(&line[..line.len() - 1]).into_owned();
            self.line(text.trim_end_matches('\r'));
        }
    }

    /// Ends the log: the last line without a newline, and the file flushed.
    pub(crate) fn finish(&mut self) {
        if !self.partial.is_empty() {
            let rest = String::from_utf8_lossy(&std::mem::take(&mut self.partial)).into_owned();
            self.line(&rest);
        }
        let _ = self.file.flush();
    }

    /// The part that failed: the one the container named, else the one running.
    pub(crate) fn failed_step(&self) -> String {
        self.failed_step
            .clone()
            .unwrap_or_else(|| self.step.clone())
    }

    pub(crate) fn tail(&self) -> Vec<String> {
        self.tail.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::LogEvent;

    #[test]
    fn lines_become_events() {
        assert_eq!(
            LogEvent::parse("::gbb:: step finish_rootfs_build"),
            LogEvent::Step("finish_rootfs_build")
        );
        assert_eq!(
            LogEvent::parse("::gbb:: failed step=configure_rootfs_build status=1"),
            LogEvent::Failed("configure_rootfs_build")
        );
        assert_eq!(LogEvent::parse("::gbb:: something new"), LogEvent::Marker);
        assert_eq!(
            LogEvent::parse(
                ">>> Emerging (1 of 4) dev-libs/libgreet-1.0::gentoo for /emerge-root/"
            ),
            LogEvent::Emerging("dev-libs/libgreet-1.0")
        );
        assert_eq!(
            LogEvent::parse(">>> Emerging binary (1 of 1) app-misc/greet-1.0::gentoo"),
            LogEvent::Emerging("app-misc/greet-1.0")
        );
        assert_eq!(
            LogEvent::parse(">>> Installing (1 of 1) x/y-1"),
            LogEvent::Output
        );
        assert_eq!(LogEvent::parse("checking for gcc... gcc"), LogEvent::Output);
    }
}
