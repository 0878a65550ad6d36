//! Downloads from Gentoo mirrors: resumed with HTTP ranges after an interruption, retried with
//! backoff on server errors and broken connections, through the proxies of the usual
//! environment variables (ureq reads `HTTP(S)_PROXY`, `ALL_PROXY` and `NO_PROXY`).
//!
//! A download goes to `<name>.part`; the caller renames it only after verifying it, so a file
//! under its final name in the cache is always a verified one.

use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

/// Why a download failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DownloadError {
    #[error("`{url}` does not exist on the mirror (HTTP 404)")]
    NotFound { url: String },
    #[error("`{url}` failed with HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("`{url}` failed after {attempts} attempts: {message}")]
    Failed {
        url: String,
        attempts: u32,
        message: String,
    },
    #[error("no mirror had `{path}`:\n{}", .failures.iter().map(|f| format!("  {f}")).collect::<Vec<_>>().join("\n"))]
    NoMirror { path: String, failures: Vec<String> },
    #[error("cannot write `{}`: {source}", path.display())]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Told how a download goes (the command line draws a progress bar with size and rate).
pub trait Progress: Sync {
    /// A download of `url` starts or resumes at `done` bytes of `total`.
    fn start(&self, url: &str, done: u64, total: Option<u64>);
    /// `bytes` more arrived.
    fn advance(&self, bytes: u64);
    fn finish(&self);
}

/// A progress that shows nothing.
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _: &str, _: u64, _: Option<u64>) {}
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}

/// Fetches files over HTTP(S).
pub struct Downloader {
    agent: ureq::Agent,
    attempts: u32,
    backoff: Duration,
}

impl Default for Downloader {
    fn default() -> Self {
        Self::new(4, Duration::from_secs(1))
    }
}

/// What one attempt ended with.
enum Attempt {
    Done,
    /// Try again (resuming): a server error or a broken transfer.
    Retry(String),
}

impl Downloader {
    /// `attempts` per URL, waiting `backoff`, then twice that, ... between them.
    pub fn new(attempts: u32, backoff: Duration) -> Self {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(30)))
            .timeout_recv_body(Some(Duration::from_secs(120)))
            .build();
        Self {
            agent: config.new_agent(),
            attempts: attempts.max(1),
            backoff,
        }
    }

    /// Downloads `url` to `part`, resuming what `part` already holds.
    pub fn fetch(
        &self,
        url: &str,
        part: &Path,
        progress: &dyn Progress,
    ) -> Result<(), DownloadError> {
        let mut last = String::new();
        for attempt in 0..self.attempts {
            if attempt > 0 {
                std::thread::sleep(self.backoff * 2u32.saturating_pow(attempt - 1));
            }
            match self.attempt(url, part, progress)? {
                Attempt::Done => return Ok(()),
                Attempt::Retry(message) => last = message,
            }
        }
        Err(DownloadError::Failed {
            url: url.to_owned(),
            attempts: self.attempts,
            message: last,
        })
    }

    fn attempt(
        &self,
        url: &str,
        part: &Path,
        progress: &dyn Progress,
    ) -> Result<Attempt, DownloadError> {
        let io = |source| DownloadError::Io {
            path: part.to_owned(),
            source,
        };
        let have = std::fs::metadata(part).map_or(0, |m| m.len());
        let mut request = self.agent.get(url);
        if have > 0 {
            request = request.header("Range", format!("bytes={have}-"));
        }
        let response = match request.call() {
            Ok(response) => response,
            Err(e) => return Ok(Attempt::Retry(e.to_string())),
        };
        let status = response.status().as_u16();
        let length = response
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let (mut file, start) = match status {
            // The server ignored the range (or there was none): start over.
            200 => (std::fs::File::create(part).map_err(io)?, 0),
            206 => (
                std::fs::OpenOptions::new()
                    .append(true)
                    .open(part)
                    .map_err(io)?,
                have,
            ),
            // The part is already whole; verification decides whether it is right.
            416 if have > 0 => return Ok(Attempt::Done),
            404 => {
                return Err(DownloadError::NotFound {
                    url: url.to_owned(),
                });
            }
            500..=599 => return Ok(Attempt::Retry(format!("HTTP {status}"))),
            _ => {
                return Err(DownloadError::Status {
                    url: url.to_owned(),
                    status,
                });
            }
        };
        progress.start(url, start, length.map(|l| l + start));
        let mut body = response.into_body().into_reader();
        let mut buffer = vec![0u8; 1 << 16];
        let mut received = 0u64;
        loop {
            let n = match body.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    file.flush().map_err(io)?;
                    return Ok(Attempt::Retry(format!("the transfer broke off: {e}")));
                }
            };
            file.write_all(&buffer[..n]).map_err(io)?;
            received += n as u64;
            progress.advance(n as u64);
        }
        file.flush().map_err(io)?;
        progress.finish();
        match length {
            Some(length) if received < length => Ok(Attempt::Retry(format!(
                "the transfer ended after {received} of {length} bytes"
            ))),
            _ => Ok(Attempt::Done),
        }
    }

    /// A small file (an index, DIGESTS, a signature) as text.
    pub fn fetch_text(&self, url: &str) -> Result<String, DownloadError> {
        let dir = tempfile_dir();
        let part = dir.join(format!("gbb-text-{}-{}", std::process::id(), unique()));
        let result = self.fetch(url, &part, &NoProgress).and_then(|()| {
            std::fs::read_to_string(&part).map_err(|source| DownloadError::Io {
                path: part.clone(),
                source,
            })
        });
        let _ = std::fs::remove_file(&part);
        result
    }
}

fn tempfile_dir() -> std::path::PathBuf {
    std::env::temp_dir()
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::SeqCst)
}

/// Tries `path` on each mirror in order until `fetch` succeeds; a mirror that lacks the file
/// or keeps failing gives way to the next.
pub fn from_mirrors<T>(
    mirrors: &[String],
    path: &str,
    mut fetch: impl FnMut(&str) -> Result<T, DownloadError>,
) -> Result<T, DownloadError> {
    let mut failures = Vec::new();
    for mirror in mirrors {
        let url = format!(
            "{}/{}",
            mirror.trim_end_matches('/'),
            path.trim_start_matches('/')
        );
        match fetch(&url) {
            Ok(value) => return Ok(value),
            Err(e @ DownloadError::Io { .. }) => return Err(e),
            Err(e) => failures.push(e.to_string()),
        }
    }
    Err(DownloadError::NoMirror {
        path: path.to_owned(),
        failures,
    })
}
