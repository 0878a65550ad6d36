//! Engines: what runs build containers and builds images, behind one trait.
//!
//! The build logic talks to an [`Engine`]; [`Docker`] implements it over the Docker Engine API
//! (through bollard, never the `docker` command). The trait is synchronous: each engine owns
//! whatever async runtime it needs, so the build code stays plain threads and a test double is
//! a plain struct. Podman goes through the same client over its Docker-compatible API
//! (`Docker::connect_podman`); where its answers differ, `podman.rs` says how and handles it.

mod docker;
mod error;
mod image_ref;
mod podman;
mod remote;
mod rootless;
mod spec;
mod ssh;
mod watchdog;

pub use docker::Docker;
pub use error::EngineError;
pub use image_ref::ImageRef;
pub use podman::{Dialect, PodmanPlaces, ROOTFUL_SOCKET, short_name, socket_candidates};
pub use remote::DockerPlaces;
pub use spec::{
    BuildRequest, ChangeKind, ContainerInfo, ContainerSpec, FileChange, ImageInfo, ListedImage,
    Mount, NetworkNeed,
};

use std::collections::BTreeMap;
use std::path::Path;

/// What gbb needs from a container engine.
pub trait Engine: Send + Sync {
    /// A line saying what the engine is and where (for logs and `-v`).
    fn describe(&self) -> String;

    /// The image `reference` (a name, `name:tag` or an id), or `None` when it does not exist.
    fn inspect_image(&self, reference: &str) -> Result<Option<ImageInfo>, EngineError>;

    /// Imports a root file system tarball as the image `reference` (`docker import`).
    fn import_image(&self, tarball: &Path, reference: &ImageRef) -> Result<(), EngineError>;

    /// Builds an image from a context tarball; `log` gets each line of build output. Returns
    /// the new image's id.
    fn build_image(
        &self,
        request: &BuildRequest,
        log: &mut dyn FnMut(&str),
    ) -> Result<String, EngineError>;

    /// Creates (but does not start) a container; returns its id.
    fn create_container(&self, spec: &ContainerSpec) -> Result<String, EngineError>;

    /// Starts a created container, streams its output to `log` until it exits, and returns its
    /// exit code. The container is kept (to commit it, or to read it after a failure).
    fn run_container(&self, id: &str, log: &mut dyn FnMut(&[u8])) -> Result<i64, EngineError>;

    /// Starts a created container made with `interactive: true`, connects it to `input` and
    /// `output` (the user's terminal, in raw mode) until it exits, and returns its exit code.
    /// `size` is the terminal's (columns, rows).
    fn run_interactive(
        &self,
        id: &str,
        input: Box<dyn std::io::Read + Send>,
        output: &mut dyn std::io::Write,
        size: Option<(u16, u16)>,
    ) -> Result<i64, EngineError>;

    /// Starts a created container and returns at once.
    fn start_container(&self, id: &str) -> Result<(), EngineError>;

    /// The health status of a running container (`starting`, `healthy`, `unhealthy`), `None`
    /// when its image has no HEALTHCHECK, and `Some("exited")` once it stopped.
    fn container_health(&self, id: &str) -> Result<Option<String>, EngineError>;

    /// Saves a container's file system as the image `reference`, with `labels`.
    fn commit_container(
        &self,
        id: &str,
        reference: &ImageRef,
        labels: &BTreeMap<String, String>,
    ) -> Result<String, EngineError>;

    /// What a stopped container changed in its file system compared with its image. Mount
    /// points the engine created for bind mounts show up as added paths; gbb takes them out
    /// of kept builder states.
    fn container_changes(&self, id: &str) -> Result<Vec<FileChange>, EngineError>;

    /// Removes a container, running or not. A container that is already gone is not an error.
    fn remove_container(&self, id: &str) -> Result<(), EngineError>;

    /// Gives the image `source` (a name or an id) the name `reference` too.
    fn tag_image(&self, source: &str, reference: &ImageRef) -> Result<(), EngineError>;

    /// Pushes `reference` (`registry/name:tag`) to its registry; `log` gets each status line
    /// ("Pushed", "Layer already exists", ...). Layers the registry has are not sent again.
    fn push_image(
        &self,
        reference: &ImageRef,
        log: &mut dyn FnMut(&str),
    ) -> Result<(), EngineError>;

    /// Removes the name `reference` (and the image, when nothing else uses it). An image that
    /// containers or child images still use is [`EngineError::InUse`].
    fn remove_image(&self, reference: &str) -> Result<(), EngineError>;

    /// Removes the name `reference` even when a container uses the image. For gbb's own
    /// candidates only, which nothing but a step's own checks runs from: Docker then leaves
    /// such an image untagged; Podman removes the containers that use it, including one
    /// that only its storage still holds. Podman leaves such a container when removing it
    /// fails halfway (it is gone from the container list, its storage is not), and that
    /// keeps the image "in use" for good.
    fn force_remove_image(&self, reference: &str) -> Result<(), EngineError>;

    /// The containers carrying `label` (`key` or `key=value`), running or not, with their
    /// labels.
    fn containers_with_label(&self, label: &str) -> Result<Vec<ContainerInfo>, EngineError>;

    /// The images carrying `label` (`key` or `key=value`), tagged or not, with their names.
    fn images_with_label(&self, label: &str) -> Result<Vec<ListedImage>, EngineError>;

    /// Stops the image builds and imports running now, and every one started later, at once
    /// (they end with [`EngineError::Cancelled`]); returns what was running, as the operations
    /// are named in errors ("building `ns/app:gbb-candidate`"). Never blocks: a signal handler
    /// calls it. Containers are not stopped here; they are removed by id.
    ///
    /// The default suits an engine with nothing to stop (a dry run).
    fn cancel(&self) -> Vec<String> {
        Vec::new()
    }

    /// Loads the images of a docker archive (`docker load`: a `manifest.json`, configs and
    /// layers, the format `gbb_image::write_docker_archive` writes) under the tags the
    /// archive names. Images gbb writes itself reach the engine this way.
    fn load_image(&self, archive: &Path) -> Result<(), EngineError>;

    /// Writes the image `reference` as a docker archive at `to` (`docker save`): how gbb
    /// reads back the layer a `RUN` step's container made.
    fn save_image(&self, reference: &str, to: &Path) -> Result<(), EngineError>;
}
