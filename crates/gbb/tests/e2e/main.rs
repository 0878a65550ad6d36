//! End-to-end tests of `gbb build` against a real Docker engine and the test build root.
//!
//! They never skip: `scripts/test` starts the engine and makes the build root (its path in
//! `GBB_TEST_BUILD_ROOT`), and a test that cannot reach either fails and says so. Each test
//! builds a copy of `examples/stack` under a namespace of its own, so tests can run at once,
//! and removes its images when done.

mod harness;
mod isolated_engine;

mod binpkgs;
mod build;
mod clean;
mod engines;
mod faults;
mod image_outputs;
mod interactive;
mod kubler;
mod loader;
mod mirror;
mod mounts;
mod outputs;
mod parallel;
mod readonly;
mod registry;
mod remote;
mod remote_ssh;
mod reproducible;
mod rootless;
mod sbom;
mod shell;
mod signals;
mod stage3_tools;
mod states;
mod status;
