//! The dependency plan: which steps a build takes, in which order, and why.
//!
//! [`BuildPlan::new`] takes a loaded [`gbb_stack::Stack`] and a [`Request`] (the ids the user
//! named, `-n`, `-e`) and walks from each requested id to everything it needs: an image needs its
//! parent image and the builder it runs in; a builder needs the builder it extends, or a core; a
//! core (stage3 + portage tree + gbb's in-container scripts) needs nothing. The walk is a
//! depth-first search that keeps the path it came by, so a reference to an id that does not exist
//! and a cycle are both reported with the chain of ids, variables and file positions that leads
//! there (petgraph's algorithms report a node of a cycle, not the path to it, so the walk is
//! written out here).
//!
//! The found steps are then ordered with Kahn's algorithm over a sorted ready set (cores first,
//! then builders, then images, each by id): a step comes after everything it needs, and the
//! same stack always gives the same order. Everything is pure: no engine, no file access.

// Plan errors carry the whole chain of ids and positions that leads to a bad reference, which
// makes them large; they are returned once per run, so boxing them would buy nothing.
#![allow(clippy::result_large_err)]

mod error;
mod graph;
mod json;
mod order;
mod request;
mod resolve;
mod step;

pub use error::{Link, PlanError};
pub use graph::{GraphFormat, render_graph};
pub use order::DependencyQueue;
pub use request::Request;
pub use resolve::state_repository;
pub use step::{
    BuildPlan, BuilderBuildsIn, BuilderStep, CoreRef, CoreStep, ImageBuildsIn, ImageStep, Parent,
    Reason, Step, StepId, StepKind,
};
