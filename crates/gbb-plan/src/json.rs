//! The plan as JSON (`gbb plan --json`): a stable, documented shape for scripts and CI.
//!
//! ```json
//! {"stack": "...", "layout": "seed", "steps": [
//!   {"kind": "image", "id": "ns/app", "parent": "ns/lib", "builder": "ns/bob-lib",
//!    "builds_in": "state", "needs": ["ns/lib"], "reason": "requested", ...}]}
//! ```
//!
//! Every step has `kind`, `id`, `parent` and `builder` (`null` for cores; `"scratch"` as the
//! parent of images built from nothing), `builds_in` (`core`, `builder` or `state`), `needs`
//! (ids of earlier steps) and `reason`. Images and builders add `path`, `tag`, `packages`
//! and `hooks`; images add `state` (the name of their kept builder state) and `keeps_state`
//! (whether an image of the stack builds in that state, so that phase 1 keeps it); cores add
//! `stage3` and `portage`.
//!
//! The document is written straight to the output from borrowed data (no intermediate JSON
//! tree): a 10,000-image plan is several megabytes, and building it as `serde_json::Value`s
//! first cost more than planning it.

use std::io::Write;

use gbb_stack::{PortageTree, Stack, Stage3};
use serde::Serialize;

use crate::{BuildPlan, Step};

#[derive(Serialize)]
struct PlanDocument<'a> {
    stack: String,
    layout: &'static str,
    steps: Vec<StepDocument<'a>>,
}

#[derive(Serialize)]
struct StepDocument<'a> {
    kind: &'static str,
    id: String,
    parent: Option<String>,
    builder: Option<String>,
    builds_in: Option<&'static str>,
    needs: Vec<String>,
    reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tag: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    packages: Option<&'a Option<Vec<String>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hooks: Option<Vec<&'static str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    keeps_state: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stage3: Option<Stage3Document<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    portage: Option<PortageDocument<'a>>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Stage3Document<'a> {
    File {
        file: String,
    },
    Release {
        base: &'a str,
        date: &'a Option<String>,
        arch: &'a str,
    },
}

#[derive(Serialize)]
#[serde(untagged)]
enum PortageDocument<'a> {
    Dir {
        dir: String,
    },
    Snapshot {
        url: &'a Option<String>,
        date: &'a str,
    },
}

impl BuildPlan {
    /// Writes the plan as pretty-printed JSON, with a final newline.
    pub fn write_json(&self, stack: &Stack, out: &mut impl Write) -> std::io::Result<()> {
        let steps = self
            .steps
            .iter()
            .map(|step| {
                let definition = step.definition().map(|i| &stack.definitions()[i]);
                let builds_in = step.builds_in();
                let core = match step {
                    Step::Core(core) => Some(&core.core.input),
                    _ => None,
                };
                StepDocument {
                    kind: step.kind().as_str(),
                    id: step.id().to_string(),
                    parent: step.parent().as_ref().map(ToString::to_string),
                    builds_in: builds_in.as_ref().map(|(_, kind)| *kind),
                    builder: builds_in.map(|(name, _)| name),
                    needs: self
                        .need_ids(step)
                        .iter()
                        .map(ToString::to_string)
                        .collect(),
                    reason: step.reason().to_string(),
                    path: definition.map(|d| d.dir.display().to_string()),
                    tag: definition.map(|d| d.tag.as_str()),
                    packages: definition.map(|d| &d.script.packages),
                    hooks: definition.map(|d| d.script.hooks.iter().map(|h| h.as_str()).collect()),
                    state: match step {
                        Step::Image(image) => Some(image.state.as_str()),
                        _ => None,
                    },
                    keeps_state: match step {
                        Step::Image(image) => Some(image.keeps_state),
                        _ => None,
                    },
                    stage3: core.map(|core| match &core.stage3 {
                        Stage3::File { path } => Stage3Document::File {
                            file: path.display().to_string(),
                        },
                        Stage3::Release {
                            base, date, arch, ..
                        } => Stage3Document::Release { base, date, arch },
                    }),
                    portage: core.map(|core| match &core.portage {
                        PortageTree::Dir { path } => PortageDocument::Dir {
                            dir: path.display().to_string(),
                        },
                        PortageTree::Snapshot { url, date } => {
                            PortageDocument::Snapshot { url, date }
                        }
                    }),
                }
            })
            .collect();
        let document = PlanDocument {
            stack: if stack.root.as_os_str().is_empty() {
                ".".to_owned()
            } else {
                stack.root.display().to_string()
            },
            layout: stack.layout.as_str(),
            steps,
        };
        serde_json::to_writer_pretty(&mut *out, &document)?;
        out.write_all(b"\n")
    }
}
