//! What can go wrong reading a build container's package database or an image's root.
//!
//! Both files come from a build container, where users' hooks run as root: every refusal
//! names the file (and the entry inside it) so the step's error says what was wrong.

use std::path::PathBuf;

/// An error of this crate. Messages are lowercase sentences with values in backticks, as
/// gbb's other libraries write them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SbomError {
    /// Reading a file failed.
    #[error("cannot read `{}`", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A tar stream could not be read (truncated, or not a tar).
    #[error("`{}` is not a readable tar archive", path.display())]
    Tar {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// An entry of `pkgdb.tar` has a name or a type gbb does not accept: an absolute path,
    /// `..`, a link, a device, or a name outside the layout the container writes.
    #[error("`{}`: refused entry `{entry}`: {reason}", path.display())]
    BadEntry {
        path: PathBuf,
        entry: String,
        reason: &'static str,
    },
    /// A file or the whole archive is larger than gbb reads (see `limits` in `pkgdb.rs`).
    #[error("`{}`: `{entry}` is larger than {limit} bytes", path.display())]
    TooLarge {
        path: PathBuf,
        entry: String,
        limit: u64,
    },
    /// The archive holds more entries than gbb reads.
    #[error("`{}` has more than {limit} entries", path.display())]
    TooManyEntries { path: PathBuf, limit: u64 },
    /// A file of a package's record is not what Portage writes there.
    #[error("`{}`: `{entry}` line {line}: {reason}", path.display())]
    BadRecord {
        path: PathBuf,
        entry: String,
        line: usize,
        reason: String,
    },
    /// Serialising a document failed (only possible for values JSON cannot hold).
    #[error("cannot serialise the SBOM as JSON")]
    Json(#[from] serde_json::Error),
}
