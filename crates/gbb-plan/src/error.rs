use std::fmt;

use gbb_config::Origin;
use gbb_stack::ImageId;

use crate::StepId;

/// One link of a chain of ids: a step, and the variable (with its position) that led from the
/// previous link to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub id: StepId,
    pub via: Option<(&'static str, Origin)>,
}

/// A chain as the user reads it: `a → b (IMAGE_PARENT at file:line) → c`.
struct Chain<'a>(&'a [Link]);

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, link) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n    → ")?;
            } else {
                f.write_str("    ")?;
            }
            write!(f, "{}", link.id)?;
            if let Some((variable, origin)) = &link.via {
                write!(f, "  ({variable} at {origin})")?;
            }
        }
        Ok(())
    }
}

fn hint_line(s: &Option<String>) -> String {
    s.as_ref()
        .map(|s| format!("\n  hint: did you mean `{s}`?"))
        .unwrap_or_default()
}

/// Why a request cannot be planned. Every variant names the ids involved; those found by
/// following references carry the chain that leads there.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    #[error("unknown id `{given}`: no image, builder or namespace has that name{}", hint_line(.suggestion))]
    UnknownId {
        given: String,
        suggestion: Option<String>,
    },

    #[error(
        "unknown {what} `{missing}` ({variable} at {origin}){}\n  chain:\n{}",
        hint_line(.suggestion),
        Chain(.chain)
    )]
    UnknownReference {
        what: &'static str,
        missing: ImageId,
        variable: &'static str,
        origin: Origin,
        chain: Vec<Link>,
        suggestion: Option<String>,
    },

    #[error(
        "{variable} names `{target}`, which is {actual}, not {expected} ({origin})\n  chain:\n{}",
        Chain(.chain)
    )]
    WrongKind {
        variable: &'static str,
        target: ImageId,
        expected: &'static str,
        actual: &'static str,
        origin: Origin,
        chain: Vec<Link>,
    },

    #[error("dependency cycle: {}\n  cycle:\n{}", cycle_ids(.cycle), Chain(.cycle))]
    Cycle { cycle: Vec<Link> },

    #[error(
        "builder `{builder}` has no stage3 and no BUILDER: set STAGE3_BASE (or STAGE3_FILE) or BUILDER in `{}`\n  chain:\n{}",
        conf.display(),
        Chain(.chain)
    )]
    NoBuilderBase {
        builder: ImageId,
        conf: std::path::PathBuf,
        chain: Vec<Link>,
    },

    #[error(
        "image `{image}` has no builder: it has no parent and neither BUILDER nor DEFAULT_BUILDER is set\n  chain:\n{}",
        Chain(.chain)
    )]
    NoBuilder { image: ImageId, chain: Vec<Link> },

    #[error(
        "kept builder state `{state}` of `{image}` has the same name as builder `{state}`; rename one of them"
    )]
    StateNameClash { image: ImageId, state: String },
}

fn cycle_ids(cycle: &[Link]) -> String {
    cycle
        .iter()
        .map(|l| format!("`{}`", l.id))
        .collect::<Vec<_>>()
        .join(" → ")
}
