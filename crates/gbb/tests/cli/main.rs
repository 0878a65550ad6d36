//! End-to-end tests of the `gbb` command line: one test binary, one module per area.

mod harness;

mod add;
mod check;
mod engines;
mod graph;
mod layouts;
mod plan;
mod refusals;
mod sbom;
mod settings;
mod update;
