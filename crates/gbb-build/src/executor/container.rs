//! The contract between gbb and a build container, on gbb's side: where gbb's folders are
//! mounted, what the environment holds, which labels the container carries.
//!
//! [`container_spec`] is a pure function of what a step's container is for: it touches no file
//! and no engine, so `gbb build`, `gbb build -i` and `gbb shell` get the same container from the
//! same values, and a test can look at a spec without running anything. Whatever needs the
//! file system (absolute host paths, the folders gbb makes, the binary package cache's mounts)
//! is done by the caller first and handed in as [`HostFolders`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gbb_engine::{ContainerSpec, ImageRef, Mount, NetworkNeed};
use gbb_stack::Definition;

use crate::labels::container_labels;
use crate::mount_targets;
use crate::mounts::EngineSettings;
use crate::outputs::Owner;
use crate::{BuildError, Paths};

/// What `gbb-build` (the container's entry point) is asked to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// A builder's `configure_builder` hook.
    Builder,
    /// An image's phase 1; `keeps_state` when an image of the stack builds in its kept
    /// state (`gbb_plan::ImageStep::keeps_state`), passed as [`KEEP_STATE_VARIABLE`].
    Image { keeps_state: bool },
    /// An interactive bash with the helpers and `build.sh` loaded (`gbb shell`, `gbb build -i`).
    Shell,
}

impl Mode {
    fn as_str(self) -> &'static str {
        match self {
            Self::Builder => "builder",
            Self::Image { .. } => "image",
            Self::Shell => "shell",
        }
    }
}

/// Tells phase 1 whether the container is kept as a builder state for children (`true`) or
/// thrown away (`false`): only a kept one needs the image's packages merged into its own `/`,
/// the headers and static libraries kept for children, and the root emptied before the commit
/// (`container/helpers.sh`). Unset (a shell, a builder's hook) means `true`, the old way.
pub(crate) const KEEP_STATE_VARIABLE: &str = "GBB_KEEP_STATE";

/// The host folders a build container mounts, as absolute paths (the engine resolves nothing
/// relative), made ready by [`HostFolders::prepare`].
#[derive(Clone, Debug)]
pub(crate) struct HostFolders {
    pub(crate) config: PathBuf,
    pub(crate) distfiles: PathBuf,
    pub(crate) output: PathBuf,
    /// The core's unpacked portage tree, when the chain has a core.
    pub(crate) portage: Option<PathBuf>,
    /// The binary package cache's mounts (`binpkgs.rs`).
    pub(crate) packages: Vec<Mount>,
}

impl HostFolders {
    /// Makes the shared folders that may not exist yet and resolves every path.
    pub(crate) fn prepare(
        paths: &Paths,
        definition: &Definition,
        output: &Path,
        portage: Option<&Path>,
        packages: Vec<Mount>,
    ) -> Result<Self, BuildError> {
        let distfiles = paths.distfiles();
        std::fs::create_dir_all(&distfiles).map_err(crate::error::io(&distfiles))?;
        Ok(Self {
            config: absolute(&definition.dir)?,
            distfiles: absolute(&distfiles)?,
            output: absolute(output)?,
            portage: portage.map(absolute).transpose()?,
            packages,
        })
    }
}

/// An absolute path for a bind mount.
pub(crate) fn absolute(path: &Path) -> Result<PathBuf, BuildError> {
    std::fs::canonicalize(path).map_err(crate::error::io(path))
}

/// What one build container is: everything [`container_spec`] needs.
pub(crate) struct ContainerRequest<'a> {
    pub(crate) definition: &'a Definition,
    /// The image it is made from (a core, a builder, a parent's kept state).
    pub(crate) image: &'a ImageRef,
    pub(crate) mode: Mode,
    pub(crate) stack_identity: &'a str,
    /// The definition's engine settings, read and checked before the build started.
    pub(crate) settings: &'a EngineSettings,
    pub(crate) folders: HostFolders,
    pub(crate) source_date_epoch: u64,
    /// Who ran gbb (`BOB_HOST_UID`/`BOB_HOST_GID`).
    pub(crate) owner: Owner,
}

/// The container a build step runs in.
pub(crate) fn container_spec(request: ContainerRequest<'_>) -> ContainerSpec {
    let ContainerRequest {
        definition,
        image,
        mode,
        stack_identity,
        settings,
        folders,
        source_date_epoch,
        owner,
    } = request;
    let mut mounts = vec![
        Mount {
            source: folders.config,
            target: mount_targets::CONFIG.to_owned(),
            read_only: true,
        },
        Mount {
            source: folders.distfiles,
            target: mount_targets::DISTFILES.to_owned(),
            read_only: false,
        },
        Mount {
            source: folders.output,
            target: mount_targets::OUT.to_owned(),
            read_only: false,
        },
    ];
    mounts.extend(folders.packages);
    if let Some(portage) = folders.portage {
        mounts.push(Mount {
            source: portage,
            target: mount_targets::PORTAGE.to_owned(),
            read_only: true,
        });
    }
    let mut spec = ContainerSpec {
        image: image.to_string(),
        entrypoint: Some(vec!["/usr/local/lib/gbb/gbb-build".to_owned()]),
        name: None,
        cmd: vec![mode.as_str().to_owned()],
        env: environment(definition, mode, source_date_epoch, owner),
        mounts,
        labels: container_labels(stack_identity, definition.id.as_str()),
        cap_add: Vec::new(),
        security_opt: Vec::new(),
        tmpfs: BTreeMap::new(),
        working_dir: Some("/".to_owned()),
        interactive: mode == Mode::Shell,
        // Every mode may fetch: emerge downloads distfiles inside the container.
        network: NetworkNeed::Outside,
    };
    if definition.settings.sys_ptrace() {
        spec.cap_add.push("SYS_PTRACE".to_owned());
    }
    settings.clone().apply_to(&mut spec);
    spec
}

/// The environment of a build container: every BOB_* variable, and gbb's own.
fn environment(
    definition: &Definition,
    mode: Mode,
    source_date_epoch: u64,
    owner: Owner,
) -> Vec<String> {
    let mut env: Vec<String> = definition
        .settings
        .bob_vars
        .iter()
        .map(|var| format!("{}={}", var.name, var.value))
        .collect();
    env.push(format!("GBB_ID={}", definition.id));
    // Who ran gbb, as kubler passes it: hooks may give files they make to that user.
    env.push(format!("BOB_HOST_UID={}", owner.uid));
    env.push(format!("BOB_HOST_GID={}", owner.gid));
    env.push(format!("GBB_KIND={}", definition.kind.as_str()));
    env.push(format!("GBB_OUT={}", mount_targets::OUT));
    env.push(format!("GBB_CONFIG={}", mount_targets::CONFIG));
    env.push(format!("GBB_DISTFILES={}", mount_targets::DISTFILES));
    env.push(format!("GBB_PORTAGE={}", mount_targets::PORTAGE));
    env.push(format!(
        "GBB_PACKAGE_CACHE={}",
        mount_targets::PACKAGE_CACHE
    ));
    env.push(format!("GBB_PACKAGE_RUN={}", mount_targets::PACKAGE_RUN));
    env.push("EMERGE_ROOT=/emerge-root".to_owned());
    env.push("_EMERGE_ROOT=/emerge-root".to_owned());
    env.push(format!("SOURCE_DATE_EPOCH={source_date_epoch}"));
    if let Mode::Image { keeps_state } = mode {
        env.push(format!("{KEEP_STATE_VARIABLE}={keeps_state}"));
    }
    env
}
