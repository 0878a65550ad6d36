//! All output goes through the [`Printer`]: data to stdout, messages to stderr, colours only
//! where the stream is a terminal and `NO_COLOR` is unset (anstream decides).

use std::io::Write;

use anstyle::{AnsiColor, Style};

pub(crate) struct Printer {
    verbose: bool,
}

const ERROR: Style = AnsiColor::Red.on_default().bold();
const HINT: Style = AnsiColor::Cyan.on_default().bold();
const DIM: Style = Style::new().dimmed();
pub(crate) const HEADER: Style = Style::new().bold();

impl Printer {
    pub(crate) fn new(verbose: bool) -> Self {
        Self { verbose }
    }

    pub(crate) fn is_verbose(&self) -> bool {
        self.verbose
    }

    /// Data: the output a script would read.
    pub(crate) fn data(&self, text: &str) {
        let mut out = anstream::stdout().lock();
        // A closed pipe (`gbb plan | head`) is not an error worth reporting.
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }

    /// Data written by `write` straight to stdout, unstyled and buffered: for machine output
    /// (JSON), which has no colour to strip and can be megabytes long.
    pub(crate) fn data_with(
        &self,
        write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
        match write(&mut out).and_then(|()| out.flush()) {
            // A closed pipe (`gbb plan --json | head`) is not an error worth reporting.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            other => other,
        }
    }

    /// A message for the person at the terminal.
    pub(crate) fn note(&self, text: &str) {
        let _ = writeln!(anstream::stderr(), "{text}");
    }

    pub(crate) fn hint(&self, text: &str) {
        let _ = writeln!(anstream::stderr(), "{HINT}hint:{HINT:#} {text}");
    }

    /// A line shown only with `-v`.
    pub(crate) fn verbose(&self, text: &str) {
        if self.verbose {
            let _ = writeln!(anstream::stderr(), "{DIM}{text}{DIM:#}");
        }
    }

    /// The final error: the error itself, then each cause on its own line.
    pub(crate) fn error(&self, error: &anyhow::Error) {
        let mut err = anstream::stderr().lock();
        let _ = writeln!(err, "{ERROR}error:{ERROR:#} {error}");
        for cause in error.chain().skip(1) {
            // Library errors already include their source in their own message when it adds
            // something; print the rest.
            let text = cause.to_string();
            if !error.to_string().contains(&text) {
                let _ = writeln!(err, "  caused by: {text}");
            }
        }
    }
}
