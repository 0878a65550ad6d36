use std::collections::BTreeMap;
use std::path::PathBuf;

/// An image as the engine reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImageInfo {
    pub id: String,
    pub labels: BTreeMap<String, String>,
    /// Bytes, as the engine counts them (all layers).
    pub size: u64,
}

/// A container as a listing reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContainerInfo {
    pub id: String,
    pub labels: BTreeMap<String, String>,
}

/// An image as a listing reports it: with its names, which inspecting one name does not give.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListedImage {
    pub id: String,
    /// `name:tag` references; empty for an image no name points at.
    pub tags: Vec<String>,
    pub labels: BTreeMap<String, String>,
    /// Seconds since the epoch.
    pub created: i64,
    pub size: u64,
}

/// `docker build`: a context tarball and what to do with it.
#[derive(Clone, Debug, Default)]
pub struct BuildRequest {
    /// A tar file holding the build context, with the Dockerfile in it.
    pub context: PathBuf,
    /// The Dockerfile's path inside the context.
    pub dockerfile: String,
    /// The first is given to the build, the others are added as tags afterwards.
    pub tags: Vec<crate::ImageRef>,
    pub labels: BTreeMap<String, String>,
}

/// A host folder (or file) mounted into a container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mount {
    pub source: PathBuf,
    pub target: String,
    pub read_only: bool,
}

/// A container to create.
#[derive(Clone, Debug, Default)]
pub struct ContainerSpec {
    pub image: String,
    /// Replaces the image's entrypoint when set.
    pub entrypoint: Option<Vec<String>>,
    /// A name to find it by (`docker ps`); the engine makes one up when `None`.
    pub name: Option<String>,
    pub cmd: Vec<String>,
    /// `KEY=value` entries.
    pub env: Vec<String>,
    pub mounts: Vec<Mount>,
    pub labels: BTreeMap<String, String>,
    /// Linux capabilities to add (`SYS_PTRACE`).
    pub cap_add: Vec<String>,
    /// Security options as the Engine API takes them: `seccomp=<profile JSON>` or
    /// `seccomp=unconfined` (the `docker` command reads a profile file itself and sends its
    /// text; through the API the caller does).
    pub security_opt: Vec<String>,
    /// Folders replaced by a tmpfs, with its mount options (`docker run --tmpfs PATH:OPTIONS`).
    pub tmpfs: BTreeMap<String, String>,
    pub working_dir: Option<String>,
    /// Allocate a terminal and keep standard input open (for `gbb shell`).
    pub interactive: bool,
    /// What the container needs of the network; the engine picks the mode that gives it
    /// (`rootless.rs`).
    pub network: NetworkNeed,
}

/// What a container needs of the network; the engine turns it into a network mode
/// (`rootless.rs`): a bridge of its own (the default) or the user's network on rootless
/// Podman for [`NetworkNeed::Outside`], no network but a loopback everywhere for
/// [`NetworkNeed::Loopback`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NetworkNeed {
    /// Other machines: phase 1's emerge fetches distfiles from `GENTOO_MIRRORS` inside the
    /// container, `download_file` and `add_overlay` download, a template's `RUN` may
    /// (`docker build` gave it the network), and so may a user in `gbb shell`.
    #[default]
    Outside,
    /// A loopback interface of its own and nothing else: `build-test.sh` and the health
    /// check (a server the image starts listens on the container's own loopback), and
    /// gbb's housekeeping containers.
    Loopback,
}

/// What a container changed in its file system, compared with its image (`docker diff`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileChange {
    /// An absolute path inside the container.
    pub path: String,
    pub kind: ChangeKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    Modified,
    Added,
    Deleted,
}
