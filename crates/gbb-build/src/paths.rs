use std::path::{Path, PathBuf};

use gbb_stack::ImageId;

use crate::ContentKey;

/// Where a build keeps its files on the host.
///
/// - `<stack>/.gbb/build/<ns>/<name>/`: phase 1's output (`rootfs.tar`, `packages.tsv`, ...),
///   kept so that `-f` can redo phase 2 without phase 1; no container mounts it (gbb moves
///   the files there once the step succeeded, see `outputs.rs`);
/// - `<stack>/.gbb/run/<id>-XXXXXX/`: one container run's `/gbb-out` and build context,
///   removed when the run ends;
/// - `<stack>/.gbb/logs/<ns>/<name>.log`: the log of the step's last run;
/// - `<cache>/packages/<ns>/<builder>/<key>/`: binary packages, per builder chain and its
///   content key (they depend on the builder's CHOST, flags and system), shared by every stack
///   whose chain is the same (see `binpkgs.rs`);
/// - `<cache>/packages-runs/`: each build container's own `PKGDIR`, whose new packages gbb
///   moves into the cache when the container ended (on the cache's file system, so that is
///   a link, not a copy);
/// - `<cache>/distfiles/`: source downloads, shared by everything;
/// - `<stack>/.gbb/images/`: the OCI blobs of the images gbb wrote (a
///   `gbb_image::BlobStore`), the stack's own, pruned after each build to what the kept
///   images use (`image_store.rs` says why it is not shared);
/// - `<stack>/.gbb/build/<ns>/<name>/manifest`: the manifest digest (`sha256:<hex>`) of the
///   image's last successful build in that store; what `gbb push`, `--output` and
///   `gbb verify` start from.
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

    /// The binary packages of the builder chain that starts with `builder`, whose content
    /// key is `key`.
    pub fn packages(&self, builder: &ImageId, key: &ContentKey) -> PathBuf {
        self.cache
            .join("packages")
            .join(builder.as_str())
            .join(key.as_str())
    }

    /// Where build containers get their own `PKGDIR`s.
    pub fn package_runs(&self) -> PathBuf {
        self.cache.join("packages-runs")
    }

    pub fn distfiles(&self) -> PathBuf {
        self.cache.join("distfiles")
    }

    /// The content store of the images gbb writes (blobs by digest).
    pub fn image_store(&self) -> PathBuf {
        self.state.join("images")
    }

    /// The file holding the manifest digest of the image `id`'s last successful build.
    pub fn image_manifest(&self, id: &str) -> PathBuf {
        self.output(id).join("manifest")
    }
}
