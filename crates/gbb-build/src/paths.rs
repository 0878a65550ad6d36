use std::path::{Path, PathBuf};

use gbb_stack::ImageId;

/// Where a build keeps its files on the host.
///
/// - `<stack>/.gbb/build/<ns>/<name>/`: phase 1's output (`rootfs.tar`, `packages.tsv`, ...),
///   kept so that `-f` can redo phase 2 without phase 1; no container mounts it (gbb moves
///   the files there once the step succeeded, see `outputs.rs`);
/// - `<stack>/.gbb/run/<id>-XXXXXX/`: one container run's `/gbb-out` and build context,
///   removed when the run ends;
/// - `<stack>/.gbb/logs/<ns>/<name>.log`: the log of the step's last run;
/// - `<cache>/packages/<ns>/<builder>/`: binary packages, per builder chain (they depend on
///   the builder's CHOST and flags), shared by every stack;
/// - `<cache>/distfiles/`: source downloads, shared by everything.
#[derive(Clone, Debug)]
pub struct Paths {
    pub state: PathBuf,
    pub cache: PathBuf,
}

impl Paths {
    /// Paths for the stack at `root`, with the shared cache at `cache`.
    pub fn new(root: &Path, cache: &Path) -> Self {
        Self {
            state: root.join(".gbb"),
            cache: cache.to_owned(),
        }
    }

    pub fn output(&self, id: &str) -> PathBuf {
        self.state.join("build").join(id)
    }

    /// Where each container run gets its fresh output folder.
    pub fn runs(&self) -> PathBuf {
        self.state.join("run")
    }

    pub fn log(&self, id: &str) -> PathBuf {
        self.state.join("logs").join(format!("{id}.log"))
    }

    pub fn packages(&self, builder: Option<&ImageId>) -> PathBuf {
        let dir = self.cache.join("packages");
        match builder {
            Some(id) => dir.join(id.as_str()),
            None => dir.join("_"),
        }
    }

    pub fn distfiles(&self) -> PathBuf {
        self.cache.join("distfiles")
    }
}
