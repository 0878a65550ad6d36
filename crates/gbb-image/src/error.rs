//! The errors of image writing, with the path or digest each one is about.

use std::io;
use std::path::PathBuf;

/// Why writing or reading an image failed. Every variant names the file, entry or digest it is
/// about, so the binary can print it as is.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file or folder could not be read or written.
    #[error("cannot {action} `{path}`")]
    Io {
        /// What was being done, as a verb phrase ("write", "create the folder").
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The root tar could not be read as a tar archive.
    #[error("`{path}` is not a readable tar archive")]
    Tar {
        /// The archive.
        path: PathBuf,
        /// What the tar reader said.
        #[source]
        source: io::Error,
    },
    /// One entry of the root tar cannot become part of a layer.
    #[error("`{archive}`: entry `{entry}` {problem}")]
    Entry {
        /// The archive.
        archive: PathBuf,
        /// The entry's path as written in the archive (lossy UTF-8).
        entry: String,
        /// What is wrong with it.
        problem: EntryProblem,
    },
    /// A blob the image refers to is not in the store.
    #[error("blob `{digest}` is missing from the store at `{store}`")]
    MissingBlob {
        /// The blob's digest.
        digest: String,
        /// The store's folder.
        store: PathBuf,
    },
    /// A blob's bytes do not hash to its name: the store was changed behind gbb's back.
    #[error("blob `{digest}` in the store at `{store}` does not match its digest")]
    CorruptBlob {
        /// The blob's digest.
        digest: String,
        /// The store's folder.
        store: PathBuf,
    },
    /// A manifest or config in the store is not the JSON it should be.
    #[error("{what} `{digest}` is not a valid {what}")]
    Json {
        /// "image manifest", "image config", "image index".
        what: &'static str,
        /// Its digest (or path, for an index).
        digest: String,
        /// What serde said.
        #[source]
        source: serde_json::Error,
    },
    /// A digest that is not `sha256:` and 64 lowercase hex digits.
    #[error("`{0}` is not a sha256 digest")]
    Digest(String),
    /// An OCI type refused a value (oci-spec's builders validate).
    #[error("invalid OCI {what}")]
    Spec {
        /// What was being built.
        what: &'static str,
        /// oci-spec's error.
        #[source]
        source: oci_spec::OciSpecError,
    },
    /// An image reference name that the OCI image layout grammar refuses.
    #[error(
        "`{0}` is not a valid image reference name (letters and digits, separated by `-._:@+`, \
         `--` or `/`)"
    )]
    RefName(String),
    /// The same reference name was given to two images of one output.
    #[error("the reference name `{0}` is given to two different images")]
    DuplicateRefName(String),
    /// A `SOURCE_DATE_EPOCH` that is not a whole number of seconds in range.
    #[error(
        "`SOURCE_DATE_EPOCH` is `{0}`, which is not a whole number of seconds between 0 and \
         253402300799 (the end of year 9999)"
    )]
    Epoch(String),
    /// The output folder already holds files and is not an OCI image layout, so gbb will not
    /// write into it.
    #[error("`{0}` already holds files and is not an OCI image layout")]
    NotALayout(PathBuf),
    /// An archive read as the output of `docker save` does not have that shape.
    #[error("`{path}` is not a `docker save` archive: {problem}")]
    NotADockerSave {
        /// The archive.
        path: PathBuf,
        /// What is missing, e.g. "`manifest.json` lists no layer".
        problem: String,
    },
    /// An image of a `docker-archive` output has no tag to load it under.
    #[error("image `{0}` of a docker archive has no tag")]
    NoRepoTag(String),
}

/// What is wrong with one entry of a root tar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EntryProblem {
    /// A `..` component: an entry that would land outside the root.
    #[error("leaves the root (a `..` component)")]
    LeavesRoot,
    /// A hard link whose target is not an earlier entry of the archive.
    #[error("is a hard link to `{0}`, which the archive does not hold")]
    DanglingHardLink(String),
    /// A chain of hard links that comes back to itself.
    #[error("is part of a loop of hard links")]
    HardLinkLoop,
    /// An entry type a layer cannot hold, or one gbb does not write (GNU sparse files).
    #[error("has the tar entry type `{0}`, which a layer cannot hold")]
    UnsupportedType(char),
    /// A link entry with no target.
    #[error("is a link without a target")]
    NoLinkTarget,
    /// A header field that cannot be read (a malformed number).
    #[error("has an unreadable header: {0}")]
    BadHeader(String),
}

impl Error {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn spec(what: &'static str, source: oci_spec::OciSpecError) -> Self {
        Self::Spec { what, source }
    }
}
