//! Where gbb mounts its own folders inside a build container, named once here.
//!
//! Each is also passed to the container's scripts as an environment variable
//! (`executor/container.rs`), so the Rust side and `container/helpers.sh` cannot drift, and a
//! user's `BUILDER_MOUNTS` cannot take one of them (`mounts.rs`).

/// The image's (or builder's) folder, read-only: `build.sh` and its files (`GBB_CONFIG`).
pub(crate) const CONFIG: &str = "/config";
/// Source archives, shared by every build on the machine (`GBB_DISTFILES`).
pub(crate) const DISTFILES: &str = "/distfiles";
/// The fresh output folder of this run, `outputs::RunDir` (`GBB_OUT`).
pub(crate) const OUT: &str = "/gbb-out";
/// The core's portage tree, read-only (`GBB_PORTAGE`).
pub(crate) const PORTAGE: &str = "/var/db/repos/gentoo";
/// The binary package cache of the builder chain, read-only (`binpkgs.rs`).
pub(crate) const PACKAGE_CACHE: &str = "/var/cache/gbb/binpkgs";
/// This run's `PKGDIR`: symlinks into the cache, and what this run builds (`binpkgs.rs`).
pub(crate) const PACKAGE_RUN: &str = "/packages";

/// All of them: a user mount cannot take any.
pub(crate) const ALL: [&str; 6] = [CONFIG, PACKAGE_RUN, PACKAGE_CACHE, DISTFILES, OUT, PORTAGE];
