//! The three kinds of step, one file each.

pub(crate) mod builder;
pub(crate) mod core;
pub(crate) mod image;
pub(crate) mod image_phase2;
